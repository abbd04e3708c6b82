//! HEADERS frames (RFC 9113 6.2): the start of a field block, and the splitting of a
//! large block into HEADERS and CONTINUATION frames for sending.
//!
//! ```text
//! HEADERS Frame {
//!   Length (24), Type (8) = 0x01,
//!   Unused Flags (2), PRIORITY Flag (1), Unused Flag (1),
//!   PADDED Flag (1), END_HEADERS Flag (1), Unused Flag (1), END_STREAM Flag (1),
//!   Reserved (1), Stream Identifier (31),
//!   [Pad Length (8)],
//!   [Exclusive (1)], [Stream Dependency (31)], [Weight (8)],
//!   Field Block Fragment (..),
//!   Padding (..2040),
//! }
//! ```

use core::fmt;

use bytes::{Bytes, BytesMut};

use super::priority::{self, StreamDependency};
use super::{
    flag, require_stream, strip_padding, FrameError, FrameType, Head, StreamId,
    DEFAULT_MAX_FRAME_SIZE, MAX_FRAME_SIZE_UPPER_BOUND,
};

/// A HEADERS frame.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Headers {
    /// The stream; never 0.
    pub(crate) stream_id: StreamId,
    /// No DATA follows on this stream (trailers, or a request without body).
    pub(crate) end_stream: bool,
    /// The field block is complete; otherwise CONTINUATION frames on the same stream must
    /// follow, with no other frame in between (the connection enforces that).
    pub(crate) end_headers: bool,
    /// The deprecated priority fields, if the PRIORITY flag was set. We do not schedule by
    /// them; the connection still checks that the stream does not depend on itself.
    pub(crate) priority: Option<StreamDependency>,
    /// The HPACK-encoded field block fragment, padding removed: a slice of the read buffer.
    pub(crate) header_block: Bytes,
}

impl Headers {
    /// Decodes the payload of a HEADERS frame.
    ///
    /// A self-dependency is not refused here although it is a stream error: the fragment
    /// must still go through the HPACK decoder, or the peer's and our dynamic tables would
    /// part ways and every later block on the connection would decode wrong.
    pub(super) fn decode(head: &Head, payload: Bytes) -> Result<Headers, FrameError> {
        require_stream(head)?;
        let has_priority = head.has(flag::PRIORITY);
        let fixed = if has_priority { priority::LEN } else { 0 };
        let (fields, header_block) = strip_padding(head, payload, fixed)?;
        let priority = has_priority.then(|| StreamDependency::parse(fields));
        Ok(Headers {
            stream_id: head.stream_id,
            end_stream: head.has(flag::END_STREAM),
            end_headers: head.has(flag::END_HEADERS),
            priority,
            header_block,
        })
    }

    /// Whether the priority fields make the stream depend on itself, which the connection
    /// answers with a PROTOCOL_ERROR stream error (RFC 9113 5.3.1) once the block is decoded.
    pub(crate) fn is_self_dependency(&self) -> bool {
        self.priority
            .is_some_and(|p| p.dependency == self.stream_id)
    }

    /// Appends this as exactly one HEADERS frame, flags and priority as they are, however
    /// long the fragment. For tests and scripted peers; responses go through
    /// [`encode_headers`], which splits by the peer's frame size.
    pub(crate) fn encode(&self, out: &mut BytesMut) {
        let mut flags = 0;
        if self.end_stream {
            flags |= flag::END_STREAM;
        }
        if self.end_headers {
            flags |= flag::END_HEADERS;
        }
        if self.priority.is_some() {
            flags |= flag::PRIORITY;
        }
        let fixed = if self.priority.is_some() {
            priority::LEN
        } else {
            0
        };
        let length = fixed + self.header_block.len();
        Head::new(FrameType::Headers, flags, self.stream_id, length).encode(out);
        if let Some(dependency) = &self.priority {
            dependency.encode(out);
        }
        out.extend_from_slice(&self.header_block);
    }
}

/// Appends a whole encoded field block as one HEADERS frame followed by as many
/// CONTINUATION frames as `max_frame_size` (the peer's SETTINGS_MAX_FRAME_SIZE) requires,
/// END_HEADERS on the last of them and END_STREAM, if asked, on the HEADERS frame (RFC 9113
/// 6.2: it covers the whole block, CONTINUATION frames included).
///
/// `max_frame_size` is clamped to 16384..=2^24-1, the range RFC 9113 6.5.2 allows: a peer
/// must accept 16384 whatever it said, and a 0 would otherwise never make progress.
pub(crate) fn encode_headers(
    stream_id: StreamId,
    block: &[u8],
    end_stream: bool,
    max_frame_size: u32,
    out: &mut BytesMut,
) {
    debug_assert!(!stream_id.is_zero(), "HEADERS on stream 0");
    // The clamp keeps it within 24 bits, so it fits any usize of 32 bits or more.
    let max = max_frame_size.clamp(DEFAULT_MAX_FRAME_SIZE, MAX_FRAME_SIZE_UPPER_BOUND) as usize;
    let frames = block.len().div_ceil(max).max(1);
    out.reserve(block.len() + frames * Head::LEN);

    let (first, mut rest) = block.split_at(block.len().min(max));
    let mut flags = if end_stream { flag::END_STREAM } else { 0 };
    if rest.is_empty() {
        flags |= flag::END_HEADERS;
    }
    Head::new(FrameType::Headers, flags, stream_id, first.len()).encode(out);
    out.extend_from_slice(first);

    while !rest.is_empty() {
        let (chunk, after) = rest.split_at(rest.len().min(max));
        let flags = if after.is_empty() {
            flag::END_HEADERS
        } else {
            0
        };
        Head::new(FrameType::Continuation, flags, stream_id, chunk.len()).encode(out);
        out.extend_from_slice(chunk);
        rest = after;
    }
}

