//! Attacks over plain HTTP/1.1: slow heads, slow bodies, slow readers, floods of
//! connections and of pipelined requests, oversized and ambiguous requests, half-open
//! connections.

use std::path::Path;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{sleep, Instant};

use crate::harness::{
    connect, many, read_response, read_until_closed, tally_answers, Outcome, Seen, Target,
};

/// Past a timeout the server has this long to act before the test calls it stuck: a
/// liveness bound, far above the timeouts themselves.
pub(crate) const GRACE: Duration = Duration::from_secs(15);

/// Writes `prefix`, then one byte of `filler` every `every`, never finishing, until the server
/// closes the connection or `wait` passes. Returns what the server sent and when it closed.
pub(crate) async fn dribble(
    stream: TcpStream,
    prefix: Vec<u8>,
    filler: u8,
    every: Duration,
    wait: Duration,
) -> (Seen, Duration) {
    let started = Instant::now();
    let (mut rd, mut wr) = stream.into_split();
    let writer = async move {
        if wr.write_all(&prefix).await.is_err() {
            return std::future::pending().await;
        }
        loop {
            sleep(every).await;
            if wr.write_all(&[filler]).await.is_err() {
                return std::future::pending().await;
            }
        }
    };
    tokio::select! {
        seen = read_until_closed(&mut rd, wait) => (seen, started.elapsed()),
        () = writer => unreachable!("the writer only ends by pending"),
    }
}

/// What one attacking connection saw, in a few words: "408 then close", "close", "reset",
/// "still open".
pub(crate) fn describe(seen: &Seen) -> String {
    let end = match (seen.closed, seen.reset) {
        (true, true) => "reset",
        (true, false) => "close",
        (false, _) => "still open",
    };
    match seen.responses() {
        0 => end.to_owned(),
        1 => format!("{} then {end}", seen.status()),
        n => format!("{n} responses, first {}, then {end}", seen.status()),
    }
}

/// Slowloris: `count` connections, half of them sending a request head one byte at a time
/// and never finishing it, half of them saying nothing at all. Each must get 408 and the
/// close at `request_head_timeout` (counted from accept for a connection's first request),
/// while the control client is served on other connections. With `past_max_clients`, there
/// are more of them than slots: the oldest are then closed without an answer to make room
/// for newcomers (the control client among them).
pub(crate) async fn slowloris(
    target: Target,
    count: usize,
    head_timeout: Duration,
    past_max_clients: bool,
) -> Outcome {
    let addr = target.addr;
    let results = many(count, move |i| async move {
        let stream = connect(addr, None).await;
        let prefix = if i % 2 == 0 {
            b"GET /uptime HTTP/1.1\r\nHost: localhost\r\nX-Slow: ".to_vec()
        } else {
            Vec::new()
        };
        // The silent half never writes a byte; the dribbling half one per second.
        let every = if i % 2 == 0 {
            Duration::from_secs(1)
        } else {
            Duration::from_secs(3600)
        };
        dribble(stream, prefix, b'a', every, head_timeout + GRACE).await
    })
    .await;
    for (seen, _) in &results {
        assert!(seen.closed, "slowloris: left open: {}", describe(seen));
        let made_room = past_max_clients && seen.bytes.is_empty();
        if !made_room {
            assert_eq!(seen.status(), 408, "slowloris: {}", describe(seen));
        }
    }
    Outcome {
        connections: count,
        answer: tally_answers(results.iter().map(|(seen, _)| describe(seen))),
        freed_after: results.iter().map(|(_, took)| *took).max(),
    }
}

