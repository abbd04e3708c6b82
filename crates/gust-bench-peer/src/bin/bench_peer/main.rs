//! `bench-peer`: the hyper 1.x peer of `scripts/bench.sh`.
//!
//! A plain hyper server to compare gust with: `hyper_util::server::conn::auto` speaks
//! HTTP/1.1 and HTTP/2 (prior knowledge) on the plain port, and on the optional TLS port
//! whatever ALPN chose (`h2` or `http/1.1`); a multi-thread tokio runtime sized like gust's
//! (one worker per CPU the process may run on). It serves:
//!
//! - every regular file under `--www DIR`, read into memory at start (the benchmark's files
//!   are small, plus one 64 MiB file; memory is not what the load tests measure);
//! - `/uptime`: milliseconds since start, as decimal text (the dynamic answer);
//! - `/ws_echo`: a WebSocket echo (HTTP/1.1 upgrade) run by tokio-tungstenite.
//!
//! No timeouts and no connection limit: idle connections stay open, as the idle-memory
//! test needs. Output contract, the same as `gust-sample`'s: once listening, one line per
//! listener on stdout, `listening on http://ADDR:PORT` then `listening on https://ADDR:PORT`.

mod files;
mod tls;
mod ws;

use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use clap::Parser;
use http::{header, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::files::Files;

/// Command line of `bench-peer`.
#[derive(Debug, Parser)]
#[command(
    name = "bench-peer",
    about = "hyper 1.x peer server for scripts/bench.sh"
)]
struct Args {
    /// Plain listener (HTTP/1.1 and h2c prior knowledge); port 0 picks a free port
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Directory whose files are served (read into memory at start)
    #[arg(long, value_name = "DIR")]
    www: PathBuf,
    /// TLS listener (ALPN h2, http/1.1); needs --cert and --key
    #[arg(long, value_name = "ADDR:PORT", requires_all = ["cert", "key"])]
    tls_listen: Option<SocketAddr>,
    /// Certificate chain, PEM
    #[arg(long, value_name = "FILE")]
    cert: Option<PathBuf>,
    /// Private key, PEM
    #[arg(long, value_name = "FILE")]
    key: Option<PathBuf>,
}

/// What every connection's service needs.
struct Site {
    files: Files,
    started: Instant,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let site = Arc::new(Site {
        files: Files::load(&args.www)?,
        started: Instant::now(),
    });
    let acceptor = match (&args.tls_listen, &args.cert, &args.key) {
        (Some(_), Some(cert), Some(key)) => Some(tls::acceptor(cert, key)?),
        _ => None,
    };
    // Like gust's sample: a multi-thread runtime, one worker per CPU this process may use
    // (under `taskset -c 0`, one).
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(serve(args, site, acceptor))
}

async fn serve(
    args: Args,
    site: Arc<Site>,
    acceptor: Option<TlsAcceptor>,
) -> Result<(), Box<dyn std::error::Error>> {
    let plain = TcpListener::bind(args.listen).await?;
    let secure = match args.tls_listen {
        Some(addr) => Some(TcpListener::bind(addr).await?),
        None => None,
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on http://{}", plain.local_addr()?)?;
    if let Some(listener) = &secure {
        writeln!(out, "listening on https://{}", listener.local_addr()?)?;
    }
    out.flush()?;
    drop(out);

    let plain_task = tokio::spawn(accept_loop(plain, site.clone(), None));
    if let (Some(listener), Some(acceptor)) = (secure, acceptor) {
        tokio::spawn(accept_loop(listener, site, Some(acceptor)));
    }
    plain_task.await?;
    Ok(())
}

/// Accepts for ever; each connection runs in its own task.
async fn accept_loop(listener: TcpListener, site: Arc<Site>, tls: Option<TlsAcceptor>) {
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors, say: wait for connections to end rather than spin.
                eprintln!("bench-peer: accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        // Every server in the comparison sends small responses without Nagle delays.
        let _ = stream.set_nodelay(true);
        let site = site.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => serve_connection(TokioIo::new(stream), site).await,
                Some(acceptor) => match acceptor.accept(stream).await {
                    Ok(stream) => serve_connection(TokioIo::new(stream), site).await,
                    Err(e) => eprintln!("bench-peer: TLS handshake: {e}"),
                },
            }
        });
    }
}

/// Serves one connection, HTTP/1.1 or HTTP/2 as its first bytes say, until it closes.
async fn serve_connection<I>(io: TokioIo<I>, site: Arc<Site>)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = service_fn(move |request| {
        let site = site.clone();
        async move { Ok::<_, Infallible>(respond(&site, request)) }
    });
    // Errors here are clients going away mid-response: nothing to do about them.
    let _ = auto::Builder::new(TokioExecutor::new())
        .serve_connection_with_upgrades(io, service)
        .await;
}

/// The answer to one request.
fn respond(site: &Site, request: Request<Incoming>) -> Response<Full<Bytes>> {
    match request.uri().path() {
        "/uptime" => {
            let millis = site.started.elapsed().as_millis();
            text(StatusCode::OK, format!("{millis:>12}").into())
        }
        "/ws_echo" => ws::upgrade(request),
        path => match site.files.get(path) {
            Some(file) => Response::builder()
                .header(header::CONTENT_TYPE, file.content_type)
                .body(Full::new(file.bytes.clone()))
                .expect("a static header is valid"),
            None => text(StatusCode::NOT_FOUND, Bytes::from_static(b"not found\n")),
        },
    }
}

/// A plain-text response.
fn text(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, "text/plain; charset=utf-8")
        .body(Full::new(body))
        .expect("a static header is valid")
}
