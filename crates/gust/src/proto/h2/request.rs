//! The request head of an HTTP/2 stream, checked against RFC 9113 section 8 (and RFC 8441
//! section 4 for extended CONNECT).
//!
//! HPACK hands us fields one at a time as opaque bytes; [`RequestBuilder`] takes them in
//! that order and decides what they mean. A request that breaks a rule of section 8 is
//! "malformed" (8.1.1): the stream is reset with PROTOCOL_ERROR and the connection lives
//! on. Three refusals are not malformations but limits or unknowns that deserve an HTTP
//! answer, as in HTTP/1 (`h1::head`): an unknown method (501), a `:path` longer than
//! `max_url_length` (414) and more than `max_headers` regular fields (431). See
//! [`RequestError::status`].
//!
//! Choices the RFC leaves to us, made here:
//! - `host` and `:authority` that disagree (compared case-insensitively, as host names
//!   are) make the request malformed. RFC 9113 8.3.1 only says they SHOULD match, but two
//!   authorities in one request are what request-smuggling through a proxy feeds on, so we
//!   refuse rather than pick one. A lone `:authority` is copied into `host` so that
//!   handlers find the authority where HTTP/1 puts it.
//! - Several `cookie` fields (RFC 9113 8.2.3 lets clients split them for better
//!   compression) are joined with "; " into one field, so a handler sees the same single
//!   Cookie header as over HTTP/1.
//! - `te` is compared with "trailers" ignoring ASCII case, since transfer-coding names are
//!   case-insensitive (RFC 9110 10.1.4).
//! - An `http` or `https` request needs `:authority` or `host` (RFC 9113 8.3.1 MUST), and
//!   neither may be empty; a second `host` field is malformed, as it is 400 over HTTP/1.
//! - An unknown method is reported only once the whole block has passed every other
//!   check: a malformed request must be reset, not answered with 501.

use crate::proto::{is_tchar, method_name, MethodName};
use core::fmt;
use std::borrow::Cow;

use http::{HeaderMap, Method, StatusCode};

use crate::proto::field_list::{is_field_value_byte, visible_ascii, FieldList};
use crate::proto::target_strings;

use super::hpack::StoredField;

/// Bounds on one request head, the HTTP/2 counterpart of `h1::head::HeadLimits`. The
/// bytes of the whole block are bounded earlier, by SETTINGS_MAX_HEADER_LIST_SIZE in the
/// HPACK decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RequestLimits {
    /// Bytes of `:path`. Past it: 414.
    pub(crate) max_url_length: usize,
    /// Regular (non-pseudo) fields in the block, each `cookie` crumb counted. Past it: 431.
    pub(crate) max_headers: usize,
    /// We sent SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (RFC 8441 3); without it `:protocol`
    /// is an undefined pseudo-header and the request is malformed.
    pub(crate) allow_extended_connect: bool,
}

/// A checked HTTP/2 request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestHead2 {
    /// One of the standard methods; others were refused with 501.
    pub(crate) method: &'static Method,
    /// The request target: `:path` (starts with '/', or is "*" for OPTIONS), or a plain
    /// CONNECT's `:authority`, the tunnel's `host:port` (RFC 9113 8.5). Every other
    /// request's authority is its `host` field (taken from `:authority` when the client sent
    /// no `host`), moved there rather than kept twice. (`:scheme` is checked, not kept: no
    /// layer above reads it.)
    pub(crate) target: String,
    /// `:protocol` of an extended CONNECT (RFC 8441), e.g. "websocket".
    pub(crate) protocol: Option<Box<str>>,
    /// The regular fields; `host` added from `:authority` when the client sent none, and
    /// `cookie` crumbs joined into one field. A list, not a map: see [`FieldList`].
    pub(crate) headers: FieldList,
    /// The `content-length` value, if any; the connection checks the DATA it receives
    /// against it (RFC 9113 8.1.1).
    pub(crate) content_length: Option<u64>,
}

/// Why a request (or trailer) block was refused.
///
/// [`RequestError::status`] `None`: the request is malformed (RFC 9113 8.1.1), answer with
/// RST_STREAM PROTOCOL_ERROR. `Some(status)`: answer with that status and end the stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RequestError {
    /// A field name with an uppercase byte (8.2.1).
    UppercaseFieldName,
    /// A field name that is empty or not a token (8.2.1).
    InvalidFieldName,
    /// A field value with NUL, CR, LF or another control byte, or with leading or
    /// trailing whitespace (8.2.1).
    InvalidFieldValue,
    /// A pseudo-header that requests do not define (8.3).
    UnknownPseudoHeader,
    /// `:status`, which only responses carry (8.3).
    ResponsePseudoHeader,
    /// The same pseudo-header twice (8.3.1).
    DuplicatePseudoHeader,
    /// A pseudo-header after a regular field (8.3).
    PseudoHeaderAfterRegular,
    /// Any pseudo-header in a trailer section (8.1).
    PseudoHeaderInTrailers,
    /// `connection`, `proxy-connection`, `keep-alive`, `transfer-encoding` or `upgrade`
    /// (8.2.2).
    ConnectionSpecificField,
    /// `te` with a value other than "trailers" (8.2.2).
    InvalidTe,
    /// No `:method` (8.3.1).
    MissingMethod,
    /// A `:method` that is not a token.
    InvalidMethod,
    /// A well-formed method that is not one of the standard ones (501).
    UnknownMethod,
    /// No `:scheme` on a request that needs one (8.3.1, RFC 8441 4).
    MissingScheme,
    /// A `:scheme` outside the URI scheme grammar (RFC 3986 3.1).
    InvalidScheme,
    /// No `:path` on a request that needs one (8.3.1, RFC 8441 4).
    MissingPath,
    /// A `:path` that is empty, does not start with '/' (and is not "*"), or holds a
    /// byte that cannot appear in a path and query, '#' included (8.3.1).
    InvalidPath,
    /// A `:path` longer than `max_url_length` (414).
    UriTooLong,
    /// `:path` "*" with a method other than OPTIONS (8.3.1).
    AsteriskWithoutOptions,
    /// An http or https request with neither `:authority` nor `host` (8.3.1).
    MissingAuthority,
    /// An empty `:authority`, one with userinfo, or a byte outside the authority grammar
    /// (8.3.1); for CONNECT, one that is not host:port (8.5).
    InvalidAuthority,
    /// An empty `host`, or a byte outside the authority grammar.
    InvalidHost,
    /// More than one `host` field.
    DuplicateHost,
    /// `host` and `:authority` name different authorities (8.3.1; see the module docs).
    HostAuthorityMismatch,
    /// CONNECT without `:authority` (8.5).
    ConnectWithoutAuthority,
    /// CONNECT without `:protocol` but with `:scheme` or `:path` (8.5).
    ConnectWithSchemeOrPath,
    /// `:protocol` when we did not send SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 3).
    ExtendedConnectDisabled,
    /// `:protocol` with a method other than CONNECT (RFC 8441 4).
    ProtocolWithoutConnect,
    /// A `:protocol` value that is not an upgrade token (RFC 9110 7.8).
    InvalidProtocol,
    /// `content-length` that is not one decimal number fitting in u64 (8.1.1).
    InvalidContentLength,
    /// Several `content-length` fields with different values (8.1.1).
    ConflictingContentLength,
    /// A non-zero `content-length` on HEADERS that carried END_STREAM: the DATA can never
    /// add up to it (8.1.1).
    ContentLengthWithEndStream,
    /// More than `max_headers` regular fields (431).
    TooManyHeaders,
}

