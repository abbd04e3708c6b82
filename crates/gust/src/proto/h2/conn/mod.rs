//! The HTTP/2 connection state machine (RFC 9113), server side, sans-I/O in the shape of
//! quinn-proto: bytes and time go in, events and frames come out.
//!
//! # Method groups and poll order
//!
//! - A. Construction: [`Connection::new`] queues our SETTINGS.
//! - B. Inputs: [`Connection::handle_input`] (bytes read from the socket),
//!   [`Connection::handle_timeout`] (when [`Connection::poll_timeout`] has passed).
//! - C. App commands: `send_headers`, `send_data`, `send_trailers`, `release_capacity`,
//!   `reset`, `go_away`.
//! - D. Outputs: [`Connection::poll_event`] until `None`, then [`Connection::poll_transmit`]
//!   and write all of it, then [`Connection::poll_timeout`] for the next deadline.
//!
//! After any input or command, the driver polls in the D order. When `handle_input` returns
//! an error, the GOAWAY is already queued: flush `poll_transmit` once more, then close.
//!
//! # Bounds
//!
//! Streams live in a map bounded by SETTINGS_MAX_CONCURRENT_STREAMS (refused past it with
//! REFUSED_STREAM) plus the streams still draining a response. Closed streams are forgotten
//! at once: an id not in the map and not above the highest client id seen is closed, and
//! HEADERS on it is a connection error (stream ids are never reused, RFC 9113 5.1.1) unless
//! we reset that stream lately.
//! Received body bytes are bounded by the receive windows we grant; a header block by
//! twice SETTINGS_MAX_HEADER_LIST_SIZE and `max_continuation_frames`; control frames we
//! owe the peer by [`MAX_PENDING_CONTROL`]. PING, SETTINGS, RST_STREAM and empty
//! DATA/CONTINUATION frames each have a per-second budget, and so have peer resets of
//! streams we accepted (rapid reset, CVE-2023-44487); past them: GOAWAY ENHANCE_YOUR_CALM.

use core::fmt;
use core::time::Duration;
use std::collections::VecDeque;
use std::time::Instant;

use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderMap, StatusCode};

use super::flow::Window;
use super::frame::{
    self, check_preface, encode_data_head, encode_headers, frame_headers_in_place, Continuation,
    Data, Decoded, Frame, FrameError, FrameErrorKind, GoAway, Headers, Ping, PrefaceCheck, Reason,
    RstStream, Settings, StreamId, WindowUpdate, DEFAULT_MAX_FRAME_SIZE, PREFACE,
};
use super::hpack::{DecodeError, Decoder, Encoder, ServerFields, DEFAULT_TABLE_SIZE};
use super::request::{RequestBuilder, RequestHead2, RequestLimits, TrailersBuilder};
use super::state::{State, StateError, Verdict};
use crate::proto::field_list::FieldList;
use crate::proto::frame_room;

mod send_queue;
mod streams;
#[cfg(test)]
mod tests;

use self::send_queue::SendQueue;
use self::streams::StreamTable;

/// Bytes of control frames (and response HEADERS) we may owe the peer before we decide it
/// is not reading them: a peer that makes us answer (PING, SETTINGS, RST_STREAM) without
/// reading the answers would otherwise grow this buffer without end. Past it:
/// GOAWAY ENHANCE_YOUR_CALM.
pub(crate) const MAX_PENDING_CONTROL: usize = 256 * 1024;

/// The default window before SETTINGS change it (RFC 9113 6.9.2).
const DEFAULT_WINDOW: u32 = 65_535;

/// The limits and settings of one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ConnConfig {
    /// SETTINGS_MAX_CONCURRENT_STREAMS we advertise; a stream past it is refused with
    /// RST_STREAM REFUSED_STREAM. Default: 100.
    pub(crate) max_concurrent_streams: u32,
    /// SETTINGS_INITIAL_WINDOW_SIZE we advertise: per-stream request body credit.
    /// Default: 256 KiB.
    pub(crate) initial_window_size: u32,
    /// Our connection receive window (raised from 65535 with a WINDOW_UPDATE). Worst-case
    /// buffered request body bytes per connection. Default: 1 MiB.
    pub(crate) connection_window: u32,
    /// SETTINGS_MAX_FRAME_SIZE we advertise (16384..=2^24-1). Default: 16384.
    pub(crate) max_frame_size: u32,
    /// SETTINGS_MAX_HEADER_LIST_SIZE we advertise; past it the request gets 431.
    /// Default: 16 KiB.
    pub(crate) max_header_list_size: u32,
    /// SETTINGS_HEADER_TABLE_SIZE we advertise: the peer's HPACK table in our memory.
    /// Default: 4096.
    pub(crate) header_table_size: u32,
    /// Bounds on one request head.
    pub(crate) request_limits: RequestLimits,
    /// How long the peer has to acknowledge our SETTINGS; then GOAWAY SETTINGS_TIMEOUT.
    /// Default: 10 s.
    pub(crate) settings_ack_timeout: Duration,
    /// Per second, each of: PING, SETTINGS, RST_STREAM and empty DATA/CONTINUATION
    /// frames received; past it GOAWAY ENHANCE_YOUR_CALM. Default: 100.
    pub(crate) ping_budget_per_sec: u32,
    /// Per second, peer resets of streams we had accepted (rapid reset); past it GOAWAY
    /// ENHANCE_YOUR_CALM. Default: 100.
    pub(crate) reset_budget_per_sec: u32,
    /// CONTINUATION frames in one header block; past it GOAWAY ENHANCE_YOUR_CALM.
    /// Default: 16.
    pub(crate) max_continuation_frames: usize,
}

impl Default for ConnConfig {
    fn default() -> Self {
        ConnConfig {
            max_concurrent_streams: 100,
            initial_window_size: 256 * 1024,
            connection_window: 1024 * 1024,
            max_frame_size: DEFAULT_MAX_FRAME_SIZE,
            max_header_list_size: 16 * 1024,
            header_table_size: 4096,
            request_limits: RequestLimits {
                max_url_length: 8 * 1024,
                max_headers: 100,
                allow_extended_connect: false,
            },
            settings_ack_timeout: Duration::from_secs(10),
            ping_budget_per_sec: 100,
            reset_budget_per_sec: 100,
            max_continuation_frames: 16,
        }
    }
}

/// What ended the connection: the GOAWAY code sent and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ConnError {
    /// The code in our GOAWAY.
    pub(crate) reason: Reason,
    /// The cause, for the log.
    pub(crate) cause: Cause,
}

