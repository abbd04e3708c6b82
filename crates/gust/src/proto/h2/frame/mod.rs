//! HTTP/2 frames (RFC 9113 sections 4 and 6): decoding from the read buffer, encoding into
//! the write buffer. One file per frame type, as h2 lays them out.
//!
//! # What this layer decides, and what it leaves
//!
//! The codec enforces what one frame alone can violate: its size against our
//! SETTINGS_MAX_FRAME_SIZE, the stream id each type requires, fixed and minimum lengths,
//! padding, and the values a SETTINGS frame may carry. It says *which* error code applies and
//! whether it is a stream or a connection error ([`FrameError::stream_id`]). Everything that
//! needs state (stream states, flow-control windows, header blocks interrupted by another
//! frame, PUSH_PROMISE from a client, a stream depending on itself) is the connection's:
//! the codec decodes those frames faithfully so that the connection can judge them.
//!
//! # Buffers and zero copy
//!
//! [`decode`] takes the connection's `&mut BytesMut` read buffer. Once a whole frame is in
//! it, the frame's bytes are split off the front and frozen, and every payload (DATA's data,
//! header block fragments, GOAWAY debug data) is a [`Bytes`] slice of that one allocation: no
//! byte of a DATA payload is copied between the socket read and the handler. The cost is
//! that a payload still held keeps its part of the read buffer alive; `BytesMut` then
//! allocates afresh when the connection reserves room for the next read. What can be held
//! is bounded by the receive windows the connection grants, not by this codec.
//!
//! A frame is at most 9 + our SETTINGS_MAX_FRAME_SIZE bytes, so a read buffer of that size
//! always makes progress; a longer frame is refused as soon as its header arrives, without
//! waiting for (or buffering) its payload.
//!
//! Encoding appends to a caller-owned `&mut BytesMut` write buffer. DATA has a header-only
//! encoder ([`encode_data_head`]) so that its payload can be queued as the handler's own
//! `Bytes` behind it, uncopied. Padding is accepted on read but never written: it exists to
//! hide lengths, which we have no use for.
// The codec encodes and decodes every frame type both ways. The server sends only some of
// them; the rest are encoded by the tests, which play the client.
#![cfg_attr(not(test), allow(dead_code))]

use core::fmt;

use bytes::{Buf, Bytes, BytesMut};

mod continuation;
mod data;
mod goaway;
mod head;
mod headers;
mod ping;
mod preface;
mod priority;
mod push_promise;
mod reason;
mod rst_stream;
mod settings;
mod window_update;

// The connection machine, still being written, is what uses most of these; until it lands
// some have no user outside the tests.
#[allow(unused_imports)]
pub(crate) use self::{
    continuation::Continuation,
    data::{encode_data_head, Data},
    goaway::GoAway,
    head::{flag, FrameType, Head, StreamId, DEFAULT_MAX_FRAME_SIZE, MAX_FRAME_SIZE_UPPER_BOUND},
    headers::{encode_headers, frame_headers_in_place, Headers},
    ping::Ping,
    preface::{check_preface, PrefaceCheck, PREFACE},
    priority::{Priority, StreamDependency},
    push_promise::PushPromise,
    reason::Reason,
    rst_stream::RstStream,
    settings::{Settings, MAX_WINDOW_SIZE},
    window_update::WindowUpdate,
};

/// One decoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Frame {
    /// DATA (RFC 9113 6.1).
    Data(Data),
    /// HEADERS (RFC 9113 6.2).
    Headers(Headers),
    /// PRIORITY (RFC 9113 6.3).
    Priority(Priority),
    /// RST_STREAM (RFC 9113 6.4).
    RstStream(RstStream),
    /// SETTINGS (RFC 9113 6.5).
    Settings(Settings),
    /// PUSH_PROMISE (RFC 9113 6.6); only a server may send it, so from a client it is a
    /// connection error the connection reports.
    PushPromise(PushPromise),
    /// PING (RFC 9113 6.7).
    Ping(Ping),
    /// GOAWAY (RFC 9113 6.8).
    GoAway(GoAway),
    /// WINDOW_UPDATE (RFC 9113 6.9).
    WindowUpdate(WindowUpdate),
    /// CONTINUATION (RFC 9113 6.10).
    Continuation(Continuation),
    /// A frame of a type we do not implement. Its payload was skipped: RFC 9113 5.5 says to
    /// ignore it, except that the connection must still fail it if it arrives in the middle
    /// of a header block (RFC 9113 6.2), which is why it is reported at all.
    Unknown {
        /// The type octet.
        kind: u8,
        /// The stream it was sent on.
        stream_id: StreamId,
    },
}

