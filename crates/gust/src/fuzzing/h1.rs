//! HTTP/1.1: the request head parser and the body framing decoder.

use bytes::BytesMut;
use http::Version;

use super::{pieces, Input};
use crate::proto::field_list::FieldList;
use crate::proto::h1::{
    parse_head, parse_head_into, parse_head_with, BodyDecoder, ChunkError, ChunkLimits, Decoded,
    Framing, HeadError, HeadLimits, RequestHead, RequestTarget,
};

type HeadResult = Result<Option<(RequestHead, usize)>, HeadError>;

/// Heads pipelined in one input that are parsed one after the other.
const MAX_PIPELINED: usize = 8;

/// `parse_head` on arbitrary bytes.
///
/// Layout: limits byte, cut seed, then the bytes of the connection.
///
/// Checks: a parsed head consumed no more than it was given nor more than `max_head_bytes`,
/// ends with the empty line, holds at most `max_headers` fields and a target within
/// `max_url_length`, and parses the same from exactly its own bytes (and is incomplete one
/// byte short). Fed as a growing buffer (the way the server reads), a head once parsed
/// never changes as more bytes arrive, and an error stays an error.
/// Heads that follow a parsed one (pipelining) are parsed too, and parsed the server's way
/// (split off one buffer, the field names kept from head to head, the last head's field
/// list reused) they come out the same as parsed alone.
pub fn h1_head(data: &[u8]) {
    let mut input = Input::new(data);
    let limits = head_limits(input.byte());
    let seed = input.byte();
    let bytes = input.rest();

    let whole = parse_head(bytes, &limits);
    check_head(bytes, &limits, &whole);
    // httparse alone, where it is taken, decides as the rules applied one by one do.
    let mut buf = BytesMut::from(bytes);
    let one_by_one = parse_head_with(&mut buf, &limits, &mut FieldList::default(), false)
        .map(|head| head.map(|head| (head, bytes.len() - buf.len())));
    assert_eq!(
        one_by_one, whole,
        "httparse alone and the rules one by one disagree"
    );

    let mut seen = 0;
    let mut decided: Option<HeadResult> = None;
    for piece in pieces(bytes, seed) {
        seen += piece.len();
        let now = parse_head(&bytes[..seen], &limits);
        match &decided {
            // Which rule an invalid head breaks first may depend on how much of it has
            // arrived: a bad byte in the target is seen before the target grows too long
            // (400, then 414 with more bytes), a bad method before the line's bare LF. The
            // server answers the first error it meets and closes, so only "still an
            // error" is promised.
            Some(Err(before)) => assert!(now.is_err(), "{before:?} then {now:?}"),
            Some(before) => assert_eq!(&now, before, "a decided head changed with more bytes"),
            None if now != Ok(None) => decided = Some(now.clone()),
            None => {}
        }
    }

    // Pipelining: the bytes after a head (and its body, left alone here) are the next head.
    let mut rest = bytes;
    let mut result = whole;
    let mut buf = BytesMut::from(bytes);
    let mut spare = FieldList::default();
    for _ in 0..MAX_PIPELINED {
        let before = buf.len();
        let served = parse_head_into(&mut buf, &limits, &mut spare)
            .map(|head| head.map(|head| (head, before - buf.len())));
        assert_eq!(served, result, "parsed into a reused list");
        if let Ok(Some((head, _))) = served {
            spare = head.headers;
        }
        let Ok(Some((_, consumed))) = result else {
            break;
        };
        rest = &rest[consumed..];
        result = parse_head(rest, &limits);
        check_head(rest, &limits, &result);
    }
}

/// Limits from one control byte: tiny ones reach every bound, the default ones the
/// common paths; more than 100 headers takes the heap path of the header slots.
fn head_limits(b: u8) -> HeadLimits {
    HeadLimits {
        max_head_bytes: [64, 256, 1024, 8192][usize::from(b & 3)],
        max_url_length: [8, 64, 1024, 8192][usize::from((b >> 2) & 3)],
        max_headers: [0, 1, 4, 8, 32, 100, 101, 150][usize::from((b >> 4) & 7)],
    }
}

/// The promises of one `parse_head` result on `bytes`.
fn check_head(bytes: &[u8], limits: &HeadLimits, result: &HeadResult) {
    match result {
        Ok(Some((head, consumed))) => {
            let consumed = *consumed;
            assert!(consumed <= bytes.len(), "consumed more than given");
            assert!(
                consumed <= limits.max_head_bytes,
                "head over max_head_bytes"
            );
            assert!(
                bytes[..consumed].ends_with(b"\r\n\r\n"),
                "head does not end with CRLF CRLF"
            );
            assert!(
                head.headers.len() <= limits.max_headers,
                "more fields than max_headers"
            );
            assert!(matches!(head.version, Version::HTTP_10 | Version::HTTP_11));
            if head.framing == Framing::Chunked {
                assert_eq!(head.version, Version::HTTP_11, "chunked on HTTP/1.0");
            }
            if head.version == Version::HTTP_11 {
                assert_eq!(head.headers.get_all(b"host").count(), 1);
            }
            match &head.target {
                RequestTarget::Origin { path_and_query, .. } => {
                    assert!(path_and_query.starts_with('/'));
                    // Absolute-form "http://h?q" becomes "/?q": one byte more than sent.
                    assert!(path_and_query.len() <= limits.max_url_length + 1);
                }
                RequestTarget::Asterisk => assert_eq!(head.method, http::Method::OPTIONS),
                RequestTarget::Authority(a) => {
                    assert_eq!(head.method, http::Method::CONNECT);
                    assert!(a.len() <= limits.max_url_length);
                }
            }
            // A head is self-delimiting: its own bytes parse the same, one byte less is
            // not yet a head.
            assert_eq!(&parse_head(&bytes[..consumed], limits), result);
            assert_eq!(parse_head(&bytes[..consumed - 1], limits), Ok(None));
        }
        Ok(None) => assert!(
            bytes.len() < limits.max_head_bytes,
            "incomplete past the limit"
        ),
        Err(e) => {
            assert!([400, 414, 431, 501, 505].contains(&e.status().as_u16()));
            assert!(!e.reason().is_empty());
        }
    }
}

