//! WebSocket sessions against a real server on 127.0.0.1:0: the HTTP/1.1 upgrade with a raw
//! client (so every byte on the wire is checked, RFC 6455's examples included), RFC 8441
//! extended CONNECT with the `h2` crate as an independent client, and the session rules a
//! handler relies on (subprotocols, the session limit, senders in other tasks, backpressure,
//! idle pings, shutdown, panics).

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use gust::ws::{Message, WebSocket};
use gust::{Limits, Resource};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

use support::{builder, h2_client, TestServer};

const WAIT: Duration = Duration::from_secs(10);

async fn echo(mut socket: WebSocket) {
    while let Some(message) = socket.recv().await {
        if socket.send(message).await.is_err() {
            break;
        }
    }
}

/// A frame as a client sends it: FIN, the opcode, masked with a fixed key.
fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    client_frame_fin(true, opcode, payload)
}

fn client_frame_fin(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let mut out = vec![if fin { 0x80 } else { 0 } | opcode];
    let len = payload.len();
    if len < 126 {
        out.push(0x80 | len as u8);
    } else if len <= 0xffff {
        out.push(0x80 | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(&key);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    out
}

/// A frame the server sent: (fin, opcode, payload).
#[derive(Debug, PartialEq)]
struct ServerFrame {
    fin: bool,
    opcode: u8,
    payload: Bytes,
}

/// Decodes one server frame from the front of `buf`, if whole. Server frames are never
/// masked.
fn take_frame(buf: &mut BytesMut) -> Option<ServerFrame> {
    if buf.len() < 2 {
        return None;
    }
    assert_eq!(buf[1] & 0x80, 0, "server frames are not masked");
    let (len, head) = match buf[1] & 0x7f {
        126 if buf.len() >= 4 => (u16::from_be_bytes([buf[2], buf[3]]) as usize, 4),
        127 if buf.len() >= 10 => (
            u64::from_be_bytes(buf[2..10].try_into().unwrap()) as usize,
            10,
        ),
        126 | 127 => return None,
        n => (n as usize, 2),
    };
    if buf.len() < head + len {
        return None;
    }
    let fin = buf[0] & 0x80 != 0;
    let opcode = buf[0] & 0x0f;
    buf.advance(head);
    let payload = buf.split_to(len).freeze();
    Some(ServerFrame {
        fin,
        opcode,
        payload,
    })
}

/// A raw WebSocket client over HTTP/1.1.
struct Client {
    tcp: TcpStream,
    buf: BytesMut,
}

impl Client {
    /// Opens a session on `path`, with extra request header lines; returns the client and
    /// the 101's head.
    async fn open(addr: std::net::SocketAddr, path: &str, extra: &str) -> (Client, String) {
        let (client, head) = Client::request(addr, path, "13", extra).await;
        assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
        (client, head)
    }

    async fn request(
        addr: std::net::SocketAddr,
        path: &str,
        version: &str,
        extra: &str,
    ) -> (Client, String) {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: {version}\r\n{extra}\r\n"
        );
        tcp.write_all(request.as_bytes()).await.unwrap();
        let mut buf = BytesMut::new();
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let n = timeout(WAIT, tcp.read_buf(&mut buf))
                .await
                .unwrap()
                .unwrap();
            assert!(n > 0, "connection closed before the head: {buf:?}");
        };
        let head = String::from_utf8(buf.split_to(head_end).to_vec()).unwrap();
        (Client { tcp, buf }, head)
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.tcp.write_all(bytes).await.unwrap();
    }

    async fn next(&mut self) -> Option<ServerFrame> {
        loop {
            if let Some(frame) = take_frame(&mut self.buf) {
                return Some(frame);
            }
            let n = timeout(WAIT, self.tcp.read_buf(&mut self.buf))
                .await
                .expect("a frame in time")
                .unwrap_or(0);
            if n == 0 {
                return None;
            }
        }
    }

    /// Expects a close frame with `code`, then the end of the connection.
    async fn expect_close(&mut self, code: u16) {
        let frame = self.next().await.expect("a close frame");
        assert_eq!(frame.opcode, 0x8, "{frame:?}");
        assert_eq!(&frame.payload[..2], &code.to_be_bytes(), "{frame:?}");
        assert!(
            self.next().await.is_none(),
            "the server closes after its close"
        );
    }
}