impl Frame {
    /// The stream the frame was sent on (0 for connection-level frames).
    pub(crate) fn stream_id(&self) -> StreamId {
        match self {
            Frame::Data(f) => f.stream_id,
            Frame::Headers(f) => f.stream_id,
            Frame::Priority(f) => f.stream_id,
            Frame::RstStream(f) => f.stream_id,
            Frame::PushPromise(f) => f.stream_id,
            Frame::WindowUpdate(f) => f.stream_id,
            Frame::Continuation(f) => f.stream_id,
            Frame::Unknown { stream_id, .. } => *stream_id,
            Frame::Settings(_) | Frame::Ping(_) | Frame::GoAway(_) => StreamId::ZERO,
        }
    }

    /// The frame's type.
    pub(crate) fn kind(&self) -> FrameType {
        match self {
            Frame::Data(_) => FrameType::Data,
            Frame::Headers(_) => FrameType::Headers,
            Frame::Priority(_) => FrameType::Priority,
            Frame::RstStream(_) => FrameType::RstStream,
            Frame::Settings(_) => FrameType::Settings,
            Frame::PushPromise(_) => FrameType::PushPromise,
            Frame::Ping(_) => FrameType::Ping,
            Frame::GoAway(_) => FrameType::GoAway,
            Frame::WindowUpdate(_) => FrameType::WindowUpdate,
            Frame::Continuation(_) => FrameType::Continuation,
            Frame::Unknown { kind, .. } => FrameType::from_u8(*kind),
        }
    }

    /// Appends the frame as one wire frame, flags as they are in the value. An `Unknown`
    /// frame is written with an empty payload, the only one it remembers. This serves
    /// tests and scripted peers; the connection uses the per-type encoders, which also
    /// split header blocks and leave DATA payloads uncopied.
    pub(crate) fn encode(&self, out: &mut BytesMut) {
        match self {
            Frame::Data(f) => f.encode(out),
            Frame::Headers(f) => f.encode(out),
            Frame::Priority(f) => f.encode(out),
            Frame::RstStream(f) => f.encode(out),
            Frame::Settings(f) => f.encode(out),
            Frame::PushPromise(f) => f.encode(out),
            Frame::Ping(f) => f.encode(out),
            Frame::GoAway(f) => f.encode(out),
            Frame::WindowUpdate(f) => f.encode(out),
            Frame::Continuation(f) => f.encode(out),
            Frame::Unknown { kind, stream_id } => {
                Head::new(FrameType::from_u8(*kind), 0, *stream_id, 0).encode(out)
            }
        }
    }
}

/// What [`decode`] found at the front of the buffer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Decoded {
    /// A whole frame, and how many bytes it took (header included). Those bytes have
    /// already been removed from the front of the buffer.
    Frame(Frame, usize),
    /// The buffer holds only part of a frame and was left untouched. `needed` is how many
    /// more bytes must arrive before decoding can get further: the rest of the 9-byte
    /// header while the length is unknown, then the rest of the frame.
    Incomplete {
        /// Bytes still missing, beyond those in the buffer now.
        needed: usize,
    },
}

