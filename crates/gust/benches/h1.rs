//! HTTP/1.1 hot paths: request head parsing and response head serialisation.
//!
//! `cargo bench -p gust --features bench-internals --bench h1`

use std::hint::black_box;

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gust::bench_internals::{h1_encode_response_head, H1HeadParser};
use gust::Limits;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG, LAST_MODIFIED, VARY};
use http::{HeaderMap, HeaderValue, StatusCode};

/// What a desktop Chromium sends for a stylesheet on a keep-alive connection (with a
/// session cookie): 15 fields, about 800 bytes.
const BROWSER_GET: &[u8] = b"GET /static/css/site.css?v=3 HTTP/1.1\r\n\
Host: device.local:8080\r\n\
Connection: keep-alive\r\n\
sec-ch-ua: \"Chromium\";v=\"124\", \"Google Chrome\";v=\"124\", \"Not-A.Brand\";v=\"99\"\r\n\
sec-ch-ua-mobile: ?0\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36\r\n\
sec-ch-ua-platform: \"Linux\"\r\n\
Accept: text/css,*/*;q=0.1\r\n\
Sec-Fetch-Site: same-origin\r\n\
Sec-Fetch-Mode: no-cors\r\n\
Sec-Fetch-Dest: style\r\n\
Referer: http://device.local:8080/\r\n\
Accept-Encoding: gzip, deflate, br, zstd\r\n\
Accept-Language: en-GB,en;q=0.9,fr;q=0.8\r\n\
Cookie: session=7f3c9a0e5b6d4e1f8a2b3c4d5e6f7a8b; theme=dark\r\n\
If-None-Match: \"a5f-18f0c3e2d40\"\r\n\
\r\n";

/// What curl 7.88 sends: three fields.
const CURL_GET: &[u8] =
    b"GET /hello.txt HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nUser-Agent: curl/7.88.1\r\nAccept: */*\r\n\r\n";

const DATE: &[u8] = b"Tue, 14 Apr 2026 16:00:00 GMT";

fn parse(c: &mut Criterion) {
    let parser = H1HeadParser::new(&Limits::default());
    let mut group = c.benchmark_group("h1/parse_head");
    for (name, head) in [("browser", BROWSER_GET), ("curl", CURL_GET)] {
        // A fixture the parser refuses would measure the error path: fail loudly instead.
        assert_eq!(parser.parse(head), Ok(Some(head.len())), "{name}");
        group.throughput(Throughput::Bytes(head.len() as u64));
        group.bench_function(name, |b| b.iter(|| parser.parse(black_box(head))));
    }
    group.finish();
}

fn serialise(c: &mut Criterion) {
    // A static file's answer: type, validators, caching.
    let mut file = HeaderMap::new();
    file.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    file.insert(ETAG, HeaderValue::from_static("\"a5f-18f0c3e2d40\""));
    file.insert(
        LAST_MODIFIED,
        HeaderValue::from_static("Mon, 13 Apr 2026 09:30:00 GMT"),
    );
    file.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    file.insert(VARY, HeaderValue::from_static("accept-encoding"));
    // A small dynamic answer such as /uptime.
    let mut dynamic = HeaderMap::new();
    dynamic.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    dynamic.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));

    let mut group = c.benchmark_group("h1/encode_response_head");
    for (name, headers, length) in [("file", &file, 2600), ("dynamic", &dynamic, 12)] {
        let mut out = BytesMut::with_capacity(1024);
        group.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                h1_encode_response_head(StatusCode::OK, black_box(headers), length, DATE, &mut out);
                black_box(out.len())
            })
        });
    }
    group.finish();
}

criterion_group!(benches, parse, serialise);
criterion_main!(benches);
