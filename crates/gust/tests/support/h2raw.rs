//! A raw HTTP/2 client for tests: frames written byte by byte, read back as they come, with
//! the `hpack` crate (not ours) for header blocks. It sends exactly what the test says, so
//! it can break every rule a real client keeps.
#![allow(dead_code, unreachable_pub, missing_docs)]

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};

pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// Frame types (RFC 9113 6).
pub const DATA: u8 = 0x0;
pub const HEADERS: u8 = 0x1;
pub const PRIORITY: u8 = 0x2;
pub const RST_STREAM: u8 = 0x3;
pub const SETTINGS: u8 = 0x4;
pub const PUSH_PROMISE: u8 = 0x5;
pub const PING: u8 = 0x6;
pub const GOAWAY: u8 = 0x7;
pub const WINDOW_UPDATE: u8 = 0x8;
pub const CONTINUATION: u8 = 0x9;

// Flags.
pub const END_STREAM: u8 = 0x1;
pub const ACK: u8 = 0x1;
pub const END_HEADERS: u8 = 0x4;
pub const PADDED: u8 = 0x8;
pub const PRIORITY_FLAG: u8 = 0x20;

// Error codes (RFC 9113 7).
pub const NO_ERROR: u32 = 0x0;
pub const PROTOCOL_ERROR: u32 = 0x1;
pub const INTERNAL_ERROR: u32 = 0x2;
pub const FLOW_CONTROL_ERROR: u32 = 0x3;
pub const SETTINGS_TIMEOUT: u32 = 0x4;
pub const STREAM_CLOSED: u32 = 0x5;
pub const FRAME_SIZE_ERROR: u32 = 0x6;
pub const REFUSED_STREAM: u32 = 0x7;
pub const CANCEL: u32 = 0x8;
pub const COMPRESSION_ERROR: u32 = 0x9;
pub const ENHANCE_YOUR_CALM: u32 = 0xb;

// Settings identifiers.
pub const SETTINGS_HEADER_TABLE_SIZE: u16 = 0x1;
pub const SETTINGS_ENABLE_PUSH: u16 = 0x2;
pub const SETTINGS_MAX_CONCURRENT_STREAMS: u16 = 0x3;
pub const SETTINGS_INITIAL_WINDOW_SIZE: u16 = 0x4;
pub const SETTINGS_MAX_FRAME_SIZE: u16 = 0x5;
pub const SETTINGS_MAX_HEADER_LIST_SIZE: u16 = 0x6;

/// How long a test waits for a frame it expects.
pub const WAIT: Duration = Duration::from_secs(5);

/// One frame as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub kind: u8,
    pub flags: u8,
    pub stream: u32,
    pub payload: Vec<u8>,
    /// The decoded fields of a one-frame header block that was decoded when it was read
    /// past (by `expect` or `frames_until_pong`): HPACK state moves in arrival order, so a
    /// block must be decoded exactly once. `None` if nobody decoded it yet.
    pub fields: Option<Vec<(String, String)>>,
}

impl Frame {
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }

    /// The error code of a RST_STREAM or GOAWAY.
    pub fn error_code(&self) -> u32 {
        let at = if self.kind == GOAWAY { 4 } else { 0 };
        u32::from_be_bytes(self.payload[at..at + 4].try_into().unwrap())
    }

    /// The last stream id of a GOAWAY.
    pub fn last_stream_id(&self) -> u32 {
        u32::from_be_bytes(self.payload[0..4].try_into().unwrap()) & 0x7fff_ffff
    }

    /// The settings of a SETTINGS frame.
    pub fn settings(&self) -> Vec<(u16, u32)> {
        self.payload
            .chunks_exact(6)
            .map(|c| {
                (
                    u16::from_be_bytes([c[0], c[1]]),
                    u32::from_be_bytes([c[2], c[3], c[4], c[5]]),
                )
            })
            .collect()
    }

    /// The increment of a WINDOW_UPDATE.
    pub fn increment(&self) -> u32 {
        u32::from_be_bytes(self.payload[0..4].try_into().unwrap()) & 0x7fff_ffff
    }
}

/// Encodes one frame.
pub fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len();
    let mut out = Vec::with_capacity(9 + len);
    out.extend_from_slice(&[(len >> 16) as u8, (len >> 8) as u8, len as u8, kind, flags]);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// A SETTINGS payload.
