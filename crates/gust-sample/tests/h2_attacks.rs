//! The known HTTP/2 attacks against the real `gust-sample` binary. Each test checks three
//! things: the server answers the attack as designed (the GOAWAY or RST_STREAM code, or the
//! connection closed), a well-behaved client on another connection is still served, and the
//! server's memory (VmHWM of its process against VmRSS before) stays bounded.
//!
//! Tests run one at a time (a lock), each on its own server process: the machine's cores
//! are shared between the attack, the server and the control client, and the control
//! client's bound is about being served at all, not about speed.

mod common;
#[path = "../../gust/tests/support/h2raw.rs"]
mod h2raw;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinSet;
use tokio::time::{sleep, timeout, Instant};

use common::{hwm_kib, rss_kib, Sample};
use h2raw::*;

/// How long a control request may take, start to end (connection, handshake, answer). A
/// generous bound: an answer at all is what matters, not its speed.
const CONTROL_BOUND: Duration = Duration::from_secs(5);

/// How much the server's peak RSS (VmHWM) may exceed its RSS before an attack.
///
/// What the server holds for one connection is bounded by its limits: a request body
/// window of 1 MiB, a 64 KiB write buffer, at most 32 KiB queued (plus one 16 KiB chunk in
/// hand) per response stream waiting for window, a header block of at most 32 KiB (twice
/// SETTINGS_MAX_HEADER_LIST_SIZE), a 4 KiB HPACK table each way, at most 100 streams. The
/// worst test here holds 3 connections x 100 streams x 48 KiB = 14 MiB of response bytes;
/// the others a few MiB. 64 MiB leaves room for allocator slack (glibc arenas, freed
/// memory not given back) and the debug build. An unbounded server would grow by the
/// attack's size, far past it: 300 streams x 4 MiB files (1.2 GiB), header blocks that
/// decode to 110 MB each, thousands of queued PING/SETTINGS answers or stream states.
const MEMORY_BOUND_KIB: u64 = 64 * 1024;

/// Frames an attack writes at once, between looks at what the server sent.
const BATCH: u32 = 100;
/// The most units (frames or frame pairs) one flooding connection sends.
const MAX_UNITS: u32 = 5_000;
/// The longest one flooding connection goes on.
const FLOOD_TIME: Duration = Duration::from_secs(5);

static SERIAL: Mutex<()> = Mutex::new(());

/// The server under attack.
#[derive(Clone, Copy)]
struct Target {
    addr: SocketAddr,
    pid: u32,
}

/// Starts the sample with `args`, runs `attack` against it while a control client keeps
/// asking for `/uptime` on its own connections, then checks the server still runs, still
/// serves, and grew by less than [`MEMORY_BOUND_KIB`].
fn under_attack<F, Fut>(name: &str, args: &[&str], attack: F)
where
    F: FnOnce(Target) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let mut sample = Sample::start(args);
    let target = Target {
        addr: sample.socket_addr(),
        pid: sample.pid(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let (rss_before, during) = runtime.block_on(async {
        // Warm up: the first connections allocate what every later one reuses.
        for _ in 0..3 {
            control(target.addr).await;
        }
        let rss_before = rss_kib(target.pid);
        let started = Instant::now();
        let attack = tokio::spawn(attack(target));
        let mut during = 0;
        while !attack.is_finished() {
            control(target.addr).await;
            during += 1;
            sleep(Duration::from_millis(200)).await;
        }
        join(attack.await);
        println!("{name}: attack took {:?}", started.elapsed());
        (rss_before, during)
    });
    assert!(sample.is_running(), "{name}: the server died");
    runtime.block_on(control(target.addr));
    let (rss_after, hwm_after) = (rss_kib(target.pid), hwm_kib(target.pid));
    println!(
        "{name}: {during} control rounds served during the attack; VmRSS before {rss_before} KiB, \
         after {rss_after} KiB, VmHWM after {hwm_after} KiB"
    );
    let growth = hwm_after.saturating_sub(rss_before);
    assert!(
        growth < MEMORY_BOUND_KIB,
        "{name}: peak RSS grew by {growth} KiB (before {rss_before} KiB, peak {hwm_after} KiB)"
    );
    assert!(sample.is_running(), "{name}: the server died");
}

/// A task's result; its panic, if it panicked, goes on as this thread's.
fn join<T>(result: Result<T, tokio::task::JoinError>) -> T {
    match result {
        Ok(v) => v,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("task failed: {e}"),
    }
}

/// Runs `count` copies of `one`, `parallel` at a time, each on its own task.
async fn many<F, Fut>(count: usize, parallel: usize, one: F)
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut set = JoinSet::new();
    for i in 0..count {
        if set.len() >= parallel {
            if let Some(r) = set.join_next().await {
                join(r);
            }
        }
        set.spawn(one(i));
    }
    while let Some(r) = set.join_next().await {
        join(r);
    }
}

