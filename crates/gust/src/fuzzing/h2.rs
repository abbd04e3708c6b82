//! HTTP/2: the frame decoder and the HPACK decoder on their own.

use bytes::BytesMut;

use super::{pieces, Input};
use crate::proto::h2::frame::{
    self, Decoded, Frame, FrameError, Head, DEFAULT_MAX_FRAME_SIZE, MAX_FRAME_SIZE_UPPER_BOUND,
};
use crate::proto::h2::hpack::{DecodeError, Decoder, Encoder};

/// `frame::decode` on arbitrary bytes.
///
/// Layout: a byte choosing our SETTINGS_MAX_FRAME_SIZE, the cut seed, then the bytes of
/// the connection after the preface.
///
/// Checks: a decoded frame took at least its 9-byte header and no more than header plus
/// the maximum, exactly that much left the buffer; `Incomplete` leaves the buffer alone and
/// asks for at least one byte; stream errors name a stream, connection errors name none.
/// Every decoded frame encodes to bytes that decode to the same frame (padding aside).
/// Decoding in pieces yields the same frames and errors as decoding at once.
pub fn h2_frame(data: &[u8]) {
    let mut input = Input::new(data);
    let max = [
        DEFAULT_MAX_FRAME_SIZE,
        DEFAULT_MAX_FRAME_SIZE + 1,
        65_535,
        MAX_FRAME_SIZE_UPPER_BOUND,
    ][usize::from(input.byte() & 3)];
    let seed = input.byte();
    let bytes = input.rest();

    let whole = decode_frames(&[bytes], max);
    let cut = decode_frames(&pieces(bytes, seed), max);
    assert_eq!(cut, whole, "piecewise and one-shot frame decodes differ");
    for f in whole.iter().flatten() {
        check_reencode(f);
    }
}

fn decode_frames(reads: &[&[u8]], max: u32) -> Vec<Result<Frame, FrameError>> {
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    for read in reads {
        buf.extend_from_slice(read);
        loop {
            let before = buf.len();
            match frame::decode(&mut buf, max) {
                Ok(Decoded::Frame(f, n)) => {
                    assert!(n >= Head::LEN && n <= Head::LEN + max as usize);
                    assert_eq!(before - buf.len(), n, "frame length and bytes taken differ");
                    out.push(Ok(f));
                }
                Ok(Decoded::Incomplete { needed }) => {
                    assert!(needed > 0);
                    assert_eq!(buf.len(), before, "Incomplete consumed bytes");
                    break;
                }
                Err(e) => {
                    assert_eq!(e.is_connection_error(), e.stream_id.is_zero());
                    let stream_error = !e.is_connection_error();
                    out.push(Err(e));
                    // A stream error removes its frame and decoding goes on, as the
                    // connection does; after a connection error nothing is read.
                    if !stream_error || buf.len() == before {
                        return out;
                    }
                }
            }
        }
    }
    out
}

/// A decoded frame, encoded again and decoded, is the same frame. DATA's flow-control
/// length counts the padding, which the encoder never writes.
fn check_reencode(f: &Frame) {
    let mut wire = BytesMut::new();
    f.encode(&mut wire);
    let again = match frame::decode(&mut wire, MAX_FRAME_SIZE_UPPER_BOUND) {
        Ok(Decoded::Frame(g, _)) => g,
        other => panic!("re-encoded {f:?} decodes to {other:?}"),
    };
    assert!(wire.is_empty());
    let expected = match f.clone() {
        Frame::Data(mut d) => {
            d.flow_len = d.data.len() as u32;
            Frame::Data(d)
        }
        other => other,
    };
    assert_eq!(again, expected);
}

/// Table sizes for SETTINGS_HEADER_TABLE_SIZE.
const TABLE_SIZES: [usize; 6] = [0, 1, 64, 256, 4096, 65536];

/// The HPACK `Decoder` on a series of header blocks.
///
/// Layout: a byte choosing the table size we allow, a byte choosing
/// SETTINGS_MAX_HEADER_LIST_SIZE, then records of `[op][length: u16][block]`; an `op`
/// with its top bit set first changes the allowed table size (as a new SETTINGS would).
///
/// Checks: the fields emitted for a block add up (name + value + 32 each) to no more than
/// the list size, also when the block is refused as too large; the dynamic table stays
/// within its maximum, and that maximum within what we allow; after any error but
/// `HeaderListTooLarge` decoding stops, as the connection does. Every block that decodes
/// is encoded again by our encoder and decoded by a second decoder to the same fields,
/// never-indexed ones kept never-indexed.
pub fn hpack_decode(data: &[u8]) {
    let mut input = Input::new(data);
    let mut allowed = TABLE_SIZES[usize::from(input.byte()) % TABLE_SIZES.len()];
    let max_list = [0, 64, 1024, 16384, usize::MAX][usize::from(input.byte() % 5)];
    let mut decoder = Decoder::new(allowed);
    let mut encoder = Encoder::new();
    let mut mirror = Decoder::new(crate::proto::h2::hpack::DEFAULT_TABLE_SIZE);

    while !input.is_empty() {
        let op = input.byte();
        if op & 0x80 != 0 {
            allowed = TABLE_SIZES[usize::from(op & 0x7f) % TABLE_SIZES.len()];
            decoder.set_max_table_size(allowed);
        }
        let len = usize::from(input.u16());
        let block = input.take(len);

        let mut fields: Vec<(Vec<u8>, Vec<u8>, bool)> = Vec::new();
        let result = decoder.decode(block, max_list, |n, v, s| {
            fields.push((n.to_vec(), v.to_vec(), s));
        });
        let listed = fields.iter().fold(0usize, |sum, (n, v, _)| {
            sum.saturating_add(n.len() + v.len() + 32)
        });
        match result {
            Ok(()) | Err(DecodeError::HeaderListTooLarge) => {
                assert!(
                    listed <= max_list,
                    "emitted {listed} bytes of fields over {max_list}"
                );
                let table = decoder.table();
                assert!(table.size() <= table.max_size(), "table over its maximum");
                let counted: usize = table.iter().map(|(n, v)| n.len() + v.len() + 32).sum();
                assert_eq!(counted, table.size(), "table size accounting is off");
                // An empty block cannot carry the size update a lowered setting asks for;
                // any other block that decodes has applied it.
                if !block.is_empty() {
                    assert!(
                        table.max_size() <= allowed,
                        "table maximum over what we allow"
                    );
                }
            }
            Err(_) => return,
        }
        if result.is_ok() {
            reencode(&mut encoder, &mut mirror, &fields);
        }
    }
}

/// Encodes `fields` as one block with our encoder and checks the mirror decoder reads
/// them back.
fn reencode(encoder: &mut Encoder, mirror: &mut Decoder, fields: &[(Vec<u8>, Vec<u8>, bool)]) {
    let mut block = BytesMut::new();
    for (n, v, s) in fields {
        encoder.encode_field(n, v, *s, &mut block);
    }
    let mut back = Vec::new();
    mirror
        .decode(&block, usize::MAX, |n, v, s| {
            back.push((n.to_vec(), v.to_vec(), s))
        })
        .unwrap_or_else(|e| panic!("our own block does not decode: {e:?}"));
    assert_eq!(back.len(), fields.len());
    for ((n, v, s), (n2, v2, s2)) in fields.iter().zip(&back) {
        assert_eq!((n, v), (n2, v2));
        assert!(!*s || *s2, "a never-indexed field lost its flag");
    }
}
