//! From a request head to a response future, the same for every protocol: normalise the
//! path, route, check the method, and hand the request to its resource.

use std::borrow::Cow;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::future::CatchUnwind;
use futures_util::FutureExt;
use http::{header, HeaderValue, Method, StatusCode, Uri};
use percent_encoding::utf8_percent_encode;

use super::ws::WsUpgrade;
use super::ConnCtx;
use crate::body::{Body, BodyError, BoxFuture, RequestBody};
use crate::proto::field_list::FieldList;
use crate::proto::target_strings;
use crate::proto::ws::{
    check_extended_connect, check_upgrade, negotiate, DeflateConfig, HandshakeError,
    SUPPORTED_VERSION,
};
use crate::resource::path::{self, PATH_UNSAFE};
use crate::resource::request_view::{query_fits_uri, RequestView, URI_MAX_LEN};
use crate::resource::KNOWN_METHODS;
use crate::resource::{MethodSet, PeerAddr, Request, ResourceKind, Response, RouteInfo};
use crate::tls::TlsInfo;
use crate::ws::Endpoint;

/// A response on its way: ready at once (errors, static content, cached files), which
/// costs no allocation, or a handler's future.
pub(crate) enum Answer {
    /// Taken by the first poll.
    Ready(Option<Response>),
    /// A handler's future: a panic in it answers 500 and the server lives on.
    Handler(CatchUnwind<AssertUnwindSafe<BoxFuture<Response>>>),
    /// One of ours that may wait (a file read).
    Pending(BoxFuture<Response>),
}

impl Future for Answer {
    type Output = Response;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Response> {
        match self.get_mut() {
            Answer::Ready(response) => Poll::Ready(response.take().unwrap_or_else(|| {
                // Polled again after its answer: a bug of ours, answered as one.
                debug_assert!(false, "an answer was polled after completion");
                error_response(StatusCode::INTERNAL_SERVER_ERROR, "answered twice")
            })),
            Answer::Handler(future) => future.poll_unpin(cx).map(|result| {
                result.unwrap_or_else(|_| {
                    tracing::error!("handler panicked; answering 500");
                    error_response(StatusCode::INTERNAL_SERVER_ERROR, "the handler failed")
                })
            }),
            Answer::Pending(future) => future.as_mut().poll(cx),
        }
    }
}

/// What the connection must do with a request.
pub(crate) struct Dispatched {
    /// The response, once ready.
    pub(crate) response: Answer,
    /// False when the request was answered without anyone reading its body (an error, a
    /// static file): the connection discards the body or closes.
    pub(crate) reads_body: bool,
    /// An accepted WebSocket opening: `response` is its 101 (HTTP/1.1) or 200 (HTTP/2),
    /// ready at once, and the connection runs the session after sending it.
    pub(crate) websocket: Option<Box<WsUpgrade>>,
    /// The request's fields' container, emptied or no longer needed (the request was
    /// answered at once, or its fields moved into a handler's map): the connection may
    /// fill it with a later request's fields instead of allocating one.
    pub(crate) spent_fields: Option<FieldList>,
}

/// The head of a request as every protocol hands it over.
pub(crate) struct Head {
    pub(crate) method: Method,
    /// The request target as sent: `/path?query`, or `*`.
    pub(crate) target: String,
    pub(crate) version: http::Version,
    /// The regular fields, in arrival order (see [`FieldList`]).
    pub(crate) headers: FieldList,
    /// The client asks to open a WebSocket: an HTTP/1.1 GET with `Upgrade: websocket`, or
    /// an HTTP/2 extended CONNECT. Only WebSocket resources are considered for it.
    pub(crate) websocket: bool,
    /// HTTP/2 `:protocol` (RFC 8441), of an extended CONNECT.
    pub(crate) protocol: Option<Box<str>>,
}

