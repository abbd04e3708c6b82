//! Soak and graceful shutdown under load, against the real sample binary.
//!
//! Mixed load runs for `GUST_SOAK_SECS` seconds (6 by default, as `cargo test` runs it;
//! `scripts/soak.sh` runs 600 against the release build): HTTP/1.1 keep-alive clients,
//! HTTP/2 by prior knowledge and over TLS (ALPN), WebSocket echo sessions and large uploads
//! to `/dynamic`. Every answer is checked byte for byte; before the stop, any failure is an
//! error and there must be none. The server's RSS is sampled through the run; over a run of
//! two minutes or more it must stay flat (the second half may not grow it beyond a small
//! margin).
//!
//! Then, with the load still running and uploads and a slow download in flight, the server
//! gets SIGTERM. From then on a request may go untaken (a refused connection, a connection
//! closed before any byte of its answer, a stream the GOAWAY left out, a WebSocket message
//! met by the 1001 close), but every request the server took must get its whole answer; new
//! connections must be refused while the in-flight work finishes; and the process must
//! exit 0 within its grace period.

#[path = "../common/mod.rs"]
mod common;

mod h1;
mod http2;
mod load;
mod ws;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;

use common::{hwm_kib, rss_kib, Sample};
use h1::H1Client;
use load::{payload, Content, Exchange, Failure, Phase, Rng, Tally, TallySnapshot};

