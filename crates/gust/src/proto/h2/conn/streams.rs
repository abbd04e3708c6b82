//! The connection's open streams, in order of id.
//!
//! A client opens streams with ever greater ids (RFC 9113 5.1.1) and we open none, so a
//! new stream always goes at the end, and streams mostly finish in the order they came:
//! a sorted double-ended queue takes both at its ends. It replaced a `BTreeMap`, whose
//! insertions and removals (node splits and merges, entries of ~180 bytes moved between
//! nodes) were over a thousand instructions of every small request.

use std::collections::VecDeque;

/// Values by stream id, ordered by id; the operations a `BTreeMap` would offer here.
#[derive(Debug)]
pub(super) struct StreamTable<T> {
    /// Sorted by id, no id twice.
    entries: VecDeque<(u32, T)>,
}

impl<T> Default for StreamTable<T> {
    fn default() -> Self {
        StreamTable {
            entries: VecDeque::new(),
        }
    }
}

impl<T> StreamTable<T> {
    pub(super) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Where `id` is, or where it would go.
    fn position(&self, id: u32) -> Result<usize, usize> {
        // New streams are the common case of a miss, and the newest the common case of a
        // hit: check the end before searching.
        let (first, last) = match (self.entries.front(), self.entries.back()) {
            (Some(&(first, _)), Some(&(last, _))) => (first, last),
            _ => return Err(0),
        };
        if id > last {
            return Err(self.entries.len());
        }
        if id == last {
            return Ok(self.entries.len() - 1);
        }
        // A client numbers its streams 1, 3, 5, ... and they mostly end in order, so the
        // open ones are usually a run without gaps: where `id` would be in such a run is a
        // guess worth one comparison before a search (about 400 instructions of every small
        // request when 32 streams are open).
        if let Some(guess) = id.checked_sub(first).map(|d| (d / 2) as usize) {
            if self.entries.get(guess).is_some_and(|&(at, _)| at == id) {
                return Ok(guess);
            }
        }
        self.entries.binary_search_by_key(&id, |&(k, _)| k)
    }

    pub(super) fn get(&self, id: u32) -> Option<&T> {
        let i = self.position(id).ok()?;
        Some(&self.entries[i].1)
    }

    pub(super) fn get_mut(&mut self, id: u32) -> Option<&mut T> {
        let i = self.position(id).ok()?;
        Some(&mut self.entries[i].1)
    }

    pub(super) fn contains_key(&self, id: u32) -> bool {
        self.position(id).is_ok()
    }

    /// Adds `id` (at the end, for a new client stream), replacing any value it had.
    pub(super) fn insert(&mut self, id: u32, value: T) {
        match self.position(id) {
            Ok(i) => self.entries[i].1 = value,
            Err(i) if i == self.entries.len() => self.entries.push_back((id, value)),
            Err(i) => self.entries.insert(i, (id, value)),
        }
    }

    pub(super) fn remove(&mut self, id: u32) -> Option<T> {
        let i = self.position(id).ok()?;
        // VecDeque moves the shorter side; the oldest streams, which finish first, are at
        // the front.
        self.entries.remove(i).map(|(_, value)| value)
    }

    /// Every stream, in order of id.
    #[cfg(test)]
    fn iter(&self) -> impl Iterator<Item = (u32, &T)> + '_ {
        self.entries.iter().map(|(id, value)| (*id, value))
    }

    pub(super) fn values(&self) -> impl Iterator<Item = &T> + '_ {
        self.entries.iter().map(|(_, value)| value)
    }

    pub(super) fn values_mut(&mut self) -> impl Iterator<Item = &mut T> + '_ {
        self.entries.iter_mut().map(|(_, value)| value)
    }

    /// Every stream once, starting with the first after `cursor` and wrapping around: the
    /// round-robin order in which streams take turns to send.
    pub(super) fn round_robin_after(&self, cursor: u32) -> impl Iterator<Item = (u32, &T)> + '_ {
        let split = self.entries.partition_point(|&(id, _)| id <= cursor);
        let (before, after) = (self.entries.range(..split), self.entries.range(split..));
        after.chain(before).map(|(id, value)| (*id, value))
    }

    /// Gives the memory back once no stream is left: a queue keeps its capacity (that of
    /// the most streams the connection ever had at once) for as long as it lives.
    pub(super) fn release_if_empty(&mut self) {
        if self.entries.is_empty() {
            self.entries = VecDeque::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// The table agrees with a `BTreeMap` through a long random run of the operations the
    /// connection uses: new ids at the end mostly, any id removed, ids looked up that are
    /// and are not there.
    #[test]
    fn behaves_as_an_ordered_map() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut rand = move |n: u32| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 20) as u32 % n
        };
        let mut table = StreamTable::default();
        let mut model = BTreeMap::new();
        let mut next = 1u32;
        for step in 0..20_000 {
            let id = match rand(10) {
                0 => rand(next + 4),
                _ => model
                    .keys()
                    .nth(rand(model.len().max(1) as u32) as usize)
                    .copied()
                    .unwrap_or(1),
            };
            match rand(8) {
                0..=2 => {
                    table.insert(next, step);
                    model.insert(next, step);
                    next += 2;
                }
                3 => {
                    // Out of order, or over an existing id: still an ordered map.
                    table.insert(id, step);
                    model.insert(id, step);
                }
                4..=5 => assert_eq!(table.remove(id), model.remove(&id), "step {step}"),
                6 => {
                    if let (Some(a), Some(b)) = (table.get_mut(id), model.get_mut(&id)) {
                        *a += 1;
                        *b += 1;
                    }
                }
                _ => {
                    let cursor = rand(next + 2);
                    let want: Vec<_> = model
                        .range(cursor.saturating_add(1)..)
                        .chain(model.range(..=cursor))
                        .map(|(k, v)| (*k, *v))
                        .collect();
                    let got: Vec<_> = table
                        .round_robin_after(cursor)
                        .map(|(k, v)| (k, *v))
                        .collect();
                    assert_eq!(got, want, "step {step}");
                }
            }
            assert_eq!(table.get(id), model.get(&id), "step {step}");
            assert_eq!(table.contains_key(id), model.contains_key(&id));
            assert_eq!(table.is_empty(), model.is_empty());
        }
        let all: Vec<_> = table.iter().map(|(k, v)| (k, *v)).collect();
        let want: Vec<_> = model.iter().map(|(k, v)| (*k, *v)).collect();
        assert_eq!(all, want);
        assert!(table.values().eq(model.values()));
    }

    #[test]
    fn memory_is_given_back_only_when_empty() {
        let mut table = StreamTable::default();
        for id in (1..200).step_by(2) {
            table.insert(id, [0u8; 64]);
        }
        for id in (1..199).step_by(2) {
            table.remove(id);
        }
        table.release_if_empty();
        assert!(table.entries.capacity() > 0);
        table.remove(199);
        table.release_if_empty();
        assert_eq!(table.entries.capacity(), 0);
    }
}