impl RequestError {
    /// The status to answer with, or `None` when the request is malformed and the stream
    /// must be reset with PROTOCOL_ERROR (RFC 9113 8.1.1).
    pub(crate) fn status(&self) -> Option<StatusCode> {
        match self {
            Self::UnknownMethod => Some(StatusCode::NOT_IMPLEMENTED),
            Self::UriTooLong => Some(StatusCode::URI_TOO_LONG),
            Self::TooManyHeaders => Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE),
            _ => None,
        }
    }

    /// One line for the error body and the log.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            Self::UppercaseFieldName => "uppercase byte in field name",
            Self::InvalidFieldName => "invalid field name",
            Self::InvalidFieldValue => "invalid field value",
            Self::UnknownPseudoHeader => "unknown pseudo-header",
            Self::ResponsePseudoHeader => ":status in a request",
            Self::DuplicatePseudoHeader => "repeated pseudo-header",
            Self::PseudoHeaderAfterRegular => "pseudo-header after a regular field",
            Self::PseudoHeaderInTrailers => "pseudo-header in trailers",
            Self::ConnectionSpecificField => "connection-specific field in HTTP/2",
            Self::InvalidTe => "te with a value other than trailers",
            Self::MissingMethod => "missing :method",
            Self::InvalidMethod => "invalid method",
            Self::UnknownMethod => "method not implemented",
            Self::MissingScheme => "missing :scheme",
            Self::InvalidScheme => "invalid :scheme",
            Self::MissingPath => "missing :path",
            Self::InvalidPath => "invalid :path",
            Self::UriTooLong => "request target too long",
            Self::AsteriskWithoutOptions => "asterisk :path is only valid with OPTIONS",
            Self::MissingAuthority => "missing :authority and host",
            Self::InvalidAuthority => "invalid :authority",
            Self::InvalidHost => "invalid host",
            Self::DuplicateHost => "more than one host field",
            Self::HostAuthorityMismatch => "host and :authority differ",
            Self::ConnectWithoutAuthority => "CONNECT without :authority",
            Self::ConnectWithSchemeOrPath => "CONNECT with :scheme or :path",
            Self::ExtendedConnectDisabled => ":protocol without extended CONNECT enabled",
            Self::ProtocolWithoutConnect => ":protocol with a method other than CONNECT",
            Self::InvalidProtocol => "invalid :protocol",
            Self::InvalidContentLength => "invalid content-length",
            Self::ConflictingContentLength => "content-length fields disagree",
            Self::ContentLengthWithEndStream => "content-length on a request without a body",
            Self::TooManyHeaders => "too many header fields",
        }
    }
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.status() {
            Some(status) => write!(f, "{} ({})", self.reason(), status.as_u16()),
            None => write!(f, "malformed request: {}", self.reason()),
        }
    }
}

impl core::error::Error for RequestError {}

/// The method as far as the builder needs it: an unknown one is kept as a marker so that
/// a repeat is still caught and the 501 can wait for the rest of the checks.
#[derive(Debug, Clone)]
enum SeenMethod {
    Known(&'static Method),
    Unknown,
}

/// Collects one request's header block, field by field, in the order HPACK decodes it.
#[derive(Debug)]
pub(crate) struct RequestBuilder {
    limits: RequestLimits,
    error: Option<RequestError>,
    method: Option<SeenMethod>,
    scheme: Option<Cow<'static, str>>,
    /// Where `:authority` is in the regular fields: made a `host` field when it came.
    authority: Option<usize>,
    path: Option<String>,
    protocol: Option<Box<str>>,
    seen_regular: bool,
    regular: RegularFields,
    /// Where the client's own `host` field is in the regular fields.
    host: Option<usize>,
    content_length: Option<u64>,
}

impl RequestBuilder {
    /// A builder for one request head.
    #[cfg(test)]
    pub(crate) fn new(limits: RequestLimits) -> Self {
        Self::with_fields(limits, FieldList::default())
    }

    /// A builder for one request head whose regular fields go into `fields`: an empty list,
    /// possibly with room already made (a recycled one).
    pub(crate) fn with_fields(limits: RequestLimits, fields: FieldList) -> Self {
        debug_assert!(fields.is_empty());
        Self {
            limits,
            error: None,
            method: None,
            scheme: None,
            authority: None,
            path: None,
            protocol: None,
            seen_regular: false,
            regular: RegularFields::with_fields(limits.max_headers, fields),
            host: None,
            content_length: None,
        }
    }

