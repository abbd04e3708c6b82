//! The WebSocket session driver: one task's loop around `proto::ws::conn::Session`, the
//! same over an HTTP/1.1 connection taken over after its 101 and over an HTTP/2 stream
//! after its 200.
//!
//! The loop moves bytes between the transport and the session, messages between the
//! session and the handler (run in the same loop, so a session costs no extra task), and
//! keeps the time. Every queue is bounded:
//!
//! - from the peer: the read buffer holds at most one frame (`ws_max_frame_size`) and
//!   part of the next; nothing more is read while a decoded message waits for the handler
//!   (whose queue holds [`APP_QUEUE`] messages), nor while `write_buffer_size` of our
//!   frames (pongs included) waits for the peer to read;
//! - to the peer: the handler's messages are taken only while less than
//!   `write_buffer_size` bytes wait for the transport, so a peer that does not read
//!   makes the handler's `send` wait, and one that reads nothing for
//!   `inactivity_timeout` is dropped.
//!
//! Timers: a peer silent for `ws_ping_interval` is pinged; one silent for
//! `ws_idle_timeout` is closed with 1001. Once our close frame is out (the handler
//! returned, the server stops, the idle timeout), the peer has [`CLOSE_TIMEOUT`] to
//! answer before the transport is cut.
//!
//! When the peer closes or breaks a rule, nothing more is read, but the handler gets up to
//! [`DRAIN_TIMEOUT`] to answer the messages it received before: an echo of a message that
//! came in the same read as a broken frame goes out before the close frame (what Autobahn
//! counts as strict behaviour, and what a client that pipelines expects).

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::FutureExt;
use tokio::io::{AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit};
use tokio::time::{sleep_until, Instant};

use super::outbox::Outbox;
use super::transport::ReadSide;
use crate::body::{BodyError, RequestBody};
use crate::config::Limits;
use crate::proto::ws::conn::{Config, Event, Session};
use crate::proto::ws::{CloseCode, DeflateConfig, DeflateParams, Message as WireMessage, Opcode};
use crate::stats::OpenGuard;
use crate::ws::{CloseFrame, Endpoint, Incoming, Message, Outgoing, Text, WebSocket};

/// Messages queued between the session and its handler, each way.
const APP_QUEUE: usize = 16;
/// How long the peer has to answer our close frame, and to take our last bytes.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long an ending session waits for its handler to answer what it received before the
/// peer closed or failed the session.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a handler may run on after its session ended before it is dropped.
const HANDLER_LINGER: Duration = Duration::from_secs(1);
/// The payload of the server's keep-alive pings.
const PING_PAYLOAD: &[u8] = b"gust";

/// An accepted opening request, on its way from dispatch to the connection.
pub(crate) struct WsUpgrade {
    pub(crate) endpoint: Arc<Endpoint>,
    pub(crate) request: http::request::Parts,
    /// The subprotocol agreed on.
    pub(crate) protocol: Option<String>,
    /// permessage-deflate, if agreed.
    pub(crate) deflate: Option<DeflateParams>,
    /// HTTP/2: the stream's DATA, which carries the peer's frames. Empty over HTTP/1.1,
    /// where the frames follow the request on the socket.
    pub(crate) body: RequestBody,
    /// One of the service's `max_websockets`, held for the session's life.
    pub(crate) permit: OwnedSemaphorePermit,
    /// The session in the service's open count, for its life.
    pub(crate) open: OpenGuard,
}

/// Where the peer's bytes come from.
pub(crate) enum Input<R> {
    /// The connection's socket (HTTP/1.1 after the 101).
    Socket(R),
    /// The stream's request body (HTTP/2).
    Body(RequestBody),
}

/// Where our bytes go.
pub(crate) enum Output<W> {
    /// The connection's socket.
    Socket(W),
    /// The stream's response body (HTTP/2): pieces handed to the connection, which sends
    /// them as DATA under the stream's flow control.
    Body(mpsc::Sender<Result<Bytes, BodyError>>),
}

