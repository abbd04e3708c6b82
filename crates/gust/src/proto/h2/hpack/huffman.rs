//! The static Huffman code of RFC 7541 Appendix B: encoding, and decoding with a
//! four-bits-at-a-time state machine built at compile time from the same table.
//!
//! The decoder walks the code tree a nibble per step: each of the 256 internal nodes of
//! the tree is a state, and for every state and nibble a precomputed transition says the
//! next state, the byte emitted (at most one: no code is shorter than 5 bits) and whether
//! EOS was met. A state "accepts" when the bits since the last symbol are at most seven
//! ones, which is exactly the padding RFC 7541 5.2 allows, so checking the end of a string
//! is one flag.

use bytes::BufMut;

use super::DecodeError;

/// `(code, length in bits)` for bytes 0..=255 and EOS (256), codes aligned to the least
/// significant bit. Typed from RFC 7541 Appendix B; the bits, hex and length columns of
/// every row were checked against each other, and the tests check this is a complete
/// prefix code.
const CODES: [(u32, u8); 257] = [
    (0x00001ff8, 13), //   0
    (0x007fffd8, 23), //   1
    (0x0fffffe2, 28), //   2
    (0x0fffffe3, 28), //   3
    (0x0fffffe4, 28), //   4
    (0x0fffffe5, 28), //   5
    (0x0fffffe6, 28), //   6
    (0x0fffffe7, 28), //   7
    (0x0fffffe8, 28), //   8
    (0x00ffffea, 24), //   9
    (0x3ffffffc, 30), //  10
    (0x0fffffe9, 28), //  11
    (0x0fffffea, 28), //  12
    (0x3ffffffd, 30), //  13
    (0x0fffffeb, 28), //  14
    (0x0fffffec, 28), //  15
    (0x0fffffed, 28), //  16
    (0x0fffffee, 28), //  17
    (0x0fffffef, 28), //  18
    (0x0ffffff0, 28), //  19
    (0x0ffffff1, 28), //  20
    (0x0ffffff2, 28), //  21
    (0x3ffffffe, 30), //  22
    (0x0ffffff3, 28), //  23
    (0x0ffffff4, 28), //  24
    (0x0ffffff5, 28), //  25
    (0x0ffffff6, 28), //  26
    (0x0ffffff7, 28), //  27
    (0x0ffffff8, 28), //  28
    (0x0ffffff9, 28), //  29
    (0x0ffffffa, 28), //  30
    (0x0ffffffb, 28), //  31
    (0x00000014, 6),  //  32 ' '
    (0x000003f8, 10), //  33 '!'
    (0x000003f9, 10), //  34 '"'
    (0x00000ffa, 12), //  35 '#'
    (0x00001ff9, 13), //  36 '$'
    (0x00000015, 6),  //  37 '%'
    (0x000000f8, 8),  //  38 '&'
    (0x000007fa, 11), //  39 "'"
    (0x000003fa, 10), //  40 '('
    (0x000003fb, 10), //  41 ')'
    (0x000000f9, 8),  //  42 '*'
    (0x000007fb, 11), //  43 '+'
    (0x000000fa, 8),  //  44 ','
    (0x00000016, 6),  //  45 '-'
    (0x00000017, 6),  //  46 '.'
    (0x00000018, 6),  //  47 '/'
    (0x00000000, 5),  //  48 '0'
    (0x00000001, 5),  //  49 '1'
    (0x00000002, 5),  //  50 '2'
    (0x00000019, 6),  //  51 '3'
    (0x0000001a, 6),  //  52 '4'
    (0x0000001b, 6),  //  53 '5'
    (0x0000001c, 6),  //  54 '6'
    (0x0000001d, 6),  //  55 '7'
    (0x0000001e, 6),  //  56 '8'
    (0x0000001f, 6),  //  57 '9'
    (0x0000005c, 7),  //  58 ':'
    (0x000000fb, 8),  //  59 ';'
    (0x00007ffc, 15), //  60 '<'
    (0x00000020, 6),  //  61 '='
    (0x00000ffb, 12), //  62 '>'
    (0x000003fc, 10), //  63 '?'
    (0x00001ffa, 13), //  64 '@'
    (0x00000021, 6),  //  65 'A'
    (0x0000005d, 7),  //  66 'B'
    (0x0000005e, 7),  //  67 'C'
    (0x0000005f, 7),  //  68 'D'
    (0x00000060, 7),  //  69 'E'
    (0x00000061, 7),  //  70 'F'
    (0x00000062, 7),  //  71 'G'
    (0x00000063, 7),  //  72 'H'
    (0x00000064, 7),  //  73 'I'
    (0x00000065, 7),  //  74 'J'
    (0x00000066, 7),  //  75 'K'
    (0x00000067, 7),  //  76 'L'
    (0x00000068, 7),  //  77 'M'
    (0x00000069, 7),  //  78 'N'
    (0x0000006a, 7),  //  79 'O'
    (0x0000006b, 7),  //  80 'P'
    (0x0000006c, 7),  //  81 'Q'
    (0x0000006d, 7),  //  82 'R'
    (0x0000006e, 7),  //  83 'S'
    (0x0000006f, 7),  //  84 'T'
    (0x00000070, 7),  //  85 'U'
    (0x00000071, 7),  //  86 'V'
    (0x00000072, 7),  //  87 'W'
    (0x000000fc, 8),  //  88 'X'
    (0x00000073, 7),  //  89 'Y'
    (0x000000fd, 8),  //  90 'Z'
    (0x00001ffb, 13), //  91 '['
    (0x0007fff0, 19), //  92 '\\'
    (0x00001ffc, 13), //  93 ']'
    (0x00003ffc, 14), //  94 '^'
    (0x00000022, 6),  //  95 '_'
    (0x00007ffd, 15), //  96 '`'
    (0x00000003, 5),  //  97 'a'
    (0x00000023, 6),  //  98 'b'
    (0x00000004, 5),  //  99 'c'
    (0x00000024, 6),  // 100 'd'
    (0x00000005, 5),  // 101 'e'
    (0x00000025, 6),  // 102 'f'
    (0x00000026, 6),  // 103 'g'
    (0x00000027, 6),  // 104 'h'
    (0x00000006, 5),  // 105 'i'
    (0x00000074, 7),  // 106 'j'
    (0x00000075, 7),  // 107 'k'
    (0x00000028, 6),  // 108 'l'
    (0x00000029, 6),  // 109 'm'
    (0x0000002a, 6),  // 110 'n'
    (0x00000007, 5),  // 111 'o'
    (0x0000002b, 6),  // 112 'p'
    (0x00000076, 7),  // 113 'q'
    (0x0000002c, 6),  // 114 'r'
    (0x00000008, 5),  // 115 's'
    (0x00000009, 5),  // 116 't'
    (0x0000002d, 6),  // 117 'u'
    (0x00000077, 7),  // 118 'v'
    (0x00000078, 7),  // 119 'w'
    (0x00000079, 7),  // 120 'x'
    (0x0000007a, 7),  // 121 'y'
    (0x0000007b, 7),  // 122 'z'
    (0x00007ffe, 15), // 123 '{'
    (0x000007fc, 11), // 124 '|'
    (0x00003ffd, 14), // 125 '}'
    (0x00001ffd, 13), // 126 '~'
    (0x0ffffffc, 28), // 127
    (0x000fffe6, 20), // 128
    (0x003fffd2, 22), // 129
    (0x000fffe7, 20), // 130
    (0x000fffe8, 20), // 131
    (0x003fffd3, 22), // 132
    (0x003fffd4, 22), // 133
    (0x003fffd5, 22), // 134
    (0x007fffd9, 23), // 135
    (0x003fffd6, 22), // 136
    (0x007fffda, 23), // 137
    (0x007fffdb, 23), // 138
    (0x007fffdc, 23), // 139
    (0x007fffdd, 23), // 140
    (0x007fffde, 23), // 141
    (0x00ffffeb, 24), // 142
    (0x007fffdf, 23), // 143
    (0x00ffffec, 24), // 144
    (0x00ffffed, 24), // 145
    (0x003fffd7, 22), // 146
    (0x007fffe0, 23), // 147
    (0x00ffffee, 24), // 148
    (0x007fffe1, 23), // 149
    (0x007fffe2, 23), // 150
    (0x007fffe3, 23), // 151
    (0x007fffe4, 23), // 152
    (0x001fffdc, 21), // 153
    (0x003fffd8, 22), // 154
    (0x007fffe5, 23), // 155
    (0x003fffd9, 22), // 156
    (0x007fffe6, 23), // 157
    (0x007fffe7, 23), // 158
    (0x00ffffef, 24), // 159
    (0x003fffda, 22), // 160
    (0x001fffdd, 21), // 161
    (0x000fffe9, 20), // 162
    (0x003fffdb, 22), // 163
    (0x003fffdc, 22), // 164
    (0x007fffe8, 23), // 165
    (0x007fffe9, 23), // 166
    (0x001fffde, 21), // 167
    (0x007fffea, 23), // 168
    (0x003fffdd, 22), // 169
    (0x003fffde, 22), // 170
    (0x00fffff0, 24), // 171
    (0x001fffdf, 21), // 172
    (0x003fffdf, 22), // 173
    (0x007fffeb, 23), // 174
    (0x007fffec, 23), // 175
    (0x001fffe0, 21), // 176
    (0x001fffe1, 21), // 177
    (0x003fffe0, 22), // 178
    (0x001fffe2, 21), // 179
    (0x007fffed, 23), // 180
    (0x003fffe1, 22), // 181
    (0x007fffee, 23), // 182
    (0x007fffef, 23), // 183
    (0x000fffea, 20), // 184
    (0x003fffe2, 22), // 185
    (0x003fffe3, 22), // 186
    (0x003fffe4, 22), // 187
    (0x007ffff0, 23), // 188
    (0x003fffe5, 22), // 189
    (0x003fffe6, 22), // 190
    (0x007ffff1, 23), // 191
    (0x03ffffe0, 26), // 192
    (0x03ffffe1, 26), // 193
    (0x000fffeb, 20), // 194
    (0x0007fff1, 19), // 195
    (0x003fffe7, 22), // 196
    (0x007ffff2, 23), // 197
    (0x003fffe8, 22), // 198
    (0x01ffffec, 25), // 199
    (0x03ffffe2, 26), // 200
    (0x03ffffe3, 26), // 201
    (0x03ffffe4, 26), // 202
    (0x07ffffde, 27), // 203
    (0x07ffffdf, 27), // 204
    (0x03ffffe5, 26), // 205
    (0x00fffff1, 24), // 206
    (0x01ffffed, 25), // 207
    (0x0007fff2, 19), // 208
    (0x001fffe3, 21), // 209
    (0x03ffffe6, 26), // 210
    (0x07ffffe0, 27), // 211
    (0x07ffffe1, 27), // 212
    (0x03ffffe7, 26), // 213
    (0x07ffffe2, 27), // 214
    (0x00fffff2, 24), // 215
    (0x001fffe4, 21), // 216
    (0x001fffe5, 21), // 217
    (0x03ffffe8, 26), // 218
    (0x03ffffe9, 26), // 219
    (0x0ffffffd, 28), // 220
    (0x07ffffe3, 27), // 221
    (0x07ffffe4, 27), // 222
    (0x07ffffe5, 27), // 223
    (0x000fffec, 20), // 224
    (0x00fffff3, 24), // 225
    (0x000fffed, 20), // 226
    (0x001fffe6, 21), // 227
    (0x003fffe9, 22), // 228
    (0x001fffe7, 21), // 229
    (0x001fffe8, 21), // 230
    (0x007ffff3, 23), // 231
    (0x003fffea, 22), // 232
    (0x003fffeb, 22), // 233
    (0x01ffffee, 25), // 234
    (0x01ffffef, 25), // 235
    (0x00fffff4, 24), // 236
    (0x00fffff5, 24), // 237
    (0x03ffffea, 26), // 238
    (0x007ffff4, 23), // 239
    (0x03ffffeb, 26), // 240
    (0x07ffffe6, 27), // 241
    (0x03ffffec, 26), // 242
    (0x03ffffed, 26), // 243
    (0x07ffffe7, 27), // 244
    (0x07ffffe8, 27), // 245
    (0x07ffffe9, 27), // 246
    (0x07ffffea, 27), // 247
    (0x07ffffeb, 27), // 248
    (0x0ffffffe, 28), // 249
    (0x07ffffec, 27), // 250
    (0x07ffffed, 27), // 251
    (0x07ffffee, 27), // 252
    (0x07ffffef, 27), // 253
    (0x07fffff0, 27), // 254
    (0x03ffffee, 26), // 255
    (0x3fffffff, 30), // 256  EOS
];

