//! The static table (RFC 7541 Appendix A) and the dynamic table (RFC 7541 2.3.2, 4).
//!
//! Both tables share one index space (RFC 7541 2.3.3): 1..=61 is the static table, 62 is the
//! newest dynamic entry, counting up towards the oldest.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};

use bytes::Bytes;

/// What a decoded field learns of the dynamic table entry it came from: a mark the request
/// checks set once they have accepted the entry as a field, so that the fields a client
/// repeats in every request are checked byte by byte once per connection, not once per
/// request. Entries never change, so the mark stays true for as long as the entry lives.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StoredField<'a> {
    checked: &'a AtomicBool,
}

impl StoredField<'_> {
    /// Whether the request checks have accepted this entry as a field before.
    pub(crate) fn checked(self) -> bool {
        self.checked.load(Ordering::Relaxed)
    }

    /// Records that the request checks accepted this entry as a field.
    pub(crate) fn mark_checked(self) {
        self.checked.store(true, Ordering::Relaxed);
    }
}

/// What RFC 7541 4.1 adds to each entry's name and value length when sizing the table: an
/// estimate of the per-entry bookkeeping, so a table of tiny entries is still bounded.
pub(crate) const ENTRY_OVERHEAD: usize = 32;

/// Entries in the static table; the first dynamic index is one more.
pub(crate) const STATIC_LEN: usize = 61;

/// RFC 7541 Appendix A, in index order (index 1 first).
pub(crate) const STATIC_TABLE: [(&[u8], &[u8]); STATIC_LEN] = [
    (b":authority", b""),
    (b":method", b"GET"),
    (b":method", b"POST"),
    (b":path", b"/"),
    (b":path", b"/index.html"),
    (b":scheme", b"http"),
    (b":scheme", b"https"),
    (b":status", b"200"),
    (b":status", b"204"),
    (b":status", b"206"),
    (b":status", b"304"),
    (b":status", b"400"),
    (b":status", b"404"),
    (b":status", b"500"),
    (b"accept-charset", b""),
    (b"accept-encoding", b"gzip, deflate"),
    (b"accept-language", b""),
    (b"accept-ranges", b""),
    (b"accept", b""),
    (b"access-control-allow-origin", b""),
    (b"age", b""),
    (b"allow", b""),
    (b"authorization", b""),
    (b"cache-control", b""),
    (b"content-disposition", b""),
    (b"content-encoding", b""),
    (b"content-language", b""),
    (b"content-length", b""),
    (b"content-location", b""),
    (b"content-range", b""),
    (b"content-type", b""),
    (b"cookie", b""),
    (b"date", b""),
    (b"etag", b""),
    (b"expect", b""),
    (b"expires", b""),
    (b"from", b""),
    (b"host", b""),
    (b"if-match", b""),
    (b"if-modified-since", b""),
    (b"if-none-match", b""),
    (b"if-range", b""),
    (b"if-unmodified-since", b""),
    (b"last-modified", b""),
    (b"link", b""),
    (b"location", b""),
    (b"max-forwards", b""),
    (b"proxy-authenticate", b""),
    (b"proxy-authorization", b""),
    (b"range", b""),
    (b"referer", b""),
    (b"refresh", b""),
    (b"retry-after", b""),
    (b"server", b""),
    (b"set-cookie", b""),
    (b"strict-transport-security", b""),
    (b"transfer-encoding", b""),
    (b"user-agent", b""),
    (b"vary", b""),
    (b"via", b""),
    (b"www-authenticate", b""),
];

/// The static entry at `index` (1-based), if there is one.
pub(crate) fn static_entry(index: usize) -> Option<(&'static [u8], &'static [u8])> {
    index
        .checked_sub(1)
        .and_then(|i| STATIC_TABLE.get(i))
        .copied()
}

/// Slots in [`STATIC_NAMES`]: a power of two, a little over twice the table's 52 distinct
/// names, so that most lookups find their name in the first slot they try.
const STATIC_NAME_SLOTS: usize = 128;

