//! HTTPS: TLS with ALPN against the real server on 127.0.0.1:0, with certificates made here
//! by rcgen and clients nobody here wrote (rustls, the h2 crate, curl, nghttp, h2load,
//! openssl).

mod support;

use std::net::SocketAddr;
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use gust::tls::{load_certificates, TlsError};
use gust::{
    Body, CredentialStore, Credentials, Limits, Request, Resource, Response, TlsInfo, TlsOptions,
};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use support::{basic, have_tool, run_async, TestServer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// A CA, a server certificate it signed for localhost and 127.0.0.1, and a client
/// certificate it signed.
struct Pki {
    ca: rcgen::Certificate,
    ca_key: KeyPair,
    server_pem: String,
    server_key_pem: String,
    client_der: Vec<u8>,
    client_key_der: Vec<u8>,
}

fn ca() -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "gust test CA");
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    (params.self_signed(&key).unwrap(), key)
}

fn leaf(
    ca: &rcgen::Certificate,
    ca_key: &KeyPair,
    names: &[&str],
    usage: ExtendedKeyUsagePurpose,
    cn: &str,
) -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let mut params = CertificateParams::new(names).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.extended_key_usages = vec![usage];
    (params.signed_by(&key, ca, ca_key).unwrap(), key)
}

fn pki() -> Pki {
    let (ca, ca_key) = ca();
    let (server, server_key) = leaf(
        &ca,
        &ca_key,
        &["localhost", "127.0.0.1"],
        ExtendedKeyUsagePurpose::ServerAuth,
        "server one",
    );
    let (client, client_key) = leaf(
        &ca,
        &ca_key,
        &["client.test"],
        ExtendedKeyUsagePurpose::ClientAuth,
        "client",
    );
    Pki {
        server_pem: format!("{}{}", server.pem(), ca.pem()),
        server_key_pem: server_key.serialize_pem(),
        client_der: client.der().to_vec(),
        client_key_der: client_key.serialize_der(),
        ca,
        ca_key,
    }
}

/// Reports what the handler saw of TLS: "<sni> <alpn> <client verified> <version>".
async fn tls_report(request: Request) -> Response {
    let text = match request.extensions().get::<TlsInfo>() {
        Some(info) => format!(
            "{} {} {} {:?}\n",
            info.server_name.as_deref().unwrap_or("-"),
            info.alpn.as_deref().unwrap_or("-"),
            info.client_verified,
            request.version()
        ),
        None => "plain\n".to_owned(),
    };
    Response::new(Body::from(text))
}

async fn start(pki: &Pki, client_ca: bool) -> (TestServer, CredentialStore) {
    let store = CredentialStore::new();
    store
        .register(
            "server",
            Credentials::from_pem(pki.server_pem.as_bytes(), pki.server_key_pem.as_bytes())
                .unwrap(),
        )
        .unwrap();
    let mut options = TlsOptions::new(&store, "server");
    if client_ca {
        store
            .register_ca("clients", vec![pki.ca.der().to_vec()])
            .unwrap();
        options = options.client_ca("clients");
    }
    let server = TestServer::start(
        basic(Limits::default())
            .resource(Resource::dynamic("/tls", tls_report))
            .tls(options),
    )
    .await;
    (server, store)
}

fn client_config(pki: &Pki, alpn: &[&[u8]], client_cert: bool) -> rustls::ClientConfig {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca.der().clone()).unwrap();
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    let mut config = if client_cert {
        builder
            .with_client_auth_cert(
                vec![CertificateDer::from(pki.client_der.clone())],
                PrivateKeyDer::try_from(pki.client_key_der.clone()).unwrap(),
            )
            .unwrap()
    } else {
        builder.with_no_client_auth()
    };
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    config
}

async fn connect(
    addr: SocketAddr,
    config: rustls::ClientConfig,
) -> std::io::Result<TlsStream<TcpStream>> {
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await?;
    connector
        .connect(ServerName::try_from("localhost").unwrap(), tcp)
        .await
}

/// One HTTP/1.1 request over `stream`, read to the close.
async fn h1_get(stream: &mut TlsStream<TcpStream>, path: &str) -> std::io::Result<String> {
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut out = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut out))
        .await
        .expect("response in time")?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

