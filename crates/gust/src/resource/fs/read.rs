//! Streaming a file's bytes into a response body, without a trip to the blocking thread
//! pool when the kernel already holds them.
//!
//! A read of a file may wait for a disk, so async code hands it to a blocking thread; that
//! hand-off (two thread switches) cost more than the copy of a 16 KiB chunk, and a large
//! file is thousands of chunks. On Linux each chunk is first read with
//! `preadv2(RWF_NOWAIT)`, which copies from the page cache and fails with `EAGAIN` rather
//! than wait for the disk; only then does the read go to the blocking pool. Elsewhere, or
//! where the file system refuses the flag, every read goes to the pool.

use std::fs::File;
use std::io;
use std::sync::Arc;

use bytes::Bytes;

use crate::body::{Body, BodyError};

/// The body streaming `length` bytes of `file` from `start`, `chunk` bytes at a time. It
/// yields exactly `length` bytes or fails: a file that shrank meanwhile is an error, never a
/// short body that the declared Content-Length would contradict; a file that grew is cut at
/// the length promised.
pub(super) fn file_body(file: File, start: u64, length: u64, chunk: usize) -> Body {
    let state = Some((Arc::new(file), start, length));
    let stream = futures_util::stream::unfold(state, move |state| async move {
        let (file, offset, remaining) = state?;
        if remaining == 0 {
            return None;
        }
        let want = usize::try_from(remaining).map_or(chunk, |r| r.min(chunk));
        match read_chunk(&file, offset, want).await {
            Ok(bytes) if bytes.is_empty() => {
                let why = format!("file shrank while being sent ({remaining} bytes missing)");
                tracing::warn!("{why}");
                Some((Err(BodyError::Producer(why)), None))
            }
            Ok(bytes) => {
                let n = bytes.len() as u64;
                let next = (file, offset + n, remaining.saturating_sub(n));
                Some((Ok(bytes), Some(next)))
            }
            Err(e) => {
                tracing::warn!(error = %e, "reading a file being sent failed");
                Some((
                    Err(BodyError::Producer(format!("reading the file failed: {e}"))),
                    None,
                ))
            }
        }
    });
    Body::sized_stream(stream, length)
}

/// Up to `want` bytes of `file` at `offset`; empty at the end of the file.
async fn read_chunk(file: &Arc<File>, offset: u64, want: usize) -> io::Result<Bytes> {
    // Nothing from the page cache is confirmed by an ordinary read before it counts as the
    // end of the file: a file system that answers a miss with 0 rather than EAGAIN must not
    // make a complete file look shrunk.
    #[cfg(target_os = "linux")]
    if let Some(bytes) = cached::read(file, offset, want)? {
        if !bytes.is_empty() {
            return Ok(bytes);
        }
    }
    read_in_pool(Arc::clone(file), offset, want).await
}

/// [`read_chunk`] on a blocking thread: what a read that may wait for a disk needs.
async fn read_in_pool(file: Arc<File>, offset: u64, want: usize) -> io::Result<Bytes> {
    tokio::task::spawn_blocking(move || {
        let mut buf = vec![0; want];
        let n = read_at(&file, &mut buf, offset)?;
        buf.truncate(n);
        Ok(Bytes::from(buf))
    })
    .await
    .map_err(io::Error::other)?
}

#[cfg(unix)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::unix::fs::FileExt::read_at(file, buf, offset)
}

#[cfg(windows)]
fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    std::os::windows::fs::FileExt::seek_read(file, buf, offset)
}

#[cfg(target_os = "linux")]
mod cached {
    use std::fs::File;
    use std::io::{self, IoSliceMut};
    use std::sync::atomic::{AtomicBool, Ordering};

    use bytes::Bytes;
    use rustix::io::{preadv2, Errno, ReadWriteFlags};

    /// Set once the kernel or a file system has refused `RWF_NOWAIT` (Linux before 4.14,
    /// some network file systems): from then on every read goes to the blocking pool.
    static REFUSED: AtomicBool = AtomicBool::new(false);

    /// The bytes if the page cache has them now (all or a first part), `None` if getting
    /// them would wait for a disk.
    pub(super) fn read(file: &File, offset: u64, want: usize) -> io::Result<Option<Bytes>> {
        if REFUSED.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let mut buf = vec![0; want];
        match preadv2(
            file,
            &mut [IoSliceMut::new(&mut buf)],
            offset,
            ReadWriteFlags::NOWAIT,
        ) {
            Ok(n) => {
                buf.truncate(n);
                Ok(Some(Bytes::from(buf)))
            }
            Err(Errno::AGAIN | Errno::INTR) => Ok(None),
            Err(Errno::OPNOTSUPP | Errno::NOSYS | Errno::INVAL) => {
                REFUSED.store(true, Ordering::Relaxed);
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// Both ways of reading give the same bytes, short at the end of the file and empty
    /// past it.
    #[tokio::test]
    async fn page_cache_and_pool_reads_agree() {
        let mut tmp = tempfile::tempfile().unwrap();
        let content: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
        tmp.write_all(&content).unwrap();
        let file = Arc::new(tmp);
        for (offset, want) in [(0, 16_384), (49_990, 100), (50_000, 10), (123, 1)] {
            let start = usize::try_from(offset).unwrap().min(content.len());
            let end = (start + want).min(content.len());
            let pooled = read_in_pool(Arc::clone(&file), offset, want).await.unwrap();
            assert_eq!(pooled, &content[start..end], "pool, at {offset}");
            #[cfg(target_os = "linux")]
            {
                // Just written, so in the page cache: RWF_NOWAIT finds it (a kernel or
                // file system without the flag gives None, the pool's turn).
                if let Some(cached) = cached::read(&file, offset, want).unwrap() {
                    assert!(
                        content[start..end].starts_with(&cached),
                        "cache, at {offset}"
                    );
                    assert!(!cached.is_empty() || start == end, "cache, at {offset}");
                }
            }
        }
    }
}
