//! Tests across frame types: round trips, incremental input, the frame size limit, unknown
//! types. Each frame type's own rules are tested in its file, with the helpers below.

use bytes::{Bytes, BytesMut};

use super::*;

/// The limit the tests decode with unless they test the limit itself.
const MAX: u32 = DEFAULT_MAX_FRAME_SIZE;

/// Decodes `bytes`, which must be exactly one valid frame.
pub(super) fn decode_one(bytes: &[u8]) -> Frame {
    let mut buf = BytesMut::from(bytes);
    match decode(&mut buf, MAX) {
        Ok(Decoded::Frame(frame, consumed)) => {
            assert_eq!(consumed, bytes.len(), "consumed all of {frame:?}");
            assert!(buf.is_empty());
            frame
        }
        other => panic!("expected one frame from {bytes:02x?}, got {other:?}"),
    }
}

/// Decodes `bytes`, which must be one whole frame that is refused.
pub(super) fn decode_err(bytes: &[u8]) -> FrameError {
    let mut buf = BytesMut::from(bytes);
    match decode(&mut buf, MAX) {
        Err(err) => {
            // Every error from a whole frame leaves the buffer past it.
            assert!(buf.is_empty(), "{err} left {} bytes", buf.len());
            // Display must not panic and must name the code.
            assert!(err.to_string().contains(&err.reason.to_string()));
            err
        }
        other => panic!("expected an error from {bytes:02x?}, got {other:?}"),
    }
}

/// Decodes every frame in `buf`, which must end on a frame boundary.
pub(super) fn decode_all(buf: &mut BytesMut, max_frame_size: u32) -> Vec<Frame> {
    let mut frames = Vec::new();
    while !buf.is_empty() {
        match decode(buf, max_frame_size) {
            Ok(Decoded::Frame(frame, _)) => frames.push(frame),
            other => panic!("after {} frames: {other:?}", frames.len()),
        }
    }
    frames
}

/// One frame of every type, with every field away from its default.
fn one_of_each() -> Vec<Frame> {
    vec![
        Frame::Data(Data::new(
            StreamId::new(1),
            Bytes::from_static(b"body"),
            true,
        )),
        Frame::Headers(Headers {
            stream_id: StreamId::new(3),
            end_stream: true,
            end_headers: false,
            priority: Some(StreamDependency {
                dependency: StreamId::new(1),
                exclusive: true,
                weight: 42,
            }),
            header_block: Bytes::from_static(b"\x82\x86"),
        }),
        Frame::Headers(Headers {
            stream_id: StreamId::new(5),
            end_stream: false,
            end_headers: true,
            priority: None,
            header_block: Bytes::new(),
        }),
        Frame::Priority(Priority {
            stream_id: StreamId::new(9),
            dependency: StreamDependency {
                dependency: StreamId::ZERO,
                exclusive: false,
                weight: 0,
            },
        }),
        Frame::RstStream(RstStream::new(StreamId::new(7), Reason::REFUSED_STREAM)),
        Frame::Settings(Settings {
            ack: false,
            header_table_size: Some(0),
            enable_push: Some(false),
            max_concurrent_streams: Some(u32::MAX),
            initial_window_size: Some(MAX_WINDOW_SIZE),
            max_frame_size: Some(MAX_FRAME_SIZE_UPPER_BOUND),
            max_header_list_size: Some(16_384),
            enable_connect_protocol: Some(true),
        }),
        Frame::Settings(Settings::ack()),
        Frame::PushPromise(PushPromise {
            stream_id: StreamId::new(1),
            promised_id: StreamId::new(2),
            end_headers: true,
            header_block: Bytes::from_static(b"\x82"),
        }),
        Frame::Ping(Ping::new(*b"12345678")),
        Frame::Ping(Ping::pong([0xff; 8])),
        Frame::GoAway(GoAway {
            last_stream_id: StreamId::MAX,
            reason: Reason(0xabcd),
            debug_data: Bytes::from_static(b"bye"),
        }),
        Frame::WindowUpdate(WindowUpdate::new(StreamId::ZERO, MAX_WINDOW_SIZE)),
        Frame::WindowUpdate(WindowUpdate::new(StreamId::new(11), 1)),
        Frame::Continuation(Continuation {
            stream_id: StreamId::new(3),
            end_headers: true,
            header_block: Bytes::from_static(b"\x84"),
        }),
        Frame::Unknown {
            kind: 0xfa,
            stream_id: StreamId::new(13),
        },
    ]
}