async fn echo_server(limits: Limits) -> TestServer {
    TestServer::start(builder(limits).resource(Resource::websocket("/ws", echo))).await
}

#[tokio::test]
async fn rfc6455_examples_over_http11() {
    let server = echo_server(Limits::default()).await;
    let (mut c, head) = Client::open(server.addr, "/ws", "").await;
    // RFC 6455 1.3: the key of the example gives this accept value.
    assert!(
        head.to_ascii_lowercase()
            .contains("sec-websocket-accept: s3pplmbitxaq9kygzzhzrbk+xoo="),
        "{head}"
    );
    // RFC 6455 5.7: a masked "Hello" from a client...
    c.send(&[
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ])
    .await;
    // ...comes back as the unmasked "Hello".
    let frame = c.next().await.unwrap();
    assert_eq!((frame.fin, frame.opcode), (true, 1));
    assert_eq!(&frame.payload[..], b"Hello");
    // RFC 6455 5.7: the fragmented "Hel" + "lo", with a ping in between.
    c.send(&[0x01, 0x83, 0, 0, 0, 0, b'H', b'e', b'l']).await;
    c.send(&client_frame(0x9, b"ping!")).await;
    c.send(&[0x80, 0x82, 0, 0, 0, 0, b'l', b'o']).await;
    let pong = c.next().await.unwrap();
    assert_eq!((pong.opcode, &pong.payload[..]), (0xA, &b"ping!"[..]));
    let hello = c.next().await.unwrap();
    assert_eq!((hello.opcode, &hello.payload[..]), (1, &b"Hello"[..]));
    // A 256-byte and a 64 KiB binary message: the 16-bit and 64-bit length forms.
    for len in [256usize, 65536] {
        let data: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
        c.send(&client_frame(0x2, &data)).await;
        let frame = c.next().await.unwrap();
        assert_eq!(frame.opcode, 2);
        assert_eq!(&frame.payload[..], &data[..]);
    }
    let mut close = 1000u16.to_be_bytes().to_vec();
    close.extend_from_slice(b"done");
    c.send(&client_frame(0x8, &close)).await;
    c.expect_close(1000).await;
    server.stop().await;
}

#[tokio::test]
async fn broken_frames_close_with_their_codes_and_the_server_serves_on() {
    let limits = Limits {
        ws_max_message_size: 64 * 1024,
        ws_max_frame_size: 16 * 1024,
        ..Limits::default()
    };
    let server = echo_server(limits).await;
    let mut one_gib = vec![0x82, 0xff];
    one_gib.extend_from_slice(&(1u64 << 30).to_be_bytes());
    one_gib.extend_from_slice(&[1, 2, 3, 4]);
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("unmasked", b"\x81\x02hi".to_vec(), 1002),
        ("reserved opcode", client_frame(0x3, b""), 1002),
        (
            "rsv1 without extension",
            {
                let mut f = client_frame(0x1, b"x");
                f[0] |= 0x40;
                f
            },
            1002,
        ),
        ("1 GiB frame", one_gib, 1009),
        ("invalid utf-8", client_frame(0x1, b"ok \xff"), 1007),
        ("fragmented ping", client_frame_fin(false, 0x9, b""), 1002),
        ("orphan continuation", client_frame(0x0, b"x"), 1002),
        (
            "close with 1005",
            client_frame(0x8, &1005u16.to_be_bytes()),
            1002,
        ),
    ];
    for (name, bytes, code) in cases {
        let (mut c, _) = Client::open(server.addr, "/ws", "").await;
        c.send(&bytes).await;
        let frame = c.next().await.unwrap_or_else(|| panic!("{name}: no close"));
        assert_eq!(frame.opcode, 0x8, "{name}");
        assert_eq!(&frame.payload[..2], &code.to_be_bytes(), "{name}");
    }
    // A message whose fragments add up past the limit.
    let (mut c, _) = Client::open(server.addr, "/ws", "").await;
    let piece = vec![b'a'; 16 * 1024];
    c.send(&client_frame_fin(false, 0x1, &piece)).await;
    for _ in 0..4 {
        c.send(&client_frame_fin(false, 0x0, &piece)).await;
    }
    c.expect_close(1009).await;
    // The server is unharmed.
    let (mut c, _) = Client::open(server.addr, "/ws", "").await;
    c.send(&client_frame(0x1, b"still here")).await;
    assert_eq!(&c.next().await.unwrap().payload[..], b"still here");
    server.stop().await;
}