/// Slow body (R.U.D.Y.): requests that announce a body and send it one byte at a time.
/// Half go to `POST /led` (the server collects the body for the handler: 408 when it
/// stalls), half to the echo `POST /dynamic` (the answer streams at once: cut when the body
/// stalls). Each dribbles for `dribble_for`, then stops without finishing; the server must
/// free it within `inactivity_timeout` of the last byte.
pub(crate) async fn slow_body(target: Target, count: usize, dribble_for: Duration) -> Outcome {
    let addr = target.addr;
    let results = many(count, move |i| async move {
        let path = if i % 2 == 0 { "/led" } else { "/dynamic" };
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n\
             Content-Length: 100000\r\n\r\n"
        );
        let stream = connect(addr, None).await;
        let started = Instant::now();
        let (mut rd, mut wr) = stream.into_split();
        let writer = async move {
            wr.write_all(head.as_bytes()).await.ok()?;
            while started.elapsed() < dribble_for {
                wr.write_all(b" ").await.ok()?;
                sleep(Duration::from_millis(500)).await;
            }
            // Stop sending, keep the connection open.
            std::future::pending::<Option<()>>().await
        };
        let reader = read_until_closed(&mut rd, dribble_for + GRACE);
        tokio::pin!(writer);
        let seen = tokio::select! {
            seen = reader => seen,
            _ = &mut writer => read_until_closed(&mut rd, GRACE).await,
        };
        (path, seen, started.elapsed())
    })
    .await;
    for (path, seen, _) in &results {
        assert!(
            seen.closed,
            "slow body on {path}: not freed: {}",
            describe(seen)
        );
        let expected = if *path == "/led" { 408 } else { 200 };
        assert_eq!(
            seen.status(),
            expected,
            "slow body on {path}: {}",
            describe(seen)
        );
    }
    Outcome {
        connections: count,
        answer: tally_answers(
            results
                .iter()
                .map(|(path, seen, _)| format!("{path}: {}", describe(seen))),
        ),
        freed_after: results.iter().map(|(_, _, took)| *took).max(),
    }
}

/// Makes `dir/big.bin`, `size` bytes, for the slow readers to ask for.
pub(crate) fn big_file(dir: &Path, size: usize) {
    let bytes: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.join("big.bin"), bytes).expect("write big.bin");
}

