//! HTTP/2: the whole connection machine fed arbitrary bytes, with an application that
//! answers the requests it reports, so that the sending paths (HEADERS, DATA under flow
//! control, trailers, resets, GOAWAY) run too.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http::{HeaderMap, HeaderValue, StatusCode};

use super::{pieces, Input, Rng};
use crate::proto::h2::conn::{ConnConfig, Connection, Event, MAX_PENDING_CONTROL};
use crate::proto::h2::frame::{
    self, Decoded, Frame, Head, Reason, StreamId, DEFAULT_MAX_FRAME_SIZE,
    MAX_FRAME_SIZE_UPPER_BOUND, PREFACE,
};
use crate::proto::h2::hpack::ServerFields;
use crate::proto::h2::request::RequestLimits;

/// What the server adds to every response, as the driver does (a fixed date).
const ADDED: ServerFields<'static> = ServerFields {
    date: b"Thu, 01 Jan 1970 00:00:00 GMT",
    server: b"gust",
    content_length: None,
    shared: None,
};

/// The connection window before any WINDOW_UPDATE (RFC 9113 6.9.2).
const DEFAULT_WINDOW: u64 = 65_535;

/// Slack over [`MAX_PENDING_CONTROL`] for what one frame can add after the check that
/// follows the frame before it: a few small frames (an ack, two WINDOW_UPDATEs, a
/// RST_STREAM, the GOAWAY).
const CONTROL_SLACK: usize = 1024;

/// The connection machine on a client preface (unless the mode byte says not to) and
/// arbitrary bytes, fed in pieces with time passing between them.
///
/// Layout: a mode byte (bit 0: no preface; bit 1: tight limits; bit 2: extended CONNECT;
/// bit 3: 64 KiB frames; bits 4-5: the initial window), the cut seed, an application
/// byte (bits 0-1: response body size; bit 2: never release received body; bit 3:
/// GOAWAY after the first request; bits 4-7: how each request is answered), then the
/// bytes from the client.
///
/// Checks: everything the machine writes decodes as HTTP/2 frames within the largest
/// frame size the client allowed; nothing follows a GOAWAY with an error code; DATA never
/// exceeds the flow-control credit the client gave, on the connection or on any stream;
/// the control frames written for one read stay within [`MAX_PENDING_CONTROL`] plus one
/// frame's answers. Events are coherent: new streams are odd and increasing, body and
/// trailers come only on streams whose request is open and not refused, a reset names a
/// known stream, and every command on a stream the application may still answer succeeds.
/// After an error the machine is finished and stays failed.
pub fn h2_connection(data: &[u8]) {
    run(data);
}

/// The whole run, returning the harness for the tests to look at.
fn run(data: &[u8]) -> Harness {
    let mut input = Input::new(data);
    let mode = input.byte();
    let seed = input.byte();
    let app = input.byte();
    let mut wire = Vec::new();
    if mode & 1 == 0 {
        wire.extend_from_slice(PREFACE);
    }
    wire.extend_from_slice(input.rest());
    let config = config(mode);
    let mut harness = Harness::new(config, app, PeerCredit::of(&wire, config.max_frame_size));
    for piece in pieces(&wire, seed) {
        if !harness.feed(piece) {
            break;
        }
    }
    harness.finish();
    harness
}

fn config(mode: u8) -> ConnConfig {
    let mut c = ConnConfig::default();
    if mode & 2 != 0 {
        c = ConnConfig {
            max_concurrent_streams: 2,
            connection_window: 65_535,
            max_header_list_size: 200,
            header_table_size: 0,
            request_limits: RequestLimits {
                max_url_length: 32,
                max_headers: 3,
                allow_extended_connect: false,
            },
            ping_budget_per_sec: 4,
            reset_budget_per_sec: 2,
            max_continuation_frames: 1,
            ..c
        };
    }
    c.request_limits.allow_extended_connect = mode & 4 != 0;
    if mode & 8 != 0 {
        c.max_frame_size = 65_535;
    }
    c.initial_window_size = [65_535, 256 * 1024, 1, 16][usize::from((mode >> 4) & 3)];
    c
}

/// What the client's bytes allow us to send, over-estimated: every WINDOW_UPDATE and
/// SETTINGS in the input counted, whether or not the connection got to read it.
struct PeerCredit {
    conn_increments: u64,
    stream_increments: HashMap<u32, u64>,
    /// The largest SETTINGS_INITIAL_WINDOW_SIZE in force at any time.
    max_initial: u64,
    /// The largest SETTINGS_MAX_FRAME_SIZE in force at any time.
    max_frame: u32,
}