/// A cheap hash of a field name for [`STATIC_NAMES`]: its length and three of its bytes,
/// which already tell the static table's names apart in most slots.
const fn static_name_slot(name: &[u8]) -> usize {
    let n = name.len();
    if n == 0 {
        return 0;
    }
    let mixed = n
        .wrapping_mul(31)
        .wrapping_add((name[0] as usize).wrapping_mul(7))
        .wrapping_add((name[n / 2] as usize).wrapping_mul(131))
        .wrapping_add((name[n - 1] as usize).wrapping_mul(13));
    mixed & (STATIC_NAME_SLOTS - 1)
}

/// Open-addressed index of the static table's names, built at compile time: a slot holds
/// the 1-based index of the first entry with a name, or 0 when empty. Encoding a field
/// looks its name up here instead of comparing it with all 61 entries.
static STATIC_NAMES: [u8; STATIC_NAME_SLOTS] = build_static_names();

const fn build_static_names() -> [u8; STATIC_NAME_SLOTS] {
    let mut slots = [0u8; STATIC_NAME_SLOTS];
    let mut i = 0;
    while i < STATIC_LEN {
        let name = STATIC_TABLE[i].0;
        // Only the first entry of each name (entries sharing a name are adjacent).
        if i == 0 || !bytes_eq(STATIC_TABLE[i - 1].0, name) {
            let mut slot = static_name_slot(name);
            while slots[slot] != 0 {
                slot = (slot + 1) & (STATIC_NAME_SLOTS - 1);
            }
            slots[slot] = (i + 1) as u8;
        }
        i += 1;
    }
    slots
}

const fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The 1-based index of the first static entry named `name`.
pub(crate) fn static_name_index(name: &[u8]) -> Option<usize> {
    let mut slot = static_name_slot(name);
    loop {
        let index = usize::from(STATIC_NAMES[slot]);
        if index == 0 {
            return None;
        }
        if STATIC_TABLE[index - 1].0 == name {
            return Some(index);
        }
        slot = (slot + 1) & (STATIC_NAME_SLOTS - 1);
    }
}

/// The index of the static entry with this name and value, searching from `first`, the
/// name's first entry as [`static_name_index`] gives it (entries sharing a name are
/// adjacent, so the scan stops once past them).
pub(crate) fn static_exact(first: usize, name: &[u8], value: &[u8]) -> Option<usize> {
    STATIC_TABLE
        .get(first.checked_sub(1)?..)?
        .iter()
        .take_while(|&&(n, _)| n == name)
        .position(|&(_, v)| v == value)
        .map(|offset| first + offset)
}

/// A fast hash of a name or value for the dynamic table's lookups, eight bytes per step.
/// Not for untrusted keys of a hash map (no seed): here it only lets a scan skip entries
/// whose bytes cannot match; every candidate is still compared in full.
pub(crate) fn field_hash(bytes: &[u8]) -> u32 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mix = |h: u64, word: u64| (h.rotate_left(5) ^ word).wrapping_mul(K);
    let mut h = bytes.len() as u64;
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        h = mix(h, u64::from_le_bytes(word));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        // Byte by byte: a copy of a variable length would be a call to memcpy.
        let word = rest
            .iter()
            .rev()
            .fold(0u64, |word, &b| word << 8 | u64::from(b));
        h = mix(h, word);
    }
    (h >> 32) as u32
}

/// The size RFC 7541 4.1 gives an entry.
pub(crate) fn entry_size(name_len: usize, value_len: usize) -> usize {
    name_len
        .saturating_add(value_len)
        .saturating_add(ENTRY_OVERHEAD)
}

/// One dynamic entry: name and value in a single allocation, with the hashes
/// [`DynamicTable::find`] compares before any bytes.
#[derive(Debug)]
struct Entry {
    data: Bytes,
    /// Below the table's maximum size, which SETTINGS_HEADER_TABLE_SIZE (32 bits) bounds.
    name_len: u32,
    name_hash: u32,
    value_hash: u32,
    /// The request checks have accepted this entry as a field (see [`StoredField`]). Atomic
    /// only so that a connection can be shared while its task waits; one task uses it.
    checked: AtomicBool,
}

impl Entry {
    fn name(&self) -> &[u8] {
        &self.data[..self.name_len as usize]
    }

    fn value(&self) -> &[u8] {
        &self.data[self.name_len as usize..]
    }

    fn size(&self) -> usize {
        self.data.len() + ENTRY_OVERHEAD
    }
}