/// The symbol that ends a string; never valid inside one (RFC 7541 5.2).
const EOS: u16 = 256;

/// Marks a tree child that is a symbol rather than an internal node.
const LEAF: u16 = 0x8000;

/// A complete binary tree with 257 leaves has 256 internal nodes; node 0 is the root.
const NODES: usize = 256;

/// Builds the code tree: `tree[node][bit]` is an internal node index or `LEAF | symbol`.
/// Panics at compile time if `CODES` is not a complete prefix code.
const fn build_tree() -> [[u16; 2]; NODES] {
    let mut tree = [[0u16; 2]; NODES];
    let mut next_free = 1u16;
    let mut sym = 0;
    while sym < CODES.len() {
        let (code, len) = CODES[sym];
        let mut node = 0usize;
        let mut i = len;
        while i > 1 {
            i -= 1;
            let bit = ((code >> i) & 1) as usize;
            if tree[node][bit] == 0 {
                assert!((next_free as usize) < NODES, "too many internal nodes");
                tree[node][bit] = next_free;
                next_free += 1;
            }
            assert!(tree[node][bit] & LEAF == 0, "a code is a prefix of another");
            node = tree[node][bit] as usize;
        }
        let bit = (code & 1) as usize;
        assert!(tree[node][bit] == 0, "a code is a prefix of another");
        tree[node][bit] = LEAF | sym as u16;
        sym += 1;
    }
    // Root is never a child, so 0 means "unset": a complete code leaves none.
    let mut node = 0;
    while node < NODES {
        assert!(tree[node][0] != 0 && tree[node][1] != 0, "incomplete code");
        node += 1;
    }
    tree
}

