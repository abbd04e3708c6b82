//! The idle clock of an HTTP/2 connection: it runs while the connection has no stream,
//! whatever else the peer sends, and stops while requests come and go. A connection slot
//! cannot be held by PINGs, SETTINGS or the bytes of a frame that never ends.

mod support;
use support::h2raw::*;
use support::*;

use std::time::{Duration, Instant};

use gust::Limits;
use tokio::time::sleep;

/// The inactivity timeout of these tests.
const IDLE: Duration = Duration::from_secs(1);
/// How long the tests go on: several idle timeouts.
const LONG: Duration = Duration::from_secs(4);

fn limits() -> Limits {
    Limits {
        inactivity_timeout: IDLE,
        ..Limits::default()
    }
}

/// Reads frames until a GOAWAY (its code is returned) or until `within` passes (None).
async fn goaway_within(c: &mut H2Raw, within: Duration) -> Option<u32> {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let f = c.read_frame_within(left).await?;
        if f.kind == GOAWAY {
            return Some(f.error_code());
        }
    }
}

#[tokio::test]
async fn pings_do_not_keep_an_idle_connection_open() {
    let server = TestServer::start(basic(limits())).await;
    let mut c = H2Raw::handshake(server.addr).await;
    let started = Instant::now();
    let mut goaway = None;
    while started.elapsed() < LONG && goaway.is_none() {
        if !c.try_send(&frame(PING, 0, 0, b"stillup!")).await {
            break;
        }
        goaway = goaway_within(&mut c, Duration::from_millis(200)).await;
    }
    assert_eq!(
        goaway,
        Some(NO_ERROR),
        "no GOAWAY while pinging for {LONG:?}"
    );
    assert!(
        c.closed().await,
        "the connection stays open after its GOAWAY"
    );
    server.stop().await;
}

#[tokio::test]
async fn a_frame_that_never_ends_does_not_keep_a_connection_open() {
    let server = TestServer::start(basic(limits())).await;
    let mut c = H2Raw::handshake(server.addr).await;
    // A HEADERS frame announcing 16 KiB, then its payload one byte at a time.
    c.send(&[0, 0x40, 0, HEADERS, END_HEADERS, 0, 0, 0, 1])
        .await;
    let started = Instant::now();
    let mut goaway = None;
    while started.elapsed() < LONG && goaway.is_none() {
        if !c.try_send(&[0]).await {
            break;
        }
        goaway = goaway_within(&mut c, Duration::from_millis(200)).await;
    }
    assert_eq!(
        goaway,
        Some(NO_ERROR),
        "no GOAWAY while dribbling for {LONG:?}"
    );
    assert!(
        c.closed().await,
        "the connection stays open after its GOAWAY"
    );
    server.stop().await;
}

#[tokio::test]
async fn requests_keep_a_connection_open_past_the_idle_timeout() {
    let server = TestServer::start(basic(limits())).await;
    let mut c = H2Raw::handshake(server.addr).await;
    let started = Instant::now();
    let mut stream = 1;
    // A request every half idle timeout, for several idle timeouts: all are answered on
    // the same connection.
    while started.elapsed() < LONG {
        c.request(stream, "GET", "/hello", true).await;
        let response = c.response(stream).await;
        assert_eq!(response.status, 200, "request {stream}: {response:?}");
        stream += 2;
        sleep(IDLE / 2).await;
    }
    // Then, with no request, the idle clock runs out.
    assert_eq!(goaway_within(&mut c, IDLE * 4).await, Some(NO_ERROR));
    server.stop().await;
}

/// A full listener closes an idle HTTP/2 connection (GOAWAY NO_ERROR) to make room for a
/// new client, which is served at once.
#[tokio::test]
async fn a_full_server_closes_an_idle_http2_connection_for_a_new_client() {
    let limits = Limits {
        max_clients: 1,
        ..Limits::default()
    };
    let server = TestServer::start(basic(limits)).await;
    let mut c = H2Raw::handshake(server.addr).await;
    c.request(1, "GET", "/hello", true).await;
    assert_eq!(c.response(1).await.status, 200);
    let newcomer = raw(
        server.addr,
        b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        Duration::from_secs(3),
    )
    .await;
    assert_eq!(newcomer.status(), 200, "{}", newcomer.text());
    assert_eq!(
        goaway_within(&mut c, Duration::from_secs(3)).await,
        Some(NO_ERROR)
    );
    assert!(
        c.closed().await,
        "the connection stays open after its GOAWAY"
    );
    server.stop().await;
}

