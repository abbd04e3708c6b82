//! RFC 9113 conformance, section by section (3 to 8): raw frames over a real TCP socket
//! against a real server, asserting the exact frame, error code and connection state the
//! server answers with. Each test is named after the section whose requirement it checks;
//! docs/CONFORMANCE.md maps requirements to these names.
//!
//! Conventions: a connection error is GOAWAY with the code and then the TCP connection
//! closing (5.4.1); a stream error is RST_STREAM with the code while the connection lives
//! on (checked with a PING round trip, and usually with a request after it, which also
//! proves the HPACK tables are still in step). "Ignored" means nothing but the PING ACK
//! comes back.

mod support;
use support::h2raw::*;
use support::*;

use std::time::{Duration, Instant};

use gust::{Body, Limits, Request, Resource, Response};
use http::Method;

// ---- the server and shared helpers ----

/// How long `/hold` keeps its request (body unread) before it answers.
const HOLD: Duration = Duration::from_secs(2);
/// Size of the `/big` response body.
const BIG: usize = 100_000;
/// How long a test waits to be sure that nothing more comes.
const QUIET: Duration = Duration::from_millis(500);

/// `basic` (/hello, /echo) plus the resources these tests need.
fn service(limits: Limits) -> gust::ServiceBuilder {
    basic(limits)
        // Holds the request, body unread, for HOLD: the stream stays open (or half-closed
        // remote) and its receive window is not given back meanwhile.
        .resource(
            Resource::dynamic("/hold", |req: Request| async move {
                tokio::time::sleep(HOLD).await;
                drop(req);
                Response::new(Body::from("held\n"))
            })
            .methods([Method::GET, Method::POST]),
        )
        // Answers at once and drops the request body unread.
        .resource(
            Resource::dynamic("/ignore", |_req: Request| async {
                Response::new(Body::from("ignored\n"))
            })
            .methods([Method::POST]),
        )
        .resource(Resource::dynamic("/big", |_req: Request| async {
            Response::new(Body::from(big_body()))
        }))
        // A response head of about 35 KB, more than one frame.
        .resource(Resource::dynamic("/bighead", |_req: Request| async {
            http::Response::builder()
                .header("x-big", "x".repeat(40_000))
                .body(Body::from("big head\n"))
                .unwrap()
        }))
        // The Cookie field as the handler sees it.
        .resource(Resource::dynamic("/cookie", |req: Request| async move {
            let cookie = req
                .headers()
                .get("cookie")
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default();
            Response::new(Body::from(cookie))
        }))
}

fn big_body() -> Vec<u8> {
    (0..BIG).map(|i| b'a' + (i % 26) as u8).collect()
}

async fn start() -> TestServer {
    TestServer::start(service(Limits::default())).await
}

async fn start_with(limits: Limits) -> TestServer {
    TestServer::start(service(limits)).await
}

/// A connection past the SETTINGS exchange.
async fn connect(server: &TestServer) -> H2Raw {
    H2Raw::handshake(server.addr).await
}

/// Sends a request head in one HEADERS frame: the usual pseudo-headers, then `extra`.
async fn send_request(
    c: &mut H2Raw,
    stream: u32,
    method: &str,
    path: &str,
    extra: &[(&str, &str)],
    end_stream: bool,
) {
    let block = c.request_block(method, path, extra);
    let flags = END_HEADERS | if end_stream { END_STREAM } else { 0 };
    c.send_frame(HEADERS, flags, stream, &block).await;
}

/// Sends exactly `fields` as a header block with END_HEADERS and END_STREAM.
async fn send_fields(c: &mut H2Raw, stream: u32, fields: &[(&str, &str)]) {
    let block = c.block(fields);
    c.send_frame(HEADERS, END_HEADERS | END_STREAM, stream, &block)
        .await;
}

/// GET /hello on `stream` answers 200 "hello\n": the connection works and HPACK is in step.
async fn get_hello(c: &mut H2Raw, stream: u32) {
    c.request(stream, "GET", "/hello", true).await;
    let r = c.response(stream).await;
    assert_eq!(r.reset, None, "stream {stream} was reset");
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"hello\n");
}

/// A connection error: GOAWAY with `code`, then the server closes the connection.
async fn connection_error(c: &mut H2Raw, code: u32) -> Frame {
    let goaway = c.expect_goaway(code).await;
    assert!(c.closed().await, "still open after {goaway:?}");
    goaway
}

/// A connection error on a frame about an idle stream: GOAWAY with `code` and the close,
/// and no RST_STREAM for that stream before it (RFC 9113 6.4: RST_STREAM MUST NOT be sent
/// for an idle stream).
async fn connection_error_no_reset(c: &mut H2Raw, code: u32, idle: u32) {
    let mut seen = Vec::new();
    loop {
        let f = c
            .read_frame()
            .await
            .unwrap_or_else(|| panic!("expected GOAWAY; got only {seen:?}"));
        assert!(
            !(f.kind == RST_STREAM && f.stream == idle),
            "RST_STREAM on idle stream {idle}: {f:?}"
        );
        if f.kind == GOAWAY {
            assert_eq!(f.error_code(), code, "GOAWAY code: {f:?}");
            break;
        }
        seen.push(f);
    }
    assert!(c.closed().await, "still open after GOAWAY");
}

/// A stream error: RST_STREAM on `stream` with `code`, and the connection lives on.
async fn stream_error(c: &mut H2Raw, stream: u32, code: u32) {
    c.expect_reset(stream, code).await;
    let rest = c.frames_until_pong().await;
    assert!(
        !rest.iter().any(|f| f.kind == GOAWAY),
        "connection error after the stream error: {rest:?}"
    );
}

/// Nothing comes back but what `frames_until_pong` returns, which holds no RST_STREAM and
/// no GOAWAY: the frames sent before were accepted or ignored.
async fn assert_quiet(c: &mut H2Raw) -> Vec<Frame> {
    let frames = c.frames_until_pong().await;
    assert!(
        !frames
            .iter()
            .any(|f| f.kind == GOAWAY || f.kind == RST_STREAM),
        "expected no error frame; got {frames:?}"
    );
    frames
}

/// Frames read until `stream` ends (END_STREAM on it, or its RST_STREAM), in order, with
/// every header block decoded (as the HPACK state requires) and returned.
async fn frames_until_end(c: &mut H2Raw, stream: u32) -> (Vec<Frame>, Vec<Vec<(String, String)>>) {
    let mut frames = Vec::new();
    let mut blocks = Vec::new();
    let mut block = Vec::new();
    let mut ending = false;
    loop {
        let f = c
            .read_frame()
            .await
            .unwrap_or_else(|| panic!("stream {stream} did not end; got {frames:?}"));
        match f.kind {
            HEADERS => {
                block = header_block_of(&f);
                ending = f.stream == stream && f.has(END_STREAM);
            }
            CONTINUATION => block.extend_from_slice(&f.payload),
            _ => {}
        }
        let block_done = matches!(f.kind, HEADERS | CONTINUATION) && f.has(END_HEADERS);
        if block_done {
            blocks.push(c.decode(&std::mem::take(&mut block)));
        }
        let done = f.stream == stream
            && (f.kind == RST_STREAM
                || (f.kind == DATA && f.has(END_STREAM))
                || (block_done && ending));
        frames.push(f);
        if done {
            return (frames, blocks);
        }
    }
}

/// DATA payload bytes on `stream` among `frames`, and whether one ended the stream.
fn data_on(frames: &[Frame], stream: u32) -> (usize, bool) {
    let data: Vec<&Frame> = frames
        .iter()
        .filter(|f| f.kind == DATA && f.stream == stream)
        .collect();
    (
        data.iter().map(|f| data_of(f).len()).sum(),
        data.iter().any(|f| f.has(END_STREAM)),
    )
}

/// Waits for exactly `n` bytes of DATA on `stream` (without END_STREAM), then checks that
/// no more come within `QUIET`: the server stops at the window.
async fn expect_data_then_stop(c: &mut H2Raw, stream: u32, n: usize) {
    let mut got = 0;
    let mut seen = Vec::new();
    while got < n {
        let f = c
            .read_frame()
            .await
            .unwrap_or_else(|| panic!("{got} of {n} DATA bytes; frames: {seen:?}"));
        if f.kind == DATA && f.stream == stream {
            got += data_of(&f).len();
            assert!(!f.has(END_STREAM), "{f:?}");
        }
        seen.push(f);
    }
    assert_eq!(got, n, "more DATA than the window: {seen:?}");
    let later = c.frames_within(QUIET).await;
    assert_eq!(
        data_on(&later, stream),
        (0, false),
        "past the window: {later:?}"
    );
}

/// Reads the response HEADERS of `stream` (decoding them) and returns its status.
async fn response_head(c: &mut H2Raw, stream: u32) -> u16 {
    let h = c
        .expect("response HEADERS", |f| {
            f.kind == HEADERS && f.stream == stream
        })
        .await;
    assert!(h.has(END_HEADERS));
    let fields = c.decode(&header_block_of(&h));
    fields
        .iter()
        .find(|(n, _)| n == ":status")
        .map(|(_, v)| v.parse().unwrap())
        .unwrap()
}

/// A PRIORITY payload: dependency (with the exclusive bit) and weight.
fn priority_payload(dependency: u32, exclusive: bool, weight: u8) -> Vec<u8> {
    let dep = dependency | if exclusive { 0x8000_0000 } else { 0 };
    let mut p = dep.to_be_bytes().to_vec();
    p.push(weight);
    p
}

/// A RST_STREAM or GOAWAY error code payload.
fn code(code: u32) -> Vec<u8> {
    code.to_be_bytes().to_vec()
}

/// A GOAWAY payload.
fn goaway_payload(last_stream: u32, error: u32) -> Vec<u8> {
    let mut p = last_stream.to_be_bytes().to_vec();
    p.extend_from_slice(&error.to_be_bytes());
    p
}

/// A request block built by hand: HPACK static-table references and literals without
/// indexing, so that no encoder's dynamic table is involved. `prefix` goes first.
fn hand_block(prefix: &[u8], path: &str) -> Vec<u8> {
    let mut b = prefix.to_vec();
    // :method GET (static 2), :scheme http (static 6).
    b.extend_from_slice(&[0x82, 0x86]);
    // :path (static name 4), literal value, not indexed.
    b.push(0x04);
    b.push(path.len() as u8);
    b.extend_from_slice(path.as_bytes());
    // :authority (static name 1), literal value, not indexed.
    b.push(0x01);
    b.push(9);
    b.extend_from_slice(b"localhost");
    b
}

// ---- 3. Starting HTTP/2 ----

#[tokio::test]
async fn s3_3_prior_knowledge_gets_server_settings_first() {
    let server = start().await;
    // handshake_with asserts that the first frame is a SETTINGS frame, not an ACK.
    let (mut c, settings) = H2Raw::handshake_with(server.addr, &[]).await;
    assert_eq!(settings.stream, 0);
    let values = settings.settings();
    for want in [
        (SETTINGS_HEADER_TABLE_SIZE, 4096),
        (SETTINGS_MAX_CONCURRENT_STREAMS, 100),
        (SETTINGS_INITIAL_WINDOW_SIZE, 262_144),
        (SETTINGS_MAX_FRAME_SIZE, 16_384),
        (SETTINGS_MAX_HEADER_LIST_SIZE, 16_384),
    ] {
        assert!(values.contains(&want), "{want:?} not in {values:?}");
    }
    get_hello(&mut c, 1).await;
}