pub fn settings_payload(settings: &[(u16, u32)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (id, value) in settings {
        out.extend_from_slice(&id.to_be_bytes());
        out.extend_from_slice(&value.to_be_bytes());
    }
    out
}

/// A WINDOW_UPDATE payload.
pub fn window_update_payload(increment: u32) -> Vec<u8> {
    increment.to_be_bytes().to_vec()
}

/// What the server sent on one stream until it ended it (or reset it).
#[derive(Debug, Default)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub trailers: Vec<(String, String)>,
    /// RST_STREAM code, if the stream was reset instead of ended.
    pub reset: Option<u32>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// What the raw client talks over: TCP, or TLS on top of it.
pub trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}

/// A raw client connection.
pub struct H2Raw {
    pub stream: Box<dyn Io>,
    buf: Vec<u8>,
    pub encoder: hpack::Encoder<'static>,
    pub decoder: hpack::Decoder<'static>,
    /// Frames read while looking for another one, handed out first by `read_frame`.
    pending: std::collections::VecDeque<Frame>,
}

impl H2Raw {
    /// A TCP connection; nothing sent.
    pub async fn connect(addr: SocketAddr) -> H2Raw {
        let stream = TcpStream::connect(addr).await.expect("connect");
        stream.set_nodelay(true).unwrap();
        H2Raw::over(stream)
    }

    /// A client on an established stream (a TLS session, for one); nothing sent.
    pub fn over(stream: impl Io + 'static) -> H2Raw {
        H2Raw {
            stream: Box::new(stream),
            buf: Vec::new(),
            encoder: hpack::Encoder::new(),
            decoder: hpack::Decoder::new(),
            pending: Default::default(),
        }
    }

    /// Connects, sends the preface and `settings`, reads the server's SETTINGS (returned)
    /// and acknowledges it. Frames the server sends after (its WINDOW_UPDATE, the ACK of
    /// our SETTINGS) are left to read.
    pub async fn handshake_with(addr: SocketAddr, settings: &[(u16, u32)]) -> (H2Raw, Frame) {
        H2Raw::connect(addr).await.handshake_now(settings).await
    }

    /// The preface and SETTINGS exchange on a client made with [`H2Raw::over`].
    pub async fn handshake_now(self, settings: &[(u16, u32)]) -> (H2Raw, Frame) {
        let mut c = self;
        let mut hello = PREFACE.to_vec();
        hello.extend(frame(SETTINGS, 0, 0, &settings_payload(settings)));
        c.send(&hello).await;
        let server_settings = c
            .read_frame()
            .await
            .expect("server SETTINGS after the preface");
        assert_eq!(server_settings.kind, SETTINGS, "{server_settings:?}");
        assert!(!server_settings.has(ACK));
        c.send_frame(SETTINGS, ACK, 0, &[]).await;
        (c, server_settings)
    }

    /// A connection past the SETTINGS exchange with default settings.
    pub async fn handshake(addr: SocketAddr) -> H2Raw {
        H2Raw::handshake_with(addr, &[]).await.0
    }

    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    /// Writes, ignoring failure (the server may already have closed).
    pub async fn try_send(&mut self, bytes: &[u8]) -> bool {
        self.stream.write_all(bytes).await.is_ok()
    }

    pub async fn send_frame(&mut self, kind: u8, flags: u8, stream: u32, payload: &[u8]) {
        let f = frame(kind, flags, stream, payload);
        self.send(&f).await;
    }

