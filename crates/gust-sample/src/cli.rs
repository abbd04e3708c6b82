//! The command line and the configuration files, merged into one [`Settings`].
//!
//! Precedence, key by key: command-line flags, then the `--config` files (a later file over an
//! earlier one), then the defaults (gust's [`Limits::default`] for the limits). The log filter
//! has one more layer: `RUST_LOG` sits between the flag and the files, as an environment
//! variable usually does.
//!
//! TOML keys are the flag names with underscores; a relative path in a file (`www`, `cert`,
//! `key`, `client_ca`, `cert_dir`) is relative to that file's directory. Durations are seconds, written as a number
//! (`30`, `0.5`) or a string with an optional unit (`"30s"`, `"500ms"`, `"0.5"`); the flags take
//! the same strings.

use std::fmt;
use std::fs;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use gust::tls::DEFAULT_HANDSHAKE_TIMEOUT;
use gust::Limits;
use serde::de::{self, Deserializer, Visitor};
use serde::Deserialize;

use crate::cert;
use crate::Failure;

/// The default listen address: every IPv4 address, port 8080.
pub(crate) const DEFAULT_LISTEN: SocketAddr = SocketAddr::V4(std::net::SocketAddrV4::new(
    std::net::Ipv4Addr::UNSPECIFIED,
    8080,
));
/// The default HTTPS listen address: every IPv4 address, port 8443.
pub(crate) const DEFAULT_TLS_LISTEN: SocketAddr = SocketAddr::V4(std::net::SocketAddrV4::new(
    std::net::Ipv4Addr::UNSPECIFIED,
    8443,
));
/// Where the development CA and server certificate live when no certificate is given.
pub(crate) const DEFAULT_CERT_DIR: &str = "./gust-dev-certs";
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
/// Milliseconds between two statistics messages: the original's
/// NET_SAMPLE_WEBSOCKET_STATS_INTERVAL.
pub(crate) const DEFAULT_STATS_INTERVAL_MS: u64 = 200;
/// Memory for small `www` files kept between requests (gust's `FsResource::cache` default).
pub(crate) const DEFAULT_WWW_CACHE_BYTES: usize = 1024 * 1024;
/// How long a kept `www` file is trusted (gust's default).
pub(crate) const DEFAULT_WWW_CACHE_VALIDITY: Duration = Duration::from_secs(1);
/// The longest statistics interval accepted: an hour.
pub(crate) const MAX_STATS_INTERVAL_MS: u64 = 3_600_000;

/// Everything the sample needs to run, after flags, files and defaults are merged and checked.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Settings {
    /// Where the service listens (port 0: any free port).
    pub(crate) listen: SocketAddr,
    /// The service's limits, checked by [`Limits::validate`].
    pub(crate) limits: Limits,
    /// Number of virtual LEDs (at least 1).
    pub(crate) leds: usize,
    /// Time between two statistics messages on the `/` WebSocket.
    pub(crate) stats_interval: Duration,
    /// Whether the WebSocket resources (`/` statistics, `/ws_echo`) are registered.
    pub(crate) websocket: bool,
    /// A directory served for every path the sample does not define itself.
    pub(crate) www: Option<PathBuf>,
    /// Memory for small files of `www` kept between requests (0: none).
    pub(crate) www_cache_bytes: usize,
    /// How long a kept file is served before the file system is asked again.
    pub(crate) www_cache_validity: Duration,
    /// The tracing-subscriber `EnvFilter` directive.
    pub(crate) log: String,
    /// Runtime worker threads; `None`: one per core.
    pub(crate) workers: Option<usize>,
    /// The HTTPS listener; `None`: plain HTTP only (`--no-tls`, `tls = false`).
    pub(crate) tls: Option<TlsSettings>,
}

/// The HTTPS listener's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TlsSettings {
    /// Where HTTPS listens (port 0: any free port).
    pub(crate) listen: SocketAddr,
    /// The certificate chain to serve, PEM, the server's certificate first. For
    /// [`CertSource::Development`] it is `cert_dir/server.pem` and may not exist yet.
    pub(crate) cert: PathBuf,
    /// The private key of `cert`, PEM. For [`CertSource::Development`] it is
    /// `cert_dir/server-key.pem` and may not exist yet.
    pub(crate) key: PathBuf,
    /// Client certificates must be signed by a CA in this PEM file (mutual TLS).
    pub(crate) client_ca: Option<PathBuf>,
    /// How long a client may take to finish its handshake.
    pub(crate) handshake_timeout: Duration,
    /// Where `cert` and `key` come from.
    pub(crate) source: CertSource,
}

