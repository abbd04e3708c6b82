//! `/ws_echo`: the HTTP/1.1 upgrade (RFC 6455 4.2.2) answered by hyper, then a
//! tokio-tungstenite session that sends every text and binary message back.

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::{header, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::WebSocketStream;

/// Answers an opening request with 101 and starts the echo on the upgraded connection;
/// anything else gets 400.
pub(crate) fn upgrade(mut request: Request<Incoming>) -> Response<Full<Bytes>> {
    let is_websocket = request
        .headers()
        .get(header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
    let Some(key) = request.headers().get(header::SEC_WEBSOCKET_KEY) else {
        return bad_request();
    };
    if !is_websocket {
        return bad_request();
    }
    let accept = derive_accept_key(key.as_bytes());
    let upgrade = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        // The upgrade completes once hyper has written the 101 below.
        if let Ok(upgraded) = upgrade.await {
            let socket =
                WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
            echo(socket).await;
        }
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::CONNECTION, "upgrade")
        .header(header::UPGRADE, "websocket")
        .header(header::SEC_WEBSOCKET_ACCEPT, accept)
        .body(Full::new(Bytes::new()))
        .expect("static headers and a derived key are valid")
}

/// Sends back every data message until the client closes or the connection fails. Pings
/// are answered and closes completed by tungstenite itself.
async fn echo<S>(mut socket: WebSocketStream<S>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    while let Some(Ok(message)) = socket.next().await {
        if (message.is_text() || message.is_binary()) && socket.send(message).await.is_err() {
            break;
        }
    }
}

fn bad_request() -> Response<Full<Bytes>> {
    Response::builder()
        .status(StatusCode::BAD_REQUEST)
        .body(Full::new(Bytes::from_static(
            b"not a WebSocket opening request\n",
        )))
        .expect("a static response is valid")
}