/// Routes one request. `now` is a time the connection has read already, a moment before:
/// what a cached file's freshness is judged by (one clock read fewer per request, a
/// measurable share of a small HTTP/2 answer).
pub(crate) fn dispatch(
    ctx: &ConnCtx,
    mut head: Head,
    body: RequestBody,
    now: std::time::Instant,
) -> Dispatched {
    let ConnCtx {
        router,
        limits,
        stats,
        ..
    } = ctx;
    stats.request(head.version);
    let immediate = |response: Response| Dispatched {
        response: Answer::Ready(Some(response)),
        reads_body: false,
        websocket: None,
        spent_fields: None,
    };
    if head.target == "*" {
        return immediate(if head.method == Method::OPTIONS {
            options_response(
                &KNOWN_METHODS
                    .iter()
                    .cloned()
                    .fold(MethodSet::EMPTY, MethodSet::with),
            )
        } else {
            error_response(StatusCode::BAD_REQUEST, "'*' is a target for OPTIONS only")
        });
    }
    if !MethodSet::is_known(&head.method) {
        return immediate(error_response(
            StatusCode::NOT_IMPLEMENTED,
            "unknown method",
        ));
    }
    if head.method == Method::CONNECT && !head.websocket {
        return immediate(error_response(
            StatusCode::NOT_IMPLEMENTED,
            "CONNECT is not supported",
        ));
    }
    // A byte search: `split_once('?')`'s searcher cost several times more on short targets.
    let (raw_path, query) = match head.target.bytes().position(|b| b == b'?') {
        Some(at) => (&head.target[..at], Some(&head.target[at + 1..])),
        None => (head.target.as_str(), None),
    };
    let normalized = match path::normalize(raw_path) {
        Ok(n) => n,
        Err(e) => return immediate(error_response(StatusCode::BAD_REQUEST, e.reason())),
    };
    let Some(route) = router.route(&normalized.path, head.websocket) else {
        return immediate(error_response(
            StatusCode::NOT_FOUND,
            "no resource on this path",
        ));
    };
    let resource = route.resource;
    // A WebSocket opening is checked by the handshake rules (method included) below.
    if head.method == Method::OPTIONS && !resource.handles_options && !head.websocket {
        return immediate(options_response(&resource.methods));
    }
    if !resource.methods.contains(&head.method) && !head.websocket {
        let mut response = error_response(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed on this resource",
        );
        if let Ok(allow) = HeaderValue::from_str(&resource.methods.allow_header()) {
            response.headers_mut().insert(header::ALLOW, allow);
        }
        return immediate(response);
    }

    // The path as a URI holds it: the target's own where normalising found it fit (most
    // targets), else the normalised path encoded again (a decoded `%20` is a space, which a
    // URI cannot hold). Such a path always makes a URI; a query may not, and a request
    // whose target makes no URI gets 400 whichever resource it is for.
    let encoded_path: Option<String> = (!normalized.uri_ready)
        .then(|| Cow::<str>::from(utf8_percent_encode(&normalized.path, PATH_UNSAFE)).into_owned());
    let uri_path = encoded_path.as_deref().unwrap_or(raw_path);
    let uri_len = uri_path.len() + query.map_or(0, |q| q.len() + 1);
    if uri_len > URI_MAX_LEN || !query.is_none_or(query_fits_uri) {
        return immediate(malformed_target());
    }
    let had_encoded_slash = normalized.had_encoded_slash;
    // The built-in resources read the head where it lies; only a handler gets a request
    // built (the URI parsed, the parts moved), which cost a small answer a tenth of its time.
    let view = RequestView {
        method: &head.method,
        path: uri_path,
        query,
        headers: &head.headers,
    };
    // Below the prefix, the decoded path names a file.
    let relative = normalized.path.get(route.info.prefix_len..).unwrap_or("");
    match &resource.kind {
        ResourceKind::Static(content) => {
            let response = content.respond(&view);
            answered_at_once(response, head)
        }
        ResourceKind::Fs(dir) => {
            // A cached file (or a refused path) is answered here, without a future.
            if let Some(response) = dir.respond_now(&view, relative, had_encoded_slash, now) {
                return answered_at_once(response, head);
            }
            // The look-up waits for the file system: the future owns what it reads.
            let path = uri_path.to_owned();
            let query = query.map(str::to_owned);
            let relative = relative.to_owned();
            let (method, fields) = (head.method, head.headers);
            let dir = dir.clone();
            Dispatched {
                response: Answer::Pending(Box::pin(async move {
                    let view = RequestView {
                        method: &method,
                        path: &path,
                        query: query.as_deref(),
                        headers: &fields,
                    };
                    dir.respond(&view, &relative, had_encoded_slash).await
                })),
                reads_body: false,
                websocket: None,
                spent_fields: None,
            }
        }
        ResourceKind::Dynamic(handler) => {
            let rebuilt_target = encoded_path.map(|path| with_query(path, query));
            let Some((request, spent_fields)) =
                handler_request(ctx, head, rebuilt_target, body, route.info)
            else {
                return immediate(malformed_target());
            };
            let handler = handler.clone();
            let response: BoxFuture<Response> = if resource.buffer_body {
                let limit = limits.max_body_size;
                Box::pin(async move {
                    let (parts, body) = request.into_parts();
                    match body.collect(limit).await {
                        Ok(bytes) => {
                            handler
                                .call(Request::from_parts(parts, RequestBody::full(bytes)))
                                .await
                        }
                        Err(BodyError::TooLarge { .. }) => error_response(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            "request body larger than max_body_size",
                        ),
                        Err(_) => error_response(StatusCode::BAD_REQUEST, "request body aborted"),
                    }
                })
            } else {
                handler.call(request)
            };
            Dispatched {
                response: Answer::Handler(AssertUnwindSafe(response).catch_unwind()),
                reads_body: true,
                websocket: None,
                spent_fields,
            }
        }
        ResourceKind::WebSocket(endpoint) => {
            let rebuilt_target = encoded_path.map(|path| with_query(path, query));
            let protocol = head.protocol.take();
            let Some((request, spent_fields)) =
                handler_request(ctx, head, rebuilt_target, body, route.info)
            else {
                return immediate(malformed_target());
            };
            Dispatched {
                spent_fields,
                ..open_websocket(ctx, endpoint, request, protocol.as_deref())
            }
        }
    }
}