/// Where the HTTPS certificate and key come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CertSource {
    /// `--cert` and `--key` (or the `cert` and `key` keys): checked to be files, used as given.
    User,
    /// Neither was given: the development certificate in `cert_dir`, which
    /// [`cert::ensure_dev_certs`] creates (with its CA) on the first start.
    Development {
        /// `--cert-dir`, `cert_dir`, or [`DEFAULT_CERT_DIR`].
        cert_dir: PathBuf,
    },
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Action {
    /// Serve with these settings (`serve`, named or not).
    Serve(Box<Settings>),
    /// Make certificates (`cert ca`, `cert server`).
    Cert(CertCommand),
    /// Help or version was printed: nothing to run.
    Exit,
}

/// `gust-sample [serve] [OPTIONS]` or `gust-sample cert (ca|server) [OPTIONS]`.
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
    Serve(Box<ServeArgs>),
    /// Make development certificates: a local CA, and server certificates it signs.
    // A bare `cert` is a one-line error naming the subcommands, not a page of help.
    #[command(subcommand, subcommand_required = true, arg_required_else_help = false)]
    Cert(CertCommand),
}

/// `gust-sample cert ...`: development certificates (see the `cert` module).
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
#[command(after_help = "Example:\n  gust-sample cert ca --out certs/ca\n  \
                  gust-sample cert server --ca certs/ca --out certs/server --name device.local\n  \
                  curl --cacert certs/ca/ca.pem https://device.local:8443/")]
pub(crate) enum CertCommand {
    /// Make a development CA in DIR: ca.pem and ca.der (the certificate to trust), ca-key.pem
    /// (its private key, mode 0600)
    Ca {
        /// Directory to write to; created if missing
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Overwrite existing files
        #[arg(long)]
        force: bool,
    },
    /// Make a server certificate signed by a development CA, valid for a year, in DIR:
    /// server.pem (the certificate, then the CA's), server.der (the certificate alone),
    /// server-key.pem (its private key, mode 0600)
    Server {
        /// Directory holding the CA's ca.pem and ca-key.pem (made by `cert ca`)
        #[arg(long, value_name = "DIR")]
        ca: PathBuf,
        /// Directory to write to; created if missing
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// A DNS name the certificate is valid for; repeat for more. Wildcards: "*.example.test"
        /// [default, with no --name and no --ip: localhost, 127.0.0.1 and ::1]
        #[arg(long = "name", value_name = "NAME")]
        names: Vec<String>,
        /// An IP address the certificate is valid for; repeat for more
        #[arg(long = "ip", value_name = "IP")]
        ips: Vec<IpAddr>,
        /// Overwrite existing files
        #[arg(long)]
        force: bool,
    },
}

impl CertCommand {
    /// Fills in what the user left out: a server certificate with neither a name nor an
    /// address is for this machine (`localhost`, `127.0.0.1`, `::1`).
    fn with_defaults(mut self) -> CertCommand {
        if let CertCommand::Server { names, ips, .. } = &mut self {
            if names.is_empty() && ips.is_empty() {
                *names = cert::DEFAULT_NAMES.map(String::from).to_vec();
                *ips = cert::DEFAULT_IPS.to_vec();
            }
        }
        self
    }
}

/// The command to run, parsed but not yet resolved.
#[derive(Debug)]
enum Run {
    Serve(Box<ServeArgs>),
    Cert(CertCommand),
}

