//! Validators and conditional requests (RFC 9110 sections 8.8, 13 and 14), shared by static
//! and file-system resources.
//!
//! Each resource computes its representation's strong ETag and modification time, then asks,
//! in the order RFC 9110 13.2.2 prescribes: [`precondition_failed`] (412), [`not_modified`]
//! (304), [`evaluate_range`] (206 / 416 / the full 200).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use http::header::{self, HeaderValue};
use http::{Method, Response, StatusCode};

use super::encoding::Coding;
use super::request_view::RequestView;
use crate::body::Body;
use crate::proto::field_list::visible_ascii;

/// The part of a representation's ETag that tells its coding apart: the gzip bytes of a file
/// are another representation than its identity bytes, and a cache must not mix them.
fn etag_suffix(coding: Coding) -> &'static str {
    match coding {
        Coding::Identity => "",
        Coding::Gzip => "-gz",
        Coding::Br => "-br",
        Coding::Zstd => "-zst",
    }
}

/// A strong ETag for a file from its length and modification time: cheap (no read of the
/// content) and changes whenever a write changes either. Files whose time is unknown all
/// share time 0, so their tag then rests on the length alone.
pub(crate) fn file_etag(len: u64, modified: Option<SystemTime>, coding: Coding) -> String {
    let nanos = modified
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    format!("\"{len:x}-{nanos:x}{}\"", etag_suffix(coding))
}

/// A strong ETag for bytes in memory from a hash of their content, so a rebuilt binary with
/// unchanged assets keeps the tags browsers already hold.
pub(crate) fn bytes_etag(bytes: &[u8], coding: Coding) -> String {
    format!("\"{:016x}{}\"", fnv1a64(bytes), etag_suffix(coding))
}

/// FNV-1a, 64 bits: a validator needs no cryptographic strength (the server makes the tags;
/// a collision only costs a stale revalidation), and this needs no dependency.
pub(crate) fn fnv1a64(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET, |hash, &b| (hash ^ u64::from(b)).wrapping_mul(PRIME))
}

/// One entity-tag of a request header: `opaque` keeps its quotes, as ours do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct EntityTag<'a> {
    weak: bool,
    opaque: &'a [u8],
}

impl EntityTag<'_> {
    /// Parses our own tag (always strong, but parsed so the comparisons stay symmetric).
    fn ours(etag: &str) -> Option<EntityTag<'_>> {
        let (tag, rest) = parse_entity_tag(etag.as_bytes())?;
        rest.is_empty().then_some(tag)
    }

    fn weak_eq(&self, other: &EntityTag<'_>) -> bool {
        self.opaque == other.opaque
    }

    fn strong_eq(&self, other: &EntityTag<'_>) -> bool {
        !self.weak && !other.weak && self.opaque == other.opaque
    }
}

