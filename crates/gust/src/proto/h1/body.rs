//! The request body by its framing (RFC 9112 6 and 7.1).
//!
//! The decoder takes bytes from the front of the connection's buffer and hands body data
//! out as `Bytes` split off that buffer, so data is never copied. Chunked framing is a
//! byte-at-a-time state machine: it keeps no buffer of its own, so input may be split
//! anywhere (even inside a chunk-size line) and memory stays constant whatever the client
//! sends. Chunk extensions and trailer fields are checked against their grammar and then
//! dropped: no handler of ours uses them, and keeping them would be unbounded state.

use core::fmt;

use bytes::{Buf, Bytes, BytesMut};

use super::head::Framing;
use super::is_tchar;

/// Bounds on the parts of a chunked body that carry no data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ChunkLimits {
    /// Bytes of chunk extensions on one chunk-size line (from the end of the size to CR).
    pub(crate) max_extension_bytes: usize,
    /// Bytes of the whole trailer section, field lines and their CRLFs.
    pub(crate) max_trailer_bytes: usize,
}

/// What one call to [`BodyDecoder::decode`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decoded {
    /// Body data, never empty.
    Data(Bytes),
    /// The buffer holds no more usable bytes: read more, then call again.
    NeedMore,
    /// The body is complete; what is left in the buffer belongs to the next request.
    End,
}

/// A malformed chunked body. Every one means 400 and a closed connection: once framing is
/// in doubt, so is where the next request starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChunkError {
    /// The chunk size is missing or has a byte that is not a hex digit.
    InvalidSize,
    /// The chunk size does not fit in 64 bits, or its line has more than 64 digits.
    SizeTooLong,
    /// A CR not followed by LF.
    BareCr,
    /// An LF not preceded by CR.
    BareLf,
    /// A chunk extension that does not follow the grammar.
    InvalidExtension,
    /// Chunk extensions longer than `max_extension_bytes`.
    ExtensionTooLong,
    /// Chunk data not followed by CRLF: the size lied.
    MissingDataCrlf,
    /// A trailer field line that does not follow the grammar.
    InvalidTrailer,
    /// A trailer line starting with whitespace (obs-fold).
    TrailerObsFold,
    /// A trailer section longer than `max_trailer_bytes`.
    TrailerTooLarge,
}

impl ChunkError {
    /// One line for the 400 body and the log.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            Self::InvalidSize => "invalid chunk size",
            Self::SizeTooLong => "chunk size too long",
            Self::BareCr => "bare CR in chunked body",
            Self::BareLf => "bare LF in chunked body",
            Self::InvalidExtension => "invalid chunk extension",
            Self::ExtensionTooLong => "chunk extensions too long",
            Self::MissingDataCrlf => "chunk data not followed by CRLF",
            Self::InvalidTrailer => "invalid trailer field",
            Self::TrailerObsFold => "obsolete line folding in trailer field",
            Self::TrailerTooLarge => "trailer section too large",
        }
    }
}

impl fmt::Display for ChunkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

impl core::error::Error for ChunkError {}

/// Hex digits a chunk-size line may carry. `chunk-size = 1*HEXDIG` allows leading zeros
/// (RFC 9112 7.1), so the line is bounded by this count while the value is bounded
/// separately by what fits in a u64.
const MAX_SIZE_DIGITS: u8 = 64;

/// Decodes one request body; make a new one for each request.
#[derive(Debug, Clone)]
pub(crate) struct BodyDecoder {
    kind: Kind,
    limits: ChunkLimits,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Length framing, with the bytes still expected.
    Length(u64),
    /// Chunked framing.
    Chunked(Chunked),
    /// A previous call failed; the error sticks so that a caller cannot read past it.
    Failed(ChunkError),
}

