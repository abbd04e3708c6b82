//! Round-trip properties of the codecs over generated inputs: whatever is encoded decodes
//! to itself, however the bytes are cut into reads. Each codec's own tests pin the exact
//! bytes of the RFCs' examples; these cover the space between the examples.

use bytes::{Bytes, BytesMut};
use proptest::collection::vec;
use proptest::prelude::*;

use super::h1::{encode_chunk_header, BodyDecoder, ChunkLimits, Decoded as BodyDecoded, Framing};
use super::h1::{CHUNK_END, LAST_CHUNK};
use super::h2::frame::WindowUpdate;
use super::h2::frame::{self, Data, Frame, GoAway, Ping, Reason, RstStream, Settings, StreamId};
use super::h2::hpack::{Decoder, Encoder};
use super::ws::frame::{decode as ws_decode, encode_masked, Decoded as WsDecoded, Opcode};
use super::ws::Frame as WsFrame;

/// Cuts `bytes` at the given fractions of its length: the reads a connection might see.
fn pieces(bytes: &[u8], cuts: &[u16]) -> Vec<Vec<u8>> {
    let mut at: Vec<usize> = cuts
        .iter()
        .map(|c| usize::from(*c) * bytes.len() / usize::from(u16::MAX))
        .collect();
    at.push(0);
    at.push(bytes.len());
    at.sort_unstable();
    at.windows(2).map(|w| bytes[w[0]..w[1]].to_vec()).collect()
}

/// Field names as HTTP/2 allows them: lowercase tokens.
fn field_name() -> impl Strategy<Value = String> {
    "[a-z][a-z0-9!#$%&'*+.^_`|~-]{0,30}"
}

/// Field values: visible ASCII and spaces inside, as HPACK carries them (any octets would
/// do for HPACK itself; HTTP's rules come later).
fn field_value() -> impl Strategy<Value = String> {
    "([!-~]([ -~]{0,60}[!-~])?)?"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Header blocks in a row keep encoder and decoder tables in step: every block decodes
    /// to the fields that were encoded, Huffman or not, indexed or not.
    #[test]
    fn hpack_blocks_decode_to_what_was_encoded(
        blocks in vec(vec((field_name(), field_value(), any::<bool>()), 0..12), 1..8),
    ) {
        let mut encoder = Encoder::new();
        let mut decoder = Decoder::new(4096);
        for block in blocks {
            let mut out = BytesMut::new();
            for (name, value, sensitive) in &block {
                encoder.encode_field(name.as_bytes(), value.as_bytes(), *sensitive, &mut out);
            }
            let mut decoded = Vec::new();
            decoder
                .decode(&out, usize::MAX, |n, v, _| decoded.push((n.to_vec(), v.to_vec())))
                .map_err(|e| TestCaseError::fail(format!("{e:?}")))?;
            let expected: Vec<_> = block
                .iter()
                .map(|(n, v, _)| (n.as_bytes().to_vec(), v.as_bytes().to_vec()))
                .collect();
            prop_assert_eq!(decoded, expected);
            prop_assert_eq!(encoder.table().size(), decoder.table().size());
        }
    }

    /// HTTP/2 frames decode to what was encoded, read whole or in pieces.
    #[test]
    fn h2_frames_decode_to_what_was_encoded(
        frames in vec(h2_frame(), 1..8),
        cuts in vec(any::<u16>(), 0..6),
    ) {
        let mut wire = BytesMut::new();
        for f in &frames {
            f.encode(&mut wire);
        }
        let mut buf = BytesMut::new();
        let mut decoded = Vec::new();
        for piece in pieces(&wire, &cuts) {
            buf.extend_from_slice(&piece);
            loop {
                match frame::decode(&mut buf, frame::DEFAULT_MAX_FRAME_SIZE) {
                    Ok(frame::Decoded::Frame(f, _)) => decoded.push(f),
                    Ok(frame::Decoded::Incomplete { .. }) => break,
                    Err(e) => return Err(TestCaseError::fail(format!("{e:?}"))),
                }
            }
        }
        prop_assert!(buf.is_empty());
        prop_assert_eq!(decoded, frames);
    }

    /// A chunked body decodes to its data, however the chunks and the reads fall.
    #[test]
    fn chunked_bodies_decode_to_their_data(
        chunks in vec(vec(any::<u8>(), 1..3000), 0..8),
        cuts in vec(any::<u16>(), 0..8),
        max_chunk in 1usize..5000,
    ) {
        let mut wire = BytesMut::new();
        for c in &chunks {
            encode_chunk_header(c.len(), &mut wire);
            wire.extend_from_slice(c);
            wire.extend_from_slice(CHUNK_END);
        }
        wire.extend_from_slice(LAST_CHUNK);
        wire.extend_from_slice(b"GET /next");
        let limits = ChunkLimits { max_extension_bytes: 64, max_trailer_bytes: 1024 };
        let mut decoder = BodyDecoder::new(Framing::Chunked, limits);
        let mut buf = BytesMut::new();
        let mut body = Vec::new();
        let mut ended = false;
        for piece in pieces(&wire, &cuts) {
            buf.extend_from_slice(&piece);
            while !ended {
                match decoder.decode(&mut buf, max_chunk) {
                    Ok(BodyDecoded::Data(d)) => {
                        prop_assert!(d.len() <= max_chunk);
                        body.extend_from_slice(&d);
                    }
                    Ok(BodyDecoded::NeedMore) => break,
                    Ok(BodyDecoded::End) => ended = true,
                    Err(e) => return Err(TestCaseError::fail(format!("{e:?}"))),
                }
            }
        }
        prop_assert!(ended);
        prop_assert_eq!(body, chunks.concat());
        // What follows the body is the next request's, untouched.
        prop_assert_eq!(&buf[..], b"GET /next");
    }

    /// WebSocket frames from a client decode to what was sent, for every length form (7,
    /// 16 and 64 bits), every mask, and any cut of the bytes.
    #[test]
    fn websocket_frames_decode_to_what_was_sent(
        frames in vec(ws_frame(), 1..6),
        key in any::<[u8; 4]>(),
        cuts in vec(any::<u16>(), 0..6),
    ) {
        let mut wire = BytesMut::new();
        for f in &frames {
            encode_masked(f, key, &mut wire);
        }
        let mut buf = BytesMut::new();
        let mut decoded = Vec::new();
        for piece in pieces(&wire, &cuts) {
            buf.extend_from_slice(&piece);
            loop {
                match ws_decode(&mut buf, 1 << 20, 0) {
                    Ok(WsDecoded::Frame(f)) => decoded.push(f),
                    Ok(WsDecoded::Incomplete { .. }) => break,
                    Err(e) => return Err(TestCaseError::fail(format!("{e:?}"))),
                }
            }
        }
        prop_assert!(buf.is_empty());
        prop_assert_eq!(decoded, frames);
    }
}

