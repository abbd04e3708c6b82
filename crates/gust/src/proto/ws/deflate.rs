//! permessage-deflate (RFC 7692): agreeing on it in the opening handshake, compressing the
//! server's messages, inflating the client's, sans-I/O.
//!
//! # How a connection uses it
//!
//! 1. Handshake: [`negotiate`] reads every `Sec-WebSocket-Extensions` field of the request
//!    and picks the first `permessage-deflate` offer it can accept. The answer (101 or 200)
//!    carries [`Negotiated::response`] as its `Sec-WebSocket-Extensions`; `None` means no
//!    offer was acceptable and the answer names no extension.
//! 2. Receiving: frames are decoded with `allowed_rsv` [`RSV1`] (0 without the extension)
//!    and pushed into [`Assembler::with_deflate`](super::Assembler::with_deflate), which
//!    inflates messages whose first frame has RSV1 through an [`Inflater`].
//! 3. Sending: each data message goes through [`Compressor::compress`], which says whether
//!    the payload went out compressed: its [`Outgoing::rsv`] goes on the message's first
//!    frame only. Control frames are never compressed (RFC 7692 6).
//!
//! # Negotiation (RFC 7692 5 and 7.1)
//!
//! An offer is declined, and the next one tried, when it has a parameter this extension does
//! not define, the same parameter twice, a value where none is allowed (the two
//! `*_no_context_takeover`), no value where one is required (`server_max_window_bits`), a
//! window size that is not a decimal 8 to 15 without leading zeros, or a syntax error. A
//! quoted value counts as its unquoted content (RFC 6455 9.1). Every well-formed offer is
//! accepted: every parameter combination has an answer the codecs below can keep.
//!
//! - `server_no_context_takeover` offered: echoed, and the compressor forgets each message.
//! - `client_no_context_takeover` offered: echoed, and the inflater is reset after each
//!   message. Echoing is free: the client announced it would not take over anyway.
//! - `server_max_window_bits=N`: answered with `min(N, configured)`; the compressor uses
//!   that window. With no offer, a configured window under 15 is announced all the same,
//!   which RFC 7692 7.1.2.1 allows, so that the client may allocate less.
//! - `client_max_window_bits`, with or without a value: never answered. The inflater always
//!   has the full 32 KiB window, which inflates any window the client chooses, and an answer
//!   could only make a client with a poor deflater (one that cannot do 8) fail.
//!
//! ## A window of 8 bits
//!
//! zlib, and zlib-rs with it, refuses window bits 8 for raw deflate. A client asking for
//! `server_max_window_bits=8` is still accepted, and answered `8`: the compressor runs with
//! a 9-bit window, which is valid for a 256-byte window, because zlib's matcher never
//! reaches further back than the window size minus `MIN_LOOKAHEAD` (262 bytes): 250 bytes
//! for a 512-byte window. zlib-rs keeps that rule (`max_dist()` bounds every match finder:
//! quick, fast, medium, slow; rle only copies distance 1). The test
//! `window_8_output_inflates_with_a_256_byte_window` pins it: if a zlib-rs release ever
//! reached further, the test fails rather than the clients.
//!
//! # Compressing (RFC 7692 7.2.1)
//!
//! A message is deflated whole, flushed with a sync flush, and the empty stored block that
//! ends the flush (`00 00 ff ff`) is cut off. With context takeover the LZ77 window carries
//! over to the next message; with `server_no_context_takeover` it is reset after each.
//!
//! Messages under [`DeflateConfig::min_compress_len`] bytes (default 16) go out as they are,
//! RSV1 clear, which RFC 7692 6 allows per message: a short message without history
//! compresses to more than itself (fixed Huffman codes spend 8 or 9 bits a literal, plus
//! about 2 bytes of block overhead), and the saving on a short one with history is a few
//! bytes against a call into the compressor. Longer messages are always sent compressed,
//! even when they did not shrink: with context takeover the client's window must hold what
//! the compressor's holds, and without it, RFC 7692 would allow an uncompressed message but
//! some clients mishandle one (the kosoku Autobahn driver, in cases 13.2 and 13.5-13.7).
//! Deflate's worst case is 5 bytes per 64 KiB of stored data, so nothing much is lost.
//!
//! # Inflating (RFC 7692 7.2.2)
//!
//! The payloads of a message's frames are inflated as they arrive, then `00 00 ff ff` is
//! fed after the last one. The output is bounded by the message size limit: as soon as it
//! passes the limit, inflating stops with [`WsError::MessageTooLarge`] (1009), without
//! reading the rest of the input. The output buffer grows by doubling but never past the
//! limit plus one byte (the byte that proves the excess), so a zip bomb costs at most that.
//! Data that is not valid deflate fails with [`WsError::InvalidCompressedData`] (1007).
//!
//! A sender may end a message with a block marked BFINAL (RFC 7692 7.2.3.4): the deflate
//! stream then ends, whatever follows in the message is ignored (the RFC's own example
//! follows it with one byte that only makes sense to a decoder that carries on), and the
//! inflater starts afresh with the next message; a sender doing this cannot also expect its
//! window to carry over.
//!
//! # Memory per connection
//!
//! Both engines are allocated at first use: a connection that sends only short messages
//! never allocates a compressor, one that never receives a compressed message never
//! allocates an inflater.
//!
//! - Compressor (zlib-rs through flate2, whose API fixes memLevel at 8): window
//!   `2 << bits` + chain `2 << bits` + hash table 128 KiB (zlib-rs's is fixed, 65536
//!   entries, whatever memLevel) + literal buffers 112 KiB (`1 << (memLevel + 6)` entries,
//!   7 bytes each) + its state. Measured with a counting allocator: 371 KiB at 15 bits,
//!   259 KiB at 12, 245 KiB at 9 (and 8). [`DeflateConfig::server_max_window_bits`] trades
//!   ratio for memory; the rest is fixed by the engine. The compressor is kept between
//!   messages even without context takeover, so that a busy connection does not allocate
//!   and clear a quarter of a megabyte per message; a driver short of memory may drop an
//!   idle [`Compressor`] and make a new one when `server_no_context_takeover` was agreed,
//!   since it then holds nothing worth keeping.
//! - Inflater: its window is 32 KiB whatever the window bits (zlib-rs allocates the
//!   largest), with tables and state 46 KiB, measured likewise.
//! - The message being inflated: at most the message size limit plus one byte.
//!
//! The level is 6 by default ([`DeflateConfig::level`]); the level does not change
//! zlib-rs's memory, only its time.
//!
//! # Why zlib-rs
//!
//! flate2's default engine, miniz_oxide, only has 15-bit windows: with it every offer with
//! `server_max_window_bits` under 15 would have to be declined (Autobahn's cases 13.3,
//! 13.5 and 13.7 offer 8). zlib-rs is a port of zlib to Rust: no C toolchain, no system
//! library. It took 44 s to build on the shared 2-core development machine, at the
//! opt-level 2 the workspace gives dependencies, once. With it on, flate2 uses it for
//! every caller in the build, the gzip of static resources included.

use crate::proto::is_tchar;
use bytes::Bytes;
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress, Status};
use http::header::SEC_WEBSOCKET_EXTENSIONS;
use http::{HeaderMap, HeaderValue};

use super::frame::RSV1;
use super::WsError;

/// The extension's name, as registered (RFC 7692 8.1).
const EXTENSION: &str = "permessage-deflate";

/// The empty stored block a sync flush ends with: cut off by the sender, put back by the
/// receiver (RFC 7692 7.2.1 and 7.2.2).
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The smallest and largest window sizes a peer may name (RFC 7692 7.1.2).
const MIN_WINDOW_BITS: u8 = 8;
const MAX_WINDOW_BITS: u8 = 15;

/// The smallest window zlib compresses raw deflate with: see "A window of 8 bits" above.
const MIN_ZLIB_WINDOW_BITS: u8 = 9;

/// The first output buffer of an inflated message, unless its compressed size suggests
/// more: small enough not to matter for a short message, large enough that doubling does
/// not start from nothing.
const FIRST_INFLATE_BUFFER: usize = 256;

/// What the server is willing to agree to. The defaults accept any valid offer with the
/// largest window and leave context takeover to the client's wishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DeflateConfig {
    /// Whether to accept offers at all. Off, [`negotiate`] always declines.
    pub(crate) enabled: bool,
    /// The compression level, 0 (stored) to 9 (best); larger values count as 9. The
    /// default, 6, is zlib's and what most peers use. Measured on the development machine
    /// with context takeover: 2000 small JSON messages (160 KB) shrank to 63 KB at level
    /// 1, 55 KB at 3, 52 KB at 6, in 1, 7 and 8 µs a message; 1 MiB of text to 316, 185
    /// and 142 KB in 9, 14 and 47 ms. Lower it where CPU is scarcer than bandwidth.
    pub(crate) level: u32,
    /// The largest window the server compresses with, 8 to 15 (other values are brought
    /// into that range). Under 15 it is announced even when the client did not ask, and
    /// it saves `4 << 15` minus `4 << bits` bytes of compressor memory.
    pub(crate) server_max_window_bits: u8,
    /// Announce `server_no_context_takeover` even when the client did not ask: each
    /// message is compressed on its own, which costs ratio on similar messages but lets
    /// the driver drop an idle compressor (see the module docs on memory).
    pub(crate) server_no_context_takeover: bool,
    /// Ask for `client_no_context_takeover` even when the client did not offer it: the
    /// client then compresses each message on its own and the inflater is reset after
    /// each. Off by default: it costs the client's ratio on similar messages and saves no
    /// memory as long as the inflater is kept; it is for a driver that would rather drop
    /// an idle connection's inflater than keep its 46 KiB.
    pub(crate) client_no_context_takeover: bool,
    /// Messages shorter than this go out uncompressed (see the module docs).
    pub(crate) min_compress_len: usize,
}

impl Default for DeflateConfig {
    fn default() -> DeflateConfig {
        DeflateConfig {
            enabled: true,
            level: 6,
            server_max_window_bits: MAX_WINDOW_BITS,
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            min_compress_len: 16,
        }
    }
}