/// Where in the chunked grammar the decoder stands, with the counters it needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Chunked {
    state: State,
    size: u64,
    digits: u8,
    ext_bytes: usize,
    trailer_bytes: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Before the first hex digit of a chunk size.
    SizeStart,
    /// Among the hex digits.
    Size,
    /// BWS after the size or after an extension value: only more BWS or ';' may follow.
    ExtBws,
    /// After ';', before an extension name (BWS allowed).
    ExtNameStart,
    /// In an extension name.
    ExtName,
    /// BWS after an extension name: '=', ';' or more BWS may follow.
    ExtAfterName,
    /// After '=', before the value (BWS allowed).
    ExtValueStart,
    /// In a token value.
    ExtToken,
    /// In a quoted-string value.
    ExtQuoted,
    /// After a backslash in a quoted-string.
    ExtQuotedEscape,
    /// After the closing quote.
    ExtAfterQuoted,
    /// After the CR ending the size line.
    SizeLf,
    /// In chunk data, with the bytes left in this chunk.
    Data(u64),
    /// After chunk data, expecting CR.
    DataCr,
    /// After chunk data and CR, expecting LF.
    DataLf,
    /// At the start of a trailer line (or the final empty line).
    TrailerLineStart,
    /// In a trailer field name.
    TrailerName,
    /// In a trailer field value.
    TrailerValue,
    /// After the CR ending a trailer field line.
    TrailerLf,
    /// After the CR of the final empty line.
    EndLf,
    /// The body is complete.
    End,
}

impl BodyDecoder {
    /// A decoder for a body with this framing.
    pub(crate) fn new(framing: Framing, limits: ChunkLimits) -> Self {
        let kind = match framing {
            Framing::None => Kind::Length(0),
            Framing::Length(n) => Kind::Length(n),
            Framing::Chunked => Kind::Chunked(Chunked {
                state: State::SizeStart,
                size: 0,
                digits: 0,
                ext_bytes: 0,
                trailer_bytes: 0,
            }),
        };
        Self { kind, limits }
    }

    /// Takes bytes from the front of `buf` (split_to/freeze: no copy of data). Returns at
    /// most `max_chunk` bytes of data per call (a `max_chunk` of 0 counts as 1, so every
    /// call makes progress). After End, the bytes left in buf belong to the next request
    /// (pipelining). After an error, every later call returns the same error.
    pub(crate) fn decode(
        &mut self,
        buf: &mut BytesMut,
        max_chunk: usize,
    ) -> Result<Decoded, ChunkError> {
        let max_chunk = max_chunk.max(1);
        match &mut self.kind {
            Kind::Failed(e) => Err(*e),
            Kind::Length(0) => Ok(Decoded::End),
            Kind::Length(remaining) => Ok(take_data(buf, remaining, max_chunk)),
            Kind::Chunked(chunked) => {
                let result = chunked.decode(buf, max_chunk, &self.limits);
                if let Err(e) = result {
                    self.kind = Kind::Failed(e);
                }
                result
            }
        }
    }

    /// True once no more body bytes are expected: the next `decode` returns End without
    /// consuming anything.
    pub(crate) fn is_done(&self) -> bool {
        match self.kind {
            Kind::Length(n) => n == 0,
            Kind::Chunked(c) => c.state == State::End,
            Kind::Failed(_) => false,
        }
    }

    /// Bytes of body still expected when the length is known (Length framing), None for
    /// chunked.
    pub(crate) fn remaining(&self) -> Option<u64> {
        match self.kind {
            Kind::Length(n) => Some(n),
            Kind::Chunked(_) | Kind::Failed(_) => None,
        }
    }
}

/// Splits up to `remaining` (and `max_chunk`) bytes of data off the front of `buf`.
fn take_data(buf: &mut BytesMut, remaining: &mut u64, max_chunk: usize) -> Decoded {
    if buf.is_empty() {
        return Decoded::NeedMore;
    }
    let limit = buf.len().min(max_chunk);
    let n = usize::try_from(*remaining).map_or(limit, |r| r.min(limit));
    *remaining -= n as u64;
    Decoded::Data(buf.split_to(n).freeze())
}

