//! The close frame's payload (RFC 6455 5.5.1) and its status codes (RFC 6455 7.4, and the
//! IANA "WebSocket Close Code Number Registry").
//!
//! ```text
//! Close Payload {
//!   [ Status Code (16), Reason (UTF-8, up to 123 bytes) ]
//! }
//! ```
//!
//! The payload is empty or starts with a status code; the reason is only there if the code
//! is. Several codes exist only to be reported locally (1005 "no status received", 1006
//! "closed without a close frame", 1015 "TLS handshake failed") and must never be on the
//! wire: one received is a protocol error, as is any code outside the ranges in use.

use core::fmt;

use bytes::{BufMut, BytesMut};

use super::WsError;

/// The longest reason a close payload can carry: control payloads are at most 125 bytes
/// and the code takes 2.
pub(crate) const MAX_REASON_LEN: usize = 123;

/// A close status code. A newtype rather than an enum: codes 3000-4999 belong to libraries
/// and applications and must pass through as the numbers they are.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct CloseCode(pub(crate) u16);

// The whole registry is named, used or not: a code is looked up here, not remembered.
#[allow(dead_code)]
impl CloseCode {
    /// 1000: the purpose of the connection has been fulfilled.
    pub(crate) const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: the endpoint is going away (server shutting down, page left).
    pub(crate) const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: the peer broke the protocol.
    pub(crate) const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003: a message of a type the endpoint cannot accept (text to a binary-only one).
    pub(crate) const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// 1005: the close frame had no code. Reported locally, never sent.
    pub(crate) const NO_STATUS_RECEIVED: CloseCode = CloseCode(1005);
    /// 1006: the connection ended without a close frame. Reported locally, never sent.
    pub(crate) const ABNORMAL: CloseCode = CloseCode(1006);
    /// 1007: message data inconsistent with its type, such as a text message that is
    /// not UTF-8.
    pub(crate) const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: a message that violates the endpoint's policy (the generic refusal).
    pub(crate) const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    /// 1009: a message too big to process.
    pub(crate) const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    /// 1010: the client needed an extension the server did not negotiate. Sent by
    /// clients only.
    pub(crate) const MANDATORY_EXTENSION: CloseCode = CloseCode(1010);
    /// 1011: the server met an unexpected condition.
    pub(crate) const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    /// 1012: the service is restarting (IANA registry).
    pub(crate) const SERVICE_RESTART: CloseCode = CloseCode(1012);
    /// 1013: a temporary condition, try again later (IANA registry).
    pub(crate) const TRY_AGAIN_LATER: CloseCode = CloseCode(1013);
    /// 1014: a gateway got an invalid response upstream (IANA registry).
    pub(crate) const BAD_GATEWAY: CloseCode = CloseCode(1014);
    /// 1015: the TLS handshake failed. Reported locally, never sent.
    pub(crate) const TLS_HANDSHAKE: CloseCode = CloseCode(1015);

    /// Whether a peer may send this code: 1000-1003 and 1007-1014 (defined by RFC 6455 or
    /// registered since), 3000-3999 (registered by libraries and frameworks) and 4000-4999
    /// (private use). 1004 is reserved, 1005, 1006 and 1015 are local-only, 1016-2999 are
    /// reserved for future versions of the protocol, and nothing is defined outside
    /// 1000-4999.
    pub(crate) const fn is_valid_to_receive(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }

    /// The registry's name of a code below 3000, `None` for any other.
    pub(crate) const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            1000 => "Normal Closure",
            1001 => "Going Away",
            1002 => "Protocol Error",
            1003 => "Unsupported Data",
            1004 => "Reserved",
            1005 => "No Status Received",
            1006 => "Abnormal Closure",
            1007 => "Invalid Frame Payload Data",
            1008 => "Policy Violation",
            1009 => "Message Too Big",
            1010 => "Mandatory Extension",
            1011 => "Internal Error",
            1012 => "Service Restart",
            1013 => "Try Again Later",
            1014 => "Bad Gateway",
            1015 => "TLS Handshake",
            _ => return None,
        })
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> CloseCode {
        CloseCode(code)
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> u16 {
        code.0
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{} ({name})", self.0),
            None => write!(f, "{}", self.0),
        }
    }
}

/// Names the code, so that a log line says `CloseCode(1002 Protocol Error)`.
impl fmt::Debug for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "CloseCode({} {name})", self.0),
            None => write!(f, "CloseCode({})", self.0),
        }
    }
}

/// The content of a close frame that carries a status code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Close {
    /// The status code; valid to receive if the frame was decoded.
    pub(crate) code: CloseCode,
    /// Why, for humans; at most [`MAX_REASON_LEN`] bytes, often empty.
    pub(crate) reason: String,
}

impl Close {
    /// Checks a received close payload. `Ok(None)` for an empty payload (no code: the
    /// peer's close reports as 1005). The reason is copied out: it is at most 123 bytes.
    pub(crate) fn parse(payload: &[u8]) -> Result<Option<Close>, WsError> {
        let (code, reason) = match payload {
            [] => return Ok(None),
            [_] => return Err(WsError::CloseTooShort),
            [hi, lo, reason @ ..] => (CloseCode(u16::from_be_bytes([*hi, *lo])), reason),
        };
        if !code.is_valid_to_receive() {
            return Err(WsError::InvalidCloseCode(code.0));
        }
        let reason = core::str::from_utf8(reason).map_err(|_| WsError::InvalidCloseReason)?;
        Ok(Some(Close {
            code,
            reason: reason.to_owned(),
        }))
    }

