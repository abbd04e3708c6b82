//! WebSocket sessions as a handler sees them, the same over an HTTP/1.1 upgrade (RFC 6455)
//! and an HTTP/2 extended CONNECT (RFC 8441).
//!
//! A WebSocket resource ([`Resource::websocket`](crate::Resource::websocket)) gets a
//! [`WebSocket`] per accepted session: [`WebSocket::recv`] yields whole messages (text is
//! checked UTF-8, fragments joined, pings answered for you), [`WebSocket::send`] queues one.
//! [`WebSocket::sender`] gives a cloneable [`WsSender`] for other tasks (a timer pushing
//! statistics). The session ends when the peer closes, when the handler returns (close
//! 1000), on [`WsSender::close`], on a broken rule (1002, 1007, 1009), after
//! `ws_idle_timeout` of silence (1001), or when the server stops (1001).
//!
//! Backpressure: sends wait while the peer is not reading (the server holds at most
//! `write_buffer_size` bytes of encoded frames, plus a few queued messages), and messages
//! not yet taken by [`WebSocket::recv`] stop the server from reading the peer. A slow peer
//! slows its handler; it never grows memory.
//!
//! ```
//! use gust::ws::WebSocket;
//! use gust::Resource;
//!
//! async fn echo(mut socket: WebSocket) {
//!     while let Some(message) = socket.recv().await {
//!         if socket.send(message).await.is_err() {
//!             break;
//!         }
//!     }
//! }
//!
//! let resource = Resource::websocket("/ws_echo", echo);
//! # let _ = resource;
//! ```

use std::fmt;
use std::future::Future;
use std::ops::Deref;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;

use crate::body::BoxFuture;

/// Text known to be UTF-8, held as `Bytes` so that a received message can be sent back
/// without a copy.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Text(Bytes);

impl Text {
    /// Text from bytes, if they are UTF-8.
    pub fn from_utf8(bytes: Bytes) -> Result<Text, std::str::Utf8Error> {
        std::str::from_utf8(&bytes)?;
        Ok(Text(bytes))
    }

    /// From bytes the caller (the message assembler) has checked.
    pub(crate) fn from_checked(bytes: Bytes) -> Text {
        debug_assert!(std::str::from_utf8(&bytes).is_ok());
        Text(bytes)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        // Every constructor checks, or is given checked bytes.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The UTF-8 bytes.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<String> for Text {
    fn from(s: String) -> Text {
        Text(Bytes::from(s))
    }
}

impl From<&'static str> for Text {
    fn from(s: &'static str) -> Text {
        Text(Bytes::from_static(s.as_bytes()))
    }
}

/// A whole WebSocket message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message.
    Text(Text),
    /// A binary message.
    Binary(Bytes),
}

impl Message {
    /// A text message.
    pub fn text(text: impl Into<Text>) -> Message {
        Message::Text(text.into())
    }

    /// A binary message.
    pub fn binary(data: impl Into<Bytes>) -> Message {
        Message::Binary(data.into())
    }

    /// The payload's length in bytes.
    pub fn len(&self) -> usize {
        match self {
            Message::Text(t) => t.0.len(),
            Message::Binary(b) => b.len(),
        }
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl From<String> for Message {
    fn from(s: String) -> Message {
        Message::text(s)
    }
}

impl From<&'static str> for Message {
    fn from(s: &'static str) -> Message {
        Message::text(s)
    }
}

impl From<Bytes> for Message {
    fn from(b: Bytes) -> Message {
        Message::Binary(b)
    }
}

impl From<Vec<u8>> for Message {
    fn from(b: Vec<u8>) -> Message {
        Message::Binary(Bytes::from(b))
    }
}

/// How a session ended, as the peer said in its close frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    /// The status code (RFC 6455 7.4): 1000 normal, 1001 going away, ...
    pub code: u16,
    /// The peer's reason, often empty.
    pub reason: String,
}

/// The session is over: nothing more can be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Closed;

impl fmt::Display for Closed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the WebSocket session is closed")
    }
}

impl std::error::Error for Closed {}

/// What the session hands the handler.
#[derive(Debug)]
pub(crate) enum Incoming {
    Message(Message),
    /// The peer's close frame (`None` when it had no code, or the session failed or was
    /// cut); nothing follows.
    Closed(Option<CloseFrame>),
}

/// What the handler hands the session.
#[derive(Debug)]
pub(crate) enum Outgoing {
    Message(Message),
    Close(u16, String),
}

/// An accepted WebSocket session, given to the resource's handler.
#[derive(Debug)]
pub struct WebSocket {
    incoming: mpsc::Receiver<Incoming>,
    sender: WsSender,
    request: http::request::Parts,
    protocol: Option<String>,
    peer_close: Option<CloseFrame>,
}

impl WebSocket {
    pub(crate) fn new(
        incoming: mpsc::Receiver<Incoming>,
        outgoing: mpsc::Sender<Outgoing>,
        request: http::request::Parts,
        protocol: Option<String>,
    ) -> WebSocket {
        WebSocket {
            incoming,
            sender: WsSender { tx: outgoing },
            request,
            protocol,
            peer_close: None,
        }
    }

