//! Response serialisation (RFC 9112 4, 6 and 7; RFC 9110 6.6 and 8.6).
//!
//! The encoder owns the headers that say where the response ends (Content-Length,
//! Transfer-Encoding) and whether the connection lives on (Connection): it writes them
//! from [`ResponseFraming`] and `keep_alive` and drops any the handler set, so the bytes
//! on the wire always agree with what the connection will actually do. Everything is
//! written with `extend_from_slice` into the caller's buffer; no allocation, no `format!`.

use bytes::BytesMut;
use http::{header, HeaderMap, StatusCode, Version};

/// How the response body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ResponseFraming {
    /// Exactly this many body bytes follow.
    Length(u64),
    /// Chunked transfer coding (HTTP/1.1 clients only).
    Chunked,
    /// No body allowed (HEAD answer keeps CL of the GET; 1xx, 204, 304).
    NoBody {
        /// The Content-Length to announce, if any. Never written for 1xx and 204, which
        /// RFC 9110 8.6 forbids to carry one.
        content_length: Option<u64>,
    },
    /// HTTP/1.0 client and unknown length: body ends when the connection closes.
    CloseDelimited,
}

/// Everything needed to write a response head.
#[derive(Debug, Clone, Copy)]
pub(crate) struct ResponseHead<'a> {
    /// The status; its canonical reason phrase is written after it.
    pub(crate) status: StatusCode,
    /// The request's version: answer "HTTP/1.1" always in the status line (RFC 9112 2.5:
    /// server sends its own highest version), but choose framing/keep-alive for 1.0 clients.
    pub(crate) version: Version,
    /// The handler's headers; framing and connection headers among them are ignored.
    pub(crate) headers: &'a HeaderMap,
    /// More fields as header lines, each ending in CRLF, written after `headers` as they
    /// are: fields made once for many responses, checked when they were made (none of
    /// them framing, connection, `Date` or `Server`).
    pub(crate) shared_lines: &'a [u8],
    /// How the body is delimited.
    pub(crate) framing: ResponseFraming,
    /// Whether the connection stays open after this response.
    pub(crate) keep_alive: bool,
    /// Preformatted IMF-fixdate, e.g. b"Sun, 06 Nov 1994 08:49:37 GMT". Empty: no Date
    /// header, as RFC 9110 6.6.1 requires of a server without a reliable clock.
    pub(crate) date: &'a [u8],
    /// e.g. b"gust". Empty: no Server header.
    pub(crate) server: &'a [u8],
}

/// Ends the data of one chunk.
pub(crate) const CHUNK_END: &[u8] = b"\r\n";
/// The last chunk with an empty trailer section: ends a chunked body.
pub(crate) const LAST_CHUNK: &[u8] = b"0\r\n\r\n";
/// The interim answer to "Expect: 100-continue".
pub(crate) const CONTINUE_100: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// Writes the status line and header section, up to and including the empty line.
pub(crate) fn encode_head(head: &ResponseHead<'_>, out: &mut BytesMut) {
    let reason = reason_phrase(head.status);
    out.reserve(estimate_len(head, reason));

    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(head.status.as_str().as_bytes());
    out.extend_from_slice(b" ");
    out.extend_from_slice(reason.as_bytes());
    out.extend_from_slice(b"\r\n");

    if !head.date.is_empty() && !head.headers.contains_key(header::DATE) {
        write_field(out, b"Date", head.date);
    }
    if !head.server.is_empty() && !head.headers.contains_key(header::SERVER) {
        write_field(out, b"Server", head.server);
    }

    for (name, value) in head.headers {
        if is_owned_by_encoder(name) {
            continue;
        }
        // `HeaderValue` refuses CR, LF and NUL, but `from_maybe_shared_unchecked` can
        // bypass that; one bad value would let a handler split the response.
        if could_split_response(value.as_bytes()) {
            tracing::warn!(header = %name, "dropped response header with CR, LF or NUL");
            continue;
        }
        write_field(out, name.as_str().as_bytes(), value.as_bytes());
    }
    out.extend_from_slice(head.shared_lines);

    let code = head.status.as_u16();
    let forbids_length = head.status.is_informational() || code == 204;
    match head.framing {
        ResponseFraming::Length(n) if !forbids_length => write_length(out, n),
        ResponseFraming::NoBody {
            content_length: Some(n),
        } if !forbids_length => write_length(out, n),
        ResponseFraming::Chunked if !forbids_length => {
            out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
        }
        _ => {}
    }

    // A close-delimited body can only end by closing, whatever the caller asked.
    let keep_alive = head.keep_alive && head.framing != ResponseFraming::CloseDelimited;
    if head.status == StatusCode::SWITCHING_PROTOCOLS {
        // RFC 9110 7.8: a 101 must say which connection option it acts on.
        out.extend_from_slice(b"Connection: upgrade\r\n");
    } else if head.version == Version::HTTP_10 {
        if keep_alive {
            out.extend_from_slice(b"Connection: keep-alive\r\n");
        }
    } else if !keep_alive {
        out.extend_from_slice(b"Connection: close\r\n");
    }

    out.extend_from_slice(b"\r\n");
}

