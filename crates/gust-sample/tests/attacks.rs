//! The attack battery: each test starts the real `gust-sample` with explicit limits, attacks
//! it over HTTP/1.1, HTTPS, WebSocket or HTTP/2 with clients written here (raw tokio sockets
//! and tokio-rustls: no external tool), and meanwhile a control client asks for `/uptime` on
//! fresh connections every 100 ms. See `attacks/harness.rs` for what is checked after every
//! attack (the control client served, memory bounded, no connection leaked).
//!
//! Two sizes. `cargo test` runs the short form (hundreds of connections, timeouts of a
//! second or two). `scripts/attack.sh` runs the full form against the release build
//! (`GUST_ATTACK_SCALE=full`, `GUST_SAMPLE_BIN=target/release/gust-sample`): thousands of
//! connections and longer timeouts, and prints the figures as a table. Each test prints one
//! `FIGURES` line (`--nocapture` shows it). The figures written in `docs/SECURITY.md` come
//! from the full form.
//!
//! The attacks that `tests/h2_attacks.rs` (HTTP/2 frame floods) and `tests/websocket.rs`
//! (WebSocket frame floods) already run are not repeated here.

mod common;
#[path = "attacks/h1.rs"]
mod h1;
#[path = "attacks/h2.rs"]
mod h2;
#[path = "attacks/harness.rs"]
mod harness;
#[path = "attacks/tls.rs"]
mod tls;
#[path = "attacks/ws.rs"]
mod ws;

use std::time::Duration;

use harness::{run, Plan, Scale};

/// A duration as the sample's flags take it.
fn secs(d: Duration) -> String {
    format!("{}s", d.as_secs_f64())
}

/// Seconds, short form or full form.
fn seconds(scale: Scale, short: u64, full: u64) -> Duration {
    Duration::from_secs(scale.pick(short, full))
}

#[test]
fn slowloris() {
    let scale = Scale::get();
    let count = scale.pick(200, 3000);
    let head_timeout = seconds(scale, 2, 5);
    let plan = Plan::new(
        "slowloris",
        "request_head_timeout (--request-head-timeout), counted from accept",
        &[
            "--max-clients",
            &(count + 100).to_string(),
            "--backlog",
            "4096",
            "--request-head-timeout",
            &secs(head_timeout),
        ],
    )
    .holding(count);
    run(plan, move |t| h1::slowloris(t, count, head_timeout, false));
}

#[test]
fn slowloris_past_max_clients() {
    let scale = Scale::get();
    let max_clients = scale.pick(100, 1000);
    let count = max_clients * 3 / 2;
    let head_timeout = seconds(scale, 3, 10);
    let plan = Plan::new(
        "slowloris past max_clients",
        "max_clients (--max-clients): heads under way for 1 s make room; request_head_timeout",
        &[
            "--max-clients",
            &max_clients.to_string(),
            "--backlog",
            "4096",
            "--request-head-timeout",
            &secs(head_timeout),
        ],
    )
    .holding(max_clients);
    run(plan, move |t| h1::slowloris(t, count, head_timeout, true));
}

#[test]
fn slow_body() {
    let scale = Scale::get();
    let count = scale.pick(60, 1000);
    let idle = seconds(scale, 2, 5);
    let dribble_for = seconds(scale, 3, 8);
    let plan = Plan::new(
        "slow body (R.U.D.Y.)",
        "inactivity_timeout (--inactivity-timeout) between body bytes",
        &[
            "--max-clients",
            "2000",
            "--backlog",
            "4096",
            "--inactivity-timeout",
            &secs(idle),
        ],
    )
    .holding(count);
    run(plan, move |t| h1::slow_body(t, count, dribble_for));
}

