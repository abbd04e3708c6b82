//! The command line and the configuration files, merged into one [`Settings`].
//!
//! Precedence, key by key: command-line flags, then the `--config` files (a later file over an
//! earlier one), then the defaults (gust's [`Limits::default`] for the limits). The log filter
//! has one more layer: `RUST_LOG` sits between the flag and the files, as an environment
//! variable usually does.
//!
//! TOML keys are the flag names with underscores. Durations are seconds, written as a number
//! (`30`, `0.5`) or a string with an optional unit (`"30s"`, `"500ms"`, `"0.5"`); the flags take
//! the same strings.

use std::fmt;
use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use gust::Limits;
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use crate::Failure;

/// The default listen address: every IPv4 address, port 8080.
pub(crate) const DEFAULT_LISTEN: SocketAddr = SocketAddr::V4(std::net::SocketAddrV4::new(
    std::net::Ipv4Addr::UNSPECIFIED,
    8080,
));
/// The default number of virtual LEDs.
pub(crate) const DEFAULT_LEDS: usize = 4;
/// The most virtual LEDs the sample will make: enough for any dashboard, small enough that
/// `GET /led` stays a short answer.
pub(crate) const MAX_LEDS: usize = 1024;
/// The most runtime worker threads accepted: far above any sensible value, it only catches
/// typos that would exhaust the machine.
pub(crate) const MAX_WORKERS: usize = 1024;
/// The default log filter.
pub(crate) const DEFAULT_LOG: &str = "info";

/// Everything the sample needs to run, after flags, files and defaults are merged and checked.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Settings {
    /// Where the service listens (port 0: any free port).
    pub(crate) listen: SocketAddr,
    /// The service's limits, checked by [`Limits::validate`].
    pub(crate) limits: Limits,
    /// Number of virtual LEDs (at least 1).
    pub(crate) leds: usize,
    /// Whether the WebSocket resources (`/` statistics, `/ws_echo`) are registered.
    pub(crate) websocket: bool,
    /// A directory served for every path the sample does not define itself.
    pub(crate) www: Option<PathBuf>,
    /// The tracing-subscriber `EnvFilter` directive.
    pub(crate) log: String,
    /// Runtime worker threads; `None`: one per core.
    pub(crate) workers: Option<usize>,
}

/// `gust-sample [serve] [OPTIONS]`.
#[derive(Debug, Parser)]
#[command(
    name = "gust-sample",
    version,
    about = "The gust sample: a small device dashboard (LEDs, uptime, echo) over HTTP.",
    after_help = "Durations are seconds: 30, 0.5, or with a unit: 500ms, 2s.\n\
                  Precedence: flags > RUST_LOG (log only) > config files (later over earlier) > defaults.",
    args_conflicts_with_subcommands = true
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    // The options of `serve`, which also runs when no subcommand is given.
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the dashboard (the default).
    Serve(ServeArgs),
}

impl Cli {
    /// The options of the command that runs (`serve`, named or not).
    pub(crate) fn into_serve_args(self) -> ServeArgs {
        match self.command {
            Some(Command::Serve(args)) => args,
            None => self.serve,
        }
    }
}

/// The options of `serve`. Every value is optional so that an absent flag leaves the files'
/// value in place.
#[derive(Debug, Default, Clone, Args)]
pub(crate) struct ServeArgs {
    /// Address and port to listen on; port 0 picks a free port [default: 0.0.0.0:8080]
    #[arg(long, value_name = "ADDR:PORT")]
    listen: Option<SocketAddr>,
    /// TOML configuration file; repeat it to layer files, a later one overriding an earlier one
    /// key by key
    #[arg(long = "config", value_name = "FILE")]
    config: Vec<PathBuf>,

