//! HTTP/2 error codes (RFC 9113 section 7), carried by RST_STREAM and GOAWAY.

use core::fmt;

/// An error code. A newtype rather than an enum because RFC 9113 7 says unknown codes
/// must not trigger special behaviour, not that they are invalid: a peer's GOAWAY with a
/// code from a future extension must still decode, and be logged as the number it is.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Reason(pub(crate) u32);

impl Reason {
    /// Graceful shutdown, or no error at all.
    pub(crate) const NO_ERROR: Reason = Reason(0x0);
    /// An unspecific protocol error.
    pub(crate) const PROTOCOL_ERROR: Reason = Reason(0x1);
    /// An unexpected internal error.
    pub(crate) const INTERNAL_ERROR: Reason = Reason(0x2);
    /// The flow-control protocol was violated.
    pub(crate) const FLOW_CONTROL_ERROR: Reason = Reason(0x3);
    /// A SETTINGS frame was not acknowledged in time.
    pub(crate) const SETTINGS_TIMEOUT: Reason = Reason(0x4);
    /// A frame arrived after the stream was half-closed.
    pub(crate) const STREAM_CLOSED: Reason = Reason(0x5);
    /// A frame had an invalid size.
    pub(crate) const FRAME_SIZE_ERROR: Reason = Reason(0x6);
    /// The stream was refused before any application processing.
    pub(crate) const REFUSED_STREAM: Reason = Reason(0x7);
    /// The stream is no longer needed.
    pub(crate) const CANCEL: Reason = Reason(0x8);
    /// The field section compression context cannot be maintained.
    pub(crate) const COMPRESSION_ERROR: Reason = Reason(0x9);
    /// A CONNECT tunnel was reset or abnormally closed.
    pub(crate) const CONNECT_ERROR: Reason = Reason(0xa);
    /// The peer is generating excessive load.
    pub(crate) const ENHANCE_YOUR_CALM: Reason = Reason(0xb);
    /// The transport does not meet minimum security requirements.
    pub(crate) const INADEQUATE_SECURITY: Reason = Reason(0xc);
    /// The peer must use HTTP/1.1 for this request.
    pub(crate) const HTTP_1_1_REQUIRED: Reason = Reason(0xd);

    /// The RFC 9113 name of a known code, `None` for any other.
    pub(crate) const fn name(self) -> Option<&'static str> {
        Some(match self.0 {
            0x0 => "NO_ERROR",
            0x1 => "PROTOCOL_ERROR",
            0x2 => "INTERNAL_ERROR",
            0x3 => "FLOW_CONTROL_ERROR",
            0x4 => "SETTINGS_TIMEOUT",
            0x5 => "STREAM_CLOSED",
            0x6 => "FRAME_SIZE_ERROR",
            0x7 => "REFUSED_STREAM",
            0x8 => "CANCEL",
            0x9 => "COMPRESSION_ERROR",
            0xa => "CONNECT_ERROR",
            0xb => "ENHANCE_YOUR_CALM",
            0xc => "INADEQUATE_SECURITY",
            0xd => "HTTP_1_1_REQUIRED",
            _ => return None,
        })
    }
}

impl From<u32> for Reason {
    fn from(code: u32) -> Reason {
        Reason(code)
    }
}

impl From<Reason> for u32 {
    fn from(reason: Reason) -> u32 {
        reason.0
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => f.write_str(name),
            None => write!(f, "unknown error code {:#x}", self.0),
        }
    }
}

/// Names the code, so that a log line says `Reason(PROTOCOL_ERROR)` rather than `Reason(1)`.
impl fmt::Debug for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "Reason({name})"),
            None => write!(f, "Reason({:#x})", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_codes_have_their_rfc_names() {
        let all = [
            (Reason::NO_ERROR, 0x0, "NO_ERROR"),
            (Reason::PROTOCOL_ERROR, 0x1, "PROTOCOL_ERROR"),
            (Reason::INTERNAL_ERROR, 0x2, "INTERNAL_ERROR"),
            (Reason::FLOW_CONTROL_ERROR, 0x3, "FLOW_CONTROL_ERROR"),
            (Reason::SETTINGS_TIMEOUT, 0x4, "SETTINGS_TIMEOUT"),
            (Reason::STREAM_CLOSED, 0x5, "STREAM_CLOSED"),
            (Reason::FRAME_SIZE_ERROR, 0x6, "FRAME_SIZE_ERROR"),
            (Reason::REFUSED_STREAM, 0x7, "REFUSED_STREAM"),
            (Reason::CANCEL, 0x8, "CANCEL"),
            (Reason::COMPRESSION_ERROR, 0x9, "COMPRESSION_ERROR"),
            (Reason::CONNECT_ERROR, 0xa, "CONNECT_ERROR"),
            (Reason::ENHANCE_YOUR_CALM, 0xb, "ENHANCE_YOUR_CALM"),
            (Reason::INADEQUATE_SECURITY, 0xc, "INADEQUATE_SECURITY"),
            (Reason::HTTP_1_1_REQUIRED, 0xd, "HTTP_1_1_REQUIRED"),
        ];
        for (reason, code, name) in all {
            assert_eq!(u32::from(reason), code);
            assert_eq!(Reason::from(code), reason);
            assert_eq!(reason.to_string(), name);
            assert_eq!(format!("{reason:?}"), format!("Reason({name})"));
        }
    }

    #[test]
    fn unknown_codes_are_representable() {
        let reason = Reason::from(0xdead);
        assert_eq!(reason.name(), None);
        assert_eq!(reason.to_string(), "unknown error code 0xdead");
        assert_eq!(format!("{reason:?}"), "Reason(0xdead)");
        assert_eq!(Reason::from(0xe).name(), None);
    }
}