#[tokio::test]
async fn s3_4_client_settings_are_acknowledged() {
    let server = start().await;
    let (mut c, _) =
        H2Raw::handshake_with(server.addr, &[(SETTINGS_MAX_CONCURRENT_STREAMS, 10)]).await;
    let ack = c
        .expect("SETTINGS ACK", |f| f.kind == SETTINGS && f.has(ACK))
        .await;
    assert_eq!(ack.stream, 0);
    assert_eq!(ack.flags, ACK);
    assert!(ack.payload.is_empty());
}

#[tokio::test]
async fn s3_4_preface_in_pieces_is_accepted() {
    let server = start().await;
    let mut c = H2Raw::connect(server.addr).await;
    let mut hello = PREFACE.to_vec();
    hello.extend(frame(SETTINGS, 0, 0, &[]));
    for piece in [&hello[..3], &hello[3..17], &hello[17..24], &hello[24..]] {
        c.send(piece).await;
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let settings = c.read_frame().await.expect("server SETTINGS");
    assert_eq!(settings.kind, SETTINGS);
    assert!(!settings.has(ACK));
    c.send_frame(SETTINGS, ACK, 0, &[]).await;
    get_hello(&mut c, 1).await;
}

#[tokio::test]
async fn s3_4_invalid_preface_is_not_answered_as_http2() {
    let server = start().await;
    // "PRI * HTTP/2.0" with the wrong tail: not HTTP/2, so it is read as HTTP/1.1, whose
    // answer to version 2.0 is 505; then the server closes. No GOAWAY (3.4 allows that).
    let r = raw(
        server.addr,
        b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n",
        Duration::from_secs(5),
    )
    .await;
    assert!(r.closed, "connection left open: {:?}", r.text());
    assert!(r.text().starts_with("HTTP/1.1 "), "{:?}", r.text());
    assert_eq!(r.status(), 505, "{:?}", r.text());
}

/// Sends the preface, then (in a later write) `first` as the first frame.
async fn preface_then(server: &TestServer, first: &[u8]) -> H2Raw {
    let mut c = H2Raw::connect(server.addr).await;
    c.send(PREFACE).await;
    let settings = c.read_frame().await.expect("server SETTINGS");
    assert_eq!(settings.kind, SETTINGS);
    c.send(first).await;
    c
}

#[tokio::test]
async fn s3_4_preface_not_followed_by_settings_is_protocol_error() {
    let server = start().await;
    let mut c = preface_then(&server, &frame(PING, 0, 0, b"12345678")).await;
    connection_error(&mut c, PROTOCOL_ERROR).await;
}

#[tokio::test]
async fn s3_4_preface_followed_by_settings_ack_is_protocol_error() {
    let server = start().await;
    let mut c = preface_then(&server, &frame(SETTINGS, ACK, 0, &[])).await;
    connection_error(&mut c, PROTOCOL_ERROR).await;
}

#[tokio::test]
async fn s3_4_frames_sent_with_the_preface_are_processed() {
    let server = start().await;
    let mut c = H2Raw::connect(server.addr).await;
    // Preface, SETTINGS and a request in one write, as clients send them; no ACK follows.
    let mut hello = PREFACE.to_vec();
    hello.extend(frame(SETTINGS, 0, 0, &[]));
    hello.extend(frame(
        HEADERS,
        END_HEADERS | END_STREAM,
        1,
        &c.request_block("GET", "/hello", &[]),
    ));
    c.send(&hello).await;
    let r = c.response(1).await;
    assert_eq!((r.status, &r.body[..]), (200, &b"hello\n"[..]));
}

#[tokio::test]
async fn s3_4_bad_first_frame_sent_with_the_preface_is_protocol_error() {
    let server = start().await;
    let mut c = H2Raw::connect(server.addr).await;
    let mut hello = PREFACE.to_vec();
    hello.extend(frame(PING, 0, 0, b"12345678"));
    c.send(&hello).await;
    connection_error(&mut c, PROTOCOL_ERROR).await;
}

const UPGRADE_HELLO: &[u8] = b"GET /hello HTTP/1.1\r\nHost: localhost\r\n\
    Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABk\r\n\r\n";

#[tokio::test]
async fn s3_2_h2c_upgrade_answers_the_request_on_stream_1() {
    let server = start().await;
    let (mut c, head) = H2Raw::h2c_upgrade(server.addr, UPGRADE_HELLO).await;
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    assert!(head.to_ascii_lowercase().contains("upgrade: h2c"), "{head}");
    let mut hello = PREFACE.to_vec();
    hello.extend(frame(SETTINGS, 0, 0, &[]));
    c.send(&hello).await;
    let first = c.read_frame().await.expect("server SETTINGS");
    assert_eq!(first.kind, SETTINGS, "first frame after 101: {first:?}");
    assert!(!first.has(ACK));
    c.send_frame(SETTINGS, ACK, 0, &[]).await;
    let r = c.response(1).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"hello\n");
    // Stream 1 was half-closed (remote) from the start, and is closed now: DATA on it is a
    // stream error, and new streams go on from 3.
    c.send_frame(DATA, END_STREAM, 1, b"late").await;
    stream_error(&mut c, 1, STREAM_CLOSED).await;
    get_hello(&mut c, 3).await;
}

/// Sends an HTTP/1.1 request and returns the raw answer (read until 1 s of silence).
async fn http1(server: &TestServer, request: &[u8]) -> Raw {
    raw(server.addr, request, Duration::from_secs(1)).await
}

#[tokio::test]
async fn s3_2_upgrade_without_http2_settings_stays_http1() {
    let server = start().await;
    let r = http1(
        &server,
        b"GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n",
    )
    .await;
    assert_eq!(r.status(), 200, "{}", r.text());
    assert!(r.text().ends_with("hello\n"), "{}", r.text());
}

#[tokio::test]
async fn s3_2_upgrade_with_two_http2_settings_stays_http1() {
    let server = start().await;
    let r = http1(
        &server,
        b"GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade, HTTP2-Settings\r\n\
          Upgrade: h2c\r\nHTTP2-Settings: AAMAAABk\r\nHTTP2-Settings: AAMAAABk\r\n\r\n",
    )
    .await;
    assert_eq!(r.status(), 200, "{}", r.text());
}

#[tokio::test]
async fn s3_2_upgrade_with_undecodable_http2_settings_stays_http1() {
    let server = start().await;
    let r = http1(
        &server,
        b"GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade, HTTP2-Settings\r\n\
          Upgrade: h2c\r\nHTTP2-Settings: $$$\r\n\r\n",
    )
    .await;
    assert_eq!(r.status(), 200, "{}", r.text());
}

#[tokio::test]
async fn s3_2_upgrade_without_connection_option_stays_http1() {
    let server = start().await;
    let r = http1(
        &server,
        b"GET /hello HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\
          HTTP2-Settings: AAMAAABk\r\n\r\n",
    )
    .await;
    assert_eq!(r.status(), 200, "{}", r.text());
}

#[tokio::test]
async fn s3_2_upgrade_with_a_body_stays_http1() {
    let server = start().await;
    let r = http1(
        &server,
        b"POST /echo HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade, HTTP2-Settings\r\n\
          Upgrade: h2c\r\nHTTP2-Settings: AAMAAABk\r\nContent-Length: 3\r\n\r\nabc",
    )
    .await;
    assert_eq!(r.status(), 200, "{}", r.text());
    // The echo, chunked: the connection stayed HTTP/1.1.
    assert!(
        r.text().ends_with("\r\n\r\n3\r\nabc\r\n0\r\n\r\n"),
        "{}",
        r.text()
    );
}

// ---- 4. HTTP frames ----

#[tokio::test]
async fn s4_1_unknown_flags_are_ignored_and_never_sent() {
    let server = start().await;
    let mut c = connect(&server).await;
    // PING with every flag but ACK: answered, with ACK alone.
    c.send_frame(PING, 0xfe, 0, b"flagging").await;
    let pong = c
        .expect("PING ACK", |f| f.kind == PING && f.payload == b"flagging")
        .await;
    assert_eq!(pong.flags, ACK);
    // SETTINGS with every flag but ACK: acknowledged, with ACK alone.
    c.send_frame(SETTINGS, 0xfe, 0, &[]).await;
    let frames = assert_quiet(&mut c).await;
    let acks: Vec<&Frame> = frames.iter().filter(|f| f.kind == SETTINGS).collect();
    // The handshake's ACK and this one.
    assert_eq!(acks.len(), 2, "{frames:?}");
    assert!(acks.iter().all(|f| f.flags == ACK));
    // HEADERS with the undefined bits 0x02, 0x10, 0x40, 0x80.
    let block = c.request_block("GET", "/hello", &[]);
    c.send_frame(HEADERS, END_HEADERS | END_STREAM | 0xd2, 1, &block)
        .await;
    let r = c.response(1).await;
    assert_eq!((r.status, &r.body[..]), (200, &b"hello\n"[..]));
    // DATA with every undefined bit (all but END_STREAM and PADDED).
    send_request(&mut c, 3, "POST", "/echo", &[], false).await;
    c.send_frame(DATA, 0xf6 | END_STREAM, 3, b"abc").await;
    let (frames, _) = frames_until_end(&mut c, 3).await;
    assert_eq!(data_on(&frames, 3), (3, true));
    // What the server sent carries only the flags defined for each type.
    for f in &frames {
        let defined = match f.kind {
            DATA => END_STREAM | PADDED,
            HEADERS => END_STREAM | END_HEADERS | PADDED | PRIORITY_FLAG,
            SETTINGS | PING => ACK,
            CONTINUATION => END_HEADERS,
            _ => 0,
        };
        assert_eq!(f.flags & !defined, 0, "undefined flag sent: {f:?}");
    }
}

#[tokio::test]
async fn s4_1_reserved_bit_of_the_stream_id_is_ignored() {
    let server = start().await;
    let mut c = connect(&server).await;
    let block = c.request_block("GET", "/hello", &[]);
    c.send_frame(HEADERS, END_HEADERS | END_STREAM, 0x8000_0001, &block)
        .await;
    let r = c.response(1).await;
    assert_eq!((r.status, &r.body[..]), (200, &b"hello\n"[..]));
}

#[tokio::test]
async fn s4_2_frame_of_max_frame_size_is_accepted() {
    let server = start().await;
    let mut c = connect(&server).await;
    send_request(&mut c, 1, "POST", "/echo", &[], false).await;
    let body = vec![b'z'; 16_384];
    c.send_frame(DATA, END_STREAM, 1, &body).await;
    let r = c.response(1).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, body);
}

#[tokio::test]
async fn s4_2_data_larger_than_max_frame_size_is_frame_size_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    send_request(&mut c, 1, "POST", "/echo", &[], false).await;
    c.send_frame(DATA, END_STREAM, 1, &vec![b'z'; 16_385]).await;
    connection_error(&mut c, FRAME_SIZE_ERROR).await;
}

