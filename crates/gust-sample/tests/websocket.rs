//! WebSocket at `/ws_echo` as clients nobody here wrote see it: Python's websocket-client
//! (the seed's own example), tokio-tungstenite, hand-built frames that break RFC 6455 on
//! purpose, floods, and the Autobahn TestSuite's cases (run by kosoku, which drives
//! Autobahn's own case files). The server is the real sample binary on 127.0.0.1:0.
//!
//! Checking this harness against another server: set `GUST_WS_TEST_ADDR=127.0.0.1:PORT` to a
//! WebSocket echo server that serves `/ws_echo` (over HTTP/1.1, and over HTTP/2 by RFC 8441
//! for the HTTP/2 test) and `GET /uptime` (loopback addresses only), and
//! `GUST_WS_TEST_PID=PID` to have its memory checked too. The tests then start no sample.
//!
//! kosoku 0.1 judges Autobahn's cases like the original runner (the same verdicts for all
//! 301 cases of sections 1 to 10 against a tungstenite echo server), except that it does
//! not fail a server that leaves the TCP connection open after the closing handshake
//! (Autobahn's "FAILED BY CLIENT"): the hand-built-frame tests here check that instead.

mod common;

use std::collections::BTreeMap;
use std::fmt;
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;

use common::{have_tool, hwm_kib, rss_kib, Sample};

/// How long one read or write may wait before the test calls the server stuck.
const IO_WAIT: Duration = Duration::from_secs(10);
/// The sample's default WebSocket message limit.
const MAX_MESSAGE: usize = 16 << 20;
/// What the server's resident set must stay under while it is attacked.
const RSS_LIMIT_KIB: u64 = 100 * 1024;

const FIN: u8 = 0x80;
const CONTINUATION: u8 = 0x0;
const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xA;

// ---------------------------------------------------------------------------------------
// The server under test

/// The sample started for one test, or the server named by `GUST_WS_TEST_ADDR`.
struct Target {
    sample: Option<Sample>,
    addr: SocketAddr,
    pid: Option<u32>,
}

impl Target {
    fn start() -> Target {
        match std::env::var("GUST_WS_TEST_ADDR") {
            Ok(addr) => {
                let addr: SocketAddr = addr
                    .parse()
                    .unwrap_or_else(|e| panic!("GUST_WS_TEST_ADDR={addr:?}: {e}"));
                // These tests flood their target: they may only ever point at this machine.
                assert!(
                    addr.ip().is_loopback(),
                    "GUST_WS_TEST_ADDR must be a loopback address, not {addr}"
                );
                let pid = std::env::var("GUST_WS_TEST_PID").ok().map(|pid| {
                    pid.parse()
                        .unwrap_or_else(|e| panic!("GUST_WS_TEST_PID={pid:?}: {e}"))
                });
                Target {
                    sample: None,
                    addr,
                    pid,
                }
            }
            Err(_) => {
                let sample = Sample::start(&[]);
                Target {
                    addr: sample.socket_addr(),
                    pid: Some(sample.pid()),
                    sample: Some(sample),
                }
            }
        }
    }

    fn ws_url(&self) -> String {
        format!("ws://{}/ws_echo", self.addr)
    }

    /// The server's resident set, now and at its peak, stayed under [`RSS_LIMIT_KIB`].
    fn assert_memory_bounded(&self, when: &str) {
        let Some(pid) = self.pid else {
            println!("{when}: no server pid (GUST_WS_TEST_PID), memory not checked");
            return;
        };
        let (rss, peak) = (rss_kib(pid), hwm_kib(pid));
        println!("{when}: server RSS {rss} KiB, peak {peak} KiB");
        assert!(
            peak < RSS_LIMIT_KIB,
            "{when}: the server's peak RSS is {peak} KiB, over {RSS_LIMIT_KIB} KiB"
        );
    }

    /// The server lives on after an attack: it is still running, a fresh connection gets its
    /// message echoed and a clean close, and `GET /uptime` answers 200.
    fn assert_unharmed(&mut self) {
        if let Some(sample) = self.sample.as_mut() {
            assert!(sample.is_running(), "gust-sample exited");
        }
        let mut ws = RawWs::connect(self.addr);
        ws.send(&client_frame(FIN | TEXT, b"still serving"));
        assert_eq!(ws.next_message(), Msg::Text(b"still serving".to_vec()));
        ws.close_cleanly();
        let uptime = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("reqwest client")
            .get(format!("http://{}/uptime", self.addr))
            .send()
            .expect("GET /uptime");
        assert_eq!(uptime.status(), 200, "GET /uptime after the attack");
    }
}

// ---------------------------------------------------------------------------------------
// Hand-built frames and a raw client

/// A masked client frame: `first` is FIN, RSV and opcode; the length takes the shortest form.
fn client_frame(first: u8, payload: &[u8]) -> Vec<u8> {
    static MASKS: AtomicU32 = AtomicU32::new(1);
    // Varied, never-zero masks: a server that ignores the mask reads garbage, not the text.
    let mask = MASKS
        .fetch_add(1, Ordering::Relaxed)
        .wrapping_mul(0x9E37_79B9)
        .to_be_bytes()
        .map(|b| b | 0x11);
    let mut frame = frame_header(first, payload.len() as u64, Some(mask));
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// A frame as no client may send it: without a mask.
fn unmasked_frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut frame = frame_header(first, payload.len() as u64, None);
    frame.extend_from_slice(payload);
    frame
}

