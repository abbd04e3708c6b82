//! The HTTP/2 connection driver: feeds the socket's bytes to the sans-I/O connection
//! (`proto::h2::conn`), runs a handler per stream through the same dispatch as HTTP/1.1,
//! and writes what the connection produces.
//!
//! One task per connection while it has anything under way; a plain connection with no
//! stream and nothing to send is given back to its accept loop to be parked without a task
//! (`park.rs`), and served again in a new task when its client sends. Handlers run
//! concurrently inside the task (a `FuturesUnordered`), so a slow handler on one stream
//! never holds up the others; a handler that answers at once
//! (static content, errors) is polled inline and never allocated a slot. Response bodies
//! are pulled only while the stream has less than [`STREAM_QUEUE_HIGH`] bytes waiting for
//! flow-control credit and the socket has less than `write_buffer_size` waiting, so a peer
//! that opens no window, or does not read, holds a bounded amount of memory. Request
//! bodies go to the handler through a [`recv::RecvBuffer`]; the peer's credit comes back
//! as the handler takes chunks out.
//!
//! Timeouts: a connection with no stream for `inactivity_timeout` is closed with GOAWAY,
//! whatever else the peer sends meanwhile (PING, SETTINGS, WINDOW_UPDATE, PRIORITY, or the
//! bytes of a frame it never finishes: none of it is a request, so a peer cannot hold a
//! connection slot with it); a
//! stream whose handler waits for body bytes the peer does not send, or whose response
//! bytes wait for a window the peer does not open, for `inactivity_timeout`, is reset with
//! CANCEL; a header block left
//! unfinished for `request_head_timeout` ends the connection; a socket that takes no bytes
//! for `inactivity_timeout` is dropped.