/// The parameters both sides agreed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DeflateParams {
    /// The server resets its compressor after each message.
    pub(crate) server_no_context_takeover: bool,
    /// The client resets its compressor after each message, so the server resets its
    /// inflater.
    pub(crate) client_no_context_takeover: bool,
    /// The window the server's back-references stay within, 8 to 15, as announced.
    pub(crate) server_max_window_bits: u8,
}

impl Default for DeflateParams {
    /// A plain `permessage-deflate` offer accepted as it is.
    fn default() -> DeflateParams {
        DeflateParams {
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: MAX_WINDOW_BITS,
        }
    }
}

/// An accepted offer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Negotiated {
    /// What both sides will do: give it to [`Compressor::new`] and [`Inflater::new`].
    pub(crate) params: DeflateParams,
    /// The `Sec-WebSocket-Extensions` value of the answer, e.g.
    /// `permessage-deflate; server_no_context_takeover`.
    pub(crate) response: HeaderValue,
}

/// Picks the first `permessage-deflate` offer in the request's `Sec-WebSocket-Extensions`
/// fields that can be accepted, and answers it. `None` if there is none, or `config` is
/// disabled: the answer then names no extension and RSV1 stays an error.
///
/// Other extensions are skipped. A malformed element is declined like an invalid offer and
/// parsing resumes at the next comma (outside quotes); nothing here panics or allocates
/// more than the answer.
pub(crate) fn negotiate(headers: &HeaderMap, config: &DeflateConfig) -> Option<Negotiated> {
    if !config.enabled {
        return None;
    }
    headers
        .get_all(SEC_WEBSOCKET_EXTENSIONS)
        .into_iter()
        .flat_map(|value| Elements::new(value.as_bytes()))
        .find_map(|element| match element {
            Element::Deflate(offer) => accept(&offer, config),
            Element::Other | Element::Invalid => None,
        })
}

/// Answers a valid offer. Every valid offer can be accepted (see the module docs); this is
/// where a future limit of the server would decline one.
fn accept(offer: &Offer, config: &DeflateConfig) -> Option<Negotiated> {
    let configured = config
        .server_max_window_bits
        .clamp(MIN_WINDOW_BITS, MAX_WINDOW_BITS);
    let params = DeflateParams {
        server_no_context_takeover: offer.server_no_context_takeover
            || config.server_no_context_takeover,
        client_no_context_takeover: offer.client_no_context_takeover
            || config.client_no_context_takeover,
        server_max_window_bits: offer
            .server_max_window_bits
            .unwrap_or(MAX_WINDOW_BITS)
            .min(configured),
    };
    let mut response = String::from(EXTENSION);
    if params.server_no_context_takeover {
        response.push_str("; server_no_context_takeover");
    }
    if params.client_no_context_takeover {
        response.push_str("; client_no_context_takeover");
    }
    // Required when offered (7.1.2.1: the answer accepts with the same or a smaller value);
    // sent unasked only to announce a smaller window than the default.
    if offer.server_max_window_bits.is_some() || params.server_max_window_bits < MAX_WINDOW_BITS {
        response.push_str("; server_max_window_bits=");
        response.push_str(&params.server_max_window_bits.to_string());
    }
    // The answer is ASCII we wrote: this cannot fail, and `None` keeps it panic-free.
    let response = HeaderValue::try_from(response).ok()?;
    Some(Negotiated { params, response })
}

/// A `permessage-deflate` offer whose parameters are all known, single and valid.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Offer {
    server_no_context_takeover: bool,
    client_no_context_takeover: bool,
    server_max_window_bits: Option<u8>,
    /// `None`: absent; `Some(None)`: present without a value. Checked, then unused: the
    /// inflater takes any window, so the answer never limits the client's.
    client_max_window_bits: Option<Option<u8>>,
}

/// Why an offer is declined; the detail is for tests and debugging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Decline {
    Unknown,
    Duplicate,
    InvalidValue,
}

impl Offer {
    /// Adds one parameter, or says why the offer must be declined (RFC 7692 5).
    fn add(&mut self, name: &[u8], value: Option<Value<'_>>) -> Result<(), Decline> {
        let is = |known: &str| name.eq_ignore_ascii_case(known.as_bytes());
        if is("server_no_context_takeover") {
            set_flag(&mut self.server_no_context_takeover, value)
        } else if is("client_no_context_takeover") {
            set_flag(&mut self.client_no_context_takeover, value)
        } else if is("server_max_window_bits") {
            if self.server_max_window_bits.is_some() {
                return Err(Decline::Duplicate);
            }
            let bits = value.ok_or(Decline::InvalidValue)?.window_bits()?;
            self.server_max_window_bits = Some(bits);
            Ok(())
        } else if is("client_max_window_bits") {
            if self.client_max_window_bits.is_some() {
                return Err(Decline::Duplicate);
            }
            let bits = value.map(|v| v.window_bits()).transpose()?;
            self.client_max_window_bits = Some(bits);
            Ok(())
        } else {
            Err(Decline::Unknown)
        }
    }
}

/// Sets a parameter that takes no value (RFC 7692 7.1.1).
fn set_flag(flag: &mut bool, value: Option<Value<'_>>) -> Result<(), Decline> {
    if value.is_some() {
        return Err(Decline::InvalidValue);
    }
    if *flag {
        return Err(Decline::Duplicate);
    }
    *flag = true;
    Ok(())
}

/// A parameter value as written: a token, or the inside of a quoted-string, escapes and
/// all.
#[derive(Debug, Clone, Copy)]
enum Value<'a> {
    Token(&'a [u8]),
    Quoted(&'a [u8]),
}

impl Value<'_> {
    /// The value's bytes, quoted-pairs undone.
    fn bytes(&self) -> impl Iterator<Item = u8> + '_ {
        let (raw, quoted) = match *self {
            Value::Token(raw) => (raw, false),
            Value::Quoted(raw) => (raw, true),
        };
        let mut escaped = false;
        raw.iter().filter_map(move |&b| {
            if quoted && !escaped && b == b'\\' {
                escaped = true;
                return None;
            }
            escaped = false;
            Some(b)
        })
    }

    /// A window size: a decimal 8 to 15 without leading zeros (RFC 7692 7.1.2.1). A quoted
    /// value is judged by its content.
    fn window_bits(&self) -> Result<u8, Decline> {
        let mut digits = [0u8; 2];
        let mut len = 0;
        for b in self.bytes() {
            let slot = digits.get_mut(len).ok_or(Decline::InvalidValue)?;
            *slot = b;
            len += 1;
        }
        let bits = match digits.get(..len) {
            Some(&[d]) if d.is_ascii_digit() => d - b'0',
            Some(&[b'1', d]) if d.is_ascii_digit() => 10 + (d - b'0'),
            _ => return Err(Decline::InvalidValue),
        };
        if (MIN_WINDOW_BITS..=MAX_WINDOW_BITS).contains(&bits) {
            Ok(bits)
        } else {
            Err(Decline::InvalidValue)
        }
    }
}

/// One element of an extension list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Element {
    /// A `permessage-deflate` offer with valid parameters.
    Deflate(Offer),
    /// Another extension, well-formed or not: not ours to judge.
    Other,
    /// A syntax error, or a `permessage-deflate` offer to decline.
    Invalid,
}

/// The elements of one `Sec-WebSocket-Extensions` field (RFC 6455 9.1):
///
/// ```text
/// extension-list = 1#extension
/// extension = extension-token *( ";" extension-param )
/// extension-param = token [ "=" (token | quoted-string) ]
/// ```
///
/// with optional whitespace around the separators, and empty list elements allowed
/// (RFC 9110 5.6.1). An element spans no more than one field.
struct Elements<'a> {
    s: &'a [u8],
    pos: usize,
}

impl<'a> Elements<'a> {
    fn new(s: &'a [u8]) -> Elements<'a> {
        Elements { s, pos: 0 }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }

    /// One or more tchars.
    fn token(&mut self) -> Option<&'a [u8]> {
        let start = self.pos;
        while self.peek().is_some_and(is_tchar) {
            self.pos += 1;
        }
        self.s.get(start..self.pos).filter(|t| !t.is_empty())
    }

    /// A quoted-string (RFC 9110 5.6.4) starting at the cursor: its inside, escapes left
    /// in. On failure the cursor is back at the opening quote, so that [`Self::resync`]
    /// skips the string as a string.
    fn quoted(&mut self) -> Option<&'a [u8]> {
        let start = self.pos;
        if !self.eat(b'"') {
            return None;
        }
        loop {
            match self.peek() {
                Some(b'"') => {
                    let inside = self.s.get(start + 1..self.pos);
                    self.pos += 1;
                    return inside;
                }
                Some(b'\\') => {
                    self.pos += 1;
                    match self.peek() {
                        Some(b) if is_qdtext(b) || b == b'"' || b == b'\\' => self.pos += 1,
                        _ => break,
                    }
                }
                Some(b) if is_qdtext(b) => self.pos += 1,
                _ => break,
            }
        }
        self.pos = start;
        None
    }

    /// Moves to the next comma outside a quoted-string, or to the end.
    fn resync(&mut self) {
        let mut quoted = false;
        let mut escaped = false;
        while let Some(b) = self.peek() {
            match (quoted, escaped, b) {
                (false, _, b',') => return,
                (false, _, b'"') => quoted = true,
                (true, false, b'\\') => {
                    escaped = true;
                    self.pos += 1;
                    continue;
                }
                (true, false, b'"') => quoted = false,
                _ => {}
            }
            escaped = false;
            self.pos += 1;
        }
    }

    /// Parses one element from the cursor, leaving it after the element's last parameter.
    fn element(&mut self) -> Element {
        let Some(name) = self.token() else {
            return Element::Invalid;
        };
        let ours = name.eq_ignore_ascii_case(EXTENSION.as_bytes());
        let mut offer = Offer::default();
        let mut declined = false;
        loop {
            self.skip_ows();
            if !self.eat(b';') {
                break;
            }
            self.skip_ows();
            let Some(param) = self.token() else {
                return Element::Invalid;
            };
            self.skip_ows();
            let value = if self.eat(b'=') {
                self.skip_ows();
                let value = if self.peek() == Some(b'"') {
                    self.quoted().map(Value::Quoted)
                } else {
                    self.token().map(Value::Token)
                };
                match value {
                    Some(value) => Some(value),
                    None => return Element::Invalid,
                }
            } else {
                None
            };
            // Parsing goes on after a decline, to find where the element ends.
            if ours && !declined && offer.add(param, value).is_err() {
                declined = true;
            }
        }
        match (ours, declined) {
            (false, _) => Element::Other,
            (true, true) => Element::Invalid,
            (true, false) => Element::Deflate(offer),
        }
    }
}

