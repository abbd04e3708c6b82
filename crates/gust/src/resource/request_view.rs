//! What the built-in resources read of a request, borrowed from wherever it lies.
//!
//! A handler gets an [`http::Request`], whose URI is parsed and whose parts are moved into
//! place; the static and file resources read only the method, the path, the query and a
//! few fields. Building the request for them cost more than a tenth of a small HTTP/2
//! answer (the URI parsed and dropped, the parts moved), so dispatch lends them this view
//! of the head it already holds instead.

use http::Method;

use crate::proto::field_list::FieldList;

/// A request's head as the built-in resources read it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RequestView<'a> {
    pub(crate) method: &'a Method,
    /// The path as a URI holds it (percent-encoded where it must be), without the query.
    pub(crate) path: &'a str,
    /// What follows the first `?` of the target, if anything does.
    pub(crate) query: Option<&'a str>,
    pub(crate) headers: &'a FieldList,
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

/// A request as tests build it: `TestRequest::new(Method::GET, "/x?y", &[("range", "bytes=0-1")])`,
/// then `.view()`.
#[cfg(test)]
pub(crate) struct TestRequest {
    method: Method,
    target: String,
    headers: FieldList,
}

#[cfg(test)]
impl TestRequest {
    pub(crate) fn new(method: Method, target: &str, headers: &[(&str, &str)]) -> Self {
        TestRequest {
            method,
            target: target.to_owned(),
            headers: FieldList::of(headers),
        }
    }

    pub(crate) fn view(&self) -> RequestView<'_> {
        let (path, query) = match self.target.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (self.target.as_str(), None),
        };
        RequestView {
            method: &self.method,
            path,
            query,
            headers: &self.headers,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A test request's view splits its target at the first `?`.
    #[test]
    fn test_request_view() {
        let request = TestRequest::new(Method::HEAD, "/a%20b/c?x=1&y?z", &[("accept", "*/*")]);
        let view = request.view();
        assert_eq!(*view.method, Method::HEAD);
        assert_eq!(view.path, "/a%20b/c");
        assert_eq!(view.query, Some("x=1&y?z"));
        let accept: Vec<_> = view.headers.get_all(b"accept").collect();
        assert_eq!(accept, [b"*/*"]);
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

    /// The length dispatch allows is the most the URI parser takes, path and query alike.
    #[test]
    fn the_longest_target_allowed_makes_a_uri() {
        let longest = format!("/{}", "a".repeat(URI_MAX_LEN - 1));
        assert!(http::Uri::try_from(longest.as_str()).is_ok());
        assert!(http::Uri::try_from(format!("{longest}b").as_str()).is_err());
        let with_query = format!("/?{}", "q".repeat(URI_MAX_LEN - 2));
        assert!(http::Uri::try_from(with_query.as_str()).is_ok());
        assert!(http::Uri::try_from(format!("{with_query}q").as_str()).is_err());
    }
}
