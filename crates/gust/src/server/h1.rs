//! The HTTP/1.1 connection driver: reads heads and bodies, runs the dispatch, writes the
//! responses, keeps the time.
//!
//! The connection owns both halves of the socket and two bounded buffers: `inbuf` (request
//! bytes; a head may not exceed `client_buffer_size`) and `out` (response bytes; the handler's
//! body is polled only while it holds less than `write_buffer_size`). A request body flows to
//! the handler through a channel of `body_queue_chunks` chunks, and the socket is read only
//! when the channel has room: a slow handler slows its client, it never grows a buffer.
//!
//! Timeouts by phase: waiting for a request to begin (`inactivity_timeout`), reading a head
//! once its first byte arrived, or from accept for the first request (`request_head_timeout`,
//! answered 408), waiting for body bytes the handler asked for and waiting for the client to
//! take response bytes (`inactivity_timeout`). A handler that takes its time is not timed
//! out: it is busy, not idle.

use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use futures_util::{FutureExt, StreamExt};
use http::{Method, StatusCode, Version};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio::time::{sleep_until, timeout, Instant, Sleep};

use super::between::{Between, WhenIdle};
use super::dispatch::{self, error_response, Answer, Dispatched, Head};
use super::h2;
use super::idle::{asked_to_close, OnStop};
use super::transport::{
    limit_unsent_file_bytes, send_from_page_cache, sendfile_refused, ReadSide, WriteSide,
};
use super::ws::{self, WsUpgrade};
use super::{date, read_room, within, ConnCtx, IDLE_READ_BUFFER, SERVER_NAME};
use crate::body::file::FileRange;
use crate::body::{report, BodyError, BodyKind, BodyMessage, Outcome, RequestBody};
use crate::config::Limits;
use crate::proto::field_list::FieldList;
use crate::proto::h1::{
    encode_chunk_header, encode_head, parse_head_into, BodyDecoder, ChunkLimits, Decoded, Framing,
    HeadLimits, RequestHead, RequestTarget, ResponseFraming, ResponseHead, CHUNK_END, CONTINUE_100,
    LAST_CHUNK,
};
use crate::proto::h2::frame::{check_preface, PrefaceCheck};
use crate::proto::h2::upgrade::decode_http2_settings;
use crate::resource::Response;

/// Bodies up to this size are copied behind the head so both leave in one write.
const COALESCE_LIMIT: usize = 16 * 1024;
/// How long a closing connection may take to send its last bytes and its FIN.
const CLOSE_FLUSH: std::time::Duration = std::time::Duration::from_secs(2);
/// Chunk extensions carry nothing we use; this bounds what one chunk line may spend on them
/// (past it: 400 and close).
const MAX_CHUNK_EXTENSION_BYTES: usize = 4096;

/// How waiting for a request ended.
enum Waited {
    /// The socket has something to read.
    Readable,
    /// The connection ends quietly: idle timeout, shutdown, asked to make room, or an error.
    Over,
    /// The first request did not begin within `request_head_timeout` of accept.
    HeadTimedOut,
}

/// Why serving requests paused.
enum Pause {
    /// Nothing more to read for now: wait outside the box.
    Idle,
    /// The connection ends quietly (client closed between requests, idle timeout, shutdown).
    Over,
}

/// What reading a request head gave.
// Returned once per request and taken apart at once: a box would cost an allocation each.
#[allow(clippy::large_enum_variant)]
enum NextHead {
    Request(RequestHead),
    /// Nothing is under way and the socket has nothing now (plain TCP only).
    Idle,
    /// The connection ends quietly.
    Over,
}

/// How a connection ends.
enum End {
    /// Politely: the last response is out, close after lingering.
    Close,
    /// At once: the client is gone or broke the protocol past answering.
    Abort,
    /// The connection goes on as HTTP/2: by prior knowledge (`None`), or after an h2c
    /// upgrade whose 101 is sent.
    ToH2(Option<Box<h2::Upgraded>>),
    /// The connection goes on as a WebSocket session: its 101 (the response) is not sent
    /// yet. Run from [`Driver::serve`], outside the request loop, whose future would
    /// otherwise be held for the session's whole life.
    ToWebSocket(Box<(Response, Box<WsUpgrade>)>),
}

/// Where the request body is going.
enum Feed {
    /// Nothing (left) to read.
    Done,
    /// To the handler, through its channel.
    Handler(mpsc::Sender<BodyMessage>),
    /// Nobody wants it: read and dropped after the response, if short enough.
    Unwanted,
}

/// One step of feeding the request body.
enum FeedStep {
    /// A chunk was handed over; there is more.
    More,
    /// The end was handed over.
    Finished,
    /// The handler dropped its body.
    Unwanted,
    /// The body's framing is broken (answered with a close).
    Malformed,
    /// The client stopped sending for the inactivity timeout.
    Stalled,
    /// The client went away.
    Gone,
}

/// How long a plain connection whose client has come back for more waits for its next
/// request inside the serving box, buffers kept, before it gives them back and waits
/// outside (see [`Driver::serve`]). Under load the next request comes within this; leaving
/// the box and making it again for every request (a box of several KiB copied in, two
/// buffers allocated) was a twentieth of each small request's instructions. Short, because
/// memory a connection holds meanwhile adds to the peak when many go idle at once; and a
/// client that has made only one request gives everything back at once.
const KEEP_BOX_FOR: std::time::Duration = std::time::Duration::from_millis(5);

/// `timer`, made if need be, armed to fire at `at`, or at most `slack` before it: one
/// already armed for a moment in that window is left as it is (re-arming takes it out of
/// the timer wheel and puts it back). Boxed, because a polled timer must not move, and
/// kept by the caller across waits.
fn arm(timer: &mut Option<Pin<Box<Sleep>>>, at: Instant, slack: Duration) -> Pin<&mut Sleep> {
    let timer = timer.get_or_insert_with(|| Box::pin(sleep_until(at)));
    let armed = timer.deadline();
    if armed > at || armed + slack < at {
        timer.as_mut().reset(at);
    }
    timer.as_mut()
}