/// `entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE` at the start of `s`; returns the rest.
fn parse_entity_tag(s: &[u8]) -> Option<(EntityTag<'_>, &[u8])> {
    let (weak, s) = match s.strip_prefix(b"W/") {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    if s.first() != Some(&b'"') {
        return None;
    }
    let close = 1 + s.get(1..)?.iter().position(|&b| b == b'"')?;
    let opaque = s.get(..=close)?;
    let etagc = |b: &u8| *b == 0x21 || (0x23..=0x7e).contains(b) || *b >= 0x80;
    if !opaque.get(1..close)?.iter().all(etagc) {
        return None;
    }
    Some((EntityTag { weak, opaque }, s.get(close + 1..)?))
}

/// The value of `If-Match` / `If-None-Match`: `*` or a list of tags.
enum TagList<'a> {
    Any,
    Tags(Vec<EntityTag<'a>>),
}

/// Parses every line of a tag-list header as one list; `None` when absent or when any part
/// is malformed (a header we cannot read is ignored, as RFC 9110 asks for bad dates).
fn tag_list<'a>(request: &RequestView<'a>, name: &'static [u8]) -> Option<TagList<'a>> {
    let mut tags = Vec::new();
    let mut any = false;
    let mut present = false;
    for line in request.headers.get_all(name) {
        present = true;
        let mut s = line;
        if s.trim_ascii() == b"*" {
            any = true;
            continue;
        }
        loop {
            s = s.trim_ascii_start();
            while let Some(rest) = s.strip_prefix(b",") {
                s = rest.trim_ascii_start();
            }
            if s.is_empty() {
                break;
            }
            let (tag, rest) = parse_entity_tag(s)?;
            tags.push(tag);
            s = rest.trim_ascii_start();
            if !s.is_empty() && !s.starts_with(b",") {
                return None;
            }
        }
    }
    match (present, any) {
        (false, _) => None,
        (true, true) => Some(TagList::Any),
        (true, false) => Some(TagList::Tags(tags)),
    }
}

/// A date header's value, or `None` when absent, repeated or not an HTTP-date (RFC 9110
/// says to ignore such a field).
fn date_header(request: &RequestView<'_>, name: &'static [u8]) -> Option<SystemTime> {
    let mut lines = request.headers.get_all(name);
    let value = lines.next()?;
    if lines.next().is_some() {
        return None;
    }
    httpdate::parse_http_date(visible_ascii(value)?.trim()).ok()
}

/// Seconds since the epoch: HTTP dates carry no finer time, so comparing a file's mtime
/// with one needs the mtime truncated the same way.
fn secs(t: SystemTime) -> Option<u64> {
    t.duration_since(UNIX_EPOCH).ok().map(|d| d.as_secs())
}

fn is_get_or_head(request: &RequestView<'_>) -> bool {
    *request.method == Method::GET || *request.method == Method::HEAD
}

/// Whether the request carries any field that [`precondition_failed`], [`not_modified`] or
/// [`evaluate_range`] read. Most requests carry none, and one pass over the request's
/// names then stands in for six look-ups of absent fields.
pub(crate) fn has_conditions(request: &RequestView<'_>) -> bool {
    request.headers.names().any(|name| match name {
        b"range" => true,
        // Five of the six begin so: most names are passed over by their first bytes.
        [b'i', b'f', b'-', rest @ ..] => matches!(
            rest,
            b"match" | b"none-match" | b"modified-since" | b"unmodified-since" | b"range"
        ),
        _ => false,
    })
}

/// Whether a GET or HEAD should be answered 304 Not Modified (RFC 9110 13.2.2 steps 3-4).
///
/// `If-None-Match` (weak comparison, `*` or a list) decides when present; only without it is
/// `If-Modified-Since` compared with `last_modified`, at second granularity.
pub(crate) fn not_modified(
    request: &RequestView<'_>,
    etag: &str,
    last_modified: Option<SystemTime>,
) -> bool {
    if !is_get_or_head(request) {
        return false;
    }
    if let Some(list) = tag_list(request, b"if-none-match") {
        return match list {
            TagList::Any => true,
            TagList::Tags(tags) => {
                EntityTag::ours(etag).is_some_and(|ours| tags.iter().any(|t| t.weak_eq(&ours)))
            }
        };
    }
    if request.headers.contains_key(b"if-none-match") {
        // Present but unreadable: still overrides If-Modified-Since, and matches nothing.
        return false;
    }
    let (Some(since), Some(modified)) = (date_header(request, b"if-modified-since"), last_modified)
    else {
        return false;
    };
    matches!((secs(modified), secs(since)), (Some(m), Some(s)) if m <= s)
}

/// Whether the request's `If-Match` / `If-Unmodified-Since` fail, to be answered 412
/// Precondition Failed (RFC 9110 13.2.2 steps 1-2).
///
/// `If-Match` uses the strong comparison (a weak tag never matches); only without it is
/// `If-Unmodified-Since` compared, and only when the modification time is known.
pub(crate) fn precondition_failed(
    request: &RequestView<'_>,
    etag: &str,
    last_modified: Option<SystemTime>,
) -> bool {
    if let Some(list) = tag_list(request, b"if-match") {
        return match list {
            TagList::Any => false,
            TagList::Tags(tags) => {
                !EntityTag::ours(etag).is_some_and(|ours| tags.iter().any(|t| t.strong_eq(&ours)))
            }
        };
    }
    if request.headers.contains_key(b"if-match") {
        // Unreadable If-Match: ignored, and it still shadows If-Unmodified-Since.
        return false;
    }
    let (Some(since), Some(modified)) =
        (date_header(request, b"if-unmodified-since"), last_modified)
    else {
        return false;
    };
    matches!((secs(modified), secs(since)), (Some(m), Some(s)) if m > s)
}

/// What to do with a request's `Range` header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangeOutcome {
    /// Serve the whole representation (200): no usable range, or If-Range did not match.
    Full,
    /// Serve these bytes (206 with `Content-Range: bytes start-end/len`).
    Partial {
        /// First byte, less than the length.
        start: u64,
        /// Last byte, included, less than the length.
        end_inclusive: u64,
    },
    /// The range starts past the end (416 with `Content-Range: bytes */len`).
    NotSatisfiable,
}

