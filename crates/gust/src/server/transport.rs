//! What the HTTP/1.1 driver may ask of a connection's two sides beyond reading and writing
//! bytes: whether it can wait for the client's next request without a buffer, and whether
//! file bytes can go from the page cache straight into the socket.
//!
//! A plain connection is split into tokio's owned halves of its `TcpStream`, so both halves
//! still reach the socket; a TLS connection's halves must see (and decrypt, encrypt) every
//! byte, and its reader cannot tell whether a record holds application data without
//! reading it.

use std::io;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadHalf, WriteHalf};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

use crate::body::file::FileRange;
use crate::stats::CountingIo;

/// A connection's read side.
pub(crate) trait ReadSide: AsyncRead + Unpin + Send {
    /// Whether [`ReadSide::poll_read_ready`] really waits for the client: a connection
    /// between requests can then wait holding no buffer.
    fn waits_unbuffered(&self) -> bool {
        false
    }

    /// Ready once a read would find bytes, the end or an error (possibly spuriously: the
    /// read then finds nothing). Where [`ReadSide::waits_unbuffered`] is false, at once.
    fn poll_read_ready(&self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Any split stream (TLS).
impl<T: AsyncRead + Send> ReadSide for ReadHalf<T> {}

/// A read side lent to a WebSocket session by its HTTP/1.1 connection.
impl<R: ReadSide + ?Sized> ReadSide for &mut R {
    fn waits_unbuffered(&self) -> bool {
        (**self).waits_unbuffered()
    }

    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        (**self).poll_read_ready(cx)
    }
}

/// The placeholder socket of a WebSocket session over an HTTP/2 stream, which reads none.
impl ReadSide for tokio::io::Empty {}

/// A plain socket's own read half.
impl ReadSide for CountingIo<OwnedReadHalf> {
    fn waits_unbuffered(&self) -> bool {
        true
    }

    fn poll_read_ready(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.get_ref().as_ref().poll_read_ready(cx)
    }
}

/// A connection's write side.
pub(crate) trait WriteSide: AsyncWrite + Unpin + Send {
    /// The plain TCP socket under this writer, where a file may be sent with `sendfile`;
    /// `None` where a layer (TLS) must see every byte, or off Linux.
    fn sendfile_socket(&self) -> Option<&TcpStream> {
        None
    }

    /// Counts bytes that reached the socket without passing through this writer.
    fn count_sent(&self, _bytes: usize) {}
}

/// Any split stream (TLS): bytes go through the writer.
impl<T: AsyncWrite + Send> WriteSide for WriteHalf<T> {}

/// A plain socket's own write half.
impl WriteSide for CountingIo<OwnedWriteHalf> {
    fn sendfile_socket(&self) -> Option<&TcpStream> {
        cfg!(target_os = "linux").then(|| self.get_ref().as_ref())
    }

    fn count_sent(&self, bytes: usize) {
        self.count_sent_elsewhere(bytes);
    }
}

/// The most file bytes a socket holds queued but not yet sent (`TCP_NOTSENT_LOWAT`), once
/// the connection has sent a file with `sendfile`.
///
/// Without it the kernel queues up to its whole send buffer (4 MiB here) beyond what the
/// client's window lets out, and the client's acknowledgements then push that queue out
/// from whichever CPU processes them: the client's. One connection transmitting from two
/// CPUs delivers its segments out of order, and the client pays for it (out-of-order
/// queueing, spurious retransmissions, a receive window that stops growing). On loopback,
/// 64 MiB with `wrk -c4`: 2.4 GB/s without the limit, 4.7 to 5.0 GB/s with it (64 KiB and
/// more gave 3.0 to 3.6; 1 byte to 32 KiB, the same). The limit also bounds the kernel
/// memory a slow client's file holds. The cost is on a real network: the worker is woken
/// to send more every 16 KiB or so of a file the client has taken, not every few MiB.
#[cfg(target_os = "linux")]
const UNSENT_FILE_BYTES: u32 = 16 * 1024;

/// Limits what `socket` keeps queued unsent to [`UNSENT_FILE_BYTES`] before a file goes
/// out with `sendfile`. A kernel without the option (before 3.12) only sends as before.
#[cfg(target_os = "linux")]
pub(crate) fn limit_unsent_file_bytes(socket: &TcpStream) {
    if let Err(e) = socket2::SockRef::from(socket).set_tcp_notsent_lowat(UNSENT_FILE_BYTES) {
        tracing::debug!(error = %e, "TCP_NOTSENT_LOWAT refused");
    }
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn limit_unsent_file_bytes(_socket: &TcpStream) {}

/// Sends as much of `range` as `socket` takes, from the page cache, waiting for the socket
/// to have room. The caller checks first that the page cache holds the next bytes
/// ([`FileRange::next_is_cached`]): `sendfile` would otherwise wait for the disk on this
/// worker thread.
#[cfg(target_os = "linux")]
pub(crate) async fn send_from_page_cache(
    socket: &TcpStream,
    range: &mut FileRange,
) -> io::Result<usize> {
    socket
        .async_io(tokio::io::Interest::WRITABLE, || range.send_to(socket))
        .await
}

/// Whether `sendfile` refused this file or socket as such (not a failure of the transfer):
/// the bytes can still go through memory.
#[cfg(target_os = "linux")]
pub(crate) fn sendfile_refused(error: &io::Error) -> bool {
    use rustix::io::Errno;
    matches!(
        Errno::from_io_error(error),
        Some(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP)
    )
}

#[cfg(not(target_os = "linux"))]
pub(crate) fn sendfile_refused(_error: &io::Error) -> bool {
    true
}

#[cfg(not(target_os = "linux"))]
pub(crate) async fn send_from_page_cache(
    _socket: &TcpStream,
    _range: &mut FileRange,
) -> io::Result<usize> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// The option is really set on a real socket (the kernel reads it back).
    #[tokio::test]
    async fn a_socket_sending_a_file_keeps_little_unsent() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (server, _) = listener.accept().await.unwrap();
        let before = socket2::SockRef::from(&server).tcp_notsent_lowat().unwrap();
        assert_ne!(
            before, UNSENT_FILE_BYTES,
            "the kernel's default is already the limit"
        );
        limit_unsent_file_bytes(&server);
        let after = socket2::SockRef::from(&server).tcp_notsent_lowat().unwrap();
        assert_eq!(after, UNSENT_FILE_BYTES);
        drop(client);
    }
}