/// The field of an h2c upgrade request that carries the client's settings (RFC 7540 3.2.1).
const HTTP2_SETTINGS: &[u8] = b"http2-settings";

/// The most fields a kept request list may have room for (see [`Driver::keep_fields`]).
const SPARE_FIELDS_MAX: usize = 32;

/// The most bytes of names and values a kept request list may have room for: a browser's
/// head with a few cookies.
const SPARE_FIELD_BYTES_MAX: usize = 8 * 1024;

/// What an answered request leaves for the next one of its connection.
struct Spare {
    /// Its field list, emptied, for the next request's fields.
    fields: FieldList,
}

/// One HTTP/1.1 connection.
pub(super) struct Driver<R, W> {
    rd: R,
    wr: W,
    inbuf: BytesMut,
    out: BytesMut,
    conn: ConnCtx,
    /// Requests answered, up to 2: from the second on, the client has come back for more.
    answered: u8,
    /// The timer of the wait for the next request's bytes, kept across requests while the
    /// connection is served (see [`arm`]); dropped when it waits outside.
    wait_timer: Option<Pin<Box<Sleep>>>,
    /// What a request answered at once leaves for the next (boxed: a connection that
    /// waits outside holds none; dropped when it does).
    spare: Option<Box<Spare>>,
}

impl<R: ReadSide, W> Driver<R, W> {
    /// Ready once its socket has something to read (see [`super::park::Parkable`]).
    pub(super) fn poll_readable(&self, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        self.rd.poll_read_ready(cx).map(|_| ())
    }
}

impl<R: ReadSide, W: WriteSide> Driver<R, W> {
    /// An accepted connection, ready to be served.
    pub(super) fn new(conn: ConnCtx, rd: R, wr: W) -> Box<Self> {
        // Both buffers are allocated when a request comes and given back when the
        // connection goes idle.
        Box::new(Driver {
            rd,
            wr,
            inbuf: BytesMut::new(),
            out: BytesMut::new(),
            conn,
            answered: 0,
            wait_timer: None,
            spare: None,
        })
    }

    /// Serves requests on the connection until the client leaves, a request asks to close,
    /// an error closes the connection, or the server stops; then drops `held` (the
    /// connection's slot). The connection may turn into HTTP/2 (prior knowledge, h2c
    /// upgrade) or a WebSocket session. With [`WhenIdle::GiveBack`], a connection that has
    /// been answered and waits for its next request on a socket that can be waited on
    /// without a buffer (plain TCP) is given back instead, buffers released, for the caller
    /// to park (see `park.rs`); [`Between::resume`] serves it again. A connection that has
    /// turned into HTTP/2 is given back the same way (see [`h2::Driver::serve`]).
    ///
    /// What the connection's task holds for its whole life is this future, so everything
    /// larger than waiting lives in boxes for as long as it runs: a connection between
    /// requests (plain TCP) holds no buffer and no request machinery, only the wait for its
    /// next byte. Serving is boxed while requests keep coming: under load the next request
    /// is already in the socket when a response is out, and the box serves it without
    /// leaving. The driver comes boxed: an async fn keeps its arguments and a copy of
    /// them it moves into locals, so a driver passed by value would take its room twice.
    pub(super) async fn serve<H: Send>(
        mut self: Box<Self>,
        held: H,
        when_idle: WhenIdle,
    ) -> Option<Between<R, W, H>> {
        let accepted = Instant::now();
        // A connection given back comes here again once its socket is readable.
        let mut first = self.answered == 0;
        let mut readable = !first;
        loop {
            if !std::mem::take(&mut readable) && self.rd.waits_unbuffered() {
                if !first && when_idle == WhenIdle::GiveBack {
                    if self.shutting_down() {
                        break;
                    }
                    self.let_go_of_kept_state();
                    return Some(Between::H1 { driver: self, held });
                }
                // Awaited apart from the match: a scrutinee's temporaries (this future)
                // would live through the arms' awaits and take room of their own.
                let waited = self.wait_for_request(first.then_some(accepted)).await;
                match waited {
                    Waited::Readable => {}
                    Waited::Over => break,
                    Waited::HeadTimedOut => {
                        Box::pin(self.send_error(
                            StatusCode::REQUEST_TIMEOUT,
                            "request head not received in time",
                        ))
                        .await;
                        Box::pin((*self).linger_close()).await;
                        drop(held);
                        return None;
                    }
                }
            }
            let mut served = Box::pin(self.serve_requests(&mut first, accepted)).await;
            if let Err(End::ToWebSocket(opening)) = served {
                let (response, upgrade) = *opening;
                // Boxed like the other paths taken once if at all; ends with End::Close
                // (or End::Abort if the 101 cannot be sent).
                served = Box::pin(self.run_websocket(response, upgrade))
                    .await
                    .map(|()| Pause::Over);
            }
            match served {
                Ok(Pause::Idle) => {}
                Ok(Pause::Over) | Err(End::Abort) => break,
                Err(End::Close) => {
                    Box::pin((*self).linger_close()).await;
                    drop(held);
                    return None;
                }
                Err(End::ToH2(upgraded)) => {
                    // Boxed like the other paths taken once if at all: a connection's
                    // future is as large as its largest path for its whole life.
                    return Box::pin(self.into_h2().serve(upgraded, held, when_idle)).await;
                }
                // Run above; a session never turns into another.
                Err(End::ToWebSocket(_)) => break,
            }
        }
        drop(held);
        None
    }

    fn limits(&self) -> &Limits {
        &self.conn.limits
    }

    fn shutting_down(&self) -> bool {
        *self.conn.shutdown.borrow()
    }

