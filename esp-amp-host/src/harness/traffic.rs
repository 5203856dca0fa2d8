//! Checked RPMsg traffic for stress runs and benchmarks.
//!
//! Message `seq` of a stream has a pseudo-random length and content derived from
//! `(stream, seq)` and ends with an FNV-1a checksum, so the receiver can tell a lost,
//! duplicated, reordered, truncated or corrupted message from a good one without any
//! side channel.

use std::fmt;

use esp_amp::payload::{PeerBytes, PeerBytesMut};
use esp_amp::port::Platform;
use esp_amp::queue::QueueError;
use esp_amp::rpmsg::{Endpoint, Rpmsg, RpmsgError};
use esp_amp::Role;

/// Shortest message: sequence number + checksum.
pub const MIN_LEN: usize = 8;

fn mix(mut x: u64) -> u64 {
    // splitmix64 finaliser: cheap and well spread.
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn fnv1a(data: &[u8]) -> u32 {
    data.iter().fold(0x811C_9DC5u32, |h, &b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193))
}

/// Length of message `seq` of `stream` for payloads of at most `max` bytes (`max >= 8`).
pub fn length(stream: u32, seq: u32, max: usize) -> usize {
    let h = mix((u64::from(stream) << 32) | u64::from(seq));
    MIN_LEN + (h as usize) % (max - MIN_LEN + 1)
}

/// The content bytes of message `seq` of `stream` (between the sequence number and the
/// checksum).
fn content(stream: u32, seq: u32) -> impl Iterator<Item = u8> {
    let mut state = mix(u64::from(seq) ^ (u64::from(stream) << 40));
    std::iter::repeat_with(move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state as u8
    })
}

/// Writes message `seq` of `stream` into `out` (at least `max` bytes); returns its length.
pub fn fill(stream: u32, seq: u32, max: usize, out: &mut [u8]) -> usize {
    let len = length(stream, seq, max);
    out[..4].copy_from_slice(&seq.to_le_bytes());
    for (b, v) in out[4..len - 4].iter_mut().zip(content(stream, seq)) {
        *b = v;
    }
    let sum = fnv1a(&out[..len - 4]);
    out[len - 4..len].copy_from_slice(&sum.to_le_bytes());
    len
}

/// What was wrong with a received message or the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrafficError {
    /// Sequence number `got` arrived where `expected` was due (loss, duplicate, reorder).
    OutOfOrder {
        /// The sequence number due.
        expected: u32,
        /// The one that arrived.
        got: u32,
    },
    /// Message `seq` has the wrong length.
    BadLength {
        /// The message.
        seq: u32,
        /// Its length by the stream pattern.
        expected: usize,
        /// The length received.
        got: usize,
    },
    /// Message `seq` does not match its checksum or content.
    Corrupt {
        /// The message.
        seq: u32,
    },
    /// No progress for this many milliseconds.
    Stalled {
        /// Messages sent so far.
        sent: u32,
        /// Messages received so far.
        received: u32,
        /// How long nothing moved.
        ms: u32,
    },
    /// An RPMsg call failed.
    Rpmsg(RpmsgError),
}

impl fmt::Display for TrafficError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrafficError::OutOfOrder { expected, got } => write!(f, "expected message {expected}, got {got}"),
            TrafficError::BadLength { seq, expected, got } => {
                write!(f, "message {seq}: length {got}, expected {expected}")
            }
            TrafficError::Corrupt { seq } => write!(f, "message {seq}: checksum or content mismatch"),
            TrafficError::Stalled { sent, received, ms } => {
                write!(f, "no progress for {ms} ms (sent {sent}, received {received})")
            }
            TrafficError::Rpmsg(e) => write!(f, "rpmsg: {e}"),
        }
    }
}

impl std::error::Error for TrafficError {}

/// Writes message `seq` of `stream` into a message buffer (at least `max` bytes), through
/// `scratch` (at least `max` bytes); returns its length.
pub fn fill_view(stream: u32, seq: u32, max: usize, scratch: &mut [u8], mut out: PeerBytesMut<'_>) -> usize {
    let len = fill(stream, seq, max, scratch);
    out.copy_from(&scratch[..len]);
    len
}

/// Copies a payload out of shared memory into `scratch`, and returns the copy: what is
/// checked is then what the peer cannot change any more.
pub fn copy_out<'s>(data: PeerBytes<'_>, scratch: &'s mut Vec<u8>) -> &'s [u8] {
    scratch.resize(data.len(), 0);
    data.copy_to(scratch);
    scratch
}

