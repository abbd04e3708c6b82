//! WebSocket frames (RFC 6455 5.2): decoding client frames from the read buffer, encoding
//! server frames into the write buffer.
//!
//! ```text
//! Frame {
//!   FIN (1), RSV1 (1), RSV2 (1), RSV3 (1), Opcode (4),
//!   MASK (1), Payload Length (7),
//!   [ Extended Payload Length (16 if 126, 64 if 127) ],
//!   [ Masking Key (32), if MASK ],
//!   Payload Data (..),
//! }
//! ```
//!
//! # What this layer decides
//!
//! Everything one frame alone can break: the mask a client must set, RSV bits no extension
//! claimed, reserved opcodes, control frames over 125 bytes or fragmented, lengths not in
//! their shortest form or with the 64th bit set, and the caller's maximum payload size.
//! Each is refused as soon as the header bytes that prove it are in the buffer: a frame too
//! large is refused before any of its payload is buffered. Rules across frames
//! (continuations, message size, UTF-8) are the [`super::message`] assembler's.
//!
//! # Buffers and zero copy
//!
//! [`decode`] waits until the whole frame is in the connection's `&mut BytesMut`, splits it
//! off the front, unmasks the payload in place and freezes it: the frame's payload is a
//! [`Bytes`] slice of the read buffer, copied by nobody. The read buffer must therefore be
//! able to hold a whole frame, header included: up to 14 bytes plus the maximum payload.
//!
//! Unmasking XORs eight bytes at a time with the key repeated twice in a `u64`; on a 64-bit
//! machine that is one load, one XOR and one store per eight payload bytes, without unsafe
//! code and without depending on the buffer's alignment.
//!
//! The server's frames are never masked (RFC 6455 5.1). [`encode_head`] writes a header
//! alone, so that a large payload can be queued behind it as the handler's own `Bytes`.

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::close::Close;
use super::{CloseCode, WsError};

/// RSV1, as it stands in the first header byte. RFC 7692 gives it to permessage-deflate.
pub(crate) const RSV1: u8 = 0x40;
/// RSV2, as it stands in the first header byte.
pub(crate) const RSV2: u8 = 0x20;
/// RSV3, as it stands in the first header byte.
pub(crate) const RSV3: u8 = 0x10;

const FIN: u8 = 0x80;
const RSV_MASK: u8 = RSV1 | RSV2 | RSV3;
const OPCODE_MASK: u8 = 0x0f;
const MASK: u8 = 0x80;
const LEN7_MASK: u8 = 0x7f;

/// The 7-bit length value announcing a 16-bit extended length.
const LEN_16: u8 = 126;
/// The 7-bit length value announcing a 64-bit extended length.
const LEN_64: u8 = 127;
/// The longest payload a control frame may carry (RFC 6455 5.5).
pub(crate) const MAX_CONTROL_PAYLOAD: usize = 125;
/// The longest frame header: 2 bytes, an 8-byte length and a 4-byte masking key.
pub(crate) const MAX_HEAD_LEN: usize = 14;

/// The frame types of RFC 6455 5.2. The reserved opcodes are not representable: decoding
/// refuses them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Opcode {
    /// 0x0: the next fragment of a text or binary message.
    Continuation,
    /// 0x1: the first (or only) frame of a text message.
    Text,
    /// 0x2: the first (or only) frame of a binary message.
    Binary,
    /// 0x8: the closing handshake.
    Close,
    /// 0x9: a request for a pong.
    Ping,
    /// 0xA: the answer to a ping, or an unsolicited heartbeat.
    Pong,
}

impl Opcode {
    /// The opcode for the 4-bit value, `None` for the reserved ones (0x3-0x7, 0xB-0xF).
    pub(crate) const fn from_u8(value: u8) -> Option<Opcode> {
        Some(match value {
            0x0 => Opcode::Continuation,
            0x1 => Opcode::Text,
            0x2 => Opcode::Binary,
            0x8 => Opcode::Close,
            0x9 => Opcode::Ping,
            0xa => Opcode::Pong,
            _ => return None,
        })
    }

    /// The 4-bit value on the wire.
    pub(crate) const fn as_u8(self) -> u8 {
        match self {
            Opcode::Continuation => 0x0,
            Opcode::Text => 0x1,
            Opcode::Binary => 0x2,
            Opcode::Close => 0x8,
            Opcode::Ping => 0x9,
            Opcode::Pong => 0xa,
        }
    }

    /// Close, ping and pong: the opcodes with the high bit set (RFC 6455 5.5).
    pub(crate) const fn is_control(self) -> bool {
        self.as_u8() & 0x8 != 0
    }
}