#[test]
fn every_type_round_trips() {
    for frame in one_of_each() {
        let mut out = BytesMut::new();
        frame.encode(&mut out);
        assert_eq!(decode_one(&out), frame);
    }
}

#[test]
fn frames_back_to_back_decode_in_order() {
    let frames = one_of_each();
    let mut out = BytesMut::new();
    for frame in &frames {
        frame.encode(&mut out);
    }
    assert_eq!(decode_all(&mut out, MAX), frames);
}

#[test]
fn kind_and_stream_id_match_the_wire() {
    for frame in one_of_each() {
        let mut out = BytesMut::new();
        frame.encode(&mut out);
        let head = Head::parse(&out).unwrap();
        assert_eq!(frame.kind(), head.kind, "{frame:?}");
        assert_eq!(frame.stream_id(), head.stream_id, "{frame:?}");
    }
}

#[test]
fn byte_by_byte_is_incomplete_with_the_exact_shortfall() {
    for frame in one_of_each() {
        let mut wire = BytesMut::new();
        frame.encode(&mut wire);
        let total = wire.len();
        let mut buf = BytesMut::new();
        for (i, byte) in wire.iter().enumerate() {
            let expected_needed = if i + 1 < Head::LEN {
                Head::LEN - (i + 1)
            } else {
                total - (i + 1)
            };
            buf.extend_from_slice(&[*byte]);
            match decode(&mut buf, MAX) {
                Ok(Decoded::Incomplete { needed }) => {
                    assert_eq!(needed, expected_needed, "{frame:?} after {} bytes", i + 1);
                    assert_eq!(buf.len(), i + 1, "an incomplete frame is left in place");
                }
                Ok(Decoded::Frame(decoded, consumed)) => {
                    assert_eq!(i + 1, total, "{frame:?} decoded early");
                    assert_eq!(consumed, total);
                    assert_eq!(decoded, frame);
                    assert!(buf.is_empty());
                }
                Err(err) => panic!("{frame:?} after {} bytes: {err}", i + 1),
            }
        }
    }
}

#[test]
fn incomplete_with_a_following_partial_frame() {
    let mut buf = BytesMut::new();
    Ping::new([7; 8]).encode(&mut buf);
    buf.extend_from_slice(b"\x00\x00\x08\x06");
    assert!(matches!(
        decode(&mut buf, MAX),
        Ok(Decoded::Frame(Frame::Ping(_), 17))
    ));
    assert_eq!(decode(&mut buf, MAX), Ok(Decoded::Incomplete { needed: 5 }));
    assert_eq!(&buf[..], b"\x00\x00\x08\x06");
}

/// A DATA frame on stream 1 with a payload of `len` bytes.
fn data_frame(len: usize) -> BytesMut {
    let mut out = BytesMut::new();
    Data::new(StreamId::new(1), Bytes::from(vec![b'x'; len]), false).encode(&mut out);
    out
}

#[test]
fn frame_exactly_at_max_frame_size_is_accepted() {
    for max in [DEFAULT_MAX_FRAME_SIZE, 20_000] {
        let mut buf = data_frame(max as usize);
        let Ok(Decoded::Frame(Frame::Data(d), consumed)) = decode(&mut buf, max) else {
            panic!("frame of {max} refused with limit {max}");
        };
        assert_eq!(consumed, Head::LEN + max as usize);
        assert_eq!(d.data.len(), max as usize);
    }
}

#[test]
fn one_byte_over_max_frame_size_is_a_connection_frame_size_error() {
    for max in [DEFAULT_MAX_FRAME_SIZE, 20_000] {
        let mut buf = data_frame(max as usize + 1);
        let err = decode(&mut buf, max).unwrap_err();
        assert_eq!(err.reason, Reason::FRAME_SIZE_ERROR);
        assert!(err.is_connection_error());
        assert_eq!(
            err.kind,
            FrameErrorKind::TooLarge {
                frame: FrameType::Data,
                length: max + 1,
                max
            }
        );
    }
}

