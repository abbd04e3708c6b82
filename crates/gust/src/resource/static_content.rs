//! Bytes served from memory: pages and scripts embedded in the binary, often gzipped at
//! build time.
//!
//! The original sent its static buffers with a fixed `Content-Encoding` to every client,
//! whether it accepted the coding or not. Here gzipped bytes are also kept decompressed, so a
//! client that does not accept gzip still gets a page, and every answer carries a strong ETag
//! so that revalidation (`Cache-Control: no-cache`) costs a 304 instead of the bytes.

use std::fmt;
use std::io::{self, Read};

use bytes::Bytes;
use http::header::{self, HeaderMap, HeaderValue};
use http::{Response, StatusCode};

use super::conditional::{self, RangeOutcome};
use super::encoding::{self, Coding};
use super::request_view::RequestView;
use crate::body::Body;
use crate::proto::shared_fields::SharedFields;

/// One representation: its bytes and their strong ETag.
#[derive(Clone)]
struct Representation {
    bytes: Bytes,
    etag: HeaderValue,
    /// The fields of its whole answer (200), made once and shared by every such answer
    /// (see [`StaticResource::with_answer_fields`]).
    whole: SharedFields,
}

impl Representation {
    fn new(bytes: Bytes, coding: Coding) -> Self {
        let etag = conditional::bytes_etag(&bytes, coding);
        // Quotes around hex digits and a dash: always a valid header value.
        let etag = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"\""));
        Representation {
            bytes,
            etag,
            whole: SharedFields::new(HeaderMap::new()),
        }
    }

    /// Makes [`Representation::whole`]: `Vary` if the resource has another representation
    /// or refuses clients without the coding, the coding if any, then the validators and
    /// the representation's own fields, in the order they are sent.
    fn make_whole(&mut self, content_type: &HeaderValue, coding: Option<&HeaderValue>, vary: bool) {
        let mut whole = HeaderMap::with_capacity(6);
        if vary {
            whole.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        }
        if let Some(coding) = coding {
            whole.insert(header::CONTENT_ENCODING, coding.clone());
        }
        whole.insert(header::ETAG, self.etag.clone());
        whole.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
        whole.insert(header::CONTENT_TYPE, content_type.clone());
        whole.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
        self.whole = SharedFields::new(whole);
    }

    fn etag_str(&self) -> &str {
        self.etag.to_str().unwrap_or_default()
    }
}

/// The representations a resource holds.
#[derive(Clone)]
enum Representations {
    /// Plain bytes only.
    Identity(Representation),
    /// Compressed bytes plus their decompressed form for clients that do not accept the
    /// coding.
    WithFallback {
        identity: Representation,
        encoded: Representation,
        coding: Coding,
    },
    /// Compressed bytes only: clients that do not accept `token` get 406.
    EncodedOnly {
        encoded: Representation,
        token: HeaderValue,
    },
}

/// Bytes held in memory, served on GET and HEAD with a content type, an optional content
/// coding, a strong ETag, conditional requests (304, 412) and single byte ranges (206, 416).
///
/// ```
/// use gust::StaticResource;
///
/// let page = StaticResource::new("<h1>hello</h1>", "text/html; charset=utf-8");
/// # let _ = page;
/// ```
#[derive(Clone)]
pub struct StaticResource {
    content_type: HeaderValue,
    representations: Representations,
}

impl StaticResource {
    /// Identity bytes with their content type. A content type that is not a valid header
    /// value is replaced by `application/octet-stream` (and logged).
    pub fn new(bytes: impl Into<Bytes>, content_type: &str) -> Self {
        StaticResource {
            content_type: content_type_value(content_type),
            representations: Representations::Identity(Representation::new(
                bytes.into(),
                Coding::Identity,
            )),
        }
        .with_answer_fields()
    }

