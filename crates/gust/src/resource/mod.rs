//! Resources: what a service serves, on which paths, for which methods.
//!
//! A [`Resource`] sits on an exact path (`/uptime`) or a glob pattern (`/files/*`, `/f?o`,
//! `/f[ob]o`) and is one of four kinds: static bytes, a directory on disk, a dynamic
//! handler, or a WebSocket endpoint. The [`router`] picks one per request.

pub(crate) mod conditional;
pub(crate) mod encoding;
pub mod fs;
pub(crate) mod glob;
pub(crate) mod mime;
pub(crate) mod path;
pub(crate) mod request_view;
pub(crate) mod router;
pub mod static_content;

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use http::Method;

use crate::body::{Body, BoxFuture, RequestBody};
use crate::ws::{Endpoint, WsHandler};

pub use fs::FsResource;
pub use mime::ContentTypes;
pub use static_content::StaticResource;

/// A request as a handler sees it: the head (method, normalised path and query, headers,
/// extensions such as [`RouteInfo`] and [`PeerAddr`]) and the body stream.
pub type Request = http::Request<RequestBody>;
/// A handler's answer.
pub type Response = http::Response<Body>;

/// A dynamic resource's handler.
///
/// Many requests may run one handler at once, on any connection and any protocol. Closures
/// `Fn(Request) -> impl Future<Output = Response>` implement it.
pub trait Handler: Send + Sync + 'static {
    /// Answers one request. The response's body may be streamed, and may be produced while
    /// the request body is still arriving (an echo).
    fn call(&self, request: Request) -> BoxFuture<Response>;
}

impl<F, Fut> Handler for F
where
    F: Fn(Request) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Response> + Send + 'static,
{
    fn call(&self, request: Request) -> BoxFuture<Response> {
        Box::pin(self(request))
    }
}

/// Where the router found a request, stored in the request's extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    /// The resource's path or pattern, as declared (`"/files/*"`); `None` for the fallback.
    pub pattern: Option<Arc<str>>,
    /// Length of the request path's literal prefix the pattern fixes (`"/files"` for
    /// `"/files/*"`); the rest is the part the pattern matched.
    pub prefix_len: usize,
}

/// The client's socket address, stored in the request's extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub std::net::SocketAddr);

/// The methods a resource accepts, as a small bit set over the methods the server knows.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct MethodSet(u16);

/// The methods the server knows, in the order `Allow` lists them. A method outside this
/// list is answered with 501 Not Implemented on every path.
pub(crate) const KNOWN_METHODS: [Method; 9] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::PATCH,
    Method::OPTIONS,
    Method::TRACE,
    Method::CONNECT,
];

impl MethodSet {
    /// No methods.
    pub const EMPTY: MethodSet = MethodSet(0);
    /// `GET` and `HEAD` (a resource that answers GET answers HEAD: RFC 9110 9.3.2).
    pub const GET: MethodSet = MethodSet(0b11);

    fn bit(method: &Method) -> Option<u16> {
        KNOWN_METHODS
            .iter()
            .position(|m| m == method)
            .map(|i| 1 << i)
    }

    /// Whether `method` is one the server knows at all.
    pub fn is_known(method: &Method) -> bool {
        Self::bit(method).is_some()
    }

    /// This set plus `method`; adding GET adds HEAD too. Unknown methods are ignored.
    #[must_use]
    pub fn with(self, method: Method) -> Self {
        let mut bits = self.0 | Self::bit(&method).unwrap_or(0);
        if method == Method::GET {
            bits |= MethodSet::GET.0;
        }
        MethodSet(bits)
    }

    /// Whether the set holds `method`.
    pub fn contains(&self, method: &Method) -> bool {
        Self::bit(method).is_some_and(|b| self.0 & b != 0)
    }

    /// The `Allow` header value: the set's methods plus OPTIONS, comma-separated.
    pub fn allow_header(&self) -> String {
        let with_options = self.with(Method::OPTIONS);
        let mut out = String::new();
        for m in KNOWN_METHODS.iter().filter(|m| with_options.contains(m)) {
            if !out.is_empty() {
                out.push_str(", ");
            }
            out.push_str(m.as_str());
        }
        out
    }
}

impl<const N: usize> From<[Method; N]> for MethodSet {
    fn from(methods: [Method; N]) -> Self {
        methods.into_iter().fold(MethodSet::EMPTY, MethodSet::with)
    }
}

impl fmt::Debug for MethodSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MethodSet({})", self.allow_header())
    }
}

/// What a resource serves.
#[derive(Clone)]
#[non_exhaustive]
pub enum ResourceKind {
    /// Bytes in memory.
    Static(Arc<StaticResource>),
    /// A directory on disk.
    Fs(Arc<FsResource>),
    /// A handler.
    Dynamic(Arc<dyn Handler>),
    /// A WebSocket endpoint: its handler runs once per accepted session.
    WebSocket(Arc<Endpoint>),
}