impl PeerCredit {
    fn of(wire: &[u8], our_max_frame: u32) -> PeerCredit {
        let mut credit = PeerCredit {
            conn_increments: 0,
            stream_increments: HashMap::new(),
            max_initial: DEFAULT_WINDOW,
            max_frame: DEFAULT_MAX_FRAME_SIZE,
        };
        let Some(frames) = wire.strip_prefix(PREFACE) else {
            return credit;
        };
        let mut buf = BytesMut::from(frames);
        loop {
            let before = buf.len();
            match frame::decode(&mut buf, our_max_frame) {
                Ok(Decoded::Frame(Frame::Settings(s), _)) => {
                    if let Some(w) = s.initial_window_size {
                        credit.max_initial = credit.max_initial.max(u64::from(w));
                    }
                    if let Some(f) = s.max_frame_size {
                        credit.max_frame = credit.max_frame.max(f);
                    }
                }
                Ok(Decoded::Frame(Frame::WindowUpdate(w), _)) => {
                    let inc = u64::from(w.increment);
                    if w.stream_id.is_zero() {
                        credit.conn_increments += inc;
                    } else {
                        *credit
                            .stream_increments
                            .entry(w.stream_id.value())
                            .or_default() += inc;
                    }
                }
                Ok(Decoded::Frame(..)) => {}
                Ok(Decoded::Incomplete { .. }) => break,
                Err(_) if buf.len() < before => {}
                Err(_) => break,
            }
        }
        credit
    }
}

/// A stream as the application sees it.
#[derive(Debug, Default)]
struct AppStream {
    /// The peer may still send body bytes or trailers.
    body_open: bool,
    /// Refused by the machine (an HTTP status): its body is discarded, not reported.
    refused: bool,
    /// How it is to be answered (an index into the styles of `answer`).
    style: u32,
    /// Response headers went out.
    answered: bool,
    /// Trailers are still to be sent (style 2).
    trailers_due: bool,
}

struct Harness {
    conn: Connection,
    now: Instant,
    rng: Rng,
    app: u8,
    buf: BytesMut,
    /// Streams the application may still act on.
    streams: BTreeMap<u32, AppStream>,
    last_new_stream: u32,
    requests: usize,
    failed: bool,
    body: Bytes,
    credit: PeerCredit,
    /// What the machine wrote, checked frame by frame.
    sent_conn_data: u64,
    sent_stream_data: HashMap<u32, u64>,
    error_goaway_sent: bool,
}

impl Harness {
    fn new(config: ConnConfig, app: u8, credit: PeerCredit) -> Harness {
        let now = Instant::now();
        let body_len = [0, 10, 20_000, 100_000][usize::from(app & 3)];
        Harness {
            conn: Connection::new(config, now),
            now,
            rng: Rng::new(app),
            app,
            buf: BytesMut::new(),
            streams: BTreeMap::new(),
            last_new_stream: 0,
            requests: 0,
            failed: false,
            body: Bytes::from(vec![b'x'; body_len]),
            credit,
            sent_conn_data: 0,
            sent_stream_data: HashMap::new(),
            error_goaway_sent: false,
        }
    }

    /// One read from the client; false once the connection has failed.
    fn feed(&mut self, piece: &[u8]) -> bool {
        self.advance_time();
        self.buf.extend_from_slice(piece);
        let result = self.conn.handle_input(&mut self.buf, self.now);
        // Only the machine's answers to this read are queued: bound them.
        let control = self.transmit();
        assert!(
            control <= MAX_PENDING_CONTROL + CONTROL_SLACK,
            "{control} bytes of control frames queued for one read"
        );
        if result.is_err() {
            assert!(self.conn.is_finished(), "failed but not finished");
            let mut more = BytesMut::from(&b"\0\0\0\x04\0\0\0\0\0"[..]);
            assert!(
                self.conn.handle_input(&mut more, self.now).is_err(),
                "error did not stick"
            );
            self.failed = true;
            self.transmit();
            return false;
        }
        self.handle_events();
        self.transmit();
        if self.conn.poll_timeout().is_some_and(|t| t <= self.now) {
            self.conn.handle_timeout(self.now);
            self.transmit();
        }
        !self.conn.is_finished()
    }

    /// Time between reads: mostly none, sometimes past the one-second flood windows,
    /// rarely past the SETTINGS acknowledgement deadline.
    fn advance_time(&mut self) {
        let step = match self.rng.below(64) {
            0..=47 => 0,
            48..=55 => 1,
            56..=60 => 300,
            61..=62 => 1_100,
            _ => 10_500,
        };
        self.now += Duration::from_millis(step);
    }

