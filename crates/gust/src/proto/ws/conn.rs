//! One WebSocket session as a state machine: bytes from the peer in, messages for the
//! application out; messages from the application in, frames for the peer out.
//!
//! It chains the codecs of this module (frame decoding, message assembly) and keeps the
//! rules that span frames: a ping is answered with a pong, a close is answered with a close
//! and ends the session, a broken rule fails the session with its close code (RFC 6455
//! 7.1.7), and after our close frame no data frame follows (RFC 6455 5.5.1). It owns no
//! socket and no clock: the driver reads into a buffer, asks [`Session::poll_event`] what
//! it means, sends what [`Session::poll_transmit`] hands out, and keeps the time (idle
//! pings, the close handshake's timeout).
//!
//! Output is a queue of `Bytes` pieces: frame headers and small payloads joined, large
//! payloads queued as they came (no copy). [`Session::pending`] tells the driver how much
//! waits, so that it takes more from the application only while the peer keeps up.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

use super::close::{Close, CloseCode};
use super::deflate::{Compressor, DeflateConfig, DeflateParams, Inflater};
use super::frame::{self, encode_head, Decoded, Frame, Opcode, RSV1};
use super::message::{Assembler, Message, Utf8Validator};
use super::WsError;

/// Payloads up to this size are copied behind their frame header, so that a small message
/// leaves as one piece.
const JOIN_UP_TO: usize = 1024;

/// The bounds of one session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Config {
    /// Bytes of one message, all fragments together (after decompression): 1009 past it.
    pub(crate) max_message_size: usize,
    /// Bytes of one frame's payload: 1009 past it, when the header arrives.
    pub(crate) max_frame_size: usize,
}

/// Where the closing handshake stands.
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    /// Messages flow both ways.
    Open,
    /// We sent a close frame and wait for the peer's; what it sends meanwhile is dropped.
    CloseSent,
    /// The peer closed, or broke a rule: nothing more is read, and our close frame (this
    /// payload) goes out once the application has answered what it received before, or
    /// the driver stops waiting ([`Session::finish`]).
    Ending(Bytes),
    /// Both close frames are out (or the session failed): flush and end the transport.
    Closed,
}

/// What the peer's bytes meant, for the application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Event {
    /// A whole text or binary message.
    Message(Message),
    /// A pong (solicited or not): proof of life, nothing to answer.
    Pong,
    /// The peer closed: `None` if its frame carried no code. If it closed first, our
    /// answer goes out at [`Session::finish`]; nothing more is read.
    Closed(Option<Close>),
    /// The peer broke a rule: our close frame with the error's code goes out at
    /// [`Session::finish`]. Nothing more is read from the peer.
    Failed(WsError),
}

/// One WebSocket session, server side.
#[derive(Debug)]
pub(crate) struct Session {
    config: Config,
    assembler: Assembler,
    /// RSV bits the negotiated extensions allow on received frames.
    allowed_rsv: u8,
    /// permessage-deflate for what we send, when negotiated.
    compressor: Option<Compressor>,
    state: State,
    out: VecDeque<Bytes>,
    out_len: usize,
    /// Where the next frames are written before they are split off into `out`.
    frames: BytesMut,
    /// The UTF-8 check of the text frame still arriving at the front of the buffer.
    early_utf8: Option<EarlyUtf8>,
}

/// How far the payload of a partly received text frame has been checked.
#[derive(Debug)]
struct EarlyUtf8 {
    validator: Utf8Validator,
    checked: usize,
}

impl Session {
    /// A session with no extension.
    pub(crate) fn new(config: Config) -> Session {
        Session {
            config,
            assembler: Assembler::new(config.max_message_size),
            allowed_rsv: 0,
            compressor: None,
            state: State::Open,
            out: VecDeque::new(),
            out_len: 0,
            frames: BytesMut::new(),
            early_utf8: None,
        }
    }

    /// A session with permessage-deflate (RFC 7692) agreed on `params`: received messages
    /// with RSV1 are inflated (bounded by the message size), sent ones compressed.
    pub(crate) fn with_deflate(
        config: Config,
        params: &DeflateParams,
        deflate: &DeflateConfig,
    ) -> Session {
        Session {
            assembler: Assembler::with_deflate(config.max_message_size, Inflater::new(params)),
            allowed_rsv: RSV1,
            compressor: Some(Compressor::new(params, deflate)),
            ..Session::new(config)
        }
    }

