//! A response body that is a range of a file, and the two ways its bytes leave: read in
//! chunks into memory (any transport), or handed from the page cache straight to a plain TCP
//! socket with `sendfile` (HTTP/1.1 without TLS, on Linux; see `server/h1.rs`).
//!
//! A read of a file may wait for a disk, so async code hands it to a blocking thread; that
//! hand-off (two thread switches) cost more than the copy of a 16 KiB chunk, and a large
//! file is thousands of chunks. On Linux each chunk is first read with
//! `preadv2(RWF_NOWAIT)`, which copies from the page cache and fails with `EAGAIN` rather
//! than wait for the disk; only then does the read go to the blocking pool. Elsewhere, or
//! where the file system refuses the flag, every read goes to the pool.
//!
//! Either way the body yields exactly its length or fails: a file that shrank meanwhile is an
//! error, never a short body that the declared Content-Length would contradict; a file that
//! grew is cut at the length promised.

use std::fs::File;
use std::io;
use std::sync::Arc;

use bytes::Bytes;

use super::{BodyError, BoxStream};

/// `length` bytes of a file from `start`, not yet sent.
#[derive(Debug)]
pub(crate) struct FileRange {
    file: Arc<File>,
    offset: u64,
    remaining: u64,
    /// The size of one read when the bytes go through memory.
    chunk: usize,
}

impl FileRange {
    pub(crate) fn new(file: File, start: u64, length: u64, chunk: usize) -> Self {
        FileRange {
            file: Arc::new(file),
            offset: start,
            remaining: length,
            chunk: chunk.max(1),
        }
    }

    /// Bytes not yet sent.
    pub(crate) fn remaining(&self) -> u64 {
        self.remaining
    }

    /// The next chunk read into memory; `None` once the range is sent. After an error the
    /// range counts as ended.
    pub(crate) async fn read_next(&mut self) -> Option<Result<Bytes, BodyError>> {
        if self.remaining == 0 {
            return None;
        }
        let want = usize::try_from(self.remaining).map_or(self.chunk, |r| r.min(self.chunk));
        let failed = match read_chunk(&self.file, self.offset, want).await {
            Ok(bytes) if !bytes.is_empty() => {
                self.advance(bytes.len());
                return Some(Ok(bytes));
            }
            Ok(_) => self.shrank(),
            Err(e) => {
                tracing::warn!(error = %e, "reading a file being sent failed");
                BodyError::Producer(format!("reading the file failed: {e}"))
            }
        };
        self.remaining = 0;
        Some(Err(failed))
    }

    /// The range as a stream of chunks read into memory.
    pub(crate) fn into_stream(self) -> BoxStream {
        Box::pin(futures_util::stream::unfold(self, |mut range| async move {
            let next = range.read_next().await?;
            Some((next, range))
        }))
    }

    fn advance(&mut self, n: usize) {
        let n = n as u64;
        self.offset += n;
        self.remaining = self.remaining.saturating_sub(n);
    }

    fn shrank(&self) -> BodyError {
        let why = format!(
            "file shrank while being sent ({} bytes missing)",
            self.remaining
        );
        tracing::warn!("{why}");
        BodyError::Producer(why)
    }
}

#[cfg(target_os = "linux")]
impl FileRange {
    /// Whether the page cache holds the next byte to send, so that `sendfile` would not
    /// wait for a disk to begin (a miss in the middle of a chunk still may: the kernel reads
    /// ahead of a sequential reader, which makes that rare). `false` where the kernel or the
    /// file system cannot tell.
    pub(crate) fn next_is_cached(&self) -> bool {
        self.remaining > 0
            && matches!(cached::read(&self.file, self.offset, 1), Ok(Some(b)) if b.len() == 1)
    }