    /// Serves requests until the connection ends or, on plain TCP, nothing is left to read
    /// for now. `first` is cleared once the first request head has arrived.
    async fn serve_requests(&mut self, first: &mut bool, accepted: Instant) -> Result<Pause, End> {
        loop {
            match self.read_head(first.then_some(accepted)).await? {
                NextHead::Request(head) => {
                    *first = false;
                    self.exchange(head).await?;
                    self.answered = self.answered.saturating_add(1).min(2);
                }
                NextHead::Idle => return Ok(Pause::Idle),
                NextHead::Over => return Ok(Pause::Over),
            }
        }
    }

    /// Waits for the next request's first byte holding no buffer (plain TCP, nothing
    /// under way): until the inactivity timeout, or for the first request until
    /// `request_head_timeout` after `accepted`. Meanwhile the connection is idle: a full
    /// listener may close it to make room, and a stopping server ends it.
    async fn wait_for_request(&mut self, accepted: Option<Instant>) -> Waited {
        self.let_go_of_kept_state();
        if self.shutting_down() {
            return Waited::Over;
        }
        let now = Instant::now();
        let deadline = match accepted {
            Some(at) => at + self.limits().request_head_timeout,
            None => now + self.limits().inactivity_timeout,
        };
        // The idle list also tells this wait of the server's stop (`OnStop::Close`): one
        // future fewer for every idle connection to hold.
        let mut waiting = self
            .conn
            .idle
            .enter_since(accepted.unwrap_or(now).into_std(), OnStop::Close);
        let rd = &self.rd;
        tokio::select! {
            // Bytes already here win over a request to close.
            biased;
            ready = std::future::poll_fn(|cx| rd.poll_read_ready(cx)) => match ready {
                Ok(()) => Waited::Readable,
                Err(_) => Waited::Over,
            },
            _ = sleep_until(deadline) => match accepted {
                Some(_) => Waited::HeadTimedOut,
                None => Waited::Over,
            },
            _ = waiting.closing() => {
                tracing::debug!(peer = %self.conn.peer, "idle connection closed (to make room, or stopping)");
                Waited::Over
            }
        }
    }

    /// Reads the next request head. `accepted`: this is the first request, and the
    /// connection was accepted then.
    async fn read_head(&mut self, accepted: Option<Instant>) -> Result<NextHead, End> {
        let limits = HeadLimits {
            max_head_bytes: self.limits().client_buffer_size,
            max_url_length: self.limits().max_url_length,
            max_headers: self.limits().max_headers,
        };
        // Read only if this call waits: the next head is often in the buffer already. Both
        // come from one read of the clock (a wait for the next request needs both).
        let mut wait_began = None;
        let mut idle_deadline = None;
        let mut keep_box_until = None;
        // The first request's clock starts at accept: a client that connects and says
        // nothing holds a slot for request_head_timeout at most.
        let first = accepted.is_some();
        let mut head_began = accepted;
        let mut head_deadline = accepted.map(|at| at + self.limits().request_head_timeout);
        let mut sniffing = first;
        loop {
            if sniffing && !self.inbuf.is_empty() {
                // HTTP/2 with prior knowledge starts with the client preface (RFC 9113 3.3).
                match check_preface(&self.inbuf) {
                    PrefaceCheck::Complete => return Err(End::ToH2(None)),
                    PrefaceCheck::Mismatch => sniffing = false,
                    PrefaceCheck::Incomplete { .. } => {}
                }
            }
            if !sniffing && !self.inbuf.is_empty() {
                let mut fresh = FieldList::default();
                let fields = match self.spare.as_deref_mut() {
                    Some(spare) => &mut spare.fields,
                    None => &mut fresh,
                };
                match parse_head_into(&mut self.inbuf, &limits, fields) {
                    Ok(Some(head)) => return Ok(NextHead::Request(head)),
                    Ok(None) => {
                        let began = *head_began.get_or_insert_with(Instant::now);
                        head_deadline
                            .get_or_insert_with(|| began + self.conn.limits.request_head_timeout);
                    }
                    Err(e) => {
                        tracing::debug!(peer = %self.conn.peer, reason = e.reason(), "bad request head");
                        // Boxed, like the other rare paths, to keep the waiting state small.
                        Box::pin(self.send_error(e.status(), e.reason())).await;
                        return Err(End::Close);
                    }
                }
            }
            self.flush().await?;
            if self.inbuf.is_empty() && self.shutting_down() {
                return Ok(NextHead::Over);
            }
            let mut clock = || *wait_began.get_or_insert_with(Instant::now);
            let deadline = head_deadline.unwrap_or_else(|| {
                *idle_deadline.get_or_insert_with(|| clock() + self.conn.limits.inactivity_timeout)
            });
            let idle = self.inbuf.is_empty() && !self.shutting_down();
            // A client back for more, on a socket that can be waited on without a buffer:
            // wait here for KEEP_BOX_FOR, everything kept, before going outside.
            let keep_until = (idle && self.answered >= 2 && self.rd.waits_unbuffered())
                .then(|| *keep_box_until.get_or_insert_with(|| clock() + KEEP_BOX_FOR));
            // Waiting for a request to begin: give the buffers back, and read into a small
            // one (most heads fit); a head that does not fit grows it to a full read chunk.
            if self.inbuf.is_empty() {
                if keep_until.is_none() {
                    self.release_buffers();
                }
                read_room(&mut self.inbuf, IDLE_READ_BUFFER);
            } else {
                read_room(&mut self.inbuf, self.conn.limits.read_chunk_size);
            }
            // Nothing under way on a socket that can be waited on without a buffer: read
            // what is there now, or go and wait outside the box (see `serve`).
            if keep_until.is_none() && self.inbuf.is_empty() && self.rd.waits_unbuffered() {
                match self.rd.read_buf(&mut self.inbuf).now_or_never() {
                    None => return Ok(NextHead::Idle),
                    Some(Ok(0) | Err(_)) => return Ok(NextHead::Over),
                    Some(Ok(_)) => continue,
                }
            }
            // Waiting for a request, everything sent: a full listener may close this
            // connection to make room for a new client. A head under way counts from its
            // start, so trickling bytes does not make a slowloris young again. Not while
            // kept in the box: it would be the youngest on the list, the last to go, and
            // it leaves the box (and waits on the list) within KEEP_BOX_FOR anyway.
            let mut waiting = (!self.shutting_down() && keep_until.is_none()).then(|| {
                let since = head_began.map_or_else(std::time::Instant::now, Instant::into_std);
                self.conn.idle.enter_since(since, OnStop::Keep)
            });
            // In the box, any moment within KEEP_BOX_FOR of now will do to leave it, so a
            // timer armed for an earlier request is kept while it is at least half that
            // away: no timer-wheel insertion and removal per request under load.
            let wait_timer = match keep_until.filter(|until| *until < deadline) {
                Some(until) => arm(&mut self.wait_timer, until, KEEP_BOX_FOR / 2),
                None => arm(&mut self.wait_timer, deadline, Duration::ZERO),
            };
            tokio::select! {
                // Bytes already here win over a request to close.
                biased;
                read = self.rd.read_buf(&mut self.inbuf) => match read {
                    Ok(0) | Err(_) => return if self.inbuf.is_empty() { Ok(NextHead::Over) } else { Err(End::Abort) },
                    Ok(_) => {}
                },
                _ = wait_timer => {
                    if keep_until.is_some_and(|until| until < deadline) {
                        // Kept long enough: give everything back and wait outside.
                        return Ok(NextHead::Idle);
                    }
                    if head_deadline.is_some() {
                        Box::pin(self.send_error(StatusCode::REQUEST_TIMEOUT, "request head not received in time")).await;
                        return Err(End::Close);
                    }
                    return Ok(NextHead::Over);
                }
                // In the box the stop is seen within KEEP_BOX_FOR, when the connection
                // leaves it: no waiter made and dropped on the channel for each request.
                _ = self.conn.shutdown.changed(), if idle && keep_until.is_none() => {}
                _ = asked_to_close(&mut waiting) => {
                    tracing::debug!(peer = %self.conn.peer, "idle connection closed to make room");
                    return if self.inbuf.is_empty() { Ok(NextHead::Over) } else { Err(End::Abort) };
                }
            }
        }
    }

