//! Path patterns with the original's wildcard semantics: POSIX `fnmatch` with
//! `FNM_PATHNAME | FNM_LEADING_DIR`.
//!
//! `*` matches any run of characters except `/`, `?` one character except `/`, `[abc]`,
//! `[a-z]` and `[!a]` (or `[^a]`) one character from (or not from) a set, never `/`; `\x`
//! matches `x` literally. A pattern that matches a leading part of the path followed by `/`
//! matches the whole path, so `/files/*` serves `/files/a/b.txt`.

/// Whether a resource path is a pattern rather than an exact path.
pub(crate) fn is_pattern(path: &str) -> bool {
    path.bytes()
        .any(|b| matches!(b, b'*' | b'?' | b'[' | b'\\'))
}

/// The literal prefix of a pattern up to (not including) the last `/` before its first
/// wildcard: the part of a request path that names the resource, not a file under it.
pub(crate) fn literal_prefix(pattern: &str) -> &str {
    let first_wild = pattern
        .bytes()
        .position(|b| matches!(b, b'*' | b'?' | b'[' | b'\\'));
    let head = &pattern[..first_wild.unwrap_or(pattern.len())];
    match head.rfind('/') {
        Some(i) => &head[..i],
        None => "",
    }
}

/// Whether `path` matches `pattern`.
pub(crate) fn matches(pattern: &str, path: &str) -> bool {
    match_from(pattern.as_bytes(), path.as_bytes())
}

fn match_from(pat: &[u8], s: &[u8]) -> bool {
    let (mut p, mut i) = (0usize, 0usize);
    // Backtracking point for the last `*`: where in the pattern after it, and where in the
    // string it started absorbing. `*` cannot cross `/`, so one point suffices.
    let mut star: Option<(usize, usize)> = None;
    loop {
        if p == pat.len() {
            // FNM_LEADING_DIR: the rest of the string is a subdirectory.
            if i == s.len() || s[i] == b'/' {
                return true;
            }
        } else {
            match pat[p] {
                b'*' => {
                    // Collapse runs of stars.
                    while p < pat.len() && pat[p] == b'*' {
                        p += 1;
                    }
                    star = Some((p, i));
                    continue;
                }
                b'?' if i < s.len() && s[i] != b'/' => {
                    p += 1;
                    i += 1;
                    continue;
                }
                b'[' if i < s.len() && s[i] != b'/' => {
                    if let Some((matched, next_p)) = bracket(pat, p, s[i]) {
                        if matched {
                            p = next_p;
                            i += 1;
                            continue;
                        }
                    } else if s[i] == b'[' {
                        // An unclosed `[` is a literal.
                        p += 1;
                        i += 1;
                        continue;
                    }
                }
                b'\\' if p + 1 < pat.len() && i < s.len() && pat[p + 1] == s[i] => {
                    p += 2;
                    i += 1;
                    continue;
                }
                c if c != b'?' && c != b'[' && c != b'\\' && i < s.len() && c == s[i] => {
                    p += 1;
                    i += 1;
                    continue;
                }
                b'\\' if p + 1 == pat.len() && i < s.len() && s[i] == b'\\' => {
                    p += 1;
                    i += 1;
                    continue;
                }
                _ => {}
            }
        }
        // Mismatch: let the last star absorb one more character, if it may.
        match star {
            Some((star_p, star_i)) if star_i < s.len() && s[star_i] != b'/' => {
                star = Some((star_p, star_i + 1));
                p = star_p;
                i = star_i + 1;
            }
            _ => return false,
        }
    }
}

/// Matches one byte against the bracket expression starting at `pat[open] == b'['`.
/// Returns whether it matched and the pattern index after `]`, or None if unclosed.
fn bracket(pat: &[u8], open: usize, c: u8) -> Option<(bool, usize)> {
    let mut j = open + 1;
    let negate = matches!(pat.get(j), Some(b'!') | Some(b'^'));
    if negate {
        j += 1;
    }
    let mut matched = false;
    let mut first = true;
    loop {
        let lo = *pat.get(j)?;
        if lo == b']' && !first {
            return Some((matched != negate, j + 1));
        }
        first = false;
        let (lo, after) = if lo == b'\\' {
            (*pat.get(j + 1)?, j + 2)
        } else {
            (lo, j + 1)
        };
        if pat.get(after) == Some(&b'-') && pat.get(after + 1).is_some_and(|&b| b != b']') {
            let hi = *pat.get(after + 1)?;
            if lo <= c && c <= hi {
                matched = true;
            }
            j = after + 2;
        } else {
            if lo == c {
                matched = true;
            }
            j = after;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn original_suite_cases() {
        // From the original's wildcard tests.
        assert!(!matches("/fo*", "/f"));
        assert!(!matches("/fo*", "/fb"));
        assert!(matches("/fo*", "/foo1.html"));
        assert!(matches("/f[ob]o3.html", "/foo3.html"));
        assert!(matches("/f[ob]o3.html", "/fbo3.html"));
        assert!(!matches("/f[ob]o3.html", "/fco3.html"));
        assert!(matches("/fb?3.htm", "/fbo3.htm"));
        assert!(!matches("/fb?3.htm", "/fbo3.html"));
        assert!(matches("/foo/*", "/foo/bar"));
        assert!(matches("/fs/*", "/fs/index.html"));
    }

    #[test]
    fn star_does_not_cross_slash_but_leading_dir_matches() {
        assert!(!matches("/a*c", "/ab/c"));
        assert!(matches("/files/*", "/files/a/b/c.txt"));
        assert!(!matches("/files/*", "/filesx"));
        assert!(matches("/files/*", "/files/"));
        assert!(!matches("/files/*", "/files"));
    }

    #[test]
    fn brackets_ranges_negation_escape() {
        assert!(matches("/v[0-9]", "/v7"));
        assert!(!matches("/v[0-9]", "/vx"));
        assert!(matches("/v[!0-9]", "/vx"));
        assert!(matches("/v[^0-9]", "/vx"));
        assert!(!matches("/v[!0-9]", "/v1"));
        assert!(!matches("/a?b", "/a/b"));
        assert!(!matches("/a[/]b", "/a/b"));
        assert!(matches("/a\\*", "/a*"));
        assert!(!matches("/a\\*", "/ab"));
        assert!(matches("/a[", "/a["));
        assert!(matches("/[]]", "/]"));
    }

    #[test]
    fn backtracking_is_linear_enough() {
        let path = format!("/{}", "a".repeat(2000));
        assert!(!matches("/*a*a*a*a*a*b", &path));
    }

    #[test]
    fn prefixes() {
        assert_eq!(literal_prefix("/files/*"), "/files");
        assert_eq!(literal_prefix("/*"), "");
        assert_eq!(literal_prefix("/a/b[xy]"), "/a");
        assert_eq!(literal_prefix("/exact"), "");
        assert!(is_pattern("/f?o"));
        assert!(!is_pattern("/foo"));
    }
}
