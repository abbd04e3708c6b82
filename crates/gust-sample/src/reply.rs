//! Small response builders shared by the handlers.

use gust::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use gust::http::{HeaderValue, StatusCode};
use gust::{Body, Response};

/// A response with a status, a static content type and a body.
pub(crate) fn with_type(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Body>,
) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// A one-line plain-text answer (errors), ended with a newline for terminals.
pub(crate) fn text(status: StatusCode, line: impl Into<String>) -> Response {
    let mut line = line.into();
    line.push('\n');
    with_type(status, "text/plain; charset=utf-8", line)
}

/// A JSON answer.
pub(crate) fn json(status: StatusCode, body: String) -> Response {
    with_type(status, "application/json", body)
}

/// Marks a response as live data that a browser must not cache (uptime, LED states).
pub(crate) fn no_store(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
