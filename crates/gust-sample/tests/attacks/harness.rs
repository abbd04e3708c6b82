//! What every attack shares: the sample started with the limits under test, a control
//! client that keeps asking for `/uptime` on fresh connections while the attack runs, the
//! server's memory and open descriptors sampled meanwhile, and one line of figures per
//! attack.
//!
//! The checks made for every attack, after it:
//! - the server still runs, and a control request made after the attack is answered;
//! - every control request made during the attack was answered 200 within
//!   [`CONTROL_BOUND`] (a liveness bound: an answer at all is what matters, not its speed);
//! - the server's peak resident set (VmHWM) grew less than the attack's memory bound over
//!   the resident set before it (each attack states its bound and why);
//! - the server's open descriptors come back to what they were before the attack within
//!   [`SETTLE_BOUND`]: no connection slot leaks.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinSet;
use tokio::time::{sleep, timeout, Instant};
use tokio_rustls::TlsConnector;

use crate::common::{hwm_kib, rss_kib, Sample};

/// How long one control request may take, connection and TLS handshake included.
pub(crate) const CONTROL_BOUND: Duration = Duration::from_secs(5);
/// The pause between two control requests.
const CONTROL_EVERY: Duration = Duration::from_millis(100);
/// How long the server may take, after an attack ended, to close every connection the attack
/// opened (its timeouts have already passed by then; this covers lingering closes).
const SETTLE_BOUND: Duration = Duration::from_secs(20);
/// Descriptors the server may hold above its count before the attack once it settled: the
/// control client's last connection may still be lingering.
const SETTLE_SLACK: usize = 4;

/// A MiB, in KiB: memory figures are in KiB.
pub(crate) const MIB: u64 = 1024;

/// What the server's peak RSS may grow by, in KiB, while an attack holds `connections` open
/// at once, each also making the server hold `extra_kib` by design (answers it does not
/// read, a WebSocket message being echoed).
///
/// Measured against the release build (2000 connections): a waiting HTTP/1.1 connection
/// costs about 15 KiB (its task's future, 5.5 KiB; its read buffer; its socket's
/// registration), an idle HTTP/2 one 23 KiB, a WebSocket session about 28 KiB. The bound
/// allows 48 KiB per connection, and 16 MiB for allocator slack (glibc's per-thread arenas
/// keep what they have freed) and the debug build's larger frames. A server that buffered
/// what these attacks send would grow by far more: the oversized-request attackers write up
/// to 64 MiB each, the slow readers ask for 32 or 64 MiB each, the pipelining attackers
/// send thousands of requests whose answers would pile up.
pub(crate) fn memory_bound_kib(connections: usize, extra_kib: u64) -> u64 {
    16 * MIB + connections as u64 * (48 + extra_kib)
}

/// Attacks run one at a time: each measures one server process, and the machine's cores
/// are shared by the attack, the server and the control client.
static SERIAL: Mutex<()> = Mutex::new(());

/// How big the attacks are: `GUST_ATTACK_SCALE=full` (the script against the release build),
/// else the short form that `cargo test` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scale {
    Short,
    Full,
}

impl Scale {
    pub(crate) fn get() -> Scale {
        match std::env::var("GUST_ATTACK_SCALE").as_deref() {
            Ok("full") => Scale::Full,
            _ => Scale::Short,
        }
    }

    /// `short` in the short form, `full` in the full one.
    pub(crate) fn pick<T>(self, short: T, full: T) -> T {
        match self {
            Scale::Short => short,
            Scale::Full => full,
        }
    }
}

/// An attack to run: the server's flags and what to expect of it.
pub(crate) struct Plan {
    /// Shown in the figures.
    pub(crate) name: &'static str,
    /// Flags for the sample (`--no-tls` or the HTTPS ones are added by the harness).
    pub(crate) args: Vec<String>,
    /// Start the HTTPS listener too; the control client then uses it.
    pub(crate) https: bool,
    /// Serve this directory for unknown paths (`--www`).
    pub(crate) www: Option<PathBuf>,
    /// The most the peak RSS may exceed the RSS before the attack, in KiB.
    pub(crate) memory_bound_kib: u64,
    /// The limit that stops the attack, for the figures.
    pub(crate) limit: &'static str,
}

