//! `GET` and `POST /dynamic`: the echo.
//!
//! A POST's body comes back as the response body, chunk by chunk as it arrives: the request
//! body stream is the response body stream, so nothing is held beyond the connection's bounded
//! queues and an upload of any size passes through. A GET echoes its query string (the part
//! after `?`, as sent), or nothing, as the original does.

use gust::http::header::CONTENT_TYPE;
use gust::http::{HeaderValue, Method};
use gust::{Body, Outcome, Request, Response};

/// The content type of an echo whose request named none.
const DEFAULT_CONTENT_TYPE: &str = "application/octet-stream";

/// Answers one echo request.
pub(crate) async fn echo(request: Request) -> Response {
    let content_type = request
        .headers()
        .get(CONTENT_TYPE)
        .cloned()
        .unwrap_or(HeaderValue::from_static(DEFAULT_CONTENT_TYPE));
    let body = if request.method() == Method::GET || request.method() == Method::HEAD {
        match request.uri().query() {
            Some(query) => Body::full(query.to_owned()),
            None => Body::empty(),
        }
    } else {
        let declared = request.body().length_hint();
        tracing::debug!(?declared, "echoing a request body");
        // Whether the echo finished is only known once the client has read it all.
        Body::from_stream(request.into_body()).on_complete(move |outcome| match outcome {
            Outcome::Complete => tracing::debug!(?declared, "echo complete"),
            _ => tracing::debug!(?declared, "echo aborted"),
        })
    };
    let mut response = Response::new(body);
    response.headers_mut().insert(CONTENT_TYPE, content_type);
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use gust::bytes::Bytes;
    use gust::RequestBody;

    fn run<F: std::future::Future>(future: F) -> F::Output {
        match tokio::runtime::Builder::new_current_thread().build() {
            Ok(rt) => rt.block_on(future),
            Err(e) => panic!("runtime: {e}"),
        }
    }

    fn request(
        method: Method,
        uri: &str,
        content_type: Option<&str>,
        body: &'static [u8],
    ) -> Request {
        let mut builder = gust::http::Request::builder().method(method).uri(uri);
        if let Some(ct) = content_type {
            builder = builder.header(CONTENT_TYPE, ct);
        }
        builder
            .body(RequestBody::full(Bytes::from_static(body)))
            .unwrap()
    }

    // gust's Body has no public reader (the connection consumes it), so these tests check
    // what is visible here: status, headers and whether the body is streamed or sized. The
    // bytes themselves are checked by the integration tests over a real socket.

    #[test]
    fn post_keeps_the_content_type() {
        let response = run(echo(request(
            Method::POST,
            "/dynamic",
            Some("text/plain"),
            b"hi",
        )));
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()[CONTENT_TYPE], "text/plain");
        assert_eq!(
            response.body().exact_length(),
            None,
            "streamed, not buffered"
        );
    }

    #[test]
    fn default_content_type() {
        let response = run(echo(request(Method::POST, "/dynamic", None, b"hi")));
        assert_eq!(response.headers()[CONTENT_TYPE], "application/octet-stream");
    }

    #[test]
    fn get_echoes_the_query() {
        let response = run(echo(request(Method::GET, "/dynamic?a=1&b=%20", None, b"")));
        assert_eq!(
            response.body().exact_length(),
            Some("a=1&b=%20".len() as u64)
        );
        let response = run(echo(request(Method::GET, "/dynamic", None, b"ignored")));
        assert_eq!(response.body().exact_length(), Some(0));
    }
}