#[test]
fn slow_read() {
    let scale = Scale::get();
    // Each held response also fills the kernel's socket buffers (about 3 MiB per connection
    // with Linux's defaults, outside the server's memory): a few hundred are enough.
    let count = scale.pick(40, 200);
    let idle = seconds(scale, 2, 5);
    // Larger than what the kernel's socket buffers take (up to 4 MiB on the server's side
    // with Linux's default tcp_wmem), so that the rest backs up into the server.
    let file_size = scale.pick(32 << 20, 64 << 20);
    let www = tempfile::tempdir().expect("temporary directory");
    h1::big_file(www.path(), file_size);
    let plan = Plan::new(
        "slow read",
        "inactivity_timeout (--inactivity-timeout) while nothing is taken; write_buffer_size",
        &[
            "--max-clients",
            "2000",
            "--backlog",
            "4096",
            "--inactivity-timeout",
            &secs(idle),
        ],
    )
    .www(www.path())
    // The write buffer (64 KiB), a file chunk being written, one being read.
    .holding_unread(count, 96);
    run(plan, move |t| h1::slow_read(t, count, file_size));
}

#[test]
fn connection_flood_past_max_clients() {
    let scale = Scale::get();
    let max_clients = scale.pick(64, 1000);
    let idle = seconds(scale, 3, 10);
    let plan = Plan::new(
        "connection flood past max_clients",
        "max_clients (--max-clients): connections idle for 1 s make room; inactivity_timeout",
        &[
            "--max-clients",
            &max_clients.to_string(),
            "--backlog",
            "4096",
            "--inactivity-timeout",
            &secs(idle),
            "--request-head-timeout",
            &secs(idle),
        ],
    )
    .holding(max_clients + 1);
    run(plan, move |t| h1::connection_flood(t, max_clients));
}

#[test]
fn oversized_requests() {
    let scale = Scale::get();
    // Ten kinds, as many connections of each.
    let count = scale.pick(10, 150) * 10;
    let plan = Plan::new(
        "oversized heads, URLs, header counts, bodies",
        "client_buffer_size 4096 (431), max_url_length 1024 (414), max_headers 32 (431), \
         max_body_size 65536 (413); chunk lines (400)",
        &[
            "--client-buffer-size",
            "4096",
            "--max-url-length",
            "1024",
            "--max-headers",
            "32",
            "--max-body-size",
            "65536",
            "--max-clients",
            "2000",
            "--backlog",
            "4096",
        ],
    )
    .holding(count);
    run(plan, move |t| h1::oversized(t, count));
}

#[test]
fn smuggling_and_malformed_heads() {
    let scale = Scale::get();
    // Fifteen vectors, as many connections of each.
    let count = scale.pick(4, 40) * 15;
    let plan = Plan::new(
        "ambiguous framing and malformed heads",
        "RFC 9112 parsing: 400 (501, 505) and close",
        &["--max-clients", "2000", "--backlog", "4096"],
    )
    .holding(count);
    run(plan, move |t| h1::smuggling(t, count));
}

#[test]
fn pipelining_flood() {
    let scale = Scale::get();
    let connections = scale.pick(4, 40);
    let plan = Plan::new(
        "pipelining flood",
        "write_buffer_size: reading stops while answers wait",
        &[],
    )
    // The answers waiting in the write buffer and a read chunk of requests.
    .holding_unread(connections, 128);
    run(plan, move |t| h1::pipelining_flood(t, connections));
}

#[test]
fn pipelining_without_reading() {
    let scale = Scale::get();
    let count = scale.pick(20, 100);
    let idle = seconds(scale, 2, 5);
    let www = tempfile::tempdir().expect("temporary directory");
    h1::big_file(www.path(), 4 << 20);
    let plan = Plan::new(
        "pipelined requests, never read",
        "inactivity_timeout (--inactivity-timeout) while nothing is taken",
        &["--inactivity-timeout", &secs(idle)],
    )
    .www(www.path())
    .holding_unread(count, 96);
    run(plan, move |t| h1::pipelining_non_reader(t, count));
}

