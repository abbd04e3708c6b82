//! HTTP/2 requests with the `h2` crate (an independent client), over plain TCP (h2c by
//! prior knowledge) or TLS. What a failure means follows RFC 9113 6.8: a stream the
//! server's GOAWAY leaves out (or refuses) was never processed; any other failure of a
//! stream is a loss.

use std::future::poll_fn;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use h2::client::SendRequest;
use h2::Reason;

use crate::load::{Exchange, Failure};

/// The most body bytes one DATA frame carries from this client.
const SEND_CHUNK: usize = 32 << 10;

/// Sends `exchange` on the connection `client` belongs to and reads the whole answer. With
/// `pace`, the body goes out in `SEND_CHUNK` pieces with that pause between them.
pub(crate) async fn exchange(
    client: &SendRequest<Bytes>,
    authority: &str,
    scheme: &str,
    exchange: &Exchange,
    pace: Option<Duration>,
) -> Result<(u16, BytesMut), Failure> {
    let request = http::Request::builder()
        .method(exchange.method)
        .uri(format!("{scheme}://{authority}{}", exchange.target))
        .body(())
        .map_err(|e| Failure::Broken(format!("request: {e}")))?;
    // Failing here, the request never left this client.
    let mut client = client
        .clone()
        .ready()
        .await
        .map_err(|e| Failure::NotTaken(format!("connection not ready: {e}")))?;
    let body = exchange.body.clone();
    let (response, mut send) = client
        .send_request(request, body.is_none())
        .map_err(|e| Failure::NotTaken(format!("send_request: {e}")))?;
    let upload = async {
        let Some(mut rest) = body else { return };
        if rest.is_empty() {
            let _ = send.send_data(Bytes::new(), true);
            return;
        }
        while !rest.is_empty() {
            send.reserve_capacity(rest.len().min(SEND_CHUNK));
            let granted = match poll_fn(|cx| send.poll_capacity(cx)).await {
                Some(Ok(n)) => n,
                // The stream ended or failed: the answer side says how.
                _ => return,
            };
            let n = granted.min(rest.len()).min(SEND_CHUNK);
            if n == 0 {
                continue;
            }
            let chunk = rest.split_to(n);
            if send.send_data(chunk, rest.is_empty()).is_err() {
                return;
            }
            if let Some(pause) = pace {
                tokio::time::sleep(pause).await;
            }
        }
    };
    let answer = async {
        let response = response.await.map_err(classify)?;
        let status = response.status().as_u16();
        let mut body = response.into_body();
        let mut received = BytesMut::new();
        while let Some(chunk) = body.data().await {
            let chunk =
                chunk.map_err(|e| Failure::Broken(format!("inside the response body: {e}")))?;
            let _ = body.flow_control().release_capacity(chunk.len());
            received.extend_from_slice(&chunk);
        }
        Ok((status, received))
    };
    let ((), answer) = tokio::join!(upload, answer);
    answer
}

/// An error before the response head: refused or left out by GOAWAY means not processed
/// (RFC 9113 8.7); anything else is a loss.
fn classify(error: h2::Error) -> Failure {
    let unprocessed = error.is_remote()
        && (error.is_go_away() || error.reason() == Some(Reason::REFUSED_STREAM))
        && matches!(
            error.reason(),
            Some(Reason::NO_ERROR) | Some(Reason::REFUSED_STREAM)
        );
    if unprocessed {
        Failure::NotTaken(format!("left out by the server: {error}"))
    } else {
        Failure::Broken(format!("before the response head: {error}"))
    }
}
