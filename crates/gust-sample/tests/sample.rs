//! The sample application as a user runs it: the real binary on 127.0.0.1:0, real clients
//! (reqwest, curl, ab), real signals.

mod common;

use std::process::Command;
use std::time::Duration;

use common::{have_tool, run_to_exit, Sample};

fn get_text(url: &str) -> String {
    client().get(url).send().unwrap().text().unwrap()
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

#[test]
fn dashboard_uptime_led_and_echo() {
    let sample = Sample::start(&["--leds", "3"]);
    let page = client().get(sample.url("/")).send().unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().unwrap();
    assert!(page.contains("<html") && page.contains("main.js"), "{page}");
    let script = client().get(sample.url("/main.js")).send().unwrap();
    assert_eq!(script.status(), 200);
    assert!(script.headers()["content-type"]
        .to_str()
        .unwrap()
        .contains("javascript"));
    // The page's icon, so that browsers do not ask for /favicon.ico (a 404 in the console).
    assert!(page.contains(r#"href="/favicon.svg""#), "{page}");
    let icon = client().get(sample.url("/favicon.svg")).send().unwrap();
    assert_eq!(icon.status(), 200);
    assert_eq!(icon.headers()["content-type"], "image/svg+xml");
    assert!(icon.text().unwrap().contains("<svg"));

    let uptime = || -> u64 { get_text(&sample.url("/uptime")).trim().parse().unwrap() };
    let first = uptime();
    std::thread::sleep(Duration::from_millis(50));
    let second = uptime();
    assert!(second > first, "{first} then {second}");
    let raw = get_text(&sample.url("/uptime"));
    assert_eq!(raw.len(), 12, "fixed width: {raw:?}");

    let on = client()
        .post(sample.url("/led"))
        .body(r#"{"led_num":1,"led_state":true}"#)
        .send()
        .unwrap();
    assert_eq!(on.status(), 200);
    let states: serde_json::Value = client()
        .get(sample.url("/led"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(states["leds"], serde_json::json!([false, true, false]));
    for bad in [
        "{",
        r#"{"led_num":1}"#,
        r#"{"led_state":true}"#,
        r#"{"led_num":"1","led_state":true}"#,
        r#"{"led_num":3,"led_state":true}"#,
        r#"{"led_num":-1,"led_state":true}"#,
    ] {
        let answer = client().post(sample.url("/led")).body(bad).send().unwrap();
        assert_eq!(answer.status(), 400, "{bad}");
        let reason = answer.text().unwrap();
        assert_eq!(
            reason.trim().lines().count(),
            1,
            "one-line reason for {bad}: {reason:?}"
        );
    }

    let body: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    let echoed = client()
        .post(sample.url("/dynamic"))
        .body(body.clone())
        .send()
        .unwrap();
    assert_eq!(echoed.status(), 200);
    assert_eq!(echoed.bytes().unwrap().as_ref(), &body[..]);
    let query = get_text(&sample.url("/dynamic?x=1&y=2"));
    assert_eq!(query, "x=1&y=2");

    let missing = client().get(sample.url("/no-such-page")).send().unwrap();
    assert_eq!(missing.status(), 404);
    let status = sample.terminate();
    assert!(status.success(), "exit status after SIGTERM: {status}");
}

#[test]
fn curl_compressed_gets_the_gzip_page() {
    if !have_tool("curl") {
        return;
    }
    let sample = Sample::start(&[]);
    let out = Command::new("curl")
        .args([
            "-v",
            "--compressed",
            "--max-time",
            "20",
            "-sS",
            &sample.url("/"),
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let trace = String::from_utf8_lossy(&out.stderr).to_lowercase();
    assert!(trace.contains("< http/1.1 200 ok"), "{trace}");
    assert!(trace.contains("< content-encoding: gzip"), "{trace}");
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(page.contains("<html") && page.contains("</html>"), "{page}");
}

#[test]
fn ab_keep_alive_sees_no_failures() {
    if !have_tool("ab") {
        return;
    }
    let sample = Sample::start(&[]);
    for (path, args) in [
        ("/uptime", vec!["-n", "2000", "-c", "20", "-k"]),
        ("/", vec!["-n", "10"]),
    ] {
        let out = Command::new("timeout")
            .arg("120")
            .arg("ab")
            .args(&args)
            .arg(sample.url(path))
            .output()
            .unwrap();
        let report = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{report}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let complete = report
            .lines()
            .find(|l| l.starts_with("Complete requests:"))
            .unwrap();
        let failed = report
            .lines()
            .find(|l| l.starts_with("Failed requests:"))
            .unwrap();
        let non2xx = report.lines().find(|l| l.starts_with("Non-2xx responses:"));
        assert_eq!(
            complete.split_whitespace().last(),
            Some(args[1]),
            "{report}"
        );
        assert_eq!(failed.split_whitespace().last(), Some("0"), "{report}");
        assert!(non2xx.is_none(), "{report}");
    }
}

#[test]
fn www_dir_is_the_fallback() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"from disk").unwrap();
    let sample = Sample::start(&["--www", dir.path().to_str().unwrap()]);
    let got = client().get(sample.url("/notes.txt")).send().unwrap();
    assert_eq!(got.status(), 200);
    assert_eq!(got.text().unwrap(), "from disk");
    // The sample's own resources still win.
    assert_eq!(
        client().get(sample.url("/uptime")).send().unwrap().status(),
        200
    );
    assert_eq!(
        client()
            .get(sample.url("/../etc/passwd"))
            .send()
            .unwrap()
            .status(),
        404
    );
}

#[test]
fn startup_errors_say_what_is_wrong_and_exit_non_zero() {
    let (code, err) = run_to_exit(&["--max-clients", "many"]);
    assert_ne!(code, 0);
    assert!(err.contains("max-clients") || err.contains("many"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:0\"\nmax_clientz = 3\n").unwrap();
    let (code, err) = run_to_exit(&["--config", file.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(
        err.contains("max_clientz") && err.contains("bad.toml"),
        "{err}"
    );

    let (code, err) = run_to_exit(&["--config", "/nonexistent/gust.toml"]);
    assert_ne!(code, 0);
    assert!(err.contains("/nonexistent/gust.toml"), "{err}");

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (code, err) = run_to_exit(&["--no-tls", "--listen", &addr]);
    assert_ne!(code, 0);
    assert!(err.contains(&addr), "{err}");

    let (code, err) = run_to_exit(&[
        "--no-tls",
        "--listen",
        "127.0.0.1:0",
        "--www",
        "/nonexistent-dir",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("/nonexistent-dir"), "{err}");

    // A timeout past what the clock can add would have panicked the first connection.
    let (code, err) = run_to_exit(&[
        "--no-tls",
        "--listen",
        "127.0.0.1:0",
        "--inactivity-timeout",
        "18446744073709551615s",
    ]);
    assert_ne!(code, 0);
    assert!(
        err.contains("inactivity_timeout") && err.contains("a year"),
        "{err}"
    );
}

#[test]
fn config_files_overlay_and_flags_win() {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("base.toml");
    let overlay = dir.path().join("overlay.toml");
    std::fs::write(
        &base,
        "leds = 2\nmax_url_length = 64\nclient_buffer_size = 1024\n",
    )
    .unwrap();
    std::fs::write(&overlay, "leds = 5\n").unwrap();
    let sample = Sample::start(&[
        "--config",
        base.to_str().unwrap(),
        "--config",
        overlay.to_str().unwrap(),
        "--max-url-length",
        "128",
    ]);
    let states: serde_json::Value = client()
        .get(sample.url("/led"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        states["leds"].as_array().unwrap().len(),
        5,
        "the overlay wins over the base"
    );
    let long = format!("/uptime?{}", "a".repeat(100));
    assert_eq!(
        client().get(sample.url(&long)).send().unwrap().status(),
        200,
        "the flag wins"
    );
    let longer = format!("/uptime?{}", "a".repeat(200));
    assert_eq!(
        client().get(sample.url(&longer)).send().unwrap().status(),
        414
    );
}
