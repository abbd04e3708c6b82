//! Header block decoding (RFC 7541 3, 5, 6).
//!
//! The decoder never lets the peer make it hold more than it chose: the dynamic table is
//! bounded by our SETTINGS_HEADER_TABLE_SIZE, fields are counted against
//! SETTINGS_MAX_HEADER_LIST_SIZE as they are decoded, and a field past that limit is not
//! materialised at all (a Huffman string is validated without being written anywhere).
//! Because the rest of the block is still applied to the dynamic table, a list that is too
//! large costs the peer its stream, not the connection.

use bytes::Bytes;

use super::table::{
    entry_size, static_entry, DynamicTable, StoredField, ENTRY_OVERHEAD, STATIC_LEN,
};
use super::{huffman, DecodeError};

/// Continuation bytes allowed after a full prefix: 4 x 7 = 28 bits, enough for any size
/// or length we accept and few enough that a run of 0x80 bytes is rejected at once.
const MAX_CONTINUATION_BYTES: u32 = 4;

/// Decodes an integer with a `prefix_bits`-bit prefix (RFC 7541 5.1) from the front of
/// `buf`, advancing past it.
pub(super) fn decode_int(buf: &mut &[u8], prefix_bits: u8) -> Result<usize, DecodeError> {
    let (&first, mut rest) = buf.split_first().ok_or(DecodeError::Truncated)?;
    let mask = (1u32 << prefix_bits) - 1;
    let mut value = u32::from(first) & mask;
    if value == mask {
        let mut shift = 0u32;
        loop {
            let (&b, tail) = rest.split_first().ok_or(DecodeError::Truncated)?;
            rest = tail;
            if shift == 7 * MAX_CONTINUATION_BYTES {
                return Err(DecodeError::IntegerOverflow);
            }
            // At most 255 + (2^28 - 1): no overflow in u32.
            value += (u32::from(b) & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 {
                break;
            }
        }
    }
    *buf = rest;
    usize::try_from(value).map_err(|_| DecodeError::IntegerOverflow)
}

/// A string literal as it sits in the block.
#[derive(Clone, Copy)]
struct RawString<'a> {
    huffman: bool,
    bytes: &'a [u8],
}

/// Reads a string literal's header and bytes (RFC 7541 5.2), checking its declared length
/// against what is left of the block before anything else looks at it.
fn read_string<'a>(buf: &mut &'a [u8]) -> Result<RawString<'a>, DecodeError> {
    let huffman = buf.first().ok_or(DecodeError::Truncated)? & 0x80 != 0;
    let len = decode_int(buf, 7)?;
    if len > buf.len() {
        return Err(DecodeError::StringTooLong);
    }
    let (bytes, rest) = buf.split_at(len);
    *buf = rest;
    Ok(RawString { huffman, bytes })
}

/// Where Huffman strings are decoded, reused across fields and blocks. It remembers the
/// encoded bytes of the string it holds: a client that sends the same literal without
/// indexing it (a path polled over and over, as load generators and dashboards do) has it
/// decoded once, then compared.
#[derive(Debug, Default)]
struct Scratch {
    decoded: Vec<u8>,
    /// The Huffman input `decoded` is the whole decoding of; empty when it holds none.
    encoded: Vec<u8>,
}

/// Returns a string's decoded length and, when it is at most `cap` (or needs no decoding),
/// its bytes: borrowed from the block when literal, decoded into `scratch` when Huffman.
fn materialise<'s>(
    raw: RawString<'s>,
    scratch: &'s mut Scratch,
    cap: usize,
) -> Result<(usize, Option<&'s [u8]>), DecodeError> {
    if !raw.huffman {
        return Ok((raw.bytes.len(), Some(raw.bytes)));
    }
    if !raw.bytes.is_empty() && scratch.encoded == raw.bytes {
        // Decoded (and found valid) before, whole: the cap is all that can differ.
        let len = scratch.decoded.len();
        return Ok((len, (len <= cap).then_some(&scratch.decoded[..])));
    }
    scratch.encoded.clear();
    // Padding is under 8 bits and no code is longer than 30, so the string decodes to at
    // least this many bytes: one that must exceed `cap` is only validated (HPACK bomb
    // defence: nothing is written for it).
    let at_least = raw.bytes.len().saturating_mul(8).saturating_sub(7) / 30;
    let cap = if at_least > cap { 0 } else { cap };
    scratch.decoded.clear();
    let len = huffman::decode(raw.bytes, &mut scratch.decoded, cap)?;
    if len > cap {
        return Ok((len, None));
    }
    scratch.encoded.extend_from_slice(raw.bytes);
    Ok((len, Some(&scratch.decoded[..])))
}

/// The field at `index` in the combined index space (RFC 7541 2.3.3).
fn lookup(table: &DynamicTable, index: usize) -> Result<(&[u8], &[u8]), DecodeError> {
    lookup_stored(table, index).map(|(name, value, _)| (name, value))
}

/// A field found by its index: name, value and, for a dynamic entry, the entry.
type Found<'t> = (&'t [u8], &'t [u8], Option<StoredField<'t>>);

