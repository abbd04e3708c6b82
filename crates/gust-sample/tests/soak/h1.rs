//! A small HTTP/1.1 keep-alive client that tells apart an answer never begun (the server did
//! not take the request) from one cut short (a loss). Written here, not taken from a crate,
//! because that distinction is the point of the shutdown check.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::load::{Exchange, Failure};

/// The largest answer this client accepts (the biggest file of the run is far smaller).
const MAX_BODY: usize = 64 << 20;
/// The largest response head.
const MAX_HEAD: usize = 64 << 10;
/// Bytes written per write of a request body.
const WRITE_CHUNK: usize = 64 << 10;

/// One connection, reused while the server keeps it open.
pub(crate) struct H1Client {
    stream: TcpStream,
    inbuf: BytesMut,
    /// The server said `Connection: close` or closed: open a new connection next time.
    closed: bool,
}

/// A response as received.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) body: BytesMut,
}

impl H1Client {
    /// Connects; a refusal means the server did not take the request.
    pub(crate) async fn connect(addr: SocketAddr) -> Result<H1Client, Failure> {
        match TcpStream::connect(addr).await {
            Ok(stream) => Ok(H1Client {
                stream,
                inbuf: BytesMut::with_capacity(16 << 10),
                closed: false,
            }),
            Err(e) => Err(Failure::NotTaken(format!("connect: {e}"))),
        }
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed
    }

    /// Sends one request and reads its whole answer. With `pace`, the body is sent in
    /// `WRITE_CHUNK` pieces with that pause between them (an upload in flight for a while),
    /// while the answer is read at the same time (the echo streams back as it arrives).
    pub(crate) async fn exchange(
        &mut self,
        exchange: &Exchange,
        pace: Option<Duration>,
    ) -> Result<Reply, Failure> {
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: soak\r\n",
            exchange.method, exchange.target
        );
        if let Some(body) = &exchange.body {
            head.push_str(&format!(
                "Content-Length: {}\r\nContent-Type: application/octet-stream\r\n",
                body.len()
            ));
        }
        head.push_str("\r\n");
        let body = exchange.body.clone().unwrap_or_default();
        let (mut rd, mut wr) = self.stream.split();
        let write = async {
            wr.write_all(head.as_bytes()).await?;
            for chunk in body.chunks(WRITE_CHUNK) {
                wr.write_all(chunk).await?;
                if let Some(pause) = pace {
                    tokio::time::sleep(pause).await;
                }
            }
            wr.flush().await
        };
        let read = read_reply(&mut rd, &mut self.inbuf, exchange.method == "HEAD");
        let (written, reply) = tokio::join!(write, read);
        let (reply, close) = match reply {
            Ok(r) => r,
            Err(failure) => {
                self.closed = true;
                return Err(failure);
            }
        };
        if close {
            self.closed = true;
        }
        // A write that failed while the whole answer still came is a server that answered
        // early and closed: the answer is checked as it is.
        if written.is_err() {
            self.closed = true;
        }
        Ok(reply)
    }
}