impl Chunked {
    fn decode(
        &mut self,
        buf: &mut BytesMut,
        max_chunk: usize,
        limits: &ChunkLimits,
    ) -> Result<Decoded, ChunkError> {
        loop {
            match &mut self.state {
                State::End => return Ok(Decoded::End),
                State::Data(remaining) => {
                    let out = take_data(buf, remaining, max_chunk);
                    if *remaining == 0 {
                        self.state = State::DataCr;
                    }
                    return Ok(out);
                }
                _ => {}
            }
            // Framing bytes: walk them one by one, then drop them from the buffer at once.
            let mut used = 0;
            let mut outcome = Ok(());
            for &b in buf.iter() {
                used += 1;
                outcome = self.step(b, limits);
                if outcome.is_err() || matches!(self.state, State::Data(_) | State::End) {
                    break;
                }
            }
            buf.advance(used);
            outcome?;
            if !matches!(self.state, State::Data(_) | State::End) {
                return Ok(Decoded::NeedMore);
            }
        }
    }

    /// Advances the grammar by one byte outside chunk data.
    fn step(&mut self, b: u8, limits: &ChunkLimits) -> Result<(), ChunkError> {
        use State::*;
        let is_ext = matches!(
            self.state,
            ExtBws
                | ExtNameStart
                | ExtName
                | ExtAfterName
                | ExtValueStart
                | ExtToken
                | ExtQuoted
                | ExtQuotedEscape
                | ExtAfterQuoted
        );
        // The byte ending the size (';' or BWS) already counts as extension.
        let counts_as_ext = if is_ext {
            b != b'\r'
        } else {
            self.state == Size && matches!(b, b';' | b' ' | b'\t')
        };
        if counts_as_ext {
            self.ext_bytes += 1;
            if self.ext_bytes > limits.max_extension_bytes {
                return Err(ChunkError::ExtensionTooLong);
            }
        }
        let is_trailer = matches!(self.state, TrailerName | TrailerValue | TrailerLf)
            || (self.state == TrailerLineStart && is_tchar(b));
        if is_trailer {
            self.trailer_bytes += 1;
            if self.trailer_bytes > limits.max_trailer_bytes {
                return Err(ChunkError::TrailerTooLarge);
            }
        }
        let is_ws = b == b' ' || b == b'\t';

        self.state = match (self.state, b) {
            (_, b'\n') if !matches!(self.state, SizeLf | DataLf | TrailerLf | EndLf) => {
                return Err(ChunkError::BareLf);
            }

            (SizeStart, _) => match hex_value(b) {
                Some(d) => {
                    self.size = u64::from(d);
                    self.digits = 1;
                    Size
                }
                None => return Err(ChunkError::InvalidSize),
            },
            (Size, b'\r') => SizeLf,
            (Size, b';') => ExtNameStart,
            (Size, _) if is_ws => ExtBws,
            (Size, _) => match hex_value(b) {
                Some(_) if self.digits >= MAX_SIZE_DIGITS => return Err(ChunkError::SizeTooLong),
                // Another digit would shift a set bit out of the u64.
                Some(_) if self.size >> 60 != 0 => return Err(ChunkError::SizeTooLong),
                Some(d) => {
                    self.size = (self.size << 4) | u64::from(d);
                    self.digits += 1;
                    Size
                }
                None => return Err(ChunkError::InvalidSize),
            },

            (ExtBws, b';') => ExtNameStart,
            (ExtBws, _) if is_ws => ExtBws,
            (ExtNameStart, _) if is_ws => ExtNameStart,
            (ExtNameStart, _) if is_tchar(b) => ExtName,
            (ExtName, _) if is_tchar(b) => ExtName,
            (ExtName, b'\r') => SizeLf,
            (ExtName | ExtAfterName, b'=') => ExtValueStart,
            (ExtName | ExtAfterName, b';') => ExtNameStart,
            (ExtName | ExtAfterName, _) if is_ws => ExtAfterName,
            (ExtValueStart, _) if is_ws => ExtValueStart,
            (ExtValueStart, b'"') => ExtQuoted,
            (ExtValueStart, _) if is_tchar(b) => ExtToken,
            (ExtToken, _) if is_tchar(b) => ExtToken,
            (ExtToken | ExtAfterQuoted, b'\r') => SizeLf,
            (ExtToken | ExtAfterQuoted, b';') => ExtNameStart,
            (ExtToken | ExtAfterQuoted, _) if is_ws => ExtBws,
            (ExtQuoted, b'"') => ExtAfterQuoted,
            (ExtQuoted, b'\\') => ExtQuotedEscape,
            (ExtQuoted, _) if is_qdtext(b) => ExtQuoted,
            (ExtQuotedEscape, _) if is_ws || is_visible(b) => ExtQuoted,
            (
                ExtBws | ExtNameStart | ExtName | ExtAfterName | ExtValueStart | ExtToken
                | ExtQuoted | ExtQuotedEscape | ExtAfterQuoted,
                _,
            ) => return Err(ChunkError::InvalidExtension),

            (SizeLf, b'\n') if self.size == 0 => TrailerLineStart,
            (SizeLf, b'\n') => Data(self.size),
            (SizeLf, _) => return Err(ChunkError::BareCr),

            (DataCr, b'\r') => DataLf,
            (DataCr, _) => return Err(ChunkError::MissingDataCrlf),
            (DataLf, b'\n') => {
                self.size = 0;
                self.digits = 0;
                self.ext_bytes = 0;
                SizeStart
            }
            (DataLf, _) => return Err(ChunkError::BareCr),

            (TrailerLineStart, b'\r') => EndLf,
            (TrailerLineStart, _) if is_ws => return Err(ChunkError::TrailerObsFold),
            (TrailerLineStart, _) if is_tchar(b) => TrailerName,
            (TrailerLineStart, _) => return Err(ChunkError::InvalidTrailer),
            (TrailerName, _) if is_tchar(b) => TrailerName,
            (TrailerName, b':') => TrailerValue,
            (TrailerName, _) => return Err(ChunkError::InvalidTrailer),
            (TrailerValue, b'\r') => TrailerLf,
            (TrailerValue, _) if is_ws || is_visible(b) => TrailerValue,
            (TrailerValue, _) => return Err(ChunkError::InvalidTrailer),
            (TrailerLf, b'\n') => TrailerLineStart,
            (TrailerLf, _) => return Err(ChunkError::BareCr),
            (EndLf, b'\n') => End,
            (EndLf, _) => return Err(ChunkError::BareCr),

            // Data and End are handled by the caller and never stepped.
            (Data(_) | End, _) => return Err(ChunkError::InvalidSize),
        };
        Ok(())
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// VCHAR or obs-text.
fn is_visible(b: u8) -> bool {
    (0x21..=0x7e).contains(&b) || b >= 0x80
}

/// qdtext of RFC 9110 5.6.4: visible bytes but '"' and '\', plus SP and HTAB.
fn is_qdtext(b: u8) -> bool {
    b == b'\t' || b == b' ' || (is_visible(b) && b != b'"' && b != b'\\')
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BufMut;

    const LIMITS: ChunkLimits = ChunkLimits {
        max_extension_bytes: 32,
        max_trailer_bytes: 64,
    };

    /// What a decoder made of an input: the data, how it ended, and the bytes it left.
    #[derive(Debug, PartialEq, Eq)]
    struct Run {
        data: Vec<u8>,
        outcome: Result<bool, ChunkError>,
        rest: Vec<u8>,
    }

    /// Feeds everything at once; `outcome` is Ok(true) on End, Ok(false) if more is needed.
    fn all_at_once(framing: Framing, input: &[u8], max_chunk: usize) -> Run {
        let mut decoder = BodyDecoder::new(framing, LIMITS);
        let mut buf = BytesMut::from(input);
        let mut data = Vec::new();
        let outcome = loop {
            match decoder.decode(&mut buf, max_chunk) {
                Ok(Decoded::Data(d)) => {
                    assert!(!d.is_empty() && d.len() <= max_chunk.max(1));
                    data.extend_from_slice(&d);
                }
                Ok(Decoded::NeedMore) => break Ok(false),
                Ok(Decoded::End) => {
                    assert!(decoder.is_done());
                    break Ok(true);
                }
                Err(e) => break Err(e),
            }
        };
        Run {
            data,
            outcome,
            rest: buf.to_vec(),
        }
    }

    /// Feeds one byte at a time, decoding after each.
    fn byte_by_byte(framing: Framing, input: &[u8]) -> Run {
        let mut decoder = BodyDecoder::new(framing, LIMITS);
        let mut buf = BytesMut::new();
        let mut data = Vec::new();
        let mut fed = 0;
        let outcome = 'feed: loop {
            loop {
                match decoder.decode(&mut buf, 7) {
                    Ok(Decoded::Data(d)) => data.extend_from_slice(&d),
                    Ok(Decoded::NeedMore) => break,
                    Ok(Decoded::End) => break 'feed Ok(true),
                    Err(e) => break 'feed Err(e),
                }
            }
            match input.get(fed) {
                Some(&b) => {
                    buf.put_u8(b);
                    fed += 1;
                }
                None => break Ok(false),
            }
        };
        let mut rest = buf.to_vec();
        rest.extend_from_slice(input.get(fed..).unwrap_or(&[]));
        Run {
            data,
            outcome,
            rest,
        }
    }

    /// Runs a chunked vector every way and checks the ways agree.
    fn chunked(input: &[u8]) -> Run {
        let whole = all_at_once(Framing::Chunked, input, usize::MAX);
        for max_chunk in [0, 1, 3, 1000] {
            let sliced = all_at_once(Framing::Chunked, input, max_chunk);
            assert_eq!(
                sliced,
                whole,
                "max_chunk {max_chunk} on {:?}",
                String::from_utf8_lossy(input)
            );
        }
        let bytewise = byte_by_byte(Framing::Chunked, input);
        if whole.outcome.is_ok() {
            assert_eq!(
                bytewise,
                whole,
                "byte by byte on {:?}",
                String::from_utf8_lossy(input)
            );
        } else {
            // On error, how much was consumed may differ; the verdict may not.
            assert_eq!(
                bytewise.outcome,
                whole.outcome,
                "byte by byte on {:?}",
                String::from_utf8_lossy(input)
            );
        }
        whole
    }

    fn good(input: &[u8], data: &[u8], rest: &[u8]) {
        let run = chunked(input);
        assert_eq!(
            run.outcome,
            Ok(true),
            "{:?}",
            String::from_utf8_lossy(input)
        );
        assert_eq!(run.data, data);
        assert_eq!(run.rest, rest);
    }

    fn bad(input: &[u8], e: ChunkError) {
        assert_eq!(
            chunked(input).outcome,
            Err(e),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }

    #[test]
    fn rfc_style_chunked_body() {
        good(
            b"4\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n",
            b"Wikipedia in\r\n\r\nchunks.",
            b"",
        );
        good(b"0\r\n\r\n", b"", b"");
        good(
            b"1\r\na\r\n0\r\n\r\nGET / HTTP/1.1\r\n",
            b"a",
            b"GET / HTTP/1.1\r\n",
        );
        good(
            b"000000000000000A\r\n0123456789\r\n0\r\n\r\n",
            b"0123456789",
            b"",
        );
        good(b"a\r\n0123456789\r\n00\r\n\r\n", b"0123456789", b"");
    }

    #[test]
    fn incomplete_asks_for_more() {
        let run = chunked(b"5\r\nhel");
        assert_eq!(run.outcome, Ok(false));
        assert_eq!(run.data, b"hel");
        let run = chunked(b"5\r\nhello\r\n0\r\n\r");
        assert_eq!(run.outcome, Ok(false));
        assert_eq!(run.data, b"hello");
        assert!(run.rest.is_empty());
    }

    #[test]
    fn chunk_sizes() {
        bad(b"\r\nabc\r\n0\r\n\r\n", ChunkError::InvalidSize);
        bad(b"0x5\r\nhello\r\n0\r\n\r\n", ChunkError::InvalidSize);
        bad(b"-1\r\n", ChunkError::InvalidSize);
        bad(b"+5\r\nhello\r\n0\r\n\r\n", ChunkError::InvalidSize);
        bad(b" 5\r\nhello\r\n0\r\n\r\n", ChunkError::InvalidSize);
        bad(b"g\r\n", ChunkError::InvalidSize);
        bad(b"5g\r\n", ChunkError::InvalidSize);
        bad(b";a=b\r\n", ChunkError::InvalidSize);
        // Leading zeros are digits like any other; only the value must fit.
        let run = chunked(b"000000000000000000000005\r\nhello\r\n0\r\n\r\n");
        assert_eq!(run.outcome, Ok(true));
        assert_eq!(run.data, b"hello");
        bad(&[b'0'; 65], ChunkError::SizeTooLong);
        bad(b"10000000000000000\r\n", ChunkError::SizeTooLong);
        // 16 digits is the most, and u64::MAX fits.
        let run = chunked(b"ffffffffffffffff\r\nabc");
        assert_eq!(run.outcome, Ok(false));
        assert_eq!(run.data, b"abc");
    }

    #[test]
    fn line_endings() {
        bad(b"5\nhello\r\n0\r\n\r\n", ChunkError::BareLf);
        bad(b"5\rhello\r\n0\r\n\r\n", ChunkError::BareCr);
        bad(b"5\r\nhello\n0\r\n\r\n", ChunkError::BareLf);
        bad(b"5\r\nhello\rx0\r\n\r\n", ChunkError::BareCr);
        bad(b"5\r\nhelloX\r\n0\r\n\r\n", ChunkError::MissingDataCrlf);
        bad(
            b"5\r\nhello world\r\n0\r\n\r\n",
            ChunkError::MissingDataCrlf,
        );
        bad(b"5\r\nhello\r\n0\n\r\n", ChunkError::BareLf);
        bad(b"5\r\nhello\r\n0\r\n\n", ChunkError::BareLf);
        bad(b"5\r\nhello\r\n0\r\n\rx", ChunkError::BareCr);
        bad(b"5;a=b\nhello\r\n0\r\n\r\n", ChunkError::BareLf);
        bad(b"5;a\nhello\r\n0\r\n\r\n", ChunkError::BareLf);
        bad(b"5;a=\"b\nc\"\r\nhello\r\n0\r\n\r\n", ChunkError::BareLf);
    }

    #[test]
    fn extensions() {
        good(b"5;a\r\nhello\r\n0\r\n\r\n", b"hello", b"");
        good(b"5;a=b\r\nhello\r\n0;last\r\n\r\n", b"hello", b"");
        good(
            b"5 ;a=b;c;d=\"x y\\\"z\"\r\nhello\r\n0\r\n\r\n",
            b"hello",
            b"",
        );
        good(b"5\t; a = b ; c\r\nhello\r\n0\r\n\r\n", b"hello", b"");
        good(b"5;a=\"\"\r\nhello\r\n0\r\n\r\n", b"hello", b"");
        bad(b"5 \r\nhello\r\n0\r\n\r\n", ChunkError::InvalidExtension);
        bad(b"5;\r\nhello\r\n0\r\n\r\n", ChunkError::InvalidExtension);
        bad(b"5;=b\r\nhello\r\n0\r\n\r\n", ChunkError::InvalidExtension);
        bad(b"5;a=\r\nhello\r\n0\r\n\r\n", ChunkError::InvalidExtension);
        bad(
            b"5;a=b c\r\nhello\r\n0\r\n\r\n",
            ChunkError::InvalidExtension,
        );
        bad(
            b"5;a=\"b\r\nhello\r\n0\r\n\r\n",
            ChunkError::InvalidExtension,
        );
        bad(
            b"5;a\x00\r\nhello\r\n0\r\n\r\n",
            ChunkError::InvalidExtension,
        );
        bad(
            b"5;a=\"x\"y\r\nhello\r\n0\r\n\r\n",
            ChunkError::InvalidExtension,
        );
        bad(b"5;a \r\nhello\r\n0\r\n\r\n", ChunkError::InvalidExtension);
    }

    #[test]
    fn extension_limit_is_per_line() {
        // 32 bytes of extension (";" + 31) pass on every line; 33 do not.
        let ext = format!(";{}", "x".repeat(31));
        let ok = format!("1{ext}\r\na\r\n1{ext}\r\nb\r\n0{ext}\r\n\r\n");
        good(ok.as_bytes(), b"ab", b"");
        let long = format!("1{ext}x\r\na\r\n0\r\n\r\n");
        bad(long.as_bytes(), ChunkError::ExtensionTooLong);
        // Detected before the line ends.
        let run = all_at_once(
            Framing::Chunked,
            format!("1;{}", "x".repeat(100)).as_bytes(),
            16,
        );
        assert_eq!(run.outcome, Err(ChunkError::ExtensionTooLong));
    }

    #[test]
    fn trailers() {
        good(
            b"5\r\nhello\r\n0\r\nExpires: never\r\nX-Sum:\tab c\r\n\r\nnext",
            b"hello",
            b"next",
        );
        good(b"0\r\nEmpty:\r\n\r\n", b"", b"");
        bad(b"0\r\nX: a\r\n b\r\n\r\n", ChunkError::TrailerObsFold);
        bad(b"0\r\n X: a\r\n\r\n", ChunkError::TrailerObsFold);
        bad(b"0\r\nX : a\r\n\r\n", ChunkError::InvalidTrailer);
        bad(b"0\r\nNoColon\r\n\r\n", ChunkError::InvalidTrailer);
        bad(b"0\r\n: a\r\n\r\n", ChunkError::InvalidTrailer);
        bad(b"0\r\nX: a\x00b\r\n\r\n", ChunkError::InvalidTrailer);
        bad(b"0\r\nX: a\x7fb\r\n\r\n", ChunkError::InvalidTrailer);
        bad(b"0\r\nX: a\rb\r\n\r\n", ChunkError::BareCr);
        bad(b"0\r\nX: a\nY: b\r\n\r\n", ChunkError::BareLf);
    }

    #[test]
    fn trailer_limit() {
        // "X: " + 59 + CRLF = 64 bytes: at the limit.
        let at = format!("0\r\nX: {}\r\n\r\n", "v".repeat(59));
        good(at.as_bytes(), b"", b"");
        let over = format!("0\r\nX: {}\r\n\r\n", "v".repeat(60));
        bad(over.as_bytes(), ChunkError::TrailerTooLarge);
        let many = format!("0\r\n{}\r\n", "A: b\r\n".repeat(20));
        bad(many.as_bytes(), ChunkError::TrailerTooLarge);
        // The final empty line never counts.
        let none = ChunkLimits {
            max_trailer_bytes: 0,
            ..LIMITS
        };
        let mut decoder = BodyDecoder::new(Framing::Chunked, none);
        let mut buf = BytesMut::from(&b"0\r\n\r\n"[..]);
        assert_eq!(decoder.decode(&mut buf, 16), Ok(Decoded::End));
    }

    #[test]
    fn errors_stick() {
        let mut decoder = BodyDecoder::new(Framing::Chunked, LIMITS);
        let mut buf = BytesMut::from(&b"zz"[..]);
        assert_eq!(decoder.decode(&mut buf, 16), Err(ChunkError::InvalidSize));
        let mut buf = BytesMut::from(&b"0\r\n\r\n"[..]);
        assert_eq!(decoder.decode(&mut buf, 16), Err(ChunkError::InvalidSize));
        assert!(!decoder.is_done());
        for e in [
            ChunkError::InvalidSize,
            ChunkError::SizeTooLong,
            ChunkError::BareCr,
            ChunkError::BareLf,
            ChunkError::InvalidExtension,
            ChunkError::ExtensionTooLong,
            ChunkError::MissingDataCrlf,
            ChunkError::InvalidTrailer,
            ChunkError::TrailerObsFold,
            ChunkError::TrailerTooLarge,
        ] {
            assert!(!e.reason().is_empty());
            assert_eq!(e.to_string(), e.reason());
        }
    }

    #[test]
    fn chunked_data_is_not_copied() {
        let mut decoder = BodyDecoder::new(Framing::Chunked, LIMITS);
        let mut buf = BytesMut::from(&b"5\r\nhello\r\n0\r\n\r\n"[..]);
        let base = buf.as_ptr() as usize;
        let Ok(Decoded::Data(d)) = decoder.decode(&mut buf, 64) else {
            panic!("expected data");
        };
        assert_eq!(&d[..], b"hello");
        assert_eq!(d.as_ptr() as usize, base + 3);
        assert_eq!(decoder.remaining(), None);
        assert!(!decoder.is_done());
        assert_eq!(decoder.decode(&mut buf, 64), Ok(Decoded::End));
        assert!(decoder.is_done());
        assert_eq!(decoder.decode(&mut buf, 64), Ok(Decoded::End));
    }

    #[test]
    fn length_framing() {
        let mut decoder = BodyDecoder::new(Framing::Length(10), LIMITS);
        assert_eq!(decoder.remaining(), Some(10));
        let mut buf = BytesMut::from(&b"0123"[..]);
        assert_eq!(
            decoder.decode(&mut buf, 3),
            Ok(Decoded::Data(Bytes::from_static(b"012")))
        );
        assert_eq!(
            decoder.decode(&mut buf, 3),
            Ok(Decoded::Data(Bytes::from_static(b"3")))
        );
        assert_eq!(decoder.decode(&mut buf, 3), Ok(Decoded::NeedMore));
        assert_eq!(decoder.remaining(), Some(6));
        buf.extend_from_slice(b"456789GET /");
        assert_eq!(
            decoder.decode(&mut buf, 100),
            Ok(Decoded::Data(Bytes::from_static(b"456789")))
        );
        assert!(decoder.is_done());
        assert_eq!(decoder.remaining(), Some(0));
        assert_eq!(decoder.decode(&mut buf, 100), Ok(Decoded::End));
        assert_eq!(&buf[..], b"GET /");

        let run = byte_by_byte(Framing::Length(5), b"helloworld");
        assert_eq!(
            run,
            Run {
                data: b"hello".to_vec(),
                outcome: Ok(true),
                rest: b"world".to_vec()
            }
        );
        let run = all_at_once(Framing::Length(5), b"helloworld", 0);
        assert_eq!(
            run,
            Run {
                data: b"hello".to_vec(),
                outcome: Ok(true),
                rest: b"world".to_vec()
            }
        );
    }

    #[test]
    fn huge_length_does_not_overflow() {
        let mut decoder = BodyDecoder::new(Framing::Length(u64::MAX), LIMITS);
        let mut buf = BytesMut::from(&b"abc"[..]);
        assert_eq!(
            decoder.decode(&mut buf, usize::MAX),
            Ok(Decoded::Data(Bytes::from_static(b"abc")))
        );
        assert_eq!(decoder.remaining(), Some(u64::MAX - 3));
        assert_eq!(decoder.decode(&mut buf, usize::MAX), Ok(Decoded::NeedMore));
    }

    #[test]
    fn no_body() {
        let mut decoder = BodyDecoder::new(Framing::None, LIMITS);
        assert!(decoder.is_done());
        assert_eq!(decoder.remaining(), Some(0));
        let mut buf = BytesMut::from(&b"GET / HTTP/1.1\r\n"[..]);
        assert_eq!(decoder.decode(&mut buf, 16), Ok(Decoded::End));
        assert_eq!(buf.len(), 16);
        let mut decoder = BodyDecoder::new(Framing::Length(0), LIMITS);
        assert_eq!(decoder.decode(&mut buf, 16), Ok(Decoded::End));
    }

    #[test]
    fn no_panic_on_mutations() {
        let vector = b"5;a=\"b\\c\"\r\nhello\r\n1\r\nx\r\n0\r\nT: v\r\n\r\n";
        let mut copy = vector.to_vec();
        for i in 0..copy.len() {
            for b in [0u8, b'\r', b'\n', b' ', b';', b'"', b'\\', b'0', b'f', 0xff] {
                let old = copy[i];
                copy[i] = b;
                chunked(&copy);
                copy[i] = old;
            }
        }
    }
}