    /// Concurrent connections; the next one waits in the backlog [default: 1024]
    #[arg(long, value_name = "N", help_heading = "Limits")]
    max_clients: Option<usize>,
    /// Concurrent HTTP/2 streams per connection [default: 100]
    #[arg(long, value_name = "N", help_heading = "Limits")]
    max_streams: Option<u32>,
    /// Bytes of one request head, line and headers; past it 431 [default: 16384]
    #[arg(long, value_name = "BYTES", help_heading = "Limits")]
    client_buffer_size: Option<usize>,
    /// Bytes of the request target; past it 414; at most client_buffer_size [default: 8192]
    #[arg(long, value_name = "BYTES", help_heading = "Limits")]
    max_url_length: Option<usize>,
    /// Header fields in one request; past it 431 [default: 100]
    #[arg(long, value_name = "N", help_heading = "Limits")]
    max_headers: Option<usize>,
    /// Bytes of a buffered request body (POST /led); past it 413 [default: 1048576]
    #[arg(long, value_name = "BYTES", help_heading = "Limits")]
    max_body_size: Option<u64>,
    /// Idle time before a connection is closed [default: 30s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, help_heading = "Limits")]
    inactivity_timeout: Option<Duration>,
    /// Time allowed to send a request head; past it 408 [default: 10s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, help_heading = "Limits")]
    request_head_timeout: Option<Duration>,
    /// On SIGINT/SIGTERM, how long in-flight responses may finish [default: 10s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, help_heading = "Limits")]
    shutdown_grace: Option<Duration>,
    /// Bytes read from a socket at a time; the largest body chunk a handler sees [default: 16384]
    #[arg(long, value_name = "BYTES", help_heading = "Limits")]
    read_chunk_size: Option<usize>,
    /// Request-body chunks queued for a handler before reading pauses [default: 4]
    #[arg(long, value_name = "N", help_heading = "Limits")]
    body_queue_chunks: Option<usize>,
    /// Response bytes held for a slow client [default: 65536]
    #[arg(long, value_name = "BYTES", help_heading = "Limits")]
    write_buffer_size: Option<usize>,
    /// Unread request body discarded to keep a connection alive [default: 262144]
    #[arg(long, value_name = "BYTES", help_heading = "Limits")]
    max_discard_body: Option<u64>,
    /// HTTP/2: request body bytes a stream may send ahead of its handler [default: 262144]
    #[arg(long, value_name = "BYTES", help_heading = "Limits")]
    h2_stream_window: Option<u32>,
    /// HTTP/2: request body bytes a connection may have in flight [default: 1048576]
    #[arg(long, value_name = "BYTES", help_heading = "Limits")]
    h2_connection_window: Option<u32>,
    /// The listen() backlog [default: 1024]
    #[arg(long, value_name = "N", help_heading = "Limits")]
    backlog: Option<u32>,

    /// Number of virtual LEDs [default: 4]
    #[arg(long, value_name = "N")]
    leds: Option<usize>,
    /// Do not register the WebSocket resources
    #[arg(long, overrides_with = "websocket")]
    no_websocket: bool,
    /// Register the WebSocket resources even if a config file says `websocket = false`
    #[arg(long, overrides_with = "no_websocket")]
    websocket: bool,
    /// Serve DIR for every path the sample does not define itself
    #[arg(long, value_name = "DIR")]
    www: Option<PathBuf>,
    /// Log filter (tracing EnvFilter syntax, e.g. "debug" or "info,gust=trace"); without it
    /// RUST_LOG is used [default: info]
    #[arg(long, value_name = "LEVEL")]
    log: Option<String>,
    /// Runtime worker threads [default: one per core]
    #[arg(long, value_name = "N")]
    workers: Option<usize>,
}

impl ServeArgs {
    /// The configuration files, in the order given.
    pub(crate) fn config_files(&self) -> &[PathBuf] {
        &self.config
    }