impl<R: ReadSide> Input<R> {
    /// Reads more into `buf`; 0 when the peer has finished. Cancel-safe.
    ///
    /// A session with no partial frame in `buf` that finds nothing to read lets the
    /// buffer go while it waits, and calls `on_wait` to let go of what else an idle
    /// session need not hold: a read chunk and a block of frames were most of an idle
    /// session's memory, and a session mostly waits. One that is read from without pause
    /// keeps its buffers. (A TLS socket cannot tell that bytes came without reading them
    /// into the buffer: it keeps it.)
    async fn read(
        &mut self,
        buf: &mut BytesMut,
        chunk: usize,
        on_wait: impl FnMut(),
    ) -> std::io::Result<usize> {
        match self {
            Input::Socket(rd) => {
                if buf.is_empty() && rd.waits_unbuffered() {
                    let readable = std::future::poll_fn(|cx| rd.poll_read_ready(cx));
                    releasing_while_waiting(readable, buf, on_wait).await?;
                }
                super::read_room(buf, chunk);
                rd.read_buf(buf).await
            }
            Input::Body(body) => {
                let next = body.next_chunk();
                match releasing_while_waiting(next, buf, on_wait).await {
                    Ok(Some(bytes)) => {
                        buf.extend_from_slice(&bytes);
                        Ok(bytes.len())
                    }
                    Ok(None) => Ok(0),
                    Err(e) => Err(std::io::Error::other(e)),
                }
            }
        }
    }
}

/// Awaits `wait`; the first time it must wait with `buf` empty, gives back `buf`'s memory
/// and calls `on_wait`.
async fn releasing_while_waiting<T>(
    wait: impl Future<Output = T>,
    buf: &mut BytesMut,
    mut on_wait: impl FnMut(),
) -> T {
    let mut wait = std::pin::pin!(wait);
    let mut released = false;
    std::future::poll_fn(|cx| {
        let polled = wait.as_mut().poll(cx);
        if polled.is_pending() && !released && buf.is_empty() {
            *buf = BytesMut::new();
            on_wait();
            released = true;
        }
        polled
    })
    .await
}

impl<W: AsyncWrite + Unpin> Output<W> {
    /// Hands some of `outbox` to the transport. Cancel-safe: bytes leave `outbox` only
    /// once taken.
    async fn write(&mut self, outbox: &mut Outbox) -> std::io::Result<usize> {
        match self {
            Output::Socket(wr) => {
                let n = outbox.write_to(wr).await?;
                if outbox.is_empty() {
                    wr.flush().await?;
                }
                Ok(n)
            }
            Output::Body(tx) => {
                let permit = tx.reserve().await.map_err(std::io::Error::other)?;
                let piece = outbox.pop().unwrap_or_default();
                let n = piece.len();
                permit.send(Ok(piece));
                Ok(n)
            }
        }
    }

    /// Ends our side: FIN on a socket, END_STREAM on a stream.
    async fn finish(self) {
        match self {
            Output::Socket(mut wr) => {
                let _ = tokio::time::timeout(CLOSE_TIMEOUT, wr.shutdown()).await;
            }
            Output::Body(tx) => drop(tx),
        }
    }
}