    /// One decoded field, in order. Records the first error and ignores later fields (the
    /// HPACK block must still be fully decoded by the caller to keep the table in sync).
    #[cfg(test)]
    pub(crate) fn field(&mut self, name: &[u8], value: &[u8]) {
        self.field_stored(name, value, None);
    }

    /// [`RequestBuilder::field`] for a field that may be a dynamic table entry, whose
    /// checks are then done once per connection rather than once per request.
    pub(crate) fn field_stored(
        &mut self,
        name: &[u8],
        value: &[u8],
        stored: Option<StoredField<'_>>,
    ) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = self.try_field(name, value, stored) {
            tracing::trace!(error = %e, "h2 request field refused");
            self.error = Some(e);
        }
    }

    /// The block ended. `end_stream`: the HEADERS had END_STREAM, so no DATA will follow.
    /// The head is taken out and the builder left spent: by reference, the builder (about
    /// 300 bytes) is not copied into the call, as it was when taken by value.
    pub(crate) fn finish(&mut self, end_stream: bool) -> Result<RequestHead2, RequestError> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        let Some(method) = self.method.take() else {
            return Err(RequestError::MissingMethod);
        };
        let is_connect = matches!(method, SeenMethod::Known(m) if *m == Method::CONNECT);
        let is_options = matches!(method, SeenMethod::Known(m) if *m == Method::OPTIONS);

        if is_connect && self.protocol.is_none() {
            // RFC 9113 8.5: a tunnel to host:port, nothing else.
            let Some(authority) = self.authority else {
                return Err(RequestError::ConnectWithoutAuthority);
            };
            if self.scheme.is_some() || self.path.is_some() {
                return Err(RequestError::ConnectWithSchemeOrPath);
            }
            if !visible_ascii(self.regular.headers.value_at(authority)).is_some_and(is_host_port) {
                return Err(RequestError::InvalidAuthority);
            }
        } else {
            if self.protocol.is_some() && !is_connect {
                return Err(RequestError::ProtocolWithoutConnect);
            }
            let Some(scheme) = &self.scheme else {
                return Err(RequestError::MissingScheme);
            };
            let Some(path) = &self.path else {
                return Err(RequestError::MissingPath);
            };
            if path == "*" && !is_options {
                return Err(RequestError::AsteriskWithoutOptions);
            }
            // RFC 8441 4 adds only `:authority` to the requirements of a normal request.
            if self.protocol.is_some() && self.authority.is_none() {
                return Err(RequestError::MissingAuthority);
            }
            let needs_authority =
                scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https");
            if needs_authority && self.authority.is_none() && self.host.is_none() {
                return Err(RequestError::MissingAuthority);
            }
        }

        let fields = &mut self.regular.headers;
        let target = match self.authority {
            // Checked against the authority grammar, which is ASCII.
            Some(at) if is_connect && self.protocol.is_none() => visible_ascii(fields.value_at(at))
                .map(str::to_owned)
                .unwrap_or_default(),
            _ => self.path.take().unwrap_or_default(),
        };
        if let (Some(authority), Some(host)) = (self.authority, self.host) {
            if !fields
                .value_at(authority)
                .eq_ignore_ascii_case(fields.value_at(host))
            {
                return Err(RequestError::HostAuthorityMismatch);
            }
            // The same authority twice: the client's `host` field stands for both.
            fields.remove_at(authority);
        }
        let headers = self.regular.finish();

        if end_stream && self.content_length.is_some_and(|n| n > 0) {
            return Err(RequestError::ContentLengthWithEndStream);
        }
        let method = match method {
            SeenMethod::Known(m) => m,
            SeenMethod::Unknown => return Err(RequestError::UnknownMethod),
        };
        Ok(RequestHead2 {
            method,
            target,
            protocol: self.protocol.take(),
            headers,
            content_length: self.content_length,
        })
    }

    fn try_field(
        &mut self,
        name: &[u8],
        value: &[u8],
        stored: Option<StoredField<'_>>,
    ) -> Result<(), RequestError> {
        // A table entry accepted before has the same bytes: its byte-level checks (case,
        // value bytes, token characters, authority and path syntax) hold, and only what
        // depends on the rest of the request is checked again.
        let known_good = stored.is_some_and(StoredField::checked);
        if !known_good {
            check_name_case(name)?;
            check_value(value)?;
        }
        if let Some(pseudo) = name.strip_prefix(b":") {
            if self.seen_regular {
                return Err(RequestError::PseudoHeaderAfterRegular);
            }
            self.pseudo(pseudo, value, known_good)?;
        } else {
            self.seen_regular = true;
            self.regular_field(name, value, known_good)?;
        }
        // Every check of this field passed, its bytes' included.
        if let Some(stored) = stored {
            stored.mark_checked();
        }
        Ok(())
    }

    /// A regular field (`name` not a pseudo-header); `known_good`: its byte-level checks
    /// passed before (see [`RequestBuilder::try_field`]).
    fn regular_field(
        &mut self,
        name: &[u8],
        value: &[u8],
        known_good: bool,
    ) -> Result<(), RequestError> {
        if !self.regular.check(name, value, known_good)? {
            return Ok(());
        }
        match name {
            b"content-length" => {
                let n = parse_content_length(value)?;
                match self.content_length {
                    // Equal repeats carry nothing new; one field is enough for the handler.
                    Some(prev) if prev == n => return Ok(()),
                    Some(_) => return Err(RequestError::ConflictingContentLength),
                    None => self.content_length = Some(n),
                }
            }
            b"host" => {
                if self.host.is_some() {
                    return Err(RequestError::DuplicateHost);
                }
                if !known_good && !is_authority(value) {
                    return Err(RequestError::InvalidHost);
                }
                // Noted: finish() compares it with :authority.
                self.host = Some(self.regular.headers.push(name, value));
                return Ok(());
            }
            _ => {}
        }
        self.regular.headers.push(name, value);
        Ok(())
    }

    /// A pseudo-header (`name` without its colon); `known_good` as for
    /// [`RequestBuilder::regular_field`].
    fn pseudo(&mut self, name: &[u8], value: &[u8], known_good: bool) -> Result<(), RequestError> {
        match name {
            b"method" => {
                if self.method.is_some() {
                    return Err(RequestError::DuplicatePseudoHeader);
                }
                self.method = Some(parse_method(value)?);
            }
            b"scheme" => {
                if self.scheme.is_some() {
                    return Err(RequestError::DuplicatePseudoHeader);
                }
                self.scheme = Some(match value {
                    b"https" => Cow::Borrowed("https"),
                    b"http" => Cow::Borrowed("http"),
                    _ if !known_good && !is_scheme(value) => {
                        return Err(RequestError::InvalidScheme)
                    }
                    _ => Cow::Owned(ascii_string(value, RequestError::InvalidScheme)?),
                });
            }
            b"authority" => {
                if self.authority.is_some() {
                    return Err(RequestError::DuplicatePseudoHeader);
                }
                if !known_good && !is_authority(value) {
                    return Err(RequestError::InvalidAuthority);
                }
                // Where HTTP/1 has it, for handlers: first among the fields.
                self.authority = Some(self.regular.headers.push(b"host", value));
            }
            b"path" => {
                if self.path.is_some() {
                    return Err(RequestError::DuplicatePseudoHeader);
                }
                if value.len() > self.limits.max_url_length {
                    return Err(RequestError::UriTooLong);
                }
                if !known_good && !is_path(value) {
                    return Err(RequestError::InvalidPath);
                }
                let path = core::str::from_utf8(value).map_err(|_| RequestError::InvalidPath)?;
                self.path = Some(target_strings::take(path));
            }
            b"protocol" => {
                if !self.limits.allow_extended_connect {
                    return Err(RequestError::ExtendedConnectDisabled);
                }
                if self.protocol.is_some() {
                    return Err(RequestError::DuplicatePseudoHeader);
                }
                if !is_protocol(value) {
                    return Err(RequestError::InvalidProtocol);
                }
                self.protocol = Some(ascii_string(value, RequestError::InvalidProtocol)?.into());
            }
            b"status" => return Err(RequestError::ResponsePseudoHeader),
            _ => return Err(RequestError::UnknownPseudoHeader),
        }
        Ok(())
    }
}