/// One step of the decoder: where a state goes on a nibble.
#[derive(Clone, Copy)]
struct Transition {
    next: u8,
    sym: u8,
    flags: u8,
}

/// The transition completed a symbol: `sym` is output.
const EMIT: u8 = 1;
/// The transition met EOS: the string is invalid.
const FAIL: u8 = 2;
/// After the transition, ending the string here leaves valid padding.
const ACCEPT: u8 = 4;

const fn build_decode_table() -> [[Transition; 16]; NODES] {
    let tree = build_tree();

    // The accepting states: the root and the all-ones path from it, up to 7 bits deep.
    let mut accepting = [false; NODES];
    let mut node = 0usize;
    let mut depth = 0;
    loop {
        accepting[node] = true;
        if depth == 7 {
            break;
        }
        let child = tree[node][1];
        assert!(child & LEAF == 0, "a code of all ones shorter than 8 bits");
        node = child as usize;
        depth += 1;
    }

    let mut table = [[Transition {
        next: 0,
        sym: 0,
        flags: 0,
    }; 16]; NODES];
    let mut state = 0;
    while state < NODES {
        let mut nibble = 0;
        while nibble < 16 {
            let mut cur = state;
            let mut sym = 0u8;
            let mut flags = 0u8;
            let mut k = 4;
            while k > 0 {
                k -= 1;
                let child = tree[cur][(nibble >> k) & 1];
                if child & LEAF == 0 {
                    cur = child as usize;
                } else if child & !LEAF == EOS {
                    flags |= FAIL;
                    break;
                } else {
                    assert!(flags & EMIT == 0, "two symbols in one nibble");
                    flags |= EMIT;
                    sym = (child & !LEAF) as u8;
                    cur = 0;
                }
            }
            if flags & FAIL == 0 && accepting[cur] {
                flags |= ACCEPT;
            }
            table[state][nibble] = Transition {
                next: cur as u8,
                sym,
                flags,
            };
            nibble += 1;
        }
        state += 1;
    }
    table
}

