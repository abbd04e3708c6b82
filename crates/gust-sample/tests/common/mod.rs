//! What the sample's integration tests share: the real binary started on 127.0.0.1:0, and
//! the server process's memory as the kernel reports it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `gust-sample` binary the tests start: `GUST_SAMPLE_BIN` when set (the attack script
/// points it at the release build), else the one Cargo built for this test run.
pub(crate) fn sample_bin() -> PathBuf {
    std::env::var_os("GUST_SAMPLE_BIN")
        .filter(|path| !path.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_gust-sample")))
}

/// A running `gust-sample`, killed (by its own pid) when dropped.
pub(crate) struct Sample {
    child: Child,
    addr: String,
    /// The HTTPS address, when started with [`Sample::start_https`].
    https_addr: Option<String>,
}

impl Sample {
    /// Plain HTTP only (`--no-tls`): no HTTPS listener, no certificate made.
    pub(crate) fn start(args: &[&str]) -> Sample {
        let mut all = vec!["--no-tls"];
        all.extend_from_slice(args);
        Sample::spawn(&all, false)
    }

    /// HTTP and HTTPS, both on 127.0.0.1:0; `args` should name the certificate
    /// (`--cert-dir DIR`, or `--cert`/`--key`).
    pub(crate) fn start_https(args: &[&str]) -> Sample {
        let mut all = vec!["--tls-listen", "127.0.0.1:0"];
        all.extend_from_slice(args);
        Sample::spawn(&all, true)
    }

    /// Plain HTTP only, on a port an earlier sample of this test had: a server restart as
    /// its clients see it. The server sets SO_REUSEADDR, so the port is free again as soon
    /// as the earlier process has exited.
    pub(crate) fn start_at(listen: SocketAddr, args: &[&str]) -> Sample {
        assert_eq!(
            listen.ip(),
            std::net::Ipv4Addr::LOCALHOST,
            "tests listen on 127.0.0.1 only"
        );
        let mut all = vec!["--no-tls"];
        all.extend_from_slice(args);
        Sample::spawn_on(&listen.to_string(), &all, false)
    }

    fn spawn(args: &[&str], https: bool) -> Sample {
        Sample::spawn_on("127.0.0.1:0", args, https)
    }

    fn spawn_on(listen: &str, args: &[&str], https: bool) -> Sample {
        let mut child = Command::new(sample_bin())
            .args(["--listen", listen, "--log", "warn"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start gust-sample");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut lines = BufReader::new(stdout).lines();
        let mut next_address = |scheme: &str| {
            let line = lines
                .next()
                .expect("a line on stdout")
                .expect("readable stdout");
            line.strip_prefix(&format!("listening on {scheme}://"))
                .unwrap_or_else(|| panic!("unexpected line {line:?}"))
                .to_owned()
        };
        let addr = next_address("http");
        let https_addr = https.then(|| next_address("https"));
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        // The same for stderr: a server that logs (warnings under attack) must not stall.
        if let Some(stderr) = child.stderr.take() {
            std::thread::spawn(move || for _ in BufReader::new(stderr).lines() {});
        }
        Sample {
            child,
            addr,
            https_addr,
        }
    }

    /// The HTTPS port (started with [`Sample::start_https`]).
    pub(crate) fn https_port(&self) -> u16 {
        let addr: SocketAddr = self
            .https_addr
            .as_deref()
            .expect("started with start_https")
            .parse()
            .expect("the HTTPS address is a SocketAddr");
        addr.port()
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The address the server listens on.
    pub(crate) fn socket_addr(&self) -> SocketAddr {
        self.addr
            .parse()
            .expect("the listening address is a SocketAddr")
    }

    /// The server's process id, for `/proc/<pid>/status`.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether the server is still running (it has not crashed or exited).
    pub(crate) fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("wait").is_none()
    }

    /// Sends signal `name` (`"TERM"`, `"INT"`) without waiting.
    pub(crate) fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -{name} failed");
    }

    /// The exit status, once the server has exited.
    pub(crate) fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().expect("wait")
    }

    /// Sends SIGTERM and waits for the exit status.
    pub(crate) fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill runs");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "gust-sample did not exit after SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Sample {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) fn have_tool(tool: &str) -> bool {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !found {
        if std::env::var("GUST_REQUIRE_INTEROP").as_deref() == Ok("1") {
            panic!("{tool} not installed and GUST_REQUIRE_INTEROP=1");
        }
        println!("SKIPPED: {tool} not installed");
    }
    found
}

/// One `kB` field of `/proc/<pid>/status`, in KiB.
fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {path}: {e}"));
    let line = status
        .lines()
        .find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))
        .unwrap_or_else(|| panic!("no {field} in {path}"));
    line[field.len() + 1..]
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("{field} in {path}: {line:?}: {e}"))
}

/// The resident set size of process `pid` now (VmRSS), in KiB.
pub(crate) fn rss_kib(pid: u32) -> u64 {
    proc_status_kib(pid, "VmRSS")
}

/// The peak resident set size of process `pid` so far (VmHWM), in KiB.
pub(crate) fn hwm_kib(pid: u32) -> u64 {
    proc_status_kib(pid, "VmHWM")
}

/// Runs the sample with `args` (and nothing else) until it exits, which it must within
/// 20 s; returns its exit code and stderr.
pub(crate) fn run_to_exit(args: &[&str]) -> (i32, String) {
    let mut child = Command::new(sample_bin())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("gust-sample {args:?} did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status.code().unwrap_or(-1), err)
}

/// A TLS client that trusts the CA in `ca_pem` (the sample's development CA) and offers
/// `alpn` (`b"h2"`, `b"http/1.1"`).
pub(crate) fn tls_connector(ca_pem: &std::path::Path, alpn: &[u8]) -> tokio_rustls::TlsConnector {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca_pem).expect("the development CA") {
        roots
            .add(cert.expect("a PEM certificate"))
            .expect("a usable CA certificate");
    }
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![alpn.to_vec()];
    tokio_rustls::TlsConnector::from(std::sync::Arc::new(config))
}