/// The server's stop, spawned, ends within 10 s: long before the 60 s grace period the
/// tests give it, which only connections with something under way could use.
async fn finishes_before_the_grace_period(stopped: tokio::task::JoinHandle<()>) {
    tokio::time::timeout(Duration::from_secs(10), stopped)
        .await
        .expect("the stop did not wait for the grace period")
        .expect("the stop panicked");
}

/// Connections with no stream wait without a task of their own (parked with the accept
/// loop): each is served again when its client sends, and a stopping server tells each
/// one GOAWAY at once (naming its last stream) instead of waiting out the grace period.
#[tokio::test]
async fn many_idle_connections_are_served_again_and_told_goaway_on_stop() {
    const CONNECTIONS: usize = 40;
    let limits = Limits {
        shutdown_grace: Duration::from_secs(60),
        ..Limits::default()
    };
    let server = TestServer::start(basic(limits)).await;
    let mut clients = Vec::new();
    for _ in 0..CONNECTIONS {
        clients.push(H2Raw::handshake(server.addr).await);
    }
    let mut last_stream = 0;
    for round in 0..3 {
        let stream = 2 * round + 1;
        for client in &mut clients {
            client.request(stream, "GET", "/hello", true).await;
        }
        for client in &mut clients {
            let response = client.response(stream).await;
            assert_eq!(response.status, 200, "round {round}: {response:?}");
        }
        last_stream = stream;
        // Long past the time a connection keeps its task and tables between requests.
        sleep(Duration::from_millis(100)).await;
    }
    // A PING wakes a connection without a request; it is answered, and the connection
    // goes back to waiting.
    for client in &mut clients {
        client.ping_pong().await;
    }
    sleep(Duration::from_millis(100)).await;
    let stopped = tokio::spawn(server.stop());
    for (i, client) in clients.iter_mut().enumerate() {
        let goaway = client.expect("GOAWAY on stop", |f| f.kind == GOAWAY).await;
        assert_eq!(goaway.error_code(), NO_ERROR, "connection {i}");
        assert_eq!(goaway.last_stream_id(), last_stream, "connection {i}");
        assert!(client.closed().await, "connection {i} outlived the stop");
    }
    drop(clients);
    finishes_before_the_grace_period(stopped).await;
}

/// A connection that became HTTP/2 by an h2c upgrade waits in the park like any other
/// (its slot held through the switch): after gaps it is served again, and at stop it is
/// told GOAWAY naming its last stream.
#[tokio::test]
async fn an_upgraded_connection_is_parked_and_served_again() {
    const UPGRADE: &[u8] = b"GET /hello HTTP/1.1\r\nHost: localhost\r\n\
        Connection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABk\r\n\r\n";
    let limits = Limits {
        shutdown_grace: Duration::from_secs(60),
        ..Limits::default()
    };
    let server = TestServer::start(basic(limits)).await;
    let (mut c, head) = H2Raw::h2c_upgrade(server.addr, UPGRADE).await;
    assert!(head.starts_with("HTTP/1.1 101 "), "{head}");
    let mut hello = PREFACE.to_vec();
    hello.extend(frame(SETTINGS, 0, 0, &[]));
    c.send(&hello).await;
    c.expect("server SETTINGS", |f| f.kind == SETTINGS && !f.has(ACK))
        .await;
    c.send_frame(SETTINGS, ACK, 0, &[]).await;
    assert_eq!(c.response(1).await.status, 200);
    for stream in [3, 5, 7] {
        // Long past the time a connection keeps its task between requests.
        sleep(Duration::from_millis(100)).await;
        c.request(stream, "GET", "/hello", true).await;
        let response = c.response(stream).await;
        assert_eq!(response.status, 200, "stream {stream}: {response:?}");
        assert_eq!(response.body, b"hello\n");
    }
    sleep(Duration::from_millis(100)).await;
    let stopped = tokio::spawn(server.stop());
    let goaway = c.expect_goaway(NO_ERROR).await;
    assert_eq!(goaway.last_stream_id(), 7);
    assert!(c.closed().await, "the connection outlived the stop");
    drop(c);
    finishes_before_the_grace_period(stopped).await;
}