/// 256 states x 16 nibbles x 3 bytes: 12 KiB, built by the compiler.
static DECODE: [[Transition; 16]; NODES] = build_decode_table();

/// How many bytes `src` takes Huffman-encoded, padding included.
pub(crate) fn encoded_len(src: &[u8]) -> usize {
    let bits: usize = src
        .iter()
        .map(|&b| usize::from(CODES[usize::from(b)].1))
        .sum();
    bits.div_ceil(8)
}

/// Appends the Huffman encoding of `src` to `dst`, padded to a byte with the high bits of
/// EOS (ones), as RFC 7541 5.2 requires.
pub(crate) fn encode(src: &[u8], dst: &mut impl BufMut) {
    // Bits wait in the low end of `acc`; fewer than 8 are left after each flush and codes
    // are at most 30 bits, so 64 bits never overflow what is still unwritten.
    let mut acc: u64 = 0;
    let mut pending: u32 = 0;
    for &b in src {
        let (code, len) = CODES[usize::from(b)];
        acc = (acc << len) | u64::from(code);
        pending += u32::from(len);
        while pending >= 8 {
            pending -= 8;
            dst.put_u8((acc >> pending) as u8);
        }
    }
    if pending > 0 {
        dst.put_u8(((acc << (8 - pending)) as u8) | (0xff >> pending));
    }
}

