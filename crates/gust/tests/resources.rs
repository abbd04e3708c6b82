//! Resources, routing, handlers and the server's life cycle, through an independent client
//! (reqwest) against a real server on port 0.

mod support;

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use gust::{Body, FsResource, Limits, Outcome, Request, Resource, Response, StaticResource};
use http::StatusCode;
use support::{basic, builder, raw, Logs, TestServer};

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .no_gzip()
        .build()
        .unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[tokio::test]
async fn static_gzip_page_for_gzip_clients_and_identity_for_others() {
    let page = b"<!doctype html><title>t</title><p>hello page</p>".repeat(20);
    let content = StaticResource::precompressed(gzip(&page), "text/html", "gzip").unwrap();
    let server = TestServer::start(
        builder(Limits::default()).resource(Resource::static_content("/", content)),
    )
    .await;

    let gz = client()
        .get(server.url("/"))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(gz.status(), 200);
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    assert_eq!(gz.headers()["content-type"], "text/html");
    let body = gz.bytes().await.unwrap();
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&body[..]), &mut plain).unwrap();
    assert_eq!(plain, page);

    let id = client().get(server.url("/")).send().await.unwrap();
    assert!(id.headers().get("content-encoding").is_none());
    assert_eq!(id.bytes().await.unwrap(), page);

    let post = client().post(server.url("/")).send().await.unwrap();
    assert_eq!(post.status(), StatusCode::METHOD_NOT_ALLOWED);
    server.stop().await;
}