/// Sends the request head of `stream` (GET /hello) split over HEADERS and CONTINUATION,
/// with `gap` between the two frames, and expects it answered.
async fn split_request_is_answered(c: &mut H2Raw, stream: u32, gap: Duration) {
    let block = c.request_block("GET", "/hello", &[]);
    c.send_frame(HEADERS, END_STREAM, stream, &block[..1]).await;
    sleep(gap).await;
    c.send_frame(CONTINUATION, END_HEADERS, stream, &block[1..])
        .await;
    let response = c.response(stream).await;
    assert_eq!(response.status, 200, "stream {stream}: {response:?}");
}

/// The head timeout counts from the header block in progress: a block split over
/// CONTINUATION frames long after an earlier one was is not closed for the earlier one's
/// age (the connection's clock of the earlier block used to outlive it).
#[tokio::test]
async fn a_split_header_block_is_timed_from_its_own_start() {
    let limits = Limits {
        request_head_timeout: Duration::from_secs(1),
        ..Limits::default()
    };
    let server = TestServer::start(basic(limits)).await;
    let mut c = H2Raw::handshake(server.addr).await;
    // Idle past a sweep: the first split block is seen by a sweep at once.
    sleep(Duration::from_millis(1200)).await;
    split_request_is_answered(&mut c, 1, Duration::from_millis(200)).await;
    // Past the head timeout from the first block, another split block.
    sleep(Duration::from_millis(1500)).await;
    split_request_is_answered(&mut c, 3, Duration::from_millis(200)).await;
    server.stop().await;
}

/// The credit of a request body its handler has read comes back (WINDOW_UPDATE on the
/// connection) without the client sending anything more, even when the connection then
/// has nothing under way and waits without a task: a client whose window ran out is not
/// left waiting for a frame it has no reason to send.
#[tokio::test]
async fn credit_for_a_read_body_comes_back_before_the_connection_waits() {
    const WINDOW: usize = 65_535;
    let limits = Limits {
        h2_connection_window: WINDOW as u32,
        h2_stream_window: WINDOW as u32,
        ..Limits::default()
    };
    let service = builder(limits).resource(
        gust::Resource::dynamic("/sink", |request: gust::Request| async move {
            let read = request.into_body().collect(1 << 20).await;
            let status = if read.is_ok_and(|b| b.len() == WINDOW) {
                http::StatusCode::NO_CONTENT
            } else {
                http::StatusCode::BAD_REQUEST
            };
            let mut response = gust::Response::new(gust::Body::empty());
            *response.status_mut() = status;
            response
        })
        .methods([http::Method::POST]),
    );
    let server = TestServer::start(service).await;
    let mut c = H2Raw::handshake(server.addr).await;
    c.request(1, "POST", "/sink", false).await;
    let chunk = vec![b'x'; 16_384];
    let mut left = WINDOW;
    while left > 0 {
        let n = left.min(chunk.len());
        left -= n;
        let flags = if left == 0 { END_STREAM } else { 0 };
        c.send_frame(DATA, flags, 1, &chunk[..n]).await;
    }
    assert_eq!(c.response(1).await.status, 204);
    // The whole connection window was spent; all of it must be given back unasked.
    let mut credit = 0;
    while credit < WINDOW as u32 {
        let update = c
            .expect("WINDOW_UPDATE on the connection", |f| {
                f.kind == WINDOW_UPDATE && f.stream == 0
            })
            .await;
        credit += update.increment();
    }
    drop(c);
    server.stop().await;
}
