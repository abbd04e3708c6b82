//! SETTINGS frames (RFC 9113 6.5): each side's parameters, and their acknowledgement.
//!
//! ```text
//! SETTINGS Frame {
//!   Length (24), Type (8) = 0x04,
//!   Unused Flags (7), ACK Flag (1),
//!   Reserved (1), Stream Identifier (31) = 0,
//!   Setting (48) ...,
//! }
//!
//! Setting {
//!   Identifier (16),
//!   Value (32),
//! }
//! ```
//!
//! The codec checks each value against the range RFC 9113 6.5.2 (and RFC 8441 3) gives it,
//! so the connection only ever sees settings it can apply. Identifiers we do not know are
//! ignored, as RFC 9113 6.5.2 requires.

use bytes::{BufMut, BytesMut};

use super::{
    flag, require_connection, FrameError, FrameErrorKind, FrameType, Head, Reason, StreamId,
    DEFAULT_MAX_FRAME_SIZE, MAX_FRAME_SIZE_UPPER_BOUND,
};

/// The size of one setting.
const SETTING_LEN: usize = 6;

/// The largest flow-control window, 2^31-1 (RFC 9113 6.9.1).
pub(crate) const MAX_WINDOW_SIZE: u32 = 0x7fff_ffff;

/// SETTINGS_HEADER_TABLE_SIZE.
const HEADER_TABLE_SIZE: u16 = 0x1;
/// SETTINGS_ENABLE_PUSH.
const ENABLE_PUSH: u16 = 0x2;
/// SETTINGS_MAX_CONCURRENT_STREAMS.
const MAX_CONCURRENT_STREAMS: u16 = 0x3;
/// SETTINGS_INITIAL_WINDOW_SIZE.
const INITIAL_WINDOW_SIZE: u16 = 0x4;
/// SETTINGS_MAX_FRAME_SIZE.
const MAX_FRAME_SIZE: u16 = 0x5;
/// SETTINGS_MAX_HEADER_LIST_SIZE.
const MAX_HEADER_LIST_SIZE: u16 = 0x6;
/// SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 3): extended CONNECT, for WebSocket over h2.
const ENABLE_CONNECT_PROTOCOL: u16 = 0x8;

/// A SETTINGS frame. `None` means the frame did not carry that setting, so its value stays
/// what it was; if a frame repeats a setting, the last occurrence wins (RFC 9113 6.5.3
/// processes them in order).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Settings {
    /// This acknowledges the peer's SETTINGS; an acknowledgement carries no settings.
    pub(crate) ack: bool,
    /// The HPACK dynamic table size the sender's decoder allows.
    pub(crate) header_table_size: Option<u32>,
    /// Whether the sender accepts PUSH_PROMISE (0 or 1 on the wire).
    pub(crate) enable_push: Option<bool>,
    /// How many streams the sender lets its peer open at once.
    pub(crate) max_concurrent_streams: Option<u32>,
    /// The initial stream window for data the sender receives; at most 2^31-1.
    pub(crate) initial_window_size: Option<u32>,
    /// The largest frame payload the sender accepts: 16384 to 2^24-1.
    pub(crate) max_frame_size: Option<u32>,
    /// Advisory limit on the uncompressed field section size the sender accepts.
    pub(crate) max_header_list_size: Option<u32>,
    /// Whether the sender accepts extended CONNECT (RFC 8441; 0 or 1 on the wire).
    pub(crate) enable_connect_protocol: Option<bool>,
}

impl Settings {
    /// The acknowledgement of the peer's SETTINGS.
    pub(crate) fn ack() -> Settings {
        Settings {
            ack: true,
            ..Settings::default()
        }
    }

    /// Decodes the payload of a SETTINGS frame.
    pub(super) fn decode(head: &Head, payload: &[u8]) -> Result<Settings, FrameError> {
        require_connection(head)?;
        if head.has(flag::ACK) {
            if !payload.is_empty() {
                return Err(FrameError::connection(
                    Reason::FRAME_SIZE_ERROR,
                    FrameErrorKind::SettingsAckWithPayload {
                        length: head.length,
                    },
                ));
            }
            return Ok(Settings::ack());
        }
        Settings::decode_payload(payload)
    }

    /// Decodes the settings of a non-ACK SETTINGS payload; also the form an h2c upgrade
    /// request carries in `HTTP2-Settings` (RFC 7540 3.2.1).
    pub(crate) fn decode_payload(payload: &[u8]) -> Result<Settings, FrameError> {
        if !payload.len().is_multiple_of(SETTING_LEN) {
            return Err(FrameError::connection(
                Reason::FRAME_SIZE_ERROR,
                FrameErrorKind::SettingsLength {
                    length: payload.len() as u32,
                },
            ));
        }
        let mut settings = Settings::default();
        for setting in payload.chunks_exact(SETTING_LEN) {
            let id = u16::from_be_bytes([setting[0], setting[1]]);
            let value = u32::from_be_bytes([setting[2], setting[3], setting[4], setting[5]]);
            settings.apply(id, value)?;
        }
        Ok(settings)
    }

