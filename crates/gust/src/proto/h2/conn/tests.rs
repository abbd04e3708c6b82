//! A scripted client, built from the frame encoders and an HPACK encoder, against the
//! connection.

use super::*;
use crate::proto::h2::frame::{Priority, StreamDependency};

/// The scripted client: its HPACK encoder and the server it talks to.
struct Peer {
    conn: Connection,
    enc: Encoder,
    now: Instant,
}

fn config() -> ConnConfig {
    ConnConfig {
        initial_window_size: 65_535,
        connection_window: 65_535,
        ..ConnConfig::default()
    }
}

impl Peer {
    /// A connection past the preface and SETTINGS exchange.
    fn new(config: ConnConfig) -> Peer {
        let now = Instant::now();
        let mut p = Peer {
            conn: Connection::new(config, now),
            enc: Encoder::new(),
            now,
        };
        let mut b = BytesMut::from(&PREFACE[..]);
        Settings::default().encode(&mut b);
        Settings::ack().encode(&mut b);
        p.feed(b).unwrap();
        p.frames();
        p
    }

    fn feed(&mut self, mut b: BytesMut) -> Result<(), ConnError> {
        self.conn.handle_input(&mut b, self.now)
    }

    fn send(&mut self, f: Frame) -> Result<(), ConnError> {
        let mut b = BytesMut::new();
        f.encode(&mut b);
        self.feed(b)
    }

    fn block(&mut self, method: &str, path: &str, extra: &[(&str, &str)]) -> Bytes {
        let mut b = BytesMut::new();
        for (n, v) in [
            (":method", method),
            (":scheme", "https"),
            (":path", path),
            (":authority", "example.com"),
        ]
        .iter()
        .chain(extra)
        {
            self.enc
                .encode_field(n.as_bytes(), v.as_bytes(), false, &mut b);
        }
        b.freeze()
    }

    fn request(&mut self, id: u32, method: &str, end_stream: bool) -> Result<(), ConnError> {
        self.request_with(id, method, end_stream, &[])
    }

    fn request_with(
        &mut self,
        id: u32,
        method: &str,
        end_stream: bool,
        extra: &[(&str, &str)],
    ) -> Result<(), ConnError> {
        let block = self.block(method, "/", extra);
        self.send(Frame::Headers(headers(id, block, end_stream, true)))
    }

    /// Everything the server wants to write, decoded.
    /// Queues a 200 with no fields on stream `id`; `end_stream`: no body follows.
    fn answer(&mut self, id: u32, end_stream: bool) {
        self.conn
            .send_headers(
                sid(id),
                StatusCode::OK,
                &HeaderMap::new(),
                &ServerFields::default(),
                end_stream,
            )
            .unwrap();
    }

    fn frames(&mut self) -> Vec<Frame> {
        let mut out = Vec::new();
        self.conn.poll_transmit(&mut out);
        let mut buf = BytesMut::new();
        for b in out {
            buf.extend_from_slice(&b);
        }
        let mut frames = Vec::new();
        while let Ok(Decoded::Frame(f, _)) = frame::decode(&mut buf, 1 << 20) {
            frames.push(f);
        }
        assert!(buf.is_empty(), "trailing bytes");
        frames
    }

    fn events(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.conn.poll_event()).collect()
    }
}

fn headers(id: u32, block: Bytes, end_stream: bool, end_headers: bool) -> Headers {
    Headers {
        stream_id: StreamId::new(id),
        end_stream,
        end_headers,
        priority: None,
        header_block: block,
    }
}

fn data(id: u32, len: usize, end_stream: bool) -> Frame {
    Frame::Data(Data::new(
        StreamId::new(id),
        Bytes::from(vec![b'x'; len]),
        end_stream,
    ))
}

fn goaway_reason(frames: &[Frame]) -> Option<Reason> {
    frames.iter().find_map(|f| match f {
        Frame::GoAway(g) => Some(g.reason),
        _ => None,
    })
}

fn rst(frames: &[Frame]) -> Vec<(u32, Reason)> {
    frames
        .iter()
        .filter_map(|f| match f {
            Frame::RstStream(r) => Some((r.stream_id.value(), r.reason)),
            _ => None,
        })
        .collect()
}

fn window_updates(frames: &[Frame]) -> Vec<(u32, u32)> {
    frames
        .iter()
        .filter_map(|f| match f {
            Frame::WindowUpdate(w) => Some((w.stream_id.value(), w.increment)),
            _ => None,
        })
        .collect()
}

fn sid(id: u32) -> StreamId {
    StreamId::new(id)
}