    /// Appends the payload of a close frame: nothing without a code (the reason goes with
    /// it), else the code and as much of `reason` as fits in [`MAX_REASON_LEN`] bytes,
    /// cut at a character boundary.
    ///
    /// The code is written as given. Sending 1005, 1006 or 1015, or one outside 1000-4999,
    /// is the caller's mistake; it is caught in debug builds.
    pub(crate) fn encode_payload(code: Option<CloseCode>, reason: &str, out: &mut BytesMut) {
        let Some(code) = code else {
            return;
        };
        debug_assert!(
            code.is_valid_to_receive(),
            "{code} must not be sent in a close frame"
        );
        out.put_u16(code.0);
        out.extend_from_slice(truncate(reason, MAX_REASON_LEN).as_bytes());
    }
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_to_receive_follows_the_registry() {
        let valid = |code: u16| CloseCode(code).is_valid_to_receive();
        for code in 0..=u16::MAX {
            let expected = matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999);
            assert_eq!(valid(code), expected, "{code}");
        }
        for code in [
            0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
        ] {
            assert!(!valid(code), "{code}");
        }
        for code in [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
        ] {
            assert!(valid(code), "{code}");
        }
        assert!(valid(3000) && valid(3999) && valid(4000) && valid(4999));
    }

    #[test]
    fn names_and_formatting() {
        assert_eq!(CloseCode::NORMAL.to_string(), "1000 (Normal Closure)");
        assert_eq!(
            format!("{:?}", CloseCode::PROTOCOL_ERROR),
            "CloseCode(1002 Protocol Error)"
        );
        assert_eq!(CloseCode(4321).to_string(), "4321");
        assert_eq!(format!("{:?}", CloseCode(4321)), "CloseCode(4321)");
        assert_eq!(u16::from(CloseCode::from(1011)), 1011);
        let named = [
            CloseCode::NORMAL,
            CloseCode::GOING_AWAY,
            CloseCode::PROTOCOL_ERROR,
            CloseCode::UNSUPPORTED_DATA,
            CloseCode::NO_STATUS_RECEIVED,
            CloseCode::ABNORMAL,
            CloseCode::INVALID_PAYLOAD,
            CloseCode::POLICY_VIOLATION,
            CloseCode::MESSAGE_TOO_BIG,
            CloseCode::MANDATORY_EXTENSION,
            CloseCode::INTERNAL_ERROR,
            CloseCode::SERVICE_RESTART,
            CloseCode::TRY_AGAIN_LATER,
            CloseCode::BAD_GATEWAY,
            CloseCode::TLS_HANDSHAKE,
        ];
        for code in named {
            assert!(code.name().is_some());
        }
    }

    #[test]
    fn parses_empty_code_only_and_code_with_reason() {
        assert_eq!(Close::parse(b""), Ok(None));
        assert_eq!(
            Close::parse(b"\x03\xe8"),
            Ok(Some(Close {
                code: CloseCode::NORMAL,
                reason: String::new()
            }))
        );
        assert_eq!(
            Close::parse(&[b"\x0f\xa0", "fin de la séance".as_bytes()].concat()),
            Ok(Some(Close {
                code: CloseCode(4000),
                reason: "fin de la séance".into()
            }))
        );
        // The longest reason there is.
        let mut long = vec![0x03, 0xe8];
        long.extend_from_slice(&[b'!'; MAX_REASON_LEN]);
        assert_eq!(Close::parse(&long).unwrap().unwrap().reason.len(), 123);
    }

    #[test]
    fn one_byte_payload_is_a_protocol_error() {
        let err = Close::parse(b"\x03").unwrap_err();
        assert_eq!(err, WsError::CloseTooShort);
        assert_eq!(err.code(), CloseCode::PROTOCOL_ERROR);
    }

    #[test]
    fn codes_that_must_not_be_sent_are_protocol_errors() {
        for code in [0u16, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, 65535] {
            let err = Close::parse(&code.to_be_bytes()).unwrap_err();
            assert_eq!(err, WsError::InvalidCloseCode(code));
            assert_eq!(err.code(), CloseCode::PROTOCOL_ERROR);
        }
    }

    #[test]
    fn invalid_utf8_reason_is_invalid_payload() {
        // A UTF-16 surrogate, then a truncated sequence: neither is UTF-8.
        for payload in [&b"\x03\xe8\xed\xa0\x80"[..], b"\x03\xe8ok\xe2\x82"] {
            let err = Close::parse(payload).unwrap_err();
            assert_eq!(err, WsError::InvalidCloseReason);
            assert_eq!(err.code(), CloseCode::INVALID_PAYLOAD);
        }
    }

    #[test]
    fn encodes_and_truncates_at_a_char_boundary() {
        let mut out = BytesMut::new();
        Close::encode_payload(None, "ignored without a code", &mut out);
        assert!(out.is_empty());
        Close::encode_payload(Some(CloseCode::GOING_AWAY), "bye", &mut out);
        assert_eq!(&out[..], b"\x03\xe9bye");

        // 61 two-byte characters are 122 bytes; one more would make 124.
        let reason = "é".repeat(62);
        let mut out = BytesMut::new();
        Close::encode_payload(Some(CloseCode::NORMAL), &reason, &mut out);
        assert_eq!(out.len(), 2 + 122);
        let close = Close::parse(&out).unwrap().unwrap();
        assert_eq!(close.reason, "é".repeat(61));

        let reason = "x".repeat(200);
        let mut out = BytesMut::new();
        Close::encode_payload(Some(CloseCode(4999)), &reason, &mut out);
        assert_eq!(out.len(), 125);
    }
}