/// [`lookup`], and for a dynamic entry its buffer.
fn lookup_stored(table: &DynamicTable, index: usize) -> Result<Found<'_>, DecodeError> {
    if index == 0 {
        return Err(DecodeError::InvalidIndex);
    }
    if index <= STATIC_LEN {
        let (name, value) = static_entry(index).ok_or(DecodeError::InvalidIndex)?;
        return Ok((name, value, None));
    }
    let (name, value, stored) = table
        .get_stored(index - STATIC_LEN - 1)
        .ok_or(DecodeError::InvalidIndex)?;
    Ok((name, value, Some(stored)))
}

/// How a literal field representation treats the dynamic table (RFC 7541 6.2).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Literal {
    Indexed,
    NotIndexed,
    NeverIndexed,
}

/// Running header-list accounting for one block.
struct ListBudget {
    max: usize,
    used: usize,
    exceeded: bool,
}

impl ListBudget {
    /// What a field may still take before the list is too large.
    fn remaining(&self) -> usize {
        if self.exceeded {
            0
        } else {
            self.max - self.used
        }
    }

    /// Counts a field; true while the list is still within the limit.
    fn admit(&mut self, size: usize) -> bool {
        if !self.exceeded {
            match self.used.checked_add(size) {
                Some(used) if used <= self.max => self.used = used,
                _ => self.exceeded = true,
            }
        }
        !self.exceeded
    }
}

/// Decodes the peer's header blocks, keeping its dynamic table.
#[derive(Debug)]
pub(crate) struct Decoder {
    table: DynamicTable,
    /// Our SETTINGS_HEADER_TABLE_SIZE in force: the most a size update may ask for.
    max_allowed: usize,
    /// We lowered `max_allowed` below the table's maximum: the next block must open with a
    /// size update (RFC 7541 4.2).
    update_required: bool,
    /// Huffman-decoded names and values, reused across fields and blocks; each holds at most
    /// `max(max_list_size, table maximum)` bytes, and the encoded string as long again.
    name_buf: Scratch,
    value_buf: Scratch,
}

impl Decoder {
    /// A decoder whose table may grow to `max_table_size`: the SETTINGS_HEADER_TABLE_SIZE
    /// the peer is bound by now.
    ///
    /// At the start of a connection that is [`DEFAULT_TABLE_SIZE`](super::DEFAULT_TABLE_SIZE)
    /// whatever we advertise, because the peer may encode with the default until it has
    /// seen our SETTINGS; pass that, and call [`Decoder::set_max_table_size`] with our value
    /// once our SETTINGS is acknowledged. Starting with a smaller value would make a peer
    /// that fills the default-sized table look like it is misbehaving.
    pub(crate) fn new(max_table_size: usize) -> Self {
        Decoder {
            table: DynamicTable::new(max_table_size),
            max_allowed: max_table_size,
            update_required: false,
            name_buf: Scratch::default(),
            value_buf: Scratch::default(),
        }
    }

    /// Lowers or raises what we allow, once the peer has acknowledged our SETTINGS. When it
    /// is below the table's current maximum, the peer must open its next block with a size
    /// update no larger than it (RFC 7541 4.2), else that block fails with
    /// [`DecodeError::MissingTableSizeUpdate`].
    pub(crate) fn set_max_table_size(&mut self, size: usize) {
        self.max_allowed = size;
        if size < self.table.max_size() {
            self.update_required = true;
        }
    }

    /// Drops the buffers strings are decoded into (remade when needed): an idle connection
    /// keeps only the table, which it shares with the peer.
    pub(crate) fn release_idle_memory(&mut self) {
        self.name_buf = Scratch::default();
        self.value_buf = Scratch::default();
    }

