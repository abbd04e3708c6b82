//! Content-coding negotiation: `Accept-Encoding` (RFC 9110 section 12.5.3) with q-values.
//!
//! The original tried its precompressed files in a fixed order among the codings named in
//! `Accept-Encoding`, ignoring q-values (even `q=0`). Here q-values decide, `q=0` excludes,
//! `*` covers what is not named, and equal weights prefer the smallest representation.

use std::borrow::Cow;

use crate::proto::field_list::{visible_ascii, FieldList};
use crate::proto::{is_tchar, offset_in, trim_ows};

/// A content coding gust can serve from precompressed bytes or files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Coding {
    /// No coding: the bytes as they are.
    Identity,
    /// gzip (RFC 1952).
    Gzip,
    /// Brotli (RFC 7932).
    Br,
    /// Zstandard (RFC 8878).
    Zstd,
}

impl Coding {
    /// The coding's token in `Accept-Encoding` and `Content-Encoding`.
    pub(crate) fn token(self) -> &'static str {
        match self {
            Coding::Identity => "identity",
            Coding::Gzip => "gzip",
            Coding::Br => "br",
            Coding::Zstd => "zstd",
        }
    }

    /// The suffix a precompressed sibling file carries (`main.js.br`); empty for identity.
    pub(crate) fn file_suffix(self) -> &'static str {
        match self {
            Coding::Identity => "",
            Coding::Gzip => ".gz",
            Coding::Br => ".br",
            Coding::Zstd => ".zst",
        }
    }

    /// The coding a token names, case-insensitively; `x-gzip` is gzip (RFC 9110 8.4.1.3).
    pub(crate) fn from_token(token: &str) -> Option<Coding> {
        // By length first: a token is compared with one name at most.
        let (name, coding) = match token.len() {
            2 => ("br", Coding::Br),
            4 if token.starts_with(['g', 'G']) => ("gzip", Coding::Gzip),
            4 => ("zstd", Coding::Zstd),
            6 => ("x-gzip", Coding::Gzip),
            8 => ("identity", Coding::Identity),
            _ => return None,
        };
        token.eq_ignore_ascii_case(name).then_some(coding)
    }

    /// Where [`Preferences`] keeps the coding's weight.
    fn index(self) -> usize {
        match self {
            Coding::Identity => 0,
            Coding::Gzip => 1,
            Coding::Br => 2,
            Coding::Zstd => 3,
        }
    }

    /// Rank among equal q-values: smaller representations first, identity last.
    fn preference(self) -> u8 {
        match self {
            Coding::Br => 3,
            Coding::Zstd => 2,
            Coding::Gzip => 1,
            Coding::Identity => 0,
        }
    }
}

/// q-values are kept in thousandths, the precision RFC 9110 allows.
type Q = u16;

/// The weight given to identity when the header neither names it nor has `*`: acceptable
/// (RFC 9110 says identity is acceptable unless excluded) yet below every coding the client
/// named, since a client that lists `gzip;q=0.5` is asking for gzip, not for identity.
const IMPLICIT_IDENTITY_Q: Q = 1;

/// One parsed `Accept-Encoding`: the weight of each coding gust knows and of `*`, found in
/// one pass without allocating (a browser's header came through here three times per
/// cached file, and cost more than the rest of the request).
struct Preferences<'a> {
    /// By [`Coding::index`]: the highest weight the coding was named with.
    known: [Option<Q>; 4],
    star: Option<Q>,
    /// The header, for the rare question about a coding gust has no [`Coding`] for.
    text: &'a str,
}

impl<'a> Preferences<'a> {
    /// Parses the header, skipping malformed members: a bad member says nothing, so it
    /// neither accepts nor excludes anything.
    fn parse(value: &'a [u8]) -> Self {
        let text = visible_ascii(value).unwrap_or("");
        if let Some((known, star)) = LastParsed::recall(text) {
            return Preferences { known, star, text };
        }
        let prefs = Self::parse_text(text);
        LastParsed::remember(text, prefs.known, prefs.star);
        prefs
    }

