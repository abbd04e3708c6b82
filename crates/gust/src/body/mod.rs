//! Bodies in both directions.
//!
//! * [`RequestBody`] is what a handler reads: the request body as a stream of chunks that ends
//!   with a final signal (`Ok(None)`) or an aborted one (`Err`). The connection reads the socket
//!   only while the handler keeps up, so a slow handler slows the client, never the heap.
//! * [`Body`] is what a handler answers with: empty, one buffer, or a stream of chunks (or,
//!   from a directory resource, a range of a file: `file.rs`). A
//!   response body may carry a [`Completion`] hook that learns whether the response was sent
//!   completely or aborted (the original's TRANSACTION_COMPLETE / TRANSACTION_ABORTED).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::Stream;
use tokio::sync::{mpsc, oneshot};

pub(crate) mod file;

use self::file::FileRange;
use crate::proto::shared_fields::SharedFields;

/// Why a body stopped before its end.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyError {
    /// The peer went away, timed out or sent malformed framing before the body ended.
    Aborted,
    /// The body is larger than the limit the reader asked for (answered with 413).
    TooLarge {
        /// The limit that was exceeded, in bytes.
        limit: u64,
    },
    /// The producer of a response body failed; the response is cut short.
    Producer(String),
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::Aborted => f.write_str("request body aborted by the client"),
            BodyError::TooLarge { limit } => write!(f, "body larger than {limit} bytes"),
            BodyError::Producer(why) => write!(f, "response body failed: {why}"),
        }
    }
}

impl std::error::Error for BodyError {}

/// One message from the connection to the handler reading a request body: a chunk
/// (`Ok(Some)`), the end (`Ok(None)`), or an abort. The end is explicit so that a connection
/// torn down mid-body (its sender dropped) reads as aborted, never as a short body.
pub(crate) type BodyMessage = Result<Option<Bytes>, BodyError>;

/// The request body as the handler sees it: chunks in arrival order, then the end.
///
/// Chunks are at most the connection's read size; their boundaries carry no meaning.
/// Dropping a `RequestBody` before its end is allowed: the connection discards the rest
/// (within a bound) or closes the connection.
pub struct RequestBody {
    inner: RequestBodyInner,
    /// The declared length (Content-Length), when the client sent one.
    length_hint: Option<u64>,
}

enum RequestBodyInner {
    Empty,
    Full(Option<Bytes>),
    Channel {
        rx: mpsc::Receiver<BodyMessage>,
        demand: Option<oneshot::Sender<()>>,
    },
    Source(Box<dyn BodySource>),
}

/// A request body a connection fills in place rather than through a channel (HTTP/2, which
/// must know when each chunk is consumed to give the peer its flow-control credit back).
/// Dropping the source tells the connection that nobody reads the rest.
pub(crate) trait BodySource: Send + Sync {
    /// The next chunk, the end (`Ok(None)`) or the abort, as [`RequestBody::next_chunk`].
    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<BodyMessage>;
}

impl RequestBody {
    /// A body with no bytes.
    pub fn empty() -> Self {
        RequestBody {
            inner: RequestBodyInner::Empty,
            length_hint: Some(0),
        }
    }

    /// A body that is already in memory (a buffered body, or a test).
    pub fn full(bytes: Bytes) -> Self {
        let len = bytes.len() as u64;
        RequestBody {
            inner: RequestBodyInner::Full(Some(bytes)),
            length_hint: Some(len),
        }
    }

    /// A body fed by the connection. `demand` fires the first time the handler asks for a
    /// chunk: a client that sent `Expect: 100-continue` gets its `100 Continue` only then, so
    /// a handler that answers without reading spares the client the upload.
    pub(crate) fn channel(
        rx: mpsc::Receiver<BodyMessage>,
        demand: Option<oneshot::Sender<()>>,
        length_hint: Option<u64>,
    ) -> Self {
        RequestBody {
            inner: RequestBodyInner::Channel { rx, demand },
            length_hint,
        }
    }