    /// Whether the application may still send messages: while open, and while the
    /// session ends, so that answers to what was received before go out before the close.
    pub(crate) fn is_open(&self) -> bool {
        matches!(self.state, State::Open | State::Ending(_))
    }

    /// Whether the peer's bytes are still wanted.
    pub(crate) fn wants_input(&self) -> bool {
        matches!(self.state, State::Open | State::CloseSent)
    }

    /// Whether the session is ending: the peer closed or failed it, and our close frame
    /// waits for [`Session::finish`].
    pub(crate) fn is_ending(&self) -> bool {
        matches!(self.state, State::Ending(_))
    }

    /// Sends the close frame of an ending session; afterwards nothing more is sent.
    pub(crate) fn finish(&mut self) {
        if let State::Ending(payload) = &self.state {
            let payload = payload.clone();
            self.state = State::Closed;
            self.queue_frame(Opcode::Close, 0, payload);
        }
    }

    /// Whether the session is over: once [`Session::pending`] is zero, end the transport.
    pub(crate) fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Bytes queued for the peer.
    #[cfg(test)]
    pub(crate) fn pending(&self) -> usize {
        self.out_len
    }

    /// The next piece of output for the peer.
    pub(crate) fn poll_transmit(&mut self) -> Option<Bytes> {
        let piece = self.out.pop_front()?;
        self.out_len -= piece.len();
        Some(piece)
    }

    /// Decodes frames from the front of `buf` until one means something to the
    /// application; `None` when `buf` holds no whole frame (read more), or when the
    /// session is closed (read nothing more). Pings are answered on the way.
    pub(crate) fn poll_event(&mut self, buf: &mut BytesMut) -> Option<Event> {
        while self.wants_input() {
            let frame = match frame::decode(buf, self.config.max_frame_size, self.allowed_rsv) {
                Ok(Decoded::Frame(frame)) => frame,
                Ok(Decoded::Incomplete { .. }) => {
                    return match self.check_partial_text(buf) {
                        Ok(()) => None,
                        Err(e) => Some(self.fail(e)),
                    };
                }
                Err(e) => return Some(self.fail(e)),
            };
            self.early_utf8 = None;
            let message = match self.assembler.push(frame) {
                Ok(Some(message)) => message,
                Ok(None) => continue,
                Err(e) => return Some(self.fail(e)),
            };
            match message {
                Message::Ping(payload) => {
                    // After our close, nothing but the wait for theirs (RFC 6455 5.5.1).
                    if self.state == State::Open {
                        self.queue_frame(Opcode::Pong, 0, payload);
                    }
                }
                Message::Pong(_) => return Some(Event::Pong),
                Message::Close(close) => {
                    self.state = if self.state == State::Open {
                        // Echo the code, as is customary (RFC 6455 5.5.1); an empty close
                        // is answered with an empty one.
                        let code = close.as_ref().map(|c| c.code);
                        State::Ending(Frame::close(code, "").payload)
                    } else {
                        State::Closed
                    };
                    return Some(Event::Closed(close));
                }
                Message::Text(_) | Message::Binary(_) if self.state == State::CloseSent => {}
                data => return Some(Event::Message(data)),
            }
        }
        None
    }

