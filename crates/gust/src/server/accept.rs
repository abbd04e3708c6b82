//! One service's accept loop: the client limit, connection tasks, graceful shutdown.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;

use super::h1;
use crate::service::Service;

/// The accept loop of one started service.
pub(super) struct AcceptLoop {
    service: Service,
    listener: TcpListener,
    shutdown: watch::Receiver<bool>,
}

impl AcceptLoop {
    pub(super) fn new(
        service: Service,
        listener: TcpListener,
        shutdown: watch::Receiver<bool>,
    ) -> Self {
        AcceptLoop {
            service,
            listener,
            shutdown,
        }
    }

    pub(super) async fn run(mut self) {
        let limits = self.service.limits.clone();
        let slots = Arc::new(Semaphore::new(limits.max_clients));
        let mut connections = JoinSet::new();
        loop {
            // Wait for a free slot before accepting: past max_clients, clients queue in the
            // kernel's backlog and are served as others leave.
            let permit = tokio::select! {
                biased;
                _ = self.shutdown.changed() => break,
                Some(_) = connections.join_next(), if !connections.is_empty() => continue,
                permit = slots.clone().acquire_owned() => match permit {
                    Ok(p) => p,
                    Err(_) => break,
                },
            };
            let accepted = tokio::select! {
                biased;
                _ = self.shutdown.changed() => break,
                accepted = self.listener.accept() => accepted,
            };
            let (stream, peer) = match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // Out of descriptors or a connection reset before accept: not fatal.
                    // Pause briefly so a persistent error does not spin.
                    tracing::warn!(service = %self.service.name, error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let conn = h1::Connection::new(
                self.service.router.clone(),
                limits.clone(),
                peer,
                self.shutdown.clone(),
            );
            connections.spawn(async move {
                conn.serve(stream).await;
                drop(permit);
            });
        }
        // Stop: the listener closes now; connections get the grace period to finish.
        drop(self.listener);
        let grace = tokio::time::sleep(limits.shutdown_grace);
        tokio::pin!(grace);
        loop {
            tokio::select! {
                joined = connections.join_next() => if joined.is_none() { break },
                _ = &mut grace => {
                    tracing::warn!(
                        service = %self.service.name,
                        open = connections.len(),
                        "shutdown grace period over; closing the remaining connections"
                    );
                    connections.shutdown().await;
                    break;
                }
            }
        }
    }
}
