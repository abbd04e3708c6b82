//! Header block encoding (RFC 7541 4, 5, 6) for our responses.
//!
//! Choices, field by field: a full static or dynamic match is one index; otherwise the name
//! is indexed when either table has it, and the value is a literal, Huffman-coded when that
//! is shorter. A literal enters the dynamic table only when it is likely to repeat and small
//! enough not to flush the table (see [`Encoder::encode_field`]); credentials are sent as
//! never-indexed literals so that no intermediary stores them (RFC 7541 7.1.3).

use bytes::{BufMut, BytesMut};
use http::{header, HeaderMap, HeaderName, StatusCode};

use super::repeat::LastBlock;
use super::table::{
    entry_size, field_hash, static_exact, static_name_index, DynamicTable, STATIC_LEN, STATIC_TABLE,
};
use super::{huffman, DEFAULT_TABLE_SIZE};
use crate::proto::decimal;
use crate::proto::shared_fields::SharedFields;

/// The most our encoder's dynamic table holds, whatever larger size the peer allows:
/// memory per connection stays bounded, and the protocol default already holds a
/// response's repeating fields many times over.
pub(crate) const ENCODER_TABLE_CAP: usize = 4096;

/// A literal is indexed only if its entry takes at most this fraction of the table, so
/// one large value cannot evict everything that was worth keeping.
const MAX_INDEXED_FRACTION: usize = 4;

/// Fields whose value changes from one response to the next: indexing them would only churn
/// the table.
///
/// `date`, `etag` and `last-modified` are not among them: a date is the same for every
/// response within its second (hundreds or thousands on a busy connection), and a file's
/// validators are the same for every answer with that file. Indexed, each is one byte
/// after its first use instead of a Huffman-coded literal every time; a new date each
/// second costs one 65-byte entry, evicted in turn.
const VOLATILE: [&[u8]; 4] = [b"content-length", b"expires", b"age", b"content-range"];

/// Credentials: always never-indexed literals (RFC 7541 7.1.3), so neither our table nor an
/// intermediary's holds them where a compression oracle could probe.
const NEVER_INDEXED: [&[u8]; 4] = [
    b"authorization",
    b"proxy-authorization",
    b"cookie",
    b"set-cookie",
];

/// Connection-specific fields, which HTTP/2 forbids (RFC 9113 8.2.2): dropped here, so a
/// handler that sets them for HTTP/1.1 cannot make a malformed HTTP/2 response.
pub(crate) fn is_connection_specific(name: &HeaderName) -> bool {
    // The standard names compare as enum tags; the two others only by length first.
    *name == header::CONNECTION
        || *name == header::TRANSFER_ENCODING
        || *name == header::UPGRADE
        || name.as_str() == "keep-alive"
        || name.as_str() == "proxy-connection"
}

/// A [`STATIC_NAME_CLASS`] bit: the name is in [`VOLATILE`].
const NAME_IS_VOLATILE: u8 = 1;
/// A [`STATIC_NAME_CLASS`] bit: the name is in [`NEVER_INDEXED`].
const NAME_IS_NEVER_INDEXED: u8 = 2;

/// What [`VOLATILE`] and [`NEVER_INDEXED`] say of each static entry's name, by index, so
/// that a field's class is one load once its name has been found in the static table (all
/// the names of both lists are static-table names; a test holds to that).
static STATIC_NAME_CLASS: [u8; STATIC_LEN + 1] = {
    let mut class = [0u8; STATIC_LEN + 1];
    let mut i = 0;
    while i < STATIC_LEN {
        let name = STATIC_TABLE[i].0;
        if listed(&VOLATILE, name) {
            class[i + 1] |= NAME_IS_VOLATILE;
        }
        if listed(&NEVER_INDEXED, name) {
            class[i + 1] |= NAME_IS_NEVER_INDEXED;
        }
        i += 1;
    }
    class
};

const fn listed(list: &[&[u8]], name: &[u8]) -> bool {
    let mut i = 0;
    while i < list.len() {
        let entry = list[i];
        if entry.len() == name.len() {
            let mut j = 0;
            while j < name.len() && entry[j] == name[j] {
                j += 1;
            }
            if j == name.len() {
                return true;
            }
        }
        i += 1;
    }
    false
}

