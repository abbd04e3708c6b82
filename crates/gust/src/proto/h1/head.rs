//! The request head: request line and header fields (RFC 9112 sections 2 to 6).
//!
//! httparse does the tokenising; this module adds what httparse leaves to its caller and
//! what a server must refuse: bare CR or LF, obs-fold, whitespace before a colon, unknown
//! methods and versions, malformed targets, missing or repeated Host, and every ambiguity
//! in the body framing that a proxy in front of us might resolve differently (RFC 9112
//! 6.1 and 6.3). Each error maps to one status code, and every one of them ends the
//! connection, because after a malformed head we cannot know where the next request starts.

use core::fmt;
use core::mem::MaybeUninit;
use std::cell::RefCell;

use bytes::{Buf, BytesMut};
use http::{Method, StatusCode, Version};

use super::is_tchar;
use crate::proto::field_list::{is_field_value_byte, visible_ascii, FieldList};
use crate::proto::target_strings;
use crate::proto::trim_ows;
use crate::proto::{method_name, offset_in, MethodName};

/// Bounds on one request head. They are the security boundary of the parser: no input
/// makes it look at more than `max_head_bytes` bytes or keep more than `max_headers` fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HeadLimits {
    /// Bytes of the head, request line to the empty line included. Past it: 431.
    pub(crate) max_head_bytes: usize,
    /// Bytes of the request target. Past it: 414, sent as soon as the target is seen.
    pub(crate) max_url_length: usize,
    /// Header fields in the head. Past it: 431.
    pub(crate) max_headers: usize,
}

/// The request target in the forms RFC 9112 3.2 allows a server to receive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RequestTarget {
    /// "/path?query" (origin-form); also what absolute-form "http://host/p?q" becomes
    /// (authority kept separately).
    Origin {
        /// The path and query, always starting with '/'.
        path_and_query: String,
        /// The authority of an absolute-form target; RFC 9112 3.2.2 makes it override Host.
        absolute_authority: Option<String>,
    },
    /// "*" (only valid with OPTIONS).
    Asterisk,
    /// "host:port" (only valid with CONNECT).
    Authority(String),
}

/// How the request body is delimited (RFC 9112 6.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body: neither Content-Length nor Transfer-Encoding.
    None,
    /// Exactly this many bytes follow the head.
    Length(u64),
    /// Chunked transfer coding; the body ends with the last chunk and trailer section.
    Chunked,
}

/// A parsed and checked request head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RequestHead {
    /// One of the standard methods; others were refused with 501.
    pub(crate) method: Method,
    /// The target, its form checked against the method.
    pub(crate) target: RequestTarget,
    /// `HTTP_10` or `HTTP_11`.
    pub(crate) version: Version,
    /// All header fields, in order, names lower-cased.
    pub(crate) headers: FieldList,
    /// Where the body ends.
    pub(crate) framing: Framing,
    /// 1.1: unless "Connection: close"; 1.0: only with "Connection: keep-alive".
    pub(crate) keep_alive: bool,
    /// "Expect: 100-continue" on a 1.1 request (RFC 9110 10.1.1 says to ignore it on 1.0).
    pub(crate) expect_continue: bool,
    /// The Upgrade field value if Connection lists "upgrade" on a 1.1 request (RFC 9110 7.8
    /// says to ignore Upgrade on 1.0).
    pub(crate) wants_upgrade: Option<String>,
}

/// Why a request head was refused. Each answer is [`HeadError::status`] and a closed
/// connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HeadError {
    /// The head did not end within `max_head_bytes` (431).
    HeadTooLarge,
    /// More than `max_headers` header fields (431).
    TooManyHeaders,
    /// The target is longer than `max_url_length` (414).
    UriTooLong,
    /// More empty lines before the request line than the few RFC 9112 2.2 asks us to skip.
    TooManyEmptyLines,
    /// A CR not followed by LF.
    BareCr,
    /// An LF not preceded by CR.
    BareLf,
    /// A header line starting with whitespace (obs-fold, RFC 9112 5.2).
    ObsFold,
    /// Whitespace between a field name and its colon (RFC 9112 5.1).
    WhitespaceBeforeColon,
    /// The request line is not `method SP target SP version`.
    InvalidRequestLine,
    /// The method is not a token.
    InvalidMethod,
    /// A well-formed method that is not one of the standard ones (501).
    MethodNotImplemented,
    /// The version is not `HTTP/x.y`.
    InvalidVersion,
    /// A well-formed version other than 1.0 and 1.1 (505).
    VersionNotSupported,
    /// The target is in no form a server accepts.
    InvalidTarget,
    /// The target carries a fragment, which clients must strip.
    FragmentInTarget,
    /// "*" with a method other than OPTIONS.
    AsteriskWithoutOptions,
    /// authority-form with a method other than CONNECT.
    AuthorityWithoutConnect,
    /// CONNECT with a target that is not "host:port".
    ConnectWithoutAuthority,
    /// A field name httparse or `http` refused.
    InvalidHeaderName,
    /// A field value with a forbidden byte.
    InvalidHeaderValue,
    /// HTTP/1.1 without Host (RFC 9112 3.2).
    MissingHost,
    /// More than one Host field.
    DuplicateHost,
    /// A Host value outside the authority grammar.
    InvalidHost,
    /// Both Content-Length and Transfer-Encoding.
    ContentLengthWithTransferEncoding,
    /// More than one Content-Length field, even with equal values.
    DuplicateContentLength,
    /// Content-Length that is not one decimal number fitting in u64.
    InvalidContentLength,
    /// Transfer-Encoding on an HTTP/1.0 request.
    TransferEncodingInHttp10,
    /// Transfer-Encoding with an element that is not a token.
    InvalidTransferEncoding,
    /// Transfer-Encoding whose last coding is not chunked: the length is unknowable.
    ChunkedNotLast,
    /// chunked applied more than once.
    ChunkedTwice,
    /// A transfer coding other than chunked, which we do not decode (501).
    UnsupportedTransferCoding,
}

impl HeadError {
    /// The status to answer with before closing the connection.
    pub(crate) fn status(&self) -> StatusCode {
        match self {
            Self::HeadTooLarge | Self::TooManyHeaders => {
                StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
            }
            Self::UriTooLong => StatusCode::URI_TOO_LONG,
            Self::MethodNotImplemented | Self::UnsupportedTransferCoding => {
                StatusCode::NOT_IMPLEMENTED
            }
            Self::VersionNotSupported => StatusCode::HTTP_VERSION_NOT_SUPPORTED,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// One line for the error body and the log.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            Self::HeadTooLarge => "request head too large",
            Self::TooManyHeaders => "too many header fields",
            Self::UriTooLong => "request target too long",
            Self::TooManyEmptyLines => "too many empty lines before the request line",
            Self::BareCr => "bare CR in request head",
            Self::BareLf => "bare LF in request head",
            Self::ObsFold => "obsolete line folding in header field",
            Self::WhitespaceBeforeColon => "whitespace between header field name and colon",
            Self::InvalidRequestLine => "malformed request line",
            Self::InvalidMethod => "invalid method",
            Self::MethodNotImplemented => "method not implemented",
            Self::InvalidVersion => "malformed HTTP version",
            Self::VersionNotSupported => "HTTP version not supported",
            Self::InvalidTarget => "invalid request target",
            Self::FragmentInTarget => "fragment in request target",
            Self::AsteriskWithoutOptions => "asterisk target is only valid with OPTIONS",
            Self::AuthorityWithoutConnect => "authority target is only valid with CONNECT",
            Self::ConnectWithoutAuthority => "CONNECT needs a host:port target",
            Self::InvalidHeaderName => "invalid header field name",
            Self::InvalidHeaderValue => "invalid header field value",
            Self::MissingHost => "missing Host header",
            Self::DuplicateHost => "more than one Host header",
            Self::InvalidHost => "invalid Host header",
            Self::ContentLengthWithTransferEncoding => "both Content-Length and Transfer-Encoding",
            Self::DuplicateContentLength => "more than one Content-Length",
            Self::InvalidContentLength => "invalid Content-Length",
            Self::TransferEncodingInHttp10 => "Transfer-Encoding in an HTTP/1.0 request",
            Self::InvalidTransferEncoding => "invalid Transfer-Encoding",
            Self::ChunkedNotLast => "Transfer-Encoding does not end with chunked",
            Self::ChunkedTwice => "chunked applied more than once",
            Self::UnsupportedTransferCoding => "transfer coding not implemented",
        }
    }
}

impl fmt::Display for HeadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.reason(), self.status().as_u16())
    }
}

impl core::error::Error for HeadError {}

/// RFC 9112 2.2 asks to skip "at least one" empty line (left over from a previous body
/// with a stray CRLF); a few cover every real client, more is a flood.
const MAX_LEADING_EMPTY_LINES: usize = 4;

/// Header slots kept on the stack; covers the default `max_headers` without allocating.
const STACK_HEADERS: usize = 100;