#[tokio::test]
async fn fs_resource_serves_files_and_never_escapes_its_root() {
    let top = tempfile::tempdir().unwrap();
    let root = top.path().join("www");
    std::fs::create_dir(&root).unwrap();
    std::fs::write(root.join("a.txt"), b"file a").unwrap();
    std::fs::write(top.path().join("secret.txt"), b"SECRET").unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(top.path().join("secret.txt"), root.join("link.txt")).unwrap();
    let dir = FsResource::new(&root).unwrap();
    let server =
        TestServer::start(builder(Limits::default()).resource(Resource::fs("/files/*", dir))).await;

    // Paths that cannot exist are the client's mistake: 404, not a server error.
    let long_name = format!("/files/{}", "n".repeat(300));
    assert_eq!(
        client()
            .get(server.url(&long_name))
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(root.join("loop2"), root.join("loop1")).unwrap();
        std::os::unix::fs::symlink(root.join("loop1"), root.join("loop2")).unwrap();
        let looped = client()
            .get(server.url("/files/loop1"))
            .send()
            .await
            .unwrap();
        assert_eq!(looped.status(), 404);
    }

    let ok = client()
        .get(server.url("/files/a.txt?query=ignored"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert!(ok.headers().get("etag").is_some());
    assert_eq!(ok.bytes().await.unwrap(), "file a");

    for attack in [
        "/files/../secret.txt",
        "/files/%2e%2e/secret.txt",
        "/files/%2E%2E/%2e%2e/secret.txt",
        "/files/..%2fsecret.txt",
        "/files/%2e%2e%2fsecret.txt",
        "/files/link.txt",
        "/files/..\\secret.txt",
    ] {
        let request = format!("GET {attack} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let seen = raw(server.addr, request.as_bytes(), Duration::from_secs(2)).await;
        assert!(
            !seen.text().contains("SECRET"),
            "{attack} leaked: {}",
            seen.text()
        );
        assert!(
            matches!(seen.status(), 400 | 404),
            "{attack}: {}",
            seen.text()
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn routing_exact_patterns_and_fallback() {
    let named =
        |name: &'static str| move |_req: Request| async move { Response::new(Body::from(name)) };
    let service = builder(Limits::default())
        .resource(Resource::dynamic("/f?o", named("question")))
        .resource(Resource::dynamic("/f[ob]x", named("bracket")))
        .resource(Resource::dynamic("/files/*", named("files")))
        .resource(Resource::dynamic("/foo", named("exact")))
        .fallback(Resource::dynamic("/", named("fallback")));
    let server = TestServer::start(service).await;
    for (path, want) in [
        ("/foo", "exact"),
        ("/fxo", "question"),
        ("/fbx", "bracket"),
        ("/files/deep/er.txt", "files"),
        ("/nope", "fallback"),
        ("/a/../foo", "exact"),
    ] {
        let got = client()
            .get(server.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(got, want, "{path}");
    }
    server.stop().await;
}

/// A target whose query makes no URI (`"`, `<`, `>` there) gets 400 from a static resource,
/// which is answered without a URI being built, as from a handler, over both protocols; a
/// query that makes one, and a path encoded again for its URI, are served by both.
#[tokio::test]
async fn a_query_that_makes_no_uri_gets_400_whatever_the_resource() {
    let content = StaticResource::new(&b"static\n"[..], "text/plain");
    let service = builder(Limits::default())
        .resource(Resource::static_content("/s", content))
        .resource(Resource::dynamic("/d", |req: Request| async move {
            Response::new(Body::from(format!("{}\n", req.uri())))
        }));
    let server = TestServer::start(service).await;
    let wait = Duration::from_secs(5);
    for path in ["/s", "/d"] {
        for (query, want) in [
            ("?a=1&b={x}", 200),
            ("?a<b", 400),
            ("?q=\"x\"", 400),
            ("?>", 400),
        ] {
            let request =
                format!("GET {path}{query} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            let seen = raw(server.addr, request.as_bytes(), wait).await;
            assert_eq!(
                seen.status(),
                want,
                "HTTP/1.1 {path}{query}: {}",
                seen.text()
            );
        }
    }
    let seen = raw(
        server.addr,
        b"GET /d/../d?x=%22 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        wait,
    )
    .await;
    assert!(seen.text().ends_with("\r\n/d?x=%22\n"), "{}", seen.text());

    let mut h2 = support::h2raw::H2Raw::handshake(server.addr).await;
    let mut stream = 1;
    for path in ["/s", "/d"] {
        for (query, want) in [("?a=1", 200), ("?a<b", 400), ("?\"", 400)] {
            h2.request(stream, "GET", &format!("{path}{query}"), true)
                .await;
            let answer = h2.response(stream).await;
            assert_eq!(answer.status, want, "h2 {path}{query}");
            stream += 2;
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn a_panicking_handler_gets_500_and_the_server_lives_on() {
    let (logs, _guard) = Logs::capture();
    let service =
        basic(Limits::default()).resource(Resource::dynamic("/boom", |_req: Request| async {
            if true {
                panic!("handler bug");
            }
            Response::new(Body::empty())
        }));
    let server = TestServer::start(service).await;
    let boom = client().get(server.url("/boom")).send().await.unwrap();
    assert_eq!(boom.status(), 500);
    assert!(
        logs.text().contains("ERROR") && logs.text().contains("handler panicked"),
        "no log line for the panic: {:?}",
        logs.text()
    );
    let ok = client().get(server.url("/hello")).send().await.unwrap();
    assert_eq!(ok.status(), 200);
    server.stop().await;
}

#[tokio::test]
async fn handlers_choose_status_headers_and_learn_completion() {
    let outcomes = Arc::new(Mutex::new(Vec::new()));
    let seen = outcomes.clone();
    let service =
        builder(Limits::default()).resource(Resource::dynamic("/custom", move |_req: Request| {
            let seen = seen.clone();
            async move {
                let body = Body::from("made").on_complete(move |o| seen.lock().unwrap().push(o));
                http::Response::builder()
                    .status(422)
                    .header("x-custom", "yes")
                    .header("content-type", "text/x-made")
                    .body(body)
                    .unwrap()
            }
        }));
    let server = TestServer::start(service).await;
    let got = client().get(server.url("/custom")).send().await.unwrap();
    assert_eq!(got.status(), 422);
    assert_eq!(got.headers()["x-custom"], "yes");
    assert_eq!(got.headers()["content-type"], "text/x-made");
    assert_eq!(got.text().await.unwrap(), "made");
    server.stop().await;
    assert_eq!(*outcomes.lock().unwrap(), vec![Outcome::Complete]);
}

#[tokio::test]
async fn many_clients_use_one_dynamic_resource_at_once() {
    let server = TestServer::start(basic(Limits::default())).await;
    let client = client();
    let mut tasks = Vec::new();
    for i in 0..32 {
        let (client, url) = (client.clone(), server.url("/echo"));
        tasks.push(tokio::spawn(async move {
            let body = format!("client {i}").repeat(1000);
            let got = client.post(url).body(body.clone()).send().await.unwrap();
            assert_eq!(got.status(), 200);
            assert_eq!(got.text().await.unwrap(), body);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    server.stop().await;
}

/// 1 GiB streamed through the echo handler, compared by hash, never held in memory.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_gibibyte_streams_through_the_echo() {
    use futures_util::StreamExt;
    use sha2::{Digest, Sha256};
    const TOTAL: usize = 1 << 30;
    const CHUNK: usize = 1 << 20;
    let server = TestServer::start(basic(Limits::default())).await;
    let sent_hash = Arc::new(Mutex::new(Sha256::new()));
    let hasher = sent_hash.clone();
    // One pattern, stamped with its index so that a lost, repeated or reordered chunk
    // changes the hash.
    let pattern: Vec<u8> = (0..CHUNK).map(|j| (j * 7 % 251) as u8).collect();
    let upload = futures_util::stream::iter(0..TOTAL / CHUNK).map(move |i| {
        let mut chunk = pattern.clone();
        chunk[..8].copy_from_slice(&(i as u64).to_le_bytes());
        hasher.lock().unwrap().update(&chunk);
        Ok::<_, std::io::Error>(Bytes::from(chunk))
    });
    let response = reqwest::Client::builder()
        .timeout(Duration::from_secs(600))
        .build()
        .unwrap()
        .post(server.url("/echo"))
        .body(reqwest::Body::wrap_stream(upload))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut received = Sha256::new();
    let mut total = 0usize;
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.unwrap();
        total += chunk.len();
        received.update(&chunk);
    }
    assert_eq!(total, TOTAL);
    let sent = sent_hash.lock().unwrap().clone().finalize();
    assert_eq!(received.finalize(), sent);
    server.stop().await;
}

#[tokio::test]
async fn start_stop_and_start_again() {
    let service = basic(Limits::default()).build().unwrap();
    let mut server = gust::Server::new().service(service);
    server.start().await.unwrap();
    assert!(matches!(
        server.start().await,
        Err(gust::ServerError::AlreadyRunning)
    ));
    let first = server.local_addrs()[0];
    assert_eq!(
        client()
            .get(format!("http://{first}/hello"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    server.stop().await.unwrap();
    assert!(matches!(
        server.stop().await,
        Err(gust::ServerError::NotRunning)
    ));
    assert!(
        tokio::net::TcpStream::connect(first).await.is_err(),
        "listener still open after stop"
    );
    server.start().await.unwrap();
    let second = server.local_addrs()[0];
    assert_eq!(
        client()
            .get(format!("http://{second}/hello"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    server.stop().await.unwrap();
}

#[tokio::test]
async fn a_port_in_use_is_a_clear_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let service = basic(Limits::default()).build().unwrap().with_addr(addr);
    let mut server = gust::Server::new().service(service);
    let err = server.start().await.unwrap_err();
    assert!(matches!(err, gust::ServerError::Bind { .. }));
    assert!(err.to_string().contains(&addr.to_string()), "{err}");
}

#[tokio::test]
async fn an_application_made_listener_is_served() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let made = Arc::new(AtomicUsize::new(0));
    let count = made.clone();
    let service = basic(Limits::default())
        .listener_factory(move || {
            count.fetch_add(1, Ordering::SeqCst);
            std::net::TcpListener::bind("127.0.0.1:0")
        })
        .build()
        .unwrap();
    let mut server = gust::Server::new().service(service);
    server.start().await.unwrap();
    let url = format!("http://{}/hello", server.local_addrs()[0]);
    assert_eq!(client().get(url).send().await.unwrap().status(), 200);
    server.stop().await.unwrap();
    server.start().await.unwrap();
    server.stop().await.unwrap();
    assert_eq!(
        made.load(Ordering::SeqCst),
        2,
        "the factory makes a socket per start"
    );

    let once = basic(Limits::default()).listener(listener).build().unwrap();
    let mut server = gust::Server::new().service(once);
    server.start().await.unwrap();
    assert_eq!(server.local_addrs()[0], addr);
    server.stop().await.unwrap();
    assert!(
        server.start().await.is_err(),
        "a one-shot listener cannot start twice"
    );
}

#[tokio::test]
async fn stop_finishes_in_flight_responses() {
    let service = builder(Limits {
        shutdown_grace: Duration::from_secs(10),
        ..Limits::default()
    })
    .resource(Resource::dynamic("/slow", |_req: Request| async {
        let (tx, body) = Body::channel(1);
        tokio::spawn(async move {
            for i in 0..5 {
                tokio::time::sleep(Duration::from_millis(200)).await;
                if tx.send(format!("part {i}\n")).await.is_err() {
                    return;
                }
            }
        });
        Response::new(body)
    }));
    let mut server = TestServer::start(service).await;
    let url = server.url("/slow");
    let request = tokio::spawn(async move {
        client()
            .get(url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    tokio::time::timeout(Duration::from_secs(20), server.server.stop())
        .await
        .unwrap()
        .unwrap();
    let text = request.await.unwrap();
    assert_eq!(
        text,
        (0..5).map(|i| format!("part {i}\n")).collect::<String>()
    );
}

/// The handler hears `Aborted` on both sides when the client leaves half-way: its request
/// body ends with an error (not a short, "complete" body) and its response's hook fires.
#[tokio::test]
async fn a_client_that_leaves_mid_exchange_is_reported_as_aborted() {
    use tokio::io::AsyncWriteExt;
    let (events_tx, mut events) = tokio::sync::mpsc::unbounded_channel::<String>();
    let service = builder(Limits::default()).resource(
        Resource::dynamic("/upload", move |req: Request| {
            let events = events_tx.clone();
            async move {
                let mut body = req.into_body();
                let mut total = 0;
                let verdict = loop {
                    match body.next_chunk().await {
                        Ok(Some(chunk)) => total += chunk.len(),
                        Ok(None) => break format!("body complete after {total}"),
                        Err(e) => break format!("body aborted after {total}: {e}"),
                    }
                };
                let _ = events.send(verdict);
                let (tx, stream) = Body::channel(1);
                tokio::spawn(async move {
                    // Far more than the client will read.
                    for _ in 0..100_000 {
                        if tx.send(vec![b'x'; 64 * 1024]).await.is_err() {
                            return;
                        }
                    }
                });
                let hook_events = events.clone();
                Response::new(stream.on_complete(move |o| {
                    let _ = hook_events.send(format!("response {o:?}"));
                }))
            }
        })
        .methods([http::Method::POST]),
    );
    let server = TestServer::start(service).await;

    // Half a body, then gone.
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n")
        .await
        .unwrap();
    stream.write_all(&[b'a'; 5000]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    drop(stream);
    let verdict = tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert!(verdict.starts_with("body aborted after 5000"), "{verdict}");
    // The handler ran on to its end; the answer it made had nowhere to go.
    let outcome = tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(outcome, "response Aborted");

    // A whole body, then the client reads a little of a huge answer and leaves.
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc")
        .await
        .unwrap();
    let verdict = tokio::time::timeout(Duration::from_secs(10), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(verdict, "body complete after 3");
    let mut buf = [0u8; 1024];
    let _ = tokio::io::AsyncReadExt::read(&mut stream, &mut buf)
        .await
        .unwrap();
    drop(stream);
    let outcome = tokio::time::timeout(Duration::from_secs(30), events.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(outcome, "response Aborted");
    server.stop().await;
}

/// A client that stops reading stops the handler from producing: the server polls a
/// response body only while its bounded write buffer has room, so an endless producer is
/// held to what the kernel's socket buffers and `write_buffer_size` take.
#[tokio::test]
async fn a_client_that_stops_reading_pauses_the_producer() {
    use tokio::io::AsyncWriteExt;
    let produced = Arc::new(AtomicUsize::new(0));
    let counter = produced.clone();
    let service =
        builder(Limits::default()).resource(Resource::dynamic("/endless", move |_req: Request| {
            let counter = counter.clone();
            async move {
                let chunk = Bytes::from(vec![b'e'; 64 * 1024]);
                let stream = futures_util::stream::repeat_with(move || {
                    counter.fetch_add(chunk.len(), Ordering::Relaxed);
                    Ok(chunk.clone())
                });
                Response::new(Body::from_stream(stream))
            }
        }));
    let server = TestServer::start(service).await;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /endless HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    // Read nothing; give an unbounded server ample time to run away.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let first = produced.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let second = produced.load(Ordering::Relaxed);
    assert!(first > 0, "the producer never ran");
    assert_eq!(first, second, "the producer kept going while nobody read");
    assert!(
        first < 64 << 20,
        "{first} bytes produced for a client that reads nothing"
    );
    drop(stream);
    server.stop().await;
}

/// A handler that does not read its body stops the server from reading the socket: the
/// upload stalls in the kernel's buffers instead of piling up in the server's memory.
#[tokio::test]
async fn a_handler_that_does_not_read_stalls_the_upload() {
    use tokio::io::AsyncWriteExt;
    let service = builder(Limits {
        shutdown_grace: Duration::from_millis(200),
        ..Limits::default()
    })
    .resource(
        Resource::dynamic("/sleepy", |req: Request| async move {
            let _keep_body_open = req;
            tokio::time::sleep(Duration::from_secs(60)).await;
            Response::new(Body::empty())
        })
        .methods([http::Method::POST]),
    );
    let server = TestServer::start(service).await;
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let total: usize = 256 << 20;
    stream
        .write_all(
            format!("POST /sleepy HTTP/1.1\r\nHost: x\r\nContent-Length: {total}\r\n\r\n")
                .as_bytes(),
        )
        .await
        .unwrap();
    let chunk = vec![b'u'; 1 << 20];
    let mut written = 0usize;
    let stalled = tokio::time::timeout(Duration::from_secs(3), async {
        while written < total {
            stream.write_all(&chunk).await.unwrap();
            written += chunk.len();
        }
    })
    .await
    .is_err();
    assert!(
        stalled,
        "the whole 256 MiB upload was taken without a reader"
    );
    assert!(
        written < 64 << 20,
        "{written} bytes accepted for a handler that reads nothing"
    );
    drop(stream);
    server.stop().await;
}

/// A large file leaves a plain HTTP/1.1 connection straight from the page cache
/// (`sendfile`): it arrives byte for byte, whole and as a range, twice on one connection, and
/// the statistics count its bytes like any others. A client that stops reading is dropped
/// after the inactivity timeout rather than holding its slot.
#[tokio::test]
async fn large_files_arrive_byte_for_byte_over_plain_http1() {
    use tokio::io::AsyncWriteExt;
    let dir = tempfile::tempdir().unwrap();
    let content: Vec<u8> = (0..9_000_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(dir.path().join("big.bin"), &content).unwrap();
    let stats = gust::Stats::new();
    let limits = Limits {
        inactivity_timeout: Duration::from_secs(1),
        ..Limits::default()
    };
    let service = builder(limits)
        .stats(stats.clone())
        .resource(Resource::fs("/*", FsResource::new(dir.path()).unwrap()));
    let server = TestServer::start(service).await;

    let client = client();
    let sent_before = stats.snapshot().bytes_sent;
    for _ in 0..2 {
        let whole = client.get(server.url("/big.bin")).send().await.unwrap();
        assert_eq!(whole.status(), 200);
        assert_eq!(whole.content_length(), Some(content.len() as u64));
        let body = whole.bytes().await.unwrap();
        assert!(body[..] == content[..], "the whole file differs");
    }
    let range = client
        .get(server.url("/big.bin"))
        .header("range", "bytes=1234567-7654320")
        .send()
        .await
        .unwrap();
    assert_eq!(range.status(), 206);
    let body = range.bytes().await.unwrap();
    assert!(
        body[..] == content[1_234_567..=7_654_320],
        "the range differs"
    );
    let sent = stats.snapshot().bytes_sent - sent_before;
    let bodies = 2 * content.len() as u64 + (7_654_320 - 1_234_567 + 1);
    assert!(
        sent > bodies && sent < bodies + 4096,
        "{sent} bytes counted for {bodies} bytes of bodies and three heads"
    );

    // A client that asks and reads nothing: the kernel's buffers fill, then the server gives
    // up on it after the inactivity timeout and closes.
    let mut stalled = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    stalled
        .write_all(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let seen = support::read_all(&mut stalled, Duration::from_secs(5)).await;
    assert!(seen.closed, "the stalled client's connection is still open");
    assert!(
        seen.bytes.len() < content.len(),
        "a client that read nothing for 3 s got the whole file"
    );
    server.stop().await;
}

/// The fields of one HTTP/1.1 answer's head, lower-cased names, in order.
fn h1_fields(answer: &str) -> Vec<(String, String)> {
    let head = answer.split("\r\n\r\n").next().unwrap_or("");
    head.lines()
        .skip(1)
        .filter_map(|line| line.split_once(": "))
        .map(|(n, v)| (n.to_ascii_lowercase(), v.to_owned()))
        .collect()
}

/// Each of `names` appears exactly once among `fields`; the values, in `names`' order.
fn once_each(fields: &[(String, String)], names: &[&str]) -> Vec<String> {
    names
        .iter()
        .map(|name| {
            let found: Vec<&str> = fields
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
                .collect();
            assert_eq!(found.len(), 1, "{name} in {fields:?}");
            found[0].to_owned()
        })
        .collect()
}

/// A cached file's fields are made once and shared by its answers: every answer, the
/// first (from disk) and the later ones (from the cache), over HTTP/1.1 and HTTP/2, HEAD
/// and GET, carries each of them exactly once with the same values, beside the fields each
/// connection writes itself; a conditional request still gets its own answer.
#[tokio::test]
async fn a_cached_file_answers_with_the_same_fields_over_both_protocols() {
    let root = tempfile::tempdir().unwrap();
    std::fs::write(root.path().join("note.txt"), b"shared fields\n").unwrap();
    let dir = FsResource::new(root.path()).unwrap();
    let server =
        TestServer::start(builder(Limits::default()).resource(Resource::fs("/*", dir))).await;
    let file_fields = [
        "etag",
        "last-modified",
        "vary",
        "accept-ranges",
        "content-type",
    ];
    let every = [
        "etag",
        "last-modified",
        "vary",
        "accept-ranges",
        "content-type",
        "content-length",
        "date",
        "server",
    ];
    let mut seen_values = Vec::new();

    for method in ["GET", "GET", "HEAD", "GET"] {
        let request =
            format!("{method} /note.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let answer = raw(server.addr, request.as_bytes(), Duration::from_secs(5)).await;
        assert_eq!(answer.status(), 200, "{}", answer.text());
        let fields = h1_fields(&answer.text());
        assert_eq!(fields.len(), every.len() + 1, "{fields:?}"); // and Connection: close
        let values = once_each(&fields, &every);
        assert_eq!(values[5], "14");
        seen_values.push(once_each(&fields, &file_fields));
        let body = answer
            .text()
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_owned());
        let expected = if method == "HEAD" {
            ""
        } else {
            "shared fields\n"
        };
        assert_eq!(body.as_deref(), Some(expected));
    }

    let mut h2 = support::h2raw::H2Raw::handshake(server.addr).await;
    for (stream, method) in [(1, "GET"), (3, "HEAD"), (5, "GET")] {
        h2.request(stream, method, "/note.txt", true).await;
        let answer = h2.response(stream).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.headers.len(), every.len(), "{:?}", answer.headers);
        let values = once_each(&answer.headers, &every);
        assert_eq!(values[5], "14");
        seen_values.push(once_each(&answer.headers, &file_fields));
        let expected: &[u8] = if method == "HEAD" {
            b""
        } else {
            b"shared fields\n"
        };
        assert_eq!(answer.body, expected);
    }
    assert!(
        seen_values.windows(2).all(|w| w[0] == w[1]),
        "{seen_values:?}"
    );

    // A request with a condition is answered from the same fields, in a map of its own.
    let etag = &seen_values[0][0];
    let request = format!(
        "GET /note.txt HTTP/1.1\r\nHost: x\r\nIf-None-Match: {etag}\r\nConnection: close\r\n\r\n"
    );
    let answer = raw(server.addr, request.as_bytes(), Duration::from_secs(5)).await;
    assert_eq!(answer.status(), 304, "{}", answer.text());
    let fields = h1_fields(&answer.text());
    assert_eq!(once_each(&fields, &["etag"]), [etag.as_str()]);
    let request =
        "GET /note.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=0-5\r\nConnection: close\r\n\r\n";
    let answer = raw(server.addr, request.as_bytes(), Duration::from_secs(5)).await;
    assert_eq!(answer.status(), 206, "{}", answer.text());
    let fields = h1_fields(&answer.text());
    assert_eq!(
        once_each(&fields, &["content-range", "content-length", "etag"]),
        ["bytes 0-5/14", "6", etag.as_str()]
    );
    assert!(answer.text().ends_with("\r\n\r\nshared"));
    server.stop().await;
}