/// A well-behaved client on connections of its own: `GET /uptime` over HTTP/2 (prior
/// knowledge) and over HTTP/1.1, each answered 200 within [`CONTROL_BOUND`].
async fn control(addr: SocketAddr) {
    let h2 = timeout(CONTROL_BOUND, async {
        let mut c = H2Raw::handshake(addr).await;
        c.request(1, "GET", "/uptime", true).await;
        c.response(1).await
    })
    .await
    .expect("the HTTP/2 control request is answered in time");
    assert_eq!(h2.status, 200, "HTTP/2 control request: {h2:?}");
    let url = format!("http://{addr}/uptime");
    let h1 = tokio::task::spawn_blocking(move || {
        reqwest::blocking::Client::builder()
            .timeout(CONTROL_BOUND)
            .build()
            .expect("client")
            .get(url)
            .send()
            .map(|r| r.status().as_u16())
    });
    let h1 = join(h1.await).expect("the HTTP/1.1 control request is answered in time");
    assert_eq!(h1, 200, "HTTP/1.1 control request");
}

/// The next frame within `wait` (None: closed or nothing came). A response header block is
/// decoded here, once and in order, so the HPACK state follows the server's; its `:status`
/// is returned.
async fn next(c: &mut H2Raw, wait: Duration) -> Option<(Frame, Option<u16>)> {
    let f = c.read_frame_within(wait).await?;
    let mut status = None;
    if f.kind == HEADERS {
        assert!(f.has(END_HEADERS), "our responses fit one frame: {f:?}");
        let block = header_block_of(&f);
        status = c
            .decode(&block)
            .into_iter()
            .find(|(n, _)| n == ":status")
            .map(|(_, v)| v.parse().expect("numeric :status"));
    }
    Some((f, status))
}

/// Reads until a GOAWAY (returned) or until the connection closes or `wait` passes (None).
async fn goaway_within(c: &mut H2Raw, wait: Duration) -> Option<Frame> {
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let (f, _) = next(c, left).await?;
        if f.kind == GOAWAY {
            return Some(f);
        }
    }
}

/// What one flooded connection saw.
#[derive(Debug)]
struct Flooded {
    /// The server's GOAWAY; None if the connection closed or went quiet without one.
    goaway: Option<Frame>,
    /// Units written.
    sent: u32,
    /// PING and SETTINGS acknowledgements received before the GOAWAY.
    acks: u32,
}

/// Floods `c` with `unit(i)` for i = 0, 1, ..., [`BATCH`] units per write, looking at what
/// the server sent between writes, until its GOAWAY comes, a write fails, or the bounds
/// ([`MAX_UNITS`], [`FLOOD_TIME`]) are reached.
async fn flood(c: &mut H2Raw, mut unit: impl FnMut(&mut Vec<u8>, u32)) -> Flooded {
    let started = Instant::now();
    let mut done = Flooded {
        goaway: None,
        sent: 0,
        acks: 0,
    };
    loop {
        let mut batch = Vec::new();
        for _ in 0..BATCH {
            unit(&mut batch, done.sent);
            done.sent += 1;
        }
        let last =
            !c.try_send(&batch).await || done.sent >= MAX_UNITS || started.elapsed() > FLOOD_TIME;
        // Whatever the server sent so far (after the last write: all it sends); a GOAWAY
        // ends the flood.
        let wait = if last { WAIT } else { Duration::from_millis(1) };
        while let Some((f, _)) = next(c, wait).await {
            match f.kind {
                GOAWAY => {
                    done.goaway = Some(f);
                    return done;
                }
                PING | SETTINGS if f.has(ACK) => done.acks += 1,
                _ => {}
            }
        }
        if last {
            return done;
        }
    }
}

