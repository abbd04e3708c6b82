//! WebSocket echo sessions on `/ws_echo` with tokio-tungstenite (an independent client).
//! Every message must come back byte for byte, in order. At the stop the server closes with
//! 1001 (going away): the message in flight then was not taken; an end without a close
//! handshake, or a wrong echo, is a loss.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

use crate::load::{payload, Failure, Phase, Rng, Tally};

/// The longest wait for one echo; far above what a loaded debug build needs.
const ECHO_WITHIN: Duration = Duration::from_secs(30);

/// Opens sessions and echoes messages until the run is done.
pub(crate) async fn echo_sessions(
    addr: SocketAddr,
    seed: u64,
    tally: Arc<Tally>,
    phase: Arc<Phase>,
) {
    let mut rng = Rng::new(seed);
    while !phase.done() {
        let url = format!("ws://{addr}/ws_echo");
        let mut ws = match tokio_tungstenite::connect_async(url.as_str()).await {
            Ok((ws, _)) => ws,
            Err(e) => {
                tally.fail(&phase, Failure::NotTaken(format!("open: {e}")));
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // A session carries a few hundred messages, then a new one opens: both the long
        // session and the opening and closing are under load.
        for _ in 0..rng.between(50, 400) {
            if phase.done() {
                break;
            }
            let len = rng.between(0, 32 << 10);
            let bytes = payload(rng.next(), len);
            let message = if rng.next().is_multiple_of(2) {
                Message::Binary(bytes.clone())
            } else {
                // Text: the payload's bytes as hex, valid UTF-8 of about the same size.
                let text: String = bytes[..len / 2]
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect();
                Message::Text(text.into())
            };
            if let Err(e) = ws.send(message.clone()).await {
                tally.fail(&phase, Failure::NotTaken(format!("send: {e}")));
                break;
            }
            match next_data(&mut ws).await {
                Ok(Some(echo)) if echo == message => tally.ok(2 * message.len()),
                Ok(Some(other)) => {
                    tally.fail(
                        &phase,
                        Failure::Broken(format!(
                            "echo of {} bytes came back as {} bytes",
                            message.len(),
                            other.len()
                        )),
                    );
                    break;
                }
                Ok(None) => {
                    // Closed with 1001 before echoing: the message was not taken.
                    tally.fail(&phase, Failure::NotTaken("closed with 1001 first".into()));
                    break;
                }
                Err(failure) => {
                    tally.fail(&phase, failure);
                    break;
                }
            }
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), ws.close(None)).await;
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next data message; `Ok(None)` when the server closed with 1001 (going away).
async fn next_data(ws: &mut Ws) -> Result<Option<Message>, Failure> {
    loop {
        let next = tokio::time::timeout(ECHO_WITHIN, ws.next())
            .await
            .map_err(|_| Failure::Broken("no echo in time".into()))?;
        match next {
            Some(Ok(message @ (Message::Text(_) | Message::Binary(_)))) => {
                return Ok(Some(message))
            }
            Some(Ok(Message::Close(Some(frame)))) if frame.code == CloseCode::Away => {
                return Ok(None)
            }
            Some(Ok(Message::Close(frame))) => {
                return Err(Failure::Broken(format!("closed with {frame:?}")))
            }
            Some(Ok(_)) => {} // ping, pong
            Some(Err(e)) => return Err(Failure::Broken(format!("session failed: {e}"))),
            None => return Err(Failure::Broken("ended without a close frame".into())),
        }
    }
}