    /// A body read from a connection's own buffer.
    pub(crate) fn from_source(source: Box<dyn BodySource>, length_hint: Option<u64>) -> Self {
        RequestBody {
            inner: RequestBodyInner::Source(source),
            length_hint,
        }
    }

    /// The length the client declared, if it declared one.
    pub fn length_hint(&self) -> Option<u64> {
        self.length_hint
    }

    /// The next chunk: `Ok(Some(bytes))` for data (never empty), `Ok(None)` once the body has
    /// ended (the final signal), `Err` if the body was aborted.
    pub async fn next_chunk(&mut self) -> Result<Option<Bytes>, BodyError> {
        std::future::poll_fn(|cx| self.poll_chunk(cx)).await
    }

    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Bytes>, BodyError>> {
        match &mut self.inner {
            RequestBodyInner::Empty => Poll::Ready(Ok(None)),
            RequestBodyInner::Full(slot) => Poll::Ready(Ok(slot.take().filter(|b| !b.is_empty()))),
            RequestBodyInner::Channel { rx, demand } => {
                if let Some(demand) = demand.take() {
                    let _ = demand.send(());
                }
                match rx.poll_recv(cx) {
                    Poll::Ready(Some(Ok(Some(bytes)))) => Poll::Ready(Ok(Some(bytes))),
                    Poll::Ready(Some(Ok(None))) => {
                        self.inner = RequestBodyInner::Empty;
                        Poll::Ready(Ok(None))
                    }
                    Poll::Ready(Some(Err(e))) => {
                        self.inner = RequestBodyInner::Empty;
                        Poll::Ready(Err(e))
                    }
                    // A closed channel without the end marker: the connection is gone.
                    Poll::Ready(None) => Poll::Ready(Err(BodyError::Aborted)),
                    Poll::Pending => Poll::Pending,
                }
            }
            RequestBodyInner::Source(source) => {
                let message = std::task::ready!(source.poll_chunk(cx));
                if !matches!(message, Ok(Some(_))) {
                    self.inner = RequestBodyInner::Empty;
                }
                Poll::Ready(message)
            }
        }
    }

    /// Reads the whole body into memory, refusing bodies over `limit` bytes.
    pub async fn collect(mut self, limit: u64) -> Result<Bytes, BodyError> {
        if self.length_hint.is_some_and(|n| n > limit) {
            return Err(BodyError::TooLarge { limit });
        }
        let mut first: Option<Bytes> = None;
        let mut joined: Vec<u8> = Vec::new();
        let mut total: u64 = 0;
        while let Some(chunk) = self.next_chunk().await? {
            total += chunk.len() as u64;
            if total > limit {
                return Err(BodyError::TooLarge { limit });
            }
            // A single-chunk body is returned without a copy.
            match first.take() {
                None if joined.is_empty() => first = Some(chunk),
                Some(prev) => {
                    joined.extend_from_slice(&prev);
                    joined.extend_from_slice(&chunk);
                }
                None => joined.extend_from_slice(&chunk),
            }
        }
        Ok(first.unwrap_or_else(|| Bytes::from(joined)))
    }
}

impl fmt::Debug for RequestBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.inner {
            RequestBodyInner::Empty => "empty",
            RequestBodyInner::Full(_) => "full",
            RequestBodyInner::Channel { .. } | RequestBodyInner::Source(_) => "streaming",
        };
        f.debug_struct("RequestBody")
            .field("kind", &kind)
            .field("length_hint", &self.length_hint)
            .finish()
    }
}

impl Stream for RequestBody {
    type Item = Result<Bytes, BodyError>;
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().poll_chunk(cx).map(Result::transpose)
    }
}

/// How a response ended, reported to its [`Completion`] hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Every byte of the response was handed to the socket (TRANSACTION_COMPLETE).
    Complete,
    /// The response was cut short: the client went away, timed out, or the body failed
    /// (TRANSACTION_ABORTED).
    Aborted,
}

