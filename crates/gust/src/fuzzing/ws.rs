//! WebSocket: the frame decoder, the message assembler (with permessage-deflate), and the
//! session machine that chains them.

use bytes::{Bytes, BytesMut};

use super::{pieces, Input, Rng};
use crate::proto::ws::conn::{Config, Event, Session};
use crate::proto::ws::frame::{
    decode_server_frame, encode_masked, peek_partial, MAX_CONTROL_PAYLOAD,
};
use crate::proto::ws::{
    decode, Assembler, CloseCode, Decoded, DeflateConfig, DeflateParams, Frame, Inflater, Message,
    Opcode, WsError, RSV1, RSV2, RSV3,
};

/// Payload bounds that sit on the edges of the three length forms.
const PAYLOAD_LIMITS: [usize; 6] = [0, 125, 126, 65_535, 65_536, 1 << 20];

/// Message size limits, from none at all to a megabyte.
const MESSAGE_LIMITS: [usize; 6] = [0, 1, 125, 1024, 65_536, 1 << 20];

/// `frame::decode` (client frames, masked) on arbitrary bytes.
///
/// Layout: a byte choosing the payload limit and the RSV bits extensions allow, the cut
/// seed, then the bytes from the client.
///
/// Checks: a frame's payload is within the limit, a control frame is final and at most
/// 125 bytes, RSV bits are only allowed ones; `Incomplete` leaves the buffer alone and the
/// header peek agrees with it; every frame masked again decodes to itself. In pieces the
/// frames and the error are those of a one-shot decode.
pub fn ws_frame(data: &[u8]) {
    let mut input = Input::new(data);
    let mode = input.byte();
    let max = PAYLOAD_LIMITS[usize::from(mode & 0x0f) % PAYLOAD_LIMITS.len()];
    let allowed = match mode >> 6 {
        0 => 0,
        1 => RSV1,
        _ => RSV1 | RSV2 | RSV3,
    };
    let seed = input.byte();
    let bytes = input.rest();

    let whole = decode_frames(&[bytes], max, allowed);
    let cut = decode_frames(&pieces(bytes, seed), max, allowed);
    assert_eq!(
        cut.iter().map(comparable).collect::<Vec<_>>(),
        whole.iter().map(comparable).collect::<Vec<_>>(),
        "piecewise and one-shot frame decodes differ"
    );
    for (i, f) in whole.iter().flatten().enumerate() {
        let key = (i as u32).wrapping_mul(0x9e37_79b9).to_be_bytes();
        let mut wire = BytesMut::new();
        encode_masked(f, key, &mut wire);
        assert_eq!(
            decode(&mut wire, max, allowed),
            Ok(Decoded::Frame(f.clone()))
        );
        assert!(wire.is_empty());
    }
}

/// A decode result with what may depend on the reads left out: an oversized control
/// frame's error reports its length as far as the buffer held it.
fn comparable(
    r: &Result<Frame, WsError>,
) -> Result<&Frame, (std::mem::Discriminant<WsError>, u16)> {
    r.as_ref()
        .map_err(|e| (std::mem::discriminant(e), e.code().0))
}

fn decode_frames(reads: &[&[u8]], max: usize, allowed: u8) -> Vec<Result<Frame, WsError>> {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for read in reads {
        buf.extend_from_slice(read);
        loop {
            let before = buf.len();
            match decode(&mut buf, max, allowed) {
                Ok(Decoded::Frame(f)) => {
                    assert!(f.payload.len() <= max, "payload over the limit");
                    assert_eq!(f.rsv & !allowed, 0, "RSV bits no extension allows");
                    if f.opcode.is_control() {
                        assert!(f.fin && f.payload.len() <= MAX_CONTROL_PAYLOAD);
                    }
                    assert!(buf.len() < before);
                    out.push(Ok(f));
                }
                Ok(Decoded::Incomplete { needed }) => {
                    assert!(needed > 0);
                    assert_eq!(buf.len(), before, "Incomplete consumed bytes");
                    if let Some(p) = peek_partial(&buf) {
                        assert!(p.payload_start <= buf.len(), "peek past the buffer");
                    }
                    break;
                }
                Err(e) => {
                    assert!(!e.reason().is_empty());
                    out.push(Err(e));
                    return out;
                }
            }
        }
    }
    out
}