/// Decodes one frame from the front of `buf`.
///
/// `max_frame_size` is the SETTINGS_MAX_FRAME_SIZE *we* advertised: a frame with a longer
/// payload is a FRAME_SIZE_ERROR connection error (RFC 9113 4.2), reported as soon as its
/// header is in `buf`. While we are lowering it and the peer has not yet acknowledged, the
/// caller passes the larger of the old and new values.
///
/// On `Ok(Decoded::Frame(..))` the frame's bytes are gone from `buf`, and its payloads are
/// zero-copy slices of them (see the module docs). On `Ok(Decoded::Incomplete { .. })`
/// `buf` is untouched. On `Err`, if the whole frame was in `buf` it has been removed too:
/// after a stream error ([`FrameError::stream_id`] not 0) the connection resets that stream
/// and reads on from the next frame. After a connection error the buffer no longer matters.
pub(crate) fn decode(buf: &mut BytesMut, max_frame_size: u32) -> Result<Decoded, FrameError> {
    let Some(head) = Head::parse(buf) else {
        return Ok(Decoded::Incomplete {
            needed: Head::LEN - buf.len(),
        });
    };
    if head.length > max_frame_size {
        return Err(FrameError::connection(
            Reason::FRAME_SIZE_ERROR,
            FrameErrorKind::TooLarge {
                frame: head.kind,
                length: head.length,
                max: max_frame_size,
            },
        ));
    }
    // The length field has 24 bits: no overflow on any target with a 32-bit usize.
    let total = Head::LEN + head.length as usize;
    if buf.len() < total {
        return Ok(Decoded::Incomplete {
            needed: total - buf.len(),
        });
    }
    tracing::trace!(?head, "h2 frame");
    let frame = if let FrameType::Unknown(kind) = head.kind {
        // RFC 9113 5.5: unknown types are discarded; their payload is never looked at.
        buf.advance(total);
        Frame::Unknown {
            kind,
            stream_id: head.stream_id,
        }
    } else {
        // The head is skipped before the bytes are frozen: a `slice` of the frozen frame
        // would take a second reference to the buffer, and drop the first, per frame.
        let mut frame = buf.split_to(total);
        frame.advance(Head::LEN);
        let payload = frame.freeze();
        decode_payload(&head, payload)?
    };
    Ok(Decoded::Frame(frame, total))
}

/// Decodes the payload of a frame of a known type.
fn decode_payload(head: &Head, payload: Bytes) -> Result<Frame, FrameError> {
    Ok(match head.kind {
        FrameType::Data => Frame::Data(Data::decode(head, payload)?),
        FrameType::Headers => Frame::Headers(Headers::decode(head, payload)?),
        FrameType::Priority => Frame::Priority(Priority::decode(head, &payload)?),
        FrameType::RstStream => Frame::RstStream(RstStream::decode(head, &payload)?),
        FrameType::Settings => Frame::Settings(Settings::decode(head, &payload)?),
        FrameType::PushPromise => Frame::PushPromise(PushPromise::decode(head, payload)?),
        FrameType::Ping => Frame::Ping(Ping::decode(head, &payload)?),
        FrameType::GoAway => Frame::GoAway(GoAway::decode(head, payload)?),
        FrameType::WindowUpdate => Frame::WindowUpdate(WindowUpdate::decode(head, &payload)?),
        FrameType::Continuation => Frame::Continuation(Continuation::decode(head, payload)?),
        FrameType::Unknown(kind) => Frame::Unknown {
            kind,
            stream_id: head.stream_id,
        },
    })
}

/// Why a frame was refused: the code to send, who is hit (the stream, or with stream 0 the
/// whole connection) and the precise cause for the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FrameError {
    /// The error code for RST_STREAM or GOAWAY.
    pub(crate) reason: Reason,
    /// The stream to reset; 0 means a connection error (GOAWAY and close).
    pub(crate) stream_id: StreamId,
    /// What exactly was wrong.
    pub(crate) kind: FrameErrorKind,
}

impl FrameError {
    /// An error that ends the connection.
    pub(crate) fn connection(reason: Reason, kind: FrameErrorKind) -> FrameError {
        FrameError {
            reason,
            stream_id: StreamId::ZERO,
            kind,
        }
    }