/// Parses a request head from the front of `buf`.
///
/// Ok(None): incomplete, read more. Ok(Some((head, consumed))): head ends at `consumed`
/// (body starts there). Leading empty lines are skipped and count in `consumed` and in
/// `max_head_bytes`. Errors are reported as soon as the bytes seen prove them, so a client
/// cannot hold a connection by sending an endless bad head.
#[cfg(any(test, feature = "fuzzing", feature = "bench-internals"))]
pub(crate) fn parse_head(
    buf: &[u8],
    limits: &HeadLimits,
) -> Result<Option<(RequestHead, usize)>, HeadError> {
    let mut bytes = BytesMut::from(buf);
    let head = parse_head_into(&mut bytes, limits, &mut FieldList::default())?;
    Ok(head.map(|head| (head, buf.len() - bytes.len())))
}

thread_local! {
    /// Where the fields of the head being parsed are (see [`Layout`]): one list per thread
    /// rather than per connection (a parse never waits), so a connection holds no more
    /// between requests for it.
    static FIELD_PLACES: RefCell<Vec<FieldAt>> = const { RefCell::new(Vec::new()) };
}

/// [`parse_head`] for a connection: a complete head leaves the front of `buf`, its fields
/// copied into `spare` (taken, emptied first: a list kept from an earlier request keeps its
/// room, so a head costs no allocation). An incomplete head is left in `buf`, and so is one
/// refused before it was found whole and well-formed; one refused after (an unknown
/// method, two Host fields...) has left it: the connection ends after a refusal either way.
pub(crate) fn parse_head_into(
    buf: &mut BytesMut,
    limits: &HeadLimits,
    spare: &mut FieldList,
) -> Result<Option<RequestHead>, HeadError> {
    parse_head_with(buf, limits, spare, true)
}

/// [`parse_head_into`]; `quick`: try httparse alone first (always, but in the tests and
/// the fuzz target that compare it with the rules applied one by one).
pub(crate) fn parse_head_with(
    buf: &mut BytesMut,
    limits: &HeadLimits,
    spare: &mut FieldList,
    quick: bool,
) -> Result<Option<RequestHead>, HeadError> {
    FIELD_PLACES.with_borrow_mut(|fields| parse_head_at(buf, limits, spare, quick, fields))
}

/// [`parse_head_with`], the fields' places kept in `fields`.
fn parse_head_at(
    buf: &mut BytesMut,
    limits: &HeadLimits,
    spare: &mut FieldList,
    quick: bool,
    fields: &mut Vec<FieldAt>,
) -> Result<Option<RequestHead>, HeadError> {
    let Some(start) = skip_empty_lines(buf)? else {
        return incomplete(buf, limits);
    };
    // The head cannot be longer than the limit, so nothing past it needs a look.
    let window = buf.get(..limits.max_head_bytes).unwrap_or(buf);
    let area = window.get(start..).unwrap_or(&[]);

    check_target_length(area, limits.max_url_length)?;
    // Most heads arrive whole and well-formed, and then httparse alone finds where they
    // end and where their parts are. Of find_head_end's rules it enforces all but one:
    // a line that starts with whitespace, whitespace before a colon and a CR not followed
    // by LF are its errors too, but it takes a bare LF for a line's end, which
    // Layout::crlf_only looks for.
    let quick = if quick {
        with_httparse(area, limits.max_headers, |req, res| match res {
            Ok(httparse::Status::Complete(n)) => {
                let layout = Layout::of(req, area, n, fields);
                if layout.crlf_only(area, fields) {
                    Quick::Head(layout)
                } else {
                    Quick::Undecided
                }
            }
            Ok(httparse::Status::Partial) => Quick::Partial,
            Err(_) => Quick::Undecided,
        })
    } else {
        Quick::Undecided
    };
    let layout = match quick {
        Quick::Head(layout) => layout,
        // Incomplete, or some rule broken: the rules one by one, so that the error is the
        // first one the bytes break.
        Quick::Partial | Quick::Undecided => {
            let Some(head_len) = find_head_end(area)? else {
                // Let httparse reject bad syntax now rather than when the head is complete
                // (unless it has just read these bytes and found nothing wrong).
                if !matches!(quick, Quick::Partial) {
                    with_httparse(area, limits.max_headers, |_, res| match res {
                        Ok(_) => Ok(()),
                        Err(e) => Err(map_httparse_error(e, area)),
                    })?;
                }
                return incomplete(buf, limits);
            };
            let head = area.get(..head_len).unwrap_or(area);
            with_httparse(head, limits.max_headers, |req, res| match res {
                Ok(httparse::Status::Complete(n)) if n == head.len() => {
                    Ok(Layout::of(req, head, n, fields))
                }
                // find_head_end and httparse disagree on where the head ends: refuse rather
                // than guess.
                Ok(_) => Err(HeadError::InvalidRequestLine),
                Err(e) => Err(map_httparse_error(e, head)),
            })?
        }
    };
    // The head is whole: its fields are copied into the list, and its bytes then leave the
    // buffer whether it is accepted or refused (a refused head ends the connection).
    let head = buf.get(start..start + layout.len).unwrap_or_default();
    let spare = std::mem::take(spare);
    let built = build_head(&layout, fields, head, limits, spare);
    buf.advance(start + layout.len);
    built.map(Some)
}

/// What httparse alone made of the buffered bytes (see [`parse_head_at`]).
enum Quick {
    /// A whole head, every line ended with CRLF: this is the head.
    Head(Layout),
    /// It wants more bytes and found nothing wrong in these.
    Partial,
    /// An error, a bare LF, or not tried: the rules one by one decide.
    Undecided,
}

/// A part of a head: where it starts, from the head's first byte, and its length.
#[derive(Debug, Clone, Copy, Default)]
struct Span {
    at: usize,
    len: usize,
}

impl Span {
    /// Where `part`, a slice of `head` as httparse gives them, is in it.
    fn of(part: &[u8], head: &[u8]) -> Span {
        Span {
            at: offset_in(part, head),
            len: part.len(),
        }
    }

    fn range(self) -> Option<core::ops::Range<usize>> {
        Some(self.at..self.at.checked_add(self.len)?)
    }

    fn bytes(self, head: &[u8]) -> &[u8] {
        self.range()
            .and_then(|range| head.get(range))
            .unwrap_or_default()
    }
}

/// Where a field's name and value are.
#[derive(Debug, Clone, Copy, Default)]
struct FieldAt {
    name: Span,
    value: Span,
}

/// What httparse found in a head, as places in it: the head is parsed where it lies in the
/// read buffer, then split off (the same bytes at the same places), and its parts taken
/// from there without parsing it again.
#[derive(Debug)]
struct Layout {
    /// The head's length, its empty line included.
    len: usize,
    method: Option<Span>,
    target: Option<Span>,
    version: Option<u8>,
}

impl Layout {
    /// `req`, parsed from `head` (whose first `len` bytes it took); its fields' places go
    /// into `fields`.
    fn of(
        req: &httparse::Request<'_, '_>,
        head: &[u8],
        len: usize,
        fields: &mut Vec<FieldAt>,
    ) -> Layout {
        fields.clear();
        fields.extend(req.headers.iter().map(|h| FieldAt {
            name: Span::of(h.name.as_bytes(), head),
            value: Span::of(h.value, head),
        }));
        Layout {
            len,
            method: req.method.map(|m| Span::of(m.as_bytes(), head)),
            target: req.path.map(|p| Span::of(p.as_bytes(), head)),
            version: req.version,
        }
    }

    /// Whether every line of the head httparse accepted (`head` its bytes) ends with CRLF.
    /// httparse allows an LF only at a line's end, and a CR only just before one; so the
    /// first CR or LF after the request line's target, after each field's value (only
    /// whitespace can come between) and before the empty line's LF is each line's end,
    /// and a CR there is a CRLF.
    fn crlf_only(&self, head: &[u8], fields: &[FieldAt]) -> bool {
        let ends_with_cr = |from: usize| {
            head.get(from..)
                .and_then(|rest| rest.iter().find(|&&b| b == b'\r' || b == b'\n'))
                == Some(&b'\r')
        };
        let Some(target) = self.target else {
            return false;
        };
        // Offsets come from httparse's slices of `head`; were one not, the sum could pass
        // the head and the look finds nothing there: the slow way then decides.
        ends_with_cr(target.at.saturating_add(target.len))
            && fields
                .iter()
                .all(|field| ends_with_cr(field.value.at.saturating_add(field.value.len)))
            && self.len >= 2
            && head.get(self.len - 2..self.len) == Some(b"\r\n")
    }
}

fn incomplete(buf: &[u8], limits: &HeadLimits) -> Result<Option<RequestHead>, HeadError> {
    if buf.len() >= limits.max_head_bytes {
        Err(HeadError::HeadTooLarge)
    } else {
        Ok(None)
    }
}

