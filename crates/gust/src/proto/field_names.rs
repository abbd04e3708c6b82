//! The field names of the last handler request made on a thread, kept for its next one.
//!
//! A client sends the same fields in the same order on every request (a browser's head is a
//! dozen or more of them). Making a `HeaderName` from bytes looks the name up among HTTP's
//! standard ones, and a name that is not one of them (`sec-fetch-mode`, `x-request-id`) is
//! copied into an allocation of its own, freed with the request. Here a name's bytes are
//! first compared with those at the same place in the previous request: when they are the
//! same, that request's name is shared, without an allocation. A client that changes its
//! fields only misses, and the names it sends now are kept instead.

use http::header::{HeaderName, InvalidHeaderName};

/// Names kept, at most: covers a browser's head; a longer one is made name by name past
/// this point.
const MAX_KEPT: usize = 32;

/// The names of the last request's fields, by their place in its head.
#[derive(Debug, Default)]
pub(crate) struct FieldNames {
    kept: Vec<Kept>,
}

/// A name as the client spelled it, and as made from that.
#[derive(Debug)]
struct Kept {
    raw: Box<[u8]>,
    name: HeaderName,
}

impl FieldNames {
    /// The name `raw` spells, the `at`-th field of a head: what
    /// `HeaderName::from_bytes(raw)` gives, taken from the last request's `at`-th name when
    /// that one matches.
    pub(crate) fn name(&mut self, at: usize, raw: &[u8]) -> Result<HeaderName, InvalidHeaderName> {
        if let Some(kept) = self.kept.get(at) {
            if *kept.raw == *raw {
                return Ok(kept.name.clone());
            }
        }
        let name = HeaderName::from_bytes(raw)?;
        let kept = || Kept {
            raw: raw.into(),
            name: name.clone(),
        };
        if let Some(slot) = self.kept.get_mut(at) {
            *slot = kept();
        } else if at == self.kept.len() && at < MAX_KEPT {
            self.kept.push(kept());
        }
        Ok(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_what_from_bytes_makes_whether_kept_or_not() {
        let heads: [&[&str]; 4] = [
            &["Host", "Sec-Fetch-Mode", "Accept"],
            &["host", "SEC-FETCH-MODE", "accept", "X-Extra"],
            &["Accept", "Host", "sec-fetch-mode"],
            &["Host", "Sec-Fetch-Mod", "Accept", "X-Extra"],
        ];
        let mut names = FieldNames::default();
        for head in heads.iter().chain(heads.iter()) {
            for (at, raw) in head.iter().enumerate() {
                let made = HeaderName::from_bytes(raw.as_bytes()).unwrap();
                assert_eq!(names.name(at, raw.as_bytes()).unwrap(), made, "{raw}");
            }
        }
    }

    #[test]
    fn a_kept_name_is_shared_and_a_bad_one_refused() {
        let mut names = FieldNames::default();
        let first = names.name(0, b"X-Trace-Id").unwrap();
        let again = names.name(0, b"X-Trace-Id").unwrap();
        assert_eq!(first, again);
        assert_eq!(
            first.as_str().as_ptr(),
            again.as_str().as_ptr(),
            "the second request's name shares the first's bytes"
        );
        // Spelled otherwise: the same name, made anew and kept in that spelling.
        assert_eq!(names.name(0, b"x-trace-ID").unwrap(), first);
        assert_eq!(&*names.kept[0].raw, b"x-trace-ID");
        assert!(names.name(0, b"x trace").is_err());
        assert!(names.name(1, b"").is_err());
        assert!(names.name(0, b"x-trace-id\xff").is_err());
    }

    #[test]
    fn no_more_than_max_kept_names_are_kept() {
        let mut names = FieldNames::default();
        for at in 0..MAX_KEPT + 8 {
            names.name(at, format!("x-field-{at}").as_bytes()).unwrap();
        }
        assert_eq!(names.kept.len(), MAX_KEPT);
    }
}
