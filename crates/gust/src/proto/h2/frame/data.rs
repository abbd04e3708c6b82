//! DATA frames (RFC 9113 6.1): request and response content.
//!
//! ```text
//! DATA Frame {
//!   Length (24), Type (8) = 0x00,
//!   Unused Flags (4), PADDED Flag (1), Unused Flags (2), END_STREAM Flag (1),
//!   Reserved (1), Stream Identifier (31),
//!   [Pad Length (8)], Data (..), Padding (..2040),
//! }
//! ```

use core::fmt;

use bytes::{Bytes, BytesMut};

use super::{flag, require_stream, strip_padding, FrameError, FrameType, Head, StreamId};

/// A DATA frame.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Data {
    /// The stream; never 0.
    pub(crate) stream_id: StreamId,
    /// The content, padding removed: a slice of the read buffer.
    pub(crate) data: Bytes,
    /// The last frame the peer sends on this stream.
    pub(crate) end_stream: bool,
    /// The whole payload length, Pad Length octet and padding included: the amount both
    /// flow-control windows are charged (RFC 9113 6.9.1), which can exceed `data.len()`.
    pub(crate) flow_len: u32,
}

impl Data {
    /// A frame carrying `data`, unpadded.
    pub(crate) fn new(stream_id: StreamId, data: Bytes, end_stream: bool) -> Data {
        Data {
            stream_id,
            // Saturating only matters for a payload `encode` would refuse anyway.
            flow_len: u32::try_from(data.len()).unwrap_or(u32::MAX),
            data,
            end_stream,
        }
    }

    /// Decodes the payload of a DATA frame.
    pub(super) fn decode(head: &Head, payload: Bytes) -> Result<Data, FrameError> {
        require_stream(head)?;
        let (_, data) = strip_padding(head, payload, 0)?;
        Ok(Data {
            stream_id: head.stream_id,
            data,
            end_stream: head.has(flag::END_STREAM),
            flow_len: head.length,
        })
    }

    /// Appends the frame, payload copied. The connection sends large bodies with
    /// [`Data::encode_head`] and the payload `Bytes` queued behind it instead.
    pub(crate) fn encode(&self, out: &mut BytesMut) {
        self.encode_head(out);
        out.extend_from_slice(&self.data);
    }

    /// Appends only the 9-byte header of this frame.
    pub(crate) fn encode_head(&self, out: &mut BytesMut) {
        encode_data_head(self.stream_id, self.data.len(), self.end_stream, out);
    }
}

/// Appends the 9-byte header of an unpadded DATA frame whose `len` payload bytes the
/// caller sends right after it, from its own buffer: the zero-copy path for bodies.
///
/// # Panics
///
/// If `len` exceeds 2^24-1; callers split bodies by the peer's SETTINGS_MAX_FRAME_SIZE,
/// which is never larger.
pub(crate) fn encode_data_head(
    stream_id: StreamId,
    len: usize,
    end_stream: bool,
    out: &mut BytesMut,
) {
    debug_assert!(!stream_id.is_zero(), "DATA on stream 0");
    let flags = if end_stream { flag::END_STREAM } else { 0 };
    Head::new(FrameType::Data, flags, stream_id, len).encode(out);
}

/// Shows the sizes, not the content: a body in a log line helps nobody.
impl fmt::Debug for Data {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Data")
            .field("stream_id", &self.stream_id)
            .field("data_len", &self.data.len())
            .field("end_stream", &self.end_stream)
            .field("flow_len", &self.flow_len)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{decode_err, decode_one};
    use super::super::{Frame, FrameErrorKind, Reason};
    use super::*;

    fn data(bytes: &[u8]) -> Data {
        match decode_one(bytes) {
            Frame::Data(d) => d,
            other => panic!("not DATA: {other:?}"),
        }
    }

    #[test]
    fn encode_is_byte_exact() {
        let mut out = BytesMut::new();
        Data::new(StreamId::new(1), Bytes::from_static(b"hello"), true).encode(&mut out);
        assert_eq!(
            &out[..],
            b"\x00\x00\x05\x00\x01\x00\x00\x00\x01hello",
            "length 5, type 0, END_STREAM, stream 1, payload"
        );
    }

    #[test]
    fn head_only_encoding_leaves_the_payload_to_the_caller() {
        let mut out = BytesMut::new();
        encode_data_head(StreamId::new(3), 0x01_0000, false, &mut out);
        assert_eq!(&out[..], &[0x01, 0x00, 0x00, 0x00, 0x00, 0, 0, 0, 3]);
    }

