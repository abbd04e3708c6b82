//! Bytes waiting for the socket, written with vectored writes.
//!
//! The HTTP/2 and WebSocket drivers hand over frame heads and control frames (a few bytes
//! each) and payloads (slices of the response bodies or messages, never copied). Small pieces are joined into
//! one buffer so that a write, or a TLS record, is not spent on nine bytes; large ones are
//! queued as they are.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// Pieces up to this size are copied into the joining buffer.
const JOIN_UP_TO: usize = 1024;
/// Slices per vectored write.
const MAX_SLICES: usize = 64;

#[derive(Debug, Default)]
pub(crate) struct Outbox {
    queue: VecDeque<Bytes>,
    /// Small pieces after everything in `queue`.
    joining: BytesMut,
    len: usize,
}

impl Outbox {
    /// Bytes waiting.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Gives back the memory of an empty outbox (an idle connection's).
    pub(crate) fn release_if_empty(&mut self) {
        if self.is_empty() {
            self.queue = VecDeque::new();
            self.joining = BytesMut::new();
        }
    }

    pub(crate) fn push(&mut self, piece: Bytes) {
        if piece.is_empty() {
            return;
        }
        self.len += piece.len();
        if piece.len() <= JOIN_UP_TO {
            self.joining.extend_from_slice(&piece);
            return;
        }
        self.seal();
        self.queue.push_back(piece);
    }

    fn seal(&mut self) {
        if !self.joining.is_empty() {
            let joined = self.joining.split().freeze();
            self.queue.push_back(joined);
        }
    }

    /// Writes once (one vectored write); returns the bytes written, 0 if the peer closed.
    pub(crate) async fn write_to<W: AsyncWrite + Unpin>(
        &mut self,
        w: &mut W,
    ) -> std::io::Result<usize> {
        self.seal();
        let n = {
            let slices: Vec<IoSlice<'_>> = self
                .queue
                .iter()
                .take(MAX_SLICES)
                .map(|b| IoSlice::new(b))
                .collect();
            w.write_vectored(&slices).await?
        };
        self.advance(n);
        Ok(n)
    }

    /// Takes the first piece out (joined small pieces count as one), for a transport that
    /// forwards pieces rather than writing them.
    pub(crate) fn pop(&mut self) -> Option<Bytes> {
        self.seal();
        let piece = self.queue.pop_front()?;
        self.len -= piece.len();
        Some(piece)
    }

    fn advance(&mut self, mut n: usize) {
        self.len -= n;
        while n > 0 {
            let Some(front) = self.queue.front_mut() else {
                break;
            };
            if n >= front.len() {
                n -= front.len();
                self.queue.pop_front();
            } else {
                front.advance(n);
                n = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn writes_everything_in_order() {
        let mut out = Outbox::default();
        let big = Bytes::from(vec![b'x'; 5000]);
        out.push(Bytes::from_static(b"head"));
        out.push(big.clone());
        out.push(Bytes::from_static(b"tail"));
        assert_eq!(out.len(), 5008);
        let mut sink: Vec<u8> = Vec::new();
        while !out.is_empty() {
            assert!(out.write_to(&mut sink).await.unwrap() > 0);
        }
        let mut expected = b"head".to_vec();
        expected.extend_from_slice(&big);
        expected.extend_from_slice(b"tail");
        assert_eq!(sink, expected);
    }
}
