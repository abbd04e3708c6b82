//! Every limit a service holds: its default, its unit, and what the client gets past it.
//!
//! These numbers are the security boundary. Each bounds something a peer controls; the
//! worst-case memory of one connection is roughly `client_buffer_size` (request head) plus
//! `body_queue_chunks * read_chunk_size` (request body in flight to the handler) plus
//! `write_buffer_size` (response bytes waiting for the socket).

use std::fmt;
use std::time::Duration;

/// Default for [`Limits::max_clients`]: concurrent connections per service.
pub const DEFAULT_MAX_CLIENTS: usize = 1024;
/// Default for [`Limits::max_streams`]: concurrent HTTP/2 streams per connection.
pub const DEFAULT_MAX_STREAMS: u32 = 100;
/// Default for [`Limits::client_buffer_size`]: bytes of one request head (line + headers).
pub const DEFAULT_CLIENT_BUFFER_SIZE: usize = 16 * 1024;
/// Default for [`Limits::max_url_length`]: bytes of the request target (path + query).
pub const DEFAULT_MAX_URL_LENGTH: usize = 8 * 1024;
/// Default for [`Limits::max_headers`]: header fields in one request head.
pub const DEFAULT_MAX_HEADERS: usize = 100;
/// Default for [`Limits::max_body_size`]: bytes of a body the server buffers for a handler.
pub const DEFAULT_MAX_BODY_SIZE: u64 = 1024 * 1024;
/// The longest any timeout of [`Limits`] may be: a year.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(365 * 24 * 3600);
/// Default for [`Limits::inactivity_timeout`].
pub const DEFAULT_INACTIVITY_TIMEOUT: Duration = Duration::from_secs(30);
/// Default for [`Limits::request_head_timeout`].
pub const DEFAULT_REQUEST_HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// Default for [`Limits::shutdown_grace`].
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// Default for [`Limits::read_chunk_size`].
pub const DEFAULT_READ_CHUNK_SIZE: usize = 16 * 1024;
/// Default for [`Limits::body_queue_chunks`].
pub const DEFAULT_BODY_QUEUE_CHUNKS: usize = 4;
/// Default for [`Limits::write_buffer_size`].
pub const DEFAULT_WRITE_BUFFER_SIZE: usize = 64 * 1024;
/// Default for [`Limits::max_discard_body`].
pub const DEFAULT_MAX_DISCARD_BODY: u64 = 256 * 1024;
/// Default for [`Limits::h2_stream_window`].
pub const DEFAULT_H2_STREAM_WINDOW: u32 = 256 * 1024;
/// Default for [`Limits::h2_connection_window`].
pub const DEFAULT_H2_CONNECTION_WINDOW: u32 = 1024 * 1024;
/// Default for [`Limits::backlog`].
pub const DEFAULT_BACKLOG: u32 = 1024;
/// Default for [`Limits::max_websockets`].
pub const DEFAULT_MAX_WEBSOCKETS: usize = 64;
/// Default for [`Limits::ws_max_message_size`].
pub const DEFAULT_WS_MAX_MESSAGE_SIZE: usize = 16 * 1024 * 1024;
/// Default for [`Limits::ws_max_frame_size`].
pub const DEFAULT_WS_MAX_FRAME_SIZE: usize = 16 * 1024 * 1024;
/// Default for [`Limits::ws_ping_interval`].
pub const DEFAULT_WS_PING_INTERVAL: Duration = Duration::from_secs(30);
/// Default for [`Limits::ws_idle_timeout`].
pub const DEFAULT_WS_IDLE_TIMEOUT: Duration = Duration::from_secs(60);