impl Iterator for Elements<'_> {
    type Item = Element;

    fn next(&mut self) -> Option<Element> {
        loop {
            self.skip_ows();
            self.peek()?;
            if self.eat(b',') {
                // An empty element.
                continue;
            }
            let mut element = self.element();
            self.skip_ows();
            if !matches!(self.peek(), None | Some(b',')) {
                element = Element::Invalid;
            }
            self.resync();
            return Some(element);
        }
    }
}

/// `qdtext` of RFC 9110 5.6.4, and what a quoted-pair may escape besides `"` and `\`.
fn is_qdtext(b: u8) -> bool {
    matches!(b, b'\t' | b' ' | 0x21 | 0x23..=0x5b | 0x5d..=0x7e | 0x80..=0xff)
}

/// A message payload ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outgoing {
    /// What goes in the frame(s).
    pub(crate) payload: Bytes,
    /// [`RSV1`] if `payload` is compressed, else 0: set on the message's first frame only.
    pub(crate) rsv: u8,
}

/// Compresses the server's messages for one connection.
#[derive(Debug)]
pub(crate) struct Compressor {
    /// Allocated at the first message worth compressing.
    deflate: Option<Compress>,
    level: Compression,
    /// zlib's window bits, 9 to 15: the agreed window, 8 run as 9.
    window_bits: u8,
    no_context_takeover: bool,
    min_len: usize,
}

impl Compressor {
    /// A compressor keeping to `params`, at `config`'s level and threshold.
    pub(crate) fn new(params: &DeflateParams, config: &DeflateConfig) -> Compressor {
        Compressor {
            deflate: None,
            level: Compression::new(config.level.min(9)),
            // flate2 panics outside 9..=15: the clamp is what keeps it from doing so.
            window_bits: params
                .server_max_window_bits
                .clamp(MIN_ZLIB_WINDOW_BITS, MAX_WINDOW_BITS),
            no_context_takeover: params.server_no_context_takeover,
            min_len: config.min_compress_len,
        }
    }

    /// The payload of a text or binary message as it is to be sent: compressed, with
    /// [`RSV1`], or as given (no copy) with 0. The message may then be sent in one frame
    /// or fragmented; only its first frame carries the RSV bits.
    ///
    /// Compressing cannot fail on any input; if the engine ever reported an error, the
    /// message goes out uncompressed and the compressor starts afresh, which the client's
    /// inflater, never having seen the failed attempt, is in step with.
    pub(crate) fn compress(&mut self, payload: Bytes) -> Outgoing {
        let plain = |payload| Outgoing { payload, rsv: 0 };
        if payload.len() < self.min_len {
            return plain(payload);
        }
        let (level, window_bits) = (self.level, self.window_bits);
        let deflate = self
            .deflate
            .get_or_insert_with(|| Compress::new_with_window_bits(level, false, window_bits));
        let compressed = deflate_message(deflate, &payload);
        if compressed.is_none() || self.no_context_takeover {
            deflate.reset();
        }
        // Compressed even when it did not shrink (a few bytes at most, for random data):
        // RFC 7692 allows an uncompressed message in a compressing session, but some
        // clients mishandle one (the kosoku Autobahn driver hands it on as a string).
        match compressed {
            Some(data) => Outgoing {
                payload: Bytes::from(data),
                rsv: RSV1,
            },
            None => plain(payload),
        }
    }
}

/// Deflates `input` with a sync flush and cuts off the flush's empty stored block: the
/// payload of a compressed message (RFC 7692 7.2.1). `None` if the engine failed.
fn deflate_message(deflate: &mut Compress, input: &[u8]) -> Option<Vec<u8>> {
    // Text usually shrinks to under half. When it does not, the buffer grows by half of
    // what is left to compress: a few steps, and little room to spare at the end.
    let mut out = Vec::with_capacity(input.len() / 2 + 64);
    let mut rest = input;
    loop {
        if out.len() == out.capacity() {
            out.reserve(rest.len() / 2 + 64);
        }
        let (in_before, out_before) = (deflate.total_in(), out.len());
        deflate
            .compress_vec(rest, &mut out, FlushCompress::Sync)
            .ok()?;
        let consumed = usize::try_from(deflate.total_in().checked_sub(in_before)?).ok()?;
        rest = rest.get(consumed..)?;
        // The flush is complete once all input is in and the output did not fill up: zlib
        // only stops short of the end of a flush for want of room.
        if rest.is_empty() && out.len() < out.capacity() {
            break;
        }
        if consumed == 0 && out.len() == out_before {
            // No progress with room and input: an engine fault, not a loop to spin in.
            return None;
        }
    }
    if !out.ends_with(&TAIL) {
        return None;
    }
    out.truncate(out.len() - TAIL.len());
    // The payload may wait in the write buffer behind a slow client: do not let it hold
    // twice its size.
    if out.capacity() - out.len() > out.len() + 4096 {
        out.shrink_to_fit();
    }
    Some(out)
}

/// Inflates the client's compressed messages for one connection.
#[derive(Debug)]
pub(crate) struct Inflater {
    /// Allocated at the first compressed message.
    inflate: Option<Decompress>,
    /// Reset after each message: `client_no_context_takeover` was agreed.
    no_context_takeover: bool,
    /// The deflate stream ended (a BFINAL block) inside the current message.
    ended: bool,
}

impl Inflater {
    /// An inflater keeping to `params`. Its window is always 15 bits, enough for whatever
    /// window the client compresses with.
    pub(crate) fn new(params: &DeflateParams) -> Inflater {
        Inflater {
            inflate: None,
            no_context_takeover: params.client_no_context_takeover,
            ended: false,
        }
    }

    /// Inflates the payload of the next frame of a compressed message, appending to `out`,
    /// which holds what the message's earlier frames gave (empty for the first frame).
    /// `last` is the frame's FIN: the end of the message's data is then marked and the
    /// inflater made ready for the next message.
    ///
    /// `check` sees each piece of new output as it is produced, so that text can be
    /// validated before more is inflated; its error is returned as is.
    ///
    /// If `out` would pass `max` bytes, inflating stops at once with
    /// [`WsError::MessageTooLarge`]: `out` is never grown past `max + 1` bytes, and never
    /// gets more than that. Invalid data is [`WsError::InvalidCompressedData`]. After an
    /// error the connection is to be failed; the inflater is reset all the same.
    pub(crate) fn inflate<F>(
        &mut self,
        input: &[u8],
        last: bool,
        out: &mut Vec<u8>,
        max: usize,
        mut check: F,
    ) -> Result<(), WsError>
    where
        F: FnMut(&[u8]) -> Result<(), WsError>,
    {
        let result = self.inflate_frame(input, last, out, max, &mut check);
        if result.is_err() || last {
            self.end_message();
        }
        result
    }

    fn inflate_frame(
        &mut self,
        input: &[u8],
        last: bool,
        out: &mut Vec<u8>,
        max: usize,
        check: &mut dyn FnMut(&[u8]) -> Result<(), WsError>,
    ) -> Result<(), WsError> {
        if self.ended {
            // The stream ended earlier in this message: the rest is not deflate data.
            return Ok(());
        }
        let inflate = self.inflate.get_or_insert_with(|| Decompress::new(false));
        let pieces = [
            (input, FlushDecompress::None),
            (&TAIL[..], FlushDecompress::Sync),
        ];
        let pieces = pieces.get(..if last { 2 } else { 1 }).unwrap_or_default();
        for &(piece, flush) in pieces {
            if inflate_piece(inflate, piece, flush, out, max, check)? {
                self.ended = true;
                break;
            }
        }
        Ok(())
    }

    /// Gets ready for the next message: the window is dropped if the client said it would
    /// not refer to it, or if the stream ended (a new one starts with the next message).
    fn end_message(&mut self) {
        if self.no_context_takeover || self.ended {
            if let Some(inflate) = self.inflate.as_mut() {
                inflate.reset(false);
            }
        }
        self.ended = false;
    }

    /// Bytes of compressed input consumed since the last reset: for tests.
    #[cfg(test)]
    fn total_in(&self) -> u64 {
        self.inflate.as_ref().map_or(0, Decompress::total_in)
    }
}

