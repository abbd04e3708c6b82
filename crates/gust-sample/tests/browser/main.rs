//! The dashboard in a real browser: headless Chromium against the sample on 127.0.0.1,
//! over plain HTTP/1.1 and over HTTPS where Chromium speaks HTTP/2, the way a person uses
//! it. Each run loads the page and checks that it loads clean (no console error, no request
//! answered with an error status, nothing fetched from anywhere but the sample), that the
//! uptime advances, that the LED buttons switch the LEDs the server keeps, that the
//! statistics table fills from the WebSocket and follows the traffic the test makes, and
//! saves screenshots (desktop and phone width) under `target/screenshots/`. Over HTTPS it
//! proves that the page, its script and the WebSocket went over HTTP/2. A third test
//! restarts the server under the open page and watches the page reconnect.
//!
//! Over HTTPS the browser trusts the development CA the sample made, in an NSS database
//! of its own, as the README tells a person to; it validates the chain itself.
//!
//! Needs Debian's `chromium`, and `certutil` (libnss3-tools) for HTTPS; skipped without
//! them unless GUST_REQUIRE_INTEROP=1.

#[path = "../common/mod.rs"]
mod common;

mod cdp;
mod chromium;

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine;
use serde_json::{json, Value};
use tokio::time::Instant;

use cdp::{Cdp, Event};
use chromium::Chromium;
use common::{have_tool, Sample};

/// One browser at a time: two cores run one Chromium well and three poorly, and the
/// 3-second bound on the first statistics should measure the page, not the machine.
static ONE_BROWSER: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The bound: the table fills from the WebSocket within 3 seconds of the page load.
const STATS_WITHIN: Duration = Duration::from_secs(3);
/// Generous bound for anything else the page should do soon.
const SOON: Duration = Duration::from_secs(10);
/// The page's longest reconnect delay (main.js, WS_RETRY_MAX_MS), plus a margin.
const RECONNECT_WITHIN: Duration = Duration::from_secs(10 + 10);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(100);

/// The page under test: a DevTools session and the origin it was loaded from.
struct Page {
    cdp: Cdp,
    origin: String,
}

impl Page {
    async fn open(chromium: &Chromium, origin: &str) -> Page {
        let mut cdp = chromium.page().await;
        for domain in ["Page", "Runtime", "Log", "Network"] {
            cdp.call(&format!("{domain}.enable"), json!({}))
                .await
                .unwrap_or_else(|e| panic!("{domain}.enable: {e}"));
        }
        Page {
            cdp,
            origin: origin.to_owned(),
        }
    }

    /// Navigates to the origin's `/` and waits for the load event; when it came.
    async fn load(&mut self) -> Instant {
        let from = self.cdp.events().len();
        let url = format!("{}/", self.origin);
        let answer = self
            .cdp
            .call("Page.navigate", json!({ "url": url }))
            .await
            .expect("Page.navigate");
        assert!(
            answer.get("errorText").is_none(),
            "navigating to {url}: {answer}"
        );
        self.cdp.wait_event("Page.loadEventFired", from, SOON).await;
        Instant::now()
    }

    /// The value of a JavaScript expression (promises awaited); a thrown exception fails
    /// the test.
    async fn eval(&mut self, expression: &str) -> Value {
        let answer = self
            .cdp
            .call(
                "Runtime.evaluate",
                json!({ "expression": expression, "returnByValue": true, "awaitPromise": true }),
            )
            .await
            .unwrap_or_else(|e| panic!("evaluating {expression}: {e}"));
        if let Some(exception) = answer.get("exceptionDetails") {
            panic!("evaluating {expression}: {exception}");
        }
        answer["result"]["value"].clone()
    }

    /// Evaluates `expression` until it gives a truthy value (not null, false, 0 or ""),
    /// for at most `timeout`; that value.
    async fn wait_for(&mut self, what: &str, expression: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        let mut last = Value::Null;
        let tries = timeout.as_millis() / POLL.as_millis() + 1;
        for _ in 0..tries {
            last = self.eval(expression).await;
            let truthy = match &last {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                return last;
            }
            if Instant::now() >= deadline {
                break;
            }
            self.cdp.pump(POLL).await;
        }
        panic!("{what}: not within {timeout:?} (last: {last})");
    }

