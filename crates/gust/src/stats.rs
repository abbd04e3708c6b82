//! Counters the server keeps while it runs: connections, requests by protocol, WebSocket
//! sessions, TLS handshakes and socket bytes.
//!
//! The server updates a [`Stats`] from many connection tasks at once; a reader (the sample's
//! statistics socket, a metrics endpoint) takes a [`StatsSnapshot`] whenever it likes. Every
//! counter is one atomic updated with `Relaxed` ordering: a counter publishes no other data,
//! so no ordering between counters is needed, and no lock is ever taken on the data path.
//!
//! What is counted where (the server's side of the contract):
//!
//! | Counter                 | Counted when                                               |
//! |-------------------------|------------------------------------------------------------|
//! | `connections_accepted`  | the accept loop hands a TCP connection to its task         |
//! | `connections_open`      | ... and until that task ends (however it ends)             |
//! | `tls_handshakes`        | a TLS handshake completes (failed ones are not counted)    |
//! | `requests_http1`        | a request head is dispatched on HTTP/1.0 or HTTP/1.1       |
//! | `requests_h2`           | a request head is dispatched on an HTTP/2 stream           |
//! | `websockets_accepted`   | a WebSocket handshake is answered 101 and a session starts |
//! | `websockets_open`       | ... and until that session ends (however it ends)          |
//! | `bytes_received`/`sent` | bytes cross the TCP socket, below TLS (`CountingIo`)       |
//! | `plaintext_bytes_*`     | HTTP and WebSocket bytes, above TLS (the same on plain TCP) |

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use http::Version;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Counters of one or more services, shared by the server and whoever reads them.
///
/// The server holds it in an [`Arc`] (connection tasks and socket wrappers each keep a
/// clone), so [`Stats::new`] returns one; `Arc::new(Stats::default())` is the same thing.
/// Give one `Stats` to several services to count them together, or one each to tell them
/// apart.
///
/// Each figure is exact on its own, but a [`snapshot`](Stats::snapshot) reads them one after
/// another while connections keep running, so two figures of one snapshot may be a few
/// events apart (a connection counted as accepted whose first request is not counted yet).
/// That is the price of never stopping the server to read them.
#[derive(Debug, Default)]
pub struct Stats {
    connections_accepted: AtomicU64,
    connections_open: AtomicU64,
    requests_http1: AtomicU64,
    requests_h2: AtomicU64,
    websockets_accepted: AtomicU64,
    websockets_open: AtomicU64,
    tls_handshakes: AtomicU64,
    bytes_received: AtomicU64,
    bytes_sent: AtomicU64,
    plaintext_bytes_received: AtomicU64,
    plaintext_bytes_sent: AtomicU64,
}

/// The figures of a [`Stats`] at one moment, as plain numbers.
///
/// Counts since the `Stats` was made; the `_open` figures are what is open now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// TCP connections accepted, whether they went on to speak TLS, HTTP/1.1 or HTTP/2.
    pub connections_accepted: u64,
    /// TCP connections open now (accepted and not yet closed).
    pub connections_open: u64,
    /// Requests received over HTTP/1.0 and HTTP/1.1, including WebSocket upgrade requests.
    pub requests_http1: u64,
    /// Requests received over HTTP/2 (one per stream that carried a request).
    pub requests_h2: u64,
    /// WebSocket sessions started (handshakes answered 101).
    pub websockets_accepted: u64,
    /// WebSocket sessions open now.
    pub websockets_open: u64,
    /// TLS handshakes completed; failed and timed-out handshakes are not counted.
    pub tls_handshakes: u64,
    /// Bytes read from TCP sockets: what the clients sent, TLS records included.
    pub bytes_received: u64,
    /// Bytes written to TCP sockets: what the clients were sent, TLS records included.
    pub bytes_sent: u64,
    /// Bytes of HTTP and WebSocket the clients sent: after TLS decryption, equal to
    /// `bytes_received` on plain connections.
    pub plaintext_bytes_received: u64,
    /// Bytes of HTTP and WebSocket the clients were sent, before TLS encryption.
    pub plaintext_bytes_sent: u64,
}

impl Stats {
    /// A fresh set of counters, all zero, ready to be shared.
    pub fn new() -> Arc<Stats> {
        Arc::new(Stats::default())
    }

    /// Reads every counter.
    pub fn snapshot(&self) -> StatsSnapshot {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        StatsSnapshot {
            connections_accepted: load(&self.connections_accepted),
            connections_open: load(&self.connections_open),
            requests_http1: load(&self.requests_http1),
            requests_h2: load(&self.requests_h2),
            websockets_accepted: load(&self.websockets_accepted),
            websockets_open: load(&self.websockets_open),
            tls_handshakes: load(&self.tls_handshakes),
            bytes_received: load(&self.bytes_received),
            bytes_sent: load(&self.bytes_sent),
            plaintext_bytes_received: load(&self.plaintext_bytes_received),
            plaintext_bytes_sent: load(&self.plaintext_bytes_sent),
        }
    }
}

