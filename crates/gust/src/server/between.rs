//! A plain connection with nothing under way, given back by its task to be parked
//! (`park.rs`): an HTTP/1.1 connection between requests, or an HTTP/2 connection with no
//! stream open and nothing to send. Its task has ended; the accept loop serves it again in
//! a new task when its client sends, or closes it.

use std::task::{Context, Poll};

use tokio::task::JoinSet;
use tokio::time::Instant;

use super::park::Parkable;
use super::transport::{ReadSide, WriteSide};
use super::{h1, h2};

/// What a driver does when its connection has nothing under way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum WhenIdle {
    /// Waits in its own task.
    Wait,
    /// Gives the connection back to be parked, where its socket can be waited on without a
    /// buffer (plain TCP).
    GiveBack,
}

/// A connection given back by [`h1::Driver::serve`] or [`h2::Driver::serve`]: its driver,
/// its read and write buffers released, and what the connection holds for its life
/// (`held`: its slot).
pub(super) enum Between<R, W, H> {
    /// HTTP/1.1, answered, waiting for its next request.
    H1 {
        driver: Box<h1::Driver<R, W>>,
        held: H,
    },
    /// HTTP/2 with no stream, no handler and nothing to send.
    H2 {
        driver: Box<h2::Driver<R, W>>,
        held: H,
    },
}

/// The tasks of a listener's connections; each may end with its connection given back.
pub(super) type Tasks<R, W, H> = JoinSet<Option<Between<R, W, H>>>;

impl<R, W, H> Between<R, W, H>
where
    R: ReadSide + Sync + 'static,
    W: WriteSide + Sync + 'static,
    H: Send + 'static,
{
    /// Since when the connection has had nothing under way: its inactivity timeout counts
    /// from then. An HTTP/2 connection keeps its own clock (frames that open no stream, a
    /// PING, do not move it); an HTTP/1.1 one has just been answered.
    pub(super) fn idle_since(&self) -> Instant {
        match self {
            Between::H1 { .. } => Instant::now(),
            Between::H2 { driver, .. } => driver.idle_since(),
        }
    }

    /// Serves the connection again in a task of `tasks`: its socket is readable.
    pub(super) fn resume(self, tasks: &mut Tasks<R, W, H>) {
        match self {
            Between::H1 { driver, held } => {
                tasks.spawn(driver.serve(held, WhenIdle::GiveBack));
            }
            Between::H2 { driver, held } => {
                tasks.spawn(driver.resume(held));
            }
        }
    }

    /// Closes the connection (timed out, closed to make room, or the server stops): an
    /// HTTP/1.1 one without a word, as a client must expect of an idle connection (RFC
    /// 9112 9.5); an HTTP/2 one says GOAWAY first (RFC 9113 6.8), in a task of `tasks`.
    pub(super) fn close(self, tasks: &mut Tasks<R, W, H>) {
        match self {
            Between::H1 { .. } => {}
            Between::H2 { driver, held } => {
                tasks.spawn(async move {
                    driver.close_idle().await;
                    drop(held);
                    None
                });
            }
        }
    }
}

impl<R, W, H> Parkable for Between<R, W, H>
where
    R: ReadSide + 'static,
    W: Send + 'static,
    H: Send + 'static,
{
    fn poll_readable(&self, cx: &mut Context<'_>) -> Poll<()> {
        match self {
            Between::H1 { driver, .. } => driver.poll_readable(cx),
            Between::H2 { driver, .. } => driver.poll_readable(cx),
        }
    }
}
