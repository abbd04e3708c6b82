//! Small files kept in memory between requests, for a bounded time and a bounded size.
//!
//! Even one blocking call per request (see [`super::lookup`]) is two thread switches, more
//! than the rest of a small file's answer costs. A file that fits in one body chunk is
//! therefore kept, bytes and validators, once a request has read it; later requests for the
//! same path (and the same accepted codings) are answered from memory without touching the
//! file system, for [`FileCache`]'s `validity` (1 s by default). After that the next request
//! walks the file system again and refreshes the entry, so a changed file is served within
//! `validity` of the change; nginx's `open_file_cache_valid` makes the same trade.
//!
//! The memory is bounded by `max_bytes`, which counts each entry's bytes, its key and a
//! fixed overhead. When an entry would not fit, the whole cache is emptied first: that is
//! O(1) per insertion over time, needs no bookkeeping per hit, and a client asking for many
//! different files cannot make it cost more than `max_bytes`. Only files found are kept:
//! requests for missing paths never fill it.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;

use super::FileHeaders;
use crate::resource::encoding::Coding;
use crate::resource::path::PathHasher;

/// What one entry costs besides its bytes and key: the map slot, the entry, its fields (a
/// `HeaderMap` of six), allocations.
const ENTRY_OVERHEAD: usize = 512;

/// Which request a cached answer is for. The path is the request's own (relative to the
/// resource, already normalised), so a hit is found before any file-system path is built
/// and without allocating; only paths whose look-up found a file are ever stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Key<'a> {
    /// The normalised request path with the resource's prefix removed.
    pub(super) relative: &'a str,
    /// The request path ended in `/`.
    pub(super) wants_directory: bool,
    /// The precompressed codings the client accepts (a bit per coding): clients that accept
    /// different ones may be answered with different files.
    pub(super) accepted: u8,
}

impl Key<'_> {
    /// What tells apart the answers kept for one path.
    fn variant(&self) -> (bool, u8) {
        (self.wants_directory, self.accepted)
    }
}

/// A file as served: its bytes, what its validators are made of, and its header values.
#[derive(Clone, Debug)]
pub(super) struct CachedFile {
    pub(super) content: Bytes,
    pub(super) modified: Option<SystemTime>,
    pub(super) coding: Coding,
    pub(super) headers: FileHeaders,
}

/// The cache of one [`super::FsResource`] (shared by its clones).
#[derive(Debug)]
pub(super) struct FileCache {
    max_bytes: usize,
    validity: Duration,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// By request path, the answers kept for it (one per [`Key::variant`]; rarely more
    /// than one).
    /// Hashed with [`PathHasher`], unkeyed: only paths that found a file are stored, and at
    /// most `max_bytes / 512` of them, so no client can fill the map with colliding keys
    /// beyond that bound.
    entries: HashMap<Box<str>, Vec<Kept>, BuildHasherDefault<PathHasher>>,
    /// The sum of [`cost`] over the entries.
    bytes: usize,
}

#[derive(Debug)]
struct Kept {
    variant: (bool, u8),
    file: CachedFile,
    stored: Instant,
}

fn cost(relative: &str, file: &CachedFile) -> usize {
    file.content
        .len()
        .saturating_add(relative.len())
        .saturating_add(ENTRY_OVERHEAD)
}

impl FileCache {
    /// A cache of at most `max_bytes` whose entries are trusted for `validity`. Either at
    /// zero turns it off.
    pub(super) fn new(max_bytes: usize, validity: Duration) -> FileCache {
        FileCache {
            max_bytes,
            validity,
            state: Mutex::new(State::default()),
        }
    }

    /// A new, empty cache with the same limits.
    pub(super) fn empty_like(&self) -> FileCache {
        FileCache::new(self.max_bytes, self.validity)
    }

    fn enabled(&self) -> bool {
        self.max_bytes > 0 && !self.validity.is_zero()
    }

    /// The entry for `key`, if it was stored less than `validity` before `now`.
    pub(super) fn get(&self, key: &Key<'_>, now: Instant) -> Option<CachedFile> {
        if !self.enabled() {
            return None;
        }
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let kept = state
            .entries
            .get(key.relative)?
            .iter()
            .find(|k| k.variant == key.variant())?;
        (now.saturating_duration_since(kept.stored) < self.validity).then(|| kept.file.clone())
    }

