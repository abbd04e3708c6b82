//! HPACK (RFC 7541) hot paths: request blocks decoded, response blocks encoded, and the
//! Huffman string coder on its own, each with and without Huffman-coded strings.
//!
//! `cargo bench -p gust --features bench-internals --bench hpack`
//!
//! Request blocks are built here from the same fields a browser sends (the field
//! representations a browser's encoder chooses: static indexes where they match exactly,
//! static name indexes, literals with incremental indexing), once with every string
//! Huffman-coded and once with every string plain, so the two decode benches differ only
//! in the string coding.

use std::hint::black_box;

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use gust::bench_internals::{
    hpack_huffman_decode, hpack_huffman_encode, HpackDecoder, HpackEncoder,
};
use http::header::{
    CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, DATE, ETAG, LAST_MODIFIED, SERVER, VARY,
};
use http::{HeaderMap, HeaderValue, StatusCode};

/// A browser's first request on a connection: 15 fields.
const REQUEST: &[(&str, &str)] = &[
    (":method", "GET"),
    (":authority", "device.local:8443"),
    (":scheme", "https"),
    (":path", "/static/css/site.css?v=3"),
    ("sec-ch-ua", "\"Chromium\";v=\"124\", \"Google Chrome\";v=\"124\", \"Not-A.Brand\";v=\"99\""),
    ("sec-ch-ua-mobile", "?0"),
    ("user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"),
    ("sec-ch-ua-platform", "\"Linux\""),
    ("accept", "text/css,*/*;q=0.1"),
    ("sec-fetch-site", "same-origin"),
    ("sec-fetch-mode", "no-cors"),
    ("sec-fetch-dest", "style"),
    ("referer", "https://device.local:8443/"),
    ("accept-encoding", "gzip, deflate, br, zstd"),
    ("accept-language", "en-GB,en;q=0.9,fr;q=0.8"),
];

/// The path of the next request on the same connection; every other field repeats.
const NEXT_PATH: &str = "/static/js/app.js?v=3";

/// Static table entries (RFC 7541 Appendix A) that the fixtures use: exact matches first.
fn static_index(name: &str, value: &str) -> Option<(usize, bool)> {
    let exact = match (name, value) {
        (":method", "GET") => Some(2),
        (":path", "/") => Some(4),
        (":scheme", "http") => Some(6),
        (":scheme", "https") => Some(7),
        _ => None,
    };
    if let Some(index) = exact {
        return Some((index, true));
    }
    let name_only = match name {
        ":authority" => 1,
        ":path" => 4,
        "accept-encoding" => 16,
        "accept-language" => 17,
        "accept" => 19,
        "referer" => 51,
        "user-agent" => 58,
        _ => return None,
    };
    Some((name_only, false))
}

/// RFC 7541 5.1: an integer with an N-bit prefix.
fn put_int(value: usize, prefix_bits: u8, flags: u8, out: &mut BytesMut) {
    let max = (1usize << prefix_bits) - 1;
    if value < max {
        out.extend_from_slice(&[flags | value as u8]);
        return;
    }
    out.extend_from_slice(&[flags | max as u8]);
    let mut rest = value - max;
    while rest >= 0x80 {
        out.extend_from_slice(&[(rest & 0x7f) as u8 | 0x80]);
        rest >>= 7;
    }
    out.extend_from_slice(&[rest as u8]);
}

/// RFC 7541 5.2: a string literal, Huffman-coded or plain.
fn put_string(s: &str, huffman: bool, out: &mut BytesMut) {
    if huffman {
        let mut coded = BytesMut::new();
        hpack_huffman_encode(s.as_bytes(), &mut coded);
        put_int(coded.len(), 7, 0x80, out);
        out.extend_from_slice(&coded);
    } else {
        put_int(s.len(), 7, 0, out);
        out.extend_from_slice(s.as_bytes());
    }
}

/// The two blocks a browser sends for two requests on one connection: the first builds the
/// dynamic table (literals with incremental indexing), the second is mostly indexes into it
/// with the new path as a literal without indexing.
fn request_blocks(huffman: bool) -> (Vec<u8>, Vec<u8>) {
    let mut first = BytesMut::new();
    let mut table: Vec<(&str, &str)> = Vec::new(); // insertion order
    for &(name, value) in REQUEST {
        match static_index(name, value) {
            Some((index, true)) => put_int(index, 7, 0x80, &mut first),
            Some((index, false)) => {
                put_int(index, 6, 0x40, &mut first);
                put_string(value, huffman, &mut first);
                table.push((name, value));
            }
            None => {
                put_int(0, 6, 0x40, &mut first);
                put_string(name, huffman, &mut first);
                put_string(value, huffman, &mut first);
                table.push((name, value));
            }
        }
    }
    let mut second = BytesMut::new();
    for &(name, value) in REQUEST {
        if name == ":path" {
            put_int(4, 4, 0x00, &mut second);
            put_string(NEXT_PATH, huffman, &mut second);
        } else if let Some((index, true)) = static_index(name, value) {
            put_int(index, 7, 0x80, &mut second);
        } else {
            // The newest entry is index 62 (RFC 7541 2.3.3).
            let position = table.iter().position(|e| *e == (name, value)).unwrap();
            put_int(62 + table.len() - 1 - position, 7, 0x80, &mut second);
        }
    }
    (first.to_vec(), second.to_vec())
}

