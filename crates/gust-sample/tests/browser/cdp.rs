//! A small Chrome DevTools Protocol client: one WebSocket to the browser, commands sent to
//! one page over a flattened session, and the page's events kept in order for the test to
//! read afterwards.
//!
//! Commands and events share the socket, so every read while waiting for an answer may
//! bring events first; they are buffered, never dropped (except the per-frame WebSocket
//! and data events, which the tests do not read and which would grow without end). Every
//! wait has a deadline and a bound on the messages it reads.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How long one command may take (a full-page screenshot is the slowest).
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
/// Messages read while waiting for one answer, at most.
const MAX_MESSAGES_PER_WAIT: usize = 100_000;
/// Events kept, at most; a test reads far fewer.
const MAX_EVENTS: usize = 50_000;
/// Events that come in streams and that no check reads.
const UNKEPT_EVENTS: [&str; 3] = [
    "Network.webSocketFrameReceived",
    "Network.webSocketFrameSent",
    "Network.dataReceived",
];

/// One protocol event, in the order the browser sent it.
#[derive(Debug, Clone)]
pub(crate) struct Event {
    pub(crate) method: String,
    pub(crate) params: Value,
}

/// The connection to the browser and, after [`Cdp::open_page`], the page it drives.
pub(crate) struct Cdp {
    socket: Socket,
    next_id: u64,
    session: Option<String>,
    events: Vec<Event>,
}

impl Cdp {
    /// Connects to the browser's DevTools endpoint (`ws://127.0.0.1:PORT/devtools/...`).
    pub(crate) async fn connect(url: &str) -> Cdp {
        assert!(
            url.starts_with("ws://127.0.0.1:"),
            "DevTools must listen on 127.0.0.1: {url}"
        );
        let (socket, _) = tokio::time::timeout(CALL_TIMEOUT, tokio_tungstenite::connect_async(url))
            .await
            .unwrap_or_else(|_| panic!("DevTools at {url} did not answer in time"))
            .unwrap_or_else(|e| panic!("DevTools at {url}: {e}"));
        Cdp {
            socket,
            next_id: 1,
            session: None,
            events: Vec::new(),
        }
    }

    /// Opens a new blank page and directs every later command to it.
    pub(crate) async fn open_page(&mut self) {
        let target = self
            .call("Target.createTarget", json!({ "url": "about:blank" }))
            .await
            .expect("a new page");
        let target_id = target["targetId"].clone();
        let attached = self
            .call(
                "Target.attachToTarget",
                json!({ "targetId": target_id, "flatten": true }),
            )
            .await
            .expect("attached to the page");
        let session = attached["sessionId"]
            .as_str()
            .expect("a session id")
            .to_owned();
        self.session = Some(session);
    }

    /// Sends one command and waits for its answer: the `result`, or the protocol's error
    /// message.
    pub(crate) async fn call(&mut self, method: &str, params: Value) -> Result<Value, String> {
        let id = self.next_id;
        self.next_id += 1;
        let mut command = json!({ "id": id, "method": method, "params": params });
        if let Some(session) = &self.session {
            command["sessionId"] = json!(session);
        }
        self.socket
            .send(Message::text(command.to_string()))
            .await
            .map_err(|e| format!("{method}: sending: {e}"))?;
        let deadline = Instant::now() + CALL_TIMEOUT;
        for _ in 0..MAX_MESSAGES_PER_WAIT {
            let Some(message) = self.next_message(deadline).await? else {
                break;
            };
            if message["id"].as_u64() == Some(id) {
                if let Some(error) = message.get("error") {
                    return Err(format!("{method}: {error}"));
                }
                return Ok(message["result"].clone());
            }
        }
        Err(format!("{method}: no answer within {CALL_TIMEOUT:?}"))
    }

    /// Reads events for `period`: lets the page run while the test waits.
    pub(crate) async fn pump(&mut self, period: Duration) {
        let deadline = Instant::now() + period;
        for _ in 0..MAX_MESSAGES_PER_WAIT {
            match self.next_message(deadline).await {
                Ok(Some(_)) => {}
                Ok(None) => return,
                Err(e) => panic!("DevTools connection: {e}"),
            }
        }
    }

    /// Every event kept so far.
    pub(crate) fn events(&self) -> &[Event] {
        &self.events
    }

    /// Waits until an event named `method` has arrived after the first `from` events; its
    /// index.
    pub(crate) async fn wait_event(
        &mut self,
        method: &str,
        from: usize,
        timeout: Duration,
    ) -> usize {
        let deadline = Instant::now() + timeout;
        for _ in 0..MAX_MESSAGES_PER_WAIT {
            let found = self
                .events
                .iter()
                .skip(from)
                .position(|e| e.method == method);
            if let Some(offset) = found {
                return from + offset;
            }
            match self.next_message(deadline).await {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => panic!("DevTools connection: {e}"),
            }
        }
        panic!("no {method} event within {timeout:?}");
    }

    /// The next message before `deadline` (`None` when the deadline passed), an event kept
    /// on the way. A message that is not text (a ping: tungstenite answers it) reads as
    /// `Value::Null`.
    async fn next_message(&mut self, deadline: Instant) -> Result<Option<Value>, String> {
        let message = match tokio::time::timeout_at(deadline, self.socket.next()).await {
            Err(_) => return Ok(None),
            Ok(None) => return Err("closed by the browser".into()),
            Ok(Some(Err(e))) => return Err(e.to_string()),
            Ok(Some(Ok(message))) => message,
        };
        let text = match message {
            Message::Text(text) => text,
            Message::Close(_) => return Err("closed by the browser".into()),
            _ => return Ok(Some(Value::Null)),
        };
        let value: Value =
            serde_json::from_str(&text).map_err(|e| format!("not JSON: {e}: {text}"))?;
        if let Some(method) = value["method"].as_str() {
            if self.events.len() < MAX_EVENTS && !UNKEPT_EVENTS.contains(&method) {
                self.events.push(Event {
                    method: method.to_owned(),
                    params: value["params"].clone(),
                });
            }
        }
        Ok(Some(value))
    }
}