/// Evaluates `Range` (RFC 9110 14.2) for a GET of a representation of `len` bytes.
///
/// Only `bytes=` with one range (`a-b`, `a-`, `-suffix`) is honoured. Several ranges would
/// need a multipart body for little gain, and the RFC lets a server ignore Range, so they,
/// like any syntax error or another unit, get the full 200. An `If-Range` that does not
/// match (strong ETag comparison, or a date equal to a strong Last-Modified) also gets 200.
pub(crate) fn evaluate_range(
    request: &RequestView<'_>,
    etag: &str,
    last_modified: Option<SystemTime>,
    len: u64,
) -> RangeOutcome {
    if *request.method != Method::GET {
        return RangeOutcome::Full;
    }
    let mut lines = request.headers.get_all(b"range");
    let (Some(range), None) = (lines.next(), lines.next()) else {
        return RangeOutcome::Full;
    };
    let Some(range) = visible_ascii(range) else {
        return RangeOutcome::Full;
    };
    if request.headers.contains_key(b"if-range") && !if_range_matches(request, etag, last_modified)
    {
        return RangeOutcome::Full;
    }
    parse_range(range, len)
}

/// RFC 9110 13.1.5: an entity-tag must match strongly; a date must equal the modification
/// time, and only counts when that time is a strong validator (at least a second old, so a
/// second write within the same second cannot hide behind it).
fn if_range_matches(
    request: &RequestView<'_>,
    etag: &str,
    last_modified: Option<SystemTime>,
) -> bool {
    let mut lines = request.headers.get_all(b"if-range");
    let (Some(value), None) = (lines.next(), lines.next()) else {
        return false;
    };
    let bytes = value.trim_ascii();
    if bytes.starts_with(b"\"") || bytes.starts_with(b"W/") {
        let Some((theirs, rest)) = parse_entity_tag(bytes) else {
            return false;
        };
        return rest.is_empty()
            && EntityTag::ours(etag).is_some_and(|ours| theirs.strong_eq(&ours));
    }
    let Some(modified) = last_modified else {
        return false;
    };
    let Some(date) = visible_ascii(value).and_then(|v| httpdate::parse_http_date(v.trim()).ok())
    else {
        return false;
    };
    let strong = SystemTime::now()
        .duration_since(modified)
        .is_ok_and(|age| age >= Duration::from_secs(1));
    strong && secs(modified).is_some() && secs(modified) == secs(date)
}

/// Digits only, saturating: a position too large for u64 is past any end anyway.
fn parse_pos(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(s.bytes().fold(0u64, |n, b| {
        n.saturating_mul(10).saturating_add(u64::from(b - b'0'))
    }))
}

fn parse_range(value: &str, len: u64) -> RangeOutcome {
    let Some((unit, set)) = value.trim().split_once('=') else {
        return RangeOutcome::Full;
    };
    if !unit.trim().eq_ignore_ascii_case("bytes") || set.contains(',') {
        return RangeOutcome::Full;
    }
    let Some((first, last)) = set.trim().split_once('-') else {
        return RangeOutcome::Full;
    };
    let (first, last) = (first.trim(), last.trim());
    let (start, end) = if first.is_empty() {
        let Some(suffix) = parse_pos(last) else {
            return RangeOutcome::Full;
        };
        // A zero-length suffix selects nothing (RFC 9110 14.1.3).
        if suffix == 0 || len == 0 {
            return RangeOutcome::NotSatisfiable;
        }
        (len.saturating_sub(suffix), len - 1)
    } else {
        let Some(start) = parse_pos(first) else {
            return RangeOutcome::Full;
        };
        let end = if last.is_empty() {
            u64::MAX
        } else {
            match parse_pos(last) {
                Some(end) if end >= start => end,
                _ => return RangeOutcome::Full,
            }
        };
        if start >= len {
            return RangeOutcome::NotSatisfiable;
        }
        (start, end.min(len - 1))
    };
    RangeOutcome::Partial {
        start,
        end_inclusive: end,
    }
}