/// Slow read: clients ask for a large file and read nothing, with a receive buffer of a
/// few KiB, so the response backs up into the server. Each must be dropped once it has
/// taken nothing for `inactivity_timeout` (its descriptor closed), holding meanwhile only
/// the bounded write buffer, not the file. Then the attacker reads what reached it: less
/// than the file. (What the server's kernel still holds for a dropped connection is its to
/// deliver or to give up on: the end may come as a close, a reset, or never.)
pub(crate) async fn slow_read(target: Target, count: usize, file_size: usize) -> Outcome {
    let addr = target.addr;
    let fds_before = target.open_fds();
    let mut streams = Vec::new();
    for _ in 0..count {
        let mut stream = connect(addr, Some(4096)).await;
        stream
            .write_all(b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n")
            .await
            .expect("request");
        streams.push(stream);
    }
    let asked = Instant::now();
    // The server frees each one within its timeout: its descriptor count falls back.
    let freed_after = held_then_freed(&target, fds_before, count, asked, GRACE * 2).await;
    let mut readers = tokio::task::JoinSet::new();
    for mut stream in streams {
        readers.spawn(async move {
            let mut received = 0usize;
            let mut chunk = vec![0u8; 64 * 1024];
            let ended = loop {
                match tokio::time::timeout(Duration::from_secs(3), stream.read(&mut chunk)).await {
                    Ok(Ok(0)) => break "close",
                    Ok(Ok(n)) => received += n,
                    Ok(Err(_)) => break "reset",
                    Err(_) => break "silence",
                }
            };
            (received, ended)
        });
    }
    let mut results = Vec::new();
    while let Some(r) = readers.join_next().await {
        results.push(crate::harness::join(r));
    }
    for (received, _) in &results {
        assert!(
            *received < file_size,
            "slow read: the whole file ({received} bytes) went out to a client that did not read"
        );
    }
    let most = results.iter().map(|(r, _)| *r).max().unwrap_or(0);
    Outcome {
        connections: count,
        answer: format!(
            "{}; at most {} KiB of {} KiB received",
            tally_answers(results.iter().map(|(_, e)| format!("cut, then {e}"))),
            most / 1024,
            file_size / 1024
        ),
        freed_after: Some(freed_after),
    }
}

/// Waits until the server holds the attack's `count` connections (its descriptors `count`
/// over `before`), then until it has let them all go (back to `before`, plus a little for
/// the control client's connection). Returns the time from `since` to then; panics if
/// either takes longer than `bound`.
pub(crate) async fn held_then_freed(
    target: &Target,
    before: usize,
    count: usize,
    since: Instant,
    bound: Duration,
) -> Duration {
    loop {
        let now = target.open_fds();
        if now >= before + count {
            break;
        }
        assert!(
            since.elapsed() < bound,
            "the server holds {now} descriptors, {before} before an attack of {count} \
             connections: they were not all accepted in {bound:?}"
        );
        sleep(Duration::from_millis(20)).await;
    }
    loop {
        let now = target.open_fds();
        if now <= before + 2 {
            return since.elapsed();
        }
        assert!(
            since.elapsed() < bound,
            "the server still holds {now} descriptors ({before} before) after {bound:?}"
        );
        sleep(Duration::from_millis(50)).await;
    }
}

/// Connection flood past `max_clients`: one and a half times `max_clients` connections, half
/// of them making a request and then staying open, idle, the other half connecting and
/// saying nothing. Every request must be answered: idle connections, oldest first, are
/// closed to make room for newcomers; the silent ones are closed then or at
/// `request_head_timeout`.
pub(crate) async fn connection_flood(target: Target, max_clients: usize) -> Outcome {
    let count = max_clients + max_clients / 2;
    let addr = target.addr;
    let started = Instant::now();
    let results = many(count, move |i| async move {
        let mut stream = connect(addr, None).await;
        let opened = Instant::now();
        let answer = if i % 2 == 0 {
            stream
                .write_all(b"GET /uptime HTTP/1.1\r\nHost: localhost\r\n\r\n")
                .await
                .expect("request");
            match tokio::time::timeout(GRACE, read_response(&mut stream)).await {
                Ok(Ok(r)) => format!("{} after {} ms", r.status, opened.elapsed().as_millis()),
                Ok(Err(e)) => e,
                Err(_) => "no answer".to_owned(),
            }
        } else {
            "silent".to_owned()
        };
        // Then idle, until the server closes the connection.
        let seen = read_until_closed(&mut stream, GRACE * 2).await;
        (answer, describe(&seen), opened.elapsed())
    })
    .await;
    let mut slowest = 0;
    for (answer, end, _) in &results {
        if answer != "silent" {
            let ms = answer
                .strip_prefix("200 after ")
                .and_then(|rest| rest.strip_suffix(" ms"))
                .and_then(|ms| ms.parse::<u64>().ok())
                .unwrap_or_else(|| panic!("connection flood: a request was not served: {answer}"));
            slowest = slowest.max(ms);
        }
        assert!(
            end.ends_with("close"),
            "connection flood: never closed: {end}"
        );
    }
    Outcome {
        connections: count,
        answer: format!(
            "{}; slowest answer {slowest} ms; all closed {:.1} s after the first connect",
            tally_answers(results.iter().map(|(answer, end, _)| {
                let asked = if answer == "silent" {
                    "silent"
                } else {
                    "200, idle"
                };
                format!("{asked}, then {end}")
            })),
            started.elapsed().as_secs_f64()
        ),
        freed_after: results.iter().map(|r| r.2).max(),
    }
}

/// One oversized or malformed request kind: what is sent, what must come back.
struct Oversized {
    name: &'static str,
    head: Vec<u8>,
    /// Bytes sent after the head, as fast as the server takes them, to see that it stops
    /// reading rather than buffering them.
    then: Option<u8>,
    status: u16,
}

/// The requests past each limit, for the limits the plan sets.
fn oversized_kinds() -> Vec<Oversized> {
    let mut many_headers = String::from("GET /uptime HTTP/1.1\r\nHost: localhost\r\n");
    for i in 0..40 {
        many_headers.push_str(&format!("X-{i}: v\r\n"));
    }
    many_headers.push_str("\r\n");
    vec![
        Oversized {
            name: "endless header line",
            head: b"GET /uptime HTTP/1.1\r\nHost: localhost\r\nX-Big: ".to_vec(),
            then: Some(b'b'),
            status: 431,
        },
        Oversized {
            name: "endless URL",
            head: b"GET /".to_vec(),
            then: Some(b'u'),
            status: 414,
        },
        Oversized {
            name: "too many headers",
            head: many_headers.into_bytes(),
            then: None,
            status: 431,
        },
        Oversized {
            name: "body past the limit, Content-Length",
            head: b"POST /led HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000000\r\n\r\n"
                .to_vec(),
            then: Some(b'{'),
            status: 413,
        },
        Oversized {
            name: "body past the limit, chunked",
            head: b"POST /led HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n\
                    100000\r\n"
                .to_vec(),
            then: Some(b'{'),
            status: 413,
        },
        Oversized {
            name: "endless chunk-size line",
            head: b"POST /led HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n1"
                .to_vec(),
            then: Some(b'0'),
            status: 400,
        },
        Oversized {
            name: "endless chunk size of zeros",
            head: b"POST /led HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n0"
                .to_vec(),
            then: Some(b'0'),
            status: 400,
        },
        Oversized {
            name: "endless trailer",
            head: b"POST /led HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n\
                    0\r\nX-Trailer: "
                .to_vec(),
            then: Some(b't'),
            status: 400,
        },
        Oversized {
            name: "endless chunk extension",
            head:
                b"POST /led HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n1;a="
                    .to_vec(),
            then: Some(b'x'),
            status: 400,
        },
    ]
}

/// Oversized heads, URLs, header counts and bodies, each sent by many connections at once,
/// each followed by megabytes more as fast as the server takes them: the right status,
/// then the close, and the server reading no more than its limits (and the close's
/// short linger) from each.
pub(crate) async fn oversized(target: Target, total: usize) -> Outcome {
    let kinds = std::sync::Arc::new(oversized_kinds());
    let addr = target.addr;
    let results = many(total, {
        let kinds = kinds.clone();
        move |i| {
            let kinds = kinds.clone();
            async move {
                let kind = &kinds[i % kinds.len()];
                let stream = connect(addr, None).await;
                let started = Instant::now();
                let (mut rd, mut wr) = stream.into_split();
                let head = kind.head.clone();
                let then = kind.then;
                let writer = async move {
                    // The head, then up to 64 MiB more: far past every limit, and past what
                    // the server reads while it lingers, so an endless read would show.
                    let mut written = head.len();
                    if wr.write_all(&head).await.is_err() {
                        return written;
                    }
                    if let Some(byte) = then {
                        let block = vec![byte; 64 * 1024];
                        for _ in 0..1024 {
                            if wr.write_all(&block).await.is_err() {
                                break;
                            }
                            written += block.len();
                        }
                    }
                    written
                };
                let reader = read_until_closed(&mut rd, GRACE);
                let (written, seen) = tokio::join!(writer, reader);
                (i % kinds.len(), seen, written, started.elapsed())
            }
        }
    })
    .await;
    let mut most_written = 0;
    for (kind, seen, written, _) in &results {
        let kind = &kinds[*kind];
        assert_eq!(
            seen.status(),
            kind.status,
            "{}: {}",
            kind.name,
            describe(seen)
        );
        assert_eq!(seen.responses(), 1, "{}: {}", kind.name, describe(seen));
        assert!(seen.closed, "{}: left open", kind.name);
        most_written = most_written.max(*written);
    }
    Outcome {
        connections: total,
        answer: format!(
            "{}; the most one attacker got to write: {} KiB",
            tally_answers(results.iter().map(|(k, seen, _, _)| format!(
                "{}: {}",
                kinds[*k].name,
                describe(seen)
            ))),
            most_written / 1024
        ),
        freed_after: results.iter().map(|r| r.3).max(),
    }
}

/// Ambiguous framing (request smuggling) and malformed heads sent by many connections at
/// once, each with a valid request behind it: 400 (or 501) and the close, and the request
/// behind never answered. `crates/gust/tests/h1_wire.rs` checks each vector against the
/// library; this checks the sample binary under load.
pub(crate) async fn smuggling(target: Target, total: usize) -> Outcome {
    const VECTORS: &[(&str, &[u8], u16)] = &[
        ("CL+TE", b"POST /led HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400),
        ("TE+CL", b"POST /led HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n", 400),
        ("two CL", b"POST /led HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde", 400),
        ("CL list", b"POST /led HTTP/1.1\r\nHost: x\r\nContent-Length: 4, 4\r\n\r\nabcd", 400),
        ("TE chunked twice", b"POST /led HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n", 400),
        ("TE xchunked", b"POST /led HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n0\r\n\r\n", 400),
        ("TE gzip, chunked", b"POST /led HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", 501),
        ("obs-fold", b"GET /uptime HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n", 400),
        ("bare LF", b"GET /uptime HTTP/1.1\nHost: x\n\n", 400),
        ("space before colon", b"GET /uptime HTTP/1.1\r\nHost: x\r\nContent-Length : 0\r\n\r\n", 400),
        ("NUL in header", b"GET /uptime HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n", 400),
        ("no Host", b"GET /uptime HTTP/1.1\r\n\r\n", 400),
        ("chunk size overflow", b"POST /led HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffff1\r\nab\r\n0\r\n\r\n", 400),
        ("HTTP/1.2", b"GET /uptime HTTP/1.2\r\nHost: x\r\n\r\n", 505),
        ("garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", 400),
    ];
    let addr = target.addr;
    let results = many(total, move |i| async move {
        let (name, bytes, status) = VECTORS[i % VECTORS.len()];
        let mut request = bytes.to_vec();
        request.extend_from_slice(b"GET /uptime HTTP/1.1\r\nHost: x\r\n\r\n");
        let mut stream = connect(addr, None).await;
        let started = Instant::now();
        let _ = stream.write_all(&request).await;
        let seen = read_until_closed(&mut stream, GRACE).await;
        (name, status, seen, started.elapsed())
    })
    .await;
    for (name, status, seen, _) in &results {
        assert_eq!(seen.status(), *status, "{name}: {}", describe(seen));
        assert_eq!(
            seen.responses(),
            1,
            "{name}: the request behind was answered"
        );
        assert!(seen.closed, "{name}: left open");
    }
    Outcome {
        connections: total,
        answer: tally_answers(results.iter().map(|(_, _, seen, _)| describe(seen))),
        freed_after: results.iter().map(|r| r.3).max(),
    }
}

/// Pipelining flood: a few connections each write thousands of requests without reading,
/// then read. The server must stop reading while its answers wait (bounded memory), then
/// answer every request, in order, as the client reads (the `/uptime` values of the GET
/// answers never go back).
pub(crate) async fn pipelining_flood(target: Target, connections: usize) -> Outcome {
    let requests = target.scale.pick(3000, 20_000);
    let addr = target.addr;
    let started = Instant::now();
    let results = many(connections, move |i| async move {
        // GET and HEAD alternate between connections: HEAD answers are heads alone, the
        // smallest answer per request byte.
        let request: &[u8] = if i % 2 == 0 {
            b"GET /uptime HTTP/1.1\r\nHost: x\r\n\r\n"
        } else {
            b"HEAD /uptime HTTP/1.1\r\nHost: x\r\n\r\n"
        };
        let stream = connect(addr, Some(4096)).await;
        let (mut rd, mut wr) = stream.into_split();
        let writer = tokio::spawn(async move {
            let all: Vec<u8> = request.repeat(requests);
            wr.write_all(&all)
                .await
                .expect("write the pipelined requests");
            wr
        });
        // Read nothing for a while: the server must stop reading, not buffer the answers.
        sleep(Duration::from_secs(1)).await;
        let mut answered = 0;
        let mut buf = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        let per_answer = if i % 2 == 0 { 12 } else { 0 };
        let mut last_uptime = 0u64;
        while answered < requests {
            match tokio::time::timeout(GRACE, rd.read(&mut chunk)).await {
                Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
                other => panic!("pipelining: {answered}/{requests} answered, then {other:?}"),
            }
            // Count complete answers: a head, then its body of `per_answer` bytes.
            while let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                if buf.len() < end + 4 + per_answer {
                    break;
                }
                assert!(
                    buf.starts_with(b"HTTP/1.1 200 "),
                    "pipelining: {:?}",
                    &buf[..end]
                );
                if per_answer > 0 {
                    let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + per_answer]);
                    let uptime: u64 = body.trim().parse().expect("an uptime");
                    assert!(uptime >= last_uptime, "pipelining: answers out of order");
                    last_uptime = uptime;
                }
                buf.drain(..end + 4 + per_answer);
                answered += 1;
            }
        }
        crate::harness::join(writer.await);
        answered
    })
    .await;
    let answered: usize = results.iter().sum();
    assert_eq!(answered, connections * requests);
    Outcome {
        connections,
        answer: format!(
            "{answered} requests pipelined, {answered} answered 200 in order in {:.1} s",
            started.elapsed().as_secs_f64()
        ),
        freed_after: None,
    }
}

