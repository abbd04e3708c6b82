//! One service's accept loop: the client limit, connection tasks, graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

use super::{h1, h2, ConnCtx};
use crate::service::Service;
use crate::stats::{CountingIo, Layer};
use crate::tls::{TlsAcceptor, TlsInfo};

/// The accept loop of one started service.
pub(super) struct AcceptLoop {
    service: Service,
    listener: TcpListener,
    shutdown: watch::Receiver<bool>,
}

impl AcceptLoop {
    pub(super) fn new(
        service: Service,
        listener: TcpListener,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        AcceptLoop {
            service,
            listener,
            shutdown,
        }
    }

    pub(super) async fn run(mut self) {
        let limits = self.service.limits.clone();
        let slots = Arc::new(Semaphore::new(limits.max_clients));
        let mut connections = JoinSet::new();
        loop {
            // Wait for a free slot before accepting: past max_clients, clients queue in the
            // kernel's backlog and are served as others leave.
            let permit = tokio::select! {
                biased;
                _ = self.shutdown.changed() => break,
                Some(_) = connections.join_next(), if !connections.is_empty() => continue,
                permit = slots.clone().acquire_owned() => match permit {
                    Ok(p) => p,
                    Err(_) => break,
                },
            };
            let accepted = tokio::select! {
                biased;
                _ = self.shutdown.changed() => break,
                accepted = self.listener.accept() => accepted,
            };
            let (stream, peer) = match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of descriptors or a connection reset before accept: not fatal.
                    // Pause briefly so a persistent error does not spin.
                    tracing::warn!(service = %self.service.name, error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let service = self.service.clone();
            let shutdown = self.shutdown.clone();
            let open = service.stats.open_connection();
            connections.spawn(async move {
                serve_connection(service, stream, peer, shutdown).await;
                drop(open);
                drop(permit);
            });
        }
        // Stop: the listener closes now; connections get the grace period to finish.
        drop(self.listener);
        let grace = tokio::time::sleep(limits.shutdown_grace);
        tokio::pin!(grace);
        loop {
            tokio::select! {
                joined = connections.join_next() => if joined.is_none() { break },
                _ = &mut grace => {
                    tracing::warn!(
                        service = %self.service.name,
                        open = connections.len(),
                        "shutdown grace period over; closing the remaining connections"
                    );
                    connections.shutdown().await;
                    break;
                }
            }
        }
    }
}

/// Serves one accepted connection: plain HTTP/1.1 (which may turn into HTTP/2), or a TLS
/// handshake first, after which ALPN decides between HTTP/2 and HTTP/1.1.
async fn serve_connection(
    service: Service,
    stream: TcpStream,
    peer: SocketAddr,
    shutdown: watch::Receiver<bool>,
) {
    // Counted below TLS (what crossed the socket) and, on a TLS connection, above it too.
    let layer = if service.tls.is_some() {
        Layer::Socket
    } else {
        Layer::Both
    };
    let stream = CountingIo::new(stream, service.stats.clone(), layer);
    let ctx = ConnCtx {
        router: service.router.clone(),
        limits: service.limits.clone(),
        peer,
        tls: None,
        shutdown,
        websockets: service.websockets.clone(),
        stats: service.stats.clone(),
    };
    let Some(tls) = service.tls.clone() else {
        h1::serve(ctx, stream).await;
        return;
    };
    // TLS state lives in a box of its own: a plain connection's task stays small.
    drop(service);
    Box::pin(serve_tls(tls, ctx, stream)).await;
}

/// Serves a connection to a TLS service: the handshake, then HTTP/2 or HTTP/1.1 by ALPN.
async fn serve_tls(tls: TlsAcceptor, mut ctx: ConnCtx, stream: CountingIo<TcpStream>) {
    let peer = ctx.peer;
    let Some((stream, info)) = handshake(&tls, stream, peer).await else {
        return;
    };
    ctx.stats.tls_handshake();
    let h2 = info.alpn.as_deref() == Some("h2");
    ctx.tls = Some(Arc::new(info));
    let stream = CountingIo::new(stream, ctx.stats.clone(), Layer::Plaintext);
    if h2 {
        let (rd, wr) = tokio::io::split(stream);
        h2::serve(ctx, rd, wr, BytesMut::new(), None).await;
    } else {
        h1::serve(ctx, stream).await;
    }
}

/// The TLS handshake, within the service's handshake timeout. A failure (a client that
/// speaks plain HTTP to the TLS port, an unknown CA, a missing client certificate) is logged
/// at debug level and ends the connection; the server carries on.
async fn handshake(
    tls: &TlsAcceptor,
    stream: CountingIo<TcpStream>,
    peer: SocketAddr,
) -> Option<(
    tokio_rustls::server::TlsStream<CountingIo<TcpStream>>,
    TlsInfo,
)> {
    match tokio::time::timeout(tls.handshake_timeout, tls.acceptor.accept(stream)).await {
        Ok(Ok(stream)) => {
            let session = stream.get_ref().1;
            let info = TlsInfo {
                server_name: session.server_name().map(str::to_owned),
                alpn: session
                    .alpn_protocol()
                    .map(|p| String::from_utf8_lossy(p).into_owned()),
                client_verified: session
                    .peer_certificates()
                    .is_some_and(|certs| !certs.is_empty()),
            };
            Some((stream, info))
        }
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!(%peer, "TLS handshake not finished in time");
            None
        }
    }
}
