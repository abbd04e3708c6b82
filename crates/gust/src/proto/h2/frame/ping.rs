//! PING frames (RFC 9113 6.7): round-trip measurement and liveness.
//!
//! ```text
//! PING Frame {
//!   Length (24) = 0x08, Type (8) = 0x06,
//!   Unused Flags (7), ACK Flag (1),
//!   Reserved (1), Stream Identifier (31) = 0,
//!   Opaque Data (64),
//! }
//! ```

use bytes::BytesMut;

use super::{flag, require_connection, require_length, FrameError, FrameType, Head, StreamId};

/// The payload length.
const LEN: usize = 8;

/// A PING frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ping {
    /// This answers a PING of ours; otherwise the peer expects this payload back with ACK.
    pub(crate) ack: bool,
    /// Opaque data, echoed in the answer.
    pub(crate) payload: [u8; LEN],
}

impl Ping {
    /// A PING asking for an answer.
    pub(crate) fn new(payload: [u8; LEN]) -> Ping {
        Ping {
            ack: false,
            payload,
        }
    }

    /// The answer to a PING carrying `payload` (RFC 9113 6.7: identical payload).
    pub(crate) fn pong(payload: [u8; LEN]) -> Ping {
        Ping { ack: true, payload }
    }

    /// Decodes the payload of a PING frame.
    pub(super) fn decode(head: &Head, payload: &[u8]) -> Result<Ping, FrameError> {
        require_connection(head)?;
        require_length(head, LEN as u32)?;
        Ok(Ping {
            ack: head.has(flag::ACK),
            payload: <[u8; LEN]>::try_from(payload).unwrap_or_default(),
        })
    }

    /// Appends the frame.
    pub(crate) fn encode(&self, out: &mut BytesMut) {
        let flags = if self.ack { flag::ACK } else { 0 };
        Head::new(FrameType::Ping, flags, StreamId::ZERO, LEN).encode(out);
        out.extend_from_slice(&self.payload);
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{decode_err, decode_one};
    use super::super::{Frame, FrameErrorKind, Reason};
    use super::*;

    #[test]
    fn encode_ack_is_byte_exact() {
        let mut out = BytesMut::new();
        Ping::pong([1, 2, 3, 4, 5, 6, 7, 8]).encode(&mut out);
        assert_eq!(
            &out[..],
            b"\x00\x00\x08\x06\x01\x00\x00\x00\x00\x01\x02\x03\x04\x05\x06\x07\x08"
        );
    }

    #[test]
    fn decodes_request_and_ack() {
        assert_eq!(
            decode_one(b"\x00\x00\x08\x06\x00\x00\x00\x00\x00abcdefgh"),
            Frame::Ping(Ping::new(*b"abcdefgh"))
        );
        // Unknown flag bits beside ACK change nothing.
        assert_eq!(
            decode_one(b"\x00\x00\x08\x06\xff\x00\x00\x00\x00abcdefgh"),
            Frame::Ping(Ping::pong(*b"abcdefgh"))
        );
    }

    #[test]
    fn on_a_stream_is_protocol_error() {
        let err = decode_err(b"\x00\x00\x08\x06\x00\x00\x00\x00\x01abcdefgh");
        assert_eq!(err.reason, Reason::PROTOCOL_ERROR);
        assert!(err.is_connection_error());
        assert_eq!(
            err.kind,
            FrameErrorKind::StreamIdNotZero {
                frame: FrameType::Ping,
                stream_id: StreamId::new(1)
            }
        );
    }

    #[test]
    fn wrong_length_is_frame_size_error() {
        for bytes in [
            &b"\x00\x00\x07\x06\x00\x00\x00\x00\x00abcdefg"[..],
            b"\x00\x00\x09\x06\x00\x00\x00\x00\x00abcdefghi",
            b"\x00\x00\x00\x06\x01\x00\x00\x00\x00",
        ] {
            let err = decode_err(bytes);
            assert_eq!(err.reason, Reason::FRAME_SIZE_ERROR);
            assert!(err.is_connection_error());
        }
    }
}
