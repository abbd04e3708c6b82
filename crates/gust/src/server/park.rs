//! Plain connections parked while they have nothing under way, without a task of their own.
//!
//! A keep-alive connection spends most of its life waiting for its client's next request
//! (HTTP/1.1) or stream (HTTP/2). Waiting in a task of its own costs tokio's task cell (512
//! bytes with the wait's future and timer; an HTTP/2 connection's serving future adds about
//! 550) and an entry in the listener's task set, for every idle connection. Parked, a
//! connection is only its driver (no buffers), its socket's registration with the reactor
//! and an entry here: the accept loop holds one [`Park`], watches every parked socket
//! through a waker of its own (one small allocation per connection), keeps one timer for
//! the inactivity timeout of all of them (they are ordered by when they became idle, and
//! share the timeout), and gives a connection a new task when its client sends again.
//!
//! A parked connection is idle in the sense of `idle.rs`: a full listener may close it to
//! make room ([`Park::take_oldest`]). The park only hands connections back; closing them is
//! the caller's (an HTTP/2 connection says GOAWAY first), for those whose inactivity timeout
//! has passed ([`Next::TimedOut`]) as for those left when the server stops
//! ([`Park::into_parked`]).

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

use super::idle::{Asked, MIN_IDLE};

/// A connection that can wait in the park.
pub(super) trait Parkable: Send + 'static {
    /// Ready once its socket has something to read (bytes, the end, an error; possibly
    /// spuriously); otherwise `cx`'s waker is woken when it has.
    fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<()>;
}

/// Since when a connection has been idle, and a number that tells apart those of the same
/// instant.
type Key = (Instant, u64);

/// Why the park hands a connection back.
#[derive(Debug)]
pub(super) enum Next<T> {
    /// Its socket became readable (bytes, the end, an error; possibly spuriously): serve it.
    Readable(T),
    /// It has been idle for the inactivity timeout: close it.
    TimedOut(T),
}

/// One listener's parked connections, oldest first.
pub(super) struct Park<T> {
    parked: BTreeMap<Key, T>,
    next: u64,
    /// How long a connection may wait for its next request.
    inactivity_timeout: Duration,
    /// Armed for the oldest connection's timeout.
    timer: Pin<Box<Sleep>>,
    woken: Arc<Woken>,
}

/// The connections whose sockets became readable, and who to tell: shared with the wakers.
#[derive(Default)]
struct Woken {
    inner: Mutex<WokenInner>,
}

#[derive(Default)]
struct WokenInner {
    /// Keys of connections to resume. Each parked socket's waker is woken once at most
    /// (the reactor forgets a waker it has woken), so this holds at most one key per
    /// connection parked since the park was last polled.
    keys: Vec<Key>,
    /// The accept loop's waker, once it has polled the park.
    park: Option<Waker>,
}

impl Woken {
    fn lock(&self) -> MutexGuard<'_, WokenInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The waker a parked socket is watched with: it names its connection.
struct ConnWaker {
    key: Key,
    woken: Arc<Woken>,
}

impl Wake for ConnWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let mut inner = self.woken.lock();
        inner.keys.push(self.key);
        let park = inner.park.take();
        drop(inner);
        if let Some(park) = park {
            park.wake();
        }
    }
}

impl<T: Parkable> Park<T> {
    /// An empty park whose connections are handed back ([`Next::TimedOut`]) after
    /// `inactivity_timeout` without a request.
    pub(super) fn new(inactivity_timeout: Duration) -> Self {
        Park {
            parked: BTreeMap::new(),
            next: 0,
            inactivity_timeout,
            timer: Box::pin(tokio::time::sleep(inactivity_timeout)),
            woken: Arc::default(),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.parked.is_empty()
    }

    /// How many connections are parked.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.parked.len()
    }