fn add(counter: &AtomicU64, n: u64) {
    counter.fetch_add(n, Ordering::Relaxed);
}

/// Takes one from an open count, stopping at zero: an unbalanced close is a bug in the
/// caller, and a figure of 2^64 - 1 open connections would hide it worse than a zero does.
fn sub_one(counter: &AtomicU64) {
    // A compare-and-swap loop, still lock-free; closes are as rare as accepts.
    let _ = counter.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
}

impl Stats {
    /// A TCP connection was accepted and is now open. Prefer [`Stats::open_connection`],
    /// whose guard cannot forget the close.
    pub(crate) fn connection_opened(&self) {
        add(&self.connections_accepted, 1);
        add(&self.connections_open, 1);
    }

    /// A TCP connection counted by [`Stats::connection_opened`] has closed.
    pub(crate) fn connection_closed(&self) {
        sub_one(&self.connections_open);
    }

    /// A TLS handshake completed.
    pub(crate) fn tls_handshake(&self) {
        add(&self.tls_handshakes, 1);
    }

    /// A request head arrived on a connection speaking `version`.
    ///
    /// HTTP/0.9, 1.0 and 1.1 count as HTTP/1, HTTP/2 as h2. gust serves no other version;
    /// one would not be counted rather than be filed under the wrong protocol.
    pub(crate) fn request(&self, version: Version) {
        if version == Version::HTTP_2 {
            add(&self.requests_h2, 1);
        } else if version == Version::HTTP_11
            || version == Version::HTTP_10
            || version == Version::HTTP_09
        {
            add(&self.requests_http1, 1);
        }
    }

    /// A WebSocket session started. Prefer [`Stats::open_websocket`], whose guard cannot
    /// forget the close.
    pub(crate) fn websocket_opened(&self) {
        add(&self.websockets_accepted, 1);
        add(&self.websockets_open, 1);
    }

    /// A WebSocket session counted by [`Stats::websocket_opened`] has ended.
    pub(crate) fn websocket_closed(&self) {
        sub_one(&self.websockets_open);
    }

    /// `n` bytes were read at `layer`.
    pub(crate) fn received(&self, layer: Layer, n: u64) {
        if layer != Layer::Plaintext {
            add(&self.bytes_received, n);
        }
        if layer != Layer::Socket {
            add(&self.plaintext_bytes_received, n);
        }
    }

    /// `n` bytes were written at `layer`.
    pub(crate) fn sent(&self, layer: Layer, n: u64) {
        if layer != Layer::Plaintext {
            add(&self.bytes_sent, n);
        }
        if layer != Layer::Socket {
            add(&self.plaintext_bytes_sent, n);
        }
    }

    /// Counts a connection as accepted and open, and as closed when the guard is dropped.
    ///
    /// Hold the guard for the connection task's whole life: whether the task returns, is
    /// cancelled at shutdown or unwinds from a panic, the open count comes back down.
    pub(crate) fn open_connection(self: &Arc<Self>) -> OpenGuard {
        self.connection_opened();
        OpenGuard {
            stats: Arc::clone(self),
            kind: OpenKind::Connection,
        }
    }

    /// Counts a WebSocket session as accepted and open, and as closed when the guard is
    /// dropped. Hold it for the session's whole life, as for [`Stats::open_connection`].
    pub(crate) fn open_websocket(self: &Arc<Self>) -> OpenGuard {
        self.websocket_opened();
        OpenGuard {
            stats: Arc::clone(self),
            kind: OpenKind::WebSocket,
        }
    }
}

/// What an [`OpenGuard`] keeps open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpenKind {
    Connection,
    WebSocket,
}

/// Keeps a connection or a WebSocket session counted as open until it is dropped.
///
/// Made by [`Stats::open_connection`] and [`Stats::open_websocket`]. Owning the `Arc` (not a
/// borrow) lets the guard move into a spawned task.
#[derive(Debug)]
#[must_use = "the count goes back down as soon as the guard is dropped"]
pub(crate) struct OpenGuard {
    stats: Arc<Stats>,
    kind: OpenKind,
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        match self.kind {
            OpenKind::Connection => self.stats.connection_closed(),
            OpenKind::WebSocket => self.stats.websocket_closed(),
        }
    }
}