/// Returns where the request line starts, or None if `buf` holds only empty lines so far.
fn skip_empty_lines(buf: &[u8]) -> Result<Option<usize>, HeadError> {
    let mut at = 0;
    for _ in 0..=MAX_LEADING_EMPTY_LINES {
        match (buf.get(at), buf.get(at + 1)) {
            (Some(b'\r'), Some(b'\n')) => at += 2,
            (Some(b'\r'), Some(_)) => return Err(HeadError::BareCr),
            (Some(b'\n'), _) => return Err(HeadError::BareLf),
            (Some(b'\r'), None) | (None, _) => return Ok(None),
            (Some(_), _) => return Ok(Some(at)),
        }
    }
    Err(HeadError::TooManyEmptyLines)
}

/// Refuses an overlong target as soon as it is seen, before the rest of the head arrives:
/// a client cannot make us buffer a whole head behind a URL we will refuse anyway.
fn check_target_length(area: &[u8], max_url_length: usize) -> Result<(), HeadError> {
    let line_end = memchr::memchr2(b'\r', b'\n', area).unwrap_or(area.len());
    let line = area.get(..line_end).unwrap_or(area);
    let Some(sp) = memchr::memchr(b' ', line) else {
        return Ok(());
    };
    let rest = line.get(sp + 1..).unwrap_or(&[]);
    let target_len = memchr::memchr(b' ', rest).unwrap_or(rest.len());
    if target_len > max_url_length {
        Err(HeadError::UriTooLong)
    } else {
        Ok(())
    }
}

/// Finds the end of the head (just past the empty line) while enforcing the line rules
/// httparse is lenient about: CRLF only, no obs-fold, no whitespace before a colon.
///
/// The request line and field values are searched for CR or LF with `memchr2` (several
/// bytes per step; a browser's head is mostly values); only a field name, up to its colon,
/// is looked at byte by byte. The first rule broken, in byte order, is the one reported.
fn find_head_end(area: &[u8]) -> Result<Option<usize>, HeadError> {
    let mut line_start = 0;
    let mut request_line = true;
    loop {
        // Where this line's CR or LF search starts: the request line and a value may hold
        // any other byte.
        let mut from = line_start;
        if !request_line {
            match area.get(line_start) {
                None => return Ok(None),
                Some(b'\r') => match area.get(line_start + 1) {
                    Some(b'\n') => return Ok(Some(line_start + 2)),
                    Some(_) => return Err(HeadError::BareCr),
                    None => return Ok(None),
                },
                Some(b' ' | b'\t') => return Err(HeadError::ObsFold),
                Some(_) => {}
            }
            from = scan_field_name(area, line_start)?;
        }
        let rest = area.get(from..).unwrap_or(&[]);
        let Some(at) = memchr::memchr2(b'\r', b'\n', rest) else {
            return Ok(None);
        };
        let end = from + at;
        if area.get(end) == Some(&b'\n') {
            return Err(HeadError::BareLf);
        }
        match area.get(end + 1) {
            Some(b'\n') => {}
            Some(_) => return Err(HeadError::BareCr),
            None => return Ok(None),
        }
        request_line = false;
        line_start = end + 2;
    }
}

/// Walks a field line's name from `start` (not whitespace): returns where the value
/// starts (just past the colon), or where a CR or LF ends the line before any colon.
/// Whitespace before the colon is refused.
fn scan_field_name(area: &[u8], start: usize) -> Result<usize, HeadError> {
    let mut i = start;
    while let Some(&b) = area.get(i) {
        match b {
            b':' => return Ok(i + 1),
            b'\r' | b'\n' => return Ok(i),
            b' ' | b'\t' => return Err(HeadError::WhitespaceBeforeColon),
            _ => i += 1,
        }
    }
    Ok(i)
}

/// Runs httparse over `bytes` with `max_headers` slots, on the stack when they fit.
fn with_httparse<'b, R>(
    bytes: &'b [u8],
    max_headers: usize,
    then: impl FnOnce(&httparse::Request<'_, 'b>, httparse::Result<usize>) -> R,
) -> R {
    let mut stack = [MaybeUninit::<httparse::Header<'b>>::uninit(); STACK_HEADERS];
    let mut heap;
    let slots = if max_headers <= STACK_HEADERS {
        stack.get_mut(..max_headers).unwrap_or(&mut [])
    } else {
        heap = vec![MaybeUninit::<httparse::Header<'b>>::uninit(); max_headers];
        heap.as_mut_slice()
    };
    let mut req = httparse::Request::new(&mut []);
    let res = req.parse_with_uninit_headers(bytes, slots);
    then(&req, res)
}

fn map_httparse_error(e: httparse::Error, area: &[u8]) -> HeadError {
    let line_end = area
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(area.len());
    let line = area.get(..line_end).unwrap_or(area);
    let mut parts = line.splitn(3, |&b| b == b' ');
    let method = parts.next().unwrap_or(&[]);
    let _target = parts.next();
    let version = parts.next().unwrap_or(&[]);
    match e {
        httparse::Error::TooManyHeaders => HeadError::TooManyHeaders,
        httparse::Error::HeaderName => HeadError::InvalidHeaderName,
        httparse::Error::HeaderValue => HeadError::InvalidHeaderValue,
        // httparse says "version" for anything that is not exactly HTTP/1.0 or HTTP/1.1;
        // only a well-formed other version earns 505.
        httparse::Error::Version if version.starts_with(b"HTTP/") => HeadError::VersionNotSupported,
        httparse::Error::Version => HeadError::InvalidVersion,
        httparse::Error::Token if method.is_empty() || !method.iter().all(|&b| is_tchar(b)) => {
            HeadError::InvalidMethod
        }
        httparse::Error::Token | httparse::Error::NewLine | httparse::Error::Status => {
            HeadError::InvalidRequestLine
        }
    }
}

/// The head `layout` and `fields` describe, `head` being its bytes; its fields go into
/// `headers`.
fn build_head(
    layout: &Layout,
    fields: &[FieldAt],
    head: &[u8],
    limits: &HeadLimits,
    mut headers: FieldList,
) -> Result<RequestHead, HeadError> {
    let method = match layout.method {
        Some(m) => standard_method(m.bytes(head))?,
        None => return Err(HeadError::InvalidRequestLine),
    };
    let version = match layout.version {
        Some(0) => Version::HTTP_10,
        Some(1) => Version::HTTP_11,
        Some(_) => return Err(HeadError::VersionNotSupported),
        None => return Err(HeadError::InvalidRequestLine),
    };
    let raw_target = layout.target.ok_or(HeadError::InvalidRequestLine)?;
    let target = parse_target(&method, raw_target.bytes(head), limits.max_url_length)?;

    headers.clear();
    // The fields' bytes are fewer than the head's.
    headers.reserve(fields.len(), head.len());
    // Which of the fields this function looks at are there at all, noted on the way in: a
    // look-up in the list for an absent field costs a pass over it (standard names
    // compare by tag).
    let mut seen = Seen::default();
    // The Host fields, counted and the last one kept as sent: checked without a look-up.
    let mut hosts = (0usize, &[][..]);
    for field in fields {
        let (name, value) = (field.name.bytes(head), field.value.bytes(head));
        // httparse, which found every field, takes only tokens for names and bytes a
        // field value may hold for values (`httparse_takes_only_what_a_field_list_holds`):
        // what a field list asks of its fields, so not checked byte by byte again.
        debug_assert!(!name.is_empty() && name.iter().all(|&b| is_tchar(b)));
        debug_assert!(value.iter().all(|&b| is_field_value_byte(b)));
        let at = headers.push_lowercasing(name, value);
        let name = headers.name_at(at);
        seen.note(name);
        if name == b"host" {
            hosts = (hosts.0 + 1, value);
        }
    }

    check_host(hosts, version)?;
    let framing = if seen.framing {
        framing(&headers, version)?
    } else {
        Framing::None
    };

    let connection_has = |token: &[u8]| {
        seen.connection
            && headers
                .get_all(b"connection")
                .flat_map(list_elements)
                .any(|e| e.eq_ignore_ascii_case(token))
    };
    let close = connection_has(b"close");
    let keep_alive = if version == Version::HTTP_11 {
        !close
    } else {
        !close && connection_has(b"keep-alive")
    };
    let is_11 = version == Version::HTTP_11;
    let expect_continue = is_11
        && seen.expect
        && headers
            .get_all(b"expect")
            .any(|v| trim_ows(v).eq_ignore_ascii_case(b"100-continue"));
    let wants_upgrade = if is_11 && connection_has(b"upgrade") {
        upgrade_value(&headers)
    } else {
        None
    };

    Ok(RequestHead {
        method,
        target,
        version,
        headers,
        framing,
        keep_alive,
        expect_continue,
        wants_upgrade,
    })
}

/// Fields [`build_head`] acts on, by whether the head has them.
#[derive(Debug, Default, Clone, Copy)]
struct Seen {
    /// Content-Length or Transfer-Encoding: the body's framing needs a look.
    framing: bool,
    connection: bool,
    expect: bool,
}

impl Seen {
    /// `name`: lowercase.
    fn note(&mut self, name: &[u8]) {
        match name {
            b"content-length" | b"transfer-encoding" => self.framing = true,
            b"connection" => self.connection = true,
            b"expect" => self.expect = true,
            _ => {}
        }
    }
}

/// The method named `m`: 501 for one gust does not implement (see [`method_name`]).
fn standard_method(m: &[u8]) -> Result<Method, HeadError> {
    match method_name(m) {
        MethodName::Known(method) => Ok(method.clone()),
        MethodName::Unknown => Err(HeadError::MethodNotImplemented),
        MethodName::Invalid => Err(HeadError::InvalidMethod),
    }
}

fn parse_target(
    method: &Method,
    raw: &[u8],
    max_url_length: usize,
) -> Result<RequestTarget, HeadError> {
    if raw.len() > max_url_length {
        return Err(HeadError::UriTooLong);
    }
    if raw.contains(&b'#') {
        return Err(HeadError::FragmentInTarget);
    }
    // httparse lets obs-text through; a URI is ASCII (RFC 3986), so refuse it here
    // rather than hand handlers a path no URI parser will accept.
    if !raw.iter().all(|b| (0x21..=0x7e).contains(b)) {
        return Err(HeadError::InvalidTarget);
    }
    // ASCII, so UTF-8.
    let raw = core::str::from_utf8(raw).map_err(|_| HeadError::InvalidTarget)?;
    if *method == Method::CONNECT {
        return if is_connect_authority(raw) {
            Ok(RequestTarget::Authority(raw.to_owned()))
        } else {
            Err(HeadError::ConnectWithoutAuthority)
        };
    }
    if raw == "*" {
        return if *method == Method::OPTIONS {
            Ok(RequestTarget::Asterisk)
        } else {
            Err(HeadError::AsteriskWithoutOptions)
        };
    }
    if raw.starts_with('/') {
        return Ok(RequestTarget::Origin {
            path_and_query: target_strings::take(raw),
            absolute_authority: None,
        });
    }
    if let Some(rest) = strip_http_scheme(raw) {
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(split);
        // RFC 9110 4.2.1: an http URI has a non-empty host, and userinfo ('@') is refused.
        if authority.is_empty() || !is_authority_bytes(authority.as_bytes()) {
            return Err(HeadError::InvalidTarget);
        }
        let path_and_query = if path.is_empty() {
            "/".to_owned()
        } else if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_owned()
        };
        return Ok(RequestTarget::Origin {
            path_and_query,
            absolute_authority: Some(authority.to_owned()),
        });
    }
    if is_connect_authority(raw) {
        return Err(HeadError::AuthorityWithoutConnect);
    }
    Err(HeadError::InvalidTarget)
}

fn strip_http_scheme(raw: &str) -> Option<&str> {
    for scheme in ["http://", "https://"] {
        if let Some(prefix) = raw.get(..scheme.len()) {
            if prefix.eq_ignore_ascii_case(scheme) {
                return raw.get(scheme.len()..);
            }
        }
    }
    None
}

/// authority-form for CONNECT: "host:port" with a non-empty host and a decimal port.
fn is_connect_authority(raw: &str) -> bool {
    match raw.rsplit_once(':') {
        Some((host, port)) => {
            !host.is_empty()
                && is_authority_bytes(host.as_bytes())
                && (1..=5).contains(&port.len())
                && port.bytes().all(|b| b.is_ascii_digit())
        }
        None => false,
    }
}

/// The bytes an authority is made of, `%` (which must start an escape) aside: letters,
/// digits, `-._~`, `:` and the brackets of an IP literal. A table: one load per byte.
const AUTHORITY_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric()
            || matches!(c, b'-' | b'.' | b'_' | b'~' | b':' | b'[' | b']');
        b += 1;
    }
    table
};