/// Reads one response: head, then the body framed by Content-Length, chunked encoding or
/// the end of the connection. Returns the reply and whether the connection ends after it.
async fn read_reply<R: AsyncReadExt + Unpin>(
    rd: &mut R,
    buf: &mut BytesMut,
    head_request: bool,
) -> Result<(Reply, bool), Failure> {
    // Until the first byte of the answer, an end means the request was never taken.
    let head_end = loop {
        if let Some(at) = find(buf, b"\r\n\r\n") {
            break at + 4;
        }
        if buf.len() > MAX_HEAD {
            return Err(Failure::Broken("response head too large".into()));
        }
        let begun = !buf.is_empty();
        match rd.read_buf(buf).await {
            Ok(0) if !begun => return Err(Failure::NotTaken("closed before any answer".into())),
            Err(e) if !begun => return Err(Failure::NotTaken(format!("before any answer: {e}"))),
            Ok(0) => return Err(Failure::Broken("closed inside the response head".into())),
            Err(e) => return Err(Failure::Broken(format!("inside the response head: {e}"))),
            Ok(_) => {}
        }
    };
    let mut headers = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Response::new(&mut headers);
    match parsed.parse(&buf[..head_end]) {
        Ok(httparse::Status::Complete(_)) => {}
        other => return Err(Failure::Broken(format!("bad response head: {other:?}"))),
    }
    let status = parsed.code.unwrap_or(0);
    let mut length = None;
    let mut chunked = false;
    let mut close = false;
    for header in parsed.headers.iter() {
        let value = String::from_utf8_lossy(header.value).to_ascii_lowercase();
        if header.name.eq_ignore_ascii_case("content-length") {
            length = value.trim().parse::<usize>().ok();
        } else if header.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.contains("chunked");
        } else if header.name.eq_ignore_ascii_case("connection") {
            close = value.contains("close");
        }
    }
    buf.advance(head_end);
    let no_body = head_request || status == 204 || status == 304 || (100..200).contains(&status);
    let body = if no_body {
        BytesMut::new()
    } else if chunked {
        read_chunked(rd, buf).await?
    } else if let Some(length) = length {
        if length > MAX_BODY {
            return Err(Failure::Broken(format!("Content-Length {length}")));
        }
        fill(rd, buf, length).await?;
        buf.split_to(length)
    } else {
        // Delimited by the end of the connection.
        close = true;
        loop {
            if buf.len() > MAX_BODY {
                return Err(Failure::Broken("unframed body too large".into()));
            }
            match rd.read_buf(buf).await {
                Ok(0) => break,
                Ok(_) => {}
                Err(e) => return Err(Failure::Broken(format!("inside the body: {e}"))),
            }
        }
        buf.split()
    };
    Ok((Reply { status, body }, close))
}

/// Decodes a chunked body (RFC 9112 7.1), trailers skipped.
async fn read_chunked<R: AsyncReadExt + Unpin>(
    rd: &mut R,
    buf: &mut BytesMut,
) -> Result<BytesMut, Failure> {
    let mut body = BytesMut::new();
    loop {
        let line = read_line(rd, buf).await?;
        let size = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size, 16)
            .map_err(|_| Failure::Broken(format!("bad chunk size line {line:?}")))?;
        if size == 0 {
            // Trailer fields, up to the empty line.
            while !read_line(rd, buf).await?.is_empty() {}
            return Ok(body);
        }
        if body.len() + size > MAX_BODY {
            return Err(Failure::Broken("chunked body too large".into()));
        }
        fill(rd, buf, size + 2).await?;
        body.extend_from_slice(&buf[..size]);
        if &buf[size..size + 2] != b"\r\n" {
            return Err(Failure::Broken("chunk not followed by CRLF".into()));
        }
        buf.advance(size + 2);
    }
}

async fn read_line<R: AsyncReadExt + Unpin>(
    rd: &mut R,
    buf: &mut BytesMut,
) -> Result<String, Failure> {
    loop {
        if let Some(at) = find(buf, b"\r\n") {
            let line = String::from_utf8_lossy(&buf[..at]).into_owned();
            buf.advance(at + 2);
            return Ok(line);
        }
        if buf.len() > MAX_HEAD {
            return Err(Failure::Broken("chunk line too long".into()));
        }
        read_more(rd, buf).await?;
    }
}

/// Reads until `buf` holds at least `len` bytes.
async fn fill<R: AsyncReadExt + Unpin>(
    rd: &mut R,
    buf: &mut BytesMut,
    len: usize,
) -> Result<(), Failure> {
    while buf.len() < len {
        buf.reserve(len - buf.len());
        read_more(rd, buf).await?;
    }
    Ok(())
}

/// One read inside a response that has begun: an end here is a loss.
async fn read_more<R: AsyncReadExt + Unpin>(rd: &mut R, buf: &mut BytesMut) -> Result<(), Failure> {
    match rd.read_buf(buf).await {
        Ok(0) => Err(Failure::Broken("closed inside the body".into())),
        Ok(_) => Ok(()),
        Err(e) => Err(Failure::Broken(format!("inside the body: {e}"))),
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