/// A socket that adds every byte it reads and writes to a [`Stats`].
///
/// Wrap the `TcpStream` itself, before any TLS, so the figures are the bytes on the wire
/// (TLS records and HTTP/2 framing included), as the kernel's counters would see them. Only
/// bytes actually moved are counted: a write that the socket takes in part counts the part.
///
/// Vectored writes are passed through as such (HTTP/2 writes frame headers and payloads in
/// one call); losing them would split every such write into one system call per slice.
///
/// `IO: Unpin` (as `TcpStream` is) lets the wrapper pin its field without unsafe code.
#[derive(Debug)]
pub(crate) struct CountingIo<IO> {
    inner: IO,
    stats: Arc<Stats>,
    layer: Layer,
}

/// Which byte counters a [`CountingIo`] feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layer {
    /// A TCP socket carrying TLS: `bytes_*`.
    Socket,
    /// The plaintext side of a TLS stream: `plaintext_bytes_*`.
    Plaintext,
    /// A TCP socket carrying HTTP itself: both.
    Both,
}

impl<IO> CountingIo<IO> {
    /// Counts `inner`'s traffic into `stats`, at `layer`.
    pub(crate) fn new(inner: IO, stats: Arc<Stats>, layer: Layer) -> Self {
        CountingIo {
            inner,
            stats,
            layer,
        }
    }

    /// The wrapped socket, for what the wrapper does not forward (peer address, options,
    /// readiness).
    pub(crate) fn get_ref(&self) -> &IO {
        &self.inner
    }

    /// Counts bytes written to the wrapped socket without going through this wrapper
    /// (`sendfile`).
    pub(crate) fn count_sent_elsewhere(&self, n: usize) {
        self.stats.sent(self.layer, as_count(n));
    }
}

/// Converts a byte count for the counters; a `usize` wider than 64 bits does not exist on
/// any target gust builds for, but saturating costs nothing and cannot panic.
fn as_count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

impl<IO: AsyncRead + Unpin> AsyncRead for CountingIo<IO> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            // The inner reader only appends to `filled`; saturate rather than trust it.
            let read = buf.filled().len().saturating_sub(before);
            this.stats.received(this.layer, as_count(read));
        }
        polled
    }
}