    /// Bytes already compressed with `encoding` (a `Content-Encoding` token).
    ///
    /// For `gzip` (or `x-gzip`) the identity bytes are made here, once, by decompressing, so
    /// that a client that does not accept gzip still gets a correct page; bytes that are not
    /// valid gzip are an error. For any other coding (`br`, `zstd`, `deflate`...) only the
    /// given bytes are kept: clients that accept the coding get them, others get
    /// 406 Not Acceptable. `identity` is the same as [`StaticResource::new`]. An `encoding`
    /// that is not a token is an error (`InvalidInput`).
    pub fn precompressed(
        bytes: impl Into<Bytes>,
        content_type: &str,
        encoding: &str,
    ) -> io::Result<Self> {
        let bytes = bytes.into();
        let token = encoding.trim();
        let representations = match Coding::from_token(token) {
            Some(Coding::Identity) => return Ok(Self::new(bytes, content_type)),
            Some(Coding::Gzip) => {
                let mut identity = Vec::new();
                flate2::read::MultiGzDecoder::new(&bytes[..])
                    .read_to_end(&mut identity)
                    .map_err(|e| {
                        io::Error::new(io::ErrorKind::InvalidData, format!("not valid gzip: {e}"))
                    })?;
                Representations::WithFallback {
                    identity: Representation::new(Bytes::from(identity), Coding::Identity),
                    encoded: Representation::new(bytes, Coding::Gzip),
                    coding: Coding::Gzip,
                }
            }
            known => {
                let header = HeaderValue::from_str(token)
                    .ok()
                    .filter(|_| encoding::is_token(token) && token != "*");
                let Some(header) = header else {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("{encoding:?} is not a content-coding token"),
                    ));
                };
                let (header, encoded) = match known {
                    // Known codings are sent with their canonical token.
                    Some(c) => (
                        HeaderValue::from_static(c.token()),
                        Representation::new(bytes, c),
                    ),
                    None => {
                        let mut encoded = Representation::new(bytes, Coding::Identity);
                        // Tell this coding's tag apart from an identity tag of the same bytes.
                        let tag = format!("\"{}-{}\"", encoded.etag_str().trim_matches('"'), token);
                        if let Ok(tag) = HeaderValue::from_str(&tag) {
                            encoded.etag = tag;
                        }
                        (header, encoded)
                    }
                };
                Representations::EncodedOnly {
                    encoded,
                    token: header,
                }
            }
        };
        Ok(StaticResource {
            content_type: content_type_value(content_type),
            representations,
        }
        .with_answer_fields())
    }

    /// The same resource, each representation's whole answer fields made.
    fn with_answer_fields(mut self) -> Self {
        let content_type = &self.content_type;
        match &mut self.representations {
            Representations::Identity(identity) => identity.make_whole(content_type, None, false),
            Representations::WithFallback {
                identity,
                encoded,
                coding,
            } => {
                identity.make_whole(content_type, None, true);
                let token = HeaderValue::from_static(coding.token());
                encoded.make_whole(content_type, Some(&token), true);
            }
            Representations::EncodedOnly { encoded, token } => {
                encoded.make_whole(content_type, Some(token), true);
            }
        }
        self
    }

    /// Answers a GET or HEAD (the router lets no other method through).
    ///
    /// HEAD gets the same head and the same full body as GET: the connection layer sends
    /// the body's length as `Content-Length` and drops the body itself.
    pub(crate) fn respond(&self, request: &RequestView<'_>) -> Response<Body> {
        let accept = encoding::accept_encoding(request.headers);
        let chosen = match &self.representations {
            Representations::Identity(identity) => identity,
            Representations::WithFallback {
                identity,
                encoded,
                coding,
            } => {
                // `None` (identity excluded too) still gets identity: see `negotiate`.
                if encoding::negotiate(accept.as_deref(), &[*coding]) == Some(*coding) {
                    encoded
                } else {
                    identity
                }
            }
            Representations::EncodedOnly { encoded, token } => {
                if !encoding::accepts_token(accept.as_deref(), token.to_str().unwrap_or_default()) {
                    let mut response = conditional::plain(
                        StatusCode::NOT_ACCEPTABLE,
                        "this resource is only available with a content coding the client does not accept",
                    );
                    response
                        .headers_mut()
                        .insert(header::VARY, HeaderValue::from_static("accept-encoding"));
                    return response;
                }
                encoded
            }
        };
        let conditions = conditional::has_conditions(request);
        if !conditions {
            // The whole representation, with the fields made for it: shared, not copied.
            let body = Body::full(chosen.bytes.clone()).with_shared_fields(chosen.whole.clone());
            return Response::new(body);
        }
        let mut headers = chosen.whole.map().clone();
        let etag = chosen.etag_str();
        if conditional::precondition_failed(request, etag, None) {
            return conditional::plain(StatusCode::PRECONDITION_FAILED, "the ETag does not match");
        }
        if conditional::not_modified(request, etag, None) {
            // A 304 carries the validators and caching fields of the 200, not its
            // representation's type.
            headers.remove(header::CONTENT_TYPE);
            headers.remove(header::ACCEPT_RANGES);
            let mut response = Response::new(Body::empty());
            *response.status_mut() = StatusCode::NOT_MODIFIED;
            *response.headers_mut() = headers;
            return response;
        }
        let len = chosen.bytes.len() as u64;
        let range = conditional::evaluate_range(request, etag, None, len);
        let (status, body) = match range {
            RangeOutcome::Full => (StatusCode::OK, chosen.bytes.clone()),
            RangeOutcome::NotSatisfiable => {
                // The 416 body is plain text: only the validators carry over, never the
                // representation's type or coding.
                let mut response = conditional::range_not_satisfiable(len);
                for name in [
                    header::ETAG,
                    header::VARY,
                    header::CACHE_CONTROL,
                    header::ACCEPT_RANGES,
                ] {
                    if let Some(v) = headers.remove(&name) {
                        response.headers_mut().insert(name, v);
                    }
                }
                return response;
            }
            RangeOutcome::Partial {
                start,
                end_inclusive,
            } => match slice(&chosen.bytes, start, end_inclusive) {
                Some(part) => {
                    if let Some(v) = conditional::content_range(start, end_inclusive, len) {
                        headers.insert(header::CONTENT_RANGE, v);
                    }
                    (StatusCode::PARTIAL_CONTENT, part)
                }
                None => (StatusCode::OK, chosen.bytes.clone()),
            },
        };
        let mut response = Response::new(Body::full(body));
        *response.status_mut() = status;
        *response.headers_mut() = headers;
        response
    }
}