#[tokio::test]
async fn s4_2_headers_larger_than_max_frame_size_is_frame_size_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    // The size alone decides: the frame is refused from its header.
    c.send_frame(HEADERS, END_HEADERS | END_STREAM, 1, &vec![0x82; 16_385])
        .await;
    connection_error(&mut c, FRAME_SIZE_ERROR).await;
}

/// GET /big with large windows; the DATA frame sizes seen.
async fn big_frame_sizes(server: &TestServer, settings: &[(u16, u32)]) -> Vec<usize> {
    let (mut c, _) = H2Raw::handshake_with(server.addr, settings).await;
    c.send_frame(WINDOW_UPDATE, 0, 0, &window_update_payload(1 << 20))
        .await;
    c.request(1, "GET", "/big", true).await;
    let (frames, _) = frames_until_end(&mut c, 1).await;
    let sizes: Vec<usize> = frames
        .iter()
        .filter(|f| f.kind == DATA && f.stream == 1)
        .map(|f| f.payload.len())
        .collect();
    assert_eq!(sizes.iter().sum::<usize>(), BIG);
    sizes
}

#[tokio::test]
async fn s4_2_server_data_frames_respect_client_max_frame_size() {
    let server = start().await;
    let sizes = big_frame_sizes(&server, &[(SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20)]).await;
    assert_eq!(sizes.iter().max(), Some(&16_384), "{sizes:?}");
    let sizes = big_frame_sizes(
        &server,
        &[
            (SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20),
            (SETTINGS_MAX_FRAME_SIZE, 65_536),
        ],
    )
    .await;
    assert_eq!(sizes.iter().max(), Some(&65_536), "{sizes:?}");
}

#[tokio::test]
async fn s4_2_server_splits_a_large_header_block_into_continuation() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.request(1, "GET", "/bighead", true).await;
    let (frames, blocks) = frames_until_end(&mut c, 1).await;
    let first = frames
        .iter()
        .position(|f| f.kind == HEADERS && f.stream == 1)
        .unwrap();
    let last = frames
        .iter()
        .position(|f| f.has(END_HEADERS) && f.stream == 1)
        .unwrap();
    assert!(last > first, "one frame for a 35 KB block: {frames:?}");
    for f in &frames[first..=last] {
        assert!(f.payload.len() <= 16_384, "{f:?}");
        assert_eq!(f.stream, 1);
    }
    // 4.3: nothing between HEADERS and its CONTINUATION frames.
    for f in &frames[first + 1..=last] {
        assert_eq!(f.kind, CONTINUATION, "{f:?}");
    }
    let head = &blocks[0];
    let big = head.iter().find(|(n, _)| n == "x-big").unwrap();
    assert_eq!(big.1.len(), 40_000);
}

#[tokio::test]
async fn s4_3_invalid_index_is_compression_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    // Index 0 is never valid (RFC 7541 6.1).
    c.send_frame(HEADERS, END_HEADERS | END_STREAM, 1, &[0x80])
        .await;
    connection_error(&mut c, COMPRESSION_ERROR).await;

    let mut c = connect(&server).await;
    // Index 62: the dynamic table is still empty.
    c.send_frame(HEADERS, END_HEADERS | END_STREAM, 1, &[0xbe])
        .await;
    connection_error(&mut c, COMPRESSION_ERROR).await;
}

#[tokio::test]
async fn s4_3_truncated_block_is_compression_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    // A literal whose value length says 9 but has 2 bytes.
    let mut block = vec![0x82, 0x86, 0x84, 0x01, 0x09];
    block.extend_from_slice(b"lo");
    c.send_frame(HEADERS, END_HEADERS | END_STREAM, 1, &block)
        .await;
    connection_error(&mut c, COMPRESSION_ERROR).await;
}

#[tokio::test]
async fn s4_3_invalid_huffman_is_compression_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    // :path as a Huffman string of 32 one bits: it holds EOS (RFC 7541 5.2).
    let block = [0x82, 0x86, 0x04, 0x84, 0xff, 0xff, 0xff, 0xff];
    c.send_frame(HEADERS, END_HEADERS | END_STREAM, 1, &block)
        .await;
    connection_error(&mut c, COMPRESSION_ERROR).await;
}

#[tokio::test]
async fn s4_3_undecodable_block_on_a_reset_stream_is_compression_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    send_request(&mut c, 1, "POST", "/echo", &[("X-Upper", "1")], false).await;
    c.expect_reset(1, PROTOCOL_ERROR).await;
    // Trailers for the stream we reset are decoded all the same (to keep the table in
    // step), so a bad block is still a connection error.
    c.send_frame(HEADERS, END_HEADERS | END_STREAM, 1, &[0x80])
        .await;
    connection_error(&mut c, COMPRESSION_ERROR).await;
}

#[tokio::test]
async fn s4_3_dynamic_table_is_kept_across_blocks() {
    let server = start().await;
    let mut c = connect(&server).await;
    let first = c.request_block("GET", "/hello", &[("x-conformance", "yes")]);
    c.send_frame(HEADERS, END_HEADERS | END_STREAM, 1, &first)
        .await;
    assert_eq!(c.response(1).await.status, 200);
    let second = c.request_block("GET", "/hello", &[("x-conformance", "yes")]);
    // The field is now a reference to the server's dynamic table (index 62).
    assert!(second.contains(&0xbe), "{second:x?}");
    assert!(second.len() < first.len());
    c.send_frame(HEADERS, END_HEADERS | END_STREAM, 3, &second)
        .await;
    let r = c.response(3).await;
    assert_eq!((r.status, &r.body[..]), (200, &b"hello\n"[..]));
}

#[tokio::test]
async fn s4_3_table_size_update_within_settings_is_accepted() {
    let server = start().await;
    let mut c = connect(&server).await;
    // A size update to 0 first, as RFC 7541 4.2 places it.
    let block = hand_block(&[0x20], "/hello");
    c.send_frame(HEADERS, END_HEADERS | END_STREAM, 1, &block)
        .await;
    let r = c.response(1).await;
    assert_eq!((r.status, &r.body[..]), (200, &b"hello\n"[..]));
}

#[tokio::test]
async fn s4_3_table_size_update_above_settings_is_compression_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    // 4097, one more than our SETTINGS_HEADER_TABLE_SIZE (RFC 7541 6.3).
    let block = hand_block(&[0x3f, 0xe2, 0x1f], "/hello");
    c.send_frame(HEADERS, END_HEADERS | END_STREAM, 1, &block)
        .await;
    connection_error(&mut c, COMPRESSION_ERROR).await;
}

#[tokio::test]
async fn s4_3_table_size_update_after_a_field_is_compression_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    let mut block = hand_block(&[], "/hello");
    block.insert(1, 0x20);
    c.send_frame(HEADERS, END_HEADERS | END_STREAM, 1, &block)
        .await;
    connection_error(&mut c, COMPRESSION_ERROR).await;
}

#[tokio::test]
async fn s4_3_field_block_interrupted_by_another_stream_is_protocol_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    let block = c.request_block("GET", "/hello", &[]);
    c.send_frame(HEADERS, END_STREAM, 1, &block[..2]).await;
    let other = c.request_block("GET", "/hello", &[]);
    c.send_frame(HEADERS, END_HEADERS | END_STREAM, 3, &other)
        .await;
    connection_error(&mut c, PROTOCOL_ERROR).await;
}

// ---- 5.1 Stream states ----

#[tokio::test]
async fn s5_1_data_on_idle_stream_is_protocol_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.send_frame(DATA, END_STREAM, 1, b"test").await;
    connection_error_no_reset(&mut c, PROTOCOL_ERROR, 1).await;
}

#[tokio::test]
async fn s5_1_rst_stream_on_idle_stream_is_protocol_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.send_frame(RST_STREAM, 0, 1, &code(CANCEL)).await;
    connection_error_no_reset(&mut c, PROTOCOL_ERROR, 1).await;
}

#[tokio::test]
async fn s5_1_window_update_on_idle_stream_is_protocol_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.send_frame(WINDOW_UPDATE, 0, 1, &window_update_payload(100))
        .await;
    connection_error_no_reset(&mut c, PROTOCOL_ERROR, 1).await;
}

#[tokio::test]
async fn s5_1_continuation_on_idle_stream_is_protocol_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    let block = c.request_block("GET", "/hello", &[]);
    c.send_frame(CONTINUATION, END_HEADERS, 1, &block).await;
    connection_error_no_reset(&mut c, PROTOCOL_ERROR, 1).await;
}

#[tokio::test]
async fn s5_1_idle_stream_above_the_highest_is_idle_even_after_requests() {
    let server = start().await;
    let mut c = connect(&server).await;
    get_hello(&mut c, 1).await;
    // Stream 5 has not been opened: it is idle, whatever stream 1 did.
    c.send_frame(DATA, 0, 5, b"x").await;
    connection_error_no_reset(&mut c, PROTOCOL_ERROR, 5).await;
}

#[tokio::test]
async fn s5_1_open_stream_accepts_every_frame_type() {
    let server = start().await;
    let mut c = connect(&server).await;
    send_request(&mut c, 1, "POST", "/echo", &[], false).await;
    c.send_frame(DATA, 0, 1, b"ab").await;
    c.send_frame(WINDOW_UPDATE, 0, 1, &window_update_payload(10))
        .await;
    c.send_frame(PRIORITY, 0, 1, &priority_payload(0, false, 20))
        .await;
    c.send_frame(DATA, END_STREAM, 1, b"cd").await;
    let r = c.response(1).await;
    assert_eq!((r.status, &r.body[..]), (200, &b"abcd"[..]));
}

#[tokio::test]
async fn s5_1_half_closed_remote_data_is_stream_closed() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.request(1, "GET", "/hold", true).await;
    c.send_frame(DATA, END_STREAM, 1, b"late").await;
    stream_error(&mut c, 1, STREAM_CLOSED).await;
    // 5.1 closed: nothing more is sent on the stream once we reset it; the held answer
    // is dropped.
    let later = c.frames_within(HOLD + QUIET).await;
    assert!(later.iter().all(|f| f.stream != 1), "{later:?}");
    get_hello(&mut c, 3).await;
}

#[tokio::test]
async fn s5_1_half_closed_remote_headers_is_stream_closed() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.request(1, "GET", "/hold", true).await;
    c.request(1, "GET", "/hold", true).await;
    stream_error(&mut c, 1, STREAM_CLOSED).await;
    get_hello(&mut c, 3).await;
}

#[tokio::test]
async fn s5_1_half_closed_remote_continuation_is_protocol_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.request(1, "GET", "/hold", true).await;
    let block = c.block(&[("x-late", "1")]);
    c.send_frame(CONTINUATION, END_HEADERS, 1, &block).await;
    connection_error(&mut c, PROTOCOL_ERROR).await;
}

#[tokio::test]
async fn s5_1_half_closed_remote_accepts_window_update_priority_and_rst_stream() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.request(1, "GET", "/hold", true).await;
    c.send_frame(WINDOW_UPDATE, 0, 1, &window_update_payload(100))
        .await;
    c.send_frame(PRIORITY, 0, 1, &priority_payload(0, true, 200))
        .await;
    assert_quiet(&mut c).await;
    c.send_frame(RST_STREAM, 0, 1, &code(CANCEL)).await;
    assert_quiet(&mut c).await;
    get_hello(&mut c, 3).await;
}