    /// One `sendfile` of what is left, as much as the socket takes now. `Ok(0)` before the
    /// end: the file shrank (an error for the caller, as for [`FileRange::read_next`]).
    /// `WouldBlock` when the socket's buffer is full.
    pub(crate) fn send_to(&mut self, socket: impl std::os::fd::AsFd) -> io::Result<usize> {
        // One call moves at most this much, so that a large file does not keep the worker
        // from its other connections for long when the client reads fast.
        const MOST_PER_CALL: usize = 1 << 20;
        let want = usize::try_from(self.remaining).map_or(MOST_PER_CALL, |r| r.min(MOST_PER_CALL));
        let mut offset = self.offset;
        let sent = rustix::fs::sendfile(socket, &*self.file, Some(&mut offset), want)?;
        if sent == 0 && want > 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                self.shrank().to_string(),
            ));
        }
        self.advance(sent);
        Ok(sent)
    }
}

#[cfg(not(target_os = "linux"))]
impl FileRange {
    /// Without `RWF_NOWAIT` nothing tells a page-cache hit from a disk read.
    pub(crate) fn next_is_cached(&self) -> bool {
        false
    }
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

    use super::spare;

    /// Set once the kernel or a file system has refused `RWF_NOWAIT` (Linux before 4.14,
    /// some network file systems): from then on every read goes to the blocking pool.
    static REFUSED: AtomicBool = AtomicBool::new(false);

    /// The bytes if the page cache has them now (all or a first part), `None` if getting
    /// them would wait for a disk.
    pub(super) fn read(file: &File, offset: u64, want: usize) -> io::Result<Option<Bytes>> {
        if REFUSED.load(Ordering::Relaxed) {
            return Ok(None);
        }
        let mut buf = spare::take(want);
        match preadv2(
            file,
            &mut [IoSliceMut::new(&mut buf[..want])],
            offset,
            ReadWriteFlags::NOWAIT,
        ) {
            Ok(n) => Ok(Some(spare::chunk(buf, n))),
            Err(Errno::AGAIN | Errno::INTR) => Ok(None),
            Err(Errno::OPNOTSUPP | Errno::NOSYS | Errno::INVAL) => {
                REFUSED.store(true, Ordering::Relaxed);
                Ok(None)
            }
            Err(e) => Err(e.into()),
        }
    }
}

/// Buffers for chunks read from the page cache, kept per thread once their chunks are sent.
///
/// `preadv2` fills initialised memory only, and this crate has no `unsafe`: a fresh buffer
/// is zeroed first, which cost a sixth as much as the read's own copy from the page cache
/// (`perf` of the 64 MiB file over h2c: `memset` 2.5 % of the server's time against 16 %
/// for the copy). A chunk's buffer goes back to the thread that drops the chunk (where its
/// bytes were written) and is read into again without zeroing.
#[cfg(target_os = "linux")]
mod spare {
    use std::cell::RefCell;

    use bytes::Bytes;

    /// Reads shorter than this take a fresh buffer, and their buffers are not kept: the
    /// one-byte probe of `next_is_cached`, the tail of a small file.
    const SMALLEST_KEPT: usize = 4096;
    /// The most bytes of buffers one thread keeps. Each buffer kept is one being read into
    /// again soon on a thread sending files; a thread that stops sending keeps them (as
    /// malloc would keep the freed memory in its heap).
    const KEPT_PER_THREAD: usize = 256 * 1024;

    thread_local! {
        static KEPT: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
    }

    /// A buffer of at least `want` initialised bytes: a kept one not more than twice that
    /// size (the one kept last, likeliest still in the CPU's cache), or a fresh one.
    pub(super) fn take(want: usize) -> Vec<u8> {
        if want >= SMALLEST_KEPT {
            let kept = KEPT.try_with(|kept| {
                let mut kept = kept.borrow_mut();
                let fits = kept
                    .iter()
                    .rposition(|b| b.len() >= want && b.len() / 2 <= want)?;
                Some(kept.swap_remove(fits))
            });
            if let Ok(Some(buf)) = kept {
                return buf;
            }
        }
        vec![0; want]
    }

    /// The first `len` bytes of `buf` as a chunk whose buffer is kept once it is dropped.
    pub(super) fn chunk(buf: Vec<u8>, len: usize) -> Bytes {
        debug_assert!(len <= buf.len());
        if buf.len() < SMALLEST_KEPT {
            let mut buf = buf;
            buf.truncate(len);
            return Bytes::from(buf);
        }
        Bytes::from_owner(Chunk { buf, len })
    }