#[test]
fn oversized_frame_is_refused_from_its_header_alone() {
    // Only the header of a 16 MiB frame: no need to wait for (or buffer) the payload.
    let mut buf = BytesMut::from(&b"\xff\xff\xff\x00\x00\x00\x00\x00\x01"[..]);
    let err = decode(&mut buf, MAX).unwrap_err();
    assert_eq!(err.reason, Reason::FRAME_SIZE_ERROR);
    assert!(err.is_connection_error());
    // Also for types that are otherwise skipped unread.
    let mut buf = BytesMut::from(&b"\x00\x40\x01\xee\x00\x00\x00\x00\x00"[..]);
    assert_eq!(
        decode(&mut buf, MAX).unwrap_err().reason,
        Reason::FRAME_SIZE_ERROR
    );
}

#[test]
fn unknown_types_are_skipped_with_their_payload() {
    // ALTSVC (0xa), which we do not implement, on stream 0, then a PING.
    let mut buf = BytesMut::from(&b"\x00\x00\x05\x0a\xff\x00\x00\x00\x00hello"[..]);
    Ping::new([1; 8]).encode(&mut buf);
    assert_eq!(
        decode(&mut buf, MAX),
        Ok(Decoded::Frame(
            Frame::Unknown {
                kind: 0xa,
                stream_id: StreamId::ZERO
            },
            14
        ))
    );
    assert!(matches!(
        decode(&mut buf, MAX),
        Ok(Decoded::Frame(Frame::Ping(_), 17))
    ));
    assert!(buf.is_empty());
}

#[test]
fn unknown_type_on_a_stream_keeps_its_stream_id() {
    assert_eq!(
        decode_one(b"\x00\x00\x01\xfe\x00\x80\x00\x00\x05\x00"),
        Frame::Unknown {
            kind: 0xfe,
            stream_id: StreamId::new(5)
        }
    );
}

#[test]
fn stream_level_types_on_stream_zero_are_protocol_errors() {
    // Each with a payload that is valid on a stream.
    let cases: [(u8, &[u8]); 6] = [
        (0x0, b"x"),
        (0x1, b"\x82"),
        (0x2, b"\x00\x00\x00\x01\x10"),
        (0x3, b"\x00\x00\x00\x08"),
        (0x5, b"\x00\x00\x00\x02\x82"),
        (0x9, b"\x82"),
    ];
    for (kind, payload) in cases {
        let mut bytes = vec![0, 0, payload.len() as u8, kind, 0x04, 0, 0, 0, 0];
        bytes.extend_from_slice(payload);
        let err = decode_err(&bytes);
        assert_eq!(err.reason, Reason::PROTOCOL_ERROR, "type {kind}");
        assert!(err.is_connection_error());
        assert_eq!(
            err.kind,
            FrameErrorKind::StreamIdZero {
                frame: FrameType::from_u8(kind)
            }
        );
    }
}

#[test]
fn connection_level_types_on_a_stream_are_protocol_errors() {
    let cases: [(u8, &[u8]); 3] = [
        (0x4, b""),
        (0x6, b"12345678"),
        (0x7, b"\x00\x00\x00\x00\x00\x00\x00\x00"),
    ];
    for (kind, payload) in cases {
        let mut bytes = vec![0, 0, payload.len() as u8, kind, 0, 0, 0, 0, 3];
        bytes.extend_from_slice(payload);
        let err = decode_err(&bytes);
        assert_eq!(err.reason, Reason::PROTOCOL_ERROR, "type {kind}");
        assert!(err.is_connection_error());
        assert_eq!(
            err.kind,
            FrameErrorKind::StreamIdNotZero {
                frame: FrameType::from_u8(kind),
                stream_id: StreamId::new(3)
            }
        );
    }
}

#[test]
fn errors_say_who_and_what() {
    let conn = FrameError::connection(
        Reason::FRAME_SIZE_ERROR,
        FrameErrorKind::SettingsLength { length: 5 },
    );
    assert_eq!(
        conn.to_string(),
        "connection error FRAME_SIZE_ERROR: SETTINGS of 5 bytes, not a multiple of 6"
    );
    let stream = FrameError::stream(
        Reason::PROTOCOL_ERROR,
        StreamId::new(3),
        FrameErrorKind::ZeroWindowIncrement,
    );
    assert_eq!(
        stream.to_string(),
        "stream error PROTOCOL_ERROR on stream 3: WINDOW_UPDATE with increment 0"
    );
}