/// What identifies a dynamic table's contents: it always holds the `len` entries inserted
/// last (eviction takes the oldest, clearing takes all, only insertion adds), so two
/// states that compare equal are the same entries under the same maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct TableState {
    inserted: u64,
    len: usize,
    max_size: usize,
}

/// The dynamic table: newest entry first, its size (RFC 7541 4.1) never above its maximum.
#[derive(Debug)]
pub(crate) struct DynamicTable {
    entries: VecDeque<Entry>,
    /// Entries ever added, evicted ones included.
    inserted: u64,
    size: usize,
    max_size: usize,
}

impl DynamicTable {
    /// An empty table that may grow to `max_size`.
    pub(crate) fn new(max_size: usize) -> Self {
        DynamicTable {
            entries: VecDeque::new(),
            inserted: 0,
            size: 0,
            max_size,
        }
    }

    /// Number of entries.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// A number for entry `i` (counting from the newest, 0) that stays the same while
    /// newer entries push it down the table.
    pub(crate) fn number_of(&self, i: usize) -> u64 {
        self.inserted.wrapping_sub(1).wrapping_sub(i as u64)
    }

    /// Where the entry numbered `number` by [`DynamicTable::number_of`] is now, if it has
    /// not been evicted.
    pub(crate) fn position_of(&self, number: u64) -> Option<usize> {
        let i = self.inserted.checked_sub(1)?.checked_sub(number)?;
        usize::try_from(i).ok().filter(|&i| i < self.entries.len())
    }

    /// The table's state now: equal states, equal tables.
    pub(crate) fn state(&self) -> TableState {
        TableState {
            inserted: self.inserted,
            len: self.entries.len(),
            max_size: self.max_size,
        }
    }

    /// Sum of the entries' sizes (RFC 7541 4.1).
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// The current maximum size.
    pub(crate) fn max_size(&self) -> usize {
        self.max_size
    }

    /// Entry `i` counting from the newest (0), as `(name, value)`.
    pub(crate) fn get(&self, i: usize) -> Option<(&[u8], &[u8])> {
        self.entries.get(i).map(|e| (e.name(), e.value()))
    }

    /// Entry `i` as `(name, value)` and what a decoded field may keep of it.
    pub(crate) fn get_stored(&self, i: usize) -> Option<(&[u8], &[u8], StoredField<'_>)> {
        self.entries.get(i).map(|e| {
            let stored = StoredField {
                checked: &e.checked,
            };
            (e.name(), e.value(), stored)
        })
    }

    /// The newest entry (just inserted) as [`DynamicTable::get_stored`] gives it.
    pub(crate) fn newest_stored(&self) -> Option<(&[u8], &[u8], StoredField<'_>)> {
        self.get_stored(0)
    }

