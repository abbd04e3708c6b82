//! HTTP/2 with clients nobody here wrote: the `h2` crate's client, curl (h2c upgrade and
//! prior knowledge), nghttp and h2load, against the real server on 127.0.0.1:0. Plus the
//! behaviours only a whole connection shows: big bodies both ways under small windows,
//! streams that do not wait for each other, graceful shutdown with GOAWAY.

mod support;

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use gust::{Body, Limits, Request, Resource, Response, StaticResource};
use http::Method;
use sha2::{Digest, Sha256};
use support::h2raw::{self, H2Raw};
use support::{basic, h2_client, have_tool, run_async, Logs, TestServer};
use tokio::net::TcpStream;
use tokio::sync::Notify;

const MIB: usize = 1024 * 1024;

/// Deterministic bytes that do not compress or repeat in step with frame sizes.
fn pattern(len: usize) -> Vec<u8> {
    let mut x: u32 = 0x1234_5678;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

fn request(addr: SocketAddr, method: Method, path: &str) -> http::Request<()> {
    http::Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .body(())
        .unwrap()
}

/// Reads a response body to its end, releasing window as it goes; returns its SHA-256
/// and length.
async fn hash_body(body: &mut h2::RecvStream) -> ([u8; 32], usize) {
    let mut hasher = Sha256::new();
    let mut len = 0;
    while let Some(chunk) = body.data().await {
        let chunk = chunk.expect("body chunk");
        len += chunk.len();
        hasher.update(&chunk);
        body.flow_control().release_capacity(chunk.len()).unwrap();
    }
    (hasher.finalize().into(), len)
}

/// Sends `data` on `stream` as flow control allows, then ends the stream.
async fn send_all(stream: &mut h2::SendStream<Bytes>, data: Bytes) {
    let mut rest = data;
    while !rest.is_empty() {
        stream.reserve_capacity(rest.len().min(256 * 1024));
        let n = std::future::poll_fn(|cx| stream.poll_capacity(cx))
            .await
            .expect("capacity")
            .expect("stream open");
        let chunk = rest.split_to(n.min(rest.len()));
        stream.send_data(chunk, false).unwrap();
    }
    stream.send_data(Bytes::new(), true).unwrap();
}

#[tokio::test]
async fn h2_crate_client_gets_and_posts() {
    let server = TestServer::start(basic(Limits::default())).await;
    let mut client = h2_client(server.addr).await;

    let (response, _) = client
        .send_request(request(server.addr, Method::GET, "/hello"), true)
        .unwrap();
    let response = response.await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.version(), http::Version::HTTP_2);
    assert_eq!(response.headers()["content-length"], "6");
    assert_eq!(response.headers()["server"], "gust");
    assert!(response.headers().contains_key("date"));
    let mut body = response.into_body();
    let chunk = body.data().await.unwrap().unwrap();
    assert_eq!(&chunk[..], b"hello\n");

    let mut client = client.ready().await.unwrap();
    let (response, mut send) = client
        .send_request(request(server.addr, Method::POST, "/echo"), false)
        .unwrap();
    send.send_data(Bytes::from_static(b"ping over h2"), true)
        .unwrap();
    let mut body = response.await.unwrap().into_body();
    let mut got = Vec::new();
    while let Some(chunk) = body.data().await {
        got.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(got, b"ping over h2");

    let (response, _) = client
        .send_request(request(server.addr, Method::GET, "/nowhere"), true)
        .unwrap();
    assert_eq!(response.await.unwrap().status(), 404);
    let (response, _) = client
        .send_request(request(server.addr, Method::DELETE, "/hello"), true)
        .unwrap();
    let response = response.await.unwrap();
    assert_eq!(response.status(), 405);
    assert_eq!(response.headers()["allow"], "GET, HEAD, OPTIONS");
    server.stop().await;
}

#[tokio::test]
async fn sixty_four_mib_download_with_small_windows_arrives_intact() {
    let data = Bytes::from(pattern(64 * MIB));
    let expected: [u8; 32] = Sha256::digest(&data).into();
    let content = StaticResource::new(data, "application/octet-stream");
    let server = TestServer::start(
        basic(Limits::default()).resource(Resource::static_content("/big", content)),
    )
    .await;
    let mut client = h2_client(server.addr).await;
    let (response, _) = client
        .send_request(request(server.addr, Method::GET, "/big"), true)
        .unwrap();
    let response = response.await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-length"], (64 * MIB).to_string());
    let (hash, len) = hash_body(&mut response.into_body()).await;
    assert_eq!(len, 64 * MIB);
    assert_eq!(hash, expected);
    server.stop().await;
}

#[tokio::test]
async fn sixty_four_mib_upload_is_echoed_intact_with_small_windows() {
    let limits = Limits {
        read_chunk_size: 8 * 1024,
        ..Limits::default()
    };
    let server = TestServer::start(basic(limits)).await;
    let data = Bytes::from(pattern(64 * MIB));
    let expected: [u8; 32] = Sha256::digest(&data).into();
    let mut client = h2_client(server.addr).await;
    let (response, mut send) = client
        .send_request(request(server.addr, Method::POST, "/echo"), false)
        .unwrap();
    let upload = tokio::spawn(async move { send_all(&mut send, data).await });
    let response = response.await.unwrap();
    assert_eq!(response.status(), 200);
    let (hash, len) = hash_body(&mut response.into_body()).await;
    upload.await.unwrap();
    assert_eq!(len, 64 * MIB);
    assert_eq!(hash, expected);
    server.stop().await;
}

#[tokio::test]
async fn a_slow_handler_does_not_hold_up_other_streams() {
    let release = Arc::new(Notify::new());
    let gate = release.clone();
    let server = TestServer::start(basic(Limits::default()).resource(Resource::dynamic(
        "/slow",
        move |_req: Request| {
            let gate = gate.clone();
            async move {
                gate.notified().await;
                Response::new(Body::from("finally\n"))
            }
        },
    )))
    .await;
    let mut client = h2_client(server.addr).await;
    let (slow, _) = client
        .send_request(request(server.addr, Method::GET, "/slow"), true)
        .unwrap();
    // Ten quick requests on the same connection complete while /slow waits.
    for _ in 0..10 {
        client = client.ready().await.unwrap();
        let (quick, _) = client
            .send_request(request(server.addr, Method::GET, "/hello"), true)
            .unwrap();
        let quick = tokio::time::timeout(Duration::from_secs(5), quick)
            .await
            .expect("a quick stream is not held up by a slow one")
            .unwrap();
        assert_eq!(quick.status(), 200);
    }
    release.notify_one();
    let slow = tokio::time::timeout(Duration::from_secs(5), slow)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(slow.status(), 200);
    server.stop().await;
}

#[tokio::test]
async fn graceful_stop_sends_goaway_and_finishes_the_stream_in_flight() {
    let release = Arc::new(Notify::new());
    let started = Arc::new(Notify::new());
    let (gate, began) = (release.clone(), started.clone());
    let server = TestServer::start(basic(Limits::default()).resource(Resource::dynamic(
        "/slow",
        move |_req: Request| {
            let (gate, began) = (gate.clone(), began.clone());
            async move {
                began.notify_one();
                gate.notified().await;
                Response::new(Body::from("finished after GOAWAY\n"))
            }
        },
    )))
    .await;
    let addr = server.addr;
    let mut c = H2Raw::handshake(addr).await;
    c.request(1, "GET", "/slow", true).await;
    started.notified().await;
    let stopping = tokio::spawn(server.stop());

    let goaway = c.expect_goaway(h2raw::NO_ERROR).await;
    assert_eq!(goaway.last_stream_id(), 1, "stream 1 was accepted");
    // A new stream after GOAWAY is refused, not processed.
    c.request(3, "GET", "/hello", true).await;
    c.expect_reset(3, h2raw::REFUSED_STREAM).await;

    release.notify_one();
    let r = c.response(1).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body, b"finished after GOAWAY\n");
    assert!(
        c.closed().await,
        "the connection closes once its streams are done"
    );
    tokio::time::timeout(Duration::from_secs(10), stopping)
        .await
        .expect("stop returns")
        .unwrap();
    // The listener is closed: new connections are refused.
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn max_streams_refuses_the_extra_stream_and_serves_the_rest() {
    let limits = Limits {
        max_streams: 2,
        ..Limits::default()
    };
    let release = Arc::new(Notify::new());
    let gate = release.clone();
    let server = TestServer::start(basic(limits).resource(Resource::dynamic(
        "/slow",
        move |_req: Request| {
            let gate = gate.clone();
            async move {
                gate.notified().await;
                Response::new(Body::from("ok\n"))
            }
        },
    )))
    .await;
    let (mut c, settings) = H2Raw::handshake_with(server.addr, &[]).await;
    assert!(settings
        .settings()
        .contains(&(h2raw::SETTINGS_MAX_CONCURRENT_STREAMS, 2)));
    c.request(1, "GET", "/slow", true).await;
    c.request(3, "GET", "/slow", true).await;
    c.request(5, "GET", "/hello", true).await;
    c.expect_reset(5, h2raw::REFUSED_STREAM).await;
    release.notify_waiters();
    assert_eq!(c.response(1).await.status, 200);
    assert_eq!(c.response(3).await.status, 200);
    // With slots free again, a new stream is served.
    c.request(7, "GET", "/hello", true).await;
    assert_eq!(c.response(7).await.body, b"hello\n");
    server.stop().await;
}

#[tokio::test]
async fn curl_upgrades_with_http2_and_speaks_prior_knowledge() {
    if !have_tool("curl") {
        return;
    }
    let server = TestServer::start(basic(Limits::default())).await;
    let url = server.url("/hello");
    let (ok, text) = run_async("curl", &["-sS", "-v", "--max-time", "10", "--http2", &url]).await;
    assert!(ok, "{text}");
    assert!(
        text.contains("< HTTP/1.1 101 Switching Protocols"),
        "{text}"
    );
    assert!(text.contains("< HTTP/2 200"), "{text}");
    assert!(text.contains("hello\n"), "{text}");

    let (ok, text) = run_async(
        "curl",
        &[
            "-sS",
            "-v",
            "--max-time",
            "10",
            "--http2-prior-knowledge",
            "--data-binary",
            "posted body",
            &server.url("/echo"),
        ],
    )
    .await;
    assert!(ok, "{text}");
    assert!(!text.contains("101 Switching"), "{text}");
    assert!(text.contains("< HTTP/2 200"), "{text}");
    assert!(text.contains("posted body"), "{text}");
    server.stop().await;
}

#[tokio::test]
async fn nghttp_fetches_with_no_dependencies() {
    if !have_tool("nghttp") {
        return;
    }
    let server = TestServer::start(basic(Limits::default())).await;
    let (ok, text) = run_async(
        "nghttp",
        &["-v", "--no-dep", "-t", "10", &server.url("/hello")],
    )
    .await;
    assert!(ok, "{text}");
    assert!(text.contains(":status: 200"), "{text}");
    assert!(text.contains("hello"), "{text}");
    assert!(!text.contains("recv GOAWAY"), "{text}");
    assert!(!text.contains("recv RST_STREAM"), "{text}");
    server.stop().await;
}

#[tokio::test]
async fn h2load_ten_thousand_requests_without_an_error() {
    if !have_tool("h2load") {
        return;
    }
    let server = TestServer::start(basic(Limits::default())).await;
    let (ok, text) = run_async(
        "h2load",
        &["-n10000", "-c10", "-m10", "-T", "30", &server.url("/hello")],
    )
    .await;
    assert!(ok, "{text}");
    assert!(
        text.contains("10000 succeeded, 0 failed, 0 errored, 0 timeout"),
        "{text}"
    );
    assert!(text.contains("status codes: 10000 2xx"), "{text}");
    server.stop().await;
}

/// Whether python3 can import `httpx` with HTTP/2 support (the `h2` package); prints the
/// SKIPPED line (or fails under GUST_REQUIRE_INTEROP=1) when it cannot.
fn have_httpx() -> bool {
    if !have_tool("python3") {
        return false;
    }
    let found = Command::new("python3")
        .args(["-c", "import httpx, h2"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        if std::env::var("GUST_REQUIRE_INTEROP").as_deref() == Ok("1") {
            panic!("python3 httpx[http2] not installed and GUST_REQUIRE_INTEROP=1");
        }
        println!("SKIPPED: httpx not installed");
    }
    found
}

/// httpx speaking HTTP/2 by prior knowledge (`http1=False`), a GET and a POST echoed back.
const HTTPX_SCRIPT: &str = r#"
import sys, httpx
base = sys.argv[1]
with httpx.Client(http1=False, http2=True, timeout=10) as c:
    r = c.get(base + "/hello")
    print(r.http_version, r.status_code, repr(r.text))
    body = bytes(range(256)) * 4096
    r = c.post(base + "/echo", content=body)
    print(r.http_version, r.status_code, r.content == body)
"#;

#[tokio::test]
async fn python_httpx_speaks_http2() {
    if !have_httpx() {
        return;
    }
    let server = TestServer::start(basic(Limits::default())).await;
    let (ok, text) = run_async("python3", &["-c", HTTPX_SCRIPT, &server.url("")]).await;
    assert!(ok, "{text}");
    assert!(text.contains("HTTP/2 200 'hello\\n'"), "{text}");
    assert!(text.contains("HTTP/2 200 True"), "{text}");
    server.stop().await;
}

/// A GET on a new stream of `client`, its response head within 10 s.
async fn get(
    client: &mut h2::client::SendRequest<Bytes>,
    addr: SocketAddr,
    path: &str,
) -> http::Response<h2::RecvStream> {
    *client = client.clone().ready().await.unwrap();
    let (response, _) = client
        .send_request(request(addr, Method::GET, path), true)
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), response)
        .await
        .unwrap()
        .unwrap()
}