/// Collects a trailer section (RFC 9113 8.1): regular fields only, under the same rules as
/// in a request head.
#[derive(Debug)]
pub(crate) struct TrailersBuilder {
    error: Option<RequestError>,
    regular: RegularFields,
}

impl TrailersBuilder {
    /// A builder for one trailer section; only `max_headers` of `limits` applies.
    pub(crate) fn new(limits: RequestLimits) -> Self {
        Self {
            error: None,
            regular: RegularFields::new(limits.max_headers),
        }
    }

    /// One decoded field, in order. Records the first error and ignores later fields (the
    /// HPACK block must still be fully decoded by the caller to keep the table in sync).
    pub(crate) fn field(&mut self, name: &[u8], value: &[u8]) {
        if self.error.is_some() {
            return;
        }
        if let Err(e) = self.try_field(name, value) {
            tracing::trace!(error = %e, "h2 trailer field refused");
            self.error = Some(e);
        }
    }

    /// The block ended: the trailer fields, or the first error.
    pub(crate) fn finish(mut self) -> Result<HeaderMap, RequestError> {
        match self.error {
            Some(e) => Err(e),
            None => Ok(self.regular.finish().drain_into_map()),
        }
    }

    fn try_field(&mut self, name: &[u8], value: &[u8]) -> Result<(), RequestError> {
        check_name_case(name)?;
        check_value(value)?;
        if name.first() == Some(&b':') {
            return Err(RequestError::PseudoHeaderInTrailers);
        }
        if self.regular.check(name, value, false)? {
            self.regular.headers.push(name, value);
        }
        Ok(())
    }
}

/// The regular fields of a block, with the rules shared by heads and trailers.
#[derive(Debug)]
struct RegularFields {
    max_headers: usize,
    count: usize,
    headers: FieldList,
}

impl RegularFields {
    fn new(max_headers: usize) -> Self {
        Self::with_fields(max_headers, FieldList::default())
    }

    fn with_fields(max_headers: usize, headers: FieldList) -> Self {
        Self {
            max_headers,
            count: 0,
            headers,
        }
    }

    /// Checks one regular field (case and value's ends already checked). `Ok(false)`:
    /// taken here (a cookie crumb); `Ok(true)`: the caller decides where it goes.
    /// `known_good`: its bytes were accepted before (a table entry's).
    fn check(&mut self, name: &[u8], value: &[u8], known_good: bool) -> Result<bool, RequestError> {
        self.count += 1;
        if self.count > self.max_headers {
            return Err(RequestError::TooManyHeaders);
        }
        if !known_good {
            if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
                return Err(RequestError::InvalidFieldName);
            }
            if !value.iter().all(|&b| is_field_value_byte(b)) {
                return Err(RequestError::InvalidFieldValue);
            }
        }
        match name {
            b"connection" | b"proxy-connection" | b"keep-alive" | b"transfer-encoding"
            | b"upgrade" => Err(RequestError::ConnectionSpecificField),
            b"te" if !value.eq_ignore_ascii_case(b"trailers") => Err(RequestError::InvalidTe),
            b"cookie" => {
                // Joined with the other crumbs by finish().
                self.headers.push(name, value);
                Ok(false)
            }
            _ => Ok(true),
        }
    }

    /// The fields, the `cookie` crumbs joined with "; " into one field at the end (RFC
    /// 9113 8.2.3; bounded, like every field, by SETTINGS_MAX_HEADER_LIST_SIZE); the list
    /// is taken out (the builder that holds this is spent).
    fn finish(&mut self) -> FieldList {
        let mut headers = std::mem::take(&mut self.headers);
        headers.join_at_end(b"cookie", b"; ");
        headers
    }
}