    /// [`Preferences::parse`] without the memo.
    fn parse_text(text: &'a str) -> Self {
        let mut prefs = Preferences {
            known: [None; 4],
            star: None,
            text,
        };
        for (token, q) in members(prefs.text) {
            // Repeated entries are contradictory; the highest weight wins.
            let slot = if token == "*" {
                &mut prefs.star
            } else if let Some(coding) = Coding::from_token(token) {
                &mut prefs.known[coding.index()]
            } else {
                continue;
            };
            *slot = Some(slot.map_or(q, |seen| seen.max(q)));
        }
        prefs
    }

    /// The weight of `coding`: the highest it was named with (`x-gzip` names gzip), else
    /// that of `*`, else none. Identity alone has a default.
    fn q(&self, coding: Coding) -> Q {
        match (self.known[coding.index()], self.star) {
            (Some(q), _) => q,
            (None, Some(star)) => star,
            (None, None) if coding == Coding::Identity => IMPLICIT_IDENTITY_Q,
            (None, None) => 0,
        }
    }

    /// [`Preferences::q`] for a token gust has no [`Coding`] for.
    fn q_of_other(&self, token: &str) -> Q {
        members(self.text)
            .filter(|(t, _)| t.eq_ignore_ascii_case(token))
            .map(|(_, q)| q)
            .max()
            .or(self.star)
            .unwrap_or(0)
    }
}

/// The weights of the last `Accept-Encoding` value parsed on this thread, and the value.
///
/// A browser sends the same value with every request (Chrome: `gzip, deflate, br, zstd`),
/// and browsers of one kind the same as each other: comparing it with the last one costs
/// a few dozen instructions where parsing it cost about 1,400 (callgrind, per request).
/// Values longer than [`LastParsed::LONGEST`] are parsed every time.
struct LastParsed {
    text: [u8; LastParsed::LONGEST],
    len: usize,
    known: [Option<Q>; 4],
    star: Option<Q>,
}

thread_local! {
    static LAST_PARSED: std::cell::RefCell<LastParsed> = const {
        std::cell::RefCell::new(LastParsed {
            text: [0; LastParsed::LONGEST],
            len: 0,
            known: [None; 4],
            star: None,
        })
    };
}

impl LastParsed {
    const LONGEST: usize = 64;

    /// Whether the memo keeps `text`: not empty (what `len` 0 stands for), not too long.
    fn holds(text: &str) -> bool {
        !text.is_empty() && text.len() <= Self::LONGEST
    }

    /// The weights parsed from `text` last time, if `text` is the value parsed last.
    fn recall(text: &str) -> Option<([Option<Q>; 4], Option<Q>)> {
        if !Self::holds(text) {
            return None;
        }
        LAST_PARSED
            .try_with(|last| {
                let last = last.borrow();
                (last.text.get(..last.len) == Some(text.as_bytes()))
                    .then_some((last.known, last.star))
            })
            .ok()
            .flatten()
    }

    fn remember(text: &str, known: [Option<Q>; 4], star: Option<Q>) {
        if !Self::holds(text) {
            return;
        }
        let _ = LAST_PARSED.try_with(|last| {
            let mut last = last.borrow_mut();
            last.text[..text.len()].copy_from_slice(text.as_bytes());
            last.len = text.len();
            last.known = known;
            last.star = star;
        });
    }
}

/// The members of an `Accept-Encoding` list that say something: each token with its
/// weight. A member that is not a token, has a parameter without `=` or a malformed `q`
/// is skipped; of several `q` parameters the last counts.
///
/// Split and trimmed as bytes: `str`'s pattern searchers cost more per call than a short
/// list's whole scan. The value came from [`visible_ascii`], so its only whitespace is
/// spaces and tabs.
fn members(text: &str) -> impl Iterator<Item = (&str, Q)> {
    text.as_bytes().split(|&b| b == b',').filter_map(|member| {
        let mut pieces = member.split(|&b| b == b';');
        let token = trim_ows(pieces.next().unwrap_or_default());
        if token.is_empty() || !token.iter().all(|&b| is_tchar(b)) {
            return None;
        }
        let mut q = 1000;
        for param in pieces {
            let eq = param.iter().position(|&b| b == b'=')?;
            let (name, v) = param.split_at(eq);
            if trim_ows(name).eq_ignore_ascii_case(b"q") {
                q = parse_qvalue(trim_ows(v.get(1..).unwrap_or_default()))?;
            }
        }
        // The token's place in `text`: token characters are ASCII, so it is a `str` of its
        // own without a second look at its bytes.
        let start = offset_in(token, text.as_bytes());
        Some((text.get(start..start.checked_add(token.len())?)?, q))
    })
}

