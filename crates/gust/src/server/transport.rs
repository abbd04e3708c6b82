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
