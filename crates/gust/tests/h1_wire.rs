//! HTTP/1.1 on the wire: a real server on port 0, raw bytes in, raw bytes out. Every
//! malformed or hostile input here is something no ordinary client would send.

mod support;

use std::time::Duration;

use gust::Limits;
use support::{basic, raw, read_all, Raw, TestServer};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_millis(1500);

async fn exchange(request: &[u8]) -> Raw {
    let server = TestServer::start(basic(Limits::default())).await;
    let seen = raw(server.addr, request, WAIT).await;
    server.stop().await;
    seen
}

fn header<'a>(text: &'a str, name: &str) -> Option<&'a str> {
    let head = text.split("\r\n\r\n").next()?;
    head.lines().skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[tokio::test]
async fn keep_alive_serves_several_requests_on_one_connection() {
    let server = TestServer::start(basic(Limits::default())).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    for _ in 0..3 {
        stream
            .write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let seen = read_all(&mut stream, Duration::from_millis(300)).await;
        assert!(!seen.closed, "connection stays open: {}", seen.text());
        assert_eq!(seen.status(), 200);
        assert!(seen.text().ends_with("\r\n\r\nhello\n"), "{}", seen.text());
        assert_eq!(header(&seen.text(), "content-length"), Some("6"));
        assert!(header(&seen.text(), "date").is_some_and(|d| d.ends_with("GMT")));
        assert_eq!(header(&seen.text(), "server"), Some("gust"));
    }
    server.stop().await;
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order() {
    let seen = exchange(
        b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n\
          POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nfirst\
          GET /missing HTTP/1.1\r\nHost: x\r\n\r\n\
          POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 6\r\nConnection: close\r\n\r\nsecond",
    )
    .await;
    assert_eq!(seen.statuses(), vec![200, 200, 404, 200], "{}", seen.text());
    let text = seen.text();
    let hello = text.find("hello\n").unwrap();
    let first = text.find("first").unwrap();
    let second = text.find("second").unwrap();
    assert!(hello < first && first < second);
    assert!(seen.closed);
}

#[tokio::test]
async fn connection_close_is_honoured() {
    let seen = exchange(b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
    assert_eq!(seen.status(), 200);
    assert_eq!(header(&seen.text(), "connection"), Some("close"));
    assert!(seen.closed);
}

#[tokio::test]
async fn http10_client_gets_a_close_delimited_or_sized_answer() {
    let seen = exchange(b"GET /hello HTTP/1.0\r\n\r\n").await;
    assert_eq!(seen.status(), 200);
    assert!(seen.text().ends_with("hello\n"));
    assert!(seen.closed, "HTTP/1.0 without keep-alive closes");

    // A streamed body of unknown length cannot be chunked for 1.0: it ends at close.
    let seen = exchange(b"POST /echo HTTP/1.0\r\nContent-Length: 4\r\n\r\nabcd").await;
    assert_eq!(seen.status(), 200);
    assert!(
        header(&seen.text(), "transfer-encoding").is_none(),
        "{}",
        seen.text()
    );
    assert!(seen.text().ends_with("\r\n\r\nabcd"));
    assert!(seen.closed);

    let server = TestServer::start(basic(Limits::default())).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        .await
        .unwrap();
    let seen = read_all(&mut stream, Duration::from_millis(300)).await;
    assert!(!seen.closed);
    assert_eq!(header(&seen.text(), "connection"), Some("keep-alive"));
    server.stop().await;
}

#[tokio::test]
async fn head_has_the_get_headers_and_no_body() {
    let seen = exchange(b"HEAD /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
    assert_eq!(seen.status(), 200);
    assert_eq!(header(&seen.text(), "content-length"), Some("6"));
    assert!(seen.text().ends_with("\r\n\r\n"), "{}", seen.text());
}

#[tokio::test]
async fn chunked_request_with_extensions_and_trailers_is_echoed() {
    let seen = exchange(
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
          5;name=value;quoted=\"a b\"\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: yes\r\n\r\n",
    )
    .await;
    assert_eq!(seen.status(), 200, "{}", seen.text());
    assert_eq!(header(&seen.text(), "transfer-encoding"), Some("chunked"));
    let body = seen.text().split_once("\r\n\r\n").unwrap().1.to_owned();
    let decoded: String = body
        .split("\r\n")
        .collect::<Vec<_>>()
        .chunks(2)
        .filter(|pair| pair.len() == 2)
        .map(|pair| pair[1])
        .collect();
    assert_eq!(decoded, "hello, world");
}

#[tokio::test]
async fn expect_100_continue_gets_continue_before_the_body() {
    let server = TestServer::start(basic(Limits::default())).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n",
        )
        .await
        .unwrap();
    let first = read_all(&mut stream, Duration::from_millis(500)).await;
    assert!(
        first.text().starts_with("HTTP/1.1 100 Continue\r\n\r\n"),
        "{}",
        first.text()
    );
    stream.write_all(b"ping").await.unwrap();
    let rest = read_all(&mut stream, Duration::from_millis(500)).await;
    let all = format!("{}{}", first.text(), rest.text());
    let final_response = all.strip_prefix("HTTP/1.1 100 Continue\r\n\r\n").unwrap();
    assert!(final_response.starts_with("HTTP/1.1 200 OK\r\n"), "{all}");
    assert!(
        final_response.ends_with("\r\n\r\n4\r\nping\r\n0\r\n\r\n"),
        "{all}"
    );

    // A handler that answers without reading gets no 100 Continue sent on its behalf.
    stream
        .write_all(
            b"GET /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n",
        )
        .await
        .unwrap();
    let answer = read_all(&mut stream, Duration::from_millis(500)).await;
    assert!(
        answer.text().starts_with("HTTP/1.1 200 OK\r\n"),
        "{}",
        answer.text()
    );
    assert!(!answer.text().contains("100 Continue"));
    assert_eq!(header(&answer.text(), "connection"), Some("close"));
    server.stop().await;
}

#[tokio::test]
async fn options_star_and_options_on_a_resource_list_allowed_methods() {
    let seen = exchange(b"OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
    assert_eq!(seen.status(), 204);
    assert!(header(&seen.text(), "allow").unwrap().contains("GET"));
    let seen = exchange(b"OPTIONS /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
    assert_eq!(seen.status(), 204);
    assert_eq!(header(&seen.text(), "allow"), Some("GET, HEAD, OPTIONS"));
}

#[tokio::test]
async fn wrong_methods_and_paths() {
    let seen = exchange(b"DELETE /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
    assert_eq!(seen.status(), 405);
    assert_eq!(header(&seen.text(), "allow"), Some("GET, HEAD, OPTIONS"));
    let seen = exchange(b"BREW /hello HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(seen.status(), 501);
    assert!(seen.closed);
    let seen =
        exchange(b"GET /nothing-here HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
    assert_eq!(seen.status(), 404);
}

/// Each request-smuggling vector: 400 and the connection closed, and nothing after it runs.
#[tokio::test]
async fn smuggling_vectors_get_400_and_close() {
    let vectors: &[(&str, &[u8])] = &[
        ("CL and TE", b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        ("TE and CL", b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n"),
        ("repeated CL", b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 4\r\n\r\nabcd"),
        ("differing CL", b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde"),
        ("CL list", b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4, 4\r\n\r\nabcd"),
        ("CL sign", b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: +4\r\n\r\nabcd"),
        ("TE not chunked last", b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n"),
        ("TE unknown only", b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n"),
        ("TE on 1.0", b"POST /echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        ("bad chunk size", b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n"),
        ("chunk size with 0x", b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n"),
        ("chunk size overflow", b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff1\r\nhello\r\n0\r\n\r\n"),
        ("bare CR in header", b"GET /hello HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n"),
        ("bare LF line end", b"GET /hello HTTP/1.1\nHost: x\n\n"),
        ("obs-fold", b"GET /hello HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n  b\r\n\r\n"),
        ("space before colon", b"GET /hello HTTP/1.1\r\nHost: x\r\nContent-Length : 0\r\n\r\n"),
        ("missing Host", b"GET /hello HTTP/1.1\r\n\r\n"),
        ("two Hosts", b"GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
    ];
    // `/form` reads the whole body before answering, so a broken body is seen before any
    // response starts and can still be answered 400 (see the streaming case below).
    let service = basic(Limits::default()).resource(
        gust::Resource::dynamic("/form", |_req: gust::Request| async {
            gust::Response::new(gust::Body::from("read"))
        })
        .methods([http::Method::POST])
        .buffered_body(),
    );
    let server = TestServer::start(service).await;
    for (name, bytes) in vectors {
        let request = String::from_utf8_lossy(bytes).replace("POST /echo", "POST /form");
        let bytes = request.as_bytes();
        // A second, valid request rides behind the bad one: it must never be answered.
        let mut request = bytes.to_vec();
        request.extend_from_slice(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
        let seen = raw(server.addr, &request, WAIT).await;
        assert_eq!(seen.status(), 400, "{name}: {}", seen.text());
        assert_eq!(
            seen.statuses().len(),
            1,
            "{name}: smuggled request answered: {}",
            seen.text()
        );
        assert!(seen.closed, "{name}: connection left open");
    }
    // The server is still fine.
    let seen = raw(
        server.addr,
        b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        WAIT,
    )
    .await;
    assert_eq!(seen.status(), 200);
    server.stop().await;
}

/// A body that is broken from its first bytes gets 400 even from a streaming handler: the
/// bytes already read are checked before a streamed answer starts.
#[tokio::test]
async fn a_broken_chunk_read_with_the_head_gets_400() {
    let seen = exchange(
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n\
          5\r\nhello\r\nzz\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await;
    assert_eq!(seen.status(), 400, "{}", seen.text());
    assert_eq!(seen.statuses().len(), 1, "{}", seen.text());
    assert!(seen.closed);
}

/// A streaming handler has answered before the broken chunk arrives: the response is cut
/// and the connection closed; nothing behind the broken chunk is ever parsed as a request.
#[tokio::test]
async fn a_broken_chunk_under_a_streaming_answer_aborts_the_connection() {
    let server = TestServer::start(basic(Limits::default())).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n",
        )
        .await
        .unwrap();
    let started = read_all(&mut stream, Duration::from_millis(300)).await;
    assert_eq!(started.status(), 200, "{}", started.text());
    stream
        .write_all(b"zz\r\nGET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let rest = read_all(&mut stream, WAIT).await;
    assert!(rest.closed);
    let all = format!("{}{}", started.text(), rest.text());
    assert_eq!(
        Raw {
            bytes: all.clone().into_bytes(),
            closed: true
        }
        .statuses()
        .len(),
        1,
        "{all}"
    );
    assert!(
        !all.ends_with("0\r\n\r\n"),
        "a cut body must not look complete: {all}"
    );
    server.stop().await;
}

#[tokio::test]
async fn chunk_sizes_may_have_leading_zeros() {
    let seen = exchange(
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
          000000000000000000005\r\nhello\r\n0\r\n\r\n",
    )
    .await;
    assert_eq!(seen.status(), 200, "{}", seen.text());
    assert!(seen.text().contains("\r\nhello\r\n"), "{}", seen.text());
}

#[tokio::test]
async fn a_coding_before_chunked_is_not_implemented() {
    let seen = exchange(
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    )
    .await;
    assert_eq!(seen.status(), 501);
    assert!(seen.closed);
}

#[tokio::test]
async fn oversized_url_and_head_are_refused() {
    let limits = Limits {
        max_url_length: 64,
        client_buffer_size: 1024,
        max_headers: 10,
        ..Limits::default()
    };
    let server = TestServer::start(basic(limits)).await;
    let long_url = format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(100));
    let seen = raw(server.addr, long_url.as_bytes(), WAIT).await;
    assert_eq!(seen.status(), 414, "{}", seen.text());
    assert!(seen.closed);

    let big_header = format!(
        "GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
        "b".repeat(2000)
    );
    let seen = raw(server.addr, big_header.as_bytes(), WAIT).await;
    assert_eq!(seen.status(), 431, "{}", seen.text());
    assert!(seen.closed);

    let mut many = String::from("GET /hello HTTP/1.1\r\nHost: x\r\n");
    for i in 0..20 {
        many.push_str(&format!("X-{i}: v\r\n"));
    }
    many.push_str("\r\n");
    let seen = raw(server.addr, many.as_bytes(), WAIT).await;
    assert_eq!(seen.status(), 431, "{}", seen.text());
    server.stop().await;
}

#[tokio::test]
async fn buffered_body_over_the_limit_gets_413() {
    use gust::{Body, Request, Resource, Response};
    let limits = Limits {
        max_body_size: 16,
        ..Limits::default()
    };
    let builder = support::builder(limits).resource(
        Resource::dynamic("/form", |req: Request| async move {
            let body = req.into_body().collect(u64::MAX).await.unwrap_or_default();
            Response::new(Body::full(body))
        })
        .methods([http::Method::POST])
        .buffered_body(),
    );
    let server = TestServer::start(builder).await;
    let seen = raw(
        server.addr,
        b"POST /form HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nsmall",
        WAIT,
    )
    .await;
    assert_eq!(seen.status(), 200);
    assert!(seen.text().ends_with("small"));
    let seen = raw(
        server.addr,
        b"POST /form HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n",
        WAIT,
    )
    .await;
    assert_eq!(seen.status(), 413, "{}", seen.text());
    // The rest of a body too big to throw away is not waited for: the answer says close.
    let huge = raw(
        server.addr,
        b"POST /form HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000\r\n\r\nhello",
        WAIT,
    )
    .await;
    assert_eq!(huge.status(), 413, "{}", huge.text());
    assert_eq!(
        header(&huge.text(), "connection"),
        Some("close"),
        "{}",
        huge.text()
    );
    assert!(huge.closed);
    let chunked = format!(
        "POST /form HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n20\r\n{}\r\n0\r\n\r\n",
        "z".repeat(32)
    );
    let seen = raw(server.addr, chunked.as_bytes(), WAIT).await;
    assert_eq!(seen.status(), 413, "{}", seen.text());
    server.stop().await;
}

#[tokio::test]
async fn slowloris_is_cut_off_while_others_are_served() {
    let limits = Limits {
        request_head_timeout: Duration::from_secs(1),
        ..Limits::default()
    };
    let server = TestServer::start(basic(limits)).await;
    let addr = server.addr;
    let trickler = tokio::spawn(async move {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let started = std::time::Instant::now();
        for byte in b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n" {
            if stream.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
            if started.elapsed() > Duration::from_secs(5) {
                break;
            }
        }
        (
            read_all(&mut stream, Duration::from_secs(3)).await,
            started.elapsed(),
        )
    });
    // Meanwhile another client is served promptly.
    for _ in 0..5 {
        let seen = raw(
            addr,
            b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
            WAIT,
        )
        .await;
        assert_eq!(seen.status(), 200);
    }
    let (seen, elapsed) = trickler.await.unwrap();
    assert_eq!(seen.status(), 408, "{}", seen.text());
    assert!(seen.closed);
    assert!(
        elapsed < Duration::from_secs(8),
        "cut off after {elapsed:?}"
    );
    server.stop().await;
}

#[tokio::test]
async fn idle_connections_are_closed_after_the_inactivity_timeout() {
    let limits = Limits {
        inactivity_timeout: Duration::from_millis(500),
        ..Limits::default()
    };
    let server = TestServer::start(basic(limits)).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let seen = read_all(&mut stream, Duration::from_secs(5)).await;
    assert_eq!(seen.status(), 200);
    assert!(seen.closed, "idle connection was not closed");
    server.stop().await;
}

/// Past max_clients, with every connection busy (here: a request whose body is still
/// arriving), the next client waits for a slot.
#[tokio::test]
async fn the_next_client_past_max_clients_waits_for_a_busy_slot() {
    let limits = Limits {
        max_clients: 1,
        ..Limits::default()
    };
    let server = TestServer::start(basic(limits)).await;
    let mut first = TcpStream::connect(server.addr).await.unwrap();
    first
        .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhello")
        .await
        .unwrap();
    let started = read_all(&mut first, Duration::from_millis(300)).await;
    assert_eq!(started.status(), 200, "{}", started.text());

    // The second connection is accepted by the kernel but not served while the first lives,
    // however long it waits.
    let mut second = TcpStream::connect(server.addr).await.unwrap();
    second
        .write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let waiting = read_all(&mut second, Duration::from_millis(2500)).await;
    assert!(
        waiting.bytes.is_empty(),
        "served past max_clients: {}",
        waiting.text()
    );

    // The first finishes its body and leaves: the second is served.
    first.write_all(b"world").await.unwrap();
    let rest = read_all(&mut first, Duration::from_millis(300)).await;
    assert!(rest.text().contains("world"), "{}", rest.text());
    drop(first);
    let served = read_all(&mut second, Duration::from_secs(3)).await;
    assert_eq!(served.status(), 200);
    server.stop().await;
}

/// Past max_clients, a connection that has been sending one request head for over a second
/// (a slowloris) makes room for a new client like an idle one.
#[tokio::test]
async fn a_full_server_closes_a_slow_head_for_a_new_client() {
    let limits = Limits {
        max_clients: 1,
        ..Limits::default()
    };
    let server = TestServer::start(basic(limits)).await;
    let addr = server.addr;
    let slow = tokio::spawn(async move {
        let mut slow = TcpStream::connect(addr).await.unwrap();
        slow.write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        // A byte every 200 ms: each one would reset a clock counted from the last byte.
        for _ in 0..50 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if slow.write_all(b"X").await.is_err() {
                break;
            }
        }
        read_all(&mut slow, Duration::from_secs(3)).await
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let newcomer = raw(
        server.addr,
        b"GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        Duration::from_secs(3),
    )
    .await;
    assert_eq!(newcomer.status(), 200, "{}", newcomer.text());
    let slow = slow.await.unwrap();
    assert!(
        slow.closed && slow.bytes.is_empty(),
        "the slow head: {}",
        slow.text()
    );
    server.stop().await;
}

/// Past max_clients, the connection idle longest (between requests, or before its first
/// byte) is closed to make room: the next client is served at once, not after the idle
/// ones' timeouts.
#[tokio::test]
async fn a_full_server_closes_its_longest_idle_connection_for_a_new_client() {
    let limits = Limits {
        max_clients: 2,
        ..Limits::default()
    };
    let server = TestServer::start(basic(limits)).await;
    let mut oldest = TcpStream::connect(server.addr).await.unwrap();
    oldest
        .write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    assert_eq!(
        read_all(&mut oldest, Duration::from_millis(300))
            .await
            .status(),
        200
    );
    // Connected, and silent.
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    // Only a connection idle for a second may be closed (one just accepted or just
    // answered may have its next request on the way).
    tokio::time::sleep(Duration::from_millis(1200)).await;

    // Two newcomers that stay connected, each served at once: the two idle connections
    // make room, oldest first.
    let mut newcomers = Vec::new();
    for (idle, what) in [
        (&mut oldest, "the oldest idle connection"),
        (&mut silent, "the silent one"),
    ] {
        let mut newcomer = TcpStream::connect(server.addr).await.unwrap();
        newcomer
            .write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let served = read_all(&mut newcomer, Duration::from_millis(300)).await;
        assert_eq!(served.status(), 200, "{}", served.text());
        let closed = read_all(idle, Duration::from_secs(3)).await;
        assert!(
            closed.closed && closed.bytes.is_empty(),
            "{what}: {}",
            closed.text()
        );
        newcomers.push(newcomer);
    }
    server.stop().await;
}

/// A body that stops arriving before any answer started gets 408, then the close.
#[tokio::test]
async fn a_stalled_body_gets_408() {
    let limits = Limits {
        inactivity_timeout: Duration::from_millis(500),
        ..Limits::default()
    };
    let service = basic(limits).resource(
        gust::Resource::dynamic("/form", |_req: gust::Request| async {
            gust::Response::new(gust::Body::from("read"))
        })
        .methods([http::Method::POST])
        .buffered_body(),
    );
    let server = TestServer::start(service).await;
    let seen = raw(
        server.addr,
        b"POST /form HTTP/1.1\r\nHost: x\r\nContent-Length: 30\r\n\r\n{",
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(seen.status(), 408, "{}", seen.text());
    assert!(seen.closed);
    server.stop().await;
}

/// Reads one answer of `/hello` (a short body ending in "hello\n"), within 5 s.
async fn read_answer_of_hello(stream: &mut TcpStream) -> String {
    use tokio::io::AsyncReadExt;
    let mut seen = Vec::new();
    let mut buf = [0u8; 1024];
    while !seen.ends_with(b"\r\n\r\nhello\n") {
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("an answer within 5 s")
            .expect("read");
        assert!(n > 0, "closed: {}", String::from_utf8_lossy(&seen));
        seen.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(seen).expect("text")
}

/// Keep-alive connections waiting between requests hold no task of their own (they are
/// parked with the listener): each is served again when its client sends, more than once,
/// and all close at once when the server stops, without waiting for the grace period.
#[tokio::test]
async fn many_connections_between_requests_are_served_again_and_closed_on_stop() {
    const CONNECTIONS: usize = 40;
    let limits = Limits {
        shutdown_grace: Duration::from_secs(60),
        ..Limits::default()
    };
    let server = TestServer::start(basic(limits)).await;
    let mut clients = Vec::new();
    for _ in 0..CONNECTIONS {
        clients.push(TcpStream::connect(server.addr).await.unwrap());
    }
    for round in 0..3 {
        for client in &mut clients {
            client
                .write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
                .await
                .unwrap();
        }
        for client in &mut clients {
            let answer = read_answer_of_hello(client).await;
            assert!(
                answer.starts_with("HTTP/1.1 200 "),
                "round {round}: {answer}"
            );
        }
        // Long past the time a connection keeps its buffers between requests.
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let stopped = tokio::spawn(server.stop());
    for client in &mut clients {
        let closed = read_all(client, Duration::from_secs(10)).await;
        assert!(
            closed.closed && closed.bytes.is_empty(),
            "an idle connection outlived the stop: {}",
            closed.text()
        );
    }
    tokio::time::timeout(Duration::from_secs(10), stopped)
        .await
        .expect("the stop did not wait for the grace period")
        .unwrap();
}