/// Pipelined requests from clients that never read: each writes requests for the large
/// file until its writes block. The server must drop each once it has taken nothing for
/// `inactivity_timeout`.
pub(crate) async fn pipelining_non_reader(target: Target, count: usize) -> Outcome {
    let addr = target.addr;
    let fds_before = target.open_fds();
    let started = Instant::now();
    let mut held = Vec::with_capacity(count);
    for _ in 0..count {
        let mut stream = connect(addr, Some(4096)).await;
        // 35 KB of requests: the kernel takes them all, the server reads them as it answers.
        let requests = b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n".repeat(1000);
        stream
            .write_all(&requests)
            .await
            .expect("the pipelined requests");
        held.push(stream);
    }
    // Nobody reads; the server must let every connection go by itself.
    let freed_after = held_then_freed(&target, fds_before, count, started, GRACE * 3).await;
    // What reached each client before the server gave up: less than two answers.
    let mut most = 0;
    for mut stream in held {
        let seen = read_until_closed(&mut stream, Duration::from_secs(1)).await;
        most = most.max(seen.bytes.len());
    }
    assert!(
        most < 2 * (4 << 20),
        "pipelining without reading: {most} bytes reached a client that did not read"
    );
    Outcome {
        connections: count,
        answer: format!(
            "1000 requests each, never read: all dropped, at most {} KiB reached a client",
            most / 1024
        ),
        freed_after: Some(freed_after),
    }
}