/// The limits of one service. Build with [`Limits::default`] and the setters; check with
/// [`Limits::validate`] (the service builder does).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Concurrent connections on this service. When all are taken, the next client is
    /// accepted and the connection idle longest (waiting for a request with nothing to send:
    /// HTTP/1.1 between requests, before its first byte or with a head still arriving, counted
    /// from the head's start; HTTP/2 without streams; TLS before the client's first byte), if
    /// idle for a second at least, is closed to make room. With
    /// none idle, that client waits for a slot and the ones behind it wait in the kernel's
    /// accept queue (up to `backlog`) until a connection ends: served late, not refused. At
    /// most `max_clients + 1` connections are open at once.
    pub max_clients: usize,
    /// Concurrent HTTP/2 streams per connection (SETTINGS_MAX_CONCURRENT_STREAMS). A client
    /// that opens more gets RST_STREAM REFUSED_STREAM.
    pub max_streams: u32,
    /// Bytes of one request head: request line and all header fields. Past it: 431, and the
    /// connection is closed.
    pub client_buffer_size: usize,
    /// Bytes of the request target (path and query). Past it: 414, connection closed.
    pub max_url_length: usize,
    /// Header fields in one request head. Past it: 431, connection closed. At most 2^15.
    pub max_headers: usize,
    /// Bytes of a request body the server collects in memory for a resource that asks for a
    /// buffered body. Past it: 413 (sent before reading when Content-Length says so).
    pub max_body_size: u64,
    /// Time with nothing received and nothing sent after which a connection is closed (the
    /// original's CLIENT_INACTIVITY_TIMEOUT). A streaming handler in progress counts as busy.
    pub inactivity_timeout: Duration,
    /// Time from the first byte of a request head (or from accept) to its end. A client that
    /// trickles its head (slowloris) is cut off then: 408 and close.
    pub request_head_timeout: Duration,
    /// On stop, how long in-flight responses may run before their connections are closed.
    pub shutdown_grace: Duration,
    /// Bytes read from the socket at a time; also the largest request-body chunk a handler sees.
    pub read_chunk_size: usize,
    /// Request-body chunks queued for a handler before the connection stops reading.
    pub body_queue_chunks: usize,
    /// Response bytes held for a slow socket before the handler's body stops being polled.
    pub write_buffer_size: usize,
    /// Unread request body the server reads and throws away after a response so that the
    /// connection can be reused; a longer remainder closes the connection instead.
    pub max_discard_body: u64,
    /// HTTP/2: request body bytes one stream may send before its handler has taken them
    /// (SETTINGS_INITIAL_WINDOW_SIZE). Credit is given back as the handler reads.
    pub h2_stream_window: u32,
    /// HTTP/2: request body bytes all the streams of a connection may have in flight (the
    /// connection window): the most request body one connection buffers.
    pub h2_connection_window: u32,
    /// The listen() backlog: connections the kernel queues before accept.
    pub backlog: u32,
    /// Concurrent WebSocket sessions on this service. An upgrade past it is answered 503
    /// with `Retry-After`. Sessions also hold their connection's `max_clients` slot
    /// (HTTP/1.1) or a stream (HTTP/2).
    pub max_websockets: usize,
    /// Bytes of one WebSocket message, all fragments together (after decompression).
    /// Past it: close 1009, as soon as the excess is known.
    pub ws_max_message_size: usize,
    /// Bytes of one WebSocket frame's payload. Past it: close 1009 when the frame's header
    /// arrives, before any of the payload is read.
    pub ws_max_frame_size: usize,
    /// A WebSocket peer silent this long gets a ping; zero sends none.
    pub ws_ping_interval: Duration,
    /// A WebSocket peer silent this long (pongs count as activity) is closed with 1001.
    pub ws_idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits::const_default()
    }
}

