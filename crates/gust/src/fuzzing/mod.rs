//! Entry points for the cargo-fuzz targets in `fuzz/`: one function per decoder, taking the
//! fuzzer's bytes, driving the real decoder with them and panicking when an invariant
//! breaks. Built with the `fuzzing` feature (the fuzz crate turns it on) and in this crate's
//! unit tests, which replay the committed seed corpus through every function. Not an API:
//! nothing here is stable, and applications have no use for it.
//!
//! # Input layout
//!
//! Each function reads a few control bytes from the front of its input (limits to run
//! with, where to cut the input into reads, how the application side behaves), then
//! treats the rest as what a peer sent. Missing control bytes read as 0, so every input is
//! valid. The seeds in `fuzz/corpus/<target>/` are written by [`seeds`] (a unit test keeps
//! the committed files equal to what it generates), so the layout is defined in one place.
//!
//! # What is checked
//!
//! Beyond "no panic, no hang, no unbounded allocation" (libFuzzer's job), every target
//! checks that feeding the same bytes in pieces gives the same answer as feeding them at
//! once where the decoder is incremental, that a decode never reports more bytes than it
//! was given, and the bounds the decoder promises (see each function).

mod h1;
mod h2;
mod h2_conn;
mod router;
#[cfg(test)]
mod seeds;
mod ws;

pub use h1::{h1_body, h1_head};
pub use h2::{h2_frame, hpack_decode};
pub use h2_conn::h2_connection;
pub use router::router_path;
pub use ws::{ws_frame, ws_message, ws_session};

/// A fuzz target's entry point.
pub type Target = fn(&[u8]);

/// The names of the targets, as in `fuzz/fuzz_targets/<name>.rs`, with their functions.
pub const TARGETS: &[(&str, Target)] = &[
    ("h1_head", h1_head),
    ("h1_body", h1_body),
    ("h2_frame", h2_frame),
    ("hpack_decode", hpack_decode),
    ("h2_connection", h2_connection),
    ("ws_frame", ws_frame),
    ("ws_message", ws_message),
    ("ws_session", ws_session),
    ("router_path", router_path),
];

/// The fuzzer's bytes, read from the front.
struct Input<'a> {
    bytes: &'a [u8],
}

impl<'a> Input<'a> {
    fn new(bytes: &'a [u8]) -> Self {
        Input { bytes }
    }

    /// The next byte, 0 once the input is used up.
    fn byte(&mut self) -> u8 {
        match self.bytes.split_first() {
            Some((&b, rest)) => {
                self.bytes = rest;
                b
            }
            None => 0,
        }
    }

    /// The next two bytes, big-endian.
    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.byte(), self.byte()])
    }

    /// Up to `n` bytes.
    fn take(&mut self, n: usize) -> &'a [u8] {
        let (head, rest) = self.bytes.split_at(n.min(self.bytes.len()));
        self.bytes = rest;
        head
    }

    fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// Whatever is left.
    fn rest(self) -> &'a [u8] {
        self.bytes
    }
}

/// A small deterministic generator (xorshift32) seeded from the input, for choices that
/// would cost too many input bytes: piece lengths, time steps, application behaviour.
struct Rng(u32);

impl Rng {
    fn new(seed: u8) -> Self {
        // Never zero: xorshift would stay at zero.
        Rng(0x9e37_79b9 ^ u32::from(seed).wrapping_mul(0x0101_0101) | 1)
    }

    fn next(&mut self) -> u32 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x
    }

    /// A value in `0..n` (`n` > 0).
    fn below(&mut self, n: u32) -> u32 {
        self.next() % n
    }
}

/// Cuts `bytes` into the reads a connection might see. `seed` 0 gives the whole input in
/// one piece; otherwise pieces are 1 to `2^(seed % 8)` bytes long (1 byte at a time when
/// `seed % 8` is 0), their lengths drawn from `seed`.
fn pieces(bytes: &[u8], seed: u8) -> Vec<&[u8]> {
    if seed == 0 || bytes.is_empty() {
        return vec![bytes];
    }
    let max = 1u32 << (seed % 8);
    let mut rng = Rng::new(seed);
    let mut out = Vec::new();
    let mut rest = bytes;
    while !rest.is_empty() {
        let n = (1 + rng.below(max) as usize).min(rest.len());
        let (piece, tail) = rest.split_at(n);
        out.push(piece);
        rest = tail;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_cover_the_input_in_order() {
        let data: Vec<u8> = (0..=255).collect();
        for seed in 0..=255u8 {
            let cut = pieces(&data, seed);
            assert_eq!(cut.concat(), data);
            assert!(cut.iter().all(|p| !p.is_empty()));
            if seed != 0 && seed % 8 == 0 {
                assert_eq!(cut.len(), data.len());
            }
        }
        assert_eq!(pieces(b"", 7), vec![&b""[..]]);
    }

    #[test]
    fn missing_control_bytes_read_as_zero() {
        let mut input = Input::new(&[1]);
        assert_eq!(input.byte(), 1);
        assert_eq!(input.byte(), 0);
        assert_eq!(input.u16(), 0);
        assert!(input.take(5).is_empty());
        assert!(input.is_empty());
    }

    /// Replays every file in `$GUST_FUZZ_REPLAY/<target>/` (libFuzzer's artifacts, say)
    /// through its target: a crashing input checked in the ordinary test build, with a
    /// debugger-friendly backtrace. Does nothing without the variable.
    #[test]
    fn replay_inputs_named_in_the_environment() {
        let Some(root) = std::env::var_os("GUST_FUZZ_REPLAY") else {
            return;
        };
        for (name, target) in TARGETS {
            let Ok(dir) = std::fs::read_dir(std::path::Path::new(&root).join(name)) else {
                continue;
            };
            for entry in dir.flatten() {
                eprintln!("replaying {}", entry.path().display());
                target(&std::fs::read(entry.path()).unwrap());
            }
        }
    }

    #[test]
    fn every_target_survives_empty_and_tiny_inputs() {
        for (_, target) in TARGETS {
            target(b"");
            for b in 0..=255u8 {
                target(&[b]);
                target(&[b, b, b]);
            }
        }
    }
}