/// A hook called exactly once when the response it is attached to ends.
pub(crate) struct Completion(Option<Box<dyn FnOnce(Outcome) + Send + 'static>>);

impl Completion {
    fn fire(&mut self, outcome: Outcome) {
        if let Some(hook) = self.0.take() {
            hook(outcome);
        }
    }
}

impl Drop for Completion {
    fn drop(&mut self) {
        // A response dropped without a report (connection torn down) was not completed.
        self.fire(Outcome::Aborted);
    }
}

pub(crate) type BoxStream = Pin<Box<dyn Stream<Item = Result<Bytes, BodyError>> + Send + 'static>>;

/// A response body: empty, one buffer, or a stream of chunks.
pub struct Body {
    kind: BodyKind,
    completion: Option<Completion>,
    /// Fields of the response made once for many answers (a cached file's), sent after
    /// the response's own map.
    shared_fields: Option<SharedFields>,
}

pub(crate) enum BodyKind {
    Empty,
    Full(Bytes),
    Stream {
        stream: BoxStream,
        length: Option<u64>,
    },
    /// A range of a file: the connection picks how its bytes leave (read in chunks, or
    /// `sendfile` on a plain socket).
    File(FileRange),
}

impl BodyKind {
    /// The exact length in bytes, when it is known before sending.
    pub(crate) fn exact_length(&self) -> Option<u64> {
        match self {
            BodyKind::Empty => Some(0),
            BodyKind::Full(b) => Some(b.len() as u64),
            BodyKind::Stream { length, .. } => *length,
            BodyKind::File(range) => Some(range.remaining()),
        }
    }

    /// The same body, a file range turned into a stream of chunks (tests read bodies so).
    #[cfg(test)]
    pub(crate) fn streamed(self) -> BodyKind {
        match self {
            BodyKind::File(range) => BodyKind::Stream {
                length: Some(range.remaining()),
                stream: range.into_stream(),
            },
            other => other,
        }
    }
}

impl Body {
    /// A body with no bytes.
    pub fn empty() -> Self {
        Body {
            kind: BodyKind::Empty,
            completion: None,
            shared_fields: None,
        }
    }

    /// A body made of one buffer; its length is known, so it is sent with Content-Length.
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        Body {
            kind: BodyKind::Full(bytes.into()),
            completion: None,
            shared_fields: None,
        }
    }

    /// A streamed body of unknown length (sent chunked on HTTP/1.1, as DATA frames on HTTP/2).
    ///
    /// The stream is polled only when the connection can send more, so producing stays in
    /// step with the client's reading.
    pub fn from_stream<S>(stream: S) -> Self
    where
        S: Stream<Item = Result<Bytes, BodyError>> + Send + 'static,
    {
        Body {
            kind: BodyKind::Stream {
                stream: Box::pin(stream),
                length: None,
            },
            completion: None,
            shared_fields: None,
        }
    }

    /// A streamed body whose total length is known in advance (sent with Content-Length).
    /// The stream must yield exactly `length` bytes; fewer or more aborts the connection.
    pub fn sized_stream<S>(stream: S, length: u64) -> Self
    where
        S: Stream<Item = Result<Bytes, BodyError>> + Send + 'static,
    {
        Body {
            kind: BodyKind::Stream {
                stream: Box::pin(stream),
                length: Some(length),
            },
            completion: None,
            shared_fields: None,
        }
    }

    /// `length` bytes of `file` from `start`, read `chunk` bytes at a time where they go
    /// through memory.
    pub(crate) fn file(file: std::fs::File, start: u64, length: u64, chunk: usize) -> Self {
        Body {
            kind: BodyKind::File(FileRange::new(file, start, length, chunk)),
            completion: None,
            shared_fields: None,
        }
    }

    /// A body fed through a channel: the handler keeps the [`BodySender`] and sends chunks
    /// from anywhere (another task, a timer). At most `capacity` chunks wait unsent.
    pub fn channel(capacity: usize) -> (BodySender, Body) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        (BodySender { tx }, Body::from_stream(stream))
    }

    /// Attaches a hook called once when the response ends, with whether it was sent
    /// completely. A second call replaces the first hook (which is then never called).
    pub fn on_complete(mut self, hook: impl FnOnce(Outcome) + Send + 'static) -> Self {
        if let Some(mut old) = self.completion.take() {
            old.0 = None;
        }
        self.completion = Some(Completion(Some(Box::new(hook))));
        self
    }

    /// The exact length in bytes, when it is known before sending.
    pub fn exact_length(&self) -> Option<u64> {
        self.kind.exact_length()
    }

    pub(crate) fn into_parts(self) -> (BodyKind, Option<Completion>) {
        (self.kind, self.completion)
    }

    /// The same body, its response to be sent with `fields` after its own map.
    pub(crate) fn with_shared_fields(mut self, fields: SharedFields) -> Self {
        self.shared_fields = Some(fields);
        self
    }

    /// The shared fields its response is sent with, taken out (see
    /// [`Body::with_shared_fields`]).
    pub(crate) fn take_shared_fields(&mut self) -> Option<SharedFields> {
        self.shared_fields.take()
    }
}