    /// Keeps `list`, a request's fields no longer needed, for the next request's; one that
    /// grew large for a rare request is let go, and so is a first request's: a client that
    /// makes one request and waits would only leave the list's memory scattered.
    fn keep_fields(&mut self, mut list: FieldList) {
        if list.capacity() > SPARE_FIELDS_MAX
            || list.byte_capacity() > SPARE_FIELD_BYTES_MAX
            || self.answered == 0
        {
            return;
        }
        list.clear();
        match &mut self.spare {
            Some(spare) => spare.fields = list,
            None => self.spare = Some(Box::new(Spare { fields: list })),
        }
    }

    /// Drops the buffers' memory while no request is under way (both are empty).
    /// Gives back everything kept from one request for the next: both buffers, the wait's
    /// timer and the spare field list. For a connection about to wait outside its box, or
    /// to become a WebSocket session.
    fn let_go_of_kept_state(&mut self) {
        self.inbuf = BytesMut::new();
        self.out = BytesMut::new();
        self.wait_timer = None;
        self.spare = None;
    }

    fn release_buffers(&mut self) {
        if self.inbuf.capacity() > IDLE_READ_BUFFER {
            self.inbuf = BytesMut::new();
        }
        if self.out.is_empty() {
            self.out = BytesMut::new();
        }
    }

    /// Answers with a short error and `Connection: close`.
    async fn send_error(&mut self, status: StatusCode, reason: &str) {
        let response = error_response(status, reason);
        let (parts, body) = response.into_parts();
        let (kind, completion) = body.into_parts();
        let BodyKind::Full(bytes) = kind else { return };
        date::with_date(|date| {
            encode_head(
                &ResponseHead {
                    status,
                    version: Version::HTTP_11,
                    headers: &parts.headers,
                    shared_lines: &[],
                    framing: ResponseFraming::Length(bytes.len() as u64),
                    keep_alive: false,
                    date,
                    server: SERVER_NAME.as_bytes(),
                },
                &mut self.out,
            )
        });
        self.out.extend_from_slice(&bytes);
        let sent = self.flush().await.is_ok();
        report(
            completion,
            if sent {
                Outcome::Complete
            } else {
                Outcome::Aborted
            },
        );
    }

    /// The connection, and the bytes read past the last request, as HTTP/2. This driver's
    /// box is given back here, not held while HTTP/2 runs (taken by value, it would stay
    /// allocated, emptied, until the caller's future ends).
    #[allow(clippy::boxed_local)]
    fn into_h2(self: Box<Self>) -> Box<h2::Driver<R, W>> {
        let Driver {
            rd,
            wr,
            inbuf,
            conn,
            ..
        } = *self;
        h2::Driver::new(conn, rd, wr, inbuf)
    }

    /// The settings of an h2c upgrade request this server takes (RFC 7540 3.2): `Upgrade`
    /// offers `h2c`, `Connection` names `HTTP2-Settings`, exactly one valid `HTTP2-Settings`
    /// field, and no body (a body would have to be read whole before switching; such a
    /// request is served over HTTP/1.1, as the RFC allows).
    fn h2c_upgrade(head: &RequestHead) -> Option<crate::proto::h2::frame::Settings> {
        let offers_h2c = head
            .wants_upgrade
            .as_deref()?
            .split(',')
            .any(|t| t.trim().eq_ignore_ascii_case("h2c"));
        let names_settings = head
            .headers
            .get_all(b"connection")
            .flat_map(|v| v.split(|&b| b == b','))
            .any(|t| t.trim_ascii().eq_ignore_ascii_case(b"http2-settings"));
        let no_body = matches!(head.framing, Framing::None | Framing::Length(0));
        if !offers_h2c || !names_settings || !no_body {
            return None;
        }
        let mut values = head.headers.get_all(HTTP2_SETTINGS);
        let value = values.next()?;
        if values.next().is_some() {
            return None;
        }
        decode_http2_settings(value)
    }