#[tokio::test]
async fn bad_openings_get_400_or_426() {
    let server = echo_server(Limits::default()).await;
    let (_, head) = Client::request(server.addr, "/ws", "8", "").await;
    assert!(head.starts_with("HTTP/1.1 426 "), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("sec-websocket-version: 13"),
        "{head}"
    );
    let raw = support::raw(
        server.addr,
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n",
        Duration::from_secs(2),
    )
    .await;
    assert_eq!(raw.status(), 400, "missing key: {}", raw.text());
    let raw = support::raw(
        server.addr,
        b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: c2hvcnQ=\r\nSec-WebSocket-Version: 13\r\n\r\n",
        Duration::from_secs(2),
    )
    .await;
    assert_eq!(raw.status(), 400, "short key: {}", raw.text());
    // A plain GET never reaches a WebSocket resource.
    let raw = support::raw(
        server.addr,
        b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        Duration::from_secs(2),
    )
    .await;
    assert_eq!(raw.status(), 404, "{}", raw.text());
    server.stop().await;
}

#[tokio::test]
async fn the_clients_first_offered_protocol_that_we_speak_is_agreed() {
    let server = TestServer::start(
        builder(Limits::default()).resource(
            Resource::websocket("/ws", |socket: WebSocket| async move {
                let protocol = socket.protocol().unwrap_or("none").to_owned();
                let _ = socket.send(Message::text(protocol)).await;
            })
            .subprotocols(["chat.v2", "chat.v1"]),
        ),
    )
    .await;
    let (mut c, head) = Client::open(
        server.addr,
        "/ws",
        "Sec-WebSocket-Protocol: mqtt, chat.v1\r\nSec-WebSocket-Protocol: chat.v2\r\n",
    )
    .await;
    assert!(
        head.to_ascii_lowercase()
            .contains("sec-websocket-protocol: chat.v1\r\n"),
        "{head}"
    );
    assert_eq!(&c.next().await.unwrap().payload[..], b"chat.v1");
    // The handler returned: the session closes normally.
    c.expect_close(1000).await;
    let (mut c, head) = Client::open(server.addr, "/ws", "Sec-WebSocket-Protocol: mqtt\r\n").await;
    assert!(!head.to_ascii_lowercase().contains("sec-websocket-protocol"));
    assert_eq!(&c.next().await.unwrap().payload[..], b"none");
    server.stop().await;
}

#[tokio::test]
async fn sessions_past_max_websockets_get_503() {
    let server = echo_server(Limits {
        max_websockets: 1,
        ..Limits::default()
    })
    .await;
    let (mut first, _) = Client::open(server.addr, "/ws", "").await;
    let (_, head) = Client::request(server.addr, "/ws", "13", "").await;
    assert!(head.starts_with("HTTP/1.1 503 "), "{head}");
    assert!(head.to_ascii_lowercase().contains("retry-after:"), "{head}");
    first.send(&client_frame(0x8, &1000u16.to_be_bytes())).await;
    first.expect_close(1000).await;
    // The slot is free again once the first session is over.
    let (mut again, _) = Client::open(server.addr, "/ws", "").await;
    again.send(&client_frame(0x1, b"in")).await;
    assert_eq!(&again.next().await.unwrap().payload[..], b"in");
    server.stop().await;
}