    /// The next message; `None` once the session is over (see [`WebSocket::close_frame`]).
    pub async fn recv(&mut self) -> Option<Message> {
        match self.incoming.recv().await {
            Some(Incoming::Message(message)) => Some(message),
            Some(Incoming::Closed(close)) => {
                self.peer_close = close;
                self.incoming.close();
                None
            }
            None => None,
        }
    }

    /// Queues a message, waiting while the peer is behind. Fails once the session is over.
    pub async fn send(&self, message: impl Into<Message>) -> Result<(), Closed> {
        self.sender.send(message).await
    }

    /// A handle that sends on this session from anywhere.
    pub fn sender(&self) -> WsSender {
        self.sender.clone()
    }

    /// Starts the closing handshake with `code` and `reason`; see [`WsSender::close`].
    pub async fn close(&self, code: u16, reason: &str) -> Result<(), Closed> {
        self.sender.close(code, reason).await
    }

    /// The opening request's head: path, query, headers and extensions such as
    /// [`PeerAddr`](crate::PeerAddr). Over HTTP/2 the method is CONNECT.
    pub fn request(&self) -> &http::request::Parts {
        &self.request
    }

    /// The subprotocol agreed on (`Sec-WebSocket-Protocol`), if any.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// The peer's close frame, once [`WebSocket::recv`] has returned `None` because the
    /// peer closed with a status code.
    pub fn close_frame(&self) -> Option<&CloseFrame> {
        self.peer_close.as_ref()
    }
}

/// Sends on a session from any task. Cheap to clone.
#[derive(Debug, Clone)]
pub struct WsSender {
    tx: mpsc::Sender<Outgoing>,
}

impl WsSender {
    /// Queues a message, waiting while the peer is behind. Fails once the session is over.
    pub async fn send(&self, message: impl Into<Message>) -> Result<(), Closed> {
        self.tx
            .send(Outgoing::Message(message.into()))
            .await
            .map_err(|_| Closed)
    }

    /// Starts the closing handshake: the close frame goes out after the messages already
    /// queued, the session waits for the peer's answer, then ends. A code that may not be
    /// sent (outside 1000-4999, or 1004, 1005, 1006, 1015) is replaced by 1000; the reason
    /// is cut to 123 bytes.
    pub async fn close(&self, code: u16, reason: &str) -> Result<(), Closed> {
        self.tx
            .send(Outgoing::Close(code, reason.to_owned()))
            .await
            .map_err(|_| Closed)
    }

    /// Whether the session is over.
    pub fn is_closed(&self) -> bool {
        self.tx.is_closed()
    }
}

/// A WebSocket resource's handler: runs once per accepted session. When it returns, the
/// session is closed with 1000 (if still open). Closures
/// `Fn(WebSocket) -> impl Future<Output = ()>` implement it.
pub trait WsHandler: Send + Sync + 'static {
    /// Serves one session.
    fn call(&self, socket: WebSocket) -> BoxFuture<()>;
}

impl<F, Fut> WsHandler for F
where
    F: Fn(WebSocket) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    fn call(&self, socket: WebSocket) -> BoxFuture<()> {
        Box::pin(self(socket))
    }
}

/// A WebSocket resource's settings: its handler, the subprotocols it speaks, whether it
/// compresses. Made by [`Resource::websocket`](crate::Resource::websocket).
#[derive(Clone)]
pub struct Endpoint {
    pub(crate) handler: Arc<dyn WsHandler>,
    /// The subprotocols the resource speaks. Of those the client offers, its first choice
    /// wins (RFC 6455 4.2.2 leaves the pick to the server; the client's order is the one
    /// that says what it prefers).
    pub(crate) protocols: Vec<String>,
    /// Whether permessage-deflate may be negotiated.
    pub(crate) compression: bool,
}

impl Endpoint {
    /// The first protocol in the client's list that the resource speaks.
    pub(crate) fn select_protocol(&self, offered: &[String]) -> Option<String> {
        offered
            .iter()
            .find(|p| self.protocols.iter().any(|ours| ours == *p))
            .cloned()
    }
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Endpoint")
            .field("protocols", &self.protocols)
            .field("compression", &self.compression)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_checks_utf8() {
        assert!(Text::from_utf8(Bytes::from_static(b"\xff")).is_err());
        let t = Text::from_utf8(Bytes::from_static("héllo".as_bytes())).unwrap();
        assert_eq!(&*t, "héllo");
        assert_eq!(Message::text("abc").len(), 3);
    }

    #[test]
    fn the_clients_preference_picks_the_protocol() {
        let endpoint = Endpoint {
            handler: Arc::new(|_: WebSocket| async {}),
            protocols: vec!["b".into(), "a".into()],
            compression: false,
        };
        let offered = vec!["x".to_owned(), "a".to_owned(), "b".to_owned()];
        assert_eq!(endpoint.select_protocol(&offered).as_deref(), Some("a"));
        assert_eq!(endpoint.select_protocol(&["x".to_owned()]), None);
    }
}