/// The `Assembler` on a series of frames as the frame decoder would hand them over.
///
/// Layout: a mode byte (bits 0-3: the message size limit; bit 6: permessage-deflate;
/// bit 7: client_no_context_takeover), then records of `[flags][length: u16][payload]`,
/// flags holding FIN (0x80), RSV1 (0x40) and the opcode (low four bits; a reserved one
/// reads as a continuation). As the decoder guarantees, control frames are made final and
/// cut to 125 bytes, and RSV1 is dropped without deflate.
///
/// Checks: no message is larger than the limit; text is UTF-8; an uncompressed message is
/// its fragments joined; a control frame comes out at once, its payload unchanged; a
/// fragment is answered `None` only inside a message; interleaved or orphan fragments are
/// errors. After an error, nothing more is fed, as the connection fails.
pub fn ws_message(data: &[u8]) {
    let mut input = Input::new(data);
    let mode = input.byte();
    let max = MESSAGE_LIMITS[usize::from(mode & 0x0f) % MESSAGE_LIMITS.len()];
    let deflate = mode & 0x40 != 0;
    let mut assembler = if deflate {
        let params = DeflateParams {
            client_no_context_takeover: mode & 0x80 != 0,
            ..DeflateParams::default()
        };
        Assembler::with_deflate(max, Inflater::new(&params))
    } else {
        Assembler::new(max)
    };
    // The fragments of the message in progress, joined, and whether it is compressed.
    let mut joined: Option<(Vec<u8>, bool)> = None;

    while !input.is_empty() {
        let flags = input.byte();
        let len = usize::from(input.u16());
        let opcode = Opcode::from_u8(flags & 0x0f).unwrap_or(Opcode::Continuation);
        let mut payload = input.take(len);
        let mut fin = flags & 0x80 != 0;
        if opcode.is_control() {
            fin = true;
            payload = &payload[..payload.len().min(MAX_CONTROL_PAYLOAD)];
        }
        let rsv = if deflate { flags & RSV1 } else { 0 };
        let frame = Frame {
            fin,
            rsv,
            opcode,
            payload: Bytes::copy_from_slice(payload),
        };
        let was_in_message = joined.is_some();
        let result = assembler.push(frame);
        let Ok(result) = result else {
            return;
        };
        match (opcode, result) {
            (Opcode::Ping, Some(Message::Ping(p))) | (Opcode::Pong, Some(Message::Pong(p))) => {
                assert_eq!(p, payload);
            }
            (Opcode::Close, Some(Message::Close(_))) => {}
            (Opcode::Text | Opcode::Binary, _) if was_in_message => {
                panic!("a new message was accepted inside another")
            }
            (Opcode::Continuation, _) if !was_in_message => {
                panic!("a continuation was accepted outside a message")
            }
            (Opcode::Text | Opcode::Binary | Opcode::Continuation, None) => {
                assert!(!fin, "a final frame gave no message");
                let (data, _) = joined.get_or_insert_with(|| (Vec::new(), rsv != 0));
                data.extend_from_slice(payload);
            }
            (Opcode::Text | Opcode::Binary | Opcode::Continuation, Some(m)) => {
                assert!(fin, "a message before its final frame");
                let (mut data, compressed) = joined.take().unwrap_or((Vec::new(), rsv != 0));
                data.extend_from_slice(payload);
                let out = match m {
                    Message::Text(t) => {
                        assert!(std::str::from_utf8(&t).is_ok(), "text that is not UTF-8");
                        t
                    }
                    Message::Binary(b) => b,
                    other => panic!("{opcode:?} gave {other:?}"),
                };
                assert!(
                    out.len() <= max,
                    "message of {} bytes over {max}",
                    out.len()
                );
                if !compressed {
                    assert_eq!(out, data, "message is not its fragments joined");
                }
            }
            (opcode, other) => panic!("{opcode:?} gave {other:?}"),
        }
    }
}