/// A frame header alone, declaring `len` payload bytes (7-bit, 16-bit or 64-bit form).
fn frame_header(first: u8, len: u64, mask: Option<[u8; 4]>) -> Vec<u8> {
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    let mut header = vec![first];
    if len < 126 {
        header.push(mask_bit | len as u8);
    } else if len <= 0xFFFF {
        header.push(mask_bit | 126);
        header.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        header.push(mask_bit | 127);
        header.extend_from_slice(&len.to_be_bytes());
    }
    if let Some(mask) = mask {
        header.extend_from_slice(&mask);
    }
    header
}

fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut payload = code.to_be_bytes().to_vec();
    payload.extend_from_slice(reason.as_bytes());
    payload
}

/// A whole message (fragments joined) or a control frame, as the server sent it.
#[derive(PartialEq)]
enum Msg {
    Text(Vec<u8>),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(Option<u16>, Vec<u8>),
}

impl fmt::Debug for Msg {
    // Messages here run to megabytes: show their size and start, not every byte.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (kind, bytes) = match self {
            Msg::Text(b) => ("Text", b),
            Msg::Binary(b) => ("Binary", b),
            Msg::Ping(b) => ("Ping", b),
            Msg::Pong(b) => ("Pong", b),
            Msg::Close(code, reason) => return write!(f, "Close({code:?}, {:?})", lossy(reason)),
        };
        write!(
            f,
            "{kind}({} bytes: {:?})",
            bytes.len(),
            lossy(&bytes[..bytes.len().min(64)])
        )
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// How a read ended without data.
#[derive(Debug)]
enum End {
    Eof,
    Reset,
    Timeout,
}

/// Server frames parsed from received bytes, fragments joined into messages: shared by the
/// HTTP/1.1 client (bytes from the socket) and the HTTP/2 one (bytes from DATA frames).
#[derive(Default)]
struct Inbound {
    /// Received and not yet parsed.
    bytes: Vec<u8>,
    /// A fragmented message the server has started: its opcode and data so far.
    partial: Option<(u8, Vec<u8>)>,
}

impl Inbound {
    /// The next whole frame, (first byte, payload), if all of it is here. Server frames
    /// must be unmasked.
    fn frame(&mut self) -> Option<(u8, Vec<u8>)> {
        let bytes = &self.bytes;
        if bytes.len() < 2 {
            return None;
        }
        assert_eq!(bytes[1] & 0x80, 0, "the server masked a frame");
        let (len, at) = match bytes[1] & 0x7F {
            126 if bytes.len() >= 4 => (u16::from_be_bytes([bytes[2], bytes[3]]) as u64, 4),
            127 if bytes.len() >= 10 => {
                let mut len = [0u8; 8];
                len.copy_from_slice(&bytes[2..10]);
                (u64::from_be_bytes(len), 10)
            }
            126 | 127 => return None,
            len => (len as u64, 2),
        };
        assert!(
            len <= 2 * MAX_MESSAGE as u64,
            "the server declared a {len}-byte frame"
        );
        let end = at + len as usize;
        if bytes.len() < end {
            return None;
        }
        let frame = (bytes[0], bytes[at..end].to_vec());
        self.bytes.drain(..end);
        Some(frame)
    }

    /// The next control frame or whole message, if all of it is here.
    fn message(&mut self) -> Option<Msg> {
        loop {
            let (first, payload) = self.frame()?;
            assert_eq!(
                first & 0x70,
                0,
                "the server set RSV bits (no extension was agreed)"
            );
            let fin = first & FIN != 0;
            match first & 0x0F {
                opcode @ (CLOSE | PING | PONG) => {
                    assert!(fin, "the server fragmented a control frame");
                    assert!(payload.len() <= 125, "the server sent a long control frame");
                    return Some(match opcode {
                        PING => Msg::Ping(payload),
                        PONG => Msg::Pong(payload),
                        _ => {
                            assert_ne!(payload.len(), 1, "a one-byte close payload");
                            let code = (payload.len() >= 2)
                                .then(|| u16::from_be_bytes([payload[0], payload[1]]));
                            Msg::Close(code, payload.get(2..).unwrap_or_default().to_vec())
                        }
                    });
                }
                opcode @ (TEXT | BINARY) => {
                    assert!(
                        self.partial.is_none(),
                        "a new message inside a fragmented one"
                    );
                    self.partial = Some((opcode, payload));
                }
                CONTINUATION => {
                    let (_, data) = self
                        .partial
                        .as_mut()
                        .expect("the server sent a continuation with no message");
                    data.extend_from_slice(&payload);
                }
                other => panic!("the server sent reserved opcode {other:#x}"),
            }
            if fin {
                return Some(match self.partial.take() {
                    Some((TEXT, data)) => Msg::Text(data),
                    Some((_, data)) => Msg::Binary(data),
                    None => unreachable!("a data frame was just stored"),
                });
            }
        }
    }
}

/// A WebSocket client over a blocking socket that sends whatever bytes it is given and
/// checks what the server sends back byte by byte.
struct RawWs {
    stream: TcpStream,
    inbound: Inbound,
}