#[tokio::test]
async fn s5_1_closed_stream_data_is_stream_closed() {
    let server = start().await;
    let mut c = connect(&server).await;
    get_hello(&mut c, 1).await;
    c.send_frame(DATA, END_STREAM, 1, b"late").await;
    stream_error(&mut c, 1, STREAM_CLOSED).await;
    get_hello(&mut c, 3).await;
}

#[tokio::test]
async fn s5_1_closed_stream_headers_is_connection_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    get_hello(&mut c, 1).await;
    // A closed stream cannot be opened again (5.1.1: identifiers are not reused).
    c.request(1, "GET", "/hello", true).await;
    connection_error(&mut c, PROTOCOL_ERROR).await;
}

#[tokio::test]
async fn s5_1_closed_stream_continuation_is_protocol_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    get_hello(&mut c, 1).await;
    let block = c.block(&[("x-late", "1")]);
    c.send_frame(CONTINUATION, END_HEADERS, 1, &block).await;
    connection_error(&mut c, PROTOCOL_ERROR).await;
}

#[tokio::test]
async fn s5_1_closed_stream_accepts_window_update_priority_and_rst_stream() {
    let server = start().await;
    let mut c = connect(&server).await;
    get_hello(&mut c, 1).await;
    c.send_frame(WINDOW_UPDATE, 0, 1, &window_update_payload(100))
        .await;
    c.send_frame(PRIORITY, 0, 1, &priority_payload(0, false, 1))
        .await;
    c.send_frame(RST_STREAM, 0, 1, &code(CANCEL)).await;
    assert_quiet(&mut c).await;
    get_hello(&mut c, 3).await;
}

#[tokio::test]
async fn s5_1_stream_reset_by_client_data_is_stream_closed() {
    let server = start().await;
    let mut c = connect(&server).await;
    send_request(&mut c, 1, "POST", "/hold", &[], false).await;
    c.send_frame(RST_STREAM, 0, 1, &code(CANCEL)).await;
    c.send_frame(DATA, END_STREAM, 1, b"late").await;
    stream_error(&mut c, 1, STREAM_CLOSED).await;
    get_hello(&mut c, 3).await;
}

#[tokio::test]
async fn s5_1_stream_reset_by_client_headers_is_connection_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    send_request(&mut c, 1, "POST", "/hold", &[], false).await;
    c.send_frame(RST_STREAM, 0, 1, &code(CANCEL)).await;
    c.request(1, "GET", "/hello", true).await;
    connection_error(&mut c, PROTOCOL_ERROR).await;
}

#[tokio::test]
async fn s5_1_frames_on_a_stream_we_reset_are_ignored() {
    let server = start().await;
    let mut c = connect(&server).await;
    // A malformed request (uppercase field name) with its body still to come.
    send_request(&mut c, 1, "POST", "/echo", &[("X-Upper", "1")], false).await;
    c.expect_reset(1, PROTOCOL_ERROR).await;
    // What the client had in flight: minimally processed and dropped (5.1 closed).
    c.send_frame(DATA, 0, 1, b"in flight").await;
    c.send_frame(WINDOW_UPDATE, 0, 1, &window_update_payload(10))
        .await;
    let trailers = c.block(&[("x-trailer", "1")]);
    c.send_frame(HEADERS, END_HEADERS | END_STREAM, 1, &trailers)
        .await;
    c.send_frame(RST_STREAM, 0, 1, &code(CANCEL)).await;
    assert_quiet(&mut c).await;
    // The trailers went through HPACK: the next block decodes.
    get_hello(&mut c, 3).await;
}

// ---- 5.1.1 Stream identifiers ----

#[tokio::test]
async fn s5_1_1_even_stream_id_is_protocol_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.request(2, "GET", "/hello", true).await;
    connection_error(&mut c, PROTOCOL_ERROR).await;
}

#[tokio::test]
async fn s5_1_1_smaller_stream_id_is_protocol_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.request(5, "GET", "/hello", true).await;
    c.request(3, "GET", "/hello", true).await;
    connection_error(&mut c, PROTOCOL_ERROR).await;
}

#[tokio::test]
async fn s5_1_1_skipped_stream_ids_are_closed() {
    let server = start().await;
    let mut c = connect(&server).await;
    get_hello(&mut c, 5).await;
    // Streams 1 and 3 were closed when 5 opened: DATA there is STREAM_CLOSED (6.1), not
    // the PROTOCOL_ERROR of an idle stream.
    c.send_frame(DATA, 0, 3, b"x").await;
    stream_error(&mut c, 3, STREAM_CLOSED).await;
    get_hello(&mut c, 7).await;
}

// ---- 5.1.2 Stream concurrency ----

fn max_streams(n: u32) -> Limits {
    Limits {
        max_streams: n,
        ..Limits::default()
    }
}

#[tokio::test]
async fn s5_1_2_streams_past_max_concurrent_streams_are_refused() {
    let server = start_with(max_streams(2)).await;
    let (mut c, settings) = H2Raw::handshake_with(server.addr, &[]).await;
    assert!(settings
        .settings()
        .contains(&(SETTINGS_MAX_CONCURRENT_STREAMS, 2)));
    c.request(1, "GET", "/hold", true).await;
    c.request(3, "GET", "/hold", true).await;
    c.request(5, "GET", "/hello", true).await;
    stream_error(&mut c, 5, REFUSED_STREAM).await;
    // The refused block went through HPACK, and the active streams go on.
    for id in [1, 3] {
        let r = c.response(id).await;
        assert_eq!((r.status, &r.body[..]), (200, &b"held\n"[..]));
    }
    // Closed streams no longer count.
    get_hello(&mut c, 7).await;
    get_hello(&mut c, 9).await;
}

#[tokio::test]
async fn s5_1_2_frames_in_flight_on_a_refused_stream_are_ignored() {
    let server = start_with(max_streams(1)).await;
    let mut c = connect(&server).await;
    c.request(1, "GET", "/hold", true).await;
    send_request(&mut c, 3, "POST", "/echo", &[], false).await;
    c.expect_reset(3, REFUSED_STREAM).await;
    // The body and trailers the client had sent before it saw the refusal.
    c.send_frame(DATA, 0, 3, b"in flight").await;
    let trailers = c.block(&[("x-trailer", "1")]);
    c.send_frame(HEADERS, END_HEADERS | END_STREAM, 3, &trailers)
        .await;
    assert_quiet(&mut c).await;
    assert_eq!(c.response(1).await.status, 200);
    get_hello(&mut c, 5).await;
}

// ---- 5.2 Flow control ----

#[tokio::test]
async fn s5_2_server_respects_the_stream_window() {
    let server = start().await;
    let (mut c, _) =
        H2Raw::handshake_with(server.addr, &[(SETTINGS_INITIAL_WINDOW_SIZE, 100)]).await;
    c.request(1, "GET", "/big", true).await;
    assert_eq!(response_head(&mut c, 1).await, 200);
    expect_data_then_stop(&mut c, 1, 100).await;
    c.send_frame(WINDOW_UPDATE, 0, 1, &window_update_payload(50))
        .await;
    expect_data_then_stop(&mut c, 1, 50).await;
}

#[tokio::test]
async fn s5_2_server_respects_the_connection_window() {
    let server = start().await;
    let (mut c, _) =
        H2Raw::handshake_with(server.addr, &[(SETTINGS_INITIAL_WINDOW_SIZE, 1 << 20)]).await;
    c.request(1, "GET", "/big", true).await;
    assert_eq!(response_head(&mut c, 1).await, 200);
    // The connection window starts at 65535 whatever SETTINGS say (6.9.2).
    expect_data_then_stop(&mut c, 1, 65_535).await;
    c.send_frame(
        WINDOW_UPDATE,
        0,
        0,
        &window_update_payload((BIG - 65_535) as u32),
    )
    .await;
    let (frames, _) = frames_until_end(&mut c, 1).await;
    assert_eq!(data_on(&frames, 1), (BIG - 65_535, true));
}

// ---- 5.3 Prioritization ----

#[tokio::test]
async fn s5_3_1_headers_depending_on_itself_is_stream_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    let mut payload = priority_payload(1, false, 255);
    payload.extend(c.request_block("GET", "/hello", &[]));
    c.send_frame(
        HEADERS,
        END_HEADERS | END_STREAM | PRIORITY_FLAG,
        1,
        &payload,
    )
    .await;
    stream_error(&mut c, 1, PROTOCOL_ERROR).await;
    get_hello(&mut c, 3).await;
}

#[tokio::test]
async fn s5_3_1_priority_depending_on_itself_is_stream_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.request(1, "GET", "/hold", true).await;
    c.send_frame(PRIORITY, 0, 1, &priority_payload(1, false, 16))
        .await;
    stream_error(&mut c, 1, PROTOCOL_ERROR).await;
    get_hello(&mut c, 3).await;
}

#[tokio::test]
async fn s5_3_1_priority_depending_on_itself_on_idle_stream_is_connection_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    // A stream error, but on an idle stream, which RST_STREAM must not name (6.4): the
    // only error left to send is a connection error (5.4.1 allows it for any stream
    // error).
    c.send_frame(PRIORITY, 0, 1, &priority_payload(1, false, 16))
        .await;
    connection_error_no_reset(&mut c, PROTOCOL_ERROR, 1).await;
}

#[tokio::test]
async fn s5_3_2_priority_signals_are_ignored() {
    let server = start().await;
    let mut c = connect(&server).await;
    // On idle streams, exclusive, on streams that do not exist, every weight.
    c.send_frame(PRIORITY, 0, 3, &priority_payload(0, false, 255))
        .await;
    c.send_frame(PRIORITY, 0, 5, &priority_payload(3, true, 0))
        .await;
    c.send_frame(PRIORITY, 0, 7, &priority_payload(101, false, 128))
        .await;
    assert_quiet(&mut c).await;
    // PRIORITY does not open a stream: stream 1, below them, still can be opened.
    get_hello(&mut c, 1).await;
    get_hello(&mut c, 3).await;
}

// ---- 5.4 Error handling ----

#[tokio::test]
async fn s5_4_1_connection_error_sends_goaway_with_last_stream_then_closes() {
    let server = start().await;
    let mut c = connect(&server).await;
    get_hello(&mut c, 1).await;
    get_hello(&mut c, 3).await;
    // PING on a stream.
    c.send_frame(PING, 0, 3, b"12345678").await;
    let goaway = connection_error(&mut c, PROTOCOL_ERROR).await;
    assert_eq!(goaway.last_stream_id(), 3);
}

#[tokio::test]
async fn s5_4_2_stream_error_leaves_other_streams_alone() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.request(1, "GET", "/hold", true).await;
    send_fields(
        &mut c,
        3,
        &[(":method", "GET"), (":scheme", "http"), (":path", "")],
    )
    .await;
    stream_error(&mut c, 3, PROTOCOL_ERROR).await;
    let r = c.response(1).await;
    assert_eq!((r.status, &r.body[..]), (200, &b"held\n"[..]));
}

// ---- 5.5 Extending HTTP/2 ----