/// Frames a header block encoded in place: `out[start..]` is [`Head::LEN`] reserved bytes
/// followed by the block. A block that fits one frame (nearly all) gets its HEADERS head
/// written into the reserved bytes, with no copy; a larger one is re-framed as HEADERS and
/// CONTINUATION frames by [`encode_headers`].
pub(crate) fn frame_headers_in_place(
    stream_id: StreamId,
    start: usize,
    end_stream: bool,
    max_frame_size: u32,
    out: &mut BytesMut,
) {
    debug_assert!(
        out.len() >= start + Head::LEN,
        "no room reserved for the head"
    );
    let block_len = out.len() - start - Head::LEN;
    let max = max_frame_size.clamp(DEFAULT_MAX_FRAME_SIZE, MAX_FRAME_SIZE_UPPER_BOUND) as usize;
    if block_len <= max {
        let mut flags = flag::END_HEADERS;
        if end_stream {
            flags |= flag::END_STREAM;
        }
        let head = Head::new(FrameType::Headers, flags, stream_id, block_len);
        out[start..start + Head::LEN].copy_from_slice(&head.to_bytes());
    } else {
        let block = out.split_off(start + Head::LEN);
        out.truncate(start);
        encode_headers(stream_id, &block, end_stream, max_frame_size, out);
    }
}

