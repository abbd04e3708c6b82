//! Picks the resource for a request path: exact paths first, then patterns in the order they
//! were added, then the service's fallback.
//!
//! WebSocket upgrade requests consider only WebSocket resources and every other request skips
//! them, so one path (the sample's `/`) can carry both a page and a socket.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;

use super::path::PathHasher;
use super::{glob, Resource, RouteInfo};
use crate::config::ConfigError;

/// A service's resource table, immutable once built.
#[derive(Debug, Default)]
pub(crate) struct Router {
    resources: Vec<Resource>,
    /// Exact path -> indices in `resources`: [page, websocket]. Keyed by `str` so a lookup
    /// borrows the request path instead of allocating; hashed unkeyed, the keys being the
    /// service's own.
    exact: HashMap<Box<str>, [Option<usize>; 2], BuildHasherDefault<PathHasher>>,
    /// Indices of pattern resources, in insertion order.
    patterns: Vec<usize>,
    fallback: Option<Resource>,
}

/// A routing decision.
#[derive(Debug)]
pub(crate) struct Route<'a> {
    pub(crate) resource: &'a Resource,
    pub(crate) info: RouteInfo,
}

impl Router {
    /// Adds a resource. Two resources on the same path (of the same websocket-ness) are a
    /// configuration error: dispatch by method inside one handler instead.
    pub(crate) fn add(&mut self, resource: Resource) -> Result<(), ConfigError> {
        if !resource.path.starts_with('/') {
            return Err(ConfigError::new(
                "resource path",
                format!("{:?} must start with '/'", resource.path),
            ));
        }
        let index = self.resources.len();
        if glob::is_pattern(&resource.path) {
            if self.patterns.iter().any(|&i| {
                let r = &self.resources[i];
                r.path == resource.path && r.is_websocket() == resource.is_websocket()
            }) {
                return Err(duplicate(&resource));
            }
            self.patterns.push(index);
        } else {
            let slots = self.exact.entry(Box::from(&*resource.path)).or_default();
            let slot = &mut slots[usize::from(resource.is_websocket())];
            if slot.is_some() {
                return Err(duplicate(&resource));
            }
            *slot = Some(index);
        }
        self.resources.push(resource);
        Ok(())
    }

    pub(crate) fn set_fallback(&mut self, resource: Resource) {
        self.fallback = Some(resource);
    }

    /// The resource for a normalised `path` (no query).
    pub(crate) fn route(&self, path: &str, websocket: bool) -> Option<Route<'_>> {
        if let Some(i) = self
            .exact
            .get(path)
            .and_then(|slots| slots[usize::from(websocket)])
        {
            let resource = &self.resources[i];
            let info = RouteInfo {
                pattern: Some(resource.path.clone()),
                prefix_len: 0,
            };
            return Some(Route { resource, info });
        }
        for &i in &self.patterns {
            let resource = &self.resources[i];
            if resource.is_websocket() == websocket && glob::matches(&resource.path, path) {
                let prefix_len = glob::literal_prefix(&resource.path).len();
                let info = RouteInfo {
                    pattern: Some(resource.path.clone()),
                    prefix_len,
                };
                return Some(Route { resource, info });
            }
        }
        match &self.fallback {
            Some(resource) if resource.is_websocket() == websocket => Some(Route {
                resource,
                info: RouteInfo {
                    pattern: None,
                    prefix_len: 0,
                },
            }),
            _ => None,
        }
    }
}

fn duplicate(resource: &Resource) -> ConfigError {
    ConfigError::new(
        "resource path",
        format!(
            "two resources on {:?}: dispatch by method inside one handler",
            resource.path
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::body::Body;
    use crate::resource::{Request, Response};

    async fn ok(_: Request) -> Response {
        Response::new(Body::empty())
    }

    fn router(paths: &[&str]) -> Router {
        let mut r = Router::default();
        for p in paths {
            r.add(Resource::dynamic(p, ok)).unwrap();
        }
        r
    }

    #[test]
    fn exact_beats_pattern_regardless_of_order() {
        let r = router(&["/foo1.htm*", "/foo1.html"]);
        let route = r.route("/foo1.html", false).unwrap();
        assert_eq!(&*route.resource.path, "/foo1.html");
        assert_eq!(
            &*r.route("/foo1.htmx", false).unwrap().resource.path,
            "/foo1.htm*"
        );
    }

    #[test]
    fn patterns_in_insertion_order_with_prefix() {
        let r = router(&["/files/*", "/*"]);
        let route = r.route("/files/a/b.txt", false).unwrap();
        assert_eq!(&*route.resource.path, "/files/*");
        assert_eq!(route.info.prefix_len, "/files".len());
        assert_eq!(&*r.route("/other", false).unwrap().resource.path, "/*");
    }

    #[test]
    fn fallback_and_not_found() {
        let mut r = router(&["/a"]);
        assert!(r.route("/b", false).is_none());
        r.set_fallback(Resource::dynamic("/", ok));
        let route = r.route("/b", false).unwrap();
        assert_eq!(route.info.pattern, None);
    }

    #[test]
    fn websocket_shares_a_path_with_a_page() {
        let mut r = router(&["/"]);
        r.add(Resource::websocket("/", |_: crate::ws::WebSocket| async {}))
            .unwrap();
        assert!(r.route("/", true).unwrap().resource.is_websocket());
        assert!(!r.route("/", false).unwrap().resource.is_websocket());
        assert!(r.route("/x", true).is_none());
    }

    #[test]
    fn duplicates_and_relative_paths_are_refused() {
        let mut r = router(&["/a"]);
        assert!(r.add(Resource::dynamic("/a", ok)).is_err());
        assert!(r.add(Resource::dynamic("a", ok)).is_err());
    }
}
