//! `gust-sample`: the gust sample application, a small device dashboard over HTTP.
//!
//! It re-creates the original RTOS sample on a Linux host: a page with LED buttons, an uptime
//! counter and network statistics (`/`, `/main.js`, `/favicon.svg`), an echo (`/dynamic`),
//! the uptime (`/uptime`), virtual LEDs (`/led`) and, optionally, a directory of files for
//! every other path (`--www`). Run `gust-sample --help` for the options.
//!
//! Output contract (tests and tools rely on it): once listening, one line per service on
//! stdout, `listening on http://ADDR:PORT` and then (unless `--no-tls`)
//! `listening on https://ADDR:PORT`, with the real bound addresses, flushed at once. Logs,
//! and the note about a newly made development CA, go to stderr. A startup failure is one line on stderr, `gust-sample: error: ...`, and exit
//! code 2 for a usage or configuration error, 1 for a runtime failure (such as a port in use).
//! SIGINT or SIGTERM stops the server gracefully and exits 0.
//!
//! `gust-sample cert ca|server` makes development certificates instead: it prints each file
//! written, one per line, and exits 0; its errors follow the same form (exit code 2 for a
//! file in the way or an unusable CA, 1 for a failed read or write).

mod app;
mod assets;
mod cert;
mod cli;
mod echo;
mod https;
mod led;
mod netstats;
mod reply;

use std::fmt;
use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use gust::Server;
use tracing_subscriber::EnvFilter;

use crate::cli::{Action, CertCommand, Settings};

/// Why the sample could not run, sorted by exit code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Failure {
    /// Bad flags, configuration files or values: the user must change how the sample is
    /// started (exit code 2, as for a usage error).
    Usage(String),
    /// The environment failed the sample: a port in use, no signals, no threads (exit 1).
    Runtime(String),
}

impl Failure {
    fn exit_code(&self) -> ExitCode {
        match self {
            Failure::Usage(_) => ExitCode::from(2),
            Failure::Runtime(_) => ExitCode::from(1),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Usage(m) | Failure::Runtime(m) => f.write_str(m),
        }
    }
}

/// How long the runtime waits for stray tasks after the server has stopped. The server has
/// already given in-flight responses their grace period; this only bounds blocking file reads.
const RUNTIME_SHUTDOWN_WAIT: Duration = Duration::from_secs(1);

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("gust-sample: error: {failure}");
            failure.exit_code()
        }
    }
}

fn run() -> Result<(), Failure> {
    let settings = match cli::action_from_env()? {
        Action::Serve(settings) => *settings,
        Action::Cert(command) => return run_cert(&command),
        Action::Exit => return Ok(()), // --help or --version
    };
    init_logging(&settings.log)?;

    // Built by hand, not with #[tokio::main], so that --workers can size it.
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all().thread_name("gust-worker");
    if let Some(workers) = settings.workers {
        builder.worker_threads(workers);
    }
    let runtime = builder
        .build()
        .map_err(|e| Failure::Runtime(format!("cannot start the runtime: {e}")))?;
    let result = runtime.block_on(serve(settings));
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN_WAIT);
    result
}

/// Runs `gust-sample cert ...` and prints the files it wrote, one per line.
fn run_cert(command: &CertCommand) -> Result<(), Failure> {
    let written = cert::run_command(command)?;
    let mut out = std::io::stdout().lock();
    written
        .iter()
        .try_for_each(|path| writeln!(out, "{}", path.display()))
        .and_then(|()| out.flush())
        .map_err(|e| Failure::Runtime(format!("cannot print the files written: {e}")))
}

/// Logs go to stderr: stdout carries only the `listening on` lines.
fn init_logging(filter: &str) -> Result<(), Failure> {
    let filter = EnvFilter::try_new(filter)
        .map_err(|e| Failure::Usage(format!("invalid log filter {filter:?}: {e}")))?;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only help a person at a terminal; in a pipe or a file they are noise.
        .with_ansi(std::io::stderr().is_terminal())
        .try_init()
        .map_err(|e| Failure::Runtime(format!("cannot set up logging: {e}")))
}