/// The cause of a [`ConnError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Cause {
    /// The codec refused a frame (or the preface).
    Frame(FrameErrorKind),
    /// A header block did not decode.
    Hpack(DecodeError),
    /// A rule of the connection was broken.
    Protocol(&'static str),
    /// A flood budget was exceeded.
    Flood(&'static str),
}

impl fmt::Display for ConnError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "h2 connection error {}: ", self.reason)?;
        match &self.cause {
            Cause::Frame(k) => write!(f, "{k}"),
            Cause::Hpack(e) => write!(f, "{e}"),
            Cause::Protocol(s) => f.write_str(s),
            Cause::Flood(s) => write!(f, "too many {s}"),
        }
    }
}

impl core::error::Error for ConnError {}

/// A command the caller should not have given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum UsageError {
    /// No such stream open (never opened, closed, or reset).
    UnknownStream,
    /// Response HEADERS were already sent.
    HeadersAlreadySent,
    /// DATA or trailers before the response HEADERS.
    HeadersNotSent,
    /// The response already ended (END_STREAM queued or sent).
    StreamEnded,
}

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            UsageError::UnknownStream => "no such open h2 stream",
            UsageError::HeadersAlreadySent => "response headers already sent",
            UsageError::HeadersNotSent => "response headers not sent yet",
            UsageError::StreamEnded => "response already ended",
        })
    }
}

impl core::error::Error for UsageError {}

/// What the connection tells its driver.
#[derive(Debug)]
pub(crate) enum Event {
    /// A checked request head; `end_stream`: no body follows.
    Request {
        /// The stream.
        stream: StreamId,
        /// The head.
        head: RequestHead2,
        /// The request has no body.
        end_stream: bool,
    },
    /// Request body bytes: call `release_capacity` once they are consumed.
    Data {
        /// The stream.
        stream: StreamId,
        /// The bytes, a slice of the read buffer.
        data: Bytes,
        /// The body ends here.
        end_stream: bool,
    },
    /// Request trailers; the body ends with them.
    Trailers {
        /// The stream.
        stream: StreamId,
        /// The trailer fields. The handler API has no trailers yet, so the driver drops them.
        #[cfg_attr(not(test), allow(dead_code))]
        headers: HeaderMap,
    },
    /// The stream is gone: reset by the peer, or by us for a protocol error.
    Reset {
        /// The stream.
        stream: StreamId,
        /// The RST_STREAM code.
        reason: Reason,
    },
    /// A request refused with an HTTP status (501, 414, 431): the driver answers it with
    /// `status`; any body the client sends is discarded.
    Refused {
        /// The stream.
        stream: StreamId,
        /// The status to answer with.
        status: StatusCode,
        /// One line for the body and the log.
        reason_text: &'static str,
    },
    /// Queued response bytes were sent: the driver may poll the body again.
    WindowOpened {
        /// The stream.
        stream: StreamId,
    },
}

/// One stream we know of.
#[derive(Debug)]
struct Stream {
    state: State,
    send_window: Window,
    recv_window: Window,
    /// Body bytes consumed by the handler, not yet given back with WINDOW_UPDATE.
    recv_released: u32,
    queue: SendQueue,
    queued: usize,
    headers_sent: bool,
    /// END_STREAM (after the queue and any trailers) was asked for.
    end_queued: bool,
    /// Boxed: responses rarely have trailers, and a map inline is 96 bytes more of every
    /// stream, copied each time a stream enters and leaves the table.
    trailers: Option<Box<HeaderMap>>,
    content_length: Option<u64>,
    received: u64,
    /// A refused request: its body is dropped and its credit returned at once.
    discard_body: bool,
}

/// What a header block in progress is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BlockKind {
    /// A new request.
    Request,
    /// Trailers of an open stream.
    Trailers,
    /// Decoded only to keep the HPACK table in sync; then RST_STREAM with the code, if any.
    Discard(Option<Reason>),
}

/// A header block waiting for its CONTINUATION frames.
#[derive(Debug)]
struct PartialBlock {
    stream_id: StreamId,
    end_stream: bool,
    kind: BlockKind,
    block: BytesMut,
    frames: usize,
}

/// The flood categories, each with its own per-second count.
#[derive(Debug, Clone, Copy)]
enum Flood {
    Ping = 0,
    Settings = 1,
    Reset = 2,
    Empty = 3,
    AcceptedReset = 4,
}

impl Flood {
    fn name(self) -> &'static str {
        match self {
            Flood::Ping => "PING frames",
            Flood::Settings => "SETTINGS frames",
            Flood::Reset => "RST_STREAM frames",
            Flood::Empty => "empty DATA or CONTINUATION frames",
            Flood::AcceptedReset => "resets of accepted streams",
        }
    }
}

/// The server side of one HTTP/2 connection. See the module docs for the method groups
/// and the poll order.
#[derive(Debug)]
pub(crate) struct Connection {
    config: ConnConfig,
    preface_done: bool,
    got_peer_settings: bool,
    /// When our SETTINGS must be acknowledged; `None` once it is.
    settings_deadline: Option<Instant>,
    decoder: Decoder,
    encoder: Encoder,
    /// Control frames and response HEADERS, written before any DATA.
    ctrl: BytesMut,
    /// DATA frame heads, split off one by one.
    scratch: BytesMut,
    events: VecDeque<Event>,
    streams: StreamTable<Stream>,
    /// The highest stream id the client used: ids up to it not in `streams` are closed.
    last_client: StreamId,
    /// The highest stream we accepted, for GOAWAY.
    last_processed: StreamId,
    partial: Option<PartialBlock>,
    conn_send: Window,
    conn_recv: Window,
    conn_released: u32,
    /// The receive window a new stream gets.
    recv_initial: u32,
    peer_initial_window: u32,
    peer_max_frame_size: u32,
    going_away: bool,
    peer_going_away: bool,
    error: Option<ConnError>,
    flood_start: Instant,
    flood_counts: [u32; 5],
    /// Round-robin position: the last stream that sent DATA.
    cursor: u32,
    /// Streams we reset lately, oldest first: frames the peer sent before it saw our
    /// RST_STREAM are ignored (RFC 9113 5.1 "closed"), not answered as errors.
    reset_by_us: VecDeque<u32>,
    /// [`Connection::poll_transmit`]'s lists of stream ids (the round's order, then those
    /// that sent), kept between calls rather than allocated twice per call.
    transmit_ids: Vec<u32>,
    /// Emptied field lists given back by the caller ([`Connection::recycle_fields`]),
    /// which the next requests' fields fill: a new list costs an allocation, and dropping
    /// one a free, in every request.
    spare_fields: Vec<FieldList>,
    /// The memory the kept lists hold together ([`FieldList::memory`]), bounded by
    /// [`SPARE_FIELDS_MEMORY`].
    spare_room: usize,
    /// How many fields the last request had (at most [`SPARE_FIELDS_MAX`]): a request's
    /// list is made with that much room, in one step, rather than grown field by field.
    last_request_fields: usize,
    /// And how many bytes of names and values (at most [`SPARE_FIELD_BYTES_MAX`]).
    last_request_bytes: usize,
}