impl Cli {
    /// The command that runs: `serve` (named or not) with its options, or `cert`.
    fn into_run(self) -> Run {
        match self.command {
            Some(Command::Serve(args)) => Run::Serve(args),
            Some(Command::Cert(command)) => Run::Cert(command.with_defaults()),
            None => Run::Serve(Box::new(self.serve)),
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

    /// Concurrent connections; past it the longest idle one is closed to make room, or with
    /// none idle the next one waits in the backlog [default: 1024]
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
    /// Response bytes held for a slow client; also caps one read of a --www file [default: 65536]
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
    /// Concurrent WebSocket sessions; past it the opening gets 503 [default: 64]
    #[arg(long, value_name = "N", help_heading = "Limits")]
    max_websockets: Option<usize>,
    /// Bytes of one WebSocket message; past it close 1009 [default: 16777216]
    #[arg(long, value_name = "BYTES", help_heading = "Limits")]
    ws_max_message_size: Option<usize>,
    /// Bytes of one WebSocket frame; past it close 1009 [default: 16777216]
    #[arg(long, value_name = "BYTES", help_heading = "Limits")]
    ws_max_frame_size: Option<usize>,
    /// A WebSocket peer silent this long is pinged; 0 never pings [default: 30s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, help_heading = "Limits")]
    ws_ping_interval: Option<Duration>,
    /// A WebSocket peer silent this long is closed with 1001 [default: 60s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, help_heading = "Limits")]
    ws_idle_timeout: Option<Duration>,

    /// Number of virtual LEDs [default: 4]
    #[arg(long, value_name = "N")]
    leds: Option<usize>,
    /// Milliseconds between two statistics messages on the `/` WebSocket [default: 200]
    #[arg(long, value_name = "MS")]
    stats_interval_ms: Option<u64>,
    /// Do not register the WebSocket resources
    #[arg(long, overrides_with = "websocket")]
    no_websocket: bool,
    /// Register the WebSocket resources even if a config file says `websocket = false`
    #[arg(long, overrides_with = "no_websocket")]
    websocket: bool,
    /// Serve DIR for every path the sample does not define itself
    #[arg(long, value_name = "DIR")]
    www: Option<PathBuf>,
    /// Bytes of small --www files kept in memory between requests; 0 keeps none [default: 1048576]
    #[arg(long, value_name = "BYTES")]
    www_cache_bytes: Option<usize>,
    /// A kept --www file is served this long before the file system is asked again; 0 keeps
    /// none [default: 1s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    www_cache_validity: Option<Duration>,
    /// Log filter (tracing EnvFilter syntax, e.g. "debug" or "info,gust=trace"); without it
    /// RUST_LOG is used [default: info]
    #[arg(long, value_name = "LEVEL")]
    log: Option<String>,
    /// Runtime worker threads [default: one per core]
    #[arg(long, value_name = "N")]
    workers: Option<usize>,

    /// Address and port of the HTTPS listener; port 0 picks a free port [default: 0.0.0.0:8443]
    #[arg(long, value_name = "ADDR:PORT", help_heading = "HTTPS")]
    tls_listen: Option<SocketAddr>,
    /// Certificate chain to serve (PEM, the server's certificate first); needs --key. Without
    /// --cert and --key, a development certificate from --cert-dir is used
    #[arg(long, value_name = "FILE", help_heading = "HTTPS")]
    cert: Option<PathBuf>,
    /// Private key of --cert (PEM); needs --cert
    #[arg(long, value_name = "FILE", help_heading = "HTTPS")]
    key: Option<PathBuf>,
    /// Require client certificates signed by a CA in FILE (PEM): mutual TLS
    #[arg(long, value_name = "FILE", help_heading = "HTTPS")]
    client_ca: Option<PathBuf>,
    /// Time a client has to finish its TLS handshake; past it the connection is dropped
    /// [default: 10s]
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, help_heading = "HTTPS")]
    tls_handshake_timeout: Option<Duration>,
    /// Serve plain HTTP only: no HTTPS listener
    #[arg(long, overrides_with = "tls", help_heading = "HTTPS")]
    no_tls: bool,
    /// Serve HTTPS even if a config file says `tls = false`
    #[arg(long, overrides_with = "no_tls", help_heading = "HTTPS")]
    tls: bool,
    /// Without --cert/--key: where the first start creates a development CA (ca.pem, to
    /// trust) and a server certificate for localhost, 127.0.0.1 and ::1
    /// [default: ./gust-dev-certs]
    #[arg(long, value_name = "DIR", help_heading = "HTTPS")]
    cert_dir: Option<PathBuf>,
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
            max_websockets: self.max_websockets,
            ws_max_message_size: self.ws_max_message_size,
            ws_max_frame_size: self.ws_max_frame_size,
            ws_ping_interval: self.ws_ping_interval.map(Seconds),
            ws_idle_timeout: self.ws_idle_timeout.map(Seconds),
            leds: self.leds,
            stats_interval_ms: self.stats_interval_ms,
            websocket: match (self.no_websocket, self.websocket) {
                (true, _) => Some(false),
                (false, true) => Some(true),
                (false, false) => None,
            },
            www: self.www.clone(),
            www_cache_bytes: self.www_cache_bytes,
            www_cache_validity: self.www_cache_validity.map(Seconds),
            log: self.log.clone(),
            workers: self.workers,
            tls: match (self.no_tls, self.tls) {
                (true, _) => Some(false),
                (false, true) => Some(true),
                (false, false) => None,
            },
            tls_listen: self.tls_listen,
            cert: self.cert.clone(),
            key: self.key.clone(),
            client_ca: self.client_ca.clone(),
            tls_handshake_timeout: self.tls_handshake_timeout.map(Seconds),
            cert_dir: self.cert_dir.clone(),
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
    max_websockets: Option<usize>,
    ws_max_message_size: Option<usize>,
    ws_max_frame_size: Option<usize>,
    ws_ping_interval: Option<Seconds>,
    ws_idle_timeout: Option<Seconds>,
    leds: Option<usize>,
    stats_interval_ms: Option<u64>,
    websocket: Option<bool>,
    www: Option<PathBuf>,
    www_cache_bytes: Option<usize>,
    www_cache_validity: Option<Seconds>,
    log: Option<String>,
    workers: Option<usize>,
    tls: Option<bool>,
    tls_listen: Option<SocketAddr>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    client_ca: Option<PathBuf>,
    tls_handshake_timeout: Option<Seconds>,
    cert_dir: Option<PathBuf>,
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
            max_websockets,
            ws_max_message_size,
            ws_max_frame_size,
            ws_ping_interval,
            ws_idle_timeout,
            leds,
            stats_interval_ms,
            websocket,
            www,
            www_cache_bytes,
            www_cache_validity,
            log,
            workers,
            tls,
            tls_listen,
            cert,
            key,
            client_ca,
            tls_handshake_timeout,
            cert_dir,
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
    // A relative path in a file means relative to that file, so a config and its site or
    // certificates can be moved together and the server started from anywhere.
    let base = path.parent().unwrap_or_else(|| Path::new(""));
    for value in [
        &mut layer.www,
        &mut layer.cert,
        &mut layer.key,
        &mut layer.client_ca,
        &mut layer.cert_dir,
    ] {
        if let Some(relative) = value.take_if(|p| p.is_relative()) {
            *value = Some(base.join(relative));
        }
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
        max_websockets: merged.max_websockets.unwrap_or(defaults.max_websockets),
        ws_max_message_size: merged
            .ws_max_message_size
            .unwrap_or(defaults.ws_max_message_size),
        ws_max_frame_size: merged
            .ws_max_frame_size
            .unwrap_or(defaults.ws_max_frame_size),
        ws_ping_interval: merged
            .ws_ping_interval
            .map_or(defaults.ws_ping_interval, |s| s.0),
        ws_idle_timeout: merged
            .ws_idle_timeout
            .map_or(defaults.ws_idle_timeout, |s| s.0),
    };
    limits
        .validate()
        .map_err(|e| Failure::Usage(e.to_string()))?;

