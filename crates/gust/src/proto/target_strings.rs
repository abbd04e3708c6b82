//! The strings request targets are written into, reused on their thread.
//!
//! Every request's target becomes a `String`: a handler's URI takes it over without a
//! copy. A request the static or file resources answer at once drops it again, and the
//! allocation and the free were about 4 % of a small HTTP/2 answer's instructions. Such a
//! request's string is given back here, emptied, and a later target is written into it.
//! The list is per thread (a connection's task may move between threads, and a string
//! taken on one and given back on another only changes which list keeps it): at most
//! [`KEPT`] strings of at most [`ROOM`] bytes each, 8 KiB a thread.

use std::cell::RefCell;

/// The most strings kept on a thread: an HTTP/2 connection decodes a batch of requests
/// (up to 32 from a load generator) before the first is answered and gives its string back.
const KEPT: usize = 32;
/// The most room a kept string may have: targets are mostly short; a long one's string
/// is let go.
const ROOM: usize = 256;

thread_local! {
    static SPARE: RefCell<Vec<String>> = const { RefCell::new(Vec::new()) };
}

/// `text` in a string of its own: a kept one when the thread has one and `text` fits its
/// room (a longer text would grow it past what is kept, and lose it).
pub(crate) fn take(text: &str) -> String {
    if text.len() > ROOM {
        return text.to_owned();
    }
    match SPARE.with_borrow_mut(Vec::pop) {
        Some(mut kept) => {
            kept.push_str(text);
            kept
        }
        None => text.to_owned(),
    }
}

/// Keeps `target`'s string for a later target, unless the thread keeps enough already or
/// it is large.
pub(crate) fn give_back(mut target: String) {
    if target.capacity() == 0 || target.capacity() > ROOM {
        return;
    }
    target.clear();
    SPARE.with_borrow_mut(|kept| {
        if kept.len() < KEPT {
            kept.push(target);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept() -> Vec<(usize, usize)> {
        SPARE.with_borrow(|k| k.iter().map(|s| (s.as_ptr() as usize, s.len())).collect())
    }

    /// A string given back holds the next target, emptied first; a large one is not kept,
    /// nor more than KEPT. (Each test runs on a thread of its own, with a list of its own.)
    #[test]
    fn a_kept_string_holds_the_next_target() {
        let first = take("/index.html?x=1");
        let place = first.as_ptr() as usize;
        give_back(first);
        assert_eq!(kept(), [(place, 0)], "kept, emptied");
        let second = take("/a");
        assert_eq!(second, "/a");
        assert_eq!(second.as_ptr() as usize, place, "the same memory");
        assert!(kept().is_empty());

        give_back("x".repeat(ROOM + 1));
        give_back(String::new());
        assert!(kept().is_empty(), "too large, or no memory at all");

        let held: Vec<String> = (0..KEPT + 3).map(|_| "/s".to_owned()).collect();
        for s in held {
            give_back(s);
        }
        assert_eq!(kept().len(), KEPT);
        let long = "/".repeat(ROOM + 1);
        assert_eq!(take(&long), long);
        assert_eq!(
            kept().len(),
            KEPT,
            "a text past the room does not use up a kept string"
        );
        assert_eq!(take("/a-longer-one"), "/a-longer-one");
        assert_eq!(kept().len(), KEPT - 1, "a text within it does");
    }
}
