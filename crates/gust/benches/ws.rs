//! WebSocket unmasking (RFC 6455 5.3): the XOR alone, and a whole masked client frame
//! decoded (header, then the payload unmasked in place), at 1 KiB and 64 KiB.
//!
//! `cargo bench -p gust --features bench-internals --bench ws`

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use gust::bench_internals::{ws_apply_mask, ws_decode_client_frame};

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A final binary frame as a client sends it: masked with [`KEY`].
fn masked_binary_frame(payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0x82];
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n if n <= 0xffff => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&KEY);
    let start = out.len();
    out.extend_from_slice(payload);
    ws_apply_mask(&mut out[start..], KEY);
    out
}

fn unmask(c: &mut Criterion) {
    let mut group = c.benchmark_group("ws/unmask");
    for (name, size) in [("1k", 1024), ("64k", 64 * 1024)] {
        let mut data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        group.throughput(Throughput::Bytes(size as u64));
        // Masking is its own inverse: the buffer alternates between two states.
        group.bench_function(name, |b| b.iter(|| ws_apply_mask(&mut data, KEY)));
    }
    group.finish();

    let mut group = c.benchmark_group("ws/decode_client_frame");
    for (name, size) in [("1k", 1024), ("64k", 64 * 1024)] {
        let payload: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        let frame = masked_binary_frame(&payload);
        let mut check = BytesMut::from(&frame[..]);
        assert_eq!(ws_decode_client_frame(&mut check, 1 << 24), Ok(Some(size)));
        group.throughput(Throughput::Bytes(size as u64));
        group.bench_function(name, |b| {
            b.iter_batched_ref(
                || BytesMut::from(&frame[..]),
                |buf| ws_decode_client_frame(buf, 1 << 24).unwrap(),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, unmask);
criterion_main!(benches);
