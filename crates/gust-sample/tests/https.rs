//! The sample's HTTPS listener as a user meets it: the first start makes a development CA
//! and server certificate, certificates made with `gust-sample cert` are served, and broken
//! ones stop the start with a message naming the file. Clients: curl, h2load.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{have_tool, run_to_exit, Sample};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gust-sample"))
}

/// Runs curl and returns (success, stdout + stderr).
fn curl(args: &[&str]) -> (bool, String) {
    let out = Command::new("curl")
        .args(["-sS", "-v", "--max-time", "10"])
        .args(args)
        .output()
        .expect("curl runs");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// curl to https://localhost:PORT{path}, trusting `ca`, with localhost resolved to
/// 127.0.0.1 (so nothing depends on the machine's hosts file).
fn curl_https(port: u16, ca: &str, path: &str, extra: &[&str]) -> (bool, String) {
    let resolve = format!("localhost:{port}:127.0.0.1");
    let url = format!("https://localhost:{port}{path}");
    let mut args = vec!["--cacert", ca, "--resolve", &resolve];
    args.extend_from_slice(extra);
    args.push(&url);
    curl(&args)
}

#[test]
fn the_first_start_makes_a_development_ca_and_serves_h2_by_alpn() {
    if !have_tool("curl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cert_dir = dir.path().join("dev-certs");
    let sample = Sample::start_https(&["--cert-dir", cert_dir.to_str().unwrap()]);
    for file in [
        "ca.pem",
        "ca.der",
        "ca-key.pem",
        "server.pem",
        "server-key.pem",
    ] {
        assert!(cert_dir.join(file).is_file(), "{file} was made");
    }
    let ca = cert_dir.join("ca.pem");
    let ca = ca.to_str().unwrap();
    let port = sample.https_port();

    let (ok, text) = curl_https(port, ca, "/", &["--compressed"]);
    assert!(ok, "{text}");
    assert!(text.contains("ALPN: server accepted h2"), "{text}");
    assert!(text.contains("< HTTP/2 200"), "{text}");
    assert!(text.contains("gust dashboard"), "{text}");

    let (ok, text) = curl_https(port, ca, "/uptime", &["--http1.1"]);
    assert!(ok, "{text}");
    assert!(text.contains("< HTTP/1.1 200 OK"), "{text}");

    // The plain listener still serves beside it.
    let (ok, text) = curl(&[&sample.url("/uptime")]);
    assert!(ok, "{text}");
    assert!(text.contains("< HTTP/1.1 200 OK"), "{text}");

    if have_tool("h2load") {
        let out = Command::new("h2load")
            .args(["-n1000", "-c10", "-T", "30"])
            .arg(format!("https://127.0.0.1:{port}/"))
            .output()
            .expect("h2load runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{text}");
        assert!(text.contains("Application protocol: h2"), "{text}");
        assert!(
            text.contains("1000 succeeded, 0 failed, 0 errored, 0 timeout"),
            "{text}"
        );
    }

    // A second start reuses the same CA: a client that trusted it keeps working.
    let ca_before = std::fs::read(cert_dir.join("ca.pem")).unwrap();
    drop(sample);
    let again = Sample::start_https(&["--cert-dir", cert_dir.to_str().unwrap()]);
    assert_eq!(std::fs::read(cert_dir.join("ca.pem")).unwrap(), ca_before);
    let (ok, text) = curl_https(again.https_port(), ca, "/uptime", &[]);
    assert!(ok, "{text}");
}

fn cert_commands(dir: &std::path::Path) {
    let ca = dir.join("ca");
    let srv = dir.join("srv");
    for args in [
        vec!["cert", "ca", "--out", ca.to_str().unwrap()],
        vec![
            "cert",
            "server",
            "--ca",
            ca.to_str().unwrap(),
            "--out",
            srv.to_str().unwrap(),
            "--name",
            "localhost",
            "--ip",
            "127.0.0.1",
        ],
    ] {
        let out = bin().args(&args).output().unwrap();
        assert!(out.status.success(), "{args:?}: {out:?}");
    }
}

#[test]
fn certificates_from_the_cert_commands_are_served() {
    if !have_tool("curl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    cert_commands(dir.path());
    let cert = dir.path().join("srv/server.pem");
    let key = dir.path().join("srv/server-key.pem");
    let sample = Sample::start_https(&[
        "--cert",
        cert.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
    ]);
    let ca = dir.path().join("ca/ca.pem");
    let (ok, text) = curl_https(sample.https_port(), ca.to_str().unwrap(), "/uptime", &[]);
    assert!(ok, "{text}");
    assert!(text.contains("< HTTP/2 200"), "{text}");
}

/// Runs the sample with HTTPS on 127.0.0.1:0 expecting it to refuse to start; returns
/// (exit code, stderr).
fn refused_start(args: &[&str]) -> (i32, String) {
    let mut all = vec!["--listen", "127.0.0.1:0", "--tls-listen", "127.0.0.1:0"];
    all.extend_from_slice(args);
    run_to_exit(&all)
}

#[test]
fn a_missing_broken_or_mismatched_certificate_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    cert_commands(dir.path());
    let cert = dir.path().join("srv/server.pem");
    let key = dir.path().join("srv/server-key.pem");
    let cert_s = cert.to_str().unwrap();

    let missing = dir.path().join("nope.pem");
    let (code, err) = refused_start(&[
        "--cert",
        missing.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("nope.pem"), "{err}");

    let broken = dir.path().join("broken-key.pem");
    std::fs::write(
        &broken,
        "-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    let (code, err) = refused_start(&["--cert", cert_s, "--key", broken.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(err.contains("broken-key.pem"), "{err}");

    // The CA's key is a real key, but not the certificate's.
    let other_key = dir.path().join("ca/ca-key.pem");
    let (code, err) = refused_start(&["--cert", cert_s, "--key", other_key.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(err.contains("does not fit"), "{err}");
    assert!(err.contains("server.pem"), "{err}");

    let (code, err) = refused_start(&["--cert", cert_s]);
    assert_ne!(code, 0);
    assert!(err.contains("--key"), "{err}");
}

#[test]
fn sighup_reloads_the_certificate_for_new_connections() {
    if !have_tool("curl") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    cert_commands(dir.path());
    // A second certificate from the same CA, for another name only.
    let other = dir.path().join("other");
    let out = bin()
        .args(["cert", "server", "--ca"])
        .arg(dir.path().join("ca"))
        .arg("--out")
        .arg(&other)
        .args(["--name", "other.test"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let live = dir.path().join("live");
    std::fs::create_dir(&live).unwrap();
    let (cert, key) = (live.join("server.pem"), live.join("server-key.pem"));
    std::fs::copy(dir.path().join("srv/server.pem"), &cert).unwrap();
    std::fs::copy(dir.path().join("srv/server-key.pem"), &key).unwrap();
    let sample = Sample::start_https(&[
        "--cert",
        cert.to_str().unwrap(),
        "--key",
        key.to_str().unwrap(),
    ]);
    let port = sample.https_port();
    let ca = dir.path().join("ca/ca.pem");
    let ca = ca.to_str().unwrap();
    let as_other = |port: u16| {
        let resolve = format!("other.test:{port}:127.0.0.1");
        let url = format!("https://other.test:{port}/uptime");
        curl(&["--cacert", ca, "--resolve", &resolve, &url])
    };
    assert!(curl_https(port, ca, "/uptime", &[]).0);
    assert!(
        !as_other(port).0,
        "other.test is not on the first certificate"
    );

    std::fs::copy(other.join("server.pem"), &cert).unwrap();
    std::fs::copy(other.join("server-key.pem"), &key).unwrap();
    let status = Command::new("kill")
        .args(["-HUP", &sample.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // The reload happens on the server's own time: poll, bounded.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !as_other(port).0 {
        assert!(
            Instant::now() < deadline,
            "the new certificate was not served"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let (ok, text) = curl_https(port, ca, "/uptime", &[]);
    assert!(!ok, "localhost is not on the new certificate: {text}");
    // Still serving plain HTTP, still alive.
    assert!(curl(&[&sample.url("/uptime")]).0);
}