/// What decoding a whole body produced.
#[derive(Debug, PartialEq, Eq)]
struct BodyRun {
    data: Vec<u8>,
    /// Ok(true): End; Ok(false): still waiting for bytes; Err: the sticky error.
    outcome: Result<bool, ChunkError>,
    /// The bytes left for the next request after End.
    leftover: Vec<u8>,
}

/// `BodyDecoder` on arbitrary bytes.
///
/// Layout: a mode byte (framing and chunk limits), for length framing the length (2 or 8
/// bytes), the cut seed, a byte choosing `max_chunk`, then the body bytes.
///
/// Checks: data pieces are never empty nor over `max_chunk`; `NeedMore` leaves nothing
/// unread in the buffer; an error sticks; after End the decoder stays done and the bytes
/// after the body are untouched. Decoding in pieces with a small `max_chunk` gives the same
/// data, outcome and leftover bytes as decoding everything at once; length framing yields
/// exactly the first `n` bytes.
pub fn h1_body(data: &[u8]) {
    let mut input = Input::new(data);
    let mode = input.byte();
    let framing = match mode & 3 {
        0 | 1 => Framing::Chunked,
        2 => Framing::Length(u64::from(input.u16())),
        _ => {
            let mut be = [0u8; 8];
            for b in &mut be {
                *b = input.byte();
            }
            Framing::Length(u64::from_be_bytes(be))
        }
    };
    let limits = ChunkLimits {
        max_extension_bytes: [0, 16, 256, 4096][usize::from((mode >> 2) & 3)],
        max_trailer_bytes: [0, 64, 1024, 65536][usize::from((mode >> 4) & 3)],
    };
    let seed = input.byte();
    let max_chunk = [0, 1, 7, 4096, usize::MAX][usize::from(input.byte() % 5)];
    let bytes = input.rest();

    let whole = decode_body(framing, limits, &[bytes], usize::MAX);
    let cut = decode_body(framing, limits, &pieces(bytes, seed), max_chunk);
    assert_eq!(cut, whole, "piecewise and one-shot body decodes differ");

    assert!(whole.data.len() <= bytes.len());
    if let Framing::Length(n) = framing {
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        let taken = n.min(bytes.len());
        assert_eq!(whole.data, &bytes[..taken]);
        assert_eq!(whole.outcome, Ok(n <= bytes.len()));
        if n <= bytes.len() {
            assert_eq!(whole.leftover, &bytes[n..]);
        }
    }
    if whole.outcome == Ok(true) {
        assert!(
            bytes.ends_with(&whole.leftover),
            "bytes after the body were changed"
        );
    }
}

fn decode_body(
    framing: Framing,
    limits: ChunkLimits,
    reads: &[&[u8]],
    max_chunk: usize,
) -> BodyRun {
    let mut decoder = BodyDecoder::new(framing, limits);
    let mut buf = BytesMut::new();
    let mut data = Vec::new();
    for (i, read) in reads.iter().enumerate() {
        buf.extend_from_slice(read);
        loop {
            match decoder.decode(&mut buf, max_chunk) {
                Ok(Decoded::Data(d)) => {
                    assert!(!d.is_empty(), "empty data piece");
                    assert!(d.len() <= max_chunk.max(1), "data piece over max_chunk");
                    data.extend_from_slice(&d);
                    if let (Framing::Length(n), Some(left)) = (framing, decoder.remaining()) {
                        assert_eq!(left + data.len() as u64, n);
                    }
                }
                Ok(Decoded::NeedMore) => {
                    assert!(buf.is_empty(), "NeedMore with unread bytes in the buffer");
                    break;
                }
                Ok(Decoded::End) => {
                    assert!(decoder.is_done());
                    let before = buf.len();
                    assert_eq!(decoder.decode(&mut buf, max_chunk), Ok(Decoded::End));
                    assert_eq!(buf.len(), before, "End consumed bytes");
                    let mut leftover = buf.to_vec();
                    for later in &reads[i + 1..] {
                        leftover.extend_from_slice(later);
                    }
                    return BodyRun {
                        data,
                        outcome: Ok(true),
                        leftover,
                    };
                }
                Err(e) => {
                    assert_eq!(
                        decoder.decode(&mut buf, max_chunk),
                        Err(e),
                        "error not sticky"
                    );
                    assert!(!decoder.is_done());
                    return BodyRun {
                        data,
                        outcome: Err(e),
                        leftover: Vec::new(),
                    };
                }
            }
        }
    }
    BodyRun {
        data,
        outcome: Ok(false),
        leftover: Vec::new(),
    }
}