/// Floods `connections` connections (4 at a time) with `unit`, after `opening` on each,
/// and checks every one is ended with GOAWAY ENHANCE_YOUR_CALM and closed, and passes
/// `check`. Returns the units written.
async fn flood_many(
    addr: SocketAddr,
    what: &'static str,
    connections: usize,
    opening: fn(&mut H2Raw) -> Vec<u8>,
    unit: fn(&mut Vec<u8>, u32, &[u8]),
    check: fn(&Flooded, &Frame),
) -> u32 {
    let total = Arc::new(AtomicU32::new(0));
    let counted = total.clone();
    many(connections, 4, move |_| {
        let total = counted.clone();
        async move {
            let mut c = H2Raw::handshake(addr).await;
            let opened = opening(&mut c);
            c.send(&opened).await;
            let block = c.request_block("POST", "/dynamic", &[]);
            let done = flood(&mut c, |out, i| unit(out, i, &block)).await;
            let goaway = done
                .goaway
                .clone()
                .unwrap_or_else(|| panic!("{what}: no GOAWAY: {done:?}"));
            assert_eq!(goaway.error_code(), ENHANCE_YOUR_CALM, "{what}: {done:?}");
            check(&done, &goaway);
            assert!(c.closed().await, "{what}: open after GOAWAY");
            total.fetch_add(done.sent, Ordering::Relaxed);
        }
    })
    .await;
    let sent = total.load(Ordering::Relaxed);
    println!("{what}: {sent} written over {connections} connections, each ended ENHANCE_YOUR_CALM");
    sent
}

/// At least half the per-second budget (100) was allowed before the GOAWAY: the server
/// cuts floods off, not the first frames of a kind.
const WITHIN_BUDGET: u32 = 50;

/// No check beyond the GOAWAY code.
fn no_check(_: &Flooded, _: &Frame) {}

/// Nothing extra before a flood.
fn no_opening(_: &mut H2Raw) -> Vec<u8> {
    Vec::new()
}

/// CVE-2023-44487: HEADERS then RST_STREAM at once, thousands of times. Every reset stream
/// started a handler; the server allows 100 resets of accepted streams a second per
/// connection, then GOAWAY ENHANCE_YOUR_CALM.
#[test]
fn rapid_reset() {
    under_attack("rapid reset", &[], |t| async move {
        let pairs = flood_many(
            t.addr,
            "HEADERS + RST_STREAM pairs",
            30,
            no_opening,
            |out, i, block| {
                let id = 2 * i + 1;
                out.extend(frame(HEADERS, END_HEADERS, id, block));
                out.extend(frame(RST_STREAM, 0, id, &CANCEL.to_be_bytes()));
            },
            // The streams before the cut-off were accepted (and their handlers run).
            |_, goaway| assert!(goaway.last_stream_id() > 2 * WITHIN_BUDGET, "{goaway:?}"),
        )
        .await;
        assert!(pairs >= 3_000, "{pairs} pairs: not thousands");
    });
}

