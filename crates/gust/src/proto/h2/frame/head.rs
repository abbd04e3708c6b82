//! The 9-byte frame header every HTTP/2 frame starts with (RFC 9113 section 4.1), the frame
//! types, their flags, and stream identifiers.
//!
//! ```text
//! +-----------------------------------------------+
//! |                 Length (24)                   |
//! +---------------+---------------+---------------+
//! |   Type (8)    |   Flags (8)   |
//! +-+-------------+---------------+-------------------------------+
//! |R|                 Stream Identifier (31)                      |
//! +=+=============================================================+
//! |                   Frame Payload (0...)                      ...
//! +---------------------------------------------------------------+
//! ```

use core::fmt;

use bytes::{BufMut, BytesMut};

/// The largest payload length the 24-bit Length field can carry, and the largest value
/// SETTINGS_MAX_FRAME_SIZE may take (RFC 9113 6.5.2).
pub(crate) const MAX_FRAME_SIZE_UPPER_BOUND: u32 = (1 << 24) - 1;

/// The initial SETTINGS_MAX_FRAME_SIZE and the smallest value it may take: every peer
/// accepts frames this large, whatever it advertised (RFC 9113 4.2).
pub(crate) const DEFAULT_MAX_FRAME_SIZE: u32 = 1 << 14;

/// The frame flags this codec knows. A flag is only meaningful on the frame types RFC 9113
/// section 6 defines it for; every other bit is ignored on read (RFC 9113 4.1).
pub(crate) mod flag {
    /// DATA, HEADERS: the last frame the sender sends on this stream.
    pub(crate) const END_STREAM: u8 = 0x01;
    /// SETTINGS, PING: this frame acknowledges the peer's.
    pub(crate) const ACK: u8 = 0x01;
    /// HEADERS, PUSH_PROMISE, CONTINUATION: the field block ends in this frame.
    pub(crate) const END_HEADERS: u8 = 0x04;
    /// DATA, HEADERS, PUSH_PROMISE: a Pad Length octet leads, padding trails.
    pub(crate) const PADDED: u8 = 0x08;
    /// HEADERS: the deprecated priority fields follow the pad length.
    pub(crate) const PRIORITY: u8 = 0x20;
}

/// A frame type (RFC 9113 section 6). Types from extensions we do not implement stay
/// representable so that they can be skipped, as RFC 9113 5.5 requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum FrameType {
    /// 0x0, RFC 9113 6.1.
    Data,
    /// 0x1, RFC 9113 6.2.
    Headers,
    /// 0x2, RFC 9113 6.3.
    Priority,
    /// 0x3, RFC 9113 6.4.
    RstStream,
    /// 0x4, RFC 9113 6.5.
    Settings,
    /// 0x5, RFC 9113 6.6.
    PushPromise,
    /// 0x6, RFC 9113 6.7.
    Ping,
    /// 0x7, RFC 9113 6.8.
    GoAway,
    /// 0x8, RFC 9113 6.9.
    WindowUpdate,
    /// 0x9, RFC 9113 6.10.
    Continuation,
    /// Any other type octet.
    Unknown(u8),
}

impl FrameType {
    /// The type of a type octet.
    pub(crate) const fn from_u8(kind: u8) -> FrameType {
        match kind {
            0x0 => FrameType::Data,
            0x1 => FrameType::Headers,
            0x2 => FrameType::Priority,
            0x3 => FrameType::RstStream,
            0x4 => FrameType::Settings,
            0x5 => FrameType::PushPromise,
            0x6 => FrameType::Ping,
            0x7 => FrameType::GoAway,
            0x8 => FrameType::WindowUpdate,
            0x9 => FrameType::Continuation,
            other => FrameType::Unknown(other),
        }
    }

    /// The type octet on the wire.
    pub(crate) const fn as_u8(self) -> u8 {
        match self {
            FrameType::Data => 0x0,
            FrameType::Headers => 0x1,
            FrameType::Priority => 0x2,
            FrameType::RstStream => 0x3,
            FrameType::Settings => 0x4,
            FrameType::PushPromise => 0x5,
            FrameType::Ping => 0x6,
            FrameType::GoAway => 0x7,
            FrameType::WindowUpdate => 0x8,
            FrameType::Continuation => 0x9,
            FrameType::Unknown(other) => other,
        }
    }
}