    /// Checks the payload received so far of a text frame still arriving, so that invalid
    /// UTF-8 fails the session at its first byte (RFC 6455 8.1: "fail fast") rather than
    /// once the whole frame, possibly megabytes later, is in. Each byte is checked once
    /// here; the assembler checks the whole frame again when it is complete, which keeps
    /// one place that decides what a message is.
    fn check_partial_text(&mut self, buf: &BytesMut) -> Result<(), WsError> {
        let Some(partial) = frame::peek_partial(buf) else {
            return Ok(());
        };
        if self.early_utf8.is_none() {
            // Compressed payloads can only be checked once inflated.
            let validator = match (partial.opcode, partial.rsv) {
                (_, rsv) if rsv != 0 => return Ok(()),
                (Opcode::Text, _) if self.assembler.text_in_progress().is_none() => {
                    Utf8Validator::new()
                }
                (Opcode::Continuation, _) => match self.assembler.text_in_progress() {
                    Some(validator) => validator,
                    None => return Ok(()),
                },
                _ => return Ok(()),
            };
            self.early_utf8 = Some(EarlyUtf8 {
                validator,
                checked: 0,
            });
        }
        let Some(early) = self.early_utf8.as_mut() else {
            return Ok(());
        };
        let payload = buf.get(partial.payload_start..).unwrap_or_default();
        let mut unmasked = [0u8; 256];
        while early.checked < payload.len() {
            let start = early.checked;
            let piece = &payload[start..payload.len().min(start + unmasked.len())];
            for (i, (out, byte)) in unmasked.iter_mut().zip(piece).enumerate() {
                *out = byte ^ partial.key[(start + i) % 4];
            }
            early.validator.feed(&unmasked[..piece.len()])?;
            early.checked += piece.len();
        }
        Ok(())
    }

    /// Queues a text or binary message (`opcode` is one of the two). Returns false, and
    /// sends nothing, once the session is closing.
    pub(crate) fn send(&mut self, opcode: Opcode, payload: Bytes) -> bool {
        debug_assert!(matches!(opcode, Opcode::Text | Opcode::Binary));
        if !self.is_open() {
            return false;
        }
        match self.compressor.as_mut() {
            Some(compressor) => {
                let out = compressor.compress(payload);
                self.queue_frame(opcode, out.rsv, out.payload);
            }
            None => self.queue_frame(opcode, 0, payload),
        }
        true
    }

    /// Queues a ping (payload cut to 125 bytes) while the session is open and not ending.
    pub(crate) fn ping(&mut self, payload: Bytes) {
        if self.state == State::Open {
            let len = payload.len().min(frame::MAX_CONTROL_PAYLOAD);
            self.queue_frame(Opcode::Ping, 0, payload.slice(..len));
        }
    }

    /// Starts the closing handshake: our close frame goes out, the session waits for the
    /// peer's. On an ending session, sends its close frame instead ([`Session::finish`]).
    pub(crate) fn close(&mut self, code: CloseCode, reason: &str) {
        match self.state {
            State::Open => {
                self.queue_frame(Opcode::Close, 0, Frame::close(Some(code), reason).payload);
                self.state = State::CloseSent;
            }
            State::Ending(_) => self.finish(),
            State::CloseSent | State::Closed => {}
        }
    }

    /// Fails the session (RFC 6455 7.1.7): nothing more is read; the error's close frame
    /// goes out at [`Session::finish`], after answers to earlier messages, if ours was not
    /// sent already.
    fn fail(&mut self, error: WsError) -> Event {
        self.state = if self.state == State::Open {
            State::Ending(error.close_frame().payload)
        } else {
            State::Closed
        };
        Event::Failed(error)
    }

    /// Gives back the memory of buffers with nothing in them: what a session waiting for
    /// its peer need not hold. The next frame allocates again.
    pub(crate) fn release_idle_memory(&mut self) {
        if self.frames.is_empty() {
            self.frames = BytesMut::new();
        }
        if self.out.is_empty() {
            self.out = VecDeque::new();
        }
    }

    fn queue_frame(&mut self, opcode: Opcode, rsv: u8, payload: Bytes) {
        let joined = payload.len() <= JOIN_UP_TO;
        let room = frame::MAX_HEAD_LEN + if joined { payload.len() } else { 0 };
        crate::proto::frame_room(&mut self.frames, room);
        encode_head(&mut self.frames, true, rsv, opcode, payload.len());
        if joined {
            self.frames.extend_from_slice(&payload);
            let frame = self.frames.split().freeze();
            self.push(frame);
        } else {
            let head = self.frames.split().freeze();
            self.push(head);
            self.push(payload);
        }
    }