/// `path?query`, or `path` alone.
fn with_query(mut path: String, query: Option<&str>) -> String {
    if let Some(query) = query {
        path.push('?');
        path.push_str(query);
    }
    path
}

/// The request a handler (or a WebSocket endpoint) gets: its URI is the target as sent, or
/// `rebuilt_target` where the path had to be encoded again; what only handlers read (the
/// peer, TLS, the route) goes into the extensions, an allocation or more each. Also what
/// the connection may reuse of the head's fields.
fn handler_request(
    ctx: &ConnCtx,
    head: Head,
    rebuilt_target: Option<String>,
    body: RequestBody,
    route: RouteInfo,
) -> Option<(Request, Option<FieldList>)> {
    let uri = match rebuilt_target {
        Some(target) => target.parse::<Uri>(),
        None => Uri::try_from(head.target),
    };
    // dispatch let through only targets that make a URI; should http's parser ever come to
    // disagree with those checks, the request still gets an answer (400), not a panic.
    let uri = match uri {
        Ok(uri) => uri,
        Err(e) => {
            debug_assert!(false, "a checked request target made no URI: {e}");
            tracing::error!(error = %e, "a checked request target made no URI; answering 400");
            return None;
        }
    };
    let mut request = http::Request::new(body);
    *request.method_mut() = head.method;
    *request.uri_mut() = uri;
    *request.version_mut() = head.version;
    let mut fields = head.headers;
    *request.headers_mut() = fields.drain_into_map();
    let extensions = request.extensions_mut();
    extensions.insert(PeerAddr(ctx.peer));
    if let Some(tls) = &ctx.tls {
        extensions.insert(TlsInfo::clone(tls));
    }
    extensions.insert(route);
    Some((request, Some(fields)))
}

/// 400 for a target that makes no URI.
fn malformed_target() -> Response {
    error_response(StatusCode::BAD_REQUEST, "malformed request target")
}