/// CVE-2024-27316: HEADERS without END_HEADERS, then CONTINUATION frames without end: many
/// small ones (more than 16 in a block), large ones (a block past 32 KiB) and empty ones.
/// Each: GOAWAY ENHANCE_YOUR_CALM.
#[test]
fn continuation_flood() {
    under_attack("CONTINUATION flood", &[], |t| async move {
        for (what, size) in [("small", 64), ("large", 16_384), ("empty", 0)] {
            many(12, 4, move |_| async move {
                let mut c = H2Raw::handshake(t.addr).await;
                let block = c.request_block("GET", "/uptime", &[]);
                c.send_frame(HEADERS, END_STREAM, 1, &block).await;
                let filler = vec![b'x'; size];
                let done = flood(&mut c, |out, _| {
                    out.extend(frame(CONTINUATION, 0, 1, &filler));
                })
                .await;
                let goaway = done
                    .goaway
                    .clone()
                    .unwrap_or_else(|| panic!("{what} CONTINUATION: no GOAWAY: {done:?}"));
                assert_eq!(goaway.error_code(), ENHANCE_YOUR_CALM, "{what}: {goaway:?}");
                // The request whose block never ended was not processed.
                assert_eq!(goaway.last_stream_id(), 0, "{what}: {goaway:?}");
                assert!(c.closed().await, "{what} CONTINUATION: open after GOAWAY");
            })
            .await;
        }
    });
}

/// An HPACK integer (RFC 7541 5.1) with a `prefix`-bit prefix, `flags` above it.
fn hpack_int(out: &mut Vec<u8>, value: usize, prefix: u8, flags: u8) {
    let max = (1usize << prefix) - 1;
    if value < max {
        out.push(flags | value as u8);
        return;
    }
    out.push(flags | max as u8);
    let mut rest = value - max;
    while rest >= 128 {
        out.push(0x80 | (rest % 128) as u8);
        rest /= 128;
    }
    out.push(rest as u8);
}

/// An HPACK string literal, not Huffman-coded.
fn hpack_str(out: &mut Vec<u8>, s: &[u8]) {
    hpack_int(out, s.len(), 7, 0);
    out.extend_from_slice(s);
}

/// References to the bomb's table entry in one block: with the 4000-byte value, the block
/// is under 32 KiB (the most the server takes) and decodes to 28000 x 4 KB = 112 MB.
const BOMB_REFERENCES: usize = 28_000;

/// A request head of 32 KB that decodes to 112 MB: one large field into the dynamic table
/// (literal with incremental indexing, 4 KB: the table's 4096 bytes hold it), then the
/// 1-byte reference to it (dynamic index 62) over and over. Written by hand: no encoder
/// would make it.
fn hpack_bomb() -> Vec<u8> {
    let mut b = vec![0x82, 0x86]; // :method GET, :scheme http
    b.push(0x04); // :path, literal without indexing
    hpack_str(&mut b, b"/uptime");
    b.push(0x01); // :authority, literal without indexing
    hpack_str(&mut b, b"localhost");
    b.push(0x40); // literal with incremental indexing, new name
    hpack_str(&mut b, b"x-bomb");
    hpack_str(&mut b, &[b'b'; 4000]);
    b.extend(std::iter::repeat_n(0xbe, BOMB_REFERENCES));
    b
}

/// A header block in a HEADERS frame and as many CONTINUATION frames as the default
/// SETTINGS_MAX_FRAME_SIZE needs.
fn header_frames(stream: u32, block: &[u8], end_stream: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let chunks: Vec<&[u8]> = block.chunks(16_384).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let last = if i + 1 == chunks.len() {
            END_HEADERS
        } else {
            0
        };
        if i == 0 {
            let flags = last | if end_stream { END_STREAM } else { 0 };
            out.extend(frame(HEADERS, flags, stream, chunk));
        } else {
            out.extend(frame(CONTINUATION, last, stream, chunk));
        }
    }
    out
}

/// A header block that decodes huge (an HPACK bomb): the header list is capped at
/// SETTINGS_MAX_HEADER_LIST_SIZE (16 KiB) while decoding and the request answered 431; the
/// connection stays usable.
#[test]
fn hpack_bomb_is_answered_431() {
    under_attack("HPACK bomb", &[], |t| async move {
        let bomb = hpack_bomb();
        assert!(bomb.len() < 32 * 1024, "{}", bomb.len());
        many(4, 4, move |_| {
            let bomb = bomb.clone();
            async move {
                let mut c = H2Raw::handshake(t.addr).await;
                let bombs = 20;
                for i in 0..bombs {
                    let id = 2 * i + 1;
                    c.send(&header_frames(id, &bomb, true)).await;
                    let r = c.response(id).await;
                    assert_eq!(r.status, 431, "bomb on stream {id}: {r:?}");
                }
                // The connection, its HPACK state included, is still fine.
                let id = 2 * bombs + 1;
                c.request(id, "GET", "/uptime", true).await;
                let r = c.response(id).await;
                assert_eq!(r.status, 200, "after the bombs: {r:?}");
            }
        })
        .await;
    });
}