/// Runs one session to its end. `inbuf` holds bytes already read past the opening request.
pub(crate) async fn run<R, W>(
    upgrade: WsUpgrade,
    mut input: Input<R>,
    mut output: Output<W>,
    mut inbuf: BytesMut,
    limits: &Limits,
    mut shutdown: watch::Receiver<bool>,
) where
    R: ReadSide,
    W: AsyncWrite + Unpin,
{
    let WsUpgrade {
        endpoint,
        request,
        protocol,
        deflate,
        permit,
        open,
        ..
    } = upgrade;
    let peer = request
        .extensions
        .get::<crate::PeerAddr>()
        .map(|p| p.0.to_string())
        .unwrap_or_default();
    let (to_app, app_incoming) = mpsc::channel(APP_QUEUE);
    let (app_outgoing, mut from_app) = mpsc::channel(APP_QUEUE);
    let socket = WebSocket::new(app_incoming, app_outgoing, request, protocol);
    let mut handler = AssertUnwindSafe(endpoint.handler.call(socket)).catch_unwind();
    let mut handler_done = false;

    let config = Config {
        max_message_size: limits.ws_max_message_size,
        max_frame_size: limits.ws_max_frame_size,
    };
    let mut session = match &deflate {
        Some(params) => Session::with_deflate(config, params, &DeflateConfig::default()),
        None => Session::new(config),
    };
    let mut outbox = Outbox::default();
    // A decoded message the handler's queue had no room for: nothing more is read until
    // it is taken.
    let mut waiting: Option<Incoming> = None;
    let mut peer_closed = false;
    let mut going_away = *shutdown.borrow();
    let mut last_heard = Instant::now();
    let mut last_written = Instant::now();
    let mut pinged = false;
    let mut close_deadline: Option<Instant> = None;
    let mut ending_deadline: Option<Instant> = None;
    if going_away {
        session.close(CloseCode::GOING_AWAY, "server shutting down");
    }
    // Made once for the session rather than once per message (remaking a timer and the
    // stop signal's future each time cost more than the rest of a small echo). The timer
    // is moved only when the next deadline comes earlier than the one it is set for: a
    // deadline that moved later (a message heard, bytes written) costs one wake that finds
    // nothing due, once per timeout.
    let mut timer = std::pin::pin!(sleep_until(far_future()));
    let mut stop = std::pin::pin!(shutdown.changed());

    loop {
        while waiting.is_none() {
            let Some(event) = session.poll_event(&mut inbuf) else {
                break;
            };
            let item = match event {
                Event::Message(WireMessage::Text(bytes)) => {
                    Incoming::Message(Message::Text(Text::from_checked(bytes)))
                }
                Event::Message(WireMessage::Binary(bytes)) => {
                    Incoming::Message(Message::Binary(bytes))
                }
                // Control frames are answered by the session and never reach here.
                Event::Message(_) | Event::Pong => continue,
                Event::Closed(close) => Incoming::Closed(close.map(|c| CloseFrame {
                    code: c.code.0,
                    reason: c.reason,
                })),
                Event::Failed(e) => {
                    tracing::debug!(%peer, error = %e, "WebSocket session failed");
                    Incoming::Closed(None)
                }
            };
            waiting = match to_app.try_send(item) {
                Ok(()) => None,
                Err(mpsc::error::TrySendError::Full(item)) => Some(item),
                // The handler stopped listening; what the peer says is dropped.
                Err(mpsc::error::TrySendError::Closed(_)) => None,
            };
        }
        if session.is_ending() {
            // The peer closed or broke a rule. Answers to what the handler received before
            // go out first; then our close, once the handler has taken everything (the end
            // included) or returned, or after DRAIN_TIMEOUT.
            let deadline = *ending_deadline.get_or_insert_with(|| Instant::now() + DRAIN_TIMEOUT);
            while let Ok(sent) = from_app.try_recv() {
                take_from_app(&mut session, sent);
            }
            let caught_up = waiting.is_none() && to_app.capacity() == to_app.max_capacity();
            if handler_done || caught_up || Instant::now() >= deadline {
                session.finish();
            }
        }
        queue_transmit(&mut session, &mut outbox, &mut last_written);
        if session.is_closed() {
            if outbox.is_empty() {
                break;
            }
            close_deadline.get_or_insert_with(|| Instant::now() + CLOSE_TIMEOUT);
        }
        if peer_closed {
            break;
        }

        // A peer that sends pings (or anything we answer) without reading our answers
        // stops being read once write_buffer_size waits for it: its pongs cannot pile up.
        let reading =
            session.wants_input() && waiting.is_none() && outbox.len() < limits.write_buffer_size;
        let taking = session.is_open() && outbox.len() < limits.write_buffer_size;
        let writing = !outbox.is_empty();
        let deadline = next_deadline(
            limits,
            session.is_open().then_some(last_heard),
            pinged,
            close_deadline.or(ending_deadline),
            writing.then_some(last_written),
        );
        if deadline < timer.deadline() {
            timer.as_mut().reset(deadline);
        }
        tokio::select! {
            read = input.read(&mut inbuf, limits.read_chunk_size, || {
                session.release_idle_memory()
            }), if reading => match read {
                Ok(n) if n > 0 => {
                    last_heard = Instant::now();
                    pinged = false;
                }
                // The peer left without a close frame: nothing we send can reach it.
                _ => {
                    peer_closed = true;
                    let _ = to_app.try_send(Incoming::Closed(None));
                }
            },
            wrote = output.write(&mut outbox), if writing => match wrote {
                Ok(_) => last_written = Instant::now(),
                Err(_) => break,
            },
            permit = to_app.reserve(), if waiting.is_some() => {
                if let (Ok(permit), Some(item)) = (permit, waiting.take()) {
                    permit.send(item);
                }
            }
            sent = from_app.recv(), if taking => match sent {
                Some(sent) => {
                    take_from_app(&mut session, sent);
                    // And whatever else the handler has sent, so that one write carries
                    // the answers to everything one read brought (a pipelining peer's
                    // whole batch) rather than the first alone: each write is a trip
                    // through the kernel's TCP stack, the largest cost of a small
                    // message. Within the same bound as one at a time.
                    loop {
                        queue_transmit(&mut session, &mut outbox, &mut last_written);
                        if !session.is_open() || outbox.len() >= limits.write_buffer_size {
                            break;
                        }
                        let Ok(sent) = from_app.try_recv() else { break };
                        take_from_app(&mut session, sent);
                    }
                }
                // Every sender is gone, the handler's own included: it is done.
                None => session.close(CloseCode::NORMAL, ""),
            },
            finished = &mut handler, if !handler_done => {
                handler_done = true;
                // What the handler sent before returning goes out before the close.
                while let Ok(sent) = from_app.try_recv() {
                    take_from_app(&mut session, sent);
                }
                if finished.is_err() {
                    tracing::error!(%peer, "WebSocket handler panicked; closing with 1011");
                    session.close(CloseCode::INTERNAL_ERROR, "");
                } else {
                    session.close(CloseCode::NORMAL, "");
                }
            }
            _ = &mut stop, if !going_away => {
                going_away = true;
                session.close(CloseCode::GOING_AWAY, "server shutting down");
            }
            _ = &mut timer => {
                // Set again above, to whatever is due next, before the next wait.
                timer.as_mut().reset(far_future());
                let now = Instant::now();
                if close_deadline.is_some_and(|d| now >= d) {
                    break;
                }
                if writing && now >= last_written + limits.inactivity_timeout {
                    tracing::debug!(%peer, "WebSocket peer not reading; dropping");
                    break;
                }
                if !session.is_open() {
                    // Closing: only the two limits above apply.
                } else if now >= last_heard + limits.ws_idle_timeout {
                    session.close(CloseCode::GOING_AWAY, "idle timeout");
                } else if !pinged
                    && !limits.ws_ping_interval.is_zero()
                    && now >= last_heard + limits.ws_ping_interval
                {
                    session.ping(Bytes::from_static(PING_PAYLOAD));
                    pinged = true;
                }
            }
        }
        if !session.is_open() {
            close_deadline.get_or_insert_with(|| Instant::now() + CLOSE_TIMEOUT);
        }
    }

    output.finish().await;
    drop(input);
    drop(permit);
    drop(open);
    // The handler hears the end (its queue closes, its sends fail) and gets a moment to
    // return on its own before it is dropped.
    drop(to_app);
    drop(from_app);
    if !handler_done {
        let _ = tokio::time::timeout(HANDLER_LINGER, handler).await;
    }
}

