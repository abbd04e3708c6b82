//! A request's regular fields as a list, in the order they came, their bytes in one buffer.
//!
//! `http::HeaderMap` hashes every name on insertion and keeps an index beside its entries:
//! worth it for a handler that looks fields up by name many times, not for the built-in
//! resources, which ask a small head for two or three names and are done. And a
//! `HeaderValue` (or a name that is not one of HTTP's standard ones) is a shared `Bytes`:
//! taking one from where it was decoded and dropping it again costs two atomic operations,
//! which for a browser's dozen and more fields came to a sixth of a small answer's time.
//! So both protocols copy each field's name and value into one byte buffer the list owns
//! and keeps for the connection's next request, and the fields are places in it. Only a
//! handler's request gets `http`'s types, made in [`FieldList::drain_into_map`].
//!
//! The list holds bytes its producers have checked: names are lowercase tokens, values
//! are bytes a `HeaderValue` takes (see [`is_field_value_byte`]).

use std::cell::RefCell;
use std::ops::Range;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderValue};

use super::field_names::FieldNames;

/// Regular fields in arrival order; a name may repeat.
#[derive(Debug, Clone, Default)]
pub(crate) struct FieldList {
    /// Every field's name followed by its value, field after field.
    bytes: Vec<u8>,
    fields: Vec<Place>,
}

/// Where one field is in [`FieldList::bytes`]: the name is `start..name_end`, the value
/// `name_end..end`. Offsets of 32 bits: a head is at most `client_buffer_size` bytes, which
/// `Limits::validate` keeps below 4 GiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Place {
    start: u32,
    name_end: u32,
    end: u32,
}

impl Place {
    fn name(self) -> Range<usize> {
        self.start as usize..self.name_end as usize
    }

    fn value(self) -> Range<usize> {
        self.name_end as usize..self.end as usize
    }
}

/// `bytes` with their ASCII capitals made small letters, eight bytes at a time: the same as
/// `make_ascii_lowercase`, which goes byte by byte and cost a browser's HTTP/1.1 head
/// (names written `User-Agent`, `Accept-Language`...) more than a tenth of its parse.
fn make_lowercase(bytes: &mut [u8]) {
    let mut words = bytes.chunks_exact_mut(8);
    for word in &mut words {
        let mut eight = [0u8; 8];
        eight.copy_from_slice(word);
        word.copy_from_slice(&lowercase_word(u64::from_ne_bytes(eight)).to_ne_bytes());
    }
    let rest = words.into_remainder();
    let mut eight = [0u8; 8];
    eight[..rest.len()].copy_from_slice(rest);
    let lower = lowercase_word(u64::from_ne_bytes(eight)).to_ne_bytes();
    rest.copy_from_slice(&lower[..rest.len()]);
}

/// The eight bytes of `x`, each ASCII capital made a small letter (bit 0x20 set).
fn lowercase_word(x: u64) -> u64 {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Each byte's low seven bits, plus a constant that carries into its high bit when they
    // are at least 'A' (or above 'Z'); at most 0x7f + 0x3f, so no carry reaches the next
    // byte.
    let low = x & !HIGH;
    let from_a = low + ONES * u64::from(0x80 - b'A');
    let past_z = low + ONES * u64::from(0x80 - b'Z' - 1);
    // A capital: from 'A', not past 'Z', and ASCII (its own high bit clear).
    let capital = from_a & !past_z & !x & HIGH;
    x | capital >> 2
}

/// A byte a field value may hold (what `HeaderValue` takes): visible ASCII, space, tab and
/// obs-text, no other control.
pub(crate) fn is_field_value_byte(b: u8) -> bool {
    b == b'\t' || (b >= 0x20 && b != 0x7f)
}

/// A value as text when every byte of it is visible ASCII, space or tab (what
/// `HeaderValue::to_str` accepts); obs-text makes it `None`.
pub(crate) fn visible_ascii(value: &[u8]) -> Option<&str> {
    if value
        .iter()
        .all(|&b| b == b'\t' || (0x20..0x7f).contains(&b))
    {
        // ASCII only, so valid UTF-8.
        std::str::from_utf8(value).ok()
    } else {
        None
    }
}

impl FieldList {
    /// Adds a field; `name` is a lowercase token and `value` holds only
    /// [`is_field_value_byte`]s (the producer checked both). Returns its index.
    pub(crate) fn push(&mut self, name: &[u8], value: &[u8]) -> usize {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(name);
        self.bytes.extend_from_slice(value);
        self.place(start, start + name.len())
    }