/// One frame, its payload unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Frame {
    /// The last frame of its message (always set on control frames).
    pub(crate) fin: bool,
    /// The RSV bits as they stand in the first header byte ([`RSV1`], [`RSV2`], [`RSV3`]).
    /// Only bits a negotiated extension defines get through decoding.
    pub(crate) rsv: u8,
    /// The frame type.
    pub(crate) opcode: Opcode,
    /// The application data, unmasked.
    pub(crate) payload: Bytes,
}

impl Frame {
    /// A frame without RSV bits.
    pub(crate) fn new(opcode: Opcode, payload: Bytes, fin: bool) -> Frame {
        Frame {
            fin,
            rsv: 0,
            opcode,
            payload,
        }
    }

    /// A whole text message in one frame. `text` is `Bytes` so that a handler's buffer goes
    /// out uncopied; the type does not check it is UTF-8.
    #[cfg(test)]
    pub(crate) fn text(text: Bytes) -> Frame {
        Frame::new(Opcode::Text, text, true)
    }

    /// A whole binary message in one frame.
    #[cfg(test)]
    pub(crate) fn binary(data: Bytes) -> Frame {
        Frame::new(Opcode::Binary, data, true)
    }

    /// A ping; `payload` must be at most 125 bytes.
    #[cfg(test)]
    pub(crate) fn ping(payload: Bytes) -> Frame {
        Frame::new(Opcode::Ping, payload, true)
    }

    /// A pong; to answer a ping, `payload` is the ping's (RFC 6455 5.5.3).
    #[cfg(test)]
    pub(crate) fn pong(payload: Bytes) -> Frame {
        Frame::new(Opcode::Pong, payload, true)
    }

    /// A close frame: empty without a code, else the code and `reason` cut to fit. See
    /// [`Close::encode_payload`] for the codes that must not be sent.
    pub(crate) fn close(code: Option<CloseCode>, reason: &str) -> Frame {
        let mut payload = BytesMut::new();
        Close::encode_payload(code, reason, &mut payload);
        Frame::new(Opcode::Close, payload.freeze(), true)
    }

    /// Appends the frame as the server sends it: unmasked, length in its shortest form.
    /// The payload is copied; to queue a large one uncopied, use [`encode_head`].
    #[cfg(test)]
    pub(crate) fn encode(&self, out: &mut BytesMut) {
        encode_head(out, self.fin, self.rsv, self.opcode, self.payload.len());
        out.extend_from_slice(&self.payload);
    }
}

/// Appends the header of an unmasked frame with a payload of `len` bytes, the length in the
/// fewest bytes that hold it (RFC 6455 5.2). The payload is the caller's to write.
///
/// A control frame must be final and at most 125 bytes, and `rsv` must hold only bits an
/// extension negotiated; these are the caller's duty, checked in debug builds.
pub(crate) fn encode_head(out: &mut BytesMut, fin: bool, rsv: u8, opcode: Opcode, len: usize) {
    debug_assert_eq!(rsv & !RSV_MASK, 0, "rsv holds only the RSV bits");
    debug_assert!(
        !opcode.is_control() || (fin && len <= MAX_CONTROL_PAYLOAD),
        "a control frame is final and at most 125 bytes"
    );
    put_head(out, fin, rsv, opcode, len as u64, None);
}

/// Appends a frame header, masked if `mask` is given.
fn put_head(
    out: &mut BytesMut,
    fin: bool,
    rsv: u8,
    opcode: Opcode,
    len: u64,
    mask: Option<[u8; 4]>,
) {
    let first = if fin { FIN } else { 0 } | (rsv & RSV_MASK) | opcode.as_u8();
    let mask_bit = if mask.is_some() { MASK } else { 0 };
    out.reserve(MAX_HEAD_LEN);
    out.put_u8(first);
    if len < u64::from(LEN_16) {
        // The branch proves `len` fits in 7 bits.
        out.put_u8(mask_bit | len as u8);
    } else if let Ok(len) = u16::try_from(len) {
        out.put_u8(mask_bit | LEN_16);
        out.put_u16(len);
    } else {
        out.put_u8(mask_bit | LEN_64);
        out.put_u64(len);
    }
    if let Some(key) = mask {
        out.extend_from_slice(&key);
    }
}

/// What [`decode`] found at the front of the buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decoded {
    /// A whole frame; its bytes have been removed from the front of the buffer.
    Frame(Frame),
    /// The buffer holds only part of a frame and was left untouched. `needed` is how many
    /// more bytes must arrive before decoding can get further: the rest of the header's
    /// fixed part or extended length while the payload length is unknown, then the rest of
    /// the frame.
    Incomplete {
        /// Bytes still missing, beyond those in the buffer now.
        needed: usize,
    },
}