async fn serve(settings: Settings) -> Result<(), Failure> {
    // Installed before the server starts, so a signal sent as soon as the address is printed
    // is already a graceful stop, never the default (immediate) death.
    let mut signals = Signals::new()?;
    let started = Instant::now();
    let service = app::build_service(&settings, started)?;
    // The plain service first: its `listening on` line is the first one printed.
    let secure = match &settings.tls {
        Some(tls) => Some(https::service(&service, tls)?),
        None => None,
    };
    let mut schemes = vec!["http"];
    let mut server = Server::new().service(service);
    if let Some((secure, reloader)) = secure {
        server.add_service(secure);
        schemes.push("https");
        reload_on_hangup(reloader)?;
    }
    server
        .start()
        .await
        .map_err(|e| Failure::Runtime(e.to_string()))?;
    announce(&schemes, server.local_addrs());
    tracing::info!(
        leds = settings.leds,
        websocket = settings.websocket,
        www = ?settings.www,
        "gust-sample ready"
    );

    let signal = signals.next().await;
    tracing::info!(signal, "shutting down");
    tokio::select! {
        stopped = server.stop() => stopped.map_err(|e| Failure::Runtime(e.to_string()))?,
        again = signals.next() => {
            // An impatient operator: stop waiting for in-flight responses.
            return Err(Failure::Runtime(format!(
                "{again} during shutdown: stopped without waiting for in-flight responses"
            )));
        }
    }
    tracing::info!("stopped");
    Ok(())
}

/// Prints one `listening on SCHEME://ADDR` line per service and flushes at once: a test
/// reading stdout through a pipe must not wait for a buffer to fill.
fn announce(schemes: &[&str], addrs: &[SocketAddr]) {
    let mut out = std::io::stdout().lock();
    let written = schemes
        .iter()
        .zip(addrs)
        .try_for_each(|(scheme, addr)| writeln!(out, "listening on {scheme}://{addr}"))
        .and_then(|()| out.flush());
    if let Err(e) = written {
        // Nobody reads stdout any more; serving is still useful.
        tracing::warn!("cannot print the listening addresses: {e}");
    }
}

/// SIGHUP reloads the HTTPS certificate and key from their files (a renewed certificate
/// without a restart). Installed before the server starts: SIGHUP's default is to end the
/// process.
#[cfg(unix)]
fn reload_on_hangup(reloader: https::Reloader) -> Result<(), Failure> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut hangup = signal(SignalKind::hangup())
        .map_err(|e| Failure::Runtime(format!("cannot handle SIGHUP: {e}")))?;
    tokio::spawn(async move {
        while hangup.recv().await.is_some() {
            match reloader.reload() {
                Ok(()) => tracing::info!("SIGHUP: HTTPS certificate reloaded"),
                Err(e) => tracing::warn!(
                    "SIGHUP: HTTPS certificate not reloaded, keeping the old one: {e}"
                ),
            }
        }
    });
    Ok(())
}

#[cfg(not(unix))]
fn reload_on_hangup(_reloader: https::Reloader) -> Result<(), Failure> {
    Ok(())
}

/// SIGINT and SIGTERM as one stream of stop requests.
struct Signals {
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
    #[cfg(unix)]
    terminate: tokio::signal::unix::Signal,
}

impl Signals {
    #[cfg(unix)]
    fn new() -> Result<Self, Failure> {
        use tokio::signal::unix::{signal, SignalKind};
        let install = |kind: SignalKind, name: &str| {
            signal(kind).map_err(|e| Failure::Runtime(format!("cannot handle {name}: {e}")))
        };
        Ok(Signals {
            interrupt: install(SignalKind::interrupt(), "SIGINT")?,
            terminate: install(SignalKind::terminate(), "SIGTERM")?,
        })
    }

    /// Waits for the next stop request and names it.
    #[cfg(unix)]
    async fn next(&mut self) -> &'static str {
        tokio::select! {
            _ = self.interrupt.recv() => "SIGINT",
            _ = self.terminate.recv() => "SIGTERM",
        }
    }

    #[cfg(not(unix))]
    fn new() -> Result<Self, Failure> {
        Ok(Signals {})
    }

    #[cfg(not(unix))]
    async fn next(&mut self) -> &'static str {
        // Without Ctrl-C handling, wait forever rather than stop at once.
        match tokio::signal::ctrl_c().await {
            Ok(()) => "Ctrl-C",
            Err(_) => std::future::pending().await,
        }
    }
}