/// Inflates one piece of input into `out` within `max`. `Ok(true)` if the deflate stream
/// ended in it.
fn inflate_piece(
    inflate: &mut Decompress,
    mut input: &[u8],
    flush: FlushDecompress,
    out: &mut Vec<u8>,
    max: usize,
    check: &mut dyn FnMut(&[u8]) -> Result<(), WsError>,
) -> Result<bool, WsError> {
    let too_large = WsError::MessageTooLarge { max };
    // One byte past the limit is enough to prove a message too large.
    let limit = max.saturating_add(1);
    loop {
        if out.len() == out.capacity() {
            // Double, but never past the limit: the whole cost of a bomb is `limit` bytes.
            let room = limit
                .checked_sub(out.len())
                .filter(|&r| r > 0)
                .ok_or(too_large)?;
            let want = out
                .len()
                .max(input.len().saturating_mul(4))
                .max(FIRST_INFLATE_BUFFER)
                .min(room);
            out.reserve_exact(want);
        }
        let (in_before, out_before) = (inflate.total_in(), out.len());
        let status = inflate
            .decompress_vec(input, out, flush)
            .map_err(|_| WsError::InvalidCompressedData)?;
        let consumed = inflate
            .total_in()
            .checked_sub(in_before)
            .and_then(|n| usize::try_from(n).ok())
            .ok_or(WsError::InvalidCompressedData)?;
        input = input
            .get(consumed..)
            .ok_or(WsError::InvalidCompressedData)?;
        if out.len() > max {
            return Err(too_large);
        }
        check(out.get(out_before..).unwrap_or_default())?;
        if status == Status::StreamEnd {
            return Ok(true);
        }
        // Done once all input is in and the output did not fill up: zlib only stops short
        // of the output the input makes for want of room.
        let room_left = out.len() < out.capacity();
        if input.is_empty() && room_left {
            return Ok(false);
        }
        if consumed == 0 && out.len() == out_before && room_left {
            // Input and room, yet no progress: not data zlib can make sense of.
            return Err(WsError::InvalidCompressedData);
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;
    use http::header::SEC_WEBSOCKET_EXTENSIONS;

    use super::super::close::CloseCode;
    use super::super::frame::{decode, encode_masked, Decoded, Frame, Opcode};
    use super::super::message::{Assembler, Message};
    use super::super::tests::XorShift;
    use super::*;

    const MAX: usize = 1 << 22;

    // ---- Helpers ----

    fn offer(values: &[&str]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for value in values {
            map.append(
                SEC_WEBSOCKET_EXTENSIONS,
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    /// The answer to `values` under the default configuration.
    fn answer(values: &[&str]) -> Option<String> {
        answer_with(values, &DeflateConfig::default())
    }

    fn answer_with(values: &[&str], config: &DeflateConfig) -> Option<String> {
        negotiate(&offer(values), config).map(|n| n.response.to_str().unwrap().to_owned())
    }

    fn params(values: &[&str]) -> DeflateParams {
        negotiate(&offer(values), &DeflateConfig::default())
            .unwrap()
            .params
    }

    /// Inflates one message given as its frames' payloads.
    fn inflate(inflater: &mut Inflater, frames: &[&[u8]], max: usize) -> Result<Vec<u8>, WsError> {
        let mut out = Vec::new();
        for (i, frame) in frames.iter().enumerate() {
            inflater.inflate(frame, i + 1 == frames.len(), &mut out, max, |_| Ok(()))?;
        }
        Ok(out)
    }

    fn inflater() -> Inflater {
        Inflater::new(&DeflateParams::default())
    }

    fn config(min_compress_len: usize) -> DeflateConfig {
        DeflateConfig {
            min_compress_len,
            ..DeflateConfig::default()
        }
    }

    /// Text that compresses like text: words from a small vocabulary.
    fn wordy(rng: &mut XorShift, len: usize) -> Vec<u8> {
        const WORDS: [&str; 12] = [
            "the", "server", "sends", "frames", "{\"id\":", "42,", "\"rx\":", "1337}", "\n",
            "deflate", "window", "héllo",
        ];
        let mut out = Vec::with_capacity(len + 16);
        while out.len() < len {
            out.extend_from_slice(WORDS[rng.below(12) as usize].as_bytes());
            out.push(b' ');
        }
        out.truncate(len);
        out
    }

    // ---- RFC 7692 7.2.3: the examples ----

    const HELLO: &[u8] = &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
    const HELLO_AGAIN: &[u8] = &[0xf2, 0x00, 0x11, 0x00, 0x00];

    #[test]
    fn rfc_hello_inflates() {
        assert_eq!(inflate(&mut inflater(), &[HELLO], MAX).unwrap(), b"Hello");
    }

    #[test]
    fn rfc_hello_in_two_fragments_inflates() {
        let (first, second) = HELLO.split_at(3);
        assert_eq!(first, [0xf2, 0x48, 0xcd]);
        assert_eq!(
            inflate(&mut inflater(), &[first, second], MAX).unwrap(),
            b"Hello"
        );
        // And in every other cut, down to single bytes and empty fragments.
        for cut in 0..=HELLO.len() {
            let (a, b) = HELLO.split_at(cut);
            assert_eq!(
                inflate(&mut inflater(), &[a, &[], b], MAX).unwrap(),
                b"Hello"
            );
        }
        let bytes: Vec<&[u8]> = HELLO.chunks(1).collect();
        assert_eq!(inflate(&mut inflater(), &bytes, MAX).unwrap(), b"Hello");
    }

    #[test]
    fn rfc_hello_twice_shares_the_window() {
        let mut inflater = inflater();
        assert_eq!(inflate(&mut inflater, &[HELLO], MAX).unwrap(), b"Hello");
        assert_eq!(
            inflate(&mut inflater, &[HELLO_AGAIN], MAX).unwrap(),
            b"Hello"
        );
        // The second message refers back to the first: alone, it does not inflate.
        assert_eq!(
            inflate(&mut self::inflater(), &[HELLO_AGAIN], MAX),
            Err(WsError::InvalidCompressedData)
        );
    }

    #[test]
    fn client_no_context_takeover_resets_the_window() {
        let mut inflater = Inflater::new(&DeflateParams {
            client_no_context_takeover: true,
            ..DeflateParams::default()
        });
        assert_eq!(inflate(&mut inflater, &[HELLO], MAX).unwrap(), b"Hello");
        assert_eq!(
            inflate(&mut inflater, &[HELLO_AGAIN], MAX),
            Err(WsError::InvalidCompressedData)
        );
        // Self-contained messages keep working.
        let mut inflater = Inflater::new(&DeflateParams {
            client_no_context_takeover: true,
            ..DeflateParams::default()
        });
        for _ in 0..3 {
            assert_eq!(inflate(&mut inflater, &[HELLO], MAX).unwrap(), b"Hello");
        }
    }

    #[test]
    fn rfc_stored_block_inflates() {
        let stored = [
            0x00, 0x05, 0x00, 0xfa, 0xff, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x00,
        ];
        assert_eq!(inflate(&mut inflater(), &[&stored], MAX).unwrap(), b"Hello");
    }

    #[test]
    fn rfc_bfinal_block_inflates_and_the_next_message_starts_afresh() {
        let bfinal = [0xf3, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00, 0x00];
        let mut inflater = inflater();
        assert_eq!(inflate(&mut inflater, &[&bfinal], MAX).unwrap(), b"Hello");
        // Whatever follows the final block in the same message is not inflated.
        assert_eq!(
            inflate(&mut inflater, &[&bfinal[..7], &[0xff, 0xff]], MAX).unwrap(),
            b"Hello"
        );
        assert_eq!(inflate(&mut inflater, &[HELLO], MAX).unwrap(), b"Hello");
    }

    #[test]
    fn empty_compressed_message_inflates_to_nothing() {
        assert_eq!(inflate(&mut inflater(), &[&[]], MAX).unwrap(), b"");
        assert_eq!(inflate(&mut inflater(), &[&[0x00]], MAX).unwrap(), b"");
    }

    #[test]
    fn hello_compresses_to_the_rfc_bytes() {
        let mut compressor = Compressor::new(&DeflateParams::default(), &config(0));
        let first = compressor.compress(Bytes::from_static(b"Hello"));
        assert_eq!((&first.payload[..], first.rsv), (HELLO, RSV1));
        let second = compressor.compress(Bytes::from_static(b"Hello"));
        assert_eq!((&second.payload[..], second.rsv), (HELLO_AGAIN, RSV1));

        // Without context takeover each is compressed alone, to the same bytes.
        let params = DeflateParams {
            server_no_context_takeover: true,
            ..DeflateParams::default()
        };
        let mut compressor = Compressor::new(&params, &config(0));
        for _ in 0..2 {
            let out = compressor.compress(Bytes::from_static(b"Hello"));
            assert_eq!((&out.payload[..], out.rsv), (HELLO, RSV1));
        }
    }

    // ---- Compressing ----

    #[test]
    fn short_messages_go_out_as_they_are() {
        let mut compressor = Compressor::new(&DeflateParams::default(), &config(16));
        let short = Bytes::from_static(b"fifteen bytes!!");
        let out = compressor.compress(short.clone());
        assert_eq!(out.rsv, 0);
        assert_eq!(out.payload.as_ptr(), short.as_ptr());
        assert!(
            compressor.deflate.is_none(),
            "nothing allocated for short messages"
        );
        let long = Bytes::from(vec![b'a'; 16]);
        let out = compressor.compress(long);
        assert_eq!(out.rsv, RSV1);
        assert!(out.payload.len() < 16);
    }

    #[test]
    fn incompressible_messages_cost_a_few_bytes() {
        let data = Bytes::from(XorShift::new(3).bytes(1000));
        for no_context_takeover in [false, true] {
            let params = DeflateParams {
                server_no_context_takeover: no_context_takeover,
                ..DeflateParams::default()
            };
            let out = Compressor::new(&params, &config(0)).compress(data.clone());
            assert_eq!(out.rsv, RSV1);
            assert!(out.payload.len() <= data.len() + 8, "{}", out.payload.len());
        }
    }

    /// Compresses `messages` and inflates them back, as both sides of a connection.
    fn round_trip(params: &DeflateParams, config: &DeflateConfig, messages: &[Vec<u8>]) -> usize {
        let mut compressor = Compressor::new(params, config);
        let mut inflater = Inflater::new(params);
        let mut wire = 0;
        for (i, message) in messages.iter().enumerate() {
            let out = compressor.compress(Bytes::from(message.clone()));
            wire += out.payload.len();
            let got = if out.rsv == RSV1 {
                // Fragmented differently each time, from one piece to many.
                let size = (out.payload.len() / (i % 5 + 1)).max(1);
                let pieces: Vec<&[u8]> = out.payload.chunks(size).collect();
                let pieces = if pieces.is_empty() {
                    vec![&[][..]]
                } else {
                    pieces
                };
                inflate(&mut inflater, &pieces, MAX).unwrap()
            } else {
                out.payload.to_vec()
            };
            assert!(got == *message, "message {i} of {params:?} {config:?}");
        }
        wire
    }

    #[test]
    fn round_trips_with_and_without_context_takeover() {
        let mut rng = XorShift::new(0xdef1a7e);
        let messages: Vec<Vec<u8>> = (0..40)
            .map(|i| {
                let len = [0, 1, 15, 16, 17, 100, 1000, 5000][i % 8];
                if i % 3 == 0 {
                    rng.bytes(len)
                } else {
                    wordy(&mut rng, len)
                }
            })
            .collect();
        for server_no_context_takeover in [false, true] {
            for bits in MIN_WINDOW_BITS..=MAX_WINDOW_BITS {
                for level in [0, 1, 6, 9] {
                    let params = DeflateParams {
                        server_no_context_takeover,
                        client_no_context_takeover: server_no_context_takeover,
                        server_max_window_bits: bits,
                    };
                    let config = DeflateConfig { level, ..config(0) };
                    round_trip(&params, &config, &messages);
                }
            }
        }
        // Context takeover is worth something on similar messages.
        let similar: Vec<Vec<u8>> = (0..20).map(|_| wordy(&mut rng, 200)).collect();
        let with = round_trip(&DeflateParams::default(), &config(0), &similar);
        let without = round_trip(
            &DeflateParams {
                server_no_context_takeover: true,
                ..DeflateParams::default()
            },
            &config(0),
            &similar,
        );
        assert!(with < without, "{with} >= {without}");
    }

    #[test]
    fn large_messages_round_trip() {
        let mut rng = XorShift::new(99);
        let random = rng.bytes(1 << 20);
        let repetitive: Vec<u8> = b"0123456789abcdef"
            .iter()
            .cycle()
            .take(1 << 20)
            .copied()
            .collect();
        let text = wordy(&mut rng, 1 << 20);
        for params in [
            DeflateParams::default(),
            DeflateParams {
                server_no_context_takeover: true,
                client_no_context_takeover: true,
                server_max_window_bits: 9,
            },
        ] {
            let messages = [
                random.clone(),
                repetitive.clone(),
                text.clone(),
                repetitive.clone(),
            ];
            round_trip(&params, &DeflateConfig::default(), &messages);
        }
        let out = Compressor::new(&DeflateParams::default(), &DeflateConfig::default())
            .compress(Bytes::from(repetitive));
        assert!(out.payload.len() < 8 << 10, "{}", out.payload.len());
    }

    /// Bits of a deflate stream, least significant first (RFC 1951 3.1.1).
    struct BitReader<'a> {
        data: &'a [u8],
        pos: usize,
    }

    impl BitReader<'_> {
        fn bits(&mut self, n: u32) -> Option<usize> {
            let mut value = 0;
            for i in 0..n {
                let byte = *self.data.get(self.pos / 8)?;
                value |= usize::from((byte >> (self.pos % 8)) & 1) << i;
                self.pos += 1;
            }
            Some(value)
        }
    }

    /// A canonical Huffman code (RFC 1951 3.2.2): how many codes of each length, and the
    /// symbols in code order.
    struct Huffman {
        counts: [usize; 16],
        symbols: Vec<usize>,
    }

    impl Huffman {
        fn new(lengths: &[usize]) -> Huffman {
            let mut counts = [0; 16];
            for &len in lengths {
                counts[len] += 1;
            }
            counts[0] = 0;
            let mut symbols = Vec::new();
            for len in 1..16 {
                symbols.extend((0..lengths.len()).filter(|&s| lengths[s] == len));
            }
            Huffman { counts, symbols }
        }

        /// Reads one symbol, a bit at a time: codes of each length are consecutive.
        fn decode(&self, bits: &mut BitReader<'_>) -> Option<usize> {
            let (mut code, mut first, mut index) = (0, 0, 0);
            for len in 1..16 {
                code |= bits.bits(1)?;
                let count = self.counts[len];
                if code < first + count {
                    return self.symbols.get(index + code - first).copied();
                }
                index += count;
                first = (first + count) << 1;
                code <<= 1;
            }
            None
        }
    }

    /// Inflates a compressed message's payload (the flush's empty block put back) after
    /// the messages in `history`, with a decoder written for this test from RFC 1951, and
    /// returns the output and the longest back-reference it met. zlib-rs cannot tell: its
    /// inflater always keeps a 32 KiB window, whatever window size it is given.
    fn inflate_and_measure(history: &[u8], payload: &[u8]) -> Option<(Vec<u8>, usize)> {
        const LEN_BASE: [usize; 29] = [
            3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99,
            115, 131, 163, 195, 227, 258,
        ];
        const LEN_EXTRA: [u32; 29] = [
            0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
        ];
        const DIST_BASE: [usize; 30] = [
            1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025,
            1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577,
        ];
        const DIST_EXTRA: [u32; 30] = [
            0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12,
            12, 13, 13,
        ];
        const CODE_LENGTH_ORDER: [usize; 19] = [
            16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
        ];

        let data = [payload, &TAIL].concat();
        let mut bits = BitReader {
            data: &data,
            pos: 0,
        };
        let mut out: Vec<u8> = history.to_vec();
        let mut longest = 0;
        while bits.pos < data.len() * 8 {
            let last = bits.bits(1)?;
            let (lit, dist) = match bits.bits(2)? {
                0 => {
                    bits.pos = bits.pos.div_ceil(8) * 8;
                    let len = bits.bits(16)?;
                    if bits.bits(16)? != !len & 0xffff {
                        return None;
                    }
                    let start = bits.pos / 8;
                    out.extend_from_slice(data.get(start..start + len)?);
                    bits.pos += len * 8;
                    if last == 1 {
                        break;
                    }
                    continue;
                }
                1 => {
                    let mut lengths = [8; 288];
                    lengths[144..256].fill(9);
                    lengths[256..280].fill(7);
                    (Huffman::new(&lengths), Huffman::new(&[5; 30]))
                }
                2 => {
                    let nlen = bits.bits(5)? + 257;
                    let ndist = bits.bits(5)? + 1;
                    let ncode = bits.bits(4)? + 4;
                    let mut code_lengths = [0; 19];
                    for &i in &CODE_LENGTH_ORDER[..ncode] {
                        code_lengths[i] = bits.bits(3)?;
                    }
                    let code = Huffman::new(&code_lengths);
                    let mut lengths = Vec::new();
                    while lengths.len() < nlen + ndist {
                        match code.decode(&mut bits)? {
                            len @ 0..=15 => lengths.push(len),
                            16 => {
                                let prev = *lengths.last()?;
                                let n = 3 + bits.bits(2)?;
                                lengths.extend(std::iter::repeat_n(prev, n));
                            }
                            17 => {
                                let n = 3 + bits.bits(3)?;
                                lengths.extend(std::iter::repeat_n(0, n));
                            }
                            _ => {
                                let n = 11 + bits.bits(7)?;
                                lengths.extend(std::iter::repeat_n(0, n));
                            }
                        }
                    }
                    (
                        Huffman::new(&lengths[..nlen]),
                        Huffman::new(lengths.get(nlen..nlen + ndist)?),
                    )
                }
                _ => return None,
            };
            loop {
                match lit.decode(&mut bits)? {
                    byte @ 0..=255 => out.push(byte as u8),
                    256 => break,
                    symbol => {
                        let i = symbol - 257;
                        let len = LEN_BASE.get(i)? + bits.bits(*LEN_EXTRA.get(i)?)?;
                        let d = dist.decode(&mut bits)?;
                        let distance = DIST_BASE.get(d)? + bits.bits(*DIST_EXTRA.get(d)?)?;
                        longest = longest.max(distance);
                        let from = out.len().checked_sub(distance)?;
                        for k in 0..len {
                            out.push(out[from + k]);
                        }
                    }
                }
            }
            if last == 1 {
                break;
            }
        }
        Some((out.split_off(history.len()), longest))
    }

    #[test]
    fn the_test_decoder_agrees_with_the_rfc_and_zlib() {
        assert_eq!(
            inflate_and_measure(&[], HELLO),
            Some((b"Hello".to_vec(), 0))
        );
        let mut rng = XorShift::new(4);
        let data = wordy(&mut rng, 100_000);
        let out = Compressor::new(&DeflateParams::default(), &config(0))
            .compress(Bytes::from(data.clone()));
        let (inflated, longest) = inflate_and_measure(&[], &out.payload).unwrap();
        assert_eq!(inflated, data);
        assert!(longest > 1000, "{longest}");
        let stored = Compressor::new(
            &DeflateParams::default(),
            &DeflateConfig {
                level: 0,
                ..config(0)
            },
        )
        .compress(Bytes::from(data.clone()));
        assert_eq!(
            inflate_and_measure(&[], &stored.payload).unwrap(),
            (data, 0)
        );
    }

    #[test]
    fn window_8_output_inflates_with_a_256_byte_window() {
        // Repeats at distances from 200 to 400: a 512-byte window could use those past
        // 256, which a client with a 256-byte window cannot follow.
        let mut rng = XorShift::new(8);
        let mut data = Vec::new();
        for distance in (200..400).step_by(7) {
            let block = wordy(&mut rng, distance);
            data.extend_from_slice(&block);
            data.extend_from_slice(&block);
        }
        data.extend_from_slice(&[b'z'; 5000]);
        data.extend_from_slice(&rng.bytes(3000));

        let params = negotiate(
            &offer(&["permessage-deflate; server_max_window_bits=8"]),
            &DeflateConfig::default(),
        )
        .unwrap()
        .params;
        assert_eq!(params.server_max_window_bits, 8);
        let mut reach = 0;
        for server_no_context_takeover in [false, true] {
            let params = DeflateParams {
                server_no_context_takeover,
                ..params
            };
            for level in 1..=9 {
                let config = DeflateConfig { level, ..config(0) };
                let mut compressor = Compressor::new(&params, &config);
                assert_eq!(compressor.window_bits, 9);
                // Twice: the second message may refer back to the first, and a reset
                // must keep the window size.
                let mut history: &[u8] = &[];
                for _ in 0..2 {
                    let out = compressor.compress(Bytes::from(data.clone()));
                    assert_eq!(out.rsv, RSV1);
                    assert!(out.payload.len() < data.len() / 2, "level {level}");
                    let (inflated, longest) = inflate_and_measure(history, &out.payload).unwrap();
                    assert_eq!(inflated, data);
                    assert!(longest <= 250, "level {level}: a reference {longest} back");
                    reach = reach.max(longest);
                    if !server_no_context_takeover {
                        history = &data;
                    }
                }
            }
        }

        // The compressor went as far as it may: the bound was tested, not avoided.
        assert!(reach > 240, "{reach}");

        // The measure catches what it is meant to: a 10-bit window uses the far repeats.
        let wide = DeflateParams {
            server_max_window_bits: 10,
            ..DeflateParams::default()
        };
        let out = Compressor::new(&wide, &config(0)).compress(Bytes::from(data.clone()));
        let (inflated, longest) = inflate_and_measure(&[], &out.payload).unwrap();
        assert_eq!(inflated, data);
        assert!((257..=1024).contains(&longest), "{longest}");
    }

    // ---- Inflating within bounds ----

    fn zeros_compressed(len: usize) -> Bytes {
        Compressor::new(
            &DeflateParams::default(),
            &DeflateConfig {
                level: 9,
                ..config(0)
            },
        )
        .compress(Bytes::from(vec![0; len]))
        .payload
    }

    #[test]
    fn a_bomb_stops_at_the_limit() {
        let bomb = zeros_compressed(16 << 20);
        assert!(bomb.len() < 20 << 10, "{}", bomb.len());
        let max = 64 << 10;
        let mut inflater = inflater();
        let mut out = Vec::new();
        let err = inflater
            .inflate(&bomb, true, &mut out, max, |_| Ok(()))
            .unwrap_err();
        assert_eq!(err, WsError::MessageTooLarge { max });
        assert_eq!(err.code(), CloseCode::MESSAGE_TOO_BIG);
        // It stopped at once: the output never had room past the limit's one extra byte,
        // and about max / 1032 bytes of the input were read (deflate's best ratio), not
        // the whole of it.
        assert!(out.capacity() <= max + 1, "{}", out.capacity());
        assert!(out.len() > max);
        let read = inflater.total_in();
        assert!(read < 1024, "{read} of {} bytes read", bomb.len());

        // Arriving in small frames, it is stopped at the frame that passes the limit.
        let mut inflater = self::inflater();
        let mut out = Vec::new();
        let frames: Vec<&[u8]> = bomb.chunks(16).collect();
        let failed_at = frames
            .iter()
            .position(|frame| {
                inflater
                    .inflate(frame, false, &mut out, max, |_| Ok(()))
                    .is_err()
            })
            .unwrap();
        assert!(failed_at * 16 < 1024, "frame {failed_at}");
        assert!(out.capacity() <= max + 1);
    }

    #[test]
    fn the_limit_is_inclusive() {
        for max in [0, 1, 255, 256, 257, 5000] {
            let exact = zeros_compressed(max);
            let mut out = Vec::new();
            inflater()
                .inflate(&exact, true, &mut out, max, |_| Ok(()))
                .unwrap();
            assert_eq!(out.len(), max);
            let over = zeros_compressed(max + 1);
            assert_eq!(
                inflater().inflate(&over, true, &mut Vec::new(), max, |_| Ok(())),
                Err(WsError::MessageTooLarge { max })
            );
        }
    }

    #[test]
    fn corrupt_data_is_an_invalid_payload() {
        for corrupt in [
            &[0xff, 0xff, 0xff][..],         // block type 3, reserved
            &[0x00, 0x05, 0x00, 0x00, 0x00], // stored length and its complement disagree
            &[0xf2, 0x00, 0x11, 0x00, 0x00], // a reference before the start
        ] {
            let err = inflate(&mut inflater(), &[corrupt], MAX).unwrap_err();
            assert_eq!(err, WsError::InvalidCompressedData, "{corrupt:02x?}");
            assert_eq!(err.code(), CloseCode::INVALID_PAYLOAD);
        }
    }

    #[test]
    fn random_input_never_panics() {
        let mut rng = XorShift::new(0xbad);
        let mut inflater = inflater();
        for _ in 0..3000 {
            let len = rng.below(64) as usize;
            let data = rng.bytes(len);
            let cut = rng.below(len as u64 + 1) as usize;
            match inflate(&mut inflater, &[&data[..cut], &data[cut..]], 1000) {
                Ok(out) => assert!(out.len() <= 1000),
                Err(WsError::InvalidCompressedData | WsError::MessageTooLarge { max: 1000 }) => {}
                Err(other) => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn check_sees_the_output_as_it_comes() {
        let data = wordy(&mut XorShift::new(5), 100_000);
        let compressed = Compressor::new(&DeflateParams::default(), &config(0))
            .compress(Bytes::from(data.clone()))
            .payload;
        let mut seen = Vec::new();
        let mut calls = 0;
        let mut out = Vec::new();
        inflater()
            .inflate(&compressed, true, &mut out, MAX, |new| {
                calls += 1;
                seen.extend_from_slice(new);
                Ok(())
            })
            .unwrap();
        assert_eq!(seen, data);
        assert_eq!(out, data);
        assert!(calls > 1);
        // Its error stops inflating where it was raised.
        let mut out = Vec::new();
        let err = inflater().inflate(&compressed, true, &mut out, MAX, |_| {
            Err(WsError::InvalidUtf8)
        });
        assert_eq!(err, Err(WsError::InvalidUtf8));
        assert!(out.len() < data.len());
    }

    // ---- Negotiation ----

    #[test]
    fn plain_offer() {
        assert_eq!(
            answer(&["permessage-deflate"]).unwrap(),
            "permessage-deflate"
        );
        assert_eq!(params(&["permessage-deflate"]), DeflateParams::default());
        // Names ignore case, as the handshake's detection does.
        assert_eq!(
            answer(&["PerMessage-Deflate"]).unwrap(),
            "permessage-deflate"
        );
    }

    #[test]
    fn each_parameter() {
        for (offer, response, expected) in [
            (
                "permessage-deflate; server_no_context_takeover",
                "permessage-deflate; server_no_context_takeover",
                DeflateParams {
                    server_no_context_takeover: true,
                    ..DeflateParams::default()
                },
            ),
            (
                "permessage-deflate; client_no_context_takeover",
                "permessage-deflate; client_no_context_takeover",
                DeflateParams {
                    client_no_context_takeover: true,
                    ..DeflateParams::default()
                },
            ),
            (
                "permessage-deflate; server_max_window_bits=10",
                "permessage-deflate; server_max_window_bits=10",
                DeflateParams {
                    server_max_window_bits: 10,
                    ..DeflateParams::default()
                },
            ),
            (
                "permessage-deflate; server_max_window_bits=15",
                "permessage-deflate; server_max_window_bits=15",
                DeflateParams::default(),
            ),
            (
                "permessage-deflate; server_max_window_bits=8",
                "permessage-deflate; server_max_window_bits=8",
                DeflateParams {
                    server_max_window_bits: 8,
                    ..DeflateParams::default()
                },
            ),
            // Never answered: the inflater takes any window.
            (
                "permessage-deflate; client_max_window_bits",
                "permessage-deflate",
                DeflateParams::default(),
            ),
            (
                "permessage-deflate; client_max_window_bits=9",
                "permessage-deflate",
                DeflateParams::default(),
            ),
            (
                "permessage-deflate;client_max_window_bits=8;server_max_window_bits=9;\
                 client_no_context_takeover;server_no_context_takeover",
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                 server_max_window_bits=9",
                DeflateParams {
                    server_no_context_takeover: true,
                    client_no_context_takeover: true,
                    server_max_window_bits: 9,
                },
            ),
        ] {
            let n = negotiate(&self::offer(&[offer]), &DeflateConfig::default()).unwrap();
            assert_eq!(n.response, response, "{offer}");
            assert_eq!(n.params, expected, "{offer}");
        }
    }

    #[test]
    fn autobahn_13_offers_are_all_accepted() {
        // What the Autobahn client offers in cases 13.1 to 13.7, and the answers.
        for (offers, response) in [
            (
                "permessage-deflate; client_no_context_takeover; client_max_window_bits",
                "permessage-deflate; client_no_context_takeover",
            ),
            (
                "permessage-deflate; client_no_context_takeover; client_max_window_bits; \
                 server_no_context_takeover",
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
            ),
            (
                "permessage-deflate; client_no_context_takeover; client_max_window_bits; \
                 server_max_window_bits=8",
                "permessage-deflate; client_no_context_takeover; server_max_window_bits=8",
            ),
            (
                "permessage-deflate; client_no_context_takeover; client_max_window_bits; \
                 server_no_context_takeover; server_max_window_bits=8, \
                 permessage-deflate; client_no_context_takeover; client_max_window_bits; \
                 server_no_context_takeover, \
                 permessage-deflate; client_no_context_takeover; client_max_window_bits",
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                 server_max_window_bits=8",
            ),
        ] {
            assert_eq!(answer(&[offers]).unwrap(), response, "{offers}");
        }
    }

    #[test]
    fn quoted_values() {
        assert_eq!(
            params(&["permessage-deflate; server_max_window_bits=\"10\""]).server_max_window_bits,
            10
        );
        // A quoted-pair stands for the character it escapes.
        assert_eq!(
            params(&["permessage-deflate; server_max_window_bits=\"1\\2\""]).server_max_window_bits,
            12
        );
        assert_eq!(
            answer(&["permessage-deflate; client_max_window_bits = \"9\""]).unwrap(),
            "permessage-deflate"
        );
        for declined in [
            "permessage-deflate; server_max_window_bits=\"\"",
            "permessage-deflate; server_max_window_bits=\"1 0\"",
            "permessage-deflate; server_max_window_bits=\"abc\"",
            "permessage-deflate; server_max_window_bits=\"10",
            "permessage-deflate; server_no_context_takeover=\"\"",
        ] {
            assert_eq!(answer(&[declined]), None, "{declined}");
        }
    }

    #[test]
    fn the_first_acceptable_offer_wins() {
        assert_eq!(
            answer(&["permessage-deflate; foo, permessage-deflate; server_no_context_takeover"])
                .unwrap(),
            "permessage-deflate; server_no_context_takeover"
        );
        assert_eq!(
            answer(&["permessage-deflate; server_max_window_bits=10, \
                 permessage-deflate; server_no_context_takeover"])
            .unwrap(),
            "permessage-deflate; server_max_window_bits=10"
        );
        // A comma inside a quoted value does not end the element.
        assert_eq!(
            answer(&["permessage-deflate; x=\"a, permessage-deflate\", \
                 permessage-deflate; client_no_context_takeover"])
            .unwrap(),
            "permessage-deflate; client_no_context_takeover"
        );
        // Other extensions are skipped, whatever their parameters.
        assert_eq!(
            answer(&["x-webkit-deflate-frame; max_window_bits=\"1,2\", permessage-deflate"])
                .unwrap(),
            "permessage-deflate"
        );
    }

    #[test]
    fn unknown_parameters_are_declined() {
        for declined in [
            "permessage-deflate; foo",
            "permessage-deflate; foo=1",
            "permessage-deflate; max_window_bits=10",
            "permessage-deflate; server_no_context_takeover; x",
        ] {
            assert_eq!(answer(&[declined]), None, "{declined}");
        }
    }

    #[test]
    fn duplicate_parameters_are_declined() {
        for declined in [
            "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
            "permessage-deflate; client_no_context_takeover; CLIENT_NO_CONTEXT_TAKEOVER",
            "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
            "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
            "permessage-deflate; client_max_window_bits; client_max_window_bits",
        ] {
            assert_eq!(answer(&[declined]), None, "{declined}");
        }
    }

    #[test]
    fn invalid_values_are_declined() {
        for value in [
            "7", "16", "abc", "08", "010", "0", "-9", "+9", "9.0", "1e1", "99999999",
        ] {
            for param in ["server_max_window_bits", "client_max_window_bits"] {
                let declined = format!("permessage-deflate; {param}={value}");
                assert_eq!(answer(&[&declined]), None, "{declined}");
            }
        }
        for declined in [
            // A value where none is allowed, none where one is required.
            "permessage-deflate; server_no_context_takeover=1",
            "permessage-deflate; client_no_context_takeover=true",
            "permessage-deflate; server_max_window_bits",
            "permessage-deflate; server_max_window_bits=",
        ] {
            assert_eq!(answer(&[declined]), None, "{declined}");
        }
        for bits in 8..=15 {
            let accepted = format!("permessage-deflate; server_max_window_bits={bits}");
            assert_eq!(params(&[&accepted]).server_max_window_bits, bits);
        }
    }

    #[test]
    fn decline_reasons() {
        let token = |t: &'static str| Some(Value::Token(t.as_bytes()));
        let mut offer = Offer::default();
        assert_eq!(offer.add(b"foo", None), Err(Decline::Unknown));
        assert_eq!(
            offer.add(b"server_no_context_takeover", token("1")),
            Err(Decline::InvalidValue)
        );
        assert_eq!(offer.add(b"server_no_context_takeover", None), Ok(()));
        assert_eq!(
            offer.add(b"Server_No_Context_Takeover", None),
            Err(Decline::Duplicate)
        );
        assert_eq!(
            offer.add(b"server_max_window_bits", None),
            Err(Decline::InvalidValue)
        );
        assert_eq!(
            offer.add(b"server_max_window_bits", token("16")),
            Err(Decline::InvalidValue)
        );
        assert_eq!(offer.add(b"client_max_window_bits", None), Ok(()));
        assert_eq!(
            offer.add(b"client_max_window_bits", token("9")),
            Err(Decline::Duplicate)
        );
        assert_eq!(
            offer.add(b"server_max_window_bits", Some(Value::Quoted(br"\\9"))),
            Err(Decline::InvalidValue)
        );
        assert_eq!(
            offer.add(b"server_max_window_bits", Some(Value::Quoted(br"\9"))),
            Ok(())
        );
        assert_eq!(
            offer,
            Offer {
                server_no_context_takeover: true,
                client_no_context_takeover: false,
                server_max_window_bits: Some(9),
                client_max_window_bits: Some(None),
            }
        );
    }

    #[test]
    fn no_offer_no_extension() {
        assert_eq!(answer(&[]), None);
        assert_eq!(answer(&["x-webkit-deflate-frame"]), None);
        assert_eq!(answer(&["permessage-deflated, deflate-frame"]), None);
        assert_eq!(answer(&["", " , ,"]), None);
        let disabled = DeflateConfig {
            enabled: false,
            ..DeflateConfig::default()
        };
        assert_eq!(answer_with(&["permessage-deflate"], &disabled), None);
    }

    #[test]
    fn offers_split_across_fields() {
        assert_eq!(
            answer(&["x-foo", "permessage-deflate; client_max_window_bits"]).unwrap(),
            "permessage-deflate"
        );
        assert_eq!(
            answer(&[
                "permessage-deflate; bogus",
                "permessage-deflate; server_no_context_takeover"
            ])
            .unwrap(),
            "permessage-deflate; server_no_context_takeover"
        );
        // An unterminated quote ends its field, not the next one.
        assert_eq!(
            answer(&["permessage-deflate; x=\"open", "permessage-deflate"]).unwrap(),
            "permessage-deflate"
        );
    }

    #[test]
    fn malformed_elements_are_skipped() {
        for (value, accepted) in [
            ("permessage-deflate;", false),
            ("permessage-deflate; ;", false),
            ("permessage-deflate x", false),
            ("permessage-deflate; =10", false),
            ("\"permessage-deflate\"", false),
            (";;;", false),
            ("=", false),
            ("permessage-deflate; server_max_window_bits=10 11", false),
            ("permessage-deflate;; server_no_context_takeover", false),
            ("permessage-deflate; server_max_window_bits=\"10\"x", false),
            ("@, permessage-deflate", true),
            ("permessage-deflate;, permessage-deflate", true),
            ("permessage-deflate; a=\"\\\", permessage-deflate", false),
            ("permessage-deflate; a=\"\\\\\", permessage-deflate", true),
            ("  permessage-deflate\t;\tclient_max_window_bits\t", true),
        ] {
            assert_eq!(answer(&[value]).is_some(), accepted, "{value:?}");
        }
        // Bytes over 0x7f are allowed in a field value, never in a token.
        let map = {
            let mut map = HeaderMap::new();
            map.append(
                SEC_WEBSOCKET_EXTENSIONS,
                HeaderValue::from_bytes(b"permessage-deflate; \xff\xfe").unwrap(),
            );
            map.append(
                SEC_WEBSOCKET_EXTENSIONS,
                HeaderValue::from_bytes(b"permessage-deflate; x=\"\xff\", permessage-deflate")
                    .unwrap(),
            );
            map
        };
        assert_eq!(
            negotiate(&map, &DeflateConfig::default()).unwrap().response,
            "permessage-deflate"
        );
    }

    #[test]
    fn generated_fields_never_panic_and_answers_stay_in_range() {
        const PIECES: [&str; 16] = [
            "permessage-deflate",
            ";",
            ",",
            "=",
            "\"",
            "\\",
            " ",
            "server_no_context_takeover",
            "client_no_context_takeover",
            "server_max_window_bits",
            "client_max_window_bits",
            "8",
            "15",
            "1",
            "x",
            "\t",
        ];
        let mut rng = XorShift::new(0x0ffe5);
        let mut accepted = 0;
        for _ in 0..20_000 {
            let field: String = (0..rng.below(12))
                .map(|_| PIECES[rng.below(16) as usize])
                .collect();
            let Ok(value) = HeaderValue::from_str(&field) else {
                continue;
            };
            let mut map = HeaderMap::new();
            map.append(SEC_WEBSOCKET_EXTENSIONS, value);
            if let Some(n) = negotiate(&map, &DeflateConfig::default()) {
                accepted += 1;
                assert!((8..=15).contains(&n.params.server_max_window_bits));
                // The answer is itself an offer we would accept, to the same effect.
                let again = negotiate(
                    &{
                        let mut map = HeaderMap::new();
                        map.append(SEC_WEBSOCKET_EXTENSIONS, n.response.clone());
                        map
                    },
                    &DeflateConfig::default(),
                )
                .unwrap();
                assert_eq!(again.params, n.params, "{field:?}");
            }
        }
        assert!(accepted > 100, "{accepted}");
    }

    #[test]
    fn configuration_shapes_the_answer() {
        let small = DeflateConfig {
            server_max_window_bits: 10,
            ..DeflateConfig::default()
        };
        // A smaller window is announced unasked, and wins over a larger one asked for.
        assert_eq!(
            answer_with(&["permessage-deflate"], &small).unwrap(),
            "permessage-deflate; server_max_window_bits=10"
        );
        assert_eq!(
            answer_with(&["permessage-deflate; server_max_window_bits=12"], &small).unwrap(),
            "permessage-deflate; server_max_window_bits=10"
        );
        assert_eq!(
            answer_with(&["permessage-deflate; server_max_window_bits=9"], &small).unwrap(),
            "permessage-deflate; server_max_window_bits=9"
        );
        // Out-of-range settings are brought into range, not trusted.
        for (bits, announced) in [(0, "8"), (99, "15")] {
            let odd = DeflateConfig {
                server_max_window_bits: bits,
                ..DeflateConfig::default()
            };
            let n = negotiate(
                &offer(&["permessage-deflate; server_max_window_bits=15"]),
                &odd,
            )
            .unwrap();
            assert_eq!(
                n.response,
                format!("permessage-deflate; server_max_window_bits={announced}").as_str()
            );
            // And the compressor is built without panicking.
            let mut compressor = Compressor::new(&n.params, &odd);
            assert_eq!(compressor.compress(Bytes::from(vec![1; 100])).rsv, RSV1);
        }
        let strict = DeflateConfig {
            server_no_context_takeover: true,
            client_no_context_takeover: true,
            ..DeflateConfig::default()
        };
        assert_eq!(
            answer_with(&["permessage-deflate; client_max_window_bits"], &strict).unwrap(),
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover"
        );
    }

    // ---- With the assembler ----

    fn deflating_assembler(max: usize) -> Assembler {
        Assembler::with_deflate(max, inflater())
    }

    fn frame(opcode: Opcode, rsv: u8, payload: &[u8], fin: bool) -> Frame {
        Frame {
            fin,
            rsv,
            opcode,
            payload: Bytes::copy_from_slice(payload),
        }
    }

    #[test]
    fn assembler_inflates_compressed_messages() {
        let mut assembler = deflating_assembler(MAX);
        assert_eq!(
            assembler.push(frame(Opcode::Text, RSV1, HELLO, true)),
            Ok(Some(Message::Text("Hello".into())))
        );
        // RFC 7692 7.2.3.1's fragments, a ping between them.
        let (first, second) = HELLO.split_at(3);
        assert_eq!(
            assembler.push(frame(Opcode::Binary, RSV1, first, false)),
            Ok(None)
        );
        assert_eq!(
            assembler.push(frame(Opcode::Ping, 0, b"hi", true)),
            Ok(Some(Message::Ping("hi".into())))
        );
        assert_eq!(
            assembler.push(frame(Opcode::Continuation, 0, second, true)),
            Ok(Some(Message::Binary("Hello".into())))
        );
        // The shared window carries on, and plain messages still pass.
        assert_eq!(
            assembler.push(frame(Opcode::Text, RSV1, HELLO_AGAIN, true)),
            Ok(Some(Message::Text("Hello".into())))
        );
        assert_eq!(
            assembler.push(frame(Opcode::Text, 0, b"plain", true)),
            Ok(Some(Message::Text("plain".into())))
        );
        assert_eq!(
            assembler.push(frame(Opcode::Text, 0, b"pl", false)),
            Ok(None)
        );
        assert_eq!(
            assembler.push(frame(Opcode::Continuation, 0, b"ain", true)),
            Ok(Some(Message::Text("plain".into())))
        );
    }

    #[test]
    fn rsv1_out_of_place_is_a_protocol_error() {
        let (first, second) = HELLO.split_at(3);
        let cases = [
            // On a continuation, of a compressed message or a plain one.
            vec![
                frame(Opcode::Text, RSV1, first, false),
                frame(Opcode::Continuation, RSV1, second, true),
            ],
            vec![
                frame(Opcode::Text, 0, b"Hel", false),
                frame(Opcode::Continuation, RSV1, b"lo", true),
            ],
            // On control frames.
            vec![frame(Opcode::Ping, RSV1, b"", true)],
            vec![frame(Opcode::Pong, RSV1, b"", true)],
            vec![frame(Opcode::Close, RSV1, b"", true)],
        ];
        for frames in cases {
            let mut assembler = deflating_assembler(MAX);
            let last = frames.len() - 1;
            for (i, f) in frames.into_iter().enumerate() {
                let result = assembler.push(f);
                if i < last {
                    assert!(result.is_ok());
                } else {
                    assert_eq!(result, Err(WsError::ReservedBits(RSV1)));
                    assert_eq!(
                        WsError::ReservedBits(RSV1).code(),
                        CloseCode::PROTOCOL_ERROR
                    );
                }
            }
        }
        // Without the extension RSV1 is refused everywhere, here as in the frame decoder.
        let mut assembler = Assembler::new(MAX);
        assert_eq!(
            assembler.push(frame(Opcode::Text, RSV1, HELLO, true)),
            Err(WsError::ReservedBits(RSV1))
        );
        let mut buf = BytesMut::new();
        encode_masked(
            &frame(Opcode::Text, RSV1, HELLO, true),
            [1, 2, 3, 4],
            &mut buf,
        );
        assert_eq!(decode(&mut buf, MAX, 0), Err(WsError::ReservedBits(RSV1)));
        // RSV2 and RSV3 stay refused with the extension.
        let mut assembler = deflating_assembler(MAX);
        assert_eq!(
            assembler.push(frame(Opcode::Text, RSV1 | 0x20, HELLO, true)),
            Err(WsError::ReservedBits(0x20))
        );
    }

    /// `text` deflated as one message by a fresh compressor.
    fn deflated(text: &[u8]) -> Bytes {
        Compressor::new(&DeflateParams::default(), &config(0))
            .compress(Bytes::copy_from_slice(text))
            .payload
    }

    #[test]
    fn compressed_text_is_checked_after_inflating() {
        for bad in [&b"\xff"[..], b"caf\xc3", b"ok \xed\xa0\x80 surrogate"] {
            let mut assembler = deflating_assembler(MAX);
            let err = assembler
                .push(frame(Opcode::Text, RSV1, &deflated(bad), true))
                .unwrap_err();
            assert_eq!(err, WsError::InvalidUtf8, "{bad:02x?}");
            assert_eq!(err.code(), CloseCode::INVALID_PAYLOAD);
            // As binary the same bytes are fine.
            let mut assembler = deflating_assembler(MAX);
            assert_eq!(
                assembler.push(frame(Opcode::Binary, RSV1, &deflated(bad), true)),
                Ok(Some(Message::Binary(Bytes::copy_from_slice(bad))))
            );
        }
        // A code point split across fragments of the compressed data is fine...
        let text = "a😀b€é".repeat(50);
        let payload = deflated(text.as_bytes());
        for cut in 0..=payload.len() {
            let mut assembler = deflating_assembler(MAX);
            let (a, b) = payload.split_at(cut);
            assert_eq!(
                assembler.push(frame(Opcode::Text, RSV1, a, false)),
                Ok(None)
            );
            assert_eq!(
                assembler.push(frame(Opcode::Continuation, 0, b, true)),
                Ok(Some(Message::Text(text.clone().into())))
            );
        }
        // ...and invalid text is refused at the fragment that inflates it, before the rest.
        let mut bad = wordy(&mut XorShift::new(1), 50_000);
        bad[100] = 0xff;
        let payload = deflated(&bad);
        let mut assembler = deflating_assembler(MAX);
        let frames: Vec<&[u8]> = payload.chunks(payload.len() / 10).collect();
        assert_eq!(
            assembler.push(frame(Opcode::Text, RSV1, frames[0], false)),
            Err(WsError::InvalidUtf8)
        );
        assert!(!assembler.in_message());
    }

    #[test]
    fn compressed_messages_are_bounded_by_their_inflated_size() {
        let payload = deflated(&[b'a'; 1001]);
        assert!(payload.len() < 100);
        let err = deflating_assembler(1000)
            .push(frame(Opcode::Binary, RSV1, &payload, true))
            .unwrap_err();
        assert_eq!(err, WsError::MessageTooLarge { max: 1000 });
        assert_eq!(
            deflating_assembler(1001).push(frame(Opcode::Binary, RSV1, &payload, true)),
            Ok(Some(Message::Binary(vec![b'a'; 1001].into())))
        );
        // Across fragments.
        let (a, b) = payload.split_at(payload.len() / 2);
        let mut assembler = deflating_assembler(1000);
        let first = assembler.push(frame(Opcode::Binary, RSV1, a, false));
        let second = assembler.push(frame(Opcode::Continuation, 0, b, true));
        assert!(first == Err(WsError::MessageTooLarge { max: 1000 }) || second.is_err());
    }

    #[test]
    fn corrupt_compressed_message_fails_with_1007() {
        let err = deflating_assembler(MAX)
            .push(frame(Opcode::Text, RSV1, &[0xff, 0xff], true))
            .unwrap_err();
        assert_eq!(err, WsError::InvalidCompressedData);
        assert_eq!(err.close_frame().payload[..2], 1007u16.to_be_bytes());
    }

    #[test]
    fn server_messages_to_client_messages_through_the_frame_codec() {
        // Both directions of one codec pair: what our compressor sends, a client echoes
        // back masked, and the decoder and assembler take it in again.
        let n = negotiate(
            &offer(&["permessage-deflate; client_max_window_bits"]),
            &DeflateConfig::default(),
        )
        .unwrap();
        let mut compressor = Compressor::new(&n.params, &DeflateConfig::default());
        let mut assembler = Assembler::with_deflate(MAX, Inflater::new(&n.params));
        let mut rng = XorShift::new(77);
        let mut wire = BytesMut::new();
        let mut expected = Vec::new();
        for i in 0..60 {
            let text = i % 2 == 0;
            let data = if text {
                let len = rng.below(3000) as usize;
                wordy(&mut rng, len)
            } else {
                let len = rng.below(300) as usize;
                rng.bytes(len)
            };
            let out = compressor.compress(Bytes::from(data.clone()));
            // Fragmented in up to 4 frames; RSV1 on the first only.
            let pieces = rng.below(4) as usize + 1;
            let size = out.payload.len().div_ceil(pieces).max(1);
            let mut chunks: Vec<&[u8]> = out.payload.chunks(size).collect();
            if chunks.is_empty() {
                chunks.push(&[]);
            }
            for (j, chunk) in chunks.iter().enumerate() {
                let (opcode, rsv) = match (j, text) {
                    (0, true) => (Opcode::Text, out.rsv),
                    (0, false) => (Opcode::Binary, out.rsv),
                    _ => (Opcode::Continuation, 0),
                };
                let f = frame(opcode, rsv, chunk, j + 1 == chunks.len());
                encode_masked(&f, (rng.next_u64() as u32).to_ne_bytes(), &mut wire);
                if j == 0 && chunks.len() > 1 {
                    encode_masked(&Frame::ping("p".into()), [9, 9, 9, 9], &mut wire);
                    expected.push(Message::Ping("p".into()));
                }
            }
            expected.push(if text {
                Message::Text(data.into())
            } else {
                Message::Binary(data.into())
            });
        }
        let mut got = Vec::new();
        while let Decoded::Frame(f) = decode(&mut wire, MAX, RSV1).unwrap() {
            if let Some(message) = assembler.push(f).unwrap() {
                got.push(message);
            }
        }
        assert!(wire.is_empty());
        assert_eq!(got, expected);
    }
}
