//! The idle connections of one listener, oldest first, so that a full listener can close
//! one to make room for a new client.
//!
//! A connection is idle while it waits for a request and has nothing to send: an HTTP/1.1
//! connection between requests, before its first byte, or with a request head still
//! arriving; an HTTP/2 connection without streams; a TLS connection whose client has not
//! sent a byte yet. Closing it then loses nothing that was answered: HTTP lets either side
//! close an idle connection (RFC 9112 9.5; HTTP/2 with GOAWAY NO_ERROR), and clients retry
//! on a new one; a head that takes over a second to arrive is a slowloris more likely than a
//! client. Without this, `max_clients` such connections (a keep-alive crowd, an attacker who
//! connects and says nothing or trickles heads) would make every new client wait in the
//! kernel's backlog until their timeouts ran out.
//!
//! Age is counted from when the connection began to wait: for a head under way, from its
//! start, so a slowloris cannot make itself young again with each byte.
//!
//! Only a connection idle for at least [`MIN_IDLE`] is asked: one that has just been
//! accepted may have its request on the way, and one that has just been answered may be
//! about to send the next (a browser loading a page). A burst of new clients past the limit
//! therefore waits up to that long for room, rather than the clients closing each other's
//! connections before they could be served.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

/// How long a connection must have been idle before it may be asked to close.
pub(crate) const MIN_IDLE: Duration = Duration::from_secs(1);

/// What [`IdleList::close_oldest`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Asked {
    /// The connection idle longest was asked to close.
    Closed,
    /// Connections are idle, but none for [`MIN_IDLE`] yet; the oldest will have been in
    /// this much.
    TooSoon(Duration),
    /// No connection is idle.
    NoneIdle,
}

/// One listener's idle connections, in the order they became idle.
#[derive(Debug, Default)]
pub(crate) struct IdleList {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// The next registration's number, which tells apart entries of the same instant.
    next: u64,
    /// Who to tell, by (idle since, registration number): the first entry is the oldest.
    waiting: BTreeMap<(Instant, u64), oneshot::Sender<()>>,
}

impl IdleList {
    /// Registers a connection as idle from now until the returned guard is dropped.
    pub(crate) fn enter(self: &Arc<Self>) -> IdleGuard {
        self.enter_since(Instant::now())
    }

    /// Registers a connection that has been waiting since `since` (a request head under
    /// way since then) until the returned guard is dropped.
    pub(crate) fn enter_since(self: &Arc<Self>, since: Instant) -> IdleGuard {
        let (tx, rx) = oneshot::channel();
        let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
        let key = (since, inner.next);
        inner.next += 1;
        inner.waiting.insert(key, tx);
        IdleGuard {
            list: self.clone(),
            key,
            closing: rx,
        }
    }

    /// Tells the connection idle longest to close, if it has been idle for [`MIN_IDLE`].
    pub(crate) fn close_oldest(&self) -> Asked {
        self.close_oldest_idle_for(MIN_IDLE)
    }

    fn close_oldest_idle_for(&self, min_idle: Duration) -> Asked {
        loop {
            let oldest = {
                let mut inner = self.inner.lock().unwrap_or_else(PoisonError::into_inner);
                let Some(entry) = inner.waiting.first_entry() else {
                    return Asked::NoneIdle;
                };
                let idle_for = entry.key().0.elapsed();
                if idle_for < min_idle {
                    return Asked::TooSoon(min_idle - idle_for);
                }
                entry.remove()
            };
            if oldest.send(()).is_ok() {
                return Asked::Closed;
            }
            // It stopped being idle just now (its guard is being dropped): the next.
        }
    }

    /// How many connections are idle.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .waiting
            .len()
    }
}

/// A connection's place in the idle list; dropping it takes the connection out.
#[derive(Debug)]
pub(crate) struct IdleGuard {
    list: Arc<IdleList>,
    key: (Instant, u64),
    closing: oneshot::Receiver<()>,
}

impl IdleGuard {
    /// Resolves when the listener asks this connection to close to make room. Cancel-safe.
    pub(crate) async fn closing(&mut self) {
        if (&mut self.closing).await.is_err() {
            // The list dropped the sender without a word: never asked.
            std::future::pending::<()>().await;
        }
    }
}

/// Resolves when the connection holding `guard` is asked to close; never without a guard.
pub(crate) async fn asked_to_close(guard: &mut Option<IdleGuard>) {
    match guard {
        Some(guard) => guard.closing().await,
        None => std::future::pending().await,
    }
}

impl Drop for IdleGuard {
    fn drop(&mut self) {
        let mut inner = self
            .list
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        inner.waiting.remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run<F: std::future::Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(future)
    }

    #[test]
    fn the_oldest_is_asked_first_and_only_once() {
        run(async {
            let list = Arc::new(IdleList::default());
            let mut first = list.enter();
            let mut second = list.enter();
            assert_eq!(list.close_oldest_idle_for(Duration::ZERO), Asked::Closed);
            first.closing().await;
            assert_eq!(list.close_oldest_idle_for(Duration::ZERO), Asked::Closed);
            second.closing().await;
            assert_eq!(list.close_oldest_idle_for(Duration::ZERO), Asked::NoneIdle);
        });
    }

    #[test]
    fn age_counts_from_when_the_wait_began() {
        run(async {
            let list = Arc::new(IdleList::default());
            let mut newer = list.enter();
            let _older = list.enter_since(Instant::now() - Duration::from_secs(5));
            let mut oldest = list.enter_since(Instant::now() - Duration::from_secs(10));
            assert_eq!(list.close_oldest(), Asked::Closed);
            oldest.closing().await;
            let waited = tokio::time::timeout(Duration::from_millis(20), newer.closing()).await;
            assert!(waited.is_err(), "the newest was asked before an older one");
        });
    }

    #[test]
    fn a_connection_that_is_busy_again_leaves_the_list() {
        let list = Arc::new(IdleList::default());
        let guard = list.enter();
        assert_eq!(list.len(), 1);
        drop(guard);
        assert_eq!(list.len(), 0);
        assert_eq!(list.close_oldest(), Asked::NoneIdle);
    }

    #[test]
    fn a_connection_idle_for_less_than_the_minimum_is_not_asked() {
        let list = Arc::new(IdleList::default());
        let _guard = list.enter();
        match list.close_oldest_idle_for(Duration::from_secs(60)) {
            Asked::TooSoon(left) => assert!(left <= Duration::from_secs(60)),
            other => panic!("{other:?}"),
        }
        assert_eq!(list.len(), 1, "still listed");
    }

    #[test]
    fn a_guard_not_asked_keeps_waiting() {
        run(async {
            let list = Arc::new(IdleList::default());
            let mut guard = list.enter();
            let waited =
                tokio::time::timeout(std::time::Duration::from_millis(20), guard.closing()).await;
            assert!(waited.is_err(), "asked to close without a close_oldest");
        });
    }
}