/// Decodes `block` and returns the fields, to check a fixture before it is timed.
fn fields(decoder: &mut HpackDecoder, block: &[u8]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    decoder
        .decode(block, usize::MAX, |n, v, _| {
            out.push((
                String::from_utf8(n.to_vec()).unwrap(),
                String::from_utf8(v.to_vec()).unwrap(),
            ))
        })
        .unwrap();
    out
}

fn decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("hpack/decode_request");
    for huffman in [true, false] {
        let coding = if huffman { "huffman" } else { "plain" };
        let (first, second) = request_blocks(huffman);
        // The fixtures must decode to exactly the fields they were built from.
        let mut check = HpackDecoder::new();
        let expected: Vec<_> = REQUEST
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        assert_eq!(fields(&mut check, &first), expected);
        let decoded = fields(&mut check, &second);
        assert_eq!(decoded.len(), REQUEST.len());
        assert!(decoded.contains(&(":path".into(), NEXT_PATH.into())));

        // The first request of a connection: every literal is decoded and inserted.
        group.throughput(Throughput::Bytes(first.len() as u64));
        group.bench_function(format!("first/{coding}"), |b| {
            b.iter_batched_ref(
                HpackDecoder::new,
                |decoder| {
                    let mut count = 0;
                    decoder
                        .decode(black_box(&first), 16384, |_, _, _| count += 1)
                        .unwrap();
                    count
                },
                BatchSize::SmallInput,
            )
        });
        // Later requests: indexes into the table the first one built. The block inserts
        // nothing, so the same decoder serves every iteration.
        let mut warm = HpackDecoder::new();
        fields(&mut warm, &first);
        group.throughput(Throughput::Bytes(second.len() as u64));
        group.bench_function(format!("next/{coding}"), |b| {
            b.iter(|| {
                let mut count = 0;
                warm.decode(black_box(&second), 16384, |_, _, _| count += 1)
                    .unwrap();
                count
            })
        });
    }
    group.finish();
}

/// The response the server sends for a 2.6 KB static page over HTTP/2.
fn page_response() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(CONTENT_LENGTH, HeaderValue::from(2600u32));
    headers.insert(ETAG, HeaderValue::from_static("\"a28-18f0c3e2d40\""));
    headers.insert(
        LAST_MODIFIED,
        HeaderValue::from_static("Mon, 13 Apr 2026 09:30:00 GMT"),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert(VARY, HeaderValue::from_static("accept-encoding"));
    headers.insert(
        DATE,
        HeaderValue::from_static("Tue, 14 Apr 2026 16:00:00 GMT"),
    );
    headers.insert(SERVER, HeaderValue::from_static("gust"));
    headers
}

fn encode(c: &mut Criterion) {
    let headers = page_response();
    let mut group = c.benchmark_group("hpack/encode_response");
    // The first response of a connection: every field is a literal (Huffman-coded where
    // shorter, which is every value here) and the repeating ones enter the table.
    group.bench_function("first", |b| {
        b.iter_batched_ref(
            || (HpackEncoder::new(), BytesMut::with_capacity(256)),
            |(encoder, out)| {
                encoder.encode_response(StatusCode::OK, black_box(&headers), out);
                out.len()
            },
            BatchSize::SmallInput,
        )
    });
    // Later responses: table hits, plus the volatile fields (date, length, validators)
    // as literals again.
    let mut encoder = HpackEncoder::new();
    let mut out = BytesMut::with_capacity(256);
    encoder.encode_response(StatusCode::OK, &headers, &mut out);
    group.bench_function("next", |b| {
        b.iter(|| {
            out.clear();
            encoder.encode_response(StatusCode::OK, black_box(&headers), &mut out);
            out.len()
        })
    });
    group.finish();
}

/// The string coder alone, over the request's values: Huffman against a plain copy, the
/// two ways a literal's text can be written and read.
fn huffman(c: &mut Criterion) {
    let text: Vec<u8> = REQUEST.iter().flat_map(|(_, v)| v.bytes()).collect();
    let mut coded = BytesMut::new();
    hpack_huffman_encode(&text, &mut coded);
    let mut check = Vec::new();
    assert_eq!(hpack_huffman_decode(&coded, &mut check), Ok(text.len()));
    assert_eq!(check, text);

    let mut group = c.benchmark_group("hpack/strings");
    group.throughput(Throughput::Bytes(text.len() as u64));
    let mut out = BytesMut::with_capacity(text.len() * 2);
    group.bench_function("encode/huffman", |b| {
        b.iter(|| {
            out.clear();
            hpack_huffman_encode(black_box(&text), &mut out);
            out.len()
        })
    });
    group.bench_function("encode/plain", |b| {
        b.iter(|| {
            out.clear();
            out.extend_from_slice(black_box(&text));
            out.len()
        })
    });
    let mut decoded = Vec::with_capacity(text.len());
    group.bench_function("decode/huffman", |b| {
        b.iter(|| {
            decoded.clear();
            hpack_huffman_decode(black_box(&coded), &mut decoded).unwrap()
        })
    });
    group.finish();
}

criterion_group!(benches, decode, encode, huffman);
criterion_main!(benches);
