//! A small HTTP/1.1 client for the benches: one keep-alive connection per simulated browser,
//! plain requests over loopback, each timed by the caller from the first byte written to the last
//! byte read. It reads `Content-Length`, chunked and read-to-close bodies, and nothing fancier.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpStream;

/// One keep-alive HTTP/1.1 connection, reopened after an error.
#[derive(Debug)]
pub struct Connection {
    address: SocketAddr,
    stream: Option<Stream>,
}

/// A TCP stream with a read buffer, over tokio's readiness API (`try_read`, `try_write`), which
/// needs only tokio's `net` feature.
#[derive(Debug)]
struct Stream {
    socket: TcpStream,
    /// Bytes read and not consumed yet start at `start`.
    buffer: Vec<u8>,
    start: usize,
}

impl Stream {
    fn new(socket: TcpStream) -> Self {
        Self {
            socket,
            buffer: Vec::with_capacity(64 * 1024),
            start: 0,
        }
    }

    async fn write_all(&self, mut bytes: &[u8]) -> io::Result<()> {
        while !bytes.is_empty() {
            self.socket.writable().await?;
            match self.socket.try_write(bytes) {
                Ok(written) => bytes = &bytes[written..],
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    /// Reads more bytes into the buffer; `Ok(false)` at the end of the stream.
    async fn fill(&mut self) -> io::Result<bool> {
        if self.start > 0 && self.start == self.buffer.len() {
            self.buffer.clear();
            self.start = 0;
        }
        let mut chunk = [0u8; 16 * 1024];
        loop {
            self.socket.readable().await?;
            match self.socket.try_read(&mut chunk) {
                Ok(0) => return Ok(false),
                Ok(read) => {
                    self.buffer.extend_from_slice(&chunk[..read]);
                    return Ok(true);
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(error) => return Err(error),
            }
        }
    }

    /// The next line, without its CRLF.
    async fn read_line(&mut self) -> io::Result<String> {
        loop {
            if let Some(end) = self.buffer[self.start..]
                .windows(2)
                .position(|pair| pair == b"\r\n")
            {
                let line = String::from_utf8_lossy(&self.buffer[self.start..self.start + end])
                    .into_owned();
                self.start += end + 2;
                return Ok(line);
            }
            if !self.fill().await? {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
    }

    /// The next `length` bytes.
    async fn read_exact(&mut self, length: usize) -> io::Result<&[u8]> {
        while self.buffer.len() - self.start < length {
            if !self.fill().await? {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        let bytes = &self.buffer[self.start..self.start + length];
        self.start += length;
        Ok(bytes)
    }

    /// Everything up to the end of the stream.
    async fn read_to_end(&mut self) -> io::Result<Vec<u8>> {
        while self.fill().await? {}
        let bytes = self.buffer[self.start..].to_vec();
        self.start = self.buffer.len();
        Ok(bytes)
    }
}

/// A response: status, headers (names in lower case) and body.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// The headers, names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl Response {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(header, _)| header == name)
            .map(|(_, value)| value.as_str())
    }
}

/// What a request carries besides its method and path.
#[derive(Debug, Clone, Copy, Default)]
pub struct Extras<'a> {
    /// A bearer token.
    pub token: Option<&'a str>,
    /// Other headers, as `Name: value` lines without the line end.
    pub headers: &'a [&'a str],
    /// A body and its content type.
    pub body: Option<(&'a str, &'a str)>,
}

impl<'a> Extras<'a> {
    /// Just a bearer token.
    pub fn token(token: &'a str) -> Self {
        Self {
            token: Some(token),
            ..Self::default()
        }
    }

    /// A JSON body, with or without a bearer token.
    pub fn json(token: Option<&'a str>, body: &'a str) -> Self {
        Self {
            token,
            body: Some(("application/json", body)),
            ..Self::default()
        }
    }
}

impl Connection {
    /// A connection to `address`, opened at the first request.
    pub fn new(address: SocketAddr) -> Self {
        Self {
            address,
            stream: None,
        }
    }

    /// Sends a request and reads its response; after an error the connection is dropped, and
    /// the next request opens a new one.
    pub async fn request(
        &mut self,
        method: &str,
        path: &str,
        extras: Extras<'_>,
    ) -> io::Result<Response> {
        let result = self.exchange(method, path, extras).await;
        if result.is_err() {
            self.stream = None;
        }
        result
    }

    async fn exchange(
        &mut self,
        method: &str,
        path: &str,
        extras: Extras<'_>,
    ) -> io::Result<Response> {
        if self.stream.is_none() {
            let stream = TcpStream::connect(self.address).await?;
            stream.set_nodelay(true)?;
            self.stream = Some(Stream::new(stream));
        }
        let stream = self
            .stream
            .as_mut()
            .ok_or_else(|| io::Error::other("no stream"))?;
        let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {}\r\n", self.address);
        if let Some(token) = extras.token {
            head.push_str(&format!("Authorization: Bearer {token}\r\n"));
        }
        for header in extras.headers {
            head.push_str(header);
            head.push_str("\r\n");
        }
        if let Some((content_type, body)) = extras.body {
            head.push_str(&format!(
                "Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            ));
        } else {
            head.push_str("\r\n");
        }
        stream.write_all(head.as_bytes()).await?;

        let line = stream.read_line().await?;
        let status: u16 = line
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| io::Error::other(format!("bad status line {line:?}")))?;
        let mut content_length = None;
        let mut chunked = false;
        let mut close = false;
        let mut headers = Vec::new();
        loop {
            let line = stream.read_line().await?;
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                let name = name.to_ascii_lowercase();
                let value = value.trim();
                match name.as_str() {
                    "content-length" => content_length = value.parse::<usize>().ok(),
                    "transfer-encoding" => chunked = value.eq_ignore_ascii_case("chunked"),
                    "connection" => close = value.eq_ignore_ascii_case("close"),
                    _ => {}
                }
                headers.push((name, value.to_owned()));
            }
        }
        let mut body = Vec::new();
        if chunked {
            loop {
                let line = stream.read_line().await?;
                let size = usize::from_str_radix(line.trim(), 16)
                    .map_err(|_| io::Error::other(format!("bad chunk size {line:?}")))?;
                if size == 0 {
                    // The last chunk: no trailers are expected, just the final CRLF.
                    stream.read_line().await?;
                    break;
                }
                body.extend_from_slice(&stream.read_exact(size + 2).await?[..size]);
            }
        } else if let Some(length) = content_length {
            body.extend_from_slice(stream.read_exact(length).await?);
        } else {
            body = stream.read_to_end().await?;
            close = true;
        }
        if close {
            self.stream = None;
        }
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}

/// The body as JSON; panics, showing it, when it is not JSON.
pub fn json(response: &Response) -> serde_json::Value {
    serde_json::from_slice(&response.body).unwrap_or_else(|error| {
        panic!(
            "status {}, body is not JSON ({error}): {}",
            response.status,
            String::from_utf8_lossy(&response.body)
        )
    })
}

/// A setup request, retried while the API's rate limit answers 429 (setup is not measured).
pub async fn setup_request(
    connection: &mut Connection,
    method: &str,
    path: &str,
    extras: Extras<'_>,
) -> Response {
    loop {
        let response = connection
            .request(method, path, extras)
            .await
            .unwrap_or_else(|error| panic!("{method} {path}: {error}"));
        if response.status != 429 {
            return response;
        }
        let wait: u64 = response
            .header("retry-after")
            .and_then(|seconds| seconds.parse().ok())
            .unwrap_or(1);
        tokio::time::sleep(Duration::from_secs(wait)).await;
    }
}

/// The header a bench's server is started with as `--client-address-header`.
pub const CLIENT_HEADER: &str = "X-Bench-Client";

/// The header line that makes caller `index` call from an address of its own, as a room of
/// laptops would: the server's join and request limits are per address.
pub fn client_address(index: usize) -> String {
    format!("{CLIENT_HEADER}: 10.0.{}.{}", index / 250, index % 250 + 1)
}