    /// [`FieldList::push`] for a name as an HTTP/1.1 client may spell it (field names are
    /// case-insensitive): kept in lowercase, as HTTP/2 and `http` have them.
    pub(crate) fn push_lowercasing(&mut self, name: &[u8], value: &[u8]) -> usize {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(name);
        make_lowercase(&mut self.bytes[start..]);
        self.bytes.extend_from_slice(value);
        self.place(start, start + name.len())
    }

    /// Records the field whose name starts at `start` and whose value starts at `name_end`
    /// and runs to the end of the bytes.
    fn place(&mut self, start: usize, name_end: usize) -> usize {
        let offset = |n: usize| u32::try_from(n).expect("a request head is below 4 GiB");
        self.fields.push(Place {
            start: offset(start),
            name_end: offset(name_end),
            end: offset(self.bytes.len()),
        });
        self.fields.len() - 1
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

    /// How many bytes of names and values fit without allocating.
    pub(crate) fn byte_capacity(&self) -> usize {
        self.bytes.capacity()
    }

    /// The memory the list holds, in bytes: its room for fields and for their bytes.
    pub(crate) fn memory(&self) -> usize {
        self.fields.capacity() * std::mem::size_of::<Place>() + self.bytes.capacity()
    }

    /// Makes room for `fields` more fields and `bytes` more bytes of them, and no more: a
    /// list is kept for later requests only while its room is small, and the doubling of
    /// `Vec::reserve` (20 -> 40 for a 21st field) would make it too large to keep. Room
    /// made at once also spares the buffer's growth step by step (eight reallocations
    /// for a browser's kilobyte of fields).
    pub(crate) fn reserve(&mut self, fields: usize, bytes: usize) {
        self.fields.reserve_exact(fields);
        self.bytes.reserve_exact(bytes);
    }

    /// Bytes of names and values held.
    pub(crate) fn byte_len(&self) -> usize {
        self.bytes.len()
    }

    /// Empties the list and keeps its room.
    pub(crate) fn clear(&mut self) {
        self.fields.clear();
        self.bytes.clear();
    }

    /// The name of the `index`-th field.
    pub(crate) fn name_at(&self, index: usize) -> &[u8] {
        &self.bytes[self.fields[index].name()]
    }

    /// The value of the `index`-th field.
    pub(crate) fn value_at(&self, index: usize) -> &[u8] {
        &self.bytes[self.fields[index].value()]
    }

    /// Every value of `name` (lowercase), in order.
    pub(crate) fn get_all<'a>(&'a self, name: &'a [u8]) -> ValuesOf<'a> {
        ValuesOf {
            bytes: &self.bytes,
            rest: self.fields.iter(),
            name,
        }
    }

    pub(crate) fn contains_key(&self, name: &[u8]) -> bool {
        self.get_all(name).next().is_some()
    }

    /// Every name, once per field.
    pub(crate) fn names(&self) -> impl Iterator<Item = &[u8]> {
        self.fields.iter().map(|p| &self.bytes[p.name()])
    }

    /// Drops every field `drop` names (a connection's hop-by-hop fields). Their bytes stay
    /// until the list is cleared.
    pub(crate) fn remove_named(&mut self, drop: impl Fn(&[u8]) -> bool) {
        let bytes = &self.bytes;
        self.fields.retain(|p| !drop(&bytes[p.name()]));
    }

    /// Drops the `index`-th field. Its bytes stay until the list is cleared.
    pub(crate) fn remove_at(&mut self, index: usize) {
        self.fields.remove(index);
    }

    /// Makes the fields named `name` one field at the end of the list, their values joined
    /// with `separator` in order (HTTP/2's `cookie` crumbs, RFC 9113 8.2.3). Nothing
    /// changes when there is no such field.
    pub(crate) fn join_at_end(&mut self, name: &[u8], separator: &[u8]) {
        let mut found = self
            .fields
            .iter()
            .enumerate()
            .filter(|(_, p)| self.bytes[p.name()] == *name)
            .map(|(i, _)| i);
        let Some(first) = found.next() else {
            return;
        };
        if found.next().is_none() {
            // One field: moved, not copied.
            let place = self.fields.remove(first);
            self.fields.push(place);
            return;
        }
        let start = self.bytes.len();
        self.bytes.extend_from_slice(name);
        let name_end = self.bytes.len();
        let mut joined = 0;
        for i in 0..self.fields.len() {
            let place = self.fields[i];
            if self.bytes[place.name()] != *name {
                continue;
            }
            if joined > 0 {
                self.bytes.extend_from_slice(separator);
            }
            self.bytes.extend_from_within(place.value());
            joined += 1;
        }
        let bytes = &self.bytes;
        self.fields.retain(|p| bytes[p.name()] != *name);
        self.place(start, name_end);
    }

    /// The fields moved into a map (as a handler gets them); the list is left empty with its
    /// room, for a later request. The values share one copy of the list's bytes.
    pub(crate) fn drain_into_map(&mut self) -> HeaderMap {
        let mut map = HeaderMap::with_capacity(self.fields.len());
        let shared = Bytes::copy_from_slice(&self.bytes);
        HANDLER_NAMES.with_borrow_mut(|names| {
            for (at, place) in self.fields.iter().enumerate() {
                // Checked when the list was made (a lowercase token, and value bytes a
                // HeaderValue takes), so neither is refused here.
                let name = names.name(at, &self.bytes[place.name()]);
                let value = HeaderValue::from_maybe_shared(shared.slice(place.value()));
                match (name, value) {
                    (Ok(name), Ok(value)) => {
                        map.append(name, value);
                    }
                    _ => debug_assert!(false, "a field list holds a field http refuses"),
                }
            }
        });
        self.clear();
        map
    }
}

thread_local! {
    /// The names of the last handler request's fields made on this thread, for the next
    /// one's (see [`FieldNames`]): per thread rather than per connection, so that an idle
    /// connection holds none.
    static HANDLER_NAMES: RefCell<FieldNames> = RefCell::new(FieldNames::default());
}

/// Two lists are equal when they hold the same fields in the same order, whatever bytes
/// of removed fields either still holds.
impl PartialEq for FieldList {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self.fields.iter().zip(&other.fields).all(|(a, b)| {
                self.bytes[a.name()] == other.bytes[b.name()]
                    && self.bytes[a.value()] == other.bytes[b.value()]
            })
    }
}