    /// Stores `file` for `key` as of `now`, replacing what was there.
    pub(super) fn put(&self, key: &Key<'_>, file: CachedFile, now: Instant) {
        if !self.enabled() {
            return;
        }
        let cost = cost(key.relative, &file);
        if cost > self.max_bytes {
            return;
        }
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let replaced = state.entries.get_mut(key.relative).and_then(|kept| {
            let at = kept.iter().position(|k| k.variant == key.variant())?;
            Some(kept.swap_remove(at))
        });
        if let Some(old) = replaced {
            state.bytes -= self::cost(key.relative, &old.file);
        }
        if state.bytes + cost > self.max_bytes {
            state.entries.clear();
            state.bytes = 0;
        }
        state.bytes += cost;
        let kept = Kept {
            variant: key.variant(),
            file,
            stored: now,
        };
        match state.entries.get_mut(key.relative) {
            Some(variants) => variants.push(kept),
            None => {
                state.entries.insert(key.relative.into(), vec![kept]);
            }
        }
    }

    /// The bytes the entries count for (see [`cost`]).
    #[cfg(test)]
    pub(super) fn bytes(&self) -> usize {
        self.state.lock().unwrap().bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(name: &str) -> Key<'_> {
        Key {
            relative: name,
            wants_directory: false,
            accepted: 0,
        }
    }

    fn file(content: &'static [u8]) -> CachedFile {
        CachedFile {
            content: Bytes::from_static(content),
            modified: None,
            coding: Coding::Identity,
            headers: FileHeaders::new(
                http::HeaderValue::from_static("\"1\""),
                None,
                http::HeaderValue::from_static("text/plain"),
                Coding::Identity,
            ),
        }
    }

    #[test]
    fn entries_expire_after_their_validity() {
        let cache = FileCache::new(1 << 20, Duration::from_secs(1));
        let t0 = Instant::now();
        cache.put(&key("/a"), file(b"hello"), t0);
        let hit = cache.get(&key("/a"), t0 + Duration::from_millis(999));
        assert_eq!(hit.map(|f| f.content), Some(Bytes::from_static(b"hello")));
        assert!(cache.get(&key("/a"), t0 + Duration::from_secs(1)).is_none());
        assert!(cache.get(&key("/b"), t0).is_none());
        // Another accepted coding set is another entry, kept beside the first.
        let gzip = Key {
            accepted: 1,
            ..key("/a")
        };
        assert!(cache.get(&gzip, t0).is_none());
        cache.put(&gzip, file(b"gzipped"), t0);
        let hit = cache.get(&gzip, t0);
        assert_eq!(hit.map(|f| f.content), Some(Bytes::from_static(b"gzipped")));
        let hit = cache.get(&key("/a"), t0);
        assert_eq!(hit.map(|f| f.content), Some(Bytes::from_static(b"hello")));
        let directory = Key {
            wants_directory: true,
            ..key("/a")
        };
        assert!(cache.get(&directory, t0).is_none());
    }

    #[test]
    fn the_size_stays_within_its_bound() {
        let one = cost("/f0000", &file(b"0123456789"));
        let cache = FileCache::new(3 * one, Duration::from_secs(60));
        let t0 = Instant::now();
        for i in 0..100 {
            cache.put(&key(&format!("/f{i:04}")), file(b"0123456789"), t0);
            assert!(cache.bytes() <= 3 * one, "after {i}: {}", cache.bytes());
        }
        // The last one stored is there; the cache was emptied to make room, not refused.
        assert!(cache.get(&key("/f0099"), t0).is_some());
        // Replacing an entry does not count it twice.
        cache.put(&key("/f0099"), file(b"9876543210"), t0);
        cache.put(&key("/f0099"), file(b"0123456789"), t0);
        assert!(cache.bytes() <= 3 * one);
        // An entry larger than the whole cache is not kept.
        let tiny = FileCache::new(10, Duration::from_secs(60));
        tiny.put(&key("/big"), file(b"0123456789"), t0);
        assert!(tiny.get(&key("/big"), t0).is_none());
    }

    #[test]
    fn zero_turns_it_off() {
        let t0 = Instant::now();
        for cache in [
            FileCache::new(0, Duration::from_secs(1)),
            FileCache::new(1 << 20, Duration::ZERO),
        ] {
            cache.put(&key("/a"), file(b"x"), t0);
            assert!(cache.get(&key("/a"), t0).is_none());
        }
    }
}
