// There are two roles, the maincore and the subcore: `Role` cannot be implemented outside
// the crate (which interrupt word a core drains and who allocates follow from it).
#[derive(Clone, Copy)]
struct ThirdCore;

impl esp_amp::Role for ThirdCore {
    const OWN_SW_INTR_WORD: u32 = 8;
    const PEER_SW_INTR_WORD: u32 = 0;
    const IS_MAIN: bool = false;
    const NAME: &'static str = "third";
}

fn main() {}
