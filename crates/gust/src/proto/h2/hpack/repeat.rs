//! The encoder's memory of its last response block, to send the same bytes again for the
//! same response.
//!
//! A busy connection answers the same few responses over and over (a file's fields, the
//! date of this second, the server's name), and once their fields are in the dynamic table
//! their block is a row of indexes that does not change the table. Encoding it again costs a
//! static-name probe, two hashes and a comparison per field; checking that the response is
//! the last one again is one comparison per field, and the block is then copied as it is.
//!
//! The block is the same bytes only if the table is the same, so it is kept only when
//! encoding it left the table as it found it, and used only while the table is still in
//! that state ([`TableState`]).
//!
//! Shared fields (a cached file's) are compared by identity, not byte by byte: the block
//! holds a reference to the ones it was made with, so they cannot be freed and others made
//! in their place while it is kept.

use http::{HeaderMap, StatusCode};

use super::encoder::ServerFields;
use super::table::TableState;
use crate::proto::decimal;
use crate::proto::shared_fields::SharedFields;

/// A response block and the inputs it was encoded from.
#[derive(Debug, Default)]
pub(super) struct LastBlock {
    /// The inputs as length-prefixed pieces, in the order [`walk`] visits them.
    input: Vec<u8>,
    block: Vec<u8>,
    /// The table the block was encoded against, and left unchanged.
    table: TableState,
    /// The shared fields the block was made with.
    shared: Option<SharedFields>,
}

impl LastBlock {
    /// The block to send again, if the table is still as it was and the response is the
    /// one the block was made from.
    pub(super) fn replay(
        &self,
        table: TableState,
        status: StatusCode,
        headers: &HeaderMap,
        added: &ServerFields<'_>,
    ) -> Option<&[u8]> {
        if table != self.table || self.block.is_empty() {
            return None;
        }
        let same_shared = match (&self.shared, added.shared) {
            (Some(kept), Some(now)) => kept.same(now),
            (None, None) => true,
            _ => false,
        };
        if !same_shared {
            return None;
        }
        let mut compare = Compare(&self.input);
        let same = walk(status, headers, added, &mut compare) && compare.0.is_empty();
        same.then_some(&self.block[..])
    }

    /// Keeps `block`, just encoded from these inputs against `table`, which it left as it
    /// was.
    pub(super) fn remember(
        &mut self,
        table: TableState,
        status: StatusCode,
        headers: &HeaderMap,
        added: &ServerFields<'_>,
        block: &[u8],
    ) {
        self.input.clear();
        walk(status, headers, added, &mut Record(&mut self.input));
        self.block.clear();
        self.block.extend_from_slice(block);
        self.table = table;
        self.shared = added.shared.cloned();
    }
}

/// Takes the inputs of a block one piece at a time; `false` stops the walk.
trait Pieces {
    fn piece(&mut self, bytes: &[u8]) -> bool;
}

/// Writes each piece behind its length.
struct Record<'a>(&'a mut Vec<u8>);

impl Pieces for Record<'_> {
    fn piece(&mut self, bytes: &[u8]) -> bool {
        // Field sizes are bounded far below 4 GiB by the peer's header list limit and
        // ours; a larger one would only make the comparison fail, never pass wrongly.
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        self.0.extend_from_slice(&len.to_le_bytes());
        self.0.extend_from_slice(bytes);
        true
    }
}

/// Checks each piece against what [`Record`] wrote, consuming it.
struct Compare<'a>(&'a [u8]);

impl Pieces for Compare<'_> {
    fn piece(&mut self, bytes: &[u8]) -> bool {
        let Some((len, rest)) = self.0.split_first_chunk::<4>() else {
            return false;
        };
        if u32::from_le_bytes(*len) as usize != bytes.len() || !rest.starts_with(bytes) {
            return false;
        }
        self.0 = &rest[bytes.len()..];
        true
    }
}

