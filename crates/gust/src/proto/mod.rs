//! The protocol core, sans-I/O: bytes in, meaning out; meaning in, bytes out.
//!
//! Nothing here touches a socket, a runtime or a clock: the server layer reads, writes and
//! keeps time, and passes what it knows (bytes, the current date) in as arguments. That keeps
//! every parser unit-testable with byte strings and directly fuzzable.

pub(crate) mod h1;
pub(crate) mod h2;
pub(crate) mod ws;

#[cfg(test)]
mod roundtrip;
