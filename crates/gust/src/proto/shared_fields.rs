//! Response fields made once and shared by every answer made from them.
//!
//! A cached file is answered thousands of times with the same ETag, Last-Modified, Vary,
//! Accept-Ranges and Content-Type. Copying that map into each response, walking it to
//! serialise it and dropping it again was about a sixth of a small HTTP/1.1 answer's
//! instructions. [`SharedFields`] holds the fields once, behind an `Arc`, with their
//! HTTP/1.1 lines already written; a response carries a pointer to them beside its own
//! (usually empty) map, and each connection writes them after that map: HTTP/1.1 copies
//! the lines, HTTP/2 encodes the map like the response's own.
//!
//! The fields are the answer's, not the connection's: whatever a protocol's encoder owns
//! (framing, `Connection` and its kin, `Date`, `Server`) is left out when they are made, so
//! that no encoder has to look for them again per answer.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use http::{header, HeaderMap, HeaderName};

use super::h1::response::{could_split_response, is_owned_by_encoder, write_field};
use super::h2::hpack::is_connection_specific;

/// Fields shared by many responses; cloning is one reference count, and two are the same
/// fields when they are the same allocation ([`SharedFields::same`]).
#[derive(Clone, Debug)]
pub(crate) struct SharedFields(Arc<Made>);

#[derive(Debug)]
struct Made {
    /// The fields, in the order they are sent (what HTTP/2 encodes).
    map: HeaderMap,
    /// The same fields as HTTP/1.1 lines, "name: value\r\n" each.
    h1_lines: Bytes,
}

impl SharedFields {
    /// Keeps `map`'s fields, less those no handler map may set for a connection
    /// ([`is_left_to_the_connection`]) and any value that would split an HTTP/1.1 head.
    pub(crate) fn new(map: HeaderMap) -> SharedFields {
        let mut kept = HeaderMap::with_capacity(map.len());
        let mut h1_lines = BytesMut::new();
        let mut name = None;
        for (field_name, value) in map {
            // `into_iter` names only the first value of each name.
            if let Some(field_name) = field_name {
                name = Some(field_name);
            }
            let Some(name) = name.as_ref() else { continue };
            if is_left_to_the_connection(name) || could_split_response(value.as_bytes()) {
                continue;
            }
            write_field(&mut h1_lines, name.as_str().as_bytes(), value.as_bytes());
            kept.append(name.clone(), value);
        }
        SharedFields(Arc::new(Made {
            map: kept,
            h1_lines: h1_lines.freeze(),
        }))
    }

    /// Whether `self` and `other` were made by the same [`SharedFields::new`] (so hold the
    /// same fields, without comparing them).
    pub(crate) fn same(&self, other: &SharedFields) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// The fields as a map.
    pub(crate) fn map(&self) -> &HeaderMap {
        &self.0.map
    }

    /// The fields as HTTP/1.1 header lines, each ending in CRLF.
    pub(crate) fn h1_lines(&self) -> &[u8] {
        &self.0.h1_lines
    }
}

/// Fields each connection writes itself, from the body's framing, its own state and its
/// clock: what either encoder owns or leaves out (framing, `Connection` and its kin), `TE`
/// (a request's field), `Date` and `Server`.
fn is_left_to_the_connection(name: &HeaderName) -> bool {
    is_owned_by_encoder(name)
        || is_connection_specific(name)
        || *name == header::TE
        || *name == header::DATE
        || *name == header::SERVER
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::*;

    #[test]
    fn the_lines_and_the_map_hold_the_same_fields_in_order() {
        let mut map = HeaderMap::new();
        map.insert(header::ETAG, HeaderValue::from_static("\"1\""));
        map.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        map.append(header::VARY, HeaderValue::from_static("origin"));
        map.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
        let shared = SharedFields::new(map.clone());
        assert_eq!(
            shared.h1_lines(),
            b"etag: \"1\"\r\nvary: accept-encoding\r\nvary: origin\r\ncontent-type: text/plain\r\n"
        );
        assert_eq!(shared.map(), &map);
    }

    #[test]
    fn fields_the_connection_writes_are_left_out() {
        let mut map = HeaderMap::new();
        for (name, value) in [
            ("content-length", "5"),
            ("transfer-encoding", "chunked"),
            ("connection", "close"),
            ("keep-alive", "timeout=5"),
            ("proxy-connection", "keep-alive"),
            ("upgrade", "h2c"),
            ("te", "trailers"),
            ("date", "Thu, 01 Jan 1970 00:00:00 GMT"),
            ("server", "other"),
            ("etag", "\"kept\""),
        ] {
            map.append(name, HeaderValue::from_static(value));
        }
        let shared = SharedFields::new(map);
        let names: Vec<&str> = shared.map().keys().map(HeaderName::as_str).collect();
        assert_eq!(names, ["etag"]);
        assert_eq!(shared.h1_lines(), b"etag: \"kept\"\r\n");
    }
}