/// Fields the server adds to a response unless the handler set them itself (the handler's
/// own wins, as over HTTP/1.1). Passed beside the handler's map rather than inserted into
/// it: no map grows and no value is re-validated per response.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ServerFields<'a> {
    /// An IMF-fixdate; empty: no `date` (RFC 9110 6.6.1: a server without a clock).
    pub(crate) date: &'a [u8],
    /// The `server` value; empty: none.
    pub(crate) server: &'a [u8],
    /// The body's length, when known and the status allows one.
    pub(crate) content_length: Option<u64>,
    /// Fields made once for many responses (a cached file's), encoded after the handler's
    /// map; they never hold a field named above or a connection-specific one.
    pub(crate) shared: Option<&'a SharedFields>,
}

/// Appends an integer with a `prefix_bits`-bit prefix (RFC 7541 5.1); `flags` fills the
/// bits of the first byte above the prefix.
pub(super) fn encode_int(value: usize, prefix_bits: u8, flags: u8, out: &mut impl BufMut) {
    let max = (1usize << prefix_bits) - 1;
    if value < max {
        out.put_u8(flags | value as u8);
        return;
    }
    out.put_u8(flags | max as u8);
    let mut rest = value - max;
    while rest >= 0x80 {
        out.put_u8((rest & 0x7f) as u8 | 0x80);
        rest >>= 7;
    }
    out.put_u8(rest as u8);
}

/// Appends a string literal (RFC 7541 5.2), Huffman-coded when that is shorter.
fn encode_string(s: &[u8], out: &mut impl BufMut) {
    let coded = huffman::encoded_len(s);
    if coded < s.len() {
        encode_int(coded, 7, 0x80, out);
        huffman::encode(s, out);
    } else {
        encode_int(s.len(), 7, 0, out);
        out.put_slice(s);
    }
}

/// Size updates owed at the start of the next block (RFC 7541 4.2): the smallest maximum
/// since the last block, then the final one.
#[derive(Debug, Clone, Copy)]
struct PendingUpdate {
    min: usize,
    last: usize,
}

/// Which of [`ServerFields`]' fields a handler's map set itself.
#[derive(Debug, Default, Clone, Copy)]
struct SetByHandler {
    content_length: bool,
    date: bool,
    server: bool,
}

/// Slots of [`RecentHits`].
const RECENT_SLOTS: usize = 16;

/// Where fields were last found whole in the dynamic table, by their hashes: a response's
/// fields mostly repeat the previous response's, and a hit here (checked byte for byte)
/// spares the scan of the whole table.
#[derive(Debug, Default)]
struct RecentHits {
    /// `(hashes of name and value, entry number + 1)`; 0 marks an empty slot.
    slots: [(u64, u64); RECENT_SLOTS],
}

/// Encodes our header blocks, keeping the dynamic table the peer's decoder mirrors.
#[derive(Debug)]
pub(crate) struct Encoder {
    table: DynamicTable,
    pending: Option<PendingUpdate>,
    /// Made at the first whole match: a connection that has answered at most once does
    /// not carry it.
    recent: Option<Box<RecentHits>>,
    /// The last response block that left the table unchanged, to send again for the same
    /// response; made at the first such block, given back when the connection goes idle.
    last: Option<Box<LastBlock>>,
}

impl Default for Encoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Encoder {
    /// An encoder with the protocol's initial table size, 4096 (RFC 9113 6.5.2), which both
    /// sides assume until the peer's SETTINGS say otherwise.
    pub(crate) fn new() -> Self {
        Self::with_table_size(DEFAULT_TABLE_SIZE.min(ENCODER_TABLE_CAP))
    }

    /// An encoder whose table starts at `size` without signalling it: only right when the
    /// peer's decoder starts there too (the RFC 7541 Appendix C examples do).
    fn with_table_size(size: usize) -> Self {
        Encoder {
            table: DynamicTable::new(size),
            pending: None,
            recent: None,
            last: None,
        }
    }

    /// The peer's SETTINGS_HEADER_TABLE_SIZE changed. Our table shrinks or grows within it
    /// (up to [`ENCODER_TABLE_CAP`]), and the next block opens with the size update(s)
    /// RFC 7541 4.2 and 6.3 require. Call it between blocks.
    pub(crate) fn set_max_table_size(&mut self, size: usize) {
        let size = size.min(ENCODER_TABLE_CAP);
        match &mut self.pending {
            Some(p) => {
                p.min = p.min.min(size);
                p.last = size;
            }
            None if size != self.table.max_size() => {
                self.pending = Some(PendingUpdate {
                    min: size,
                    last: size,
                });
            }
            None => {}
        }
    }

    /// Drops the cache of recent matches and the last block (both remade when needed): an
    /// idle connection keeps only the table, which it shares with the peer.
    pub(crate) fn release_idle_memory(&mut self) {
        self.recent = None;
        self.last = None;
    }