/// Writes "{len:x}\r\n", the header of a chunk of `len` bytes.
pub(crate) fn encode_chunk_header(len: usize, out: &mut BytesMut) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut digits = [0u8; 2 * core::mem::size_of::<usize>()];
    let mut at = digits.len();
    let mut n = len;
    loop {
        at -= 1;
        digits[at] = HEX[n & 0xf];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
    out.extend_from_slice(b"\r\n");
}

/// The canonical reason phrase, or "" for codes without one (the status line keeps its
/// space: RFC 9112 4 makes the phrase optional, not the separator).
pub(crate) fn reason_phrase(status: StatusCode) -> &'static str {
    status.canonical_reason().unwrap_or("")
}

pub(crate) fn is_owned_by_encoder(name: &header::HeaderName) -> bool {
    name == header::CONTENT_LENGTH
        || name == header::TRANSFER_ENCODING
        || name == header::CONNECTION
}

/// CR, LF or NUL in a value would end the field early and start one the handler chose.
pub(crate) fn could_split_response(value: &[u8]) -> bool {
    value.iter().any(|&b| b == b'\r' || b == b'\n' || b == 0)
}

/// Writes one header line, "name: value\r\n".
pub(crate) fn write_field(out: &mut BytesMut, name: &[u8], value: &[u8]) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

fn write_length(out: &mut BytesMut, n: u64) {
    out.extend_from_slice(b"Content-Length: ");
    write_decimal(out, n);
    out.extend_from_slice(b"\r\n");
}

fn write_decimal(out: &mut BytesMut, n: u64) {
    let mut digits = [0u8; 20];
    out.extend_from_slice(crate::proto::decimal(n, &mut digits));
}