    fn push(&mut self, piece: Bytes) {
        self.out_len += piece.len();
        self.out.push_back(piece);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::ws::frame::{decode_server_frame, encode_masked};

    const CONFIG: Config = Config {
        max_message_size: 1024,
        max_frame_size: 512,
    };

    fn client(frames: &[Frame]) -> BytesMut {
        let mut buf = BytesMut::new();
        for f in frames {
            encode_masked(f, [1, 2, 3, 4], &mut buf);
        }
        buf
    }

    /// Everything the session queued, decoded as a client would.
    fn sent(session: &mut Session) -> Vec<Frame> {
        let mut bytes = BytesMut::new();
        while let Some(piece) = session.poll_transmit() {
            bytes.extend_from_slice(&piece);
        }
        assert_eq!(session.pending(), 0);
        let mut frames = Vec::new();
        while let Ok(Decoded::Frame(f)) = decode_server_frame(&mut bytes, usize::MAX, RSV1) {
            frames.push(f);
        }
        assert!(bytes.is_empty(), "trailing bytes");
        frames
    }

    #[test]
    fn a_text_message_is_delivered_and_a_reply_is_framed() {
        let mut s = Session::new(CONFIG);
        let mut buf = client(&[Frame::text(Bytes::from_static(b"Hello"))]);
        assert_eq!(
            s.poll_event(&mut buf),
            Some(Event::Message(Message::Text(Bytes::from_static(b"Hello"))))
        );
        assert_eq!(s.poll_event(&mut buf), None);
        assert!(s.send(Opcode::Text, Bytes::from_static(b"Hello")));
        // RFC 6455 5.7: a single-frame unmasked text message "Hello".
        let mut wire = BytesMut::new();
        while let Some(p) = s.poll_transmit() {
            wire.extend_from_slice(&p);
        }
        assert_eq!(&wire[..], b"\x81\x05Hello");
    }

    /// An idle session gives back its frame block and queue; what is queued stays, and
    /// the session frames again afterwards.
    #[test]
    fn idle_memory_goes_but_queued_frames_stay() {
        let mut s = Session::new(CONFIG);
        assert!(s.send(Opcode::Text, Bytes::from_static(b"one")));
        assert!(s.frames.capacity() > 0, "a frame block was taken");
        s.release_idle_memory();
        assert_eq!(s.frames.capacity(), 0, "the empty block is given back");
        assert_eq!(s.pending(), 5, "a queued frame is not released");
        assert_eq!(sent(&mut s), vec![Frame::text(Bytes::from_static(b"one"))]);
        s.release_idle_memory();
        assert_eq!(s.out.capacity(), 0, "the empty queue is given back");
        assert!(s.send(Opcode::Text, Bytes::from_static(b"two")));
        assert_eq!(sent(&mut s), vec![Frame::text(Bytes::from_static(b"two"))]);
    }

    #[test]
    fn a_partial_frame_waits_for_more_bytes() {
        let mut s = Session::new(CONFIG);
        let whole = client(&[Frame::binary(Bytes::from_static(b"abcdef"))]);
        let mut buf = BytesMut::from(&whole[..5]);
        assert_eq!(s.poll_event(&mut buf), None);
        buf.extend_from_slice(&whole[5..]);
        assert_eq!(
            s.poll_event(&mut buf),
            Some(Event::Message(Message::Binary(Bytes::from_static(
                b"abcdef"
            ))))
        );
    }

    #[test]
    fn pings_between_fragments_are_answered_at_once() {
        let mut s = Session::new(CONFIG);
        let mut buf = client(&[
            Frame::new(Opcode::Text, Bytes::from_static(b"Hel"), false),
            Frame::ping(Bytes::from_static(b"p1")),
            Frame::new(Opcode::Continuation, Bytes::from_static(b"lo"), true),
        ]);
        assert_eq!(
            s.poll_event(&mut buf),
            Some(Event::Message(Message::Text(Bytes::from_static(b"Hello"))))
        );
        let frames = sent(&mut s);
        assert_eq!(frames, vec![Frame::pong(Bytes::from_static(b"p1"))]);
    }

    #[test]
    fn the_peers_close_is_echoed_and_ends_the_session() {
        let mut s = Session::new(CONFIG);
        let mut buf = client(&[
            Frame::close(Some(CloseCode(1000)), "bye"),
            Frame::text(Bytes::from_static(b"after")),
        ]);
        let Some(Event::Closed(Some(close))) = s.poll_event(&mut buf) else {
            panic!("expected the close");
        };
        assert_eq!(close.code, CloseCode(1000));
        assert_eq!(close.reason, "bye");
        assert!(s.is_ending() && !s.wants_input());
        // Nothing after the close is read.
        assert_eq!(s.poll_event(&mut buf), None);
        // An answer to what came before the close still goes out, before our close.
        assert!(s.send(Opcode::Text, Bytes::from_static(b"answer")));
        assert!(sent(&mut s) == vec![Frame::text(Bytes::from_static(b"answer"))]);
        s.finish();
        assert!(s.is_closed());
        assert!(!s.send(Opcode::Text, Bytes::from_static(b"late")));
        assert_eq!(sent(&mut s), vec![Frame::close(Some(CloseCode(1000)), "")]);
    }

    #[test]
    fn an_empty_close_is_answered_with_an_empty_close() {
        let mut s = Session::new(CONFIG);
        let mut buf = client(&[Frame::close(None, "")]);
        assert_eq!(s.poll_event(&mut buf), Some(Event::Closed(None)));
        // An application closing an ending session sends the answer, not a close of its own.
        s.close(CloseCode::NORMAL, "ignored");
        assert_eq!(sent(&mut s), vec![Frame::close(None, "")]);
    }

    #[test]
    fn our_close_waits_for_the_peers_and_drops_data_meanwhile() {
        let mut s = Session::new(CONFIG);
        s.close(CloseCode::GOING_AWAY, "restart");
        assert!(!s.is_open() && !s.is_closed());
        assert!(!s.send(Opcode::Binary, Bytes::from_static(b"x")));
        assert_eq!(
            sent(&mut s),
            vec![Frame::close(Some(CloseCode::GOING_AWAY), "restart")]
        );
        let mut buf = client(&[
            Frame::text(Bytes::from_static(b"in flight")),
            Frame::ping(Bytes::from_static(b"p")),
            Frame::close(Some(CloseCode::GOING_AWAY), ""),
        ]);
        assert!(matches!(
            s.poll_event(&mut buf),
            Some(Event::Closed(Some(_)))
        ));
        assert!(s.is_closed());
        // No pong and no second close after ours.
        assert!(sent(&mut s).is_empty());
    }

    #[test]
    fn broken_rules_fail_with_their_code() {
        let cases: Vec<(Vec<u8>, u16)> = vec![
            // Unmasked text frame.
            (b"\x81\x02hi".to_vec(), 1002),
            // Reserved opcode 0x3, masked, empty.
            (b"\x83\x80\x00\x00\x00\x00".to_vec(), 1002),
            // RSV1 without an extension.
            (b"\xc1\x80\x00\x00\x00\x00".to_vec(), 1002),
            // A 1 GiB frame header: refused before any payload.
            (
                [&b"\x82\xff"[..], &(1u64 << 30).to_be_bytes(), &[0, 0, 0, 0]].concat(),
                1009,
            ),
        ];
        for (bytes, code) in cases {
            let mut s = Session::new(CONFIG);
            let mut buf = BytesMut::from(&bytes[..]);
            let Some(Event::Failed(e)) = s.poll_event(&mut buf) else {
                panic!("{bytes:?} should fail");
            };
            assert_eq!(e.code(), CloseCode(code), "{bytes:?}");
            assert!(s.is_ending());
            s.finish();
            assert!(s.is_closed());
            let frames = sent(&mut s);
            assert_eq!(frames.len(), 1);
            assert_eq!(&frames[0].payload[..2], &code.to_be_bytes());
        }
    }

    #[test]
    fn invalid_utf8_fails_with_1007() {
        let mut s = Session::new(CONFIG);
        let mut buf = client(&[Frame::text(Bytes::from_static(b"\xff"))]);
        assert!(matches!(
            s.poll_event(&mut buf),
            Some(Event::Failed(WsError::InvalidUtf8))
        ));
        s.finish();
        assert_eq!(&sent(&mut s)[0].payload[..2], &1007u16.to_be_bytes());
    }

    #[test]
    fn invalid_utf8_fails_before_the_rest_of_its_frame_arrives() {
        for fragmented in [false, true] {
            let mut s = Session::new(CONFIG);
            let mut frames = Vec::new();
            if fragmented {
                frames.push(Frame::new(
                    Opcode::Text,
                    Bytes::from_static(b"ok \xce"),
                    false,
                ));
            }
            let mut bad = vec![b'a'; 300];
            bad[if fragmented { 0 } else { 100 }] = 0xff;
            let opcode = if fragmented {
                Opcode::Continuation
            } else {
                Opcode::Text
            };
            frames.push(Frame::new(opcode, Bytes::from(bad), true));
            let whole = client(&frames);
            // Everything but the last 150 bytes: the frame is not complete.
            let mut buf = BytesMut::from(&whole[..whole.len() - 150]);
            let event = s.poll_event(&mut buf);
            assert!(
                matches!(event, Some(Event::Failed(WsError::InvalidUtf8))),
                "fragmented: {fragmented}: {event:?}"
            );
        }
        // Valid text split anywhere waits for the rest, then is delivered whole.
        let text = "héllo wörld ".repeat(20);
        let whole = client(&[Frame::text(Bytes::from(text.clone()))]);
        for cut in [3, 9, 100, 201, whole.len() - 1] {
            let mut s = Session::new(CONFIG);
            let mut buf = BytesMut::new();
            for piece in [&whole[..cut], &whole[cut..]] {
                buf.extend_from_slice(piece);
                if let Some(event) = s.poll_event(&mut buf) {
                    assert_eq!(
                        event,
                        Event::Message(Message::Text(Bytes::from(text.clone())))
                    );
                }
            }
        }
    }

    #[test]
    fn a_message_over_the_limit_fails_with_1009() {
        let mut s = Session::new(CONFIG);
        let piece = Bytes::from(vec![b'a'; 400]);
        let mut buf = client(&[
            Frame::new(Opcode::Text, piece.clone(), false),
            Frame::new(Opcode::Continuation, piece.clone(), false),
            Frame::new(Opcode::Continuation, piece, true),
        ]);
        let Some(Event::Failed(e)) = s.poll_event(&mut buf) else {
            panic!("expected a failure");
        };
        assert_eq!(e.code(), CloseCode::MESSAGE_TOO_BIG);
    }

    #[test]
    fn large_payloads_are_queued_uncopied() {
        let mut s = Session::new(CONFIG);
        let payload = Bytes::from(vec![7u8; 100_000]);
        assert!(s.send(Opcode::Binary, payload.clone()));
        assert_eq!(s.pending(), 10 + 100_000);
        let head = s.poll_transmit().unwrap();
        assert_eq!(&head[..], &[0x82, 127, 0, 0, 0, 0, 0, 1, 0x86, 0xa0]);
        let body = s.poll_transmit().unwrap();
        assert_eq!(body.as_ptr(), payload.as_ptr());
    }

    #[test]
    fn with_deflate_messages_are_inflated_and_compressed() {
        let mut s =
            Session::with_deflate(CONFIG, &DeflateParams::default(), &DeflateConfig::default());
        // RFC 7692 7.2.3.1: "Hello" compressed, RSV1 on the frame.
        let mut frame = Frame::text(Bytes::from_static(&[
            0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00,
        ]));
        frame.rsv = RSV1;
        let mut buf = client(&[frame]);
        assert_eq!(
            s.poll_event(&mut buf),
            Some(Event::Message(Message::Text(Bytes::from_static(b"Hello"))))
        );
        let text = Bytes::from("all work and no play ".repeat(50));
        assert!(s.send(Opcode::Text, text.clone()));
        let frames = sent(&mut s);
        assert_eq!(frames[0].rsv, RSV1);
        assert!(frames[0].payload.len() < text.len() / 4);
        // An uncompressed message is still fine.
        let mut buf = client(&[Frame::binary(Bytes::from_static(b"plain"))]);
        assert_eq!(
            s.poll_event(&mut buf),
            Some(Event::Message(Message::Binary(Bytes::from_static(
                b"plain"
            ))))
        );
    }

    #[test]
    fn pings_are_cut_to_a_control_frames_size() {
        let mut s = Session::new(CONFIG);
        s.ping(Bytes::from(vec![1u8; 300]));
        let frames = sent(&mut s);
        assert_eq!(frames[0].opcode, Opcode::Ping);
        assert_eq!(frames[0].payload.len(), 125);
    }
}
