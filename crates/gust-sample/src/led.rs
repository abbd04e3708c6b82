//! Virtual LEDs: the sample's stand-in for the original's gpio-leds, switched by
//! `POST /led {"led_num": N, "led_state": true|false}` and read by `GET /led`.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use gust::http::{Method, StatusCode};
use gust::{PeerAddr, Request, Response};
use serde::Deserialize;

use crate::reply;

/// A fixed set of on/off LEDs shared by every connection.
///
/// Each LED is one atomic, so switching and reading never take a lock. Relaxed ordering is
/// enough: an LED's state publishes no other data, and each LED is independent.
#[derive(Debug)]
pub(crate) struct Leds {
    states: Box<[AtomicBool]>,
}

impl Leds {
    /// `count` LEDs, all off.
    pub(crate) fn new(count: usize) -> Self {
        Leds {
            states: (0..count).map(|_| AtomicBool::new(false)).collect(),
        }
    }

    /// Number of LEDs.
    pub(crate) fn len(&self) -> usize {
        self.states.len()
    }

    /// Switches LED `index` and returns its previous state; `None` if there is no such LED.
    pub(crate) fn set(&self, index: usize, on: bool) -> Option<bool> {
        self.states
            .get(index)
            .map(|led| led.swap(on, Ordering::Relaxed))
    }

    /// Every LED's state, as `{"leds":[false,true,...]}`.
    pub(crate) fn to_json(&self) -> String {
        let mut out = String::with_capacity(10 + 6 * self.states.len());
        out.push_str("{\"leds\":[");
        for (i, led) in self.states.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            // Writing to a String cannot fail.
            let _ = write!(out, "{}", led.load(Ordering::Relaxed));
        }
        out.push_str("]}");
        out
    }
}

/// One switch command, as the dashboard sends it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub(crate) struct LedCommand {
    /// Index of the LED, from 0.
    pub(crate) led_num: u64,
    /// `true` for on.
    pub(crate) led_state: bool,
}

/// Parses and checks a command against `count` LEDs; the error is a one-line reason for a 400.
pub(crate) fn parse_command(body: &[u8], count: usize) -> Result<(usize, bool), String> {
    const EXPECTED: &str = r#"expected {"led_num": N, "led_state": true|false}"#;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(format!("empty body: {EXPECTED}"));
    }
    // Through a Value first: serde would also accept a JSON array as a struct, which is not
    // a command anyone means to send.
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("malformed JSON: {e}"))?;
    if !value.is_object() {
        return Err(format!("not a JSON object: {EXPECTED}"));
    }
    let command: LedCommand =
        serde_json::from_value(value).map_err(|e| format!("invalid LED command: {e}"))?;
    match usize::try_from(command.led_num) {
        Ok(index) if index < count => Ok((index, command.led_state)),
        _ => Err(format!(
            "led_num {} is out of range: there {} {count} LED{} (0 to {})",
            command.led_num,
            if count == 1 { "is" } else { "are" },
            if count == 1 { "" } else { "s" },
            count.saturating_sub(1)
        )),
    }
}

