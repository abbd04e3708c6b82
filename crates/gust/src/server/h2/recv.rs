//! The request body of one HTTP/2 stream: a buffer the connection fills with DATA and the
//! handler drains.
//!
//! The peer may send only as much as the stream's receive window allows, and the window is
//! given back only as the handler takes chunks out (each take is reported to the
//! connection on `releases`), so the buffer never holds more than one window. Small DATA
//! payloads are copied and joined: a payload is a slice of the socket's read buffer, and a
//! peer sending one-byte frames would otherwise pin a whole read buffer per byte.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

use bytes::{Bytes, BytesMut};
use tokio::sync::mpsc;

use crate::body::{BodyError, BodyMessage, BodySource};
use crate::proto::h2::frame::StreamId;

/// Payloads shorter than this are copied into the joining buffer instead of kept as
/// slices of the read buffer.
const COPY_BELOW: usize = 4096;
/// The joining buffer becomes a chunk of its own once it holds this much.
const JOINED_CHUNK: usize = 16 * 1024;

/// What a reader tells the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Release {
    /// The handler took `bytes` out of the buffer: give the peer that credit.
    Consumed { stream: StreamId, bytes: usize },
    /// The handler dropped its body with `unread` bytes still buffered: give their credit
    /// back, and discard whatever else arrives.
    Dropped { stream: StreamId, unread: usize },
}

#[derive(Debug, Default)]
struct Inner {
    chunks: VecDeque<Bytes>,
    /// Small payloads joined, newer than everything in `chunks`.
    joined: BytesMut,
    buffered: usize,
    /// `Some(Ok)` once the body ended, `Some(Err)` once it was aborted.
    end: Option<Result<(), BodyError>>,
    waker: Option<Waker>,
    reader_gone: bool,
}

/// The connection's handle on a stream's body buffer.
#[derive(Debug, Clone)]
pub(super) struct RecvBuffer {
    inner: Arc<Mutex<Inner>>,
}