mod pending;
mod recv;

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use futures_util::{FutureExt, Stream, StreamExt};
use http::{Method, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio::time::{sleep_until, timeout, Instant};

use self::pending::Pending;
use self::recv::{RecvBuffer, Release};
use super::between::{Between, WhenIdle};
use super::date;
use super::dispatch::{self, error_response, Answer, Dispatched, Head};
use super::idle::asked_to_close;
use super::outbox::Outbox;
use super::transport::{ReadSide, WriteSide};
use super::ws::{self, WsUpgrade};
use super::{ConnCtx, IDLE_READ_BUFFER};
use crate::body::{report, Body, BodyError, BodyKind, BoxFuture, Completion, Outcome, RequestBody};
use crate::config::Limits;
use crate::proto::h2::conn::{ConnConfig, Connection, Event};
use crate::proto::h2::frame::{Reason, Settings, StreamId};
use crate::proto::h2::hpack::ServerFields;
use crate::proto::h2::request::{RequestHead2, RequestLimits};
use crate::resource::Response;

/// The driver's streams by id. Looked up several times per request, so hashed with one
/// multiplication rather than SipHash: the ids are the client's choice, but at most
/// `max_streams` are open at once, so crafted ids can at worst make those few share a
/// bucket.
type StreamMap<V> = HashMap<u32, V, BuildHasherDefault<StreamIdHasher>>;

#[derive(Debug, Default, Clone, Copy)]
struct StreamIdHasher(u64);

impl Hasher for StreamIdHasher {
    fn write(&mut self, bytes: &[u8]) {
        // Not reached for u32 keys; any bytes still hash, one step each.
        for &b in bytes {
            self.write_u32(u32::from(b));
        }
    }

    fn write_u32(&mut self, id: u32) {
        // An odd constant (2^64 / golden ratio): the product's upper bits depend on every
        // bit of the id.
        self.0 = (self.0 ^ u64::from(id)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }

    fn finish(&self) -> u64 {
        // The product's low bits depend only on the id's low bits (client ids are all
        // odd), its top bits on all of them (Fibonacci hashing); the map takes its bucket
        // from the low bits, so the bytes are turned around.
        self.0.swap_bytes()
    }
}

/// A stream's response body is polled for more only while fewer bytes than this wait in
/// the connection for the peer's window.
const STREAM_QUEUE_HIGH: usize = 32 * 1024;
/// How often streams are checked for stalls.
const SWEEP_EVERY: Duration = Duration::from_secs(1);
/// How long a connection whose client sends in batches stays idle before it gives its
/// tables and caches back (its buffers go at once). Such a client leaves gaps between its
/// batches of requests (all answered, the next not yet read); giving them back in every gap
/// cost making them again (the stream tables regrown, the HPACK encoder's caches remade)
/// for every batch. Short, because memory a connection holds meanwhile adds to the peak
/// when many go idle at once; and a connection that has not come back from idle yet (one
/// request and silence, as most) gives everything back at once.
const IDLE_RELEASE_DELAY: Duration = Duration::from_millis(5);
/// How long a closing connection may take to flush its last frames (GOAWAY).
const CLOSE_FLUSH: Duration = Duration::from_secs(2);

/// An HTTP/1.1 request that asked for h2c and got `101 Switching Protocols`.
pub(super) struct Upgraded {
    /// The client's `HTTP2-Settings`.
    pub(super) settings: Settings,
    /// The request, answered on stream 1.
    pub(super) head: Head,
}

/// The connection settings a service's limits give.
fn conn_config(limits: &Limits) -> ConnConfig {
    ConnConfig {
        max_concurrent_streams: limits.max_streams,
        initial_window_size: limits.h2_stream_window,
        connection_window: limits.h2_connection_window,
        max_header_list_size: u32::try_from(limits.client_buffer_size).unwrap_or(u32::MAX),
        request_limits: RequestLimits {
            max_url_length: limits.max_url_length,
            max_headers: limits.max_headers,
            // WebSocket over HTTP/2 (RFC 8441): SETTINGS_ENABLE_CONNECT_PROTOCOL = 1.
            allow_extended_connect: true,
        },
        ..ConnConfig::default()
    }
}

/// What a stream still has to send.
enum Sending {
    /// The handler has not answered yet.
    Waiting,
    /// A streamed body is being pulled.
    Streaming {
        body: Pin<Box<dyn Stream<Item = Result<Bytes, BodyError>> + Send>>,
        length: Option<u64>,
        sent: u64,
        completion: Option<Completion>,
    },
    /// Everything is handed to the connection; waiting for it to reach the socket.
    Draining { completion: Option<Completion> },
    /// Done.
    Done,
}

/// The driver's side of one stream.
struct Entry {
    /// The request body's buffer, while the peer may still send it and a reader wants it.
    recv: Option<RecvBuffer>,
    /// The last time the peer sent body bytes (or opened the stream).
    last_rx: Instant,
    /// The last time response bytes of this stream went out.
    last_tx: Instant,
    sending: Sending,
    is_head: bool,
    /// A WebSocket session runs on the stream: the peer may rightly stay silent, so its
    /// silence is the session's to time, not the stall sweep's.
    tunnel: bool,
}

impl Entry {
    /// A stream just opened, its handler not yet answered.
    fn new(recv: Option<RecvBuffer>, is_head: bool, now: Instant) -> Entry {
        Entry {
            recv,
            last_rx: now,
            last_tx: now,
            sending: Sending::Waiting,
            is_head,
            tunnel: false,
        }
    }
}

/// A response body's next item, caught if it panicked.
type BodyItem = Result<Option<Result<Bytes, BodyError>>, ()>;

/// One HTTP/2 connection.
pub(super) struct Driver<R, W> {
    ctx: ConnCtx,
    conn: Connection,
    rd: R,
    wr: W,
    inbuf: BytesMut,
    outbox: Outbox,
    transmit: Vec<Bytes>,
    streams: StreamMap<Entry>,
    handlers: Pending<BoxFuture<(StreamId, Response)>>,
    /// WebSocket sessions on streams of this connection, run by its task.
    tunnels: Pending<BoxFuture<()>>,
    /// Request bodies tell the driver here how much their handlers consumed. Made with the
    /// first request that has a body (a channel costs about 1 KB): a connection that only
    /// sees GETs never holds one.
    releases: Option<(
        mpsc::UnboundedSender<Release>,
        mpsc::UnboundedReceiver<Release>,
    )>,
    /// The last time a stream or a header block was in progress (or the connection opened):
    /// the idle clock. Frames that open no stream do not move it.
    last_activity: Instant,
    /// The last wait found the connection idle.
    waited_idle: bool,
    /// A request has been started on this connection.
    started_any: bool,
    /// The connection has had requests again after being idle: a client that sends in
    /// batches, whose connection keeps its tables through short gaps (IDLE_RELEASE_DELAY).
    comes_back: bool,
    /// The last time the socket took bytes, or the outbox was empty.
    last_write: Instant,
    /// Since when a header block has waited for its CONTINUATION frames.
    block_since: Option<Instant>,
    next_sweep: Instant,
    read_closed: bool,
}

/// Reads into `inbuf`, or with `unbuffered` only waits until there is something to read.
/// Cancel-safe.
async fn read_or_readable<R: ReadSide>(rd: &mut R, inbuf: &mut BytesMut, unbuffered: bool) -> Wake {
    if unbuffered {
        match std::future::poll_fn(|cx| rd.poll_read_ready(cx)).await {
            Ok(()) => Wake::Readable,
            Err(e) => Wake::Read(Err(e)),
        }
    } else {
        Wake::Read(rd.read_buf(inbuf).await)
    }
}

/// How [`Driver::run`] ended.
enum Ran {
    /// The connection is closed.
    Ended,
    /// The connection has nothing under way and can be parked.
    Parkable,
}

/// What woke the driver.
enum Wake {
    Read(std::io::Result<usize>),
    /// An idle connection's socket has something to read (it waited without a buffer).
    Readable,
    Wrote(std::io::Result<usize>),
    Answered(StreamId, Response),
    TunnelEnded,
    Bodies(Vec<(u32, BodyItem)>),
    Release(Release),
    Timer,
    Shutdown,
    /// The listener is full and this connection has been idle longest.
    AskedToClose,
}

impl<R: ReadSide, W> Driver<R, W> {
    /// Ready once its socket has something to read (see [`super::park::Parkable`]).
    pub(super) fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<()> {
        self.rd.poll_read_ready(cx).map(|_| ())
    }
}

impl<R: ReadSide, W: WriteSide> Driver<R, W> {
    /// HTTP/2 on a connection whose first bytes (`inbuf`, starting with the client preface,
    /// possibly incomplete) are already read.
    pub(super) fn new(ctx: ConnCtx, rd: R, wr: W, inbuf: BytesMut) -> Box<Self> {
        let now = Instant::now();
        Box::new(Driver {
            conn: Connection::new(conn_config(&ctx.limits), now.into_std()),
            ctx,
            rd,
            wr,
            inbuf,
            outbox: Outbox::default(),
            transmit: Vec::new(),
            streams: StreamMap::default(),
            handlers: Pending::new(),
            tunnels: Pending::new(),
            releases: None,
            last_activity: now,
            waited_idle: false,
            started_any: false,
            comes_back: false,
            last_write: now,
            block_since: None,
            next_sweep: now + SWEEP_EVERY,
            read_closed: false,
        })
    }

    /// Serves the connection until it ends, then drops `held` (the connection's slot).
    /// `upgraded`: the connection came from an h2c upgrade, and its request is stream 1.
    /// With [`WhenIdle::GiveBack`], a connection with nothing under way whose socket can be
    /// waited on without a buffer is given back instead, buffers and tables released, to be
    /// parked; [`Driver::resume`] serves it again. The driver comes boxed: an async fn keeps
    /// its arguments and a copy of them it moves into locals, so a driver passed by value
    /// would take its room twice.
    pub(super) async fn serve<H: Send>(
        mut self: Box<Self>,
        upgraded: Option<Box<Upgraded>>,
        held: H,
        when_idle: WhenIdle,
    ) -> Option<Between<R, W, H>> {
        if let Some(up) = upgraded {
            let Upgraded { settings, head } = *up;
            match self.conn.accept_upgrade(&settings) {
                Ok(id) => self.start_request(id, head, None, true, Instant::now()),
                Err(e) => {
                    tracing::debug!(peer = %self.ctx.peer, error = %e, "bad h2c upgrade settings");
                    self.close().await;
                    return None;
                }
            }
        }
        // Frames that arrived with the preface (or right behind the upgrade request) are
        // already in the buffer: take them now, not after the next read.
        if !self.inbuf.is_empty() {
            let now = Instant::now().into_std();
            if let Err(e) = self.conn.handle_input(&mut self.inbuf, now) {
                tracing::debug!(peer = %self.ctx.peer, error = %e, "h2 connection closed");
                self.close().await;
                return None;
            }
        }
        self.run_and_give_back(held, when_idle, false).await
    }

    /// Serves a parked connection again: its socket is readable.
    pub(super) async fn resume<H: Send>(self: Box<Self>, held: H) -> Option<Between<R, W, H>> {
        self.run_and_give_back(held, WhenIdle::GiveBack, true).await
    }

    /// Closes a parked connection with GOAWAY (NO_ERROR): its inactivity timeout has passed,
    /// a full listener makes room, or the server stops.
    pub(super) async fn close_idle(mut self: Box<Self>) {
        self.conn.go_away();
        self.close().await;
    }

    /// Since when the connection has had no stream: its idle clock.
    pub(super) fn idle_since(&self) -> Instant {
        self.last_activity
    }

    async fn run_and_give_back<H: Send>(
        mut self: Box<Self>,
        held: H,
        when_idle: WhenIdle,
        readable: bool,
    ) -> Option<Between<R, W, H>> {
        match self.run(when_idle, readable).await {
            Ran::Parkable => Some(Between::H2 { driver: self, held }),
            Ran::Ended => {
                drop(held);
                None
            }
        }
    }

    /// Serves until the connection ends (closing it), or with [`WhenIdle::GiveBack`] until
    /// it can be parked. `readable`: it comes from the park, its socket readable.
    async fn run(&mut self, when_idle: WhenIdle, mut readable: bool) -> Ran {
        // Read once per wake and handed down: the work of one wake takes microseconds, and
        // a clock read per request was a measurable share of serving small ones.
        let mut now = Instant::now();
        loop {
            self.pump(now);
            if !self.is_idle() {
                self.last_activity = now;
            }
            if !self.conn.header_block_pending() {
                // The head timeout counts from the block in progress, not an earlier one.
                self.block_since = None;
            }
            if self.conn.is_finished() && self.outbox.is_empty() {
                break;
            }
            if self.read_closed && self.outbox.is_empty() {
                // The peer is gone; nothing we still send can reach it.
                break;
            }
            let waited = if std::mem::take(&mut readable) {
                Wake::Readable
            } else if when_idle == WhenIdle::GiveBack && self.parkable(now) {
                self.waited_idle = true;
                self.release_idle_memory(true);
                return Ran::Parkable;
            } else {
                self.wait(now).await
            };
            // Before anything else: a stale readiness below goes round the loop again.
            now = Instant::now();
            let wake = match waited {
                // Read what is there now; if nothing (a stale readiness, cleared by this
                // read), wait again.
                Wake::Readable => {
                    super::read_room(&mut self.inbuf, IDLE_READ_BUFFER);
                    match self.rd.read_buf(&mut self.inbuf).now_or_never() {
                        Some(read) => Wake::Read(read),
                        None => continue,
                    }
                }
                wake => wake,
            };
            match wake {
                Wake::Read(Ok(0)) | Wake::Read(Err(_)) => {
                    self.read_closed = true;
                    self.abort_all();
                }
                Wake::Read(Ok(_)) => {
                    if let Err(e) = self.conn.handle_input(&mut self.inbuf, now.into_std()) {
                        tracing::debug!(peer = %self.ctx.peer, error = %e, "h2 connection closed");
                        break;
                    }
                }
                Wake::Wrote(Ok(n)) if n > 0 => self.last_write = now,
                Wake::Wrote(_) => {
                    self.abort_all();
                    return Ran::Ended;
                }
                Wake::Answered(id, response) => self.respond(id, response, now),
                Wake::TunnelEnded | Wake::Readable => {}
                Wake::Bodies(items) => {
                    for (id, item) in items {
                        self.on_body_item(id, item);
                    }
                }
                Wake::Release(r) => self.on_release(r),
                Wake::Timer => {
                    if self.on_timer(now) {
                        break;
                    }
                }
                Wake::Shutdown => self.conn.go_away(),
                Wake::AskedToClose => {
                    tracing::debug!(peer = %self.ctx.peer, "idle h2 connection closed to make room");
                    self.conn.go_away();
                }
            }
        }
        self.close().await;
        Ran::Ended
    }

    /// Whether the connection can wait in the park: nothing under way (no stream, handler,
    /// tunnel or unfinished header block; nothing read or to send, no flow-control credit
    /// of a finished request body still to give back), no clock of its own running but the
    /// idle one (an unacknowledged SETTINGS has its deadline), a socket that can be waited
    /// on without a buffer, and not stopping (that GOAWAY is sent from the task). A client
    /// that has come back after an idle gap keeps its task and tables for
    /// [`IDLE_RELEASE_DELAY`] first, as in [`Driver::wait`].
    fn parkable(&self, now: Instant) -> bool {
        self.is_idle()
            && self.tunnels.is_empty()
            && self.inbuf.is_empty()
            && self.outbox.is_empty()
            && self.releases.as_ref().is_none_or(|(_, rx)| rx.is_empty())
            && !self.read_closed
            && self.rd.waits_unbuffered()
            && self.conn.poll_timeout().is_none()
            && !(self.comes_back && now < self.last_activity + IDLE_RELEASE_DELAY)
            && !*self.ctx.shutdown.borrow()
    }

    /// Moves events and output along until nothing changes; `now` is the time of the wake.
    fn pump(&mut self, now: Instant) {
        loop {
            while let Some(event) = self.conn.poll_event() {
                self.on_event(event, now);
            }
            if self.outbox.len() >= self.ctx.limits.write_buffer_size {
                break;
            }
            self.conn.poll_transmit(&mut self.transmit);
            if self.transmit.is_empty() {
                break;
            }
            if self.outbox.is_empty() {
                self.last_write = now;
            }
            for piece in self.transmit.drain(..) {
                self.outbox.push(piece);
            }
        }
        self.finish_drained();
    }

    /// Reports completion for responses whose bytes all went to the outbox, and forgets the
    /// streams that are then over (response sent, no body being read). In place: a list of
    /// ids to remove grew by reallocation on every pump.
    fn finish_drained(&mut self) {
        let conn = &self.conn;
        self.streams.retain(|id, entry| {
            if let Sending::Draining { completion } = &mut entry.sending {
                if conn.queued_send(StreamId::new(*id)) == 0 {
                    report(completion.take(), Outcome::Complete);
                    entry.sending = Sending::Done;
                }
            }
            !(matches!(entry.sending, Sending::Done) && entry.recv.is_none())
        });
    }

    /// Waits for the next thing to do; `now` is the time of the wake that led here.
    async fn wait(&mut self, now: Instant) -> Wake {
        let limits = &self.ctx.limits;
        let reading = !self.read_closed && self.outbox.len() < limits.write_buffer_size;
        let writing = !self.outbox.is_empty();
        let mut deadline = self.deadline();
        let going_away = *self.ctx.shutdown.borrow();
        if going_away {
            // The stop may have been signalled while the driver was busy elsewhere: the
            // `changed` branch below is then never taken, so the GOAWAY is sent from here.
            self.conn.go_away();
        }
        let any_body = self.streams.iter().any(|(id, e)| {
            matches!(e.sending, Sending::Streaming { .. })
                && self.conn.queued_send(StreamId::new(*id)) < STREAM_QUEUE_HIGH
        }) && self.outbox.len() < limits.write_buffer_size;
        // A connection with nothing under way waits for bytes without a buffer where the
        // socket allows it (plain TCP), else reads into a small one, and gives its buffers,
        // tables and caches back: an idle connection holds little memory. Unless its client
        // has come back after an idle gap before: then it keeps everything, reading as when
        // busy, until it has stayed idle for IDLE_RELEASE_DELAY (it wakes for that).
        let idle_wait = reading && self.inbuf.is_empty() && self.is_idle();
        self.waited_idle = idle_wait;
        let release_at = self.last_activity + IDLE_RELEASE_DELAY;
        let keep = idle_wait && self.comes_back && now < release_at;
        let unbuffered = idle_wait && !keep && self.rd.waits_unbuffered();
        if reading {
            if idle_wait && !keep {
                self.release_idle_memory(unbuffered);
                if !unbuffered {
                    super::read_room(&mut self.inbuf, IDLE_READ_BUFFER);
                }
            } else {
                if keep {
                    deadline = deadline.min(release_at);
                }
                super::read_room(&mut self.inbuf, limits.read_chunk_size);
            }
        }
        // No stream and nothing to send: a full listener may close this connection to make
        // room for a new client.
        let mut waiting = (self.is_idle() && !writing && !going_away && !self.read_closed)
            .then(|| self.ctx.idle.enter());
        let Driver {
            rd,
            wr,
            inbuf,
            outbox,
            handlers,
            tunnels,
            streams,
            conn,
            releases,
            ctx,
            ..
        } = self;
        tokio::select! {
            biased;
            n = outbox.write_to(wr), if writing => Wake::Wrote(n),
            Some(r) = async { releases.as_mut()?.1.recv().await }, if releases.is_some() => Wake::Release(r),
            (id, response) = handlers.next(), if !handlers.is_empty() => Wake::Answered(id, response),
            () = tunnels.next(), if !tunnels.is_empty() => Wake::TunnelEnded,
            items = std::future::poll_fn(|cx| poll_bodies(streams, conn, cx)), if any_body => Wake::Bodies(items),
            wake = read_or_readable(rd, inbuf, unbuffered), if reading => wake,
            _ = sleep_until(deadline) => Wake::Timer,
            _ = ctx.shutdown.changed(), if !going_away => Wake::Shutdown,
            _ = asked_to_close(&mut waiting) => Wake::AskedToClose,
        }
    }

    /// Gives back what an idle connection need not hold: its read buffer (all of it where
    /// it waits `unbuffered`, else any growth past [`IDLE_READ_BUFFER`]), its emptied output
    /// buffers, tables and caches.
    fn release_idle_memory(&mut self, unbuffered: bool) {
        if unbuffered || self.inbuf.capacity() > IDLE_READ_BUFFER {
            self.inbuf = BytesMut::new();
        }
        self.outbox.release_if_empty();
        self.release_tables();
    }

    /// Gives back the memory of the tables of streams that were (all empty now) and the
    /// protocol's caches.
    fn release_tables(&mut self) {
        if self.streams.capacity() > 0 {
            self.streams = StreamMap::default();
        }
        self.conn.release_idle_memory();
        self.handlers.release_if_empty();
        self.tunnels.release_if_empty();
    }

    /// Whether the connection has no stream and no handler: only the idle clock runs.
    fn is_idle(&self) -> bool {
        self.streams.is_empty() && self.handlers.is_empty() && !self.conn.header_block_pending()
    }

    /// The next time something must be checked. An idle connection sleeps until its idle
    /// timeout; a busy one checks its streams every [`SWEEP_EVERY`].
    fn deadline(&self) -> Instant {
        let limits = &self.ctx.limits;
        let mut deadline = if self.is_idle() {
            self.last_activity + limits.inactivity_timeout
        } else {
            self.next_sweep
        };
        if let Some(t) = self.conn.poll_timeout() {
            deadline = deadline.min(Instant::from_std(t));
        }
        if !self.outbox.is_empty() {
            deadline = deadline.min(self.last_write + limits.inactivity_timeout);
        }
        deadline
    }

    /// Checks every clock. True: the connection must end now.
    fn on_timer(&mut self, now: Instant) -> bool {
        let limits = self.ctx.limits.clone();
        self.conn.handle_timeout(now.into_std());
        if !self.outbox.is_empty() && now >= self.last_write + limits.inactivity_timeout {
            tracing::debug!(peer = %self.ctx.peer, "h2 peer takes no bytes; closing");
            self.abort_all();
            return true;
        }
        if self.is_idle() {
            if now >= self.last_activity + limits.inactivity_timeout {
                tracing::debug!(peer = %self.ctx.peer, "h2 connection idle; closing");
                self.conn.go_away();
            }
            return false;
        }
        if now < self.next_sweep {
            return false;
        }
        self.next_sweep = now + SWEEP_EVERY;
        self.last_activity = now;
        if self.conn.header_block_pending() {
            let since = *self.block_since.get_or_insert(now);
            if now >= since + limits.request_head_timeout {
                self.conn.close_with(
                    Reason::ENHANCE_YOUR_CALM,
                    "header block not finished in time",
                );
                return false;
            }
        }
        let stall = limits.inactivity_timeout;
        let mut stalled = Vec::new();
        for (id, entry) in &self.streams {
            let sid = StreamId::new(*id);
            // Only a handler waiting for body bytes times the peer; a busy one does not.
            let waiting_for_peer_body = !entry.tunnel
                && entry.recv.as_ref().is_some_and(RecvBuffer::reader_waiting)
                && now >= entry.last_rx + stall;
            let waiting_for_window = self.conn.queued_send(sid) > 0 && now >= entry.last_tx + stall;
            if waiting_for_peer_body || waiting_for_window {
                stalled.push(sid);
            }
        }
        for id in stalled {
            tracing::debug!(peer = %self.ctx.peer, stream = %id, "h2 stream stalled; resetting");
            self.conn.reset(id, Reason::CANCEL);
            self.drop_stream(id);
        }
        false
    }

    fn on_event(&mut self, event: Event, now: Instant) {
        match event {
            Event::Request {
                stream,
                head,
                end_stream,
            } => {
                // Handlers of reset streams run on to their end; past this many at once,
                // new streams wait for them (rapid reset, CVE-2023-44487).
                let max_handlers = 2 * self.ctx.limits.max_streams as usize;
                if self.handlers.len() >= max_handlers {
                    self.conn.reset(stream, Reason::REFUSED_STREAM);
                    return;
                }
                let content_length = head.content_length;
                self.start_request(
                    stream,
                    to_dispatch_head(head),
                    content_length,
                    end_stream,
                    now,
                );
            }
            Event::Data {
                stream,
                data,
                end_stream,
            } => {
                let len = data.len();
                let taken = match self.streams.get_mut(&stream.value()) {
                    Some(entry) => {
                        entry.last_rx = now;
                        match &entry.recv {
                            Some(recv) => {
                                let taken = recv.push(data);
                                if end_stream {
                                    recv.finish();
                                    entry.recv = None;
                                }
                                taken
                            }
                            None => false,
                        }
                    }
                    None => false,
                };
                if !taken {
                    self.conn.release_capacity(stream, len);
                }
            }
            Event::Trailers { stream, .. } => {
                // Handlers see the body end; trailer fields are not passed on.
                if let Some(entry) = self.streams.get_mut(&stream.value()) {
                    if let Some(recv) = entry.recv.take() {
                        recv.finish();
                    }
                }
            }
            Event::Reset { stream, reason } => {
                tracing::debug!(peer = %self.ctx.peer, %stream, %reason, "h2 stream reset");
                self.drop_stream(stream);
            }
            Event::Refused {
                stream,
                status,
                reason_text,
            } => {
                self.streams
                    .insert(stream.value(), Entry::new(None, false, now));
                self.respond(stream, error_response(status, reason_text), now);
            }
            Event::WindowOpened { stream } => {
                if let Some(entry) = self.streams.get_mut(&stream.value()) {
                    entry.last_tx = now;
                }
            }
        }
    }

    /// Routes a request and starts its handler.
    fn start_request(
        &mut self,
        id: StreamId,
        head: Head,
        content_length: Option<u64>,
        end_stream: bool,
        now: Instant,
    ) {
        // A stream answered at once is gone before the driver looks again: its start is the
        // connection's last activity, and after earlier requests and an idle wait, a
        // return from idle.
        self.last_activity = now;
        self.comes_back |= self.waited_idle && self.started_any;
        self.started_any = true;
        let is_head = head.method == Method::HEAD;
        let (recv, body) = if end_stream {
            (None, RequestBody::empty())
        } else {
            let releases = self
                .releases
                .get_or_insert_with(mpsc::unbounded_channel)
                .0
                .clone();
            let (buf, source) = RecvBuffer::new(id, releases);
            (Some(buf), RequestBody::from_source(source, content_length))
        };
        let Dispatched {
            mut response,
            reads_body,
            websocket,
            spent_fields,
        } = dispatch::dispatch(&self.ctx, head, body, now.into_std());
        if let Some(list) = spent_fields {
            self.conn.recycle_fields(list);
        }
        let tunnel = websocket.is_some();
        let mut entry = Entry::new(recv, is_head, now);
        entry.tunnel = tunnel;
        self.streams.insert(id.value(), entry);
        if let Some(upgrade) = websocket {
            response = self.start_websocket(response, upgrade);
        }
        if !reads_body && !end_stream {
            self.stop_receiving(id);
        }
        // Most answers are ready at once: no slot, no extra wake-up, and no poll (moved out
        // of the answer directly, not through a `Poll` or an emptied `Option`).
        let mut response = match response {
            Answer::Ready(Some(ready)) => {
                self.respond(id, ready, now);
                return;
            }
            waiting => waiting,
        };
        let waker = futures_util::task::noop_waker();
        match response.poll_unpin(&mut Context::from_waker(&waker)) {
            Poll::Ready(r) => self.respond(id, r, now),
            Poll::Pending => self.handlers.push(Box::pin(response.map(move |r| (id, r)))),
        }
    }

    /// Starts the WebSocket session of an accepted extended CONNECT: the 200 gets a body
    /// the session feeds, and the session reads the stream's DATA; both run under the
    /// stream's flow control.
    fn start_websocket(&mut self, response: Answer, mut upgrade: Box<WsUpgrade>) -> Answer {
        let (tx, rx) = mpsc::channel(2);
        let input = ws::Input::<tokio::io::Empty>::Body(std::mem::replace(
            &mut upgrade.body,
            RequestBody::empty(),
        ));
        let output = ws::Output::<tokio::io::Sink>::Body(tx);
        let limits = self.ctx.limits.clone();
        let shutdown = self.ctx.shutdown.clone();
        self.tunnels.push(Box::pin(async move {
            ws::run(*upgrade, input, output, BytesMut::new(), &limits, shutdown).await;
        }));
        let stream = futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        });
        Answer::Pending(Box::pin(
            response.map(move |r| r.map(|_| Body::from_stream(stream))),
        ))
    }

    /// The handler will not read the rest of the request body.
    fn stop_receiving(&mut self, id: StreamId) {
        if let Some(entry) = self.streams.get_mut(&id.value()) {
            if let Some(recv) = entry.recv.take() {
                let unread = recv.abort();
                self.conn.release_capacity(id, unread);
            }
        }
        self.conn.stop_receiving(id);
    }

    /// Forgets a stream that was reset (by either side): its body reader sees the abort,
    /// its response is reported aborted, and the credit of its unread bytes goes back.
    fn drop_stream(&mut self, id: StreamId) {
        let Some(entry) = self.streams.remove(&id.value()) else {
            return;
        };
        if let Some(recv) = entry.recv {
            let unread = recv.abort();
            self.conn.release_capacity(id, unread);
        }
        match entry.sending {
            Sending::Streaming { completion, .. } | Sending::Draining { completion } => {
                report(completion, Outcome::Aborted);
            }
            Sending::Waiting | Sending::Done => {}
        }
    }

    fn on_release(&mut self, release: Release) {
        match release {
            Release::Consumed { stream, bytes } => self.conn.release_capacity(stream, bytes),
            Release::Dropped { stream, unread } => {
                self.conn.release_capacity(stream, unread);
                if let Some(entry) = self.streams.get_mut(&stream.value()) {
                    entry.recv = None;
                }
                self.conn.stop_receiving(stream);
            }
        }
    }

    /// Queues a handler's answer; `now` is the time of the wake that led here.
    fn respond(&mut self, id: StreamId, response: Response, now: Instant) {
        if !self.streams.contains_key(&id.value()) {
            // Reset while the handler worked: dropping the response reports it aborted.
            return;
        }
        let (mut parts, mut body) = response.into_parts();
        if parts.status.is_informational() {
            tracing::error!(status = %parts.status, "handler answered with a 1xx status; sending 500");
            parts.status = StatusCode::INTERNAL_SERVER_ERROR;
        }
        let shared_fields = body.take_shared_fields();
        let (kind, completion) = body.into_parts();
        let length = kind.exact_length();
        let no_body_status =
            parts.status == StatusCode::NO_CONTENT || parts.status == StatusCode::NOT_MODIFIED;
        date::with_date_at(now.into_std(), |date| {
            let added = ServerFields {
                date,
                server: super::SERVER_NAME.as_bytes(),
                content_length: if no_body_status { None } else { length },
                shared: shared_fields.as_ref(),
            };
            self.send_response(id, &parts, kind, completion, &added, no_body_status);
        });
    }

    /// [`Driver::respond`]'s second half: the head (with `added`) and the body queued.
    fn send_response(
        &mut self,
        id: StreamId,
        parts: &http::response::Parts,
        kind: BodyKind,
        completion: Option<Completion>,
        added: &ServerFields<'_>,
        no_body_status: bool,
    ) {
        let Some(entry) = self.streams.get_mut(&id.value()) else {
            report(completion, Outcome::Aborted);
            return;
        };
        let no_body = entry.is_head || no_body_status;
        let (end_now, sending) = match kind {
            _ if no_body => (true, Sending::Draining { completion }),
            BodyKind::Empty => (true, Sending::Draining { completion }),
            BodyKind::Full(b) if b.is_empty() => (true, Sending::Draining { completion }),
            BodyKind::Full(b) => {
                if self
                    .conn
                    .send_headers(id, parts.status, &parts.headers, added, false)
                    .is_err()
                    || self.conn.send_data(id, b, true).is_err()
                {
                    report(completion, Outcome::Aborted);
                    entry.sending = Sending::Done;
                    return;
                }
                entry.sending = Sending::Draining { completion };
                return;
            }
            BodyKind::Stream { stream, length } => (
                false,
                Sending::Streaming {
                    body: stream,
                    length,
                    sent: 0,
                    completion,
                },
            ),
            // A file goes out in DATA frames like any stream: HTTP/2 frames it, so
            // HTTP/1.1's page-cache-to-socket path does not apply.
            BodyKind::File(range) => (
                false,
                Sending::Streaming {
                    length: Some(range.remaining()),
                    body: range.into_stream(),
                    sent: 0,
                    completion,
                },
            ),
        };
        if self
            .conn
            .send_headers(id, parts.status, &parts.headers, added, end_now)
            .is_err()
        {
            if let Sending::Draining { completion } | Sending::Streaming { completion, .. } =
                sending
            {
                report(completion, Outcome::Aborted);
            }
            entry.sending = Sending::Done;
            return;
        }
        entry.sending = sending;
    }

    /// One item of a streamed response body.
    fn on_body_item(&mut self, id: u32, item: BodyItem) {
        let sid = StreamId::new(id);
        let Some(entry) = self.streams.get_mut(&id) else {
            return;
        };
        let Sending::Streaming {
            length,
            sent,
            completion,
            ..
        } = &mut entry.sending
        else {
            return;
        };
        let failure = match item {
            Ok(Some(Ok(chunk))) => {
                *sent += chunk.len() as u64;
                if length.is_some_and(|n| *sent > n) {
                    Some("response body longer than its declared length")
                } else if self.conn.send_data(sid, chunk, false).is_err() {
                    Some("stream closed")
                } else {
                    None
                }
            }
            Ok(None) => {
                if length.is_some_and(|n| *sent != n) {
                    Some("response body shorter than its declared length")
                } else if self.conn.send_data(sid, Bytes::new(), true).is_err() {
                    Some("stream closed")
                } else {
                    entry.sending = Sending::Draining {
                        completion: completion.take(),
                    };
                    None
                }
            }
            Ok(Some(Err(e))) => {
                tracing::warn!(stream = %sid, error = %e, "response body failed; resetting the stream");
                Some("response body failed")
            }
            Err(()) => Some("response body panicked"),
        };
        if let Some(why) = failure {
            tracing::error!(stream = %sid, why, "resetting h2 stream");
            self.conn.reset(sid, Reason::INTERNAL_ERROR);
            self.drop_stream(sid);
        }
    }

    /// Every stream ends at once: the peer is gone.
    fn abort_all(&mut self) {
        let ids: Vec<u32> = self.streams.keys().copied().collect();
        for id in ids {
            self.drop_stream(StreamId::new(id));
        }
    }

    /// Flushes what is left (a GOAWAY, most likely) for a moment, closes our side, then
    /// lingers. Handlers still running go on by themselves, reading the abort from their
    /// bodies.
    ///
    /// Lingering ([`super::linger`]): the peer may still be sending (WINDOW_UPDATE for the
    /// last DATA, PING, frames written before it saw our GOAWAY), and the reset that unread
    /// bytes bring could destroy the end of the last response of a graceful stop. So a
    /// connection closed because the server is stopping lingers. Other closes do not: a
    /// connection closed for being idle (its timeout, or to make room, whose slot must come
    /// free at once) has no response in flight, and one closed for an error has nothing
    /// left worth keeping.
    async fn close(&mut self) {
        self.abort_all();
        self.conn.poll_transmit(&mut self.transmit);
        for piece in self.transmit.drain(..) {
            self.outbox.push(piece);
        }
        if let Some(handlers) = self.handlers.take() {
            tokio::spawn(handlers.for_each(|_| async {}));
        }
        let _ = timeout(CLOSE_FLUSH, async {
            while !self.outbox.is_empty() {
                match self.outbox.write_to(&mut self.wr).await {
                    Ok(n) if n > 0 => {}
                    _ => break,
                }
            }
            let _ = self.wr.shutdown().await;
        })
        .await;
        if self.read_closed || !*self.ctx.shutdown.borrow() {
            return;
        }
        super::linger(&mut self.rd).await;
    }
}

