//! A stream's body bytes waiting for send window, in order.

use std::collections::VecDeque;

use bytes::Bytes;

/// Pieces of a response body waiting to be framed as DATA. Most responses queue one piece
/// (a whole body, or one chunk at a time of a streamed one), which is held inline: a
/// `VecDeque` allocates at its first push, once per response. Only the pieces behind the
/// first go to the deque.
#[derive(Debug, Default)]
pub(super) struct SendQueue {
    /// The piece at the front; `None` only when the queue is empty.
    first: Option<Bytes>,
    rest: VecDeque<Bytes>,
}

impl SendQueue {
    pub(super) fn push_back(&mut self, piece: Bytes) {
        if self.first.is_none() {
            self.first = Some(piece);
        } else {
            self.rest.push_back(piece);
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.first.is_none()
    }

    pub(super) fn front_mut(&mut self) -> Option<&mut Bytes> {
        self.first.as_mut()
    }

    pub(super) fn pop_front(&mut self) -> Option<Bytes> {
        let front = self.first.take();
        self.first = self.rest.pop_front();
        front
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pieces_come_out_in_the_order_they_went_in() {
        let mut queue = SendQueue::default();
        assert!(queue.is_empty());
        assert_eq!(queue.pop_front(), None);
        for round in 0..3u8 {
            // Interleaved pushes and pops, with one and with several pieces queued.
            for n in 0..=round {
                queue.push_back(Bytes::from(vec![round, n]));
            }
            let front = queue.front_mut().expect("not empty");
            assert_eq!(&front[..], &[round, 0]);
            // The front may be consumed in part, as a DATA frame takes what the window allows.
            *front = front.slice(1..);
            assert_eq!(queue.pop_front().as_deref(), Some(&[0u8][..]));
            for n in 1..=round {
                assert!(!queue.is_empty());
                assert_eq!(queue.pop_front().as_deref(), Some(&[round, n][..]));
            }
            assert!(queue.is_empty());
            assert_eq!(queue.front_mut(), None);
        }
    }
}