impl Limits {
    /// The defaults, usable in a `const` or `static`.
    pub const fn const_default() -> Self {
        Limits {
            max_clients: DEFAULT_MAX_CLIENTS,
            max_streams: DEFAULT_MAX_STREAMS,
            client_buffer_size: DEFAULT_CLIENT_BUFFER_SIZE,
            max_url_length: DEFAULT_MAX_URL_LENGTH,
            max_headers: DEFAULT_MAX_HEADERS,
            max_body_size: DEFAULT_MAX_BODY_SIZE,
            inactivity_timeout: DEFAULT_INACTIVITY_TIMEOUT,
            request_head_timeout: DEFAULT_REQUEST_HEAD_TIMEOUT,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            read_chunk_size: DEFAULT_READ_CHUNK_SIZE,
            body_queue_chunks: DEFAULT_BODY_QUEUE_CHUNKS,
            write_buffer_size: DEFAULT_WRITE_BUFFER_SIZE,
            max_discard_body: DEFAULT_MAX_DISCARD_BODY,
            h2_stream_window: DEFAULT_H2_STREAM_WINDOW,
            h2_connection_window: DEFAULT_H2_CONNECTION_WINDOW,
            backlog: DEFAULT_BACKLOG,
            max_websockets: DEFAULT_MAX_WEBSOCKETS,
            ws_max_message_size: DEFAULT_WS_MAX_MESSAGE_SIZE,
            ws_max_frame_size: DEFAULT_WS_MAX_FRAME_SIZE,
            ws_ping_interval: DEFAULT_WS_PING_INTERVAL,
            ws_idle_timeout: DEFAULT_WS_IDLE_TIMEOUT,
        }
    }

    /// Checks that every limit is usable, naming the first one that is not.
    pub fn validate(&self) -> Result<(), ConfigError> {
        fn at_least<T: PartialOrd + fmt::Display>(
            name: &'static str,
            value: T,
            min: T,
        ) -> Result<(), ConfigError> {
            if value < min {
                return Err(ConfigError::new(
                    name,
                    format!("must be at least {min}, got {value}"),
                ));
            }
            Ok(())
        }
        at_least("max_clients", self.max_clients, 1)?;
        at_least("max_streams", self.max_streams, 1)?;
        at_least("client_buffer_size", self.client_buffer_size, 64)?;
        at_least("max_url_length", self.max_url_length, 16)?;
        at_least("max_headers", self.max_headers, 1)?;
        // A handler's request carries its fields in an `http::HeaderMap`, which holds at
        // most 2^15 of them and panics past that.
        const MAX_FIELDS: usize = 1 << 15;
        if self.max_headers > MAX_FIELDS {
            return Err(ConfigError::new(
                "max_headers",
                format!("must be at most {MAX_FIELDS}, got {}", self.max_headers),
            ));
        }
        at_least("read_chunk_size", self.read_chunk_size, 512)?;
        at_least("body_queue_chunks", self.body_queue_chunks, 1)?;
        at_least("write_buffer_size", self.write_buffer_size, 1024)?;
        at_least("backlog", self.backlog, 1)?;
        // A frame or message must hold at least a control frame's payload.
        at_least("ws_max_message_size", self.ws_max_message_size, 125)?;
        at_least("ws_max_frame_size", self.ws_max_frame_size, 125)?;
        // Windows at or below 2^31-1 (RFC 9113 6.9.1). A connection window starts at 65535
        // and can only be raised; a stream window under 1 KiB would crawl.
        const MAX_WINDOW: u32 = (1 << 31) - 1;
        at_least("h2_stream_window", self.h2_stream_window, 1024)?;
        at_least("h2_connection_window", self.h2_connection_window, 65_535)?;
        for (name, value) in [
            ("h2_stream_window", self.h2_stream_window),
            ("h2_connection_window", self.h2_connection_window),
        ] {
            if value > MAX_WINDOW {
                return Err(ConfigError::new(
                    name,
                    format!("must be at most {MAX_WINDOW} (2^31-1), got {value}"),
                ));
            }
        }
        if self.inactivity_timeout.is_zero() {
            return Err(ConfigError::new(
                "inactivity_timeout",
                "must be more than zero".into(),
            ));
        }
        if self.request_head_timeout.is_zero() {
            return Err(ConfigError::new(
                "request_head_timeout",
                "must be more than zero".into(),
            ));
        }
        if self.ws_idle_timeout.is_zero() {
            return Err(ConfigError::new(
                "ws_idle_timeout",
                "must be more than zero".into(),
            ));
        }
        // Deadlines are now + a timeout; one past what the clock can hold would make that
        // sum panic. No wait here needs to be longer than a year.
        for (name, value) in [
            ("inactivity_timeout", self.inactivity_timeout),
            ("request_head_timeout", self.request_head_timeout),
            ("shutdown_grace", self.shutdown_grace),
            ("ws_ping_interval", self.ws_ping_interval),
            ("ws_idle_timeout", self.ws_idle_timeout),
        ] {
            if value > MAX_TIMEOUT {
                return Err(ConfigError::new(
                    name,
                    format!(
                        "must be at most {} s (a year), got {} s",
                        MAX_TIMEOUT.as_secs(),
                        value.as_secs()
                    ),
                ));
            }
        }
        if self.max_url_length > self.client_buffer_size {
            return Err(ConfigError::new(
                "max_url_length",
                format!(
                    "({}) cannot exceed client_buffer_size ({}): the URL is part of the head",
                    self.max_url_length, self.client_buffer_size
                ),
            ));
        }
        Ok(())
    }
}

