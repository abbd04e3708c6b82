//! The sample's service: which resource sits on which path, built from the [`Settings`].
//!
//! | Path       | Methods   | What                                                        |
//! |------------|-----------|-------------------------------------------------------------|
//! | `/`        | GET       | the dashboard page (gzip, embedded)                         |
//! | `/main.js` | GET       | its script (gzip, embedded)                                 |
//! | `/favicon.svg` | GET   | its icon (gzip, embedded)                                   |
//! | `/dynamic` | GET, POST | echo (see [`crate::echo`])                                  |
//! | `/uptime`  | GET       | milliseconds since start, as decimal text                   |
//! | `/led`     | GET, POST | virtual LEDs (see [`crate::led`])                           |
//! | `/`        | WebSocket | statistics as JSON every `--stats-interval-ms`           |
//! | `/ws_echo` | WebSocket | echo: text as text, binary as binary                       |
//! | anything else | GET    | files from `--www DIR` if given, else 404                   |

use std::sync::Arc;
use std::time::{Duration, Instant};

use gust::bytes::Bytes;
use gust::http::{Method, StatusCode};
use gust::ws::{Message, WebSocket};
use gust::{FsResource, Request, Resource, Response, Service, StaticResource, Stats};
use tokio::time::MissedTickBehavior;

use crate::cli::Settings;
use crate::led::{self, Leds};
use crate::{assets, echo, netstats, reply, Failure};

/// Builds the service. `started` is the instant `/uptime` counts from.
pub(crate) fn build_service(settings: &Settings, started: Instant) -> Result<Service, Failure> {
    let leds = Arc::new(Leds::new(settings.leds));
    let max_body = settings.limits.max_body_size;
    // One set of counters for the plain service and its HTTPS twin: the dashboard shows
    // the whole server.
    let stats = Stats::new();

    let mut builder = Service::builder(settings.listen)
        .name("http")
        .limits(settings.limits.clone())
        .stats(stats.clone())
        .resource(Resource::static_content(
            "/",
            embedded("index.html", assets::INDEX_HTML_GZ, assets::INDEX_HTML_TYPE)?,
        ))
        .resource(Resource::static_content(
            "/main.js",
            embedded("main.js", assets::MAIN_JS_GZ, assets::MAIN_JS_TYPE)?,
        ))
        .resource(Resource::static_content(
            "/favicon.svg",
            embedded(
                "favicon.svg",
                assets::FAVICON_SVG_GZ,
                assets::FAVICON_SVG_TYPE,
            )?,
        ))
        .resource(Resource::dynamic("/dynamic", echo::echo).methods([Method::GET, Method::POST]))
        .resource(Resource::dynamic("/uptime", move |_: Request| {
            uptime(started)
        }))
        .resource(
            Resource::dynamic("/led", move |request: Request| {
                led::handle(leds.clone(), request, max_body)
            })
            .methods([Method::GET, Method::POST])
            // The server collects the (tiny) JSON body and refuses one over max_body_size
            // with 413 before the handler runs.
            .buffered_body(),
        );
    if settings.websocket {
        // The original's two sockets: network statistics on `/` (beside the page: only
        // opening requests reach a WebSocket resource) and an echo on `/ws_echo`.
        let interval = settings.stats_interval;
        builder = builder
            .resource(Resource::websocket("/", move |socket: WebSocket| {
                statistics(socket, stats.clone(), started, interval)
            }))
            .resource(Resource::websocket("/ws_echo", ws_echo));
    }
    if let Some(dir) = &settings.www {
        // The error names the directory already.
        let files = FsResource::new(dir.clone())
            .map_err(|e| Failure::Usage(format!("www: {e}")))?
            // A file is read one chunk at a time: gust's default size, but never more than
            // the response bytes a connection may hold for its socket, so the small-device
            // limits also bound file serving.
            .read_chunk_size(
                settings
                    .limits
                    .write_buffer_size
                    .min(FsResource::DEFAULT_READ_CHUNK_SIZE),
            )
            .cache(settings.www_cache_bytes, settings.www_cache_validity);
        // As the fallback, the whole request path is looked up under `dir`.
        builder = builder.fallback(Resource::fs("/", files));
    }
    builder.build().map_err(|e| Failure::Usage(e.to_string()))
}

/// One embedded, gzipped asset. The library may decompress it for clients that do not accept
/// gzip; failing that is a bug in the build, so it is a runtime failure, not a usage one.
fn embedded(
    name: &str,
    gzipped: &'static [u8],
    content_type: &'static str,
) -> Result<StaticResource, Failure> {
    StaticResource::precompressed(Bytes::from_static(gzipped), content_type, "gzip")
        .map_err(|e| Failure::Runtime(format!("embedded {name}: {e}")))
}

/// `/ws_echo`: every message back as it came, text as text and binary as binary, until
/// the client closes.
async fn ws_echo(mut socket: WebSocket) {
    while let Some(message) = socket.recv().await {
        if socket.send(message).await.is_err() {
            break;
        }
    }
}

/// The upgrade on `/`: one JSON text message of statistics (see [`netstats`]) at once,
/// then one per `interval`, until the client leaves. What the client sends is read and
/// dropped, so that its close is seen.
async fn statistics(
    mut socket: WebSocket,
    stats: Arc<Stats>,
    started: Instant,
    interval: Duration,
) {
    let mut ticks = tokio::time::interval(interval);
    // A slow client gets the latest figures, not a backlog of stale ones.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {
                let message = netstats::snapshot_json(&stats.snapshot(), started);
                if socket.send(Message::text(message)).await.is_err() {
                    break;
                }
            }
            received = socket.recv() => if received.is_none() {
                break;
            },
        }
    }
}

/// Width of the `/uptime` answer: 12 digits of milliseconds last 31 years.
const UPTIME_WIDTH: usize = 12;

/// `GET /uptime`: milliseconds since `started`, as decimal text, right-aligned with spaces
/// to a fixed width. Every answer has the same length, so load tools that treat a change of
/// length as a failed request (ab) see none when the count gains a digit mid-run; the text
/// is still a number to `JSON.parse`, `Number()` and `str::trim().parse()`.
async fn uptime(started: Instant) -> Response {
    // As u64 (enough for 584 million years): formatting a u128 costs several times more,
    // and this answer is the benchmark's dynamic one.
    let millis = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    reply::no_store(reply::with_type(
        StatusCode::OK,
        "text/plain; charset=utf-8",
        right_aligned(millis),
    ))
}

/// `n` in decimal, right-aligned with spaces in [`UPTIME_WIDTH`] characters (more if it
/// has more digits): what `format!("{n:>UPTIME_WIDTH$}")` gives, written by hand because
/// the formatting machinery took about 1,000 instructions, a twentieth of the whole answer.
fn right_aligned(mut n: u64) -> Vec<u8> {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let digits = &digits[start..];
    let mut text = vec![b' '; UPTIME_WIDTH.saturating_sub(digits.len())];
    text.extend_from_slice(digits);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uptime_text_is_what_format_gives() {
        let mut n = 1u64;
        let mut values = vec![0, u64::MAX];
        while let Some(next) = n.checked_mul(10) {
            values.extend([n - 1, n, n + 1]);
            n = next;
        }
        for n in values {
            assert_eq!(
                right_aligned(n),
                format!("{n:>UPTIME_WIDTH$}").into_bytes(),
                "{n}"
            );
        }
    }
}