#[test]
fn half_open_connections() {
    let scale = Scale::get();
    let count = scale.pick(200, 2000);
    let plan = Plan::new(
        "half-open: FIN after the request, reset mid-request",
        "end of input: answered, then closed; a reset: dropped at once",
        &["--max-clients", "4000", "--backlog", "4096"],
    )
    .holding(count);
    run(plan, move |t| h1::half_open(t, count));
}

#[test]
fn tls_handshake_flood() {
    let scale = Scale::get();
    let count = scale.pick(300, 4000);
    let parallel = scale.pick(16, 64);
    let plan = Plan::new("TLS handshake flood", "CPU; max_clients", &[])
        .https()
        .holding(parallel);
    run(plan, move |t| tls::handshake_flood(t, count, parallel));
}

#[test]
fn tls_unfinished_handshakes() {
    let scale = Scale::get();
    let count = scale.pick(240, 3000);
    let handshake = seconds(scale, 2, 5);
    let plan = Plan::new(
        "TLS handshakes left unfinished",
        "tls_handshake_timeout (--tls-handshake-timeout)",
        &[
            "--max-clients",
            "4000",
            "--backlog",
            "4096",
            "--tls-handshake-timeout",
            &secs(handshake),
        ],
    )
    .https()
    .holding(count);
    run(plan, move |t| tls::half_handshakes(t, count));
}

#[test]
fn tls_port_garbage() {
    let scale = Scale::get();
    let count = scale.pick(150, 1500);
    let plan = Plan::new(
        "not TLS on the TLS port",
        "the TLS record layer: alert and close",
        &["--max-clients", "2000", "--backlog", "4096"],
    )
    .https()
    .holding(count);
    run(plan, move |t| tls::garbage(t, count));
}

#[test]
fn websocket_sessions_past_the_limit() {
    let scale = Scale::get();
    let max_websockets = scale.pick(32, 1000);
    let extra = max_websockets / 4;
    let plan = Plan::new(
        "WebSocket sessions past max_websockets",
        "max_websockets (--max-websockets): 503 with Retry-After",
        &[
            "--max-websockets",
            &max_websockets.to_string(),
            "--max-clients",
            "2000",
            "--backlog",
            "4096",
        ],
    )
    .holding(max_websockets + extra);
    run(plan, move |t| {
        ws::sessions_past_the_limit(t, max_websockets, extra)
    });
}

#[test]
fn websocket_large_messages_unread() {
    let scale = Scale::get();
    let sessions = scale.pick(16, 64);
    let max_message = scale.pick(1 << 20, 4 << 20);
    let plan = Plan::new(
        "WebSocket large messages, never read",
        "ws_max_message_size, ws_max_frame_size; write_buffer_size: reading stops while \
         the echo waits",
        &[
            "--max-websockets",
            &sessions.to_string(),
            "--ws-max-message-size",
            &max_message.to_string(),
            "--ws-max-frame-size",
            &max_message.to_string(),
        ],
    )
    // Per session: the message being echoed and the frame being read, whose buffer grows
    // by doubling as the frame arrives, so it may reach twice the frame's size.
    .holding_unread(sessions, 3 * max_message as u64 / 1024);
    run(plan, move |t| {
        ws::large_messages_unread(t, sessions, max_message)
    });
}

#[test]
fn slow_and_idle_http2() {
    let scale = Scale::get();
    let count = scale.pick(210, 3000);
    let timeout = seconds(scale, 2, 5);
    let plan = Plan::new(
        "slow and idle HTTP/2 connections",
        "request_head_timeout before the preface; inactivity_timeout after it",
        &[
            "--max-clients",
            "4000",
            "--backlog",
            "4096",
            "--request-head-timeout",
            &secs(timeout),
            "--inactivity-timeout",
            &secs(timeout),
        ],
    )
    .holding(count);
    run(plan, move |t| h2::slow_connections(t, count, timeout));
}
