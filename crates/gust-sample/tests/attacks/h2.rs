//! Slow and idle HTTP/2 connections. The frame floods (rapid reset, CONTINUATION, HPACK
//! bomb, PING, SETTINGS, empty frames, zero window, unfinished streams, slow header blocks)
//! are in `tests/h2_attacks.rs`.

use std::time::Duration;

use crate::h1::{dribble, GRACE};
use crate::harness::{connect, many, tally_answers, Outcome, Seen, Target};

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// An empty SETTINGS frame, then the acknowledgement of the server's (sent blind: the
/// server sends its SETTINGS first thing, and a peer that never acknowledges them is
/// dropped with SETTINGS_TIMEOUT, a different limit from the one under test).
const SETTINGS: &[u8] = &[0, 0, 0, 0x4, 0, 0, 0, 0, 0, 0, 0, 0, 0x4, 0x1, 0, 0, 0, 0];
const GOAWAY: u8 = 0x7;

/// The error code of the GOAWAY among the frames the server sent, if any.
fn goaway_code(bytes: &[u8]) -> Option<u32> {
    let mut rest = bytes;
    while rest.len() >= 9 {
        let len = (usize::from(rest[0]) << 16) | (usize::from(rest[1]) << 8) | usize::from(rest[2]);
        let kind = rest[3];
        let payload = rest.get(9..9 + len)?;
        if kind == GOAWAY && payload.len() >= 8 {
            return Some(u32::from_be_bytes(payload[4..8].try_into().ok()?));
        }
        rest = &rest[9 + len..];
    }
    None
}

/// What an HTTP/2 slow connection saw: "GOAWAY 0 then close", "408 then close"...
fn describe_h2(seen: &Seen) -> String {
    let end = if seen.closed { "close" } else { "still open" };
    if seen.bytes.starts_with(b"HTTP/1.1 ") {
        return format!("{} then {end}", seen.status());
    }
    match goaway_code(&seen.bytes) {
        Some(code) => format!("GOAWAY {code} then {end}"),
        None => format!("no GOAWAY, {end}"),
    }
}

/// Slow and idle HTTP/2: connections that send part of the client preface and stop (not
/// yet known to be HTTP/2: `request_head_timeout`, 408), the preface and SETTINGS and then
/// nothing (`inactivity_timeout`, GOAWAY), or the preface, SETTINGS and a frame whose bytes
/// trickle in one per second and never complete (the same: bytes of an unfinished frame
/// on a connection without streams are not activity).
pub(crate) async fn slow_connections(
    target: Target,
    count: usize,
    idle_timeout: Duration,
) -> Outcome {
    let addr = target.addr;
    let results = many(count, move |i| async move {
        let stream = connect(addr, None).await;
        let (kind, prefix, every) = match i % 3 {
            0 => (
                "part of the preface",
                PREFACE[..16].to_vec(),
                Duration::from_secs(3600),
            ),
            1 => {
                let mut hello = PREFACE.to_vec();
                hello.extend_from_slice(SETTINGS);
                ("preface, then silence", hello, Duration::from_secs(3600))
            }
            _ => {
                let mut hello = PREFACE.to_vec();
                hello.extend_from_slice(SETTINGS);
                // A HEADERS frame on stream 1 announcing 16 KiB, its payload one byte a second.
                hello.extend_from_slice(&[0, 0x40, 0, 0x1, 0x4, 0, 0, 0, 1]);
                ("a frame that never ends", hello, Duration::from_secs(1))
            }
        };
        let (seen, took) = dribble(stream, prefix, 0, every, idle_timeout + GRACE).await;
        (kind, seen, took)
    })
    .await;
    for (kind, seen, _) in &results {
        assert!(seen.closed, "{kind}: {}", describe_h2(seen));
        if *kind == "part of the preface" {
            assert_eq!(seen.status(), 408, "{kind}: {}", describe_h2(seen));
        } else {
            assert_eq!(
                goaway_code(&seen.bytes),
                Some(0),
                "{kind}: {}",
                describe_h2(seen)
            );
        }
    }
    Outcome {
        connections: count,
        answer: tally_answers(
            results
                .iter()
                .map(|(kind, seen, _)| format!("{kind}: {}", describe_h2(seen))),
        ),
        freed_after: results.iter().map(|r| r.2).max(),
    }
}