    /// The dynamic table as the peer's decoder will have it after our last block.
    #[cfg(test)]
    pub(crate) fn table(&self) -> &DynamicTable {
        &self.table
    }

    /// Encodes a response header block into `out`: `:status` first, then `headers` in
    /// their map order, then those of `added` the map does not have. Connection-specific
    /// fields (RFC 9113 8.2.2) are left out;
    /// [`HeaderValue::set_sensitive`](http::HeaderValue::set_sensitive) marks a value to be
    /// sent never-indexed.
    pub(crate) fn encode_response(
        &mut self,
        status: StatusCode,
        headers: &HeaderMap,
        added: &ServerFields<'_>,
        out: &mut BytesMut,
    ) {
        // A size update owed makes this block unlike any before it.
        let before = self.pending.is_none().then(|| self.table.state());
        if let (Some(table), Some(last)) = (before, &self.last) {
            if let Some(block) = last.replay(table, status, headers, added) {
                out.extend_from_slice(block);
                return;
            }
        }
        let start = out.len();
        self.encode_response_fields(status, headers, added, out);
        if let Some(table) = before.filter(|&t| t == self.table.state()) {
            self.last.get_or_insert_with(Box::default).remember(
                table,
                status,
                headers,
                added,
                &out[start..],
            );
        }
    }

    /// [`Encoder::encode_response`] field by field.
    fn encode_response_fields(
        &mut self,
        status: StatusCode,
        headers: &HeaderMap,
        added: &ServerFields<'_>,
        out: &mut BytesMut,
    ) {
        self.begin_block(out);
        self.field(b":status", status.as_str().as_bytes(), false, out);
        let set = self.fields(headers, out);
        if let Some(shared) = added.shared {
            self.fields(shared.map(), out);
        }
        if let Some(n) = added.content_length {
            if !set.content_length {
                let mut digits = [0u8; 20];
                self.field(b"content-length", decimal(n, &mut digits), false, out);
            }
        }
        if !added.date.is_empty() && !set.date {
            self.field(b"date", added.date, false, out);
        }
        if !added.server.is_empty() && !set.server {
            self.field(b"server", added.server, false, out);
        }
    }

    /// Encodes a trailer block (fields without pseudo-headers) into `out`.
    pub(crate) fn encode_trailers(&mut self, headers: &HeaderMap, out: &mut BytesMut) {
        self.begin_block(out);
        self.fields(headers, out);
    }

    /// Encodes one field into `out` as part of a block being built; a pending size update
    /// is written first if this is the block's first field.
    ///
    /// A literal is added to the dynamic table when its name is not in [`VOLATILE`] (a
    /// length changes every response and would only churn the table) and its entry
    /// takes at most a quarter of the table. `sensitive` fields, and credential fields
    /// (authorization, cookie, set-cookie ...) always, are never-indexed literals.
    #[cfg(any(test, feature = "fuzzing"))]
    pub(crate) fn encode_field(
        &mut self,
        name: &[u8],
        value: &[u8],
        sensitive: bool,
        out: &mut BytesMut,
    ) {
        self.begin_block(out);
        self.field(name, value, sensitive, out);
    }

    fn begin_block(&mut self, out: &mut BytesMut) {
        if let Some(p) = self.pending.take() {
            if p.min < p.last {
                encode_int(p.min, 5, 0x20, out);
                self.table.set_max_size(p.min);
            }
            encode_int(p.last, 5, 0x20, out);
            self.table.set_max_size(p.last);
        }
    }

    /// Encodes the map's fields and tells which of [`ServerFields`]' it held (noted on the
    /// way rather than looked up again afterwards).
    fn fields(&mut self, headers: &HeaderMap, out: &mut BytesMut) -> SetByHandler {
        let mut set = SetByHandler::default();
        for (name, value) in headers {
            if is_connection_specific(name) {
                tracing::debug!(%name, "connection-specific header not sent over HTTP/2");
                continue;
            }
            // Standard names: each comparison is one of their tags.
            set.content_length |= *name == header::CONTENT_LENGTH;
            set.date |= *name == header::DATE;
            set.server |= *name == header::SERVER;
            self.field(
                name.as_str().as_bytes(),
                value.as_bytes(),
                value.is_sensitive(),
                out,
            );
        }
        set
    }

