//! Messages from frames (RFC 6455 5.4 to 5.6): joins the fragments of text and binary
//! messages, passes control frames through, and checks text is UTF-8 (RFC 6455 8.1).
//!
//! A message is one text or binary frame, possibly followed by continuation frames, the
//! last with FIN. Control frames (ping, pong, close) may come between the fragments; they
//! are surfaced as they arrive, so that a ping is answered while a long message is still
//! on its way. Data frames cannot nest: a continuation with no message begun, or a new
//! message before the last one ended, breaks the protocol.
//!
//! Text is checked as each fragment arrives, not when the message is complete: a client
//! that sends invalid UTF-8 is stopped at the fragment that proves it, and a message the
//! server would refuse anyway is not buffered to the end. [`Utf8Validator`] carries the
//! start of a code point split between fragments (up to 3 bytes) to the next one.
//!
//! A message in one frame keeps the frame's payload, a slice of the read buffer: no copy.
//! Fragments are copied once, into the message being built, which the message size limit
//! bounds.
//!
//! # Compressed messages
//!
//! With permessage-deflate agreed ([`Assembler::with_deflate`]), a text or binary frame
//! with RSV1 starts a compressed message (RFC 7692 6): its frames' payloads go through the
//! [`Inflater`] as they arrive, the size limit applies to the inflated size, and text is
//! checked as the inflater produces it, so that a compressed message is refused as early
//! as a plain one. RSV1 anywhere else (a continuation, a control frame) is a protocol
//! error, as is RSV1 without the extension.

use bytes::{Bytes, BytesMut};

use super::close::Close;
use super::deflate::Inflater;
use super::frame::{Frame, Opcode, RSV1};
use super::WsError;

/// What the assembler surfaces: a whole data message, or a control frame's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Message {
    /// A text message; the bytes are valid UTF-8.
    Text(Bytes),
    /// A binary message.
    Binary(Bytes),
    /// A ping; answer it with a pong carrying the same payload (RFC 6455 5.5.2).
    Ping(Bytes),
    /// A pong, solicited or not; nothing to answer.
    Pong(Bytes),
    /// A close frame: `None` if it carried no status code. Answer with a close frame of
    /// your own (echoing the code is customary), then send nothing more.
    Close(Option<Close>),
}

/// Joins frames into messages for one connection.
#[derive(Debug)]
pub(crate) struct Assembler {
    max_message_size: usize,
    partial: Option<Partial>,
    /// Present when permessage-deflate was agreed.
    inflater: Option<Inflater>,
}

/// A fragmented message still missing its last frame.
#[derive(Debug)]
struct Partial {
    text: bool,
    body: Body,
    utf8: Utf8Validator,
}

/// The content of a fragmented message so far.
#[derive(Debug)]
enum Body {
    /// The fragments' payloads, joined.
    Plain(BytesMut),
    /// What the inflater made of them. A `Vec` because that is what it writes into.
    Inflated(Vec<u8>),
}

impl Assembler {
    /// An assembler refusing (with 1009) any message whose payloads add up to more than
    /// `max_message_size` bytes. No extension: a frame with an RSV bit set is refused.
    pub(crate) fn new(max_message_size: usize) -> Assembler {
        Assembler {
            max_message_size,
            partial: None,
            inflater: None,
        }
    }

    /// An assembler for a connection that agreed on permessage-deflate: messages whose
    /// first frame has RSV1 are inflated by `inflater`, and refused (with 1009) as soon as
    /// their inflated size passes `max_message_size`.
    pub(crate) fn with_deflate(max_message_size: usize, inflater: Inflater) -> Assembler {
        Assembler {
            max_message_size,
            partial: None,
            inflater: Some(inflater),
        }
    }

    /// The UTF-8 state a continuation frame's payload continues from: `Some` while an
    /// uncompressed text message is in progress (a compressed one can only be checked
    /// after inflation).
    pub(crate) fn text_in_progress(&self) -> Option<Utf8Validator> {
        match &self.partial {
            Some(Partial {
                text: true,
                body: Body::Plain(_),
                utf8,
            }) => Some(utf8.clone()),
            _ => None,
        }
    }

