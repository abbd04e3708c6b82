//! The `--www` directory, read into memory once at start.

use std::collections::HashMap;
use std::io;
use std::path::Path;

use bytes::Bytes;

/// One file's bytes and its Content-Type.
pub(crate) struct File {
    /// The whole file; cloning it per response is a reference count, not a copy.
    pub(crate) bytes: Bytes,
    /// From the file name's extension.
    pub(crate) content_type: &'static str,
}

/// Every regular file under a directory, by request path (`/sub/name.ext`).
pub(crate) struct Files {
    by_path: HashMap<String, File>,
}

impl Files {
    /// Reads every regular file under `root`, recursively. `/` maps to `/index.html`.
    pub(crate) fn load(root: &Path) -> io::Result<Files> {
        let mut by_path = HashMap::new();
        let mut pending = vec![root.to_path_buf()];
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir)? {
                let path = entry?.path();
                if path.is_dir() {
                    pending.push(path);
                    continue;
                }
                let Ok(relative) = path.strip_prefix(root) else {
                    continue;
                };
                // Paths with non-UTF-8 names cannot be asked for in a benchmark URL.
                let Some(relative) = relative.to_str() else {
                    continue;
                };
                let bytes = Bytes::from(std::fs::read(&path)?);
                let file = File {
                    bytes,
                    content_type: content_type(&path),
                };
                by_path.insert(format!("/{relative}"), file);
            }
        }
        Ok(Files { by_path })
    }

    /// The file for a request path.
    pub(crate) fn get(&self, path: &str) -> Option<&File> {
        let path = if path == "/" { "/index.html" } else { path };
        self.by_path.get(path)
    }
}

/// The Content-Type of the few kinds of file the benchmark serves.
fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") => "text/html",
        Some("txt") => "text/plain",
        Some("css") => "text/css",
        Some("js") => "text/javascript",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}