    /// Writes everything in `out`, giving up if the client takes nothing for the inactivity
    /// timeout.
    async fn flush(&mut self) -> Result<(), End> {
        let stall = self.conn.limits.inactivity_timeout;
        while !self.out.is_empty() {
            match within(stall, self.wr.write_buf(&mut self.out)).await {
                Some(Ok(n)) if n > 0 => {}
                _ => return Err(End::Abort),
            }
        }
        match within(stall, self.wr.flush()).await {
            Some(Ok(())) => Ok(()),
            _ => Err(End::Abort),
        }
    }

    /// Writes `bytes` after what is in `out`, without copying large buffers.
    async fn write_bytes(&mut self, bytes: Bytes) -> Result<(), End> {
        if self.out.len() + bytes.len() <= COALESCE_LIMIT {
            self.out.extend_from_slice(&bytes);
            return Ok(());
        }
        self.flush().await?;
        let stall = self.conn.limits.inactivity_timeout;
        let mut rest = bytes;
        while rest.has_remaining() {
            match within(stall, self.wr.write_buf(&mut rest)).await {
                Some(Ok(n)) if n > 0 => {}
                _ => return Err(End::Abort),
            }
        }
        Ok(())
    }

    /// One request and its response.
    async fn exchange(&mut self, head: RequestHead) -> Result<(), End> {
        if let Some(settings) = Self::h2c_upgrade(&head) {
            if !self.shutting_down() {
                return self.switch_to_h2c(head, settings).await;
            }
        }
        let RequestHead {
            method,
            target,
            version,
            headers,
            framing,
            keep_alive,
            expect_continue,
            wants_upgrade,
        } = head;
        let target = match target {
            RequestTarget::Origin { path_and_query, .. } => path_and_query,
            RequestTarget::Asterisk => "*".to_owned(),
            RequestTarget::Authority(authority) => authority,
        };
        let has_body = !matches!(framing, Framing::None | Framing::Length(0));
        // An opening request with a body is served as a plain GET (the Upgrade ignored, as
        // RFC 9110 7.8 allows): its body would be mistaken for the first frames.
        let websocket = method == Method::GET
            && !has_body
            && wants_upgrade.as_deref().is_some_and(|u| {
                u.split(',')
                    .any(|token| token.trim().eq_ignore_ascii_case("websocket"))
            });
        let length_hint = match framing {
            Framing::Length(n) => Some(n),
            Framing::None => Some(0),
            Framing::Chunked => None,
        };
        let limits = self.conn.limits.clone();
        let mut decoder = BodyDecoder::new(
            framing,
            ChunkLimits {
                max_extension_bytes: MAX_CHUNK_EXTENSION_BYTES,
                max_trailer_bytes: limits.client_buffer_size,
            },
        );

        let (mut feed, body, mut demand) = if has_body {
            let (tx, rx) = mpsc::channel(limits.body_queue_chunks);
            let (demand_tx, demand_rx) = if expect_continue {
                let (t, r) = oneshot::channel();
                (Some(t), Some(r))
            } else {
                (None, None)
            };
            (
                Feed::Handler(tx),
                RequestBody::channel(rx, demand_tx, length_hint),
                demand_rx,
            )
        } else {
            (Feed::Done, RequestBody::empty(), None)
        };
        let is_head = method == Method::HEAD;
        let dispatch_head = Head {
            method,
            target,
            version,
            headers,
            websocket,
            protocol: None,
        };
        let Dispatched {
            mut response,
            reads_body,
            websocket,
            spent_fields,
        } = dispatch::dispatch(&self.conn, dispatch_head, body, std::time::Instant::now());
        if let Some(list) = spent_fields {
            self.keep_fields(list);
        }
        if let Some(upgrade) = websocket {
            return Err(End::ToWebSocket(Box::new((response.await, upgrade))));
        }
        if !reads_body && has_body {
            feed = Feed::Unwanted;
        }
        let mut continue_sent = false;
        let mut must_close = false;

        // Phase A: until the handler answers, feed it the body it asks for.
        let response: Response = loop {
            let feeding = matches!(feed, Feed::Handler(_)) && demand.is_none();
            tokio::select! {
                biased;
                response = &mut response => break response,
                asked = wait_for_demand(&mut demand), if demand.is_some() => {
                    demand = None;
                    if asked {
                        self.out.extend_from_slice(CONTINUE_100);
                        continue_sent = true;
                        if let Err(end) = self.flush().await {
                            return Err(abandon(response, end));
                        }
                    }
                }
                step = feed_step(&mut self.rd, &mut self.inbuf, &mut decoder, &feed, &limits), if feeding => {
                    match step {
                        FeedStep::More => {}
                        FeedStep::Finished => feed = Feed::Done,
                        FeedStep::Unwanted => feed = Feed::Unwanted,
                        FeedStep::Malformed => { feed = Feed::Done; must_close = true; }
                        FeedStep::Stalled => {
                            // No response has started, so the client can still be told.
                            self.send_error(StatusCode::REQUEST_TIMEOUT, "request body not received in time").await;
                            return Err(abandon(response, End::Close));
                        }
                        FeedStep::Gone => return Err(abandon(response, End::Abort)),
                    }
                }
            }
        };

        // A handler that dropped its body unread (an early error answer, a 413) wants none
        // of the rest.
        if let Feed::Handler(tx) = &feed {
            if tx.is_closed() {
                feed = Feed::Unwanted;
            }
        }

        // A body nobody read, from a client still waiting for 100 Continue, is never coming:
        // close rather than wait for it.
        let body_left = !decoder.is_done() && has_body;
        if expect_continue && body_left && !continue_sent {
            must_close = true;
        }
        if body_left && matches!(feed, Feed::Unwanted) {
            let discardable = decoder
                .remaining()
                .is_some_and(|n| n <= limits.max_discard_body);
            if !discardable {
                must_close = true;
            }
        }

        let (mut parts, mut body) = response.into_parts();
        let shared_fields = body.take_shared_fields();
        if parts.status.is_informational() {
            tracing::error!(status = %parts.status, "handler answered with a 1xx status; sending 500");
            parts.status = StatusCode::INTERNAL_SERVER_ERROR;
        }
        let (kind, completion) = body.into_parts();
        // A streamed answer would go out before the body is checked; a body already known to
        // be broken still gets its 400 instead.
        if matches!(feed, Feed::Handler(_))
            && matches!(kind, BodyKind::Stream { .. } | BodyKind::File(_))
            && buffered_body_is_malformed(&decoder, &self.inbuf)
        {
            report(completion, Outcome::Aborted);
            self.send_error(StatusCode::BAD_REQUEST, "malformed request body")
                .await;
            return Err(End::Close);
        }
        // A handler that answers with a stream before asking for its body (an echo) will
        // read it while streaming: the client waiting for 100 Continue must get it before
        // the final head, or it would never send the body.
        if expect_continue
            && !continue_sent
            && matches!(feed, Feed::Handler(_))
            && matches!(kind, BodyKind::Stream { .. } | BodyKind::File(_))
        {
            self.out.extend_from_slice(CONTINUE_100);
            must_close = false;
        }
        let no_body_status =
            parts.status == StatusCode::NO_CONTENT || parts.status == StatusCode::NOT_MODIFIED;
        let length = kind.exact_length();
        let mut keep_alive = keep_alive && !must_close && !self.shutting_down();
        let framing = if no_body_status {
            ResponseFraming::NoBody {
                content_length: None,
            }
        } else if is_head {
            ResponseFraming::NoBody {
                content_length: length,
            }
        } else {
            match length {
                Some(n) => ResponseFraming::Length(n),
                None if version == Version::HTTP_11 => ResponseFraming::Chunked,
                None => {
                    keep_alive = false;
                    ResponseFraming::CloseDelimited
                }
            }
        };
        date::with_date(|date| {
            encode_head(
                &ResponseHead {
                    status: parts.status,
                    version,
                    headers: &parts.headers,
                    shared_lines: shared_fields.as_ref().map_or(&[], |f| f.h1_lines()),
                    framing,
                    keep_alive,
                    date,
                    server: SERVER_NAME.as_bytes(),
                },
                &mut self.out,
            )
        });

        // Phase B: the response body, while still feeding the request body (an echo).
        let sent = match kind {
            _ if matches!(framing, ResponseFraming::NoBody { .. }) => Ok(()),
            BodyKind::Empty => Ok(()),
            BodyKind::Full(bytes) => self.write_bytes(bytes).await,
            BodyKind::Stream { stream, length } => {
                self.stream_body(stream, length, framing, &mut feed, &mut decoder, &limits)
                    .await
            }
            // With nothing to feed a handler meanwhile, a file can leave from the page cache
            // straight into a plain socket.
            BodyKind::File(range)
                if self.wr.sendfile_socket().is_some() && !matches!(feed, Feed::Handler(_)) =>
            {
                self.send_file(range).await
            }
            BodyKind::File(range) => {
                let length = Some(range.remaining());
                let stream = range.into_stream();
                self.stream_body(stream, length, framing, &mut feed, &mut decoder, &limits)
                    .await
            }
        };
        let sent = match sent {
            Ok(()) => self.flush().await,
            Err(e) => Err(e),
        };
        report(
            completion,
            if sent.is_ok() {
                Outcome::Complete
            } else {
                Outcome::Aborted
            },
        );
        sent?;

        // Whatever body the handler left unread goes, if it is short, so the connection can
        // carry the next request.
        if let Feed::Handler(_) = feed {
            feed = Feed::Unwanted;
        }
        drop(feed);
        if !keep_alive {
            return Err(End::Close);
        }
        if !decoder.is_done() && has_body {
            self.discard_body(&mut decoder, limits.max_discard_body)
                .await?;
        }
        Ok(())
    }