/// Visits everything the block depends on but the shared fields, as pieces: the status,
/// each field of the map (name, value, sensitivity), then the server's fields. Every piece
/// is length-prefixed and the map contributes three per field, so two different responses
/// never give the same sequence.
fn walk(
    status: StatusCode,
    headers: &HeaderMap,
    added: &ServerFields<'_>,
    pieces: &mut impl Pieces,
) -> bool {
    let mut digits = [0u8; 20];
    let content_length = added
        .content_length
        .map_or(&[][..], |n| decimal(n, &mut digits));
    pieces.piece(status.as_str().as_bytes())
        && headers.iter().all(|(name, value)| {
            pieces.piece(name.as_str().as_bytes())
                && pieces.piece(value.as_bytes())
                && pieces.piece(if value.is_sensitive() { b"s" } else { b"" })
        })
        && pieces.piece(content_length)
        && pieces.piece(added.date)
        && pieces.piece(added.server)
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;

    use super::super::table::DynamicTable;
    use super::*;

    fn added(date: &'static [u8], content_length: Option<u64>) -> ServerFields<'static> {
        ServerFields {
            date,
            server: b"gust",
            content_length,
            shared: None,
        }
    }

    fn map(fields: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (n, v) in fields {
            m.append(*n, HeaderValue::from_static(v));
        }
        m
    }

    /// A last block of `b"block"` for a 200 with `headers`, date `d` and length 13.
    fn remembered(table: TableState, headers: &HeaderMap) -> LastBlock {
        let mut last = LastBlock::default();
        last.remember(
            table,
            StatusCode::OK,
            headers,
            &added(b"d", Some(13)),
            b"block",
        );
        last
    }

    #[test]
    fn the_same_response_in_the_same_table_replays() {
        let table = DynamicTable::new(4096).state();
        let headers = map(&[("content-type", "text/plain"), ("etag", "\"1\"")]);
        assert!(LastBlock::default()
            .replay(table, StatusCode::OK, &headers, &added(b"d", Some(13)))
            .is_none());
        let last = remembered(table, &headers);
        assert_eq!(
            last.replay(
                table,
                StatusCode::OK,
                &headers.clone(),
                &added(b"d", Some(13))
            ),
            Some(&b"block"[..])
        );
    }

    #[test]
    fn any_difference_or_a_changed_table_does_not_replay() {
        let table = DynamicTable::new(4096).state();
        let headers = map(&[("content-type", "text/plain"), ("etag", "\"1\"")]);
        let last = remembered(table, &headers);
        let mut sensitive = headers.clone();
        sensitive
            .get_mut("etag")
            .expect("etag is in the map")
            .set_sensitive(true);
        let mut longer = headers.clone();
        longer.append("vary", HeaderValue::from_static("accept-encoding"));
        let shorter = map(&[("content-type", "text/plain")]);
        // A value moved from one field to the next: same bytes, other pieces.
        let shifted = map(&[("content-type", "text/plain\"1"), ("etag", "\"")]);
        let ok = StatusCode::OK;
        for (why, status, h, a) in [
            (
                "status",
                StatusCode::NOT_FOUND,
                &headers,
                added(b"d", Some(13)),
            ),
            (
                "value",
                ok,
                &map(&[("content-type", "text/html"), ("etag", "\"1\"")]),
                added(b"d", Some(13)),
            ),
            ("sensitivity", ok, &sensitive, added(b"d", Some(13))),
            ("one field more", ok, &longer, added(b"d", Some(13))),
            ("one field less", ok, &shorter, added(b"d", Some(13))),
            (
                "bytes shifted between fields",
                ok,
                &shifted,
                added(b"d", Some(13)),
            ),
            ("date", ok, &headers, added(b"e", Some(13))),
            ("length", ok, &headers, added(b"d", Some(14))),
            ("no length", ok, &headers, added(b"d", None)),
        ] {
            assert!(last.replay(table, status, h, &a).is_none(), "{why}");
        }
        let mut grown = DynamicTable::new(4096);
        assert_eq!(grown.state(), table);
        grown.insert(b"x-a", b"1");
        assert!(last
            .replay(
                grown.state(),
                StatusCode::OK,
                &headers,
                &added(b"d", Some(13))
            )
            .is_none());
    }

    #[test]
    fn shared_fields_replay_only_when_they_are_the_same_ones() {
        let table = DynamicTable::new(4096).state();
        let own = map(&[("x-own", "1")]);
        let fields = map(&[("content-type", "text/plain"), ("etag", "\"1\"")]);
        let shared = SharedFields::new(fields.clone());
        let with = |shared| ServerFields {
            shared,
            ..added(b"d", Some(13))
        };
        let mut last = LastBlock::default();
        last.remember(table, StatusCode::OK, &own, &with(Some(&shared)), b"block");
        let replay = |headers: &HeaderMap, fields: &ServerFields<'_>| {
            last.replay(table, StatusCode::OK, headers, fields)
        };
        assert_eq!(replay(&own, &with(Some(&shared))), Some(&b"block"[..]));
        let cloned = shared.clone();
        assert_eq!(replay(&own, &with(Some(&cloned))), Some(&b"block"[..]));
        // Equal fields made apart are other fields: they are encoded, not compared.
        let made_again = SharedFields::new(fields.clone());
        assert!(replay(&own, &with(Some(&made_again))).is_none());
        assert!(replay(&own, &with(None)).is_none());
        let mut all = own.clone();
        all.extend(fields);
        assert!(replay(&all, &with(None)).is_none());
        // A block made without shared fields does not replay for a response with some.
        let mut plain = LastBlock::default();
        plain.remember(table, StatusCode::OK, &own, &with(None), b"plain");
        assert_eq!(
            plain.replay(table, StatusCode::OK, &own, &with(None)),
            Some(&b"plain"[..])
        );
        assert!(plain
            .replay(table, StatusCode::OK, &own, &with(Some(&shared)))
            .is_none());
    }
}
