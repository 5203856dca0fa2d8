//! Every public error type of esp-amp prints a sentence (`Display`) and is a
//! `core::error::Error`, so `?` into `Box<dyn Error>`, `anyhow` or a log line works.

use core::error::Error;

use esp_amp::event::WaitTimeout;
use esp_amp::image::esp::WriteError;
use esp_amp::image::load::{EntryRule, LoadError, MemoryError, Protected, SegmentFault};
use esp_amp::image::ImageError;
use esp_amp::inspect::{MessageFault, SlotFault};
use esp_amp::layout::ConfigError;
use esp_amp::queue::ring::{PeerFault, RingError};
use esp_amp::queue::{ConfFault, QueueError};
use esp_amp::rpc::{PacketError, RpcError};
use esp_amp::rpmsg::RpmsgError;
use esp_amp::shm::ShmError;
use esp_amp::sw_intr::TableFull;
use esp_amp::sys_info::{SysInfoError, SysInfoId};
use esp_amp::system::lifecycle::{ImagePortError, LifecycleError, State};

fn text(e: &dyn Error) -> String {
    e.to_string()
}

#[test]
fn every_error_type_prints_a_sentence() {
    let shm = ShmError::OutOfBounds { addr: 0x4080_0000, len: 8 };
    let peer = PeerFault::BadLength { slot: 3, len: 999 };
    let cases: Vec<(Box<dyn Error>, &str)> = vec![
        (Box::new(shm), "range 0x40800000+8 is outside the shared region"),
        (Box::new(ConfFault::BadLen(3)), "length 3 is 0 or not a power of two"),
        (
            Box::new(ConfFault::Unreadable(shm)),
            "configuration not readable: range 0x40800000+8 is outside the shared region",
        ),
        (
            Box::new(QueueError::BadConf(ConfFault::Overlap)),
            "bad shared queue configuration: configuration, descriptors and buffers overlap",
        ),
        (Box::new(peer), "slot 3: length 999 exceeds the item size"),
        (Box::new(RingError::Empty), "no slot to take"),
        (Box::new(RingError::Peer(peer)), "peer fault: slot 3: length 999 exceeds the item size"),
        (Box::new(RpmsgError::ItemTooSmall(4)), "item size 4 leaves no room after the 8-byte header"),
        (Box::new(RpcError::NoMem), "no free RPMsg buffer or request slot"),
        (Box::new(PacketError::Truncated { len: 3 }), "RPC packet of 3 bytes has no 8-byte header"),
        (Box::new(SysInfoError::NotFound(SysInfoId(0x1234))), "SysInfo id 0x1234 not found"),
        (Box::new(ConfigError::Requires { option: "A", requires: "B" }), "A requires B"),
        (Box::new(ImageError::NoSegments), "the image has no segment to load"),
        (Box::new(WriteError::TooManySegments), "too many segments for an ESP app image"),
        (Box::new(SegmentFault::Overlaps(Protected::PanicDump)), "overlaps the panic-dump region"),
        (
            Box::new(LoadError::Entry { entry: 0x10, rule: EntryRule::Exactly(0x5000_0080) }),
            "entry point 0x00000010 is not the reset vector 0x50000080",
        ),
        (Box::new(MemoryError), "the load memory does not back this range"),
        (Box::new(SlotFault::BadFlags(0x8000)), "flags 0x8000 have bits other than AVAILABLE/USED"),
        (Box::new(MessageFault::DataLenTooLarge(600)), "data_len 600 exceeds the buffer"),
        (Box::new(WaitTimeout { observed: 0x5 }), "event wait timed out (bits seen: 0x00000005)"),
        (Box::new(TableFull), "the software-interrupt handler table is full"),
        (
            Box::new(LifecycleError::<MemoryError>::NotLoaded(State::Empty)),
            "the subcore needs a fresh load before it starts (state: Empty)",
        ),
        (Box::new(ImagePortError::<MemoryError>::NotLoaded), "start without a successful load"),
        (
            Box::new(ImagePortError::<MemoryError>::Load(LoadError::Memory { addr: 0x10, len: 4 })),
            "image refused: the memory backend refused 4 bytes at 0x00000010",
        ),
    ];
    #[cfg(feature = "postcard")]
    let cases = {
        let mut cases = cases;
        cases.push((
            Box::new(esp_amp::rpc::typed::TypedError::Status(esp_amp::rpc::Status::EXEC_FAILED)),
            "the server answered status 0xfffd",
        ));
        cases
    };
    for (e, want) in &cases {
        assert_eq!(text(e.as_ref()), *want, "{e:?}");
    }
}