/// Checks a WebSocket opening request against RFC 6455 (HTTP/1.1) or RFC 8441 (HTTP/2) and
/// the service's session limit; on success, the answer that accepts it and what the
/// connection needs to run the session.
fn open_websocket(
    ctx: &ConnCtx,
    endpoint: &std::sync::Arc<Endpoint>,
    request: Request,
    protocol: Option<&str>,
) -> Dispatched {
    match accept_websocket(ctx, endpoint, request, protocol) {
        Ok((response, upgrade)) => Dispatched {
            response: Answer::Ready(Some(response)),
            reads_body: true,
            websocket: Some(upgrade),
            spent_fields: None,
        },
        Err(refusal) => Dispatched {
            response: Answer::Ready(Some(*refusal)),
            reads_body: false,
            websocket: None,
            spent_fields: None,
        },
    }
}

/// A request answered by a resource that kept nothing of it: its fields are given back,
/// and its target's string.
fn answered_at_once(response: Response, head: Head) -> Dispatched {
    target_strings::give_back(head.target);
    Dispatched {
        response: Answer::Ready(Some(response)),
        reads_body: false,
        websocket: None,
        spent_fields: Some(head.headers),
    }
}

fn accept_websocket(
    ctx: &ConnCtx,
    endpoint: &std::sync::Arc<Endpoint>,
    request: Request,
    protocol: Option<&str>,
) -> Result<(Response, Box<WsUpgrade>), Box<Response>> {
    let (parts, body) = request.into_parts();
    let checked = if parts.version == http::Version::HTTP_2 {
        check_extended_connect(&parts.method, protocol, &parts.headers)
    } else {
        check_upgrade(&parts.method, parts.version, &parts.headers)
    };
    let handshake = checked.map_err(|e| {
        tracing::debug!(peer = %ctx.peer, reason = e.reason(), "WebSocket opening refused");
        Box::new(handshake_refusal(e))
    })?;
    let Ok(permit) = ctx.websockets.clone().try_acquire_owned() else {
        let mut response = error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "too many WebSocket sessions (max_websockets)",
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        return Err(Box::new(response));
    };
    let mut response = http::Response::new(Body::empty());
    *response.status_mut() = handshake.status();
    let headers = response.headers_mut();
    if let Some(accept) = &handshake.accept {
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        headers.insert(header::SEC_WEBSOCKET_ACCEPT, accept.clone());
    }
    let deflate = if endpoint.compression && handshake.permessage_deflate {
        negotiate(&parts.headers, &DeflateConfig::default())
    } else {
        None
    };
    if let Some(agreed) = &deflate {
        headers.insert(header::SEC_WEBSOCKET_EXTENSIONS, agreed.response.clone());
    }
    let agreed = endpoint.select_protocol(&handshake.protocols);
    if let Some(p) = &agreed {
        // Offered protocols are checked tokens, so the value is valid.
        if let Ok(value) = HeaderValue::from_str(p) {
            headers.insert(header::SEC_WEBSOCKET_PROTOCOL, value);
        }
    }
    let upgrade = WsUpgrade {
        endpoint: endpoint.clone(),
        request: parts,
        protocol: agreed,
        deflate: deflate.map(|d| d.params),
        body,
        permit,
        open: ctx.stats.open_websocket(),
    };
    Ok((response, Box::new(upgrade)))
}

/// 400 for a malformed opening, 426 with the version we speak for another version
/// (RFC 6455 4.2.2).
fn handshake_refusal(error: HandshakeError) -> Response {
    let mut response = error_response(error.status(), error.reason());
    if error == HandshakeError::UnsupportedVersion {
        response.headers_mut().insert(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static(SUPPORTED_VERSION),
        );
    }
    response
}

fn options_response(methods: &MethodSet) -> Response {
    let mut response = http::Response::new(Body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    if let Ok(allow) = HeaderValue::from_str(&methods.allow_header()) {
        response.headers_mut().insert(header::ALLOW, allow);
    }
    response
}

/// A short plain-text error answer: `404 Not Found: no resource on this path`.
pub(crate) fn error_response(status: StatusCode, reason: &str) -> Response {
    let text = format!(
        "{} {}: {}\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or(""),
        reason
    );
    let mut response = http::Response::new(Body::full(Bytes::from(text)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
