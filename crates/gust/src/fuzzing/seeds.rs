//! The seed corpus of every fuzz target, built from the byte strings of the unit tests and
//! the RFCs' examples, with the control bytes each target reads first (see the module docs
//! of each target function).
//!
//! The seeds are committed as `fuzz/corpus/<target>/seed-<name>`; the test below fails
//! when the committed files differ from what is built here, and rewrites them when run with
//! `GUST_WRITE_SEEDS=1`:
//!
//! ```text
//! GUST_WRITE_SEEDS=1 cargo test -p gust --lib fuzzing::seeds
//! ```
//!
//! A second test runs every committed seed through its target, so the harness itself is
//! exercised by the ordinary test suite.

use std::collections::BTreeMap;
use std::path::PathBuf;

use bytes::{Bytes, BytesMut};

use super::TARGETS;
use crate::proto::h2::frame::{
    Continuation, Data, Frame, GoAway, Headers, Ping, Priority, PushPromise, Reason, RstStream,
    Settings, StreamDependency, StreamId, WindowUpdate, PREFACE,
};
use crate::proto::h2::hpack::{hex, Encoder};
use crate::proto::ws::frame::encode_masked;
use crate::proto::ws::{Frame as WsFrame, Opcode, RSV1};

type Seeds = Vec<(&'static str, Vec<u8>)>;

/// Every target's seeds by target name.
fn all() -> BTreeMap<&'static str, Seeds> {
    BTreeMap::from([
        ("h1_head", h1_head()),
        ("h1_body", h1_body()),
        ("h2_frame", h2_frame()),
        ("hpack_decode", hpack_decode()),
        ("h2_connection", h2_connection()),
        ("ws_frame", ws_frame()),
        ("ws_message", ws_message()),
        ("ws_session", ws_session()),
        ("router_path", router_path()),
    ])
}

fn with_control(control: &[u8], rest: &[u8]) -> Vec<u8> {
    [control, rest].concat()
}

// ---- HTTP/1.1 ----

/// Limits byte for generous limits (8 KiB head and target, 100 headers) and for tiny ones.
const H1_ROOMY: u8 = 0x5f;
const H1_TINY: u8 = 0x00;

