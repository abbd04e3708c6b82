//! The `Date` header value, formatted once per second per thread rather than per response.

use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

/// Length of an IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
const DATE_LEN: usize = 29;

struct CachedDate {
    second: u64,
    text: [u8; DATE_LEN],
}

thread_local! {
    static CACHE: RefCell<CachedDate> = const { RefCell::new(CachedDate { second: u64::MAX, text: [b' '; DATE_LEN] }) };
}

/// Calls `f` with the current date as an IMF-fixdate.
pub(crate) fn with_date<R>(f: impl FnOnce(&[u8]) -> R) -> R {
    let now = SystemTime::now();
    let second = now
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.second != second {
            let text = httpdate::fmt_http_date(now);
            if text.len() == DATE_LEN {
                cache.text.copy_from_slice(text.as_bytes());
                cache.second = second;
            }
        }
        f(&cache.text)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_an_imf_fixdate() {
        let text = super::with_date(|d| String::from_utf8(d.to_vec()).unwrap());
        assert!(text.ends_with(" GMT"), "{text}");
        assert!(httpdate::parse_http_date(&text).is_ok(), "{text}");
    }
}