/// A configuration value that cannot be used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    field: &'static str,
    reason: String,
}

impl ConfigError {
    pub(crate) fn new(field: &'static str, reason: String) -> Self {
        ConfigError { field, reason }
    }

    /// The name of the setting at fault.
    pub fn field(&self) -> &'static str {
        self.field
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid {}: {}", self.field, self.reason)
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        Limits::default().validate().unwrap();
    }

    #[test]
    fn zero_clients_is_named() {
        let limits = Limits {
            max_clients: 0,
            ..Limits::default()
        };
        assert_eq!(limits.validate().unwrap_err().field(), "max_clients");
    }

    #[test]
    fn timeouts_past_a_year_are_refused() {
        let limits = Limits {
            inactivity_timeout: Duration::MAX,
            ..Limits::default()
        };
        assert_eq!(limits.validate().unwrap_err().field(), "inactivity_timeout");
        let limits = Limits {
            ws_idle_timeout: MAX_TIMEOUT + Duration::from_secs(1),
            ..Limits::default()
        };
        assert_eq!(limits.validate().unwrap_err().field(), "ws_idle_timeout");
        let limits = Limits {
            shutdown_grace: MAX_TIMEOUT,
            request_head_timeout: MAX_TIMEOUT,
            ..Limits::default()
        };
        limits.validate().unwrap();
    }

    #[test]
    fn more_fields_than_a_header_map_holds_are_refused() {
        let too_many = Limits {
            max_headers: (1 << 15) + 1,
            ..Limits::default()
        };
        assert_eq!(too_many.validate().unwrap_err().field(), "max_headers");
        let most = Limits {
            max_headers: 1 << 15,
            ..Limits::default()
        };
        most.validate().unwrap();
    }

    #[test]
    fn url_longer_than_head_is_refused() {
        let limits = Limits {
            max_url_length: 4096,
            client_buffer_size: 1024,
            ..Limits::default()
        };
        assert_eq!(limits.validate().unwrap_err().field(), "max_url_length");
    }

    #[test]
    fn h2_windows_stay_within_what_http2_allows() {
        let too_big = Limits {
            h2_stream_window: 1 << 31,
            ..Limits::default()
        };
        assert_eq!(too_big.validate().unwrap_err().field(), "h2_stream_window");
        let below_default = Limits {
            h2_connection_window: 65_534,
            ..Limits::default()
        };
        assert_eq!(
            below_default.validate().unwrap_err().field(),
            "h2_connection_window"
        );
        let largest = Limits {
            h2_stream_window: (1 << 31) - 1,
            h2_connection_window: (1 << 31) - 1,
            ..Limits::default()
        };
        largest.validate().unwrap();
    }
}