/// Moves the session's frames into the outbox. The write stall clock starts when an empty
/// outbox gets bytes.
fn queue_transmit(session: &mut Session, outbox: &mut Outbox, last_written: &mut Instant) {
    while let Some(piece) = session.poll_transmit() {
        if outbox.is_empty() {
            *last_written = Instant::now();
        }
        outbox.push(piece);
    }
}

/// Queues what the handler sent.
fn take_from_app(session: &mut Session, sent: Outgoing) {
    match sent {
        Outgoing::Message(Message::Text(text)) => {
            session.send(Opcode::Text, text.into_bytes());
        }
        Outgoing::Message(Message::Binary(data)) => {
            session.send(Opcode::Binary, data);
        }
        Outgoing::Close(code, reason) => session.close(sendable(code), &reason),
    }
}

/// A time no deadline of a session reaches: where the timer waits while it is not set.
fn far_future() -> Instant {
    Instant::now() + Duration::from_secs(86_400 * 365)
}

/// The earliest of: the idle timeout and the next keep-alive ping (while the session is
/// open: `last_heard`), the close handshake's end, the write stall limit. Once the session
/// closes, the idle timeout has done its work (or no longer matters): counting it still,
/// past, would wake the timer again at once, for ever.
fn next_deadline(
    limits: &Limits,
    last_heard: Option<Instant>,
    pinged: bool,
    close_deadline: Option<Instant>,
    writing_since: Option<Instant>,
) -> Instant {
    let mut deadline = far_future();
    if let Some(last_heard) = last_heard {
        deadline = deadline.min(last_heard + limits.ws_idle_timeout);
        if !pinged && !limits.ws_ping_interval.is_zero() {
            deadline = deadline.min(last_heard + limits.ws_ping_interval);
        }
    }
    if let Some(d) = close_deadline {
        deadline = deadline.min(d);
    }
    if let Some(since) = writing_since {
        deadline = deadline.min(since + limits.inactivity_timeout);
    }
    deadline
}