    /// An error that resets one stream (a connection error if `stream_id` is 0).
    pub(crate) fn stream(reason: Reason, stream_id: StreamId, kind: FrameErrorKind) -> FrameError {
        FrameError {
            reason,
            stream_id,
            kind,
        }
    }

    /// Whether the whole connection must be closed (GOAWAY), not just a stream reset.
    pub(crate) fn is_connection_error(&self) -> bool {
        self.stream_id.is_zero()
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_connection_error() {
            write!(f, "connection error {}: {}", self.reason, self.kind)
        } else {
            write!(
                f,
                "stream error {} on stream {}: {}",
                self.reason, self.stream_id, self.kind
            )
        }
    }
}

impl core::error::Error for FrameError {}

/// The precise cause of a [`FrameError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FrameErrorKind {
    /// The payload is longer than our SETTINGS_MAX_FRAME_SIZE.
    TooLarge {
        /// The frame's type.
        frame: FrameType,
        /// Its payload length.
        length: u32,
        /// Our limit.
        max: u32,
    },
    /// A connection-level frame (SETTINGS, PING, GOAWAY) on a stream.
    StreamIdNotZero {
        /// The frame's type.
        frame: FrameType,
        /// The stream it named.
        stream_id: StreamId,
    },
    /// A stream-level frame on stream 0.
    StreamIdZero {
        /// The frame's type.
        frame: FrameType,
    },
    /// A fixed-size frame (PING, RST_STREAM, WINDOW_UPDATE, PRIORITY) of another size.
    WrongLength {
        /// The frame's type.
        frame: FrameType,
        /// Its payload length.
        length: u32,
        /// The only length allowed.
        expected: u32,
    },
    /// The payload cannot hold the frame's mandatory fields (pad length, priority, promised
    /// stream id, GOAWAY's last stream id and code).
    TooShort {
        /// The frame's type.
        frame: FrameType,
        /// Its payload length.
        length: u32,
        /// The shortest payload its flags allow.
        min: u32,
    },
    /// The Pad Length is more than the payload has room for.
    PaddingTooLong {
        /// The frame's type.
        frame: FrameType,
        /// The Pad Length field.
        pad_length: u8,
        /// The bytes left for data and padding after the fixed fields.
        available: u32,
    },
    /// A SETTINGS acknowledgement with a payload.
    SettingsAckWithPayload {
        /// Its payload length.
        length: u32,
    },
    /// A SETTINGS payload that is not a whole number of 6-byte settings.
    SettingsLength {
        /// Its payload length.
        length: u32,
    },
    /// A setting with a value out of its range (RFC 9113 6.5.2, RFC 8441 3).
    InvalidSetting {
        /// The setting's identifier.
        id: u16,
        /// The refused value.
        value: u32,
    },
    /// A WINDOW_UPDATE with an increment of 0.
    ZeroWindowIncrement,
    /// The client connection preface did not match (RFC 9113 3.4).
    InvalidPreface,
}

impl fmt::Display for FrameErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameErrorKind::TooLarge { frame, length, max } => {
                write!(f, "{frame} of {length} bytes exceeds the maximum of {max}")
            }
            FrameErrorKind::StreamIdNotZero { frame, stream_id } => {
                write!(f, "{frame} on stream {stream_id}, must be on stream 0")
            }
            FrameErrorKind::StreamIdZero { frame } => write!(f, "{frame} on stream 0"),
            FrameErrorKind::WrongLength {
                frame,
                length,
                expected,
            } => write!(f, "{frame} of {length} bytes, must be {expected}"),
            FrameErrorKind::TooShort { frame, length, min } => {
                write!(f, "{frame} of {length} bytes, needs at least {min}")
            }
            FrameErrorKind::PaddingTooLong {
                frame,
                pad_length,
                available,
            } => write!(
                f,
                "{frame} with {pad_length} bytes of padding but only {available} bytes for it"
            ),
            FrameErrorKind::SettingsAckWithPayload { length } => {
                write!(f, "SETTINGS acknowledgement with {length} bytes of payload")
            }
            FrameErrorKind::SettingsLength { length } => {
                write!(f, "SETTINGS of {length} bytes, not a multiple of 6")
            }
            FrameErrorKind::InvalidSetting { id, value } => {
                write!(f, "setting {id:#x} with invalid value {value}")
            }
            FrameErrorKind::ZeroWindowIncrement => f.write_str("WINDOW_UPDATE with increment 0"),
            FrameErrorKind::InvalidPreface => f.write_str("invalid client connection preface"),
        }
    }
}