impl fmt::Display for FrameType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            FrameType::Data => "DATA",
            FrameType::Headers => "HEADERS",
            FrameType::Priority => "PRIORITY",
            FrameType::RstStream => "RST_STREAM",
            FrameType::Settings => "SETTINGS",
            FrameType::PushPromise => "PUSH_PROMISE",
            FrameType::Ping => "PING",
            FrameType::GoAway => "GOAWAY",
            FrameType::WindowUpdate => "WINDOW_UPDATE",
            FrameType::Continuation => "CONTINUATION",
            FrameType::Unknown(kind) => return write!(f, "frame type {kind:#04x}"),
        };
        f.write_str(name)
    }
}

/// A stream identifier: 31 bits. The reserved high bit of the wire field is dropped on
/// read and never written (RFC 9113 4.1), so it cannot leak into comparisons; the
/// constructor clears it, which is why the field is private.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub(crate) struct StreamId(u32);

impl StreamId {
    /// Stream 0: the connection itself.
    pub(crate) const ZERO: StreamId = StreamId(0);
    /// The largest stream identifier, 2^31-1.
    pub(crate) const MAX: StreamId = StreamId(0x7fff_ffff);

    /// The stream id in the low 31 bits of `id`; the reserved bit is cleared.
    pub(crate) const fn new(id: u32) -> StreamId {
        StreamId(id & 0x7fff_ffff)
    }

    /// The identifier as a number.
    pub(crate) const fn value(self) -> u32 {
        self.0
    }

    /// Whether this is stream 0, the connection.
    pub(crate) const fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// Odd identifiers are client-initiated streams (RFC 9113 5.1.1).
    pub(crate) const fn is_client_initiated(self) -> bool {
        self.0 & 1 == 1
    }

    /// Even non-zero identifiers are server-initiated (pushed) streams.
    pub(crate) const fn is_server_initiated(self) -> bool {
        self.0 != 0 && self.0 & 1 == 0
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl From<StreamId> for u32 {
    fn from(id: StreamId) -> u32 {
        id.0
    }
}

/// A decoded frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Head {
    /// The payload length, not counting these 9 bytes.
    pub(crate) length: u32,
    /// The frame type.
    pub(crate) kind: FrameType,
    /// All eight flag bits as received; each frame type reads only its own.
    pub(crate) flags: u8,
    /// The stream the frame belongs to.
    pub(crate) stream_id: StreamId,
}

impl Head {
    /// The header's size on the wire.
    pub(crate) const LEN: usize = 9;

    /// A header for a payload of `length` bytes.
    ///
    /// # Panics
    ///
    /// If `length` does not fit the 24-bit field. Every length comes from our own encoder
    /// (never from the network), which splits payloads by the peer's maximum frame size
    /// long before that; a silently truncated length would desynchronise the whole
    /// connection, so failing loudly is the lesser harm.
    pub(crate) fn new(kind: FrameType, flags: u8, stream_id: StreamId, length: usize) -> Head {
        assert!(
            length <= MAX_FRAME_SIZE_UPPER_BOUND as usize,
            "frame payload of {length} bytes does not fit the 24-bit length field"
        );
        Head {
            // Cannot truncate: checked just above.
            length: length as u32,
            kind,
            flags,
            stream_id,
        }
    }

    /// The header at the front of `buf`, or `None` while fewer than 9 bytes are there.
    /// Every 9-byte string is a valid header: what it means is judged per frame type.
    pub(crate) fn parse(buf: &[u8]) -> Option<Head> {
        let bytes: &[u8; Head::LEN] = buf.get(..Head::LEN)?.try_into().ok()?;
        Some(Head {
            length: u32::from_be_bytes([0, bytes[0], bytes[1], bytes[2]]),
            kind: FrameType::from_u8(bytes[3]),
            flags: bytes[4],
            stream_id: StreamId::new(u32::from_be_bytes([bytes[5], bytes[6], bytes[7], bytes[8]])),
        })
    }