    /// The flags as a layer over the files.
    fn layer(&self) -> Layer {
        Layer {
            listen: self.listen,
            max_clients: self.max_clients,
            max_streams: self.max_streams,
            client_buffer_size: self.client_buffer_size,
            max_url_length: self.max_url_length,
            max_headers: self.max_headers,
            max_body_size: self.max_body_size,
            inactivity_timeout: self.inactivity_timeout.map(Seconds),
            request_head_timeout: self.request_head_timeout.map(Seconds),
            shutdown_grace: self.shutdown_grace.map(Seconds),
            read_chunk_size: self.read_chunk_size,
            body_queue_chunks: self.body_queue_chunks,
            write_buffer_size: self.write_buffer_size,
            max_discard_body: self.max_discard_body,
            h2_stream_window: self.h2_stream_window,
            h2_connection_window: self.h2_connection_window,
            backlog: self.backlog,
            leds: self.leds,
            websocket: match (self.no_websocket, self.websocket) {
                (true, _) => Some(false),
                (false, true) => Some(true),
                (false, false) => None,
            },
            www: self.www.clone(),
            log: self.log.clone(),
            workers: self.workers,
        }
    }
}

/// One layer of settings: a config file, or the flags. `None` leaves the value below in place.
#[derive(Debug, Default, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Layer {
    listen: Option<SocketAddr>,
    max_clients: Option<usize>,
    max_streams: Option<u32>,
    client_buffer_size: Option<usize>,
    max_url_length: Option<usize>,
    max_headers: Option<usize>,
    max_body_size: Option<u64>,
    inactivity_timeout: Option<Seconds>,
    request_head_timeout: Option<Seconds>,
    shutdown_grace: Option<Seconds>,
    read_chunk_size: Option<usize>,
    body_queue_chunks: Option<usize>,
    write_buffer_size: Option<usize>,
    max_discard_body: Option<u64>,
    h2_stream_window: Option<u32>,
    h2_connection_window: Option<u32>,
    backlog: Option<u32>,
    leds: Option<usize>,
    websocket: Option<bool>,
    www: Option<PathBuf>,
    log: Option<String>,
    workers: Option<usize>,
}

impl Layer {
    /// Puts `upper`'s values over this layer's, key by key.
    fn overlay(&mut self, upper: Layer) {
        macro_rules! take {
            ($($field:ident),* $(,)?) => {
                // Destructuring (not `upper.field`) makes a new key a compile error here until
                // it is merged.
                let Layer { $($field),* } = upper;
                $(if $field.is_some() { self.$field = $field; })*
            };
        }
        take!(
            listen,
            max_clients,
            max_streams,
            client_buffer_size,
            max_url_length,
            max_headers,
            max_body_size,
            inactivity_timeout,
            request_head_timeout,
            shutdown_grace,
            read_chunk_size,
            body_queue_chunks,
            write_buffer_size,
            max_discard_body,
            h2_stream_window,
            h2_connection_window,
            backlog,
            leds,
            websocket,
            www,
            log,
            workers,
        );
    }
}

/// A duration read from TOML: a number of seconds (integer or fraction) or a string with an
/// optional unit (see [`parse_duration`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seconds(Duration);

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SecondsVisitor;

        impl Visitor<'_> for SecondsVisitor {
            type Value = Seconds;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a duration: seconds as a number (30, 0.5) or a string (\"30s\", \"500ms\")",
                )
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Seconds, E> {
                Ok(Seconds(Duration::from_secs(v)))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Seconds, E> {
                u64::try_from(v)
                    .map(|s| Seconds(Duration::from_secs(s)))
                    .map_err(|_| E::custom(format!("a duration cannot be negative, got {v}")))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Seconds, E> {
                seconds_from_f64(v, &v.to_string())
                    .map(Seconds)
                    .map_err(E::custom)
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Seconds, E> {
                parse_duration(v).map(Seconds).map_err(E::custom)
            }
        }

        deserializer.deserialize_any(SecondsVisitor)
    }
}