impl RawWs {
    /// Connects and upgrades `/ws_echo`, checking the 101 and the accept key.
    fn connect(addr: SocketAddr) -> RawWs {
        let stream = TcpStream::connect_timeout(&addr, IO_WAIT).expect("connect");
        stream
            .set_read_timeout(Some(IO_WAIT))
            .expect("read timeout");
        stream
            .set_write_timeout(Some(IO_WAIT))
            .expect("write timeout");
        stream.set_nodelay(true).expect("nodelay");
        let mut ws = RawWs {
            stream,
            inbound: Inbound::default(),
        };
        // The key and its accept value are RFC 6455's own example (section 1.3).
        ws.send(
            format!(
                "GET /ws_echo HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n\
                 Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
                 Sec-WebSocket-Version: 13\r\n\r\n"
            )
            .as_bytes(),
        );
        let head_len = loop {
            let received = &ws.inbound.bytes;
            if let Some(at) = received.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            assert!(received.len() < 16 * 1024, "no end of the response head");
            if let Err(end) = ws.fill() {
                panic!(
                    "no upgrade response ({end:?}): {:?}",
                    lossy(&ws.inbound.bytes)
                );
            }
        };
        let head = lossy(&ws.inbound.bytes[..head_len]);
        ws.inbound.bytes.drain(..head_len);
        assert!(head.starts_with("HTTP/1.1 101 "), "upgrade refused: {head}");
        let accept = head.lines().find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("sec-websocket-accept")
                .then(|| value.trim().to_owned())
        });
        assert_eq!(
            accept.as_deref(),
            Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
            "{head}"
        );
        ws
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write to the server");
    }

    /// Reads more bytes.
    fn fill(&mut self) -> Result<(), End> {
        let mut buf = [0u8; 64 * 1024];
        match self.stream.read(&mut buf) {
            Ok(0) => Err(End::Eof),
            Ok(n) => {
                self.inbound.bytes.extend_from_slice(&buf[..n]);
                Ok(())
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                Err(End::Timeout)
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
                ) =>
            {
                Err(End::Reset)
            }
            Err(e) => panic!("read from the server: {e}"),
        }
    }

    fn next_message(&mut self) -> Msg {
        self.try_next_message()
            .unwrap_or_else(|end| panic!("the connection ended before a message: {end:?}"))
    }

    /// The next control frame or whole message.
    fn try_next_message(&mut self) -> Result<Msg, End> {
        loop {
            if let Some(message) = self.inbound.message() {
                return Ok(message);
            }
            self.fill()?;
        }
    }

    /// The server's next frame is a close with `code`.
    fn expect_close(&mut self, code: u16, what: &str) {
        match self.try_next_message() {
            Ok(Msg::Close(got, reason)) => assert_eq!(
                got,
                Some(code),
                "{what}: close code (reason {:?})",
                lossy(&reason)
            ),
            Ok(other) => panic!("{what}: expected a close {code}, got {other:?}"),
            Err(end) => panic!("{what}: expected a close {code}, the connection ended: {end:?}"),
        }
    }

    /// After its close frame the server closes the TCP connection: the next read returns 0
    /// (or, with `allow_reset`, the connection is reset: the client was still sending).
    fn expect_tcp_closed(&mut self, allow_reset: bool, what: &str) {
        let after = self.inbound.bytes.len();
        assert_eq!(after, 0, "{what}: {after} bytes after the close frame");
        match self.fill() {
            Err(End::Eof) => {}
            Err(End::Reset) if allow_reset => {}
            Ok(()) => panic!("{what}: bytes after the close frame"),
            Err(end) => panic!("{what}: the TCP connection did not close: {end:?}"),
        }
    }

    /// The client closes with 1000; the server echoes the code and closes the connection.
    fn close_cleanly(&mut self) {
        self.send(&client_frame(FIN | CLOSE, &close_payload(1000, "done")));
        self.expect_close(1000, "clean close");
        self.expect_tcp_closed(false, "clean close");
    }
}

/// One connection: a message that works, then `frames`; the server must answer with a close
/// carrying `code`, close the TCP connection, and go on serving others.
fn assert_fails_with(target: &mut Target, what: &str, frames: &[Vec<u8>], code: u16) {
    let mut ws = RawWs::connect(target.addr);
    // The close must answer the bad frames, not something earlier.
    ws.send(&client_frame(FIN | TEXT, b"before"));
    assert_eq!(ws.next_message(), Msg::Text(b"before".to_vec()), "{what}");
    for frame in frames {
        ws.send(frame);
    }
    ws.expect_close(code, what);
    ws.expect_tcp_closed(false, what);
    target.assert_unharmed();
}

// ---------------------------------------------------------------------------------------
// Python's websocket-client: the seed's example

/// Whether python3 can import websocket-client; prints the SKIPPED line (or fails under
/// GUST_REQUIRE_INTEROP=1) when it cannot.
fn have_websocket_client() -> bool {
    if !have_tool("python3") {
        return false;
    }
    let found = Command::new("python3")
        .args([
            "-c",
            "import websocket; websocket.WebSocket; websocket.enableTrace",
        ])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        if std::env::var("GUST_REQUIRE_INTEROP").as_deref() == Ok("1") {
            panic!("python3 websocket-client not installed and GUST_REQUIRE_INTEROP=1");
        }
        println!("SKIPPED: python3 websocket-client not installed");
    }
    found
}

/// The seed's documented client, without its interactive loop, with the address as argv[1].
const SEED_CLIENT: &str = r#"
import sys
import websocket
websocket.enableTrace(True)
ws = websocket.WebSocket()
ws.connect(sys.argv[1], timeout=10)
ws.send("Hello, Server")
print(ws.recv())
ws.close()
"#;

