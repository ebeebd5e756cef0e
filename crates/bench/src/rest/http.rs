//! The load generator's HTTP/1.1 client: one keep-alive connection, pre-built request bytes,
//! and a reader for what axum (hyper) sends for bodies of known length.

use super::{Reply, request_bytes};
use anyhow::{Context, ensure};
use axum::body::Bytes;
use axum::http::HeaderValue;
use std::io;
use std::net::SocketAddr;
use tokio::net::TcpStream;

/// Room the receive buffer starts with; it doubles for larger answers.
const RECEIVE_BUF_BYTES: usize = 16 * 1024;
/// A response head longer than this is not one the load generator understands.
const HEAD_MAX_BYTES: usize = 64 * 1024;
/// The largest response body the load generator accepts.
const BODY_MAX_BYTES: usize = 16 * 1024 * 1024;
/// Error bodies are quoted up to this many bytes.
const QUOTE_MAX_BYTES: usize = 300;

/// Why a request failed, and whether its connection is still usable.
#[derive(Debug)]
pub(crate) struct Failed {
    pub(crate) message: String,
    /// An I/O or protocol error: the connection is out of step and stops.
    pub(super) fatal: bool,
}

/// One response, borrowed from the connection's buffer until the next is read.
#[derive(Debug)]
pub(super) struct Response<'a> {
    status: u16,
    head: &'a [u8],
    body: &'a [u8],
}

/// The load generator's client: one keep-alive HTTP/1.1 connection with a reused receive
/// buffer. It reads what axum (hyper) sends for a body of known length, which covers both
/// servers' answers, errors included: a status line, headers with `content-length`, the body.
/// A chunked or close-delimited answer is refused with an error saying so.
#[derive(Debug)]
pub(crate) struct Conn {
    stream: TcpStream,
    /// Received bytes are `buf[start..end]`; the rest is free room.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Bytes of the last response handed out, consumed when the next is read.
    last_len: usize,
}

impl Conn {
    /// Connects to `addr`, with Nagle's algorithm off.
    pub(crate) async fn open(addr: SocketAddr) -> io::Result<Self> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream,
            buf: vec![0; RECEIVE_BUF_BYTES],
            start: 0,
            end: 0,
            last_len: 0,
        })
    }

    /// Sends `request` and reads its answer; anything but 200 is a failure.
    pub(crate) async fn exchange(&mut self, request: &[u8]) -> Result<(), Failed> {
        let io_failure = |e: io::Error| Failed {
            message: e.to_string(),
            fatal: true,
        };
        self.send(request).await.map_err(io_failure)?;
        let response = self.read_response().await.map_err(io_failure)?;
        if response.status == 200 {
            Ok(())
        } else {
            Err(Failed {
                message: format!("status {}: {}", response.status, quote(response.body)),
                fatal: false,
            })
        }
    }

    /// GETs `path`; its 200 answer's content type and body.
    pub(super) async fn fetch(&mut self, path: &str, token: &str) -> anyhow::Result<Reply> {
        self.send(&request_bytes(path, token))
            .await
            .with_context(|| format!("GET {path}"))?;
        let response = self
            .read_response()
            .await
            .with_context(|| format!("GET {path}"))?;
        ensure!(
            response.status == 200,
            "GET {path} answered {}: {}",
            response.status,
            quote(response.body)
        );
        let head = std::str::from_utf8(response.head).context("a response head not in UTF-8")?;
        let content_type = header_lines(head)
            .find(|(name, _)| name.eq_ignore_ascii_case("content-type"))
            .map(|(_, value)| HeaderValue::from_str(value))
            .transpose()
            .with_context(|| format!("GET {path}: an invalid content-type"))?
            .with_context(|| format!("GET {path} answered without a content-type"))?;
        Ok(Reply {
            content_type,
            body: Bytes::copy_from_slice(response.body),
        })
    }

    /// Writes all of `bytes`.
    async fn send(&self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            match self.stream.try_write(bytes) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => bytes = &bytes[n..],
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.stream.writable().await?,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Reads one whole response: the head up to its blank line, then exactly
    /// `content-length` bytes of body.
    async fn read_response(&mut self) -> io::Result<Response<'_>> {
        self.start += std::mem::take(&mut self.last_len);
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        }
        let head_len = loop {
            if let Some(n) = find_head_end(&self.buf[self.start..self.end]) {
                break n;
            }
            if self.end - self.start > HEAD_MAX_BYTES {
                return Err(invalid(format!("a response head over {HEAD_MAX_BYTES} B")));
            }
            self.fill().await?;
        };
        let (status, body_len) = parse_head(&self.buf[self.start..self.start + head_len])?;
        if body_len > BODY_MAX_BYTES {
            return Err(invalid(format!(
                "a {body_len} B body (at most {BODY_MAX_BYTES})"
            )));
        }
        let total = head_len + body_len;
        while self.end - self.start < total {
            self.fill().await?;
        }
        self.last_len = total;
        let (head, body) = self.buf[self.start..self.start + total].split_at(head_len);
        Ok(Response { status, head, body })
    }

    /// Reads what the socket has into the free end of the buffer, making room first.
    async fn fill(&mut self) -> io::Result<()> {
        if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else {
                self.buf.resize(self.buf.len() * 2, 0);
            }
        }
        loop {
            match self.stream.try_read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the server closed the connection",
                    ));
                }
                Ok(n) => {
                    self.end += n;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.stream.readable().await?,
                Err(e) => return Err(e),
            }
        }
    }
}

