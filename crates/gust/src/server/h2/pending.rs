//! A set of futures run together that holds no memory while it is empty.
//!
//! `FuturesUnordered` allocates its run queue when made and keeps it when emptied: two
//! of them (handlers, WebSocket tunnels) were about 300 bytes of every idle HTTP/2
//! connection. This one is made with its first future and dropped when the connection
//! goes idle.

use futures_util::stream::FuturesUnordered;
use futures_util::StreamExt;

/// Futures that finish in any order; nothing allocated while there are none.
pub(super) struct Pending<F>(Option<FuturesUnordered<F>>);

impl<F: std::future::Future> Pending<F> {
    pub(super) fn new() -> Self {
        Pending(None)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.0.as_ref().is_none_or(FuturesUnordered::is_empty)
    }

    pub(super) fn len(&self) -> usize {
        self.0.as_ref().map_or(0, FuturesUnordered::len)
    }

    pub(super) fn push(&mut self, future: F) {
        self.0
            .get_or_insert_with(FuturesUnordered::new)
            .push(future);
    }

    /// The next output; never resolves while the set is empty. Cancel-safe.
    pub(super) async fn next(&mut self) -> F::Output {
        match self.0.as_mut() {
            Some(set) if !set.is_empty() => match set.next().await {
                Some(output) => output,
                None => std::future::pending().await,
            },
            _ => std::future::pending().await,
        }
    }

    /// Gives the queue's memory back if no future is left.
    pub(super) fn release_if_empty(&mut self) {
        if self.is_empty() {
            self.0 = None;
        }
    }

    /// The futures still running, to be finished elsewhere.
    pub(super) fn take(&mut self) -> Option<FuturesUnordered<F>> {
        self.0.take().filter(|set| !set.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn outputs_come_back_and_an_emptied_set_lets_go_of_its_queue() {
        let mut set = Pending::new();
        assert!(set.is_empty());
        set.push(Box::pin(async { 1 })
            as std::pin::Pin<
                Box<dyn std::future::Future<Output = i32> + Send>,
            >);
        set.push(Box::pin(async { 2 }));
        assert_eq!(set.len(), 2);
        let mut got = vec![set.next().await, set.next().await];
        got.sort_unstable();
        assert_eq!(got, [1, 2]);
        assert!(set.is_empty());
        set.release_if_empty();
        assert!(set.0.is_none());
        let waited = tokio::time::timeout(std::time::Duration::from_millis(20), set.next()).await;
        assert!(waited.is_err(), "an empty set never yields");
    }
}