    /// An HPACK block for `fields`, in order.
    pub fn block(&mut self, fields: &[(&str, &str)]) -> Vec<u8> {
        self.encoder
            .encode(fields.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes())))
    }

    /// The usual request pseudo-headers for `method` and `path`, then `extra`.
    pub fn request_block(&mut self, method: &str, path: &str, extra: &[(&str, &str)]) -> Vec<u8> {
        let mut fields = vec![
            (":method", method),
            (":scheme", "http"),
            (":path", path),
            (":authority", "localhost"),
        ];
        fields.extend_from_slice(extra);
        self.block(&fields)
    }

    /// Sends a request head on `stream` in one HEADERS frame.
    pub async fn request(&mut self, stream: u32, method: &str, path: &str, end_stream: bool) {
        let block = self.request_block(method, path, &[]);
        let flags = END_HEADERS | if end_stream { END_STREAM } else { 0 };
        self.send_frame(HEADERS, flags, stream, &block).await;
    }

    /// Decodes a header block from the server.
    pub fn decode(&mut self, block: &[u8]) -> Vec<(String, String)> {
        self.decoder
            .decode(block)
            .expect("server header block decodes")
            .into_iter()
            .map(|(n, v)| (String::from_utf8(n).unwrap(), String::from_utf8(v).unwrap()))
            .collect()
    }

    /// The next frame, or `None` if the connection closed or nothing came within `WAIT`.
    pub async fn read_frame(&mut self) -> Option<Frame> {
        self.read_frame_within(WAIT).await
    }

    pub async fn read_frame_within(&mut self, wait: Duration) -> Option<Frame> {
        if let Some(f) = self.pending.pop_front() {
            return Some(f);
        }
        let deadline = Instant::now() + wait;
        loop {
            if self.buf.len() >= 9 {
                let len = (usize::from(self.buf[0]) << 16)
                    | (usize::from(self.buf[1]) << 8)
                    | usize::from(self.buf[2]);
                if self.buf.len() >= 9 + len {
                    let f = Frame {
                        kind: self.buf[3],
                        flags: self.buf[4],
                        stream: u32::from_be_bytes(self.buf[5..9].try_into().unwrap())
                            & 0x7fff_ffff,
                        payload: self.buf[9..9 + len].to_vec(),
                        fields: None,
                    };
                    self.buf.drain(..9 + len);
                    return Some(f);
                }
            }
            let mut chunk = [0u8; 16384];
            match tokio::time::timeout_at(deadline, self.stream.read(&mut chunk)).await {
                Ok(Ok(n)) if n > 0 => self.buf.extend_from_slice(&chunk[..n]),
                _ => return None,
            }
        }
    }

    /// Reads until a frame matches `want`, returning it; frames skipped on the way are
    /// kept for later reads. Panics with what was seen if none comes within `WAIT`.
    pub async fn expect(&mut self, what: &str, want: impl Fn(&Frame) -> bool) -> Frame {
        let mut skipped = Vec::new();
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.read_frame_within(left).await {
                Some(f) if want(&f) => {
                    // Keep the others in order for later reads.
                    for s in skipped.into_iter().rev() {
                        self.pending.push_front(s);
                    }
                    return f;
                }
                Some(mut f) => {
                    // HPACK state must follow every header block, even skipped ones.
                    self.decode_skipped(&mut f);
                    skipped.push(f)
                }
                None => panic!("expected {what}; got only {skipped:?}"),
            }
        }
    }

    /// Decodes a one-frame header block being read past, keeping the fields in the frame.
    fn decode_skipped(&mut self, f: &mut Frame) {
        if f.kind == HEADERS && f.has(END_HEADERS) && f.fields.is_none() {
            let block = header_block_of(f);
            f.fields = self.decoder.decode(&block).ok().map(|fields| {
                fields
                    .into_iter()
                    .map(|(n, v)| {
                        (
                            String::from_utf8_lossy(&n).into_owned(),
                            String::from_utf8_lossy(&v).into_owned(),
                        )
                    })
                    .collect()
            });
        }
    }

    /// Expects GOAWAY with `code`; returns it.
    pub async fn expect_goaway(&mut self, code: u32) -> Frame {
        let f = self.expect("GOAWAY", |f| f.kind == GOAWAY).await;
        assert_eq!(f.error_code(), code, "GOAWAY code: {f:?}");
        f
    }

    /// Expects RST_STREAM on `stream` with `code`.
    pub async fn expect_reset(&mut self, stream: u32, code: u32) {
        let f = self
            .expect("RST_STREAM", |f| f.kind == RST_STREAM && f.stream == stream)
            .await;
        assert_eq!(f.error_code(), code, "RST_STREAM code: {f:?}");
    }

    /// Whether the server closes the connection within `WAIT` (frames before the close,
    /// a GOAWAY for instance, are read and dropped).
    pub async fn closed(&mut self) -> bool {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let mut chunk = [0u8; 16384];
            match timeout(left, self.stream.read(&mut chunk)).await {
                Ok(Ok(0)) | Ok(Err(_)) => return true,
                Ok(Ok(_)) => {}
                Err(_) => return false,
            }
        }
    }

    /// Sends PING and waits for its ACK: proves the connection is alive and everything
    /// sent before it was processed.
    pub async fn ping_pong(&mut self) {
        let data = *b"pingpong";
        self.send_frame(PING, 0, 0, &data).await;
        let f = self
            .expect("PING ACK", |f| f.kind == PING && f.has(ACK))
            .await;
        assert_eq!(f.payload, data);
    }

    /// Reads the response on `stream` to its end (or its reset), giving the server
    /// window as it goes so that bodies of any size arrive.
    pub async fn response(&mut self, stream: u32) -> Response {
        let mut r = Response::default();
        let mut block = Vec::new();
        let mut got_head = false;
        let mut ends_stream = false;
        loop {
            let f = self
                .expect("a frame of the response", |f| {
                    f.stream == stream || f.kind == GOAWAY
                })
                .await;
            match f.kind {
                HEADERS | CONTINUATION => {
                    block.extend_from_slice(&if f.kind == HEADERS {
                        header_block_of(&f)
                    } else {
                        f.payload.clone()
                    });
                    if f.has(END_HEADERS) {
                        let block = std::mem::take(&mut block);
                        let fields = match f.fields.clone() {
                            Some(decoded) => decoded,
                            None => self.decode(&block),
                        };
                        if !got_head {
                            got_head = true;
                            for (n, v) in fields {
                                if n == ":status" {
                                    r.status = v.parse().unwrap();
                                } else {
                                    r.headers.push((n, v));
                                }
                            }
                        } else {
                            r.trailers = fields;
                        }
                    }
                    // END_STREAM on a HEADERS frame ends the stream once its block ends.
                    if f.kind == HEADERS && f.has(END_STREAM) {
                        ends_stream = true;
                    }
                    if ends_stream && f.has(END_HEADERS) {
                        return r;
                    }
                }
                DATA => {
                    let data = data_of(&f);
                    r.body.extend_from_slice(&data);
                    if !f.payload.is_empty() {
                        let inc = window_update_payload(f.payload.len() as u32);
                        self.send_frame(WINDOW_UPDATE, 0, 0, &inc).await;
                        if !f.has(END_STREAM) {
                            self.send_frame(WINDOW_UPDATE, 0, stream, &inc).await;
                        }
                    }
                    if f.has(END_STREAM) {
                        return r;
                    }
                }
                RST_STREAM => {
                    r.reset = Some(f.error_code());
                    return r;
                }
                GOAWAY => panic!("GOAWAY while reading stream {stream}: {f:?}"),
                _ => {}
            }
        }
    }
}

