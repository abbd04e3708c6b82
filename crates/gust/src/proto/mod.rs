//! The protocol core, sans-I/O: bytes in, meaning out; meaning in, bytes out.
//!
//! Nothing here touches a socket, a runtime or a clock: the server layer reads, writes and
//! keeps time, and passes what it knows (bytes, the current date) in as arguments. That keeps
//! every parser unit-testable with byte strings and directly fuzzable.

pub(crate) mod h1;
pub(crate) mod h2;
pub(crate) mod ws;

/// `tchar` of RFC 9110 5.6.2: the bytes of tokens (methods, field names, coding names,
/// upgrade protocols, extension and parameter names).
pub(crate) fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9'
        | b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+'
        | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~')
}

#[cfg(test)]
mod roundtrip;
