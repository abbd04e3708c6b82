//! The opening handshake: checking a client's request to open a WebSocket, over HTTP/1.1
//! (RFC 6455 4.2.1) or HTTP/2 (RFC 8441 4 and 5), and computing what the answer carries.
//!
//! Over HTTP/1.1 the request is a `GET` with `Upgrade: websocket`, `Connection: upgrade`,
//! `Sec-WebSocket-Version: 13` and a `Sec-WebSocket-Key` of 16 random bytes in base64; the
//! answer is a 101 with `Sec-WebSocket-Accept`, the SHA-1 of the key and a fixed GUID, which
//! proves the server understood the request as WebSocket rather than replaying a cached
//! answer. Over HTTP/2 the request is a `CONNECT` with `:protocol websocket` and the same
//! version; the stream is the channel, there is no key, and the answer is a 200.
//!
//! Both may offer subprotocols (`Sec-WebSocket-Protocol`, the resource picks one or none)
//! and extensions (`Sec-WebSocket-Extensions`); the one we speak is `permessage-deflate`
//! (RFC 7692), whose offers [`super::deflate::negotiate`] weighs once this check says one
//! was made.
//!
//! Host and Origin are left to the layers that know the service: the HTTP/1.1 parser has
//! already required Host, and an Origin policy is the resource's.
//!
//! SHA-1's weaknesses do not matter to a value that only proves the server read the key.

use crate::proto::{is_tchar, trim_ows};
use core::fmt;

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use http::header::{
    HeaderName, CONNECTION, SEC_WEBSOCKET_EXTENSIONS, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_PROTOCOL,
    SEC_WEBSOCKET_VERSION, UPGRADE,
};
use http::{HeaderMap, HeaderValue, Method, StatusCode, Version};
use sha1::{Digest, Sha1};

/// The only protocol version there is (RFC 6455 4.1). A 426 that refuses another version
/// carries `Sec-WebSocket-Version: 13`.
pub(crate) const SUPPORTED_VERSION: &str = "13";

/// Appended to the key before hashing (RFC 6455 1.3).
const GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// A valid opening request: what the server needs to accept it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Handshake {
    /// The `Sec-WebSocket-Accept` value of the 101 (HTTP/1.1); `None` over HTTP/2, whose
    /// 200 carries no such field.
    pub(crate) accept: Option<HeaderValue>,
    /// The subprotocols offered, in the client's order of preference. The resource may
    /// pick one and echo it in `Sec-WebSocket-Protocol`; it must not answer with any other.
    pub(crate) protocols: Vec<String>,
    /// Whether `permessage-deflate` was among the extensions offered: then
    /// [`super::deflate::negotiate`] picks the offer to accept, if any.
    pub(crate) permessage_deflate: bool,
}

impl Handshake {
    /// The status that accepts the request: 101 over HTTP/1.1, 200 over HTTP/2 (RFC 8441 5).
    pub(crate) fn status(&self) -> StatusCode {
        if self.accept.is_some() {
            StatusCode::SWITCHING_PROTOCOLS
        } else {
            StatusCode::OK
        }
    }
}

/// Why an opening request was refused. The answer is [`HandshakeError::status`]; a 426
/// also carries `Sec-WebSocket-Version: 13` (RFC 6455 4.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HandshakeError {
    /// HTTP/1.1: the method is not GET.
    NotGet,
    /// HTTP/1.1: the request is not HTTP/1.1 (an HTTP/1.0 client cannot upgrade).
    NotHttp11,
    /// HTTP/1.1: `Upgrade` does not list `websocket`.
    NoUpgradeWebsocket,
    /// HTTP/1.1: `Connection` does not list `upgrade`.
    NoConnectionUpgrade,
    /// `Sec-WebSocket-Version` is missing or not exactly 13 (426).
    UnsupportedVersion,
    /// HTTP/1.1: no `Sec-WebSocket-Key`.
    MissingKey,
    /// HTTP/1.1: more than one `Sec-WebSocket-Key`.
    DuplicateKey,
    /// HTTP/1.1: a `Sec-WebSocket-Key` that is not the base64 of 16 bytes.
    InvalidKey,
    /// A `Sec-WebSocket-Protocol` element that is not a token.
    InvalidProtocol,
    /// HTTP/2: the method is not CONNECT.
    NotConnect,
    /// HTTP/2: `:protocol` is missing or not `websocket`.
    NotWebsocketProtocol,
}

