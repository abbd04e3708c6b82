//! PUSH_PROMISE frames (RFC 9113 6.6).
//!
//! ```text
//! PUSH_PROMISE Frame {
//!   Length (24), Type (8) = 0x05,
//!   Unused Flags (4), PADDED Flag (1), END_HEADERS Flag (1), Unused Flags (2),
//!   Reserved (1), Stream Identifier (31),
//!   [Pad Length (8)],
//!   Reserved (1), Promised Stream ID (31),
//!   Field Block Fragment (..),
//!   Padding (..2040),
//! }
//! ```
//!
//! Only servers push, so a client's PUSH_PROMISE is a PROTOCOL_ERROR connection error (RFC
//! 9113 8.4). That is the connection's judgement about who sent it, not the codec's about
//! its bytes: the frame is decoded like any other so that the connection can name it.

use core::fmt;

use bytes::{Bytes, BytesMut};

use super::head::read_stream_id;
use super::{flag, require_stream, strip_padding, FrameError, FrameType, Head, StreamId};

/// The length of the Promised Stream ID field.
const PROMISED_LEN: usize = 4;

/// A PUSH_PROMISE frame.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct PushPromise {
    /// The stream the promise is made on; never 0.
    pub(crate) stream_id: StreamId,
    /// The stream being reserved.
    pub(crate) promised_id: StreamId,
    /// The field block is complete.
    pub(crate) end_headers: bool,
    /// The HPACK fragment of the promised request, padding removed.
    pub(crate) header_block: Bytes,
}

impl PushPromise {
    /// Decodes the payload of a PUSH_PROMISE frame.
    pub(super) fn decode(head: &Head, payload: Bytes) -> Result<PushPromise, FrameError> {
        require_stream(head)?;
        let (fields, header_block) = strip_padding(head, payload, PROMISED_LEN)?;
        let promised = [fields[0], fields[1], fields[2], fields[3]];
        Ok(PushPromise {
            stream_id: head.stream_id,
            promised_id: read_stream_id(promised).0,
            end_headers: head.has(flag::END_HEADERS),
            header_block,
        })
    }

    /// Appends the frame, unpadded; only tests and scripted peers send it.
    pub(crate) fn encode(&self, out: &mut BytesMut) {
        let flags = if self.end_headers {
            flag::END_HEADERS
        } else {
            0
        };
        let length = PROMISED_LEN + self.header_block.len();
        Head::new(FrameType::PushPromise, flags, self.stream_id, length).encode(out);
        out.extend_from_slice(&self.promised_id.value().to_be_bytes());
        out.extend_from_slice(&self.header_block);
    }
}

/// Shows the fragment's size, not its bytes.
impl fmt::Debug for PushPromise {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PushPromise")
            .field("stream_id", &self.stream_id)
            .field("promised_id", &self.promised_id)
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
    fn decodes_padded_promise() {
        // Pad Length 1, promised stream 2 with the reserved bit set, fragment 0x82, 1 pad.
        let frame = decode_one(b"\x00\x00\x07\x05\x0c\x00\x00\x00\x01\x01\x80\x00\x00\x02\x82\x00");
        let Frame::PushPromise(p) = frame else {
            panic!("not PUSH_PROMISE: {frame:?}");
        };
        assert_eq!(p.stream_id, StreamId::new(1));
        assert_eq!(p.promised_id, StreamId::new(2));
        assert!(p.end_headers);
        assert_eq!(&p.header_block[..], b"\x82");
    }

    #[test]
    fn stream_zero_is_protocol_error() {
        let err = decode_err(b"\x00\x00\x04\x05\x04\x00\x00\x00\x00\x00\x00\x00\x02");
        assert_eq!(err.reason, Reason::PROTOCOL_ERROR);
        assert!(err.is_connection_error());
    }

    #[test]
    fn too_short_for_the_promised_id_is_frame_size_error() {
        let err = decode_err(b"\x00\x00\x03\x05\x04\x00\x00\x00\x01\x00\x00\x02");
        assert_eq!(err.reason, Reason::FRAME_SIZE_ERROR);
        assert!(err.is_connection_error());
        assert_eq!(
            err.kind,
            FrameErrorKind::TooShort {
                frame: FrameType::PushPromise,
                length: 3,
                min: 4
            }
        );
    }

    #[test]
    fn padding_longer_than_the_room_is_protocol_error() {
        let err = decode_err(b"\x00\x00\x06\x05\x0c\x00\x00\x00\x01\x02\x00\x00\x00\x02\x82");
        assert_eq!(err.reason, Reason::PROTOCOL_ERROR);
        assert!(err.is_connection_error());
    }
}