    /// A buffer and how much of it a read filled.
    struct Chunk {
        buf: Vec<u8>,
        len: usize,
    }

    impl AsRef<[u8]> for Chunk {
        fn as_ref(&self) -> &[u8] {
            &self.buf[..self.len]
        }
    }

    impl Drop for Chunk {
        fn drop(&mut self) {
            let buf = std::mem::take(&mut self.buf);
            // A thread that is ending has no list to keep it in: the buffer is freed.
            let _ = KEPT.try_with(|kept| {
                let mut kept = kept.borrow_mut();
                let held: usize = kept.iter().map(Vec::len).sum();
                if held + buf.len() <= KEPT_PER_THREAD {
                    kept.push(buf);
                }
            });
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        /// A dropped chunk's buffer is read into again, its old bytes still there (no
        /// zeroing); small reads and buffers past the bound are not kept.
        #[test]
        fn a_sent_chunks_buffer_is_taken_again() {
            let mut buf = take(8192);
            buf[..5].copy_from_slice(b"bytes");
            let first = chunk(buf, 5);
            assert_eq!(&first[..], b"bytes");
            let slice = first.slice(1..3);
            drop(first);
            assert!(
                take(8192).iter().all(|&b| b == 0),
                "still in use by the slice: fresh"
            );
            drop(slice);
            let again = take(8192);
            assert_eq!(&again[..5], b"bytes", "the kept buffer, not zeroed");
            assert_eq!(again.len(), 8192);
            drop(chunk(again, 0));
            assert_eq!(
                take(100_000).len(),
                100_000,
                "too small a kept buffer is not used"
            );
            assert_eq!(&take(5000)[..5], b"bytes", "up to twice the size is used");

            let small = take(10);
            assert_eq!(chunk(small, 3).len(), 3);
            drop(chunk(take(KEPT_PER_THREAD + 1), 1));
            KEPT.with(|kept| {
                assert!(kept.borrow().iter().map(Vec::len).sum::<usize>() <= KEPT_PER_THREAD);
                assert!(kept.borrow().iter().all(|b| b.len() >= SMALLEST_KEPT));
            });
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

    /// A range read in chunks and a range sent with `sendfile` carry the same bytes, stop at
    /// the range's end, and a file that shrank fails rather than ending short.
    #[tokio::test]
    async fn chunks_and_sendfile_carry_the_range() {
        use futures_util::StreamExt;
        let content: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
        let mut tmp = tempfile::tempfile().unwrap();
        tmp.write_all(&content).unwrap();

        let mut streamed = Vec::new();
        let mut stream =
            FileRange::new(tmp.try_clone().unwrap(), 1000, 200_000, 7000).into_stream();
        while let Some(chunk) = stream.next().await {
            streamed.extend_from_slice(&chunk.unwrap());
        }
        assert!(streamed == content[1000..201_000]);

        #[cfg(target_os = "linux")]
        {
            use std::io::Read;
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let mut receiver =
                std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
            let (sender, _) = listener.accept().unwrap();
            let reader = std::thread::spawn(move || {
                let mut got = Vec::new();
                receiver.read_to_end(&mut got).unwrap();
                got
            });
            let mut range = FileRange::new(tmp.try_clone().unwrap(), 1000, 200_000, 7000);
            assert!(
                range.next_is_cached(),
                "a file just written is in the page cache"
            );
            while range.remaining() > 0 {
                // A blocking socket: each call waits for room instead of WouldBlock.
                assert!(range.send_to(&sender).unwrap() > 0);
            }
            assert!(!range.next_is_cached(), "nothing is left to send");
            drop(sender);
            assert!(reader.join().unwrap() == content[1000..201_000]);
        }

        // Promised more than the file holds: the chunks fail at the end of the file.
        let mut short = FileRange::new(tmp, 299_000, 5000, 4096);
        assert_eq!(short.read_next().await.unwrap().unwrap().len(), 1000);
        assert!(short.read_next().await.unwrap().is_err());
        assert!(
            short.read_next().await.is_none(),
            "the range ends after its error"
        );
    }
}