/// `GET /led`: every state. `POST /led`: switch one LED and answer its new state.
///
/// The resource is registered with a buffered body, so the server has already bounded it by
/// `max_body_size` (413 past it); `max_body` repeats that bound here in case it is not.
pub(crate) async fn handle(leds: Arc<Leds>, request: Request, max_body: u64) -> Response {
    if request.method() != Method::POST {
        return reply::no_store(reply::json(StatusCode::OK, leds.to_json()));
    }
    let peer = match request.extensions().get::<PeerAddr>() {
        Some(PeerAddr(addr)) => addr.to_string(),
        None => "-".to_owned(),
    };
    let body = match request.into_body().collect(max_body).await {
        Ok(body) => body,
        Err(gust::BodyError::TooLarge { limit }) => {
            return reply::text(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!("request body larger than {limit} bytes"),
            )
        }
        Err(e) => return reply::text(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let (index, on) = match parse_command(&body, leds.len()) {
        Ok(command) => command,
        Err(reason) => {
            tracing::debug!(%peer, %reason, "LED command refused");
            return reply::text(StatusCode::BAD_REQUEST, reason);
        }
    };
    // `parse_command` checked the index against the same set; `None` cannot happen, but an
    // answer is cheaper than a panic.
    let Some(was) = leds.set(index, on) else {
        return reply::text(StatusCode::BAD_REQUEST, format!("no LED {index}"));
    };
    let state = |on: bool| if on { "on" } else { "off" };
    tracing::info!(
        led = index,
        state = state(on),
        was = state(was),
        %peer,
        "LED {index} {}",
        state(on)
    );
    reply::no_store(reply::json(
        StatusCode::OK,
        format!("{{\"led_num\":{index},\"led_state\":{on}}}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_commands() {
        assert_eq!(
            parse_command(br#"{"led_num":0,"led_state":true}"#, 4),
            Ok((0, true))
        );
        assert_eq!(
            parse_command(br#" { "led_state": false, "led_num": 3 } "#, 4),
            Ok((3, false))
        );
        // Extra keys are ignored, as the original's JSON parser does.
        assert_eq!(
            parse_command(br#"{"led_num":1,"led_state":true,"colour":"red"}"#, 4),
            Ok((1, true))
        );
    }

    fn refused(body: &str, count: usize) -> String {
        match parse_command(body.as_bytes(), count) {
            Err(reason) => {
                assert!(!reason.contains('\n'), "one line: {reason}");
                reason
            }
            Ok(ok) => panic!("{body:?} accepted as {ok:?}"),
        }
    }

    #[test]
    fn malformed_json() {
        assert!(refused("", 4).contains("empty"));
        assert!(refused("  \n", 4).contains("empty"));
        assert!(refused("{\"led_num\":1,", 4).contains("malformed JSON"));
        assert!(refused("led on please", 4).contains("malformed JSON"));
        assert!(refused(r#"{"led_num":1,"led_state":true} trailing"#, 4).contains("malformed"));
        assert!(refused("[0, true]", 4).contains("not a JSON object"));
        assert!(refused("42", 4).contains("not a JSON object"));
        assert!(parse_command(b"\xff\xfe", 4).is_err());
    }

    #[test]
    fn missing_fields() {
        assert!(refused(r#"{"led_num":1}"#, 4).contains("led_state"));
        assert!(refused(r#"{"led_state":true}"#, 4).contains("led_num"));
        assert!(refused("{}", 4).contains("missing field"));
    }

    #[test]
    fn wrong_types() {
        assert!(refused(r#"{"led_num":"1","led_state":true}"#, 4).contains("invalid type"));
        assert!(refused(r#"{"led_num":1,"led_state":"on"}"#, 4).contains("invalid type"));
        assert!(refused(r#"{"led_num":1,"led_state":1}"#, 4).contains("invalid type"));
        assert!(refused(r#"{"led_num":1.5,"led_state":true}"#, 4).contains("invalid type"));
        assert!(refused(r#"{"led_num":null,"led_state":true}"#, 4).contains("invalid type"));
        assert!(refused(r#"{"led_num":-1,"led_state":true}"#, 4).contains("invalid"));
    }

    #[test]
    fn out_of_range() {
        let reason = refused(r#"{"led_num":4,"led_state":true}"#, 4);
        assert!(
            reason.contains("out of range") && reason.contains("0 to 3"),
            "{reason}"
        );
        let huge = refused(r#"{"led_num":18446744073709551615,"led_state":true}"#, 4);
        assert!(huge.contains("out of range"), "{huge}");
        assert!(refused(r#"{"led_num":1,"led_state":true}"#, 1).contains("there is 1 LED "));
    }

    fn call(leds: &Arc<Leds>, method: Method, body: &'static str) -> Response {
        let request = gust::http::Request::builder()
            .method(method)
            .uri("/led")
            .body(gust::RequestBody::full(gust::bytes::Bytes::from_static(
                body.as_bytes(),
            )))
            .unwrap();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(handle(leds.clone(), request, 1024))
    }

    #[test]
    fn handler_answers() {
        use gust::http::header::CONTENT_TYPE;
        let leds = Arc::new(Leds::new(2));
        let ok = call(&leds, Method::POST, r#"{"led_num":1,"led_state":true}"#);
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(ok.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(leds.to_json(), r#"{"leds":[false,true]}"#);

        let bad = call(&leds, Method::POST, r#"{"led_num":2,"led_state":false}"#);
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        assert!(bad.headers()[CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain"));
        assert_eq!(
            leds.to_json(),
            r#"{"leds":[false,true]}"#,
            "a refused command changes nothing"
        );

        let states = call(&leds, Method::GET, "");
        assert_eq!(states.status(), StatusCode::OK);
        assert_eq!(
            states.body().exact_length(),
            Some(r#"{"leds":[false,true]}"#.len() as u64)
        );

        let too_big = call(&leds, Method::POST, include_str!("../config/example.toml"));
        assert_eq!(too_big.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[test]
    fn leds_switch_and_report() {
        let leds = Leds::new(4);
        assert_eq!(leds.to_json(), r#"{"leds":[false,false,false,false]}"#);
        assert_eq!(leds.set(1, true), Some(false));
        assert_eq!(leds.set(1, true), Some(true));
        assert_eq!(leds.set(4, true), None);
        assert_eq!(leds.to_json(), r#"{"leds":[false,true,false,false]}"#);
        let json: serde_json::Value = serde_json::from_str(&leds.to_json()).unwrap();
        assert_eq!(json["leds"][1], serde_json::Value::Bool(true));
    }
}
