//! `idle-conns`: the memory a server spends per idle connection, for `scripts/bench.sh`.
//!
//! It measures the resident memory (VmRSS) of a server's whole process tree (`--pid` and
//! all its descendants, so nginx's master and workers count together), opens `--count`
//! connections that each make one request, read the whole response and then stay open
//! doing nothing, waits `--settle-seconds`, and measures again. Over HTTP/1.1 a
//! connection sends one keep-alive GET; over HTTP/2 (h2c prior knowledge, by the `h2`
//! crate) it sends the preface, SETTINGS and one GET, and answers what the protocol asks
//! (SETTINGS ACK, PING) while idle. Over HTTPS (`h1-tls`) a connection makes a TLS
//! handshake (ALPN `http/1.1`, the server's certificate not verified: this measures our own
//! servers) and sends the same GET. Over WebSocket (`ws`) a connection opens a session on
//! `--path` (an echo endpoint: `/ws_echo` for gust-sample and the hyper peer) with the
//! HTTP/1.1 upgrade, sends one 5-byte text message, reads its echo and then stays open
//! doing nothing. One warm-up connection precedes the first measurement. It prints one
//! line:
//!
//! `idle-conns: proto=h1 requested=N opened=N open_after=N rss_before_kib=B rss_after_kib=A per_conn_kib=K`
//!
//! `open_after` counts the connections the server had not closed when the second
//! measurement was taken; `per_conn_kib` is (A - B) / opened. The descriptors of both
//! ends must fit the limit (`ulimit -n`): the benchmark raises it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use clap::{Parser, ValueEnum};
use futures_util::{SinkExt, StreamExt};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// Command line of `idle-conns`.
#[derive(Debug, Parser)]
#[command(
    name = "idle-conns",
    about = "RSS growth per idle HTTP/1.1, HTTP/2 or WebSocket connection"
)]
struct Args {
    /// The server's address: its plain one, or for h1-tls its HTTPS one
    #[arg(long)]
    addr: SocketAddr,
    /// The protocol of every connection
    #[arg(long, value_enum)]
    proto: Proto,
    /// Connections to open
    #[arg(long, default_value_t = 5000)]
    count: usize,
    /// The path each connection requests once (for ws: the echo endpoint's path)
    #[arg(long, default_value = "/hello.txt")]
    path: String,
    /// The server's (main) process; its descendants are counted too
    #[arg(long)]
    pid: u32,
    /// Connections opened at the same time
    #[arg(long, default_value_t = 100)]
    batch: usize,
    /// Wait before each measurement, for the server to finish its work
    #[arg(long, default_value_t = 1.0)]
    settle_seconds: f64,
}

/// The protocol of the idle connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Proto {
    /// HTTP/1.1 keep-alive.
    H1,
    /// HTTP/2 over cleartext, prior knowledge.
    H2,
    /// HTTP/1.1 keep-alive over TLS.
    H1Tls,
    /// A WebSocket session (HTTP/1.1 upgrade) after one echoed message.
    Ws,
}

/// A connection kept open: the socket itself (HTTP/1.1), or the `h2` client's handle and
/// the task driving its connection (HTTP/2).
enum Idle {
    H1(TcpStream),
    H1Tls(Box<TlsStream<TcpStream>>),
    H2 {
        _handle: h2::client::SendRequest<Bytes>,
        driver: JoinHandle<()>,
    },
    Ws(Box<WebSocketStream<TcpStream>>),
}

impl Idle {
    /// Whether the server still holds this connection open.
    fn is_open(&self) -> bool {
        match self {
            Idle::H1(stream) => still_silent(stream),
            // A server that closes sends close_notify first: bytes to read count as closed.
            Idle::H1Tls(stream) => still_silent(stream.get_ref().0),
            Idle::H2 { driver, .. } => !driver.is_finished(),
            // A server that ends the session sends a Close frame first: bytes count too.
            Idle::Ws(session) => still_silent(session.get_ref()),
        }
    }
}

/// Nothing to read but not closed: WouldBlock. Closed: Ok(0); anything else is not silence.
fn still_silent(stream: &TcpStream) -> bool {
    let mut byte = [0u8; 1];
    matches!(stream.try_read(&mut byte), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
}

type AnyError = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), AnyError> {
    let args = Args::parse();
    if args.batch == 0 {
        return Err("--batch must be at least 1".into());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(args))
}

async fn run(args: Args) -> Result<(), AnyError> {
    let settle = Duration::from_secs_f64(args.settle_seconds);
    // Warm-up: the server's first request may allocate what every later one reuses.
    let tls = tls_connector();
    drop(open(args.proto, args.addr, &args.path, &tls).await?);
    tokio::time::sleep(settle).await;
    let before = tree_rss_kib(args.pid)?;

    let mut idle = Vec::with_capacity(args.count);
    let mut failures = 0usize;
    let mut first_error = None;
    while idle.len() + failures < args.count {
        let batch = args.batch.min(args.count - idle.len() - failures);
        let tasks: Vec<_> = (0..batch)
            .map(|_| {
                let path = args.path.clone();
                let tls = tls.clone();
                tokio::spawn(async move { open(args.proto, args.addr, &path, &tls).await })
            })
            .collect();
        for task in tasks {
            match task.await? {
                Ok(conn) => idle.push(conn),
                Err(e) => {
                    failures += 1;
                    first_error.get_or_insert(e.to_string());
                }
            }
        }
    }
    if let Some(e) = &first_error {
        eprintln!("idle-conns: {failures} connections failed; the first: {e}");
    }
    tokio::time::sleep(settle).await;
    let after = tree_rss_kib(args.pid)?;
    let open_after = idle.iter().filter(|c| c.is_open()).count();
    let opened = idle.len();
    let per_conn = if opened == 0 {
        0.0
    } else {
        (after as f64 - before as f64) / opened as f64
    };
    let proto = match args.proto {
        Proto::H1 => "h1",
        Proto::H2 => "h2",
        Proto::H1Tls => "h1-tls",
        Proto::Ws => "ws",
    };
    println!(
        "idle-conns: proto={proto} requested={} opened={opened} open_after={open_after} \
         rss_before_kib={before} rss_after_kib={after} per_conn_kib={per_conn:.2}",
        args.count
    );
    Ok(())
}

