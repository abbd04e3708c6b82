//! WINDOW_UPDATE frames (RFC 9113 6.9): flow-control credit for a stream or, on stream 0,
//! for the connection.
//!
//! ```text
//! WINDOW_UPDATE Frame {
//!   Length (24) = 0x04, Type (8) = 0x08,
//!   Unused Flags (8),
//!   Reserved (1), Stream Identifier (31),
//!   Reserved (1), Window Size Increment (31),
//! }
//! ```

use bytes::{BufMut, BytesMut};

use super::head::read_stream_id;
use super::{require_length, FrameError, FrameErrorKind, FrameType, Head, Reason, StreamId};

/// The payload length.
const LEN: usize = 4;

/// A WINDOW_UPDATE frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WindowUpdate {
    /// The stream credited, or 0 for the connection.
    pub(crate) stream_id: StreamId,
    /// The credit in bytes: 1 to 2^31-1 (whether the sum overflows the window is the
    /// connection's to check).
    pub(crate) increment: u32,
}

impl WindowUpdate {
    /// Credit of `increment` bytes on `stream_id` (0 for the connection).
    pub(crate) fn new(stream_id: StreamId, increment: u32) -> WindowUpdate {
        WindowUpdate {
            stream_id,
            increment,
        }
    }

    /// Decodes the payload of a WINDOW_UPDATE frame.
    ///
    /// An increment of 0 is a PROTOCOL_ERROR whose reach depends on the stream (RFC 9113
    /// 6.9): the error carries the frame's stream id, so it is a stream error on a stream
    /// and a connection error on stream 0, as the RFC asks.
    pub(super) fn decode(head: &Head, payload: &[u8]) -> Result<WindowUpdate, FrameError> {
        require_length(head, LEN as u32)?;
        let bytes = <[u8; LEN]>::try_from(payload).unwrap_or_default();
        // The increment is 31 bits like a stream id, with a reserved bit above it.
        let increment = read_stream_id(bytes).0.value();
        if increment == 0 {
            return Err(FrameError::stream(
                Reason::PROTOCOL_ERROR,
                head.stream_id,
                FrameErrorKind::ZeroWindowIncrement,
            ));
        }
        Ok(WindowUpdate {
            stream_id: head.stream_id,
            increment,
        })
    }

    /// Appends the frame.
    pub(crate) fn encode(&self, out: &mut BytesMut) {
        debug_assert!(
            (1..=0x7fff_ffff).contains(&self.increment),
            "WINDOW_UPDATE increment out of range"
        );
        Head::new(FrameType::WindowUpdate, 0, self.stream_id, LEN).encode(out);
        out.put_u32(self.increment & 0x7fff_ffff);
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{decode_err, decode_one};
    use super::super::Frame;
    use super::*;

    #[test]
    fn encode_is_byte_exact() {
        let mut out = BytesMut::new();
        WindowUpdate::new(StreamId::new(1), 0x1000).encode(&mut out);
        assert_eq!(
            &out[..],
            b"\x00\x00\x04\x08\x00\x00\x00\x00\x01\x00\x00\x10\x00"
        );
        out.clear();
        WindowUpdate::new(StreamId::ZERO, 0x7fff_ffff).encode(&mut out);
        assert_eq!(
            &out[..],
            b"\x00\x00\x04\x08\x00\x00\x00\x00\x00\x7f\xff\xff\xff"
        );
    }

    #[test]
    fn reserved_bit_of_the_increment_is_ignored() {
        assert_eq!(
            decode_one(b"\x00\x00\x04\x08\x00\x00\x00\x00\x00\x80\x00\x00\x01"),
            Frame::WindowUpdate(WindowUpdate::new(StreamId::ZERO, 1))
        );
    }

    #[test]
    fn zero_increment_on_a_stream_is_a_stream_error() {
        let err = decode_err(b"\x00\x00\x04\x08\x00\x00\x00\x00\x05\x00\x00\x00\x00");
        assert_eq!(err.reason, Reason::PROTOCOL_ERROR);
        assert_eq!(err.stream_id, StreamId::new(5));
        assert!(!err.is_connection_error());
        assert_eq!(err.kind, FrameErrorKind::ZeroWindowIncrement);
    }

    #[test]
    fn zero_increment_on_the_connection_is_a_connection_error() {
        // Only the reserved bit set: still an increment of 0.
        let err = decode_err(b"\x00\x00\x04\x08\x00\x00\x00\x00\x00\x80\x00\x00\x00");
        assert_eq!(err.reason, Reason::PROTOCOL_ERROR);
        assert!(err.is_connection_error());
        assert_eq!(err.kind, FrameErrorKind::ZeroWindowIncrement);
    }

    #[test]
    fn wrong_length_is_a_connection_frame_size_error() {
        for bytes in [
            &b"\x00\x00\x03\x08\x00\x00\x00\x00\x01\x00\x00\x01"[..],
            b"\x00\x00\x05\x08\x00\x00\x00\x00\x01\x00\x00\x00\x01\x00",
        ] {
            let err = decode_err(bytes);
            assert_eq!(err.reason, Reason::FRAME_SIZE_ERROR);
            assert!(err.is_connection_error(), "even on a stream");
        }
    }
}