impl Plan {
    pub(crate) fn new(name: &'static str, limit: &'static str, args: &[&str]) -> Plan {
        Plan {
            name,
            args: args.iter().map(|s| s.to_string()).collect(),
            https: false,
            www: None,
            memory_bound_kib: memory_bound_kib(0, 0),
            limit,
        }
    }

    pub(crate) fn https(mut self) -> Plan {
        self.https = true;
        self
    }

    pub(crate) fn www(mut self, dir: &Path) -> Plan {
        self.www = Some(dir.to_owned());
        self
    }

    /// The attack holds `connections` open at once: see [`memory_bound_kib`].
    pub(crate) fn holding(mut self, connections: usize) -> Plan {
        self.memory_bound_kib = memory_bound_kib(connections, 0);
        self
    }

    /// The attack holds `connections` open at once, each with `extra_kib` of unread
    /// response bytes in the server's write buffer.
    pub(crate) fn holding_unread(mut self, connections: usize, extra_kib: u64) -> Plan {
        self.memory_bound_kib = memory_bound_kib(connections, extra_kib);
        self
    }
}

/// The server under attack, as the attack sees it.
#[derive(Clone)]
pub(crate) struct Target {
    /// The plain HTTP address.
    pub(crate) addr: SocketAddr,
    /// The HTTPS address and a client configuration trusting its certificate.
    pub(crate) tls: Option<(SocketAddr, TlsConnector)>,
    pub(crate) pid: u32,
    pub(crate) scale: Scale,
}

impl Target {
    /// The HTTPS address (for an attack planned with [`Plan::https`]).
    pub(crate) fn tls_addr(&self) -> SocketAddr {
        self.tls.as_ref().expect("an HTTPS plan").0
    }

    /// A TLS client trusting the server's certificate.
    pub(crate) fn connector(&self) -> TlsConnector {
        self.tls.as_ref().expect("an HTTPS plan").1.clone()
    }

    /// The server's open descriptors now.
    pub(crate) fn open_fds(&self) -> usize {
        open_fds(self.pid)
    }
}

/// What an attack reports about itself.
#[derive(Debug, Default)]
pub(crate) struct Outcome {
    /// Attacking connections opened.
    pub(crate) connections: usize,
    /// What the attackers got, in words ("3000 x 408 then close").
    pub(crate) answer: String,
    /// The longest an attacking connection held on before the server freed it (its close
    /// seen by the attacker), if the attack measures that.
    pub(crate) freed_after: Option<Duration>,
}

/// What the control client saw.
#[derive(Debug, Default)]
struct ControlTally {
    ok: u64,
    total: u64,
    worst_micros: AtomicU64,
    failures: Vec<String>,
}