fn h1_head() -> Seeds {
    let heads: [(&str, &[u8]); 12] = [
        ("get", b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"),
        (
            "browser",
            b"GET /index.html?x=1 HTTP/1.1\r\nHost: localhost:8080\r\nUser-Agent: Mozilla/5.0\r\nAccept: text/html,*/*;q=0.8\r\nAccept-Encoding: gzip, br\r\nConnection: keep-alive\r\nCookie: a=b; c=d\r\n\r\n",
        ),
        (
            "post-length",
            b"POST /p HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world",
        ),
        (
            "post-chunked",
            b"POST /1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        ),
        ("absolute", b"GET http://h:1/p?q HTTP/1.1\r\nHost: h:1\r\n\r\n"),
        ("connect", b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"),
        ("options", b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"),
        (
            "websocket",
            b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\nSec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n",
        ),
        (
            "http10-pipelined",
            b"\r\nGET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\nHEAD /c HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        ),
        (
            "h2c-upgrade",
            b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n",
        ),
        (
            "smuggling",
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        ),
        ("obs-fold", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n"),
    ];
    let mut seeds = Vec::new();
    for (name, head) in heads {
        seeds.push((name, with_control(&[H1_ROOMY, 0], head)));
    }
    seeds.push((
        "tiny-limits-pieces",
        with_control(&[H1_TINY, 8], heads[1].1),
    ));
    seeds.push(("pieces", with_control(&[H1_ROOMY, 3], heads[8].1)));
    seeds
}

fn h1_body() -> Seeds {
    // Mode: chunked, 256 bytes of extensions, 1 KiB of trailers.
    let chunked = 0x28;
    vec![
        (
            "chunked-ext-trailer",
            with_control(
                &[chunked, 0, 2],
                b"5;a=b\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\nGET /next",
            ),
        ),
        (
            "chunked-rfc9112",
            with_control(
                &[chunked, 5, 1],
                b"4\r\nWiki\r\n5;name=\"quoted value\"\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n",
            ),
        ),
        (
            "chunked-leading-zeros",
            with_control(&[chunked, 1, 0], b"0003\r\nabc\r\n00\r\n\r\n"),
        ),
        (
            "length",
            with_control(&[2, 0, 11, 3, 4], b"hello worldGET / HTTP/1.1\r\n"),
        ),
        (
            "length-64",
            with_control(&[3, 0, 0, 0, 0, 0, 0, 0, 5, 7, 3], b"abcdef"),
        ),
    ]
}

// ---- HTTP/2 ----

fn h2_frames(frames: &[Frame]) -> Vec<u8> {
    let mut out = BytesMut::new();
    for f in frames {
        f.encode(&mut out);
    }
    out.to_vec()
}

fn sid(id: u32) -> StreamId {
    StreamId::new(id)
}

/// A request header block from our own encoder (a client's would look the same).
fn request_block(enc: &mut Encoder, method: &str, path: &str, extra: &[(&str, &str)]) -> Bytes {
    let mut b = BytesMut::new();
    for (n, v) in [
        (":method", method),
        (":scheme", "https"),
        (":path", path),
        (":authority", "example.com"),
    ]
    .iter()
    .chain(extra)
    {
        enc.encode_field(n.as_bytes(), v.as_bytes(), false, &mut b);
    }
    b.freeze()
}

fn headers(id: u32, block: Bytes, end_stream: bool) -> Frame {
    Frame::Headers(Headers {
        stream_id: sid(id),
        end_stream,
        end_headers: true,
        priority: None,
        header_block: block,
    })
}

fn client_settings() -> Frame {
    Frame::Settings(Settings {
        header_table_size: Some(4096),
        enable_push: Some(false),
        max_concurrent_streams: Some(100),
        initial_window_size: Some(1 << 20),
        max_frame_size: Some(16_384),
        max_header_list_size: Some(65_536),
        ..Settings::default()
    })
}

/// DATA with 3 bytes of padding, written by hand: the encoder never pads.
fn padded_data(id: u32) -> Vec<u8> {
    let mut f = vec![0, 0, 9, 0x0, 0x1 | 0x8];
    f.extend_from_slice(&id.to_be_bytes());
    f.extend_from_slice(&[3, b'h', b'e', b'l', b'l', b'o', 0, 0, 0]);
    f
}

fn h2_frame() -> Seeds {
    let mut enc = Encoder::new();
    let get = request_block(&mut enc, "GET", "/", &[]);
    let rfc_block = Bytes::from(hex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d"));
    let all_types = h2_frames(&[
        client_settings(),
        Frame::Settings(Settings::ack()),
        headers(1, get.clone(), false),
        Frame::Data(Data::new(sid(1), Bytes::from_static(b"body"), true)),
        Frame::Headers(Headers {
            stream_id: sid(3),
            end_stream: true,
            end_headers: false,
            priority: Some(StreamDependency {
                dependency: sid(1),
                exclusive: true,
                weight: 200,
            }),
            header_block: rfc_block.slice(..4),
        }),
        Frame::Continuation(Continuation {
            stream_id: sid(3),
            end_headers: true,
            header_block: rfc_block.slice(4..),
        }),
        Frame::Priority(Priority {
            stream_id: sid(5),
            dependency: StreamDependency {
                dependency: sid(3),
                exclusive: false,
                weight: 16,
            },
        }),
        Frame::RstStream(RstStream::new(sid(3), Reason::CANCEL)),
        Frame::Ping(Ping::new(*b"12345678")),
        Frame::WindowUpdate(WindowUpdate::new(sid(0), 1 << 16)),
        Frame::WindowUpdate(WindowUpdate::new(sid(1), 100)),
        Frame::PushPromise(PushPromise {
            stream_id: sid(1),
            promised_id: sid(2),
            end_headers: true,
            header_block: get,
        }),
        Frame::GoAway(GoAway::new(sid(3), Reason::NO_ERROR)),
        Frame::Unknown {
            kind: 0xfa,
            stream_id: sid(7),
        },
    ]);
    let mut padded = padded_data(1);
    // HEADERS with PADDED and PRIORITY: pad length 2, dependency 0 weight 15, block 0x82.
    padded.extend_from_slice(&[0, 0, 9, 0x1, 0x4 | 0x8 | 0x20, 0, 0, 0, 5]);
    padded.extend_from_slice(&[2, 0, 0, 0, 0, 15, 0x82, 0, 0]);
    vec![
        ("all-types", with_control(&[0, 0], &all_types)),
        ("all-types-pieces", with_control(&[1, 5], &all_types)),
        ("padded", with_control(&[0, 0], &padded)),
        (
            "too-large",
            with_control(&[0, 0], &[0, 0x40, 1, 0, 0, 0, 0, 0, 1]),
        ),
    ]
}

/// Records for `hpack_decode`: `[op][length: u16][block]`.
fn hpack_records(blocks: &[&str]) -> Vec<u8> {
    let mut out = Vec::new();
    for block in blocks {
        let bytes = hex(block);
        out.push(0);
        out.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
        out.extend_from_slice(&bytes);
    }
    out
}

/// Control bytes: a table of 4096 or 256 bytes, no list limit.
const HPACK_4096: [u8; 2] = [4, 4];
const HPACK_256: [u8; 2] = [3, 4];

fn hpack_decode() -> Seeds {
    let c3 = hpack_records(&[
        "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
        "8286 84be 5808 6e6f 2d63 6163 6865",
        "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
    ]);
    let c4 = hpack_records(&[
        "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
        "8286 84be 5886 a8eb 1064 9cbf",
        "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
    ]);
    let c5 = hpack_records(&[
        "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
        "4803 3330 37c1 c0bf",
        "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d 54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049 5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e 3d31",
    ]);
    let c6 = hpack_records(&[
        "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6 2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
        "4883 640e ff c1 c0 bf",
        "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab 77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07",
    ]);
    let c2 = hpack_records(&[
        "400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572",
        "040c 2f73 616d 706c 652f 7061 7468",
        "1008 7061 7373 776f 7264 0673 6563 7265 74",
        "82",
    ]);
    // A lowered table size (op with the top bit: TABLE_SIZES[2] = 64) answered with a size
    // update (0x3f 0x21 = 64) before the fields.
    let mut update = hpack_records(&["418c f1e3 c2e5 f23a 6ba0 ab90 f4ff"]);
    update.extend_from_slice(&[0x82, 0, 3, 0x3f, 0x21, 0x82]);
    vec![
        ("rfc7541-c2", with_control(&HPACK_4096, &c2)),
        ("rfc7541-c3", with_control(&HPACK_4096, &c3)),
        ("rfc7541-c4", with_control(&HPACK_4096, &c4)),
        ("rfc7541-c5", with_control(&HPACK_256, &c5)),
        ("rfc7541-c6", with_control(&HPACK_256, &c6)),
        ("size-update", with_control(&HPACK_4096, &update)),
        ("small-list", with_control(&[4, 1], &c4)),
    ]
}

/// A client's whole conversation: SETTINGS, its ack, a GET, a POST with a body in two
/// DATA frames, credit, a PING, a reset and a GOAWAY.
pub(super) fn h2_conversation() -> Vec<u8> {
    let mut enc = Encoder::new();
    let get = request_block(&mut enc, "GET", "/", &[("user-agent", "fuzz")]);
    let post = request_block(
        &mut enc,
        "POST",
        "/echo?x=1",
        &[("content-type", "text/plain"), ("content-length", "10")],
    );
    let head = request_block(&mut enc, "HEAD", "/files/a.txt", &[("cookie", "a=b")]);
    let mut wire = h2_frames(&[
        client_settings(),
        Frame::Settings(Settings::ack()),
        headers(1, get, true),
        headers(3, post, false),
        Frame::Data(Data::new(sid(3), Bytes::from_static(b"hello"), false)),
    ]);
    wire.extend_from_slice(&padded_data(3));
    wire.extend_from_slice(&h2_frames(&[
        Frame::WindowUpdate(WindowUpdate::new(sid(0), 1 << 20)),
        Frame::WindowUpdate(WindowUpdate::new(sid(1), 1 << 20)),
        headers(5, head, true),
        Frame::Ping(Ping::new(*b"fuzzping")),
        Frame::RstStream(RstStream::new(sid(5), Reason::CANCEL)),
        Frame::GoAway(GoAway::new(sid(0), Reason::NO_ERROR)),
    ]));
    wire
}

fn h2_connection() -> Seeds {
    let conversation = h2_conversation();
    let mut enc = Encoder::new();
    let ws = request_block(
        &mut enc,
        "CONNECT",
        "/chat",
        &[(":protocol", "websocket"), ("sec-websocket-version", "13")],
    );
    let mut extended = h2_frames(&[client_settings(), Frame::Settings(Settings::ack())]);
    extended.extend_from_slice(&h2_frames(&[headers(1, ws, false)]));
    let mut trailers_enc = Encoder::new();
    let put = request_block(&mut trailers_enc, "PUT", "/up", &[]);
    let mut trailer_block = BytesMut::new();
    trailers_enc.encode_field(b"x-sum", b"1", false, &mut trailer_block);
    let trailers = h2_frames(&[
        client_settings(),
        Frame::Settings(Settings::ack()),
        headers(1, put, false),
        Frame::Data(Data::new(sid(1), Bytes::from_static(b"x"), false)),
        headers(1, trailer_block.freeze(), true),
    ]);
    // The preface arrives in the payload even though mode bit 0 left it out.
    let mut own_preface = PREFACE.to_vec();
    own_preface.extend_from_slice(&conversation);
    vec![
        // Mode 0x10: preface, default limits, 256 KiB windows; app 0x02: 20 KB bodies.
        (
            "conversation",
            with_control(&[0x10, 0, 0x02], &conversation),
        ),
        (
            "conversation-pieces",
            with_control(&[0x10, 4, 0x33], &conversation),
        ),
        (
            "conversation-tight",
            with_control(&[0x02, 0, 0x13], &conversation),
        ),
        ("slow-reader", with_control(&[0x20, 0, 0x07], &conversation)),
        (
            "extended-connect",
            with_control(&[0x04, 0, 0x01], &extended),
        ),
        ("trailers", with_control(&[0x00, 0, 0x21], &trailers)),
        ("no-preface", with_control(&[0x01, 0, 0], &own_preface)),
        (
            "http1",
            with_control(&[0x01, 0, 0], b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        ),
    ]
}

// ---- WebSocket ----

const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

fn masked(frames: &[WsFrame]) -> Vec<u8> {
    let mut out = BytesMut::new();
    for f in frames {
        encode_masked(f, MASK, &mut out);
    }
    out.to_vec()
}

fn ws(opcode: Opcode, payload: &'static [u8], fin: bool) -> WsFrame {
    WsFrame::new(opcode, Bytes::from_static(payload), fin)
}

/// "Hello" compressed, as in RFC 7692 7.2.3.1.
const HELLO_DEFLATED: &[u8] = &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
/// The second "Hello" with the first one's context (RFC 7692 7.2.3.2).
const HELLO_AGAIN_DEFLATED: &[u8] = &[0xf2, 0x00, 0x11, 0x00, 0x00];

fn compressed(payload: &'static [u8], fin: bool, opcode: Opcode) -> WsFrame {
    WsFrame {
        fin,
        rsv: RSV1,
        opcode,
        payload: Bytes::from_static(payload),
    }
}

fn ws_frame() -> Seeds {
    // RFC 6455 5.7: a masked "Hello", then "Hel" + "lo" fragmented, a masked ping.
    let rfc: &[u8] = &[
        0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58, 0x01, 0x83, 0x37, 0xfa,
        0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x80, 0x82, 0x37, 0xfa, 0x21, 0x3d, 0x5b, 0x96, 0x89, 0x85,
        0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
    ];
    let mut long = masked(&[WsFrame::new(
        Opcode::Binary,
        Bytes::from(vec![0x5a; 300]),
        true,
    )]);
    // A 64-bit length header whose payload has not arrived.
    long.extend_from_slice(&[0x82, 0xff, 0, 0, 0, 0, 0, 1, 0x11, 0x70]);
    long.extend_from_slice(&MASK);
    let mixed = masked(&[
        ws(Opcode::Close, b"\x03\xe8bye", true),
        compressed(HELLO_DEFLATED, true, Opcode::Text),
        ws(Opcode::Pong, b"", true),
    ]);
    vec![
        // Mode 0x44: 64 KiB payloads, RSV1 allowed.
        ("rfc6455", with_control(&[0x44, 0], rfc)),
        ("rfc6455-bytewise", with_control(&[0x44, 8], rfc)),
        ("lengths", with_control(&[0x45, 3], &long)),
        ("control-and-rsv", with_control(&[0x41, 0], &mixed)),
        (
            "unmasked",
            with_control(&[0x04, 0], &[0x81, 0x05, b'H', b'e', b'l', b'l', b'o']),
        ),
    ]
}

/// Records for `ws_message`: `[flags][length: u16][payload]`.
fn message_records(frames: &[(u8, &[u8])]) -> Vec<u8> {
    let mut out = Vec::new();
    for (flags, payload) in frames {
        out.push(*flags);
        out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        out.extend_from_slice(payload);
    }
    out
}

const FIN: u8 = 0x80;
const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CONTINUATION: u8 = 0x0;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xa;

fn ws_message() -> Seeds {
    let plain = message_records(&[
        (FIN | TEXT, b"Hello"),
        (TEXT, b"Hel"),
        (FIN | PING, b"ping"),
        (
            FIN | CONTINUATION,
            b"lo \xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5",
        ),
        (BINARY, &[0, 1, 2]),
        (FIN | CONTINUATION, &[3, 4]),
        (FIN | PONG, b""),
        (FIN | CLOSE, b"\x03\xe8bye"),
    ]);
    let deflated = message_records(&[
        (FIN | 0x40 | TEXT, HELLO_DEFLATED),
        (FIN | 0x40 | TEXT, HELLO_AGAIN_DEFLATED),
        (0x40 | BINARY, &HELLO_DEFLATED[..3]),
        (FIN | CONTINUATION, &HELLO_DEFLATED[3..]),
        (FIN | TEXT, b"uncompressed"),
    ]);
    let split_utf8 = message_records(&[(TEXT, b"\xce"), (FIN | CONTINUATION, b"\xba")]);
    vec![
        // Mode 3: 1 KiB messages; 0x43 with deflate; 0xc3 also client_no_context_takeover.
        ("rfc6455-fragments", with_control(&[0x03], &plain)),
        ("rfc7692-deflate", with_control(&[0x43], &deflated)),
        ("deflate-no-takeover", with_control(&[0xc3], &deflated)),
        ("utf8-split", with_control(&[0x03], &split_utf8)),
        ("tiny-limit", with_control(&[0x41], &deflated)),
    ]
}

fn ws_session() -> Seeds {
    let plain = masked(&[
        ws(Opcode::Text, b"Hello", true),
        ws(Opcode::Ping, b"ping", true),
        ws(Opcode::Binary, b"\x00\x01", false),
        ws(Opcode::Continuation, b"\x02", true),
        ws(Opcode::Text, b"\xce", false),
        ws(Opcode::Continuation, b"\xba", true),
        ws(Opcode::Close, b"\x03\xe8", true),
    ]);
    let deflated = masked(&[
        compressed(HELLO_DEFLATED, true, Opcode::Text),
        compressed(HELLO_AGAIN_DEFLATED, true, Opcode::Text),
        ws(Opcode::Close, b"", true),
    ]);
    let bad_utf8 = masked(&[ws(Opcode::Text, b"ok \xff then more", true)]);
    vec![
        // Mode 4: 64 KiB messages; 0x44 with deflate.
        ("conversation", with_control(&[0x04, 0, 0], &plain)),
        ("conversation-pieces", with_control(&[0x04, 2, 5], &plain)),
        ("deflate", with_control(&[0x44, 0, 1], &deflated)),
        ("bad-utf8-early", with_control(&[0x04, 1, 0], &bad_utf8)),
        ("too-big", with_control(&[0x01, 0, 0], &plain)),
    ]
}

// ---- routing ----

fn router_path() -> Seeds {
    let table = "/\n/files/*\n/a/b\n/x[a-c]?/*\n/esc\\*\n/ws\n/*.html\n";
    let targets: [(&str, &str); 6] = [
        ("dot-segments", "/files/../a/b?x=1"),
        ("encoded-dots", "/%2e%2E/files/%2F..%5c/f.txt"),
        ("below-pattern", "/files/sub/f.txt"),
        ("brackets", "/xb%20/y"),
        ("escaped-star", "/esc*"),
        ("unicode", "/caf%C3%A9/%E2%82%AC.html"),
    ];
    let mut seeds = Vec::new();
    for (name, target) in targets {
        seeds.push((
            name,
            with_control(&[0, 0], format!("{table}{target}").as_bytes()),
        ));
    }
    // Bit 5 of the second byte: "/ws" is a WebSocket endpoint; bit 0 of the first: the
    // request is an opening.
    seeds.push((
        "websocket",
        with_control(&[1, 0x20], format!("{table}/ws").as_bytes()),
    ));
    seeds
}

// ---- the committed corpus ----

fn corpus_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target)
}

fn committed_seeds(target: &str) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let Ok(dir) = std::fs::read_dir(corpus_dir(target)) else {
        return out;
    };
    for entry in dir.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with("seed-") {
            out.insert(name, std::fs::read(entry.path()).unwrap());
        }
    }
    out
}

#[test]
fn committed_corpus_is_the_generated_one() {
    let write = std::env::var_os("GUST_WRITE_SEEDS").is_some();
    let all = all();
    assert_eq!(
        all.keys().copied().collect::<Vec<_>>(),
        {
            let mut names: Vec<&str> = TARGETS.iter().map(|(n, _)| *n).collect();
            names.sort_unstable();
            names
        },
        "every target has seeds"
    );
    for (target, seeds) in all {
        let generated: BTreeMap<String, Vec<u8>> = seeds
            .into_iter()
            .map(|(name, bytes)| (format!("seed-{name}"), bytes))
            .collect();
        if write {
            let dir = corpus_dir(target);
            std::fs::create_dir_all(&dir).unwrap();
            for stale in committed_seeds(target).keys() {
                if !generated.contains_key(stale) {
                    std::fs::remove_file(dir.join(stale)).unwrap();
                }
            }
            for (name, bytes) in &generated {
                std::fs::write(dir.join(name), bytes).unwrap();
            }
        }
        assert!(
            committed_seeds(target) == generated,
            "fuzz/corpus/{target}/seed-* differ from the generated seeds: run \
             GUST_WRITE_SEEDS=1 cargo test -p gust --lib fuzzing::seeds"
        );
    }
}

#[test]
fn every_committed_seed_runs_clean() {
    for (target, run) in TARGETS {
        let seeds = committed_seeds(target);
        assert!(!seeds.is_empty(), "no seeds for {target}");
        for bytes in seeds.values() {
            run(bytes);
        }
    }
}