    let stats_interval_ms = merged
        .stats_interval_ms
        .unwrap_or(DEFAULT_STATS_INTERVAL_MS);
    if !(1..=MAX_STATS_INTERVAL_MS).contains(&stats_interval_ms) {
        return Err(Failure::Usage(format!(
            "invalid stats_interval_ms: must be 1 to {MAX_STATS_INTERVAL_MS}, got {stats_interval_ms}"
        )));
    }
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
        .or(merged.log.clone())
        .unwrap_or_else(|| DEFAULT_LOG.to_owned());
    let listen = merged.listen.unwrap_or(DEFAULT_LISTEN);
    let tls = resolve_tls(&merged, listen)?;

    Ok(Settings {
        listen,
        limits,
        leds,
        stats_interval: Duration::from_millis(stats_interval_ms),
        websocket: merged.websocket.unwrap_or(true),
        www: merged.www,
        www_cache_bytes: merged.www_cache_bytes.unwrap_or(DEFAULT_WWW_CACHE_BYTES),
        www_cache_validity: merged
            .www_cache_validity
            .map_or(DEFAULT_WWW_CACHE_VALIDITY, |s| s.0),
        log,
        workers: merged.workers,
        tls,
    })
}

/// The HTTPS settings, `None` when TLS is off. A certificate comes with its key or not at all;
/// with neither, the development certificate in `cert_dir` is used.
fn resolve_tls(merged: &Layer, listen: SocketAddr) -> Result<Option<TlsSettings>, Failure> {
    if merged.tls == Some(false) {
        return Ok(None);
    }
    let tls_listen = merged.tls_listen.unwrap_or(DEFAULT_TLS_LISTEN);
    if may_clash(listen, tls_listen) {
        return Err(Failure::Usage(format!(
            "listen {listen} and tls_listen {tls_listen} use the same port: give --tls-listen \
             another port, or --no-tls"
        )));
    }
    let (cert, key, source) = match (&merged.cert, &merged.key) {
        (Some(cert), Some(key)) => {
            check_file("cert", cert)?;
            check_file("key", key)?;
            (cert.clone(), key.clone(), CertSource::User)
        }
        (None, None) => {
            let dir = merged
                .cert_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from(DEFAULT_CERT_DIR));
            (
                dir.join(cert::SERVER_CHAIN_PEM),
                dir.join(cert::SERVER_KEY_PEM),
                CertSource::Development { cert_dir: dir },
            )
        }
        (Some(cert), None) => {
            return Err(Failure::Usage(format!(
                "--cert {} needs --key (config keys cert and key): give both, or neither to use \
                 the development certificate in --cert-dir",
                cert.display()
            )))
        }
        (None, Some(key)) => {
            return Err(Failure::Usage(format!(
                "--key {} needs --cert (config keys cert and key): give both, or neither to use \
                 the development certificate in --cert-dir",
                key.display()
            )))
        }
    };
    if let Some(client_ca) = &merged.client_ca {
        check_file("client_ca", client_ca)?;
    }
    let handshake_timeout = merged
        .tls_handshake_timeout
        .map_or(DEFAULT_HANDSHAKE_TIMEOUT, |s| s.0);
    if handshake_timeout.is_zero() {
        return Err(Failure::Usage(
            "invalid tls_handshake_timeout: must be more than zero".into(),
        ));
    }
    Ok(Some(TlsSettings {
        listen: tls_listen,
        cert,
        key,
        client_ca: merged.client_ca.clone(),
        handshake_timeout,
        source,
    }))
}