impl Eq for FieldList {}

/// The values of one name in a [`FieldList`], in order.
#[derive(Debug, Clone)]
pub(crate) struct ValuesOf<'a> {
    bytes: &'a [u8],
    rest: std::slice::Iter<'a, Place>,
    name: &'a [u8],
}

impl<'a> Iterator for ValuesOf<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let (bytes, name) = (self.bytes, self.name);
        self.rest
            .find(|p| bytes[p.name()] == *name)
            .map(|p| &bytes[p.value()])
    }
}

/// `head.headers["host"]` in tests, as with a map (any case): the first value, as text;
/// panics when the field is absent.
#[cfg(test)]
impl std::ops::Index<&str> for FieldList {
    type Output = str;

    fn index(&self, name: &str) -> &str {
        match self.values_of(name).first() {
            Some(value) => value,
            None => panic!("no field {name}"),
        }
    }
}

#[cfg(test)]
impl FieldList {
    pub(crate) fn with_capacity(n: usize) -> Self {
        Self::with_room(n, 0)
    }

    /// An empty list with room for `fields` fields and `bytes` bytes of them.
    pub(crate) fn with_room(fields: usize, bytes: usize) -> Self {
        FieldList {
            bytes: Vec::with_capacity(bytes),
            fields: Vec::with_capacity(fields),
        }
    }