    fn field(&mut self, name: &[u8], value: &[u8], sensitive: bool, out: &mut BytesMut) {
        // Room for the worst case (both strings literal, lengths up to 5 bytes each) in one
        // reservation rather than a check per Huffman byte.
        out.reserve(name.len() + value.len() + 16);
        let static_name = static_name_index(name);
        let class = static_name.map_or(0, |i| STATIC_NAME_CLASS[i]);
        let sensitive = sensitive || class & NAME_IS_NEVER_INDEXED != 0;
        if !sensitive {
            if let Some(index) = static_name.and_then(|first| static_exact(first, name, value)) {
                encode_int(index, 7, 0x80, out);
                return;
            }
        }
        // We never index volatile or never-indexed names, so our table cannot hold them.
        let in_dynamic = if class == 0 {
            self.dynamic_find(name, value)
                .map(|(i, exact)| (STATIC_LEN + 1 + i, exact))
        } else {
            None
        };
        if let Some((index, true)) = in_dynamic {
            if !sensitive {
                encode_int(index, 7, 0x80, out);
                return;
            }
        }
        let name_index = static_name.or(in_dynamic.map(|(index, _)| index));
        if sensitive {
            literal(0x10, 4, name_index, name, value, out);
        } else if class & NAME_IS_VOLATILE == 0
            && entry_size(name.len(), value.len()) <= self.table.max_size() / MAX_INDEXED_FRACTION
        {
            literal(0x40, 6, name_index, name, value, out);
            self.table.insert(name, value);
        } else {
            literal(0, 4, name_index, name, value, out);
        }
    }
}

impl Encoder {
    /// [`DynamicTable::find`], trying first where the same field was found last time.
    fn dynamic_find(&mut self, name: &[u8], value: &[u8]) -> Option<(usize, bool)> {
        let (name_hash, value_hash) = (field_hash(name), field_hash(value));
        let key = u64::from(name_hash) << 32 | u64::from(value_hash);
        let slot = (name_hash ^ value_hash) as usize % RECENT_SLOTS;
        if let Some(recent) = &self.recent {
            let (seen, number) = recent.slots[slot];
            if seen == key && number != 0 {
                if let Some(i) = self.table.position_of(number - 1) {
                    if self.table.get(i) == Some((name, value)) {
                        return Some((i, true));
                    }
                }
            }
        }
        let found = self.table.find_hashed(name, value, name_hash, value_hash);
        if let Some((i, true)) = found {
            // Made at the first whole match, so a response made only of literals (a
            // connection's first) does not pay for it.
            let recent = self.recent.get_or_insert_with(Box::default);
            recent.slots[slot] = (key, self.table.number_of(i).wrapping_add(1));
        }
        found
    }
}

