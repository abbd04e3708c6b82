//! WebSocket (RFC 6455) for servers, sans-I/O; opened over HTTP/1.1 with an Upgrade, or
//! over HTTP/2 with an extended CONNECT (RFC 8441).
//!
//! Five small codecs, each usable on its own, in the order a connection meets them:
//!
//! - [`handshake`]: checks an opening request (an HTTP/1.1 `GET` with `Upgrade: websocket`,
//!   or an HTTP/2 `CONNECT` with `:protocol websocket`) and works out what the answer needs:
//!   `Sec-WebSocket-Accept`, the subprotocols offered, whether compression was offered.
//!   Errors carry the status to refuse with.
//! - [`frame`]: the frame header, both ways. Decoding takes the connection's read buffer and
//!   hands the payload out unmasked, as a slice of that buffer (no copy); it enforces every
//!   rule one frame alone can break. Encoding writes the server's unmasked frames.
//! - [`message`]: joins data frames into messages, checks text is UTF-8 as the fragments
//!   arrive, bounds the message size, and passes control frames through at once, even
//!   between the fragments of a message.
//! - [`close`]: the close frame's payload: status code and reason.
//! - [`deflate`]: permessage-deflate (RFC 7692): agreeing on it from the request's offers,
//!   compressing the server's messages, inflating the client's within the message size
//!   limit. The assembler takes the inflater; the driver calls the compressor.
//!
//! # Errors
//!
//! Every rule broken by the peer is a [`WsError`]. RFC 6455 7.1.7 calls the answer "_Fail
//! the WebSocket Connection_": send a close frame with [`WsError::code`] (1002 protocol
//! error, 1007 invalid payload, including compressed data that does not inflate, or 1009
//! too big) and [`WsError::reason`], then close the transport without reading on. There is
//! no per-message recovery: after a broken frame we no longer know where the next one
//! starts, and RFC 6455 leaves no room for skipping a bad message either.
//!
//! # What is left to the driver
//!
//! The connection that drives these codecs keeps the rest of the state: answering pings,
//! the closing handshake (echo the peer's close, then stop sending), timeouts, flow control
//! against the handler, and which of the offered subprotocols the resource picked.
//! permessage-deflate is the one extension: when [`negotiate`] accepted an offer, the
//! driver answers with its header value, decodes frames with `allowed_rsv` [`RSV1`] (0
//! otherwise), builds the assembler with [`Assembler::with_deflate`], and passes each
//! outgoing data message through a [`Compressor`], setting the RSV bits it returns on the
//! message's first frame.

use core::fmt;

pub(crate) mod close;
pub(crate) mod conn;
pub(crate) mod deflate;
pub(crate) mod frame;
pub(crate) mod handshake;
pub(crate) mod message;

// The module's API: callers may name the types or only use their methods, so a re-export
// that no caller names yet is not dead.
#[allow(unused_imports)]
pub(crate) use close::{Close, CloseCode, MAX_REASON_LEN};
#[allow(unused_imports)]
pub(crate) use deflate::{
    negotiate, Compressor, DeflateConfig, DeflateParams, Inflater, Negotiated, Outgoing,
};
#[allow(unused_imports)]
pub(crate) use frame::{apply_mask, decode, encode_head, Decoded, Frame, Opcode, RSV1, RSV2, RSV3};
#[allow(unused_imports)]
pub(crate) use handshake::{
    accept_key, check_extended_connect, check_upgrade, Handshake, HandshakeError, SUPPORTED_VERSION,
};
#[allow(unused_imports)]
pub(crate) use message::{Assembler, Message, Utf8Validator};

