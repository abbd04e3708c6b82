//! Request path normalisation, run once per request before routing.
//!
//! The original server looked files up by the raw URL, and `..` segments walked out of the
//! served directory (CVE-2026-8023). Here every path is decoded first and its dot segments
//! removed afterwards, so that no spelling of `..` (`%2e%2e`, `.%2E`, `..%2F`) survives into
//! routing or file lookup, and `..` can never climb above `/`.

use std::borrow::Cow;
use std::fmt;
use std::hash::Hasher;

use percent_encoding::{AsciiSet, CONTROLS};

/// Bytes besides the controls (and every non-ASCII byte) that a URI path cannot hold as
/// they are (RFC 3986 3.3), and `%` itself, so that a decoded `%25` stays a literal
/// percent sign when the path is encoded again.
const ENCODED_IN_URI_PATH: [u8; 15] = [
    b' ', b'"', b'#', b'%', b'<', b'>', b'?', b'[', b'\\', b']', b'^', b'`', b'{', b'|', b'}',
];

/// What a decoded path is encoded with before it becomes a handler's URI.
pub(crate) const PATH_UNSAFE: &AsciiSet = &{
    let mut set = CONTROLS.add(ENCODED_IN_URI_PATH[0]);
    let mut i = 1;
    while i < ENCODED_IN_URI_PATH.len() {
        set = set.add(ENCODED_IN_URI_PATH[i]);
        i += 1;
    }
    set
};

/// Per byte: whether encoding a path with [`PATH_UNSAFE`] changes it (the controls, the
/// bytes above, and every byte of a non-ASCII character).
const CHANGED_BY_ENCODING: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = b < 0x20 || b >= 0x7f;
        b += 1;
    }
    let mut i = 0;
    while i < ENCODED_IN_URI_PATH.len() {
        table[ENCODED_IN_URI_PATH[i] as usize] = true;
        i += 1;
    }
    table
};

/// A request path after percent-decoding and dot-segment removal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NormalizedPath<'a> {
    /// The decoded path: starts with `/`, holds no `.` or `..` segment. Borrowed when the
    /// raw path was already that (most requests): nothing to decode, nothing to remove.
    pub(crate) path: Cow<'a, str>,
    /// Whether the raw path spelled a `/` or `\` as `%2F` / `%5C`. The decoded path cannot
    /// tell such a slash from a real one, so resources that map paths onto a file system
    /// refuse these requests rather than guess.
    pub(crate) had_encoded_slash: bool,
    /// `path` is the raw path itself and holds no byte that encoding it with
    /// [`PATH_UNSAFE`] would change: the target as sent can be the handler's URI.
    pub(crate) uri_ready: bool,
}

/// Why a request path was refused; every variant is answered with 400 Bad Request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathError {
    /// The path does not start with `/` (not an origin-form target).
    NotOrigin,
    /// A `%` not followed by two hexadecimal digits.
    BadPercentEncoding,
    /// The decoded bytes are not UTF-8.
    NotUtf8,
    /// The decoded path holds a NUL byte, which file APIs would silently truncate at.
    NulByte,
}

impl PathError {
    /// A short explanation for the 400 answer's body and the log.
    pub(crate) fn reason(&self) -> &'static str {
        match self {
            PathError::NotOrigin => "request path does not start with '/'",
            PathError::BadPercentEncoding => "malformed percent-encoding in request path",
            PathError::NotUtf8 => "request path is not UTF-8 once decoded",
            PathError::NulByte => "request path contains a NUL byte",
        }
    }
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.reason())
    }
}

impl std::error::Error for PathError {}

/// FNV-1a over a path's bytes, for maps looked up with every request's path (the router's
/// exact paths, the file cache): SipHash cost several times more. Not keyed, so a map
/// using it must bound what clients can put in it (the router's keys are the service's
/// own; see the file cache for its bound).
#[derive(Debug, Default)]
pub(crate) struct PathHasher(u64);

