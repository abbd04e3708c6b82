//! The statistics socket on `/`: the real sample, a tokio-tungstenite client, and traffic
//! made over HTTP/1.1, HTTP/2 and HTTPS while it listens. Each message must be one JSON
//! object with the original's keys and gust's, sent once per `--stats-interval-ms`, and the
//! figures must move with the traffic.

mod common;

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use common::{have_tool, Sample};

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const WAIT: Duration = Duration::from_secs(10);

/// Every key of a statistics message: the original's eight, then gust's.
const KEYS: [&str; 13] = [
    "bytes_recv",
    "bytes_sent",
    "ipv6_pkt_recv",
    "ipv6_pkt_sent",
    "ipv4_pkt_recv",
    "ipv4_pkt_sent",
    "tcp_bytes_recv",
    "tcp_bytes_sent",
    "connections_accepted",
    "connections_open",
    "websockets_open",
    "tls_handshakes",
    "uptime_ms",
];

async fn connect(sample: &Sample) -> Ws {
    let url = format!("ws://{}/", sample.socket_addr());
    let (ws, response) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(url))
        .await
        .expect("handshake in time")
        .expect("the statistics socket opens");
    assert_eq!(response.status(), 101);
    ws
}

/// The next statistics message, checked to hold every key as a number.
async fn next_stats(ws: &mut Ws) -> Value {
    loop {
        let message = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a message in time")
            .expect("the socket stays open")
            .expect("a well-formed message");
        let text = match message {
            Message::Text(text) => text,
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("expected a text message, got {other:?}"),
        };
        let value: Value = serde_json::from_str(&text).expect("valid JSON");
        for key in KEYS {
            assert!(value[key].is_u64(), "{key} in {text}");
        }
        for protocol in ["http/1.1", "h2", "websocket"] {
            assert!(value["requests"][protocol].is_u64(), "{protocol} in {text}");
        }
        return value;
    }
}

fn figure(value: &Value, key: &str) -> u64 {
    value[key].as_u64().unwrap_or(0)
}

fn requests(value: &Value, protocol: &str) -> u64 {
    value["requests"][protocol].as_u64().unwrap_or(0)
}

/// Reads messages until `done` holds for one, within 50 messages.
async fn stats_until(ws: &mut Ws, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let mut last = Value::Null;
    for _ in 0..50 {
        last = next_stats(ws).await;
        if done(&last) {
            return last;
        }
    }
    panic!("{what}: never seen; last message {last}");
}

async fn h2_gets(addr: std::net::SocketAddr, count: usize) {
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (client, connection) = h2::client::handshake(tcp).await.expect("h2 handshake");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    for _ in 0..count {
        let mut client = client.clone().ready().await.unwrap();
        let request = http::Request::get(format!("http://{addr}/uptime"))
            .body(())
            .unwrap();
        let (response, _) = client.send_request(request, true).unwrap();
        let response = tokio::time::timeout(WAIT, response).await.unwrap().unwrap();
        assert_eq!(response.status(), 200);
        let mut body = response.into_body();
        while let Some(chunk) = body.data().await {
            let chunk: Bytes = chunk.unwrap();
            let _ = body.flow_control().release_capacity(chunk.len());
        }
    }
}

#[tokio::test]
async fn statistics_arrive_every_interval_and_move_with_traffic() {
    let sample = Sample::start(&["--stats-interval-ms", "100"]);
    let mut ws = connect(&sample).await;
    let first = next_stats(&mut ws).await;
    assert!(requests(&first, "websocket") >= 1, "{first}");
    assert!(figure(&first, "websockets_open") >= 1, "{first}");
    assert!(figure(&first, "connections_open") >= 1, "{first}");
    assert_eq!(figure(&first, "tls_handshakes"), 0, "{first}");

    // One message per interval, by the server's own clock: consecutive uptimes are at
    // least the interval apart (a tokio interval never fires early) and always grow.
    let mut previous = figure(&first, "uptime_ms");
    for _ in 0..5 {
        let next = next_stats(&mut ws).await;
        let uptime = figure(&next, "uptime_ms");
        assert!(
            uptime >= previous + 99,
            "messages {previous} ms and {uptime} ms apart by less than the interval"
        );
        previous = uptime;
    }

    // Traffic over HTTP/1.1 and HTTP/2 shows up in the counters.
    let before = next_stats(&mut ws).await;
    let client = reqwest::Client::new();
    for _ in 0..5 {
        let status = client
            .get(sample.url("/uptime"))
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status, 200);
    }
    h2_gets(sample.socket_addr(), 3).await;
    let after = stats_until(&mut ws, "5 HTTP/1.1 and 3 h2 requests counted", |v| {
        requests(v, "http/1.1") >= requests(&before, "http/1.1") + 5
            && requests(v, "h2") >= requests(&before, "h2") + 3
    })
    .await;
    for key in [
        "bytes_recv",
        "bytes_sent",
        "tcp_bytes_recv",
        "tcp_bytes_sent",
        "connections_accepted",
    ] {
        assert!(
            figure(&after, key) > figure(&before, key),
            "{key} did not move: {before} then {after}"
        );
    }
    // On plain HTTP the socket bytes are the HTTP bytes.
    assert_eq!(
        figure(&after, "bytes_recv"),
        figure(&after, "tcp_bytes_recv")
    );

    // A second statistics client is counted, and its end too.
    let second = connect(&sample).await;
    stats_until(&mut ws, "two sessions open", |v| {
        figure(v, "websockets_open") >= 2
    })
    .await;
    drop(second);
    stats_until(&mut ws, "one session open again", |v| {
        figure(v, "websockets_open") == 1
    })
    .await;
}

#[tokio::test]
async fn https_traffic_counts_handshakes_and_h2_requests() {
    if !have_tool("curl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cert_dir = dir.path().join("certs");
    let sample = Sample::start_https(&[
        "--cert-dir",
        cert_dir.to_str().unwrap(),
        "--stats-interval-ms",
        "100",
    ]);
    let mut ws = connect(&sample).await;
    let before = next_stats(&mut ws).await;
    let port = sample.https_port();
    let ca = cert_dir.join("ca.pem");
    let resolve = format!("localhost:{port}:127.0.0.1");
    let url = format!("https://localhost:{port}/uptime");
    let started = Instant::now();
    let output = tokio::process::Command::new("curl")
        .args(["-sS", "--http2", "--max-time", "10", "--cacert"])
        .arg(&ca)
        .args(["--resolve", &resolve, &url, &url])
        .output()
        .await
        .expect("curl runs");
    assert!(output.status.success(), "{output:?}");
    assert!(started.elapsed() < Duration::from_secs(30));
    let after = stats_until(&mut ws, "a TLS handshake and 2 h2 requests", |v| {
        figure(v, "tls_handshakes") > figure(&before, "tls_handshakes")
            && requests(v, "h2") >= requests(&before, "h2") + 2
    })
    .await;
    // Over TLS the socket carried more than the HTTP bytes inside it (the handshake, the
    // records' overhead).
    let socket_in = figure(&after, "bytes_recv") - figure(&before, "bytes_recv");
    let http_in = figure(&after, "tcp_bytes_recv") - figure(&before, "tcp_bytes_recv");
    assert!(
        socket_in > http_in,
        "socket {socket_in} B, HTTP {http_in} B"
    );
}