    #[test]
    fn plain() {
        let d = data(b"\x00\x00\x03\x00\x00\x00\x00\x00\x05abc");
        assert_eq!(d.stream_id, StreamId::new(5));
        assert_eq!(&d.data[..], b"abc");
        assert!(!d.end_stream);
        assert_eq!(d.flow_len, 3);
    }

    #[test]
    fn empty_with_end_stream() {
        let d = data(b"\x00\x00\x00\x00\x01\x00\x00\x00\x01");
        assert!(d.end_stream);
        assert!(d.data.is_empty());
        assert_eq!(d.flow_len, 0);
    }

    #[test]
    fn padding_is_stripped_but_counted_for_flow_control() {
        // Pad Length 3, "ab", three zero bytes of padding: a 6-byte payload.
        let d = data(b"\x00\x00\x06\x00\x09\x00\x00\x00\x01\x03ab\x00\x00\x00");
        assert_eq!(&d.data[..], b"ab");
        assert!(d.end_stream);
        assert_eq!(d.flow_len, 6);
    }

    #[test]
    fn padding_filling_the_whole_payload_is_allowed() {
        // Pad Length 2 in a 3-byte payload: no data at all.
        let d = data(b"\x00\x00\x03\x00\x08\x00\x00\x00\x01\x02\x00\x00");
        assert!(d.data.is_empty());
        assert_eq!(d.flow_len, 3);
    }

    #[test]
    fn pad_length_equal_to_payload_length_is_protocol_error() {
        let err = decode_err(b"\x00\x00\x03\x00\x08\x00\x00\x00\x01\x03\x00\x00");
        assert_eq!(err.reason, Reason::PROTOCOL_ERROR);
        assert!(err.is_connection_error());
        assert_eq!(
            err.kind,
            FrameErrorKind::PaddingTooLong {
                frame: FrameType::Data,
                pad_length: 3,
                available: 2
            }
        );
    }

    #[test]
    fn pad_length_beyond_payload_is_protocol_error() {
        let err = decode_err(b"\x00\x00\x01\x00\x08\x00\x00\x00\x01\xff");
        assert_eq!(err.reason, Reason::PROTOCOL_ERROR);
        assert!(err.is_connection_error());
    }

    #[test]
    fn padded_flag_on_empty_payload_is_frame_size_error() {
        let err = decode_err(b"\x00\x00\x00\x00\x08\x00\x00\x00\x01");
        assert_eq!(err.reason, Reason::FRAME_SIZE_ERROR);
        assert!(err.is_connection_error());
        assert_eq!(
            err.kind,
            FrameErrorKind::TooShort {
                frame: FrameType::Data,
                length: 0,
                min: 1
            }
        );
    }

    #[test]
    fn stream_zero_is_protocol_error() {
        let err = decode_err(b"\x00\x00\x01\x00\x00\x00\x00\x00\x00x");
        assert_eq!(err.reason, Reason::PROTOCOL_ERROR);
        assert!(err.is_connection_error());
        assert_eq!(
            err.kind,
            FrameErrorKind::StreamIdZero {
                frame: FrameType::Data
            }
        );
    }

    #[test]
    fn unknown_flags_are_ignored() {
        // Every flag bit except END_STREAM and PADDED.
        let d = data(b"\x00\x00\x02\x00\xf6\x00\x00\x00\x01hi");
        assert_eq!(&d.data[..], b"hi");
        assert!(!d.end_stream);
        assert_eq!(d.flow_len, 2);
    }

    #[test]
    fn payload_is_a_slice_of_the_read_buffer() {
        let mut buf = BytesMut::from(&b"\x00\x00\x04\x00\x08\x00\x00\x00\x01\x01xy\x00"[..]);
        let base = buf.as_ptr() as usize;
        let Ok(super::super::Decoded::Frame(Frame::Data(d), 13)) =
            super::super::decode(&mut buf, 16_384)
        else {
            panic!("not decoded");
        };
        assert_eq!(&d.data[..], b"xy");
        // 9 header bytes and the Pad Length octet precede the data in the same allocation.
        assert_eq!(d.data.as_ptr() as usize, base + 10);
    }

    #[test]
    fn debug_hides_the_content() {
        let d = Data::new(StreamId::new(1), Bytes::from_static(b"secret"), false);
        let shown = format!("{d:?}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(shown.contains("data_len: 6"), "{shown}");
    }
}