async fn h2_get(stream: TlsStream<TcpStream>, path: &str) -> (u16, String) {
    let (mut client, connection) = h2::client::handshake(stream).await.expect("h2 over TLS");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let request = http::Request::builder()
        .uri(format!("https://localhost{path}"))
        .body(())
        .unwrap();
    let (response, _) = client.send_request(request, true).unwrap();
    let response = response.await.unwrap();
    let status = response.status().as_u16();
    let mut body = response.into_body();
    let mut text = Vec::new();
    while let Some(chunk) = body.data().await {
        text.extend_from_slice(&chunk.unwrap());
    }
    (status, String::from_utf8(text).unwrap())
}

#[tokio::test]
async fn alpn_h2_serves_http2_and_tells_the_handler() {
    let pki = pki();
    let (server, _store) = start(&pki, false).await;
    let stream = connect(
        server.addr,
        client_config(&pki, &[b"h2", b"http/1.1"], false),
    )
    .await
    .unwrap();
    assert_eq!(stream.get_ref().1.alpn_protocol(), Some(&b"h2"[..]));
    let (status, text) = h2_get(stream, "/tls").await;
    assert_eq!(status, 200);
    assert_eq!(text, "localhost h2 false HTTP/2.0\n");
    server.stop().await;
}

#[tokio::test]
async fn alpn_http11_and_no_alpn_are_served_http11() {
    let pki = pki();
    let (server, _store) = start(&pki, false).await;
    for alpn in [&[&b"http/1.1"[..]][..], &[]] {
        let mut stream = connect(server.addr, client_config(&pki, alpn, false))
            .await
            .unwrap();
        let text = h1_get(&mut stream, "/tls").await.unwrap();
        assert!(text.starts_with("HTTP/1.1 200 OK\r\n"), "{text}");
        let expected_alpn = if alpn.is_empty() { "-" } else { "http/1.1" };
        assert!(
            text.ends_with(&format!("localhost {expected_alpn} false HTTP/1.1\n")),
            "{text}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn plain_http_to_the_tls_port_is_dropped_and_the_server_carries_on() {
    let pki = pki();
    let (server, _store) = start(&pki, false).await;
    let mut plain = TcpStream::connect(server.addr).await.unwrap();
    plain
        .write_all(b"GET /hello HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut got = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), plain.read_to_end(&mut got)).await;
    assert!(read.is_ok(), "the connection is closed, not left hanging");
    assert!(
        !String::from_utf8_lossy(&got).contains("hello"),
        "no plain-text answer"
    );
    let mut tls = connect(server.addr, client_config(&pki, &[b"http/1.1"], false))
        .await
        .unwrap();
    assert!(h1_get(&mut tls, "/hello")
        .await
        .unwrap()
        .ends_with("hello\n"));
    server.stop().await;
}

#[tokio::test]
async fn mutual_tls_accepts_a_client_certificate_and_refuses_none() {
    let pki = pki();
    let (server, _store) = start(&pki, true).await;
    let mut with_cert = connect(server.addr, client_config(&pki, &[b"http/1.1"], true))
        .await
        .unwrap();
    let text = h1_get(&mut with_cert, "/tls").await.unwrap();
    assert!(
        text.ends_with("localhost http/1.1 true HTTP/1.1\n"),
        "{text}"
    );

    // TLS 1.3: the client finishes its side before the server refuses, so the refusal
    // may show on the first read rather than in connect.
    let refused = match connect(server.addr, client_config(&pki, &[b"http/1.1"], false)).await {
        Err(_) => true,
        Ok(mut stream) => match h1_get(&mut stream, "/tls").await {
            Err(_) => true,
            Ok(text) => !text.contains("200 OK"),
        },
    };
    assert!(refused, "a client without a certificate is refused");
    server.stop().await;
}

#[tokio::test]
async fn registering_new_credentials_changes_the_certificate_for_new_handshakes() {
    let pki = pki();
    let (server, store) = start(&pki, false).await;
    let mut old = connect(server.addr, client_config(&pki, &[b"http/1.1"], false))
        .await
        .unwrap();
    let old_cert = old.get_ref().1.peer_certificates().unwrap()[0].clone();

    let (renewed, renewed_key) = leaf(
        &pki.ca,
        &pki.ca_key,
        &["localhost"],
        ExtendedKeyUsagePurpose::ServerAuth,
        "server two",
    );
    store
        .register(
            "server",
            Credentials::from_pem(
                renewed.pem().as_bytes(),
                renewed_key.serialize_pem().as_bytes(),
            )
            .unwrap(),
        )
        .unwrap();
    let fresh = connect(server.addr, client_config(&pki, &[b"h2"], false))
        .await
        .unwrap();
    let new_cert = fresh.get_ref().1.peer_certificates().unwrap()[0].clone();
    assert_ne!(old_cert, new_cert);
    assert_eq!(new_cert.as_ref(), renewed.der().as_ref());
    // The connection made before the reload still works.
    assert!(h1_get(&mut old, "/hello")
        .await
        .unwrap()
        .ends_with("hello\n"));
    assert_eq!(h2_get(fresh, "/hello").await, (200, "hello\n".to_owned()));
    server.stop().await;
}

#[test]
fn credentials_load_pem_and_der_and_name_the_file_in_errors() {
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let cert_pem = write("server.pem", pki.server_pem.as_bytes());
    let key_pem = write("server-key.pem", pki.server_key_pem.as_bytes());
    let store = CredentialStore::new();
    store
        .register("pem", Credentials::load(&cert_pem, &key_pem).unwrap())
        .unwrap();

    let client = pki.client_der.clone();
    let client_der = write("client.der", &client);
    let client_key_der = write("client-key.der", &pki.client_key_der);
    store
        .register(
            "der",
            Credentials::load(&client_der, &client_key_der).unwrap(),
        )
        .unwrap();
    assert_eq!(load_certificates(&client_der).unwrap(), vec![client]);

    let missing = dir.path().join("nope.pem");
    let err: TlsError = Credentials::load(&missing, &key_pem).unwrap_err();
    assert_eq!(err.file(), Some(missing.as_path()));
    assert!(err.to_string().contains("cannot read"), "{err}");

    let garbage = write("garbage.pem", b"-----BEGIN NOTHING-----\n");
    let err = Credentials::load(&garbage, &key_pem).unwrap_err();
    assert_eq!(err.file(), Some(garbage.as_path()));

    // The client's key with the server's certificate: refused when registered.
    let mismatched = Credentials::load(&cert_pem, &client_key_der).unwrap();
    let err = store.register("bad", mismatched).unwrap_err();
    assert!(err.to_string().contains("does not fit"), "{err}");

    // A service naming a tag nobody registered does not build.
    let build = basic(Limits::default())
        .tls(TlsOptions::new(&store, "unknown"))
        .build();
    assert!(build.is_err());
}

#[tokio::test]
async fn command_line_clients_over_https() {
    let tools = ["curl", "nghttp", "h2load", "openssl"];
    let present: Vec<bool> = tools.iter().map(|t| have_tool(t)).collect();
    if present.iter().all(|p| !p) {
        return;
    }
    let pki = pki();
    let (server, _store) = start(&pki, false).await;
    let dir = tempfile::tempdir().unwrap();
    let ca_pem = dir.path().join("ca.pem");
    std::fs::write(&ca_pem, pki.ca.pem()).unwrap();
    let ca = ca_pem.to_str().unwrap().to_owned();
    let port = server.addr.port();
    let url = format!("https://localhost:{port}/tls");
    let resolve = format!("localhost:{port}:127.0.0.1");

    if present[0] {
        let curl = |protocol: &str| {
            let args = [
                "-sS",
                "-v",
                protocol,
                "--max-time",
                "10",
                "--cacert",
                &ca,
                "--resolve",
                &resolve,
                &url,
            ];
            run_async("curl", &args)
        };
        let (ok, text) = curl("--http2").await;
        assert!(ok, "{text}");
        assert!(text.contains("ALPN: server accepted h2"), "{text}");
        assert!(text.contains("< HTTP/2 200"), "{text}");
        assert!(text.contains("localhost h2 false HTTP/2.0"), "{text}");

        let (ok, text) = curl("--http1.1").await;
        assert!(ok, "{text}");
        assert!(text.contains("< HTTP/1.1 200 OK"), "{text}");
        assert!(text.contains("localhost http/1.1 false HTTP/1.1"), "{text}");
    }
    let https = format!("https://127.0.0.1:{port}/hello");
    if present[1] {
        let (ok, text) = run_async("nghttp", &["-v", "-t", "10", &https]).await;
        assert!(ok, "{text}");
        assert!(text.contains("The negotiated protocol: h2"), "{text}");
        assert!(text.contains(":status: 200"), "{text}");
    }
    if present[2] {
        let (ok, text) = run_async("h2load", &["-n1000", "-c10", "-T", "30", &https]).await;
        assert!(ok, "{text}");
        assert!(text.contains("Application protocol: h2"), "{text}");
        assert!(
            text.contains("1000 succeeded, 0 failed, 0 errored, 0 timeout"),
            "{text}"
        );
    }
    if present[3] {
        let (_, text) = tokio::task::spawn_blocking(move || {
            let out = Command::new("openssl")
                .args([
                    "s_client",
                    "-alpn",
                    "h2",
                    "-connect",
                    &format!("127.0.0.1:{port}"),
                    "-servername",
                    "localhost",
                    "-CAfile",
                    &ca,
                ])
                .stdin(std::process::Stdio::null())
                .output()
                .expect("openssl runs");
            (
                out.status.success(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
            )
        })
        .await
        .unwrap();
        assert!(text.contains("ALPN protocol: h2"), "{text}");
        assert!(text.contains("Verify return code: 0 (ok)"), "{text}");
    }
    server.stop().await;
}

#[tokio::test]
async fn h2_over_tls_carries_a_large_upload_both_ways() {
    let pki = pki();
    let (server, _store) = start(&pki, false).await;
    let stream = connect(server.addr, client_config(&pki, &[b"h2"], false))
        .await
        .unwrap();
    let (mut client, connection) = h2::client::handshake(stream).await.unwrap();
    tokio::spawn(async move {
        let _ = connection.await;
    });
    let request = http::Request::builder()
        .method("POST")
        .uri("https://localhost/echo")
        .body(())
        .unwrap();
    let (response, mut send) = client.send_request(request, false).unwrap();
    let data: Bytes = (0..4 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let expected = data.clone();
    let upload = tokio::spawn(async move {
        let mut rest = data;
        while !rest.is_empty() {
            send.reserve_capacity(rest.len().min(65536));
            let n = std::future::poll_fn(|cx| send.poll_capacity(cx))
                .await
                .unwrap()
                .unwrap();
            send.send_data(rest.split_to(n.min(rest.len())), false)
                .unwrap();
        }
        send.send_data(Bytes::new(), true).unwrap();
    });
    let mut body = response.await.unwrap().into_body();
    let mut got = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.unwrap();
        body.flow_control().release_capacity(chunk.len()).unwrap();
        got.extend_from_slice(&chunk);
    }
    upload.await.unwrap();
    assert!(
        got == expected,
        "echoed {} bytes, sent {}",
        got.len(),
        expected.len()
    );
    server.stop().await;
}

#[tokio::test]
async fn tls12_clients_are_served_too() {
    let pki = pki();
    let (server, _store) = start(&pki, false).await;
    let mut roots = rustls::RootCertStore::empty();
    roots.add(pki.ca.der().clone()).unwrap();
    let mut config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_protocol_versions(&[&rustls::version::TLS12])
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec()];
    let stream = connect(server.addr, config).await.unwrap();
    assert_eq!(
        stream.get_ref().1.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_2)
    );
    assert_eq!(h2_get(stream, "/hello").await, (200, "hello\n".to_owned()));
    server.stop().await;
}

#[tokio::test]
async fn a_client_that_never_finishes_the_handshake_is_dropped() {
    let pki = pki();
    let store = CredentialStore::new();
    store
        .register(
            "server",
            Credentials::from_pem(pki.server_pem.as_bytes(), pki.server_key_pem.as_bytes())
                .unwrap(),
        )
        .unwrap();
    let options = TlsOptions::new(&store, "server").handshake_timeout(Duration::from_millis(500));
    let server = TestServer::start(basic(Limits::default()).tls(options)).await;
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    let mut buf = [0u8; 64];
    let started = tokio::time::Instant::now();
    let read = tokio::time::timeout(Duration::from_secs(5), silent.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "closed by the server: {read:?}"
    );
    assert!(started.elapsed() >= Duration::from_millis(400));
    // Others are served meanwhile and after.
    let mut tls = connect(server.addr, client_config(&pki, &[b"http/1.1"], false))
        .await
        .unwrap();
    assert!(h1_get(&mut tls, "/hello")
        .await
        .unwrap()
        .ends_with("hello\n"));
    server.stop().await;
}

/// A full TLS listener closes a connection whose client has not sent a byte to make room
/// for a new client, which is served at once (not after the handshake timeout).
#[tokio::test]
async fn a_full_server_closes_a_silent_tls_connection_for_a_new_client() {
    let pki = pki();
    let store = CredentialStore::new();
    store
        .register(
            "server",
            Credentials::from_pem(pki.server_pem.as_bytes(), pki.server_key_pem.as_bytes())
                .unwrap(),
        )
        .unwrap();
    let limits = Limits {
        max_clients: 1,
        ..Limits::default()
    };
    // Without room made, the newcomer would wait for this timeout.
    let options = TlsOptions::new(&store, "server").handshake_timeout(Duration::from_secs(60));
    let server = TestServer::start(basic(limits).tls(options)).await;
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let served = tokio::time::timeout(Duration::from_secs(20), async {
        let mut tls = connect(server.addr, client_config(&pki, &[b"http/1.1"], false))
            .await
            .unwrap();
        h1_get(&mut tls, "/hello").await.unwrap()
    })
    .await
    .expect("the new client is served while the silent one would hold its slot");
    assert!(served.ends_with("hello\n"), "{served}");
    let mut buf = [0u8; 64];
    let read = tokio::time::timeout(Duration::from_secs(3), silent.read(&mut buf)).await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "silent client: {read:?}"
    );
    server.stop().await;
}

/// A raw HTTP/2 client over TLS (ALPN h2), past the SETTINGS exchange.
async fn raw_h2(addr: SocketAddr, pki: &Pki) -> support::h2raw::H2Raw {
    let stream = connect(addr, client_config(pki, &[b"h2"], false))
        .await
        .unwrap();
    support::h2raw::H2Raw::over(stream)
        .handshake_now(&[])
        .await
        .0
}

/// The same protocol checks as the plain-text conformance suite, on a TLS connection where
/// ALPN chose h2: the driver is shared, so a sample of each section is enough to show the
/// transport changes nothing.
#[tokio::test]
async fn conformance_sample_over_tls() {
    use support::h2raw::*;
    let pki = pki();
    let (server, _store) = start(&pki, false).await;

    // 3.4 / 6.5: our SETTINGS ACK arrives; 6.7 PING is answered.
    let mut c = raw_h2(server.addr, &pki).await;
    c.expect("SETTINGS ACK", |f| f.kind == SETTINGS && f.has(ACK))
        .await;
    c.ping_pong().await;
    // 8.1: a request and its response.
    c.request(1, "GET", "/hello", true).await;
    let r = c.response(1).await;
    assert_eq!((r.status, r.body.as_slice()), (200, &b"hello\n"[..]));
    // 8.2.2: a connection-specific field makes the request malformed: RST PROTOCOL_ERROR.
    let block = c.request_block("GET", "/hello", &[("connection", "keep-alive")]);
    c.send_frame(HEADERS, END_HEADERS | END_STREAM, 3, &block)
        .await;
    c.expect_reset(3, PROTOCOL_ERROR).await;
    // 5.1.2 the connection lives on.
    c.request(5, "GET", "/hello", true).await;
    assert_eq!(c.response(5).await.status, 200);
    // 6.9: a WINDOW_UPDATE of 0 on the connection is a connection error PROTOCOL_ERROR.
    c.send_frame(WINDOW_UPDATE, 0, 0, &window_update_payload(0))
        .await;
    c.expect_goaway(PROTOCOL_ERROR).await;
    assert!(c.closed().await);

    // 4.2: a frame larger than SETTINGS_MAX_FRAME_SIZE is FRAME_SIZE_ERROR.
    let mut c = raw_h2(server.addr, &pki).await;
    c.send_frame(HEADERS, END_HEADERS, 1, &[0x82; 16_385]).await;
    c.expect_goaway(FRAME_SIZE_ERROR).await;

    // 5.1.1: an even stream id is a connection error PROTOCOL_ERROR.
    let mut c = raw_h2(server.addr, &pki).await;
    c.request(2, "GET", "/hello", true).await;
    c.expect_goaway(PROTOCOL_ERROR).await;

    // 6.9.1: a flow-control window past 2^31-1 is FLOW_CONTROL_ERROR.
    let mut c = raw_h2(server.addr, &pki).await;
    c.send_frame(WINDOW_UPDATE, 0, 0, &window_update_payload(0x7fff_ffff))
        .await;
    c.expect_goaway(FLOW_CONTROL_ERROR).await;
    server.stop().await;
}
