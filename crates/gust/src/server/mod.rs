//! The runtime that drives the core: listeners, connections, timeouts, shutdown.
//!
//! Each started service has one accept task. It holds a semaphore of `max_clients` permits
//! and accepts while it has one. When all are taken, it accepts the next client and asks
//! the connection idle longest (waiting for a request, see `idle.rs`) to close to make room;
//! if none is idle, that client waits for a slot and the ones behind it wait in the
//! kernel's backlog until a connection ends. (The original closes a newcomer at once when
//! its slots are full; here it is served, late if it must be.)
//! Each connection is a task owned by its service's accept task, except a plain connection
//! with nothing under way (HTTP/1.1 between requests, HTTP/2 with no stream): its task ends
//! and the accept task parks it (`park.rs`) until its client sends again. On stop the
//! accept task closes the listener and the parked connections, lets in-flight requests
//! finish within `shutdown_grace`, then aborts the rest.

mod accept;
mod between;
mod date;
pub(crate) mod dispatch;
mod h1;
mod h2;
mod idle;
mod outbox;
mod park;
mod transport;
mod ws;

/// The `Server` header value.
const SERVER_NAME: &str = "gust";
/// The read buffer of a connection with no request under way. Most request heads fit in
/// it; a connection given more to read grows it to `read_chunk_size` and gives that back
/// when it goes idle again, so idle keep-alive connections hold little memory.
const IDLE_READ_BUFFER: usize = 512;

/// Makes room in a read buffer for the next read: a `chunk` more once less than a quarter
/// of one is left, else nothing. Reserving a whole chunk on top of a partly filled buffer
/// would double its allocation at its first byte and copy it (a slowloris connection would
/// then hold two chunks instead of one).
pub(crate) fn read_room(buf: &mut bytes::BytesMut, chunk: usize) {
    if buf.capacity() - buf.len() < chunk / 4 {
        buf.reserve(chunk);
    }
}

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::task::Poll;
use std::time::Duration;

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;

use crate::config::Limits;
use crate::resource::router::Router;
use crate::service::{Listen, Service};
use crate::stats::Stats;
use crate::tls::TlsInfo;

/// How long a closing connection keeps reading (and discarding) so that the client receives
/// our last response before the kernel answers its unread bytes with a reset.
const LINGER: Duration = Duration::from_secs(2);
/// How much a closing connection reads while lingering.
const LINGER_BYTES: usize = 256 * 1024;

/// After our side of a connection is shut: reads and drops what the peer still sends until
/// it closes too, for [`LINGER`] and [`LINGER_BYTES`] at most. A socket closed with unread
/// bytes makes the kernel answer with a reset, and a reset can destroy response bytes the
/// peer has received but not yet read.
pub(crate) async fn linger<R: AsyncRead + Unpin>(rd: &mut R) {
    // On the heap: the futures that wait here live in connection boxes for their whole life.
    let mut scratch = vec![0u8; 4096];
    let _ = tokio::time::timeout(LINGER, async {
        let mut drained = 0;
        while drained < LINGER_BYTES {
            match rd.read(&mut scratch).await {
                Ok(n) if n > 0 => drained += n,
                _ => break,
            }
        }
    })
    .await;
}

/// Runs `io` to its end unless it makes no progress for `stall` (then `None`). The timer is
/// armed only if the first poll does not finish it: a write the socket has room for, the
/// common case, costs no clock read and no timer entry.
pub(crate) async fn within<T>(stall: Duration, io: impl Future<Output = T>) -> Option<T> {
    let mut io = std::pin::pin!(io);
    if let Poll::Ready(done) = std::future::poll_fn(|cx| Poll::Ready(io.as_mut().poll(cx))).await {
        return Some(done);
    }
    tokio::time::timeout(stall, io).await.ok()
}

/// What every connection of a service needs, whatever its protocol.
#[derive(Clone)]
pub(crate) struct ConnCtx {
    pub(crate) router: Arc<Router>,
    pub(crate) limits: Arc<Limits>,
    pub(crate) peer: SocketAddr,
    /// The TLS session, on a TLS connection.
    pub(crate) tls: Option<Arc<TlsInfo>>,
    pub(crate) shutdown: watch::Receiver<bool>,
    /// The service's WebSocket sessions: `max_websockets` permits.
    pub(crate) websockets: Arc<Semaphore>,
    /// The service's counters.
    pub(crate) stats: Arc<Stats>,
    /// The listener's idle connections: one waiting for a request enters it, and leaves
    /// when asked to close to make room for a new client.
    pub(crate) idle: Arc<idle::IdleList>,
}

/// Runs services. Start and stop it as often as needed.
#[derive(Debug, Default)]
pub struct Server {
    services: Vec<Service>,
    running: Option<Running>,
}