/// Parses a duration: seconds as a number (`30`, `0.5`), or with a unit suffix, `s` or `ms`
/// (`"2s"`, `"500ms"`, `"1.5s"`). Negative, infinite and absurdly large values are refused.
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    let (number, millis) = match trimmed.strip_suffix("ms") {
        Some(n) => (n.trim_end(), true),
        None => (
            trimmed.strip_suffix('s').unwrap_or(trimmed).trim_end(),
            false,
        ),
    };
    // Whole numbers are converted exactly; fractions go through f64.
    if let Ok(whole) = number.parse::<u64>() {
        return Ok(if millis {
            Duration::from_millis(whole)
        } else {
            Duration::from_secs(whole)
        });
    }
    let value: f64 = number
        .parse()
        .ok()
        .filter(|_| !number.is_empty())
        .ok_or_else(|| {
            format!("{text:?} is not a duration: write seconds (30, 0.5) or add a unit (500ms, 2s)")
        })?;
    seconds_from_f64(if millis { value / 1000.0 } else { value }, text)
}

fn seconds_from_f64(seconds: f64, shown: &str) -> Result<Duration, String> {
    if !seconds.is_finite() || seconds < 0.0 {
        return Err(format!(
            "{shown:?} is not a duration: it must be a finite number, at least 0"
        ));
    }
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("{shown:?} is too long a duration"))
}

/// Parses one configuration file's text. The error names the file, the line and the key.
pub(crate) fn parse_layer(path: &Path, text: &str) -> Result<Layer, Failure> {
    let mut layer: Layer = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|span| {
            1 + text
                .as_bytes()
                .iter()
                .take(span.start)
                .filter(|&&b| b == b'\n')
                .count()
        });
        match line {
            Some(line) => Failure::Usage(format!(
                "config file {}, line {line}: {}",
                path.display(),
                e.message()
            )),
            None => Failure::Usage(format!("config file {}: {}", path.display(), e.message())),
        }
    })?;
    // A relative `www` in a file means relative to that file, so a config and its site can be
    // moved together and the server started from anywhere.
    if let Some(www) = layer.www.take() {
        let base = path.parent().unwrap_or_else(|| Path::new(""));
        layer.www = Some(if www.is_relative() {
            base.join(www)
        } else {
            www
        });
    }
    Ok(layer)
}

/// Reads and parses one configuration file.
pub(crate) fn load_layer(path: &Path) -> Result<Layer, Failure> {
    let text = fs::read_to_string(path)
        .map_err(|e| Failure::Usage(format!("cannot read config file {}: {e}", path.display())))?;
    parse_layer(path, &text)
}

/// Merges the flags over the files (in order) over the defaults, and checks the result.
/// `env_log` is `RUST_LOG`, used when no `--log` flag is given.
pub(crate) fn resolve(
    args: &ServeArgs,
    files: Vec<Layer>,
    env_log: Option<String>,
) -> Result<Settings, Failure> {
    let mut merged = Layer::default();
    for file in files {
        merged.overlay(file);
    }
    let flags = args.layer();
    let log_flag = flags.log.clone();
    merged.overlay(flags);

    let defaults = Limits::default();
    let limits = Limits {
        max_clients: merged.max_clients.unwrap_or(defaults.max_clients),
        max_streams: merged.max_streams.unwrap_or(defaults.max_streams),
        client_buffer_size: merged
            .client_buffer_size
            .unwrap_or(defaults.client_buffer_size),
        max_url_length: merged.max_url_length.unwrap_or(defaults.max_url_length),
        max_headers: merged.max_headers.unwrap_or(defaults.max_headers),
        max_body_size: merged.max_body_size.unwrap_or(defaults.max_body_size),
        inactivity_timeout: merged
            .inactivity_timeout
            .map_or(defaults.inactivity_timeout, |s| s.0),
        request_head_timeout: merged
            .request_head_timeout
            .map_or(defaults.request_head_timeout, |s| s.0),
        shutdown_grace: merged
            .shutdown_grace
            .map_or(defaults.shutdown_grace, |s| s.0),
        read_chunk_size: merged.read_chunk_size.unwrap_or(defaults.read_chunk_size),
        body_queue_chunks: merged
            .body_queue_chunks
            .unwrap_or(defaults.body_queue_chunks),
        write_buffer_size: merged
            .write_buffer_size
            .unwrap_or(defaults.write_buffer_size),
        max_discard_body: merged.max_discard_body.unwrap_or(defaults.max_discard_body),
        h2_stream_window: merged.h2_stream_window.unwrap_or(defaults.h2_stream_window),
        h2_connection_window: merged
            .h2_connection_window
            .unwrap_or(defaults.h2_connection_window),
        backlog: merged.backlog.unwrap_or(defaults.backlog),
    };
    limits
        .validate()
        .map_err(|e| Failure::Usage(e.to_string()))?;

    let leds = merged.leds.unwrap_or(DEFAULT_LEDS);
    if !(1..=MAX_LEDS).contains(&leds) {
        return Err(Failure::Usage(format!(
            "invalid leds: must be 1 to {MAX_LEDS}, got {leds}"
        )));
    }
    if let Some(workers) = merged.workers {
        if !(1..=MAX_WORKERS).contains(&workers) {
            return Err(Failure::Usage(format!(
                "invalid workers: must be 1 to {MAX_WORKERS}, got {workers}"
            )));
        }
    }
    if let Some(dir) = &merged.www {
        check_directory(dir)?;
    }
    // The flag beats RUST_LOG, which beats the files; an empty RUST_LOG counts as unset.
    let log = log_flag
        .or(env_log.filter(|v| !v.trim().is_empty()))
        .or(merged.log)
        .unwrap_or_else(|| DEFAULT_LOG.to_owned());

    Ok(Settings {
        listen: merged.listen.unwrap_or(DEFAULT_LISTEN),
        limits,
        leds,
        websocket: merged.websocket.unwrap_or(true),
        www: merged.www,
        log,
        workers: merged.workers,
    })
}

