//! PRIORITY frames (RFC 9113 6.3) and the priority fields HEADERS may carry.
//!
//! ```text
//! PRIORITY Frame {
//!   Length (24) = 0x05, Type (8) = 0x02,
//!   Unused Flags (8),
//!   Reserved (1), Stream Identifier (31),
//!   Exclusive (1), Stream Dependency (31), Weight (8),
//! }
//! ```
//!
//! RFC 9113 deprecates this scheme and we do not prioritise by it. The fields are still
//! parsed, because one rule survives: a stream may not depend on itself (RFC 9113 5.3.1).

use bytes::{BufMut, BytesMut};

use super::head::read_stream_id;
use super::{require_stream, FrameError, FrameErrorKind, FrameType, Head, Reason, StreamId};

/// The length of a PRIORITY payload, and of the priority fields in HEADERS.
pub(super) const LEN: usize = 5;

/// Stream dependency fields (RFC 7540 5.3, deprecated by RFC 9113 5.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct StreamDependency {
    /// The stream this one depends on.
    pub(crate) dependency: StreamId,
    /// The E flag: the dependency is exclusive.
    pub(crate) exclusive: bool,
    /// The Weight field as sent; the weight it stands for is this plus one (1 to 256).
    pub(crate) weight: u8,
}

impl StreamDependency {
    /// Reads the 5 bytes of the fields.
    pub(super) fn parse(bytes: [u8; LEN]) -> StreamDependency {
        let (dependency, exclusive) = read_stream_id([bytes[0], bytes[1], bytes[2], bytes[3]]);
        StreamDependency {
            dependency,
            exclusive,
            weight: bytes[4],
        }
    }

    /// Appends the 5 bytes of the fields.
    pub(super) fn encode(&self, out: &mut BytesMut) {
        let e = if self.exclusive { 0x8000_0000 } else { 0 };
        out.put_u32(e | self.dependency.value());
        out.put_u8(self.weight);
    }
}

/// A PRIORITY frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Priority {
    /// The stream whose priority is signalled (it may be idle or closed); never 0.
    pub(crate) stream_id: StreamId,
    /// The signalled dependency.
    pub(crate) dependency: StreamDependency,
}

impl Priority {
    /// Decodes the payload of a PRIORITY frame.
    pub(super) fn decode(head: &Head, payload: &[u8]) -> Result<Priority, FrameError> {
        require_stream(head)?;
        // RFC 9113 6.3 makes a wrong length a *stream* error: PRIORITY changes nothing
        // on the connection, so the connection can reset the stream and read on.
        let Ok(fields) = <[u8; LEN]>::try_from(payload) else {
            return Err(FrameError::stream(
                Reason::FRAME_SIZE_ERROR,
                head.stream_id,
                FrameErrorKind::WrongLength {
                    frame: FrameType::Priority,
                    length: head.length,
                    expected: LEN as u32,
                },
            ));
        };
        Ok(Priority {
            stream_id: head.stream_id,
            dependency: StreamDependency::parse(fields),
        })
    }

    /// Whether the frame makes the stream depend on itself, which the connection answers
    /// with a PROTOCOL_ERROR stream error (RFC 9113 5.3.1).
    pub(crate) fn is_self_dependency(&self) -> bool {
        self.dependency.dependency == self.stream_id
    }

    /// Appends the frame; only tests and scripted peers send it.
    pub(crate) fn encode(&self, out: &mut BytesMut) {
        Head::new(FrameType::Priority, 0, self.stream_id, LEN).encode(out);
        self.dependency.encode(out);
    }
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;

    use super::super::tests::{decode_err, decode_one};
    use super::super::{decode, Decoded, Frame};
    use super::*;

    #[test]
    fn decodes_dependency_exclusive_and_weight() {
        let frame = decode_one(b"\x00\x00\x05\x02\x00\x00\x00\x00\x03\x80\x00\x00\x01\xff");
        assert_eq!(
            frame,
            Frame::Priority(Priority {
                stream_id: StreamId::new(3),
                dependency: StreamDependency {
                    dependency: StreamId::new(1),
                    exclusive: true,
                    weight: 255,
                },
            })
        );
    }

    #[test]
    fn self_dependency_is_reported_not_refused() {
        let Frame::Priority(p) =
            decode_one(b"\x00\x00\x05\x02\x00\x00\x00\x00\x03\x00\x00\x00\x03\x10")
        else {
            panic!("not PRIORITY");
        };
        assert!(p.is_self_dependency());
    }

    #[test]
    fn stream_zero_is_protocol_error() {
        let err = decode_err(b"\x00\x00\x05\x02\x00\x00\x00\x00\x00\x00\x00\x00\x01\x10");
        assert_eq!(err.reason, Reason::PROTOCOL_ERROR);
        assert!(err.is_connection_error());
    }

    #[test]
    fn wrong_length_is_a_stream_frame_size_error() {
        for payload in [&b"\x00\x00\x00\x01"[..], b"\x00\x00\x00\x01\x10\x00"] {
            let mut bytes = vec![0, 0, payload.len() as u8, 2, 0, 0, 0, 0, 7];
            bytes.extend_from_slice(payload);
            let err = decode_err(&bytes);
            assert_eq!(err.reason, Reason::FRAME_SIZE_ERROR);
            assert_eq!(err.stream_id, StreamId::new(7), "a stream error");
            assert!(!err.is_connection_error());
        }
    }

    #[test]
    fn after_a_stream_error_the_next_frame_decodes() {
        let mut buf = BytesMut::from(
            &b"\x00\x00\x04\x02\x00\x00\x00\x00\x07\x00\x00\x00\x01\
               \x00\x00\x08\x06\x00\x00\x00\x00\x00pingpong"[..],
        );
        let err = decode(&mut buf, 16_384).unwrap_err();
        assert_eq!(err.stream_id, StreamId::new(7));
        assert_eq!(buf.len(), 17, "the bad frame was consumed");
        assert!(matches!(
            decode(&mut buf, 16_384),
            Ok(Decoded::Frame(Frame::Ping(_), 17))
        ));
    }

    #[test]
    fn encode_is_byte_exact() {
        let mut out = BytesMut::new();
        Priority {
            stream_id: StreamId::new(5),
            dependency: StreamDependency {
                dependency: StreamId::new(3),
                exclusive: true,
                weight: 15,
            },
        }
        .encode(&mut out);
        assert_eq!(
            &out[..],
            b"\x00\x00\x05\x02\x00\x00\x00\x00\x05\x80\x00\x00\x03\x0f"
        );
    }
}