/// The most fields a list given back may have room for and still be kept (a load
/// generator's request has 3 to 12 regular fields, a browser's 15 to 20): an unusually
/// large list is not held while the connection is busy.
const SPARE_FIELDS_MAX: usize = 32;
/// The most bytes of names and values a list given back may have room for and still be
/// kept: a browser's fields with a few cookies.
const SPARE_FIELD_BYTES_MAX: usize = 8 * 1024;
/// The most memory all kept lists may hold together: 48 KiB per busy connection, enough
/// for [`SPARE_FIELDS_KEPT`] lists of a browser's requests (about 1.3 KiB each).
const SPARE_FIELDS_MEMORY: usize = 48 * 1024;
/// The most lists kept for reuse. A client that sends its requests in batches (a browser
/// loading a page's resources, a load generator) has a batch's worth of requests decoded
/// before the first answer gives its list back, so one spare would serve one request of
/// each batch. Kept only while the connection is busy.
const SPARE_FIELDS_KEPT: usize = 32;

/// The room a response HEADERS frame usually needs: the frame head and a block whose fields
/// are mostly indexed. A larger block reserves more as it is encoded.
const HEADERS_ROOM: usize = 256;

/// How many of the streams we reset are remembered, so that frames in flight on them are
/// ignored. Older ones are treated as any closed stream (DATA: RST_STREAM STREAM_CLOSED;
/// HEADERS: a connection error), which RFC 9113 5.1 allows once the ignoring has lasted a
/// while.
const REMEMBERED_RESETS: usize = 256;

impl Connection {
    /// A connection whose client preface is still to come. Our SETTINGS (and a connection
    /// WINDOW_UPDATE when our window is above the default) are queued.
    pub(crate) fn new(config: ConnConfig, now: Instant) -> Self {
        let mut ctrl = BytesMut::new();
        Settings {
            header_table_size: Some(config.header_table_size),
            max_concurrent_streams: Some(config.max_concurrent_streams),
            initial_window_size: Some(config.initial_window_size),
            max_frame_size: Some(config.max_frame_size),
            max_header_list_size: Some(config.max_header_list_size),
            enable_connect_protocol: config.request_limits.allow_extended_connect.then_some(true),
            ..Settings::default()
        }
        .encode(&mut ctrl);
        let mut conn_recv = Window::new(DEFAULT_WINDOW);
        if config.connection_window > DEFAULT_WINDOW {
            let inc = config.connection_window - DEFAULT_WINDOW;
            if conn_recv.increase(inc).is_ok() {
                WindowUpdate::new(StreamId::ZERO, inc).encode(&mut ctrl);
            }
        }
        Connection {
            config,
            preface_done: false,
            got_peer_settings: false,
            settings_deadline: Some(now + config.settings_ack_timeout),
            decoder: Decoder::new(DEFAULT_TABLE_SIZE),
            encoder: Encoder::new(),
            ctrl,
            scratch: BytesMut::new(),
            events: VecDeque::new(),
            streams: StreamTable::default(),
            last_client: StreamId::ZERO,
            last_processed: StreamId::ZERO,
            partial: None,
            conn_send: Window::new(DEFAULT_WINDOW),
            conn_recv,
            conn_released: 0,
            // Until our SETTINGS is acknowledged the peer may use the default.
            recv_initial: config.initial_window_size.max(DEFAULT_WINDOW),
            peer_initial_window: DEFAULT_WINDOW,
            peer_max_frame_size: DEFAULT_MAX_FRAME_SIZE,
            going_away: false,
            peer_going_away: false,
            error: None,
            flood_start: now,
            flood_counts: [0; 5],
            cursor: 0,
            reset_by_us: VecDeque::new(),
            transmit_ids: Vec::new(),
            spare_fields: Vec::new(),
            spare_room: 0,
            last_request_fields: 0,
            last_request_bytes: 0,
        }
    }

    // ---- B. inputs ----

    /// Consumes the client preface, then every complete frame in `buf`. On a connection
    /// error the GOAWAY is queued and the error returned: flush the output, then close.
    pub(crate) fn handle_input(
        &mut self,
        buf: &mut BytesMut,
        now: Instant,
    ) -> Result<(), ConnError> {
        if let Some(e) = &self.error {
            return Err(e.clone());
        }
        if !self.preface_done {
            match check_preface(buf) {
                PrefaceCheck::Complete => {
                    buf.advance(PREFACE.len());
                    self.preface_done = true;
                }
                PrefaceCheck::Incomplete { .. } => return Ok(()),
                PrefaceCheck::Mismatch => {
                    // Not HTTP/2: no GOAWAY, the peer would not understand it.
                    let e = ConnError {
                        reason: Reason::PROTOCOL_ERROR,
                        cause: Cause::Frame(FrameErrorKind::InvalidPreface),
                    };
                    self.error = Some(e.clone());
                    return Err(e);
                }
            }
        }
        loop {
            match frame::decode(buf, self.config.max_frame_size) {
                Ok(Decoded::Incomplete { .. }) => return Ok(()),
                Ok(Decoded::Frame(f, _)) => self.handle_frame(f, now)?,
                Err(e) => self.handle_frame_error(e)?,
            }
            if self.ctrl.len() > MAX_PENDING_CONTROL {
                return Err(self.fail(
                    Reason::ENHANCE_YOUR_CALM,
                    Cause::Protocol("peer does not read our control frames"),
                ));
            }
        }
    }