/// Decodes one client frame from the front of `buf`.
///
/// `max_payload` bounds the payload of any frame (refused with 1009 as soon as the length
/// is read). `allowed_rsv` holds the RSV bits the negotiated extensions define ([`RSV1`] for
/// permessage-deflate); 0 while there are none.
///
/// On `Ok(Decoded::Frame(..))` the frame's bytes are gone from `buf` and its payload is an
/// unmasked slice of them. On `Ok(Decoded::Incomplete { .. })` `buf` is untouched. On `Err`
/// the connection is to be failed and `buf` no longer matters.
pub(crate) fn decode(
    buf: &mut BytesMut,
    max_payload: usize,
    allowed_rsv: u8,
) -> Result<Decoded, WsError> {
    decode_frame(buf, max_payload, allowed_rsv, true)
}

/// Decodes one frame as a client would: server frames are never masked. For test clients
/// and the fuzz harness.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn decode_server_frame(
    buf: &mut BytesMut,
    max_payload: usize,
    allowed_rsv: u8,
) -> Result<Decoded, WsError> {
    decode_frame(buf, max_payload, allowed_rsv, false)
}

/// Appends `frame` as a client sends it: masked with `key`. For test clients and the fuzz
/// harness.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn encode_masked(frame: &Frame, key: [u8; 4], out: &mut BytesMut) {
    put_head(
        out,
        frame.fin,
        frame.rsv,
        frame.opcode,
        frame.payload.len() as u64,
        Some(key),
    );
    let start = out.len();
    out.extend_from_slice(&frame.payload);
    apply_mask(&mut out[start..], key);
}

/// [`decode`], for either side: `from_client` frames must be masked, others must not be
/// (RFC 6455 5.1).
fn decode_frame(
    buf: &mut BytesMut,
    max_payload: usize,
    allowed_rsv: u8,
    from_client: bool,
) -> Result<Decoded, WsError> {
    let (first, second) = match buf.get(..2) {
        Some(&[first, second]) => (first, second),
        _ => return Ok(incomplete(buf, 2)),
    };
    let rsv = first & RSV_MASK;
    if rsv & !allowed_rsv != 0 {
        return Err(WsError::ReservedBits(rsv & !allowed_rsv));
    }
    let raw_opcode = first & OPCODE_MASK;
    let opcode = Opcode::from_u8(raw_opcode).ok_or(WsError::ReservedOpcode(raw_opcode))?;
    let fin = first & FIN != 0;
    let masked = second & MASK != 0;
    if masked != from_client {
        // A server that masks breaks the same rule, from the other side (RFC 6455 5.1).
        return Err(WsError::Unmasked);
    }
    let len7 = second & LEN7_MASK;
    if opcode.is_control() {
        if !fin {
            return Err(WsError::ControlFragmented);
        }
        if len7 > MAX_CONTROL_PAYLOAD as u8 {
            // The extended length is not needed: 126 and 127 both mean more than 125.
            return Err(WsError::ControlTooLong(extended_len_hint(buf, len7)));
        }
    }

    let (length, mut head_len): (u64, usize) = match len7 {
        LEN_16 => {
            let Some(&[hi, lo]) = buf.get(2..4) else {
                return Ok(incomplete(buf, 4));
            };
            let length = u64::from(u16::from_be_bytes([hi, lo]));
            if length < u64::from(LEN_16) {
                return Err(WsError::NonMinimalLength(length));
            }
            (length, 4)
        }
        LEN_64 => {
            let Some(bytes) = buf.get(2..10) else {
                return Ok(incomplete(buf, 10));
            };
            let mut be = [0; 8];
            be.copy_from_slice(bytes);
            let length = u64::from_be_bytes(be);
            if length >> 63 != 0 {
                return Err(WsError::LengthTopBit);
            }
            if length <= u64::from(u16::MAX) {
                return Err(WsError::NonMinimalLength(length));
            }
            (length, 10)
        }
        short => (u64::from(short), 2),
    };
    // On a 32-bit target this also refuses lengths beyond the address space.
    let payload_len = match usize::try_from(length) {
        Ok(len) if len <= max_payload => len,
        _ => {
            return Err(WsError::FrameTooLarge {
                length,
                max: max_payload,
            })
        }
    };
    if masked {
        head_len += 4;
    }
    let Some(total) = head_len.checked_add(payload_len) else {
        return Err(WsError::FrameTooLarge {
            length,
            max: max_payload,
        });
    };
    if buf.len() < total {
        return Ok(incomplete(buf, total));
    }

    let mut bytes = buf.split_to(total);
    let key = if masked {
        let mut key = [0; 4];
        key.copy_from_slice(&bytes[head_len - 4..head_len]);
        Some(key)
    } else {
        None
    };
    bytes.advance(head_len);
    if let Some(key) = key {
        apply_mask(&mut bytes, key);
    }
    Ok(Decoded::Frame(Frame {
        fin,
        rsv,
        opcode,
        payload: bytes.freeze(),
    }))
}

