//! `ws-load`: WebSocket echo load for `scripts/bench.sh`.
//!
//! Opens `--connections` WebSocket connections to an echo endpoint and keeps `--inflight`
//! binary messages of `--size` bytes outstanding on each for `--seconds`: every echo that
//! comes back is checked (same length, same first and last byte) and answered with the next
//! message. At the end it prints one line:
//!
//! `ws-load: messages=N seconds=S msgs_per_s=X mb_per_s=Y errors=E`
//!
//! where `messages` counts echoes received and MB/s is echoed payload (10^6 bytes) per
//! second, one direction. It runs on one thread: the benchmark pins it to one CPU.

use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

/// Command line of `ws-load`.
#[derive(Debug, Parser)]
#[command(name = "ws-load", about = "WebSocket echo load client")]
struct Args {
    /// The echo endpoint, e.g. ws://127.0.0.1:8080/ws_echo
    #[arg(long)]
    url: String,
    /// Concurrent connections
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Payload bytes per message
    #[arg(long, default_value_t = 1024)]
    size: usize,
    /// Messages outstanding per connection
    #[arg(long, default_value_t = 8)]
    inflight: usize,
    /// How long to send new messages
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
}

/// What one connection achieved.
#[derive(Debug, Default)]
struct Tally {
    echoes: u64,
    errors: u64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    if args.connections == 0 || args.inflight == 0 || args.size == 0 {
        return Err("--connections, --inflight and --size must be at least 1".into());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(args.seconds);
    let tallies = runtime.block_on(async {
        let tasks: Vec<_> = (0..args.connections)
            .map(|i| {
                let url = args.url.clone();
                tokio::spawn(connection(
                    url,
                    payload(args.size, i),
                    args.inflight,
                    deadline,
                ))
            })
            .collect();
        let mut tallies = Vec::new();
        for task in tasks {
            tallies.push(task.await.unwrap_or(Tally {
                echoes: 0,
                errors: 1,
            }));
        }
        tallies
    });
    let seconds = started.elapsed().as_secs_f64();
    let echoes: u64 = tallies.iter().map(|t| t.echoes).sum();
    let errors: u64 = tallies.iter().map(|t| t.errors).sum();
    let bytes = echoes as f64 * args.size as f64;
    println!(
        "ws-load: messages={echoes} seconds={seconds:.3} msgs_per_s={:.1} mb_per_s={:.2} errors={errors}",
        echoes as f64 / seconds,
        bytes / seconds / 1e6,
    );
    Ok(())
}

/// A payload whose first and last bytes differ per connection, so a mixed-up echo shows.
fn payload(size: usize, connection: usize) -> Bytes {
    let mut data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
    data[0] = connection as u8;
    if let Some(last) = data.last_mut() {
        *last = !(connection as u8);
    }
    Bytes::from(data)
}

/// One connection: `inflight` messages out, then one new message per echo until the
/// deadline, then the outstanding echoes are collected and the connection closed.
async fn connection(url: String, payload: Bytes, inflight: usize, deadline: Instant) -> Tally {
    let mut tally = Tally::default();
    let Ok((mut socket, _)) = tokio_tungstenite::connect_async(url.as_str()).await else {
        tally.errors += 1;
        return tally;
    };
    let message = Message::Binary(payload.clone());
    for _ in 0..inflight {
        if socket.feed(message.clone()).await.is_err() {
            tally.errors += 1;
            return tally;
        }
    }
    if socket.flush().await.is_err() {
        tally.errors += 1;
        return tally;
    }
    let mut outstanding = inflight;
    // The outstanding echoes must come back within a grace period after the deadline.
    let give_up = deadline + Duration::from_secs(5);
    while outstanding > 0 {
        let next = tokio::time::timeout_at(give_up.into(), socket.next()).await;
        let Ok(Some(Ok(received))) = next else {
            tally.errors += 1;
            return tally;
        };
        let Message::Binary(data) = received else {
            // A ping or pong from the server is not an echo.
            continue;
        };
        outstanding -= 1;
        if data.len() == payload.len()
            && data.first() == payload.first()
            && data.last() == payload.last()
        {
            tally.echoes += 1;
        } else {
            tally.errors += 1;
        }
        if Instant::now() < deadline {
            if socket.send(message.clone()).await.is_err() {
                tally.errors += 1;
                return tally;
            }
            outstanding += 1;
        }
    }
    let _ = socket.close(None).await;
    tally
}