/// Checks that `data` is message `expected` of `stream`.
pub fn verify(stream: u32, expected: u32, max: usize, data: &[u8]) -> Result<(), TrafficError> {
    if data.len() < MIN_LEN {
        return Err(TrafficError::BadLength {
            seq: expected,
            expected: length(stream, expected, max),
            got: data.len(),
        });
    }
    let got = u32::from_le_bytes(data[..4].try_into().expect("4 bytes"));
    if got != expected {
        return Err(TrafficError::OutOfOrder { expected, got });
    }
    let want = length(stream, expected, max);
    if data.len() != want {
        return Err(TrafficError::BadLength { seq: expected, expected: want, got: data.len() });
    }
    let body = &data[4..want - 4];
    let sum = u32::from_le_bytes(data[want - 4..].try_into().expect("4 bytes"));
    if sum != fnv1a(&data[..want - 4]) || !body.iter().copied().eq(content(stream, expected).take(body.len()))
    {
        return Err(TrafficError::Corrupt { seq: expected });
    }
    Ok(())
}

/// Totals of one side of a [`pump`] run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Messages this side sent.
    pub sent: u32,
    /// Messages this side received and checked.
    pub received: u32,
    /// How often the loop went to sleep waiting for an interrupt.
    pub sleeps: u32,
}

/// Sends `count` messages of stream `out_stream` from `ept` to `dst` and, at the same
/// time, receives and verifies `count` messages of `in_stream` on `ept`. Sleeps in
/// [`Platform::wait_irq`] when neither direction can progress; gives up after
/// `stall_ms` without progress.
#[allow(clippy::too_many_arguments)]
pub fn pump<R: Role, P: Platform, const CAP: usize, const E: usize>(
    dev: &Rpmsg<'_, R, CAP, E>,
    ept: Endpoint,
    dst: u16,
    platform: &P,
    count: u32,
    out_stream: u32,
    in_stream: u32,
    stall_ms: u32,
) -> Result<Totals, TrafficError> {
    let max = dev.max_payload();
    let (mut scratch, mut received) = (vec![0u8; max], Vec::with_capacity(max));
    let mut t = Totals::default();
    let mut idle_since = platform.now_ms();
    let mut spins = 0u32;
    while t.sent < count || t.received < count {
        let epoch = platform.irq_epoch();
        let mut progress = false;
        if t.sent < count {
            match dev.alloc() {
                Ok(mut msg) => {
                    let len = fill_view(out_stream, t.sent, max, &mut scratch, msg.bytes_mut());
                    msg.send(ept, dst, len).map_err(TrafficError::Rpmsg)?;
                    t.sent += 1;
                    progress = true;
                }
                Err(RpmsgError::Queue(QueueError::Full)) => {}
                Err(e) => return Err(TrafficError::Rpmsg(e)),
            }
        }
        while let Some(msg) = dev.try_recv(ept) {
            verify(in_stream, t.received, max, copy_out(msg.bytes(), &mut received))?;
            t.received += 1;
            progress = true;
        }
        if progress {
            idle_since = platform.now_ms();
            spins = 0;
            continue;
        }
        // Frees are not signalled (as in C): spin a little before sleeping.
        spins += 1;
        if spins < 64 {
            std::thread::yield_now();
            continue;
        }
        let idle = platform.now_ms().wrapping_sub(idle_since);
        if idle > stall_ms {
            return Err(TrafficError::Stalled { sent: t.sent, received: t.received, ms: idle });
        }
        t.sleeps += 1;
        platform.wait_irq(epoch, Some(1));
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_verify_and_corruption_is_caught() {
        let mut buf = [0u8; 120];
        for seq in 0..1000 {
            let len = fill(7, seq, 120, &mut buf);
            assert!((MIN_LEN..=120).contains(&len));
            assert_eq!(verify(7, seq, 120, &buf[..len]), Ok(()));
        }
        let len = fill(7, 3, 120, &mut buf);
        assert_eq!(verify(7, 4, 120, &buf[..len]), Err(TrafficError::OutOfOrder { expected: 4, got: 3 }));
        assert!(matches!(
            verify(8, 3, 120, &buf[..len]),
            Err(TrafficError::BadLength { .. } | TrafficError::Corrupt { .. })
        ));
        buf[len - 5] ^= 1;
        assert_eq!(verify(7, 3, 120, &buf[..len]), Err(TrafficError::Corrupt { seq: 3 }));
    }
}