/// Refuses a stream-level frame on stream 0 (PROTOCOL_ERROR, a connection error).
fn require_stream(head: &Head) -> Result<(), FrameError> {
    if head.stream_id.is_zero() {
        return Err(FrameError::connection(
            Reason::PROTOCOL_ERROR,
            FrameErrorKind::StreamIdZero { frame: head.kind },
        ));
    }
    Ok(())
}

/// Refuses a connection-level frame on a stream (PROTOCOL_ERROR, a connection error).
fn require_connection(head: &Head) -> Result<(), FrameError> {
    if !head.stream_id.is_zero() {
        return Err(FrameError::connection(
            Reason::PROTOCOL_ERROR,
            FrameErrorKind::StreamIdNotZero {
                frame: head.kind,
                stream_id: head.stream_id,
            },
        ));
    }
    Ok(())
}

/// Refuses a fixed-size frame of another size (FRAME_SIZE_ERROR, a connection error; the
/// one type where RFC 9113 makes it a stream error, PRIORITY, checks by itself).
fn require_length(head: &Head, expected: u32) -> Result<(), FrameError> {
    if head.length != expected {
        return Err(FrameError::connection(
            Reason::FRAME_SIZE_ERROR,
            FrameErrorKind::WrongLength {
                frame: head.kind,
                length: head.length,
                expected,
            },
        ));
    }
    Ok(())
}

/// The most leading fields a padded frame has: a HEADERS frame's priority.
const MAX_FIXED: usize = priority::LEN;

/// Splits a DATA, HEADERS or PUSH_PROMISE payload into its `fixed`-byte leading fields
/// (after the Pad Length octet, if any; copied into the first `fixed` bytes of the array)
/// and the content between them and the padding: the payload itself, trimmed in place. (A
/// slice of it per part took a reference to the read buffer and dropped it again, an
/// atomic operation each, on every frame.)
///
/// Both failures are connection errors. RFC 9113 6.1 and 6.2 demand it for padding that
/// does not fit; for a payload too short for its fields, 4.2 demands it for frames carrying
/// a field block. DATA gets the same treatment, which 5.4.1 always permits: no correct peer
/// sends a PADDED frame without a Pad Length, and one rule for all three keeps this simple.
fn strip_padding(
    head: &Head,
    mut payload: Bytes,
    fixed: usize,
) -> Result<([u8; MAX_FIXED], Bytes), FrameError> {
    debug_assert!(fixed <= MAX_FIXED);
    let pad_field = usize::from(head.has(flag::PADDED));
    let min = pad_field + fixed;
    if payload.len() < min {
        return Err(FrameError::connection(
            Reason::FRAME_SIZE_ERROR,
            FrameErrorKind::TooShort {
                frame: head.kind,
                length: head.length,
                // `min` is at most 6.
                min: min as u32,
            },
        ));
    }
    let pad_length = if pad_field == 1 { payload[0] } else { 0 };
    let available = payload.len() - min;
    if usize::from(pad_length) > available {
        return Err(FrameError::connection(
            Reason::PROTOCOL_ERROR,
            FrameErrorKind::PaddingTooLong {
                frame: head.kind,
                pad_length,
                // At most the 24-bit frame length.
                available: available as u32,
            },
        ));
    }
    let mut fields = [0; MAX_FIXED];
    fields[..fixed].copy_from_slice(&payload[pad_field..min]);
    payload.truncate(payload.len() - usize::from(pad_length));
    payload.advance(min);
    Ok((fields, payload))
}

#[cfg(test)]
mod tests;
