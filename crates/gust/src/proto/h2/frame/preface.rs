//! The client connection preface (RFC 9113 3.4): 24 fixed octets before the client's first
//! SETTINGS frame, chosen so that an HTTP/1 server fails on them rather than misreading
//! what follows.

/// The client connection preface.
pub(crate) const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// What the front of a buffer says about the preface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PrefaceCheck {
    /// The buffer starts with the whole preface; consume [`PREFACE`]`.len()` bytes.
    Complete,
    /// The buffer is a proper prefix of the preface, possibly empty.
    Incomplete {
        /// Bytes still missing.
        needed: usize,
    },
    /// The buffer differs from the preface within its first bytes. On a connection that
    /// must be HTTP/2 (ALPN "h2", an h2c upgrade) that is a PROTOCOL_ERROR connection error
    /// (`FrameErrorKind::InvalidPreface`); to a server sniffing for prior knowledge it
    /// means "not HTTP/2".
    Mismatch,
}

/// Compares the front of `buf` with the preface. It decides as early as it can, so that a
/// server sniffing for HTTP/2 prior knowledge need not wait for 24 bytes of an HTTP/1
/// request that may be shorter.
pub(crate) fn check_preface(buf: &[u8]) -> PrefaceCheck {
    let n = buf.len().min(PREFACE.len());
    if buf[..n] != PREFACE[..n] {
        PrefaceCheck::Mismatch
    } else if n < PREFACE.len() {
        PrefaceCheck::Incomplete {
            needed: PREFACE.len() - n,
        }
    } else {
        PrefaceCheck::Complete
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_preface_and_what_follows() {
        assert_eq!(check_preface(PREFACE), PrefaceCheck::Complete);
        let mut with_settings = PREFACE.to_vec();
        with_settings.extend_from_slice(b"\x00\x00\x00\x04\x00\x00\x00\x00\x00");
        assert_eq!(check_preface(&with_settings), PrefaceCheck::Complete);
    }

    #[test]
    fn every_prefix_is_incomplete() {
        for n in 0..PREFACE.len() {
            assert_eq!(
                check_preface(&PREFACE[..n]),
                PrefaceCheck::Incomplete {
                    needed: PREFACE.len() - n
                }
            );
        }
    }

    #[test]
    fn mismatch_is_seen_early() {
        assert_eq!(check_preface(b"G"), PrefaceCheck::Mismatch);
        assert_eq!(check_preface(b"PRI * HTTP/1.1\r\n"), PrefaceCheck::Mismatch);
        assert_eq!(
            check_preface(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\r"),
            PrefaceCheck::Mismatch
        );
    }
}