    /// Sends the 101 that accepts a WebSocket opening, then runs the session on this
    /// connection until it ends; the connection closes with it.
    async fn run_websocket(
        &mut self,
        response: Response,
        upgrade: Box<WsUpgrade>,
    ) -> Result<(), End> {
        let (parts, _) = response.into_parts();
        self.out
            .extend_from_slice(b"HTTP/1.1 101 Switching Protocols\r\n");
        for (name, value) in &parts.headers {
            self.out.extend_from_slice(name.as_str().as_bytes());
            self.out.extend_from_slice(b": ");
            self.out.extend_from_slice(value.as_bytes());
            self.out.extend_from_slice(b"\r\n");
        }
        self.out.extend_from_slice(b"\r\n");
        self.flush().await?;
        // A fresh buffer of a full read chunk, not the small one the head came in: grown
        // from 512 bytes, a large frame's buffer took more reallocations and held more
        // memory at its peak (the attack battery's large-message test saw it).
        let mut inbuf = BytesMut::with_capacity(self.conn.limits.read_chunk_size);
        inbuf.extend_from_slice(&self.inbuf);
        // The session works with buffers of its own: what the connection kept for
        // HTTP/1.1 would stay allocated, unused, for the session's whole life.
        self.let_go_of_kept_state();
        let limits = self.conn.limits.clone();
        Box::pin(ws::run(
            *upgrade,
            ws::Input::Socket(&mut self.rd),
            ws::Output::Socket(&mut self.wr),
            inbuf,
            &limits,
            self.conn.shutdown.clone(),
        ))
        .await;
        Err(End::Close)
    }