    /// Whether a fragmented message has begun and not ended.
    #[cfg(test)]
    pub(crate) fn in_message(&self) -> bool {
        self.partial.is_some()
    }

    /// Takes the next decoded frame. `Ok(None)` means it was a fragment of a message not
    /// yet complete. On `Err` the connection is to be failed; the partial message is
    /// dropped and the assembler should not be used again.
    pub(crate) fn push(&mut self, frame: Frame) -> Result<Option<Message>, WsError> {
        let result = self.push_frame(frame);
        if result.is_err() {
            self.partial = None;
        }
        result
    }

    fn push_frame(&mut self, frame: Frame) -> Result<Option<Message>, WsError> {
        let Frame {
            fin,
            rsv,
            opcode,
            payload,
        } = frame;
        // RFC 7692 6: RSV1 marks the first frame of a compressed message, and nothing
        // else. The frame decoder let through the bits the extension defines; where they
        // stand is checked here.
        let first_data_frame = matches!(opcode, Opcode::Text | Opcode::Binary);
        let allowed = if self.inflater.is_some() && first_data_frame {
            RSV1
        } else {
            0
        };
        if rsv & !allowed != 0 {
            return Err(WsError::ReservedBits(rsv & !allowed));
        }
        let compressed = rsv & RSV1 != 0;
        match opcode {
            Opcode::Ping => Ok(Some(Message::Ping(payload))),
            Opcode::Pong => Ok(Some(Message::Pong(payload))),
            Opcode::Close => Ok(Some(Message::Close(Close::parse(&payload)?))),
            Opcode::Text | Opcode::Binary if compressed => {
                if self.partial.is_some() {
                    return Err(WsError::MessageInterleaved);
                }
                let text = opcode == Opcode::Text;
                let mut utf8 = Utf8Validator::new();
                let mut data = Vec::new();
                self.inflate(&payload, fin, &mut data, text, &mut utf8)?;
                if fin {
                    return finish(text, Bytes::from(data), &utf8).map(Some);
                }
                self.partial = Some(Partial {
                    text,
                    body: Body::Inflated(data),
                    utf8,
                });
                Ok(None)
            }
            Opcode::Text | Opcode::Binary => {
                if self.partial.is_some() {
                    return Err(WsError::MessageInterleaved);
                }
                self.check_size(0, payload.len())?;
                let text = opcode == Opcode::Text;
                let mut utf8 = Utf8Validator::new();
                if text {
                    utf8.feed(&payload)?;
                }
                if fin {
                    return finish(text, payload, &utf8).map(Some);
                }
                self.partial = Some(Partial {
                    text,
                    body: Body::Plain(BytesMut::from(&payload[..])),
                    utf8,
                });
                Ok(None)
            }
            Opcode::Continuation => {
                let Some(mut partial) = self.partial.take() else {
                    return Err(WsError::UnexpectedContinuation);
                };
                match &mut partial.body {
                    Body::Plain(data) => {
                        self.check_size(data.len(), payload.len())?;
                        if partial.text {
                            partial.utf8.feed(&payload)?;
                        }
                        data.extend_from_slice(&payload);
                    }
                    Body::Inflated(data) => {
                        self.inflate(&payload, fin, data, partial.text, &mut partial.utf8)?;
                    }
                }
                if !fin {
                    self.partial = Some(partial);
                    return Ok(None);
                }
                let Partial { text, body, utf8 } = partial;
                let data = match body {
                    Body::Plain(data) => data.freeze(),
                    Body::Inflated(data) => Bytes::from(data),
                };
                finish(text, data, &utf8).map(Some)
            }
        }
    }