/// The session machine on the bytes of a client, with an application that echoes
/// messages, pings and closes.
///
/// Layout: a mode byte (bits 0-3: the message size limit, which is also the frame limit;
/// bit 6: permessage-deflate; bit 7: client_no_context_takeover), the cut seed, an
/// application byte, then the bytes from the client.
///
/// Checks: everything the session writes decodes as server frames (unmasked, RSV1 only
/// with deflate); after a close frame nothing is written, and at most one close goes out;
/// a pong echoes a ping's payload within 125 bytes; messages are within the limit and text
/// is UTF-8; once closed the session reads nothing more.
pub fn ws_session(data: &[u8]) {
    let mut input = Input::new(data);
    let mode = input.byte();
    let seed = input.byte();
    let app = input.byte();
    let max = MESSAGE_LIMITS[usize::from(mode & 0x0f) % MESSAGE_LIMITS.len()];
    let config = Config {
        max_message_size: max,
        max_frame_size: max,
    };
    let deflate = mode & 0x40 != 0;
    let mut session = if deflate {
        let params = DeflateParams {
            client_no_context_takeover: mode & 0x80 != 0,
            ..DeflateParams::default()
        };
        Session::with_deflate(config, &params, &DeflateConfig::default())
    } else {
        Session::new(config)
    };
    let mut rng = Rng::new(app);
    let mut out = SentFrames::new(deflate);
    let mut buf = BytesMut::new();

    for piece in pieces(input.rest(), seed) {
        if !session.wants_input() {
            break;
        }
        buf.extend_from_slice(piece);
        while let Some(event) = session.poll_event(&mut buf) {
            match event {
                Event::Message(Message::Text(t)) => {
                    assert!(t.len() <= max && std::str::from_utf8(&t).is_ok());
                    session.send(Opcode::Text, t);
                }
                Event::Message(Message::Binary(b)) => {
                    assert!(b.len() <= max);
                    session.send(Opcode::Binary, b);
                }
                Event::Message(other) => panic!("the session passed on {other:?}"),
                Event::Pong => {}
                Event::Closed(_) | Event::Failed(_) => {
                    assert!(!session.wants_input());
                    if rng.below(2) == 0 {
                        session.finish();
                    }
                }
            }
            match rng.below(16) {
                0 => session.ping(Bytes::from_static(b"are you there")),
                1 => session.close(CloseCode::NORMAL, "bye"),
                _ => {}
            }
            out.take(&mut session);
        }
        out.take(&mut session);
    }
    session.finish();
    out.take(&mut session);
    assert!(out.buf.is_empty(), "the session wrote part of a frame");
    if session.is_closed() {
        assert!(
            session.poll_event(&mut buf).is_none(),
            "a closed session read on"
        );
    }
}

/// The server frames a session wrote, checked as they come.
struct SentFrames {
    buf: BytesMut,
    allowed_rsv: u8,
    closed: bool,
}

impl SentFrames {
    fn new(deflate: bool) -> Self {
        SentFrames {
            buf: BytesMut::new(),
            allowed_rsv: if deflate { RSV1 } else { 0 },
            closed: false,
        }
    }

    fn take(&mut self, session: &mut Session) {
        while let Some(piece) = session.poll_transmit() {
            self.buf.extend_from_slice(&piece);
        }
        loop {
            match decode_server_frame(&mut self.buf, usize::MAX, self.allowed_rsv) {
                Ok(Decoded::Frame(f)) => {
                    assert!(!self.closed, "{f:?} written after our close frame");
                    match f.opcode {
                        Opcode::Close => self.closed = true,
                        Opcode::Pong => assert!(f.payload.len() <= MAX_CONTROL_PAYLOAD),
                        _ => {}
                    }
                }
                Ok(Decoded::Incomplete { .. }) => break,
                Err(e) => panic!("the session wrote a bad frame: {e:?}"),
            }
        }
    }
}