    /// Answers an h2c upgrade with 101; the request is then served as HTTP/2 stream 1.
    async fn switch_to_h2c(
        &mut self,
        head: RequestHead,
        settings: crate::proto::h2::frame::Settings,
    ) -> Result<(), End> {
        self.out.extend_from_slice(
            b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n",
        );
        self.flush().await?;
        let mut headers = head.headers;
        headers.remove_named(|name| {
            matches!(name, b"connection" | b"upgrade" | b"keep-alive") || name == HTTP2_SETTINGS
        });
        let target = match head.target {
            RequestTarget::Origin { path_and_query, .. } => path_and_query,
            RequestTarget::Asterisk => "*".to_owned(),
            RequestTarget::Authority(authority) => authority,
        };
        Err(End::ToH2(Some(Box::new(h2::Upgraded {
            settings,
            head: Head {
                method: head.method,
                target,
                version: Version::HTTP_2,
                headers,
                websocket: false,
                protocol: None,
            },
        }))))
    }

    /// Sends a streamed body, polling the producer only while `out` has room.
    async fn stream_body(
        &mut self,
        mut stream: std::pin::Pin<
            Box<dyn futures_util::Stream<Item = Result<Bytes, BodyError>> + Send>,
        >,
        length: Option<u64>,
        framing: ResponseFraming,
        feed: &mut Feed,
        decoder: &mut BodyDecoder,
        limits: &Limits,
    ) -> Result<(), End> {
        let chunked = matches!(framing, ResponseFraming::Chunked);
        let mut sent: u64 = 0;
        let mut stall_deadline = Instant::now() + limits.inactivity_timeout;
        loop {
            let room = self.out.len() < limits.write_buffer_size;
            let feeding = matches!(feed, Feed::Handler(_));
            let waiting_on_client = !self.out.is_empty();
            tokio::select! {
                biased;
                written = self.wr.write_buf(&mut self.out), if waiting_on_client => match written {
                    Ok(n) if n > 0 => stall_deadline = Instant::now() + limits.inactivity_timeout,
                    _ => return Err(End::Abort),
                },
                next = AssertUnwindSafe(stream.next()).catch_unwind(), if room => match next {
                    Ok(Some(Ok(chunk))) => {
                        if chunk.is_empty() {
                            continue;
                        }
                        sent += chunk.len() as u64;
                        if length.is_some_and(|n| sent > n) {
                            tracing::error!("response body longer than its declared length; closing");
                            return Err(End::Abort);
                        }
                        if chunked {
                            encode_chunk_header(chunk.len(), &mut self.out);
                            self.write_bytes(chunk).await?;
                            self.out.extend_from_slice(CHUNK_END);
                        } else {
                            self.write_bytes(chunk).await?;
                        }
                        if self.out.is_empty() {
                            stall_deadline = Instant::now() + limits.inactivity_timeout;
                        }
                    }
                    Ok(Some(Err(e))) => {
                        tracing::warn!(error = %e, "response body failed; closing the connection");
                        return Err(End::Abort);
                    }
                    Ok(None) => {
                        if length.is_some_and(|n| sent != n) {
                            tracing::error!("response body shorter than its declared length; closing");
                            return Err(End::Abort);
                        }
                        if chunked {
                            self.out.extend_from_slice(LAST_CHUNK);
                        }
                        return Ok(());
                    }
                    Err(_) => {
                        tracing::error!("response body panicked; closing the connection");
                        return Err(End::Abort);
                    }
                },
                step = feed_step(&mut self.rd, &mut self.inbuf, decoder, feed, limits), if feeding => {
                    match step {
                        FeedStep::More => {}
                        FeedStep::Finished => *feed = Feed::Done,
                        FeedStep::Unwanted => *feed = Feed::Unwanted,
                        // The response is under way; the broken body aborts the exchange.
                        FeedStep::Malformed | FeedStep::Stalled | FeedStep::Gone => {
                            return Err(End::Abort)
                        }
                    }
                }
                _ = sleep_until(stall_deadline), if waiting_on_client => return Err(End::Abort),
            }
        }
    }

    /// Sends a file range after the head in `out`: with `sendfile` while the page cache
    /// holds the next bytes (no copy through this process), else a chunk at a time through
    /// memory (the read goes to the blocking pool if it must wait for a disk), then tries
    /// the page cache again.
    async fn send_file(&mut self, mut range: FileRange) -> Result<(), End> {
        let stall = self.conn.limits.inactivity_timeout;
        self.flush().await?;
        let mut sendfile = match self.wr.sendfile_socket() {
            Some(socket) => {
                limit_unsent_file_bytes(socket);
                true
            }
            None => false,
        };
        while range.remaining() > 0 {
            if let Some(socket) = self.wr.sendfile_socket().filter(|_| sendfile) {
                if range.next_is_cached() {
                    match timeout(stall, send_from_page_cache(socket, &mut range)).await {
                        Ok(Ok(sent)) => self.wr.count_sent(sent),
                        // A file system that cannot splice (some FUSE, network ones): a
                        // failed call sent nothing, so the rest goes through memory.
                        Ok(Err(e)) if sendfile_refused(&e) => sendfile = false,
                        Ok(Err(e)) => {
                            tracing::debug!(peer = %self.conn.peer, error = %e, "sendfile failed; closing");
                            return Err(End::Abort);
                        }
                        Err(_) => return Err(End::Abort),
                    }
                    continue;
                }
            }
            match range.read_next().await {
                Some(Ok(chunk)) => {
                    self.write_bytes(chunk).await?;
                    self.flush().await?;
                }
                Some(Err(_)) => return Err(End::Abort),
                None => break,
            }
        }
        Ok(())
    }