impl HandshakeError {
    /// The status to refuse with: 426 for a version we do not speak, 400 for the rest
    /// (RFC 6455 4.2.1 and 4.2.2).
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Self::UnsupportedVersion => StatusCode::UPGRADE_REQUIRED,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// One line for the error body and the log.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            Self::NotGet => "WebSocket upgrade with a method other than GET",
            Self::NotHttp11 => "WebSocket upgrade needs HTTP/1.1",
            Self::NoUpgradeWebsocket => "Upgrade does not list websocket",
            Self::NoConnectionUpgrade => "Connection does not list upgrade",
            Self::UnsupportedVersion => "unsupported Sec-WebSocket-Version, 13 is supported",
            Self::MissingKey => "missing Sec-WebSocket-Key",
            Self::DuplicateKey => "more than one Sec-WebSocket-Key",
            Self::InvalidKey => "Sec-WebSocket-Key is not the base64 of 16 bytes",
            Self::InvalidProtocol => "invalid Sec-WebSocket-Protocol",
            Self::NotConnect => "WebSocket over HTTP/2 needs an extended CONNECT",
            Self::NotWebsocketProtocol => ":protocol is not websocket",
        }
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.reason(), self.status().as_u16())
    }
}

impl core::error::Error for HandshakeError {}

/// Checks an HTTP/1.1 request to open a WebSocket (RFC 6455 4.2.1).
pub(crate) fn check_upgrade(
    method: &Method,
    version: Version,
    headers: &HeaderMap,
) -> Result<Handshake, HandshakeError> {
    if method != Method::GET {
        return Err(HandshakeError::NotGet);
    }
    if version != Version::HTTP_11 {
        return Err(HandshakeError::NotHttp11);
    }
    if !has_token(headers, UPGRADE, b"websocket") {
        return Err(HandshakeError::NoUpgradeWebsocket);
    }
    if !has_token(headers, CONNECTION, b"upgrade") {
        return Err(HandshakeError::NoConnectionUpgrade);
    }
    check_version(headers)?;
    let mut keys = headers.get_all(SEC_WEBSOCKET_KEY).into_iter();
    let key = match (keys.next(), keys.next()) {
        (Some(key), None) => trim_ows(key.as_bytes()),
        (None, _) => return Err(HandshakeError::MissingKey),
        (Some(_), Some(_)) => return Err(HandshakeError::DuplicateKey),
    };
    if !is_base64_of_16_bytes(key) {
        return Err(HandshakeError::InvalidKey);
    }
    // The base64 alphabet is visible ASCII, so this cannot fail; the error keeps it
    // panic-free.
    let accept = HeaderValue::from_str(&accept_key(key)).map_err(|_| HandshakeError::InvalidKey)?;
    Ok(Handshake {
        accept: Some(accept),
        protocols: offered_protocols(headers)?,
        permessage_deflate: offers_permessage_deflate(headers),
    })
}

/// Checks an HTTP/2 extended CONNECT opening a WebSocket (RFC 8441 4 and 5). `protocol` is
/// the request's `:protocol` pseudo-header, which the HTTP/2 layer has already checked is
/// a token sent with CONNECT and allowed by our SETTINGS.
pub(crate) fn check_extended_connect(
    method: &Method,
    protocol: Option<&str>,
    headers: &HeaderMap,
) -> Result<Handshake, HandshakeError> {
    if method != Method::CONNECT {
        return Err(HandshakeError::NotConnect);
    }
    if !protocol.is_some_and(|p| p.eq_ignore_ascii_case("websocket")) {
        return Err(HandshakeError::NotWebsocketProtocol);
    }
    check_version(headers)?;
    Ok(Handshake {
        accept: None,
        protocols: offered_protocols(headers)?,
        permessage_deflate: offers_permessage_deflate(headers),
    })
}

/// The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key` value (as sent, without
/// surrounding whitespace): base64(SHA-1(key + GUID)), 28 characters.
pub(crate) fn accept_key(key: &[u8]) -> String {
    let digest = Sha1::new().chain_update(key).chain_update(GUID).finalize();
    STANDARD.encode(digest)
}