/// RFC 9113 8.2.1: field names are lowercase over HTTP/2. Checked on the whole name,
/// pseudo-headers included, before anything else looks at it.
fn check_name_case(name: &[u8]) -> Result<(), RequestError> {
    if name.iter().any(u8::is_ascii_uppercase) {
        Err(RequestError::UppercaseFieldName)
    } else {
        Ok(())
    }
}

/// RFC 9113 8.2.1: no NUL, CR or LF anywhere, no whitespace at either end. Other control
/// bytes are refused too (the RFC allows it), by [`RegularFields::check`].
fn check_value(value: &[u8]) -> Result<(), RequestError> {
    let is_ws = |b: &u8| *b == b' ' || *b == b'\t';
    if value.iter().any(|&b| b == 0 || b == b'\r' || b == b'\n')
        || value.first().is_some_and(is_ws)
        || value.last().is_some_and(is_ws)
    {
        Err(RequestError::InvalidFieldValue)
    } else {
        Ok(())
    }
}

/// The method `:method` names (see [`method_name`]); an unknown one is answered 501 once
/// the block is whole.
fn parse_method(value: &[u8]) -> Result<SeenMethod, RequestError> {
    match method_name(value) {
        MethodName::Known(method) => Ok(SeenMethod::Known(method)),
        MethodName::Unknown => Ok(SeenMethod::Unknown),
        MethodName::Invalid => Err(RequestError::InvalidMethod),
    }
}

/// Digits only (no sign, no list, no whitespace), fitting in u64.
fn parse_content_length(value: &[u8]) -> Result<u64, RequestError> {
    if value.is_empty() {
        return Err(RequestError::InvalidContentLength);
    }
    value.iter().try_fold(0u64, |n, &b| {
        if !b.is_ascii_digit() {
            return Err(RequestError::InvalidContentLength);
        }
        n.checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(b - b'0')))
            .ok_or(RequestError::InvalidContentLength)
    })
}

/// `scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )` (RFC 3986 3.1).
fn is_scheme(value: &[u8]) -> bool {
    match value.split_first() {
        Some((first, rest)) => {
            first.is_ascii_alphabetic()
                && rest
                    .iter()
                    .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        }
        None => false,
    }
}

/// `host [ ":" port ]` as bytes: unreserved, sub-delims, '%' of pct-encoding, and ':' '['
/// ']' for ports and IP literals. No '@': RFC 9113 8.3.1 forbids userinfo, and it is the
/// classic way to make one authority look like another.
fn is_authority(value: &[u8]) -> bool {
    !value.is_empty()
        && value.iter().all(|&b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'-' | b'.'
                        | b'_'
                        | b'~'
                        | b'!'
                        | b'$'
                        | b'&'
                        | b'\''
                        | b'('
                        | b')'
                        | b'*'
                        | b'+'
                        | b','
                        | b';'
                        | b'='
                        | b'%'
                        | b':'
                        | b'['
                        | b']'
                )
        })
}