    /// The dynamic table as the peer has built it.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn table(&self) -> &DynamicTable {
        &self.table
    }

    /// Decodes one complete header block (HEADERS plus CONTINUATION fragments, joined by the
    /// caller), calling `emit(name, value, sensitive)` for each field in order; `sensitive`
    /// marks never-indexed literals (RFC 7541 6.2.3), which a proxy must forward as such.
    ///
    /// `max_list_size` is SETTINGS_MAX_HEADER_LIST_SIZE: once the fields decoded so far
    /// (name + value + 32 each) exceed it, no further field is emitted or materialised, the
    /// rest of the block is still applied to the dynamic table, and the result is
    /// [`DecodeError::HeaderListTooLarge`]; the decoder stays usable for later blocks. Any
    /// other error is a COMPRESSION_ERROR: the connection must end, and fields emitted
    /// before it must be discarded.
    pub(crate) fn decode(
        &mut self,
        block: &[u8],
        max_list_size: usize,
        mut emit: impl FnMut(&[u8], &[u8], bool),
    ) -> Result<(), DecodeError> {
        self.decode_stored(block, max_list_size, |name, value, sensitive, _| {
            emit(name, value, sensitive);
        })
    }

    /// [`Decoder::decode`], also telling `emit` where a field is a dynamic table entry
    /// ([`StoredField`]), which the request checks mark once they have accepted it.
    pub(crate) fn decode_stored(
        &mut self,
        block: &[u8],
        max_list_size: usize,
        mut emit: impl FnMut(&[u8], &[u8], bool, Option<StoredField<'_>>),
    ) -> Result<(), DecodeError> {
        let mut buf = block;
        let mut budget = ListBudget {
            max: max_list_size,
            used: 0,
            exceeded: false,
        };
        let mut at_start = true;
        while let Some(&first) = buf.first() {
            if first & 0xe0 == 0x20 {
                // Dynamic table size update (RFC 7541 6.3): 001xxxxx.
                if !at_start {
                    return Err(DecodeError::TableSizeUpdateNotAtStart);
                }
                let size = decode_int(&mut buf, 5)?;
                if size > self.max_allowed {
                    return Err(DecodeError::TableSizeTooLarge);
                }
                self.table.set_max_size(size);
                self.update_required = false;
                continue;
            }
            if self.update_required {
                return Err(DecodeError::MissingTableSizeUpdate);
            }
            at_start = false;
            if first & 0x80 != 0 {
                // Indexed header field (RFC 7541 6.1): 1xxxxxxx. Lent from the table, never
                // copied, so repeating a large entry costs nothing but the count.
                let index = decode_int(&mut buf, 7)?;
                let (name, value, stored) = lookup_stored(&self.table, index)?;
                if budget.admit(entry_size(name.len(), value.len())) {
                    emit(name, value, false, stored);
                }
            } else if first & 0x40 != 0 {
                // Literal with incremental indexing (RFC 7541 6.2.1): 01xxxxxx.
                self.literal(&mut buf, 6, Literal::Indexed, &mut budget, &mut emit)?;
            } else {
                // Without indexing (0000xxxx) or never indexed (0001xxxx): RFC 7541 6.2.2-3.
                let kind = if first & 0x10 != 0 {
                    Literal::NeverIndexed
                } else {
                    Literal::NotIndexed
                };
                self.literal(&mut buf, 4, kind, &mut budget, &mut emit)?;
            }
        }
        if budget.exceeded {
            Err(DecodeError::HeaderListTooLarge)
        } else {
            Ok(())
        }
    }

    /// One literal field representation, from its first byte.
    fn literal(
        &mut self,
        buf: &mut &[u8],
        prefix_bits: u8,
        kind: Literal,
        budget: &mut ListBudget,
        emit: &mut impl FnMut(&[u8], &[u8], bool, Option<StoredField<'_>>),
    ) -> Result<(), DecodeError> {
        let name_index = decode_int(buf, prefix_bits)?;
        // A string is written out only if the field can still be emitted or must enter the
        // table; past both bounds it is validated and measured, never stored.
        let table_max = match kind {
            Literal::Indexed => self.table.max_size(),
            _ => 0,
        };
        let room = budget.remaining().saturating_sub(ENTRY_OVERHEAD);
        let (name_len, name) = if name_index == 0 {
            let raw = read_string(buf)?;
            materialise(raw, &mut self.name_buf, room.max(table_max))?
        } else {
            let (name, _) = lookup(&self.table, name_index)?;
            (name.len(), Some(name))
        };
        let value_cap = room.saturating_sub(name_len).max(table_max);
        let (value_len, value) = materialise(read_string(buf)?, &mut self.value_buf, value_cap)?;
        let size = entry_size(name_len, value_len);
        let admitted = budget.admit(size);
        let enters_table = kind == Literal::Indexed && size <= self.table.max_size();

        match (name, value) {
            (Some(name), Some(value)) if enters_table => {
                // Copied before inserting: an indexed name may be the entry that the
                // insertion evicts (RFC 7541 4.4).
                let mut data = Vec::with_capacity(name_len + value_len);
                data.extend_from_slice(name);
                data.extend_from_slice(value);
                self.table.insert_entry(Bytes::from(data), name_len);
                if admitted {
                    // The newest entry is the one just made: it fits the table.
                    if let Some((name, value, stored)) = self.table.newest_stored() {
                        emit(name, value, false, Some(stored));
                    }
                }
            }
            (Some(name), Some(value)) => {
                if admitted {
                    emit(name, value, kind == Literal::NeverIndexed, None);
                }
            }
            // The caps cover the list's room and the table's maximum, so a string is left
            // unmaterialised only when its field can neither be emitted nor enter the table.
            _ => debug_assert!(!admitted && !enters_table),
        }
        if kind == Literal::Indexed && !enters_table {
            // Larger than the whole table: it empties the table and is not added
            // (RFC 7541 4.4).
            self.table.clear();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type Field = (Vec<u8>, Vec<u8>, bool);

    use crate::proto::h2::hpack::hex;

    fn decode_all(
        d: &mut Decoder,
        block: &[u8],
        max: usize,
    ) -> (Vec<Field>, Result<(), DecodeError>) {
        let mut out = Vec::new();
        let r = d.decode(block, max, |n, v, s| out.push((n.to_vec(), v.to_vec(), s)));
        (out, r)
    }

    fn ok(d: &mut Decoder, block: &[u8]) -> Vec<(String, String)> {
        let (fields, r) = decode_all(d, block, usize::MAX);
        r.unwrap();
        fields
            .into_iter()
            .map(|(n, v, _)| (String::from_utf8(n).unwrap(), String::from_utf8(v).unwrap()))
            .collect()
    }

    fn err(d: &mut Decoder, block: &[u8]) -> DecodeError {
        decode_all(d, block, usize::MAX).1.unwrap_err()
    }

    fn list(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|&(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    fn table(d: &Decoder) -> Vec<(String, String)> {
        d.table()
            .iter()
            .map(|(n, v)| {
                (
                    String::from_utf8(n.to_vec()).unwrap(),
                    String::from_utf8(v.to_vec()).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn integers_rfc_c1() {
        // C.1.1: 10 on a 5-bit prefix; C.1.2: 1337 on 5 bits; C.1.3: 42 on 8 bits.
        let mut b: &[u8] = &[0b1110_1010];
        assert_eq!(decode_int(&mut b, 5), Ok(10));
        assert!(b.is_empty());
        let mut b: &[u8] = &[0b0001_1111, 0b1001_1010, 0b0000_1010, 0xaa];
        assert_eq!(decode_int(&mut b, 5), Ok(1337));
        assert_eq!(b, [0xaa]);
        let mut b: &[u8] = &[42];
        assert_eq!(decode_int(&mut b, 8), Ok(42));
    }

    #[test]
    fn integer_bounds() {
        // Four continuation bytes: 31 + (2^28 - 1).
        let mut b: &[u8] = &[0x1f, 0xff, 0xff, 0xff, 0x7f];
        assert_eq!(decode_int(&mut b, 5), Ok(31 + (1 << 28) - 1));
        // A fifth is too many, whatever its value: over-long encodings included.
        let mut b: &[u8] = &[0x1f, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(decode_int(&mut b, 5), Err(DecodeError::IntegerOverflow));
        let mut b: &[u8] = &[0x1f, 0x80, 0x80, 0x80, 0x80, 0x00];
        assert_eq!(decode_int(&mut b, 5), Err(DecodeError::IntegerOverflow));
        let mut long = vec![0x1f];
        long.extend([0x80; 10_000]);
        let mut b: &[u8] = &long;
        assert_eq!(decode_int(&mut b, 5), Err(DecodeError::IntegerOverflow));
        // Ends while continuation bytes are announced.
        let mut b: &[u8] = &[0x1f, 0x80];
        assert_eq!(decode_int(&mut b, 5), Err(DecodeError::Truncated));
    }

    #[test]
    fn rfc_c2_1_literal_with_indexing() {
        let mut d = Decoder::new(4096);
        let block = hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572");
        assert_eq!(ok(&mut d, &block), list(&[("custom-key", "custom-header")]));
        assert_eq!(table(&d), list(&[("custom-key", "custom-header")]));
        assert_eq!(d.table().size(), 55);
    }

    #[test]
    fn rfc_c2_2_literal_without_indexing() {
        let mut d = Decoder::new(4096);
        let block = hex("040c 2f73 616d 706c 652f 7061 7468");
        assert_eq!(ok(&mut d, &block), list(&[(":path", "/sample/path")]));
        assert_eq!(d.table().len(), 0);
    }

    #[test]
    fn rfc_c2_3_literal_never_indexed() {
        let mut d = Decoder::new(4096);
        let block = hex("1008 7061 7373 776f 7264 0673 6563 7265 74");
        let (fields, r) = decode_all(&mut d, &block, usize::MAX);
        r.unwrap();
        assert_eq!(fields, [(b"password".to_vec(), b"secret".to_vec(), true)]);
        assert_eq!(d.table().len(), 0);
    }

    #[test]
    fn rfc_c2_4_indexed() {
        let mut d = Decoder::new(4096);
        assert_eq!(ok(&mut d, &hex("82")), list(&[(":method", "GET")]));
        assert_eq!(d.table().len(), 0);
    }

    /// C.3 and C.4: the same three requests, plain and Huffman-coded, on one decoder each.
    fn requests(blocks: [&str; 3]) {
        let mut d = Decoder::new(4096);
        assert_eq!(
            ok(&mut d, &hex(blocks[0])),
            list(&[
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "/"),
                (":authority", "www.example.com"),
            ])
        );
        assert_eq!(table(&d), list(&[(":authority", "www.example.com")]));
        assert_eq!(d.table().size(), 57);

        assert_eq!(
            ok(&mut d, &hex(blocks[1])),
            list(&[
                (":method", "GET"),
                (":scheme", "http"),
                (":path", "/"),
                (":authority", "www.example.com"),
                ("cache-control", "no-cache"),
            ])
        );
        assert_eq!(
            table(&d),
            list(&[
                ("cache-control", "no-cache"),
                (":authority", "www.example.com"),
            ])
        );
        assert_eq!(d.table().size(), 110);

        assert_eq!(
            ok(&mut d, &hex(blocks[2])),
            list(&[
                (":method", "GET"),
                (":scheme", "https"),
                (":path", "/index.html"),
                (":authority", "www.example.com"),
                ("custom-key", "custom-value"),
            ])
        );
        assert_eq!(
            table(&d),
            list(&[
                ("custom-key", "custom-value"),
                ("cache-control", "no-cache"),
                (":authority", "www.example.com"),
            ])
        );
        assert_eq!(d.table().size(), 164);
    }

    /// Which fields come with their dynamic table entry: (name, the value if it does).
    fn stored_values(d: &mut Decoder, block: &[u8]) -> Vec<(String, Option<String>)> {
        let mut out = Vec::new();
        d.decode_stored(block, usize::MAX, |n, v, _, stored| {
            let value = stored.map(|_| String::from_utf8(v.to_vec()).unwrap());
            out.push((String::from_utf8(n.to_vec()).unwrap(), value));
        })
        .unwrap();
        out
    }

    #[test]
    fn dynamic_entries_come_with_their_entry() {
        let mut d = Decoder::new(4096);
        // RFC 7541 C.3.1: static fields, then :authority inserted.
        let first = hex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d");
        let www = Some("www.example.com".to_owned());
        assert_eq!(
            stored_values(&mut d, &first),
            [
                (":method".to_owned(), None),
                (":scheme".to_owned(), None),
                (":path".to_owned(), None),
                (":authority".to_owned(), www.clone()),
            ]
        );
        // C.3.2: :authority indexed from the dynamic table, cache-control inserted.
        let second = hex("8286 84be 5808 6e6f 2d63 6163 6865");
        let fields = stored_values(&mut d, &second);
        assert_eq!(fields[3], (":authority".to_owned(), www));
        assert_eq!(
            fields[4],
            ("cache-control".to_owned(), Some("no-cache".to_owned()))
        );
        // C.2.2: a literal that does not enter the table has no entry to lend.
        let not_indexed = hex("040c 2f73 616d 706c 652f 7061 7468");
        assert_eq!(
            stored_values(&mut d, &not_indexed),
            [(":path".to_owned(), None)]
        );
    }

    #[test]
    fn rfc_c3_requests_without_huffman() {
        requests([
            "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
            "8286 84be 5808 6e6f 2d63 6163 6865",
            "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
        ]);
    }

    #[test]
    fn rfc_c4_requests_with_huffman() {
        requests([
            "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
            "8286 84be 5886 a8eb 1064 9cbf",
            "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
        ]);
    }

    const DATE1: &str = "Mon, 21 Oct 2013 20:13:21 GMT";
    const DATE2: &str = "Mon, 21 Oct 2013 20:13:22 GMT";
    const LOCATION: &str = "https://www.example.com";
    const COOKIE: &str = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";

    /// C.5 and C.6: three responses with a 256-byte table, so entries are evicted.
    fn responses(blocks: [&str; 3]) {
        let mut d = Decoder::new(256);
        assert_eq!(
            ok(&mut d, &hex(blocks[0])),
            list(&[
                (":status", "302"),
                ("cache-control", "private"),
                ("date", DATE1),
                ("location", LOCATION),
            ])
        );
        assert_eq!(
            table(&d),
            list(&[
                ("location", LOCATION),
                ("date", DATE1),
                ("cache-control", "private"),
                (":status", "302"),
            ])
        );
        assert_eq!(d.table().size(), 222);

        assert_eq!(
            ok(&mut d, &hex(blocks[1])),
            list(&[
                (":status", "307"),
                ("cache-control", "private"),
                ("date", DATE1),
                ("location", LOCATION),
            ])
        );
        assert_eq!(
            table(&d),
            list(&[
                (":status", "307"),
                ("location", LOCATION),
                ("date", DATE1),
                ("cache-control", "private"),
            ])
        );
        assert_eq!(d.table().size(), 222);

        assert_eq!(
            ok(&mut d, &hex(blocks[2])),
            list(&[
                (":status", "200"),
                ("cache-control", "private"),
                ("date", DATE2),
                ("location", LOCATION),
                ("content-encoding", "gzip"),
                ("set-cookie", COOKIE),
            ])
        );
        assert_eq!(
            table(&d),
            list(&[
                ("set-cookie", COOKIE),
                ("content-encoding", "gzip"),
                ("date", DATE2),
            ])
        );
        assert_eq!(d.table().size(), 215);
    }

    #[test]
    fn rfc_c5_responses_without_huffman() {
        responses([
            "4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
             2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
             6c65 2e63 6f6d",
            "4803 3330 37c1 c0bf",
            "88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
             54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
             5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
             3d31",
        ]);
    }

    #[test]
    fn rfc_c6_responses_with_huffman() {
        responses([
            "4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
             2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3",
            "4883 640e ffc1 c0bf",
            "88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
             77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
             9587 3160 65c0 03ed 4ee5 b106 3d50 07",
        ]);
    }

    #[test]
    fn error_truncated() {
        let mut d = Decoder::new(4096);
        // Literal with a new name, then nothing.
        assert_eq!(err(&mut d, &[0x40]), DecodeError::Truncated);
        // Name present, value missing.
        assert_eq!(err(&mut d, &[0x40, 0x01, b'a']), DecodeError::Truncated);
        // Indexed name, value missing.
        assert_eq!(err(&mut d, &[0x04]), DecodeError::Truncated);
        // Integer cut inside its continuation bytes.
        assert_eq!(err(&mut d, &[0xff, 0x80]), DecodeError::Truncated);
        assert_eq!(err(&mut d, &[0x3f]), DecodeError::Truncated);
    }

    #[test]
    fn error_integer_overflow() {
        let mut d = Decoder::new(4096);
        assert_eq!(
            err(&mut d, &[0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]),
            DecodeError::IntegerOverflow
        );
        // In a string length.
        assert_eq!(
            err(&mut d, &[0x04, 0x7f, 0x80, 0x80, 0x80, 0x80, 0x01]),
            DecodeError::IntegerOverflow
        );
        // In a size update.
        assert_eq!(
            err(&mut d, &[0x3f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]),
            DecodeError::IntegerOverflow
        );
    }

    #[test]
    fn error_invalid_index() {
        let mut d = Decoder::new(4096);
        assert_eq!(err(&mut d, &[0x80]), DecodeError::InvalidIndex);
        // 62 with an empty dynamic table.
        assert_eq!(err(&mut d, &[0xbe]), DecodeError::InvalidIndex);
        // Indexed name past the end.
        assert_eq!(err(&mut d, &[0x7f, 0x00, 0x00]), DecodeError::InvalidIndex);
        assert_eq!(err(&mut d, &[0x0f, 0x2f, 0x00]), DecodeError::InvalidIndex);
        // 61 is the last static entry.
        assert_eq!(ok(&mut d, &[0xbd]), list(&[("www-authenticate", "")]));
        // After one insertion, 62 is valid and 63 is not.
        ok(&mut d, &[0x40, 0x01, b'a', 0x01, b'b']);
        assert_eq!(ok(&mut d, &[0xbe]), list(&[("a", "b")]));
        assert_eq!(err(&mut d, &[0xbf]), DecodeError::InvalidIndex);
    }

    #[test]
    fn error_invalid_huffman() {
        let mut d = Decoder::new(4096);
        // Value: Huffman, 1 byte, all ones (8 bits of padding).
        assert_eq!(
            err(&mut d, &[0x04, 0x81, 0xff]),
            DecodeError::InvalidHuffman
        );
        // Value: 'a' with 000 padding.
        assert_eq!(
            err(&mut d, &[0x04, 0x81, 0x18]),
            DecodeError::InvalidHuffman
        );
        // Name: EOS.
        assert_eq!(
            err(&mut d, &[0x00, 0x84, 0xff, 0xff, 0xff, 0xff, 0x00]),
            DecodeError::InvalidHuffman
        );
        // Rejected even once the list is too large and values are no longer kept.
        let block = [0x04, 0x01, b'a', 0x04, 0x81, 0xff];
        assert_eq!(
            decode_all(&mut d, &block, 10).1,
            Err(DecodeError::InvalidHuffman)
        );
    }

    #[test]
    fn error_string_too_long() {
        let mut d = Decoder::new(4096);
        assert_eq!(err(&mut d, &[0x04, 0x05, b'a']), DecodeError::StringTooLong);
        assert_eq!(err(&mut d, &[0x00, 0x7f, 0x00]), DecodeError::StringTooLong);
        // A declared length of 2^28 is rejected before anything is allocated.
        assert_eq!(
            err(&mut d, &[0x04, 0xff, 0xff, 0xff, 0xff, 0x7f]),
            DecodeError::StringTooLong
        );
    }

    #[test]
    fn size_updates() {
        let mut d = Decoder::new(4096);
        ok(&mut d, &[0x40, 0x01, b'a', 0x01, b'b']);
        // Two updates at the start are fine (RFC 7541 4.2: the smallest, then the final).
        assert_eq!(
            ok(&mut d, &[0x20, 0x3f, 0xe1, 0x1f, 0x82]),
            list(&[(":method", "GET")])
        );
        assert_eq!(d.table().len(), 0);
        assert_eq!(d.table().max_size(), 4096);
        // Above our setting.
        assert_eq!(
            err(&mut d, &[0x3f, 0xe2, 0x1f]),
            DecodeError::TableSizeTooLarge
        );
        // After a field.
        assert_eq!(
            err(&mut d, &[0x82, 0x20]),
            DecodeError::TableSizeUpdateNotAtStart
        );
        // A block of only an update.
        assert_eq!(ok(&mut d, &[0x3f, 0x61]), list(&[]));
        assert_eq!(d.table().max_size(), 128);
    }

    #[test]
    fn lowered_setting_requires_update() {
        let mut d = Decoder::new(4096);
        ok(&mut d, &[0x40, 0x01, b'a', 0x01, b'b']);
        // Raising needs no update.
        d.set_max_table_size(8192);
        assert_eq!(ok(&mut d, &[0xbe]), list(&[("a", "b")]));
        d.set_max_table_size(100);
        let mut d2 = Decoder::new(4096);
        d2.set_max_table_size(100);
        assert_eq!(err(&mut d2, &[0x82]), DecodeError::MissingTableSizeUpdate);
        // An update above the new setting is refused; one within it is accepted.
        assert_eq!(err(&mut d, &[0x3f, 0x46]), DecodeError::TableSizeTooLarge);
        assert_eq!(ok(&mut d, &[0x3f, 0x45, 0xbe]), list(&[("a", "b")]));
        assert_eq!(d.table().max_size(), 100);
        // Satisfied: later blocks need none.
        assert_eq!(ok(&mut d, &[0xbe]), list(&[("a", "b")]));
    }

    #[test]
    fn list_size_cap_mid_block() {
        let mut d = Decoder::new(4096);
        // "a: b" is 34 bytes, "c: d" another 34: a limit of 50 admits only the first.
        let block = [
            0x00, 0x01, b'a', 0x01, b'b', 0x00, 0x01, b'c', 0x01, b'd', 0x82,
        ];
        let (fields, r) = decode_all(&mut d, &block, 50);
        assert_eq!(r, Err(DecodeError::HeaderListTooLarge));
        assert_eq!(fields, [(b"a".to_vec(), b"b".to_vec(), false)]);
        assert!(!r.unwrap_err().is_compression_error());
        // Exactly at the limit is within it.
        let (fields, r) = decode_all(&mut d, &block, 34 + 34 + 42);
        assert_eq!((fields.len(), r), (3, Ok(())));
    }

    #[test]
    fn oversize_literal_is_not_materialised() {
        let mut d = Decoder::new(4096);
        // A 1000-byte Huffman value on a not-indexed field, limit 100: nothing kept.
        // 1600 x '0' (5 bits each) is exactly 1000 bytes.
        let mut value = Vec::new();
        huffman::encode(&[b'0'; 1600], &mut value);
        assert_eq!(value.len(), 1000);
        let mut block = vec![0x00, 0x01, b'x', 0xff, 0xe9, 0x06];
        block.extend(&value);
        let (fields, r) = decode_all(&mut d, &block, 100);
        assert_eq!((fields.len(), r), (0, Err(DecodeError::HeaderListTooLarge)));
        assert_eq!(d.value_buf.decoded.capacity(), 0);
        assert_eq!(d.value_buf.encoded.capacity(), 0);
        // With room, it decodes.
        let (fields, r) = decode_all(&mut d, &block, 4096);
        assert_eq!((fields.len(), r), (1, Ok(())));
        assert_eq!(fields[0].1, [b'0'; 1600]);
    }

    #[test]
    fn a_repeated_huffman_literal_decodes_the_same_each_time() {
        // `:path` (static name 4), not indexed, its value Huffman-coded.
        let literal = |value: &[u8]| {
            let mut coded = Vec::new();
            huffman::encode(value, &mut coded);
            let mut block = vec![0x04, 0x80 | u8::try_from(coded.len()).unwrap()];
            block.extend(coded);
            block
        };
        let path = |p: &str| vec![(":path".to_owned(), p.to_owned())];
        let mut d = Decoder::new(4096);
        let a = literal(b"/a/b.txt");
        let c = literal(b"/c");
        for (block, want) in [
            (&a, "/a/b.txt"),
            (&a, "/a/b.txt"),
            (&c, "/c"),
            (&a, "/a/b.txt"),
        ] {
            assert_eq!(ok(&mut d, block), path(want));
        }
        // Over the list's limit a remembered string is refused as the first time was.
        assert_eq!(
            decode_all(&mut d, &a, 8).1,
            Err(DecodeError::HeaderListTooLarge)
        );
        assert_eq!(ok(&mut d, &a), path("/a/b.txt"));
        // A string that does not decode is refused, and forgets the one before.
        let mut bad = vec![0x04, 0x84];
        bad.extend([0xff; 4]);
        assert!(decode_all(&mut d, &bad, usize::MAX).1.is_err());
        assert!(decode_all(&mut d, &bad, usize::MAX).1.is_err());
        assert_eq!(ok(&mut d, &a), path("/a/b.txt"));
        // Idle, the buffers are given back; the next string is decoded afresh.
        d.release_idle_memory();
        assert_eq!(d.value_buf.decoded.capacity(), 0);
        assert_eq!(d.value_buf.encoded.capacity(), 0);
        assert_eq!(ok(&mut d, &a), path("/a/b.txt"));
    }

    #[test]
    fn hpack_bomb() {
        // One 4000-byte entry in the table, then referenced 10,000 times by one byte each:
        // 40 MB of headers from 10 KB of input.
        let mut d = Decoder::new(4096);
        let mut block = vec![0x40, 0x01, b'x', 0x7f, 0xa1, 0x1e];
        block.extend([b'a'; 4000]);
        block.extend([0xbe; 10_000]);
        let mut emitted = 0usize;
        let mut calls = 0usize;
        let r = d.decode(&block, 16 * 1024, |n, v, _| {
            calls += 1;
            emitted += n.len() + v.len();
        });
        assert_eq!(r, Err(DecodeError::HeaderListTooLarge));
        // 4033 bytes per field: the literal and three references fit in 16 KiB.
        assert_eq!(calls, 4);
        assert!(emitted <= 16 * 1024);
        // Nothing grew with the repetitions: the only copy is the table's.
        assert!(d.name_buf.decoded.capacity() == 0 && d.value_buf.decoded.capacity() == 0);
        assert_eq!(d.table().len(), 1);
        // The decoder is still in step: the entry is usable by the next block.
        let (fields, r) = decode_all(&mut d, &[0xbe], 16 * 1024);
        assert_eq!((fields.len(), r), (1, Ok(())));
    }

    #[test]
    fn table_stays_in_step_after_list_too_large() {
        // The same blocks through a decoder with a tight limit and one without: after the
        // rejected block, both tables agree and later blocks decode the same.
        let first = hex("8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d");
        let second = [
            0x00, 0x01, b'a', 0x01, b'b', // not indexed, 34 bytes
            0x40, 0x01, b'c', 0x81, 0x1f, // indexed: "c: a" (Huffman), 34 bytes
            0x7e, 0x01, b'z', // indexed name 62 ("c"), value "z"
            0x40, 0x84, 0x25, 0xa8, 0x49, 0xe9, 0x01, b'v', // "custom": "v"
        ];
        let third = [0xbe, 0xbf, 0xc0, 0xc1];
        let mut tight = Decoder::new(4096);
        let mut loose = Decoder::new(4096);
        for d in [&mut tight, &mut loose] {
            ok(d, &first);
        }
        assert_eq!(
            decode_all(&mut tight, &second, 40).1,
            Err(DecodeError::HeaderListTooLarge)
        );
        ok(&mut loose, &second);
        assert_eq!(table(&tight), table(&loose));
        assert_eq!(tight.table().size(), loose.table().size());
        assert_eq!(ok(&mut tight, &third), ok(&mut loose, &third));
        assert_eq!(
            ok(&mut tight, &third),
            list(&[
                ("custom", "v"),
                ("c", "z"),
                ("c", "a"),
                (":authority", "www.example.com"),
            ])
        );
    }

    #[test]
    fn oversize_indexed_literal_empties_table() {
        let mut d = Decoder::new(100);
        ok(&mut d, &[0x40, 0x01, b'a', 0x01, b'b']);
        let mut block = vec![0x40, 0x01, b'x', 0x46];
        block.extend([b'y'; 70]);
        assert_eq!(ok(&mut d, &block).len(), 1);
        assert_eq!(d.table().len(), 0);
        // Same when the list is already over and the value is Huffman-coded.
        ok(&mut d, &[0x40, 0x01, b'a', 0x01, b'b']);
        let mut value = Vec::new();
        huffman::encode(&[b'0'; 200], &mut value);
        assert_eq!(value.len(), 125);
        let mut block = vec![0x40, 0x01, b'x', 0x80 | 125];
        block.extend(&value);
        assert_eq!(
            decode_all(&mut d, &block, 10).1,
            Err(DecodeError::HeaderListTooLarge)
        );
        assert_eq!(d.table().len(), 0);
    }

    #[test]
    fn empty_block() {
        let mut d = Decoder::new(4096);
        assert_eq!(ok(&mut d, &[]), list(&[]));
    }

    /// Garbage and mutated RFC blocks: never a panic, the table always within its bound.
    #[test]
    fn arbitrary_input_never_panics() {
        let mut x = 0x853c_49e6_748f_ea9bu64;
        let mut rand = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let seeds = [
            hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"),
            hex("8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf"),
            hex("4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81"),
        ];
        let mut d = Decoder::new(256);
        for i in 0..20_000 {
            let block: Vec<u8> = if i % 2 == 0 {
                let len = (rand() % 64) as usize;
                (0..len).map(|_| rand() as u8).collect()
            } else {
                let mut b = seeds[(rand() % 3) as usize].clone();
                let at = (rand() as usize) % b.len();
                b[at] ^= 1 << (rand() % 8);
                b
            };
            let limit = [usize::MAX, 100, 0][(rand() % 3) as usize];
            let _ = d.decode(&block, limit, |_, _, _| {});
            assert!(d.table().size() <= d.table().max_size());
            assert!(d.table().max_size() <= 256);
        }
    }

    #[test]
    fn indexed_name_evicted_by_its_own_insertion() {
        // Table of 68: "aaaa: b" (37) only; inserting "aaaa: <27 bytes>" (64) evicts the
        // entry its name came from.
        let mut d = Decoder::new(68);
        ok(&mut d, &[0x40, 0x04, b'a', b'a', b'a', b'a', 0x01, b'b']);
        let mut block = vec![0x7e, 0x1b];
        block.extend([b'c'; 27]);
        let fields = ok(&mut d, &block);
        assert_eq!(fields[0].0, "aaaa");
        assert_eq!(table(&d), list(&[("aaaa", &"c".repeat(27))]));
    }
}