/// `bytes[start..=end]` without a way to panic, should a range ever be off.
fn slice(bytes: &Bytes, start: u64, end_inclusive: u64) -> Option<Bytes> {
    let start = usize::try_from(start).ok()?;
    let end = usize::try_from(end_inclusive).ok()?;
    (start <= end && end < bytes.len()).then(|| bytes.slice(start..=end))
}

/// The content type as a header value, falling back rather than failing: a typo in an
/// application's content type should not take a page down.
fn content_type_value(content_type: &str) -> HeaderValue {
    HeaderValue::from_str(content_type).unwrap_or_else(|_| {
        tracing::warn!(
            content_type,
            "invalid content type; serving application/octet-stream"
        );
        HeaderValue::from_static("application/octet-stream")
    })
}

impl fmt::Debug for StaticResource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("StaticResource");
        d.field("content_type", &self.content_type);
        match &self.representations {
            Representations::Identity(r) => d.field("len", &r.bytes.len()),
            Representations::WithFallback {
                identity,
                encoded,
                coding,
            } => d
                .field("len", &identity.bytes.len())
                .field("encoding", &coding.token())
                .field("encoded_len", &encoded.bytes.len()),
            Representations::EncodedOnly { encoded, token } => d
                .field("encoding", token)
                .field("encoded_len", &encoded.bytes.len()),
        };
        d.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::sent_fields as fields;
    use crate::body::BodyKind;
    use crate::resource::request_view::TestRequest;
    use flate2::write::GzEncoder;
    use http::Method;
    use std::io::Write;

    const PAGE: &str = "<!doctype html><h1>hello, hello, hello</h1>";

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut enc = GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    fn req(method: Method, headers: &[(&str, &str)]) -> TestRequest {
        TestRequest::new(method, "/", headers)
    }

    fn get(headers: &[(&str, &str)]) -> TestRequest {
        req(Method::GET, headers)
    }

    fn body(response: Response<Body>) -> Bytes {
        match response.into_body().into_parts().0 {
            BodyKind::Empty => Bytes::new(),
            BodyKind::Full(b) => b,
            BodyKind::Stream { .. } | BodyKind::File(_) => {
                panic!("static bodies are never streamed")
            }
        }
    }

    /// A field of the response, from its own map or the fields its body shares.
    fn header(r: &Response<Body>, name: header::HeaderName) -> Option<&str> {
        crate::body::sent_field(r, &name).map(|v| v.to_str().unwrap())
    }

    #[test]
    fn identity_resource() {
        let res = StaticResource::new(PAGE, "text/html; charset=utf-8");
        let r = res.respond(&get(&[("accept-encoding", "gzip, br")]).view());
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(
            header(&r, header::CONTENT_TYPE),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(header(&r, header::CACHE_CONTROL), Some("no-cache"));
        assert_eq!(header(&r, header::ACCEPT_RANGES), Some("bytes"));
        assert_eq!(header(&r, header::CONTENT_ENCODING), None);
        assert_eq!(header(&r, header::VARY), None);
        let etag = conditional::bytes_etag(PAGE.as_bytes(), Coding::Identity);
        assert_eq!(header(&r, header::ETAG), Some(etag.as_str()));
        assert_eq!(body(r), PAGE);
    }

    #[test]
    fn head_gets_the_same_head_and_body() {
        let res = StaticResource::new(PAGE, "text/html");
        let g = res.respond(&get(&[]).view());
        let h = res.respond(&req(Method::HEAD, &[("range", "bytes=0-1")]).view());
        assert_eq!(h.status(), StatusCode::OK);
        assert_eq!(fields(&g), fields(&h));
        assert_eq!(h.body().exact_length(), Some(PAGE.len() as u64));
    }

    #[test]
    fn gzip_with_identity_fallback() {
        let res =
            StaticResource::precompressed(gzip(PAGE.as_bytes()), "text/html", "gzip").unwrap();
        let r = res.respond(&get(&[("accept-encoding", "gzip, deflate, br")]).view());
        assert_eq!(header(&r, header::CONTENT_ENCODING), Some("gzip"));
        assert_eq!(header(&r, header::VARY), Some("accept-encoding"));
        let gz_etag = header(&r, header::ETAG).unwrap().to_owned();
        assert!(gz_etag.ends_with("-gz\""));
        assert_eq!(body(r), gzip(PAGE.as_bytes()));

        for h in [
            &[("accept-encoding", "br, gzip;q=0")][..],
            &[],
            &[("accept-encoding", "*;q=0")],
        ] {
            let r = res.respond(&get(h).view());
            assert_eq!(r.status(), StatusCode::OK);
            assert_eq!(header(&r, header::CONTENT_ENCODING), None);
            assert_eq!(header(&r, header::VARY), Some("accept-encoding"));
            assert_ne!(header(&r, header::ETAG), Some(gz_etag.as_str()));
            assert_eq!(body(r), PAGE);
        }
    }

    #[test]
    fn precompressed_errors_and_identity() {
        let err = StaticResource::precompressed(&b"not gzip"[..], "text/html", "gzip").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        let err = StaticResource::precompressed(&b"x"[..], "text/html", "no good").unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::InvalidInput);
        assert!(StaticResource::precompressed(&b"x"[..], "text/html", "").is_err());
        let plain = StaticResource::precompressed(PAGE, "text/html", "identity").unwrap();
        let r = plain.respond(&get(&[]).view());
        assert_eq!(header(&r, header::VARY), None);
        assert_eq!(body(r), PAGE);
        let x = StaticResource::precompressed(gzip(b"x"), "text/plain", "X-GZIP").unwrap();
        let r = x.respond(&get(&[("accept-encoding", "gzip")]).view());
        assert_eq!(header(&r, header::CONTENT_ENCODING), Some("gzip"));
    }

    #[test]
    fn encoded_only_answers_406_to_others() {
        let res =
            StaticResource::precompressed(&b"brotli bytes"[..], "text/javascript", "br").unwrap();
        let r = res.respond(&get(&[("accept-encoding", "gzip, br")]).view());
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(header(&r, header::CONTENT_ENCODING), Some("br"));
        assert!(header(&r, header::ETAG).unwrap().ends_with("-br\""));
        assert_eq!(body(r), "brotli bytes");
        for h in [
            &[("accept-encoding", "gzip")][..],
            &[],
            &[("accept-encoding", "br;q=0, *")],
        ] {
            let r = res.respond(&get(h).view());
            assert_eq!(r.status(), StatusCode::NOT_ACCEPTABLE);
            assert_eq!(header(&r, header::VARY), Some("accept-encoding"));
        }
        let deflate = StaticResource::precompressed(&b"d"[..], "text/plain", "deflate").unwrap();
        let r = deflate.respond(&get(&[("accept-encoding", "deflate")]).view());
        assert_eq!(header(&r, header::CONTENT_ENCODING), Some("deflate"));
        let tag = header(&r, header::ETAG).unwrap().to_owned();
        assert!(tag.ends_with("-deflate\""));
        assert_ne!(tag, conditional::bytes_etag(b"d", Coding::Identity));
        assert_eq!(
            deflate.respond(&get(&[]).view()).status(),
            StatusCode::NOT_ACCEPTABLE
        );
    }

    #[test]
    fn if_none_match_gives_304() {
        let res =
            StaticResource::precompressed(gzip(PAGE.as_bytes()), "text/html", "gzip").unwrap();
        let first = res.respond(&get(&[("accept-encoding", "gzip")]).view());
        let etag = header(&first, header::ETAG).unwrap().to_owned();
        let r = res.respond(&get(&[("accept-encoding", "gzip"), ("if-none-match", &etag)]).view());
        assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(header(&r, header::ETAG), Some(etag.as_str()));
        assert_eq!(header(&r, header::VARY), Some("accept-encoding"));
        assert_eq!(header(&r, header::CACHE_CONTROL), Some("no-cache"));
        assert_eq!(header(&r, header::CONTENT_ENCODING), Some("gzip"));
        assert_eq!(header(&r, header::CONTENT_TYPE), None);
        assert_eq!(r.body().exact_length(), Some(0));
        // A condition that fails gives the whole answer, with the fields of one without.
        let stale = res
            .respond(&get(&[("accept-encoding", "gzip"), ("if-none-match", "\"stale\"")]).view());
        assert_eq!(stale.status(), StatusCode::OK);
        assert_eq!(fields(&stale), fields(&first));
        // The identity representation has another tag: a gzip tag does not validate it.
        let r = res.respond(&get(&[("if-none-match", &etag)]).view());
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(body(r), PAGE);
    }

    #[test]
    fn if_match_mismatch_gives_412() {
        let res = StaticResource::new(PAGE, "text/html");
        let r = res.respond(&get(&[("if-match", "\"nope\"")]).view());
        assert_eq!(r.status(), StatusCode::PRECONDITION_FAILED);
        let r = res.respond(&get(&[("if-match", "*")]).view());
        assert_eq!(r.status(), StatusCode::OK);
    }

    #[test]
    fn ranges() {
        let res = StaticResource::new("0123456789", "text/plain");
        let r = res.respond(&get(&[("range", "bytes=2-5")]).view());
        assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(header(&r, header::CONTENT_RANGE), Some("bytes 2-5/10"));
        assert_eq!(body(r), "2345");
        let r = res.respond(&get(&[("range", "bytes=-3")]).view());
        assert_eq!(body(r), "789");
        let r = res.respond(&get(&[("range", "bytes=10-")]).view());
        assert_eq!(r.status(), StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(header(&r, header::CONTENT_RANGE), Some("bytes */10"));
        assert_eq!(
            header(&r, header::CONTENT_TYPE),
            Some("text/plain; charset=utf-8")
        );
        let r = res.respond(&get(&[("range", "bytes=0-1,4-5")]).view());
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(body(r), "0123456789");
        // If-Range with a stale tag: the whole thing.
        let r = res.respond(&get(&[("range", "bytes=0-1"), ("if-range", "\"stale\"")]).view());
        assert_eq!(r.status(), StatusCode::OK);
        let empty = StaticResource::new(Bytes::new(), "text/plain");
        assert_eq!(
            empty
                .respond(&get(&[("range", "bytes=0-")]).view())
                .status(),
            StatusCode::RANGE_NOT_SATISFIABLE
        );
        assert_eq!(
            empty.respond(&get(&[]).view()).body().exact_length(),
            Some(0)
        );
    }

    #[test]
    fn bad_content_type_falls_back() {
        let res = StaticResource::new("x", "text/plain\r\nx-evil: 1");
        let r = res.respond(&get(&[]).view());
        assert_eq!(
            header(&r, header::CONTENT_TYPE),
            Some("application/octet-stream")
        );
        assert!(format!("{res:?}").contains("StaticResource"));
        let gz = StaticResource::precompressed(gzip(b"abc"), "text/plain", "gzip").unwrap();
        assert!(format!("{gz:?}").contains("gzip"));
    }

    #[test]
    fn slicing_never_panics() {
        let b = Bytes::from_static(b"abc");
        assert_eq!(slice(&b, 0, 2).unwrap(), "abc");
        assert_eq!(slice(&b, 0, 3), None);
        assert_eq!(slice(&b, 2, 1), None);
        assert_eq!(slice(&b, u64::MAX, u64::MAX), None);
    }
}
