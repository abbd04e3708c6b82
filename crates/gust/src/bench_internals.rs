//! Entry points into the protocol core for the criterion benches in `crates/gust/benches`.
//!
//! **Not an API.** Compiled only with the `bench-internals` feature, hidden from the docs,
//! and free to change at any commit. Each item is a thin wrapper that hands one hot path of
//! [`crate::proto`] bytes in and results out, with the types a bench can name; nothing here
//! adds behaviour. Keeping the wrappers in one module keeps `proto` itself `pub(crate)`:
//! the benches see exactly what is listed here.

use bytes::BytesMut;
use http::{HeaderMap, StatusCode, Version};

use crate::proto::h1::{self, HeadLimits, ResponseFraming, ResponseHead};
use crate::proto::h2::{frame, hpack};
use crate::proto::ws;
use crate::Limits;

/// The HTTP/1 request head parser with a service's limits.
#[derive(Debug, Clone, Copy)]
pub struct H1HeadParser {
    limits: HeadLimits,
}

impl H1HeadParser {
    /// The parser as a service with `limits` runs it.
    pub fn new(limits: &Limits) -> Self {
        H1HeadParser {
            limits: HeadLimits {
                max_head_bytes: limits.client_buffer_size,
                max_url_length: limits.max_url_length,
                max_headers: limits.max_headers,
            },
        }
    }

    /// Parses and checks one head from the front of `buf` and drops it, as the server does
    /// once the request is routed. `Ok(Some(n))`: the head took `n` bytes; `Ok(None)`:
    /// incomplete; `Err`: refused, with the reason.
    pub fn parse(&self, buf: &[u8]) -> Result<Option<usize>, String> {
        match h1::parse_head(buf, &self.limits) {
            Ok(Some((_head, consumed))) => Ok(Some(consumed)),
            Ok(None) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }
}

/// Writes an HTTP/1.1 keep-alive response head with a Content-Length body, as the server
/// does for a static file or a handler's full body: status line, `Date` (the preformatted
/// `date`), `Server`, the handler's `headers`, framing.
pub fn h1_encode_response_head(
    status: StatusCode,
    headers: &HeaderMap,
    content_length: u64,
    date: &[u8],
    out: &mut BytesMut,
) {
    h1::encode_head(
        &ResponseHead {
            status,
            version: Version::HTTP_11,
            headers,
            shared_lines: &[],
            framing: ResponseFraming::Length(content_length),
            keep_alive: true,
            date,
            server: b"gust",
        },
        out,
    );
}

/// The HPACK encoder of one HTTP/2 connection.
#[derive(Debug, Default)]
pub struct HpackEncoder(hpack::Encoder);

impl HpackEncoder {
    /// A connection's encoder before its first response.
    pub fn new() -> Self {
        HpackEncoder(hpack::Encoder::new())
    }

    /// Encodes one response header block (`:status` then `headers`) into `out`.
    pub fn encode_response(&mut self, status: StatusCode, headers: &HeaderMap, out: &mut BytesMut) {
        self.0
            .encode_response(status, headers, &Default::default(), out);
    }
}

/// The HPACK decoder of one HTTP/2 connection.
#[derive(Debug)]
pub struct HpackDecoder(hpack::Decoder);

impl Default for HpackDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl HpackDecoder {
    /// A connection's decoder before its first request: the protocol's 4096-byte table.
    pub fn new() -> Self {
        HpackDecoder(hpack::Decoder::new(hpack::DEFAULT_TABLE_SIZE))
    }

    /// Decodes one whole header block, calling `emit(name, value, sensitive)` per field.
    pub fn decode(
        &mut self,
        block: &[u8],
        max_list_size: usize,
        emit: impl FnMut(&[u8], &[u8], bool),
    ) -> Result<(), String> {
        self.0
            .decode(block, max_list_size, emit)
            .map_err(|e| e.to_string())
    }
}

/// Appends the HPACK Huffman code of `src` (RFC 7541 5.2), without the length prefix.
pub fn hpack_huffman_encode(src: &[u8], out: &mut BytesMut) {
    hpack::huffman::encode(src, out);
}

/// Bytes [`hpack_huffman_encode`] writes for `src`.
pub fn hpack_huffman_encoded_len(src: &[u8]) -> usize {
    hpack::huffman::encoded_len(src)
}

/// Decodes the HPACK Huffman string `src`, appending the text to `dst`, and returns its
/// length; `Err` for an invalid code (EOS inside, bad padding).
pub fn hpack_huffman_decode(src: &[u8], dst: &mut Vec<u8>) -> Result<usize, String> {
    hpack::huffman::decode(src, dst, usize::MAX).map_err(|e| e.to_string())
}

/// Decodes one HTTP/2 frame from the front of `buf` (its bytes are removed) and drops it,
/// as the connection does once it has acted on it. `Ok(Some(n))`: a frame of `n` bytes,
/// header included; `Ok(None)`: incomplete; `Err`: refused, with the reason.
pub fn h2_decode_frame(buf: &mut BytesMut, max_frame_size: u32) -> Result<Option<usize>, String> {
    match frame::decode(buf, max_frame_size) {
        Ok(frame::Decoded::Frame(_frame, total)) => Ok(Some(total)),
        Ok(frame::Decoded::Incomplete { .. }) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}

/// XORs `data` with the WebSocket masking `key` (RFC 6455 5.3): masking and unmasking are
/// one operation.
pub fn ws_apply_mask(data: &mut [u8], key: [u8; 4]) {
    ws::apply_mask(data, key);
}

/// Decodes one masked client frame from the front of `buf` (its bytes are removed),
/// unmasking its payload in place, and returns the payload's length. `Ok(None)`:
/// incomplete; `Err`: refused, with the reason.
pub fn ws_decode_client_frame(
    buf: &mut BytesMut,
    max_payload: usize,
) -> Result<Option<usize>, String> {
    match ws::decode(buf, max_payload, 0) {
        Ok(ws::Decoded::Frame(frame)) => Ok(Some(frame.payload.len())),
        Ok(ws::Decoded::Incomplete { .. }) => Ok(None),
        Err(e) => Err(e.to_string()),
    }
}