/// The length of the response head (through its blank line), once it is all in `bytes`.
fn find_head_end(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
}

/// The status and body length of a response head. Without `content-length` only bodiless
/// statuses (1xx, 204, 304) are accepted; `transfer-encoding` (chunked) is refused.
fn parse_head(head: &[u8]) -> io::Result<(u16, usize)> {
    let text = std::str::from_utf8(head).map_err(|_| invalid("a response head not in UTF-8"))?;
    let status_line = text.split("\r\n").next().unwrap_or_default();
    let status = status_line
        .strip_prefix("HTTP/1.")
        .and_then(|rest| rest.get(2..5))
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| invalid(format!("not an HTTP/1.x status line: {status_line:?}")))?;
    let mut body_len = None;
    for (name, value) in header_lines(text) {
        if name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(invalid(format!(
                "status {status} with transfer-encoding: {value}; the load generator reads \
                 content-length bodies only"
            )));
        }
        if name.eq_ignore_ascii_case("content-length") {
            let n = value
                .parse::<usize>()
                .map_err(|_| invalid(format!("content-length: {value:?}")))?;
            body_len = Some(n);
        }
    }
    match body_len {
        Some(n) => Ok((status, n)),
        None if status < 200 || status == 204 || status == 304 => Ok((status, 0)),
        None => Err(invalid(format!(
            "status {status} without content-length; the load generator reads content-length \
             bodies only"
        ))),
    }
}

/// A head's header lines as trimmed (name, value) pairs.
fn header_lines(head: &str) -> impl Iterator<Item = (&str, &str)> {
    head.split("\r\n").skip(1).filter_map(|line| {
        let (name, value) = line.split_once(':')?;
        Some((name.trim(), value.trim()))
    })
}

/// A response the load generator does not understand.
fn invalid(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, message.into())
}

/// The start of a body, for error messages.
fn quote(body: &[u8]) -> String {
    String::from_utf8_lossy(&body[..body.len().min(QUOTE_MAX_BYTES)]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn head_gives_status_and_length_whatever_the_header_case() {
        let head = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                     Content-Length: 12\r\n\r\n";
        let mut bytes = head.to_vec();
        bytes.extend_from_slice(b"{\"a\":1}");
        assert_eq!(find_head_end(&bytes), Some(head.len()));
        assert_eq!(parse_head(head).expect("a valid head"), (200, 12));
        let no_content = b"HTTP/1.1 204 No Content\r\n\r\n";
        assert_eq!(parse_head(no_content).expect("a valid head"), (204, 0));
        assert_eq!(find_head_end(b"HTTP/1.1 200 OK\r\n"), None);
    }

    #[test]
    fn chunked_or_unsized_answers_are_refused() {
        let heads: [&[u8]; 3] = [
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"HTTP/1.1 200 OK\r\n\r\n",
            b"HTTP/2 200\r\ncontent-length: 1\r\n\r\n",
        ];
        for head in heads {
            assert!(
                parse_head(head).is_err(),
                "{}",
                String::from_utf8_lossy(head)
            );
        }
    }
}