/// CVE-2019-9512: PING after PING, the answers never read. Past 100 a second: GOAWAY
/// ENHANCE_YOUR_CALM.
#[test]
fn ping_flood() {
    under_attack("PING flood", &[], |t| async move {
        flood_many(
            t.addr,
            "PING frames",
            24,
            no_opening,
            |out, i, _| {
                out.extend(frame(PING, 0, 0, &u64::from(i).to_be_bytes()));
            },
            |done, _| assert!(done.acks >= WITHIN_BUDGET, "{done:?}"),
        )
        .await;
    });
}

/// CVE-2019-9515: SETTINGS after SETTINGS (each owed an ACK), the ACKs never read. Past 100
/// a second: GOAWAY ENHANCE_YOUR_CALM.
#[test]
fn settings_flood() {
    under_attack("SETTINGS flood", &[], |t| async move {
        flood_many(
            t.addr,
            "SETTINGS frames",
            24,
            no_opening,
            |out, i, _| {
                // Alternately empty and with a setting that changes nothing.
                let payload = if i % 2 == 0 {
                    Vec::new()
                } else {
                    settings_payload(&[(SETTINGS_MAX_FRAME_SIZE, 16_384)])
                };
                out.extend(frame(SETTINGS, 0, 0, &payload));
            },
            |done, _| assert!(done.acks >= WITHIN_BUDGET, "{done:?}"),
        )
        .await;
    });
}

/// Opens stream 1 with `POST /dynamic` and no END_STREAM: a request body is due.
fn open_post(c: &mut H2Raw) -> Vec<u8> {
    let block = c.request_block("POST", "/dynamic", &[]);
    frame(HEADERS, END_HEADERS, 1, &block)
}

/// CVE-2019-9518: empty DATA frames without END_STREAM on an open stream, each costing the
/// server work and no flow-control credit. Past 100 a second: GOAWAY ENHANCE_YOUR_CALM.
#[test]
fn empty_frame_flood() {
    under_attack("empty DATA flood", &[], |t| async move {
        flood_many(
            t.addr,
            "empty DATA frames",
            24,
            open_post,
            |out, _, _| {
                out.extend(frame(DATA, 0, 1, &[]));
            },
            no_check,
        )
        .await;
    });
}

/// The large file of the zero-window test.
const BIG_FILE: usize = 4 * 1024 * 1024;