/// The header block fragment of a HEADERS frame, padding and priority removed.
pub fn header_block_of(f: &Frame) -> Vec<u8> {
    let mut p = &f.payload[..];
    let mut pad = 0;
    if f.has(PADDED) {
        pad = usize::from(p[0]);
        p = &p[1..];
    }
    if f.has(PRIORITY_FLAG) {
        p = &p[5..];
    }
    p[..p.len() - pad].to_vec()
}

/// The data of a DATA frame, padding removed.
pub fn data_of(f: &Frame) -> Vec<u8> {
    if f.has(PADDED) {
        let pad = usize::from(f.payload[0]);
        f.payload[1..f.payload.len() - pad].to_vec()
    } else {
        f.payload.clone()
    }
}

/// Helpers for the conformance tests (RFC 9113 sections 3 to 8).
impl H2Raw {
    /// Connects, sends `request` (an HTTP/1.1 request asking for h2c) and reads the
    /// response head up to its blank line, which is returned; bytes after it are kept for
    /// `read_frame`. Panics if no complete head comes within `WAIT`.
    pub async fn h2c_upgrade(addr: SocketAddr, request: &[u8]) -> (H2Raw, String) {
        let mut c = H2Raw::connect(addr).await;
        c.send(request).await;
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(end) = c.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&c.buf[..end + 4]).into_owned();
                c.buf.drain(..end + 4);
                return (c, head);
            }
            let mut chunk = [0u8; 4096];
            match tokio::time::timeout_at(deadline, c.stream.read(&mut chunk)).await {
                Ok(Ok(n)) if n > 0 => c.buf.extend_from_slice(&chunk[..n]),
                _ => panic!(
                    "no HTTP/1.1 response head; got {:?}",
                    String::from_utf8_lossy(&c.buf)
                ),
            }
        }
    }

    /// Sends PING and returns every frame that arrives before its ACK, in order (frames
    /// already read and kept by `expect` first). Header blocks among them are fed to the
    /// HPACK decoder, as `expect` does. Panics if no ACK comes within `WAIT`.
    pub async fn frames_until_pong(&mut self) -> Vec<Frame> {
        let data = *b"syncsync";
        self.send_frame(PING, 0, 0, &data).await;
        let mut seen = Vec::new();
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.read_frame_within(left).await {
                Some(f) if f.kind == PING && f.has(ACK) && f.payload == data => return seen,
                Some(mut f) => {
                    self.decode_skipped(&mut f);
                    seen.push(f);
                }
                None => panic!("expected PING ACK; got only {seen:?}"),
            }
        }
    }

    /// Every frame that arrives within `wait` (or until the connection closes).
    pub async fn frames_within(&mut self, wait: Duration) -> Vec<Frame> {
        let deadline = Instant::now() + wait;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return seen;
            }
            match self.read_frame_within(left).await {
                Some(f) => seen.push(f),
                None => return seen,
            }
        }
    }
}