/// The front of a client frame whose header has arrived but whose payload has not all: what
/// a caller needs to look at the payload so far (to fail a text frame on its first invalid
/// UTF-8 byte rather than after its last byte).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PartialFrame {
    /// The opcode.
    pub(crate) opcode: Opcode,
    /// The RSV bits.
    pub(crate) rsv: u8,
    /// Where the payload starts in the buffer.
    pub(crate) payload_start: usize,
    /// The masking key.
    pub(crate) key: [u8; 4],
}

/// Reads the header of the client frame at the front of `buf`, if it is whole, masked and
/// of a known opcode; the payload may be partly there. For a look ahead only: [`decode`]
/// still decides whether the frame is valid.
pub(crate) fn peek_partial(buf: &[u8]) -> Option<PartialFrame> {
    let (&first, &second) = (buf.first()?, buf.get(1)?);
    if second & MASK == 0 {
        return None;
    }
    let opcode = Opcode::from_u8(first & OPCODE_MASK)?;
    let head_len = match second & LEN7_MASK {
        LEN_16 => 4,
        LEN_64 => 10,
        _ => 2,
    };
    let key: [u8; 4] = buf.get(head_len..head_len + 4)?.try_into().ok()?;
    Some(PartialFrame {
        opcode,
        rsv: first & RSV_MASK,
        payload_start: head_len + 4,
        key,
    })
}

/// `Incomplete` for a buffer that must reach `total` bytes (more than it holds).
fn incomplete(buf: &BytesMut, total: usize) -> Decoded {
    Decoded::Incomplete {
        needed: total - buf.len(),
    }
}

/// The length of an oversized control frame for the error, as far as the buffer holds it:
/// the extended length if it is all there, else the 7-bit field.
fn extended_len_hint(buf: &BytesMut, len7: u8) -> u64 {
    match (len7, buf.get(2..4), buf.get(2..10)) {
        (LEN_16, Some(&[hi, lo]), _) => u64::from(u16::from_be_bytes([hi, lo])),
        (LEN_64, _, Some(bytes)) => {
            let mut be = [0; 8];
            be.copy_from_slice(bytes);
            u64::from_be_bytes(be)
        }
        _ => u64::from(len7),
    }
}