/// A literal field representation (RFC 7541 6.2): `flags` and `prefix_bits` select the
/// kind; the name is an index when one is given.
fn literal(
    flags: u8,
    prefix_bits: u8,
    name_index: Option<usize>,
    name: &[u8],
    value: &[u8],
    out: &mut BytesMut,
) {
    match name_index {
        Some(index) => encode_int(index, prefix_bits, flags, out),
        None => {
            encode_int(0, prefix_bits, flags, out);
            encode_string(name, out);
        }
    }
    encode_string(value, out);
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::super::{DecodeError, Decoder};
    use super::*;

    use crate::proto::h2::hpack::hex;

    type Fields = Vec<(Vec<u8>, Vec<u8>, bool)>;

    fn decode(d: &mut Decoder, block: &[u8]) -> Result<Fields, DecodeError> {
        let mut out = Vec::new();
        d.decode(block, usize::MAX, |n, v, s| {
            out.push((n.to_vec(), v.to_vec(), s))
        })?;
        Ok(out)
    }

    fn same_tables(e: &Encoder, d: &Decoder) {
        let et: Vec<_> = e.table().iter().collect();
        let dt: Vec<_> = d.table().iter().collect();
        assert_eq!(et, dt);
        assert_eq!(e.table().size(), d.table().size());
        assert_eq!(e.table().max_size(), d.table().max_size());
    }

    #[test]
    fn integers_rfc_c1() {
        let mut out = Vec::new();
        encode_int(10, 5, 0xe0, &mut out);
        assert_eq!(out, [0b1110_1010]);
        out.clear();
        encode_int(1337, 5, 0, &mut out);
        assert_eq!(out, [0b0001_1111, 0b1001_1010, 0b0000_1010]);
        out.clear();
        encode_int(42, 8, 0, &mut out);
        assert_eq!(out, [42]);
        // Exactly the prefix maximum needs a zero continuation byte.
        out.clear();
        encode_int(31, 5, 0, &mut out);
        assert_eq!(out, [0x1f, 0x00]);
    }

    #[test]
    fn integers_round_trip() {
        for prefix in 1..=8u8 {
            for value in (0..2000).chain([1 << 20, (1 << 28) - 1]) {
                let mut out = Vec::new();
                encode_int(value, prefix, 0, &mut out);
                let mut b: &[u8] = &out;
                assert_eq!(super::super::decoder::decode_int(&mut b, prefix), Ok(value));
                assert!(b.is_empty());
            }
        }
    }

    /// C.4: our choices for these requests are exactly the RFC's.
    #[test]
    fn rfc_c4_requests_encode_exactly() {
        let requests: [(&[(&str, &str)], &str); 3] = [
            (
                &[
                    (":method", "GET"),
                    (":scheme", "http"),
                    (":path", "/"),
                    (":authority", "www.example.com"),
                ],
                "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
            ),
            (
                &[
                    (":method", "GET"),
                    (":scheme", "http"),
                    (":path", "/"),
                    (":authority", "www.example.com"),
                    ("cache-control", "no-cache"),
                ],
                "8286 84be 5886 a8eb 1064 9cbf",
            ),
            (
                &[
                    (":method", "GET"),
                    (":scheme", "https"),
                    (":path", "/index.html"),
                    (":authority", "www.example.com"),
                    ("custom-key", "custom-value"),
                ],
                "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
            ),
        ];
        let mut e = Encoder::new();
        let mut d = Decoder::new(4096);
        for (fields, expected) in requests {
            let mut out = BytesMut::new();
            for (n, v) in fields {
                e.encode_field(n.as_bytes(), v.as_bytes(), false, &mut out);
            }
            assert_eq!(out[..], hex(expected)[..]);
            decode(&mut d, &out).unwrap();
            same_tables(&e, &d);
        }
        assert_eq!(e.table().size(), 164);
    }

    /// C.5 / C.6 header lists with a 256-byte table: round trip, tables in step.
    #[test]
    fn rfc_c5_c6_responses_round_trip() {
        let date1 = "Mon, 21 Oct 2013 20:13:21 GMT";
        let date2 = "Mon, 21 Oct 2013 20:13:22 GMT";
        let cookie = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";
        let lists: [(u16, Vec<(&str, &str)>); 3] = [
            (
                302,
                vec![
                    ("cache-control", "private"),
                    ("date", date1),
                    ("location", "https://www.example.com"),
                ],
            ),
            (
                307,
                vec![
                    ("cache-control", "private"),
                    ("date", date1),
                    ("location", "https://www.example.com"),
                ],
            ),
            (
                200,
                vec![
                    ("cache-control", "private"),
                    ("date", date2),
                    ("location", "https://www.example.com"),
                    ("content-encoding", "gzip"),
                    ("set-cookie", cookie),
                ],
            ),
        ];
        let mut e = Encoder::with_table_size(256);
        let mut d = Decoder::new(256);
        for (status, fields) in lists {
            let mut map = HeaderMap::new();
            for (n, v) in &fields {
                map.append(*n, HeaderValue::from_str(v).unwrap());
            }
            let mut out = BytesMut::new();
            e.encode_response(
                StatusCode::from_u16(status).unwrap(),
                &map,
                &ServerFields::default(),
                &mut out,
            );
            let got = decode(&mut d, &out).unwrap();
            let status = status.to_string();
            let mut want = vec![(":status", status.as_str())];
            want.extend(fields.iter().copied());
            let got: Vec<(&str, &str)> = got
                .iter()
                .map(|(n, v, _)| {
                    (
                        core::str::from_utf8(n).unwrap(),
                        core::str::from_utf8(v).unwrap(),
                    )
                })
                .collect();
            assert_eq!(got, want);
            same_tables(&e, &d);
        }
        // C.6.1's first two fields, where our choices and the RFC's coincide.
        let mut e = Encoder::with_table_size(256);
        let mut map = HeaderMap::new();
        map.insert("cache-control", HeaderValue::from_static("private"));
        let mut out = BytesMut::new();
        e.encode_response(StatusCode::FOUND, &map, &ServerFields::default(), &mut out);
        assert_eq!(out[..], hex("4882 6402 5885 aec3 771a 4b")[..]);
    }

    #[test]
    fn response_choices() {
        let mut e = Encoder::new();
        let mut map = HeaderMap::new();
        map.insert("content-type", HeaderValue::from_static("text/html"));
        map.insert(
            "date",
            HeaderValue::from_static("Mon, 21 Oct 2013 20:13:21 GMT"),
        );
        map.insert("content-length", HeaderValue::from_static("1234"));
        map.insert("set-cookie", HeaderValue::from_static("id=1"));
        let mut token = HeaderValue::from_static("secret");
        token.set_sensitive(true);
        map.insert("x-token", token);
        map.insert("connection", HeaderValue::from_static("keep-alive"));
        map.insert("transfer-encoding", HeaderValue::from_static("chunked"));

        let mut first = BytesMut::new();
        e.encode_response(StatusCode::OK, &map, &ServerFields::default(), &mut first);
        // :status 200 is static index 8; content-type is indexed by name (31) and added.
        assert_eq!(first[..2], [0x88, 0x5f]);
        let mut second = BytesMut::new();
        e.encode_response(StatusCode::OK, &map, &ServerFields::default(), &mut second);
        // Now content-type: text/html and the date are one byte each (62 is the newest
        // entry, the date; 63 content-type); the length and the credentials are literals
        // again.
        assert_eq!(second[..3], [0x88, 0xbf, 0xbe]);
        assert_eq!(e.table().len(), 2);
        assert!(second.len() < first.len());

        let mut d = Decoder::new(4096);
        for block in [&first, &second] {
            let fields = decode(&mut d, block).unwrap();
            let names: Vec<&[u8]> = fields.iter().map(|f| &f.0[..]).collect();
            assert_eq!(
                names,
                [
                    &b":status"[..],
                    b"content-type",
                    b"date",
                    b"content-length",
                    b"set-cookie",
                    b"x-token",
                ]
            );
            let sensitive: Vec<bool> = fields.iter().map(|f| f.2).collect();
            assert_eq!(sensitive, [false, false, false, false, true, true]);
        }
        same_tables(&e, &d);
    }

    /// The server's fields follow the handler's, each only when the handler did not set it;
    /// connection-specific fields never leave.
    #[test]
    fn server_fields_are_added_unless_the_handler_set_them() {
        let added = ServerFields {
            date: b"Mon, 21 Oct 2013 20:13:21 GMT",
            server: b"gust",
            content_length: Some(1234567),
            shared: None,
        };
        let mut e = Encoder::new();
        let mut d = Decoder::new(4096);
        let names_values = |fields: Fields| -> Vec<(String, String)> {
            fields
                .into_iter()
                .map(|(n, v, _)| (String::from_utf8(n).unwrap(), String::from_utf8(v).unwrap()))
                .collect()
        };
        let pair = |n: &str, v: &str| (n.to_owned(), v.to_owned());

        let mut map = HeaderMap::new();
        map.insert("content-type", HeaderValue::from_static("text/plain"));
        map.insert("connection", HeaderValue::from_static("close"));
        map.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        let mut out = BytesMut::new();
        e.encode_response(StatusCode::OK, &map, &added, &mut out);
        assert_eq!(
            names_values(decode(&mut d, &out).unwrap()),
            [
                pair(":status", "200"),
                pair("content-type", "text/plain"),
                pair("content-length", "1234567"),
                pair("date", "Mon, 21 Oct 2013 20:13:21 GMT"),
                pair("server", "gust"),
            ]
        );

        let mut map = HeaderMap::new();
        map.insert("server", HeaderValue::from_static("custom/1"));
        map.insert(
            "date",
            HeaderValue::from_static("Tue, 22 Oct 2013 00:00:00 GMT"),
        );
        map.insert("content-length", HeaderValue::from_static("0"));
        out.clear();
        e.encode_response(StatusCode::OK, &map, &added, &mut out);
        assert_eq!(
            names_values(decode(&mut d, &out).unwrap()),
            [
                pair(":status", "200"),
                pair("server", "custom/1"),
                pair("date", "Tue, 22 Oct 2013 00:00:00 GMT"),
                pair("content-length", "0"),
            ]
        );
        same_tables(&e, &d);
    }

    /// A response answered again is its last block again: byte for byte what encoding it
    /// afresh gives, and the peer's table stays in step, across new dates, a size update
    /// and other responses in between.
    #[test]
    fn repeated_responses_replay_their_last_block() {
        let fields = |pairs: &[(&'static str, &'static str)]| {
            let mut m = HeaderMap::new();
            for (n, v) in pairs {
                m.append(*n, HeaderValue::from_static(v));
            }
            m
        };
        let file = fields(&[
            ("content-type", "text/plain"),
            ("etag", "\"d-5f3a\""),
            ("last-modified", "Mon, 21 Oct 2013 20:13:21 GMT"),
            ("vary", "accept-encoding"),
        ]);
        let other = fields(&[("content-type", "text/html"), ("cache-control", "no-cache")]);
        let dates: [&[u8]; 2] = [
            b"Tue, 22 Oct 2013 10:00:00 GMT",
            b"Tue, 22 Oct 2013 10:00:01 GMT",
        ];
        let mut replaying = Encoder::new();
        let mut fresh = Encoder::new();
        let mut d = Decoder::new(4096);
        let mut replayed = 0;
        for round in 0..60 {
            if round == 30 {
                for size in [1024, 4096] {
                    replaying.set_max_table_size(size);
                    fresh.set_max_table_size(size);
                    d.set_max_table_size(size);
                }
            }
            let (status, headers) = if round % 7 == 3 {
                (StatusCode::NOT_FOUND, &other)
            } else {
                (StatusCode::OK, &file)
            };
            let added = ServerFields {
                date: dates[round / 10 % 2],
                server: b"gust",
                content_length: Some(13),
                shared: None,
            };
            let table = replaying.table.state();
            replayed += usize::from(
                replaying.pending.is_none()
                    && replaying
                        .last
                        .as_ref()
                        .is_some_and(|l| l.replay(table, status, headers, &added).is_some()),
            );
            let mut block = BytesMut::new();
            replaying.encode_response(status, headers, &added, &mut block);
            fresh.release_idle_memory();
            let mut afresh = BytesMut::new();
            fresh.encode_response(status, headers, &added, &mut afresh);
            assert_eq!(block, afresh, "round {round}");
            let got = decode(&mut d, &block).unwrap();
            assert_eq!(got.len(), 1 + headers.len() + 3, "round {round}");
            same_tables(&replaying, &d);
        }
        // The file's answer repeats in all but its first rounds after a change of date,
        // table size or response.
        assert!(replayed >= 25, "replayed {replayed} blocks");
    }

    /// Fields found through the recent hits stay right while the entries they point at
    /// move down the table and are evicted.
    #[test]
    fn recent_hits_follow_entries_and_evictions() {
        // 256 bytes: about five of these entries.
        let mut e = Encoder::with_table_size(256);
        let mut d = Decoder::new(256);
        for round in 0..40u32 {
            let fresh = format!("x-{round}");
            let fields: [(&[u8], &[u8]); 4] = [
                (b"x-steady", b"same every time"),
                (fresh.as_bytes(), b"v"),
                (b"x-pair", if round % 3 == 0 { b"a" } else { b"b" }),
                (b"x-steady", b"same every time"),
            ];
            let mut out = BytesMut::new();
            for (n, v) in fields {
                e.encode_field(n, v, false, &mut out);
            }
            let got = decode(&mut d, &out).unwrap();
            let want: Vec<(Vec<u8>, Vec<u8>, bool)> = fields
                .iter()
                .map(|(n, v)| (n.to_vec(), v.to_vec(), false))
                .collect();
            assert_eq!(got, want, "round {round}");
            same_tables(&e, &d);
        }
    }

    /// The class table is only right if every listed name is a static-table name.
    #[test]
    fn classified_names_are_static_names() {
        for name in VOLATILE.iter().chain(NEVER_INDEXED.iter()) {
            let index = static_name_index(name).expect("a static-table name");
            assert_ne!(STATIC_NAME_CLASS[index], 0);
        }
        let classified = STATIC_NAME_CLASS.iter().filter(|&&c| c != 0).count();
        assert_eq!(classified, VOLATILE.len() + NEVER_INDEXED.len());
    }

    #[test]
    fn uncommon_status_is_indexed() {
        let mut e = Encoder::new();
        let mut out = BytesMut::new();
        e.encode_response(
            StatusCode::IM_A_TEAPOT,
            &HeaderMap::new(),
            &ServerFields::default(),
            &mut out,
        );
        assert_eq!(out[0], 0x48);
        out.clear();
        e.encode_response(
            StatusCode::IM_A_TEAPOT,
            &HeaderMap::new(),
            &ServerFields::default(),
            &mut out,
        );
        assert_eq!(out[..], [0xbe]);
    }

    #[test]
    fn large_values_are_not_indexed() {
        let mut e = Encoder::new();
        let mut out = BytesMut::new();
        e.encode_field(b"x-big", &[b'a'; 1100], false, &mut out);
        assert_eq!(out[0], 0x00);
        assert_eq!(e.table().len(), 0);
        e.encode_field(b"x-small", &[b'a'; 900], false, &mut out);
        assert_eq!(e.table().len(), 1);
    }

    #[test]
    fn size_updates_are_signalled() {
        let mut e = Encoder::new();
        let mut d = Decoder::new(4096);
        let mut out = BytesMut::new();
        e.encode_field(b"x-a", b"1", false, &mut out);
        decode(&mut d, &out).unwrap();

        // Lowered to 0 then restored: both the minimum and the final size (RFC 7541 4.2).
        e.set_max_table_size(0);
        e.set_max_table_size(4096);
        d.set_max_table_size(0);
        d.set_max_table_size(4096);
        out.clear();
        e.encode_field(b":method", b"GET", false, &mut out);
        assert_eq!(out[..], [0x20, 0x3f, 0xe1, 0x1f, 0x82]);
        decode(&mut d, &out).unwrap();
        same_tables(&e, &d);
        assert_eq!(e.table().len(), 0);

        e.set_max_table_size(256);
        d.set_max_table_size(256);
        out.clear();
        e.encode_field(b":method", b"GET", false, &mut out);
        assert_eq!(out[..], [0x3f, 0xe1, 0x01, 0x82]);
        decode(&mut d, &out).unwrap();

        // Larger than our cap: the table stays at the cap, and changes nothing if already
        // there.
        e.set_max_table_size(1 << 20);
        d.set_max_table_size(1 << 20);
        out.clear();
        e.encode_field(b":method", b"GET", false, &mut out);
        assert_eq!(out[..], [0x3f, 0xe1, 0x1f, 0x82]);
        decode(&mut d, &out).unwrap();
        e.set_max_table_size(8192);
        out.clear();
        e.encode_field(b":method", b"GET", false, &mut out);
        assert_eq!(out[..], [0x82]);
        same_tables(&e, &d);
    }

    #[test]
    fn table_memory_is_bounded() {
        let mut e = Encoder::new();
        e.set_max_table_size(usize::MAX);
        let mut out = BytesMut::new();
        for i in 0..1000 {
            e.encode_field(format!("x-{i}").as_bytes(), &[b'v'; 200], false, &mut out);
            assert!(e.table().size() <= ENCODER_TABLE_CAP);
        }
        assert_eq!(e.table().max_size(), ENCODER_TABLE_CAP);
    }

    /// Random-ish responses through an encoder and a decoder, with the table size changed
    /// between blocks: every block decodes to what was encoded, and the tables agree.
    #[test]
    fn random_round_trip_with_table_size_changes() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut rand = move |n: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed >> 16) as usize % n
        };
        let names = [
            "content-type",
            "server",
            "cache-control",
            "vary",
            "date",
            "content-length",
            "etag",
            "location",
            "set-cookie",
            "authorization",
            "x-custom",
            "x-trace-id",
            "access-control-allow-origin",
            "connection",
        ];
        let statuses = [200, 204, 206, 301, 302, 304, 400, 404, 418, 431, 500, 503];
        let sizes = [0, 40, 64, 256, 1000, 4096, 8192, 65536];
        let mut e = Encoder::new();
        let mut d = Decoder::new(4096);
        for round in 0..500 {
            if rand(4) == 0 {
                for _ in 0..1 + rand(3) {
                    let size = sizes[rand(sizes.len())];
                    e.set_max_table_size(size);
                    d.set_max_table_size(size);
                }
            }
            let mut map = HeaderMap::new();
            for _ in 0..rand(12) {
                let name = names[rand(names.len())];
                let len = if rand(20) == 0 {
                    500 + rand(3000)
                } else {
                    rand(40)
                };
                let value: Vec<u8> = (0..len)
                    .map(|_| match rand(10) {
                        0 => 0x80 + rand(128) as u8,
                        1 => b'\t',
                        // A small alphabet so values repeat and get indexed.
                        2..=6 => b"abc/=; "[rand(7)],
                        _ => 0x20 + rand(95) as u8,
                    })
                    .collect();
                map.append(name, HeaderValue::from_bytes(&value).unwrap());
            }
            let status = StatusCode::from_u16(statuses[rand(statuses.len())]).unwrap();
            let mut out = BytesMut::new();
            e.encode_response(status, &map, &ServerFields::default(), &mut out);
            let got = decode(&mut d, &out).unwrap_or_else(|err| panic!("round {round}: {err}"));

            let mut want = vec![(b":status".to_vec(), status.as_str().as_bytes().to_vec())];
            want.extend(
                map.iter()
                    .filter(|(n, _)| *n != http::header::CONNECTION)
                    .map(|(n, v)| (n.as_str().as_bytes().to_vec(), v.as_bytes().to_vec())),
            );
            let got: Vec<_> = got.into_iter().map(|(n, v, _)| (n, v)).collect();
            assert_eq!(got, want, "round {round}");
            same_tables(&e, &d);
        }
    }
}
