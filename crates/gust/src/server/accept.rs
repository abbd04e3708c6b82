//! One service's accept loop: the client limit, connection tasks, graceful shutdown.

use std::convert::Infallible;
use std::future::poll_fn;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};

use super::between::{self, WhenIdle};
use super::idle::{Asked, IdleList};
use super::park::{Next, Park};
use super::{h1, h2, ConnCtx};
use crate::service::Service;
use crate::stats::{CountingIo, Layer, OpenGuard};
use crate::tls::{TlsAcceptor, TlsInfo};

/// Once an idle connection was asked to close to make room, how long the newcomer waits for
/// its slot before the next idle connection is asked.
const ROOM_WAIT: Duration = Duration::from_secs(1);
/// With no idle connection to close, how often a full listener looks again.
const ROOM_POLL: Duration = Duration::from_millis(100);

/// What a plain connection holds for its life: its count in the statistics and its slot.
type Held = (OpenGuard, OwnedSemaphorePermit);
/// A plain connection with nothing under way, to be parked.
type Between = between::Between<CountingIo<OwnedReadHalf>, CountingIo<OwnedWriteHalf>, Held>;
/// The connections' tasks; a plain connection's task ends with the connection given back
/// when it has nothing under way.
type Tasks = between::Tasks<CountingIo<OwnedReadHalf>, CountingIo<OwnedWriteHalf>, Held>;

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
        let idle = Arc::new(IdleList::default());
        let mut park = Park::new(limits.inactivity_timeout);
        let mut connections = Tasks::new();
        loop {
            // Accept, then take a slot. When all are taken, the connection idle longest is
            // asked to close to make room for the newcomer (see idle.rs); with none idle,
            // the newcomer waits for a slot, and the clients behind it wait in the kernel's
            // backlog. (The original closes a newcomer at once when its slots are full;
            // here it is served, late if it must be.) Meanwhile this loop also serves the
            // parked connections: every wait here watches them.
            let accepted = tokio::select! {
                biased;
                _ = self.shutdown.changed() => break,
                never = look_after(&mut park, &mut connections) => match never {},
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
            // Only this loop takes slots, so one seen free is still free.
            let permit = match slots.clone().try_acquire_owned() {
                Ok(permit) => permit,
                Err(_) => {
                    let made = self
                        .make_room(&slots, &idle, &mut park, &mut connections)
                        .await;
                    match made {
                        Some(permit) => permit,
                        None => break,
                    }
                }
            };
            let _ = stream.set_nodelay(true);
            let ctx = ConnCtx {
                router: self.service.router.clone(),
                limits: self.service.limits.clone(),
                peer,
                tls: None,
                shutdown: self.shutdown.clone(),
                websockets: self.service.websockets.clone(),
                stats: self.service.stats.clone(),
                idle: idle.clone(),
            };
            let open = self.service.stats.open_connection();
            // A task holds its future, sized for the largest path through it, for the
            // connection's whole life: plain and TLS connections get futures of their own,
            // so that a plain one (idle, or attacked) does not carry the TLS state's room.
            match self.service.tls.clone() {
                // Made here and spawned as it is: wrapping it in another async fn would
                // keep a second copy of what it holds in the task.
                None => connections
                    .spawn(plain_connection(ctx, stream).serve((open, permit), WhenIdle::GiveBack)),
                Some(tls) => connections.spawn(async move {
                    serve_tls(ctx, tls, stream).await;
                    drop(open);
                    drop(permit);
                    None
                }),
            };
        }
        // Stop: the listener closes now; connections with nothing under way close (parked
        // ones here, HTTP/2 ones with GOAWAY; the others learn it from the idle list or the
        // stop signal, and those given back from now on are closed as they come), the
        // others get the grace period to finish.
        drop(self.listener);
        for parked in park.into_parked() {
            parked.close(&mut connections);
        }
        idle.stop();
        let grace = tokio::time::sleep(limits.shutdown_grace);
        tokio::pin!(grace);
        loop {
            tokio::select! {
                joined = connections.join_next() => match joined {
                    None => break,
                    Some(Ok(Some(given_back))) => given_back.close(&mut connections),
                    Some(_) => {}
                },
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

impl AcceptLoop {
    /// Frees a slot for a client accepted while all were taken: asks the connection idle
    /// longest to close (once it has been idle for `idle::MIN_IDLE`), and the next one if
    /// the slot has not come within [`ROOM_WAIT`]; with none idle, waits for any connection
    /// to end. None: the server is stopping.
    /// Meanwhile parked connections whose clients send are served, and connections that
    /// wait are parked.
    async fn make_room(
        &mut self,
        slots: &Arc<Semaphore>,
        idle: &IdleList,
        park: &mut Park<Between>,
        connections: &mut Tasks,
    ) -> Option<OwnedSemaphorePermit> {
        loop {
            let again = match close_oldest(idle, park, connections) {
                Asked::Closed => {
                    tracing::debug!(service = %self.service.name, "max_clients reached; closing the longest idle connection");
                    ROOM_WAIT
                }
                Asked::TooSoon(left) => left.min(ROOM_POLL),
                Asked::NoneIdle => ROOM_POLL,
            };
            tokio::select! {
                biased;
                _ = self.shutdown.changed() => return None,
                permit = slots.clone().acquire_owned() => return permit.ok(),
                never = look_after(park, connections) => match never {},
                _ = tokio::time::sleep(again) => {}
            }
        }
    }
}

/// What the accept loop does while it waits for anything else, for as long as it waits:
/// reaps ended connection tasks, parks the connections they gave back (or serves one again
/// at once if its client has sent meanwhile), serves parked connections whose clients
/// send, and closes those idle for the inactivity timeout. Never finishes; dropped when the
/// wait it runs beside ends.
async fn look_after(park: &mut Park<Between>, connections: &mut Tasks) -> Infallible {
    loop {
        tokio::select! {
            biased;
            Some(joined) = connections.join_next(), if !connections.is_empty() => {
                // A task that panicked has dropped its connection.
                if let Ok(Some(between)) = joined {
                    let since = between.idle_since();
                    if let Err(readable) = park.insert(between, since) {
                        readable.resume(connections);
                    }
                }
            }
            next = poll_fn(|cx| park.poll_next(cx)), if !park.is_empty() => match next {
                Next::Readable(conn) => conn.resume(connections),
                Next::TimedOut(conn) => conn.close(connections),
            },
            // Nothing to look after: only the caller's wait can change that.
            else => return std::future::pending().await,
        }
    }
}

/// Asks the connection idle longest to close, parked (closed here, an HTTP/2 one in a task
/// of `connections`) or waiting in a task of its own.
fn close_oldest(idle: &IdleList, park: &mut Park<Between>, connections: &mut Tasks) -> Asked {
    let parked_longer = match (park.oldest_since(), idle.oldest_since()) {
        (Some(parked), Some(listed)) => parked <= listed,
        (parked, _) => parked.is_some(),
    };
    if !parked_longer {
        return idle.close_oldest();
    }
    match park.take_oldest() {
        Ok(oldest) => {
            tracing::debug!("parked idle connection closed to make room");
            oldest.close(connections);
            Asked::Closed
        }
        Err(asked) => asked,
    }
}

/// A plain connection: HTTP/1.1, which may turn into HTTP/2.
fn plain_connection(
    ctx: ConnCtx,
    stream: TcpStream,
) -> Box<h1::Driver<CountingIo<OwnedReadHalf>, CountingIo<OwnedWriteHalf>>> {
    // tokio's owned halves, not `io::split`: no lock around each read and write, the reader
    // can wait for bytes without a buffer, and the writer still reaches the socket for
    // `sendfile`.
    let (rd, wr) = stream.into_split();
    let rd = CountingIo::new(rd, ctx.stats.clone(), Layer::Both);
    let wr = CountingIo::new(wr, ctx.stats.clone(), Layer::Both);
    h1::Driver::new(ctx, rd, wr)
}

/// Serves a TLS connection: the handshake, then HTTP/2 or HTTP/1.1 as ALPN says. Counted
/// below TLS (what crossed the socket) and above it.
async fn serve_tls(mut ctx: ConnCtx, tls: TlsAcceptor, stream: TcpStream) {
    let stream = CountingIo::new(stream, ctx.stats.clone(), Layer::Socket);
    let peer = ctx.peer;
    // Boxed, and freed once done: the handshake's state (rustls' connection mid-handshake,
    // the timeout, the wait for the first byte) is the largest this task ever holds, and
    // inline it sized the task for as long as the connection lived (a 2.5 KiB task; an
    // idle TLS connection's RSS went from 14.1 to 13.4 KiB without it).
    let Some((stream, info)) = Box::pin(handshake(&tls, stream, peer, &ctx.idle)).await else {
        return;
    };
    ctx.stats.tls_handshake();
    let h2 = info.alpn.as_deref() == Some("h2");
    ctx.tls = Some(Arc::new(info));
    let stream = CountingIo::new(stream, ctx.stats.clone(), Layer::Plaintext);
    if h2 {
        // Boxed for the same reason: HTTP/2's serving future (900 bytes) would otherwise
        // size the task of every TLS connection, HTTP/1.1's (300) too.
        let (rd, wr) = tokio::io::split(stream);
        Box::pin(h2::Driver::new(ctx, rd, wr, BytesMut::new()).serve(None, (), WhenIdle::Wait))
            .await;
    } else {
        let (rd, wr) = tokio::io::split(stream);
        h1::Driver::new(ctx, rd, wr).serve((), WhenIdle::Wait).await;
    }
}

/// The TLS handshake, within the service's handshake timeout. A failure (a client that
/// speaks plain HTTP to the TLS port, an unknown CA, a missing client certificate) is logged
/// at debug level and ends the connection; the server carries on. Until the client's first
/// byte the connection counts as idle: a full listener may close it to make room.
async fn handshake(
    tls: &TlsAcceptor,
    stream: CountingIo<TcpStream>,
    peer: SocketAddr,
    idle: &Arc<IdleList>,
) -> Option<(
    tokio_rustls::server::TlsStream<CountingIo<TcpStream>>,
    TlsInfo,
)> {
    let handshake = async {
        {
            let mut guard = idle.enter();
            let mut first = [0u8; 1];
            tokio::select! {
                // The first byte is left for the handshake to read; end of input or an
                // error ends the connection here.
                peeked = stream.get_ref().peek(&mut first) => if !matches!(peeked, Ok(n) if n > 0) { return None },
                _ = guard.closing() => {
                    tracing::debug!(%peer, "silent TLS client closed to make room");
                    return None;
                }
            }
        }
        Some(tls.acceptor.accept(stream).await)
    };
    match tokio::time::timeout(tls.handshake_timeout, handshake).await {
        Ok(None) => None,
        Ok(Some(Ok(stream))) => {
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
        Ok(Some(Err(e))) => {
            tracing::debug!(%peer, error = %e, "TLS handshake failed");
            None
        }
        Err(_) => {
            tracing::debug!(%peer, "TLS handshake not finished in time");
            None
        }
    }
}