/// XORs `data` with the masking `key` repeated (RFC 6455 5.3), starting at key byte 0.
/// Masking and unmasking are the same operation.
pub(crate) fn apply_mask(data: &mut [u8], key: [u8; 4]) {
    let [a, b, c, d] = key;
    // Both halves of the word hold the key, so byte i of every 8-byte chunk meets key byte
    // i % 4, whatever the byte order: the XOR works byte by byte.
    let wide = u64::from_ne_bytes([a, b, c, d, a, b, c, d]);
    let (chunks, tail) = data.as_chunks_mut::<8>();
    for chunk in chunks {
        *chunk = (u64::from_ne_bytes(*chunk) ^ wide).to_ne_bytes();
    }
    // The tail starts at a multiple of 8, hence of 4: key byte 0 again.
    for (byte, k) in tail.iter_mut().zip(key.iter().cycle()) {
        *byte ^= k;
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::XorShift;
    use super::*;

    const MAX: usize = 1 << 20;

    /// Decodes `bytes`, which must be exactly one valid client frame.
    fn decode_one(bytes: &[u8]) -> Frame {
        let mut buf = BytesMut::from(bytes);
        match decode(&mut buf, MAX, 0) {
            Ok(Decoded::Frame(frame)) => {
                assert!(buf.is_empty(), "{} bytes left", buf.len());
                frame
            }
            other => panic!("expected one frame from {bytes:02x?}, got {other:?}"),
        }
    }

    /// Decodes `bytes` as a client frame, which must be refused.
    fn decode_err(bytes: &[u8]) -> WsError {
        decode_err_with(bytes, MAX, 0)
    }

    fn decode_err_with(bytes: &[u8], max: usize, allowed_rsv: u8) -> WsError {
        let mut buf = BytesMut::from(bytes);
        match decode(&mut buf, max, allowed_rsv) {
            Err(err) => err,
            other => panic!("expected an error from {bytes:02x?}, got {other:?}"),
        }
    }

    fn server_bytes(frame: &Frame) -> Vec<u8> {
        let mut out = BytesMut::new();
        frame.encode(&mut out);
        out.to_vec()
    }

    fn client_bytes(frame: &Frame, key: [u8; 4]) -> Vec<u8> {
        let mut out = BytesMut::new();
        encode_masked(frame, key, &mut out);
        out.to_vec()
    }

    // RFC 6455 5.7, the examples one by one.

    #[test]
    fn rfc_single_frame_unmasked_text() {
        let wire = b"\x81\x05\x48\x65\x6c\x6c\x6f";
        assert_eq!(server_bytes(&Frame::text("Hello".into())), wire);
        let mut buf = BytesMut::from(&wire[..]);
        let Decoded::Frame(frame) = decode_server_frame(&mut buf, MAX, 0).unwrap() else {
            panic!("incomplete");
        };
        assert_eq!(frame, Frame::text("Hello".into()));
        // From a client, the same bytes break RFC 6455 5.1.
        let err = decode_err(wire);
        assert_eq!(err, WsError::Unmasked);
        assert_eq!(err.code(), CloseCode::PROTOCOL_ERROR);
    }

    #[test]
    fn rfc_single_frame_masked_text() {
        let wire = b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
        assert_eq!(decode_one(wire), Frame::text("Hello".into()));
        assert_eq!(
            client_bytes(&Frame::text("Hello".into()), [0x37, 0xfa, 0x21, 0x3d]),
            wire
        );
    }

    #[test]
    fn rfc_fragmented_unmasked_text() {
        let first = b"\x01\x03\x48\x65\x6c";
        let second = b"\x80\x02\x6c\x6f";
        assert_eq!(
            server_bytes(&Frame::new(Opcode::Text, "Hel".into(), false)),
            first
        );
        assert_eq!(
            server_bytes(&Frame::new(Opcode::Continuation, "lo".into(), true)),
            second
        );
        let mut buf = BytesMut::from(&first[..]);
        buf.extend_from_slice(second);
        let mut frames = Vec::new();
        while let Decoded::Frame(frame) = decode_server_frame(&mut buf, MAX, 0).unwrap() {
            frames.push(frame);
        }
        assert_eq!(
            frames,
            [
                Frame::new(Opcode::Text, "Hel".into(), false),
                Frame::new(Opcode::Continuation, "lo".into(), true)
            ]
        );
    }

    #[test]
    fn rfc_ping_unmasked_and_pong_masked() {
        let ping = b"\x89\x05\x48\x65\x6c\x6c\x6f";
        assert_eq!(server_bytes(&Frame::ping("Hello".into())), ping);
        let pong = b"\x8a\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58";
        assert_eq!(decode_one(pong), Frame::pong("Hello".into()));
        assert_eq!(
            client_bytes(&Frame::pong("Hello".into()), [0x37, 0xfa, 0x21, 0x3d]),
            pong
        );
    }

    #[test]
    fn rfc_256_bytes_binary_uses_16_bit_length() {
        let payload = Bytes::from(vec![0xab; 256]);
        let wire = server_bytes(&Frame::binary(payload.clone()));
        assert_eq!(&wire[..4], b"\x82\x7e\x01\x00");
        assert_eq!(wire.len(), 4 + 256);
        // Masked, from a client.
        let key = [9, 8, 7, 6];
        let wire = client_bytes(&Frame::binary(payload.clone()), key);
        assert_eq!(&wire[..8], b"\x82\xfe\x01\x00\x09\x08\x07\x06");
        assert_eq!(decode_one(&wire).payload, payload);
    }

    #[test]
    fn rfc_64_kib_binary_uses_64_bit_length() {
        let payload = Bytes::from(vec![0xcd; 65536]);
        let wire = server_bytes(&Frame::binary(payload.clone()));
        assert_eq!(&wire[..10], b"\x82\x7f\x00\x00\x00\x00\x00\x01\x00\x00");
        assert_eq!(wire.len(), 10 + 65536);
        let wire = client_bytes(&Frame::binary(payload.clone()), [1, 2, 3, 4]);
        assert_eq!(
            &wire[..14],
            b"\x82\xff\x00\x00\x00\x00\x00\x01\x00\x00\x01\x02\x03\x04"
        );
        assert_eq!(decode_one(&wire).payload, payload);
    }

    #[test]
    fn length_forms_switch_at_their_boundaries() {
        for (len, head_len) in [
            (0, 2),
            (125, 2),
            (126, 4),
            (65535, 4),
            (65536, 10),
            (100_000, 10),
        ] {
            let mut out = BytesMut::new();
            encode_head(&mut out, true, 0, Opcode::Binary, len);
            assert_eq!(out.len(), head_len, "{len}");
            let wire = client_bytes(&Frame::binary(vec![7; len].into()), [0; 4]);
            assert_eq!(wire.len(), head_len + 4 + len);
            assert_eq!(decode_one(&wire).payload.len(), len);
        }
    }

    #[test]
    fn payload_is_a_slice_of_the_read_buffer() {
        let wire = b"\x82\x83\x00\x00\x00\x00abc\x82\x81\x00\x00\x00\x00d";
        let mut buf = BytesMut::from(&wire[..]);
        let start = buf.as_ptr() as usize;
        let Decoded::Frame(first) = decode(&mut buf, MAX, 0).unwrap() else {
            panic!("incomplete");
        };
        assert_eq!(first.payload.as_ptr() as usize, start + 6);
        assert_eq!(&buf[..], b"\x82\x81\x00\x00\x00\x00d");
    }

    #[test]
    fn incomplete_says_what_is_missing_and_leaves_the_buffer() {
        let wire = client_bytes(&Frame::binary(vec![1; 300].into()), [5, 6, 7, 8]);
        let wire64 = client_bytes(&Frame::binary(vec![1; 70000].into()), [5, 6, 7, 8]);
        for (wire, fixed) in [(&wire, 4), (&wire64, 10)] {
            for cut in 0..wire.len() {
                let mut buf = BytesMut::from(&wire[..cut]);
                let expected = match cut {
                    0 | 1 => 2 - cut,
                    _ if cut < fixed => fixed - cut,
                    _ => wire.len() - cut,
                };
                assert_eq!(
                    decode(&mut buf, MAX, 0),
                    Ok(Decoded::Incomplete { needed: expected }),
                    "cut at {cut}"
                );
                assert_eq!(buf.len(), cut);
            }
        }
    }

    #[test]
    fn byte_by_byte_input_decodes() {
        let frame = Frame::new(Opcode::Text, "fragment".into(), false);
        let wire = client_bytes(&frame, [0xde, 0xad, 0xbe, 0xef]);
        let mut buf = BytesMut::new();
        for (i, byte) in wire.iter().enumerate() {
            buf.put_u8(*byte);
            match decode(&mut buf, MAX, 0).unwrap() {
                Decoded::Frame(got) => {
                    assert_eq!(i, wire.len() - 1);
                    assert_eq!(got, frame);
                }
                Decoded::Incomplete { needed } => assert!(needed >= 1),
            }
        }
        assert!(buf.is_empty());
    }

    #[test]
    fn reserved_bits_without_extension_are_protocol_errors() {
        for (byte, bits) in [(0xc1, RSV1), (0xa1, RSV2), (0x91, RSV3), (0xf1, RSV_MASK)] {
            let err = decode_err(&[byte, 0x80, 0, 0, 0, 0]);
            assert_eq!(err, WsError::ReservedBits(bits));
            assert_eq!(err.code(), CloseCode::PROTOCOL_ERROR);
        }
        // With RSV1 negotiated, RSV1 passes and is reported; RSV2 still fails.
        let mut buf = BytesMut::from(&b"\xc1\x80\x00\x00\x00\x00"[..]);
        let Ok(Decoded::Frame(frame)) = decode(&mut buf, MAX, RSV1) else {
            panic!("RSV1 refused");
        };
        assert_eq!(frame.rsv, RSV1);
        assert_eq!(
            decode_err_with(b"\xe1\x80\x00\x00\x00\x00", MAX, RSV1),
            WsError::ReservedBits(RSV2)
        );
    }

    #[test]
    fn reserved_opcodes_are_protocol_errors() {
        for op in (0x3..=0x7).chain(0xb..=0xf) {
            assert_eq!(Opcode::from_u8(op), None);
            let err = decode_err(&[0x80 | op, 0x80, 0, 0, 0, 0]);
            assert_eq!(err, WsError::ReservedOpcode(op));
            assert_eq!(err.code(), CloseCode::PROTOCOL_ERROR);
        }
        for op in [0x0, 0x1, 0x2, 0x8, 0x9, 0xa] {
            assert_eq!(Opcode::from_u8(op).map(Opcode::as_u8), Some(op));
        }
    }

    #[test]
    fn unmasked_client_frames_are_protocol_errors() {
        // Refused from the first two bytes, before the rest arrives.
        for wire in [&b"\x82\x00"[..], b"\x89\x05", b"\x82\x7e"] {
            let err = decode_err(wire);
            assert_eq!(err, WsError::Unmasked);
            assert_eq!(err.code(), CloseCode::PROTOCOL_ERROR);
        }
    }

    #[test]
    fn masked_server_frames_are_refused_by_the_test_client() {
        let mut buf = BytesMut::from(&b"\x81\x80\x00\x00\x00\x00"[..]);
        assert_eq!(
            decode_server_frame(&mut buf, MAX, 0),
            Err(WsError::Unmasked)
        );
    }

    #[test]
    fn control_frames_over_125_bytes_are_protocol_errors() {
        for (wire, len) in [
            (&b"\x89\xfe\x00\x7e"[..], 126),
            (b"\x8a\xfe\x01\x00", 256),
            (b"\x88\xff\x00\x00\x00\x00\x00\x01\x00\x00", 65536),
            // Refused from the first two bytes, the extended length not yet there.
            (b"\x89\xfe", 126),
            (b"\x89\xff\x00", 127),
        ] {
            let err = decode_err(wire);
            assert_eq!(err, WsError::ControlTooLong(len));
            assert_eq!(err.code(), CloseCode::PROTOCOL_ERROR);
        }
        // 125 is allowed.
        let mut wire = vec![0x89, 0xfd, 0, 0, 0, 0];
        wire.extend_from_slice(&[b'p'; 125]);
        assert_eq!(decode_one(&wire).payload.len(), 125);
    }

    #[test]
    fn fragmented_control_frames_are_protocol_errors() {
        for op in [0x8, 0x9, 0xa] {
            let err = decode_err(&[op, 0x80, 0, 0, 0, 0]);
            assert_eq!(err, WsError::ControlFragmented);
            assert_eq!(err.code(), CloseCode::PROTOCOL_ERROR);
        }
    }

    #[test]
    fn non_minimal_lengths_are_protocol_errors() {
        // 16-bit form for lengths that fit in 7 bits.
        for len in [0u16, 5, 125] {
            let mut wire = vec![0x82, 0xfe];
            wire.extend_from_slice(&len.to_be_bytes());
            let err = decode_err(&wire);
            assert_eq!(err, WsError::NonMinimalLength(u64::from(len)));
            assert_eq!(err.code(), CloseCode::PROTOCOL_ERROR);
        }
        // 64-bit form for lengths that fit in 16 bits (or 7).
        for len in [0u64, 125, 126, 65535] {
            let mut wire = vec![0x82, 0xff];
            wire.extend_from_slice(&len.to_be_bytes());
            let err = decode_err(&wire);
            assert_eq!(err, WsError::NonMinimalLength(len));
        }
        // The smallest of each form is fine.
        let mut wire = vec![0x82, 0xfe, 0x00, 0x7e, 0, 0, 0, 0];
        wire.extend_from_slice(&[0; 126]);
        assert_eq!(decode_one(&wire).payload.len(), 126);
        let mut wire = vec![0x82, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        wire.extend_from_slice(&[0; 65536]);
        assert_eq!(decode_one(&wire).payload.len(), 65536);
    }

    #[test]
    fn length_with_the_top_bit_set_is_a_protocol_error() {
        for len in [1u64 << 63, u64::MAX] {
            let mut wire = vec![0x82, 0xff];
            wire.extend_from_slice(&len.to_be_bytes());
            let err = decode_err(&wire);
            assert_eq!(err, WsError::LengthTopBit);
            assert_eq!(err.code(), CloseCode::PROTOCOL_ERROR);
            // Even under a limit that would allow anything.
            assert_eq!(decode_err_with(&wire, usize::MAX, 0), WsError::LengthTopBit);
        }
    }

    #[test]
    fn frames_over_the_limit_are_refused_from_the_header_alone() {
        // 1001 bytes announced, none sent.
        let err = decode_err_with(b"\x82\xfe\x03\xe9", 1000, 0);
        assert_eq!(
            err,
            WsError::FrameTooLarge {
                length: 1001,
                max: 1000
            }
        );
        assert_eq!(err.code(), CloseCode::MESSAGE_TOO_BIG);
        let err = decode_err_with(b"\x82\xff\x00\x00\x00\x01\x00\x00\x00\x00", 1000, 0);
        assert_eq!(
            err,
            WsError::FrameTooLarge {
                length: 1 << 32,
                max: 1000
            }
        );
        let err = decode_err_with(b"\x81\x8b", 10, 0);
        assert_eq!(err.code(), CloseCode::MESSAGE_TOO_BIG);
        // Exactly the limit is fine.
        let wire = client_bytes(&Frame::binary(vec![0; 1000].into()), [1, 1, 1, 1]);
        let mut buf = BytesMut::from(&wire[..]);
        assert!(matches!(decode(&mut buf, 1000, 0), Ok(Decoded::Frame(_))));
        // The limit applies to control frames as well.
        let wire = client_bytes(&Frame::ping(vec![0; 11].into()), [1, 1, 1, 1]);
        assert_eq!(
            decode_err_with(&wire, 10, 0),
            WsError::FrameTooLarge {
                length: 11,
                max: 10
            }
        );
    }

    #[test]
    fn close_frames_encode_their_payload() {
        assert_eq!(server_bytes(&Frame::close(None, "")), b"\x88\x00");
        assert_eq!(
            server_bytes(&Frame::close(Some(CloseCode::PROTOCOL_ERROR), "bad")),
            b"\x88\x05\x03\xeabad"
        );
    }

    #[test]
    fn round_trips_generated_frames() {
        let mut rng = XorShift::new(0x5eed_1234_abcd);
        let opcodes = [
            Opcode::Continuation,
            Opcode::Text,
            Opcode::Binary,
            Opcode::Close,
            Opcode::Ping,
            Opcode::Pong,
        ];
        let interesting = [0, 1, 7, 8, 125, 126, 127, 65535, 65536, 70000];
        let mut client_wire = BytesMut::new();
        let mut server_wire = BytesMut::new();
        let mut frames = Vec::new();
        for _ in 0..500 {
            let opcode = opcodes[rng.below(6) as usize];
            let (fin, len) = if opcode.is_control() {
                (true, rng.below(126) as usize)
            } else if rng.below(4) == 0 {
                (rng.below(2) == 0, interesting[rng.below(10) as usize])
            } else {
                (rng.below(2) == 0, rng.below(2000) as usize)
            };
            let rsv = if rng.below(2) == 0 { RSV1 } else { 0 };
            let frame = Frame {
                fin,
                rsv,
                opcode,
                payload: rng.bytes(len).into(),
            };
            let key = (rng.next_u64() as u32).to_ne_bytes();
            encode_masked(&frame, key, &mut client_wire);
            frame.encode(&mut server_wire);
            frames.push(frame);
        }
        // Decoded from one buffer, then from ragged pieces.
        let mut decoded = Vec::new();
        while !client_wire.is_empty() {
            match decode(&mut client_wire, MAX, RSV1).unwrap() {
                Decoded::Frame(frame) => decoded.push(frame),
                Decoded::Incomplete { needed } => panic!("needs {needed} more"),
            }
        }
        assert_eq!(decoded, frames);

        let mut buf = BytesMut::new();
        let mut decoded = Vec::new();
        while !server_wire.is_empty() {
            let take = (rng.below(5000) as usize + 1).min(server_wire.len());
            buf.extend_from_slice(&server_wire.split_to(take));
            while let Decoded::Frame(frame) = decode_server_frame(&mut buf, MAX, RSV1).unwrap() {
                decoded.push(frame);
            }
        }
        assert!(buf.is_empty());
        assert_eq!(decoded, frames);
    }

    /// The definition: one byte at a time.
    fn mask_bytewise(data: &mut [u8], key: [u8; 4]) {
        for (i, byte) in data.iter_mut().enumerate() {
            *byte ^= key[i % 4];
        }
    }

    #[test]
    fn fast_mask_equals_bytewise_for_every_offset_and_length() {
        let mut rng = XorShift::new(42);
        let data = rng.bytes(64 + 8);
        for round in 0..8 {
            let key = (rng.next_u64() as u32).to_ne_bytes();
            for offset in 0..8 {
                for len in 0..=64 {
                    let mut fast = data.clone();
                    let mut slow = data.clone();
                    apply_mask(&mut fast[offset..offset + len], key);
                    mask_bytewise(&mut slow[offset..offset + len], key);
                    assert_eq!(fast, slow, "round {round}, offset {offset}, len {len}");
                }
            }
        }
        // Long random buffers, and masking twice restores the data.
        for len in [1000, 4093, 65536 + 3] {
            let original = rng.bytes(len);
            let key = (rng.next_u64() as u32).to_ne_bytes();
            let mut fast = original.clone();
            let mut slow = original.clone();
            apply_mask(&mut fast, key);
            mask_bytewise(&mut slow, key);
            assert_eq!(fast, slow);
            apply_mask(&mut fast, key);
            assert_eq!(fast, original);
        }
    }

    #[test]
    fn opcode_classes() {
        assert!(
            Opcode::Close.is_control() && Opcode::Ping.is_control() && Opcode::Pong.is_control()
        );
        assert!(!Opcode::Text.is_control() && !Opcode::Binary.is_control());
        assert!(!Opcode::Continuation.is_control());
    }
}