#[tokio::test]
async fn a_sender_in_another_task_pushes_until_the_peer_leaves() {
    let (stopped_tx, stopped_rx) = tokio::sync::oneshot::channel::<usize>();
    let stopped_tx = Arc::new(std::sync::Mutex::new(Some(stopped_tx)));
    let server = TestServer::start(builder(Limits::default()).resource(Resource::websocket(
        "/ticks",
        move |mut socket: WebSocket| {
            let stopped_tx = stopped_tx.clone();
            async move {
                let sender = socket.sender();
                let ticker = tokio::spawn(async move {
                    let mut sent = 0usize;
                    while sender
                        .send(Message::text(format!("tick {sent}")))
                        .await
                        .is_ok()
                    {
                        sent += 1;
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                    sent
                });
                // The handler waits for the peer to leave; the ticker does the talking.
                while socket.recv().await.is_some() {}
                let sent = ticker.await.unwrap_or(0);
                if let Some(tx) = stopped_tx.lock().unwrap().take() {
                    let _ = tx.send(sent);
                }
            }
        },
    )))
    .await;
    let (mut c, _) = Client::open(server.addr, "/ticks", "").await;
    for i in 0..5 {
        let frame = c.next().await.unwrap();
        assert_eq!(frame.payload, Bytes::from(format!("tick {i}")));
    }
    c.send(&client_frame(0x8, &1001u16.to_be_bytes())).await;
    // Ticks already queued may still arrive before the close echo.
    loop {
        let frame = c.next().await.expect("the close");
        if frame.opcode == 0x8 {
            assert_eq!(&frame.payload[..2], &1001u16.to_be_bytes());
            break;
        }
    }
    let sent = timeout(WAIT, stopped_rx).await.unwrap().unwrap();
    assert!(sent >= 5, "the ticker sent {sent}");
    server.stop().await;
}

#[tokio::test]
async fn a_peer_that_does_not_read_makes_sends_wait() {
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    let server = TestServer::start(builder(Limits::default()).resource(Resource::websocket(
        "/flood",
        move |socket: WebSocket| {
            let counter = counter.clone();
            async move {
                let chunk = Bytes::from(vec![0u8; 256 * 1024]);
                while socket.send(Message::Binary(chunk.clone())).await.is_ok() {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
            }
        },
    )))
    .await;
    let (c, _) = Client::open(server.addr, "/flood", "").await;
    // The client reads nothing. Sends stop once the socket buffers, the write buffer and
    // the handler's queue are full, and stay stopped.
    let mut last = 0;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = sent.load(Ordering::SeqCst);
        if now == last && now > 0 {
            break;
        }
        last = now;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let settled = sent.load(Ordering::SeqCst);
    assert_eq!(settled, last, "sends kept completing with nobody reading");
    // 16 queued messages, 64 KiB of write buffer, and what the kernel's socket buffers
    // take (a few MiB on loopback): far below the 5 s x unbounded a leak would give.
    assert!(
        settled < 16 + 64,
        "{settled} messages of 256 KiB were taken"
    );
    drop(c);
    server.stop().await;
}

#[tokio::test]
async fn a_silent_peer_is_pinged_then_closed_with_1001() {
    let server = echo_server(Limits {
        ws_ping_interval: Duration::from_millis(200),
        ws_idle_timeout: Duration::from_millis(800),
        ..Limits::default()
    })
    .await;
    let (mut c, _) = Client::open(server.addr, "/ws", "").await;
    let ping = c.next().await.unwrap();
    assert_eq!(ping.opcode, 0x9);
    // No pong: the idle timeout closes the session.
    let close = c.next().await.unwrap();
    assert_eq!(close.opcode, 0x8);
    assert_eq!(&close.payload[..2], &1001u16.to_be_bytes());
    // A peer that answers pings stays: pong, wait past the idle timeout, still served.
    let (mut c, _) = Client::open(server.addr, "/ws", "").await;
    for _ in 0..6 {
        let ping = c.next().await.unwrap();
        assert_eq!(ping.opcode, 0x9);
        c.send(&client_frame(0xA, &ping.payload)).await;
    }
    c.send(&client_frame(0x1, b"alive")).await;
    assert_eq!(&c.next().await.unwrap().payload[..], b"alive");
    server.stop().await;
}

#[tokio::test]
async fn stopping_the_server_closes_sessions_with_1001() {
    let server = echo_server(Limits::default()).await;
    let (mut c, _) = Client::open(server.addr, "/ws", "").await;
    c.send(&client_frame(0x1, b"before")).await;
    assert_eq!(&c.next().await.unwrap().payload[..], b"before");
    let stopping = tokio::spawn(server.stop());
    let close = c.next().await.unwrap();
    assert_eq!(close.opcode, 0x8);
    assert_eq!(&close.payload[..2], &1001u16.to_be_bytes());
    c.send(&client_frame(0x8, &1001u16.to_be_bytes())).await;
    assert!(c.next().await.is_none());
    timeout(WAIT, stopping).await.unwrap().unwrap();
}

#[tokio::test]
async fn a_panicking_handler_closes_with_1011() {
    let server = TestServer::start(builder(Limits::default()).resource(Resource::websocket(
        "/boom",
        |mut socket: WebSocket| async move {
            let _ = socket.recv().await;
            panic!("handler bug");
        },
    )))
    .await;
    let (mut c, _) = Client::open(server.addr, "/boom", "").await;
    c.send(&client_frame(0x1, b"go")).await;
    c.expect_close(1011).await;
    // Other sessions and requests go on.
    let (mut c, _) = Client::open(server.addr, "/boom", "").await;
    c.send(&client_frame(0x1, b"go")).await;
    c.expect_close(1011).await;
    server.stop().await;
}

// ---- RFC 8441: WebSocket over HTTP/2 ----

/// An `h2` client that has seen the server's SETTINGS_ENABLE_CONNECT_PROTOCOL = 1 (the
/// server's SETTINGS arrive after the handshake returns).
async fn extended_connect_client(addr: std::net::SocketAddr) -> h2::client::SendRequest<Bytes> {
    let client = h2_client(addr).await;
    let client = client.ready().await.unwrap();
    for _ in 0..200 {
        if client.is_extended_connect_protocol_enabled() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        client.is_extended_connect_protocol_enabled(),
        "SETTINGS_ENABLE_CONNECT_PROTOCOL = 1"
    );
    client
}

fn extended_connect(addr: std::net::SocketAddr, path: &str) -> http::Request<()> {
    let mut request = http::Request::builder()
        .method(http::Method::CONNECT)
        .uri(format!("http://{addr}{path}"))
        .header("sec-websocket-version", "13")
        .body(())
        .unwrap();
    request
        .extensions_mut()
        .insert(h2::ext::Protocol::from_static("websocket"));
    request
}

#[tokio::test]
async fn extended_connect_runs_a_session_on_an_h2_stream() {
    let server = echo_server(Limits::default()).await;
    let mut client = extended_connect_client(server.addr).await;
    let (response, mut send) = client
        .send_request(extended_connect(server.addr, "/ws"), false)
        .unwrap();
    let response = timeout(WAIT, response).await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("sec-websocket-accept").is_none());
    let mut body = response.into_body();
    let mut received = BytesMut::new();

    // A text message, then a 1 MiB binary message through 16 KiB windows.
    let big: Vec<u8> = (0..1 << 20).map(|i: usize| (i % 251) as u8).collect();
    for (opcode, payload) in [(0x1u8, b"Hello over h2".to_vec()), (0x2, big)] {
        let frame = client_frame(opcode, &payload);
        for piece in frame.chunks(8 * 1024) {
            send.reserve_capacity(piece.len());
            send.send_data(Bytes::copy_from_slice(piece), false)
                .unwrap();
        }
        let echoed = loop {
            if let Some(f) = take_frame(&mut received) {
                break f;
            }
            let chunk = timeout(WAIT, body.data()).await.unwrap().unwrap().unwrap();
            body.flow_control().release_capacity(chunk.len()).unwrap();
            received.put(chunk);
        };
        assert_eq!(echoed.opcode, opcode);
        assert!(echoed.payload == payload, "{} bytes differ", payload.len());
    }
    send.send_data(
        Bytes::from(client_frame(0x8, &1000u16.to_be_bytes())),
        false,
    )
    .unwrap();
    let close = loop {
        if let Some(f) = take_frame(&mut received) {
            break f;
        }
        match timeout(WAIT, body.data()).await.unwrap() {
            Some(chunk) => received.put(chunk.unwrap()),
            None => panic!("stream ended before the close frame"),
        }
    };
    assert_eq!(close.opcode, 0x8);
    assert_eq!(&close.payload[..2], &1000u16.to_be_bytes());
    // Then the server ends its side of the stream (possibly with an empty final DATA).
    while let Some(chunk) = timeout(WAIT, body.data()).await.unwrap() {
        assert!(chunk.unwrap().is_empty(), "nothing after the close frame");
    }
    server.stop().await;
}

#[tokio::test]
async fn extended_connect_is_checked_like_an_upgrade() {
    let server = echo_server(Limits::default()).await;
    let client = h2_client(server.addr).await;
    let mut client = client.ready().await.unwrap();
    let mut request = extended_connect(server.addr, "/ws");
    request
        .headers_mut()
        .insert("sec-websocket-version", "8".parse().unwrap());
    let (response, _send) = client.send_request(request, false).unwrap();
    let response = timeout(WAIT, response).await.unwrap().unwrap();
    assert_eq!(response.status(), 426);
    assert_eq!(response.headers()["sec-websocket-version"], "13");
    // No WebSocket resource on the path.
    let mut client = client.ready().await.unwrap();
    let (response, _send) = client
        .send_request(extended_connect(server.addr, "/nothing"), false)
        .unwrap();
    let response = timeout(WAIT, response).await.unwrap().unwrap();
    assert_eq!(response.status(), 404);
    server.stop().await;
}

#[tokio::test]
async fn stopping_the_server_closes_h2_sessions_with_1001() {
    let server = echo_server(Limits::default()).await;
    let mut client = extended_connect_client(server.addr).await;
    let (response, mut send) = client
        .send_request(extended_connect(server.addr, "/ws"), false)
        .unwrap();
    let response = timeout(WAIT, response).await.unwrap().unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    send.send_data(Bytes::from(client_frame(0x1, b"before")), false)
        .unwrap();
    let mut received = BytesMut::new();
    let mut next = async |received: &mut BytesMut| loop {
        if let Some(f) = take_frame(received) {
            return Some(f);
        }
        match timeout(WAIT, body.data()).await.unwrap() {
            Some(Ok(chunk)) => {
                let _ = body.flow_control().release_capacity(chunk.len());
                received.put(chunk);
            }
            _ => return None,
        }
    };
    assert_eq!(&next(&mut received).await.unwrap().payload[..], b"before");
    let stopping = tokio::spawn(server.stop());
    let close = next(&mut received).await.expect("a close frame");
    assert_eq!(close.opcode, 0x8);
    assert_eq!(&close.payload[..2], &1001u16.to_be_bytes());
    let _ = send.send_data(Bytes::from(client_frame(0x8, &1001u16.to_be_bytes())), true);
    // The server ends its side of the stream, then the connection, and stops.
    timeout(WAIT, stopping).await.unwrap().unwrap();
}