#[tokio::test]
async fn s5_5_unknown_frame_types_are_ignored() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.send_frame(0x20, 0, 0, b"extension").await;
    // On an idle stream: neither an error nor an opening.
    c.send_frame(0xfe, 0xff, 1, b"extension").await;
    assert_quiet(&mut c).await;
    get_hello(&mut c, 1).await;
    // On an open stream, between DATA frames.
    send_request(&mut c, 3, "POST", "/echo", &[], false).await;
    c.send_frame(DATA, 0, 3, b"ab").await;
    c.send_frame(0x21, 0, 3, b"extension").await;
    c.send_frame(DATA, END_STREAM, 3, b"cd").await;
    let r = c.response(3).await;
    assert_eq!(r.body, b"abcd");
}

#[tokio::test]
async fn s5_5_unknown_frame_inside_a_field_block_is_protocol_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    let block = c.request_block("GET", "/hello", &[]);
    c.send_frame(HEADERS, END_STREAM, 1, &block).await;
    c.send_frame(0x20, 0, 1, b"extension").await;
    connection_error(&mut c, PROTOCOL_ERROR).await;
}

// ---- 6.1 DATA ----

#[tokio::test]
async fn s6_1_data_on_stream_0_is_protocol_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.send_frame(DATA, 0, 0, b"test").await;
    connection_error(&mut c, PROTOCOL_ERROR).await;
}

#[tokio::test]
async fn s6_1_padding_is_removed() {
    let server = start().await;
    let mut c = connect(&server).await;
    send_request(&mut c, 1, "POST", "/echo", &[], false).await;
    let mut payload = vec![10];
    payload.extend_from_slice(b"hello");
    payload.extend_from_slice(&[0; 10]);
    c.send_frame(DATA, PADDED, 1, &payload).await;
    // Padding only: no data at all.
    c.send_frame(DATA, PADDED | END_STREAM, 1, &[3, 0, 0, 0])
        .await;
    let r = c.response(1).await;
    assert_eq!((r.status, &r.body[..]), (200, &b"hello"[..]));
}

#[tokio::test]
async fn s6_1_padding_counts_toward_flow_control() {
    let server = start().await;
    let mut c = connect(&server).await;
    send_request(&mut c, 1, "POST", "/hold", &[], false).await;
    // 16 frames of 16384 bytes, each 1 + 16128 + 255 (pad length, data, padding): the
    // stream window of 262144 is used up, although only 258048 bytes were data.
    let mut payload = vec![255];
    payload.extend(vec![b'd'; 16_128]);
    payload.extend(vec![0; 255]);
    for _ in 0..16 {
        c.send_frame(DATA, PADDED, 1, &payload).await;
    }
    assert_quiet(&mut c).await;
    c.send_frame(DATA, 0, 1, b"!").await;
    connection_error(&mut c, FLOW_CONTROL_ERROR).await;
}

#[tokio::test]
async fn s6_1_padding_longer_than_the_payload_is_protocol_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    send_request(&mut c, 1, "POST", "/echo", &[], false).await;
    let mut payload = vec![6];
    payload.extend_from_slice(b"abcde");
    c.send_frame(DATA, PADDED | END_STREAM, 1, &payload).await;
    connection_error(&mut c, PROTOCOL_ERROR).await;
}

#[tokio::test]
async fn s6_1_padded_data_without_pad_length_is_frame_size_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    send_request(&mut c, 1, "POST", "/echo", &[], false).await;
    c.send_frame(DATA, PADDED | END_STREAM, 1, &[]).await;
    connection_error(&mut c, FRAME_SIZE_ERROR).await;
}

// ---- 6.2 HEADERS ----

#[tokio::test]
async fn s6_2_headers_on_stream_0_is_protocol_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    let block = c.request_block("GET", "/hello", &[]);
    c.send_frame(HEADERS, END_HEADERS | END_STREAM, 0, &block)
        .await;
    connection_error(&mut c, PROTOCOL_ERROR).await;
}

#[tokio::test]
async fn s6_2_padding_and_priority_fields_are_removed() {
    let server = start().await;
    let mut c = connect(&server).await;
    let block = c.request_block("GET", "/hello", &[]);
    let mut payload = vec![5];
    payload.extend_from_slice(&block);
    payload.extend_from_slice(&[0; 5]);
    c.send_frame(HEADERS, END_HEADERS | END_STREAM | PADDED, 1, &payload)
        .await;
    assert_eq!(c.response(1).await.status, 200);

    let block = c.request_block("GET", "/hello", &[]);
    let mut payload = vec![3];
    payload.extend(priority_payload(1, true, 42));
    payload.extend_from_slice(&block);
    payload.extend_from_slice(&[0; 3]);
    c.send_frame(
        HEADERS,
        END_HEADERS | END_STREAM | PADDED | PRIORITY_FLAG,
        3,
        &payload,
    )
    .await;
    let r = c.response(3).await;
    assert_eq!((r.status, &r.body[..]), (200, &b"hello\n"[..]));
}

#[tokio::test]
async fn s6_2_padding_longer_than_the_payload_is_protocol_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    let block = c.request_block("GET", "/hello", &[]);
    let mut payload = vec![200];
    payload.extend_from_slice(&block);
    c.send_frame(HEADERS, END_HEADERS | END_STREAM | PADDED, 1, &payload)
        .await;
    connection_error(&mut c, PROTOCOL_ERROR).await;
}

#[tokio::test]
async fn s6_2_too_short_for_priority_fields_is_frame_size_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.send_frame(
        HEADERS,
        END_HEADERS | END_STREAM | PRIORITY_FLAG,
        1,
        &[0, 0, 0],
    )
    .await;
    connection_error(&mut c, FRAME_SIZE_ERROR).await;
}

#[tokio::test]
async fn s6_2_headers_without_end_headers_then_other_frame_is_protocol_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    let block = c.request_block("GET", "/hello", &[]);
    c.send_frame(HEADERS, END_STREAM, 1, &block).await;
    c.send_frame(PING, 0, 0, b"12345678").await;
    connection_error(&mut c, PROTOCOL_ERROR).await;
}

// ---- 6.3 PRIORITY ----

#[tokio::test]
async fn s6_3_priority_on_stream_0_is_protocol_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.send_frame(PRIORITY, 0, 0, &priority_payload(1, false, 16))
        .await;
    connection_error(&mut c, PROTOCOL_ERROR).await;
}

#[tokio::test]
async fn s6_3_priority_of_wrong_length_is_stream_frame_size_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.request(1, "GET", "/hold", true).await;
    c.send_frame(PRIORITY, 0, 1, &[0x80, 0, 0, 1]).await;
    stream_error(&mut c, 1, FRAME_SIZE_ERROR).await;
    get_hello(&mut c, 3).await;
}

// ---- 6.4 RST_STREAM ----

#[tokio::test]
async fn s6_4_rst_stream_on_stream_0_is_protocol_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.send_frame(RST_STREAM, 0, 0, &code(CANCEL)).await;
    connection_error(&mut c, PROTOCOL_ERROR).await;
}

#[tokio::test]
async fn s6_4_rst_stream_of_wrong_length_is_frame_size_error() {
    let server = start().await;
    for payload in [&[0u8, 0, 8][..], &[0, 0, 0, 8, 0]] {
        let mut c = connect(&server).await;
        c.request(1, "GET", "/hold", true).await;
        c.send_frame(RST_STREAM, 0, 1, payload).await;
        connection_error(&mut c, FRAME_SIZE_ERROR).await;
    }
}

#[tokio::test]
async fn s6_4_rst_stream_ends_the_stream() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.request(1, "GET", "/hold", true).await;
    c.send_frame(RST_STREAM, 0, 1, &code(CANCEL)).await;
    // Nothing more for the stream once it is reset, not even the held answer.
    let later = c.frames_within(HOLD + QUIET).await;
    assert!(later.iter().all(|f| f.stream != 1), "{later:?}");
    get_hello(&mut c, 3).await;
}

// ---- 6.5 SETTINGS ----

#[tokio::test]
async fn s6_5_settings_ack_with_payload_is_frame_size_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.send_frame(
        SETTINGS,
        ACK,
        0,
        &settings_payload(&[(SETTINGS_MAX_CONCURRENT_STREAMS, 10)]),
    )
    .await;
    connection_error(&mut c, FRAME_SIZE_ERROR).await;
}

#[tokio::test]
async fn s6_5_settings_on_a_stream_is_protocol_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.send_frame(SETTINGS, 0, 1, &[]).await;
    connection_error(&mut c, PROTOCOL_ERROR).await;
}

#[tokio::test]
async fn s6_5_settings_length_not_a_multiple_of_6_is_frame_size_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.send_frame(SETTINGS, 0, 0, &[0, 3, 0, 0, 0]).await;
    connection_error(&mut c, FRAME_SIZE_ERROR).await;
}

#[tokio::test]
async fn s6_5_every_settings_frame_is_acknowledged_once() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.send_frame(SETTINGS, 0, 0, &[]).await;
    c.send_frame(
        SETTINGS,
        0,
        0,
        &settings_payload(&[
            (SETTINGS_MAX_CONCURRENT_STREAMS, 5),
            (SETTINGS_MAX_HEADER_LIST_SIZE, 100_000),
        ]),
    )
    .await;
    let frames = assert_quiet(&mut c).await;
    let acks: Vec<&Frame> = frames.iter().filter(|f| f.kind == SETTINGS).collect();
    // The handshake's, then one for each of these two.
    assert_eq!(acks.len(), 3, "{frames:?}");
    assert!(acks
        .iter()
        .all(|f| f.has(ACK) && f.payload.is_empty() && f.stream == 0));
}

#[tokio::test]
async fn s6_5_2_enable_push_above_1_is_protocol_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.send_frame(
        SETTINGS,
        0,
        0,
        &settings_payload(&[(SETTINGS_ENABLE_PUSH, 2)]),
    )
    .await;
    connection_error(&mut c, PROTOCOL_ERROR).await;
}

#[tokio::test]
async fn s6_5_2_enable_push_0_and_1_are_accepted() {
    let server = start().await;
    for value in [0, 1] {
        let (mut c, _) = H2Raw::handshake_with(server.addr, &[(SETTINGS_ENABLE_PUSH, value)]).await;
        get_hello(&mut c, 1).await;
    }
}

#[tokio::test]
async fn s6_5_2_initial_window_size_above_maximum_is_flow_control_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.send_frame(
        SETTINGS,
        0,
        0,
        &settings_payload(&[(SETTINGS_INITIAL_WINDOW_SIZE, 1 << 31)]),
    )
    .await;
    connection_error(&mut c, FLOW_CONTROL_ERROR).await;
}

#[tokio::test]
async fn s6_5_2_max_frame_size_out_of_range_is_protocol_error() {
    let server = start().await;
    for value in [16_383, 1 << 24] {
        let mut c = connect(&server).await;
        c.send_frame(
            SETTINGS,
            0,
            0,
            &settings_payload(&[(SETTINGS_MAX_FRAME_SIZE, value)]),
        )
        .await;
        connection_error(&mut c, PROTOCOL_ERROR).await;
    }
}

#[tokio::test]
async fn s6_5_2_unknown_settings_are_ignored() {
    let server = start().await;
    let (mut c, _) = H2Raw::handshake_with(server.addr, &[(0x0a, 1), (0xffff, u32::MAX)]).await;
    c.send_frame(SETTINGS, 0, 0, &settings_payload(&[(0x99, 7)]))
        .await;
    assert_quiet(&mut c).await;
    get_hello(&mut c, 1).await;
}