    /// Every field as (name, value), in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.fields
            .iter()
            .map(|p| (&self.bytes[p.name()], &self.bytes[p.value()]))
    }

    /// A list of `(name, value)` pairs as tests write them (names in any case).
    pub(crate) fn of(fields: &[(&str, &str)]) -> Self {
        let mut list = FieldList::default();
        for (name, value) in fields {
            list.push_lowercasing(name.as_bytes(), value.as_bytes());
        }
        list
    }

    /// Every value of `name` (any case), as text, in order.
    pub(crate) fn values_of(&self, name: &str) -> Vec<&str> {
        self.iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| std::str::from_utf8(v).expect("a test's field value is text"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::header;

    #[test]
    fn looks_up_every_value_in_order() {
        let l = FieldList::of(&[("accept", "a"), ("X-One", "1"), ("accept", "b")]);
        let accept: Vec<_> = l.get_all(b"accept").collect();
        assert_eq!(accept, [b"a", b"b"]);
        assert!(l.contains_key(b"x-one"), "names are kept in lowercase");
        assert!(!l.contains_key(b"range"));
        assert!(
            !l.contains_key(b"accep"),
            "a prefix of a name is not the name"
        );
        assert_eq!(l.get_all(b"range").count(), 0);
        let names: Vec<_> = l.names().collect();
        assert_eq!(names, [&b"accept"[..], b"x-one", b"accept"]);
        assert_eq!((l.name_at(1), l.value_at(1)), (&b"x-one"[..], &b"1"[..]));
    }

    /// A map made from the list holds the same fields, repeats in order; the list keeps its
    /// room for the next request.
    #[test]
    fn drains_into_a_map_and_keeps_its_room() {
        let mut l = FieldList::of(&[
            ("accept", "a"),
            ("host", "h"),
            ("x-trace", "t"),
            ("accept", "b"),
        ]);
        let room = (l.capacity(), l.byte_capacity());
        let map = l.drain_into_map();
        assert_eq!(map.len(), 4);
        let accept: Vec<_> = map.get_all(header::ACCEPT).iter().collect();
        assert_eq!(accept, ["a", "b"]);
        assert_eq!(map[header::HOST], "h");
        assert_eq!(map["x-trace"], "t");
        assert!(l.is_empty());
        assert_eq!((l.capacity(), l.byte_capacity()), room);
        // Refilled, it holds only the new fields.
        l.push(b"range", b"bytes=0-1");
        assert_eq!(
            l.iter().collect::<Vec<_>>(),
            [(&b"range"[..], &b"bytes=0-1"[..])]
        );
    }

    #[test]
    fn removes_fields_by_name() {
        let mut l = FieldList::of(&[("connection", "x"), ("accept", "a"), ("upgrade", "u")]);
        l.remove_named(|n| n == b"connection" || n == b"upgrade");
        assert_eq!(l.iter().collect::<Vec<_>>(), [(&b"accept"[..], &b"a"[..])]);
    }

    /// Repeats are joined in order at the end; a lone field is moved there as it is.
    #[test]
    fn joins_repeats_at_the_end() {
        let mut l = FieldList::of(&[("cookie", "a=1"), ("accept", "x"), ("cookie", "b=2")]);
        l.join_at_end(b"cookie", b"; ");
        assert_eq!(
            l.iter().collect::<Vec<_>>(),
            [(&b"accept"[..], &b"x"[..]), (b"cookie", b"a=1; b=2")]
        );
        let mut l = FieldList::of(&[("cookie", "a=1"), ("accept", "x")]);
        l.join_at_end(b"cookie", b"; ");
        assert_eq!(l.values_of("cookie"), ["a=1"]);
        assert_eq!(l.name_at(1), b"cookie");
        let mut l = FieldList::of(&[("accept", "x")]);
        l.join_at_end(b"cookie", b"; ");
        assert_eq!(l.len(), 1);
    }

    /// Room made for one field more than a kept list holds grows it by that much, not to
    /// twice its size.
    #[test]
    fn grows_by_what_is_asked() {
        let mut l = FieldList::with_capacity(20);
        l.reserve(21, 1000);
        assert!((21..24).contains(&l.capacity()), "{}", l.capacity());
        assert!(
            (1000..1100).contains(&l.byte_capacity()),
            "{}",
            l.byte_capacity()
        );
    }

    /// Eight at a time, bytes are lowercased as `make_ascii_lowercase` does, every byte
    /// value at every place of a word and of a short tail.
    #[test]
    fn lowercases_as_std_does() {
        for len in [1, 5, 8, 13, 16] {
            for at in 0..len {
                for b in 0..=255u8 {
                    let mut bytes: Vec<u8> = (0..len).map(|i| b"Xy-Z@[`{"[i % 8]).collect();
                    bytes[at] = b;
                    let mut expected = bytes.clone();
                    expected.make_ascii_lowercase();
                    make_lowercase(&mut bytes);
                    assert_eq!(bytes, expected, "byte {b:#x} at {at} of {len}");
                }
            }
        }
    }

    #[test]
    fn value_bytes_and_text() {
        for b in 0..=255u8 {
            let takes = HeaderValue::from_bytes(&[b'a', b]).is_ok();
            assert_eq!(is_field_value_byte(b), takes, "byte {b:#x}");
            let text = HeaderValue::from_bytes(&[b'a', b]).map(|v| v.to_str().is_ok());
            if let Ok(text) = text {
                assert_eq!(visible_ascii(&[b'a', b]).is_some(), text, "byte {b:#x}");
            }
        }
    }
}