impl<IO: AsyncWrite + Unpin> AsyncWrite for CountingIo<IO> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(written)) = polled {
            this.stats.sent(this.layer, as_count(written));
        }
        polled
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(written)) = polled {
            this.stats.sent(this.layer, as_count(written));
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::panic::{self, AssertUnwindSafe};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn a_new_set_reads_all_zero() {
        assert_eq!(Stats::new().snapshot(), StatsSnapshot::default());
    }

    #[test]
    fn each_recorder_moves_its_own_counter() {
        let stats = Stats::new();
        stats.connection_opened();
        stats.connection_opened();
        stats.connection_closed();
        stats.tls_handshake();
        stats.request(Version::HTTP_10);
        stats.request(Version::HTTP_11);
        stats.request(Version::HTTP_2);
        stats.websocket_opened();
        stats.received(Layer::Both, 100);
        stats.sent(Layer::Socket, 7);
        stats.sent(Layer::Socket, 3);
        stats.received(Layer::Plaintext, 60);
        stats.sent(Layer::Plaintext, 5);
        assert_eq!(
            stats.snapshot(),
            StatsSnapshot {
                connections_accepted: 2,
                connections_open: 1,
                requests_http1: 2,
                requests_h2: 1,
                websockets_accepted: 1,
                websockets_open: 1,
                tls_handshakes: 1,
                bytes_received: 100,
                bytes_sent: 10,
                plaintext_bytes_received: 160,
                plaintext_bytes_sent: 5,
            }
        );
        stats.websocket_closed();
        let after = stats.snapshot();
        assert_eq!((after.websockets_accepted, after.websockets_open), (1, 0));
    }

    #[test]
    fn a_version_gust_does_not_serve_is_not_counted() {
        let stats = Stats::new();
        stats.request(Version::HTTP_3);
        stats.request(Version::HTTP_09);
        let s = stats.snapshot();
        assert_eq!((s.requests_http1, s.requests_h2), (1, 0));
    }

    #[test]
    fn an_unbalanced_close_stops_at_zero() {
        let stats = Stats::new();
        stats.connection_closed();
        stats.websocket_closed();
        let s = stats.snapshot();
        assert_eq!((s.connections_open, s.websockets_open), (0, 0));
    }

    #[test]
    fn guards_count_open_until_dropped() {
        let stats = Stats::new();
        let first = stats.open_connection();
        let second = stats.open_connection();
        let ws = stats.open_websocket();
        let s = stats.snapshot();
        assert_eq!((s.connections_accepted, s.connections_open), (2, 2));
        assert_eq!((s.websockets_accepted, s.websockets_open), (1, 1));
        drop(first);
        drop(ws);
        let s = stats.snapshot();
        assert_eq!((s.connections_accepted, s.connections_open), (2, 1));
        assert_eq!((s.websockets_accepted, s.websockets_open), (1, 0));
        drop(second);
        assert_eq!(stats.snapshot().connections_open, 0);
    }

    #[test]
    fn a_guard_closes_when_its_holder_unwinds() {
        let stats = Stats::new();
        let unwound = panic::catch_unwind(AssertUnwindSafe(|| {
            let _connection = stats.open_connection();
            let _ws = stats.open_websocket();
            // resume_unwind skips the panic hook: the same unwinding, without test noise.
            panic::resume_unwind(Box::new("handler failed"));
        }));
        assert!(unwound.is_err());
        let s = stats.snapshot();
        assert_eq!((s.connections_accepted, s.connections_open), (1, 0));
        assert_eq!((s.websockets_accepted, s.websockets_open), (1, 0));
    }

    #[test]
    fn a_guard_moves_into_a_task_and_closes_when_it_ends() {
        let stats = Stats::new();
        let guard = stats.open_connection();
        let task = std::thread::spawn(move || drop(guard));
        assert!(task.join().is_ok());
        assert_eq!(stats.snapshot().connections_open, 0);
    }

    #[test]
    fn concurrent_updates_are_all_counted() {
        const THREADS: u64 = 4;
        const EACH: u64 = 10_000;
        let stats = Stats::new();
        let workers: Vec<_> = (0..THREADS)
            .map(|_| {
                let stats = Arc::clone(&stats);
                std::thread::spawn(move || {
                    for _ in 0..EACH {
                        let _open = stats.open_connection();
                        stats.request(Version::HTTP_2);
                        stats.sent(Layer::Both, 2);
                    }
                })
            })
            .collect();
        for worker in workers {
            assert!(worker.join().is_ok());
        }
        let s = stats.snapshot();
        assert_eq!(s.connections_accepted, THREADS * EACH);
        assert_eq!(s.connections_open, 0);
        assert_eq!(s.requests_h2, THREADS * EACH);
        assert_eq!(s.bytes_sent, 2 * THREADS * EACH);
    }

    #[tokio::test]
    async fn counting_io_counts_exact_bytes_both_ways() {
        let stats = Stats::new();
        let (server, mut client) = tokio::io::duplex(1024);
        let mut server = CountingIo::new(server, Arc::clone(&stats), Layer::Both);

        // Server to client: a plain write, then a vectored one that must stay vectored.
        server.write_all(b"HTTP/1.1 200 OK\r\n").await.unwrap();
        assert!(
            server.is_write_vectored(),
            "the duplex pipe takes vectored writes"
        );
        let slices = [
            IoSlice::new(b"head:"),
            IoSlice::new(b""),
            IoSlice::new(b"payload"),
        ];
        let written = server.write_vectored(&slices).await.unwrap();
        // Forwarded as one vectored write, every slice goes in one call; the trait's
        // fallback would have written only the first non-empty slice.
        assert_eq!(written, 12);
        server.flush().await.unwrap();
        let mut seen = vec![0; 17 + 12];
        client.read_exact(&mut seen).await.unwrap();
        assert_eq!(&seen[..], b"HTTP/1.1 200 OK\r\nhead:payload");

        // Client to server, read back in pieces smaller than what was sent.
        client.write_all(&[7; 300]).await.unwrap();
        let mut piece = [0; 64];
        let mut total = 0;
        while total < 300 {
            let n = server.read(&mut piece).await.unwrap();
            assert!(n > 0, "the pipe is still open");
            total += n;
        }
        assert_eq!(total, 300);

        let s = stats.snapshot();
        assert_eq!((s.bytes_sent, s.bytes_received), (29, 300));

        // End of stream reads nothing and counts nothing; shutdown reaches the peer.
        drop(client);
        assert_eq!(server.read(&mut piece).await.unwrap(), 0);
        assert_eq!(stats.snapshot().bytes_received, 300);
        server.shutdown().await.unwrap();
    }

    #[tokio::test]
    async fn counting_io_counts_only_what_the_socket_took() {
        let stats = Stats::new();
        // A pipe of 8 bytes takes at most 8 per write while nobody reads.
        let (server, mut client) = tokio::io::duplex(8);
        let mut server = CountingIo::new(server, Arc::clone(&stats), Layer::Both);
        let n = server.write(b"0123456789abcdef").await.unwrap();
        assert_eq!(n, 8);
        assert_eq!(stats.snapshot().bytes_sent, 8);
        let slices = [IoSlice::new(b"xyz")];
        // The pipe is full now: the next write waits until the client reads.
        let (written, _) = tokio::join!(server.write_vectored(&slices), async {
            let mut buf = [0; 8];
            client.read_exact(&mut buf).await.unwrap();
        });
        assert_eq!(written.unwrap(), 3);
        assert_eq!(stats.snapshot().bytes_sent, 11);
        assert_eq!(
            server.get_ref().is_write_vectored(),
            server.is_write_vectored()
        );
    }
}
