//! Text the other core wrote, made safe to print.
//!
//! A subcore's panic message and its routed print lines are bytes the peer chose. Printed
//! as they come, they can carry terminal escape sequences (change the window title, move
//! the cursor, colour or erase what is on screen), bidirectional-text overrides, or
//! newlines that make one line look like several, and so fake the maincore's own output.
//! [`Escaped`] prints such bytes with every control character and every invalid UTF-8 byte
//! escaped, and honest text unchanged.
//!
//! ```
//! use esp_amp::text::Escaped;
//! let from_peer = b"temp 21\x1b[2J C\xff\n";
//! assert_eq!(Escaped(from_peer).to_string(), "temp 21\\x1b[2J C\\xff\n");
//! ```

use core::fmt::{self, Write as _};

/// Displays peer bytes with control characters (`\x1b`, `\r`, a newline that does not end
/// the text, C1 controls, bidirectional overrides) and invalid UTF-8 bytes escaped as
/// `\xNN` or `\u{NNNN}`. One newline at the very end is kept: it ends the line.
/// Everything else, backslashes included, is printed as it is.
///
/// ```
/// use esp_amp::text::Escaped;
/// // A line from the peer that would set the terminal's title.
/// let from_peer = b"ok\x1b]0;pwned\x07 done\n";
/// assert_eq!(Escaped(from_peer).to_string(), "ok\\x1b]0;pwned\\x07 done\n");
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Escaped<'a>(pub &'a [u8]);

/// Bidirectional-text controls: they reorder what follows on the line.
const fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (body, newline) = match self.0 {
            [body @ .., b'\n'] => (body, true),
            all => (all, false),
        };
        for chunk in body.utf8_chunks() {
            for c in chunk.valid().chars() {
                if c.is_ascii_control() {
                    write!(f, "\\x{:02x}", c as u32)?;
                } else if c.is_control() || is_bidi_control(c) {
                    write!(f, "\\u{{{:04x}}}", c as u32)?;
                } else {
                    f.write_char(c)?;
                }
            }
            for b in chunk.invalid() {
                write!(f, "\\x{b:02x}")?;
            }
        }
        if newline {
            f.write_char('\n')?;
        }
        Ok(())
    }
}