#[test]
fn seed_python_client_gets_its_hello_echoed() {
    if !have_websocket_client() {
        return;
    }
    let target = Target::start();
    let out = Command::new("timeout")
        .args(["60", "python3", "-c", SEED_CLIENT, &target.ws_url()])
        .output()
        .expect("timeout runs");
    let (stdout, trace) = (lossy(&out.stdout), lossy(&out.stderr));
    assert!(out.status.success(), "{stdout}{trace}");
    assert_eq!(stdout.trim_end(), "Hello, Server", "{trace}");
    assert!(trace.contains("GET /ws_echo HTTP/1.1"), "{trace}");
    assert!(trace.contains("HTTP/1.1 101 "), "{trace}");
    assert!(
        trace.contains("++Rcv decoded: fin=1 opcode=1 data=b'Hello, Server'"),
        "{trace}"
    );
}

// ---------------------------------------------------------------------------------------
// tokio-tungstenite

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn tungstenite_connect(target: &Target) -> Ws {
    let (ws, response) =
        tokio::time::timeout(IO_WAIT, tokio_tungstenite::connect_async(target.ws_url()))
            .await
            .expect("handshake in time")
            .expect("handshake");
    assert_eq!(response.status(), 101);
    ws
}

async fn send(ws: &mut Ws, message: Message) {
    tokio::time::timeout(3 * IO_WAIT, ws.send(message))
        .await
        .expect("send in time")
        .expect("send");
}

async fn recv(ws: &mut Ws) -> Message {
    match tokio::time::timeout(3 * IO_WAIT, ws.next()).await {
        Ok(Some(Ok(message))) => message,
        Ok(Some(Err(e))) => panic!("read: {e}"),
        Ok(None) => panic!("the connection ended"),
        Err(_) => panic!("no message in time"),
    }
}

/// The server's close carries `code`, then the server ends the connection.
async fn expect_tungstenite_close(ws: &mut Ws, code: u16) {
    match recv(ws).await {
        Message::Close(Some(frame)) => assert_eq!(u16::from(frame.code), code, "{frame:?}"),
        other => panic!("expected a close {code}, got {other:?}"),
    }
    match tokio::time::timeout(IO_WAIT, ws.next()).await {
        Ok(None) => {}
        other => panic!("the connection should end after the close: {other:?}"),
    }
}

/// A message's kind and size: printing a 4 MiB message helps nobody.
fn describe(message: &Message) -> String {
    let kind = match message {
        Message::Text(_) => "text",
        Message::Binary(_) => "binary",
        Message::Ping(_) => "ping",
        Message::Pong(_) => "pong",
        Message::Close(_) => "close",
        Message::Frame(_) => "frame",
    };
    format!("{kind} of {} bytes", message.len())
}

/// A text whose characters take 1 to 4 bytes, so frame and read boundaries split them.
fn multibyte_text(bytes: usize) -> String {
    let mut text = String::with_capacity(bytes + 4);
    let pattern = ['a', 'é', '€', '𝄞', ' ', 'ß', '中'];
    let mut i = 0;
    while text.len() < bytes {
        text.push(pattern[i % pattern.len()]);
        i += 1;
    }
    text
}

#[tokio::test]
async fn tungstenite_echoes_text_binary_and_4_mib() {
    let target = Target::start();
    let mut ws = tungstenite_connect(&target).await;
    let binary: Vec<u8> = (0..=255u8).collect();
    let big_binary: Vec<u8> = (0..4u32 << 20).map(|i| (i % 251) as u8).collect();
    let big_text = multibyte_text(4 << 20);
    for message in [
        Message::text("Hello, Server"),
        Message::text(""),
        Message::binary(binary),
        Message::binary(Vec::new()),
        Message::binary(big_binary),
        Message::text(big_text),
    ] {
        send(&mut ws, message.clone()).await;
        let echoed = recv(&mut ws).await;
        assert!(
            echoed == message,
            "sent {}, echoed {}",
            describe(&message),
            describe(&echoed)
        );
    }
    send(&mut ws, Message::Close(None)).await;
    match recv(&mut ws).await {
        Message::Close(_) => {}
        other => panic!("expected a close, got {other:?}"),
    }
}