/// Requires exactly one `Sec-WebSocket-Version` element, `13`.
fn check_version(headers: &HeaderMap) -> Result<(), HandshakeError> {
    let mut versions = elements(headers, SEC_WEBSOCKET_VERSION);
    match (versions.next(), versions.next()) {
        (Some(version), None) if version == SUPPORTED_VERSION.as_bytes() => Ok(()),
        _ => Err(HandshakeError::UnsupportedVersion),
    }
}

/// The subprotocols of every `Sec-WebSocket-Protocol` field, in order.
fn offered_protocols(headers: &HeaderMap) -> Result<Vec<String>, HandshakeError> {
    elements(headers, SEC_WEBSOCKET_PROTOCOL)
        .map(|element| {
            if !element.iter().all(|&b| is_tchar(b)) {
                return Err(HandshakeError::InvalidProtocol);
            }
            // Tokens are ASCII: this cannot fail.
            core::str::from_utf8(element)
                .map(str::to_owned)
                .map_err(|_| HandshakeError::InvalidProtocol)
        })
        .collect()
}

/// Whether an extension offer names `permessage-deflate`. Each offer is a name and
/// `;`-separated parameters; a parameter value may be quoted but must still be a token
/// (RFC 6455 9.1), so a comma inside one is not valid and splitting at commas is exact
/// for every valid field.
fn offers_permessage_deflate(headers: &HeaderMap) -> bool {
    elements(headers, SEC_WEBSOCKET_EXTENSIONS).any(|offer| {
        let name = offer.split(|&b| b == b';').next().unwrap_or_default();
        trim_ows(name).eq_ignore_ascii_case(b"permessage-deflate")
    })
}

/// Whether a comma-separated list field has an element equal to `token`, ignoring ASCII
/// case (RFC 6455 4.2.1 for Upgrade; connection options are case-insensitive by RFC 9110
/// 7.6.1).
fn has_token(headers: &HeaderMap, name: HeaderName, token: &[u8]) -> bool {
    elements(headers, name).any(|element| element.eq_ignore_ascii_case(token))
}

/// The non-empty elements of every field `name`, split at commas and trimmed (the list
/// syntax of RFC 9110 5.6.1, which lets a list span several fields and have empty
/// elements).
fn elements(headers: &HeaderMap, name: HeaderName) -> impl Iterator<Item = &[u8]> {
    headers
        .get_all(name)
        .into_iter()
        .flat_map(|value| value.as_bytes().split(|&b| b == b','))
        .map(trim_ows)
        .filter(|element| !element.is_empty())
}