/// The authority characters we accept in Host and in targets: a deliberate subset of RFC
/// 3986 (unreserved, ':' and IPv6 brackets, and percent-encoding); sub-delims and '@' are
/// refused because no real host name needs them and they confuse downstream URL parsers.
fn is_authority_bytes(bytes: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            _ if AUTHORITY_BYTE[usize::from(b)] => i += 1,
            b'%' => match (bytes.get(i + 1), bytes.get(i + 2)) {
                (Some(h), Some(l)) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => i += 3,
                _ => return false,
            },
            _ => return false,
        }
    }
    true
}

/// `(count, value)`: how many Host fields the head has, and the value of one of them.
fn check_host((count, value): (usize, &[u8]), version: Version) -> Result<(), HeadError> {
    match count {
        0 if version == Version::HTTP_11 => Err(HeadError::MissingHost),
        0 => Ok(()),
        // An empty Host is what RFC 9110 7.2 tells clients to send when there is no authority.
        1 if is_authority_bytes(value) => Ok(()),
        1 => Err(HeadError::InvalidHost),
        _ => Err(HeadError::DuplicateHost),
    }
}

/// Decides the body framing so that any disagreement a proxy could have with us is
/// refused instead of guessed (RFC 9112 6.1 and 6.3).
fn framing(headers: &FieldList, version: Version) -> Result<Framing, HeadError> {
    let mut lengths = headers.get_all(b"content-length");
    let length = match (lengths.next(), lengths.next()) {
        (None, _) => None,
        (Some(_), Some(_)) => return Err(HeadError::DuplicateContentLength),
        (Some(v), None) => Some(parse_content_length(v)?),
    };
    let mut codings = headers.get_all(b"transfer-encoding").peekable();
    if codings.peek().is_none() {
        return Ok(length.map_or(Framing::None, Framing::Length));
    }
    if length.is_some() {
        return Err(HeadError::ContentLengthWithTransferEncoding);
    }
    if version != Version::HTTP_11 {
        return Err(HeadError::TransferEncodingInHttp10);
    }
    let mut count = 0usize;
    let mut chunked = 0usize;
    let mut last_is_chunked = false;
    for element in codings.flat_map(list_elements) {
        if !element.iter().all(|&b| is_tchar(b)) {
            return Err(HeadError::InvalidTransferEncoding);
        }
        count += 1;
        last_is_chunked = element.eq_ignore_ascii_case(b"chunked");
        if last_is_chunked {
            chunked += 1;
        }
    }
    if chunked > 1 {
        Err(HeadError::ChunkedTwice)
    } else if !last_is_chunked {
        Err(HeadError::ChunkedNotLast)
    } else if count > 1 {
        Err(HeadError::UnsupportedTransferCoding)
    } else {
        Ok(Framing::Chunked)
    }
}

/// Content-Length = 1*DIGIT, one value only: lists, signs and blanks are refused.
fn parse_content_length(v: &[u8]) -> Result<u64, HeadError> {
    if v.is_empty() {
        return Err(HeadError::InvalidContentLength);
    }
    v.iter().try_fold(0u64, |n, &b| {
        if !b.is_ascii_digit() {
            return Err(HeadError::InvalidContentLength);
        }
        n.checked_mul(10)
            .and_then(|n| n.checked_add(u64::from(b - b'0')))
            .ok_or(HeadError::InvalidContentLength)
    })
}

fn upgrade_value(headers: &FieldList) -> Option<String> {
    let mut out = String::new();
    for v in headers.get_all(b"upgrade") {
        let s = visible_ascii(v)?;
        if !out.is_empty() {
            out.push_str(", ");
        }
        out.push_str(s);
    }
    if out.is_empty() {
        None
    } else {
        Some(out)
    }
}