    /// Takes every queued event first, then acts: an event later in the queue (a reset)
    /// may already have removed a stream that an earlier one (a request, an opened window)
    /// would have the application act on.
    fn handle_events(&mut self) {
        let mut events = Vec::new();
        while let Some(e) = self.conn.poll_event() {
            events.push(e);
        }
        let mut to_answer = Vec::new();
        let mut refused = Vec::new();
        let mut windows = Vec::new();
        for event in events {
            match event {
                Event::Request {
                    stream, end_stream, ..
                } => {
                    let id = self.new_stream(stream);
                    let style = (u32::from(self.app >> 4) + self.rng.below(8)) % 6;
                    self.streams.insert(
                        id,
                        AppStream {
                            body_open: !end_stream,
                            style,
                            ..AppStream::default()
                        },
                    );
                    to_answer.push(id);
                    self.requests += 1;
                    if self.requests == 1 && self.app & 8 != 0 {
                        self.conn.go_away();
                    }
                }
                Event::Refused { stream, status, .. } => {
                    let id = self.new_stream(stream);
                    assert!(status.is_client_error() || status.is_server_error());
                    self.streams.insert(
                        id,
                        AppStream {
                            refused: true,
                            ..AppStream::default()
                        },
                    );
                    refused.push((id, status));
                }
                Event::Data {
                    stream,
                    data,
                    end_stream,
                } => {
                    let s = self.streams.get_mut(&stream.value());
                    let s = s.unwrap_or_else(|| panic!("DATA event on unknown stream {stream}"));
                    assert!(
                        s.body_open && !s.refused,
                        "DATA event on a closed or refused body"
                    );
                    if end_stream {
                        s.body_open = false;
                    }
                    if self.app & 4 == 0 {
                        self.conn.release_capacity(stream, data.len());
                    }
                }
                Event::Trailers { stream, .. } => {
                    let s = self.streams.get_mut(&stream.value());
                    let s = s.unwrap_or_else(|| panic!("trailers on unknown stream {stream}"));
                    assert!(
                        s.body_open && !s.refused,
                        "trailers on a closed or refused body"
                    );
                    s.body_open = false;
                }
                Event::Reset { stream, .. } => {
                    assert!(
                        self.streams.remove(&stream.value()).is_some(),
                        "reset of unknown stream {stream}"
                    );
                }
                Event::WindowOpened { stream } => windows.push(stream.value()),
            }
        }
        for (id, status) in refused {
            if !self.streams.contains_key(&id) {
                continue;
            }
            let r =
                self.conn
                    .send_headers(StreamId::new(id), status, &HeaderMap::new(), &ADDED, true);
            assert_eq!(r, Ok(()), "answering refused stream {id}");
            if let Some(s) = self.streams.get_mut(&id) {
                s.answered = true;
            }
        }
        for id in to_answer {
            self.answer(id);
        }
        for id in windows {
            self.on_window(id);
        }
    }

    fn new_stream(&mut self, stream: StreamId) -> u32 {
        let id = stream.value();
        assert!(
            stream.is_client_initiated(),
            "new stream {id} is not a client stream"
        );
        assert!(
            id > self.last_new_stream,
            "stream {id} after {}",
            self.last_new_stream
        );
        self.last_new_stream = id;
        id
    }