fn stream_id() -> impl Strategy<Value = StreamId> {
    (1u32..(1 << 31)).prop_map(StreamId::new)
}

fn h2_frame() -> impl Strategy<Value = Frame> {
    prop_oneof![
        (stream_id(), vec(any::<u8>(), 0..=16_384), any::<bool>()).prop_map(|(id, data, end)| {
            let flow_len = data.len() as u32;
            Frame::Data(Data {
                stream_id: id,
                data: Bytes::from(data),
                end_stream: end,
                flow_len,
            })
        }),
        (any::<bool>(), any::<[u8; 8]>())
            .prop_map(|(ack, payload)| Frame::Ping(Ping { ack, payload })),
        (stream_id(), any::<u32>()).prop_map(|(id, code)| Frame::RstStream(RstStream {
            stream_id: id,
            reason: Reason(code),
        })),
        ((0u32..(1 << 31)).prop_map(StreamId::new), 1u32..(1 << 31)).prop_map(|(id, inc)| {
            Frame::WindowUpdate(WindowUpdate {
                stream_id: id,
                increment: inc,
            })
        }),
        (
            (0u32..(1 << 31)).prop_map(StreamId::new),
            any::<u32>(),
            vec(any::<u8>(), 0..200)
        )
            .prop_map(|(last, code, debug)| Frame::GoAway(GoAway {
                last_stream_id: last,
                reason: Reason(code),
                debug_data: Bytes::from(debug),
            })),
        (
            proptest::option::of(any::<u32>()),
            proptest::option::of(any::<bool>()),
            proptest::option::of(any::<u32>()),
            proptest::option::of(0u32..(1 << 31)),
            proptest::option::of(16_384u32..(1 << 24)),
            proptest::option::of(any::<u32>()),
            proptest::option::of(any::<bool>()),
        )
            .prop_map(|(table, push, streams, window, frame, list, connect)| {
                Frame::Settings(Settings {
                    ack: false,
                    header_table_size: table,
                    enable_push: push,
                    max_concurrent_streams: streams,
                    initial_window_size: window,
                    max_frame_size: frame,
                    max_header_list_size: list,
                    enable_connect_protocol: connect,
                })
            }),
    ]
}

fn ws_frame() -> impl Strategy<Value = WsFrame> {
    let data = (
        prop_oneof![
            Just(Opcode::Text),
            Just(Opcode::Binary),
            Just(Opcode::Continuation)
        ],
        prop_oneof![0usize..130, 120usize..70_000],
        any::<bool>(),
        any::<u8>(),
    )
        .prop_map(|(opcode, len, fin, seed)| {
            let payload: Vec<u8> = (0..len)
                .map(|i| (i as u8).wrapping_mul(31) ^ seed)
                .collect();
            WsFrame::new(opcode, Bytes::from(payload), fin)
        });
    let control = (
        prop_oneof![Just(Opcode::Ping), Just(Opcode::Pong), Just(Opcode::Close)],
        vec(any::<u8>(), 0..126),
    )
        .prop_map(|(opcode, payload)| WsFrame::new(opcode, Bytes::from(payload), true));
    prop_oneof![data, control]
}