    /// Parks a connection whose client has nothing under way, idle since `since` (its
    /// inactivity timeout counts from then); gives it back if its socket is readable
    /// already (serve it at once).
    pub(super) fn insert(&mut self, conn: T, since: Instant) -> Result<(), T> {
        if self.parked.is_empty() {
            // Keys of connections that are gone (closed sockets wake their wakers).
            self.woken.lock().keys.clear();
        }
        let key = (since, self.next);
        self.next += 1;
        let waker = Waker::from(Arc::new(ConnWaker {
            key,
            woken: self.woken.clone(),
        }));
        if conn
            .poll_readable(&mut Context::from_waker(&waker))
            .is_ready()
        {
            return Err(conn);
        }
        self.parked.insert(key, conn);
        Ok(())
    }

    /// The next parked connection whose socket became readable, to be served, or whose
    /// inactivity timeout has passed, to be closed. Cancel-safe.
    pub(super) fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Next<T>> {
        loop {
            let key = {
                let mut inner = self.woken.lock();
                match inner.keys.pop() {
                    Some(key) => key,
                    None => {
                        if !inner.park.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                            inner.park = Some(cx.waker().clone());
                        }
                        break;
                    }
                }
            };
            // Not there: closed since its waker was woken.
            if let Some(conn) = self.parked.remove(&key) {
                return Poll::Ready(Next::Readable(conn));
            }
        }
        if let Some(oldest) = self.parked.first_entry() {
            // A timeout too long to be a time never comes (`Limits` refuses such a
            // timeout, but a park may be given one directly).
            let Some(deadline) = oldest.key().0.checked_add(self.inactivity_timeout) else {
                return Poll::Pending;
            };
            if deadline > Instant::now() {
                if self.timer.deadline() != deadline {
                    self.timer.as_mut().reset(deadline);
                }
                if self.timer.as_mut().poll(cx).is_pending() {
                    return Poll::Pending;
                }
            }
            return Poll::Ready(Next::TimedOut(oldest.remove()));
        }
        Poll::Pending
    }

    /// Since when the connection parked longest has waited.
    pub(super) fn oldest_since(&self) -> Option<std::time::Instant> {
        self.parked.keys().next().map(|key| key.0.into_std())
    }

    /// Takes the connection idle longest, to be closed to make room, if it has been idle
    /// for [`MIN_IDLE`]; else says why not (never [`Asked::Closed`]).
    pub(super) fn take_oldest(&mut self) -> Result<T, Asked> {
        self.take_oldest_idle_for(MIN_IDLE)
    }

    fn take_oldest_idle_for(&mut self, min_idle: Duration) -> Result<T, Asked> {
        let Some(oldest) = self.parked.first_entry() else {
            return Err(Asked::NoneIdle);
        };
        let idle_for = oldest.key().0.elapsed();
        if idle_for < min_idle {
            return Err(Asked::TooSoon(min_idle - idle_for));
        }
        Ok(oldest.remove())
    }

    /// Every parked connection, oldest first: the server stops.
    pub(super) fn into_parked(self) -> impl Iterator<Item = T> {
        self.parked.into_values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::poll_fn;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::AsyncWriteExt;
    use tokio::net::{TcpListener, TcpStream};

    /// The server's side of a real loopback connection, counting its drops.
    struct Conn {
        stream: TcpStream,
        dropped: Arc<AtomicUsize>,
    }

    impl Parkable for Conn {
        fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<()> {
            self.stream.poll_read_ready(cx).map(|_| ())
        }
    }

    impl Drop for Conn {
        fn drop(&mut self) {
            self.dropped.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// `n` connected pairs: (client, server side as a `Conn`).
    async fn pairs(n: usize, dropped: &Arc<AtomicUsize>) -> Vec<(TcpStream, Conn)> {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let mut out = Vec::new();
        for _ in 0..n {
            let client = TcpStream::connect(addr).await.expect("connect");
            let (stream, _) = listener.accept().await.expect("accept");
            // As the server parks a connection: after a read that found nothing (a new
            // socket may first be reported readable).
            let nothing = stream.try_read(&mut [0u8; 1]).expect_err("nothing sent");
            assert_eq!(nothing.kind(), std::io::ErrorKind::WouldBlock);
            out.push((
                client,
                Conn {
                    stream,
                    dropped: dropped.clone(),
                },
            ));
        }
        out
    }

    fn run<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
            .block_on(future)
    }

    /// Parks the server sides (none has been sent anything yet), idle from now; the clients.
    fn park_all(park: &mut Park<Conn>, pairs: Vec<(TcpStream, Conn)>) -> Vec<TcpStream> {
        pairs
            .into_iter()
            .map(|(client, conn)| {
                assert!(
                    park.insert(conn, Instant::now()).is_ok(),
                    "nothing was sent yet"
                );
                client
            })
            .collect()
    }

    async fn next(park: &mut Park<Conn>, within: Duration) -> Option<Next<Conn>> {
        tokio::time::timeout(within, poll_fn(|cx| park.poll_next(cx)))
            .await
            .ok()
    }

    /// The next connection the park hands back within `within`, which must be readable.
    async fn next_readable(park: &mut Park<Conn>, within: Duration) -> Conn {
        next_expected(park, within, true).await
    }

    /// The next connection the park hands back within `within`, which must have timed out.
    async fn next_timed_out(park: &mut Park<Conn>, within: Duration) -> Conn {
        next_expected(park, within, false).await
    }

    async fn next_expected(park: &mut Park<Conn>, within: Duration, readable: bool) -> Conn {
        match (next(park, within).await, readable) {
            (Some(Next::Readable(conn)), true) | (Some(Next::TimedOut(conn)), false) => conn,
            (Some(_), true) => panic!("timed out instead of readable"),
            (Some(_), false) => panic!("readable instead of timed out"),
            (None, _) => panic!("nothing came back within {within:?}"),
        }
    }

    #[test]
    fn the_connection_whose_client_sends_comes_back() {
        run(async {
            let dropped = Arc::new(AtomicUsize::new(0));
            let mut park = Park::new(Duration::from_secs(60));
            let mut clients = park_all(&mut park, pairs(3, &dropped).await);
            assert!(
                next(&mut park, Duration::from_millis(50)).await.is_none(),
                "handed back with nothing sent"
            );
            clients[1].write_all(b"GET").await.expect("write");
            let back = next_readable(&mut park, Duration::from_secs(5)).await;
            let mut first = [0u8; 3];
            let n = back.stream.try_read(&mut first).expect("bytes are there");
            assert_eq!(&first[..n], b"GET");
            assert_eq!(park.len(), 2);
            assert_eq!(dropped.load(Ordering::SeqCst), 0, "nobody was closed");
        });
    }

    #[test]
    fn a_connection_readable_already_is_not_parked() {
        run(async {
            let dropped = Arc::new(AtomicUsize::new(0));
            let mut park = Park::new(Duration::from_secs(60));
            let (mut client, conn) = pairs(1, &dropped).await.pop().expect("pair");
            client.write_all(b"G").await.expect("write");
            // Let the byte arrive.
            conn.stream.readable().await.expect("readable");
            assert!(park.insert(conn, Instant::now()).is_err());
            assert!(park.is_empty());
        });
    }

    #[test]
    fn a_client_that_closes_wakes_its_connection() {
        run(async {
            let dropped = Arc::new(AtomicUsize::new(0));
            let mut park = Park::new(Duration::from_secs(60));
            let (client, conn) = pairs(1, &dropped).await.pop().expect("pair");
            assert!(park.insert(conn, Instant::now()).is_ok());
            drop(client);
            let back = next_readable(&mut park, Duration::from_secs(5)).await;
            let mut buf = [0u8; 1];
            assert_eq!(back.stream.try_read(&mut buf).expect("the end"), 0);
        });
    }

    #[test]
    fn silent_connections_time_out_oldest_first() {
        run(async {
            let dropped = Arc::new(AtomicUsize::new(0));
            let mut park = Park::new(Duration::from_millis(200));
            let mut pairs = pairs(2, &dropped).await;
            let (_late_client, late) = pairs.pop().expect("pair");
            let (_early_client, early) = pairs.pop().expect("pair");
            let early_port = early.stream.peer_addr().expect("addr").port();
            assert!(park.insert(early, Instant::now()).is_ok());
            tokio::time::sleep(Duration::from_millis(100)).await;
            assert!(park.insert(late, Instant::now()).is_ok());
            // The early one comes back alone, about 100 ms from now.
            let first = next_timed_out(&mut park, Duration::from_millis(150)).await;
            assert_eq!(first.stream.peer_addr().expect("addr").port(), early_port);
            assert_eq!(park.len(), 1);
            drop(first);
            next_timed_out(&mut park, Duration::from_millis(200)).await;
            assert!(park.is_empty());
            assert_eq!(dropped.load(Ordering::SeqCst), 2, "closing is the caller's");
        });
    }

    #[test]
    fn the_timeout_counts_from_when_the_connection_became_idle() {
        run(async {
            let dropped = Arc::new(AtomicUsize::new(0));
            let mut park = Park::new(Duration::from_millis(300));
            let mut pairs = pairs(2, &dropped).await;
            let (_young_client, young) = pairs.pop().expect("pair");
            let (_old_client, old) = pairs.pop().expect("pair");
            let old_port = old.stream.peer_addr().expect("addr").port();
            // Parked after the younger one, but idle for longer: it goes first, early.
            assert!(park.insert(young, Instant::now()).is_ok());
            let since = Instant::now() - Duration::from_millis(250);
            assert!(park.insert(old, since).is_ok());
            let first = next_timed_out(&mut park, Duration::from_millis(200)).await;
            assert_eq!(first.stream.peer_addr().expect("addr").port(), old_port);
            assert_eq!(park.len(), 1);
        });
    }

    #[test]
    fn a_timeout_too_long_for_the_clock_never_comes() {
        run(async {
            let dropped = Arc::new(AtomicUsize::new(0));
            let mut park = Park::new(Duration::MAX);
            let (_client, conn) = pairs(1, &dropped).await.pop().expect("pair");
            assert!(park.insert(conn, Instant::now()).is_ok());
            assert!(next(&mut park, Duration::from_millis(50)).await.is_none());
            assert_eq!(park.len(), 1);
            assert_eq!(dropped.load(Ordering::SeqCst), 0);
        });
    }

    #[test]
    fn the_oldest_is_taken_to_make_room_once_idle_long_enough() {
        run(async {
            let dropped = Arc::new(AtomicUsize::new(0));
            let mut park = Park::new(Duration::from_secs(60));
            let mut clients = park_all(&mut park, pairs(2, &dropped).await);
            match park.take_oldest() {
                Err(Asked::TooSoon(left)) => assert!(left <= MIN_IDLE),
                Err(other) => panic!("{other:?}"),
                Ok(_) => panic!("taken before MIN_IDLE"),
            }
            let oldest = park.take_oldest_idle_for(Duration::ZERO);
            assert!(oldest.is_ok());
            assert_eq!(park.len(), 1);
            // The one left is the younger: its client is still heard.
            clients[1].write_all(b"x").await.expect("write");
            next_readable(&mut park, Duration::from_secs(5)).await;
            assert!(matches!(
                park.take_oldest_idle_for(Duration::ZERO),
                Err(Asked::NoneIdle)
            ));
        });
    }

    #[test]
    fn a_stopping_server_gets_every_parked_connection_back() {
        run(async {
            let dropped = Arc::new(AtomicUsize::new(0));
            let mut park = Park::new(Duration::from_secs(60));
            let _clients = park_all(&mut park, pairs(3, &dropped).await);
            assert_eq!(park.into_parked().count(), 3);
            assert_eq!(dropped.load(Ordering::SeqCst), 3);
        });
    }
}