fn check_directory(dir: &Path) -> Result<(), Failure> {
    match fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(Failure::Usage(format!(
            "www {} is not a directory",
            dir.display()
        ))),
        Err(e) => Err(Failure::Usage(format!("www {}: {e}", dir.display()))),
    }
}

/// Turns a clap error into the sample's one-line form; help and version are not errors.
pub(crate) fn clap_failure(error: &clap::Error) -> Option<Failure> {
    use clap::error::ErrorKind;
    if matches!(
        error.kind(),
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion
    ) {
        return None;
    }
    let rendered = error.render().to_string();
    let first = rendered
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("invalid arguments");
    let message = first.strip_prefix("error: ").unwrap_or(first);
    Some(Failure::Usage(format!("{message} (see --help)")))
}

/// Parses the process's arguments, reads the files and `RUST_LOG`, and resolves the settings.
/// `Ok(None)`: help or version was printed, nothing to run.
pub(crate) fn settings_from_env() -> Result<Option<Settings>, Failure> {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            return match clap_failure(&e) {
                Some(failure) => Err(failure),
                None => {
                    // Printing help can only fail on a closed stdout; nothing to add then.
                    let _ = e.print();
                    Ok(None)
                }
            };
        }
    };
    let args = cli.into_serve_args();
    let files = args
        .config_files()
        .iter()
        .map(|p| load_layer(p))
        .collect::<Result<Vec<_>, _>>()?;
    resolve(&args, files, std::env::var("RUST_LOG").ok()).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn args(argv: &[&str]) -> ServeArgs {
        let mut full = vec!["gust-sample"];
        full.extend_from_slice(argv);
        match Cli::try_parse_from(full) {
            Ok(cli) => cli.into_serve_args(),
            Err(e) => panic!("{e}"),
        }
    }

    fn layer(text: &str) -> Layer {
        match parse_layer(Path::new("/etc/gust/test.toml"), text) {
            Ok(l) => l,
            Err(e) => panic!("{e}"),
        }
    }

    fn usage_message(result: Result<impl fmt::Debug, Failure>) -> String {
        match result {
            Err(Failure::Usage(m)) => m,
            other => panic!("expected a usage error, got {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        let s = resolve(&args(&[]), vec![], None).unwrap();
        assert_eq!(s.listen, "0.0.0.0:8080".parse().unwrap());
        assert_eq!(s.limits, Limits::default());
        assert_eq!(s.leds, 4);
        assert!(s.websocket);
        assert_eq!(s.www, None);
        assert_eq!(s.log, "info");
        assert_eq!(s.workers, None);
    }

    #[test]
    fn serve_subcommand_is_optional() {
        let bare = args(&["--listen", "127.0.0.1:0", "--leds", "2"]);
        let named = args(&["serve", "--listen", "127.0.0.1:0", "--leds", "2"]);
        let a = resolve(&bare, vec![], None).unwrap();
        let b = resolve(&named, vec![], None).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.listen.port(), 0);
        assert_eq!(a.leds, 2);
    }

    #[test]
    fn flags_beat_later_files_beat_earlier_files_beat_defaults() {
        let first = layer(
            "listen = \"127.0.0.1:1000\"\nmax_clients = 10\nmax_streams = 20\nleds = 3\n\
             inactivity_timeout = 5\n",
        );
        let second = layer("max_clients = 11\ninactivity_timeout = \"1500ms\"\n");
        let flags = args(&["--max-streams", "30", "--leds", "8"]);
        let s = resolve(&flags, vec![first, second], None).unwrap();
        // Only in the first file.
        assert_eq!(s.listen, "127.0.0.1:1000".parse().unwrap());
        // The second file overrides the first, key by key.
        assert_eq!(s.limits.max_clients, 11);
        assert_eq!(s.limits.inactivity_timeout, Duration::from_millis(1500));
        // Flags override both.
        assert_eq!(s.limits.max_streams, 30);
        assert_eq!(s.leds, 8);
        // Untouched keys keep the library's defaults.
        assert_eq!(s.limits.backlog, Limits::default().backlog);
    }

    #[test]
    fn log_flag_then_env_then_file() {
        let file = || vec![layer("log = \"warn\"")];
        let s = resolve(&args(&["--log", "debug"]), file(), Some("trace".into())).unwrap();
        assert_eq!(s.log, "debug");
        let s = resolve(&args(&[]), file(), Some("trace".into())).unwrap();
        assert_eq!(s.log, "trace");
        let s = resolve(&args(&[]), file(), Some(String::new())).unwrap();
        assert_eq!(s.log, "warn");
    }

    #[test]
    fn websocket_flags() {
        let off = vec![layer("websocket = false")];
        assert!(!resolve(&args(&[]), off.clone(), None).unwrap().websocket);
        assert!(
            resolve(&args(&["--websocket"]), off, None)
                .unwrap()
                .websocket
        );
        assert!(
            !resolve(&args(&["--no-websocket"]), vec![], None)
                .unwrap()
                .websocket
        );
        // The last of the two flags wins.
        assert!(
            resolve(&args(&["--no-websocket", "--websocket"]), vec![], None)
                .unwrap()
                .websocket
        );
    }

    #[test]
    fn unknown_key_names_key_and_file() {
        let message = usage_message(parse_layer(
            Path::new("/srv/site.toml"),
            "leds = 2\nmax_client = 3\n",
        ));
        assert!(message.contains("max_client"), "{message}");
        assert!(message.contains("/srv/site.toml"), "{message}");
        assert!(message.contains("line 2"), "{message}");
        assert!(!message.contains('\n'), "one line: {message}");
    }

    #[test]
    fn wrong_type_names_file() {
        let message = usage_message(parse_layer(Path::new("a.toml"), "max_clients = \"many\""));
        assert!(message.contains("a.toml"), "{message}");
    }

    #[test]
    fn durations_from_toml() {
        let l = layer(
            "inactivity_timeout = 30\nrequest_head_timeout = 0.5\nshutdown_grace = \"250ms\"\n",
        );
        let s = resolve(&args(&[]), vec![l], None).unwrap();
        assert_eq!(s.limits.inactivity_timeout, Duration::from_secs(30));
        assert_eq!(s.limits.request_head_timeout, Duration::from_millis(500));
        assert_eq!(s.limits.shutdown_grace, Duration::from_millis(250));
        let message = usage_message(parse_layer(Path::new("t.toml"), "shutdown_grace = -1"));
        assert!(message.contains("negative"), "{message}");
    }

    #[test]
    fn duration_syntax() {
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("0.5"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration(" 250 ms "), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        for bad in [
            "", "s", "ms", "-1", "-0.5s", "abc", "1h", "inf", "NaN", "1e400",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn duration_flags() {
        let s = resolve(
            &args(&["--shutdown-grace", "0.5", "--inactivity-timeout", "90s"]),
            vec![],
            None,
        )
        .unwrap();
        assert_eq!(s.limits.shutdown_grace, Duration::from_millis(500));
        assert_eq!(s.limits.inactivity_timeout, Duration::from_secs(90));
        let err = Cli::try_parse_from(["gust-sample", "--shutdown-grace", "soon"]).unwrap_err();
        let message = usage_message(Err::<(), _>(clap_failure(&err).unwrap()));
        assert!(message.contains("--shutdown-grace"), "{message}");
        assert!(!message.contains('\n'), "{message}");
    }

    #[test]
    fn every_limit_has_a_flag() {
        let flags = args(&[
            "--max-clients",
            "1",
            "--max-streams",
            "2",
            "--client-buffer-size",
            "1024",
            "--max-url-length",
            "256",
            "--max-headers",
            "5",
            "--max-body-size",
            "6",
            "--inactivity-timeout",
            "7",
            "--request-head-timeout",
            "8",
            "--shutdown-grace",
            "9",
            "--read-chunk-size",
            "1000",
            "--body-queue-chunks",
            "11",
            "--write-buffer-size",
            "1200",
            "--max-discard-body",
            "13",
            "--h2-stream-window",
            "4096",
            "--h2-connection-window",
            "70000",
            "--backlog",
            "14",
        ]);
        let s = resolve(&flags, vec![], None).unwrap();
        let expected = Limits {
            max_clients: 1,
            max_streams: 2,
            client_buffer_size: 1024,
            max_url_length: 256,
            max_headers: 5,
            max_body_size: 6,
            inactivity_timeout: Duration::from_secs(7),
            request_head_timeout: Duration::from_secs(8),
            shutdown_grace: Duration::from_secs(9),
            read_chunk_size: 1000,
            body_queue_chunks: 11,
            write_buffer_size: 1200,
            max_discard_body: 13,
            h2_stream_window: 4096,
            h2_connection_window: 70_000,
            backlog: 14,
        };
        assert_eq!(s.limits, expected);
    }

    #[test]
    fn invalid_values_are_usage_errors() {
        let m = usage_message(resolve(&args(&["--max-clients", "0"]), vec![], None));
        assert!(m.contains("max_clients"), "{m}");
        let m = usage_message(resolve(
            &args(&["--client-buffer-size", "256", "--max-url-length", "1024"]),
            vec![],
            None,
        ));
        assert!(m.contains("max_url_length"), "{m}");
        let m = usage_message(resolve(&args(&["--leds", "0"]), vec![], None));
        assert!(m.contains("leds"), "{m}");
        let m = usage_message(resolve(&args(&["--workers", "0"]), vec![], None));
        assert!(m.contains("workers"), "{m}");
    }

    #[test]
    fn www_must_be_a_directory() {
        let dir = std::env::temp_dir();
        let s = resolve(&args(&["--www", &dir.to_string_lossy()]), vec![], None).unwrap();
        assert_eq!(s.www.as_deref(), Some(dir.as_path()));
        let m = usage_message(resolve(
            &args(&["--www", "/no/such/dir/for/gust"]),
            vec![],
            None,
        ));
        assert!(m.contains("/no/such/dir/for/gust"), "{m}");
        let file = std::env::current_exe().unwrap();
        let m = usage_message(resolve(
            &args(&["--www", &file.to_string_lossy()]),
            vec![],
            None,
        ));
        assert!(m.contains("not a directory"), "{m}");
    }

    #[test]
    fn relative_www_in_a_file_is_relative_to_the_file() {
        let l = parse_layer(Path::new("/etc/gust/site.toml"), "www = \"public\"").unwrap();
        assert_eq!(l.www.as_deref(), Some(Path::new("/etc/gust/public")));
        let l = parse_layer(Path::new("site.toml"), "www = \"/srv/www\"").unwrap();
        assert_eq!(l.www.as_deref(), Some(Path::new("/srv/www")));
    }

    #[test]
    fn example_config_lists_every_key_with_its_default() {
        // Uncomment every `# key = value` line of the shipped example.
        let text: String = include_str!("../config/example.toml")
            .lines()
            .filter_map(|l| l.strip_prefix("# "))
            .filter(|l| l.split_once(" = ").is_some_and(|(k, _)| !k.contains(' ')))
            .map(|l| format!("{l}\n"))
            .collect();
        let mut example = layer(&text);
        // Every key is there: a key missing from the example stays None.
        let debug = format!("{example:?}");
        assert!(
            !debug.contains("None"),
            "example.toml misses a key: {debug}"
        );
        // `www` and `workers` have no default value; the example shows a typical one.
        example.www = None;
        example.workers = None;
        let from_example = resolve(&args(&[]), vec![example], None).unwrap();
        assert_eq!(from_example, resolve(&args(&[]), vec![], None).unwrap());
    }

    #[test]
    fn small_device_overlay_is_valid() {
        let overlay = layer(include_str!("../config/overlay-small-device.toml"));
        let s = resolve(&args(&[]), vec![overlay], None).unwrap();
        assert_eq!(s.limits.max_clients, 3);
        assert_eq!(s.limits.max_streams, 10);
        assert_eq!(s.limits.max_url_length, 256);
        assert_eq!(s.limits.client_buffer_size, 1024);
    }

    #[test]
    fn unknown_flag_is_one_line() {
        let err = Cli::try_parse_from(["gust-sample", "--bogus"]).unwrap_err();
        let m = usage_message(Err::<(), _>(clap_failure(&err).unwrap()));
        assert!(m.contains("--bogus"), "{m}");
        assert!(!m.contains('\n'), "{m}");
    }

    #[test]
    fn help_states_the_library_defaults() {
        // The help text writes defaults literally; this catches drift from gust's config.rs.
        let help = Cli::command().render_long_help().to_string();
        let d = Limits::default();
        for (flag, default) in [
            ("max-clients", d.max_clients.to_string()),
            ("max-streams", d.max_streams.to_string()),
            ("client-buffer-size", d.client_buffer_size.to_string()),
            ("max-url-length", d.max_url_length.to_string()),
            ("max-headers", d.max_headers.to_string()),
            ("max-body-size", d.max_body_size.to_string()),
            (
                "inactivity-timeout",
                format!("{}s", d.inactivity_timeout.as_secs_f64()),
            ),
            (
                "request-head-timeout",
                format!("{}s", d.request_head_timeout.as_secs_f64()),
            ),
            (
                "shutdown-grace",
                format!("{}s", d.shutdown_grace.as_secs_f64()),
            ),
            ("read-chunk-size", d.read_chunk_size.to_string()),
            ("body-queue-chunks", d.body_queue_chunks.to_string()),
            ("write-buffer-size", d.write_buffer_size.to_string()),
            ("max-discard-body", d.max_discard_body.to_string()),
            ("h2-stream-window", d.h2_stream_window.to_string()),
            ("h2-connection-window", d.h2_connection_window.to_string()),
            ("backlog", d.backlog.to_string()),
        ] {
            let start = help
                .find(&format!("--{flag} "))
                .unwrap_or_else(|| panic!("--{flag}"));
            let section = &help[start..];
            let end = section[2..].find("\n  -").map_or(section.len(), |i| i + 2);
            assert!(
                section[..end].contains(&format!("[default: {default}]")),
                "--{flag} should state [default: {default}]: {}",
                &section[..end]
            );
        }
    }
}
