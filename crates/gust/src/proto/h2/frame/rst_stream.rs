//! RST_STREAM frames (RFC 9113 6.4): the immediate end of one stream.
//!
//! ```text
//! RST_STREAM Frame {
//!   Length (24) = 0x04, Type (8) = 0x03,
//!   Unused Flags (8),
//!   Reserved (1), Stream Identifier (31),
//!   Error Code (32),
//! }
//! ```

use bytes::{BufMut, BytesMut};

use super::{require_length, require_stream, FrameError, FrameType, Head, Reason, StreamId};

/// The payload length.
const LEN: usize = 4;

/// An RST_STREAM frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RstStream {
    /// The stream to end; never 0.
    pub(crate) stream_id: StreamId,
    /// Why.
    pub(crate) reason: Reason,
}

impl RstStream {
    /// A reset of `stream_id` for `reason`.
    pub(crate) fn new(stream_id: StreamId, reason: Reason) -> RstStream {
        RstStream { stream_id, reason }
    }

    /// Decodes the payload of an RST_STREAM frame.
    pub(super) fn decode(head: &Head, payload: &[u8]) -> Result<RstStream, FrameError> {
        require_stream(head)?;
        require_length(head, LEN as u32)?;
        let code = <[u8; LEN]>::try_from(payload).unwrap_or_default();
        Ok(RstStream {
            stream_id: head.stream_id,
            reason: Reason(u32::from_be_bytes(code)),
        })
    }

    /// Appends the frame.
    pub(crate) fn encode(&self, out: &mut BytesMut) {
        debug_assert!(!self.stream_id.is_zero(), "RST_STREAM on stream 0");
        Head::new(FrameType::RstStream, 0, self.stream_id, LEN).encode(out);
        out.put_u32(self.reason.0);
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{decode_err, decode_one};
    use super::super::{Frame, FrameErrorKind};
    use super::*;

    #[test]
    fn encode_is_byte_exact() {
        let mut out = BytesMut::new();
        RstStream::new(StreamId::new(3), Reason::CANCEL).encode(&mut out);
        assert_eq!(
            &out[..],
            b"\x00\x00\x04\x03\x00\x00\x00\x00\x03\x00\x00\x00\x08"
        );
    }

    #[test]
    fn unknown_codes_decode() {
        let frame = decode_one(b"\x00\x00\x04\x03\xff\x00\x00\x00\x01\x00\x00\x12\x34");
        assert_eq!(
            frame,
            Frame::RstStream(RstStream::new(StreamId::new(1), Reason(0x1234)))
        );
    }

    #[test]
    fn stream_zero_is_protocol_error() {
        let err = decode_err(b"\x00\x00\x04\x03\x00\x00\x00\x00\x00\x00\x00\x00\x08");
        assert_eq!(err.reason, Reason::PROTOCOL_ERROR);
        assert!(err.is_connection_error());
    }

    #[test]
    fn wrong_length_is_frame_size_error() {
        for bytes in [
            &b"\x00\x00\x03\x03\x00\x00\x00\x00\x01\x00\x00\x08"[..],
            b"\x00\x00\x05\x03\x00\x00\x00\x00\x01\x00\x00\x00\x08\x00",
        ] {
            let err = decode_err(bytes);
            assert_eq!(err.reason, Reason::FRAME_SIZE_ERROR);
            assert!(err.is_connection_error());
            assert!(matches!(
                err.kind,
                FrameErrorKind::WrongLength { expected: 4, .. }
            ));
        }
    }
}