#[test]
fn preface_and_settings_exchange() {
    let now = Instant::now();
    let mut c = Connection::new(ConnConfig::default(), now);
    let mut p = Peer {
        conn: Connection::new(config(), now),
        enc: Encoder::new(),
        now,
    };
    // Ours go out before the peer says anything.
    let f = {
        core::mem::swap(&mut p.conn, &mut c);
        p.frames()
    };
    match &f[0] {
        Frame::Settings(s) => {
            assert!(!s.ack);
            assert_eq!(s.initial_window_size, Some(256 * 1024));
            assert_eq!(s.max_concurrent_streams, Some(100));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(window_updates(&f), vec![(0, 1024 * 1024 - 65_535)]);
    assert_eq!(p.conn.poll_timeout(), Some(now + Duration::from_secs(10)));

    // The preface byte by byte, then the client's SETTINGS: we acknowledge.
    let mut b = BytesMut::new();
    for &byte in PREFACE.iter() {
        b.extend_from_slice(&[byte]);
        p.conn.handle_input(&mut b, now).unwrap();
    }
    assert!(b.is_empty());
    Settings {
        max_frame_size: Some(20_000),
        ..Settings::default()
    }
    .encode(&mut b);
    p.feed(b).unwrap();
    assert_eq!(p.frames(), vec![Frame::Settings(Settings::ack())]);
    assert_eq!(p.conn.peer_max_frame_size, 20_000);
    p.send(Frame::Settings(Settings::ack())).unwrap();
    assert_eq!(p.conn.poll_timeout(), None);
}

#[test]
fn bad_preface_is_refused() {
    let mut c = Connection::new(config(), Instant::now());
    let mut b = BytesMut::from(&b"GET / HTTP/1.1\r\n\r\n"[..]);
    let e = c.handle_input(&mut b, Instant::now()).unwrap_err();
    assert_eq!(e.reason, Reason::PROTOCOL_ERROR);
}

#[test]
fn settings_ack_timeout() {
    let now = Instant::now();
    let mut c = Connection::new(config(), now);
    c.handle_timeout(now + Duration::from_secs(9));
    assert!(!c.is_finished());
    c.handle_timeout(now + Duration::from_secs(10));
    assert!(c.is_finished());
    let mut p = Peer {
        conn: c,
        enc: Encoder::new(),
        now,
    };
    assert_eq!(goaway_reason(&p.frames()), Some(Reason::SETTINGS_TIMEOUT));
}

#[test]
fn get_then_response_split_by_frame_size() {
    let mut p = Peer::new(config());
    p.request(1, "GET", true).unwrap();
    let ev = p.events();
    assert!(
        matches!(&ev[..], [Event::Request { stream, head, end_stream: true }]
            if *stream == sid(1) && head.method == http::Method::GET)
    );
    p.answer(1, false);
    p.conn
        .send_data(sid(1), Bytes::from(vec![7u8; 40_000]), true)
        .unwrap();
    let f = p.frames();
    assert!(matches!(&f[0], Frame::Headers(h) if h.end_headers && !h.end_stream));
    let sizes: Vec<(usize, bool)> = f[1..]
        .iter()
        .map(|f| match f {
            Frame::Data(d) => (d.data.len(), d.end_stream),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        sizes,
        vec![(16_384, false), (16_384, false), (40_000 - 32_768, true)]
    );
    assert!(p.conn.streams.is_empty(), "stream closed and forgotten");
}

#[test]
fn post_body_and_window_updates_after_release() {
    let mut p = Peer::new(config());
    p.request(1, "POST", false).unwrap();
    p.send(data(1, 10_000, false)).unwrap();
    p.send(data(1, 10_000, false)).unwrap();
    p.send(data(1, 10_000, false)).unwrap();
    p.send(data(1, 10_000, true)).unwrap();
    let ev = p.events();
    assert_eq!(ev.len(), 5);
    assert!(matches!(&ev[1], Event::Data { data, end_stream: false, .. } if data.len() == 10_000));
    assert!(matches!(
        &ev[4],
        Event::Data {
            end_stream: true,
            ..
        }
    ));
    assert!(window_updates(&p.frames()).is_empty());
    p.conn.release_capacity(sid(1), 20_000);
    assert!(window_updates(&p.frames()).is_empty(), "below half");
    p.conn.release_capacity(sid(1), 20_000);
    // The stream has ended its side: only the connection gets credit back.
    assert_eq!(window_updates(&p.frames()), vec![(0, 40_000)]);
}

#[test]
fn stream_window_update_while_open() {
    let mut p = Peer::new(config());
    p.request(1, "POST", false).unwrap();
    p.send(data(1, 16_000, false)).unwrap();
    p.send(data(1, 16_000, false)).unwrap();
    p.send(data(1, 8_000, false)).unwrap();
    p.events();
    p.conn.release_capacity(sid(1), 40_000);
    assert_eq!(window_updates(&p.frames()), vec![(0, 40_000), (1, 40_000)]);
}

#[test]
fn data_beyond_window_is_flow_control_error() {
    let mut p = Peer::new(config());
    p.request(1, "POST", false).unwrap();
    p.send(data(1, 16_000, false)).unwrap();
    p.send(data(1, 16_000, false)).unwrap();
    p.send(data(1, 16_000, false)).unwrap();
    p.send(data(1, 16_000, false)).unwrap();
    let e = p.send(data(1, 2_000, false)).unwrap_err();
    assert_eq!(e.reason, Reason::FLOW_CONTROL_ERROR);
    assert_eq!(goaway_reason(&p.frames()), Some(Reason::FLOW_CONTROL_ERROR));
}

#[test]
fn send_blocked_by_zero_window_resumes_after_window_update() {
    let mut cfg = config();
    cfg.max_frame_size = 16_384;
    let mut p = Peer::new(cfg);
    let mut b = BytesMut::new();
    Settings {
        initial_window_size: Some(0),
        ..Settings::default()
    }
    .encode(&mut b);
    p.feed(b).unwrap();
    p.frames();
    p.request(1, "GET", true).unwrap();
    p.events();
    p.answer(1, false);
    p.conn
        .send_data(sid(1), Bytes::from_static(b"hello"), false)
        .unwrap();
    let f = p.frames();
    assert_eq!(f.len(), 1, "HEADERS only: {f:?}");
    assert_eq!(p.conn.queued_send(sid(1)), 5);
    p.send(Frame::WindowUpdate(WindowUpdate::new(sid(1), 3)))
        .unwrap();
    let f = p.frames();
    assert!(matches!(&f[..], [Frame::Data(d)] if &d.data[..] == b"hel" && !d.end_stream));
    assert!(p
        .events()
        .iter()
        .any(|e| matches!(e, Event::WindowOpened { stream } if *stream == sid(1))));
    p.conn.send_data(sid(1), Bytes::new(), true).unwrap();
    p.send(Frame::WindowUpdate(WindowUpdate::new(sid(1), 10)))
        .unwrap();
    let f = p.frames();
    assert!(matches!(&f[..], [Frame::Data(d)] if &d.data[..] == b"lo" && d.end_stream));
}

#[test]
fn initial_window_change_applies_to_open_streams() {
    let mut p = Peer::new(config());
    p.request(1, "GET", true).unwrap();
    p.events();
    let mut b = BytesMut::new();
    Settings {
        initial_window_size: Some(100),
        ..Settings::default()
    }
    .encode(&mut b);
    p.feed(b).unwrap();
    assert_eq!(p.conn.streams.get(1).unwrap().send_window.value(), 100);
    let mut b = BytesMut::new();
    Settings {
        initial_window_size: Some(frame::MAX_WINDOW_SIZE),
        ..Settings::default()
    }
    .encode(&mut b);
    p.feed(b).unwrap();
    // A WINDOW_UPDATE past 2^31-1 on a stream is a stream error.
    p.send(Frame::WindowUpdate(WindowUpdate::new(sid(1), 1)))
        .unwrap();
    let f = p.frames();
    assert_eq!(goaway_reason(&f), None, "stream error only");
    assert_eq!(rst(&f), vec![(1, Reason::FLOW_CONTROL_ERROR)]);
    // A SETTINGS change that overflows an open stream's window is a connection error.
    let mut p = Peer::new(config());
    p.request(1, "GET", true).unwrap();
    p.send(Frame::WindowUpdate(WindowUpdate::new(
        sid(1),
        frame::MAX_WINDOW_SIZE - 65_535,
    )))
    .unwrap();
    let mut b = BytesMut::new();
    Settings {
        initial_window_size: Some(100_000),
        ..Settings::default()
    }
    .encode(&mut b);
    assert_eq!(p.feed(b).unwrap_err().reason, Reason::FLOW_CONTROL_ERROR);
}

#[test]
fn refused_past_max_concurrent_streams() {
    let mut cfg = config();
    cfg.max_concurrent_streams = 1;
    let mut p = Peer::new(cfg);
    p.request(1, "GET", true).unwrap();
    p.request(3, "GET", true).unwrap();
    assert_eq!(rst(&p.frames()), vec![(3, Reason::REFUSED_STREAM)]);
    assert_eq!(p.events().len(), 1);
    // The refused block still went through HPACK: the next one decodes.
    p.answer(1, true);
    p.request(5, "GET", true).unwrap();
    assert!(matches!(&p.events()[..], [Event::Request { stream, .. }] if *stream == sid(5)));
}

#[test]
fn even_or_decreasing_stream_ids() {
    let mut p = Peer::new(config());
    assert_eq!(
        p.request(2, "GET", true).unwrap_err().reason,
        Reason::PROTOCOL_ERROR
    );
    assert_eq!(goaway_reason(&p.frames()), Some(Reason::PROTOCOL_ERROR));

    // Stream 3 was skipped, so closed: opening it now is an unexpected id (RFC 9113
    // 5.1.1), a connection error.
    let mut p = Peer::new(config());
    p.request(5, "GET", true).unwrap();
    assert_eq!(
        p.request(3, "GET", true).unwrap_err().reason,
        Reason::PROTOCOL_ERROR
    );
    let f = p.frames();
    assert_eq!(goaway_reason(&f), Some(Reason::PROTOCOL_ERROR));
    assert!(rst(&f).is_empty());
}

#[test]
fn headers_on_a_closed_stream_is_a_connection_error() {
    // Closed by END_STREAM both ways.
    let mut p = Peer::new(config());
    p.request(1, "GET", true).unwrap();
    p.answer(1, true);
    p.frames();
    assert!(p.conn.streams.is_empty());
    assert_eq!(
        p.request(1, "GET", true).unwrap_err().reason,
        Reason::PROTOCOL_ERROR
    );
    // Closed by the peer's RST_STREAM.
    let mut p = Peer::new(config());
    p.request(1, "POST", false).unwrap();
    p.send(Frame::RstStream(RstStream::new(sid(1), Reason::CANCEL)))
        .unwrap();
    assert_eq!(
        p.request(1, "POST", true).unwrap_err().reason,
        Reason::PROTOCOL_ERROR
    );
}

#[test]
fn frames_in_flight_after_our_resets_are_ignored() {
    let mut cfg = config();
    cfg.max_concurrent_streams = 1;
    let mut p = Peer::new(cfg);
    // Malformed (uppercase name), its body still coming.
    p.request_with(1, "POST", false, &[("X-Up", "1")]).unwrap();
    // Refused: stream 1 is not active, but 3 takes the only slot and 5 is refused.
    p.request(3, "GET", true).unwrap();
    p.request(5, "POST", false).unwrap();
    assert_eq!(
        rst(&p.frames()),
        vec![(1, Reason::PROTOCOL_ERROR), (5, Reason::REFUSED_STREAM)]
    );
    for id in [1, 5] {
        p.send(data(id, 4, false)).unwrap();
        let mut b = BytesMut::new();
        p.enc.encode_field(b"x-trailer", b"1", false, &mut b);
        p.send(Frame::Headers(headers(id, b.freeze(), true, true)))
            .unwrap();
    }
    // Dropped: no reset, no event; only the connection credit of the DATA comes back
    // (batched, so nothing yet).
    let f = p.frames();
    assert!(rst(&f).is_empty(), "{f:?}");
    assert_eq!(goaway_reason(&f), None);
    assert!(matches!(&p.events()[..], [Event::Request { stream, .. }] if *stream == sid(3)));
    // The trailer blocks went through HPACK: the next request decodes.
    p.answer(3, true);
    p.request(7, "GET", true).unwrap();
    assert!(matches!(&p.events()[..], [Event::Request { stream, .. }] if *stream == sid(7)));
}

#[test]
fn stream_errors_on_idle_streams_are_connection_errors() {
    // RST_STREAM must not name an idle stream (RFC 9113 6.4).
    let mut p = Peer::new(config());
    let e = p
        .send(Frame::Priority(Priority {
            stream_id: sid(3),
            dependency: StreamDependency {
                dependency: sid(3),
                exclusive: false,
                weight: 16,
            },
        }))
        .unwrap_err();
    assert_eq!(e.reason, Reason::PROTOCOL_ERROR);
    let f = p.frames();
    assert!(rst(&f).is_empty(), "{f:?}");
    assert_eq!(goaway_reason(&f), Some(Reason::PROTOCOL_ERROR));

    // WINDOW_UPDATE with increment 0 on an idle stream.
    let mut p = Peer::new(config());
    let e = p
        .feed(BytesMut::from(
            &b"\x00\x00\x04\x08\x00\x00\x00\x00\x03\x00\x00\x00\x00"[..],
        ))
        .unwrap_err();
    assert_eq!(e.reason, Reason::PROTOCOL_ERROR);
    assert!(rst(&p.frames()).is_empty());

    // PRIORITY of the wrong length on an idle stream: FRAME_SIZE_ERROR, for the connection.
    let mut p = Peer::new(config());
    let e = p
        .feed(BytesMut::from(
            &b"\x00\x00\x04\x02\x00\x00\x00\x00\x03\x00\x00\x00\x01"[..],
        ))
        .unwrap_err();
    assert_eq!(e.reason, Reason::FRAME_SIZE_ERROR);

    // The same on an open stream stays a stream error.
    let mut p = Peer::new(config());
    p.request(3, "GET", true).unwrap();
    p.feed(BytesMut::from(
        &b"\x00\x00\x04\x08\x00\x00\x00\x00\x03\x00\x00\x00\x00"[..],
    ))
    .unwrap();
    assert_eq!(rst(&p.frames()), vec![(3, Reason::PROTOCOL_ERROR)]);
}

#[test]
fn continuation_interleaving_is_a_protocol_error() {
    let mut p = Peer::new(config());
    let block = p.block("GET", "/", &[]);
    let (a, b) = block.split_at(3);
    p.send(Frame::Headers(headers(
        1,
        Bytes::copy_from_slice(a),
        true,
        false,
    )))
    .unwrap();
    let e = p.send(Frame::Ping(Ping::new([0; 8]))).unwrap_err();
    assert_eq!(e.reason, Reason::PROTOCOL_ERROR);
    let _ = b;

    // Done right, it assembles.
    let mut p = Peer::new(config());
    let block = p.block("GET", "/", &[]);
    let (a, b) = block.split_at(3);
    p.send(Frame::Headers(headers(
        1,
        Bytes::copy_from_slice(a),
        true,
        false,
    )))
    .unwrap();
    p.send(Frame::Continuation(Continuation {
        stream_id: sid(1),
        end_headers: true,
        header_block: Bytes::copy_from_slice(b),
    }))
    .unwrap();
    assert!(matches!(&p.events()[..], [Event::Request { .. }]));
}

#[test]
fn too_many_continuation_frames() {
    let mut p = Peer::new(config());
    p.send(Frame::Headers(headers(1, Bytes::new(), true, false)))
        .unwrap();
    let mut last = Ok(());
    for _ in 0..20 {
        last = p.send(Frame::Continuation(Continuation {
            stream_id: sid(1),
            end_headers: false,
            header_block: Bytes::from_static(b"\x82"),
        }));
        if last.is_err() {
            break;
        }
    }
    assert_eq!(last.unwrap_err().reason, Reason::ENHANCE_YOUR_CALM);
}

#[test]
fn ping_answered_then_flood() {
    let mut p = Peer::new(config());
    p.send(Frame::Ping(Ping::new(*b"12345678"))).unwrap();
    assert_eq!(p.frames(), vec![Frame::Ping(Ping::pong(*b"12345678"))]);
    let mut err = None;
    for _ in 0..200 {
        if let Err(e) = p.send(Frame::Ping(Ping::new([0; 8]))) {
            err = Some(e);
            break;
        }
    }
    assert_eq!(err.map(|e| e.reason), Some(Reason::ENHANCE_YOUR_CALM));
    assert_eq!(goaway_reason(&p.frames()), Some(Reason::ENHANCE_YOUR_CALM));

    // Spread over time, the same count is fine.
    let mut p = Peer::new(config());
    for i in 0..300 {
        p.now += Duration::from_millis(20 * (i % 2));
        p.send(Frame::Ping(Ping::new([0; 8]))).unwrap();
        p.frames();
    }
}

#[test]
fn rapid_reset_is_enhance_your_calm() {
    let mut cfg = config();
    cfg.reset_budget_per_sec = 10;
    let mut p = Peer::new(cfg);
    let mut err = None;
    for i in 0..20 {
        let id = 1 + 2 * i;
        p.request(id, "GET", true).unwrap();
        if let Err(e) = p.send(Frame::RstStream(RstStream::new(sid(id), Reason::CANCEL))) {
            err = Some(e);
            break;
        }
    }
    assert_eq!(err.map(|e| e.reason), Some(Reason::ENHANCE_YOUR_CALM));
    assert!(p
        .events()
        .iter()
        .any(|e| matches!(e, Event::Reset { reason, .. } if *reason == Reason::CANCEL)));
}

#[test]
fn graceful_go_away() {
    let mut p = Peer::new(config());
    p.request(1, "GET", true).unwrap();
    p.events();
    p.conn.go_away();
    let f = p.frames();
    assert!(matches!(&f[..], [Frame::GoAway(g)]
        if g.reason == Reason::NO_ERROR && g.last_stream_id == sid(1)));
    p.request(3, "GET", true).unwrap();
    assert_eq!(rst(&p.frames()), vec![(3, Reason::REFUSED_STREAM)]);
    assert!(!p.conn.is_finished());
    p.answer(1, true);
    assert!(p.conn.is_finished());
}

#[test]
fn malformed_and_refused_requests() {
    let mut cfg = config();
    cfg.request_limits.max_url_length = 4;
    let mut p = Peer::new(cfg);
    // Uppercase field name: malformed, RST_STREAM PROTOCOL_ERROR.
    p.request_with(1, "GET", true, &[("X-Up", "1")]).unwrap();
    assert_eq!(rst(&p.frames()), vec![(1, Reason::PROTOCOL_ERROR)]);
    assert!(p.events().is_empty());
    // Too long a path: the driver answers 414.
    let block = p.block("GET", "/long-path", &[]);
    p.send(Frame::Headers(headers(3, block, true, true)))
        .unwrap();
    assert!(matches!(&p.events()[..], [Event::Refused { status, .. }]
        if *status == StatusCode::URI_TOO_LONG));
}

#[test]
fn content_length_mismatch_resets() {
    let mut p = Peer::new(config());
    p.request_with(1, "POST", false, &[("content-length", "3")])
        .unwrap();
    p.send(data(1, 4, true)).unwrap();
    assert_eq!(rst(&p.frames()), vec![(1, Reason::PROTOCOL_ERROR)]);
}

#[test]
fn push_promise_priority_and_unknown_frames() {
    let mut p = Peer::new(config());
    p.request(1, "GET", true).unwrap();
    p.send(Frame::Unknown {
        kind: 0xfa,
        stream_id: sid(1),
    })
    .unwrap();
    p.send(Frame::Priority(Priority {
        stream_id: sid(1),
        dependency: StreamDependency {
            dependency: sid(1),
            exclusive: false,
            weight: 16,
        },
    }))
    .unwrap();
    assert_eq!(rst(&p.frames()), vec![(1, Reason::PROTOCOL_ERROR)]);
    let e = p
        .send(Frame::PushPromise(frame::PushPromise {
            stream_id: sid(1),
            promised_id: sid(2),
            end_headers: true,
            header_block: Bytes::new(),
        }))
        .unwrap_err();
    assert_eq!(e.reason, Reason::PROTOCOL_ERROR);
}

#[test]
fn trailers_both_ways() {
    let mut p = Peer::new(config());
    p.request(1, "POST", false).unwrap();
    p.send(data(1, 2, false)).unwrap();
    let mut b = BytesMut::new();
    p.enc.encode_field(b"x-sum", b"1", false, &mut b);
    p.send(Frame::Headers(headers(1, b.freeze(), true, true)))
        .unwrap();
    let ev = p.events();
    assert!(matches!(&ev[2], Event::Trailers { headers, .. } if headers["x-sum"] == "1"));
    p.answer(1, false);
    p.conn
        .send_data(sid(1), Bytes::from_static(b"ab"), false)
        .unwrap();
    let mut t = HeaderMap::new();
    t.insert("x-done", http::HeaderValue::from_static("yes"));
    p.conn.send_trailers(sid(1), &t).unwrap();
    assert_eq!(
        p.conn.send_data(sid(1), Bytes::new(), true),
        Err(UsageError::StreamEnded)
    );
    let f = p.frames();
    assert!(
        matches!(&f[..], [Frame::Headers(_), Frame::Data(d), Frame::Headers(t)]
        if !d.end_stream && t.end_stream)
    );
    assert!(p.conn.streams.is_empty());
}

#[test]
fn byte_at_a_time_delivery() {
    let mut p = Peer::new(config());
    let block = p.block("POST", "/", &[]);
    let mut wire = BytesMut::new();
    Frame::Headers(headers(1, block, false, true)).encode(&mut wire);
    data(1, 5, true).encode(&mut wire);
    let mut buf = BytesMut::new();
    for &byte in wire.iter() {
        buf.extend_from_slice(&[byte]);
        p.conn.handle_input(&mut buf, p.now).unwrap();
    }
    assert!(buf.is_empty());
    let ev = p.events();
    assert!(
        matches!(&ev[..], [Event::Request { .. }, Event::Data { data, end_stream: true, .. }]
        if data.len() == 5)
    );
}

#[test]
fn header_list_too_large_is_431_and_keeps_hpack_in_sync() {
    let mut cfg = config();
    cfg.max_header_list_size = 200;
    let mut p = Peer::new(cfg);
    let big = "v".repeat(150);
    p.request_with(1, "GET", true, &[("x-big", &big)]).unwrap();
    assert!(matches!(&p.events()[..], [Event::Refused { status, .. }]
        if *status == StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE));
    // The encoder indexed fields in that block; the next block refers to them.
    p.request(3, "GET", true).unwrap();
    assert!(matches!(&p.events()[..], [Event::Request { stream, .. }] if *stream == sid(3)));
}

/// A field list given back holds a later request's fields, and only those: what it held
/// before is gone. A list too large is not kept, nor more than SPARE_FIELDS_KEPT.
#[test]
fn a_recycled_field_list_starts_empty() {
    let mut p = Peer::new(config());
    let mut used = FieldList::default();
    used.push(b"content-type", b"text/plain");
    used.push(b"etag", b"\"abc\"");
    p.conn.recycle_fields(used);
    assert_eq!(p.conn.spare_fields.len(), 1, "kept");
    p.request_with(1, "GET", true, &[("user-agent", "test")])
        .unwrap();
    let ev = p.events();
    let [Event::Request { head, .. }] = &ev[..] else {
        panic!("{ev:?}");
    };
    let mut names: Vec<&[u8]> = head.headers.names().collect();
    names.sort_unstable();
    assert_eq!(names, [&b"host"[..], b"user-agent"]);
    assert!(p.conn.spare_fields.is_empty(), "taken by the request");

    let mut large = FieldList::with_capacity(SPARE_FIELDS_MAX * 2);
    large.push(b"etag", b"\"abc\"");
    p.conn.recycle_fields(large);
    assert!(p.conn.spare_fields.is_empty(), "too large to keep");
    let mut long = FieldList::with_room(4, SPARE_FIELD_BYTES_MAX + 1);
    long.push(b"etag", b"\"abc\"");
    p.conn.recycle_fields(long);
    assert!(p.conn.spare_fields.is_empty(), "too many bytes to keep");

    for _ in 0..SPARE_FIELDS_KEPT + 5 {
        p.conn.recycle_fields(FieldList::with_capacity(4));
    }
    assert_eq!(p.conn.spare_fields.len(), SPARE_FIELDS_KEPT);
    p.conn.release_idle_memory();
    assert_eq!(p.conn.spare_fields.capacity(), 0, "given back when idle");

    // A list with room for 20 fields and 4 KiB of them (a browser's, with cookies) is
    // kept, until the memory of all kept lists would pass SPARE_FIELDS_MEMORY.
    let browser = || FieldList::with_room(20, 4096);
    let room = browser().memory();
    let fit = SPARE_FIELDS_MEMORY / room;
    assert!(
        fit < SPARE_FIELDS_KEPT,
        "the memory bound is the one tested"
    );
    for _ in 0..SPARE_FIELDS_KEPT {
        p.conn.recycle_fields(browser());
    }
    assert_eq!(p.conn.spare_fields.len(), fit);
    let kept: usize = p.conn.spare_fields.iter().map(FieldList::memory).sum();
    assert!(kept <= SPARE_FIELDS_MEMORY);
    p.request_with(3, "GET", true, &[("user-agent", "test")])
        .unwrap();
    assert_eq!(p.conn.spare_fields.len(), fit - 1, "taken by the request");
    p.conn.recycle_fields(browser());
    assert_eq!(p.conn.spare_fields.len(), fit, "its room counted back");
}

/// A field the request checks refused is refused again when the client repeats it from
/// the dynamic table: only an accepted entry skips its byte-level checks. (An uppercase
/// name is refused by those checks alone: `http` would take it, lowercased.)
#[test]
fn a_table_entry_refused_once_is_refused_again() {
    let mut p = Peer::new(config());
    for id in [1, 3] {
        p.request_with(id, "GET", true, &[("X-Bad", "v")]).unwrap();
        assert!(p.events().is_empty(), "request {id} was let through");
        assert_eq!(rst(&p.frames()), [(id, Reason::PROTOCOL_ERROR)]);
    }
    assert!(
        p.conn
            .decoder
            .table()
            .iter()
            .any(|(n, v)| n == b"X-Bad" && v == b"v"),
        "the field went into the table, so the second request indexed it"
    );
}

/// An accepted entry still answers to the request around it: sent twice in one request,
/// it is a repeated pseudo-header however often it was accepted before.
#[test]
fn an_accepted_entry_is_still_checked_against_its_request() {
    let mut p = Peer::new(config());
    p.request(1, "GET", true).unwrap();
    assert!(matches!(&p.events()[..], [Event::Request { .. }]));
    p.request_with(3, "GET", true, &[(":authority", "example.com")])
        .unwrap();
    assert!(
        p.events().is_empty(),
        "a repeated :authority was let through"
    );
    assert_eq!(rst(&p.frames()), [(3, Reason::PROTOCOL_ERROR)]);
    // And the entry still serves a well-formed request.
    p.request(5, "GET", true).unwrap();
    let ev = p.events();
    let [Event::Request { head, .. }] = &ev[..] else {
        panic!("{ev:?}");
    };
    assert_eq!(&head.headers["host"], "example.com");
}

/// How many dynamic table entries the request checks have accepted.
fn checked_entries(p: &Peer) -> usize {
    let table = p.conn.decoder.table();
    (0..table.len())
        .filter(|&i| table.get_stored(i).is_some_and(|(_, _, s)| s.checked()))
        .count()
}

/// Fields a client sends again from the dynamic table come out the same whether checked
/// byte by byte (the first time) or taken as accepted before (later, the connection's idle
/// memory given back in between or not).
#[test]
fn a_repeated_field_is_the_same_whether_checked_or_known() {
    let mut p = Peer::new(config());
    let extra = [
        ("user-agent", "test/1.0"),
        ("accept", "*/*"),
        ("x-custom", "one"),
    ];
    let mut lists = Vec::new();
    for id in [1, 3, 5, 7] {
        if id == 5 {
            p.conn.release_idle_memory();
        }
        p.request_with(id, "GET", true, &extra).unwrap();
        let ev = p.events();
        let [Event::Request { head, .. }] = &ev[..] else {
            panic!("{ev:?}");
        };
        lists.push(head.headers.clone());
        // Accepted by the first request: :authority and the three regular fields
        // (:method, :scheme and :path are in the static table).
        assert_eq!(checked_entries(&p), 4, "after request {id}");
    }
    let first = &lists[0];
    assert_eq!(&first["host"], "example.com");
    assert_eq!(&first["user-agent"], "test/1.0");
    assert_eq!(&first["x-custom"], "one");
    assert_eq!(first.len(), 4);
    for (i, list) in lists.iter().enumerate() {
        assert_eq!(list, first, "request {i}");
    }
}

/// A request's list is made with room for as many fields as the last request had (capped),
/// so a client that repeats its fields does not grow one list after another.
#[test]
fn a_request_list_has_room_for_the_last_requests_fields() {
    let mut p = Peer::new(config());
    let names: Vec<String> = (0..20).map(|i| format!("x-field-{i}")).collect();
    let fields: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "v")).collect();
    p.request_with(1, "GET", true, &fields).unwrap();
    assert_eq!(p.conn.last_request_fields, 21, "20 and host");
    let bytes = "example.comhost".len() + names.iter().map(|n| n.len() + 1).sum::<usize>();
    assert_eq!(p.conn.last_request_bytes, bytes);
    let list = p.conn.spare_field_list();
    assert!(list.capacity() >= 21 && list.byte_capacity() >= bytes);

    let many: Vec<String> = (0..60).map(|i| format!("x-many-{i}")).collect();
    let long = "v".repeat(SPARE_FIELD_BYTES_MAX);
    let mut fields: Vec<(&str, &str)> = many.iter().map(|n| (n.as_str(), "v")).collect();
    fields.push(("x-long", &long));
    p.request_with(3, "GET", true, &fields).unwrap();
    assert_eq!(p.conn.last_request_fields, SPARE_FIELDS_MAX, "capped");
    assert_eq!(p.conn.last_request_bytes, SPARE_FIELD_BYTES_MAX, "capped");
}
/// A request's event, which the driver moves several times on its way to dispatch, stays
/// within 128 bytes: past that, each move is a call to `memcpy` rather than a few stores,
/// which perf put at a few percent of a small answer's time.
#[test]
#[cfg(target_pointer_width = "64")]
fn a_request_event_moves_without_memcpy() {
    let sizes = (
        std::mem::size_of::<Event>(),
        std::mem::size_of::<RequestHead2>(),
    );
    assert!(sizes.0 <= 128, "Event and RequestHead2: {sizes:?}");
}
