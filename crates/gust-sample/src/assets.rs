//! The dashboard's page, script and icon, gzipped by `build.rs` and embedded in the binary.

/// `assets/index.html`, gzip-compressed.
pub(crate) const INDEX_HTML_GZ: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/index.html.gz"));

/// `assets/main.js`, gzip-compressed.
pub(crate) const MAIN_JS_GZ: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/main.js.gz"));

/// `assets/favicon.svg`, gzip-compressed: the page links it, so browsers ask for it instead
/// of `/favicon.ico`.
pub(crate) const FAVICON_SVG_GZ: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/favicon.svg.gz"));

/// Content type of the page.
pub(crate) const INDEX_HTML_TYPE: &str = "text/html; charset=utf-8";

/// Content type of the script.
pub(crate) const MAIN_JS_TYPE: &str = "text/javascript; charset=utf-8";

/// Content type of the icon.
pub(crate) const FAVICON_SVG_TYPE: &str = "image/svg+xml";

#[cfg(test)]
mod tests {
    use super::*;

    /// The build must write a bare gzip header: magic, deflate, no flags (so no file name),
    /// zero mtime. Anything else would make the embedded bytes depend on the build machine.
    fn assert_deterministic_gzip(bytes: &[u8]) {
        assert!(bytes.len() > 18, "too short for gzip");
        assert_eq!(
            &bytes[..3],
            &[0x1f, 0x8b, 8],
            "gzip magic and deflate method"
        );
        assert_eq!(bytes[3], 0, "no FNAME/FCOMMENT/FEXTRA flags");
        assert_eq!(&bytes[4..8], &[0, 0, 0, 0], "zero mtime");
    }

    #[test]
    fn assets_are_gzip_without_name_or_time() {
        assert_deterministic_gzip(INDEX_HTML_GZ);
        assert_deterministic_gzip(MAIN_JS_GZ);
        assert_deterministic_gzip(FAVICON_SVG_GZ);
    }

    #[test]
    fn trailer_sizes_match_the_sources() {
        // The gzip trailer ends with the uncompressed length modulo 2^32.
        fn isize_of(gz: &[u8]) -> usize {
            let t = &gz[gz.len() - 4..];
            u32::from_le_bytes([t[0], t[1], t[2], t[3]]) as usize
        }
        assert_eq!(
            isize_of(INDEX_HTML_GZ),
            include_bytes!("../assets/index.html").len()
        );
        assert_eq!(
            isize_of(MAIN_JS_GZ),
            include_bytes!("../assets/main.js").len()
        );
        assert_eq!(
            isize_of(FAVICON_SVG_GZ),
            include_bytes!("../assets/favicon.svg").len()
        );
    }
}
