//! Debian's `chromium`, headless, with a profile of its own, driven over the DevTools
//! protocol on 127.0.0.1.
//!
//! Why no chromedriver or Playwright: the DevTools protocol is what both speak to the
//! browser underneath, a WebSocket client is already a dev-dependency, and this way
//! `cargo test` needs nothing from npm and no driver whose version must match the
//! browser's: only the `chromium` package.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::json;
use tempfile::TempDir;

use crate::cdp::Cdp;

/// The browser's program: Debian's launcher script, which `exec`s the browser, so the
/// child's pid is the browser's.
pub(crate) const PROGRAM: &str = "chromium";

/// NSS's certificate database tool (Debian: libnss3-tools), to trust a CA for a browser.
pub(crate) const CERTUTIL: &str = "certutil";

/// How long Chromium may take to start (first start on a slow CI machine builds caches).
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long it may take to exit after `Browser.close`.
const EXIT_TIMEOUT: Duration = Duration::from_secs(15);

/// Flags for every run.
const FLAGS: &[&str] = &[
    // The real browser without a window (the old headless mode was a separate program).
    "--headless=new",
    // CI runs as root, where Chromium will not start with its sandbox; this browser only
    // ever loads pages from the server the test started.
    "--no-sandbox",
    "--disable-gpu",
    // Containers often give /dev/shm 64 MiB, too little: use /tmp instead.
    "--disable-dev-shm-usage",
    // DevTools on a free port of 127.0.0.1 (its default address); the URL is read from
    // stderr.
    "--remote-debugging-port=0",
    "--no-first-run",
    "--no-default-browser-check",
    // No traffic of the browser's own: no component updates, sync, extensions or other
    // background requests.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--disable-domain-reliability",
    // And should a request slip past those, it cannot leave the machine: every host name
    // but localhost fails to resolve, and of addresses only 127.0.0.1 may be reached.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
    // Screenshots show the page, not a scroll bar.
    "--hide-scrollbars",
    "--mute-audio",
    "--window-size=1280,800",
];

/// A running headless Chromium, killed by its pid if still running when dropped; its
/// home directory is removed after it.
pub(crate) struct Chromium {
    child: Child,
    devtools: String,
    // Dropped after the child is gone (fields drop in order; `Drop` runs first).
    _home: TempDir,
}

impl Chromium {
    /// Starts Chromium on about:blank with a home directory of its own (its profile, its
    /// caches and its NSS certificate database inside it: nothing of the user's is read
    /// or written) and, given `trusted_ca`, that CA trusted to identify websites, as a
    /// person trusts the development CA (see the README).
    pub(crate) fn launch(trusted_ca: Option<&Path>) -> Chromium {
        let home = tempfile::tempdir().expect("a home directory");
        if let Some(ca) = trusted_ca {
            trust_ca(home.path(), ca);
        }
        let mut child = Command::new(PROGRAM)
            .args(FLAGS)
            .arg(format!(
                "--user-data-dir={}",
                home.path().join("profile").display()
            ))
            .arg("about:blank")
            // Chromium on Linux reads certificates from $HOME/.pki/nssdb.
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path().join(".config"))
            .env("XDG_CACHE_HOME", home.path().join(".cache"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("start {PROGRAM}: {e}"));
        let stderr = child.stderr.take().expect("piped stderr");
        let (found, devtools) = mpsc::channel();
        // Reads stderr to its end, so the browser never blocks on a full pipe; the lines
        // before the DevTools one explain a failed start.
        std::thread::spawn(move || {
            let mut found = Some(found);
            let mut before = Vec::new();
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let Some(sender) = &found else { continue };
                if let Some(url) = line.strip_prefix("DevTools listening on ") {
                    let _ = sender.send(Ok(url.trim().to_owned()));
                    found = None;
                } else if before.len() < 200 {
                    before.push(line);
                }
            }
            if let Some(sender) = found {
                let _ = sender.send(Err(before.join("\n")));
            }
        });
        let mut chromium = Chromium {
            child,
            devtools: String::new(),
            _home: home,
        };
        chromium.devtools = match devtools.recv_timeout(START_TIMEOUT) {
            Ok(Ok(url)) => url,
            Ok(Err(stderr)) => panic!("{PROGRAM} exited before DevTools listened:\n{stderr}"),
            Err(_) => panic!("{PROGRAM}: no DevTools URL within {START_TIMEOUT:?}"),
        };
        chromium
    }

    /// A DevTools connection driving a new page.
    pub(crate) async fn page(&self) -> Cdp {
        let mut cdp = Cdp::connect(&self.devtools).await;
        cdp.open_page().await;
        cdp
    }

    /// Asks the browser to close and waits for it to exit; past the bound, `Drop` kills it.
    pub(crate) async fn close(mut self, mut cdp: Cdp) {
        // The answer may not come: the browser can go before sending it.
        let _ = cdp.call("Browser.close", json!({})).await;
        let deadline = Instant::now() + EXIT_TIMEOUT;
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        eprintln!("{PROGRAM} did not exit within {EXIT_TIMEOUT:?} of Browser.close; killing it");
    }
}

/// Makes the NSS database Chromium reads in `home` and adds `ca` to it as trusted for TLS
/// servers (`C,,`): what the README's `certutil` command does for a person's own browser.
fn trust_ca(home: &Path, ca: &Path) {
    let db = home.join(".pki").join("nssdb");
    std::fs::create_dir_all(&db).expect("create .pki/nssdb");
    let db = format!("sql:{}", db.display());
    let ca = ca.to_str().expect("a UTF-8 path");
    for args in [
        vec!["-N", "-d", &db, "--empty-password"],
        vec![
            "-A",
            "-d",
            &db,
            "-t",
            "C,,",
            "-n",
            "gust development CA",
            "-i",
            ca,
        ],
    ] {
        let out = Command::new(CERTUTIL)
            .args(&args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run {CERTUTIL}: {e}"));
        assert!(
            out.status.success(),
            "{CERTUTIL} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        // By the pid this test started, and only if it still runs.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}