/// A handler that panics before answering gets the stream a 500; one whose body panics
/// after the head is out gets the stream reset with INTERNAL_ERROR. Either way the other
/// streams of the connection, and the connection itself, carry on.
#[tokio::test]
async fn panics_reset_their_own_stream_only() {
    let (logs, _guard) = Logs::capture();
    let service = basic(Limits::default())
        .resource(Resource::dynamic("/boom", |_req: Request| async {
            if true {
                panic!("handler bug");
            }
            Response::new(Body::empty())
        }))
        .resource(Resource::dynamic("/boom-later", |_req: Request| async {
            let chunks = futures_util::StreamExt::map(futures_util::stream::iter(0..3), |i| {
                if i == 2 {
                    panic!("body bug");
                }
                Ok(Bytes::from(vec![b'x'; 1000]))
            });
            Response::new(Body::from_stream(chunks))
        }));
    let server = TestServer::start(service).await;
    let mut client = h2_client(server.addr).await;

    let response = get(&mut client, server.addr, "/boom").await;
    assert_eq!(response.status(), 500);

    let response = get(&mut client, server.addr, "/boom-later").await;
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let error = loop {
        match tokio::time::timeout(Duration::from_secs(10), body.data())
            .await
            .unwrap()
        {
            Some(Ok(chunk)) => {
                let _ = body.flow_control().release_capacity(chunk.len());
            }
            Some(Err(e)) => break e,
            None => panic!("the body ended cleanly after its producer panicked"),
        }
    };
    assert_eq!(error.reason(), Some(h2::Reason::INTERNAL_ERROR), "{error}");
    let logged = logs.text();
    assert!(
        logged.contains("handler panicked") && logged.contains("response body panicked"),
        "a log line for each panic: {logged:?}"
    );

    // The same connection serves on.
    let response = get(&mut client, server.addr, "/hello").await;
    assert_eq!(response.status(), 200);
    server.stop().await;
}