impl Hasher for PathHasher {
    fn write(&mut self, bytes: &[u8]) {
        const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
        const PRIME: u64 = 0x0000_0100_0000_01b3;
        let mut hash = if self.0 == 0 { OFFSET } else { self.0 };
        for &b in bytes {
            hash ^= u64::from(b);
            hash = hash.wrapping_mul(PRIME);
        }
        self.0 = hash;
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Normalises `raw`, the path part of an origin-form target (query already removed).
///
/// Percent-decodes the whole path, then removes dot segments as RFC 3986 section 5.2.4 does.
/// Decoding comes first on purpose: a segment written `%2e%2e` is a `..` like any other, and
/// a `..` hidden behind an encoded slash (`a%2F..`) is removed too. Nothing else is collapsed
/// (empty segments stay), so the result is the path the client meant, minus any way up.
pub(crate) fn normalize(raw: &str) -> Result<NormalizedPath<'_>, PathError> {
    if !raw.starts_with('/') {
        return Err(PathError::NotOrigin);
    }
    if let Some(uri_ready) = check_normal(raw) {
        return Ok(NormalizedPath {
            path: Cow::Borrowed(raw),
            had_encoded_slash: false,
            uri_ready,
        });
    }
    let (decoded, had_encoded_slash) = percent_decode(raw.as_bytes())?;
    let decoded = String::from_utf8(decoded).map_err(|_| PathError::NotUtf8)?;
    if decoded.contains('\0') {
        return Err(PathError::NulByte);
    }
    Ok(NormalizedPath {
        path: Cow::Owned(remove_dot_segments(&decoded)),
        had_encoded_slash,
        uri_ready: false,
    })
}

/// Whether decoding and dot-segment removal would give `raw` back unchanged (no `%` to
/// decode, no NUL to refuse, no `.` or `..` segment to remove): `None` if not, else
/// whether `raw` also needs no encoding to be a URI path ([`CHANGED_BY_ENCODING`]). One
/// pass over the bytes: every request's path comes here (splitting it into segments cost
/// twice as much, and a second pass to encode it as much again).
fn check_normal(raw: &str) -> Option<bool> {
    /// The current segment so far: empty or only dots (how many, up to 3), or anything else.
    const OTHER: u8 = u8::MAX;
    let mut segment = 0u8;
    let mut uri_ready = true;
    for &b in raw.as_bytes() {
        match b {
            b'%' | 0 => return None,
            b'/' if segment == 1 || segment == 2 => return None,
            b'/' => segment = 0,
            b'.' if segment != OTHER => segment = (segment + 1).min(3),
            _ => {
                segment = OTHER;
                uri_ready &= !CHANGED_BY_ENCODING[usize::from(b)];
            }
        }
    }
    (segment != 1 && segment != 2).then_some(uri_ready)
}

/// Decodes every `%XX`; refuses a `%` without two hex digits rather than passing it on, so
/// that no later stage can decode the same bytes a second time into something else.
fn percent_decode(raw: &[u8]) -> Result<(Vec<u8>, bool), PathError> {
    let mut out = Vec::with_capacity(raw.len());
    let mut encoded_slash = false;
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        if b != b'%' {
            out.push(b);
            i += 1;
            continue;
        }
        let hi = raw.get(i + 1).copied().and_then(hex_value);
        let lo = raw.get(i + 2).copied().and_then(hex_value);
        let (Some(hi), Some(lo)) = (hi, lo) else {
            return Err(PathError::BadPercentEncoding);
        };
        let byte = hi << 4 | lo;
        if byte == b'/' || byte == b'\\' {
            encoded_slash = true;
        }
        out.push(byte);
        i += 3;
    }
    Ok((out, encoded_slash))
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// RFC 3986 5.2.4 on an absolute path, expressed as a segment stack: `..` pops (never below
/// the root), `.` vanishes, and a dot segment at the end leaves a trailing `/` as the RFC's
/// algorithm does (`/a/b/..` is `/a/`).
fn remove_dot_segments(path: &str) -> String {
    let rest = path.strip_prefix('/').unwrap_or(path);
    let mut stack: Vec<&str> = Vec::new();
    let mut segments = rest.split('/').peekable();
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        match segment {
            "." | ".." => {
                if segment == ".." {
                    stack.pop();
                }
                if last {
                    stack.push("");
                }
            }
            other => stack.push(other),
        }
    }
    let mut out = String::with_capacity(path.len());
    out.push('/');
    out.push_str(&stack.join("/"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The one-pass check says what the segment-by-segment definition says, for every
    /// string of up to 7 bytes over the bytes that matter (and one that does not).
    #[test]
    fn the_normal_check_matches_its_definition() {
        fn by_definition(raw: &str) -> bool {
            !raw.bytes().any(|b| b == b'%' || b == 0)
                && !raw.split('/').any(|s| s == "." || s == "..")
        }
        const ALPHABET: [char; 5] = ['/', '.', 'a', '%', '\0'];
        let mut checked = 0;
        let mut stack = vec![String::new()];
        while let Some(s) = stack.pop() {
            assert_eq!(check_normal(&s).is_some(), by_definition(&s), "{s:?}");
            checked += 1;
            if s.len() < 7 {
                for c in ALPHABET {
                    stack.push(format!("{s}{c}"));
                }
            }
        }
        assert_eq!(checked, (0..=7).map(|n| 5usize.pow(n)).sum::<usize>());
    }

    /// The per-byte table says what the encoder does, for every byte.
    #[test]
    fn the_encoding_table_is_what_the_encoder_does() {
        use percent_encoding::utf8_percent_encode;
        for b in 0..=0x7fu8 {
            let one = char::from(b).to_string();
            let changed = utf8_percent_encode(&one, PATH_UNSAFE).to_string() != one;
            assert_eq!(
                CHANGED_BY_ENCODING[usize::from(b)],
                changed,
                "byte {b:#04x}"
            );
        }
        // Non-ASCII characters are always encoded, so every byte they are made of counts.
        for b in 0x80..=0xffu8 {
            assert!(CHANGED_BY_ENCODING[usize::from(b)], "byte {b:#04x}");
        }
        for c in ['é', '€', '\u{10348}'] {
            let one = c.to_string();
            assert_ne!(utf8_percent_encode(&one, PATH_UNSAFE).to_string(), one);
        }
    }

    /// `uri_ready` holds exactly when the path was taken as it is and encoding leaves it
    /// unchanged, for every path of up to 6 bytes over bytes that matter to either.
    #[test]
    fn uri_ready_means_the_path_is_its_own_encoding() {
        use percent_encoding::utf8_percent_encode;
        const ALPHABET: [char; 7] = ['/', '.', 'a', '%', ' ', '[', 'é'];
        let mut checked = 0;
        let mut stack = vec![String::from("/")];
        while let Some(s) = stack.pop() {
            if let Ok(n) = normalize(&s) {
                let unchanged = matches!(n.path, Cow::Borrowed(_))
                    && utf8_percent_encode(&s, PATH_UNSAFE).to_string() == s;
                assert_eq!(n.uri_ready, unchanged, "{s:?}");
                checked += usize::from(n.uri_ready);
            }
            if s.len() < 6 {
                for c in ALPHABET {
                    stack.push(format!("{s}{c}"));
                }
            }
        }
        assert!(checked > 100, "only {checked} paths were ready as they are");
    }

    fn norm(raw: &str) -> String {
        match normalize(raw) {
            Ok(n) => n.path.into_owned(),
            Err(e) => panic!("{raw}: {e}"),
        }
    }

    #[test]
    fn plain_paths_are_unchanged() {
        for p in [
            "/",
            "/a",
            "/a/",
            "/a/b.html",
            "/a//b",
            "//",
            "/.hidden",
            "/a.b/c..d/...",
            "/a/b?",
        ] {
            assert_eq!(norm(p), p);
            // Taken as they are, and the full decoding agrees that nothing changes.
            assert!(
                matches!(normalize(p).unwrap().path, Cow::Borrowed(_)),
                "{p}"
            );
            assert_eq!(remove_dot_segments(p), p);
        }
        for needs_work in ["/a/./b", "/..", "/a/.", "/a%20b", "/a\0b"] {
            assert!(check_normal(needs_work).is_none(), "{needs_work}");
        }
    }

    #[test]
    fn rfc3986_dot_segments() {
        assert_eq!(norm("/a/b/c/./../../g"), "/a/g");
        assert_eq!(norm("/mid/content=5/../6"), "/mid/6");
        assert_eq!(norm("/a/b/."), "/a/b/");
        assert_eq!(norm("/a/b/.."), "/a/");
        assert_eq!(norm("/a/./b"), "/a/b");
        assert_eq!(norm("/."), "/");
        assert_eq!(norm("/.."), "/");
        assert_eq!(norm("/a/.."), "/");
        assert_eq!(norm("/a//../b"), "/a/b");
    }

    #[test]
    fn dot_dot_never_climbs_above_root() {
        assert_eq!(norm("/a/../../etc/passwd"), "/etc/passwd");
        assert_eq!(norm("/../../../../etc/passwd"), "/etc/passwd");
        assert_eq!(norm("/sub/../../x"), "/x");
        assert_eq!(norm("/../"), "/");
    }

    #[test]
    fn encoded_dots_are_dot_segments() {
        assert_eq!(norm("/a/%2e%2e/%2E%2e/etc"), "/etc");
        assert_eq!(norm("/a/.%2E/b"), "/b");
        assert_eq!(norm("/a/%2e/b"), "/a/b");
        assert_eq!(norm("/%2e%2e"), "/");
    }

    #[test]
    fn encoded_slashes_are_decoded_and_flagged() {
        let n = normalize("/a%2Fb").unwrap();
        assert_eq!(n.path, "/a/b");
        assert!(n.had_encoded_slash);
        let n = normalize("/a%5cb").unwrap();
        assert_eq!(n.path, "/a\\b");
        assert!(n.had_encoded_slash);
        // A ".." hidden behind encoded slashes is removed like any other.
        let n = normalize("/a%2F..%2F..%2Fetc").unwrap();
        assert_eq!(n.path, "/etc");
        assert!(n.had_encoded_slash);
        assert!(!normalize("/a/b%20c").unwrap().had_encoded_slash);
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(norm("/a%20b"), "/a b");
        assert_eq!(norm("/%C3%A9t%c3%a9"), "/été");
        assert_eq!(norm("/100%25"), "/100%");
        // Decoded once only: %252e stays a literal "%2e", not a dot.
        assert_eq!(norm("/a/%252e%252e/b"), "/a/%2e%2e/b");
    }

    #[test]
    fn errors() {
        assert_eq!(normalize(""), Err(PathError::NotOrigin));
        assert_eq!(normalize("a/b"), Err(PathError::NotOrigin));
        assert_eq!(normalize("http://h/a"), Err(PathError::NotOrigin));
        assert_eq!(normalize("/a%"), Err(PathError::BadPercentEncoding));
        assert_eq!(normalize("/a%2"), Err(PathError::BadPercentEncoding));
        assert_eq!(normalize("/a%zz"), Err(PathError::BadPercentEncoding));
        assert_eq!(normalize("/a%+1"), Err(PathError::BadPercentEncoding));
        assert_eq!(normalize("/%ff"), Err(PathError::NotUtf8));
        assert_eq!(normalize("/%c3"), Err(PathError::NotUtf8));
        assert_eq!(normalize("/a%00b"), Err(PathError::NulByte));
        for e in [
            PathError::NotOrigin,
            PathError::BadPercentEncoding,
            PathError::NotUtf8,
            PathError::NulByte,
        ] {
            assert!(!e.reason().is_empty());
        }
    }

    #[test]
    fn result_never_holds_dot_segments() {
        // Every short path over an alphabet of troublemakers.
        let alphabet = ["/", ".", "%2e", "%2F", "a", "%5C"];
        let mut paths = vec![String::from("/")];
        for _ in 0..5 {
            let mut next = Vec::new();
            for p in &paths {
                for piece in alphabet {
                    next.push(format!("{p}{piece}"));
                }
            }
            paths.extend(next);
            paths.sort();
            paths.dedup();
        }
        for raw in &paths {
            let n = normalize(raw).unwrap();
            assert!(n.path.starts_with('/'), "{raw} -> {}", n.path);
            assert!(
                n.path.split('/').all(|s| s != "." && s != ".."),
                "{raw} -> {}",
                n.path
            );
        }
    }
}