    /// Checks the SETTINGS acknowledgement deadline; past it the connection ends with
    /// GOAWAY SETTINGS_TIMEOUT.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        if self.error.is_some() {
            return;
        }
        if self.settings_deadline.is_some_and(|d| now >= d) {
            self.settings_deadline = None;
            let _ = self.fail(
                Reason::SETTINGS_TIMEOUT,
                Cause::Protocol("SETTINGS not acknowledged in time"),
            );
        }
    }

    // ---- C. app commands ----

    /// Queues the response head: `headers`, then those of `added` they lack. `end_stream`:
    /// there is no body.
    pub(crate) fn send_headers(
        &mut self,
        stream: StreamId,
        status: StatusCode,
        headers: &HeaderMap,
        added: &ServerFields<'_>,
        end_stream: bool,
    ) -> Result<(), UsageError> {
        let st = self
            .streams
            .get_mut(stream.value())
            .ok_or(UsageError::UnknownStream)?;
        if st.headers_sent {
            return Err(UsageError::HeadersAlreadySent);
        }
        if !st.state.can_send() {
            return Err(UsageError::StreamEnded);
        }
        st.headers_sent = true;
        // The block is encoded straight after room for its frame head: no buffer of its own.
        frame_room(&mut self.ctrl, HEADERS_ROOM);
        let start = self.ctrl.len();
        self.ctrl.resize(start + frame::Head::LEN, 0);
        self.encoder
            .encode_response(status, headers, added, &mut self.ctrl);
        frame_headers_in_place(
            stream,
            start,
            end_stream,
            self.peer_max_frame_size,
            &mut self.ctrl,
        );
        if end_stream {
            st.end_queued = true;
            st.state.send_end_stream();
            if st.discard_body && st.state == State::HalfClosedLocal {
                self.reset(stream, Reason::NO_ERROR);
            }
            self.maybe_remove(stream);
        }
        Ok(())
    }

    /// Queues body bytes; they are sent as the windows and the peer's frame size allow,
    /// split without copying.
    pub(crate) fn send_data(
        &mut self,
        stream: StreamId,
        data: Bytes,
        end_stream: bool,
    ) -> Result<(), UsageError> {
        let st = self.sendable(stream)?;
        if !data.is_empty() {
            st.queued += data.len();
            st.queue.push_back(data);
        }
        st.end_queued = end_stream;
        Ok(())
    }

    /// Queues trailers, which end the response once the queued body is sent. Tested here;
    /// the driver has no caller until the handler API can return trailers.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn send_trailers(
        &mut self,
        stream: StreamId,
        headers: &HeaderMap,
    ) -> Result<(), UsageError> {
        let st = self.sendable(stream)?;
        // Encoded only when sent: HPACK blocks must reach the peer in encoding order.
        st.trailers = Some(Box::new(headers.clone()));
        st.end_queued = true;
        Ok(())
    }

    /// Body bytes of `stream` waiting for send window.
    pub(crate) fn queued_send(&self, stream: StreamId) -> usize {
        self.streams.get(stream.value()).map_or(0, |s| s.queued)
    }

    /// The handler consumed `n` body bytes of `stream`: their credit goes back to the peer,
    /// batched into WINDOW_UPDATEs once half a window is consumed.
    pub(crate) fn release_capacity(&mut self, stream: StreamId, n: usize) {
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        self.release_conn(n);
        self.release_stream(stream, n);
    }

    /// Resets `stream` with `reason` (RST_STREAM); its queued output is dropped.
    pub(crate) fn reset(&mut self, stream: StreamId, reason: Reason) {
        if let Some(mut st) = self.streams.remove(stream.value()) {
            st.state.send_reset();
            RstStream::new(stream, reason).encode(&mut self.ctrl);
            self.remember_reset(stream);
        }
    }

    /// Graceful shutdown: GOAWAY(NO_ERROR, last stream processed); new streams are refused
    /// and [`Connection::is_finished`] turns true once the active ones end.
    pub(crate) fn go_away(&mut self) {
        if self.going_away || self.error.is_some() {
            return;
        }
        self.going_away = true;
        GoAway::new(self.last_processed, Reason::NO_ERROR).encode(&mut self.ctrl);
    }

    /// An h2c upgrade (RFC 7540 3.2): takes the settings of the request's `HTTP2-Settings`
    /// as if received in a SETTINGS frame (the 101 acknowledges them) and opens stream 1,
    /// half-closed (remote), for the upgraded request, which the caller answers. Call before
    /// any input.
    pub(crate) fn accept_upgrade(&mut self, peer: &Settings) -> Result<StreamId, ConnError> {
        self.apply_peer_settings(peer)?;
        let id = StreamId::new(1);
        let st = self.new_stream(true);
        self.streams.insert(id.value(), st);
        self.last_client = id;
        self.last_processed = id;
        Ok(id)
    }

    /// Nobody will read the rest of the request body of `stream`: what arrives is dropped
    /// and its credit returned at once, and once the response has ended the peer is told
    /// with RST_STREAM NO_ERROR to stop sending (RFC 9113 8.1).
    pub(crate) fn stop_receiving(&mut self, stream: StreamId) {
        let Some(st) = self.streams.get_mut(stream.value()) else {
            return;
        };
        st.discard_body = true;
        if st.state == State::HalfClosedLocal && st.queue.is_empty() {
            self.reset(stream, Reason::NO_ERROR);
        }
    }

    /// Ends the connection for a reason the driver found (a timeout): GOAWAY with
    /// `reason`; [`Connection::is_finished`] turns true.
    pub(crate) fn close_with(&mut self, reason: Reason, why: &'static str) {
        if self.error.is_none() {
            let _ = self.fail(reason, Cause::Protocol(why));
        }
    }

    /// A header block has begun and not yet ended (its CONTINUATION frames are due).
    pub(crate) fn header_block_pending(&self) -> bool {
        self.partial.is_some()
    }

    // ---- D. outputs ----

    /// The next event for the driver.
    pub(crate) fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Appends what is to be written: control frames first, then DATA round-robin across
    /// streams, each payload its own uncopied `Bytes`.
    pub(crate) fn poll_transmit(&mut self, out: &mut Vec<Bytes>) {
        if !self.ctrl.is_empty() {
            out.push(self.ctrl.split().freeze());
        }
        if self.error.is_some() {
            return;
        }
        // The round's order first, then the ids that sent something.
        let mut ids = std::mem::take(&mut self.transmit_ids);
        ids.clear();
        ids.extend(
            self.streams
                .round_robin_after(self.cursor)
                .filter(|(_, s)| !s.queue.is_empty() || s.end_queued)
                .map(|(id, _)| id),
        );
        let round = ids.len();
        loop {
            let mut progress = false;
            for at in 0..round {
                let id = ids[at];
                if self.send_one(id, out) {
                    progress = true;
                    ids.push(id);
                    self.cursor = id;
                }
            }
            if !progress {
                break;
            }
        }
        ids[round..].sort_unstable();
        let mut previous = None;
        for &id in &ids[round..] {
            if previous.replace(id) == Some(id) {
                continue;
            }
            let sid = StreamId::new(id);
            match self.streams.get(id) {
                Some(st) if st.state.can_send() && !st.end_queued => {
                    self.events.push_back(Event::WindowOpened { stream: sid });
                }
                Some(st) if st.discard_body && st.state == State::HalfClosedLocal => {
                    // The response is complete and nobody wants the rest of the request.
                    self.reset(sid, Reason::NO_ERROR);
                }
                _ => self.maybe_remove(sid),
            }
        }
        self.transmit_ids = ids;
        // RST_STREAMs queued above go out after the DATA that ended their streams.
        if !self.ctrl.is_empty() {
            out.push(self.ctrl.split().freeze());
        }
    }

    /// The next deadline for [`Connection::handle_timeout`].
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        if self.error.is_some() {
            None
        } else {
            self.settings_deadline
        }
    }

    /// Gives back the memory of the stream table, the event queue, the output buffers and
    /// the HPACK caches and scratch buffers where they are empty or can be remade: a drained
    /// `VecDeque` or `BytesMut` keeps its capacity (the stream table's is that of the most
    /// streams ever open at once) for as long as an idle connection lives.
    pub(crate) fn release_idle_memory(&mut self) {
        if self.ctrl.is_empty() && self.ctrl.capacity() > 0 {
            self.ctrl = BytesMut::new();
        }
        if self.scratch.is_empty() && self.scratch.capacity() > 0 {
            self.scratch = BytesMut::new();
        }
        self.streams.release_if_empty();
        if self.events.is_empty() && self.events.capacity() > 0 {
            self.events = VecDeque::new();
        }
        self.transmit_ids = Vec::new();
        self.spare_fields = Vec::new();
        self.spare_room = 0;
        self.encoder.release_idle_memory();
        self.decoder.release_idle_memory();
    }

    /// Takes a request's field list that is no longer needed (its request was answered
    /// from it, or its fields moved into a handler's map) to hold a later request's fields,
    /// unless [`SPARE_FIELDS_KEPT`] are kept already, their memory would pass
    /// [`SPARE_FIELDS_MEMORY`], or it is unusually large.
    pub(crate) fn recycle_fields(&mut self, mut list: FieldList) {
        let room = list.memory();
        let small = list.capacity() > 0
            && list.capacity() <= SPARE_FIELDS_MAX
            && list.byte_capacity() <= SPARE_FIELD_BYTES_MAX;
        if small
            && self.spare_fields.len() < SPARE_FIELDS_KEPT
            && self.spare_room + room <= SPARE_FIELDS_MEMORY
        {
            list.clear();
            self.spare_room += room;
            self.spare_fields.push(list);
        }
    }

    /// A kept list for a request's fields, else a new one; with room for as many as the
    /// last request had (a client sends much the same fields each time).
    fn spare_field_list(&mut self) -> FieldList {
        let mut list = self.spare_fields.pop().unwrap_or_default();
        self.spare_room = self.spare_room.saturating_sub(list.memory());
        list.reserve(self.last_request_fields, self.last_request_bytes);
        list
    }

    /// The connection is done: after a connection error, or after a GOAWAY either way once
    /// no stream is left.
    pub(crate) fn is_finished(&self) -> bool {
        self.error.is_some()
            || ((self.going_away || self.peer_going_away) && self.streams.is_empty())
    }

    // ---- internals ----

    /// Sends one DATA frame (or the end of the stream) of `id`; false if nothing could go.
    fn send_one(&mut self, id: u32, out: &mut Vec<Bytes>) -> bool {
        let sid = StreamId::new(id);
        let Some(st) = self.streams.get_mut(id) else {
            return false;
        };
        if !st.state.can_send() {
            return false;
        }
        if let Some(front) = st.queue.front_mut() {
            let n = front
                .len()
                .min(st.send_window.available() as usize)
                .min(self.conn_send.available() as usize)
                .min(self.peer_max_frame_size as usize);
            if n == 0 {
                return false;
            }
            let chunk = if n == front.len() {
                st.queue.pop_front().unwrap_or_default()
            } else {
                front.split_to(n)
            };
            st.queued -= n;
            // `n` is below the peer's max frame size, a u32.
            st.send_window.consume_send(n as u32);
            self.conn_send.consume_send(n as u32);
            let last = st.queue.is_empty() && st.end_queued && st.trailers.is_none();
            frame_room(&mut self.scratch, frame::Head::LEN);
            encode_data_head(sid, n, last, &mut self.scratch);
            out.push(self.scratch.split().freeze());
            out.push(chunk);
            if last {
                st.state.send_end_stream();
            }
            return true;
        }
        if !st.end_queued {
            return false;
        }
        if let Some(trailers) = st.trailers.take() {
            let mut block = BytesMut::new();
            self.encoder.encode_trailers(&trailers, &mut block);
            encode_headers(
                sid,
                &block,
                true,
                self.peer_max_frame_size,
                &mut self.scratch,
            );
        } else {
            frame_room(&mut self.scratch, frame::Head::LEN);
            encode_data_head(sid, 0, true, &mut self.scratch);
        }
        out.push(self.scratch.split().freeze());
        st.state.send_end_stream();
        true
    }

    fn sendable(&mut self, stream: StreamId) -> Result<&mut Stream, UsageError> {
        let st = self
            .streams
            .get_mut(stream.value())
            .ok_or(UsageError::UnknownStream)?;
        if !st.headers_sent {
            return Err(UsageError::HeadersNotSent);
        }
        if st.end_queued || !st.state.can_send() {
            return Err(UsageError::StreamEnded);
        }
        Ok(st)
    }

    /// Queues GOAWAY and records the error.
    fn fail(&mut self, reason: Reason, cause: Cause) -> ConnError {
        let e = ConnError { reason, cause };
        tracing::debug!(error = %e, "h2 connection error");
        GoAway::new(self.last_processed, reason).encode(&mut self.ctrl);
        self.error = Some(e.clone());
        e
    }

    fn flood(&mut self, kind: Flood, now: Instant) -> Result<(), ConnError> {
        if now.saturating_duration_since(self.flood_start) >= Duration::from_secs(1) {
            self.flood_start = now;
            self.flood_counts = [0; 5];
        }
        let count = &mut self.flood_counts[kind as usize];
        *count += 1;
        let budget = match kind {
            Flood::AcceptedReset => self.config.reset_budget_per_sec,
            _ => self.config.ping_budget_per_sec,
        };
        if *count > budget {
            return Err(self.fail(Reason::ENHANCE_YOUR_CALM, Cause::Flood(kind.name())));
        }
        Ok(())
    }

    /// Whether `id` is idle: never opened by the client (even ids never are).
    fn is_idle(&self, id: StreamId) -> bool {
        !id.is_client_initiated() || id > self.last_client
    }

    fn active_streams(&self) -> usize {
        self.streams
            .values()
            .filter(|s| s.state.is_active())
            .count()
    }

    fn maybe_remove(&mut self, id: StreamId) {
        if self
            .streams
            .get(id.value())
            .is_some_and(|s| matches!(s.state, State::Closed(_)))
        {
            self.streams.remove(id.value());
        }
    }

    /// A stream error of ours: RST_STREAM, and the driver hears of it if the stream was
    /// known.
    fn reset_stream(&mut self, id: StreamId, reason: Reason) {
        RstStream::new(id, reason).encode(&mut self.ctrl);
        if self.streams.remove(id.value()).is_some() {
            self.events.push_back(Event::Reset { stream: id, reason });
        }
        if id.is_client_initiated() && !self.is_idle(id) {
            self.remember_reset(id);
        }
    }

    fn remember_reset(&mut self, id: StreamId) {
        if self.reset_by_us.len() == REMEMBERED_RESETS {
            self.reset_by_us.pop_front();
        }
        self.reset_by_us.push_back(id.value());
    }

    fn was_reset_by_us(&self, id: StreamId) -> bool {
        self.reset_by_us.contains(&id.value())
    }

    fn state_error(&mut self, id: StreamId, e: StateError) -> Result<(), ConnError> {
        match e {
            StateError::Protocol => Err(self.fail(
                Reason::PROTOCOL_ERROR,
                Cause::Protocol("frame not allowed in the stream's state"),
            )),
            StateError::ConnectionStreamClosed => Err(self.fail(
                Reason::STREAM_CLOSED,
                Cause::Protocol("frame on a stream the peer reset"),
            )),
            StateError::StreamClosed => {
                self.reset_stream(id, Reason::STREAM_CLOSED);
                Ok(())
            }
        }
    }

    fn release_conn(&mut self, n: u32) {
        if n == 0 {
            return;
        }
        self.conn_released = self.conn_released.saturating_add(n);
        let target = self.config.connection_window.max(DEFAULT_WINDOW);
        if self.conn_released >= target / 2 {
            let inc = self.conn_released;
            self.conn_released = 0;
            if self.conn_recv.increase(inc).is_ok() {
                WindowUpdate::new(StreamId::ZERO, inc).encode(&mut self.ctrl);
            }
        }
    }

    fn release_stream(&mut self, id: StreamId, n: u32) {
        let half = self.recv_initial / 2;
        let Some(st) = self.streams.get_mut(id.value()) else {
            return;
        };
        // Once the peer has ended its side, credit is of no use to it.
        if n == 0 || !matches!(st.state, State::Open | State::HalfClosedLocal) {
            return;
        }
        st.recv_released = st.recv_released.saturating_add(n);
        if st.recv_released >= half {
            let inc = st.recv_released;
            st.recv_released = 0;
            if st.recv_window.increase(inc).is_ok() {
                WindowUpdate::new(id, inc).encode(&mut self.ctrl);
            }
        }
    }

    fn handle_frame_error(&mut self, e: FrameError) -> Result<(), ConnError> {
        // A stream error on an idle stream cannot be a RST_STREAM (RFC 9113 6.4); any
        // stream error may be a connection error instead (5.4.1).
        if e.is_connection_error() || self.partial.is_some() || self.is_idle(e.stream_id) {
            return Err(self.fail(e.reason, Cause::Frame(e.kind)));
        }
        tracing::debug!(error = %e, "h2 stream error");
        self.reset_stream(e.stream_id, e.reason);
        Ok(())
    }

    fn handle_frame(&mut self, f: Frame, now: Instant) -> Result<(), ConnError> {
        if let Some(p) = &self.partial {
            let ok = matches!(&f, Frame::Continuation(c) if c.stream_id == p.stream_id);
            if !ok {
                return Err(self.fail(
                    Reason::PROTOCOL_ERROR,
                    Cause::Protocol("frame inside a header block"),
                ));
            }
        }
        if !self.got_peer_settings {
            if !matches!(&f, Frame::Settings(s) if !s.ack) {
                return Err(self.fail(
                    Reason::PROTOCOL_ERROR,
                    Cause::Protocol("client preface not followed by SETTINGS"),
                ));
            }
            self.got_peer_settings = true;
        }
        match f {
            Frame::Data(d) => self.on_data(d, now),
            Frame::Headers(h) => self.on_headers(h),
            Frame::Continuation(c) => self.on_continuation(c, now),
            Frame::Priority(p) => {
                if p.is_self_dependency() {
                    if self.is_idle(p.stream_id) {
                        // No RST_STREAM for an idle stream (6.4): a connection error.
                        return Err(self.fail(
                            Reason::PROTOCOL_ERROR,
                            Cause::Protocol("PRIORITY: an idle stream depends on itself"),
                        ));
                    }
                    self.reset_stream(p.stream_id, Reason::PROTOCOL_ERROR);
                }
                Ok(())
            }
            Frame::RstStream(r) => self.on_reset(r, now),
            Frame::Settings(s) => self.on_settings(s, now),
            Frame::PushPromise(_) => Err(self.fail(
                Reason::PROTOCOL_ERROR,
                Cause::Protocol("PUSH_PROMISE from a client"),
            )),
            Frame::Ping(p) => {
                if !p.ack {
                    self.flood(Flood::Ping, now)?;
                    Ping::pong(p.payload).encode(&mut self.ctrl);
                }
                Ok(())
            }
            Frame::GoAway(g) => {
                tracing::debug!(?g, "h2 peer GOAWAY");
                self.peer_going_away = true;
                Ok(())
            }
            Frame::WindowUpdate(w) => self.on_window_update(w),
            Frame::Unknown { .. } => Ok(()),
        }
    }

    fn on_settings(&mut self, s: Settings, now: Instant) -> Result<(), ConnError> {
        if s.ack {
            if self.settings_deadline.take().is_some() {
                self.decoder
                    .set_max_table_size(self.config.header_table_size as usize);
                let ours = self.config.initial_window_size;
                if ours < self.recv_initial {
                    for st in self.streams.values_mut() {
                        // Lowering never overflows.
                        let _ = st.recv_window.apply_initial_change(self.recv_initial, ours);
                    }
                }
                self.recv_initial = ours;
            }
            return Ok(());
        }
        self.flood(Flood::Settings, now)?;
        self.apply_peer_settings(&s)?;
        Settings::ack().encode(&mut self.ctrl);
        Ok(())
    }

    /// Takes the peer's settings into use (from a SETTINGS frame or an h2c upgrade).
    fn apply_peer_settings(&mut self, s: &Settings) -> Result<(), ConnError> {
        if let Some(size) = s.header_table_size {
            self.encoder.set_max_table_size(size as usize);
        }
        if let Some(size) = s.max_frame_size {
            self.peer_max_frame_size = size;
        }
        if let Some(new) = s.initial_window_size {
            let old = self.peer_initial_window;
            self.peer_initial_window = new;
            let overflow = self
                .streams
                .values_mut()
                .any(|st| st.send_window.apply_initial_change(old, new).is_err());
            if overflow {
                return Err(self.fail(
                    Reason::FLOW_CONTROL_ERROR,
                    Cause::Protocol("SETTINGS_INITIAL_WINDOW_SIZE overflows a window"),
                ));
            }
        }
        Ok(())
    }

    fn on_window_update(&mut self, w: WindowUpdate) -> Result<(), ConnError> {
        if w.stream_id.is_zero() {
            if self.conn_send.increase(w.increment).is_err() {
                return Err(self.fail(
                    Reason::FLOW_CONTROL_ERROR,
                    Cause::Protocol("connection send window above 2^31-1"),
                ));
            }
            return Ok(());
        }
        let id = w.stream_id;
        if let Some(st) = self.streams.get_mut(id.value()) {
            if st.send_window.increase(w.increment).is_err() {
                self.reset_stream(id, Reason::FLOW_CONTROL_ERROR);
            }
            return Ok(());
        }
        if self.is_idle(id) {
            return Err(self.fail(
                Reason::PROTOCOL_ERROR,
                Cause::Protocol("WINDOW_UPDATE on an idle stream"),
            ));
        }
        Ok(())
    }

    fn on_reset(&mut self, r: RstStream, now: Instant) -> Result<(), ConnError> {
        self.flood(Flood::Reset, now)?;
        let id = r.stream_id;
        if let Some(st) = self.streams.get_mut(id.value()) {
            if st.state.recv_reset() == Ok(Verdict::Accept) {
                self.streams.remove(id.value());
                self.events.push_back(Event::Reset {
                    stream: id,
                    reason: r.reason,
                });
                self.flood(Flood::AcceptedReset, now)?;
            }
            return Ok(());
        }
        if self.is_idle(id) {
            return Err(self.fail(
                Reason::PROTOCOL_ERROR,
                Cause::Protocol("RST_STREAM on an idle stream"),
            ));
        }
        Ok(())
    }

    fn on_data(&mut self, d: Data, now: Instant) -> Result<(), ConnError> {
        let id = d.stream_id;
        let flow = d.flow_len;
        if d.data.is_empty() && !d.end_stream {
            self.flood(Flood::Empty, now)?;
        }
        if !self.streams.contains_key(id.value()) && self.is_idle(id) {
            return Err(self.fail(
                Reason::PROTOCOL_ERROR,
                Cause::Protocol("DATA on an idle stream"),
            ));
        }
        // Every DATA frame counts against the connection window (RFC 9113 6.9).
        if self.conn_recv.consume_recv(flow).is_err() {
            return Err(self.fail(
                Reason::FLOW_CONTROL_ERROR,
                Cause::Protocol("DATA beyond the connection window"),
            ));
        }
        let Some(st) = self.streams.get_mut(id.value()) else {
            // Closed and forgotten: in flight before our RST_STREAM reached the peer, or a
            // stream the peer closed, which is an error of its own.
            self.release_conn(flow);
            if !self.was_reset_by_us(id) {
                self.reset_stream(id, Reason::STREAM_CLOSED);
            }
            return Ok(());
        };
        match st.state.recv_data(d.end_stream) {
            Ok(Verdict::Accept) => {}
            Ok(Verdict::Ignore) => {
                self.release_conn(flow);
                return Ok(());
            }
            Err(e) => {
                self.release_conn(flow);
                return self.state_error(id, e);
            }
        }
        if st.recv_window.consume_recv(flow).is_err() {
            return Err(self.fail(
                Reason::FLOW_CONTROL_ERROR,
                Cause::Protocol("DATA beyond the stream window"),
            ));
        }
        let len = d.data.len() as u64;
        st.received += len;
        let length_error = st
            .content_length
            .is_some_and(|cl| st.received > cl || (d.end_stream && st.received != cl));
        let discard = st.discard_body;
        // Padding is never seen by the handler: its credit goes back at once.
        let pad = flow - d.data.len() as u32;
        self.release_conn(pad);
        self.release_stream(id, pad);
        if length_error {
            self.release_conn(len as u32);
            self.reset_stream(id, Reason::PROTOCOL_ERROR);
            return Ok(());
        }
        if discard {
            self.release_conn(len as u32);
            self.release_stream(id, len as u32);
        } else {
            self.events.push_back(Event::Data {
                stream: id,
                data: d.data,
                end_stream: d.end_stream,
            });
        }
        if d.end_stream {
            self.maybe_remove(id);
        }
        Ok(())
    }

    fn on_headers(&mut self, h: Headers) -> Result<(), ConnError> {
        let id = h.stream_id;
        if !id.is_client_initiated() {
            return Err(self.fail(
                Reason::PROTOCOL_ERROR,
                Cause::Protocol("HEADERS on an even stream id"),
            ));
        }
        let mut kind = if let Some(st) = self.streams.get_mut(id.value()) {
            match st.state.recv_headers(h.end_stream) {
                Ok(Verdict::Accept) => BlockKind::Trailers,
                Ok(Verdict::Ignore) => BlockKind::Discard(None),
                Err(e) => {
                    self.state_error(id, e)?;
                    BlockKind::Discard(None)
                }
            }
        } else if id > self.last_client {
            self.last_client = id;
            let full = self.active_streams() >= self.config.max_concurrent_streams as usize;
            if self.going_away || self.peer_going_away || full {
                BlockKind::Discard(Some(Reason::REFUSED_STREAM))
            } else {
                BlockKind::Request
            }
        } else if self.was_reset_by_us(id) {
            BlockKind::Discard(None)
        } else {
            // Not a stream we reset: the client tries to open a stream whose id is not
            // above every id it used, or one it closed itself (RFC 9113 5.1.1).
            return Err(self.fail(
                Reason::PROTOCOL_ERROR,
                Cause::Protocol("HEADERS on a closed stream: stream ids are not reused"),
            ));
        };
        if h.is_self_dependency() {
            if kind == BlockKind::Trailers {
                self.reset_stream(id, Reason::PROTOCOL_ERROR);
                kind = BlockKind::Discard(None);
            } else {
                kind = BlockKind::Discard(Some(Reason::PROTOCOL_ERROR));
            }
        }
        if h.header_block.len() > self.max_block() {
            return Err(self.block_too_large());
        }
        if h.end_headers {
            return self.process_block(id, h.end_stream, kind, &h.header_block);
        }
        self.partial = Some(PartialBlock {
            stream_id: id,
            end_stream: h.end_stream,
            kind,
            block: BytesMut::from(&h.header_block[..]),
            frames: 0,
        });
        Ok(())
    }

    fn max_block(&self) -> usize {
        (self.config.max_header_list_size as usize).saturating_mul(2)
    }

    fn block_too_large(&mut self) -> ConnError {
        self.fail(
            Reason::ENHANCE_YOUR_CALM,
            Cause::Protocol("header block too large"),
        )
    }

    fn on_continuation(&mut self, c: Continuation, now: Instant) -> Result<(), ConnError> {
        let max_block = self.max_block();
        let max_frames = self.config.max_continuation_frames;
        let Some(p) = self.partial.as_mut() else {
            return Err(self.fail(
                Reason::PROTOCOL_ERROR,
                Cause::Protocol("CONTINUATION without HEADERS"),
            ));
        };
        p.frames += 1;
        let too_many = p.frames > max_frames;
        let too_large = p.block.len() + c.header_block.len() > max_block;
        p.block.extend_from_slice(&c.header_block);
        if too_many {
            return Err(self.fail(
                Reason::ENHANCE_YOUR_CALM,
                Cause::Flood("CONTINUATION frames in one block"),
            ));
        }
        if too_large {
            return Err(self.block_too_large());
        }
        if c.header_block.is_empty() && !c.end_headers {
            self.flood(Flood::Empty, now)?;
        }
        if c.end_headers {
            if let Some(p) = self.partial.take() {
                return self.process_block(p.stream_id, p.end_stream, p.kind, &p.block);
            }
        }
        Ok(())
    }

    /// Runs a whole block through HPACK (always, to keep the table in sync) and acts on it.
    fn process_block(
        &mut self,
        id: StreamId,
        end_stream: bool,
        kind: BlockKind,
        block: &[u8],
    ) -> Result<(), ConnError> {
        let max_list = self.config.max_header_list_size as usize;
        let limits = self.config.request_limits;
        match kind {
            BlockKind::Request => {
                let spare = self.spare_field_list();
                let mut b = RequestBuilder::with_fields(limits, spare);
                let decoded = self
                    .decoder
                    .decode_stored(block, max_list, |n, v, _, stored| {
                        b.field_stored(n, v, stored)
                    });
                let outcome = match decoded {
                    Ok(()) => b.finish(end_stream).map_err(|e| (e.status(), e.reason())),
                    Err(e) if e.is_compression_error() => {
                        return Err(self.fail(Reason::COMPRESSION_ERROR, Cause::Hpack(e)));
                    }
                    Err(_) => Err((
                        Some(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE),
                        "header list exceeds SETTINGS_MAX_HEADER_LIST_SIZE",
                    )),
                };
                match outcome {
                    Err((None, text)) => {
                        tracing::debug!(stream = %id, text, "malformed h2 request");
                        self.reset_stream(id, Reason::PROTOCOL_ERROR);
                    }
                    Ok(head) => {
                        self.last_request_fields = head.headers.len().min(SPARE_FIELDS_MAX);
                        self.last_request_bytes =
                            head.headers.byte_len().min(SPARE_FIELD_BYTES_MAX);
                        let mut st = self.new_stream(end_stream);
                        st.content_length = head.content_length;
                        self.streams.insert(id.value(), st);
                        self.last_processed = id;
                        self.events.push_back(Event::Request {
                            stream: id,
                            head,
                            end_stream,
                        });
                    }
                    Err((Some(status), reason_text)) => {
                        let mut st = self.new_stream(end_stream);
                        st.discard_body = true;
                        self.streams.insert(id.value(), st);
                        self.last_processed = id;
                        self.events.push_back(Event::Refused {
                            stream: id,
                            status,
                            reason_text,
                        });
                    }
                }
            }
            BlockKind::Trailers => {
                let mut b = TrailersBuilder::new(limits);
                let decoded = self
                    .decoder
                    .decode(block, max_list, |n, v, _| b.field(n, v));
                match decoded {
                    Err(e) if e.is_compression_error() => {
                        return Err(self.fail(Reason::COMPRESSION_ERROR, Cause::Hpack(e)));
                    }
                    Err(_) => self.reset_stream(id, Reason::PROTOCOL_ERROR),
                    Ok(()) => {
                        let length_ok = self
                            .streams
                            .get(id.value())
                            .is_none_or(|s| s.content_length.is_none_or(|cl| cl == s.received));
                        let discard = self.streams.get(id.value()).is_some_and(|s| s.discard_body);
                        match b.finish() {
                            Ok(headers) if length_ok => {
                                if !discard {
                                    self.events.push_back(Event::Trailers {
                                        stream: id,
                                        headers,
                                    });
                                }
                                self.maybe_remove(id);
                            }
                            _ => self.reset_stream(id, Reason::PROTOCOL_ERROR),
                        }
                    }
                }
            }
            BlockKind::Discard(reason) => {
                if let Err(e) = self.decoder.decode(block, max_list, |_, _, _| {}) {
                    if e.is_compression_error() {
                        return Err(self.fail(Reason::COMPRESSION_ERROR, Cause::Hpack(e)));
                    }
                }
                if let Some(reason) = reason {
                    // Remembered, so that what the peer sent before it saw the reset is
                    // ignored (RFC 9113 5.1 "closed").
                    self.reset_stream(id, reason);
                }
            }
        }
        Ok(())
    }

    fn new_stream(&self, end_stream: bool) -> Stream {
        Stream {
            state: if end_stream {
                State::HalfClosedRemote
            } else {
                State::Open
            },
            send_window: Window::new(self.peer_initial_window),
            recv_window: Window::new(self.recv_initial),
            recv_released: 0,
            queue: SendQueue::default(),
            queued: 0,
            headers_sent: false,
            end_queued: false,
            trailers: None,
            content_length: None,
            received: 0,
            discard_body: false,
        }
    }
}
