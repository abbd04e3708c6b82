//! What the HTTP/1.1 driver may ask of a connection's write side beyond writing bytes:
//! whether file bytes can go from the page cache straight into the socket.
//!
//! A plain connection is split into tokio's owned halves of its `TcpStream`, so its writer
//! still reaches the socket; a TLS connection's writer must see (and encrypt) every byte.

use std::io;

use tokio::io::{AsyncWrite, WriteHalf};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::net::TcpStream;

use crate::body::file::FileRange;
use crate::stats::CountingIo;

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

#[cfg(not(target_os = "linux"))]
pub(crate) async fn send_from_page_cache(
    _socket: &TcpStream,
    _range: &mut FileRange,
) -> io::Result<usize> {
    Err(io::Error::from(io::ErrorKind::Unsupported))
}