/// CONNECT's `:authority` names host and port (RFC 9113 8.5, RFC 9110 9.3.6).
fn is_host_port(authority: &str) -> bool {
    match authority.rsplit_once(':') {
        Some((host, port)) => {
            !host.is_empty()
                && !port.is_empty()
                && port.len() <= 5
                && port.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

/// A path and query that starts with '/', or "*". Visible ASCII only, and no '#': a
/// fragment never reaches the server (RFC 9113 8.3.1 takes path and query only).
fn is_path(value: &[u8]) -> bool {
    if value == b"*" {
        return true;
    }
    value.first() == Some(&b'/')
        && value
            .iter()
            .all(|&b| (0x21..=0x7e).contains(&b) && b != b'#')
}

/// An upgrade token, `protocol-name ["/" protocol-version]` (RFC 9110 7.8), e.g.
/// "websocket".
fn is_protocol(value: &[u8]) -> bool {
    !value.is_empty() && value.iter().all(|&b| is_tchar(b) || b == b'/')
}

/// The checks above admit only ASCII, so this never fails; the error keeps it panic-free.
fn ascii_string(value: &[u8], err: RequestError) -> Result<String, RequestError> {
    core::str::from_utf8(value)
        .map(str::to_owned)
        .map_err(|_| err)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: RequestLimits = RequestLimits {
        max_url_length: 64,
        max_headers: 8,
        allow_extended_connect: true,
    };

    fn build_with(
        limits: RequestLimits,
        fields: &[(&str, &str)],
        end_stream: bool,
    ) -> Result<RequestHead2, RequestError> {
        let mut b = RequestBuilder::new(limits);
        for (name, value) in fields {
            b.field(name.as_bytes(), value.as_bytes());
        }
        b.finish(end_stream)
    }

    fn build(fields: &[(&str, &str)]) -> Result<RequestHead2, RequestError> {
        build_with(LIMITS, fields, true)
    }

    /// A valid GET with `extra` fields after the pseudo-headers.
    fn get_with(extra: &[(&'static str, &'static str)]) -> Result<RequestHead2, RequestError> {
        let mut fields = vec![
            (":method", "GET"),
            (":scheme", "https"),
            (":authority", "example.com"),
            (":path", "/index.html?q=1"),
        ];
        fields.extend_from_slice(extra);
        build(&fields)
    }

    fn err(r: Result<RequestHead2, RequestError>) -> RequestError {
        match r {
            Ok(head) => panic!("accepted: {head:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn valid_get() {
        let head = get_with(&[("accept", "*/*"), ("x-a", "")]).unwrap();
        assert_eq!(head.method, Method::GET);
        assert_eq!(head.target, "/index.html?q=1");
        assert_eq!(&head.headers["host"], "example.com");
        assert_eq!(head.protocol, None);
        assert_eq!(head.content_length, None);
        assert_eq!(&head.headers["accept"], "*/*");
        assert_eq!(&head.headers["x-a"], "");
        // Synthesised from :authority.
        assert_eq!(&head.headers["host"], "example.com");
        assert_eq!(head.headers.len(), 3);
    }

    #[test]
    fn standard_methods_map_to_consts() {
        for m in [
            "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "TRACE", "PATCH",
        ] {
            let head = build(&[(":method", m), (":scheme", "http"), (":path", "/")]);
            // No authority: refused for http, so use host.
            assert_eq!(err(head), RequestError::MissingAuthority);
            let head = build(&[
                (":method", m),
                (":scheme", "http"),
                (":path", "/"),
                ("host", "h"),
            ])
            .unwrap();
            assert_eq!(head.method.as_str(), m);
            assert_eq!(&head.headers["host"], "h");
        }
    }

    #[test]
    fn unknown_method_is_501_after_other_checks() {
        let e = err(build(&[
            (":method", "BREW"),
            (":scheme", "https"),
            (":authority", "a"),
            (":path", "/"),
        ]));
        assert_eq!(e, RequestError::UnknownMethod);
        assert_eq!(e.status(), Some(StatusCode::NOT_IMPLEMENTED));
        // Lowercase "get" is a different, unknown method (methods are case-sensitive).
        let e = err(build(&[
            (":method", "get"),
            (":scheme", "https"),
            (":authority", "a"),
            (":path", "/"),
        ]));
        assert_eq!(e, RequestError::UnknownMethod);
        // A malformed request with an unknown method is reset, not answered.
        let e = err(build(&[(":method", "BREW"), (":scheme", "https")]));
        assert_eq!(e, RequestError::MissingPath);
        assert_eq!(e.status(), None);
    }

    #[test]
    fn invalid_method_is_malformed() {
        for m in ["", "G T", "GET\u{7f}", "(GET)"] {
            let e = err(build(&[(":method", m)]));
            assert_eq!(e, RequestError::InvalidMethod, "{m:?}");
            assert_eq!(e.status(), None);
        }
    }

    #[test]
    fn uppercase_names_are_malformed() {
        assert_eq!(
            err(get_with(&[("Accept", "*/*")])),
            RequestError::UppercaseFieldName
        );
        assert_eq!(
            err(build(&[(":Method", "GET")])),
            RequestError::UppercaseFieldName
        );
        assert_eq!(
            err(get_with(&[("x-FOO", "1")])),
            RequestError::UppercaseFieldName
        );
    }

    #[test]
    fn names_must_be_tokens() {
        for name in ["", "a b", "a:b", "é", "x(y)", "a\u{0}"] {
            assert_eq!(
                err(get_with(&[(name, "v")])),
                RequestError::InvalidFieldName,
                "{name:?}"
            );
        }
    }

    #[test]
    fn unknown_pseudo_headers_are_malformed() {
        assert_eq!(
            err(build(&[(":method", "GET"), (":foo", "x")])),
            RequestError::UnknownPseudoHeader
        );
        assert_eq!(err(build(&[(":", "x")])), RequestError::UnknownPseudoHeader);
    }

    #[test]
    fn status_in_request_is_malformed() {
        assert_eq!(
            err(build(&[(":status", "200"), (":method", "GET")])),
            RequestError::ResponsePseudoHeader
        );
    }

    #[test]
    fn repeated_pseudo_headers_are_malformed() {
        for (name, value) in [
            (":method", "GET"),
            (":scheme", "https"),
            (":authority", "example.com"),
            (":path", "/"),
        ] {
            let mut fields = vec![
                (":method", "GET"),
                (":scheme", "https"),
                (":authority", "example.com"),
                (":path", "/"),
            ];
            fields.push((name, value));
            assert_eq!(
                err(build(&fields)),
                RequestError::DuplicatePseudoHeader,
                "{name}"
            );
        }
        let e = err(build(&[
            (":method", "CONNECT"),
            (":protocol", "websocket"),
            (":protocol", "websocket"),
        ]));
        assert_eq!(e, RequestError::DuplicatePseudoHeader);
    }

    #[test]
    fn pseudo_after_regular_is_malformed() {
        let e = err(build(&[
            (":method", "GET"),
            (":scheme", "https"),
            ("accept", "*/*"),
            (":path", "/"),
            (":authority", "a"),
        ]));
        assert_eq!(e, RequestError::PseudoHeaderAfterRegular);
    }

    #[test]
    fn connection_specific_fields_are_malformed() {
        for name in [
            "connection",
            "proxy-connection",
            "keep-alive",
            "transfer-encoding",
            "upgrade",
        ] {
            assert_eq!(
                err(get_with(&[(name, "x")])),
                RequestError::ConnectionSpecificField,
                "{name}"
            );
        }
    }

    #[test]
    fn te_only_trailers() {
        let head = get_with(&[("te", "trailers")]).unwrap();
        assert_eq!(&head.headers["te"], "trailers");
        assert!(get_with(&[("te", "Trailers")]).is_ok());
        for v in ["gzip", "trailers, gzip", "trailers;q=1", ""] {
            assert_eq!(
                err(get_with(&[("te", v)])),
                RequestError::InvalidTe,
                "{v:?}"
            );
        }
    }

    #[test]
    fn values_with_nul_cr_lf_or_edge_whitespace_are_malformed() {
        for v in [
            "a\0b", "a\rb", "a\nb", " a", "a ", "\ta", "a\t", " ", "\u{1}",
        ] {
            assert_eq!(
                err(get_with(&[("x-v", v)])),
                RequestError::InvalidFieldValue,
                "{v:?}"
            );
        }
        // Inside whitespace and obs-text are fine.
        let head = get_with(&[("x-v", "a b\tc")]).unwrap();
        assert_eq!(&head.headers["x-v"], "a b\tc");
        let mut b = RequestBuilder::new(LIMITS);
        for (n, v) in [
            (&b":method"[..], &b"GET"[..]),
            (b":scheme", b"https"),
            (b":authority", b"a"),
            (b":path", b"/"),
            (b"x-v", b"caf\xe9"),
        ] {
            b.field(n, v);
        }
        let head = b.finish(true).unwrap();
        assert_eq!(
            head.headers.get_all(b"x-v").collect::<Vec<_>>(),
            [b"caf\xe9"]
        );
        // Pseudo-header values obey the same rule.
        assert_eq!(
            err(build(&[(":method", "GET"), (":path", "/ ")])),
            RequestError::InvalidFieldValue
        );
    }

    #[test]
    fn required_pseudo_headers() {
        assert_eq!(
            err(build(&[
                (":scheme", "https"),
                (":path", "/"),
                (":authority", "a")
            ])),
            RequestError::MissingMethod
        );
        assert_eq!(
            err(build(&[
                (":method", "GET"),
                (":path", "/"),
                (":authority", "a")
            ])),
            RequestError::MissingScheme
        );
        assert_eq!(
            err(build(&[
                (":method", "GET"),
                (":scheme", "https"),
                (":authority", "a")
            ])),
            RequestError::MissingPath
        );
        assert_eq!(err(build(&[])), RequestError::MissingMethod);
    }

    #[test]
    fn path_rules() {
        for p in ["", "index.html", "http://a/b", "/a#frag", "/\u{80}"] {
            let e = err(build(&[(":method", "GET"), (":path", p)]));
            assert_eq!(e, RequestError::InvalidPath, "{p:?}");
        }
        let head = build(&[
            (":method", "OPTIONS"),
            (":scheme", "https"),
            (":authority", "a"),
            (":path", "*"),
        ])
        .unwrap();
        assert_eq!(head.target, "*");
        assert_eq!(
            err(build(&[
                (":method", "GET"),
                (":scheme", "https"),
                (":authority", "a"),
                (":path", "*"),
            ])),
            RequestError::AsteriskWithoutOptions
        );
    }

    #[test]
    fn long_path_is_414() {
        let ok = format!("/{}", "a".repeat(63));
        let long = format!("/{}", "a".repeat(64));
        let fields = |p: &str| {
            let mut b = RequestBuilder::new(LIMITS);
            for (n, v) in [
                (":method", "GET"),
                (":scheme", "https"),
                (":authority", "a"),
                (":path", p),
            ] {
                b.field(n.as_bytes(), v.as_bytes());
            }
            b.finish(true)
        };
        assert!(fields(&ok).is_ok());
        let e = fields(&long).unwrap_err();
        assert_eq!(e, RequestError::UriTooLong);
        assert_eq!(e.status(), Some(StatusCode::URI_TOO_LONG));
    }

    #[test]
    fn too_many_headers_is_431() {
        let eight = [("x-a", "1"); 8];
        assert!(get_with(&eight).is_ok());
        let nine = [("x-a", "1"); 9];
        let e = err(get_with(&nine));
        assert_eq!(e, RequestError::TooManyHeaders);
        assert_eq!(
            e.status(),
            Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE)
        );
        // Cookie crumbs count one each.
        let e = err(get_with(&[("cookie", "a=1"); 9]));
        assert_eq!(e, RequestError::TooManyHeaders);
    }

    #[test]
    fn first_error_wins_and_later_fields_are_ignored() {
        let e = err(get_with(&[("Bad", "x"), ("connection", "close")]));
        assert_eq!(e, RequestError::UppercaseFieldName);
    }

    #[test]
    fn plain_connect() {
        let head = build_with(
            LIMITS,
            &[(":method", "CONNECT"), (":authority", "example.com:443")],
            false,
        )
        .unwrap();
        assert_eq!(head.method, Method::CONNECT);
        assert_eq!(head.target, "example.com:443");
        assert_eq!(&head.headers["host"], "example.com:443");

        assert_eq!(
            err(build(&[(":method", "CONNECT")])),
            RequestError::ConnectWithoutAuthority
        );
        for extra in [(":scheme", "https"), (":path", "/")] {
            assert_eq!(
                err(build(&[
                    (":method", "CONNECT"),
                    (":authority", "example.com:443"),
                    extra
                ])),
                RequestError::ConnectWithSchemeOrPath
            );
        }
        for a in ["example.com", "example.com:", ":443", "example.com:44x"] {
            assert_eq!(
                err(build(&[(":method", "CONNECT"), (":authority", a)])),
                RequestError::InvalidAuthority,
                "{a:?}"
            );
        }
    }

    #[test]
    fn extended_connect() {
        let fields = [
            (":method", "CONNECT"),
            (":protocol", "websocket"),
            (":scheme", "https"),
            (":path", "/chat"),
            (":authority", "example.com"),
            ("sec-websocket-version", "13"),
        ];
        let head = build_with(LIMITS, &fields, false).unwrap();
        assert_eq!(head.method, Method::CONNECT);
        assert_eq!(head.protocol.as_deref(), Some("websocket"));
        assert_eq!(head.target, "/chat");
        assert_eq!(&head.headers["host"], "example.com");

        // Each of :scheme, :path, :authority is required.
        for (missing, want) in [
            (":scheme", RequestError::MissingScheme),
            (":path", RequestError::MissingPath),
            (":authority", RequestError::MissingAuthority),
        ] {
            let partial: Vec<_> = fields
                .iter()
                .copied()
                .filter(|(n, _)| *n != missing)
                .collect();
            assert_eq!(err(build(&partial)), want, "without {missing}");
        }
        // Not enabled by our SETTINGS: :protocol is undefined.
        let off = RequestLimits {
            allow_extended_connect: false,
            ..LIMITS
        };
        assert_eq!(
            err(build_with(off, &fields, false)),
            RequestError::ExtendedConnectDisabled
        );
        assert_eq!(
            err(build(&[
                (":method", "CONNECT"),
                (":protocol", "web socket"),
            ])),
            RequestError::InvalidProtocol
        );
    }

    #[test]
    fn protocol_without_connect_is_malformed() {
        let e = err(build(&[
            (":method", "GET"),
            (":protocol", "websocket"),
            (":scheme", "https"),
            (":path", "/chat"),
            (":authority", "example.com"),
        ]));
        assert_eq!(e, RequestError::ProtocolWithoutConnect);
        assert_eq!(e.status(), None);
    }

    #[test]
    fn content_length() {
        let head = build_with(
            LIMITS,
            &[
                (":method", "POST"),
                (":scheme", "https"),
                (":authority", "a"),
                (":path", "/"),
                ("content-length", "42"),
                ("content-length", "42"),
            ],
            false,
        )
        .unwrap();
        assert_eq!(head.content_length, Some(42));
        assert_eq!(head.headers.values_of("content-length").len(), 1);
        assert_eq!(
            get_with(&[("content-length", "0")]).unwrap().content_length,
            Some(0)
        );
        for v in [
            "",
            "+1",
            "-1",
            "1,1",
            "0x10",
            "1.0",
            "18446744073709551616",
            "1 2",
        ] {
            assert_eq!(
                err(get_with(&[("content-length", v)])),
                RequestError::InvalidContentLength,
                "{v:?}"
            );
        }
        assert_eq!(
            err(get_with(&[
                ("content-length", "1"),
                ("content-length", "2")
            ])),
            RequestError::ConflictingContentLength
        );
        // END_STREAM on HEADERS: no DATA can follow to make up 42 bytes.
        assert_eq!(
            err(get_with(&[("content-length", "42")])),
            RequestError::ContentLengthWithEndStream
        );
    }

    #[test]
    fn host_and_authority() {
        let head = get_with(&[("host", "EXAMPLE.com")]).unwrap();
        assert_eq!(head.headers.values_of("host").len(), 1);
        assert_eq!(&head.headers["host"], "EXAMPLE.com");
        assert_eq!(
            err(get_with(&[("host", "evil.example")])),
            RequestError::HostAuthorityMismatch
        );
        assert_eq!(
            err(build(&[
                (":method", "GET"),
                (":scheme", "https"),
                (":path", "/"),
                ("host", "a"),
                ("host", "a"),
            ])),
            RequestError::DuplicateHost
        );
        assert_eq!(
            err(build(&[
                (":method", "GET"),
                (":scheme", "https"),
                (":path", "/"),
                ("host", ""),
            ])),
            RequestError::InvalidHost
        );
        for a in ["", "user@example.com", "exa mple.com", "a/b"] {
            assert_eq!(
                err(build(&[(":method", "GET"), (":authority", a)])),
                RequestError::InvalidAuthority,
                "{a:?}"
            );
        }
        // Non-http schemes may go without an authority.
        assert!(build(&[(":method", "GET"), (":scheme", "foo"), (":path", "/")]).is_ok());
        assert_eq!(
            err(build(&[(":method", "GET"), (":scheme", "1http")])),
            RequestError::InvalidScheme
        );
    }

    #[test]
    fn cookies_are_joined() {
        let head = get_with(&[("cookie", "a=1"), ("accept", "*/*"), ("cookie", "b=2")]).unwrap();
        let all: Vec<_> = head.headers.values_of("cookie");
        assert_eq!(all, ["a=1; b=2"]);
        let head = get_with(&[("cookie", "a=1")]).unwrap();
        assert_eq!(&head.headers["cookie"], "a=1");
        assert_eq!(
            err(get_with(&[("cookie", "a=\u{1}")])),
            RequestError::InvalidFieldValue
        );
        let three = [("cookie", "a=1"), ("cookie", "b=2"), ("cookie", "c=3")];
        assert_eq!(
            &get_with(&three).unwrap().headers["cookie"],
            "a=1; b=2; c=3"
        );
        // A bad crumb after a good one, and DEL (which HeaderValue refuses too).
        for bad in ["a=\u{1}", "a=\u{7f}"] {
            assert_eq!(
                err(get_with(&[("cookie", "ok=1"), ("cookie", bad)])),
                RequestError::InvalidFieldValue,
                "{bad:?}"
            );
        }
    }

    #[test]
    fn repeated_regular_fields_are_kept() {
        let head = get_with(&[("accept", "a"), ("accept", "b")]).unwrap();
        let all: Vec<_> = head.headers.values_of("accept");
        assert_eq!(all, ["a", "b"]);
    }

    #[test]
    fn trailers() {
        let mut t = TrailersBuilder::new(LIMITS);
        t.field(b"grpc-status", b"0");
        t.field(b"x-checksum", b"abc");
        let map = t.finish().unwrap();
        assert_eq!(map["grpc-status"], "0");
        assert_eq!(map["x-checksum"], "abc");

        for (name, value, want) in [
            (
                &b":path"[..],
                &b"/"[..],
                RequestError::PseudoHeaderInTrailers,
            ),
            (b":status", b"200", RequestError::PseudoHeaderInTrailers),
            (b"X-A", b"1", RequestError::UppercaseFieldName),
            (
                b"connection",
                b"close",
                RequestError::ConnectionSpecificField,
            ),
            (b"te", b"gzip", RequestError::InvalidTe),
            (b"x-a", b"a\r\nb", RequestError::InvalidFieldValue),
            (b"x a", b"1", RequestError::InvalidFieldName),
        ] {
            let mut t = TrailersBuilder::new(LIMITS);
            t.field(b"x-ok", b"1");
            t.field(name, value);
            t.field(b"x-later", b"1");
            assert_eq!(t.finish().unwrap_err(), want, "{name:?}");
        }

        let mut t = TrailersBuilder::new(LIMITS);
        for _ in 0..9 {
            t.field(b"x-a", b"1");
        }
        assert_eq!(t.finish().unwrap_err(), RequestError::TooManyHeaders);
    }

    #[test]
    fn errors_have_reasons_and_display() {
        let e = RequestError::InvalidTe;
        assert_eq!(
            e.to_string(),
            "malformed request: te with a value other than trailers"
        );
        assert_eq!(
            RequestError::UriTooLong.to_string(),
            "request target too long (414)"
        );
    }
}
