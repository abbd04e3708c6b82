//! Everything the file system is asked for one request, in one blocking call.
//!
//! Each `tokio::fs` call is a trip to the blocking thread pool and back: two thread
//! switches. Serving a file took six of them (resolve, stat, open, fstat, read, and one per
//! accepted precompressed sibling), which made a small file cost several times what the
//! bytes do. [`Lookup::run`] does the whole walk on one blocking thread: resolve and check
//! containment, open, fstat, choose among the siblings, and read the file itself when it
//! fits in one body chunk. Larger files are streamed from the handle it returns.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;

use crate::resource::encoding::{self, Coding};

/// One request's questions to the file system.
pub(super) struct Lookup {
    /// The canonical root; whatever is served must resolve inside it.
    pub(super) root: Arc<Path>,
    /// The file served for a directory asked for with a trailing `/`.
    pub(super) index_file: Arc<str>,
    /// The root joined with the request's (checked) segments.
    pub(super) requested: PathBuf,
    /// The request path ended in `/`.
    pub(super) wants_directory: bool,
    /// The request's `Accept-Encoding`, for the precompressed siblings.
    pub(super) accept: Option<Vec<u8>>,
    /// Read a file of at most this many bytes into memory now (`None`: never, e.g. for
    /// HEAD, or when the client's validators make a 304 likely).
    pub(super) read_up_to: Option<u64>,
}

/// What the file system answered.
pub(super) enum Found {
    /// The file to serve, open.
    File(OpenFile),
    /// A directory, asked for without the trailing `/`: the caller redirects.
    Directory,
    /// Nothing to serve: a directory or special file where a file was asked for, a
    /// symlink leading out of the root, or a file asked for with a trailing `/`.
    Nothing,
    /// A system call failed on `path`; the caller maps the error to a status.
    Failed(io::Error, PathBuf),
}

/// A regular file, opened, described by its own handle so that length and time match the
/// bytes served.
pub(super) struct OpenFile {
    pub(super) file: File,
    pub(super) len: u64,
    pub(super) modified: Option<SystemTime>,
    /// The coding of the bytes the handle reads (a precompressed sibling's, or identity).
    pub(super) coding: Coding,
    /// The file is the directory's index file (its name types the content).
    pub(super) is_index: bool,
    /// The whole content, read in the same call, when it fitted under `read_up_to`.
    pub(super) content: Option<Bytes>,
}

impl Lookup {
    /// Runs the look-up. Blocking: call it from a blocking thread.
    pub(super) fn run(self) -> Found {
        match self.find() {
            Ok(found) => found,
            Err(found) => found,
        }
    }

    fn find(self) -> Result<Found, Found> {
        let canonical = self.resolve(&self.requested)?;
        // Opening first and asking the handle costs one system call less than a stat of
        // the path followed by an open, and what is checked is what is served. A directory
        // opens too (read-only, on Unix) and is told apart here.
        let opened = open(&canonical)?;
        let (requested, canonical, opened, is_index) = if opened.1.is_dir() {
            if !self.wants_directory {
                return Ok(Found::Directory);
            }
            let requested = self.requested.join(&*self.index_file);
            let canonical = self.resolve(&requested)?;
            let opened = open(&canonical)?;
            (requested, canonical, opened, true)
        } else {
            (self.requested.clone(), canonical, opened, false)
        };
        if (self.wants_directory && !is_index) || !opened.1.is_file() {
            return Err(Found::Nothing);
        }
        let (mut file, mut metadata) = opened;
        let coding = match self.precompressed(&requested) {
            Some((coding, sibling, sibling_metadata)) => {
                file = sibling;
                metadata = sibling_metadata;
                coding
            }
            None => Coding::Identity,
        };
        let len = metadata.len();
        let content = match self.read_up_to {
            Some(limit) if len <= limit => Some(read_whole(&mut file, len, &canonical)?),
            _ => None,
        };
        // A file that shrank between the fstat and the read is served as read: the length
        // sent is the length of the bytes in hand.
        let len = content.as_ref().map_or(len, |c| c.len() as u64);
        Ok(Found::File(OpenFile {
            file,
            len,
            modified: metadata.modified().ok(),
            coding,
            is_index,
            content,
        }))
    }

    /// Follows symlinks and checks that the result lies inside the root: the containment
    /// check that makes any traversal, by `..` or by symlink, a 404.
    fn resolve(&self, path: &Path) -> Result<PathBuf, Found> {
        let canonical =
            std::fs::canonicalize(path).map_err(|e| Found::Failed(e, path.to_owned()))?;
        if canonical.starts_with(&self.root) {
            Ok(canonical)
        } else {
            tracing::debug!(path = %path.display(), "symlink leads out of the served directory");
            Err(Found::Nothing)
        }
    }

    /// The precompressed sibling to serve instead of `requested`, if the client prefers
    /// one that exists as a regular file inside the root and opens. Only codings the client
    /// accepts are looked for: most clients accept few, and each costs system calls. An
    /// unusable sibling is no reason to fail: the original will do.
    fn precompressed(&self, requested: &Path) -> Option<(Coding, File, std::fs::Metadata)> {
        let accept = self.accept.as_deref()?;
        let mut available = Vec::new();
        for coding in [Coding::Br, Coding::Zstd, Coding::Gzip] {
            if !encoding::accepts(Some(accept), coding) {
                continue;
            }
            let mut name = OsString::from(requested.as_os_str());
            name.push(coding.file_suffix());
            let Ok(canonical) = self.resolve(Path::new(&name)) else {
                continue;
            };
            match open(&canonical) {
                Ok((file, metadata)) if metadata.is_file() => {
                    available.push((coding, file, metadata));
                }
                Ok(_) => {}
                Err(_) => {
                    tracing::debug!(path = %canonical.display(), "precompressed sibling unusable");
                }
            }
        }
        let codings: Vec<Coding> = available.iter().map(|(c, ..)| *c).collect();
        // `None` means the client excluded identity too; it gets identity all the same,
        // which RFC 9110 12.5.3 allows.
        let chosen = encoding::negotiate(Some(accept), &codings)?;
        available.into_iter().find(|(c, ..)| *c == chosen)
    }
}

/// Opens `path` read-only and asks the handle what it is.
fn open(path: &Path) -> Result<(File, std::fs::Metadata), Found> {
    let failed = |e| Found::Failed(e, path.to_owned());
    let file = File::open(path).map_err(failed)?;
    let metadata = file.metadata().map_err(failed)?;
    Ok((file, metadata))
}

/// Reads the `len` bytes the file had when its handle was asked (fewer if it shrank since;
/// never more, if it grew).
fn read_whole(file: &mut File, len: u64, path: &Path) -> Result<Bytes, Found> {
    let capacity = usize::try_from(len).unwrap_or(usize::MAX);
    let mut content = Vec::with_capacity(capacity);
    file.take(len)
        .read_to_end(&mut content)
        .map_err(|e| Found::Failed(e, path.to_owned()))?;
    Ok(Bytes::from(content))
}
