//! GOAWAY frames (RFC 9113 6.8): the end of a connection, graceful or not.
//!
//! ```text
//! GOAWAY Frame {
//!   Length (24), Type (8) = 0x07,
//!   Unused Flags (8),
//!   Reserved (1), Stream Identifier (31) = 0,
//!   Reserved (1), Last-Stream-ID (31),
//!   Error Code (32),
//!   Additional Debug Data (..),
//! }
//! ```

use core::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use super::head::read_stream_id;
use super::{
    require_connection, FrameError, FrameErrorKind, FrameType, Head, Reason, StreamId,
    DEFAULT_MAX_FRAME_SIZE,
};

/// The fixed fields: last stream id and error code.
const FIXED_LEN: usize = 8;

/// The most debug data we send: what fits the smallest frame any peer must accept. Debug
/// data is diagnostics only, so cutting it is harmless; a frame the peer refuses is not.
const MAX_DEBUG_DATA: usize = DEFAULT_MAX_FRAME_SIZE as usize - FIXED_LEN;

/// A GOAWAY frame.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct GoAway {
    /// The highest stream the sender may have acted on; higher ones were not processed.
    pub(crate) last_stream_id: StreamId,
    /// Why the connection ends.
    pub(crate) reason: Reason,
    /// Opaque diagnostics, often text: a slice of the read buffer when decoded.
    pub(crate) debug_data: Bytes,
}

impl GoAway {
    /// A GOAWAY without debug data.
    pub(crate) fn new(last_stream_id: StreamId, reason: Reason) -> GoAway {
        GoAway {
            last_stream_id,
            reason,
            debug_data: Bytes::new(),
        }
    }

    /// Decodes the payload of a GOAWAY frame.
    pub(super) fn decode(head: &Head, payload: Bytes) -> Result<GoAway, FrameError> {
        require_connection(head)?;
        if payload.len() < FIXED_LEN {
            return Err(FrameError::connection(
                Reason::FRAME_SIZE_ERROR,
                FrameErrorKind::TooShort {
                    frame: FrameType::GoAway,
                    length: head.length,
                    min: FIXED_LEN as u32,
                },
            ));
        }
        let (last_stream_id, _) = read_stream_id([payload[0], payload[1], payload[2], payload[3]]);
        let code = u32::from_be_bytes([payload[4], payload[5], payload[6], payload[7]]);
        Ok(GoAway {
            last_stream_id,
            reason: Reason(code),
            debug_data: payload.slice(FIXED_LEN..),
        })
    }

    /// Appends the frame, debug data cut to 16376 bytes so that the frame fits the 16384
    /// every peer accepts.
    pub(crate) fn encode(&self, out: &mut BytesMut) {
        let debug_data = &self.debug_data[..self.debug_data.len().min(MAX_DEBUG_DATA)];
        Head::new(
            FrameType::GoAway,
            0,
            StreamId::ZERO,
            FIXED_LEN + debug_data.len(),
        )
        .encode(out);
        out.put_u32(self.last_stream_id.value());
        out.put_u32(self.reason.0);
        out.extend_from_slice(debug_data);
    }
}

/// Shows debug data as text where it is, since that is what peers put there.
impl fmt::Debug for GoAway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GoAway")
            .field("last_stream_id", &self.last_stream_id)
            .field("reason", &self.reason)
            .field("debug_data", &String::from_utf8_lossy(&self.debug_data))
            .finish()
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
        GoAway {
            last_stream_id: StreamId::new(5),
            reason: Reason::ENHANCE_YOUR_CALM,
            debug_data: Bytes::from_static(b"hi"),
        }
        .encode(&mut out);
        assert_eq!(
            &out[..],
            b"\x00\x00\x0a\x07\x00\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00\x00\x0bhi"
        );
    }

    #[test]
    fn decodes_minimal_frame_and_ignores_reserved_bit() {
        assert_eq!(
            decode_one(b"\x00\x00\x08\x07\x00\x00\x00\x00\x00\x80\x00\x00\x03\x00\x00\x00\x00"),
            Frame::GoAway(GoAway::new(StreamId::new(3), Reason::NO_ERROR))
        );
    }

    #[test]
    fn on_a_stream_is_protocol_error() {
        let err =
            decode_err(b"\x00\x00\x08\x07\x00\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00");
        assert_eq!(err.reason, Reason::PROTOCOL_ERROR);
        assert!(err.is_connection_error());
    }

    #[test]
    fn shorter_than_eight_is_frame_size_error() {
        let err = decode_err(b"\x00\x00\x07\x07\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00");
        assert_eq!(err.reason, Reason::FRAME_SIZE_ERROR);
        assert!(err.is_connection_error());
        assert_eq!(
            err.kind,
            FrameErrorKind::TooShort {
                frame: FrameType::GoAway,
                length: 7,
                min: 8
            }
        );
    }

    #[test]
    fn long_debug_data_is_cut_to_fit_the_minimum_frame_size() {
        let mut out = BytesMut::new();
        GoAway {
            last_stream_id: StreamId::ZERO,
            reason: Reason::INTERNAL_ERROR,
            debug_data: Bytes::from(vec![b'x'; 20_000]),
        }
        .encode(&mut out);
        assert_eq!(out.len(), Head::LEN + 16_384);
        let Frame::GoAway(g) = decode_one(&out) else {
            panic!("not GOAWAY");
        };
        assert_eq!(g.debug_data.len(), 16_376);
    }

    #[test]
    fn debug_shows_text() {
        let g = GoAway {
            last_stream_id: StreamId::new(1),
            reason: Reason::PROTOCOL_ERROR,
            debug_data: Bytes::from_static(b"bad frame"),
        };
        let shown = format!("{g:?}");
        assert!(shown.contains("\"bad frame\""), "{shown}");
        assert!(shown.contains("PROTOCOL_ERROR"), "{shown}");
    }
}