/// Runs one attack against a fresh sample, with the control client and the samplers going,
/// checks what the module docs list, and prints the figures.
pub(crate) fn run<F, Fut>(plan: Plan, attack: F)
where
    F: FnOnce(Target) -> Fut,
    Fut: Future<Output = Outcome> + Send + 'static,
{
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let scale = Scale::get();
    let certs = tempfile::tempdir().expect("temporary directory");
    let mut args = plan.args.clone();
    if let Some(dir) = &plan.www {
        args.extend(["--www".into(), dir.to_string_lossy().into_owned()]);
    }
    let mut sample = if plan.https {
        args.extend([
            "--cert-dir".into(),
            certs.path().to_string_lossy().into_owned(),
        ]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Sample::start_https(&args)
    } else {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        Sample::start(&args)
    };
    let tls = plan.https.then(|| {
        let addr = SocketAddr::from(([127, 0, 0, 1], sample.https_port()));
        (
            addr,
            crate::common::tls_connector(&certs.path().join("ca.pem"), b"http/1.1"),
        )
    });
    let target = Target {
        addr: sample.socket_addr(),
        tls,
        pid: sample.pid(),
        scale,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let name = plan.name;
    let figures = runtime.block_on(async {
        // Warm up: the first connections allocate what every later one reuses.
        for _ in 0..5 {
            control_once(&target)
                .await
                .unwrap_or_else(|e| panic!("{name}: control before the attack: {e}"));
        }
        let rss_before = rss_kib(target.pid);
        let fds_before = target.open_fds();
        let stop = Arc::new(AtomicBool::new(false));
        let control = tokio::spawn(control_loop(target.clone(), stop.clone()));
        let sampler = tokio::spawn(sample_loop(target.pid, stop.clone()));
        let started = Instant::now();
        let outcome = join(tokio::spawn(attack(target.clone())).await);
        let attack_time = started.elapsed();
        stop.store(true, Ordering::Relaxed);
        let tally = join(control.await);
        let (rss_peak_sampled, fds_peak) = join(sampler.await);
        let settled = settle(&target, fds_before).await;
        control_once(&target)
            .await
            .unwrap_or_else(|e| panic!("{name}: control after the attack: {e}"));
        Figures {
            rss_before,
            rss_peak: hwm_kib(target.pid).max(rss_peak_sampled),
            rss_after: rss_kib(target.pid),
            fds_before,
            fds_peak,
            settled,
            tally,
            outcome,
            attack_time,
        }
    });
    assert!(sample.is_running(), "{name}: the server died");
    figures.print(&plan, scale);
    figures.check(&plan);
}

/// Everything measured around one attack.
struct Figures {
    rss_before: u64,
    rss_peak: u64,
    rss_after: u64,
    fds_before: usize,
    fds_peak: usize,
    /// Descriptors once settled, and how long that took; `None`: they did not come back.
    settled: Result<(usize, Duration), usize>,
    tally: ControlTally,
    outcome: Outcome,
    attack_time: Duration,
}

impl Figures {
    /// One tab-separated `FIGURES` line (scripts/attack.sh makes the table from them), and
    /// the same in words.
    fn print(&self, plan: &Plan, scale: Scale) {
        let worst = Duration::from_micros(self.tally.worst_micros.load(Ordering::Relaxed));
        let freed = self
            .outcome
            .freed_after
            .map_or("-".to_owned(), |d| format!("{:.1} s", d.as_secs_f64()));
        let settled = match self.settled {
            Ok((fds, took)) => format!("{fds} after {:.1} s", took.as_secs_f64()),
            Err(fds) => format!("{fds} (not back)"),
        };
        eprintln!(
            "FIGURES\t{}\t{}\t{}\t{}\t{}\t{}\t{}/{}\t{} ms\t{}\t{}\t{}",
            plan.name,
            self.outcome.connections,
            self.rss_before,
            self.rss_peak,
            self.rss_after,
            self.fds_peak.saturating_sub(self.fds_before),
            self.tally.ok,
            self.tally.total,
            worst.as_millis(),
            freed,
            self.outcome.answer,
            plan.limit,
        );
        eprintln!(
            "{} ({scale:?}): {} attacking connections over {:.1} s; they got: {}; freed after {}. \
             Server VmRSS {} KiB before, peak {} KiB, {} KiB after; descriptors {} before, \
             peak {}, settled at {}. Control: {}/{} answered, slowest {} ms{}",
            plan.name,
            self.outcome.connections,
            self.attack_time.as_secs_f64(),
            self.outcome.answer,
            freed,
            self.rss_before,
            self.rss_peak,
            self.rss_after,
            self.fds_before,
            self.fds_peak,
            settled,
            self.tally.ok,
            self.tally.total,
            worst.as_millis(),
            if self.tally.failures.is_empty() {
                String::new()
            } else {
                format!("; failures: {:?}", self.tally.failures)
            },
        );
    }

    fn check(&self, plan: &Plan) {
        let name = plan.name;
        assert!(
            self.tally.total > 0 && self.tally.failures.is_empty(),
            "{name}: control requests failed during the attack ({}/{} answered): {:?}",
            self.tally.ok,
            self.tally.total,
            self.tally.failures
        );
        let growth = self.rss_peak.saturating_sub(self.rss_before);
        assert!(
            growth < plan.memory_bound_kib,
            "{name}: peak RSS grew by {growth} KiB (before {} KiB, peak {} KiB), bound {} KiB",
            self.rss_before,
            self.rss_peak,
            plan.memory_bound_kib
        );
        if let Err(fds) = self.settled {
            panic!(
                "{name}: the server still holds {fds} descriptors {SETTLE_BOUND:?} after the \
                 attack, {} before it: connections leaked",
                self.fds_before
            );
        }
    }
}

/// Waits until the server's descriptors are back to `before` (plus slack): Ok with the
/// count and the time it took, or Err with the count at the bound.
async fn settle(target: &Target, before: usize) -> Result<(usize, Duration), usize> {
    let started = Instant::now();
    loop {
        let now = target.open_fds();
        if now <= before + SETTLE_SLACK {
            return Ok((now, started.elapsed()));
        }
        if started.elapsed() > SETTLE_BOUND {
            return Err(now);
        }
        sleep(Duration::from_millis(100)).await;
    }
}

/// The control client: `GET /uptime` on a fresh connection every [`CONTROL_EVERY`] until
/// `stop`, over HTTPS when the target has it.
async fn control_loop(target: Target, stop: Arc<AtomicBool>) -> ControlTally {
    let mut tally = ControlTally::default();
    while !stop.load(Ordering::Relaxed) {
        tally.total += 1;
        match control_once(&target).await {
            Ok(took) => {
                tally.ok += 1;
                tally
                    .worst_micros
                    .fetch_max(took.as_micros() as u64, Ordering::Relaxed);
            }
            Err(e) => tally.failures.push(e),
        }
        sleep(CONTROL_EVERY).await;
    }
    tally
}

/// One control request: connect (and handshake), `GET /uptime`, a 200 with its body, all
/// within [`CONTROL_BOUND`]. Returns how long it took.
pub(crate) async fn control_once(target: &Target) -> Result<Duration, String> {
    let started = Instant::now();
    let exchange = async {
        match &target.tls {
            Some((addr, connector)) => {
                let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
                let tls = connector
                    .connect(localhost(), tcp)
                    .await
                    .map_err(|e| format!("TLS handshake: {e}"))?;
                get_uptime(tls).await
            }
            None => {
                let tcp = TcpStream::connect(target.addr)
                    .await
                    .map_err(|e| e.to_string())?;
                get_uptime(tcp).await
            }
        }
    };
    match timeout(CONTROL_BOUND, exchange).await {
        Ok(Ok(())) => Ok(started.elapsed()),
        Ok(Err(e)) => Err(format!("after {:?}: {e}", started.elapsed())),
        Err(_) => Err(format!("no answer within {CONTROL_BOUND:?}")),
    }
}

async fn get_uptime<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S) -> Result<(), String> {
    stream
        .write_all(b"GET /uptime HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .await
        .map_err(|e| format!("write: {e}"))?;
    let response = read_response(&mut stream).await?;
    if response.status != 200 {
        return Err(format!("status {}", response.status));
    }
    let body = String::from_utf8_lossy(&response.body);
    body.trim()
        .parse::<u64>()
        .map(|_| ())
        .map_err(|_| format!("body {body:?}"))
}

/// One HTTP/1.1 response with a Content-Length body.
#[derive(Debug)]
pub(crate) struct Response {
    pub(crate) status: u16,
    pub(crate) body: Vec<u8>,
}

/// Reads one response whose body has a Content-Length (every answer the attacks expect:
/// `/uptime`, and the server's error answers).
pub(crate) async fn read_response<S: AsyncRead + Unpin>(
    stream: &mut S,
) -> Result<Response, String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        if buf.len() > 64 * 1024 {
            return Err("response head too long".into());
        }
        match stream.read(&mut chunk).await {
            Ok(0) => return Err(format!("closed after {} bytes", buf.len())),
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) => return Err(format!("read: {e}")),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| format!("no status in {head:?}"))?;
    let length: usize = header(&head, "content-length")
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| format!("no Content-Length in {head:?}"))?;
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        match stream.read(&mut chunk).await {
            Ok(0) => return Err(format!("body cut at {} of {length} bytes", body.len())),
            Ok(n) => body.extend_from_slice(&chunk[..n]),
            Err(e) => return Err(format!("read body: {e}")),
        }
    }
    body.truncate(length);
    Ok(Response { status, body })
}