    /// Inflates a compressed message's next payload into `data`, checking text as it comes.
    fn inflate(
        &mut self,
        payload: &[u8],
        fin: bool,
        data: &mut Vec<u8>,
        text: bool,
        utf8: &mut Utf8Validator,
    ) -> Result<(), WsError> {
        // `push_frame` lets RSV1 through only with an inflater; this keeps it panic-free.
        let inflater = self.inflater.as_mut().ok_or(WsError::ReservedBits(RSV1))?;
        inflater.inflate(payload, fin, data, self.max_message_size, |new| {
            if text {
                utf8.feed(new)
            } else {
                Ok(())
            }
        })
    }

    /// Refuses a fragment of `more` bytes after `held` if together they pass the limit.
    fn check_size(&self, held: usize, more: usize) -> Result<(), WsError> {
        match held.checked_add(more) {
            Some(total) if total <= self.max_message_size => Ok(()),
            _ => Err(WsError::MessageTooLarge {
                max: self.max_message_size,
            }),
        }
    }
}

/// The complete message, once text has been checked to end on a whole code point.
fn finish(text: bool, data: Bytes, utf8: &Utf8Validator) -> Result<Message, WsError> {
    if text {
        utf8.finish()?;
        Ok(Message::Text(data))
    } else {
        Ok(Message::Binary(data))
    }
}

/// Checks that a byte stream fed in pieces is UTF-8, refusing it at the piece with the
/// first byte that no valid continuation could follow.
///
/// `std::str::from_utf8` does the work; its error tells an invalid sequence
/// (`error_len` is `Some`) from one merely cut short by the end of the input (`None`).
/// A cut-short sequence, at most 3 bytes, is kept and completed from the next piece.
#[derive(Debug, Clone, Default)]
pub(crate) struct Utf8Validator {
    /// The start of a code point cut by the end of the last piece.
    pending: [u8; 4],
    /// How many bytes of `pending` are in use: 0 to 3.
    pending_len: usize,
}

impl Utf8Validator {
    /// A validator at the start of a stream.
    pub(crate) const fn new() -> Utf8Validator {
        Utf8Validator {
            pending: [0; 4],
            pending_len: 0,
        }
    }

    /// Checks the next piece. An incomplete code point at its end is fine here; it must be
    /// completed by the next piece, or [`Utf8Validator::finish`] refuses it.
    pub(crate) fn feed(&mut self, piece: &[u8]) -> Result<(), WsError> {
        let mut rest = piece;
        if self.pending_len > 0 {
            // Complete the pending code point a byte at a time: it needs at most 3 more.
            while self.pending_len > 0 {
                let Some((&byte, tail)) = rest.split_first() else {
                    // Still incomplete, and this piece is used up.
                    return Ok(());
                };
                rest = tail;
                let Some(slot) = self.pending.get_mut(self.pending_len) else {
                    return Err(WsError::InvalidUtf8);
                };
                *slot = byte;
                self.pending_len += 1;
                let sequence = self.pending.get(..self.pending_len).unwrap_or_default();
                match core::str::from_utf8(sequence) {
                    Ok(_) => self.pending_len = 0,
                    Err(e) if e.error_len().is_some() => return Err(WsError::InvalidUtf8),
                    Err(_) => {}
                }
            }
        }
        match core::str::from_utf8(rest) {
            Ok(_) => Ok(()),
            Err(e) if e.error_len().is_some() => Err(WsError::InvalidUtf8),
            Err(e) => {
                // `error_len` None: the input ends inside a code point, 1 to 3 bytes.
                let tail = rest.get(e.valid_up_to()..).unwrap_or_default();
                let Some(slots) = self.pending.get_mut(..tail.len()) else {
                    return Err(WsError::InvalidUtf8);
                };
                slots.copy_from_slice(tail);
                self.pending_len = tail.len();
                Ok(())
            }
        }
    }