/// Whether two listen addresses would fight over one port: the same fixed port, on the same
/// address or where one of them is a wildcard covering the other (`[::]` may cover IPv4 too).
fn may_clash(a: SocketAddr, b: SocketAddr) -> bool {
    if a.port() == 0 || a.port() != b.port() {
        return false;
    }
    let (x, y) = (a.ip(), b.ip());
    let same_family = x.is_ipv4() == y.is_ipv4();
    x == y
        || (same_family && (x.is_unspecified() || y.is_unspecified()))
        || (x.is_ipv6() && x.is_unspecified())
        || (y.is_ipv6() && y.is_unspecified())
}

fn check_file(key: &str, path: &Path) -> Result<(), Failure> {
    match fs::metadata(path) {
        Ok(meta) if meta.is_file() => Ok(()),
        Ok(_) => Err(Failure::Usage(format!(
            "{key} {} is not a file",
            path.display()
        ))),
        Err(e) => Err(Failure::Usage(format!("{key} {}: {e}", path.display()))),
    }
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
    let mut lines = rendered.lines().skip_while(|l| l.trim().is_empty());
    let first = lines.next().unwrap_or("invalid arguments");
    let mut message = first.strip_prefix("error: ").unwrap_or(first).to_owned();
    // "the following required arguments were not provided:" lists them on indented lines.
    if message.ends_with(':') {
        for item in lines.take_while(|l| l.starts_with(' ') && !l.trim().is_empty()) {
            message.push(' ');
            message.push_str(item.trim());
        }
    }
    Some(Failure::Usage(format!("{message} (see --help)")))
}