/// A field `response` is sent with, from its own map or the fields its body shares (tests
/// of resources that answer with shared fields read their answers so). No field may be in
/// both.
#[cfg(test)]
pub(crate) fn sent_field<'r>(
    response: &'r http::Response<Body>,
    name: &http::HeaderName,
) -> Option<&'r http::HeaderValue> {
    let own = response.headers().get(name);
    let shared = response
        .body()
        .shared_fields
        .as_ref()
        .map(SharedFields::map);
    assert!(
        own.is_none() || shared.is_none_or(|m| !m.contains_key(name)),
        "{name} in both maps"
    );
    own.or_else(|| shared?.get(name))
}

/// All the fields `response` is sent with: its own map, then the shared ones (see
/// [`sent_field`]).
#[cfg(test)]
pub(crate) fn sent_fields(response: &http::Response<Body>) -> http::HeaderMap {
    let mut all = response.headers().clone();
    if let Some(shared) = &response.body().shared_fields {
        assert!(
            shared.map().keys().all(|name| !all.contains_key(name)),
            "a field in both maps"
        );
        all.extend(shared.map().clone());
    }
    all
}

impl Default for Body {
    fn default() -> Self {
        Body::empty()
    }
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match &self.kind {
            BodyKind::Empty => "empty",
            BodyKind::Full(_) => "full",
            BodyKind::Stream { .. } => "stream",
            BodyKind::File(_) => "file",
        };
        f.debug_struct("Body")
            .field("kind", &kind)
            .field("length", &self.exact_length())
            .finish()
    }
}

impl From<Bytes> for Body {
    fn from(b: Bytes) -> Self {
        Body::full(b)
    }
}
impl From<&'static str> for Body {
    fn from(s: &'static str) -> Self {
        Body::full(Bytes::from_static(s.as_bytes()))
    }
}
impl From<String> for Body {
    fn from(s: String) -> Self {
        Body::full(Bytes::from(s))
    }
}
impl From<Vec<u8>> for Body {
    fn from(v: Vec<u8>) -> Self {
        Body::full(Bytes::from(v))
    }
}

/// The sending side of [`Body::channel`].
#[derive(Debug, Clone)]
pub struct BodySender {
    tx: mpsc::Sender<Result<Bytes, BodyError>>,
}

impl BodySender {
    /// Sends one chunk, waiting while the body's queue is full. Fails when the response was
    /// dropped (the client went away): stop producing then.
    pub async fn send(&self, chunk: impl Into<Bytes>) -> Result<(), BodyError> {
        self.tx
            .send(Ok(chunk.into()))
            .await
            .map_err(|_| BodyError::Aborted)
    }

    /// Ends the body with an error: the client sees the response cut short.
    pub async fn abort(self, why: impl Into<String>) {
        let _ = self.tx.send(Err(BodyError::Producer(why.into()))).await;
    }
}

/// Reports the outcome on a completion hook, if there is one.
pub(crate) fn report(completion: Option<Completion>, outcome: Outcome) {
    if let Some(mut c) = completion {
        c.fire(outcome);
    }
}

/// A boxed future, the return type of handlers.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;