/// A header's value in a response head.
pub(crate) fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// Samples the server's VmRSS and descriptors every 50 ms until `stop`: the peaks.
async fn sample_loop(pid: u32, stop: Arc<AtomicBool>) -> (u64, usize) {
    let (mut rss, mut fds) = (0, 0);
    while !stop.load(Ordering::Relaxed) {
        rss = rss.max(rss_kib(pid));
        fds = fds.max(open_fds(pid));
        sleep(Duration::from_millis(50)).await;
    }
    (rss, fds)
}

/// The open descriptors of process `pid` (its sockets, listeners and a few more).
pub(crate) fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|dir| dir.count())
        .unwrap_or_else(|e| panic!("read /proc/{pid}/fd: {e}"))
}

/// The name the development certificate is made for.
pub(crate) fn localhost() -> ServerName<'static> {
    ServerName::try_from("localhost").expect("a DNS name")
}

/// A task's result; its panic, if it panicked, goes on as this thread's.
pub(crate) fn join<T>(result: Result<T, tokio::task::JoinError>) -> T {
    match result {
        Ok(v) => v,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("task failed: {e}"),
    }
}

/// Runs `count` copies of `one` at once, opening them `per_batch` at a time (so that the
/// kernel's accept queue is not overrun while the server accepts), and collects results.
pub(crate) async fn many<T, F, Fut>(count: usize, one: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
{
    const PER_BATCH: usize = 100;
    let mut set = JoinSet::new();
    for i in 0..count {
        set.spawn(one(i));
        if i % PER_BATCH == PER_BATCH - 1 {
            sleep(Duration::from_millis(10)).await;
        }
    }
    let mut results = Vec::with_capacity(count);
    while let Some(r) = set.join_next().await {
        results.push(join(r));
    }
    results
}

/// Connects to `addr`, with a small receive buffer when asked (a client that does not
/// read then holds little in its kernel, and the server's bytes wait on the server's side).
pub(crate) async fn connect(addr: SocketAddr, recv_buffer: Option<u32>) -> TcpStream {
    let socket = TcpSocket::new_v4().expect("socket");
    if let Some(size) = recv_buffer {
        socket.set_recv_buffer_size(size).expect("SO_RCVBUF");
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    // Thousands of connects at once may see the accept queue full for a moment; the kernel
    // then retries the SYN itself, so only a hard error ends the attempt.
    match timeout(
        deadline.saturating_duration_since(Instant::now()),
        socket.connect(addr),
    )
    .await
    {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => panic!("connect to {addr}: {e}"),
        Err(_) => panic!("connect to {addr}: no answer in 30 s"),
    }
}

/// How a connection looked from the client's side once it stopped.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    /// Bytes received.
    pub(crate) bytes: Vec<u8>,
    /// The server closed (EOF) or reset the connection.
    pub(crate) closed: bool,
    /// It was a reset.
    pub(crate) reset: bool,
}

impl Seen {
    /// The status code of the first response, 0 if none.
    pub(crate) fn status(&self) -> u16 {
        let text = String::from_utf8_lossy(&self.bytes);
        text.strip_prefix("HTTP/1.1 ")
            .and_then(|rest| rest.get(..3))
            .and_then(|code| code.parse().ok())
            .unwrap_or(0)
    }

    /// How many responses (status lines) arrived.
    pub(crate) fn responses(&self) -> usize {
        self.bytes.windows(9).filter(|w| w == b"HTTP/1.1 ").count()
    }
}

/// Reads until the server closes the connection or `wait` passes.
pub(crate) async fn read_until_closed<R: AsyncRead + Unpin>(rd: &mut R, wait: Duration) -> Seen {
    let deadline = Instant::now() + wait;
    let mut seen = Seen::default();
    let mut chunk = [0u8; 8192];
    loop {
        match tokio::time::timeout_at(deadline, rd.read(&mut chunk)).await {
            Ok(Ok(0)) => {
                seen.closed = true;
                return seen;
            }
            Ok(Ok(n)) => seen.bytes.extend_from_slice(&chunk[..n]),
            Ok(Err(_)) => {
                seen.closed = true;
                seen.reset = true;
                return seen;
            }
            Err(_) => return seen,
        }
    }
}

/// Counts equal answers: "120 x 408, 3 x closed".
pub(crate) fn tally_answers(answers: impl IntoIterator<Item = String>) -> String {
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for a in answers {
        *counts.entry(a).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|(answer, n)| format!("{n} x {answer}"))
        .collect::<Vec<_>>()
        .join(", ")
}