/// A rule of RFC 6455 broken by the peer: the connection must be failed with a close frame
/// carrying [`WsError::code`] and [`WsError::reason`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WsError {
    /// A client frame without the MASK bit (RFC 6455 5.1).
    Unmasked,
    /// RSV bits that no negotiated extension defines (RFC 6455 5.2). The bits as they
    /// stand in the first header byte.
    ReservedBits(u8),
    /// One of the reserved opcodes 0x3-0x7 and 0xB-0xF (RFC 6455 5.2).
    ReservedOpcode(u8),
    /// A control frame with a payload over 125 bytes (RFC 6455 5.5).
    ControlTooLong(u64),
    /// A control frame without FIN (RFC 6455 5.5).
    ControlFragmented,
    /// A payload length not written in the fewest bytes possible (RFC 6455 5.2).
    NonMinimalLength(u64),
    /// A 64-bit payload length with its most significant bit set (RFC 6455 5.2).
    LengthTopBit,
    /// A frame whose payload is longer than the caller's limit.
    FrameTooLarge {
        /// The payload length the header announced.
        length: u64,
        /// The limit.
        max: usize,
    },
    /// A continuation frame with no message in progress (RFC 6455 5.4).
    UnexpectedContinuation,
    /// A text or binary frame while a fragmented message is in progress (RFC 6455 5.4).
    MessageInterleaved,
    /// A message whose fragments add up to more than the caller's limit.
    MessageTooLarge {
        /// The limit.
        max: usize,
    },
    /// A text message that is not UTF-8 (RFC 6455 8.1).
    InvalidUtf8,
    /// A compressed message whose payload is not valid deflate data (RFC 7692 7.2.2).
    InvalidCompressedData,
    /// A close frame with a 1-byte payload: half a status code (RFC 6455 5.5.1).
    CloseTooShort,
    /// A close frame with a status code an endpoint must not send (RFC 6455 7.4).
    InvalidCloseCode(u16),
    /// A close frame whose reason is not UTF-8 (RFC 6455 5.5.1).
    InvalidCloseReason,
}

impl WsError {
    /// The status code of the close frame that fails the connection.
    pub(crate) fn code(&self) -> CloseCode {
        match self {
            Self::FrameTooLarge { .. } | Self::MessageTooLarge { .. } => CloseCode::MESSAGE_TOO_BIG,
            // RFC 6455 7.4.1 defines 1007 for data inconsistent with the message type; a
            // close reason is declared UTF-8 as much as a text message is.
            // Compressed data that does not inflate is a payload as unusable as bad text.
            Self::InvalidUtf8 | Self::InvalidCloseReason | Self::InvalidCompressedData => {
                CloseCode::INVALID_PAYLOAD
            }
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }

    /// The reason of that close frame: short, ASCII, well under the 123 bytes a close
    /// payload leaves for it.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            Self::Unmasked => "client frame not masked",
            Self::ReservedBits(_) => "reserved bits set",
            Self::ReservedOpcode(_) => "reserved opcode",
            Self::ControlTooLong(_) => "control frame payload over 125 bytes",
            Self::ControlFragmented => "fragmented control frame",
            Self::NonMinimalLength(_) => "payload length not in minimal form",
            Self::LengthTopBit => "payload length with the top bit set",
            Self::FrameTooLarge { .. } => "frame too large",
            Self::UnexpectedContinuation => "continuation frame outside a message",
            Self::MessageInterleaved => "new message before the previous one ended",
            Self::MessageTooLarge { .. } => "message too large",
            Self::InvalidUtf8 => "text message not valid UTF-8",
            Self::InvalidCompressedData => "invalid compressed data",
            Self::CloseTooShort => "close payload of 1 byte",
            Self::InvalidCloseCode(_) => "invalid close code",
            Self::InvalidCloseReason => "close reason not valid UTF-8",
        }
    }

    /// The close frame that fails the connection for this error.
    pub(crate) fn close_frame(&self) -> Frame {
        Frame::close(Some(self.code()), self.reason())
    }
}

/// The reason and the details that the close frame leaves out, then the code.
impl fmt::Display for WsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())?;
        match self {
            Self::ReservedBits(bits) => write!(f, " ({bits:#04x})")?,
            Self::ReservedOpcode(op) => write!(f, " ({op:#x})")?,
            Self::ControlTooLong(len) => write!(f, " ({len} bytes)")?,
            Self::NonMinimalLength(len) => write!(f, " ({len})")?,
            Self::FrameTooLarge { length, max } => {
                write!(f, " ({length} bytes, the maximum is {max})")?
            }
            Self::MessageTooLarge { max } => write!(f, " (the maximum is {max} bytes)")?,
            Self::InvalidCloseCode(code) => write!(f, " ({code})")?,
            _ => {}
        }
        write!(f, ", closing with {}", self.code())
    }
}

impl core::error::Error for WsError {}

#[cfg(test)]
mod tests {
    //! The codecs together: bytes from a client through the frame decoder and the
    //! assembler, as the driver will chain them.

    use bytes::BytesMut;

    use super::frame::encode_masked;
    use super::*;