    /// The number a statistics cell shows (`1,234` reads 1234); `None` while it shows none.
    async fn cell(&mut self, id: &str) -> Option<u64> {
        let text = self
            .eval(&format!("document.getElementById({id:?}).textContent"))
            .await;
        let digits: String = text
            .as_str()
            .unwrap_or_default()
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        digits.parse().ok()
    }

    /// The connection indicator's state: connecting, connected, reconnecting, unavailable.
    async fn indicator(&mut self) -> String {
        let state = self
            .eval("document.getElementById('ws-state').dataset.state")
            .await;
        state.as_str().unwrap_or_default().to_owned()
    }

    /// The milliseconds the uptime counter shows ("Uptime: 0:00:01.234 (1234 ms)").
    async fn uptime_ms(&mut self) -> Option<u64> {
        let shown = self
            .eval(
                "(/\\((\\d+) ms\\)/.exec(document.getElementById('uptime').textContent) || [])[1]",
            )
            .await;
        shown.as_str().and_then(|s| s.parse().ok())
    }

    /// Clicks the button labelled `label` ("LED on", "LED off") in LED `index`'s row.
    async fn click_led_button(&mut self, index: usize, label: &str) {
        let clicked = self
            .eval(&format!(
                "(() => {{
                    const row = document.getElementById('lamp-{index}').closest('li');
                    const button = [...row.querySelectorAll('button')]
                        .find((b) => b.textContent.trim() === {label:?});
                    if (!button) return false;
                    button.click();
                    return true;
                }})()"
            ))
            .await;
        assert_eq!(clicked, json!(true), "a {label:?} button for LED {index}");
    }

    /// The events of one kind so far.
    fn events<'a>(&'a self, method: &'a str) -> impl Iterator<Item = &'a Event> + 'a {
        self.cdp.events().iter().filter(move |e| e.method == method)
    }
}

/// The state of every LED, as the server tells an HTTP client that is not the browser.
async fn server_leds(sample: &Sample) -> Vec<bool> {
    let answer: Value = http_client()
        .get(sample.url("/led"))
        .send()
        .await
        .expect("GET /led")
        .json()
        .await
        .expect("GET /led answers JSON");
    answer["leds"]
        .as_array()
        .expect("a list of LEDs")
        .iter()
        .map(|v| v.as_bool().expect("a boolean per LED"))
        .collect()
}

fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(SOON)
        .build()
        .expect("an HTTP client")
}