/// Decodes `src`, appending at most `limit` bytes to `dst`, and returns the full decoded
/// length, which may exceed `limit`. The whole input is validated either way, so a caller
/// that only needs to know a string is well-formed and how long it is passes `limit = 0`
/// and allocates nothing.
pub(crate) fn decode(src: &[u8], dst: &mut Vec<u8>, limit: usize) -> Result<usize, DecodeError> {
    // Codes are at least 5 bits: at most 8 symbols per 5 bytes.
    dst.reserve(limit.min(src.len().saturating_mul(8) / 5));
    let mut state = 0usize;
    let mut accept = true;
    let mut len = 0usize;
    for &byte in src {
        for nibble in [byte >> 4, byte & 0x0f] {
            let t = DECODE[state][usize::from(nibble)];
            if t.flags & FAIL != 0 {
                return Err(DecodeError::InvalidHuffman);
            }
            if t.flags & EMIT != 0 {
                if len < limit {
                    dst.push(t.sym);
                }
                len += 1;
            }
            state = usize::from(t.next);
            accept = t.flags & ACCEPT != 0;
        }
    }
    if accept {
        Ok(len)
    } else {
        Err(DecodeError::InvalidHuffman)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::proto::h2::hpack::hex;

    fn enc(src: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        encode(src, &mut out);
        assert_eq!(out.len(), encoded_len(src));
        out
    }

    fn dec(src: &[u8]) -> Result<Vec<u8>, DecodeError> {
        let mut out = Vec::new();
        let n = decode(src, &mut out, usize::MAX)?;
        assert_eq!(n, out.len());
        Ok(out)
    }

    #[test]
    fn table_is_a_complete_prefix_code() {
        // Kraft: sum of 2^-len over all 257 codes, scaled by 2^30 (the longest length).
        let kraft: u64 = CODES.iter().map(|&(_, len)| 1u64 << (30 - len)).sum();
        assert_eq!(kraft, 1 << 30);
        for (i, &(code, len)) in CODES.iter().enumerate() {
            assert!((5..=30).contains(&len), "symbol {i}");
            assert!(
                u64::from(code) < (1u64 << len),
                "symbol {i}: code wider than length"
            );
            for (j, &(other, olen)) in CODES.iter().enumerate() {
                if i != j && olen >= len {
                    assert_ne!(other >> (olen - len), code, "{i} is a prefix of {j}");
                }
            }
        }
    }

    #[test]
    fn table_spot_checks_against_rfc_text() {
        // RFC 7541 Appendix B prose: '/' is 011000, 0x18 on 6 bits.
        assert_eq!(CODES[usize::from(b'/')], (0x18, 6));
        assert_eq!(CODES[0], (0x1ff8, 13));
        assert_eq!(CODES[10], (0x3ffffffc, 30));
        assert_eq!(CODES[usize::from(b'a')], (0x3, 5));
        assert_eq!(CODES[255], (0x3ffffee, 26));
        assert_eq!(CODES[256], (0x3fffffff, 30));
        // The shortest codes, 5 bits: "012aceiost".
        let five: Vec<u8> = (0..=255u8)
            .filter(|&b| CODES[usize::from(b)].1 == 5)
            .collect();
        assert_eq!(five, b"012aceiost");
    }

    #[test]
    fn rfc_strings_encode_exactly() {
        let vectors: [(&[u8], &str); 12] = [
            (b"www.example.com", "f1e3 c2e5 f23a 6ba0 ab90 f4ff"),
            (b"no-cache", "a8eb 1064 9cbf"),
            (b"custom-key", "25a8 49e9 5ba9 7d7f"),
            (b"custom-value", "25a8 49e9 5bb8 e8b4 bf"),
            (b"302", "6402"),
            (b"307", "640e ff"),
            (b"private", "aec3 771a 4b"),
            (
                b"Mon, 21 Oct 2013 20:13:21 GMT",
                "d07a be94 1054 d444 a820 0595 040b 8166 e082 a62d 1bff",
            ),
            (
                b"Mon, 21 Oct 2013 20:13:22 GMT",
                "d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff",
            ),
            (
                b"https://www.example.com",
                "9d29 ad17 1863 c78f 0b97 c8e9 ae82 ae43 d3",
            ),
            (b"gzip", "9bd9 ab"),
            (
                b"foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1",
                "94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 \
                 291f 9587 3160 65c0 03ed 4ee5 b106 3d50 07",
            ),
        ];
        for (plain, coded) in vectors {
            assert_eq!(
                enc(plain),
                hex(coded),
                "{:?}",
                String::from_utf8_lossy(plain)
            );
            assert_eq!(dec(&hex(coded)).unwrap(), plain);
        }
    }

    #[test]
    fn every_byte_round_trips_alone_and_together() {
        for b in 0..=255u8 {
            assert_eq!(dec(&enc(&[b])).unwrap(), [b], "byte {b}");
            assert_eq!(dec(&enc(&[b, b, b])).unwrap(), [b, b, b], "byte {b}");
        }
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(dec(&enc(&all)).unwrap(), all);
        let rev: Vec<u8> = (0..=255).rev().collect();
        assert_eq!(dec(&enc(&rev)).unwrap(), rev);
    }

    #[test]
    fn pseudo_random_strings_round_trip() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for len in 0..300 {
            let s: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x >> 24) as u8
                })
                .collect();
            assert_eq!(dec(&enc(&s)).unwrap(), s);
        }
    }

    #[test]
    fn empty_string() {
        assert!(enc(b"").is_empty());
        assert_eq!(dec(b"").unwrap(), b"");
    }

    #[test]
    fn rejects_eos_in_the_string() {
        // EOS alone (30 ones) padded with two more ones.
        assert_eq!(
            dec(&[0xff, 0xff, 0xff, 0xff]),
            Err(DecodeError::InvalidHuffman)
        );
        // 'a' (00011), then EOS.
        let mut bits = vec![0b0001_1111, 0xff, 0xff, 0xff, 0xff];
        assert_eq!(dec(&bits), Err(DecodeError::InvalidHuffman));
        bits.truncate(1);
        assert_eq!(dec(&bits).unwrap(), b"a");
    }

    #[test]
    fn rejects_padding_longer_than_seven_bits() {
        // A byte of padding alone: 8 ones.
        assert_eq!(dec(&[0xff]), Err(DecodeError::InvalidHuffman));
        // 'a' + 3 padding bits is fine; one more byte of ones makes 11 bits of padding.
        assert_eq!(dec(&[0x1f]).unwrap(), b"a");
        assert_eq!(dec(&[0x1f, 0xff]), Err(DecodeError::InvalidHuffman));
        // "0" (00000) + "0" + 6 bits of ones: 00000000 00111111 -> fine; 14 bits -> not.
        assert_eq!(dec(&[0x00, 0x3f]).unwrap(), b"00");
        assert_eq!(dec(&[0x00, 0x3f, 0xff]), Err(DecodeError::InvalidHuffman));
    }

    #[test]
    fn rejects_padding_that_is_not_all_ones() {
        // 'a' then 000, 110 and 011 as padding.
        for byte in [0x18, 0x1e, 0x1b] {
            assert_eq!(dec(&[byte]), Err(DecodeError::InvalidHuffman), "{byte:#x}");
        }
    }

    #[test]
    fn limit_caps_output_but_not_validation() {
        let coded = enc(b"custom-value");
        let mut out = Vec::new();
        assert_eq!(decode(&coded, &mut out, 4), Ok(12));
        assert_eq!(out, b"cust");
        let mut out = Vec::new();
        assert_eq!(decode(&coded, &mut out, 0), Ok(12));
        assert!(out.is_empty() && out.capacity() == 0);
        assert_eq!(
            decode(&[0xff], &mut out, 0),
            Err(DecodeError::InvalidHuffman)
        );
    }
}
