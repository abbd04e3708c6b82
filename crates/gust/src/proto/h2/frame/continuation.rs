//! CONTINUATION frames (RFC 9113 6.10): the rest of a field block begun by HEADERS or
//! PUSH_PROMISE.
//!
//! ```text
//! CONTINUATION Frame {
//!   Length (24), Type (8) = 0x09,
//!   Unused Flags (5), END_HEADERS Flag (1), Unused Flags (2),
//!   Reserved (1), Stream Identifier (31),
//!   Field Block Fragment (..),
//! }
//! ```
//!
//! Whether a CONTINUATION may come at all (right after a HEADERS without END_HEADERS, on
//! the same stream) and how many a block may take are the connection's to check: they
//! depend on the frames before.

use core::fmt;

use bytes::{Bytes, BytesMut};

use super::{flag, require_stream, FrameError, FrameType, Head, StreamId};

/// A CONTINUATION frame.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Continuation {
    /// The stream; never 0.
    pub(crate) stream_id: StreamId,
    /// The field block ends with this fragment.
    pub(crate) end_headers: bool,
    /// The next HPACK fragment: a slice of the read buffer.
    pub(crate) header_block: Bytes,
}

impl Continuation {
    /// Decodes the payload of a CONTINUATION frame.
    pub(super) fn decode(head: &Head, payload: Bytes) -> Result<Continuation, FrameError> {
        require_stream(head)?;
        Ok(Continuation {
            stream_id: head.stream_id,
            end_headers: head.has(flag::END_HEADERS),
            header_block: payload,
        })
    }

    /// Appends the frame as it is; [`super::encode_headers`] writes these for responses.
    pub(crate) fn encode(&self, out: &mut BytesMut) {
        let flags = if self.end_headers {
            flag::END_HEADERS
        } else {
            0
        };
        Head::new(
            FrameType::Continuation,
            flags,
            self.stream_id,
            self.header_block.len(),
        )
        .encode(out);
        out.extend_from_slice(&self.header_block);
    }
}

/// Shows the fragment's size, not its bytes.
impl fmt::Debug for Continuation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Continuation")
            .field("stream_id", &self.stream_id)
            .field("end_headers", &self.end_headers)
            .field("header_block_len", &self.header_block.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{decode_err, decode_one};
    use super::super::{Frame, FrameErrorKind, Reason};
    use super::*;

    #[test]
    fn decodes_fragment_and_end_headers() {
        let frame = decode_one(b"\x00\x00\x02\x09\x04\x00\x00\x00\x03\x82\x84");
        let Frame::Continuation(c) = frame else {
            panic!("not CONTINUATION: {frame:?}");
        };
        assert_eq!(c.stream_id, StreamId::new(3));
        assert!(c.end_headers);
        assert_eq!(&c.header_block[..], b"\x82\x84");
    }

    #[test]
    fn unknown_flags_are_ignored() {
        // PADDED and END_STREAM mean nothing on CONTINUATION: no Pad Length is read.
        let frame = decode_one(b"\x00\x00\x01\x09\xfb\x00\x00\x00\x01\x08");
        let Frame::Continuation(c) = frame else {
            panic!("not CONTINUATION: {frame:?}");
        };
        assert!(!c.end_headers);
        assert_eq!(&c.header_block[..], b"\x08");
    }

    #[test]
    fn stream_zero_is_protocol_error() {
        let err = decode_err(b"\x00\x00\x01\x09\x04\x00\x00\x00\x00\x82");
        assert_eq!(err.reason, Reason::PROTOCOL_ERROR);
        assert!(err.is_connection_error());
        assert_eq!(
            err.kind,
            FrameErrorKind::StreamIdZero {
                frame: FrameType::Continuation
            }
        );
    }

    #[test]
    fn encode_is_byte_exact() {
        let mut out = BytesMut::new();
        Continuation {
            stream_id: StreamId::new(1),
            end_headers: true,
            header_block: Bytes::from_static(b"\x82"),
        }
        .encode(&mut out);
        assert_eq!(&out[..], b"\x00\x00\x01\x09\x04\x00\x00\x00\x01\x82");
    }
}