    /// Appends the 9 header bytes to `out`.
    pub(crate) fn encode(&self, out: &mut BytesMut) {
        out.put_slice(&self.to_bytes());
    }

    /// The head's nine bytes on the wire.
    pub(crate) fn to_bytes(self) -> [u8; Head::LEN] {
        let length = self.length.to_be_bytes();
        let id = self.stream_id.value().to_be_bytes();
        [
            length[1],
            length[2],
            length[3],
            self.kind.as_u8(),
            self.flags,
            id[0],
            id[1],
            id[2],
            id[3],
        ]
    }

    /// Whether `flag` (one of [`flag`]'s constants) is set.
    pub(crate) const fn has(&self, flag: u8) -> bool {
        self.flags & flag == flag
    }
}

/// Reads a 31-bit stream id and the bit above it (the E flag of a dependency, the
/// reserved bit elsewhere) from 4 bytes.
pub(crate) fn read_stream_id(bytes: [u8; 4]) -> (StreamId, bool) {
    let raw = u32::from_be_bytes(bytes);
    (StreamId::new(raw), raw & 0x8000_0000 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_needs_nine_bytes() {
        let bytes = [0u8, 0, 4, 8, 0, 0, 0, 0, 1];
        for n in 0..Head::LEN {
            assert_eq!(Head::parse(&bytes[..n]), None);
        }
        assert!(Head::parse(&bytes).is_some());
    }

    #[test]
    fn parse_reads_every_field() {
        let head = Head::parse(&[0xab, 0xcd, 0xef, 0x01, 0xff, 0x12, 0x34, 0x56, 0x78]);
        assert_eq!(
            head,
            Some(Head {
                length: 0x00ab_cdef,
                kind: FrameType::Headers,
                flags: 0xff,
                stream_id: StreamId::new(0x1234_5678),
            })
        );
    }

    #[test]
    fn reserved_bit_ignored_on_read_and_cleared_on_write() {
        let head = Head::parse(&[0, 0, 0, 0, 0, 0x80, 0, 0, 3]).unwrap();
        assert_eq!(head.stream_id, StreamId::new(3));
        assert_eq!(head.stream_id.value(), 3);

        let mut out = BytesMut::new();
        Head::new(FrameType::Data, 0, StreamId::new(0x8000_0003), 0).encode(&mut out);
        assert_eq!(&out[..], &[0, 0, 0, 0, 0, 0, 0, 0, 3]);
    }

    #[test]
    fn encode_is_byte_exact() {
        let mut out = BytesMut::new();
        Head::new(
            FrameType::Continuation,
            flag::END_HEADERS,
            StreamId::MAX,
            0x01_0203,
        )
        .encode(&mut out);
        assert_eq!(&out[..], &[1, 2, 3, 9, 4, 0x7f, 0xff, 0xff, 0xff]);
    }

    #[test]
    fn frame_types_round_trip_through_their_octet() {
        for kind in 0..=u8::MAX {
            assert_eq!(FrameType::from_u8(kind).as_u8(), kind);
        }
        assert_eq!(FrameType::from_u8(0xa), FrameType::Unknown(0xa));
        assert_eq!(FrameType::GoAway.to_string(), "GOAWAY");
        assert_eq!(FrameType::Unknown(0x10).to_string(), "frame type 0x10");
    }

    #[test]
    fn stream_id_kinds() {
        assert!(StreamId::ZERO.is_zero());
        assert!(!StreamId::ZERO.is_server_initiated());
        assert!(!StreamId::ZERO.is_client_initiated());
        assert!(StreamId::new(1).is_client_initiated());
        assert!(StreamId::new(2).is_server_initiated());
        assert_eq!(StreamId::new(u32::MAX), StreamId::MAX);
        assert_eq!(u32::from(StreamId::new(7)), 7);
        assert_eq!(StreamId::new(7).to_string(), "7");
    }

    #[test]
    #[should_panic(expected = "24-bit length")]
    fn oversized_length_is_a_bug_not_a_truncation() {
        Head::new(FrameType::Data, 0, StreamId::new(1), 1 << 24);
    }
}