/// SETTINGS_INITIAL_WINDOW_SIZE 0, then `GET` of a 4 MiB file on 100 streams on each of 3
/// connections, the window never opened: the server reads ahead only a bounded amount per
/// stream, sends no DATA, and resets each stream CANCEL after the inactivity timeout (2 s).
/// Meanwhile the same file is served in full to a client that reads.
#[test]
fn zero_window_hold() {
    let www = tempfile::tempdir().expect("tempdir");
    let content: Vec<u8> = (0..BIG_FILE).map(|i| (i % 251) as u8).collect();
    std::fs::write(www.path().join("big.bin"), &content).expect("write big.bin");
    let www_path = www.path().to_str().expect("utf-8 path").to_owned();
    let args = ["--www", &www_path, "--inactivity-timeout", "2s"];
    under_attack("zero-window hold", &args, |t| async move {
        let streams = 100u32;
        let holders = 3;
        let (held_tx, mut held_rx) = tokio::sync::mpsc::channel(holders);
        let hold = tokio::spawn(many(holders, holders, move |_| {
            let held_tx = held_tx.clone();
            async move {
                let (mut c, _) =
                    H2Raw::handshake_with(t.addr, &[(SETTINGS_INITIAL_WINDOW_SIZE, 0)]).await;
                let sent_at = Instant::now();
                let mut requests = Vec::new();
                for i in 0..streams {
                    let block = c.request_block("GET", "/big.bin", &[]);
                    requests.extend(frame(HEADERS, END_HEADERS | END_STREAM, 2 * i + 1, &block));
                }
                c.send(&requests).await;
                let mut heads = 0;
                let mut cancelled = 0;
                let deadline = sent_at + Duration::from_secs(15);
                while cancelled < streams {
                    let left = deadline.saturating_duration_since(Instant::now());
                    let Some((f, status)) = next(&mut c, left).await else {
                        panic!("{heads} heads, {cancelled} CANCEL, then nothing");
                    };
                    match f.kind {
                        HEADERS => {
                            assert_eq!(status, Some(200), "stream {}", f.stream);
                            heads += 1;
                            if heads == streams {
                                let _ = held_tx.send(()).await;
                            }
                        }
                        DATA => panic!("DATA through a zero window: {f:?}"),
                        RST_STREAM => {
                            assert_eq!(f.error_code(), CANCEL, "{f:?}");
                            // Reset for the stall, not at once.
                            assert!(sent_at.elapsed() >= Duration::from_secs(1), "{f:?}");
                            cancelled += 1;
                        }
                        GOAWAY => panic!("GOAWAY while streams wait: {f:?}"),
                        _ => {}
                    }
                }
                assert_eq!(heads, streams);
            }
        }));
        // All streams held: what the server holds now, and a full download on the side.
        for _ in 0..holders {
            held_rx
                .recv()
                .await
                .expect("every connection holds its streams");
        }
        sleep(Duration::from_millis(300)).await;
        println!(
            "zero-window hold: VmRSS while holding {} KiB",
            rss_kib(t.pid)
        );
        let url = format!("http://{}/big.bin", t.addr);
        let body = tokio::task::spawn_blocking(move || {
            reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(10))
                .build()
                .expect("client")
                .get(url)
                .send()
                .and_then(|r| r.error_for_status())
                .and_then(|r| r.bytes())
        });
        let body = join(body.await).expect("the file is served to a reading client");
        assert_eq!(body.len(), BIG_FILE);
        assert!(body.iter().enumerate().all(|(i, b)| *b == (i % 251) as u8));
        join(hold.await);
    });
}

/// Stream ids to the end: a request on 2^31-1 (the last id) is served; then a lower id (1),
/// the "next" id (2^31+1, whose reserved top bit a receiver ignores: stream 1 again) or the
/// last id again is a connection error (RFC 9113 5.1.1: ids are never reused and only
/// grow), each on its own connection, and the server goes on serving others.
#[test]
fn stream_id_exhaustion() {
    under_attack("stream-id exhaustion", &[], |t| async move {
        for (what, then) in [
            ("lower id", 1u32),
            ("next id, wrapped", 0x8000_0001),
            ("last id again", 0x7fff_ffff),
        ] {
            let mut c = H2Raw::handshake(t.addr).await;
            c.request(0x7fff_ffff, "GET", "/uptime", true).await;
            let r = c.response(0x7fff_ffff).await;
            assert_eq!(r.status, 200, "the last stream id: {r:?}");
            let block = c.request_block("GET", "/uptime", &[]);
            c.send_frame(HEADERS, END_HEADERS | END_STREAM, then, &block)
                .await;
            // The reuse of a closed stream may also be STREAM_CLOSED (RFC 9113 5.1).
            let goaway = goaway_within(&mut c, WAIT)
                .await
                .unwrap_or_else(|| panic!("{what}: no GOAWAY"));
            let allowed: &[u32] = if then == 0x7fff_ffff {
                &[PROTOCOL_ERROR, STREAM_CLOSED]
            } else {
                &[PROTOCOL_ERROR]
            };
            assert!(allowed.contains(&goaway.error_code()), "{what}: {goaway:?}");
            assert_eq!(goaway.last_stream_id(), 0x7fff_ffff, "{what}: {goaway:?}");
            assert!(c.closed().await, "{what}: open after GOAWAY");
        }
    });
}