/// An upper bound of the head's size, so that the buffer grows once.
fn estimate_len(head: &ResponseHead<'_>, reason: &str) -> usize {
    let fields: usize = head
        .headers
        .iter()
        .map(|(n, v)| n.as_str().len() + v.len() + 4)
        .sum();
    // Status line, Date, Server, the framing and connection fields, final CRLF.
    15 + reason.len()
        + head.date.len()
        + 8
        + head.server.len()
        + 10
        + fields
        + head.shared_lines.len()
        + 40
        + 24
        + 2
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    const DATE: &[u8] = b"Sun, 06 Nov 1994 08:49:37 GMT";

    fn encode(
        status: u16,
        version: Version,
        headers: &HeaderMap,
        framing: ResponseFraming,
        keep_alive: bool,
    ) -> String {
        let mut out = BytesMut::new();
        encode_head(
            &ResponseHead {
                status: StatusCode::from_u16(status).unwrap(),
                version,
                headers,
                shared_lines: &[],
                framing,
                keep_alive,
                date: DATE,
                server: b"gust",
            },
            &mut out,
        );
        String::from_utf8(out.to_vec()).unwrap()
    }

    fn map(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (n, v) in pairs {
            m.append(*n, HeaderValue::from_static(v));
        }
        m
    }

    #[test]
    fn ok_with_length() {
        let h = map(&[("content-type", "text/plain")]);
        assert_eq!(
            encode(200, Version::HTTP_11, &h, ResponseFraming::Length(5), true),
            "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: gust\r\ncontent-type: text/plain\r\nContent-Length: 5\r\n\r\n"
        );
    }

    #[test]
    fn chunked_and_close() {
        let h = HeaderMap::new();
        assert_eq!(
            encode(404, Version::HTTP_11, &h, ResponseFraming::Chunked, false),
            "HTTP/1.1 404 Not Found\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: gust\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        );
    }

    #[test]
    fn encoder_owns_framing_and_connection() {
        let h = map(&[
            ("content-length", "999"),
            ("transfer-encoding", "gzip"),
            ("connection", "keep-alive"),
            ("x-a", "1"),
            ("x-a", "2"),
        ]);
        assert_eq!(
            encode(200, Version::HTTP_11, &h, ResponseFraming::Length(0), true),
            "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: gust\r\nx-a: 1\r\nx-a: 2\r\nContent-Length: 0\r\n\r\n"
        );
    }

    #[test]
    fn handler_date_and_server_win() {
        let h = map(&[
            ("server", "custom/1"),
            ("date", "Mon, 07 Nov 1994 08:49:37 GMT"),
        ]);
        assert_eq!(
            encode(200, Version::HTTP_11, &h, ResponseFraming::Length(2), true),
            "HTTP/1.1 200 OK\r\nserver: custom/1\r\ndate: Mon, 07 Nov 1994 08:49:37 GMT\r\nContent-Length: 2\r\n\r\n"
        );
    }

    #[test]
    fn empty_date_and_server_are_left_out() {
        let h = HeaderMap::new();
        let mut out = BytesMut::new();
        encode_head(
            &ResponseHead {
                status: StatusCode::OK,
                version: Version::HTTP_11,
                headers: &h,
                shared_lines: &[],
                framing: ResponseFraming::Length(0),
                keep_alive: true,
                date: b"",
                server: b"",
            },
            &mut out,
        );
        assert_eq!(&out[..], b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    }

    #[test]
    fn http10_clients() {
        let h = HeaderMap::new();
        assert_eq!(
            encode(200, Version::HTTP_10, &h, ResponseFraming::Length(3), true),
            "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: gust\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\n"
        );
        assert_eq!(
            encode(200, Version::HTTP_10, &h, ResponseFraming::Length(3), false),
            "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: gust\r\nContent-Length: 3\r\n\r\n"
        );
        assert_eq!(
            encode(
                200,
                Version::HTTP_10,
                &h,
                ResponseFraming::CloseDelimited,
                false
            ),
            "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: gust\r\n\r\n"
        );
        // keep_alive cannot survive a close-delimited body.
        assert_eq!(
            encode(
                200,
                Version::HTTP_10,
                &h,
                ResponseFraming::CloseDelimited,
                true
            ),
            "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: gust\r\n\r\n"
        );
        assert_eq!(
            encode(200, Version::HTTP_11, &h, ResponseFraming::CloseDelimited, true),
            "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: gust\r\nConnection: close\r\n\r\n"
        );
    }

    #[test]
    fn no_body_responses() {
        let h = HeaderMap::new();
        // HEAD keeps the length of the GET.
        assert_eq!(
            encode(200, Version::HTTP_11, &h, ResponseFraming::NoBody { content_length: Some(1234) }, true),
            "HTTP/1.1 200 OK\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: gust\r\nContent-Length: 1234\r\n\r\n"
        );
        assert_eq!(
            encode(304, Version::HTTP_11, &h, ResponseFraming::NoBody { content_length: None }, true),
            "HTTP/1.1 304 Not Modified\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: gust\r\n\r\n"
        );
        // 204 never carries Content-Length, even if asked.
        assert_eq!(
            encode(204, Version::HTTP_11, &h, ResponseFraming::NoBody { content_length: Some(5) }, true),
            "HTTP/1.1 204 No Content\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: gust\r\n\r\n"
        );
    }

    #[test]
    fn switching_protocols() {
        let h = map(&[
            ("upgrade", "websocket"),
            ("connection", "Upgrade"),
            ("sec-websocket-accept", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
        ]);
        assert_eq!(
            encode(101, Version::HTTP_11, &h, ResponseFraming::NoBody { content_length: None }, true),
            "HTTP/1.1 101 Switching Protocols\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: gust\r\nupgrade: websocket\r\nsec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nConnection: upgrade\r\n\r\n"
        );
    }

    #[test]
    fn unknown_status_keeps_the_space() {
        let h = HeaderMap::new();
        assert_eq!(
            encode(599, Version::HTTP_11, &h, ResponseFraming::Length(0), true),
            "HTTP/1.1 599 \r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: gust\r\nContent-Length: 0\r\n\r\n"
        );
        assert_eq!(reason_phrase(StatusCode::from_u16(599).unwrap()), "");
        assert_eq!(reason_phrase(StatusCode::IM_A_TEAPOT), "I'm a teapot");
        assert_eq!(reason_phrase(StatusCode::URI_TOO_LONG), "URI Too Long");
    }

    #[test]
    fn unchecked_values_cannot_split_the_response() {
        // `from_maybe_shared_unchecked` panics on such values in debug builds only, so the
        // guard itself is what can be tested here.
        assert!(could_split_response(b"a\r\nSet-Cookie: x"));
        assert!(could_split_response(b"a\nb"));
        assert!(could_split_response(b"a\0b"));
        assert!(!could_split_response(b"a\tb c\x80"));
    }

    #[test]
    fn integers() {
        for n in [
            0u64,
            1,
            9,
            10,
            99,
            100,
            12345,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut out = BytesMut::new();
            write_decimal(&mut out, n);
            assert_eq!(&out[..], n.to_string().as_bytes());
        }
        for n in [0usize, 1, 9, 10, 15, 16, 255, 4096, 0xdead_beef, usize::MAX] {
            let mut out = BytesMut::new();
            encode_chunk_header(n, &mut out);
            assert_eq!(&out[..], format!("{n:x}\r\n").as_bytes());
        }
    }

    #[test]
    fn constants() {
        assert_eq!(CHUNK_END, b"\r\n");
        assert_eq!(LAST_CHUNK, b"0\r\n\r\n");
        assert_eq!(CONTINUE_100, b"HTTP/1.1 100 Continue\r\n\r\n");
    }

    #[test]
    fn appends_to_existing_bytes() {
        let mut out = BytesMut::from(&b"previous response tail"[..]);
        let h = HeaderMap::new();
        encode_head(
            &ResponseHead {
                status: StatusCode::NO_CONTENT,
                version: Version::HTTP_11,
                headers: &h,
                shared_lines: &[],
                framing: ResponseFraming::NoBody {
                    content_length: None,
                },
                keep_alive: true,
                date: DATE,
                server: b"gust",
            },
            &mut out,
        );
        encode_chunk_header(3, &mut out);
        assert_eq!(
            &out[..],
            &b"previous response tailHTTP/1.1 204 No Content\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\nServer: gust\r\n\r\n3\r\n"[..]
        );
    }
}
