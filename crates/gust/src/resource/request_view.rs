//! What the built-in resources read of a request, borrowed from wherever it lies.
//!
//! A handler gets an [`http::Request`], whose URI is parsed and whose parts are moved into
//! place; the static and file resources read only the method, the path, the query and a
//! few fields. Building the request for them cost more than a tenth of a small HTTP/2
//! answer (the URI parsed and dropped, the parts moved), so dispatch lends them this view
//! of the head it already holds instead.

use http::header::{HeaderName, HeaderValue, ValueIter};
use http::{HeaderMap, Method};

use crate::proto::field_list::{FieldList, ValuesOf};

/// A request's head as the built-in resources read it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestView<'a> {
    pub(crate) method: &'a Method,
    /// The path as a URI holds it (percent-encoded where it must be), without the query.
    pub(crate) path: &'a str,
    /// What follows the first `?` of the target, if anything does.
    pub(crate) query: Option<&'a str>,
    pub(crate) headers: Fields<'a>,
}

/// A request's regular fields, as its protocol collected them: HTTP/1.1 into a map,
/// HTTP/2 into a list.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Fields<'a> {
    Map(&'a HeaderMap),
    List(&'a FieldList),
}

impl<'a> Fields<'a> {
    /// Every value of `name`, in order.
    pub(crate) fn get_all(self, name: &HeaderName) -> FieldValues<'a> {
        match self {
            Fields::Map(map) => FieldValues::Map(map.get_all(name).iter()),
            Fields::List(list) => FieldValues::List(list.get_all(name)),
        }
    }

    pub(crate) fn contains_key(self, name: &HeaderName) -> bool {
        match self {
            Fields::Map(map) => map.contains_key(name),
            Fields::List(list) => list.contains_key(name),
        }
    }

    /// Whether any field's name satisfies `pred`.
    pub(crate) fn any_name(self, mut pred: impl FnMut(&HeaderName) -> bool) -> bool {
        match self {
            Fields::Map(map) => map.keys().any(&mut pred),
            Fields::List(list) => list.names().any(&mut pred),
        }
    }
}

/// The values of one name in [`Fields`].
pub(crate) enum FieldValues<'a> {
    Map(ValueIter<'a, HeaderValue>),
    List(ValuesOf<'a>),
}

impl<'a> Iterator for FieldValues<'a> {
    type Item = &'a HeaderValue;

    fn next(&mut self) -> Option<&'a HeaderValue> {
        match self {
            FieldValues::Map(values) => values.next(),
            FieldValues::List(values) => values.next(),
        }
    }
}

impl<'a> RequestView<'a> {
    /// The view of a request whose head was built already, as tests build them.
    #[cfg(test)]
    pub(crate) fn of(parts: &'a http::request::Parts) -> Self {
        RequestView {
            method: &parts.method,
            path: parts.uri.path(),
            query: parts.uri.query(),
            headers: Fields::Map(&parts.headers),
        }
    }
}

/// Whether `http`'s URI parser accepts `query` (the part after `?`) of a target whose path
/// it accepts, for targets as both protocols admit them: visible ASCII without `#`. It
/// refuses `"`, `<` and `>` there (the WHATWG query set); dispatch answers 400 to them
/// whether or not a URI is built, so a request's fate does not depend on its resource.
pub(crate) fn query_fits_uri(query: &str) -> bool {
    !query.bytes().any(|b| matches!(b, b'"' | b'<' | b'>'))
}

/// Targets longer than this are refused by `http`'s URI parser (its `MAX_LEN`).
pub(crate) const URI_MAX_LEN: usize = u16::MAX as usize - 1;

/// `parts.view()`: how tests, which build requests with `http`'s builder, lend them.
#[cfg(test)]
pub(crate) trait ViewOfParts {
    fn view(&self) -> RequestView<'_>;
}

#[cfg(test)]
impl ViewOfParts for http::request::Parts {
    fn view(&self) -> RequestView<'_> {
        RequestView::of(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The view of a built request reads what the URI holds.
    #[test]
    fn view_of_parts() {
        let (parts, ()) = http::Request::builder()
            .method(Method::HEAD)
            .uri("/a%20b/c?x=1&y")
            .header("accept", "*/*")
            .body(())
            .unwrap()
            .into_parts();
        let view = RequestView::of(&parts);
        assert_eq!(*view.method, Method::HEAD);
        assert_eq!(view.path, "/a%20b/c");
        assert_eq!(view.query, Some("x=1&y"));
        let accept: Vec<_> = view.headers.get_all(&http::header::ACCEPT).collect();
        assert_eq!(accept, ["*/*"]);
    }

    proptest! {
        /// For a URI-ready path and any query of visible ASCII without `#` (all that the
        /// HTTP/1.1 and HTTP/2 parsers let through), the check agrees with the URI parser.
        #[test]
        fn query_check_agrees_with_the_uri_parser(
            query in proptest::collection::vec(0x21u8..=0x7e, 0..24)
        ) {
            let query: String = query
                .into_iter()
                .map(|b| if b == b'#' { 'x' } else { char::from(b) })
                .collect();
            let target = format!("/p/q.txt?{query}");
            let parsed = target.parse::<http::Uri>();
            prop_assert_eq!(query_fits_uri(&query), parsed.is_ok(), "{}", target);
            if let Ok(uri) = parsed {
                prop_assert_eq!(uri.query(), Some(query.as_str()));
            }
        }
    }

    #[test]
    fn quotes_and_angle_brackets_are_refused() {
        for q in ["a\"b", "<", "x>"] {
            assert!(!query_fits_uri(q), "{q}");
            assert!(format!("/?{q}").parse::<http::Uri>().is_err(), "{q}");
        }
        assert!(query_fits_uri("a=1&b={}|^`~?/"));
    }
}