    /// Answers a new request in its style: 0 headers only; 1 headers and body; 2 headers,
    /// body, trailers; 3 reset; 4 later, at the end; 5 not reading the body, then 1.
    fn answer(&mut self, id: u32) {
        let Some(s) = self.streams.get(&id) else {
            return;
        };
        let sid = StreamId::new(id);
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain"),
        );
        let r = match s.style {
            0 => self
                .conn
                .send_headers(sid, StatusCode::NO_CONTENT, &headers, &ADDED, true),
            1 | 5 => {
                if s.style == 5 {
                    self.conn.stop_receiving(sid);
                }
                self.conn
                    .send_headers(sid, StatusCode::OK, &headers, &ADDED, false)
                    .and_then(|()| self.conn.send_data(sid, self.body.clone(), true))
            }
            2 => self
                .conn
                .send_headers(sid, StatusCode::OK, &headers, &ADDED, false)
                .and_then(|()| self.conn.send_data(sid, self.body.clone(), false)),
            3 => {
                self.conn.reset(sid, Reason::CANCEL);
                self.streams.remove(&id);
                return;
            }
            _ => return,
        };
        assert_eq!(r, Ok(()), "answering stream {id} in style {}", s.style);
        if let Some(s) = self.streams.get_mut(&id) {
            s.answered = true;
            s.trailers_due = s.style == 2;
        }
    }

    /// Sends the trailers of a style-2 answer once its body is out.
    fn on_window(&mut self, id: u32) {
        let due = self.streams.get(&id).is_some_and(|s| s.trailers_due);
        if due && self.conn.queued_send(StreamId::new(id)) == 0 {
            self.send_trailers(id);
        }
    }

    fn send_trailers(&mut self, id: u32) {
        let mut trailers = HeaderMap::new();
        trailers.insert("x-checksum", HeaderValue::from_static("0"));
        let r = self.conn.send_trailers(StreamId::new(id), &trailers);
        assert_eq!(r, Ok(()), "trailers on stream {id}");
        if let Some(s) = self.streams.get_mut(&id) {
            s.trailers_due = false;
        }
    }

    /// Answers what is left, lets the SETTINGS deadline pass and drains the output.
    fn finish(&mut self) {
        if !self.failed && !self.conn.is_finished() {
            let ids: Vec<u32> = self.streams.keys().copied().collect();
            for id in ids {
                let Some(s) = self.streams.get(&id) else {
                    continue;
                };
                if s.trailers_due {
                    self.send_trailers(id);
                } else if !s.answered {
                    let r = self.conn.send_headers(
                        StreamId::new(id),
                        StatusCode::OK,
                        &HeaderMap::new(),
                        &ADDED,
                        true,
                    );
                    assert_eq!(r, Ok(()), "late answer on stream {id}");
                }
            }
            self.transmit();
            self.handle_events();
            self.conn.go_away();
            self.transmit();
        }
        self.now += Duration::from_secs(11);
        self.conn.handle_timeout(self.now);
        self.transmit();
    }

    /// Takes the machine's output and checks it frame by frame. Returns the bytes of
    /// frames other than DATA.
    fn transmit(&mut self) -> usize {
        let mut out = Vec::new();
        self.conn.poll_transmit(&mut out);
        let mut wire = BytesMut::new();
        for piece in out {
            wire.extend_from_slice(&piece);
        }
        let mut control = 0;
        while !wire.is_empty() {
            let (f, n) = match frame::decode(&mut wire, MAX_FRAME_SIZE_UPPER_BOUND) {
                Ok(Decoded::Frame(f, n)) => (f, n),
                other => panic!("the machine wrote a bad frame: {other:?}"),
            };
            assert!(
                !self.error_goaway_sent,
                "{f:?} written after an error GOAWAY"
            );
            assert!(
                n - Head::LEN <= self.credit.max_frame as usize,
                "frame of {n} bytes over the client's maximum"
            );
            match f {
                Frame::Data(d) => self.count_data(d.stream_id, u64::from(d.flow_len)),
                Frame::GoAway(g) => {
                    self.error_goaway_sent = g.reason != Reason::NO_ERROR;
                    control += n;
                }
                _ => control += n,
            }
        }
        control
    }

    fn count_data(&mut self, stream: StreamId, len: u64) {
        let id = stream.value();
        assert!(stream.is_client_initiated(), "DATA on stream {id}");
        self.sent_conn_data += len;
        let conn_credit = DEFAULT_WINDOW + self.credit.conn_increments;
        assert!(
            self.sent_conn_data <= conn_credit,
            "{} bytes of DATA sent on {conn_credit} of connection credit",
            self.sent_conn_data
        );
        let sent = self.sent_stream_data.entry(id).or_default();
        *sent += len;
        let stream_credit =
            self.credit.max_initial + self.credit.stream_increments.get(&id).copied().unwrap_or(0);
        assert!(
            *sent <= stream_credit,
            "{sent} bytes of DATA on stream {id} with {stream_credit} of credit"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzzing::seeds::h2_conversation;

    /// The seed conversation gets past the preface and SETTINGS and is answered with
    /// bodies, so the fuzzer starts from the deep end rather than from a refused preface.
    #[test]
    fn the_seed_conversation_is_answered() {
        // Mode 0x10: preface, default limits; app 0x02: 20 KB bodies, style 0 upwards.
        let harness = run(&[&[0x10, 0, 0x02][..], &h2_conversation()].concat());
        assert!(!harness.failed);
        assert_eq!(harness.requests, 3);
        assert!(harness.sent_conn_data > 0, "no response body went out");
        assert!(
            harness.conn.is_finished(),
            "GOAWAY at the end and no stream left"
        );
    }

    /// Without a preface the machine fails at once and writes nothing at all: a peer that
    /// is not HTTP/2 would not understand a GOAWAY.
    #[test]
    fn no_preface_fails_silently() {
        let harness = run(&[&[0x01, 0, 0][..], b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"].concat());
        assert!(harness.failed);
        assert!(!harness.error_goaway_sent);
    }
}