    /// A xorshift64 generator: deterministic test data without a dependency.
    pub(super) struct XorShift(u64);

    impl XorShift {
        pub(super) fn new(seed: u64) -> XorShift {
            XorShift(seed | 1)
        }

        pub(super) fn next_u64(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }

        pub(super) fn below(&mut self, n: u64) -> u64 {
            self.next_u64() % n
        }

        pub(super) fn bytes(&mut self, len: usize) -> Vec<u8> {
            (0..len).map(|_| self.next_u64() as u8).collect()
        }
    }

    #[test]
    fn codes_match_rfc_6455_7_4_1() {
        assert_eq!(WsError::Unmasked.code().0, 1002);
        assert_eq!(WsError::InvalidUtf8.code().0, 1007);
        assert_eq!(WsError::InvalidCloseReason.code().0, 1007);
        assert_eq!(WsError::InvalidCompressedData.code().0, 1007);
        assert_eq!(WsError::MessageTooLarge { max: 1 }.code().0, 1009);
        assert_eq!(WsError::FrameTooLarge { length: 2, max: 1 }.code().0, 1009);
    }

    #[test]
    fn display_names_details_and_code() {
        assert_eq!(
            WsError::FrameTooLarge {
                length: 70000,
                max: 65536
            }
            .to_string(),
            "frame too large (70000 bytes, the maximum is 65536), closing with 1009 (Message Too Big)"
        );
        assert_eq!(
            WsError::ReservedOpcode(0xb).to_string(),
            "reserved opcode (0xb), closing with 1002 (Protocol Error)"
        );
    }

    #[test]
    fn every_reason_fits_a_close_frame() {
        let all = [
            WsError::Unmasked,
            WsError::ReservedBits(0x70),
            WsError::ReservedOpcode(3),
            WsError::ControlTooLong(126),
            WsError::ControlFragmented,
            WsError::NonMinimalLength(5),
            WsError::LengthTopBit,
            WsError::FrameTooLarge { length: 2, max: 1 },
            WsError::UnexpectedContinuation,
            WsError::MessageInterleaved,
            WsError::MessageTooLarge { max: 1 },
            WsError::InvalidUtf8,
            WsError::InvalidCompressedData,
            WsError::CloseTooShort,
            WsError::InvalidCloseCode(1005),
            WsError::InvalidCloseReason,
        ];
        for err in all {
            assert!(err.reason().is_ascii() && err.reason().len() <= MAX_REASON_LEN);
            let frame = err.close_frame();
            assert_eq!(frame.opcode, Opcode::Close);
            let close = Close::parse(&frame.payload).unwrap().unwrap();
            assert_eq!(close.code, err.code());
            assert_eq!(close.reason, err.reason());
        }
    }

    #[test]
    fn client_bytes_to_messages() {
        let key = [1, 2, 3, 4];
        let mut wire = BytesMut::new();
        encode_masked(
            &Frame::new(Opcode::Text, "héllo, ".into(), false),
            key,
            &mut wire,
        );
        encode_masked(&Frame::ping("are you there".into()), key, &mut wire);
        encode_masked(
            &Frame::new(Opcode::Continuation, "wörld".into(), true),
            key,
            &mut wire,
        );
        encode_masked(
            &Frame::new(Opcode::Binary, vec![0, 1, 2].into(), true),
            key,
            &mut wire,
        );
        encode_masked(
            &Frame::close(Some(CloseCode::NORMAL), "bye"),
            key,
            &mut wire,
        );

        // Delivered in slices of 3 bytes, as a slow network might.
        let mut buf = BytesMut::new();
        let mut assembler = Assembler::new(1024);
        let mut messages = Vec::new();
        for piece in wire.chunks(3) {
            buf.extend_from_slice(piece);
            while let Decoded::Frame(frame) = decode(&mut buf, 1024, 0).unwrap() {
                if let Some(message) = assembler.push(frame).unwrap() {
                    messages.push(message);
                }
            }
        }
        assert!(buf.is_empty());
        assert_eq!(
            messages,
            [
                Message::Ping("are you there".into()),
                Message::Text("héllo, wörld".into()),
                Message::Binary(vec![0, 1, 2].into()),
                Message::Close(Some(Close {
                    code: CloseCode::NORMAL,
                    reason: "bye".into()
                })),
            ]
        );
    }
}
