//! WebSocket sessions past `max_websockets`. The frame-level floods (ping flood from a
//! client that does not read, 100,000 one-byte fragments, a 1 GiB frame header, messages
//! past the limit) are in `tests/websocket.rs`.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};

use crate::h1::GRACE;
use crate::harness::{connect, header, many, tally_answers, Outcome, Target};

/// RFC 6455 section 1.3's example key.
const OPENING: &[u8] = b"GET /ws_echo HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\
    Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
    Sec-WebSocket-Version: 13\r\n\r\n";

/// A masked client frame with `payload` (under 126 bytes).
fn client_frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x37, 0xfa, 0x21, 0x3d];
    let mut frame = vec![first, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// Opens a session on `/ws_echo`: Ok with the stream after the 101, or Err with the status
/// and head of the refusal.
async fn open(stream: &mut TcpStream) -> Result<(), (u16, String)> {
    stream.write_all(OPENING).await.expect("opening request");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    // Byte by byte up to the end of the head: what follows a 101 is the session's.
    while !head.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte).await {
            Ok(1) => head.push(byte[0]),
            _ => return Err((0, String::from_utf8_lossy(&head).into_owned())),
        }
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    if text.starts_with("HTTP/1.1 101 ") {
        return Ok(());
    }
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    Err((status, text))
}

/// One message echoed on an open session.
async fn echo_once(stream: &mut TcpStream) {
    stream
        .write_all(&client_frame(0x81, b"hello"))
        .await
        .expect("a text frame");
    let mut echo = [0u8; 7];
    timeout(GRACE, stream.read_exact(&mut echo))
        .await
        .expect("the echo in time")
        .expect("the echo");
    assert_eq!(&echo, b"\x81\x05hello");
}

/// `max_websockets` sessions, each echoing a message and staying open, then more openings:
/// each of those must get 503 with Retry-After at once, while the sessions and the control
/// client go on. Once the sessions close, the slots are free again.
pub(crate) async fn sessions_past_the_limit(
    target: Target,
    max_websockets: usize,
    extra: usize,
) -> Outcome {
    let addr = target.addr;
    let started = Instant::now();
    let sessions = many(max_websockets, move |_| async move {
        let mut stream = connect(addr, None).await;
        open(&mut stream).await.unwrap_or_else(|(status, head)| {
            panic!("session refused within the limit: {status} {head}")
        });
        echo_once(&mut stream).await;
        stream
    })
    .await;
    let refused = many(extra, move |_| async move {
        let mut stream = connect(addr, None).await;
        match open(&mut stream).await {
            Ok(()) => "opened past the limit".to_owned(),
            Err((503, head)) => match header(&head, "retry-after") {
                Some(_) => "503 with Retry-After".to_owned(),
                None => "503 without Retry-After".to_owned(),
            },
            Err((status, _)) => format!("{status}"),
        }
    })
    .await;
    for answer in &refused {
        assert_eq!(answer, "503 with Retry-After", "sessions past the limit");
    }
    // The sessions still echo.
    let mut sessions = sessions;
    for stream in sessions.iter_mut().take(8) {
        echo_once(stream).await;
    }
    // Closing the sessions frees their slots: a new session opens.
    for mut stream in sessions {
        let _ = stream
            .write_all(&client_frame(0x88, &1000u16.to_be_bytes()))
            .await;
    }
    let reopened = timeout(GRACE, async {
        loop {
            let mut stream = connect(addr, None).await;
            if open(&mut stream).await.is_ok() {
                echo_once(&mut stream).await;
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(reopened.is_ok(), "no session opens once the others closed");
    Outcome {
        connections: max_websockets + extra,
        answer: format!(
            "{max_websockets} sessions open; {}; a new session opens once they close",
            tally_answers(refused)
        ),
        freed_after: Some(started.elapsed()),
    }
}

/// Large messages from sessions that never read: every session on `/ws_echo` sends
/// messages of nearly `max_message` bytes as fast as the server takes them, and reads
/// nothing. The echo of the first backs up into the server, which then stops reading that
/// session: each holds about one message (being echoed) and the frame it was reading, not
/// everything its client sends. The server's memory for WebSocket is then bounded by
/// `max_websockets` x about twice `ws_max_message_size`.
pub(crate) async fn large_messages_unread(
    target: Target,
    sessions: usize,
    max_message: usize,
) -> Outcome {
    let addr = target.addr;
    let size = max_message - 1024;
    let started = Instant::now();
    let held = many(sessions, move |_| async move {
        let mut stream = connect(addr, Some(4096)).await;
        open(&mut stream)
            .await
            .unwrap_or_else(|(status, head)| panic!("session refused: {status} {head}"));
        // A binary frame, masked with a zero key: the payload goes as it is.
        let mut frame = vec![0x82, 0x80 | 127];
        frame.extend_from_slice(&(size as u64).to_be_bytes());
        frame.extend_from_slice(&[0, 0, 0, 0]);
        frame.resize(frame.len() + size, 0);
        let mut sent = 0;
        // Until the server stops taking them (or, bounded, after 20).
        while sent < 20 {
            match timeout(Duration::from_secs(2), stream.write_all(&frame)).await {
                Ok(Ok(())) => sent += 1,
                _ => break,
            }
        }
        (stream, sent)
    })
    .await;
    let most = held.iter().map(|(_, sent)| *sent).max().unwrap_or(0);
    assert!(
        most < 20,
        "a session that reads nothing had 20 messages of {size} bytes taken"
    );
    let answer = format!(
        "{sessions} sessions: the server stopped reading each after {}; sent {} MiB each at most",
        tally_answers(held.iter().map(|(_, sent)| format!("{sent} messages"))),
        most * size / (1 << 20)
    );
    drop(held);
    Outcome {
        connections: sessions,
        answer,
        freed_after: Some(started.elapsed()),
    }
}