/// The server's grace period for in-flight work after SIGTERM.
const GRACE: Duration = Duration::from_secs(10);
/// The longest one request may take under load before it counts as a failure.
const EXCHANGE_WITHIN: Duration = Duration::from_secs(60);
/// The size of each upload of the upload clients.
const LARGE_UPLOAD: usize = 8 << 20;
/// The file the slow download reads.
const BIG_FILE: usize = 4 << 20;
/// Streams each HTTP/2 client keeps open at once.
const STREAMS_PER_CONNECTION: usize = 8;
/// How often the server's RSS is sampled.
fn rss_interval(run: Duration) -> Duration {
    (run / 20).clamp(Duration::from_millis(200), Duration::from_secs(10))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mixed_load_then_sigterm_loses_nothing() {
    let run = Duration::from_secs(
        std::env::var("GUST_SOAK_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(6),
    );
    let dir = tempfile::tempdir().expect("temporary directory");
    let www = dir.path().join("www");
    std::fs::create_dir(&www).unwrap();
    let small = Bytes::from_static(b"Hello, gust!\n");
    let big = payload(7, BIG_FILE);
    std::fs::write(www.join("small.txt"), &small).unwrap();
    std::fs::write(www.join("big.bin"), &big).unwrap();
    let cert_dir = dir.path().join("certs");
    let grace = format!("{}s", GRACE.as_secs());
    let mut sample = Sample::start_https(&[
        "--cert-dir",
        cert_dir.to_str().unwrap(),
        "--www",
        www.to_str().unwrap(),
        "--shutdown-grace",
        &grace,
    ]);
    let pid = sample.pid();
    let addr = sample.socket_addr();
    let tls_addr = SocketAddr::from(([127, 0, 0, 1], sample.https_port()));
    let tls = common::tls_connector(&cert_dir.join("ca.pem"), b"h2");

    let page = first_page(addr).await;
    let content = Arc::new(Content { small, big, page });
    let phase = Arc::new(Phase::default());
    let tallies = Tallies::new();
    let mut clients = JoinSet::new();
    let plain = Transport::Plain(addr);
    let secure = Transport::Tls(tls_addr, tls.clone());
    let mut seed = 1u64;
    let mut next_seed = || {
        seed += 1;
        seed
    };
    for _ in 0..4 {
        let (c, t, p, s) = (
            content.clone(),
            tallies.h1.clone(),
            phase.clone(),
            next_seed(),
        );
        clients.spawn(h1_client(addr, c, s, None, t, p));
    }
    let (c, t, p, s) = (
        content.clone(),
        tallies.uploads.clone(),
        phase.clone(),
        next_seed(),
    );
    clients.spawn(h1_client(addr, c, s, Some(LARGE_UPLOAD), t, p));
    for (transport, tally) in [
        (&plain, &tallies.h2c),
        (&plain, &tallies.h2c),
        (&secure, &tallies.h2_tls),
        (&secure, &tallies.h2_tls),
    ] {
        let (c, t, p, s) = (content.clone(), tally.clone(), phase.clone(), next_seed());
        clients.spawn(h2_client(transport.clone(), c, s, None, t, p));
    }
    let (c, t, p, s) = (
        content.clone(),
        tallies.uploads.clone(),
        phase.clone(),
        next_seed(),
    );
    clients.spawn(h2_client(plain.clone(), c, s, Some(LARGE_UPLOAD), t, p));
    for _ in 0..2 {
        let (t, p, s) = (tallies.ws.clone(), phase.clone(), next_seed());
        clients.spawn(ws::echo_sessions(addr, s, t, p));
    }

    // The steady run, with the RSS sampled.
    let started = Instant::now();
    let mut rss = Vec::new();
    while started.elapsed() < run {
        rss.push((started.elapsed(), rss_kib(pid)));
        tokio::time::sleep(rss_interval(run).min(run.saturating_sub(started.elapsed()))).await;
        assert!(sample.is_running(), "the server died under load");
    }
    rss.push((started.elapsed(), rss_kib(pid)));
    let steady: Vec<TallySnapshot> = tallies.all().iter().map(|t| t.snapshot()).collect();

    // Work in flight across the stop: paced uploads over each protocol and a slow download,
    // each about two seconds long, begun half a second before the signal.
    let mut in_flight = JoinSet::new();
    let mut rng = Rng::new(99);
    let h1_upload = Exchange::upload(&mut rng, LARGE_UPLOAD);
    in_flight.spawn(async move {
        let mut client = H1Client::connect(addr).await?;
        let reply = client
            .exchange(&h1_upload, Some(Duration::from_millis(16)))
            .await?;
        h1_upload
            .check(reply.status, &reply.body)
            .map(|()| "HTTP/1.1 upload")
    });
    for (transport, name) in [
        (plain.clone(), "h2c upload"),
        (secure.clone(), "h2 TLS upload"),
    ] {
        let upload = Exchange::upload(&mut rng, LARGE_UPLOAD);
        in_flight.spawn(async move {
            let (client, scheme) = transport.h2().await?;
            let (status, body) = http2::exchange(
                &client,
                &transport.authority(),
                scheme,
                &upload,
                Some(Duration::from_millis(8)),
            )
            .await?;
            upload.check(status, &body).map(|()| name)
        });
    }
    let expected = content.big.clone();
    in_flight.spawn(async move {
        let body = slow_download(addr, "/big.bin").await?;
        if body == expected {
            Ok("HTTP/1.1 slow download")
        } else {
            Err(Failure::Broken(format!(
                "slow download: {} bytes",
                body.len()
            )))
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;

    // VmHWM is updated lazily by the kernel: the samples may have seen a higher figure.
    let peak_kib = rss
        .iter()
        .map(|s| s.1)
        .chain([hwm_kib(pid)])
        .max()
        .unwrap_or(0);
    phase.set_terminating();
    sample.signal("TERM");
    let signalled = Instant::now();
    let probe = probe_until_exit(
        &mut sample,
        addr,
        signalled + GRACE + Duration::from_secs(10),
    )
    .await;
    let exit_after = signalled.elapsed();
    phase.set_done();

    let mut finished = Vec::new();
    while let Some(joined) = in_flight.join_next().await {
        finished.push(joined.expect("in-flight task"));
    }
    let clients_ended = tokio::time::timeout(Duration::from_secs(60), async {
        while clients.join_next().await.is_some() {}
    })
    .await;
    let after: Vec<TallySnapshot> = tallies.all().iter().map(|t| t.snapshot()).collect();

    report(
        run, &steady, &after, &rss, peak_kib, &probe, exit_after, &finished,
    );

    assert!(
        clients_ended.is_ok(),
        "clients did not end after the server exited"
    );
    let status = probe.status.expect("the server exits after SIGTERM");
    assert!(status.success(), "the server exited with {status}");
    assert!(
        exit_after <= GRACE + Duration::from_secs(3),
        "the server took {exit_after:?} to exit; its grace period is {GRACE:?}"
    );
    assert!(
        probe.refused_while_running,
        "no new connection was refused while the server finished its work"
    );
    assert_eq!(
        probe.accepted_after_refusal, 0,
        "connections were accepted after the listener had closed"
    );
    for result in &finished {
        if let Err(failure) = result {
            panic!("work in flight at the stop was lost: {failure}");
        }
    }
    for t in &after {
        assert!(t.ok > 0, "{}: nothing was served", t.name);
        assert_eq!(
            t.errors, 0,
            "{}: errors under load: {:?}",
            t.name, t.examples
        );
        assert_eq!(
            t.lost, 0,
            "{}: answers lost at the stop: {:?}",
            t.name, t.examples
        );
    }
    if run >= Duration::from_secs(120) {
        assert_flat(&rss);
    }
}

/// One tally per kind of client.
struct Tallies {
    h1: Arc<Tally>,
    h2c: Arc<Tally>,
    h2_tls: Arc<Tally>,
    ws: Arc<Tally>,
    uploads: Arc<Tally>,
}

impl Tallies {
    fn new() -> Tallies {
        Tallies {
            h1: Tally::new("HTTP/1.1"),
            h2c: Tally::new("h2c"),
            h2_tls: Tally::new("h2 over TLS"),
            ws: Tally::new("WebSocket echo"),
            uploads: Tally::new("8 MiB uploads"),
        }
    }

    fn all(&self) -> [&Arc<Tally>; 5] {
        [&self.h1, &self.h2c, &self.h2_tls, &self.ws, &self.uploads]
    }
}

/// `GET /` once, as the reference every later page must equal.
async fn first_page(addr: SocketAddr) -> Bytes {
    let mut client = H1Client::connect(addr).await.expect("connect");
    let exchange = Exchange {
        method: "GET",
        target: "/".into(),
        body: None,
        expect: load::Expect::Number,
    };
    let reply = client.exchange(&exchange, None).await.expect("GET /");
    assert_eq!(reply.status, 200);
    assert!(!reply.body.is_empty());
    reply.body.freeze()
}

/// Keeps one HTTP/1.1 connection busy with the everyday mix (or with uploads of
/// `upload` bytes), reconnecting when the server closes it, until the run is done.
async fn h1_client(
    addr: SocketAddr,
    content: Arc<Content>,
    seed: u64,
    upload: Option<usize>,
    tally: Arc<Tally>,
    phase: Arc<Phase>,
) {
    let mut rng = Rng::new(seed);
    let mut client: Option<H1Client> = None;
    while !phase.done() {
        let exchange = match upload {
            Some(len) => Exchange::upload(&mut rng, len),
            None => Exchange::everyday(&mut rng, &content),
        };
        let connection = match client.take().filter(|c| !c.is_closed()) {
            Some(c) => client.insert(c),
            None => match H1Client::connect(addr).await {
                Ok(c) => client.insert(c),
                Err(failure) => {
                    tally.fail(&phase, failure);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let outcome =
            match tokio::time::timeout(EXCHANGE_WITHIN, connection.exchange(&exchange, None)).await
            {
                Err(_) => Err(Failure::Broken(format!(
                    "no answer within {EXCHANGE_WITHIN:?}"
                ))),
                Ok(Err(failure)) => Err(failure),
                Ok(Ok(reply)) => exchange
                    .check(reply.status, &reply.body)
                    .map(|()| reply.body.len()),
            };
        match outcome {
            Ok(received) => tally.ok(received + exchange.body.as_ref().map_or(0, |b| b.len())),
            Err(failure) => {
                client = None;
                tally.fail(&phase, failure);
            }
        }
    }
}

/// Keeps one HTTP/2 connection busy with `STREAMS_PER_CONNECTION` streams at a time,
/// reconnecting when it ends, until the run is done.
async fn h2_client(
    transport: Transport,
    content: Arc<Content>,
    seed: u64,
    upload: Option<usize>,
    tally: Arc<Tally>,
    phase: Arc<Phase>,
) {
    let mut seeds = Rng::new(seed);
    let streams = if upload.is_some() {
        1
    } else {
        STREAMS_PER_CONNECTION
    };
    while !phase.done() {
        let (client, scheme) = match transport.h2().await {
            Ok(connected) => connected,
            Err(failure) => {
                tally.fail(&phase, failure);
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let mut tasks = JoinSet::new();
        for _ in 0..streams {
            let (client, transport, content) = (client.clone(), transport.clone(), content.clone());
            let (tally, phase, mut rng) = (tally.clone(), phase.clone(), Rng::new(seeds.next()));
            tasks.spawn(async move {
                while !phase.done() {
                    let exchange = match upload {
                        Some(len) => Exchange::upload(&mut rng, len),
                        None => Exchange::everyday(&mut rng, &content),
                    };
                    let sent = exchange.body.as_ref().map_or(0, |b| b.len());
                    let authority = transport.authority();
                    let answer = http2::exchange(&client, &authority, scheme, &exchange, None);
                    let outcome = match tokio::time::timeout(EXCHANGE_WITHIN, answer).await {
                        Err(_) => Err(Failure::Broken(format!(
                            "no answer within {EXCHANGE_WITHIN:?}"
                        ))),
                        Ok(Err(failure)) => Err(failure),
                        Ok(Ok((status, body))) => {
                            exchange.check(status, &body).map(|()| body.len())
                        }
                    };
                    match outcome {
                        Ok(received) => tally.ok(received + sent),
                        Err(failure) => {
                            let connection_gone = matches!(failure, Failure::NotTaken(_));
                            tally.fail(&phase, failure);
                            if connection_gone {
                                break;
                            }
                        }
                    }
                }
            });
        }
        while tasks.join_next().await.is_some() {}
    }
}

/// Where an HTTP/2 client connects: h2c by prior knowledge, or TLS with ALPN `h2`.
#[derive(Clone)]
enum Transport {
    Plain(SocketAddr),
    Tls(SocketAddr, tokio_rustls::TlsConnector),
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send + 'static {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send + 'static> Io for T {}

impl Transport {
    fn authority(&self) -> String {
        match self {
            Transport::Plain(addr) => addr.to_string(),
            Transport::Tls(addr, _) => format!("localhost:{}", addr.port()),
        }
    }

    /// A new HTTP/2 connection, its driver spawned, and the scheme its requests name.
    async fn h2(&self) -> Result<(h2::client::SendRequest<Bytes>, &'static str), Failure> {
        let not_taken =
            |what: &str, e: &dyn std::fmt::Display| Failure::NotTaken(format!("{what}: {e}"));
        let (io, scheme): (Box<dyn Io>, _) = match self {
            Transport::Plain(addr) => {
                let tcp = TcpStream::connect(addr)
                    .await
                    .map_err(|e| not_taken("connect", &e))?;
                (Box::new(tcp), "http")
            }
            Transport::Tls(addr, connector) => {
                let tcp = TcpStream::connect(addr)
                    .await
                    .map_err(|e| not_taken("connect", &e))?;
                let name = rustls::pki_types::ServerName::try_from("localhost").expect("a name");
                let tls = connector
                    .connect(name, tcp)
                    .await
                    .map_err(|e| not_taken("TLS", &e))?;
                let alpn = tls.get_ref().1.alpn_protocol().map(<[u8]>::to_vec);
                if alpn.as_deref() != Some(b"h2".as_slice()) {
                    return Err(Failure::Broken(format!("ALPN chose {alpn:?}, not h2")));
                }
                (Box::new(tls), "https")
            }
        };
        let (client, connection) = h2::client::handshake(io)
            .await
            .map_err(|e| not_taken("h2 handshake", &e))?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok((client, scheme))
    }
}

/// GET `target` reading the answer 64 KiB at a time with pauses: a slow client whose
/// download is still running when the server is told to stop.
async fn slow_download(addr: SocketAddr, target: &str) -> Result<Vec<u8>, Failure> {
    let mut tcp = TcpStream::connect(addr)
        .await
        .map_err(|e| Failure::NotTaken(format!("connect: {e}")))?;
    let request = format!("GET {target} HTTP/1.1\r\nHost: soak\r\n\r\n");
    tcp.write_all(request.as_bytes())
        .await
        .map_err(|e| Failure::NotTaken(format!("send: {e}")))?;
    let mut received = Vec::new();
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        let n = match tcp.read(&mut chunk).await {
            Ok(0) => {
                return Err(Failure::Broken(format!(
                    "closed after {} bytes",
                    received.len()
                )))
            }
            Ok(n) => n,
            Err(e) => {
                return Err(Failure::Broken(format!(
                    "after {} bytes: {e}",
                    received.len()
                )))
            }
        };
        received.extend_from_slice(&chunk[..n]);
        if let Some(body) = whole_body(&received)? {
            return Ok(body);
        }
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
}

/// The body of a Content-Length response once all of it is in `received`.
fn whole_body(received: &[u8]) -> Result<Option<Vec<u8>>, Failure> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let head_len = match response.parse(received) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(Failure::Broken(format!("bad head: {e}"))),
    };
    if response.code != Some(200) {
        return Err(Failure::Broken(format!("status {:?}", response.code)));
    }
    let length = response
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("content-length"))
        .and_then(|h| {
            std::str::from_utf8(h.value)
                .ok()?
                .trim()
                .parse::<usize>()
                .ok()
        })
        .ok_or_else(|| Failure::Broken("no Content-Length".into()))?;
    let body = &received[head_len..];
    Ok((body.len() >= length).then(|| body[..length].to_vec()))
}

/// What the listener did after SIGTERM, and how the process ended.
struct Probe {
    status: Option<std::process::ExitStatus>,
    /// A connection was refused while the process was still finishing its work.
    refused_while_running: bool,
    /// Connections that succeeded after one had been refused (must be none).
    accepted_after_refusal: u32,
    /// When the first refusal came, after the signal.
    first_refusal: Option<Duration>,
}

/// Tries a new connection every 20 ms until the server exits (or `deadline`).
async fn probe_until_exit(sample: &mut Sample, addr: SocketAddr, deadline: Instant) -> Probe {
    let signalled = Instant::now();
    let mut probe = Probe {
        status: None,
        refused_while_running: false,
        accepted_after_refusal: 0,
        first_refusal: None,
    };
    while Instant::now() < deadline {
        if let Some(status) = sample.exit_status() {
            probe.status = Some(status);
            return probe;
        }
        match tokio::time::timeout(Duration::from_secs(1), TcpStream::connect(addr)).await {
            Ok(Ok(_)) if probe.first_refusal.is_some() => probe.accepted_after_refusal += 1,
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => {
                if sample.exit_status().is_none() {
                    probe.refused_while_running = true;
                }
                probe.first_refusal.get_or_insert(signalled.elapsed());
            }
            _ => {}
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    probe.status = sample.exit_status();
    probe
}

/// RSS is flat when the second half of the run grew it by at most 5 % of the middle
/// figure plus 2 MiB (allocator noise).
fn assert_flat(rss: &[(Duration, u64)]) {
    let middle = rss[rss.len() / 2].1;
    let end = rss[rss.len() - 1].1;
    let margin = middle / 20 + 2048;
    assert!(
        end <= middle + margin,
        "RSS grew in the second half: {middle} KiB at the middle, {end} KiB at the end"
    );
}

#[allow(clippy::too_many_arguments)]
fn report(
    run: Duration,
    steady: &[TallySnapshot],
    after: &[TallySnapshot],
    rss: &[(Duration, u64)],
    peak_kib: u64,
    probe: &Probe,
    exit_after: Duration,
    finished: &[Result<&'static str, Failure>],
) {
    eprintln!("soak: {run:?} of mixed load, then SIGTERM");
    eprintln!(
        "{:<16} {:>9} {:>11} {:>7} | {:>9} {:>10} {:>5}",
        "client", "ok", "MiB", "errors", "after:ok", "not taken", "lost"
    );
    for (s, a) in steady.iter().zip(after) {
        eprintln!(
            "{:<16} {:>9} {:>11.1} {:>7} | {:>9} {:>10} {:>5}",
            s.name,
            s.ok,
            s.bytes as f64 / (1 << 20) as f64,
            s.errors,
            a.ok - s.ok,
            a.not_taken,
            a.lost
        );
        for example in &a.examples {
            eprintln!("    {example}");
        }
    }
    let at = |i: usize| rss.get(i).map_or(0, |s| s.1);
    let (start, middle, end) = (at(rss.len() / 10), at(rss.len() / 2), at(rss.len() - 1));
    eprintln!(
        "RSS: start {start} KiB, middle {middle} KiB, end {end} KiB, peak {peak_kib} KiB ({} samples)",
        rss.len()
    );
    let curve: Vec<String> = (0..=10)
        .map(|tenth| &rss[(rss.len() - 1) * tenth / 10])
        .map(|(t, kib)| format!("{}s {kib}", t.as_secs()))
        .collect();
    eprintln!("RSS curve (KiB): {}", curve.join(", "));
    eprintln!(
        "stop: first refused connection {:?} after SIGTERM, refused while running: {}, accepted after refusal: {}, exit {:?} after {exit_after:?}",
        probe.first_refusal, probe.refused_while_running, probe.accepted_after_refusal, probe.status
    );
    for result in finished {
        match result {
            Ok(name) => eprintln!("in flight at the stop: {name}: complete"),
            Err(failure) => eprintln!("in flight at the stop: LOST: {failure}"),
        }
    }
}