/// A short plain-text answer (`404 Not Found: no such file`), the shape the server uses for
/// its own errors.
pub(crate) fn plain(status: StatusCode, reason: &str) -> Response<Body> {
    let text = format!(
        "{} {}: {}\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        reason
    );
    let mut response = Response::new(Body::full(text));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// The 416 answer, whose `Content-Range` tells the client the representation's length.
pub(crate) fn range_not_satisfiable(len: u64) -> Response<Body> {
    let mut response = plain(
        StatusCode::RANGE_NOT_SATISFIABLE,
        "range starts past the end",
    );
    if let Ok(v) = HeaderValue::from_str(&format!("bytes */{len}")) {
        response.headers_mut().insert(header::CONTENT_RANGE, v);
    }
    response
}

/// The `Content-Range` value of a 206.
pub(crate) fn content_range(start: u64, end_inclusive: u64, len: u64) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("bytes {start}-{end_inclusive}/{len}")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resource::request_view::TestRequest;

    fn req(method: Method, headers: &[(&str, &str)]) -> TestRequest {
        TestRequest::new(method, "/x", headers)
    }

    fn get(headers: &[(&str, &str)]) -> TestRequest {
        req(Method::GET, headers)
    }

    #[test]
    fn has_conditions_sees_each_field_the_checks_read() {
        assert!(!has_conditions(
            &get(&[("host", "a"), ("accept", "*/*")]).view()
        ));
        for name in [
            "if-match",
            "if-none-match",
            "if-modified-since",
            "if-unmodified-since",
            "range",
            "if-range",
        ] {
            assert!(
                has_conditions(&get(&[("host", "a"), (name, "x")]).view()),
                "{name}"
            );
        }
    }

    const TAG: &str = "\"abc\"";

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn etags() {
        let t = UNIX_EPOCH + Duration::new(1, 5);
        assert_eq!(file_etag(255, Some(t), Coding::Identity), "\"ff-3b9aca05\"");
        assert_eq!(file_etag(255, Some(t), Coding::Gzip), "\"ff-3b9aca05-gz\"");
        assert_eq!(file_etag(0, None, Coding::Br), "\"0-0-br\"");
        assert_eq!(
            file_etag(1, Some(UNIX_EPOCH - Duration::from_secs(5)), Coding::Zstd),
            "\"1-0-zst\""
        );
        // FNV-1a 64 reference values.
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
        assert_eq!(bytes_etag(b"a", Coding::Identity), "\"af63dc4c8601ec8c\"");
        assert_eq!(bytes_etag(b"a", Coding::Gzip), "\"af63dc4c8601ec8c-gz\"");
        assert_ne!(
            bytes_etag(b"a", Coding::Identity),
            bytes_etag(b"b", Coding::Identity)
        );
        for e in [
            file_etag(9, Some(t), Coding::Gzip),
            bytes_etag(b"x", Coding::Br),
        ] {
            assert!(HeaderValue::from_str(&e).is_ok());
            assert!(EntityTag::ours(&e).is_some());
        }
    }

    #[test]
    fn if_none_match() {
        assert!(!not_modified(&get(&[]).view(), TAG, None));
        assert!(not_modified(
            &get(&[("if-none-match", "\"abc\"")]).view(),
            TAG,
            None
        ));
        assert!(not_modified(
            &get(&[("if-none-match", "W/\"abc\"")]).view(),
            TAG,
            None
        ));
        assert!(not_modified(
            &get(&[("if-none-match", "\"x\", \"abc\"")]).view(),
            TAG,
            None
        ));
        assert!(not_modified(
            &get(&[("if-none-match", "\"x\",W/\"abc\" ,")]).view(),
            TAG,
            None
        ));
        assert!(not_modified(
            &get(&[("if-none-match", "*")]).view(),
            TAG,
            None
        ));
        assert!(!not_modified(
            &get(&[("if-none-match", "\"abcd\"")]).view(),
            TAG,
            None
        ));
        assert!(!not_modified(
            &get(&[("if-none-match", "abc")]).view(),
            TAG,
            None
        ));
        assert!(!not_modified(
            &get(&[("if-none-match", "\"ab")]).view(),
            TAG,
            None
        ));
        // Commas may sit inside an opaque tag.
        assert!(not_modified(
            &get(&[("if-none-match", "\"a,b\"")]).view(),
            "\"a,b\"",
            None
        ));
        // Several lines form one list.
        let parts = get(&[("if-none-match", "\"x\""), ("if-none-match", "\"abc\"")]);
        let p = parts.view();
        assert!(not_modified(&p, TAG, None));
        // Only for GET and HEAD.
        assert!(not_modified(
            &req(Method::HEAD, &[("if-none-match", "\"abc\"")]).view(),
            TAG,
            None
        ));
        assert!(!not_modified(
            &req(Method::POST, &[("if-none-match", "\"abc\"")]).view(),
            TAG,
            None
        ));
    }

    #[test]
    fn if_modified_since() {
        let date = httpdate::fmt_http_date(at(1_000_000));
        let parts = get(&[("if-modified-since", &date)]);
        let p = parts.view();
        assert!(not_modified(&p, TAG, Some(at(1_000_000))));
        // Sub-second parts of the mtime do not count.
        assert!(not_modified(
            &p,
            TAG,
            Some(at(1_000_000) + Duration::from_millis(999))
        ));
        assert!(not_modified(&p, TAG, Some(at(999_999))));
        assert!(!not_modified(&p, TAG, Some(at(1_000_001))));
        assert!(!not_modified(&p, TAG, None));
        assert!(!not_modified(
            &get(&[("if-modified-since", "yesterday")]).view(),
            TAG,
            Some(at(1))
        ));
        // If-None-Match takes precedence, even when it does not match.
        let parts = get(&[("if-none-match", "\"other\""), ("if-modified-since", &date)]);
        let p = parts.view();
        assert!(!not_modified(&p, TAG, Some(at(1))));
        let parts = get(&[("if-none-match", "garbage"), ("if-modified-since", &date)]);
        let p = parts.view();
        assert!(!not_modified(&p, TAG, Some(at(1))));
    }

    #[test]
    fn preconditions() {
        assert!(!precondition_failed(&get(&[]).view(), TAG, None));
        assert!(!precondition_failed(
            &get(&[("if-match", "\"abc\"")]).view(),
            TAG,
            None
        ));
        assert!(!precondition_failed(
            &get(&[("if-match", "\"z\", \"abc\"")]).view(),
            TAG,
            None
        ));
        assert!(!precondition_failed(
            &get(&[("if-match", "*")]).view(),
            TAG,
            None
        ));
        // Strong comparison: a weak tag never matches.
        assert!(precondition_failed(
            &get(&[("if-match", "W/\"abc\"")]).view(),
            TAG,
            None
        ));
        assert!(precondition_failed(
            &get(&[("if-match", "\"abd\"")]).view(),
            TAG,
            None
        ));
        assert!(!precondition_failed(
            &get(&[("if-match", "nonsense")]).view(),
            TAG,
            None
        ));

        let date = httpdate::fmt_http_date(at(1_000_000));
        let parts = get(&[("if-unmodified-since", &date)]);
        let p = parts.view();
        assert!(!precondition_failed(&p, TAG, Some(at(1_000_000))));
        assert!(!precondition_failed(
            &p,
            TAG,
            Some(at(1_000_000) + Duration::from_millis(500))
        ));
        assert!(precondition_failed(&p, TAG, Some(at(1_000_001))));
        assert!(!precondition_failed(&p, TAG, None));
        // If-Match shadows If-Unmodified-Since.
        let parts = get(&[("if-match", "\"abc\""), ("if-unmodified-since", &date)]);
        let p = parts.view();
        assert!(!precondition_failed(&p, TAG, Some(at(2_000_000))));
    }

    fn range(value: &str, len: u64) -> RangeOutcome {
        evaluate_range(&get(&[("range", value)]).view(), TAG, None, len)
    }

    fn partial(start: u64, end_inclusive: u64) -> RangeOutcome {
        RangeOutcome::Partial {
            start,
            end_inclusive,
        }
    }

    #[test]
    fn ranges() {
        assert_eq!(
            evaluate_range(&get(&[]).view(), TAG, None, 10),
            RangeOutcome::Full
        );
        assert_eq!(range("bytes=0-4", 10), partial(0, 4));
        assert_eq!(range("bytes=2-", 10), partial(2, 9));
        assert_eq!(range("bytes=-3", 10), partial(7, 9));
        assert_eq!(range("bytes=-30", 10), partial(0, 9));
        assert_eq!(range("bytes=5-100", 10), partial(5, 9));
        assert_eq!(range("bytes=9-9", 10), partial(9, 9));
        assert_eq!(range("Bytes = 1-2", 10), partial(1, 2));
        assert_eq!(range("bytes=0-99999999999999999999999", 10), partial(0, 9));
        assert_eq!(range("bytes=-99999999999999999999999", 10), partial(0, 9));
    }

    #[test]
    fn unsatisfiable_ranges() {
        assert_eq!(range("bytes=10-", 10), RangeOutcome::NotSatisfiable);
        assert_eq!(range("bytes=10-20", 10), RangeOutcome::NotSatisfiable);
        assert_eq!(
            range("bytes=99999999999999999999999-", 10),
            RangeOutcome::NotSatisfiable
        );
        assert_eq!(range("bytes=-0", 10), RangeOutcome::NotSatisfiable);
        assert_eq!(range("bytes=0-", 0), RangeOutcome::NotSatisfiable);
        assert_eq!(range("bytes=-5", 0), RangeOutcome::NotSatisfiable);
    }

    #[test]
    fn ignored_ranges() {
        for v in [
            "bytes=0-1,3-4",
            "bytes=0-1,",
            "bytes=5-2",
            "bytes=a-b",
            "bytes=-",
            "bytes=1",
            "bytes=+1-2",
            "bytes=0x1-2",
            "items=0-1",
            "bytes",
            "",
        ] {
            assert_eq!(range(v, 10), RangeOutcome::Full, "{v}");
        }
        let two_lines_parts = get(&[("range", "bytes=0-1"), ("range", "bytes=2-3")]);
        let two_lines = two_lines_parts.view();
        assert_eq!(
            evaluate_range(&two_lines, TAG, None, 10),
            RangeOutcome::Full
        );
        // Only GET: RFC 9110 14.2 has HEAD ignore Range.
        let head_parts = req(Method::HEAD, &[("range", "bytes=0-1")]);
        let head = head_parts.view();
        assert_eq!(evaluate_range(&head, TAG, None, 10), RangeOutcome::Full);
    }

    #[test]
    fn if_range() {
        let with = |if_range: &str, lm: Option<SystemTime>| {
            evaluate_range(
                &get(&[("range", "bytes=0-1"), ("if-range", if_range)]).view(),
                TAG,
                lm,
                10,
            )
        };
        assert_eq!(with("\"abc\"", None), partial(0, 1));
        assert_eq!(with("\"old\"", None), RangeOutcome::Full);
        assert_eq!(with("W/\"abc\"", None), RangeOutcome::Full);
        assert_eq!(with("\"abc", None), RangeOutcome::Full);
        let old = at(1_000_000);
        let date = httpdate::fmt_http_date(old);
        assert_eq!(with(&date, Some(old)), partial(0, 1));
        assert_eq!(
            with(&date, Some(old + Duration::from_secs(1))),
            RangeOutcome::Full
        );
        assert_eq!(with(&date, None), RangeOutcome::Full);
        assert_eq!(with("not a date", Some(old)), RangeOutcome::Full);
        // A modification time within the last second is a weak validator.
        let now = SystemTime::now();
        assert_eq!(
            with(&httpdate::fmt_http_date(now), Some(now)),
            RangeOutcome::Full
        );
    }

    #[test]
    fn canned_answers() {
        let r = plain(StatusCode::NOT_FOUND, "no such file");
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            r.body().exact_length(),
            Some("404 Not Found: no such file\n".len() as u64)
        );
        let r = range_not_satisfiable(42);
        assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(r.headers()[header::CONTENT_RANGE], "bytes */42");
        assert_eq!(content_range(0, 4, 10).unwrap(), "bytes 0-4/10");
    }
}