/// The checks both transports share, in the order a person meets them. `sample` serves the
/// page's LEDs on its plain listener too (the HTTPS sample has one beside the TLS one).
async fn check_dashboard(page: &mut Page, loaded: Instant, sample: &Sample) {
    // The statistics table fills from the WebSocket.
    page.wait_for(
        "the indicator says connected and the table has figures",
        "document.getElementById('ws-state').dataset.state === 'connected'
            && /[0-9]/.test(document.getElementById('connections_accepted').textContent)
            && /[0-9]/.test(document.getElementById('uptime_ms').textContent)",
        STATS_WITHIN.saturating_sub(loaded.elapsed()),
    )
    .await;
    println!(
        "statistics shown {:?} after the load event",
        loaded.elapsed()
    );

    // The uptime counter advances.
    let first = page
        .wait_for(
            "the uptime counter shows a value",
            "document.getElementById('uptime').textContent.includes(' ms)')",
            SOON,
        )
        .await;
    assert_eq!(first, json!(true));
    let before = page.uptime_ms().await.expect("an uptime in ms");
    page.wait_for(
        "the uptime counter advances",
        &format!(
            "Number((/\\((\\d+) ms\\)/.exec(document.getElementById('uptime').textContent) \
             || [0, 0])[1]) > {before}"
        ),
        SOON,
    )
    .await;

    // LED 0 on, then off: the page sends the POSTs, the server keeps the state, the page
    // shows it.
    assert!(!server_leds(sample).await[0], "LED 0 starts off");
    for (label, on) in [("LED on", true), ("LED off", false)] {
        page.click_led_button(0, label).await;
        let deadline = Instant::now() + SOON;
        let tries = SOON.as_millis() / POLL.as_millis() + 1;
        let mut seen = Vec::new();
        for _ in 0..tries {
            seen = server_leds(sample).await;
            if seen[0] == on || Instant::now() >= deadline {
                break;
            }
            page.cdp.pump(POLL).await;
        }
        assert_eq!(seen[0], on, "GET /led after {label:?}: {seen:?}");
        page.wait_for(
            "the page shows the LED's new state",
            &format!(
                "document.getElementById('lamp-0').classList.contains('on') === {on}
                    && document.getElementById('led-state-0').textContent === {:?}",
                if on { "on" } else { "off" }
            ),
            SOON,
        )
        .await;
    }
    let led_url = format!("{}/led", page.origin);
    let posts: Vec<(String, String)> = page
        .events("Network.requestWillBeSent")
        .filter(|e| {
            e.params["request"]["method"] == "POST" && e.params["request"]["url"] == led_url
        })
        .map(|e| {
            (
                e.params["requestId"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                e.params["request"]["postData"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect();
    assert_eq!(posts.len(), 2, "two POSTs to /led: {posts:?}");
    for ((id, body), on) in posts.iter().zip([true, false]) {
        if !body.is_empty() {
            let body: Value = serde_json::from_str(body).expect("a JSON body");
            assert_eq!(body, json!({ "led_num": 0, "led_state": on }));
        }
        let status = page
            .events("Network.responseReceived")
            .find(|e| e.params["requestId"] == id.as_str())
            .map(|e| e.params["response"]["status"].clone());
        assert_eq!(status, Some(json!(200)), "POST /led {body}");
    }

    // The table follows traffic the test makes: twenty requests from outside the browser.
    let requests_before = page.cell("requests_http1").await.expect("a request count");
    let bytes_before = page.cell("tcp_bytes_recv").await.expect("a byte count");
    let client = http_client();
    for _ in 0..20 {
        let answer = client
            .get(sample.url("/uptime"))
            .send()
            .await
            .expect("GET /uptime");
        assert_eq!(answer.status(), 200);
    }
    page.wait_for(
        "the table counts the test's twenty HTTP/1.1 requests",
        &format!(
            "Number(document.getElementById('requests_http1').textContent.replace(/\\D/g, '')) \
                >= {requests_before} + 20
             && Number(document.getElementById('tcp_bytes_recv').textContent.replace(/\\D/g, '')) \
                > {bytes_before}"
        ),
        SOON,
    )
    .await;
}

/// What a clean load means: no console error, no exception, no request that failed or was
/// answered with an error status, and nothing asked of anyone but the sample.
fn assert_clean(page: &Page) {
    let mut problems = Vec::new();
    for event in page.cdp.events() {
        let p = &event.params;
        match event.method.as_str() {
            "Runtime.consoleAPICalled" if p["type"] == "error" || p["type"] == "assert" => {
                problems.push(format!("console.{}: {}", p["type"], p["args"]));
            }
            "Runtime.exceptionThrown" => problems.push(format!("exception: {p}")),
            "Log.entryAdded" if p["entry"]["level"] == "error" => {
                problems.push(format!("console error: {}", p["entry"]));
            }
            "Network.responseReceived" => {
                let status = p["response"]["status"].as_u64().unwrap_or(0);
                if status >= 400 {
                    problems.push(format!("{status} for {}", p["response"]["url"]));
                }
            }
            "Network.loadingFailed" => problems.push(format!("request failed: {p}")),
            "Network.requestWillBeSent" => {
                let url = p["request"]["url"].as_str().unwrap_or_default();
                let ours = url.starts_with(&format!("{}/", page.origin))
                    || url.starts_with("data:")
                    || url.starts_with("blob:");
                if !ours {
                    problems.push(format!("a request to {url}, not to {}", page.origin));
                }
            }
            "Network.webSocketCreated" => {
                let url = p["url"].as_str().unwrap_or_default();
                let expected = page.origin.replacen("http", "ws", 1) + "/";
                if url != expected {
                    problems.push(format!("a WebSocket to {url}, not {expected}"));
                }
            }
            _ => {}
        }
    }
    assert!(
        problems.is_empty(),
        "the page did not load clean:\n{}",
        problems.join("\n")
    );
    // The check saw the load itself, not an empty log.
    let requests = page.events("Network.requestWillBeSent").count();
    assert!(
        requests >= 4,
        "page, script, /led and /uptime requested: {requests}"
    );
}

/// Where screenshots go: `target/screenshots/`.
fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is target/tmp")
        .join("screenshots");
    std::fs::create_dir_all(&dir).expect("create target/screenshots");
    dir
}

/// Saves a full-page screenshot of `page` as it is laid out `width` CSS pixels wide;
/// checks that nothing sticks out sideways (the page is readable without scrolling
/// sideways) and that the file is a PNG of that width.
async fn screenshot(page: &mut Page, name: &str, width: u32, phone: bool) {
    // A phone: 390 CSS pixels wide at two device pixels each, as many are.
    let (height, scale) = if phone { (844, 2) } else { (800, 1) };
    page.cdp
        .call(
            "Emulation.setDeviceMetricsOverride",
            json!({
                "width": width,
                "height": height,
                "deviceScaleFactor": scale,
                "mobile": phone,
            }),
        )
        .await
        .expect("Emulation.setDeviceMetricsOverride");
    // Two animation frames: the new layout has been painted.
    page.eval(
        "new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => done(true))))",
    )
    .await;
    let overflow = page
        .eval("document.documentElement.scrollWidth - window.innerWidth")
        .await;
    assert!(
        overflow.as_i64().unwrap_or(1) <= 0,
        "{name}: the page is {overflow} px wider than a {width} px viewport"
    );
    let shot = page
        .cdp
        .call(
            "Page.captureScreenshot",
            json!({ "format": "png", "captureBeyondViewport": true }),
        )
        .await
        .expect("Page.captureScreenshot");
    let png = base64::engine::general_purpose::STANDARD
        .decode(shot["data"].as_str().expect("base64 data"))
        .expect("valid base64");
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{name} is a PNG");
    // IHDR's width, the first field after the signature and the chunk's length and type.
    let png_width = u32::from_be_bytes([png[16], png[17], png[18], png[19]]);
    assert_eq!(png_width, width * scale, "{name}: the image's width");
    page.cdp
        .call("Emulation.clearDeviceMetricsOverride", json!({}))
        .await
        .expect("Emulation.clearDeviceMetricsOverride");
    let path = screenshot_dir().join(format!("{name}.png"));
    std::fs::write(&path, &png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    println!("screenshot: {}", path.display());
}

/// A desktop and a phone screenshot, with LED 2 lit so the pictures show both states.
async fn screenshots(page: &mut Page, name: &str) {
    page.click_led_button(2, "LED on").await;
    page.wait_for(
        "LED 2 is shown on",
        "document.getElementById('lamp-2').classList.contains('on')",
        SOON,
    )
    .await;
    screenshot(page, name, 1280, false).await;
    screenshot(page, &format!("{name}-phone"), 390, true).await;
}

#[tokio::test]
async fn the_dashboard_over_http1_in_chromium() {
    if !have_tool(chromium::PROGRAM) {
        return;
    }
    let _one = ONE_BROWSER.lock().await;
    let sample = Sample::start(&[]);
    let origin = format!("http://{}", sample.socket_addr());
    let chromium = Chromium::launch(None);
    let mut page = Page::open(&chromium, &origin).await;

    let loaded = page.load().await;
    check_dashboard(&mut page, loaded, &sample).await;

    // Plain HTTP: HTTP/1.1 for everything, the WebSocket by an Upgrade (101).
    let protocols = page
        .eval(
            "performance.getEntries()
                .filter((e) => e.name.startsWith(location.origin))
                .map((e) => e.nextHopProtocol)",
        )
        .await;
    assert!(
        protocols
            .as_array()
            .is_some_and(|p| p.len() >= 3 && p.iter().all(|p| p == "http/1.1")),
        "{protocols}"
    );
    let handshakes: Vec<Value> = page
        .events("Network.webSocketHandshakeResponseReceived")
        .map(|e| e.params["response"]["status"].clone())
        .collect();
    assert_eq!(
        handshakes,
        [json!(101)],
        "one WebSocket, opened by an upgrade"
    );

    screenshots(&mut page, "dashboard-http").await;
    assert_clean(&page);
    chromium.close(page.cdp).await;
}

#[tokio::test]
async fn the_dashboard_over_https_speaks_h2_in_chromium() {
    if !have_tool(chromium::PROGRAM) || !have_tool(chromium::CERTUTIL) {
        return;
    }
    let _one = ONE_BROWSER.lock().await;
    let certs = tempfile::tempdir().expect("a certificate directory");
    let cert_dir = certs.path().join("dev-certs");
    // The first start makes the development CA and the server certificate.
    let sample = Sample::start_https(&["--cert-dir", cert_dir.to_str().expect("UTF-8 path")]);
    // The browser trusts the CA as a person would make it: in its NSS database. It then
    // checks the server's chain, name and usages itself, with no error ignored.
    let chromium = Chromium::launch(Some(&cert_dir.join("ca.pem")));
    let origin = format!("https://localhost:{}", sample.https_port());
    let mut page = Page::open(&chromium, &origin).await;

    let loaded = page.load().await;
    // The statistics first, before the test makes any traffic of its own: they prove the
    // protocols below.
    page.wait_for(
        "the indicator says connected and the table has figures",
        "document.getElementById('ws-state').dataset.state === 'connected'
            && /[0-9]/.test(document.getElementById('requests_websocket').textContent)",
        STATS_WITHIN.saturating_sub(loaded.elapsed()),
    )
    .await;

    // HTTP/2 for the page, its script and its fetches, as the browser reports them...
    let entries = page
        .eval(
            "performance.getEntries()
                .filter((e) => e.name.startsWith(location.origin))
                .map((e) => [new URL(e.name).pathname, e.nextHopProtocol])",
        )
        .await;
    let entries = entries.as_array().expect("a list of entries").clone();
    for path in ["/", "/main.js", "/led"] {
        assert!(
            entries.iter().any(|e| e[0] == path),
            "a timing entry for {path}: {entries:?}"
        );
    }
    assert!(
        entries.iter().all(|e| e[1] == "h2"),
        "every request over h2: {entries:?}"
    );
    for event in page.events("Network.responseReceived") {
        assert_eq!(
            event.params["response"]["protocol"], "h2",
            "{}",
            event.params["response"]["url"]
        );
    }
    // ...and the WebSocket too: RFC 8441's extended CONNECT is answered 200, where an
    // HTTP/1.1 upgrade is answered 101 with a Sec-WebSocket-Accept.
    let handshakes: Vec<Value> = page
        .events("Network.webSocketHandshakeResponseReceived")
        .map(|e| e.params["response"].clone())
        .collect();
    assert_eq!(handshakes.len(), 1, "one WebSocket: {handshakes:?}");
    assert_eq!(handshakes[0]["status"], 200, "{}", handshakes[0]);
    assert!(
        handshakes[0]["headers"]
            .get("sec-websocket-accept")
            .is_none(),
        "{}",
        handshakes[0]
    );
    // The server agrees: a WebSocket session is open, and not one HTTP/1.1 request (an
    // upgrade would be one) has reached it; every request came over h2 on TLS.
    let open = page.cell("websockets_open").await;
    let sessions = page.cell("requests_websocket").await;
    let http1 = page.cell("requests_http1").await;
    let h2 = page.cell("requests_h2").await;
    let handshakes_tls = page.cell("tls_handshakes").await;
    println!(
        "statistics: websockets_open {open:?}, websocket {sessions:?}, http/1.1 {http1:?}, \
         h2 {h2:?}, tls_handshakes {handshakes_tls:?}"
    );
    assert!(
        open >= Some(1) && sessions >= Some(1),
        "a WebSocket session"
    );
    assert_eq!(http1, Some(0), "no HTTP/1.1 request at all");
    assert!(
        h2 >= Some(3),
        "the page, its script and the WebSocket over h2"
    );
    assert!(handshakes_tls >= Some(1), "over TLS");

    check_dashboard(&mut page, loaded, &sample).await;
    screenshots(&mut page, "dashboard-https-h2").await;
    assert_clean(&page);
    chromium.close(page.cdp).await;
}

#[tokio::test]
async fn the_dashboard_reconnects_after_a_server_restart() {
    if !have_tool(chromium::PROGRAM) {
        return;
    }
    let _one = ONE_BROWSER.lock().await;
    let sample = Sample::start(&[]);
    let addr = sample.socket_addr();
    let origin = format!("http://{addr}");
    let chromium = Chromium::launch(None);
    let mut page = Page::open(&chromium, &origin).await;
    page.load().await;
    page.wait_for(
        "connected, with figures",
        "document.getElementById('ws-state').dataset.state === 'connected'
            && /[0-9]/.test(document.getElementById('uptime_ms').textContent)",
        SOON,
    )
    .await;
    let first_sessions = page.cell("requests_websocket").await;

    // The server goes away: the indicator says so, the figures are marked stale, and the
    // uptime counter says it cannot reach the server (its next request, within a second).
    let status = sample.terminate();
    assert!(status.success(), "a clean exit on SIGTERM: {status}");
    page.wait_for(
        "the indicator shows the lost connection",
        "document.getElementById('ws-state').dataset.state === 'reconnecting'
            && document.getElementById('stats').classList.contains('stale')",
        SOON,
    )
    .await;
    page.wait_for(
        "the uptime counter shows the server unavailable",
        "document.getElementById('uptime').classList.contains('error')",
        SOON,
    )
    .await;
    let while_down = page.indicator().await;
    assert_eq!(while_down, "reconnecting");
    screenshot(&mut page, "dashboard-reconnecting", 1280, false).await;

    // A new server on the same port: within the backoff bound the page is connected again
    // and the table moves. The new server counts from zero.
    let restarted_at = Instant::now();
    let sample = Sample::start_at(addr, &[]);
    page.wait_for(
        "the page reconnects to the new server",
        "document.getElementById('ws-state').dataset.state === 'connected'",
        RECONNECT_WITHIN,
    )
    .await;
    println!("reconnected {:?} after the restart", restarted_at.elapsed());
    let shown = page
        .eval("document.getElementById('uptime_ms').textContent")
        .await;
    page.wait_for(
        "the new server's figures arrive and move",
        &format!(
            "document.getElementById('uptime_ms').textContent !== {shown}
                && !document.getElementById('stats').classList.contains('stale')"
        ),
        SOON,
    )
    .await;
    let sessions = page.cell("requests_websocket").await;
    assert_eq!(
        sessions,
        Some(1),
        "the new server saw this one session (the first saw {first_sessions:?})"
    );
    // The uptime counter recovered too: it showed the error until an answer came.
    page.wait_for(
        "the uptime counter shows the new server's uptime",
        "!document.getElementById('uptime').classList.contains('error')
            && document.getElementById('uptime').textContent.includes(' ms)')",
        SOON,
    )
    .await;
    // Errors are expected while the server was down (refused connections); scripts must
    // not have thrown.
    let exceptions: Vec<&Event> = page.events("Runtime.exceptionThrown").collect();
    assert!(exceptions.is_empty(), "{exceptions:?}");
    screenshot(&mut page, "dashboard-reconnected", 1280, false).await;
    drop(sample);
    chromium.close(page.cdp).await;
}
