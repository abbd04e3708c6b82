//! The `Date` header value, formatted once per second per thread rather than per response.

use std::cell::RefCell;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Length of an IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`.
const DATE_LEN: usize = 29;

struct CachedDate {
    /// When the second `text` names ends, on the monotonic clock; `None` before the first.
    valid_until: Option<Instant>,
    text: [u8; DATE_LEN],
}

thread_local! {
    static CACHE: RefCell<CachedDate> = const { RefCell::new(CachedDate { valid_until: None, text: [b' '; DATE_LEN] }) };
}

/// Calls `f` with the current date as an IMF-fixdate.
pub(crate) fn with_date<R>(f: impl FnOnce(&[u8]) -> R) -> R {
    with_date_at(Instant::now(), f)
}

/// Calls `f` with the date at `now` (a time the caller has read already, a moment ago) as
/// an IMF-fixdate. The wall clock is read only when the cached second has ended: an HTTP/2
/// connection answers many requests per wake, and a clock read per answer was a measurable
/// share of a small one. After a step of the wall clock the text is at most a second
/// behind it.
pub(crate) fn with_date_at<R>(now: Instant, f: impl FnOnce(&[u8]) -> R) -> R {
    CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.valid_until.is_none_or(|until| now >= until) {
            let wall = SystemTime::now();
            let text = httpdate::fmt_http_date(wall);
            if text.len() == DATE_LEN {
                cache.text.copy_from_slice(text.as_bytes());
                let into_second = wall
                    .duration_since(UNIX_EPOCH)
                    .map(|d| Duration::from_nanos(u64::from(d.subsec_nanos())))
                    .unwrap_or_default();
                cache.valid_until = Some(now + (Duration::from_secs(1) - into_second));
            }
        }
        f(&cache.text)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date_at(now: Instant) -> String {
        with_date_at(now, |d| String::from_utf8(d.to_vec()).unwrap())
    }

    #[test]
    fn formats_an_imf_fixdate() {
        let text = with_date(|d| String::from_utf8(d.to_vec()).unwrap());
        assert!(text.ends_with(" GMT"), "{text}");
        assert!(httpdate::parse_http_date(&text).is_ok(), "{text}");
    }

    /// Within its second the text is reused without a look at the wall clock; from the
    /// end of that second on, the wall clock is read again.
    #[test]
    fn the_text_is_kept_until_its_second_is_over() {
        const OLD: &str = "Thu, 01 Jan 1970 00:00:00 GMT";
        let now = Instant::now();
        CACHE.with(|cache| {
            let mut cache = cache.borrow_mut();
            cache.text.copy_from_slice(OLD.as_bytes());
            cache.valid_until = Some(now + Duration::from_millis(500));
        });
        assert_eq!(date_at(now), OLD);
        assert_eq!(date_at(now + Duration::from_millis(499)), OLD);
        let fresh = date_at(now + Duration::from_millis(500));
        assert_ne!(fresh, OLD);
        let read = httpdate::parse_http_date(&fresh).unwrap();
        assert!(
            read + Duration::from_secs(2) >= SystemTime::now(),
            "{fresh}"
        );
    }
}