/// Whether `s` is a `token` (RFC 9110 5.6.2), as a content-coding name must be.
pub(crate) fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(is_tchar)
}

/// `qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )`, in thousandths.
fn parse_qvalue(v: &[u8]) -> Option<Q> {
    let (int, frac) = match v.iter().position(|&b| b == b'.') {
        Some(dot) => (v.get(..dot)?, v.get(dot + 1..)?),
        None => (v, &[][..]),
    };
    if frac.len() > 3 || !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut thousandths: Q = 0;
    for (b, scale) in frac.iter().zip([100, 10, 1]) {
        thousandths += Q::from(b - b'0') * scale;
    }
    match int {
        b"0" => Some(thousandths),
        b"1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

/// All `Accept-Encoding` lines of a request as one value (a list split over several lines
/// means the same as the joined list, RFC 9110 5.3), or `None` when the header is absent.
/// One line, the usual case, is lent as it is.
pub(crate) fn accept_encoding(headers: &FieldList) -> Option<Cow<'_, [u8]>> {
    let mut values = headers.get_all(b"accept-encoding");
    let first = values.next()?;
    let Some(second) = values.next() else {
        return Some(Cow::Borrowed(first));
    };
    let mut joined = first.to_vec();
    for v in std::iter::once(second).chain(values) {
        joined.extend_from_slice(b", ");
        joined.extend_from_slice(v);
    }
    Some(Cow::Owned(joined))
}

/// Picks the coding to serve among `available` (identity is always available and need not
/// be listed): the highest q wins, ties go to br, then zstd, then gzip, then identity.
///
/// Without an `Accept-Encoding` header the answer is identity: RFC 9110 would allow any
/// coding then, but a client that says nothing may well not decode one. Returns `None` only
/// when the client excluded identity too (`identity;q=0`, or `*;q=0` without naming
/// identity) and accepts nothing available. Callers then serve identity anyway rather than
/// 406, which RFC 9110 12.5.3 allows: a page the client may be able to use beats an error.
pub(crate) fn negotiate(accept: Option<&[u8]>, available: &[Coding]) -> Option<Coding> {
    let Some(accept) = accept else {
        return Some(Coding::Identity);
    };
    let prefs = Preferences::parse(accept);
    available
        .iter()
        .copied()
        .chain(std::iter::once(Coding::Identity))
        .map(|c| (prefs.q(c), c))
        .filter(|&(q, _)| q > 0)
        .max_by_key(|&(q, c)| (q, c.preference()))
        .map(|(_, c)| c)
}

/// Whether the client accepts `coding` (q > 0, named or through `*`; identity also by
/// default). An absent header accepts identity only: see [`negotiate`].
pub(crate) fn accepts(accept: Option<&[u8]>, coding: Coding) -> bool {
    match accept {
        None => coding == Coding::Identity,
        Some(v) => Preferences::parse(v).q(coding) > 0,
    }
}

/// [`accepts`] for several codings, the header parsed once: bit `i` is set when the client
/// accepts `codings[i]` (at most eight).
pub(crate) fn accepted_bits(accept: Option<&[u8]>, codings: &[Coding]) -> u8 {
    debug_assert!(codings.len() <= 8);
    let prefs = accept.map(Preferences::parse);
    codings
        .iter()
        .enumerate()
        .filter(|&(_, &coding)| match &prefs {
            None => coding == Coding::Identity,
            Some(prefs) => prefs.q(coding) > 0,
        })
        .fold(0, |bits, (i, _)| bits | 1 << i)
}

/// [`accepts`] for a coding gust has no [`Coding`] for (a precompressed static resource in,
/// say, `deflate`): named with q > 0 or covered by `*`.
pub(crate) fn accepts_token(accept: Option<&[u8]>, token: &str) -> bool {
    if let Some(coding) = Coding::from_token(token) {
        return accepts(accept, coding);
    }
    match accept {
        None => false,
        Some(v) => Preferences::parse(v).q_of_other(token) > 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `str`-based member split that `members` replaced, kept as the reference the
    /// byte-based one must agree with.
    fn members_by_str(text: &str) -> Vec<(&str, Q)> {
        let qvalue = |v: &str| -> Option<Q> {
            let (int, frac) = v.split_once('.').unwrap_or((v, ""));
            if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let thousandths = frac
                .bytes()
                .zip([100, 10, 1])
                .map(|(b, scale)| Q::from(b - b'0') * scale)
                .sum::<Q>();
            match int {
                "0" => Some(thousandths),
                "1" if thousandths == 0 => Some(1000),
                _ => None,
            }
        };
        text.split(',')
            .filter_map(|member| {
                let mut pieces = member.split(';');
                let token = pieces.next().unwrap_or("").trim();
                if !is_token(token) {
                    return None;
                }
                let mut q = 1000;
                for param in pieces {
                    let (name, v) = param.split_once('=')?;
                    if name.trim().eq_ignore_ascii_case("q") {
                        q = qvalue(v.trim())?;
                    }
                }
                Some((token, q))
            })
            .collect()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        /// Lists made of the characters the syntax is about (visible ASCII, spaces and
        /// tabs, as a HeaderValue's text holds): both splits find the same members.
        #[test]
        fn members_agree_with_the_str_split(text in "[ \t,;=q.01a-z*X9-]{0,40}") {
            let by_bytes: Vec<_> = members(&text).collect();
            proptest::prop_assert_eq!(by_bytes, members_by_str(&text));
        }

        /// Lists shaped like real ones (tokens, `q` parameters with good and bad weights,
        /// other parameters, whitespace where it may and may not be).
        #[test]
        fn shaped_lists_agree_with_the_str_split(
            list in proptest::collection::vec((
                proptest::sample::select(&["gzip", "Br", "*", "x-gzip", "", "a b", "zstd"][..]),
                proptest::sample::select(&["", ";q=", "; q=", ";Q =", ";level=1", ";q"][..]),
                proptest::sample::select(&["0", "1", "0.5", "1.0", "1.5", "0.1234", "2", ".5", "1.000", "1.001", " 0.2 "][..]),
                proptest::sample::select(&["", " ", "\t", " ,"][..]),
            ), 0..6),
        ) {
            let text: String = list
                .iter()
                .map(|(token, param, q, ows)| format!("{ows}{token}{param}{q}{ows}"))
                .collect::<Vec<_>>()
                .join(",");
            let by_bytes: Vec<_> = members(&text).collect();
            proptest::prop_assert_eq!(by_bytes, members_by_str(&text));
        }

        /// A run of values, often the same one again or one differing in a byte: the
        /// memo of the last value parsed gives the weights parsing gives, whatever came
        /// before.
        #[test]
        fn the_memo_gives_what_parsing_gives(
            run in proptest::collection::vec(proptest::sample::select(&[
                "gzip, deflate, br, zstd", "gzip, deflate, br, zst", "gzip, deflate, br, zstd ",
                "gzip;q=0, br", "gzip;q=0, bR", "*;q=0.5", "*;q=0.6", "identity;q=0", "",
                "br, gzip, deflate, zstd, identity, x-gzip, compress, *;q=0.001, a, b, c",
                "br, gzip, deflate, zstd, identity, x-gzip, compress, *;q=0.001, a, b, d",
            ][..]), 1..12),
        ) {
            for text in run {
                let memo = Preferences::parse(text.as_bytes());
                let parsed = Preferences::parse_text(text);
                proptest::prop_assert_eq!((memo.known, memo.star), (parsed.known, parsed.star), "{:?}", text);
            }
        }
    }

    const ALL: &[Coding] = &[Coding::Gzip, Coding::Br, Coding::Zstd];

    fn pick(header: &str, available: &[Coding]) -> Option<Coding> {
        negotiate(Some(header.as_bytes()), available)
    }

    #[test]
    fn tokens_and_suffixes() {
        assert_eq!(Coding::Gzip.token(), "gzip");
        assert_eq!(Coding::Br.token(), "br");
        assert_eq!(Coding::Zstd.token(), "zstd");
        assert_eq!(Coding::Identity.token(), "identity");
        assert_eq!(Coding::Gzip.file_suffix(), ".gz");
        assert_eq!(Coding::Br.file_suffix(), ".br");
        assert_eq!(Coding::Zstd.file_suffix(), ".zst");
        assert_eq!(Coding::Identity.file_suffix(), "");
        assert_eq!(Coding::from_token("GZIP"), Some(Coding::Gzip));
        assert_eq!(Coding::from_token("x-gzip"), Some(Coding::Gzip));
        assert_eq!(Coding::from_token("deflate"), None);
        // Every coding's own token, in any case, and nothing of the same lengths else.
        for coding in [Coding::Identity, Coding::Gzip, Coding::Br, Coding::Zstd] {
            assert_eq!(Coding::from_token(coding.token()), Some(coding));
            let upper = coding.token().to_ascii_uppercase();
            assert_eq!(Coding::from_token(&upper), Some(coding));
        }
        for other in [
            "b", "bz", "gzi", "zsdt", "gzipx", "x-gzi", "x-gzipp", "identit", "*",
        ] {
            assert_eq!(Coding::from_token(other), None, "{other}");
        }
    }

    #[test]
    fn no_header_means_identity() {
        assert_eq!(negotiate(None, ALL), Some(Coding::Identity));
        assert!(accepts(None, Coding::Identity));
        assert!(!accepts(None, Coding::Gzip));
    }

    #[test]
    fn browser_headers_prefer_the_smallest() {
        assert_eq!(pick("gzip, deflate, br, zstd", ALL), Some(Coding::Br));
        assert_eq!(
            pick("gzip, deflate, br, zstd", &[Coding::Gzip, Coding::Zstd]),
            Some(Coding::Zstd)
        );
        assert_eq!(pick("gzip, deflate", ALL), Some(Coding::Gzip));
        assert_eq!(pick("gzip, deflate", &[]), Some(Coding::Identity));
        assert_eq!(pick("*", ALL), Some(Coding::Br));
    }

    #[test]
    fn q_values_decide() {
        assert_eq!(pick("gzip;q=0, br", ALL), Some(Coding::Br));
        assert_eq!(pick("br;q=0.5, gzip;q=0.8", ALL), Some(Coding::Gzip));
        assert_eq!(
            pick("br;q=0.5, gzip;q=0.8, identity", ALL),
            Some(Coding::Identity)
        );
        assert_eq!(pick("br;q=0", &[Coding::Br]), Some(Coding::Identity));
        assert_eq!(pick("br;Q=0.001", &[Coding::Br]), Some(Coding::Br));
        assert_eq!(
            pick("gzip ; q=1.000 , br ; q=0.999", ALL),
            Some(Coding::Gzip)
        );
        // A named coding outranks identity the client did not name.
        assert_eq!(pick("gzip;q=0.5", ALL), Some(Coding::Gzip));
    }

    #[test]
    fn star_covers_what_is_not_named() {
        assert_eq!(pick("gzip, *;q=0", ALL), Some(Coding::Gzip));
        assert_eq!(pick("*;q=0", ALL), None);
        assert_eq!(pick("*;q=0, identity", ALL), Some(Coding::Identity));
        assert_eq!(pick("br;q=0, *", ALL), Some(Coding::Zstd));
        assert_eq!(pick("*;q=0.5, gzip", ALL), Some(Coding::Gzip));
        assert_eq!(pick("identity;q=0", &[]), None);
        assert_eq!(pick("identity;q=0", &[Coding::Gzip]), None);
        assert_eq!(
            pick("identity;q=0, gzip", &[Coding::Gzip]),
            Some(Coding::Gzip)
        );
    }

    #[test]
    fn empty_header_means_identity_only() {
        assert_eq!(pick("", ALL), Some(Coding::Identity));
        assert!(!accepts(Some(&b""[..]), Coding::Gzip));
    }

    #[test]
    fn malformed_members_are_ignored() {
        assert_eq!(pick("br;q=2, gzip", ALL), Some(Coding::Gzip));
        assert_eq!(pick("br;q=0.5.5, gzip;q=0.1", ALL), Some(Coding::Gzip));
        assert_eq!(pick("br;q=, gzip;q=0.1", ALL), Some(Coding::Gzip));
        assert_eq!(pick("br;q=0.1234, gzip;q=0.1", ALL), Some(Coding::Gzip));
        assert_eq!(pick("br;q=1.5, gzip;q=0.1", ALL), Some(Coding::Gzip));
        assert_eq!(pick("br;x, gzip;q=0.1", ALL), Some(Coding::Gzip));
        assert_eq!(pick("b r, gzip;q=0.1", ALL), Some(Coding::Gzip));
        assert_eq!(pick(",,, ;q=1,", ALL), Some(Coding::Identity));
        // A malformed q=0 does not exclude.
        assert_eq!(pick("identity;q=zero", &[]), Some(Coding::Identity));
        // Unknown parameters are ignored, the weight still counts.
        assert_eq!(
            pick("gzip;level=9;q=0.5", &[Coding::Gzip]),
            Some(Coding::Gzip)
        );
        assert_eq!(negotiate(Some(b"gzip\xff"), ALL), Some(Coding::Identity));
    }

    #[test]
    fn qvalues() {
        assert_eq!(parse_qvalue(b"0"), Some(0));
        assert_eq!(parse_qvalue(b"0."), Some(0));
        assert_eq!(parse_qvalue(b"0.5"), Some(500));
        assert_eq!(parse_qvalue(b"0.05"), Some(50));
        assert_eq!(parse_qvalue(b"0.001"), Some(1));
        assert_eq!(parse_qvalue(b"1"), Some(1000));
        assert_eq!(parse_qvalue(b"1.000"), Some(1000));
        assert_eq!(parse_qvalue(b"1.001"), None);
        assert_eq!(parse_qvalue(b"2"), None);
        assert_eq!(parse_qvalue(b".5"), None);
        assert_eq!(parse_qvalue(b"-0"), None);
        assert_eq!(parse_qvalue(b"0.+1"), None);
    }

    #[test]
    fn accepts_named_star_and_tokens() {
        let h = Some(&b"gzip;q=0.2, deflate, br;q=0"[..]);
        assert!(accepts(h, Coding::Gzip));
        assert!(!accepts(h, Coding::Br));
        assert!(!accepts(h, Coding::Zstd));
        assert!(accepts(h, Coding::Identity));
        assert!(accepts_token(h, "deflate"));
        assert!(accepts_token(h, "DEFLATE"));
        assert!(!accepts_token(h, "compress"));
        assert!(accepts_token(h, "x-gzip"));
        assert!(!accepts_token(None, "deflate"));
        let star = Some(&b"*"[..]);
        assert!(accepts(star, Coding::Zstd));
        assert!(accepts_token(star, "deflate"));
        assert!(accepts(Some(b"x-gzip"), Coding::Gzip));
        assert!(!accepts(Some(b"*;q=0"), Coding::Identity));
    }

    /// One parse gives, for each coding, what a parse per coding gives.
    #[test]
    fn accepted_bits_agree_with_accepts() {
        let codings = [Coding::Br, Coding::Zstd, Coding::Gzip, Coding::Identity];
        let headers = [
            None,
            Some(""),
            Some("gzip, deflate, br, zstd"),
            Some("gzip;q=0.2, deflate, br;q=0"),
            Some("*"),
            Some("*;q=0"),
            Some("identity;q=0, x-gzip"),
            Some("br;q=1, gzip;q=0, *;q=0.5"),
            Some("zstd;q=oops, gzip"),
        ];
        for header in headers {
            let value = header.map(str::as_bytes);
            let bits = accepted_bits(value, &codings);
            for (i, &coding) in codings.iter().enumerate() {
                assert_eq!(
                    bits & 1 << i != 0,
                    accepts(value, coding),
                    "{header:?} {coding:?}"
                );
            }
        }
    }

    #[test]
    fn several_header_lines_are_one_list() {
        let mut headers = FieldList::default();
        assert_eq!(accept_encoding(&headers), None);
        headers.push(b"accept-encoding", b"gzip;q=0.5");
        assert_eq!(accept_encoding(&headers).as_deref().unwrap(), b"gzip;q=0.5");
        headers.push(b"accept-encoding", b"br");
        let joined = accept_encoding(&headers);
        assert_eq!(joined.as_deref().unwrap(), b"gzip;q=0.5, br");
        assert_eq!(negotiate(joined.as_deref(), ALL), Some(Coding::Br));
    }
}
