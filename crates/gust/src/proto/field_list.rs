//! A request's regular fields as a list, in the order they came.
//!
//! `http::HeaderMap` hashes every name on insertion and keeps an index beside its entries:
//! worth it for a handler that looks fields up by name many times, not for the built-in
//! resources, which ask a small head for two or three names and are done. Both protocols
//! collect a request's fields here (a push each); a handler's request gets them moved into
//! a map.

use http::header::{HeaderMap, HeaderName, HeaderValue};

/// Regular fields in arrival order; a name may repeat.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FieldList {
    fields: Vec<(HeaderName, HeaderValue)>,
}

impl FieldList {
    pub(crate) fn push(&mut self, name: HeaderName, value: HeaderValue) {
        self.fields.push((name, value));
    }

    /// How many fields (every repeat counted).
    pub(crate) fn len(&self) -> usize {
        self.fields.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// How many fields fit without allocating.
    pub(crate) fn capacity(&self) -> usize {
        self.fields.capacity()
    }

    /// Makes room for `additional` more fields, and no more: a list is kept for later
    /// requests only while its room is small, and the doubling of `Vec::reserve` (20 ->
    /// 40 for a 21st field) would make it too large to keep.
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.fields.reserve_exact(additional);
    }

    /// Empties the list and keeps its room.
    pub(crate) fn clear(&mut self) {
        self.fields.clear();
    }

    /// Every value of `name`, in order. (The iterator holds a copy of the name, as a
    /// map's holds its position: for a standard name, a tag.)
    pub(crate) fn get_all(&self, name: &HeaderName) -> ValuesOf<'_> {
        ValuesOf {
            rest: self.fields.iter(),
            name: name.clone(),
        }
    }

    pub(crate) fn contains_key(&self, name: &HeaderName) -> bool {
        self.fields.iter().any(|(n, _)| n == name)
    }

    /// Every name, once per field.
    pub(crate) fn names(&self) -> impl Iterator<Item = &HeaderName> {
        self.fields.iter().map(|(n, _)| n)
    }

    /// Drops every field `drop` names (a connection's hop-by-hop fields).
    pub(crate) fn remove_named(&mut self, drop: impl Fn(&HeaderName) -> bool) {
        self.fields.retain(|(n, _)| !drop(n));
    }

    /// The fields moved into a map (as a handler gets them); the list is left empty with its
    /// room, for a later request.
    pub(crate) fn drain_into_map(&mut self) -> HeaderMap {
        let mut map = HeaderMap::with_capacity(self.fields.len());
        for (name, value) in self.fields.drain(..) {
            map.append(name, value);
        }
        map
    }
}

/// The values of one name in a [`FieldList`], in order.
#[derive(Debug, Clone)]
pub(crate) struct ValuesOf<'a> {
    rest: std::slice::Iter<'a, (HeaderName, HeaderValue)>,
    name: HeaderName,
}

impl<'a> Iterator for ValuesOf<'a> {
    type Item = &'a HeaderValue;

    fn next(&mut self) -> Option<&'a HeaderValue> {
        let name = &self.name;
        self.rest.find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

/// `head.headers["host"]` in tests, as with a map (any case): panics when the field is
/// absent.
#[cfg(test)]
impl std::ops::Index<&str> for FieldList {
    type Output = HeaderValue;

    fn index(&self, name: &str) -> &HeaderValue {
        self.fields
            .iter()
            .find(|(n, _)| n.as_str().eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
            .unwrap_or_else(|| panic!("no field {name}"))
    }
}

#[cfg(test)]
impl<'a> IntoIterator for &'a FieldList {
    type Item = &'a (HeaderName, HeaderValue);
    type IntoIter = std::slice::Iter<'a, (HeaderName, HeaderValue)>;

    fn into_iter(self) -> Self::IntoIter {
        self.fields.iter()
    }
}

#[cfg(test)]
impl FieldList {
    pub(crate) fn with_capacity(n: usize) -> Self {
        FieldList {
            fields: Vec::with_capacity(n),
        }
    }

    /// Every value of `name` (a string, any case, as a map takes it), in order.
    pub(crate) fn values_of(&self, name: &str) -> Vec<&HeaderValue> {
        self.fields
            .iter()
            .filter(|(n, _)| n.as_str().eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header;

    fn list(fields: &[(&'static str, &'static str)]) -> FieldList {
        let mut list = FieldList::default();
        for (n, v) in fields {
            list.push(HeaderName::from_static(n), HeaderValue::from_static(v));
        }
        list
    }

    #[test]
    fn looks_up_every_value_in_order() {
        let l = list(&[("accept", "a"), ("x-one", "1"), ("accept", "b")]);
        let accept: Vec<_> = l.get_all(&header::ACCEPT).collect();
        assert_eq!(accept, ["a", "b"]);
        assert!(l.contains_key(&HeaderName::from_static("x-one")));
        assert!(!l.contains_key(&header::RANGE));
        assert_eq!(l.get_all(&header::RANGE).count(), 0);
        let names: Vec<_> = l.names().map(HeaderName::as_str).collect();
        assert_eq!(names, ["accept", "x-one", "accept"]);
    }

    /// A map made from the list holds the same fields, repeats in order; the list keeps its
    /// room for the next request.
    #[test]
    fn drains_into_a_map_and_keeps_its_room() {
        let mut l = list(&[("accept", "a"), ("host", "h"), ("accept", "b")]);
        let room = l.capacity();
        let map = l.drain_into_map();
        assert_eq!(map.len(), 3);
        let accept: Vec<_> = map.get_all(header::ACCEPT).iter().collect();
        assert_eq!(accept, ["a", "b"]);
        assert_eq!(map[header::HOST], "h");
        assert!(l.is_empty());
        assert_eq!(l.capacity(), room);
    }

    /// Room made for one field more than a kept list holds grows it by that much, not to
    /// twice its size.
    #[test]
    fn grows_by_what_is_asked() {
        let mut l = FieldList::with_capacity(20);
        l.reserve(21);
        assert!((21..24).contains(&l.capacity()), "{}", l.capacity());
    }
}