#[tokio::test]
async fn tungstenite_fragmented_message_with_a_ping_inside() {
    let target = Target::start();
    let mut ws = tungstenite_connect(&target).await;
    // 1000 fragments of 7 bytes cut through multi-byte characters: only the whole message
    // must be valid UTF-8.
    let text = multibyte_text(7000);
    let bytes = text.as_bytes();
    let chunks: Vec<&[u8]> = bytes.chunks(7).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let opcode = if i == 0 { Data::Text } else { Data::Continue };
        let last = i + 1 == chunks.len();
        let frame = Frame::message(chunk.to_vec(), OpCode::Data(opcode), last);
        send(&mut ws, Message::Frame(frame)).await;
        if i == 500 {
            // Control frames may come between the fragments of a message.
            send(&mut ws, Message::Ping(b"mid-message".to_vec().into())).await;
        }
    }
    let mut saw_pong = false;
    loop {
        match recv(&mut ws).await {
            Message::Pong(payload) => {
                assert_eq!(&payload[..], b"mid-message");
                saw_pong = true;
            }
            Message::Text(echoed) => {
                assert!(
                    echoed.as_str() == text,
                    "the echo differs from what was sent"
                );
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(saw_pong, "no pong for the ping between the fragments");
}

#[tokio::test]
async fn tungstenite_ping_gets_a_pong_with_the_same_payload() {
    let target = Target::start();
    let mut ws = tungstenite_connect(&target).await;
    let longest: Vec<u8> = (0..125u8).collect();
    for payload in [b"gust-ping-1".to_vec(), Vec::new(), longest] {
        send(&mut ws, Message::Ping(payload.clone().into())).await;
        match recv(&mut ws).await {
            Message::Pong(got) => assert_eq!(&got[..], &payload[..]),
            other => panic!("expected a pong, got {other:?}"),
        }
    }
    // Still an echo server after the pings.
    send(&mut ws, Message::text("after pings")).await;
    assert_eq!(recv(&mut ws).await, Message::text("after pings"));
}

#[tokio::test]
async fn tungstenite_close_handshake_echoes_the_code() {
    let target = Target::start();
    let mut ws = tungstenite_connect(&target).await;
    send(&mut ws, Message::text("one message first")).await;
    assert_eq!(recv(&mut ws).await, Message::text("one message first"));
    let close = CloseFrame {
        code: CloseCode::Normal,
        reason: "bye now".into(),
    };
    send(&mut ws, Message::Close(Some(close))).await;
    expect_tungstenite_close(&mut ws, 1000).await;
}

#[tokio::test]
async fn tungstenite_invalid_utf8_text_gets_1007() {
    let target = Target::start();
    let mut ws = tungstenite_connect(&target).await;
    let mut payload = vec![b'a'; 1024];
    payload[700] = 0xFF;
    // A raw frame: tungstenite checks the UTF-8 of a Message::Text, not of a frame.
    let frame = Frame::message(payload, OpCode::Data(Data::Text), true);
    send(&mut ws, Message::Frame(frame)).await;
    expect_tungstenite_close(&mut ws, 1007).await;
}

// ---------------------------------------------------------------------------------------
// HTTP/2: RFC 8441's extended CONNECT, with the h2 crate as the client

/// The next control frame or message on an RFC 8441 stream; None when the server ended the
/// stream.
async fn h2_next(recv: &mut h2::RecvStream, inbound: &mut Inbound) -> Option<Msg> {
    loop {
        if let Some(message) = inbound.message() {
            return Some(message);
        }
        match tokio::time::timeout(3 * IO_WAIT, recv.data()).await {
            Ok(Some(Ok(data))) => {
                let _ = recv.flow_control().release_capacity(data.len());
                inbound.bytes.extend_from_slice(&data);
            }
            Ok(None) => {
                let left = inbound.bytes.len();
                assert_eq!(left, 0, "the stream ended inside a frame");
                return None;
            }
            Ok(Some(Err(e))) => panic!("the stream failed: {e}"),
            Err(_) => panic!("no data in time"),
        }
    }
}

#[tokio::test]
async fn http2_extended_connect_echoes_and_closes() {
    let target = Target::start();
    let tcp = tokio::net::TcpStream::connect(target.addr)
        .await
        .expect("connect");
    let (client, connection) = tokio::time::timeout(IO_WAIT, h2::client::handshake(tcp))
        .await
        .expect("HTTP/2 handshake in time")
        .expect("HTTP/2 handshake (prior knowledge)");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut client = tokio::time::timeout(IO_WAIT, client.ready())
        .await
        .expect("ready in time")
        .expect("ready");
    // The server's first SETTINGS must enable extended CONNECT (RFC 8441 section 3).
    let deadline = Instant::now() + IO_WAIT;
    while !client.is_extended_connect_protocol_enabled() {
        assert!(
            Instant::now() < deadline,
            "the server did not send SETTINGS_ENABLE_CONNECT_PROTOCOL = 1"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut request = http::Request::builder()
        .method(http::Method::CONNECT)
        .uri(format!("http://{}/ws_echo", target.addr))
        .header("sec-websocket-version", "13")
        .body(())
        .expect("request");
    request
        .extensions_mut()
        .insert(h2::ext::Protocol::from_static("websocket"));
    let (response, mut send) = client.send_request(request, false).expect("CONNECT");
    let response = tokio::time::timeout(IO_WAIT, response)
        .await
        .expect("response in time")
        .expect("response");
    assert_eq!(response.status(), 200, "{response:?}");
    let mut recv = response.into_body();
    let mut inbound = Inbound::default();

    // The same frames as over HTTP/1.1, client frames masked, inside DATA frames. 100 KiB
    // is more than HTTP/2's initial window, so flow control works both ways.
    let big: Vec<u8> = (0..100 * 1024u32).map(|i| (i % 249) as u8).collect();
    for (frame, expected) in [
        (
            client_frame(FIN | TEXT, b"Hello over HTTP/2"),
            Msg::Text(b"Hello over HTTP/2".to_vec()),
        ),
        (client_frame(FIN | BINARY, &big), Msg::Binary(big.clone())),
        (
            client_frame(FIN | PING, b"h2 ping"),
            Msg::Pong(b"h2 ping".to_vec()),
        ),
    ] {
        send.send_data(frame.into(), false).expect("send DATA");
        assert_eq!(h2_next(&mut recv, &mut inbound).await, Some(expected));
    }
    send.send_data(
        client_frame(FIN | CLOSE, &close_payload(1000, "bye")).into(),
        false,
    )
    .expect("send the close");
    match h2_next(&mut recv, &mut inbound).await {
        Some(Msg::Close(code, _)) => assert_eq!(code, Some(1000)),
        other => panic!("expected a close 1000, got {other:?}"),
    }
    // The client ends its side too. The server may already have reset the stream with
    // NO_ERROR after ending its own side (RFC 9113 section 8.1), so this may fail.
    let _ = send.send_data(Vec::new().into(), true);
    // After the closing handshake the server ends its side of the stream (END_STREAM, the
    // TCP FIN of RFC 8441 section 5).
    assert_eq!(h2_next(&mut recv, &mut inbound).await, None);
}

// ---------------------------------------------------------------------------------------
// Hand-built frames that break the rules

#[test]
fn unmasked_client_frame_gets_1002() {
    let mut target = Target::start();
    let frames = [unmasked_frame(FIN | TEXT, b"no mask")];
    assert_fails_with(&mut target, "unmasked text frame", &frames, 1002);
}

#[test]
fn invalid_utf8_text_gets_1007() {
    let mut target = Target::start();
    let frames = [client_frame(FIN | TEXT, b"caf\xC3\x28 au lait")];
    assert_fails_with(&mut target, "invalid UTF-8 in a text frame", &frames, 1007);
}

#[test]
fn invalid_utf8_across_fragments_gets_1007() {
    let mut target = Target::start();
    // Each fragment alone could be part of valid UTF-8 (the first ends in the lead byte of
    // a two-byte character); together they are not.
    let frames = [
        client_frame(TEXT, b"caf\xC3"),
        client_frame(FIN | CONTINUATION, b"\x28 au lait"),
    ];
    assert_fails_with(&mut target, "invalid UTF-8 across fragments", &frames, 1007);
}

#[test]
fn reserved_opcodes_get_1002() {
    let mut target = Target::start();
    for opcode in [0x3, 0xB] {
        let frames = [client_frame(FIN | opcode, b"reserved")];
        let what = format!("reserved opcode {opcode:#x}");
        assert_fails_with(&mut target, &what, &frames, 1002);
    }
}

#[test]
fn rsv_bits_without_an_extension_get_1002() {
    let mut target = Target::start();
    for rsv in [0x40, 0x20, 0x10] {
        let frames = [client_frame(FIN | rsv | TEXT, b"rsv")];
        assert_fails_with(&mut target, &format!("RSV bits {rsv:#x}"), &frames, 1002);
    }
}

#[test]
fn control_frame_with_126_bytes_gets_1002() {
    let mut target = Target::start();
    let frames = [client_frame(FIN | PING, &[b'p'; 126])];
    assert_fails_with(&mut target, "ping with 126 bytes", &frames, 1002);
}

#[test]
fn fragmented_ping_gets_1002() {
    let mut target = Target::start();
    let frames = [
        client_frame(PING, b"first half"),
        client_frame(FIN | CONTINUATION, b"second half"),
    ];
    assert_fails_with(&mut target, "fragmented ping", &frames, 1002);
}

#[test]
fn continuation_without_a_message_gets_1002() {
    let mut target = Target::start();
    let frames = [client_frame(FIN | CONTINUATION, b"orphan")];
    assert_fails_with(&mut target, "continuation with no message", &frames, 1002);
}

/// VmPeak (peak virtual memory) of `pid`, in KiB: a reservation that was never touched
/// shows here and not in the resident set.
fn vm_peak_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmPeak:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmPeak in /proc/PID/status")
}

#[test]
fn gigabyte_frame_header_gets_1009_before_any_payload() {
    let mut target = Target::start();
    let mut ws = RawWs::connect(target.addr);
    ws.send(&client_frame(FIN | TEXT, b"before"));
    assert_eq!(ws.next_message(), Msg::Text(b"before".to_vec()));
    let vm_before = target.pid.map(vm_peak_kib);
    // The header alone, in the 64-bit length form: the server must refuse on the length,
    // neither waiting for the payload nor making room for it.
    ws.send(&frame_header(FIN | BINARY, 1 << 30, Some([1, 2, 3, 4])));
    ws.expect_close(1009, "1 GiB frame header");
    ws.expect_tcp_closed(false, "1 GiB frame header");
    target.assert_memory_bounded("after a 1 GiB frame header");
    if let (Some(pid), Some(before)) = (target.pid, vm_before) {
        let grown = vm_peak_kib(pid).saturating_sub(before);
        println!("VmPeak grew by {grown} KiB");
        assert!(
            grown < 1 << 20,
            "the server reserved {grown} KiB of address space for a declared 1 GiB payload"
        );
    }
    target.assert_unharmed();
}

/// A ping payload of 125 bytes that says which ping it is.
fn ping_payload(index: usize) -> Vec<u8> {
    let mut payload = format!("{index:08}:").into_bytes();
    payload.extend((0..125 - payload.len()).map(|i| b'a' + ((index + i) % 26) as u8));
    payload
}

/// Writes `frames` from another thread, counting what went out; stops at the first error
/// (the server closed) or when `stop` is set. Each write waits at most 30 s.
fn spawn_writer(
    stream: &TcpStream,
    frames: Vec<Vec<u8>>,
    written: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<Result<(), std::io::Error>> {
    let mut stream = stream.try_clone().expect("clone the socket");
    stream
        .set_write_timeout(Some(3 * IO_WAIT))
        .expect("write timeout");
    std::thread::spawn(move || {
        for frame in frames {
            if stop.load(Ordering::Relaxed) {
                break;
            }
            stream.write_all(&frame)?;
            written.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    })
}

#[test]
fn ping_flood_from_a_client_that_does_not_read() {
    const PINGS: usize = 50_000;
    let mut target = Target::start();
    let mut ws = RawWs::connect(target.addr);
    // In batches of 100 pings per write: as fast as the socket takes them.
    let batches: Vec<Vec<u8>> = (0..PINGS)
        .collect::<Vec<_>>()
        .chunks(100)
        .map(|batch| {
            batch
                .iter()
                .flat_map(|&i| client_frame(FIN | PING, &ping_payload(i)))
                .collect()
        })
        .collect();
    let written = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = spawn_writer(&ws.stream, batches, written.clone(), stop.clone());

    // First part: no reads. Wait until the writer is done or the server pushes back (no
    // progress for 2 s), at most 60 s.
    let started = Instant::now();
    let (mut last, mut last_change) = (0, Instant::now());
    while !writer.is_finished() && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(100));
        let now = written.load(Ordering::Relaxed);
        if now != last {
            (last, last_change) = (now, Instant::now());
        } else if last_change.elapsed() > Duration::from_secs(2) {
            break;
        }
    }
    let unread = written.load(Ordering::Relaxed) * 100;
    println!("ping flood: {unread} of {PINGS} pings written before the first read");
    target.assert_memory_bounded("ping flood, client not reading");
    // A second client is served meanwhile.
    target.assert_unharmed();

    // Second part: read. Pongs answer pings in order with their payload (a server may skip
    // some, RFC 6455 5.5.3) until the last ping's, or the server closes.
    let deadline = Instant::now() + Duration::from_secs(120);
    let (mut pongs, mut next) = (0usize, 0usize);
    let closed_with = loop {
        assert!(
            Instant::now() < deadline,
            "ping flood: {pongs} pongs in 120 s, the last for ping {next}"
        );
        match ws.try_next_message() {
            Ok(Msg::Pong(payload)) => {
                let index: usize = payload
                    .get(..8)
                    .and_then(|digits| lossy(digits).parse().ok())
                    .unwrap_or_else(|| {
                        panic!("a pong with a payload no ping had: {:?}", lossy(&payload))
                    });
                assert!(
                    index >= next && index < PINGS,
                    "pong for ping {index} out of order"
                );
                assert_eq!(
                    payload,
                    ping_payload(index),
                    "pong payload for ping {index}"
                );
                pongs += 1;
                next = index + 1;
                if next == PINGS {
                    break None;
                }
            }
            Ok(Msg::Close(code, reason)) => break Some((code, reason)),
            Ok(other) => panic!("ping flood: unexpected {other:?}"),
            Err(End::Timeout) => {}
            Err(end) => panic!("ping flood: connection ended without a close: {end:?}"),
        }
    };
    stop.store(true, Ordering::Relaxed);
    let write_result = writer.join().expect("the writer thread");
    println!(
        "ping flood: {pongs} pongs received; server close: {:?}",
        closed_with
            .as_ref()
            .map(|(code, reason)| (code, lossy(reason)))
    );
    match closed_with {
        None => {
            write_result.expect("all pings written");
            ws.close_cleanly();
        }
        Some(_) => ws.expect_tcp_closed(true, "ping flood"),
    }
    target.assert_memory_bounded("after the ping flood");
    target.assert_unharmed();
}

#[test]
fn fragment_flood_under_the_limit_is_served_and_over_it_gets_1009() {
    const FRAGMENTS: usize = 100_000;
    let mut target = Target::start();

    // A text message of 100,001 one-byte fragments: within every limit, so it is echoed.
    let mut ws = RawWs::connect(target.addr);
    let mut flood = client_frame(TEXT, b"<");
    for i in 0..FRAGMENTS {
        flood.extend(client_frame(CONTINUATION, &[b'a' + (i % 26) as u8]));
    }
    flood.extend(client_frame(FIN | CONTINUATION, b">"));
    let expected: Vec<u8> = std::iter::once(b'<')
        .chain((0..FRAGMENTS).map(|i| b'a' + (i % 26) as u8))
        .chain(std::iter::once(b'>'))
        .collect();
    ws.send(&flood);
    assert_eq!(ws.next_message(), Msg::Text(expected));
    ws.close_cleanly();
    target.assert_memory_bounded("after 100,000 one-byte fragments");
    target.assert_unharmed();

    // Fragments of 64 KiB that add up past 16 MiB: closed with 1009 once over the limit.
    let mut ws = RawWs::connect(target.addr);
    let chunk = vec![b'x'; 64 * 1024];
    let fragments = MAX_MESSAGE / chunk.len() + 16;
    let frames: Vec<Vec<u8>> = (0..fragments)
        .map(|i| client_frame(if i == 0 { TEXT } else { CONTINUATION }, &chunk))
        .collect();
    let written = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let writer = spawn_writer(&ws.stream, frames, written.clone(), stop.clone());
    // Reading while the writer writes: the close comes while the client is still sending.
    ws.stream
        .set_read_timeout(Some(6 * IO_WAIT))
        .expect("read timeout");
    ws.expect_close(1009, "fragments past 16 MiB");
    stop.store(true, Ordering::Relaxed);
    ws.expect_tcp_closed(true, "fragments past 16 MiB");
    // The writer stops at a write error once the server has closed.
    let _ = writer.join().expect("the writer thread");
    // The fragment that crosses the limit starts only after the 256 before it (16 MiB, which
    // is allowed) were written: a server that closes at the right fragment has seen them all.
    let sent = written.load(Ordering::Relaxed);
    println!("fragment flood: {sent} of {fragments} 64 KiB fragments written");
    assert!(
        sent >= MAX_MESSAGE / chunk.len(),
        "closed with 1009 after only {sent} fragments of {} bytes",
        chunk.len()
    );
    target.assert_memory_bounded("after fragments past 16 MiB");
    target.assert_unharmed();
}

// ---------------------------------------------------------------------------------------
// The Autobahn TestSuite

/// Autobahn's sections 1 to 10 and their case counts (it has no section 8).
const AUTOBAHN_CORE: &[(&str, usize)] = &[
    ("1", 16),
    ("2", 11),
    ("3", 7),
    ("4", 10),
    ("5", 20),
    ("6", 145),
    ("7", 37),
    ("9", 54),
    ("10", 1),
];

/// Sections 12 and 13: permessage-deflate.
const AUTOBAHN_DEFLATE: &[(&str, usize)] = &[("12", 90), ("13", 126)];

/// Runs Autobahn's cases of `sections` against `/ws_echo` with kosoku, at most `limit`
/// seconds, and checks every verdict in its report.
fn run_autobahn(name: &str, sections: &[(&str, usize)], limit: u64) {
    if !have_tool("kosoku") {
        return;
    }
    let target = Target::start();
    let outdir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("autobahn")
        .join(name);
    let _ = std::fs::remove_dir_all(&outdir);
    let mut args = vec![
        "--kill-after=10".to_owned(),
        limit.to_string(),
        "kosoku".into(),
    ];
    for (section, _) in sections {
        args.extend(["-i".to_owned(), format!("{section}.*")]);
    }
    // Two cases at a time: one per core of the CI machine; the sections still take their
    // time in a debug build (12 and 13 compress megabytes).
    args.extend([
        "-p".to_owned(),
        "2".to_owned(),
        "-o".to_owned(),
        outdir.display().to_string(),
        target.ws_url(),
    ]);
    let started = Instant::now();
    let out = Command::new("timeout")
        .args(&args)
        .output()
        .expect("timeout runs");
    let took = started.elapsed();
    let output = format!("{}{}", lossy(&out.stdout), lossy(&out.stderr));
    // kosoku exits 1 when a case fails and writes its report either way: the report decides.
    let index_path = outdir.join("index.json");
    let index = std::fs::read_to_string(&index_path)
        .unwrap_or_else(|e| panic!("no report {}: {e}\n{output}", index_path.display()));
    let index: serde_json::Value = serde_json::from_str(&index).expect("index.json is JSON");
    let agents = index.as_object().expect("index.json maps agents");
    assert_eq!(
        agents.len(),
        1,
        "one server under test: {:?}",
        agents.keys()
    );
    let cases = agents
        .values()
        .next()
        .and_then(|cases| cases.as_object())
        .expect("the agent's cases");

    // Every case ran: an empty or partial run cannot pass.
    let expected: usize = sections.iter().map(|(_, n)| n).sum();
    for (section, count) in sections {
        let ran = cases
            .keys()
            .filter(|id| id.split('.').next() == Some(section))
            .count();
        assert_eq!(ran, *count, "cases run in section {section}");
    }
    assert_eq!(cases.len(), expected, "cases run");

    let passing = |verdict: &str| matches!(verdict, "OK" | "NON-STRICT" | "INFORMATIONAL");
    // Passing cases by their behavior verdict; a case fails on either verdict.
    let mut passed: BTreeMap<&str, usize> = BTreeMap::new();
    let mut closes: BTreeMap<&str, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for (id, case) in cases {
        let behavior = case["behavior"].as_str().unwrap_or("(none)");
        let close = case["behaviorClose"].as_str().unwrap_or("(none)");
        *closes.entry(close).or_default() += 1;
        if passing(behavior) && passing(close) {
            *passed.entry(behavior).or_default() += 1;
            continue;
        }
        let detail = case["reportfile"]
            .as_str()
            .and_then(|file| std::fs::read_to_string(outdir.join(file)).ok())
            .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
            .map(|c| {
                format!(
                    "{} / {} (expected: {})",
                    c["result"], c["resultClose"], c["expectation"]
                )
            })
            .unwrap_or_default();
        failures.push(format!(
            "{id}: behavior {behavior}, close {close}, remote close code {}: {detail}",
            case["remoteCloseCode"]
        ));
    }
    let count = |verdict: &str| passed.get(verdict).copied().unwrap_or(0);
    println!(
        "autobahn: {} cases, OK {}, NON-STRICT {}, INFORMATIONAL {}, FAILED {}",
        cases.len(),
        count("OK"),
        count("NON-STRICT"),
        count("INFORMATIONAL"),
        failures.len()
    );
    println!(
        "autobahn: closing verdicts {closes:?}; {took:.1?}; report in {}",
        outdir.display()
    );
    assert!(
        failures.is_empty(),
        "{} Autobahn cases failed (report in {}), the first 50:\n{}",
        failures.len(),
        outdir.display(),
        failures[..failures.len().min(50)].join("\n")
    );
    assert!(out.status.success(), "kosoku: {}\n{output}", out.status);
}

#[test]
fn autobahn_sections_1_to_10() {
    run_autobahn("sections-1-10", AUTOBAHN_CORE, 900);
}

/// permessage-deflate (sections 12 and 13) takes minutes: only with
/// GUST_AUTOBAHN_COMPRESSION=1.
#[test]
fn autobahn_permessage_deflate_sections_12_13() {
    if std::env::var("GUST_AUTOBAHN_COMPRESSION").as_deref() != Ok("1") {
        println!("SKIPPED: set GUST_AUTOBAHN_COMPRESSION=1 to run Autobahn sections 12 and 13");
        return;
    }
    run_autobahn("sections-12-13", AUTOBAHN_DEFLATE, 1800);
}
