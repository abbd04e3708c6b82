//! `gust-sample cert` as a user runs it: the real binary makes a CA and a server certificate,
//! refuses to overwrite them without --force, and openssl agrees that the chain holds.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use common::have_tool;

fn gust_sample(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gust-sample"))
        .args(args)
        .output()
        .expect("run gust-sample")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs `args`, expects success, and returns the files printed, one per line.
fn succeeds(args: &[&str]) -> Vec<String> {
    let out = gust_sample(args);
    assert!(
        out.status.success(),
        "{args:?}: {:?}\nstdout: {}\nstderr: {}",
        out.status,
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout).lines().map(str::to_owned).collect()
}

/// Runs `args`, expects failure, and returns the exit code and stderr.
fn fails(args: &[&str]) -> (i32, String) {
    let out = gust_sample(args);
    assert!(
        !out.status.success(),
        "{args:?} succeeded: {}",
        text(&out.stdout)
    );
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("gust-sample: error: "), "{stderr}");
    (out.status.code().expect("an exit code"), stderr)
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

#[test]
fn ca_and_server_certificates() {
    let tmp = tempfile::tempdir().unwrap();
    let ca = tmp.path().join("ca");
    let srv = tmp.path().join("srv");
    let (ca_arg, srv_arg) = (ca.to_str().unwrap(), srv.to_str().unwrap());
    let server_args = [
        "cert",
        "server",
        "--ca",
        ca_arg,
        "--out",
        srv_arg,
        "--name",
        "localhost",
        "--ip",
        "127.0.0.1",
    ];

    let written = succeeds(&["cert", "ca", "--out", ca_arg]);
    let expected: Vec<String> = ["ca.pem", "ca.der", "ca-key.pem"]
        .iter()
        .map(|n| ca.join(n).display().to_string())
        .collect();
    assert_eq!(written, expected);
    let written = succeeds(&server_args);
    let expected: Vec<String> = ["server.pem", "server.der", "server-key.pem"]
        .iter()
        .map(|n| srv.join(n).display().to_string())
        .collect();
    assert_eq!(written, expected);
    for path in [
        ca.join("ca.pem"),
        ca.join("ca.der"),
        srv.join("server.pem"),
        srv.join("server.der"),
    ] {
        assert!(path.is_file(), "{}", path.display());
    }
    assert_eq!(mode(&ca.join("ca-key.pem")), 0o600);
    assert_eq!(mode(&srv.join("server-key.pem")), 0o600);

    // Again without --force: refused, naming the file, nothing changed.
    let ca_key = std::fs::read(ca.join("ca-key.pem")).unwrap();
    let (code, message) = fails(&["cert", "ca", "--out", ca_arg]);
    assert_eq!(code, 2, "{message}");
    assert!(
        message.contains(&*ca.join("ca.pem").to_string_lossy()),
        "{message}"
    );
    assert!(message.contains("--force"), "{message}");
    assert_eq!(std::fs::read(ca.join("ca-key.pem")).unwrap(), ca_key);
    let (code, message) = fails(&server_args);
    assert_eq!(code, 2, "{message}");
    assert!(
        message.contains(&*srv.join("server.pem").to_string_lossy()),
        "{message}"
    );

    // With --force: replaced (a new server key), still owner-only.
    let server_key = std::fs::read(srv.join("server-key.pem")).unwrap();
    let mut forced = server_args.to_vec();
    forced.push("--force");
    succeeds(&forced);
    assert_ne!(
        std::fs::read(srv.join("server-key.pem")).unwrap(),
        server_key
    );
    assert_eq!(mode(&srv.join("server-key.pem")), 0o600);

    openssl_verifies(tmp.path(), &ca, &srv);
}

/// `openssl verify` accepts the server certificate against the CA, for its name and address.
fn openssl_verifies(tmp: &Path, ca: &Path, srv: &Path) {
    if !have_tool("openssl") {
        return;
    }
    let leaf = tmp.join("leaf.pem");
    let status = Command::new("openssl")
        .args(["x509", "-inform", "der", "-in"])
        .arg(srv.join("server.der"))
        .arg("-out")
        .arg(&leaf)
        .status()
        .expect("run openssl x509");
    assert!(status.success(), "openssl x509: {status:?}");
    for check in [
        &["-purpose", "sslserver", "-verify_hostname", "localhost"][..],
        &["-purpose", "sslserver", "-verify_ip", "127.0.0.1"][..],
    ] {
        let out = Command::new("openssl")
            .arg("verify")
            .arg("-CAfile")
            .arg(ca.join("ca.pem"))
            .args(check)
            .arg(&leaf)
            .output()
            .expect("run openssl verify");
        let stdout = text(&out.stdout);
        assert!(
            out.status.success() && stdout.trim_end().ends_with("OK"),
            "openssl verify {check:?}: {stdout}{}",
            text(&out.stderr)
        );
    }
    // A name the certificate was not made for is refused.
    let out = Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(ca.join("ca.pem"))
        .args(["-verify_hostname", "example.com"])
        .arg(&leaf)
        .output()
        .expect("run openssl verify");
    assert!(!out.status.success(), "example.com accepted");
    // server.pem is a full chain: its second certificate is the CA itself.
    let chain = std::fs::read_to_string(srv.join("server.pem")).unwrap();
    let ca_pem = std::fs::read_to_string(ca.join("ca.pem")).unwrap();
    assert_eq!(chain.matches("-----BEGIN CERTIFICATE-----").count(), 2);
    assert!(chain.ends_with(&ca_pem), "server.pem ends with ca.pem");
}

#[test]
fn server_without_a_ca_names_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no-ca");
    let out = tmp.path().join("srv");
    let (code, message) = fails(&[
        "cert",
        "server",
        "--ca",
        missing.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{message}");
    assert!(
        message.contains(&*missing.join("ca.pem").to_string_lossy()),
        "{message}"
    );
    assert!(message.contains("cert ca"), "a hint: {message}");
    assert!(!out.exists(), "nothing written");
}

#[test]
fn cert_usage_errors() {
    let (code, message) = fails(&["cert", "server", "--out", "x"]);
    assert_eq!(code, 2, "{message}");
    assert!(message.contains("--ca"), "{message}");
    let (code, message) = fails(&["cert", "ca"]);
    assert_eq!(code, 2, "{message}");
    assert!(message.contains("--out"), "{message}");
    let (code, message) = fails(&["cert", "server", "--ca", "a", "--out", "b", "--ip", "nope"]);
    assert_eq!(code, 2, "{message}");
    assert!(message.contains("--ip"), "{message}");
    assert_eq!(message.lines().count(), 1, "{message}");
}