#[tokio::test]
async fn s6_5_3_header_table_size_0_is_applied_to_responses() {
    let server = start().await;
    let (mut c, _) = H2Raw::handshake_with(server.addr, &[(SETTINGS_HEADER_TABLE_SIZE, 0)]).await;
    c.request(1, "GET", "/hello", true).await;
    let head = c
        .expect("response HEADERS", |f| f.kind == HEADERS && f.stream == 1)
        .await;
    // RFC 7541 4.2: the first block after the change starts with a size update, to 0.
    let block = header_block_of(&head);
    assert_eq!(block[0], 0x20, "{block:x?}");
    c.decode(&block);
    let (frames, _) = frames_until_end(&mut c, 1).await;
    assert_eq!(data_on(&frames, 1), (6, true));
    // Later responses decode with a table of 0 bytes: the server indexes nothing.
    for id in [3, 5] {
        get_hello(&mut c, id).await;
    }
}

#[tokio::test]
async fn s6_5_3_settings_values_apply_in_order() {
    let server = start().await;
    let mut c = connect(&server).await;
    // The same setting twice in one frame: the last value holds.
    c.send_frame(
        SETTINGS,
        0,
        0,
        &settings_payload(&[
            (SETTINGS_INITIAL_WINDOW_SIZE, 0),
            (SETTINGS_INITIAL_WINDOW_SIZE, 100),
        ]),
    )
    .await;
    assert_quiet(&mut c).await;
    c.request(1, "GET", "/big", true).await;
    assert_eq!(response_head(&mut c, 1).await, 200);
    expect_data_then_stop(&mut c, 1, 100).await;
}

#[tokio::test]
async fn s6_5_3_unacknowledged_settings_time_out() {
    let server = start().await;
    let mut c = H2Raw::connect(server.addr).await;
    let mut hello = PREFACE.to_vec();
    hello.extend(frame(SETTINGS, 0, 0, &[]));
    c.send(&hello).await;
    let start = Instant::now();
    // Our SETTINGS is never acknowledged; the server gives it 10 s.
    let goaway = loop {
        let f = c
            .read_frame_within(Duration::from_secs(15))
            .await
            .expect("GOAWAY SETTINGS_TIMEOUT within 15 s");
        if f.kind == GOAWAY {
            break f;
        }
    };
    assert_eq!(goaway.error_code(), SETTINGS_TIMEOUT);
    assert!(start.elapsed() >= Duration::from_secs(9), "too early");
    assert!(c.closed().await);
}

// ---- 6.7 PING ----

#[tokio::test]
async fn s6_7_ping_is_answered_with_its_payload() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.send_frame(PING, 0, 0, b"\x00\x01\x02\x03\xfc\xfd\xfe\xff")
        .await;
    let pong = c.expect("PING ACK", |f| f.kind == PING && f.has(ACK)).await;
    assert_eq!(pong.payload, b"\x00\x01\x02\x03\xfc\xfd\xfe\xff");
    assert_eq!(pong.stream, 0);
}

#[tokio::test]
async fn s6_7_ping_ack_is_not_answered() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.send_frame(PING, ACK, 0, b"unasked!").await;
    let frames = assert_quiet(&mut c).await;
    assert!(frames.iter().all(|f| f.kind != PING), "{frames:?}");
}

#[tokio::test]
async fn s6_7_ping_on_a_stream_is_protocol_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.send_frame(PING, 0, 1, b"12345678").await;
    connection_error(&mut c, PROTOCOL_ERROR).await;
}

#[tokio::test]
async fn s6_7_ping_of_wrong_length_is_frame_size_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.send_frame(PING, 0, 0, b"1234567").await;
    connection_error(&mut c, FRAME_SIZE_ERROR).await;
}

// ---- 6.8 GOAWAY ----

#[tokio::test]
async fn s6_8_goaway_on_a_stream_is_protocol_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.send_frame(GOAWAY, 0, 1, &goaway_payload(0, NO_ERROR))
        .await;
    connection_error(&mut c, PROTOCOL_ERROR).await;
}

#[tokio::test]
async fn s6_8_goaway_shorter_than_8_is_frame_size_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.send_frame(GOAWAY, 0, 0, &[0, 0, 0, 0, 0, 0, 0]).await;
    connection_error(&mut c, FRAME_SIZE_ERROR).await;
}

#[tokio::test]
async fn s6_8_client_goaway_lets_open_streams_finish_then_closes() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.request(1, "GET", "/hold", true).await;
    let mut payload = goaway_payload(0, NO_ERROR);
    payload.extend_from_slice(b"bye");
    c.send_frame(GOAWAY, 0, 0, &payload).await;
    let r = c.response(1).await;
    assert_eq!((r.status, &r.body[..]), (200, &b"held\n"[..]));
    assert!(c.closed().await);
}

#[tokio::test]
async fn s6_8_server_shutdown_sends_goaway_no_error_and_finishes_streams() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.request(1, "GET", "/hold", true).await;
    // The request is in before the shutdown begins.
    assert_quiet(&mut c).await;
    let stopping = tokio::spawn(server.stop());
    let goaway = c.expect_goaway(NO_ERROR).await;
    assert_eq!(goaway.last_stream_id(), 1);
    // A stream past the last one is not processed.
    c.request(3, "GET", "/hello", true).await;
    c.expect_reset(3, REFUSED_STREAM).await;
    let r = c.response(1).await;
    assert_eq!((r.status, &r.body[..]), (200, &b"held\n"[..]));
    assert!(c.closed().await);
    stopping.await.unwrap();
}

// ---- 6.9 WINDOW_UPDATE ----

#[tokio::test]
async fn s6_9_zero_increment_on_a_stream_is_stream_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.request(1, "GET", "/hold", true).await;
    c.send_frame(WINDOW_UPDATE, 0, 1, &window_update_payload(0))
        .await;
    stream_error(&mut c, 1, PROTOCOL_ERROR).await;
    get_hello(&mut c, 3).await;
}

#[tokio::test]
async fn s6_9_zero_increment_on_the_connection_is_protocol_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.send_frame(WINDOW_UPDATE, 0, 0, &window_update_payload(0))
        .await;
    connection_error(&mut c, PROTOCOL_ERROR).await;
}

#[tokio::test]
async fn s6_9_zero_increment_on_an_idle_stream_is_protocol_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    // Both a zero increment and a frame on an idle stream: the idle stream decides
    // (5.1: a connection error), and RST_STREAM must not name an idle stream (6.4).
    c.send_frame(WINDOW_UPDATE, 0, 1, &window_update_payload(0))
        .await;
    connection_error_no_reset(&mut c, PROTOCOL_ERROR, 1).await;
}

#[tokio::test]
async fn s6_9_window_update_of_wrong_length_is_frame_size_error() {
    let server = start().await;
    for payload in [&[0u8, 0, 1][..], &[0, 0, 0, 1, 0]] {
        let mut c = connect(&server).await;
        c.send_frame(WINDOW_UPDATE, 0, 0, payload).await;
        connection_error(&mut c, FRAME_SIZE_ERROR).await;
    }
}

#[tokio::test]
async fn s6_9_1_connection_window_above_maximum_is_flow_control_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.send_frame(WINDOW_UPDATE, 0, 0, &window_update_payload(0x7fff_ffff))
        .await;
    connection_error(&mut c, FLOW_CONTROL_ERROR).await;
}

#[tokio::test]
async fn s6_9_1_stream_window_above_maximum_is_stream_flow_control_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.request(1, "GET", "/hold", true).await;
    c.send_frame(WINDOW_UPDATE, 0, 1, &window_update_payload(0x7fff_ffff))
        .await;
    stream_error(&mut c, 1, FLOW_CONTROL_ERROR).await;
    get_hello(&mut c, 3).await;
}

/// Sends `n` bytes of DATA on `stream`, in frames of 16384, without END_STREAM.
async fn send_body(c: &mut H2Raw, stream: u32, n: usize) {
    let chunk = vec![b'w'; 16_384];
    let mut left = n;
    while left > 0 {
        let len = left.min(chunk.len());
        c.send_frame(DATA, 0, stream, &chunk[..len]).await;
        left -= len;
    }
}

#[tokio::test]
async fn s6_9_1_data_beyond_the_stream_window_is_flow_control_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    send_request(&mut c, 1, "POST", "/hold", &[], false).await;
    // The whole window we advertised (262144) is accepted...
    send_body(&mut c, 1, 262_144).await;
    assert_quiet(&mut c).await;
    // ...and not one byte more.
    c.send_frame(DATA, 0, 1, b"!").await;
    connection_error(&mut c, FLOW_CONTROL_ERROR).await;
}

#[tokio::test]
async fn s6_9_1_data_beyond_the_connection_window_is_flow_control_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    // Four streams fill their windows, together the connection's 1 MiB.
    for id in [1, 3, 5, 7] {
        send_request(&mut c, id, "POST", "/hold", &[], false).await;
        send_body(&mut c, id, 262_144).await;
    }
    assert_quiet(&mut c).await;
    send_request(&mut c, 9, "POST", "/hold", &[], false).await;
    c.send_frame(DATA, 0, 9, b"!").await;
    connection_error(&mut c, FLOW_CONTROL_ERROR).await;
}

#[tokio::test]
async fn s6_9_1_data_on_a_reset_stream_is_credited_to_the_connection() {
    let server = start().await;
    let mut c = connect(&server).await;
    // The window the server grants at the start: 1 MiB in all.
    let initial = c
        .expect("connection WINDOW_UPDATE", |f| {
            f.kind == WINDOW_UPDATE && f.stream == 0
        })
        .await;
    assert_eq!(initial.increment(), (1 << 20) - 65_535);
    send_request(&mut c, 1, "POST", "/echo", &[("X-Upper", "1")], false).await;
    c.expect_reset(1, PROTOCOL_ERROR).await;
    // 5.1: DATA on a stream we reset still counts against the connection window; and
    // nobody will consume it, so the server gives the credit back itself.
    send_body(&mut c, 1, 600_000).await;
    let update = c
        .expect("connection WINDOW_UPDATE", |f| {
            f.kind == WINDOW_UPDATE && f.stream == 0 && f.increment() >= 524_288
        })
        .await;
    assert!(update.increment() <= 600_000, "{update:?}");
    assert_quiet(&mut c).await;
}

#[tokio::test]
async fn s6_9_2_initial_window_size_changes_apply_to_open_streams() {
    let server = start().await;
    let (mut c, _) = H2Raw::handshake_with(server.addr, &[(SETTINGS_INITIAL_WINDOW_SIZE, 0)]).await;
    c.request(1, "GET", "/big", true).await;
    assert_eq!(response_head(&mut c, 1).await, 200);
    let frames = c.frames_within(QUIET).await;
    assert_eq!(data_on(&frames, 1), (0, false), "{frames:?}");
    let set = |n: u32| settings_payload(&[(SETTINGS_INITIAL_WINDOW_SIZE, n)]);
    // 0 -> 100: the stream may send 100 bytes.
    c.send_frame(SETTINGS, 0, 0, &set(100)).await;
    expect_data_then_stop(&mut c, 1, 100).await;
    // 100 -> 50: the window goes to -50; 40 more leave it at -10, nothing to send.
    c.send_frame(SETTINGS, 0, 0, &set(50)).await;
    c.send_frame(WINDOW_UPDATE, 0, 1, &window_update_payload(40))
        .await;
    let frames = c.frames_within(QUIET).await;
    assert_eq!(data_on(&frames, 1), (0, false), "{frames:?}");
    // 30 more: 20 bytes may go.
    c.send_frame(WINDOW_UPDATE, 0, 1, &window_update_payload(30))
        .await;
    expect_data_then_stop(&mut c, 1, 20).await;
}