    /// Records one received setting after checking its range.
    fn apply(&mut self, id: u16, value: u32) -> Result<(), FrameError> {
        let invalid = |reason| {
            Err(FrameError::connection(
                reason,
                FrameErrorKind::InvalidSetting { id, value },
            ))
        };
        match id {
            HEADER_TABLE_SIZE => self.header_table_size = Some(value),
            ENABLE_PUSH => match value {
                0 | 1 => self.enable_push = Some(value == 1),
                _ => return invalid(Reason::PROTOCOL_ERROR),
            },
            MAX_CONCURRENT_STREAMS => self.max_concurrent_streams = Some(value),
            INITIAL_WINDOW_SIZE => {
                if value > MAX_WINDOW_SIZE {
                    return invalid(Reason::FLOW_CONTROL_ERROR);
                }
                self.initial_window_size = Some(value);
            }
            MAX_FRAME_SIZE => {
                if !(DEFAULT_MAX_FRAME_SIZE..=MAX_FRAME_SIZE_UPPER_BOUND).contains(&value) {
                    return invalid(Reason::PROTOCOL_ERROR);
                }
                self.max_frame_size = Some(value);
            }
            MAX_HEADER_LIST_SIZE => self.max_header_list_size = Some(value),
            ENABLE_CONNECT_PROTOCOL => match value {
                0 | 1 => self.enable_connect_protocol = Some(value == 1),
                _ => return invalid(Reason::PROTOCOL_ERROR),
            },
            _ => tracing::trace!(id, value, "ignoring unknown h2 setting"),
        }
        Ok(())
    }

