//! The h2c upgrade's `HTTP2-Settings` field (RFC 7540 3.2.1): a SETTINGS payload in
//! base64url (RFC 4648 section 5), trailing `=` allowed and ignored.

use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;

use super::frame::Settings;

/// The settings an `HTTP2-Settings` value carries; `None` if it is not base64url or not a
/// valid SETTINGS payload (the server then does not upgrade).
pub(crate) fn decode_http2_settings(value: &[u8]) -> Option<Settings> {
    let payload = decode_base64url(value)?;
    Settings::decode_payload(&payload).ok()
}

/// base64url with or without its `=` padding: RFC 7540 3.2.1 names the alphabet and
/// clients differ on the padding.
const BASE64URL: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

fn decode_base64url(value: &[u8]) -> Option<Vec<u8>> {
    BASE64URL.decode(value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_base64url_with_and_without_padding() {
        assert_eq!(decode_base64url(b"").unwrap(), b"");
        assert_eq!(decode_base64url(b"Zm9v").unwrap(), b"foo");
        assert_eq!(decode_base64url(b"Zm8").unwrap(), b"fo");
        assert_eq!(decode_base64url(b"Zm8=").unwrap(), b"fo");
        assert_eq!(decode_base64url(b"Zg").unwrap(), b"f");
        assert_eq!(decode_base64url(b"-_8").unwrap(), [0xfb, 0xff]);
        assert!(decode_base64url(b"Zm9v+").is_none());
        assert!(decode_base64url(b"Z").is_none());
    }

    #[test]
    fn decodes_the_settings_curl_sends() {
        // curl 7.88: SETTINGS_MAX_CONCURRENT_STREAMS 100, INITIAL_WINDOW_SIZE 33554432,
        // ENABLE_PUSH 0.
        let s = decode_http2_settings(b"AAMAAABkAAQCAAAAAAIAAAAA").unwrap();
        assert_eq!(s.max_concurrent_streams, Some(100));
        assert_eq!(s.initial_window_size, Some(33_554_432));
        assert_eq!(s.enable_push, Some(false));
        assert!(decode_http2_settings(b"AAMAAABk").is_some());
        // Not a whole number of settings.
        assert!(decode_http2_settings(b"AAMAAA").is_none());
    }
}