/// Requests whose bodies never come: `POST /dynamic` HEADERS without END_STREAM, 20 past
/// the 100 concurrent streams, on 3 connections. The extras are refused (REFUSED_STREAM),
/// the open ones reset CANCEL after the inactivity timeout (2 s); then the connection takes
/// new streams again.
#[test]
fn unfinished_streams_past_the_limit() {
    let args = ["--inactivity-timeout", "2s", "--max-streams", "100"];
    under_attack("unfinished streams", &args, |t| async move {
        many(3, 3, move |_| async move {
            let max = 100u32;
            let total = max + 20;
            let mut c = H2Raw::handshake(t.addr).await;
            let mut requests = Vec::new();
            for i in 0..total {
                let block = c.request_block("POST", "/dynamic", &[]);
                requests.extend(frame(HEADERS, END_HEADERS, 2 * i + 1, &block));
            }
            let sent_at = Instant::now();
            c.send(&requests).await;
            let mut ended = std::collections::BTreeMap::new();
            let deadline = sent_at + Duration::from_secs(15);
            while ended.len() < total as usize {
                let left = deadline.saturating_duration_since(Instant::now());
                let Some((f, status)) = next(&mut c, left).await else {
                    panic!(
                        "after {} streams ended: nothing more ({ended:?})",
                        ended.len()
                    );
                };
                match f.kind {
                    HEADERS => assert_eq!(status, Some(200), "stream {}", f.stream),
                    RST_STREAM => {
                        ended.insert(f.stream, (f.error_code(), sent_at.elapsed()));
                    }
                    GOAWAY => panic!("GOAWAY while streams wait: {f:?}"),
                    _ => {}
                }
            }
            for (id, (code, after)) in &ended {
                if *id < 2 * max {
                    assert_eq!(*code, CANCEL, "stream {id}, open, reset after {after:?}");
                    assert!(
                        *after >= Duration::from_secs(1),
                        "stream {id} reset after {after:?}"
                    );
                } else {
                    assert_eq!(*code, REFUSED_STREAM, "stream {id}, past the limit");
                }
            }
            // The slots are free again.
            let id = 2 * total + 1;
            c.request(id, "GET", "/uptime", true).await;
            let r = c.response(id).await;
            assert_eq!(r.status, 200, "after the resets: {r:?}");
        })
        .await;
    });
}

/// A header block begun and never finished (HEADERS without END_HEADERS, then nothing, or
/// CONTINUATION frames trickling in): after --request-head-timeout (2 s) the connection
/// ends with GOAWAY ENHANCE_YOUR_CALM.
#[test]
fn slow_header_block() {
    let args = ["--request-head-timeout", "2s"];
    under_attack("slow header block", &args, |t| async move {
        many(40, 40, move |i| async move {
            let mut c = H2Raw::handshake(t.addr).await;
            let block = c.request_block("GET", "/uptime", &[]);
            let started = Instant::now();
            c.send_frame(HEADERS, END_STREAM, 1, &block[..block.len() / 2])
                .await;
            let trickle = i % 2 == 1;
            let goaway = if trickle {
                // A small CONTINUATION every 400 ms, fewer than the 16 allowed per block.
                let mut found = None;
                for _ in 0..15 {
                    if !c.try_send(&frame(CONTINUATION, 0, 1, b"\x00")).await {
                        break;
                    }
                    if let Some(g) = goaway_within(&mut c, Duration::from_millis(400)).await {
                        found = Some(g);
                        break;
                    }
                }
                match found {
                    Some(g) => Some(g),
                    None => goaway_within(&mut c, WAIT).await,
                }
            } else {
                goaway_within(&mut c, Duration::from_secs(10)).await
            };
            let goaway = goaway.unwrap_or_else(|| panic!("trickle {trickle}: no GOAWAY"));
            assert_eq!(goaway.error_code(), ENHANCE_YOUR_CALM, "{goaway:?}");
            let after = started.elapsed();
            assert!(
                after >= Duration::from_millis(1_900),
                "ended after {after:?} only"
            );
            assert!(c.closed().await, "open after GOAWAY");
        })
        .await;
    });
}
