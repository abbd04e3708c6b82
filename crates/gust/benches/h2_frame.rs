//! HTTP/2 frame decoding (RFC 9113 4.1, 6.1, 6.2): a full DATA frame and a request's
//! HEADERS frame, from the front of the read buffer.
//!
//! `cargo bench -p gust --features bench-internals --bench h2_frame`

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use gust::bench_internals::h2_decode_frame;

/// SETTINGS_MAX_FRAME_SIZE's initial value (RFC 9113 6.5.2).
const MAX_FRAME_SIZE: u32 = 16384;

/// A frame: the 9-byte header (RFC 9113 4.1) and the payload.
fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut out = Vec::with_capacity(9 + payload.len());
    out.extend_from_slice(&len.to_be_bytes()[1..]);
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

fn decode(c: &mut Criterion) {
    // DATA, 16 KiB, END_STREAM: an upload's chunk.
    let data = frame(0x0, 0x1, 1, &vec![0x5a; 16384]);
    // HEADERS, END_STREAM | END_HEADERS, with a browser's first request block (about 300
    // bytes of HPACK; the frame decoder does not look inside it).
    let headers = frame(0x1, 0x5, 3, &[0x82; 300]);
    let mut group = c.benchmark_group("h2/decode_frame");
    for (name, bytes) in [("data_16k", &data), ("headers", &headers)] {
        let mut check = BytesMut::from(&bytes[..]);
        assert_eq!(
            h2_decode_frame(&mut check, MAX_FRAME_SIZE),
            Ok(Some(bytes.len()))
        );
        group.throughput(Throughput::Bytes(bytes.len() as u64));
        group.bench_function(name, |b| {
            b.iter_batched_ref(
                || BytesMut::from(&bytes[..]),
                |buf| h2_decode_frame(buf, MAX_FRAME_SIZE).unwrap(),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, decode);
criterion_main!(benches);
