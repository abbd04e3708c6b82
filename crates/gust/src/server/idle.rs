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
use std::future::poll_fn;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

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

/// Whether the server's stop also closes a connection while it is listed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OnStop {
    /// Yes: it waits between requests with nothing under way (and may not be watching the
    /// stop signal itself, to keep its waiting state small).
    Close,
    /// No: it watches the stop itself, or the grace period ends it.
    Keep,
}

/// One listener's idle connections, in the order they became idle.
///
/// An entry is a key and the waker of the connection's wait, no allocation of its own: a
/// connection is asked to close by taking its entry out and waking it, and learns it was
/// asked when its entry is gone.
#[derive(Debug, Default)]
pub(crate) struct IdleList {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// The next registration's number, which tells apart entries of the same instant.
    next: u64,
    /// Set by [`IdleList::stop`]: waits that close on stop are asked as they begin.
    stopped: bool,
    /// Who to tell, by (idle since, registration number): the first entry is the oldest.
    waiting: BTreeMap<(Instant, u64), Entry>,
}

#[derive(Debug)]
struct Entry {
    /// The wait to wake, once it has been polled.
    waker: Option<Waker>,
    on_stop: OnStop,
}

impl IdleList {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Registers a connection as idle from now until the returned guard is dropped.
    pub(crate) fn enter(self: &Arc<Self>) -> IdleGuard {
        self.enter_since(Instant::now(), OnStop::Keep)
    }

    /// Registers a connection that has been waiting since `since` (a request head under
    /// way since then) until the returned guard is dropped.
    pub(crate) fn enter_since(self: &Arc<Self>, since: Instant, on_stop: OnStop) -> IdleGuard {
        let mut inner = self.lock();
        if inner.stopped && on_stop == OnStop::Close {
            return IdleGuard {
                list: self.clone(),
                key: None,
            };
        }
        let key = (since, inner.next);
        inner.next += 1;
        inner.waiting.insert(
            key,
            Entry {
                waker: None,
                on_stop,
            },
        );
        IdleGuard {
            list: self.clone(),
            key: Some(key),
        }
    }

    /// Tells the connection idle longest to close, if it has been idle for [`MIN_IDLE`].
    pub(crate) fn close_oldest(&self) -> Asked {
        self.close_oldest_idle_for(MIN_IDLE)
    }

    fn close_oldest_idle_for(&self, min_idle: Duration) -> Asked {
        let mut inner = self.lock();
        let Some(entry) = inner.waiting.first_entry() else {
            return Asked::NoneIdle;
        };
        let idle_for = entry.key().0.elapsed();
        if idle_for < min_idle {
            return Asked::TooSoon(min_idle - idle_for);
        }
        // A listed entry belongs to a live guard: a guard takes its entry out as it drops.
        let asked = entry.remove();
        drop(inner);
        if let Some(waker) = asked.waker {
            waker.wake();
        }
        Asked::Closed
    }

    /// Since when the connection on the list longest has waited.
    pub(crate) fn oldest_since(&self) -> Option<Instant> {
        self.lock().waiting.keys().next().map(|key| key.0)
    }

    /// The server is stopping: asks every connection waiting between requests to close,
    /// now and as each begins to wait.
    pub(crate) fn stop(&self) {
        let mut inner = self.lock();
        inner.stopped = true;
        let mut asked = Vec::new();
        inner.waiting.retain(|_, entry| {
            if entry.on_stop == OnStop::Keep {
                return true;
            }
            asked.extend(entry.waker.take());
            false
        });
        drop(inner);
        asked.into_iter().for_each(Waker::wake);
    }

    /// How many connections are idle.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().waiting.len()
    }
}

/// A connection's place in the idle list; dropping it takes the connection out.
#[derive(Debug)]
pub(crate) struct IdleGuard {
    list: Arc<IdleList>,
    /// `None` once asked to close.
    key: Option<(Instant, u64)>,
}

impl IdleGuard {
    /// Ready once the listener has asked this connection to close.
    fn poll_closing(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(key) = self.key else {
            return Poll::Ready(());
        };
        let mut inner = self.list.lock();
        match inner.waiting.get_mut(&key) {
            Some(entry) => {
                if !entry
                    .waker
                    .as_ref()
                    .is_some_and(|w| w.will_wake(cx.waker()))
                {
                    entry.waker = Some(cx.waker().clone());
                }
                Poll::Pending
            }
            None => {
                self.key = None;
                Poll::Ready(())
            }
        }
    }

    /// Resolves when the listener asks this connection to close to make room (or, for a
    /// wait that closes on stop, when the server stops). Cancel-safe.
    pub(crate) async fn closing(&mut self) {
        poll_fn(|cx| self.poll_closing(cx)).await;
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
        if let Some(key) = self.key {
            self.list.lock().waiting.remove(&key);
        }
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
            let _older = list.enter_since(Instant::now() - Duration::from_secs(5), OnStop::Keep);
            let mut oldest =
                list.enter_since(Instant::now() - Duration::from_secs(10), OnStop::Keep);
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

    #[test]
    fn stop_closes_the_waits_between_requests_only() {
        run(async {
            let list = Arc::new(IdleList::default());
            let mut between = list.enter_since(Instant::now(), OnStop::Close);
            let mut other = list.enter();
            // Polled before the stop, so the stop has a waker to wake.
            let pending = tokio::time::timeout(Duration::from_millis(10), between.closing()).await;
            assert!(pending.is_err(), "asked before the stop");
            list.stop();
            tokio::time::timeout(Duration::from_secs(1), between.closing())
                .await
                .expect("the stop asks a wait between requests");
            let kept = tokio::time::timeout(Duration::from_millis(20), other.closing()).await;
            assert!(
                kept.is_err(),
                "the stop asked a wait that watches the stop itself"
            );
            let mut late = list.enter_since(Instant::now(), OnStop::Close);
            tokio::time::timeout(Duration::from_secs(1), late.closing())
                .await
                .expect("a wait that begins after the stop is asked at once");
            assert_eq!(list.len(), 1, "only the kept wait is listed");
        });
    }
}
