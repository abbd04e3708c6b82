//! Shared test helpers: a real server on 127.0.0.1:0 and a raw TCP client for the bytes no
//! well-behaved client would send.
#![allow(dead_code, unreachable_pub, missing_docs)]

pub mod h2raw;

use std::net::SocketAddr;
use std::time::Duration;

use gust::{Body, Limits, Request, Resource, Response, Server, Service, ServiceBuilder};
use http::Method;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A started server; stopped when the test calls `stop`, aborted with the runtime otherwise.
pub struct TestServer {
    pub server: Server,
    pub addr: SocketAddr,
}

impl TestServer {
    pub async fn start(builder: ServiceBuilder) -> TestServer {
        let service = builder.build().expect("test service config is valid");
        let mut server = Server::new().service(service);
        server.start().await.expect("test server starts");
        let addr = server.local_addrs()[0];
        TestServer { server, addr }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub async fn stop(mut self) {
        tokio::time::timeout(Duration::from_secs(30), self.server.stop())
            .await
            .expect("server stops in time")
            .expect("server was running");
    }
}

/// A builder on 127.0.0.1:0 with `limits`.
pub fn builder(limits: Limits) -> ServiceBuilder {
    Service::builder("127.0.0.1:0".parse().unwrap()).limits(limits)
}

/// Echoes the request body back, streamed.
pub async fn echo(request: Request) -> Response {
    Response::new(Body::from_stream(request.into_body()))
}

/// A service with the resources most tests use: `/hello` (GET), `/echo` (GET, POST, PUT).
pub fn basic(limits: Limits) -> ServiceBuilder {
    builder(limits)
        .resource(Resource::dynamic("/hello", |_req: Request| async {
            Response::new(Body::from("hello\n"))
        }))
        .resource(Resource::dynamic("/echo", echo).methods([
            Method::GET,
            Method::POST,
            Method::PUT,
        ]))
}

/// What a raw exchange saw.
pub struct Raw {
    pub bytes: Vec<u8>,
    /// The server closed the connection (EOF or reset) before the read deadline.
    pub closed: bool,
}

impl Raw {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// The status code of the first response.
    pub fn status(&self) -> u16 {
        let text = self.text();
        text.split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    /// Status codes of every response in the bytes (pipelining).
    pub fn statuses(&self) -> Vec<u16> {
        self.text()
            .match_indices("HTTP/1.1 ")
            .filter_map(|(i, _)| self.text()[i + 9..i + 12].parse().ok())
            .collect()
    }
}

/// Sends `request` and reads until the server closes or `wait` passes with nothing new.
pub async fn raw(addr: SocketAddr, request: &[u8], wait: Duration) -> Raw {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    stream.write_all(request).await.expect("write request");
    read_all(&mut stream, wait).await
}

/// Reads until EOF, or until `wait` passes without a byte.
pub async fn read_all(stream: &mut TcpStream, wait: Duration) -> Raw {
    let mut bytes = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match tokio::time::timeout(wait, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => {
                return Raw {
                    bytes,
                    closed: true,
                }
            }
            Ok(Ok(n)) => bytes.extend_from_slice(&buf[..n]),
            Err(_) => {
                return Raw {
                    bytes,
                    closed: false,
                }
            }
        }
    }
}

/// Whether `tool` is on PATH. When it is not: prints the SKIPPED line and returns false,
/// unless GUST_REQUIRE_INTEROP=1, in which case the test fails.
pub fn have_tool(tool: &str) -> bool {
    let found = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !found {
        if std::env::var("GUST_REQUIRE_INTEROP").as_deref() == Ok("1") {
            panic!("{tool} not installed and GUST_REQUIRE_INTEROP=1");
        }
        println!("SKIPPED: {tool} not installed");
    }
    found
}

/// Runs a tool, returning (success, stdout + stderr).
pub fn run(tool: &str, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{tool} runs: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// [`run`], off the async runtime's threads. The arguments are copied at once, so the
/// future borrows nothing.
pub fn run_async(
    tool: &'static str,
    args: &[&str],
) -> impl std::future::Future<Output = (bool, String)> + 'static {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    async move {
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run(tool, &args)
        })
        .await
        .unwrap()
    }
}

/// An `h2` crate client with small receive windows: 16 KiB per stream, 32 KiB for the
/// connection, so every large body goes through many WINDOW_UPDATE rounds.
pub async fn h2_client(addr: SocketAddr) -> h2::client::SendRequest<bytes::Bytes> {
    let tcp = TcpStream::connect(addr).await.unwrap();
    let (client, connection) = h2::client::Builder::new()
        .initial_window_size(16 * 1024)
        .initial_connection_window_size(32 * 1024)
        .max_frame_size(16 * 1024)
        .handshake(tcp)
        .await
        .expect("h2 handshake");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// The log lines the library writes while the guard lives, captured as text. Only for
/// current-thread test runtimes (`#[tokio::test]`'s default): the server's tasks then run
/// on the test's thread, where the subscriber is installed.
#[derive(Clone, Default)]
pub struct Logs(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl Logs {
    pub fn capture() -> (Logs, tracing::subscriber::DefaultGuard) {
        let logs = Logs::default();
        let writer = logs.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || writer.clone())
            .finish();
        (logs, tracing::subscriber::set_default(subscriber))
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl std::io::Write for Logs {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