    /// Appends the frame: an empty acknowledgement if `ack` (any settings in the value are
    /// then not sent, since an ACK must be empty), else every setting that is `Some`, in
    /// identifier order. Values are ours, so they are not range-checked beyond a debug
    /// assertion.
    pub(crate) fn encode(&self, out: &mut BytesMut) {
        if self.ack {
            Head::new(FrameType::Settings, flag::ACK, StreamId::ZERO, 0).encode(out);
            return;
        }
        let bool_value = |b: Option<bool>| b.map(u32::from);
        let all = [
            (HEADER_TABLE_SIZE, self.header_table_size),
            (ENABLE_PUSH, bool_value(self.enable_push)),
            (MAX_CONCURRENT_STREAMS, self.max_concurrent_streams),
            (INITIAL_WINDOW_SIZE, self.initial_window_size),
            (MAX_FRAME_SIZE, self.max_frame_size),
            (MAX_HEADER_LIST_SIZE, self.max_header_list_size),
            (
                ENABLE_CONNECT_PROTOCOL,
                bool_value(self.enable_connect_protocol),
            ),
        ];
        let count = all.iter().filter(|(_, value)| value.is_some()).count();
        Head::new(FrameType::Settings, 0, StreamId::ZERO, count * SETTING_LEN).encode(out);
        for (id, value) in all {
            if let Some(value) = value {
                debug_assert!(
                    Settings::default().apply(id, value).is_ok(),
                    "sending invalid setting {id:#x} = {value}"
                );
                out.put_u16(id);
                out.put_u32(value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{decode_err, decode_one};
    use super::super::Frame;
    use super::*;

    fn settings(bytes: &[u8]) -> Settings {
        match decode_one(bytes) {
            Frame::Settings(s) => s,
            other => panic!("not SETTINGS: {other:?}"),
        }
    }

    /// A SETTINGS frame on stream 0 carrying `pairs`.
    fn frame(pairs: &[(u16, u32)]) -> Vec<u8> {
        let len = pairs.len() * SETTING_LEN;
        let mut bytes = vec![0, (len >> 8) as u8, len as u8, 4, 0, 0, 0, 0, 0];
        for (id, value) in pairs {
            bytes.extend_from_slice(&id.to_be_bytes());
            bytes.extend_from_slice(&value.to_be_bytes());
        }
        bytes
    }

    #[test]
    fn encode_ack_is_byte_exact() {
        let mut out = BytesMut::new();
        Settings::ack().encode(&mut out);
        assert_eq!(&out[..], b"\x00\x00\x00\x04\x01\x00\x00\x00\x00");
    }

    #[test]
    fn encode_is_byte_exact() {
        let mut out = BytesMut::new();
        Settings {
            max_concurrent_streams: Some(100),
            initial_window_size: Some(65_535),
            ..Settings::default()
        }
        .encode(&mut out);
        assert_eq!(
            &out[..],
            b"\x00\x00\x0c\x04\x00\x00\x00\x00\x00\
              \x00\x03\x00\x00\x00\x64\
              \x00\x04\x00\x00\xff\xff"
        );
    }

    #[test]
    fn empty_settings_frame_is_valid() {
        assert_eq!(settings(&frame(&[])), Settings::default());
    }

    #[test]
    fn all_known_settings_are_parsed() {
        let s = settings(&frame(&[
            (1, 4096),
            (2, 0),
            (3, 100),
            (4, 1 << 20),
            (5, 32_768),
            (6, 8192),
            (8, 1),
        ]));
        assert_eq!(
            s,
            Settings {
                ack: false,
                header_table_size: Some(4096),
                enable_push: Some(false),
                max_concurrent_streams: Some(100),
                initial_window_size: Some(1 << 20),
                max_frame_size: Some(32_768),
                max_header_list_size: Some(8192),
                enable_connect_protocol: Some(true),
            }
        );
    }

    #[test]
    fn unknown_ids_are_ignored() {
        let s = settings(&frame(&[(0x7, 5), (0xffff, u32::MAX), (0, 1), (3, 10)]));
        assert_eq!(
            s,
            Settings {
                max_concurrent_streams: Some(10),
                ..Settings::default()
            }
        );
    }

    #[test]
    fn the_last_occurrence_wins() {
        let s = settings(&frame(&[(4, 10), (4, 20)]));
        assert_eq!(s.initial_window_size, Some(20));
    }

    #[test]
    fn boundary_values_are_accepted() {
        let s = settings(&frame(&[(2, 1), (4, MAX_WINDOW_SIZE), (5, 16_384)]));
        assert_eq!(s.enable_push, Some(true));
        assert_eq!(s.initial_window_size, Some(MAX_WINDOW_SIZE));
        assert_eq!(s.max_frame_size, Some(16_384));
        let s = settings(&frame(&[(5, 16_777_215), (8, 0)]));
        assert_eq!(s.max_frame_size, Some(16_777_215));
        assert_eq!(s.enable_connect_protocol, Some(false));
    }

    #[test]
    fn invalid_values_are_refused_with_their_codes() {
        let cases = [
            (ENABLE_PUSH, 2, Reason::PROTOCOL_ERROR),
            (
                INITIAL_WINDOW_SIZE,
                MAX_WINDOW_SIZE + 1,
                Reason::FLOW_CONTROL_ERROR,
            ),
            (INITIAL_WINDOW_SIZE, u32::MAX, Reason::FLOW_CONTROL_ERROR),
            (MAX_FRAME_SIZE, 16_383, Reason::PROTOCOL_ERROR),
            (MAX_FRAME_SIZE, 16_777_216, Reason::PROTOCOL_ERROR),
            (MAX_FRAME_SIZE, 0, Reason::PROTOCOL_ERROR),
            (ENABLE_CONNECT_PROTOCOL, 2, Reason::PROTOCOL_ERROR),
        ];
        for (id, value, reason) in cases {
            let err = decode_err(&frame(&[(1, 0), (id, value)]));
            assert_eq!(err.reason, reason, "setting {id} = {value}");
            assert!(err.is_connection_error());
            assert_eq!(err.kind, FrameErrorKind::InvalidSetting { id, value });
        }
    }

    #[test]
    fn ack_decodes_and_unknown_flags_are_ignored() {
        assert_eq!(
            settings(b"\x00\x00\x00\x04\x01\x00\x00\x00\x00"),
            Settings::ack()
        );
        assert_eq!(
            settings(b"\x00\x00\x00\x04\xfe\x00\x00\x00\x00"),
            Settings::default()
        );
    }

    #[test]
    fn ack_with_payload_is_frame_size_error() {
        let err = decode_err(b"\x00\x00\x06\x04\x01\x00\x00\x00\x00\x00\x03\x00\x00\x00\x64");
        assert_eq!(err.reason, Reason::FRAME_SIZE_ERROR);
        assert!(err.is_connection_error());
        assert_eq!(
            err.kind,
            FrameErrorKind::SettingsAckWithPayload { length: 6 }
        );
    }

    #[test]
    fn length_not_a_multiple_of_six_is_frame_size_error() {
        for len in [1u8, 5, 7, 11] {
            let mut bytes = vec![0, 0, len, 4, 0, 0, 0, 0, 0];
            bytes.resize(Head::LEN + usize::from(len), 0);
            let err = decode_err(&bytes);
            assert_eq!(err.reason, Reason::FRAME_SIZE_ERROR);
            assert!(err.is_connection_error());
            assert_eq!(
                err.kind,
                FrameErrorKind::SettingsLength {
                    length: u32::from(len)
                }
            );
        }
    }

    #[test]
    fn on_a_stream_is_protocol_error() {
        let err = decode_err(b"\x00\x00\x00\x04\x00\x00\x00\x00\x01");
        assert_eq!(err.reason, Reason::PROTOCOL_ERROR);
        assert!(err.is_connection_error());
        // Also for an ACK: the stream id is checked first.
        let err = decode_err(b"\x00\x00\x00\x04\x01\x00\x00\x00\x03");
        assert_eq!(err.reason, Reason::PROTOCOL_ERROR);
    }
}