/// Whether `key` is the canonical base64 of exactly 16 bytes (24 characters with the
/// padding). The decoder refuses non-zero pad bits, as RFC 4648 3.5 allows; every client
/// encodes 16 random bytes with a standard encoder, which never writes them.
fn is_base64_of_16_bytes(key: &[u8]) -> bool {
    key.len() == 24 && STANDARD.decode(key).is_ok_and(|bytes| bytes.len() == 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_of_the_rfc_6455_example() {
        // RFC 6455 1.3: SHA-1 b37a4f2cc0624f1690f64606cf385945b2bec4ea, in base64:
        assert_eq!(
            accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn key_must_be_base64_of_16_bytes() {
        assert!(is_base64_of_16_bytes(b"dGhlIHNhbXBsZSBub25jZQ=="));
        assert!(is_base64_of_16_bytes(b"AAECAwQFBgcICQoLDA0ODw=="));
        for bad in [
            &b""[..],
            b"AAAAAAAAAAAAAAAAAAAA",     // 15 bytes
            b"AAAAAAAAAAAAAAAAAAAAAAA=", // 17 bytes
            b"dGhlIHNhbXBsZSBub25jZQ",   // padding missing
            b"dGhlIHNhbXBsZSBub25jZQ=",
            b"dGhlIHNhbXBsZSBub25jZQ===",
            b"dGhlIHNhbXBsZSBub25jZR==", // non-zero pad bits
            b"dGhlIHNhbXBsZSBub25j-Q==", // base64url digit
            b"dGhlIHNhbXBsZSBub25j Q==",
        ] {
            assert!(
                !is_base64_of_16_bytes(bad),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    /// The RFC 6455 1.2 example request's fields.
    fn rfc_request() -> HeaderMap {
        headers(&[
            ("host", "server.example.com"),
            ("upgrade", "websocket"),
            ("connection", "Upgrade"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
            ("origin", "http://example.com"),
            ("sec-websocket-protocol", "chat, superchat"),
            ("sec-websocket-version", "13"),
        ])
    }

    fn headers(fields: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in fields {
            map.append(*name, HeaderValue::from_static(value));
        }
        map
    }

    fn upgrade(headers: &HeaderMap) -> Result<Handshake, HandshakeError> {
        check_upgrade(&Method::GET, Version::HTTP_11, headers)
    }

    /// `rfc_request` with `name` replaced by `values` (removed if empty).
    fn with(name: &'static str, values: &[&'static str]) -> HeaderMap {
        let mut map = rfc_request();
        map.remove(name);
        for value in values {
            map.append(name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn accepts_the_rfc_6455_example() {
        let handshake = upgrade(&rfc_request()).unwrap();
        assert_eq!(
            handshake,
            Handshake {
                accept: Some(HeaderValue::from_static("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")),
                protocols: vec!["chat".into(), "superchat".into()],
                permessage_deflate: false,
            }
        );
        assert_eq!(handshake.status(), StatusCode::SWITCHING_PROTOCOLS);
    }

    #[test]
    fn tokens_ignore_case_and_sit_in_lists() {
        // Firefox sends "keep-alive, Upgrade".
        let map = with("connection", &["keep-alive, Upgrade"]);
        assert!(upgrade(&map).is_ok());
        let map = with("connection", &["close", " , UPGRADE ,"]);
        assert!(upgrade(&map).is_ok());
        let map = with("upgrade", &["h2c, WebSocket"]);
        assert!(upgrade(&map).is_ok());
        let map = with("upgrade", &["foo/2", "websocket"]);
        assert!(upgrade(&map).is_ok());
        // Whitespace around the key is not part of it (RFC 6455 1.3).
        let map = with("sec-websocket-key", &[" dGhlIHNhbXBsZSBub25jZQ==\t"]);
        assert_eq!(
            upgrade(&map).unwrap().accept.unwrap(),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn refuses_a_wrong_method_or_version() {
        let map = rfc_request();
        for method in [Method::POST, Method::HEAD, Method::CONNECT] {
            let err = check_upgrade(&method, Version::HTTP_11, &map).unwrap_err();
            assert_eq!(err, HandshakeError::NotGet);
            assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        }
        for version in [Version::HTTP_10, Version::HTTP_2] {
            let err = check_upgrade(&Method::GET, version, &map).unwrap_err();
            assert_eq!(err, HandshakeError::NotHttp11);
            assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        }
    }

    #[test]
    fn refuses_missing_upgrade_or_connection_tokens() {
        for (map, expected) in [
            (with("upgrade", &[]), HandshakeError::NoUpgradeWebsocket),
            (
                with("upgrade", &["websocket/13"]),
                HandshakeError::NoUpgradeWebsocket,
            ),
            (
                with("upgrade", &["websockets"]),
                HandshakeError::NoUpgradeWebsocket,
            ),
            (with("connection", &[]), HandshakeError::NoConnectionUpgrade),
            (
                with("connection", &["keep-alive"]),
                HandshakeError::NoConnectionUpgrade,
            ),
            (
                with("connection", &["upgraded"]),
                HandshakeError::NoConnectionUpgrade,
            ),
        ] {
            let err = upgrade(&map).unwrap_err();
            assert_eq!(err, expected);
            assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        }
    }

    #[test]
    fn other_versions_get_426() {
        for values in [
            &[][..],
            &["8"],
            &["12"],
            &["13, 8"],
            &["13", "13"],
            &["013"],
            &[" "],
        ] {
            let err = upgrade(&with("sec-websocket-version", values)).unwrap_err();
            assert_eq!(err, HandshakeError::UnsupportedVersion, "{values:?}");
            assert_eq!(err.status(), StatusCode::UPGRADE_REQUIRED);
            assert!(err.to_string().contains("426"));
        }
        assert!(upgrade(&with("sec-websocket-version", &[" 13 "])).is_ok());
    }

    #[test]
    fn refuses_missing_duplicate_and_malformed_keys() {
        for (values, expected) in [
            (&[][..], HandshakeError::MissingKey),
            (
                &["dGhlIHNhbXBsZSBub25jZQ==", "dGhlIHNhbXBsZSBub25jZQ=="],
                HandshakeError::DuplicateKey,
            ),
            (&["AAAAAAAAAAAAAAAAAAAA"], HandshakeError::InvalidKey),
            (&["not a key"], HandshakeError::InvalidKey),
            (&[""], HandshakeError::InvalidKey),
        ] {
            let err = upgrade(&with("sec-websocket-key", values)).unwrap_err();
            assert_eq!(err, expected, "{values:?}");
            assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        }
    }

    #[test]
    fn protocols_are_collected_in_order_across_fields() {
        let map = with("sec-websocket-protocol", &["v2.chat, , v1.chat", "mqtt"]);
        assert_eq!(
            upgrade(&map).unwrap().protocols,
            ["v2.chat", "v1.chat", "mqtt"]
        );
        assert!(upgrade(&with("sec-websocket-protocol", &[]))
            .unwrap()
            .protocols
            .is_empty());
        for bad in ["chat room", "chat/1", "\"chat\""] {
            let err = upgrade(&with("sec-websocket-protocol", &[bad])).unwrap_err();
            assert_eq!(err, HandshakeError::InvalidProtocol, "{bad}");
            assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        }
    }

    #[test]
    fn detects_a_permessage_deflate_offer() {
        for (values, offered) in [
            (&[][..], false),
            (&["permessage-deflate"], true),
            (&["permessage-deflate; client_max_window_bits"], true),
            (
                &[
                    "x-webkit-deflate-frame",
                    "PerMessage-Deflate ;server_no_context_takeover",
                ],
                true,
            ),
            (
                &["foo, permessage-deflate; client_max_window_bits=10, bar"],
                true,
            ),
            (&["x-webkit-deflate-frame"], false),
            (&["permessage-deflated"], false),
            (&["foo; permessage-deflate"], false),
        ] {
            let map = with("sec-websocket-extensions", values);
            assert_eq!(
                upgrade(&map).unwrap().permessage_deflate,
                offered,
                "{values:?}"
            );
        }
    }

    /// The RFC 8441 5.1 example request's regular fields.
    fn rfc_8441_request() -> HeaderMap {
        headers(&[
            ("sec-websocket-protocol", "chat, superchat"),
            ("sec-websocket-extensions", "permessage-deflate"),
            ("sec-websocket-version", "13"),
            ("origin", "http://www.example.com"),
        ])
    }

    #[test]
    fn accepts_the_rfc_8441_example() {
        let handshake =
            check_extended_connect(&Method::CONNECT, Some("websocket"), &rfc_8441_request())
                .unwrap();
        assert_eq!(
            handshake,
            Handshake {
                accept: None,
                protocols: vec!["chat".into(), "superchat".into()],
                permessage_deflate: true,
            }
        );
        assert_eq!(handshake.status(), StatusCode::OK);
    }

    #[test]
    fn extended_connect_errors() {
        let map = rfc_8441_request();
        let err = check_extended_connect(&Method::GET, Some("websocket"), &map).unwrap_err();
        assert_eq!(err, HandshakeError::NotConnect);
        for protocol in [None, Some("h2c"), Some("websockets")] {
            let err = check_extended_connect(&Method::CONNECT, protocol, &map).unwrap_err();
            assert_eq!(err, HandshakeError::NotWebsocketProtocol);
            assert_eq!(err.status(), StatusCode::BAD_REQUEST);
        }
        let mut map = rfc_8441_request();
        map.insert("sec-websocket-version", HeaderValue::from_static("8"));
        let err = check_extended_connect(&Method::CONNECT, Some("websocket"), &map).unwrap_err();
        assert_eq!(err, HandshakeError::UnsupportedVersion);
        assert_eq!(err.status(), StatusCode::UPGRADE_REQUIRED);
    }

    #[test]
    fn every_error_has_a_reason() {
        let all = [
            HandshakeError::NotGet,
            HandshakeError::NotHttp11,
            HandshakeError::NoUpgradeWebsocket,
            HandshakeError::NoConnectionUpgrade,
            HandshakeError::UnsupportedVersion,
            HandshakeError::MissingKey,
            HandshakeError::DuplicateKey,
            HandshakeError::InvalidKey,
            HandshakeError::InvalidProtocol,
            HandshakeError::NotConnect,
            HandshakeError::NotWebsocketProtocol,
        ];
        for err in all {
            assert!(!err.reason().is_empty());
            assert!(err
                .to_string()
                .ends_with(&format!("({})", err.status().as_u16())));
        }
    }
}