/// The non-empty elements of a comma-separated list field, OWS trimmed (RFC 9110 5.6.1).
fn list_elements(v: &[u8]) -> impl Iterator<Item = &[u8]> {
    v.split(|&b| b == b',')
        .map(trim_ows)
        .filter(|e| !e.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The byte-at-a-time scan find_head_end replaced: the rules written out plainly, kept
    /// as the reference the faster scan must agree with.
    fn find_head_end_bytewise(area: &[u8]) -> Result<Option<usize>, HeadError> {
        let mut i = 0;
        let mut line_start = 0;
        let mut request_line = true;
        let mut seen_colon = false;
        while let Some(&b) = area.get(i) {
            match b {
                b'\r' => match area.get(i + 1) {
                    Some(b'\n') => {
                        if i == line_start && !request_line {
                            return Ok(Some(i + 2));
                        }
                        request_line = false;
                        seen_colon = false;
                        i += 2;
                        line_start = i;
                        continue;
                    }
                    Some(_) => return Err(HeadError::BareCr),
                    None => return Ok(None),
                },
                b'\n' => return Err(HeadError::BareLf),
                b' ' | b'\t' if !request_line && !seen_colon => {
                    return Err(if i == line_start {
                        HeadError::ObsFold
                    } else {
                        HeadError::WhitespaceBeforeColon
                    });
                }
                b':' => seen_colon = true,
                _ => {}
            }
            i += 1;
        }
        Ok(None)
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        /// Heads made mostly of the bytes the rules are about: the fast scan finds the same
        /// end, or the same first broken rule, as the byte-at-a-time one.
        #[test]
        fn find_head_end_agrees_with_the_bytewise_scan(
            head in proptest::collection::vec(
                proptest::sample::select(&b"\r\n\r\n :\ta:GET / HTTP/1.1"[..]), 0..64),
        ) {
            proptest::prop_assert_eq!(find_head_end(&head), find_head_end_bytewise(&head));
        }
    }

    /// Parses `bytes` one way or the other: the result, and what is left in the buffer.
    fn parse_either(
        bytes: &[u8],
        quick: bool,
    ) -> (Result<Option<RequestHead>, HeadError>, Vec<u8>) {
        let mut buf = BytesMut::from(bytes);
        let limits = HeadLimits {
            max_head_bytes: 256,
            max_url_length: 32,
            max_headers: 6,
        };
        let parsed = parse_head_with(&mut buf, &limits, &mut FieldList::default(), quick);
        (parsed, buf.to_vec())
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(8192))]

        /// Heads put together from pieces that make good and bad request lines, fields,
        /// line ends and whitespace: httparse alone (when it is taken) gives the same head,
        /// or the same error, and leaves the same bytes as the rules applied one by one.
        #[test]
        fn httparse_alone_agrees_with_the_rules_one_by_one(
            lead in proptest::sample::select(&["", "", "\r\n", "\n"][..]),
            line in proptest::sample::select(&[
                "GET / HTTP/1.1", "POST /a?b=c HTTP/1.0", "GET  / HTTP/1.1", "BREW / HTTP/1.1",
                "GET /x HTTP/2.0", "GET http://h/x HTTP/1.1", "GET /\u{e9} HTTP/1.1",
                "G T / HTTP/1.1", "OPTIONS * HTTP/1.1", "GET /#f HTTP/1.1", "",
            ][..]),
            fields in proptest::collection::vec((
                proptest::sample::select(&[
                    "Host", "host", "X-A", "Sec-Fetch-Mode", "Content-Length",
                    "Transfer-Encoding", "Connection", "Expect", "Upgrade", "X A", " X", "",
                ][..]),
                proptest::sample::select(&[": ", ":", " : ", ":\t", " "][..]),
                proptest::sample::select(&[
                    "h", "h:1", "v v", "3", "3, 4", "chunked", "close", "upgrade",
                    "100-continue", "websocket", "", "\u{1}", "\u{7f}", "\u{e9}", "a\rb",
                ][..]),
                proptest::sample::select(&["\r\n", "\r\n", "\r\n", "\n", "\r", " \r\n"][..]),
            ), 0..8),
            end in proptest::sample::select(&["\r\n", "\r\n", "\n", "\r", ""][..]),
            tail in proptest::sample::select(&["", "abc", "GET / HTTP/1.1\r\n\r\n"][..]),
        ) {
            let mut text = format!("{lead}{line}\r\n");
            for (name, sep, value, line_end) in &fields {
                text.push_str(&format!("{name}{sep}{value}{line_end}"));
            }
            text.push_str(end);
            text.push_str(tail);
            let bytes = text.into_bytes();
            proptest::prop_assert_eq!(parse_either(&bytes, true), parse_either(&bytes, false));
        }
    }

    /// The same, on well-formed heads of many fields (the quick path's common case), each
    /// cut short anywhere and with a bare LF put in anywhere.
    #[test]
    fn httparse_alone_agrees_on_real_heads_cut_and_broken() {
        let heads: [&[u8]; 3] = [
            b"GET /x HTTP/1.1\r\nHost: a\r\nUser-Agent: Mozilla/5.0 (X11)\r\nAccept: */*\r\n\r\nrest",
            b"\r\nPOST /p?q HTTP/1.0\r\nHost: a:1\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nhi",
            b"GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Tab:\tv\t\r\n\r\n",
        ];
        let agree = |bytes: &[u8]| {
            assert_eq!(
                parse_either(bytes, true),
                parse_either(bytes, false),
                "{bytes:?}"
            );
        };
        every_cut(&heads, |head, cut| {
            agree(&head[..cut]);
            // The CR before the cut taken out: a bare LF there.
            if head[..cut].ends_with(b"\r") {
                let mut bare = head.to_vec();
                bare.remove(cut - 1);
                agree(&bare);
            }
        });
    }

    /// Calls `check` with each head and each place it can be cut at.
    fn every_cut(heads: &[&[u8]], mut check: impl FnMut(&[u8], usize)) {
        for head in heads {
            for cut in 0..=head.len() {
                check(head, cut);
            }
        }
    }

    #[test]
    fn find_head_end_agrees_on_real_heads_cut_anywhere() {
        let heads: [&[u8]; 4] = [
            b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
            b"GET /x HTTP/1.1\r\nHost: a\r\nUser-Agent: Mozilla/5.0 (X11; Linux)\r\n\r\nbody",
            b"\r\nGET / HTTP/1.1\r\nA:b\r\n c\r\n\r\n",
            b"GET / HTTP/1.1\r\nA : b\r\n\r\n",
        ];
        every_cut(&heads, |head, cut| {
            let part = &head[..cut];
            assert_eq!(
                find_head_end(part),
                find_head_end_bytewise(part),
                "{:?}",
                String::from_utf8_lossy(part)
            );
        });
    }

    const LIMITS: HeadLimits = HeadLimits {
        max_head_bytes: 1024,
        max_url_length: 64,
        max_headers: 8,
    };

    fn parse(raw: &[u8]) -> Result<Option<(RequestHead, usize)>, HeadError> {
        parse_head(raw, &LIMITS)
    }

    fn ok(raw: &[u8]) -> RequestHead {
        match parse(raw) {
            Ok(Some((head, consumed))) => {
                assert_eq!(consumed, raw.len(), "head should span the whole input");
                head
            }
            other => panic!(
                "expected a head from {:?}, got {other:?}",
                String::from_utf8_lossy(raw)
            ),
        }
    }

    fn err(raw: &[u8]) -> HeadError {
        match parse(raw) {
            Err(e) => e,
            other => panic!(
                "expected an error from {:?}, got {other:?}",
                String::from_utf8_lossy(raw)
            ),
        }
    }

    #[test]
    fn the_authority_table_holds_the_bytes_of_its_definition() {
        for b in 0..=255u8 {
            let listed = matches!(b,
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' | b'[' | b']');
            assert_eq!(AUTHORITY_BYTE[usize::from(b)], listed, "byte {b:#04x}");
        }
        assert!(is_authority_bytes(b"[::1]:8080"));
        assert!(is_authority_bytes(b"ex%41mple.com"));
        assert!(!is_authority_bytes(b"a%4"));
        assert!(!is_authority_bytes(b"user@host"));
        assert!(!is_authority_bytes(b"h\xc3\xa9"));
    }

    #[test]
    fn a_spare_list_holds_only_the_new_requests_fields() {
        let first = ok(b"GET / HTTP/1.1\r\nHost: a\r\nX-Old: 1\r\nCookie: c\r\n\r\n");
        let mut spare = first.headers;
        let room = spare.capacity();
        // Incomplete: the list is not taken, the bytes stay.
        let mut partial = BytesMut::from(&b"GET / HTTP/1.1\r\nHost: b\r\n"[..]);
        assert_eq!(parse_head_into(&mut partial, &LIMITS, &mut spare), Ok(None));
        assert_eq!(spare.len(), 3);
        assert_eq!(&partial[..], b"GET / HTTP/1.1\r\nHost: b\r\n");
        let raw = b"GET /x HTTP/1.1\r\nHost: b\r\n\r\n";
        let mut buf = BytesMut::from(&raw[..]);
        let head = parse_head_into(&mut buf, &LIMITS, &mut spare)
            .unwrap()
            .unwrap();
        assert_eq!(head.headers.len(), 1);
        assert_eq!(&head.headers["host"], "b");
        assert!(head.headers.capacity() >= room, "the room is kept");
        assert_eq!(head, ok(raw));
    }

    /// Every field httparse lets through is one a field list may hold (see build_head): a
    /// name of token bytes, a value of the bytes a `HeaderValue` takes. Each byte is tried
    /// in a short value or name and in a long one, which httparse scans with SIMD.
    #[test]
    fn httparse_takes_only_what_a_field_list_holds() {
        for b in (0..=255u8).filter(|b| !matches!(b, b'\r' | b'\n')) {
            for pad in [1, 40] {
                let pad = vec![b'a'; pad];
                let field = |name: &[u8], value: &[u8]| {
                    let mut raw = b"GET / HTTP/1.1\r\nHost: h\r\n".to_vec();
                    raw.extend_from_slice(name);
                    raw.extend_from_slice(b": ");
                    raw.extend_from_slice(value);
                    raw.extend_from_slice(b"\r\n\r\n");
                    parse(&raw)
                };
                let value = [&pad[..], &[b], &pad[..]].concat();
                let parsed = field(b"x-v", &value);
                assert_eq!(
                    parsed.is_ok(),
                    is_field_value_byte(b),
                    "value byte {b:#x}: {parsed:?}"
                );
                if b == b':' {
                    continue;
                }
                let name = [&pad[..], &[b], &pad[..]].concat();
                let parsed = field(&name, b"v");
                assert_eq!(parsed.is_ok(), is_tchar(b), "name byte {b:#x}: {parsed:?}");
                if let Ok(Some((head, _))) = parsed {
                    assert_eq!(head.headers.len(), 2);
                }
            }
        }
    }

    #[test]
    fn fields_are_copied_with_lowercase_names_and_the_head_leaves_the_buffer() {
        let raw = b"\r\nPOST /x HTTP/1.1\r\nHost: h\r\nX-Long: abcdefghijklmnop\r\nContent-Length: 4\r\n\r\nbody";
        let mut buf = BytesMut::from(&raw[..]);
        let head = parse_head_into(&mut buf, &LIMITS, &mut FieldList::default())
            .unwrap()
            .unwrap();
        assert_eq!(
            &buf[..],
            b"body",
            "the head (and the empty line before it) left the buffer"
        );
        let fields: Vec<_> = head.headers.iter().collect();
        assert_eq!(
            fields,
            [
                (&b"host"[..], &b"h"[..]),
                (b"x-long", b"abcdefghijklmnop"),
                (b"content-length", b"4")
            ]
        );
    }

    fn origin(path: &str) -> RequestTarget {
        RequestTarget::Origin {
            path_and_query: path.to_owned(),
            absolute_authority: None,
        }
    }

    #[test]
    fn simple_get() {
        let raw = b"GET /index.html?x=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n\r\n";
        let head = ok(raw);
        assert_eq!(head.method, Method::GET);
        assert_eq!(head.target, origin("/index.html?x=1"));
        assert_eq!(head.version, Version::HTTP_11);
        assert_eq!(head.headers.len(), 2);
        assert_eq!(&head.headers["accept"], "*/*");
        assert_eq!(head.framing, Framing::None);
        assert!(head.keep_alive);
        assert!(!head.expect_continue);
        assert_eq!(head.wants_upgrade, None);
    }

    #[test]
    fn consumed_stops_at_body() {
        let raw = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc";
        let (head, consumed) = parse(raw).unwrap().unwrap();
        assert_eq!(head.framing, Framing::Length(3));
        assert_eq!(&raw[consumed..], b"abc");
    }

    #[test]
    fn incomplete_heads_ask_for_more() {
        let raw = b"GET /x HTTP/1.1\r\nHost: a\r\nUser-Agent: t\r\n\r\n";
        for n in 0..raw.len() {
            assert_eq!(parse(&raw[..n]), Ok(None), "prefix of {n} bytes");
        }
        ok(raw);
    }

    #[test]
    fn leading_empty_lines_are_skipped() {
        let raw = b"\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
        let (head, consumed) = parse(raw).unwrap().unwrap();
        assert_eq!(head.method, Method::GET);
        assert_eq!(consumed, raw.len());
        assert_eq!(parse(b"\r\n\r"), Ok(None));
        assert_eq!(
            err(b"\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
            HeadError::TooManyEmptyLines
        );
        assert_eq!(
            err(b"\nGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
            HeadError::BareLf
        );
        assert_eq!(
            err(b"\rGET / HTTP/1.1\r\nHost: a\r\n\r\n"),
            HeadError::BareCr
        );
    }

    #[test]
    fn head_too_large() {
        let limits = HeadLimits {
            max_head_bytes: 40,
            max_url_length: 16,
            max_headers: 8,
        };
        // Exactly at the limit is fine.
        let raw = b"GET / HTTP/1.1\r\nHost: a\r\nX-Pad: 0123\r\n\r\n";
        assert_eq!(raw.len(), 40);
        assert!(parse_head(raw, &limits).unwrap().is_some());
        // One more byte is not, complete or not.
        let raw = b"GET / HTTP/1.1\r\nHost: a\r\nX-Pad: 01234\r\n\r\n";
        assert_eq!(parse_head(raw, &limits), Err(HeadError::HeadTooLarge));
        assert_eq!(
            parse_head(&raw[..40], &limits),
            Err(HeadError::HeadTooLarge)
        );
        assert_eq!(parse_head(&raw[..39], &limits), Ok(None));
        // A complete head followed by body bytes past the limit is still fine.
        let raw = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\n";
        let limits = HeadLimits {
            max_head_bytes: raw.len(),
            ..limits
        };
        let mut with_body = raw.to_vec();
        with_body.extend_from_slice(b"123456789");
        let (_, consumed) = parse_head(&with_body, &limits).unwrap().unwrap();
        assert_eq!(consumed, raw.len());
    }

    #[test]
    fn too_many_headers() {
        let mut raw = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
        for i in 0..7 {
            raw.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        let mut complete = raw.clone();
        complete.extend_from_slice(b"\r\n");
        assert_eq!(ok(&complete).headers.len(), 8);
        raw.extend_from_slice(b"X-8: v\r\n");
        // Detected before the head is complete.
        assert_eq!(err(&raw), HeadError::TooManyHeaders);
        raw.extend_from_slice(b"\r\n");
        assert_eq!(err(&raw), HeadError::TooManyHeaders);
        assert_eq!(
            HeadError::TooManyHeaders.status(),
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE
        );
    }

    #[test]
    fn many_headers_beyond_the_stack_slots() {
        let limits = HeadLimits {
            max_head_bytes: 1 << 16,
            max_url_length: 64,
            max_headers: 300,
        };
        let mut raw = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
        for i in 0..250 {
            raw.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
        }
        raw.extend_from_slice(b"\r\n");
        let (head, _) = parse_head(&raw, &limits).unwrap().unwrap();
        assert_eq!(head.headers.len(), 251);
    }

    #[test]
    fn uri_too_long_early_and_late() {
        let long = "/".repeat(65);
        // No CRLF yet: refused as soon as the target exceeds the limit.
        assert_eq!(err(format!("GET {long}").as_bytes()), HeadError::UriTooLong);
        assert_eq!(
            err(format!("GET {long} HTTP/1.1\r\n").as_bytes()),
            HeadError::UriTooLong
        );
        assert_eq!(
            err(format!("GET {long} HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes()),
            HeadError::UriTooLong
        );
        assert_eq!(HeadError::UriTooLong.status(), StatusCode::URI_TOO_LONG);
        // At the limit: fine.
        let exact = "/".repeat(64);
        let head = ok(format!("GET {exact} HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes());
        assert_eq!(head.target, origin(&exact));
        // Not yet over the limit: wait.
        assert_eq!(parse(format!("GET {exact}").as_bytes()), Ok(None));
    }

    #[test]
    fn bare_cr_and_lf() {
        assert_eq!(err(b"GET / HTTP/1.1\nHost: a\r\n\r\n"), HeadError::BareLf);
        assert_eq!(err(b"GET / HTTP/1.1\r\nHost: a\n\r\n"), HeadError::BareLf);
        assert_eq!(err(b"GET / HTTP/1.1\r\nHost: a\r\n\n"), HeadError::BareLf);
        assert_eq!(err(b"GET / HTTP/1.1\rHost: a\r\n\r\n"), HeadError::BareCr);
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n"),
            HeadError::BareCr
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: a\r\n\r\r\n"),
            HeadError::BareCr
        );
        // Refused before the head is complete.
        assert_eq!(err(b"GET / HTTP/1.1\nHo"), HeadError::BareLf);
        assert_eq!(HeadError::BareLf.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn obs_fold_is_refused() {
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n"),
            HeadError::ObsFold
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n\tc\r\n\r\n"),
            HeadError::ObsFold
        );
        // Whitespace between the request line and the first field (RFC 9112 2.2).
        assert_eq!(
            err(b"GET / HTTP/1.1\r\n Host: a\r\n\r\n"),
            HeadError::ObsFold
        );
    }

    #[test]
    fn whitespace_before_colon_is_refused() {
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost : a\r\n\r\n"),
            HeadError::WhitespaceBeforeColon
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost\t: a\r\n\r\n"),
            HeadError::WhitespaceBeforeColon
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length : 5\r\n\r\nhello"),
            HeadError::WhitespaceBeforeColon
        );
        // Whitespace after the colon and inside values is fine.
        let head = ok(b"GET / HTTP/1.1\r\nHost:a\r\nX:\t b c \t\r\n\r\n");
        assert_eq!(&head.headers["x"], "b c");
        assert_eq!(&head.headers["host"], "a");
    }

    #[test]
    fn bad_header_fields() {
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: a\r\nX\"y: b\r\n\r\n"),
            HeadError::InvalidHeaderName
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n"),
            HeadError::InvalidHeaderName
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: a\r\n: b\r\n\r\n"),
            HeadError::InvalidHeaderName
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: a\r\nX: b\0c\r\n\r\n"),
            HeadError::InvalidHeaderValue
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: a\r\nX: b\x7fc\r\n\r\n"),
            HeadError::InvalidHeaderValue
        );
        // obs-text is allowed in values.
        let head = ok(b"GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\r\n\r\n");
        assert_eq!(&head.headers["x"].as_bytes(), b"caf\xc3\xa9");
    }

    #[test]
    fn versions() {
        assert_eq!(ok(b"GET / HTTP/1.0\r\n\r\n").version, Version::HTTP_10);
        assert_eq!(
            err(b"GET / HTTP/2.0\r\nHost: a\r\n\r\n"),
            HeadError::VersionNotSupported
        );
        assert_eq!(
            err(b"GET / HTTP/1.2\r\nHost: a\r\n\r\n"),
            HeadError::VersionNotSupported
        );
        assert_eq!(
            err(b"GET / HTTP/0.9\r\n\r\n"),
            HeadError::VersionNotSupported
        );
        assert_eq!(
            err(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
            HeadError::VersionNotSupported
        );
        assert_eq!(
            HeadError::VersionNotSupported.status(),
            StatusCode::HTTP_VERSION_NOT_SUPPORTED
        );
        // Known early, before the head ends.
        assert_eq!(err(b"GET / HTTP/3"), HeadError::VersionNotSupported);
        assert_eq!(
            err(b"GET / http/1.1\r\nHost: a\r\n\r\n"),
            HeadError::InvalidVersion
        );
        assert_eq!(
            err(b"GET / FOO\r\nHost: a\r\n\r\n"),
            HeadError::InvalidVersion
        );
        assert_eq!(
            err(b"GET /  HTTP/1.1\r\nHost: a\r\n\r\n"),
            HeadError::InvalidVersion
        );
        assert_eq!(
            err(b"GET / HTTP/1.1 \r\nHost: a\r\n\r\n"),
            HeadError::InvalidRequestLine
        );
        assert_eq!(
            err(b"GET / HTTP/1.10\r\nHost: a\r\n\r\n"),
            HeadError::InvalidRequestLine
        );
        assert_eq!(err(b"GET /\r\n\r\n"), HeadError::InvalidRequestLine);
        assert_eq!(HeadError::InvalidVersion.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn methods() {
        for (name, method) in [
            ("GET", Method::GET),
            ("HEAD", Method::HEAD),
            ("POST", Method::POST),
            ("PUT", Method::PUT),
            ("DELETE", Method::DELETE),
            ("OPTIONS", Method::OPTIONS),
            ("TRACE", Method::TRACE),
            ("PATCH", Method::PATCH),
        ] {
            let head = ok(format!("{name} / HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes());
            assert_eq!(head.method, method);
        }
        let head = ok(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");
        assert_eq!(head.method, Method::CONNECT);
        assert_eq!(
            head.target,
            RequestTarget::Authority("example.com:443".to_owned())
        );

        assert_eq!(
            err(b"PROPFIND / HTTP/1.1\r\nHost: a\r\n\r\n"),
            HeadError::MethodNotImplemented
        );
        assert_eq!(
            err(b"get / HTTP/1.1\r\nHost: a\r\n\r\n"),
            HeadError::MethodNotImplemented
        );
        assert_eq!(
            HeadError::MethodNotImplemented.status(),
            StatusCode::NOT_IMPLEMENTED
        );
        assert_eq!(
            err(b"G(T / HTTP/1.1\r\nHost: a\r\n\r\n"),
            HeadError::InvalidMethod
        );
        assert_eq!(
            err(b"G\x01T / HTTP/1.1\r\nHost: a\r\n\r\n"),
            HeadError::InvalidMethod
        );
        assert_eq!(
            err(b" GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
            HeadError::InvalidMethod
        );
        assert_eq!(HeadError::InvalidMethod.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn targets() {
        assert_eq!(
            ok(b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n").target,
            RequestTarget::Asterisk
        );
        assert_eq!(
            err(b"GET * HTTP/1.1\r\nHost: a\r\n\r\n"),
            HeadError::AsteriskWithoutOptions
        );
        assert_eq!(
            ok(b"OPTIONS /x HTTP/1.1\r\nHost: a\r\n\r\n").target,
            origin("/x")
        );
        assert_eq!(
            ok(b"GET //x HTTP/1.1\r\nHost: a\r\n\r\n").target,
            origin("//x")
        );
        assert_eq!(
            err(b"GET x HTTP/1.1\r\nHost: a\r\n\r\n"),
            HeadError::InvalidTarget
        );
        assert_eq!(
            err(b"GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n"),
            HeadError::InvalidTarget
        );
        assert_eq!(
            err(b"GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n"),
            HeadError::FragmentInTarget
        );
        assert_eq!(
            err(b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n"),
            HeadError::InvalidTarget
        );
        assert_eq!(
            err(b"GET /\xff HTTP/1.1\r\nHost: a\r\n\r\n"),
            HeadError::InvalidRequestLine
        );
        assert_eq!(
            err(b"GET a.com:80 HTTP/1.1\r\nHost: a\r\n\r\n"),
            HeadError::AuthorityWithoutConnect
        );
        assert_eq!(
            err(b"CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n"),
            HeadError::ConnectWithoutAuthority
        );
        assert_eq!(
            err(b"CONNECT a.com HTTP/1.1\r\nHost: a\r\n\r\n"),
            HeadError::ConnectWithoutAuthority
        );
        assert_eq!(
            err(b"CONNECT a.com: HTTP/1.1\r\nHost: a\r\n\r\n"),
            HeadError::ConnectWithoutAuthority
        );
        assert_eq!(
            err(b"CONNECT u@a.com:1 HTTP/1.1\r\nHost: a\r\n\r\n"),
            HeadError::ConnectWithoutAuthority
        );
        assert_eq!(
            ok(b"CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n").target,
            RequestTarget::Authority("[::1]:8443".to_owned())
        );
    }

    #[test]
    fn absolute_form() {
        let abs = |a: &str, p: &str| RequestTarget::Origin {
            path_and_query: p.to_owned(),
            absolute_authority: Some(a.to_owned()),
        };
        assert_eq!(
            ok(b"GET http://h.example/p?q HTTP/1.1\r\nHost: x\r\n\r\n").target,
            abs("h.example", "/p?q")
        );
        assert_eq!(
            ok(b"GET HTTPS://h:8443 HTTP/1.1\r\nHost: x\r\n\r\n").target,
            abs("h:8443", "/")
        );
        assert_eq!(
            ok(b"GET Http://h?q=1 HTTP/1.1\r\nHost: x\r\n\r\n").target,
            abs("h", "/?q=1")
        );
        assert_eq!(ok(b"GET http://h/ HTTP/1.0\r\n\r\n").target, abs("h", "/"));
        assert_eq!(
            err(b"GET http:///p HTTP/1.1\r\nHost: x\r\n\r\n"),
            HeadError::InvalidTarget
        );
        assert_eq!(
            err(b"GET http://u:pw@h/p HTTP/1.1\r\nHost: x\r\n\r\n"),
            HeadError::InvalidTarget
        );
        assert_eq!(
            err(b"GET http://h/p#f HTTP/1.1\r\nHost: x\r\n\r\n"),
            HeadError::FragmentInTarget
        );
        // Host is still required on 1.1.
        assert_eq!(
            err(b"GET http://h/ HTTP/1.1\r\n\r\n"),
            HeadError::MissingHost
        );
    }

    #[test]
    fn host_rules() {
        assert_eq!(err(b"GET / HTTP/1.1\r\n\r\n"), HeadError::MissingHost);
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"),
            HeadError::DuplicateHost
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n"),
            HeadError::InvalidHost
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"),
            HeadError::InvalidHost
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: u@a\r\n\r\n"),
            HeadError::InvalidHost
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n"),
            HeadError::InvalidHost
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nHost: a%4\r\n\r\n"),
            HeadError::InvalidHost
        );
        assert_eq!(
            err(b"GET / HTTP/1.0\r\nHost: a,b\r\n\r\n"),
            HeadError::InvalidHost
        );
        for host in ["a", "a.example:8080", "[::1]:80", "x_y-z~1", "a%2Db", ""] {
            ok(format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes());
        }
        assert!(ok(b"GET / HTTP/1.0\r\n\r\n").headers.is_empty());
        assert_eq!(HeadError::MissingHost.status(), StatusCode::BAD_REQUEST);
    }

    #[test]
    fn content_length_rules() {
        let req = |cl: &str| format!("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: {cl}\r\n\r\n");
        assert_eq!(ok(req("0").as_bytes()).framing, Framing::Length(0));
        assert_eq!(ok(req("42").as_bytes()).framing, Framing::Length(42));
        assert_eq!(ok(req("007").as_bytes()).framing, Framing::Length(7));
        assert_eq!(
            ok(req("18446744073709551615").as_bytes()).framing,
            Framing::Length(u64::MAX)
        );
        for bad in [
            "18446744073709551616",
            "99999999999999999999999",
            "",
            "+5",
            "-1",
            "5 5",
            "0x10",
            "5,5",
            "5, 5",
            "1.0",
        ] {
            assert_eq!(
                err(req(bad).as_bytes()),
                HeadError::InvalidContentLength,
                "{bad:?}"
            );
        }
        assert_eq!(
            err(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n"),
            HeadError::DuplicateContentLength
        );
        assert_eq!(
            err(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\ncontent-length: 6\r\n\r\n"),
            HeadError::DuplicateContentLength
        );
        assert_eq!(
            ok(b"POST / HTTP/1.0\r\nContent-Length: 3\r\n\r\n").framing,
            Framing::Length(3)
        );
    }

    #[test]
    fn transfer_encoding_rules() {
        let req =
            |te: &str| format!("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: {te}\r\n\r\n");
        for good in [
            "chunked",
            "Chunked",
            "CHUNKED",
            " chunked ",
            "chunked,",
            ",chunked",
            ", ,chunked",
        ] {
            assert_eq!(
                ok(req(good).as_bytes()).framing,
                Framing::Chunked,
                "{good:?}"
            );
        }
        for (te, e) in [
            ("gzip", HeadError::ChunkedNotLast),
            ("chunked, gzip", HeadError::ChunkedNotLast),
            ("", HeadError::ChunkedNotLast),
            (",", HeadError::ChunkedNotLast),
            ("chunked, chunked", HeadError::ChunkedTwice),
            ("chunked,CHUNKED", HeadError::ChunkedTwice),
            ("gzip, chunked", HeadError::UnsupportedTransferCoding),
            ("gzip,chunked", HeadError::UnsupportedTransferCoding),
            ("identity, chunked", HeadError::UnsupportedTransferCoding),
            ("chunked;x=1", HeadError::InvalidTransferEncoding),
            ("chun ked", HeadError::InvalidTransferEncoding),
            ("\"chunked\"", HeadError::InvalidTransferEncoding),
        ] {
            assert_eq!(err(req(te).as_bytes()), e, "{te:?}");
        }
        assert_eq!(
            HeadError::UnsupportedTransferCoding.status(),
            StatusCode::NOT_IMPLEMENTED
        );
        assert_eq!(HeadError::ChunkedNotLast.status(), StatusCode::BAD_REQUEST);
        // Several fields form one list, in order.
        let two = |a: &str, b: &str| {
            format!("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: {a}\r\nTransfer-Encoding: {b}\r\n\r\n")
        };
        assert_eq!(
            err(two("gzip", "chunked").as_bytes()),
            HeadError::UnsupportedTransferCoding
        );
        assert_eq!(
            err(two("chunked", "gzip").as_bytes()),
            HeadError::ChunkedNotLast
        );
        assert_eq!(
            err(two("chunked", "chunked").as_bytes()),
            HeadError::ChunkedTwice
        );
        // Smuggling classics.
        assert_eq!(
            err(b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"),
            HeadError::ContentLengthWithTransferEncoding
        );
        assert_eq!(
            err(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n"),
            HeadError::ContentLengthWithTransferEncoding
        );
        assert_eq!(
            err(b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
            HeadError::TransferEncodingInHttp10
        );
        assert_eq!(
            err(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n"),
            HeadError::WhitespaceBeforeColon
        );
        assert_eq!(
            err(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n chunked\r\n\r\n"),
            HeadError::ObsFold
        );
    }

    #[test]
    fn connection_semantics() {
        assert!(ok(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").keep_alive);
        assert!(!ok(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n").keep_alive);
        assert!(
            !ok(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive, CLOSE\r\n\r\n").keep_alive
        );
        assert!(ok(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n").keep_alive);
        assert!(!ok(b"GET / HTTP/1.0\r\n\r\n").keep_alive);
        assert!(ok(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
        assert!(
            ok(b"GET / HTTP/1.0\r\nConnection: foo\r\nConnection: keep-alive\r\n\r\n").keep_alive
        );
        assert!(!ok(b"GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n").keep_alive);
    }

    #[test]
    fn expect_continue() {
        assert!(
            ok(b"PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n")
                .expect_continue
        );
        assert!(ok(b"PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n\r\n").expect_continue);
        assert!(!ok(b"PUT / HTTP/1.1\r\nHost: a\r\nExpect: 200-ok\r\n\r\n").expect_continue);
        assert!(!ok(b"PUT / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n").expect_continue);
    }

    #[test]
    fn upgrade() {
        let head = ok(b"GET /ws HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n");
        assert_eq!(head.wants_upgrade.as_deref(), Some("websocket"));
        let head = ok(b"GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c\r\n\r\n");
        assert_eq!(head.wants_upgrade, None);
        let head = ok(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade\r\n\r\n");
        assert_eq!(head.wants_upgrade, None);
        let head = ok(b"GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n");
        assert_eq!(head.wants_upgrade, None);
    }

    #[test]
    fn errors_are_found_before_the_head_ends() {
        // A client cannot park a connection behind a head we will refuse anyway.
        assert_eq!(err(b"G\0"), HeadError::InvalidMethod);
        assert_eq!(err(b"GET /\x01"), HeadError::InvalidRequestLine);
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nX: a\0"),
            HeadError::InvalidHeaderValue
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nX(: a"),
            HeadError::InvalidHeaderName
        );
        assert_eq!(
            err(b"GET / HTTP/1.1\r\nX : a"),
            HeadError::WhitespaceBeforeColon
        );
        assert_eq!(err(b"GET / HTTP/1.1\r\nX: a\r\n b"), HeadError::ObsFold);
        assert_eq!(parse(b"GET / HTTP/1.1\r\nX: a\r"), Ok(None));
    }

    #[test]
    fn every_error_has_a_reason_and_a_4xx_or_5xx() {
        let all = [
            HeadError::HeadTooLarge,
            HeadError::TooManyHeaders,
            HeadError::UriTooLong,
            HeadError::TooManyEmptyLines,
            HeadError::BareCr,
            HeadError::BareLf,
            HeadError::ObsFold,
            HeadError::WhitespaceBeforeColon,
            HeadError::InvalidRequestLine,
            HeadError::InvalidMethod,
            HeadError::MethodNotImplemented,
            HeadError::InvalidVersion,
            HeadError::VersionNotSupported,
            HeadError::InvalidTarget,
            HeadError::FragmentInTarget,
            HeadError::AsteriskWithoutOptions,
            HeadError::AuthorityWithoutConnect,
            HeadError::ConnectWithoutAuthority,
            HeadError::InvalidHeaderName,
            HeadError::InvalidHeaderValue,
            HeadError::MissingHost,
            HeadError::DuplicateHost,
            HeadError::InvalidHost,
            HeadError::ContentLengthWithTransferEncoding,
            HeadError::DuplicateContentLength,
            HeadError::InvalidContentLength,
            HeadError::TransferEncodingInHttp10,
            HeadError::InvalidTransferEncoding,
            HeadError::ChunkedNotLast,
            HeadError::ChunkedTwice,
            HeadError::UnsupportedTransferCoding,
        ];
        for e in all {
            assert!(!e.reason().is_empty());
            assert!(!e.reason().contains('\n'));
            assert!(
                [400, 414, 431, 501, 505].contains(&e.status().as_u16()),
                "{e:?}"
            );
            assert!(e.to_string().contains(e.reason()));
        }
    }

    #[test]
    fn no_panic_on_any_prefix_or_byte_flip() {
        // A cheap stand-in for the fuzzer: every prefix of a rich head, and every single-byte
        // mutation of it, must parse or fail without panicking.
        let raw = b"\r\nPOST http://h:1/p?q HTTP/1.1\r\nHost: h:1\r\nTransfer-Encoding: gzip, chunked\r\nConnection: upgrade\r\nUpgrade: x\r\nExpect: 100-continue\r\n\r\nbody";
        let tiny = HeadLimits {
            max_head_bytes: 50,
            max_url_length: 10,
            max_headers: 2,
        };
        for n in 0..=raw.len() {
            let _ = parse(&raw[..n]);
            let _ = parse_head(&raw[..n], &tiny);
        }
        let mut copy = raw.to_vec();
        for i in 0..raw.len() {
            for b in [0u8, b'\r', b'\n', b' ', b':', b'\t', 0xff, b'#', b','] {
                let old = copy[i];
                copy[i] = b;
                let _ = parse(&copy);
                copy[i] = old;
            }
        }
        let zero = HeadLimits {
            max_head_bytes: 0,
            max_url_length: 0,
            max_headers: 0,
        };
        assert_eq!(parse_head(b"", &zero), Err(HeadError::HeadTooLarge));
        assert_eq!(parse_head(b"\r\n", &zero), Err(HeadError::HeadTooLarge));
        assert_eq!(
            parse_head(b"GET / HTTP/1.1\r\n\r\n", &zero),
            Err(HeadError::HeadTooLarge)
        );
        let no_url = HeadLimits {
            max_url_length: 0,
            ..LIMITS
        };
        assert_eq!(
            parse_head(b"GET / HTTP/1.1\r\n\r\n", &no_url),
            Err(HeadError::UriTooLong)
        );
    }
}
