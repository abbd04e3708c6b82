//! File extension to content type, for resources served from disk.
//!
//! The original matched a URL *suffix* against its table (so `/xhtml` was "html") and fell
//! back to `text/html`; here the extension is the part after the last `.` of the last path
//! segment, matched without regard to case, and the fallback is `application/octet-stream`,
//! which no browser renders as a page.

use std::collections::HashMap;

/// The content type of anything the table does not know.
const FALLBACK: &str = "application/octet-stream";

/// The table every [`ContentTypes`] starts from.
const DEFAULTS: &[(&str, &str)] = &[
    ("html", "text/html; charset=utf-8"),
    ("htm", "text/html; charset=utf-8"),
    ("css", "text/css; charset=utf-8"),
    ("js", "text/javascript; charset=utf-8"),
    ("mjs", "text/javascript; charset=utf-8"),
    ("json", "application/json"),
    ("map", "application/json"),
    ("txt", "text/plain; charset=utf-8"),
    ("csv", "text/csv; charset=utf-8"),
    ("md", "text/markdown; charset=utf-8"),
    ("svg", "image/svg+xml"),
    ("png", "image/png"),
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("gif", "image/gif"),
    ("webp", "image/webp"),
    ("avif", "image/avif"),
    ("ico", "image/x-icon"),
    ("wasm", "application/wasm"),
    ("pdf", "application/pdf"),
    ("xml", "application/xml"),
    ("woff", "font/woff"),
    ("woff2", "font/woff2"),
    ("ttf", "font/ttf"),
    ("otf", "font/otf"),
    ("mp3", "audio/mpeg"),
    ("ogg", "audio/ogg"),
    ("wav", "audio/wav"),
    ("mp4", "video/mp4"),
    ("webm", "video/webm"),
    ("mpg", "video/mpeg"),
    ("mpeg", "video/mpeg"),
    ("zip", "application/zip"),
    ("gz", "application/gzip"),
];

/// A table from file extension to content type.
///
/// Starts with the common web types (`html`, `css`, `js`, `json`, images, fonts, `wasm`...);
/// [`ContentTypes::insert`] adds or overrides entries. Unknown extensions map to
/// `application/octet-stream`.
///
/// ```
/// let mut types = gust::ContentTypes::new();
/// types.insert("md", "text/markdown");
/// assert_eq!(types.lookup("/docs/README.MD"), "text/markdown");
/// assert_eq!(types.lookup("/app.js"), "text/javascript; charset=utf-8");
/// assert_eq!(types.lookup("/LICENSE"), "application/octet-stream");
/// ```
#[derive(Clone, Debug)]
pub struct ContentTypes {
    /// Keys are lower-case extensions without the dot.
    by_extension: HashMap<Box<str>, Box<str>>,
}

impl ContentTypes {
    /// The default table (same as [`ContentTypes::default`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Maps `ext` (with or without its leading `.`, any case) to `content_type`, replacing
    /// an earlier entry. A content type that is not a valid header value is sent as
    /// `application/octet-stream` (and logged) when a file of that type is served.
    pub fn insert(&mut self, ext: &str, content_type: &str) {
        let ext = ext.strip_prefix('.').unwrap_or(ext).to_ascii_lowercase();
        self.by_extension.insert(ext.into(), content_type.into());
    }

    /// The content type for `path` (a request path or a file name), chosen by the text after
    /// the last `.` of its last segment.
    pub fn lookup(&self, path: &str) -> &str {
        let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
        let Some((_, ext)) = name.rsplit_once('.') else {
            return FALLBACK;
        };
        if ext.is_empty() {
            return FALLBACK;
        }
        let found = if ext.bytes().any(|b| b.is_ascii_uppercase()) {
            self.by_extension.get(ext.to_ascii_lowercase().as_str())
        } else {
            self.by_extension.get(ext)
        };
        found.map_or(FALLBACK, |t| t)
    }
}

