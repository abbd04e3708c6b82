//! HTTP/1.1 for servers, sans-I/O (RFC 9112, RFC 9110).
//!
//! Three pure codecs over byte slices, each usable on its own:
//!
//! - [`head`]: request line and header fields to a checked [`RequestHead`], with every
//!   rule that keeps a front proxy and gust agreeing on where a request ends (request
//!   smuggling defence) and every bound from [`HeadLimits`]. Errors carry the status to
//!   answer with; the connection is closed after any of them.
//! - [`body`]: the request body by its framing, chunked decoding as an incremental state
//!   machine that accepts input split at any byte, data handed out without copying.
//! - [`response`]: status line and header fields written into a caller's buffer; the
//!   encoder alone decides the framing and connection headers, so a handler cannot make
//!   the framing lie.
//!
//! The server layer owns the socket and the buffers; it feeds bytes in and writes out what
//! these functions produce. Pipelined requests need no special support: after a head and
//! its body, the bytes left in the buffer are the next request.

use crate::proto::is_tchar;
pub(crate) mod body;
pub(crate) mod head;
pub(crate) mod response;

// The module's API: callers may name the types or only use their methods, so a re-export
// that no caller names yet is not dead.
#[allow(unused_imports)]
pub(crate) use body::{BodyDecoder, ChunkError, ChunkLimits, Decoded};
#[allow(unused_imports)]
#[cfg(any(test, feature = "fuzzing", feature = "bench-internals"))]
pub(crate) use head::{parse_head, parse_head_with, HeadError};
pub(crate) use head::{parse_head_into, Framing, HeadLimits, RequestHead, RequestTarget};
#[allow(unused_imports)]
pub(crate) use response::{
    encode_chunk_header, encode_head, reason_phrase, ResponseFraming, ResponseHead, CHUNK_END,
    CONTINUE_100, LAST_CHUNK,
};

#[cfg(test)]
mod tests {
    //! Pipelining: the head parser and the body decoder hand the buffer over at exact
    //! byte boundaries, so requests sent back to back come out one after the other.

    use super::*;
    use bytes::{Buf, BytesMut};

    const HEAD_LIMITS: HeadLimits = HeadLimits {
        max_head_bytes: 8192,
        max_url_length: 1024,
        max_headers: 32,
    };
    const CHUNK_LIMITS: ChunkLimits = ChunkLimits {
        max_extension_bytes: 256,
        max_trailer_bytes: 1024,
    };

    /// Parses one request from the front of `buf` and decodes its whole body.
    fn next_request(buf: &mut BytesMut) -> (RequestHead, Vec<u8>) {
        let (head, consumed) = parse_head(buf, &HEAD_LIMITS).unwrap().unwrap();
        buf.advance(consumed);
        let mut decoder = BodyDecoder::new(head.framing, CHUNK_LIMITS);
        let mut body = Vec::new();
        loop {
            match decoder.decode(buf, 4).unwrap() {
                Decoded::Data(data) => body.extend_from_slice(&data),
                Decoded::End => break,
                Decoded::NeedMore => panic!("request incomplete"),
            }
        }
        (head, body)
    }

    fn path(head: &RequestHead) -> &str {
        match &head.target {
            RequestTarget::Origin { path_and_query, .. } => path_and_query,
            other => panic!("unexpected target {other:?}"),
        }
    }

    #[test]
    fn two_gets_in_one_buffer() {
        let mut buf = BytesMut::from(
            &b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        );
        let (head, consumed) = parse_head(&buf, &HEAD_LIMITS).unwrap().unwrap();
        assert_eq!(consumed, 28);
        assert_eq!(path(&head), "/a");
        let (first, body1) = next_request(&mut buf);
        assert_eq!(path(&first), "/a");
        assert!(body1.is_empty());
        let (second, body2) = next_request(&mut buf);
        assert_eq!(path(&second), "/b");
        assert!(body2.is_empty());
        assert!(buf.is_empty());
    }

    #[test]
    fn post_with_length_then_get() {
        let mut buf = BytesMut::from(
            &b"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello worldGET /g HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        );
        let (first, body1) = next_request(&mut buf);
        assert_eq!(first.method, http::Method::POST);
        assert_eq!(first.framing, Framing::Length(11));
        assert_eq!(body1, b"hello world");
        let (second, body2) = next_request(&mut buf);
        assert_eq!(path(&second), "/g");
        assert!(body2.is_empty());
        assert!(buf.is_empty());
    }

    #[test]
    fn chunked_post_then_chunked_post_then_partial_third() {
        let mut buf = BytesMut::from(
            &b"POST /1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\nPOST /2 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /3 HTTP/1.1\r\nHo"[..],
        );
        let (first, body1) = next_request(&mut buf);
        assert_eq!(path(&first), "/1");
        assert_eq!(body1, b"hello world");
        let (second, body2) = next_request(&mut buf);
        assert_eq!(path(&second), "/2");
        assert_eq!(second.framing, Framing::Chunked);
        assert_eq!(body2, b"abc");
        assert_eq!(parse_head(&buf, &HEAD_LIMITS), Ok(None));
        assert_eq!(&buf[..], b"GET /3 HTTP/1.1\r\nHo");
    }

    #[test]
    fn pipelined_http10_keep_alive() {
        let mut buf = BytesMut::from(
            &b"GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.0\r\n\r\n"[..],
        );
        let (first, _) = next_request(&mut buf);
        assert!(first.keep_alive);
        let (second, _) = next_request(&mut buf);
        assert!(!second.keep_alive);
        assert_eq!(second.version, http::Version::HTTP_10);
        assert!(buf.is_empty());
    }
}