#[tokio::test]
async fn s6_9_2_initial_window_size_overflowing_a_window_is_flow_control_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.request(1, "GET", "/hold", true).await;
    // The stream's send window at 2^31-1...
    c.send_frame(
        WINDOW_UPDATE,
        0,
        1,
        &window_update_payload(0x7fff_ffff - 65_535),
    )
    .await;
    assert_quiet(&mut c).await;
    // ...and one more through SETTINGS_INITIAL_WINDOW_SIZE.
    c.send_frame(
        SETTINGS,
        0,
        0,
        &settings_payload(&[(SETTINGS_INITIAL_WINDOW_SIZE, 65_536)]),
    )
    .await;
    connection_error(&mut c, FLOW_CONTROL_ERROR).await;
}

// ---- 6.10 CONTINUATION ----

#[tokio::test]
async fn s6_10_continuation_frames_complete_the_block() {
    let server = start().await;
    let mut c = connect(&server).await;
    let block = c.request_block("GET", "/hello", &[("x-pad", "continued")]);
    let (a, rest) = block.split_at(3);
    let (b, d) = rest.split_at(4);
    // END_STREAM on HEADERS covers the whole block.
    c.send_frame(HEADERS, END_STREAM, 1, a).await;
    c.send_frame(CONTINUATION, 0, 1, b).await;
    c.send_frame(CONTINUATION, END_HEADERS, 1, d).await;
    let r = c.response(1).await;
    assert_eq!((r.status, &r.body[..]), (200, &b"hello\n"[..]));
}

#[tokio::test]
async fn s6_10_continuation_on_stream_0_is_protocol_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    let block = c.request_block("GET", "/hello", &[]);
    c.send_frame(HEADERS, END_STREAM, 1, &block[..2]).await;
    c.send_frame(CONTINUATION, END_HEADERS, 0, &block[2..])
        .await;
    connection_error(&mut c, PROTOCOL_ERROR).await;
}

#[tokio::test]
async fn s6_10_continuation_on_another_stream_is_protocol_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    let block = c.request_block("GET", "/hello", &[]);
    c.send_frame(HEADERS, END_STREAM, 1, &block[..2]).await;
    c.send_frame(CONTINUATION, END_HEADERS, 3, &block[2..])
        .await;
    connection_error(&mut c, PROTOCOL_ERROR).await;
}

#[tokio::test]
async fn s6_10_continuation_after_end_headers_is_protocol_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    send_request(&mut c, 1, "POST", "/echo", &[], false).await;
    let block = c.block(&[("x-late", "1")]);
    c.send_frame(CONTINUATION, END_HEADERS, 1, &block).await;
    connection_error(&mut c, PROTOCOL_ERROR).await;
}

// ---- 7. Error codes ----

#[tokio::test]
async fn s7_unknown_error_code_in_rst_stream_is_accepted() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.request(1, "GET", "/hold", true).await;
    c.send_frame(RST_STREAM, 0, 1, &code(0xdead_beef)).await;
    assert_quiet(&mut c).await;
    get_hello(&mut c, 3).await;
}

#[tokio::test]
async fn s7_unknown_error_code_in_goaway_is_accepted() {
    let server = start().await;
    let mut c = connect(&server).await;
    get_hello(&mut c, 1).await;
    c.send_frame(GOAWAY, 0, 0, &goaway_payload(0, 0xdead_beef))
        .await;
    // An ordinary GOAWAY: no stream left, so the server closes, with no error of its own.
    let frames = c.frames_within(WAIT).await;
    assert!(
        frames
            .iter()
            .all(|f| f.kind != GOAWAY || f.error_code() == NO_ERROR),
        "{frames:?}"
    );
    assert!(c.closed().await);
}

// ---- 8.1 HTTP message framing ----

#[tokio::test]
async fn s8_1_request_with_body_and_trailers() {
    let server = start().await;
    let mut c = connect(&server).await;
    send_request(&mut c, 1, "POST", "/echo", &[("te", "trailers")], false).await;
    c.send_frame(DATA, 0, 1, b"abc").await;
    let trailers = c.block(&[("x-checksum", "1")]);
    c.send_frame(HEADERS, END_HEADERS | END_STREAM, 1, &trailers)
        .await;
    let r = c.response(1).await;
    assert_eq!((r.status, &r.body[..]), (200, &b"abc"[..]));
}

#[tokio::test]
async fn s8_1_second_headers_without_end_stream_is_protocol_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    send_request(&mut c, 1, "POST", "/echo", &[], false).await;
    c.send_frame(DATA, 0, 1, b"abc").await;
    let trailers = c.block(&[("x-checksum", "1")]);
    c.send_frame(HEADERS, END_HEADERS, 1, &trailers).await;
    // Malformed (8.1); the server makes it a connection error, which 5.4.1 allows.
    connection_error(&mut c, PROTOCOL_ERROR).await;
}

#[tokio::test]
async fn s8_1_data_after_trailers_is_stream_closed() {
    let server = start().await;
    let mut c = connect(&server).await;
    send_request(&mut c, 1, "POST", "/hold", &[], false).await;
    c.send_frame(DATA, 0, 1, b"abc").await;
    let trailers = c.block(&[("x-checksum", "1")]);
    c.send_frame(HEADERS, END_HEADERS | END_STREAM, 1, &trailers)
        .await;
    c.send_frame(DATA, END_STREAM, 1, b"late").await;
    stream_error(&mut c, 1, STREAM_CLOSED).await;
}

#[tokio::test]
async fn s8_1_early_response_then_rst_stream_no_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    send_request(&mut c, 1, "POST", "/ignore", &[], false).await;
    c.send_frame(DATA, 0, 1, b"part").await;
    let r = c.response(1).await;
    assert_eq!((r.status, &r.body[..]), (200, &b"ignored\n"[..]));
    // The response is complete; the rest of the request is not wanted.
    c.expect_reset(1, NO_ERROR).await;
    // The rest of the body, in flight, is dropped without another reset.
    c.send_frame(DATA, END_STREAM, 1, b"rest").await;
    assert_quiet(&mut c).await;
    get_hello(&mut c, 3).await;
}

#[tokio::test]
async fn s8_1_head_response_has_no_content() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.request(1, "HEAD", "/hello", true).await;
    let (frames, blocks) = frames_until_end(&mut c, 1).await;
    let on_1: Vec<&Frame> = frames.iter().filter(|f| f.stream == 1).collect();
    assert_eq!(on_1.len(), 1, "{frames:?}");
    assert!(on_1[0].kind == HEADERS && on_1[0].has(END_STREAM));
    assert!(blocks[0].contains(&(":status".into(), "200".into())));
    assert!(blocks[0].contains(&("content-length".into(), "6".into())));
    // And no DATA after it.
    let later = assert_quiet(&mut c).await;
    assert!(later.iter().all(|f| f.stream != 1), "{later:?}");
}

#[tokio::test]
async fn s8_1_1_content_length_mismatching_data_is_malformed() {
    let server = start().await;
    let mut c = connect(&server).await;
    // Less DATA than content-length.
    send_request(
        &mut c,
        1,
        "POST",
        "/echo",
        &[("content-length", "10")],
        false,
    )
    .await;
    c.send_frame(DATA, END_STREAM, 1, b"12345").await;
    stream_error(&mut c, 1, PROTOCOL_ERROR).await;
    // More.
    send_request(
        &mut c,
        3,
        "POST",
        "/echo",
        &[("content-length", "3")],
        false,
    )
    .await;
    c.send_frame(DATA, 0, 3, b"12345").await;
    stream_error(&mut c, 3, PROTOCOL_ERROR).await;
    // Less, ended by trailers.
    send_request(
        &mut c,
        5,
        "POST",
        "/echo",
        &[("content-length", "10")],
        false,
    )
    .await;
    c.send_frame(DATA, 0, 5, b"12345").await;
    let trailers = c.block(&[("x-checksum", "1")]);
    c.send_frame(HEADERS, END_HEADERS | END_STREAM, 5, &trailers)
        .await;
    stream_error(&mut c, 5, PROTOCOL_ERROR).await;
    // Non-zero, on HEADERS that end the stream.
    send_request(&mut c, 7, "POST", "/echo", &[("content-length", "4")], true).await;
    stream_error(&mut c, 7, PROTOCOL_ERROR).await;
    get_hello(&mut c, 9).await;
}

#[tokio::test]
async fn s8_1_1_content_length_matching_data_is_accepted() {
    let server = start().await;
    let mut c = connect(&server).await;
    send_request(
        &mut c,
        1,
        "POST",
        "/echo",
        &[("content-length", "6")],
        false,
    )
    .await;
    c.send_frame(DATA, 0, 1, b"abc").await;
    c.send_frame(DATA, END_STREAM, 1, b"def").await;
    let r = c.response(1).await;
    assert_eq!((r.status, &r.body[..]), (200, &b"abcdef"[..]));
}

// ---- 8.2 HTTP fields ----

/// Sends GET /hello with `extra` on `stream` and expects RST_STREAM PROTOCOL_ERROR.
async fn malformed(c: &mut H2Raw, stream: u32, extra: &[(&str, &str)]) {
    send_request(c, stream, "GET", "/hello", extra, true).await;
    c.expect_reset(stream, PROTOCOL_ERROR).await;
}

#[tokio::test]
async fn s8_2_uppercase_field_name_is_malformed() {
    let server = start().await;
    let mut c = connect(&server).await;
    malformed(&mut c, 1, &[("X-Upper", "1")]).await;
    // In a pseudo-header too.
    send_fields(
        &mut c,
        3,
        &[
            (":method", "GET"),
            (":scheme", "http"),
            (":Path", "/hello"),
            (":authority", "localhost"),
        ],
    )
    .await;
    stream_error(&mut c, 3, PROTOCOL_ERROR).await;
    get_hello(&mut c, 5).await;
}

#[tokio::test]
async fn s8_2_1_invalid_field_names_are_malformed() {
    let server = start().await;
    let mut c = connect(&server).await;
    let mut id = 1;
    for name in ["", "x y", "x:y", "x\u{7f}", "x\"y", "é"] {
        malformed(&mut c, id, &[(name, "1")]).await;
        id += 2;
    }
    get_hello(&mut c, id).await;
}

#[tokio::test]
async fn s8_2_1_invalid_field_values_are_malformed() {
    let server = start().await;
    let mut c = connect(&server).await;
    let mut id = 1;
    for value in ["a\0b", "a\rb", "a\nb", " lead", "trail ", "\ttab"] {
        malformed(&mut c, id, &[("x-value", value)]).await;
        id += 2;
    }
    get_hello(&mut c, id).await;
}