#[derive(Debug)]
struct Running {
    addrs: Vec<SocketAddr>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Why the server could not start or stop.
#[derive(Debug)]
#[non_exhaustive]
pub enum ServerError {
    /// `start` on a running server.
    AlreadyRunning,
    /// `stop` on a stopped server.
    NotRunning,
    /// A service's listener could not be made (address in use, no permission...).
    Bind {
        /// The service's name.
        service: String,
        /// The address asked for, when the server made the socket.
        addr: Option<SocketAddr>,
        /// The operating system's answer.
        source: io::Error,
    },
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerError::AlreadyRunning => f.write_str("the server is already running"),
            ServerError::NotRunning => f.write_str("the server is not running"),
            ServerError::Bind {
                service,
                addr: Some(addr),
                source,
            } => {
                write!(f, "service {service:?} cannot listen on {addr}: {source}")
            }
            ServerError::Bind {
                service,
                addr: None,
                source,
            } => {
                write!(f, "service {service:?} cannot get its listener: {source}")
            }
        }
    }
}

impl std::error::Error for ServerError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ServerError::Bind { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl Server {
    /// A server with no services.
    pub fn new() -> Self {
        Server::default()
    }

    /// Adds a service; it is listened on from the next start.
    pub fn service(mut self, service: Service) -> Self {
        self.services.push(service);
        self
    }

    /// Adds a service to a server held by reference.
    pub fn add_service(&mut self, service: Service) {
        self.services.push(service);
    }

    /// Binds every service and starts serving. Must run inside a tokio runtime. If one
    /// service cannot bind, none is started and the error names it.
    pub async fn start(&mut self) -> Result<(), ServerError> {
        if self.running.is_some() {
            return Err(ServerError::AlreadyRunning);
        }
        let mut listeners = Vec::with_capacity(self.services.len());
        for service in &self.services {
            listeners.push(bind(service)?);
        }
        let (shutdown, _) = watch::channel(false);
        let mut addrs = Vec::new();
        let mut tasks = Vec::new();
        for (service, listener) in self.services.iter().zip(listeners) {
            let addr = listener.local_addr().map_err(|source| ServerError::Bind {
                service: service.name.to_string(),
                addr: None,
                source,
            })?;
            tracing::info!(service = %service.name, %addr, "listening");
            addrs.push(addr);
            let task = accept::AcceptLoop::new(service.clone(), listener, shutdown.subscribe());
            tasks.push(tokio::spawn(task.run()));
        }
        self.running = Some(Running {
            addrs,
            shutdown,
            tasks,
        });
        Ok(())
    }

    /// The bound address of each service, in the order they were added; empty when stopped.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        self.running
            .as_ref()
            .map(|r| r.addrs.as_slice())
            .unwrap_or(&[])
    }

    /// Stops: closes every listener at once, lets requests in flight finish (each service
    /// waits at most its `shutdown_grace`), and returns once every connection is closed.
    pub async fn stop(&mut self) -> Result<(), ServerError> {
        let mut running = self.running.take().ok_or(ServerError::NotRunning)?;
        let _ = running.shutdown.send(true);
        for task in running.tasks.drain(..) {
            let _ = task.await;
        }
        Ok(())
    }

    /// Whether the server is running.
    pub fn is_running(&self) -> bool {
        self.running.is_some()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // A server dropped without `stop` still closes its listeners and lets its
        // connections wind down on their own, rather than serving on unowned.
        let _ = self.shutdown.send(true);
    }
}

fn bind(service: &Service) -> Result<tokio::net::TcpListener, ServerError> {
    let (std_listener, addr) = match &service.listen {
        Listen::Addr(addr) => (listen_on(*addr, service.limits.backlog), Some(*addr)),
        Listen::Factory(factory) => (factory(), None),
    };
    let bind_error = |source: io::Error| ServerError::Bind {
        service: service.name.to_string(),
        addr,
        source,
    };
    let std_listener = std_listener.map_err(bind_error)?;
    std_listener.set_nonblocking(true).map_err(bind_error)?;
    tokio::net::TcpListener::from_std(std_listener).map_err(bind_error)
}

/// A listening socket with the service's backlog. SO_REUSEADDR lets a restarted server bind
/// while old connections linger in TIME_WAIT; it does not let two servers share a port.
fn listen_on(addr: SocketAddr, backlog: u32) -> io::Result<std::net::TcpListener> {
    let socket = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    let listener = socket.listen(backlog)?;
    listener.into_std()
}

#[cfg(test)]
mod tests {
    use super::read_room;
    use bytes::BytesMut;

    #[test]
    fn read_room_keeps_a_buffer_with_room_and_grows_a_full_one() {
        let mut buf = BytesMut::with_capacity(16384);
        let capacity = buf.capacity();
        buf.extend_from_slice(b"G");
        read_room(&mut buf, 16384);
        assert_eq!(
            buf.capacity(),
            capacity,
            "one byte read must not double the buffer"
        );
        buf.resize(16000, b'x');
        read_room(&mut buf, 16384);
        assert!(
            buf.capacity() - buf.len() >= 16384,
            "a nearly full buffer gets a chunk"
        );
    }
}