/// Parses the process's arguments and, to serve, reads the files and `RUST_LOG` and resolves
/// the settings.
pub(crate) fn action_from_env() -> Result<Action, Failure> {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            return match clap_failure(&e) {
                Some(failure) => Err(failure),
                None => {
                    // Printing help can only fail on a closed stdout; nothing to add then.
                    let _ = e.print();
                    Ok(Action::Exit)
                }
            };
        }
    };
    let args = match cli.into_run() {
        Run::Serve(args) => args,
        Run::Cert(command) => return Ok(Action::Cert(command)),
    };
    let files = args
        .config_files()
        .iter()
        .map(|p| load_layer(p))
        .collect::<Result<Vec<_>, _>>()?;
    resolve(&args, files, std::env::var("RUST_LOG").ok()).map(|s| Action::Serve(Box::new(s)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn args(argv: &[&str]) -> ServeArgs {
        let mut full = vec!["gust-sample"];
        full.extend_from_slice(argv);
        match Cli::try_parse_from(full).map(Cli::into_run) {
            Ok(Run::Serve(args)) => *args,
            Ok(other) => panic!("not serve: {other:?}"),
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
            "--max-websockets",
            "15",
            "--ws-max-message-size",
            "1600",
            "--ws-max-frame-size",
            "1700",
            "--ws-ping-interval",
            "18s",
            "--ws-idle-timeout",
            "19",
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
            max_websockets: 15,
            ws_max_message_size: 1600,
            ws_max_frame_size: 1700,
            ws_ping_interval: Duration::from_secs(18),
            ws_idle_timeout: Duration::from_secs(19),
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
        // `www`, `workers`, `cert`, `key` and `client_ca` have no default value; the example
        // shows a typical one.
        example.www = None;
        example.workers = None;
        example.cert = None;
        example.key = None;
        example.client_ca = None;
        // The default cert_dir is relative to the current directory, a file's to the file.
        assert_eq!(
            example.cert_dir.as_deref(),
            Some(Path::new("/etc/gust/./gust-dev-certs"))
        );
        example.cert_dir = None;
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
        assert_eq!(s.www_cache_bytes, 16384);
    }

    #[test]
    fn www_cache_from_flags_and_files() {
        let s = resolve(&args(&[]), vec![], None).unwrap();
        assert_eq!(s.www_cache_bytes, DEFAULT_WWW_CACHE_BYTES);
        assert_eq!(s.www_cache_validity, DEFAULT_WWW_CACHE_VALIDITY);
        let file = layer("www_cache_bytes = 0\nwww_cache_validity = \"250ms\"\n");
        let s = resolve(&args(&[]), vec![file.clone()], None).unwrap();
        assert_eq!(s.www_cache_bytes, 0);
        assert_eq!(s.www_cache_validity, Duration::from_millis(250));
        let flags = args(&["--www-cache-bytes", "4096", "--www-cache-validity", "2s"]);
        let s = resolve(&flags, vec![file], None).unwrap();
        assert_eq!(s.www_cache_bytes, 4096);
        assert_eq!(s.www_cache_validity, Duration::from_secs(2));
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
            ("max-websockets", d.max_websockets.to_string()),
            ("ws-max-message-size", d.ws_max_message_size.to_string()),
            ("ws-max-frame-size", d.ws_max_frame_size.to_string()),
            (
                "ws-ping-interval",
                format!("{}s", d.ws_ping_interval.as_secs_f64()),
            ),
            (
                "ws-idle-timeout",
                format!("{}s", d.ws_idle_timeout.as_secs_f64()),
            ),
            (
                "tls-handshake-timeout",
                format!("{}s", DEFAULT_HANDSHAKE_TIMEOUT.as_secs_f64()),
            ),
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

    fn tls(settings: &Settings) -> &TlsSettings {
        settings.tls.as_ref().expect("TLS is on")
    }

    /// A directory with empty `server.pem`, `server-key.pem` and `clients.pem` files.
    fn cert_files() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for name in ["server.pem", "server-key.pem", "clients.pem"] {
            fs::write(dir.path().join(name), "").unwrap();
        }
        dir
    }

    fn cert_command(argv: &[&str]) -> CertCommand {
        let mut full = vec!["gust-sample", "cert"];
        full.extend_from_slice(argv);
        match Cli::try_parse_from(full).map(Cli::into_run) {
            Ok(Run::Cert(command)) => command,
            Ok(other) => panic!("not cert: {other:?}"),
            Err(e) => panic!("{e}"),
        }
    }

    fn parse_failure(argv: &[&str]) -> String {
        let err = Cli::try_parse_from(argv).unwrap_err();
        usage_message(Err::<(), _>(
            clap_failure(&err).expect("an error, not help"),
        ))
    }

    #[test]
    fn tls_defaults_to_the_development_certificate() {
        let s = resolve(&args(&[]), vec![], None).unwrap();
        let dir = PathBuf::from("./gust-dev-certs");
        assert_eq!(
            s.tls,
            Some(TlsSettings {
                listen: "0.0.0.0:8443".parse().unwrap(),
                cert: dir.join("server.pem"),
                key: dir.join("server-key.pem"),
                client_ca: None,
                handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
                source: CertSource::Development { cert_dir: dir },
            })
        );
        let s = resolve(&args(&["--cert-dir", "/var/lib/gust"]), vec![], None).unwrap();
        assert_eq!(tls(&s).cert, Path::new("/var/lib/gust/server.pem"));
        assert_eq!(tls(&s).key, Path::new("/var/lib/gust/server-key.pem"));
        assert_eq!(
            tls(&s).source,
            CertSource::Development {
                cert_dir: "/var/lib/gust".into()
            }
        );
    }

    #[test]
    fn tls_flags() {
        let off = vec![layer("tls = false")];
        assert_eq!(resolve(&args(&[]), off.clone(), None).unwrap().tls, None);
        assert!(resolve(&args(&["--tls"]), off, None).unwrap().tls.is_some());
        assert_eq!(
            resolve(&args(&["--no-tls"]), vec![], None).unwrap().tls,
            None
        );
        // The last of the two flags wins.
        assert!(resolve(&args(&["--no-tls", "--tls"]), vec![], None)
            .unwrap()
            .tls
            .is_some());
        assert_eq!(
            resolve(&args(&["--tls", "--no-tls"]), vec![], None)
                .unwrap()
                .tls,
            None
        );
        // Off means off: half a certificate pair is not an error then.
        let s = resolve(&args(&["--no-tls", "--cert", "/nowhere"]), vec![], None).unwrap();
        assert_eq!(s.tls, None);
    }

    #[test]
    fn tls_flags_beat_files_beat_defaults() {
        let dir = cert_files();
        let config = dir.path().join("site.toml");
        fs::write(
            &config,
            "tls_listen = \"127.0.0.1:9443\"\ncert = \"server.pem\"\nkey = \"server-key.pem\"\n\
             client_ca = \"clients.pem\"\ncert_dir = \"dev\"\n",
        )
        .unwrap();
        let file = load_layer(&config).unwrap();
        // Relative paths in a file are relative to the file.
        let s = resolve(&args(&[]), vec![file.clone()], None).unwrap();
        let expected = TlsSettings {
            listen: "127.0.0.1:9443".parse().unwrap(),
            cert: dir.path().join("server.pem"),
            key: dir.path().join("server-key.pem"),
            client_ca: Some(dir.path().join("clients.pem")),
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            source: CertSource::User,
        };
        assert_eq!(tls(&s), &expected);
        assert_eq!(file.cert_dir, Some(dir.path().join("dev")));

        // Flags win, key by key; a flag's relative path stays relative to the current directory.
        let other = dir.path().join("other.pem");
        fs::write(&other, "").unwrap();
        let other = other.to_str().unwrap();
        let s = resolve(
            &args(&["--tls-listen", "[::1]:0", "--cert", other]),
            vec![file.clone()],
            None,
        )
        .unwrap();
        assert_eq!(tls(&s).listen, "[::1]:0".parse().unwrap());
        assert_eq!(tls(&s).cert, Path::new(other));
        assert_eq!(tls(&s).key, expected.key);
        let later = layer("tls_listen = \"127.0.0.1:10443\"");
        let s = resolve(&args(&[]), vec![file, later], None).unwrap();
        assert_eq!(tls(&s).listen, "127.0.0.1:10443".parse().unwrap());
    }

    #[test]
    fn tls_handshake_timeout_from_a_file_or_a_flag() {
        let file = layer("tls_handshake_timeout = 3");
        let s = resolve(&args(&[]), vec![file.clone()], None).unwrap();
        assert_eq!(tls(&s).handshake_timeout, Duration::from_secs(3));
        let s = resolve(
            &args(&["--tls-handshake-timeout", "500ms"]),
            vec![file],
            None,
        )
        .unwrap();
        assert_eq!(tls(&s).handshake_timeout, Duration::from_millis(500));
        let m = usage_message(resolve(
            &args(&["--tls-handshake-timeout", "0"]),
            vec![],
            None,
        ));
        assert!(m.contains("tls_handshake_timeout"), "{m}");
    }

    #[test]
    fn cert_and_key_go_together() {
        let dir = cert_files();
        let cert = dir.path().join("server.pem");
        let key = dir.path().join("server-key.pem");
        for flags in [
            ["--cert", cert.to_str().unwrap()],
            ["--key", key.to_str().unwrap()],
        ] {
            let m = usage_message(resolve(&args(&flags), vec![], None));
            assert!(m.contains("--cert") && m.contains("--key"), "{m}");
            assert!(!m.contains('\n'), "{m}");
        }
        // One from a file, the other from a flag: a pair.
        let file = layer(&format!("key = {:?}", key.to_str().unwrap()));
        let s = resolve(&args(&["--cert", cert.to_str().unwrap()]), vec![file], None).unwrap();
        assert_eq!(tls(&s).source, CertSource::User);
        assert_eq!(tls(&s).key, key);
    }

    #[test]
    fn tls_files_must_exist() {
        let dir = cert_files();
        let key = dir.path().join("server-key.pem");
        let key = key.to_str().unwrap();
        let m = usage_message(resolve(
            &args(&["--cert", "/no/such/gust.pem", "--key", key]),
            vec![],
            None,
        ));
        assert!(m.contains("/no/such/gust.pem"), "{m}");
        let directory = dir.path().to_str().unwrap();
        let m = usage_message(resolve(
            &args(&["--cert", directory, "--key", key]),
            vec![],
            None,
        ));
        assert!(m.contains("not a file"), "{m}");
        let m = usage_message(resolve(
            &args(&["--client-ca", "/no/such/ca.pem"]),
            vec![],
            None,
        ));
        assert!(
            m.contains("client_ca") && m.contains("/no/such/ca.pem"),
            "{m}"
        );
        // The development certificate is made at startup, not checked here.
        let s = resolve(&args(&["--cert-dir", "/no/such/dir"]), vec![], None).unwrap();
        assert!(s.tls.is_some());
    }

    #[test]
    fn http_and_https_ports_must_differ() {
        let m = usage_message(resolve(&args(&["--listen", "0.0.0.0:8443"]), vec![], None));
        assert!(m.contains("tls_listen") && m.contains("8443"), "{m}");
        let m = usage_message(resolve(
            &args(&["--listen", "127.0.0.1:9000", "--tls-listen", "[::]:9000"]),
            vec![],
            None,
        ));
        assert!(m.contains("9000"), "{m}");
        for ok in [
            &["--listen", "0.0.0.0:8443", "--no-tls"][..],
            &["--listen", "127.0.0.1:0", "--tls-listen", "127.0.0.1:0"][..],
            &[
                "--listen",
                "127.0.0.1:9000",
                "--tls-listen",
                "127.0.0.2:9000",
            ][..],
            &["--listen", "[::1]:9000", "--tls-listen", "0.0.0.0:9000"][..],
        ] {
            resolve(&args(ok), vec![], None).unwrap_or_else(|e| panic!("{ok:?}: {e}"));
        }
    }

    #[test]
    fn cert_subcommands() {
        assert_eq!(
            cert_command(&["ca", "--out", "certs/ca"]),
            CertCommand::Ca {
                out: "certs/ca".into(),
                force: false
            }
        );
        assert_eq!(
            cert_command(&["ca", "--out", "d", "--force"]),
            CertCommand::Ca {
                out: "d".into(),
                force: true
            }
        );
        // Neither a name nor an address: this machine's.
        assert_eq!(
            cert_command(&["server", "--ca", "a", "--out", "b"]),
            CertCommand::Server {
                ca: "a".into(),
                out: "b".into(),
                names: vec!["localhost".into()],
                ips: vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()],
                force: false,
            }
        );
        // Given ones replace the defaults entirely.
        assert_eq!(
            cert_command(&[
                "server",
                "--ca",
                "a",
                "--out",
                "b",
                "--name",
                "device.local",
                "--name",
                "*.device.local",
                "--force",
            ]),
            CertCommand::Server {
                ca: "a".into(),
                out: "b".into(),
                names: vec!["device.local".into(), "*.device.local".into()],
                ips: vec![],
                force: true,
            }
        );
        match cert_command(&["server", "--ca", "a", "--out", "b", "--ip", "192.0.2.1"]) {
            CertCommand::Server { names, ips, .. } => {
                assert!(names.is_empty());
                assert_eq!(ips, vec!["192.0.2.1".parse::<IpAddr>().unwrap()]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn cert_usage_errors() {
        let m = parse_failure(&["gust-sample", "cert", "server", "--out", "b"]);
        assert!(m.contains("--ca"), "{m}");
        let m = parse_failure(&["gust-sample", "cert", "ca"]);
        assert!(m.contains("--out"), "{m}");
        let m = parse_failure(&[
            "gust-sample",
            "cert",
            "server",
            "--ca",
            "a",
            "--out",
            "b",
            "--ip",
            "x",
        ]);
        assert!(m.contains("--ip") && !m.contains('\n'), "{m}");
        // Serve options do not mix with cert.
        let m = parse_failure(&["gust-sample", "--leds", "3", "cert", "ca", "--out", "d"]);
        assert!(!m.contains('\n'), "{m}");
        let m = parse_failure(&["gust-sample", "cert"]);
        assert!(m.contains("subcommand") && !m.contains('\n'), "{m}");
        let m = parse_failure(&["gust-sample", "cert", "ca", "--out", "d", "--leds", "3"]);
        assert!(m.contains("--leds"), "{m}");
    }

    #[test]
    fn help_states_the_https_defaults() {
        let help = Cli::command().render_long_help().to_string();
        for (flag, default) in [
            ("tls-listen", DEFAULT_TLS_LISTEN.to_string()),
            ("cert-dir", DEFAULT_CERT_DIR.to_owned()),
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
        for flag in ["--cert ", "--key ", "--client-ca ", "--no-tls", "--tls\n"] {
            assert!(help.contains(flag), "{flag:?} missing from help");
        }
    }
}