    /// Ends the stream: refuses it if it stopped inside a code point.
    pub(crate) fn finish(&self) -> Result<(), WsError> {
        if self.pending_len == 0 {
            Ok(())
        } else {
            Err(WsError::InvalidUtf8)
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::BytesMut;

    use super::super::close::CloseCode;
    use super::super::frame::{decode, encode_masked, Decoded};
    use super::super::tests::XorShift;
    use super::*;

    const MAX: usize = 1 << 20;

    fn frame(opcode: Opcode, payload: &[u8], fin: bool) -> Frame {
        Frame::new(opcode, Bytes::copy_from_slice(payload), fin)
    }

    /// Pushes every frame; returns what came out, or the first error.
    fn assemble(frames: &[Frame], max: usize) -> Result<Vec<Message>, WsError> {
        let mut assembler = Assembler::new(max);
        let mut out = Vec::new();
        for f in frames {
            if let Some(message) = assembler.push(f.clone())? {
                out.push(message);
            }
        }
        Ok(out)
    }

    /// `assemble`, which must fail at frame `at` (0-based) with `err`.
    fn assert_fails_at(frames: &[Frame], max: usize, at: usize, err: WsError) {
        let mut assembler = Assembler::new(max);
        for (i, f) in frames.iter().enumerate() {
            match assembler.push(f.clone()) {
                Ok(_) => assert!(i < at, "frame {i} accepted, expected {err:?} at {at}"),
                Err(got) => {
                    assert_eq!((i, got), (at, err));
                    assert!(!assembler.in_message());
                    return;
                }
            }
        }
        panic!("no error, expected {err:?} at {at}");
    }

    #[test]
    fn single_frame_messages_are_not_copied() {
        let payload = Bytes::from_static(b"Hello");
        let mut assembler = Assembler::new(MAX);
        let message = assembler
            .push(Frame::text(payload.clone()))
            .unwrap()
            .unwrap();
        let Message::Text(text) = message else {
            panic!("{message:?}");
        };
        assert_eq!(text.as_ptr(), payload.as_ptr());
        assert_eq!(
            assembler.push(frame(Opcode::Binary, b"\xff\x00", true)),
            Ok(Some(Message::Binary(Bytes::from_static(b"\xff\x00"))))
        );
        assert!(!assembler.in_message());
    }

    #[test]
    fn rfc_fragmented_hello() {
        let frames = [
            frame(Opcode::Text, b"Hel", false),
            frame(Opcode::Continuation, b"lo", true),
        ];
        assert_eq!(
            assemble(&frames, MAX),
            Ok(vec![Message::Text("Hello".into())])
        );
    }

    #[test]
    fn control_frames_between_fragments_come_out_at_once() {
        let mut assembler = Assembler::new(MAX);
        let mut push = |f: Frame| assembler.push(f).unwrap();
        assert_eq!(push(frame(Opcode::Binary, b"ab", false)), None);
        assert_eq!(
            push(frame(Opcode::Ping, b"Hello", true)),
            Some(Message::Ping("Hello".into()))
        );
        assert_eq!(push(frame(Opcode::Continuation, b"", false)), None);
        assert_eq!(
            push(frame(Opcode::Pong, b"", true)),
            Some(Message::Pong(Bytes::new()))
        );
        assert_eq!(push(frame(Opcode::Continuation, b"cd", false)), None);
        assert_eq!(
            push(frame(Opcode::Close, b"\x03\xe9", true)),
            Some(Message::Close(Some(Close {
                code: CloseCode::GOING_AWAY,
                reason: String::new()
            })))
        );
        assert_eq!(
            push(frame(Opcode::Continuation, b"ef", true)),
            Some(Message::Binary("abcdef".into()))
        );
    }

    #[test]
    fn empty_messages_and_fragments() {
        let frames = [
            frame(Opcode::Text, b"", true),
            frame(Opcode::Binary, b"", false),
            frame(Opcode::Continuation, b"", false),
            frame(Opcode::Continuation, b"", true),
        ];
        assert_eq!(
            assemble(&frames, 0),
            Ok(vec![
                Message::Text(Bytes::new()),
                Message::Binary(Bytes::new())
            ])
        );
    }

    #[test]
    fn continuation_without_a_message_is_a_protocol_error() {
        for frames in [
            &[frame(Opcode::Continuation, b"x", true)][..],
            &[frame(Opcode::Continuation, b"x", false)],
            &[
                frame(Opcode::Text, b"done", true),
                frame(Opcode::Continuation, b"x", true),
            ],
        ] {
            let at = frames.len() - 1;
            assert_fails_at(frames, MAX, at, WsError::UnexpectedContinuation);
        }
        assert_eq!(
            WsError::UnexpectedContinuation.code(),
            CloseCode::PROTOCOL_ERROR
        );
    }

    #[test]
    fn new_message_inside_a_message_is_a_protocol_error() {
        for opcode in [Opcode::Text, Opcode::Binary] {
            let frames = [
                frame(Opcode::Text, b"Hel", false),
                frame(Opcode::Ping, b"", true),
                frame(opcode, b"lo", true),
            ];
            assert_fails_at(&frames, MAX, 2, WsError::MessageInterleaved);
        }
        assert_eq!(
            WsError::MessageInterleaved.code(),
            CloseCode::PROTOCOL_ERROR
        );
    }

    #[test]
    fn message_size_limit() {
        // Exactly the limit, in one frame or in three.
        let at_limit = [
            frame(Opcode::Binary, &[1; 10], true),
            frame(Opcode::Text, b"abcd", false),
            frame(Opcode::Continuation, b"efg", false),
            frame(Opcode::Continuation, b"hij", true),
        ];
        assert_eq!(assemble(&at_limit, 10).unwrap().len(), 2);

        let err = WsError::MessageTooLarge { max: 10 };
        assert_eq!(err.code(), CloseCode::MESSAGE_TOO_BIG);
        assert_fails_at(&[frame(Opcode::Text, &[b'a'; 11], true)], 10, 0, err);
        let over = [
            frame(Opcode::Binary, &[0; 6], false),
            frame(Opcode::Continuation, &[0; 4], false),
            frame(Opcode::Continuation, &[0; 1], true),
        ];
        assert_fails_at(&over, 10, 2, err);
        // Control frames do not count.
        let with_ping = [
            frame(Opcode::Binary, &[0; 6], false),
            frame(Opcode::Ping, &[0; 100], true),
            frame(Opcode::Continuation, &[0; 4], true),
        ];
        assert_eq!(assemble(&with_ping, 10).unwrap().len(), 2);
    }

    #[test]
    fn invalid_utf8_in_one_frame() {
        for bad in [
            &b"\xff"[..],
            b"abc\xc0\xaf",      // overlong '/'
            b"\xed\xa0\x80",     // UTF-16 surrogate
            b"\xf4\x90\x80\x80", // above U+10FFFF
            b"\xe2\x82",         // cut short at the end of the message
            b"caf\xc3",
        ] {
            let err = assemble(&[frame(Opcode::Text, bad, true)], MAX).unwrap_err();
            assert_eq!(err, WsError::InvalidUtf8, "{bad:02x?}");
            assert_eq!(err.code(), CloseCode::INVALID_PAYLOAD);
        }
        // Binary messages are not text.
        assert!(assemble(&[frame(Opcode::Binary, b"\xff", true)], MAX).is_ok());
    }

    #[test]
    fn invalid_utf8_fails_at_the_first_fragment_that_proves_it() {
        // In the first fragment, with more to come.
        let frames = [
            frame(Opcode::Text, b"ok\xff", false),
            frame(Opcode::Continuation, b"never read", true),
        ];
        assert_fails_at(&frames, MAX, 0, WsError::InvalidUtf8);
        // A prefix no continuation can complete: ED A0 is a surrogate whatever follows,
        // F4 90 above U+10FFFF.
        for prefix in [&b"\xed\xa0"[..], b"\xf4\x90", b"\xf5", b"\xc1"] {
            let frames = [
                frame(Opcode::Text, prefix, false),
                frame(Opcode::Continuation, b"\x80", true),
            ];
            assert_fails_at(&frames, MAX, 0, WsError::InvalidUtf8);
        }
        // A valid prefix completed wrongly by the next fragment.
        let frames = [
            frame(Opcode::Text, b"\xf0\x9f", false),
            frame(Opcode::Continuation, b"(", false),
            frame(Opcode::Continuation, b"rest", true),
        ];
        assert_fails_at(&frames, MAX, 1, WsError::InvalidUtf8);
        // A code point left open by the last fragment.
        let frames = [
            frame(Opcode::Text, b"\xf0\x9f", false),
            frame(Opcode::Continuation, b"\x98", false),
            frame(Opcode::Continuation, b"", true),
        ];
        assert_fails_at(&frames, MAX, 2, WsError::InvalidUtf8);
    }

    #[test]
    fn code_points_split_at_every_position() {
        // 1, 2, 3 and 4-byte code points, split into 2 fragments anywhere, and into 3.
        for text in ["a😀b", "😀", "x€", "é", "€😀é"] {
            let bytes = text.as_bytes();
            for cut in 0..=bytes.len() {
                let frames = [
                    frame(Opcode::Text, &bytes[..cut], false),
                    frame(Opcode::Continuation, &bytes[cut..], true),
                ];
                assert_eq!(
                    assemble(&frames, MAX),
                    Ok(vec![Message::Text(Bytes::copy_from_slice(bytes))]),
                    "{text} cut at {cut}"
                );
                for cut2 in cut..=bytes.len() {
                    let frames = [
                        frame(Opcode::Text, &bytes[..cut], false),
                        frame(Opcode::Ping, b"", true),
                        frame(Opcode::Continuation, &bytes[cut..cut2], false),
                        frame(Opcode::Continuation, &bytes[cut2..], true),
                    ];
                    let out = assemble(&frames, MAX).unwrap();
                    assert_eq!(out[1], Message::Text(Bytes::copy_from_slice(bytes)));
                }
            }
            // One byte per fragment.
            let mut frames = vec![frame(Opcode::Text, b"", false)];
            frames.extend(
                bytes
                    .iter()
                    .map(|b| frame(Opcode::Continuation, &[*b], false)),
            );
            frames.push(frame(Opcode::Continuation, b"", true));
            assert_eq!(
                assemble(&frames, MAX),
                Ok(vec![Message::Text(Bytes::copy_from_slice(bytes))])
            );
        }
    }

    #[test]
    fn close_frames_are_checked() {
        assert_eq!(
            assemble(&[frame(Opcode::Close, b"", true)], MAX),
            Ok(vec![Message::Close(None)])
        );
        assert_eq!(
            assemble(&[frame(Opcode::Close, b"\x0b\xb8app", true)], MAX),
            Ok(vec![Message::Close(Some(Close {
                code: CloseCode(3000),
                reason: "app".into()
            }))])
        );
        for (payload, err) in [
            (&b"\x03"[..], WsError::CloseTooShort),
            (b"\x03\xec", WsError::InvalidCloseCode(1004)),
            (b"\x03\xed", WsError::InvalidCloseCode(1005)),
            (b"\x03\xee", WsError::InvalidCloseCode(1006)),
            (b"\x03\xf7", WsError::InvalidCloseCode(1015)),
            (b"\x03\xe7", WsError::InvalidCloseCode(999)),
            (b"\x07\xd0", WsError::InvalidCloseCode(2000)),
            (b"\x13\x88", WsError::InvalidCloseCode(5000)),
            (b"\x03\xe8\xce\xba\xe1\xbd", WsError::InvalidCloseReason),
        ] {
            let frames = [
                frame(Opcode::Text, b"a", false),
                frame(Opcode::Close, payload, true),
            ];
            assert_fails_at(&frames, MAX, 1, err);
        }
    }

    /// Random text with code points of every width, and sometimes a corrupted byte.
    fn random_bytes(rng: &mut XorShift, corrupt: bool) -> Vec<u8> {
        let mut s = String::new();
        for _ in 0..rng.below(40) {
            let c = match rng.below(5) {
                0 => char::from(b'a' + rng.below(26) as u8),
                1 => 'é',
                2 => '€',
                3 => '😀',
                _ => char::from_u32(rng.below(0x11_0000) as u32).unwrap_or('?'),
            };
            s.push(c);
        }
        let mut bytes = s.into_bytes();
        if corrupt && !bytes.is_empty() {
            let at = rng.below(bytes.len() as u64) as usize;
            bytes[at] = rng.next_u64() as u8;
        }
        bytes
    }

    /// Random cut points splitting `len` bytes into pieces (some empty).
    fn random_cuts(rng: &mut XorShift, len: usize) -> Vec<usize> {
        let mut cuts: Vec<usize> = (0..rng.below(5))
            .map(|_| rng.below(len as u64 + 1) as usize)
            .collect();
        cuts.push(0);
        cuts.push(len);
        cuts.sort_unstable();
        cuts
    }

    #[test]
    fn validator_agrees_with_std_and_fails_at_the_first_proof() {
        let mut rng = XorShift::new(7);
        for round in 0..3000 {
            let bytes = random_bytes(&mut rng, round % 2 == 0);
            let cuts = random_cuts(&mut rng, bytes.len());
            let mut validator = Utf8Validator::new();
            let mut failed = false;
            for pair in cuts.windows(2) {
                let (start, end) = (pair[0], pair[1]);
                // std's verdict on everything up to the end of this piece: an invalid
                // sequence in it must be reported now, a cut-short one not yet.
                let proven_bad = matches!(
                    core::str::from_utf8(&bytes[..end]),
                    Err(e) if e.error_len().is_some()
                );
                let fed = validator.feed(&bytes[start..end]);
                assert_eq!(fed.is_err(), proven_bad, "{bytes:02x?} {cuts:?} at {end}");
                if fed.is_err() {
                    failed = true;
                    break;
                }
            }
            if !failed {
                assert_eq!(
                    validator.finish().is_ok(),
                    core::str::from_utf8(&bytes).is_ok(),
                    "{bytes:02x?} {cuts:?}"
                );
            }
        }
    }

    #[test]
    fn round_trips_generated_messages_through_the_frame_codec() {
        let mut rng = XorShift::new(0xfeed);
        let mut wire = BytesMut::new();
        let mut expected = Vec::new();
        for _ in 0..300 {
            let text = rng.below(2) == 0;
            let data = if text {
                random_bytes(&mut rng, false)
            } else {
                let len = rng.below(300) as usize;
                rng.bytes(len)
            };
            let cuts = random_cuts(&mut rng, data.len());
            for (i, pair) in cuts.windows(2).enumerate() {
                let opcode = match (i, text) {
                    (0, true) => Opcode::Text,
                    (0, false) => Opcode::Binary,
                    _ => Opcode::Continuation,
                };
                let fin = i == cuts.len() - 2;
                let f = frame(opcode, &data[pair[0]..pair[1]], fin);
                encode_masked(&f, (rng.next_u64() as u32).to_ne_bytes(), &mut wire);
                if !fin && rng.below(3) == 0 {
                    let len = rng.below(126) as usize;
                    let ping = rng.bytes(len);
                    encode_masked(&Frame::ping(ping.clone().into()), [1, 2, 3, 4], &mut wire);
                    expected.push(Message::Ping(ping.into()));
                }
            }
            expected.push(if text {
                Message::Text(data.into())
            } else {
                Message::Binary(data.into())
            });
        }
        let mut assembler = Assembler::new(MAX);
        let mut got = Vec::new();
        while let Decoded::Frame(f) = decode(&mut wire, MAX, 0).unwrap() {
            if let Some(message) = assembler.push(f).unwrap() {
                got.push(message);
            }
        }
        assert!(wire.is_empty());
        assert_eq!(got, expected);
    }
}