impl fmt::Debug for ResourceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ResourceKind::Static(_) => "Static",
            ResourceKind::Fs(_) => "Fs",
            ResourceKind::Dynamic(_) => "Dynamic",
            ResourceKind::WebSocket(_) => "WebSocket",
        })
    }
}

/// One resource: a path or pattern, the methods it accepts, and what it serves.
#[derive(Debug, Clone)]
pub struct Resource {
    pub(crate) path: Arc<str>,
    pub(crate) methods: MethodSet,
    pub(crate) kind: ResourceKind,
    pub(crate) handles_options: bool,
    pub(crate) buffer_body: bool,
}

impl Resource {
    fn new(path: &str, methods: MethodSet, kind: ResourceKind) -> Self {
        Resource {
            path: path.into(),
            methods,
            kind,
            handles_options: false,
            buffer_body: false,
        }
    }

    /// Static bytes on `path`, for GET and HEAD.
    pub fn static_content(path: &str, content: StaticResource) -> Self {
        Self::new(
            path,
            MethodSet::GET,
            ResourceKind::Static(Arc::new(content)),
        )
    }

    /// A directory served from disk on `path` (usually a pattern such as `/files/*`), for
    /// GET and HEAD. The pattern's literal prefix (`/files`) is removed before the file is
    /// looked up, so `/files/a.txt` is `<root>/a.txt`; on an exact path or as a fallback the
    /// whole request path is looked up.
    pub fn fs(path: &str, dir: FsResource) -> Self {
        Self::new(path, MethodSet::GET, ResourceKind::Fs(Arc::new(dir)))
    }

    /// A handler on `path`, for GET and HEAD until [`Resource::methods`] says otherwise.
    pub fn dynamic(path: &str, handler: impl Handler) -> Self {
        Self::new(
            path,
            MethodSet::GET,
            ResourceKind::Dynamic(Arc::new(handler)),
        )
    }

    /// A WebSocket endpoint on `path`, served by `handler` (see [`crate::ws`]). Only
    /// WebSocket opening requests reach it (an HTTP/1.1 `GET` with `Upgrade: websocket`, an
    /// HTTP/2 `CONNECT` with `:protocol websocket`), so it can share a path with a page.
    /// permessage-deflate is offered to clients that ask; see [`Resource::compression`].
    pub fn websocket(path: &str, handler: impl WsHandler) -> Self {
        Self::new(
            path,
            MethodSet::GET,
            ResourceKind::WebSocket(Arc::new(Endpoint {
                handler: Arc::new(handler),
                protocols: Vec::new(),
                compression: true,
            })),
        )
    }

    /// For a WebSocket resource: the subprotocols it speaks (`Sec-WebSocket-Protocol`).
    /// Of those a client offers, the client's first choice is agreed on; a client that
    /// offers none of them gets no subprotocol (RFC 6455 4.2.2), and may then leave.
    /// Ignored on other resources.
    pub fn subprotocols<I, S>(mut self, protocols: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        if let ResourceKind::WebSocket(endpoint) = &mut self.kind {
            Arc::make_mut(endpoint).protocols = protocols.into_iter().map(Into::into).collect();
        }
        self
    }

    /// For a WebSocket resource: whether permessage-deflate (RFC 7692) may be negotiated
    /// (default: yes, when the client offers it). Ignored on other resources.
    pub fn compression(mut self, enabled: bool) -> Self {
        if let ResourceKind::WebSocket(endpoint) = &mut self.kind {
            Arc::make_mut(endpoint).compression = enabled;
        }
        self
    }

    /// Sets the methods the resource accepts; others get 405 with `Allow`.
    pub fn methods(mut self, methods: impl Into<MethodSet>) -> Self {
        self.methods = methods.into();
        self
    }

    /// Lets the handler answer OPTIONS itself (CORS pre-flight); otherwise the server answers
    /// OPTIONS with 204 and `Allow`.
    pub fn handles_options(mut self) -> Self {
        self.handles_options = true;
        self.methods = self.methods.with(Method::OPTIONS);
        self
    }

    /// Asks the server to collect the request body before calling the handler, bounded by the
    /// service's `max_body_size` (over it: 413, without calling the handler).
    pub fn buffered_body(mut self) -> Self {
        self.buffer_body = true;
        self
    }

    /// The path or pattern the resource sits on.
    pub fn path(&self) -> &str {
        &self.path
    }

    pub(crate) fn is_websocket(&self) -> bool {
        matches!(self.kind, ResourceKind::WebSocket(_))
    }
}