impl Default for ContentTypes {
    fn default() -> Self {
        let by_extension = DEFAULTS
            .iter()
            .map(|&(ext, ty)| (Box::from(ext), Box::from(ty)))
            .collect();
        ContentTypes { by_extension }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let t = ContentTypes::new();
        assert_eq!(t.lookup("/index.html"), "text/html; charset=utf-8");
        assert_eq!(t.lookup("/a/b.htm"), "text/html; charset=utf-8");
        assert_eq!(t.lookup("style.css"), "text/css; charset=utf-8");
        assert_eq!(t.lookup("/m.mjs"), "text/javascript; charset=utf-8");
        assert_eq!(t.lookup("/main.js"), "text/javascript; charset=utf-8");
        assert_eq!(t.lookup("/d.json"), "application/json");
        assert_eq!(t.lookup("/r.txt"), "text/plain; charset=utf-8");
        assert_eq!(t.lookup("/i.svg"), "image/svg+xml");
        assert_eq!(t.lookup("/i.png"), "image/png");
        assert_eq!(t.lookup("/i.jpg"), "image/jpeg");
        assert_eq!(t.lookup("/i.jpeg"), "image/jpeg");
        assert_eq!(t.lookup("/i.gif"), "image/gif");
        assert_eq!(t.lookup("/i.webp"), "image/webp");
        assert_eq!(t.lookup("/favicon.ico"), "image/x-icon");
        assert_eq!(t.lookup("/m.wasm"), "application/wasm");
        assert_eq!(t.lookup("/d.pdf"), "application/pdf");
        assert_eq!(t.lookup("/d.xml"), "application/xml");
        assert_eq!(t.lookup("/f.woff"), "font/woff");
        assert_eq!(t.lookup("/f.woff2"), "font/woff2");
        assert_eq!(t.lookup("/v.mp4"), "video/mp4");
        assert_eq!(t.lookup("/v.webm"), "video/webm");
        assert_eq!(t.lookup("/v.mpg"), "video/mpeg");
        assert_eq!(t.lookup("/v.mpeg"), "video/mpeg");
        assert_eq!(t.lookup("/a.zip"), "application/zip");
        assert_eq!(t.lookup("/main.js.gz"), "application/gzip");
        assert_eq!(ContentTypes::default().lookup("/x.css"), t.lookup("/x.css"));
    }

    #[test]
    fn extension_is_taken_from_the_last_segment_only() {
        let t = ContentTypes::new();
        assert_eq!(t.lookup("/dir.html/file"), FALLBACK);
        assert_eq!(t.lookup("/dir.html/"), FALLBACK);
        assert_eq!(t.lookup("/file."), FALLBACK);
        assert_eq!(t.lookup(""), FALLBACK);
        assert_eq!(t.lookup("/"), FALLBACK);
        assert_eq!(t.lookup("/xhtml"), FALLBACK);
        assert_eq!(t.lookup("/a.unknown"), FALLBACK);
        assert_eq!(t.lookup("/.html"), "text/html; charset=utf-8");
        assert_eq!(t.lookup("/archive.tar.gz"), "application/gzip");
    }

    #[test]
    fn case_insensitive() {
        let t = ContentTypes::new();
        assert_eq!(t.lookup("/INDEX.HTML"), "text/html; charset=utf-8");
        assert_eq!(t.lookup("/Photo.JpG"), "image/jpeg");
    }

    #[test]
    fn insert_extends_and_overrides() {
        let mut t = ContentTypes::new();
        t.insert("YAML", "application/yaml");
        t.insert(".json", "application/json; charset=utf-8");
        assert_eq!(t.lookup("/c.yaml"), "application/yaml");
        assert_eq!(t.lookup("/c.Yaml"), "application/yaml");
        assert_eq!(t.lookup("/d.json"), "application/json; charset=utf-8");
        let clone = t.clone();
        assert_eq!(clone.lookup("/c.yaml"), "application/yaml");
        assert!(format!("{t:?}").contains("ContentTypes"));
    }
}