/// A close code the handler asked for, or 1000 if it is one an endpoint must not send.
fn sendable(code: u16) -> CloseCode {
    let code = CloseCode(code);
    if code.is_valid_to_receive() {
        code
    } else {
        CloseCode::NORMAL
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Poll;

    /// A future that is pending `times` times (waking itself), then ready.
    fn pending_for(times: usize) -> impl Future<Output = ()> {
        let mut left = times;
        std::future::poll_fn(move |cx| {
            if left == 0 {
                return Poll::Ready(());
            }
            left -= 1;
            cx.waker().wake_by_ref();
            Poll::Pending
        })
    }

    /// A wait that must wait gives the empty buffer back and calls `on_wait` once,
    /// however many times it is polled; one that is ready at once, or that has bytes
    /// in the buffer (a partial frame), keeps the buffer.
    #[tokio::test]
    async fn only_a_real_wait_with_an_empty_buffer_releases() {
        let mut buf = BytesMut::with_capacity(4096);
        let mut calls = 0;
        releasing_while_waiting(pending_for(3), &mut buf, || calls += 1).await;
        assert_eq!((buf.capacity(), calls), (0, 1));

        let mut buf = BytesMut::with_capacity(4096);
        let mut calls = 0;
        releasing_while_waiting(pending_for(0), &mut buf, || calls += 1).await;
        assert!(buf.capacity() >= 4096);
        assert_eq!(calls, 0);

        let mut buf = BytesMut::with_capacity(4096);
        buf.extend_from_slice(b"\x81");
        let mut calls = 0;
        releasing_while_waiting(pending_for(2), &mut buf, || calls += 1).await;
        assert_eq!(&buf[..], b"\x81");
        assert!(buf.capacity() >= 4096);
        assert_eq!(calls, 0);
    }
}