    /// Reads and drops the rest of a request body, at most `budget` bytes.
    async fn discard_body(&mut self, decoder: &mut BodyDecoder, budget: u64) -> Result<(), End> {
        let mut dropped: u64 = 0;
        let chunk = self.conn.limits.read_chunk_size;
        let stall = self.conn.limits.inactivity_timeout;
        loop {
            match decoder.decode(&mut self.inbuf, chunk) {
                Ok(Decoded::Data(b)) => {
                    dropped += b.len() as u64;
                    if dropped > budget {
                        // Too much to throw away: the response is out, close politely.
                        return Err(End::Close);
                    }
                }
                Ok(Decoded::End) => return Ok(()),
                Ok(Decoded::NeedMore) => {
                    read_room(&mut self.inbuf, chunk);
                    match timeout(stall, self.rd.read_buf(&mut self.inbuf)).await {
                        Ok(Ok(n)) if n > 0 => {}
                        _ => return Err(End::Abort),
                    }
                }
                Err(_) => return Err(End::Abort),
            }
        }
    }

    /// Closes after a final response: FIN first, then read and drop what the client still
    /// sends for a moment, so its unread bytes do not turn our response into a reset.
    async fn linger_close(mut self) {
        let _ = timeout(CLOSE_FLUSH, self.wr.shutdown()).await;
        super::linger(&mut self.rd).await;
    }
}

/// Whether the request-body bytes already read are broken framing. Decodes copies, so the
/// real decoder and buffer are untouched; the buffer holds at most a few read chunks.
fn buffered_body_is_malformed(decoder: &BodyDecoder, inbuf: &BytesMut) -> bool {
    if inbuf.is_empty() {
        return false;
    }
    let mut decoder = decoder.clone();
    let mut bytes = inbuf.clone();
    loop {
        match decoder.decode(&mut bytes, usize::MAX) {
            Ok(Decoded::Data(_)) => continue,
            Ok(Decoded::NeedMore | Decoded::End) => return false,
            Err(_) => return true,
        }
    }
}

/// Lets a handler whose client went away run on by itself, so that it reads the aborted
/// signal from its body and cleans up as it chooses, instead of being dropped mid-await.
/// Its eventual response goes nowhere; the response's completion hook hears `Aborted`.
fn abandon(response: Answer, end: End) -> End {
    tokio::spawn(response);
    end
}

/// Waits until the handler first asks for its body: true if it did, false if it dropped the
/// body unasked.
async fn wait_for_demand(demand: &mut Option<oneshot::Receiver<()>>) -> bool {
    match demand {
        Some(rx) => rx.await.is_ok(),
        None => std::future::pending().await,
    }
}

/// Hands the handler the next piece of the request body, reading the socket if needed.
/// Cancel-safe: bytes read stay in `inbuf`, a reserved slot is simply released.
async fn feed_step<R: AsyncRead + Unpin>(
    rd: &mut R,
    inbuf: &mut BytesMut,
    decoder: &mut BodyDecoder,
    feed: &Feed,
    limits: &Limits,
) -> FeedStep {
    let Feed::Handler(tx) = feed else {
        return FeedStep::Unwanted;
    };
    let Ok(permit) = tx.reserve().await else {
        return FeedStep::Unwanted;
    };
    loop {
        match decoder.decode(inbuf, limits.read_chunk_size) {
            Ok(Decoded::Data(bytes)) => {
                permit.send(Ok(Some(bytes)));
                return FeedStep::More;
            }
            Ok(Decoded::End) => {
                permit.send(Ok(None));
                return FeedStep::Finished;
            }
            Ok(Decoded::NeedMore) => {
                read_room(inbuf, limits.read_chunk_size);
                match timeout(limits.inactivity_timeout, rd.read_buf(inbuf)).await {
                    Ok(Ok(n)) if n > 0 => {}
                    Ok(_) => {
                        permit.send(Err(BodyError::Aborted));
                        return FeedStep::Gone;
                    }
                    Err(_) => {
                        permit.send(Err(BodyError::Aborted));
                        return FeedStep::Stalled;
                    }
                }
            }
            Err(e) => {
                tracing::debug!(reason = e.reason(), "malformed request body");
                permit.send(Err(BodyError::Aborted));
                return FeedStep::Malformed;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_wait_timer_is_rearmed_only_outside_its_slack() {
        let start = Instant::now() + Duration::from_secs(60);
        let ms = Duration::from_millis;
        let mut timer = None;
        assert_eq!(
            arm(&mut timer, start + ms(5), ms(2)).deadline(),
            start + ms(5)
        );
        let made = timer.as_ref().map(|t| &**t as *const Sleep);
        // Wanted a little later, within the slack: the armed moment stays.
        for wanted in [start + ms(5), start + ms(6), start + ms(7)] {
            assert_eq!(arm(&mut timer, wanted, ms(2)).deadline(), start + ms(5));
        }
        // Later than the slack allows, or earlier than armed: armed again, same timer.
        assert_eq!(
            arm(&mut timer, start + ms(8), ms(2)).deadline(),
            start + ms(8)
        );
        assert_eq!(
            arm(&mut timer, start + ms(6), ms(2)).deadline(),
            start + ms(6)
        );
        let exact = arm(&mut timer, start + ms(7), Duration::ZERO);
        assert_eq!(exact.deadline(), start + ms(7));
        assert_eq!(timer.as_ref().map(|t| &**t as *const Sleep), made);
        // It waits for the moment it is armed for: a minute away, then one gone by.
        assert!(arm(&mut timer, start, Duration::ZERO)
            .now_or_never()
            .is_none());
        let past = Instant::now() - ms(1);
        assert!(arm(&mut timer, past, Duration::ZERO)
            .now_or_never()
            .is_some());
    }
}
