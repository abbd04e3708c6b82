//! Path normalisation and routing of arbitrary request targets.

use percent_encoding::utf8_percent_encode;

use super::Input;
use crate::body::Body;
use crate::resource::path::{normalize, PATH_UNSAFE};
use crate::resource::router::Router;
use crate::resource::{glob, Request, Resource, Response};

/// Resource paths read from one input.
const MAX_RESOURCES: usize = 8;

async fn page(_: Request) -> Response {
    Response::new(Body::empty())
}

/// A request target normalised and routed against a table of exact and wildcard
/// resources, all taken from the input.
///
/// Layout: a byte whose bit 0 makes the request a WebSocket opening, a byte whose bit `i`
/// makes resource `i` a WebSocket endpoint, then lines: up to eight resource paths, and
/// the request target last.
///
/// Checks: a normalised path starts with `/`, has no `.` or `..` segment nor NUL, is no
/// longer than the raw path and reports no encoded slash when there was no `%`; encoded
/// again the way the dispatcher hands it to handlers, it is a valid URI path that
/// normalises to itself. The route is the exact resource if there is one, else the first
/// matching pattern in insertion order, else none; a pattern's literal prefix is a prefix
/// of the path, and the route's `prefix_len` is its length. A path matched by a pattern
/// without wildcards is that path or below it.
pub fn router_path(data: &[u8]) {
    let mut input = Input::new(data);
    let websocket = input.byte() & 1 != 0;
    let ws_resources = input.byte();
    let Ok(text) = std::str::from_utf8(input.rest()) else {
        return;
    };
    let mut lines: Vec<&str> = text.split('\n').collect();
    let target = lines.pop().unwrap_or("");
    let mut router = Router::default();
    let mut added: Vec<(&str, bool)> = Vec::new();
    for (i, path) in lines.into_iter().take(MAX_RESOURCES).enumerate() {
        let ws = ws_resources >> i & 1 != 0;
        let resource = if ws {
            Resource::websocket(path, |_: crate::ws::WebSocket| async {})
        } else {
            Resource::dynamic(path, page)
        };
        if router.add(resource).is_ok() {
            added.push((path, ws));
        }
    }

    let raw_path = target.split_once('?').map_or(target, |(p, _)| p);
    for (pattern, _) in &added {
        check_glob(pattern, raw_path);
    }
    let Ok(normalized) = normalize(raw_path) else {
        return;
    };
    let path = &*normalized.path;
    assert!(path.starts_with('/'));
    assert!(
        !path.split('/').any(|s| s == "." || s == ".."),
        "dot segment left in {path:?}"
    );
    assert!(!path.contains('\0'));
    assert!(
        path.len() <= raw_path.len(),
        "{raw_path:?} grew to {path:?}"
    );
    if !raw_path.contains('%') {
        assert!(!normalized.had_encoded_slash);
    }
    let encoded = utf8_percent_encode(path, PATH_UNSAFE).to_string();
    if normalized.uri_ready {
        assert_eq!(encoded, raw_path, "a path taken as it is needed encoding");
    }
    assert!(
        encoded.parse::<http::Uri>().is_ok(),
        "handlers would get a bad URI for {path:?}: {encoded:?}"
    );
    let again = normalize(&encoded).map(|n| n.path);
    assert_eq!(again.as_deref(), Ok(path), "normalising is not idempotent");

    for (pattern, _) in &added {
        check_glob(pattern, path);
    }
    check_route(&router, &added, path, websocket);
}

/// The promises of one `glob::matches` call beyond not panicking.
fn check_glob(pattern: &str, path: &str) {
    let matched = glob::matches(pattern, path);
    let prefix = glob::literal_prefix(pattern);
    assert!(pattern.starts_with(prefix));
    if !matched {
        return;
    }
    assert!(
        path.starts_with(prefix),
        "{pattern:?} matched {path:?} without its prefix"
    );
    if !glob::is_pattern(pattern) {
        let below = path
            .strip_prefix(pattern)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'));
        assert!(below, "literal {pattern:?} matched {path:?}");
    }
}

/// The route is the one the rules promise: exact first, then patterns in order.
fn check_route(router: &Router, added: &[(&str, bool)], path: &str, websocket: bool) {
    let same_kind = added.iter().filter(|(_, ws)| *ws == websocket);
    let exact = same_kind
        .clone()
        .find(|(p, _)| !glob::is_pattern(p) && *p == path);
    let pattern = same_kind
        .clone()
        .find(|(p, _)| glob::is_pattern(p) && glob::matches(p, path));
    let expected = exact.or(pattern).map(|(p, _)| *p);
    let route = router.route(path, websocket);
    assert_eq!(route.as_ref().map(|r| &*r.resource.path), expected);
    let Some(route) = route else {
        return;
    };
    assert_eq!(route.resource.is_websocket(), websocket);
    assert_eq!(route.info.pattern.as_deref(), expected);
    if exact.is_some() {
        assert_eq!(route.info.prefix_len, 0);
    } else {
        let prefix = glob::literal_prefix(&route.resource.path);
        assert_eq!(route.info.prefix_len, prefix.len());
        assert!(path.starts_with(prefix));
        assert!(path.is_char_boundary(route.info.prefix_len));
    }
}
