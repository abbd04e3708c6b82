//! The h2c upgrade's `HTTP2-Settings` field (RFC 7540 3.2.1): a SETTINGS payload in
//! base64url (RFC 4648 section 5), trailing `=` allowed and ignored.

use super::frame::Settings;

/// The settings an `HTTP2-Settings` value carries; `None` if it is not base64url or not a
/// valid SETTINGS payload (the server then does not upgrade).
pub(crate) fn decode_http2_settings(value: &[u8]) -> Option<Settings> {
    let payload = decode_base64url(value)?;
    Settings::decode_payload(&payload).ok()
}

fn sextet(c: u8) -> Option<u32> {
    Some(u32::from(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' => 62,
        b'_' => 63,
        _ => return None,
    }))
}

fn decode_base64url(value: &[u8]) -> Option<Vec<u8>> {
    let end = value.iter().rposition(|&c| c != b'=').map_or(0, |i| i + 1);
    let text = &value[..end];
    // A lone final sextet carries fewer than 8 bits: not an encoding of anything.
    if text.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    for group in text.chunks(4) {
        let mut bits: u32 = 0;
        for (i, &c) in group.iter().enumerate() {
            bits |= sextet(c)? << (18 - 6 * i);
        }
        let bytes = bits.to_be_bytes();
        out.extend_from_slice(&bytes[1..group.len()]);
    }
    Some(out)
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