/// Opens one connection, makes one request and reads its whole response.
async fn open(
    proto: Proto,
    addr: SocketAddr,
    path: &str,
    tls: &TlsConnector,
) -> Result<Idle, AnyError> {
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    match proto {
        Proto::H1 => h1_request(stream, addr, path).await.map(Idle::H1),
        Proto::H2 => h2_request(stream, addr, path).await,
        Proto::H1Tls => {
            let name = ServerName::from(addr.ip());
            let stream = tls.connect(name, stream).await?;
            let stream = h1_request(stream, addr, path).await?;
            Ok(Idle::H1Tls(Box::new(stream)))
        }
        Proto::Ws => ws_session(stream, addr, path).await,
    }
}

/// A TLS client for our own benchmark servers: ALPN `http/1.1`, any certificate accepted
/// (its signature over the handshake is still checked).
fn tls_connector() -> TlsConnector {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = Arc::new(AnyCertificate(provider.clone()));
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("the ring provider supports the default versions")
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    TlsConnector::from(Arc::new(config))
}

/// Accepts whatever certificate the server shows: `idle-conns` measures memory, on
/// 127.0.0.1, against servers the benchmark started with its own certificate.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// One HTTP/1.1 keep-alive GET; the response must be 200 with a Content-Length body.
async fn h1_request<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    addr: SocketAddr,
    path: &str,
) -> Result<S, AnyError> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: idle-conns\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut received = Vec::new();
    let mut chunk = [0u8; 4096];
    let (head_end, body_len) = loop {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err("closed before the response head".into());
        }
        received.extend_from_slice(&chunk[..n]);
        if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = std::str::from_utf8(&received[..end])?;
            if !head.starts_with("HTTP/1.1 200") {
                return Err(format!("not a 200: {}", head.lines().next().unwrap_or("")).into());
            }
            let length = head
                .lines()
                .filter_map(|line| line.split_once(':'))
                .find(|(name, _)| name.trim().eq_ignore_ascii_case("content-length"))
                .ok_or("no Content-Length")?
                .1
                .trim()
                .parse::<usize>()?;
            break (end + 4, length);
        }
        if received.len() > 64 * 1024 {
            return Err("response head too long".into());
        }
    };
    while received.len() < head_end + body_len {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Err("closed inside the response body".into());
        }
        received.extend_from_slice(&chunk[..n]);
    }
    Ok(stream)
}

/// One HTTP/2 GET over prior knowledge; the connection's driver task keeps running.
async fn h2_request(stream: TcpStream, addr: SocketAddr, path: &str) -> Result<Idle, AnyError> {
    let (send, connection) = h2::client::handshake(stream).await?;
    let driver = tokio::spawn(async move {
        let _ = connection.await;
    });
    let mut send = send.ready().await?;
    let request = http::Request::get(format!("http://{addr}{path}")).body(())?;
    let (response, _) = send.send_request(request, true)?;
    let response = response.await?;
    if response.status() != http::StatusCode::OK {
        return Err(format!("not a 200: {}", response.status()).into());
    }
    let mut body = response.into_body();
    while let Some(data) = body.data().await {
        let data = data?;
        body.flow_control().release_capacity(data.len())?;
    }
    Ok(Idle::H2 {
        _handle: send,
        driver,
    })
}

/// A WebSocket session on `path` with one text message echoed; the session stays open.
async fn ws_session(stream: TcpStream, addr: SocketAddr, path: &str) -> Result<Idle, AnyError> {
    let (mut session, response) =
        tokio_tungstenite::client_async(format!("ws://{addr}{path}"), stream).await?;
    if response.status() != http::StatusCode::SWITCHING_PROTOCOLS {
        return Err(format!("not a 101: {}", response.status()).into());
    }
    session.send(Message::text("hello")).await?;
    match session.next().await {
        Some(Ok(Message::Text(echo))) if echo.as_str() == "hello" => {}
        other => return Err(format!("no echo of the message: {other:?}").into()),
    }
    Ok(Idle::Ws(Box::new(session)))
}

/// The sum of VmRSS over `root` and all its descendants, in KiB.
fn tree_rss_kib(root: u32) -> Result<u64, AnyError> {
    let mut total = 0;
    for pid in process_tree(root)? {
        // A process may have ended between the listing and this read.
        let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
            continue;
        };
        total += status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0);
    }
    Ok(total)
}

/// `root` and every process descending from it, from the parent ids in /proc/*/stat.
fn process_tree(root: u32) -> Result<Vec<u32>, AnyError> {
    let mut parents = Vec::new();
    for entry in std::fs::read_dir("/proc")? {
        let Some(pid) = entry?
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The command name may hold spaces and parentheses: fields follow the last ')'.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if let Some(ppid) = ppid {
            parents.push((pid, ppid));
        }
    }
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let parent = tree[i];
        tree.extend(
            parents
                .iter()
                .filter(|(_, p)| *p == parent)
                .map(|(c, _)| *c),
        );
        i += 1;
    }
    Ok(tree)
}