    /// Entries from newest to oldest.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.entries.iter().map(|e| (e.name(), e.value()))
    }

    /// Changes the maximum size, evicting the oldest entries until the table fits
    /// (RFC 7541 4.3).
    pub(crate) fn set_max_size(&mut self, max_size: usize) {
        self.max_size = max_size;
        self.evict_to(max_size);
        if self.entries.is_empty() {
            // A table shrunk to nothing gives its memory back: the peer may have set 0 to
            // say it wants no dynamic table at all.
            self.entries = VecDeque::new();
        }
    }

    /// Adds `name: value` as the newest entry, evicting as RFC 7541 4.4 says: an entry
    /// larger than the maximum empties the table and is not added.
    pub(crate) fn insert(&mut self, name: &[u8], value: &[u8]) {
        if entry_size(name.len(), value.len()) > self.max_size {
            self.clear();
            return;
        }
        let mut data = Vec::with_capacity(name.len() + value.len());
        data.extend_from_slice(name);
        data.extend_from_slice(value);
        self.insert_entry(Bytes::from(data), name.len());
    }

    /// Like [`DynamicTable::insert`] with `data = name ++ value` already built.
    pub(crate) fn insert_entry(&mut self, data: Bytes, name_len: usize) {
        let needed = entry_size(data.len(), 0);
        let Ok(name_len_32) = u32::try_from(name_len) else {
            self.clear();
            return;
        };
        let entry = Entry {
            name_hash: field_hash(&data[..name_len]),
            value_hash: field_hash(&data[name_len..]),
            data,
            name_len: name_len_32,
            checked: AtomicBool::new(false),
        };
        if needed > self.max_size {
            self.clear();
            return;
        }
        self.evict_to(self.max_size - needed);
        self.size += needed;
        self.inserted += 1;
        self.entries.push_front(entry);
    }

    /// Empties the table, keeping its maximum.
    pub(crate) fn clear(&mut self) {
        self.entries.clear();
        self.size = 0;
    }

    /// The newest entry matching `name` and `value` (`(i, true)`), else the newest with that
    /// name (`(i, false)`); `i` counts from the newest entry (0).
    #[cfg(test)]
    pub(crate) fn find(&self, name: &[u8], value: &[u8]) -> Option<(usize, bool)> {
        self.find_hashed(name, value, field_hash(name), field_hash(value))
    }

    /// [`DynamicTable::find`] with the [`field_hash`]es of `name` and `value` already made.
    pub(crate) fn find_hashed(
        &self,
        name: &[u8],
        value: &[u8],
        name_hash: u32,
        value_hash: u32,
    ) -> Option<(usize, bool)> {
        let mut name_match = None;
        for (i, e) in self.entries.iter().enumerate() {
            if e.name_hash == name_hash && e.name() == name {
                if e.value_hash == value_hash && e.value() == value {
                    return Some((i, true));
                }
                name_match.get_or_insert(i);
            }
        }
        name_match.map(|i| (i, false))
    }

    fn evict_to(&mut self, target: usize) {
        while self.size > target {
            match self.entries.pop_back() {
                Some(e) => self.size -= e.size(),
                None => {
                    // Unreachable while `size` is the sum of the entries; resynchronise
                    // rather than loop.
                    self.size = 0;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_table_spot_checks() {
        assert_eq!(STATIC_TABLE.len(), 61);
        assert_eq!(static_entry(0), None);
        assert_eq!(static_entry(1), Some((&b":authority"[..], &b""[..])));
        assert_eq!(static_entry(2), Some((&b":method"[..], &b"GET"[..])));
        assert_eq!(static_entry(8), Some((&b":status"[..], &b"200"[..])));
        assert_eq!(static_entry(14), Some((&b":status"[..], &b"500"[..])));
        assert_eq!(
            static_entry(16),
            Some((&b"accept-encoding"[..], &b"gzip, deflate"[..]))
        );
        assert_eq!(static_entry(24), Some((&b"cache-control"[..], &b""[..])));
        assert_eq!(static_entry(55), Some((&b"set-cookie"[..], &b""[..])));
        assert_eq!(static_entry(61), Some((&b"www-authenticate"[..], &b""[..])));
        assert_eq!(static_entry(62), None);
    }

    /// The best static match for a field, as the encoder looks for it: `(index, true)`
    /// when name and value both match, else `(index of the name's first entry, false)`.
    fn static_find(name: &[u8], value: &[u8]) -> Option<(usize, bool)> {
        let first = static_name_index(name)?;
        Some(match static_exact(first, name, value) {
            Some(index) => (index, true),
            None => (first, false),
        })
    }

    #[test]
    fn static_find_agrees_with_every_entry() {
        for (i, &(name, value)) in STATIC_TABLE.iter().enumerate() {
            assert_eq!(static_find(name, value), Some((i + 1, true)));
            let first = STATIC_TABLE.iter().position(|e| e.0 == name).unwrap() + 1;
            assert_eq!(
                static_find(name, b"\x00no such value"),
                Some((first, false))
            );
        }
        assert_eq!(static_find(b":status", b"302"), Some((8, false)));
        assert_eq!(static_find(b":status", b"404"), Some((13, true)));
        assert_eq!(static_find(b"x-custom", b""), None);
        assert_eq!(static_find(b"", b""), None);
        // Same length and ends as real names, so they land in occupied slots.
        assert_eq!(static_find(b"content-typf", b""), None);
        assert_eq!(static_find(b":statuS", b"200"), None);
    }

    #[test]
    fn static_name_index_finds_every_name_first_entry() {
        for (i, &(name, _)) in STATIC_TABLE.iter().enumerate() {
            let first = STATIC_TABLE.iter().position(|e| e.0 == name).unwrap() + 1;
            assert_eq!(static_name_index(name), Some(first), "entry {}", i + 1);
        }
    }

    #[test]
    fn find_tells_apart_entries_whatever_their_hashes() {
        let mut t = DynamicTable::new(4096);
        t.insert(b"x-a", b"1");
        t.insert(b"x-b", b"1");
        t.insert(b"x-a", b"2");
        assert_eq!(t.find(b"x-a", b"1"), Some((2, true)));
        assert_eq!(t.find(b"x-a", b"3"), Some((0, false)));
        assert_eq!(t.find(b"x-b", b"2"), Some((1, false)));
        assert_eq!(t.find(b"x-c", b"1"), None);
        // Long values: the hash covers every 8-byte step and the tail.
        let long = [b'v'; 45];
        let mut other = long;
        other[44] = b'w';
        t.insert(b"x-long", &long);
        assert_eq!(t.find(b"x-long", &long), Some((0, true)));
        assert_eq!(t.find(b"x-long", &other), Some((0, false)));
    }

    #[test]
    fn entry_numbers_follow_entries_until_evicted() {
        // Entries of 34 bytes; 100 bytes hold two.
        let mut t = DynamicTable::new(100);
        assert_eq!(t.position_of(0), None);
        t.insert(b"a", b"1");
        let a = t.number_of(0);
        assert_eq!(t.position_of(a), Some(0));
        t.insert(b"b", b"2");
        assert_eq!(t.position_of(a), Some(1));
        assert_eq!(t.position_of(t.number_of(0)), Some(0));
        t.insert(b"c", b"3");
        assert_eq!(t.position_of(a), None, "evicted");
        assert_eq!(t.position_of(a + 3), None, "not yet added");
        t.clear();
        assert_eq!(t.position_of(a + 2), None);
    }

    #[test]
    fn sizes_and_order() {
        let mut t = DynamicTable::new(4096);
        t.insert(b":authority", b"www.example.com");
        assert_eq!((t.len(), t.size()), (1, 57));
        t.insert(b"cache-control", b"no-cache");
        assert_eq!((t.len(), t.size()), (2, 110));
        assert_eq!(t.get(0), Some((&b"cache-control"[..], &b"no-cache"[..])));
        assert_eq!(
            t.get(1),
            Some((&b":authority"[..], &b"www.example.com"[..]))
        );
        assert_eq!(t.get(2), None);
        assert_eq!(t.find(b":authority", b"www.example.com"), Some((1, true)));
        assert_eq!(t.find(b":authority", b"other"), Some((1, false)));
        assert_eq!(t.find(b"x", b""), None);
    }

    #[test]
    fn insertion_evicts_oldest_first() {
        // Entries of 32 + 2 = 34 bytes; 100 bytes hold two.
        let mut t = DynamicTable::new(100);
        t.insert(b"a", b"1");
        t.insert(b"b", b"2");
        t.insert(b"c", b"3");
        assert_eq!(t.len(), 2);
        assert_eq!(t.size(), 68);
        let names: Vec<&[u8]> = t.iter().map(|(n, _)| n).collect();
        assert_eq!(names, [&b"c"[..], &b"b"[..]]);
    }

    #[test]
    fn entry_exactly_the_maximum_fits() {
        let mut t = DynamicTable::new(34);
        t.insert(b"a", b"1");
        assert_eq!((t.len(), t.size()), (1, 34));
        t.insert(b"b", b"2");
        assert_eq!(t.get(0), Some((&b"b"[..], &b"2"[..])));
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn oversized_entry_empties_the_table() {
        let mut t = DynamicTable::new(100);
        t.insert(b"a", b"1");
        t.insert(b"big", &[b'x'; 70]);
        assert_eq!((t.len(), t.size()), (0, 0));
    }

    #[test]
    fn shrinking_evicts_and_zero_empties() {
        let mut t = DynamicTable::new(4096);
        for i in 0..10u8 {
            t.insert(&[b'a' + i], b"v");
        }
        assert_eq!(t.size(), 340);
        t.set_max_size(100);
        assert_eq!((t.len(), t.size(), t.max_size()), (2, 68, 100));
        assert_eq!(t.get(0), Some((&b"j"[..], &b"v"[..])));
        t.set_max_size(0);
        assert_eq!((t.len(), t.size()), (0, 0));
        t.insert(b"a", b"");
        assert_eq!(t.len(), 0);
        t.set_max_size(4096);
        t.insert(b"a", b"");
        assert_eq!(t.len(), 1);
    }
}