/// Shows the fragment's size, not its bytes: they are HPACK and unreadable anyway.
impl fmt::Debug for Headers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Headers")
            .field("stream_id", &self.stream_id)
            .field("end_stream", &self.end_stream)
            .field("end_headers", &self.end_headers)
            .field("priority", &self.priority)
            .field("header_block_len", &self.header_block.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{decode_all, decode_err, decode_one};
    use super::super::{Frame, FrameErrorKind, Reason};
    use super::*;

    /// Framing in place gives the same bytes as framing a copy, for a block that fits one
    /// frame and for one that needs CONTINUATION frames, after bytes already queued.
    #[test]
    fn framing_in_place_matches_framing_a_copy() {
        for (len, end_stream) in [(0, true), (200, false), (16384, true), (40000, false)] {
            let block: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            let mut want = BytesMut::from(&b"queued"[..]);
            encode_headers(StreamId::new(5), &block, end_stream, 16384, &mut want);

            let mut got = BytesMut::from(&b"queued"[..]);
            let start = got.len();
            got.resize(start + Head::LEN, 0);
            got.extend_from_slice(&block);
            frame_headers_in_place(StreamId::new(5), start, end_stream, 16384, &mut got);
            assert_eq!(got, want, "block of {len}");
        }
    }

    fn headers(bytes: &[u8]) -> Headers {
        match decode_one(bytes) {
            Frame::Headers(h) => h,
            other => panic!("not HEADERS: {other:?}"),
        }
    }

    #[test]
    fn plain() {
        let h = headers(b"\x00\x00\x03\x01\x05\x00\x00\x00\x01\x82\x86\x84");
        assert_eq!(h.stream_id, StreamId::new(1));
        assert!(h.end_stream);
        assert!(h.end_headers);
        assert_eq!(h.priority, None);
        assert_eq!(&h.header_block[..], b"\x82\x86\x84");
    }

    #[test]
    fn padded_with_priority() {
        // Pad Length 2, E + dependency 3, weight 200, fragment 0x82, two padding bytes.
        let h =
            headers(b"\x00\x00\x09\x01\x2c\x00\x00\x00\x05\x02\x80\x00\x00\x03\xc8\x82\x00\x00");
        assert!(!h.end_stream);
        assert!(h.end_headers);
        assert_eq!(
            h.priority,
            Some(StreamDependency {
                dependency: StreamId::new(3),
                exclusive: true,
                weight: 200,
            })
        );
        assert_eq!(&h.header_block[..], b"\x82");
        assert!(!h.is_self_dependency());
    }

    #[test]
    fn self_dependency_is_exposed() {
        let h = headers(b"\x00\x00\x06\x01\x24\x00\x00\x00\x03\x00\x00\x00\x03\x0f\x82");
        assert!(h.is_self_dependency());
        assert_eq!(&h.header_block[..], b"\x82");
    }

    #[test]
    fn stream_zero_is_protocol_error() {
        let err = decode_err(b"\x00\x00\x01\x01\x04\x00\x00\x00\x00\x82");
        assert_eq!(err.reason, Reason::PROTOCOL_ERROR);
        assert!(err.is_connection_error());
    }

    #[test]
    fn priority_flag_without_room_is_frame_size_error() {
        let err = decode_err(b"\x00\x00\x04\x01\x24\x00\x00\x00\x01\x00\x00\x00\x03");
        assert_eq!(err.reason, Reason::FRAME_SIZE_ERROR);
        assert!(err.is_connection_error());
        assert_eq!(
            err.kind,
            FrameErrorKind::TooShort {
                frame: FrameType::Headers,
                length: 4,
                min: 5
            }
        );
    }

    #[test]
    fn padded_and_priority_need_six_bytes() {
        let err = decode_err(b"\x00\x00\x05\x01\x2c\x00\x00\x00\x01\x00\x00\x00\x00\x03");
        assert_eq!(err.reason, Reason::FRAME_SIZE_ERROR);
        assert!(err.is_connection_error());
    }

    #[test]
    fn padded_flag_on_empty_payload_is_frame_size_error() {
        let err = decode_err(b"\x00\x00\x00\x01\x0c\x00\x00\x00\x01");
        assert_eq!(err.reason, Reason::FRAME_SIZE_ERROR);
        assert!(err.is_connection_error());
    }

    #[test]
    fn padding_longer_than_the_fragment_room_is_protocol_error() {
        // 7-byte payload: pad length, 5 priority bytes, 1 byte left, but Pad Length 2.
        let err = decode_err(b"\x00\x00\x07\x01\x2c\x00\x00\x00\x01\x02\x00\x00\x00\x03\x0f\x00");
        assert_eq!(err.reason, Reason::PROTOCOL_ERROR);
        assert!(err.is_connection_error());
        assert_eq!(
            err.kind,
            FrameErrorKind::PaddingTooLong {
                frame: FrameType::Headers,
                pad_length: 2,
                available: 1
            }
        );
    }

    #[test]
    fn unknown_flags_are_ignored() {
        // 0xd2: unused bits 0x80, 0x40, 0x10 and 0x02 set, no defined flag.
        let h = headers(b"\x00\x00\x01\x01\xd2\x00\x00\x00\x01\x82");
        assert!(!h.end_stream && !h.end_headers);
        assert_eq!(h.priority, None);
        assert_eq!(&h.header_block[..], b"\x82");
    }

    #[test]
    fn encode_small_block_is_byte_exact() {
        let mut out = BytesMut::new();
        encode_headers(StreamId::new(1), &[0x88], true, 16_384, &mut out);
        assert_eq!(&out[..], b"\x00\x00\x01\x01\x05\x00\x00\x00\x01\x88");
    }

    #[test]
    fn encode_empty_block_is_one_frame() {
        let mut out = BytesMut::new();
        encode_headers(StreamId::new(3), &[], false, 16_384, &mut out);
        assert_eq!(&out[..], b"\x00\x00\x00\x01\x04\x00\x00\x00\x03");
    }

    #[test]
    fn large_block_is_split_into_continuations() {
        let block: Vec<u8> = (0..40_000u32).map(|i| i as u8).collect();
        let mut out = BytesMut::new();
        encode_headers(StreamId::new(7), &block, true, 16_384, &mut out);
        assert_eq!(out.len(), block.len() + 3 * Head::LEN);

        let frames = decode_all(&mut out, 16_384);
        assert_eq!(frames.len(), 3);
        let Frame::Headers(h) = &frames[0] else {
            panic!("first is not HEADERS: {:?}", frames[0]);
        };
        assert!(h.end_stream, "END_STREAM is on HEADERS, not CONTINUATION");
        assert!(!h.end_headers);
        assert_eq!(h.header_block.len(), 16_384);
        let mut joined = h.header_block.to_vec();
        for (i, frame) in frames[1..].iter().enumerate() {
            let Frame::Continuation(c) = frame else {
                panic!("not CONTINUATION: {frame:?}");
            };
            assert_eq!(c.stream_id, StreamId::new(7));
            assert_eq!(c.end_headers, i == 1);
            joined.extend_from_slice(&c.header_block);
        }
        assert_eq!(joined, block);
    }

    #[test]
    fn block_of_exactly_one_frame_needs_no_continuation() {
        let block = vec![0x82; 16_384];
        let mut out = BytesMut::new();
        encode_headers(StreamId::new(1), &block, false, 16_384, &mut out);
        assert_eq!(out.len(), 16_384 + Head::LEN);
        assert_eq!(out[4], flag::END_HEADERS);
    }

    #[test]
    fn split_follows_a_larger_peer_limit_and_clamps_a_bogus_one() {
        let block = vec![0x82; 40_000];
        let mut out = BytesMut::new();
        encode_headers(StreamId::new(1), &block, false, 20_000, &mut out);
        assert_eq!(decode_all(&mut out, 20_000).len(), 2);

        encode_headers(StreamId::new(1), &block, false, 0, &mut out);
        assert_eq!(decode_all(&mut out, 16_384).len(), 3);
    }
}