impl RecvBuffer {
    /// A buffer and the body source its handler reads.
    pub(super) fn new(
        stream: StreamId,
        releases: mpsc::UnboundedSender<Release>,
    ) -> (RecvBuffer, Box<dyn BodySource>) {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let reader = Reader {
            inner: inner.clone(),
            stream,
            releases,
        };
        (RecvBuffer { inner }, Box::new(reader))
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding this lock leaves plain data behind; carry on with it.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds a payload. False if the reader is gone: the caller returns the credit itself.
    pub(super) fn push(&self, data: Bytes) -> bool {
        let mut inner = self.lock();
        if inner.reader_gone {
            return false;
        }
        if data.is_empty() {
            return true;
        }
        inner.buffered += data.len();
        if data.len() < COPY_BELOW {
            inner.joined.extend_from_slice(&data);
            if inner.joined.len() >= JOINED_CHUNK {
                let chunk = inner.joined.split().freeze();
                inner.chunks.push_back(chunk);
            }
        } else {
            if !inner.joined.is_empty() {
                let chunk = inner.joined.split().freeze();
                inner.chunks.push_back(chunk);
            }
            inner.chunks.push_back(data);
        }
        if let Some(w) = inner.waker.take() {
            w.wake();
        }
        true
    }

    /// The body ended (END_STREAM or trailers).
    pub(super) fn finish(&self) {
        self.end_with(Ok(()));
    }

    /// The body will not end: the stream was reset or the connection is going.
    /// Returns the bytes still buffered, whose credit the caller gives back.
    pub(super) fn abort(&self) -> usize {
        self.end_with(Err(BodyError::Aborted));
        let mut inner = self.lock();
        let unread = inner.buffered;
        inner.chunks.clear();
        inner.joined.clear();
        inner.buffered = 0;
        unread
    }

    fn end_with(&self, end: Result<(), BodyError>) {
        let mut inner = self.lock();
        if inner.end.is_none() {
            inner.end = Some(end);
        }
        if let Some(w) = inner.waker.take() {
            w.wake();
        }
    }

    /// Whether the handler is waiting for the peer: it asked for a chunk and none is here.
    pub(super) fn reader_waiting(&self) -> bool {
        let inner = self.lock();
        inner.buffered == 0 && inner.waker.is_some()
    }

    /// Whether the handler dropped its body.
    #[cfg(test)]
    pub(super) fn reader_gone(&self) -> bool {
        self.lock().reader_gone
    }
}

/// The handler's side.
struct Reader {
    inner: Arc<Mutex<Inner>>,
    stream: StreamId,
    releases: mpsc::UnboundedSender<Release>,
}

impl BodySource for Reader {
    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<BodyMessage> {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let chunk = match inner.chunks.pop_front() {
            Some(c) => Some(c),
            None if !inner.joined.is_empty() => Some(inner.joined.split().freeze()),
            None => None,
        };
        if let Some(chunk) = chunk {
            inner.buffered -= chunk.len();
            let _ = self.releases.send(Release::Consumed {
                stream: self.stream,
                bytes: chunk.len(),
            });
            return Poll::Ready(Ok(Some(chunk)));
        }
        match &inner.end {
            Some(Ok(())) => Poll::Ready(Ok(None)),
            Some(Err(e)) => Poll::Ready(Err(e.clone())),
            None => {
                inner.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.reader_gone = true;
        let unread = inner.buffered;
        inner.chunks.clear();
        inner.joined.clear();
        inner.buffered = 0;
        // A body read to its end needs nothing more from the connection.
        if inner.end.is_none() || unread > 0 {
            let _ = self.releases.send(Release::Dropped {
                stream: self.stream,
                unread,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::RequestBody;

    fn setup() -> (RecvBuffer, RequestBody, mpsc::UnboundedReceiver<Release>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let (buf, source) = RecvBuffer::new(StreamId::new(1), tx);
        (buf, RequestBody::from_source(source, None), rx)
    }

    #[tokio::test]
    async fn chunks_arrive_in_order_and_each_take_is_reported() {
        let (buf, mut body, mut releases) = setup();
        assert!(buf.push(Bytes::from(vec![b'a'; 5000])));
        assert!(buf.push(Bytes::from_static(b"bc")));
        assert!(buf.push(Bytes::from_static(b"d")));
        buf.finish();
        assert_eq!(body.next_chunk().await.unwrap().unwrap().len(), 5000);
        assert_eq!(&body.next_chunk().await.unwrap().unwrap()[..], b"bcd");
        assert_eq!(body.next_chunk().await.unwrap(), None);
        let got: Vec<Release> = std::iter::from_fn(|| releases.try_recv().ok()).collect();
        let stream = StreamId::new(1);
        assert_eq!(
            got,
            [
                Release::Consumed {
                    stream,
                    bytes: 5000
                },
                Release::Consumed { stream, bytes: 3 }
            ]
        );
    }

    #[tokio::test]
    async fn small_payloads_are_joined_and_copied() {
        let (buf, mut body, _releases) = setup();
        let big = Bytes::from(vec![7u8; 64 * 1024]);
        for i in 0..100 {
            assert!(buf.push(big.slice(i..i + 1)));
        }
        buf.finish();
        let chunk = body.next_chunk().await.unwrap().unwrap();
        assert_eq!(chunk.len(), 100);
        drop(big);
        assert_eq!(body.next_chunk().await.unwrap(), None);
    }

    #[tokio::test]
    async fn dropping_the_body_reports_unread_bytes_and_refuses_more() {
        let (buf, body, mut releases) = setup();
        assert!(buf.push(Bytes::from_static(b"hello")));
        drop(body);
        assert_eq!(
            releases.try_recv().unwrap(),
            Release::Dropped {
                stream: StreamId::new(1),
                unread: 5
            }
        );
        assert!(buf.reader_gone());
        assert!(!buf.push(Bytes::from_static(b"more")));
    }

    #[tokio::test]
    async fn abort_is_seen_by_the_reader_and_returns_the_unread_count() {
        let (buf, mut body, _releases) = setup();
        assert!(buf.push(Bytes::from_static(b"xyz")));
        assert_eq!(buf.abort(), 3);
        assert_eq!(body.next_chunk().await, Err(BodyError::Aborted));
    }
}