/// Polls every streamed body that may produce, returning all items ready.
fn poll_bodies(
    streams: &mut StreamMap<Entry>,
    conn: &Connection,
    cx: &mut Context<'_>,
) -> Poll<Vec<(u32, BodyItem)>> {
    let mut ready = Vec::new();
    for (id, entry) in streams.iter_mut() {
        let Sending::Streaming { body, .. } = &mut entry.sending else {
            continue;
        };
        if conn.queued_send(StreamId::new(*id)) >= STREAM_QUEUE_HIGH {
            continue;
        }
        let polled = std::panic::catch_unwind(AssertUnwindSafe(|| body.as_mut().poll_next(cx)));
        match polled {
            Ok(Poll::Pending) => {}
            Ok(Poll::Ready(item)) => ready.push((*id, Ok(item))),
            Err(_) => ready.push((*id, Err(()))),
        }
    }
    if ready.is_empty() {
        Poll::Pending
    } else {
        Poll::Ready(ready)
    }
}

/// The protocol-neutral head of an HTTP/2 request.
fn to_dispatch_head(head: RequestHead2) -> Head {
    let websocket = head.method == Method::CONNECT && head.protocol.is_some();
    Head {
        method: head.method.clone(),
        target: head.target,
        version: http::Version::HTTP_2,
        headers: head.headers,
        // An extended CONNECT (RFC 8441): the handshake rules check the protocol is
        // `websocket`.
        websocket,
        protocol: head.protocol,
    }
}

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;

    /// Client stream ids (odd, consecutive) land in many different buckets, and the tags
    /// the map compares (top 7 bits) differ too.
    #[test]
    fn stream_ids_spread_over_buckets() {
        let build = BuildHasherDefault::<StreamIdHasher>::default();
        let hashes: Vec<u64> = (0..128u32).map(|i| build.hash_one(2 * i + 1)).collect();
        let buckets: std::collections::HashSet<u64> = hashes.iter().map(|h| h & 255).collect();
        let tags: std::collections::HashSet<u64> = hashes.iter().map(|h| h >> 57).collect();
        assert!(buckets.len() >= 96, "{} buckets of 256", buckets.len());
        assert!(tags.len() >= 64, "{} tags of 128", tags.len());
    }
}