/// Half-open connections: requests followed at once by the client's FIN (the server must
/// still answer, then close), and requests cut by a reset (SO_LINGER 0: the server must
/// let the connection go at once, not wait for a timeout).
pub(crate) async fn half_open(target: Target, count: usize) -> Outcome {
    let addr = target.addr;
    let started = Instant::now();
    let results = many(count, move |i| async move {
        let mut stream = connect(addr, None).await;
        if i % 2 == 0 {
            stream
                .write_all(b"GET /uptime HTTP/1.1\r\nHost: localhost\r\n\r\n")
                .await
                .expect("request");
            stream.shutdown().await.expect("FIN");
            describe(&read_until_closed(&mut stream, GRACE).await)
        } else {
            // Half a request, then a reset.
            stream
                .write_all(b"POST /led HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n{")
                .await
                .expect("request");
            // A zero linger makes the close a reset and never blocks (tokio deprecates
            // SO_LINGER for the blocking close a non-zero linger would make).
            #[allow(deprecated)]
            stream.set_linger(Some(Duration::ZERO)).expect("SO_LINGER");
            drop(stream);
            "reset by the client".to_owned()
        }
    })
    .await;
    for answer in &results {
        assert!(
            answer == "200 then close" || answer == "reset by the client",
            "half-open: {answer}"
        );
    }
    Outcome {
        connections: count,
        answer: tally_answers(results),
        freed_after: Some(started.elapsed()),
    }
}
