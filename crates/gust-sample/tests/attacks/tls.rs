//! Attacks on the HTTPS port: floods of full handshakes, handshakes left unfinished at
//! every stage, and bytes that are not TLS at all.

use std::sync::Arc;

use tokio::io::AsyncWriteExt;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::h1::{describe, GRACE};
use crate::harness::{
    connect, join, localhost, many, read_until_closed, tally_answers, Outcome, Target,
};

/// Full handshakes, many at once, each dropped once done: the server's cost per handshake
/// is CPU, and its memory must not grow with the count.
pub(crate) async fn handshake_flood(target: Target, count: usize, parallel: usize) -> Outcome {
    let addr = target.tls_addr();
    let connector = target.connector();
    let started = Instant::now();
    let mut set = JoinSet::new();
    let mut done = Vec::with_capacity(count);
    for _ in 0..count {
        if set.len() >= parallel {
            done.push(join(set.join_next().await.expect("a handshake")));
        }
        let connector = connector.clone();
        set.spawn(async move {
            let tcp = connect(addr, None).await;
            match tokio::time::timeout(GRACE, connector.connect(localhost(), tcp)).await {
                Ok(Ok(_tls)) => "handshake done".to_owned(),
                Ok(Err(e)) => format!("handshake failed: {e}"),
                Err(_) => "handshake stuck".to_owned(),
            }
        });
    }
    while let Some(r) = set.join_next().await {
        done.push(join(r));
    }
    let took = started.elapsed();
    for answer in &done {
        assert_eq!(answer, "handshake done", "handshake flood");
    }
    Outcome {
        connections: count,
        answer: format!(
            "{count} handshakes done, {parallel} at a time, {:.0} per second",
            count as f64 / took.as_secs_f64()
        ),
        freed_after: None,
    }
}

/// The first flight of a real TLS client (its ClientHello), as bytes.
fn client_hello() -> Vec<u8> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    let mut client =
        rustls::ClientConnection::new(Arc::new(config), localhost()).expect("a TLS client");
    let mut hello = Vec::new();
    client.write_tls(&mut hello).expect("the ClientHello");
    hello
}

/// Handshakes left unfinished: connections that say nothing, that send part of a
/// ClientHello, or a whole ClientHello (the server answers and does its key exchange) and
/// then nothing. Each must be dropped at the TLS handshake timeout.
pub(crate) async fn half_handshakes(target: Target, count: usize) -> Outcome {
    let addr = target.tls_addr();
    let hello = Arc::new(client_hello());
    let results = many(count, move |i| {
        let hello = hello.clone();
        async move {
            let mut stream = connect(addr, None).await;
            let started = Instant::now();
            let kind = match i % 3 {
                0 => "silent",
                1 => {
                    let _ = stream.write_all(&hello[..10]).await;
                    "10 bytes of ClientHello"
                }
                _ => {
                    let _ = stream.write_all(&hello).await;
                    "ClientHello"
                }
            };
            let seen = read_until_closed(&mut stream, GRACE * 2).await;
            (kind, seen, started.elapsed())
        }
    })
    .await;
    for (kind, seen, _) in &results {
        assert!(seen.closed, "{kind}: not dropped");
    }
    Outcome {
        connections: count,
        answer: tally_answers(results.iter().map(|(kind, seen, _)| {
            let answered = if seen.bytes.is_empty() {
                "nothing".to_owned()
            } else {
                format!("{} bytes", seen.bytes.len())
            };
            format!("{kind}: {answered}, then dropped")
        })),
        freed_after: results.iter().map(|r| r.2).max(),
    }
}

/// What is not TLS sent to the TLS port: plain HTTP, random bytes, a record header
/// announcing 64 KiB. Each is refused at once (an alert, or the close), long before the
/// handshake timeout.
pub(crate) async fn garbage(target: Target, count: usize) -> Outcome {
    let addr = target.tls_addr();
    let results = many(count, move |i| async move {
        let (kind, bytes): (&str, Vec<u8>) = match i % 3 {
            0 => (
                "plain HTTP",
                b"GET /uptime HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec(),
            ),
            1 => {
                // xorshift: the same bytes every run.
                let mut x: u32 = 0x9e37_79b9 ^ i as u32;
                let bytes = (0..512)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 17;
                        x ^= x << 5;
                        x as u8
                    })
                    .collect();
                ("random bytes", bytes)
            }
            _ => {
                let mut record = vec![0x16, 0x03, 0x01, 0xff, 0xff];
                record.extend(std::iter::repeat_n(0x41, 1024));
                ("oversized record", record)
            }
        };
        let mut stream = connect(addr, None).await;
        let started = Instant::now();
        let _ = stream.write_all(&bytes).await;
        let seen = read_until_closed(&mut stream, GRACE).await;
        (kind, seen, started.elapsed())
    })
    .await;
    for (kind, seen, _) in &results {
        assert!(seen.closed, "{kind}: not dropped");
    }
    Outcome {
        connections: count,
        answer: tally_answers(results.iter().map(|(kind, seen, _)| {
            format!(
                "{kind}: {}",
                if seen.bytes.is_empty() {
                    describe(seen)
                } else {
                    format!("alert then {}", describe(seen))
                }
            )
        })),
        freed_after: results.iter().map(|r| r.2).max(),
    }
}
