//! The protocol core, sans-I/O: bytes in, meaning out; meaning in, bytes out.
//!
//! Nothing here touches a socket, a runtime or a clock: the server layer reads, writes and
//! keeps time, and passes what it knows (bytes, the current date) in as arguments. That keeps
//! every parser unit-testable with byte strings and directly fuzzable.

pub(crate) mod field_list;
mod field_names;
pub(crate) mod h1;
pub(crate) mod h2;
pub(crate) mod shared_fields;
pub(crate) mod target_strings;
pub(crate) mod ws;

/// `tchar` of RFC 9110 5.6.2: the bytes of tokens (methods, field names, coding names,
/// upgrade protocols, extension and parameter names).
pub(crate) fn is_tchar(b: u8) -> bool {
    matches!(b,
        b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9'
        | b'!' | b'#' | b'$' | b'%' | b'&' | b'\'' | b'*' | b'+'
        | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~')
}

/// What a request method is to gust, from its name (case-sensitive, RFC 9110 9.1).
pub(crate) enum MethodName {
    /// One of the methods gust implements: a reference, 8 bytes where a `Method` is 24, so
    /// that a request head that carries it stays small enough to move without a call to
    /// `memcpy`.
    Known(&'static http::Method),
    /// A well-formed name gust does not implement: 501.
    Unknown,
    /// Not a method's name at all (not a token).
    Invalid,
}

/// Maps the methods gust implements; a server must answer 501 to the ones it does not know
/// (RFC 9110 9.1), rather than route them to handlers that never expected them.
#[inline]
pub(crate) fn method_name(name: &[u8]) -> MethodName {
    use http::Method;
    static GET: Method = Method::GET;
    static HEAD: Method = Method::HEAD;
    static POST: Method = Method::POST;
    static PUT: Method = Method::PUT;
    static DELETE: Method = Method::DELETE;
    static CONNECT: Method = Method::CONNECT;
    static OPTIONS: Method = Method::OPTIONS;
    static TRACE: Method = Method::TRACE;
    static PATCH: Method = Method::PATCH;
    MethodName::Known(match name {
        b"GET" => &GET,
        b"HEAD" => &HEAD,
        b"POST" => &POST,
        b"PUT" => &PUT,
        b"DELETE" => &DELETE,
        b"CONNECT" => &CONNECT,
        b"OPTIONS" => &OPTIONS,
        b"TRACE" => &TRACE,
        b"PATCH" => &PATCH,
        _ if !name.is_empty() && name.iter().all(|&b| is_tchar(b)) => return MethodName::Unknown,
        _ => return MethodName::Invalid,
    })
}

/// Where `part`, a slice of `whole` (as a parser hands them out), starts in it. A `part`
/// from elsewhere gives an offset past `whole`, which a checked slice then refuses.
pub(crate) fn offset_in(part: &[u8], whole: &[u8]) -> usize {
    (part.as_ptr() as usize).wrapping_sub(whole.as_ptr() as usize)
}

/// `v` without leading and trailing spaces and tabs (OWS, RFC 9110 5.6.3).
pub(crate) fn trim_ows(v: &[u8]) -> &[u8] {
    let is_ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = v.iter().position(|b| !is_ows(b)).unwrap_or(v.len());
    let end = v.iter().rposition(|b| !is_ows(b)).map_or(start, |e| e + 1);
    v.get(start..end).unwrap_or_default()
}

/// `n` in decimal, written at the end of `buf` (u64::MAX has 20 digits): a length for a
/// header without formatting machinery or an allocation.
pub(crate) fn decimal(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[at..];
        }
    }
}

/// Frames are written into a buffer and split off one by one as they are queued (HTTP/2
/// frame heads, WebSocket frames); room is taken a block of this size at a time, so that one
/// allocation serves many frames. The pieces split off keep a block alive only until they
/// are written.
pub(crate) const FRAME_BLOCK: usize = 4096;

/// Makes sure `buf` has room for `n` more bytes, taking at least a whole [`FRAME_BLOCK`]
/// when it must allocate.
pub(crate) fn frame_room(buf: &mut bytes::BytesMut, n: usize) {
    if buf.capacity() - buf.len() < n {
        buf.reserve(n.max(FRAME_BLOCK));
    }
}

#[cfg(test)]
mod roundtrip;

#[cfg(test)]
mod tests {
    #[test]
    fn decimal_digits() {
        let mut buf = [0u8; 20];
        assert_eq!(super::decimal(0, &mut buf), b"0");
        assert_eq!(super::decimal(10, &mut buf), b"10");
        assert_eq!(super::decimal(u64::MAX, &mut buf), b"18446744073709551615");
    }
}
