//! HPACK (RFC 7541): header compression for HTTP/2, written here rather than borrowed so
//! that every bound is ours and every peer error has a name.
//!
//! - [`Decoder`] turns the peer's header blocks into `(name, value, sensitive)` fields. It
//!   keeps the peer's dynamic table, bounded by our SETTINGS_HEADER_TABLE_SIZE, and
//!   enforces SETTINGS_MAX_HEADER_LIST_SIZE while it decodes.
//! - [`Encoder`] writes our response blocks: static-table indexes where they match, Huffman
//!   where it is shorter, a dynamic table of at most `ENCODER_TABLE_CAP` bytes whatever the
//!   peer allows, and never-indexed literals for credentials. A response like the last one,
//!   in an unchanged table, is the last block again (`repeat.rs`).
//!
//! Memory: the decoder holds at most its table (`max_table_size` bytes of names and values,
//! plus 32 bytes of accounting per entry, as RFC 7541 4.1 counts them) and two scratch
//! buffers no larger than `max(max_table_size, max_list_size)`. Field values that are
//! referenced from the table are lent to the caller, never copied, so a block that repeats
//! one large entry ("HPACK bomb") costs a counter, not memory.
//!
//! Names and values are opaque bytes here: whether a name is lowercase or a pseudo-header
//! is allowed is HTTP/2 semantics (RFC 9113 8.2), checked by the connection.

mod decoder;
mod encoder;
pub(crate) mod huffman;
mod repeat;
mod table;

use core::fmt;

pub(crate) use decoder::Decoder;
pub(crate) use encoder::{is_connection_specific, Encoder, ServerFields};
pub(crate) use table::StoredField;

/// SETTINGS_HEADER_TABLE_SIZE before any SETTINGS frame is acknowledged (RFC 9113 6.5.2):
/// both sides' tables start at this size.
pub(crate) const DEFAULT_TABLE_SIZE: usize = 4096;

/// Why a header block could not be decoded.
///
/// Every variant but [`DecodeError::HeaderListTooLarge`] means the decoder's state may no
/// longer match the peer's encoder: RFC 9113 4.3 makes it a connection error of type
/// COMPRESSION_ERROR. `HeaderListTooLarge` leaves the decoder consistent (the rest of the
/// block was still applied to the dynamic table), so only the stream need be refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DecodeError {
    /// The block ends inside a representation (an integer, or before a string).
    Truncated,
    /// An integer needs more than 28 bits or more than four continuation bytes (RFC 7541
    /// 5.1 leaves the bound to us; 2^28 is far beyond any table size or string length).
    IntegerOverflow,
    /// Index 0, or an index past the end of the static and dynamic tables (RFC 7541 2.3.3).
    InvalidIndex,
    /// A Huffman string contains EOS, has padding longer than 7 bits, or padding that is not
    /// the most significant bits of EOS (RFC 7541 5.2).
    InvalidHuffman,
    /// A dynamic table size update after a field representation (RFC 7541 4.2).
    TableSizeUpdateNotAtStart,
    /// A dynamic table size update above our SETTINGS_HEADER_TABLE_SIZE (RFC 7541 6.3).
    TableSizeTooLarge,
    /// We lowered SETTINGS_HEADER_TABLE_SIZE below the table's size and the next block did
    /// not start with a dynamic table size update (RFC 7541 4.2).
    MissingTableSizeUpdate,
    /// The decoded list (name + value + 32 per field, RFC 9113 6.5.2) exceeds
    /// SETTINGS_MAX_HEADER_LIST_SIZE. A stream error: answer 431 or RST_STREAM and go on.
    HeaderListTooLarge,
    /// A string literal's declared length runs past the end of the block.
    StringTooLong,
}

impl DecodeError {
    /// True when the connection must end with COMPRESSION_ERROR (RFC 9113 4.3): the decoder
    /// can no longer be trusted to match the peer's encoder.
    pub(crate) fn is_compression_error(&self) -> bool {
        !matches!(self, DecodeError::HeaderListTooLarge)
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DecodeError::Truncated => "HPACK block ends inside a representation",
            DecodeError::IntegerOverflow => "HPACK integer too large",
            DecodeError::InvalidIndex => "HPACK index not in the static or dynamic table",
            DecodeError::InvalidHuffman => "invalid HPACK Huffman string",
            DecodeError::TableSizeUpdateNotAtStart => {
                "HPACK dynamic table size update after a header field"
            }
            DecodeError::TableSizeTooLarge => {
                "HPACK dynamic table size update above SETTINGS_HEADER_TABLE_SIZE"
            }
            DecodeError::MissingTableSizeUpdate => {
                "HPACK block lacks the dynamic table size update a lowered setting requires"
            }
            DecodeError::HeaderListTooLarge => "header list exceeds SETTINGS_MAX_HEADER_LIST_SIZE",
            DecodeError::StringTooLong => "HPACK string literal runs past the end of the block",
        })
    }
}

impl core::error::Error for DecodeError {}

/// Bytes from the RFC's hex notation (`"8286 8441"`); anything not a hex digit is skipped.
/// Shared by the unit tests of every HPACK file.
#[cfg(test)]
pub(crate) fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_list_size_is_a_stream_error() {
        let all = [
            DecodeError::Truncated,
            DecodeError::IntegerOverflow,
            DecodeError::InvalidIndex,
            DecodeError::InvalidHuffman,
            DecodeError::TableSizeUpdateNotAtStart,
            DecodeError::TableSizeTooLarge,
            DecodeError::MissingTableSizeUpdate,
            DecodeError::HeaderListTooLarge,
            DecodeError::StringTooLong,
        ];
        for e in all {
            assert_eq!(
                e.is_compression_error(),
                e != DecodeError::HeaderListTooLarge
            );
            assert!(!e.to_string().is_empty());
        }
    }
}