#[tokio::test]
async fn s8_2_2_connection_specific_fields_are_malformed() {
    let server = start().await;
    let mut c = connect(&server).await;
    let mut id = 1;
    for (name, value) in [
        ("connection", "keep-alive"),
        ("keep-alive", "timeout=5"),
        ("proxy-connection", "keep-alive"),
        ("transfer-encoding", "chunked"),
        ("upgrade", "websocket"),
    ] {
        malformed(&mut c, id, &[(name, value)]).await;
        id += 2;
    }
    get_hello(&mut c, id).await;
}

#[tokio::test]
async fn s8_2_2_te_other_than_trailers_is_malformed() {
    let server = start().await;
    let mut c = connect(&server).await;
    malformed(&mut c, 1, &[("te", "gzip")]).await;
    malformed(&mut c, 3, &[("te", "trailers, deflate")]).await;
    send_request(&mut c, 5, "GET", "/hello", &[("te", "trailers")], true).await;
    assert_eq!(c.response(5).await.status, 200);
}

#[tokio::test]
async fn s8_2_3_cookie_crumbs_are_joined() {
    let server = start().await;
    let mut c = connect(&server).await;
    send_request(
        &mut c,
        1,
        "GET",
        "/cookie",
        &[("cookie", "a=1"), ("cookie", "b=2"), ("cookie", "c=3")],
        true,
    )
    .await;
    let r = c.response(1).await;
    assert_eq!((r.status, &r.body[..]), (200, &b"a=1; b=2; c=3"[..]));
}

#[tokio::test]
async fn s8_2_response_fields_are_lowercase_without_connection_fields() {
    let server = start().await;
    let mut c = connect(&server).await;
    let mut id = 1;
    for (method, path) in [("GET", "/hello"), ("GET", "/big"), ("POST", "/echo")] {
        c.request(id, method, path, true).await;
        let r = c.response(id).await;
        assert_eq!(r.status, 200, "{path}");
        for (name, _) in &r.headers {
            assert!(!name.bytes().any(|b| b.is_ascii_uppercase()), "{name}");
            // 8.3.2: :status is the only response pseudo-header.
            assert!(!name.starts_with(':'), "{name}");
            assert!(
                ![
                    "connection",
                    "keep-alive",
                    "proxy-connection",
                    "transfer-encoding",
                    "upgrade"
                ]
                .contains(&name.as_str()),
                "{path}: {name}"
            );
        }
        id += 2;
    }
}

// ---- 8.3 HTTP control data ----

#[tokio::test]
async fn s8_3_undefined_and_response_pseudo_headers_are_malformed() {
    let server = start().await;
    let mut c = connect(&server).await;
    malformed(&mut c, 1, &[(":foo", "bar")]).await;
    malformed(&mut c, 3, &[(":status", "200")]).await;
    // :protocol goes with CONNECT only (RFC 8441 4), even though the server enables it.
    malformed(&mut c, 5, &[(":protocol", "websocket")]).await;
    get_hello(&mut c, 7).await;
}

#[tokio::test]
async fn s8_3_pseudo_header_after_a_regular_field_is_malformed() {
    let server = start().await;
    let mut c = connect(&server).await;
    send_fields(
        &mut c,
        1,
        &[
            (":method", "GET"),
            (":scheme", "http"),
            ("x-regular", "1"),
            (":path", "/hello"),
            (":authority", "localhost"),
        ],
    )
    .await;
    stream_error(&mut c, 1, PROTOCOL_ERROR).await;
    get_hello(&mut c, 3).await;
}

#[tokio::test]
async fn s8_3_pseudo_header_in_trailers_is_malformed() {
    let server = start().await;
    let mut c = connect(&server).await;
    send_request(&mut c, 1, "POST", "/hold", &[], false).await;
    c.send_frame(DATA, 0, 1, b"abc").await;
    let trailers = c.block(&[(":path", "/trailer")]);
    c.send_frame(HEADERS, END_HEADERS | END_STREAM, 1, &trailers)
        .await;
    stream_error(&mut c, 1, PROTOCOL_ERROR).await;
    get_hello(&mut c, 3).await;
}

#[tokio::test]
async fn s8_3_1_missing_request_pseudo_headers_are_malformed() {
    let server = start().await;
    let mut c = connect(&server).await;
    let all = [
        (":method", "GET"),
        (":scheme", "http"),
        (":path", "/hello"),
        (":authority", "localhost"),
    ];
    let mut id = 1;
    for missing in 0..3 {
        let fields: Vec<(&str, &str)> = all
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != missing)
            .map(|(_, f)| *f)
            .collect();
        send_fields(&mut c, id, &fields).await;
        c.expect_reset(id, PROTOCOL_ERROR).await;
        id += 2;
    }
    get_hello(&mut c, id).await;
}

#[tokio::test]
async fn s8_3_1_duplicated_request_pseudo_headers_are_malformed() {
    let server = start().await;
    let mut c = connect(&server).await;
    let mut id = 1;
    for (name, value) in [
        (":method", "GET"),
        (":scheme", "http"),
        (":path", "/hello"),
        (":authority", "localhost"),
    ] {
        let mut fields = vec![
            (":method", "GET"),
            (":scheme", "http"),
            (":path", "/hello"),
            (":authority", "localhost"),
        ];
        fields.insert(1, (name, value));
        send_fields(&mut c, id, &fields).await;
        c.expect_reset(id, PROTOCOL_ERROR).await;
        id += 2;
    }
    get_hello(&mut c, id).await;
}

#[tokio::test]
async fn s8_3_1_invalid_path_is_malformed() {
    let server = start().await;
    let mut c = connect(&server).await;
    let mut id = 1;
    for path in ["", "hello", "/a b", "/a#frag"] {
        send_fields(
            &mut c,
            id,
            &[
                (":method", "GET"),
                (":scheme", "http"),
                (":path", path),
                (":authority", "localhost"),
            ],
        )
        .await;
        c.expect_reset(id, PROTOCOL_ERROR).await;
        id += 2;
    }
    get_hello(&mut c, id).await;
}

#[tokio::test]
async fn s8_3_1_asterisk_path_is_for_options_only() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.request(1, "OPTIONS", "*", true).await;
    let r = c.response(1).await;
    assert_eq!(r.reset, None);
    assert_eq!(r.status, 204);
    c.request(3, "GET", "*", true).await;
    stream_error(&mut c, 3, PROTOCOL_ERROR).await;
}

#[tokio::test]
async fn s8_3_1_authority_rules() {
    let server = start().await;
    let mut c = connect(&server).await;
    // No :authority and no host on an http request (server's choice, see the docs).
    send_fields(
        &mut c,
        1,
        &[(":method", "GET"), (":scheme", "http"), (":path", "/hello")],
    )
    .await;
    c.expect_reset(1, PROTOCOL_ERROR).await;
    // host alone stands in for :authority.
    send_fields(
        &mut c,
        3,
        &[
            (":method", "GET"),
            (":scheme", "http"),
            (":path", "/hello"),
            ("host", "localhost"),
        ],
    )
    .await;
    assert_eq!(c.response(3).await.status, 200);
    // host disagreeing with :authority (server's choice).
    malformed(&mut c, 5, &[("host", "elsewhere")]).await;
    // userinfo in :authority (8.3.1).
    send_fields(
        &mut c,
        7,
        &[
            (":method", "GET"),
            (":scheme", "http"),
            (":path", "/hello"),
            (":authority", "user@localhost"),
        ],
    )
    .await;
    c.expect_reset(7, PROTOCOL_ERROR).await;
    get_hello(&mut c, 9).await;
}

// ---- 8.4 Server push (and 6.6 PUSH_PROMISE) ----

#[tokio::test]
async fn s8_4_push_promise_from_a_client_is_protocol_error() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.request(1, "GET", "/hold", true).await;
    let mut payload = 2u32.to_be_bytes().to_vec();
    payload.extend(c.request_block("GET", "/pushed", &[]));
    c.send_frame(PUSH_PROMISE, END_HEADERS, 1, &payload).await;
    connection_error(&mut c, PROTOCOL_ERROR).await;
}

// ---- 8.5 CONNECT ----

#[tokio::test]
async fn s8_5_connect_request_rules() {
    let server = start().await;
    let mut c = connect(&server).await;
    // Well formed: :method and :authority only. Not served, hence 501.
    send_fields(
        &mut c,
        1,
        &[(":method", "CONNECT"), (":authority", "localhost:443")],
    )
    .await;
    let r = c.response(1).await;
    assert_eq!(r.reset, None);
    assert_eq!(r.status, 501);
    // With :scheme and :path.
    send_fields(
        &mut c,
        3,
        &[
            (":method", "CONNECT"),
            (":scheme", "http"),
            (":path", "/"),
            (":authority", "localhost:443"),
        ],
    )
    .await;
    c.expect_reset(3, PROTOCOL_ERROR).await;
    // Without :authority.
    send_fields(&mut c, 5, &[(":method", "CONNECT")]).await;
    c.expect_reset(5, PROTOCOL_ERROR).await;
    // :authority without a port.
    send_fields(
        &mut c,
        7,
        &[(":method", "CONNECT"), (":authority", "localhost")],
    )
    .await;
    c.expect_reset(7, PROTOCOL_ERROR).await;
    get_hello(&mut c, 9).await;
}

// ---- Requests refused with an HTTP status, not a reset ----

#[tokio::test]
async fn s8_unknown_method_is_501() {
    let server = start().await;
    let mut c = connect(&server).await;
    c.request(1, "FROB", "/hello", true).await;
    let r = c.response(1).await;
    assert_eq!((r.reset, r.status), (None, 501));
    get_hello(&mut c, 3).await;
}

#[tokio::test]
async fn s8_path_longer_than_max_url_length_is_414() {
    let server = start_with(Limits {
        max_url_length: 64,
        ..Limits::default()
    })
    .await;
    let mut c = connect(&server).await;
    let path = format!("/{}", "p".repeat(64));
    c.request(1, "GET", &path, true).await;
    let r = c.response(1).await;
    assert_eq!((r.reset, r.status), (None, 414));
    get_hello(&mut c, 3).await;
}

#[tokio::test]
async fn s8_too_many_fields_is_431() {
    let server = start_with(Limits {
        max_headers: 5,
        ..Limits::default()
    })
    .await;
    let mut c = connect(&server).await;
    let names: Vec<String> = (0..6).map(|i| format!("x-field-{i}")).collect();
    let extra: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "1")).collect();
    send_request(&mut c, 1, "GET", "/hello", &extra, true).await;
    let r = c.response(1).await;
    assert_eq!((r.reset, r.status), (None, 431));
    get_hello(&mut c, 3).await;
}

#[tokio::test]
async fn s6_5_2_header_list_above_max_header_list_size_is_431() {
    let server = start_with(Limits {
        client_buffer_size: 1024,
        max_url_length: 512,
        ..Limits::default()
    })
    .await;
    let (mut c, settings) = H2Raw::handshake_with(server.addr, &[]).await;
    assert!(settings
        .settings()
        .contains(&(SETTINGS_MAX_HEADER_LIST_SIZE, 1024)));
    let value = "v".repeat(1500);
    send_request(&mut c, 1, "GET", "/hello", &[("x-large", &value)], true).await;
    let r = c.response(1).await;
    assert_eq!((r.reset, r.status), (None, 431));
    // The oversized block still went through HPACK: the next one decodes.
    get_hello(&mut c, 3).await;
}
