//! gust: a small, exact and fast HTTP server library.
//!
//! A [`Server`] runs [`Service`]s; a service is one listener with its resource table, an
//! optional fallback resource and its [`Limits`]. A [`Resource`] sits on an exact path or a
//! glob pattern, accepts a set of methods, and serves static bytes, a directory, a handler's
//! answers, or WebSocket sessions ([`ws`]) over HTTP/1.1 and HTTP/2.
//!
//! ```text
//! socket bytes -> bounded read buffer -> proto (parse) -> router -> resource / handler
//!      ^                                                                   |
//!      +----- bounded write buffer <- proto (serialise) <- response head + body chunks
//! ```
//!
//! # Example
//!
//! ```no_run
//! use gust::{Body, Limits, Request, Resource, Response, Server, Service};
//! use http::Method;
//!
//! async fn echo(request: Request) -> Response {
//!     // Stream the request body straight back: no buffering, any size.
//!     Response::new(Body::from_stream(request.into_body()))
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let service = Service::builder("127.0.0.1:8080".parse()?)
//!         .limits(Limits { max_clients: 64, ..Limits::default() })
//!         .resource(Resource::dynamic("/echo", echo).methods([Method::GET, Method::POST]))
//!         .resource(Resource::dynamic("/hello", |_req: Request| async {
//!             Response::new(Body::from("hello\n"))
//!         }))
//!         .build()?;
//!     let mut server = Server::new().service(service);
//!     server.start().await?;
//!     println!("listening on http://{}", server.local_addrs()[0]);
//!     tokio::signal::ctrl_c().await?;
//!     server.stop().await?;
//!     Ok(())
//! }
//! ```
//!
//! # Answers to bad input
//!
//! Every limit in [`config`] names the answer past it: 413 for a buffered body over
//! `max_body_size`, 414 for a target over `max_url_length`, 431 for a head over
//! `client_buffer_size` or `max_headers`, 408 for a head not finished within
//! `request_head_timeout`. Framing that could smuggle a request (both Content-Length and
//! Transfer-Encoding, repeated Content-Length, a coding after `chunked`, bare CR, obs-fold...)
//! is answered 400 and the connection closed. A method the server does not know gets 501; a
//! known method the resource does not accept gets 405 with `Allow`. A handler that panics
//! yields a 500; the server lives on. A WebSocket opening request that breaks RFC 6455 gets
//! 400 (426 with `Sec-WebSocket-Version: 13` for another version), one past
//! `max_websockets` gets 503; inside a session, broken frames close with 1002, invalid
//! UTF-8 with 1007, a frame or message over its limit with 1009.

#![forbid(unsafe_code)]

mod body;
pub mod config;
// The fuzz targets' entry points (fuzz/): built with the `fuzzing` feature, and in the unit
// tests, which replay the seed corpus through them.
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
pub(crate) mod proto;
pub mod resource;
mod server;
mod service;
pub mod stats;
pub mod tls;
pub mod ws;

// Protocol hot paths for the criterion benches; not an API (see the module).
#[cfg(feature = "bench-internals")]
#[doc(hidden)]
pub mod bench_internals;

pub use body::{Body, BodyError, BodySender, BoxFuture, Outcome, RequestBody};
pub use config::{ConfigError, Limits};
pub use resource::{
    ContentTypes, FsResource, Handler, MethodSet, PeerAddr, Request, Resource, Response, RouteInfo,
    StaticResource,
};
pub use server::{Server, ServerError};
pub use service::{ListenerFactory, Service, ServiceBuilder};
pub use stats::{Stats, StatsSnapshot};
pub use tls::{CredentialStore, Credentials, TlsInfo, TlsOptions};

/// Re-exported so users name the same `Bytes` gust uses.
pub use bytes;
/// Re-exported so users name the same `http` types gust uses.
pub use http;
