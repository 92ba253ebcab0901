//! The API under workshop load: 200 participants with traffic running, each polling their
//! dashboard, and the instructor refreshing the overview, against a real `chaoslab serve` process.
//!
//! `cargo bench -p chaoslab --bench load [-- --seconds N] [--participants N]`. Figures go in
//! BENCHMARKS.md.
//!
//! The server is the release binary (`CARGO_BIN_EXE_chaoslab`, which cargo builds for the bench),
//! started as a child process on a free loopback port, with a temporary data directory and the
//! embedded backend, so its CPU time and resident memory can be read from `/proc/<pid>`. The
//! load runs on a current-thread runtime in this process, so it takes at most one core from the
//! two the server shares with it. Requests are plain HTTP/1.1 over keep-alive loopback connections,
//! one per simulated browser; each is timed from the first byte written to the last byte read.
//!
//! Setup: every participant joins (`POST /api/v1/participants`) and starts traffic at 2 objects/s
//! with a subscriber at 2 messages/s (`PUT /api/v1/participants/{id}/traffic`). Then, for the run:
//! - each participant GETs `/api/v1/participants/{id}/dashboard` every 5 s, the participants
//!   staggered evenly over the 5 s;
//! - the instructor GETs `/api/v1/participants?limit=500` every 2 s and, when the server has the
//!   instructor's web pages, the overview's htmx table `/instructor/table` too (after logging in
//!   with the token at `POST /instructor/login`, with the session cookie and `HX-Request: true`,
//!   as the overview page polls it).
//!
//! Setup requests that the API's per-client rate limit answers with 429 are retried after
//! `Retry-After`; during the run, a 429 counts as an error.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

const INSTRUCTOR_TOKEN: &str = "load-bench-instructor-token-0001";
const DASHBOARD_EVERY: Duration = Duration::from_secs(5);
const OVERVIEW_EVERY: Duration = Duration::from_secs(2);
const WARM_UP: Duration = Duration::from_secs(5);
const SAMPLE_EVERY: Duration = Duration::from_millis(500);

/// The server process; killed when dropped, also when the bench panics.
struct Server {
    child: Child,
    address: SocketAddr,
    data_dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Self {
        let data_dir = tempfile::tempdir().unwrap();
        // A free port: bind port 0, read it, let it go. The server binds it right after.
        let address = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .unwrap();
        let log = std::fs::File::create(data_dir.path().join("server.log")).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_chaoslab"))
            .arg("serve")
            .arg("--listen")
            .arg(address.to_string())
            .arg("--data-dir")
            .arg(data_dir.path().join("data"))
            .arg("--instructor-token")
            .arg(INSTRUCTOR_TOKEN)
            .arg("--log-format")
            .arg("json")
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|error| {
                panic!("cannot start {}: {error}", env!("CARGO_BIN_EXE_chaoslab"))
            });
        Self {
            child,
            address,
            data_dir,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.path().join("server.log")).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU time and resident memory of a process, from `/proc`.
#[derive(Debug, Clone, Copy)]
struct ProcessSample {
    cpu_seconds: f64,
    rss_kib: u64,
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|output| String::from_utf8(output.stdout).ok())
        .and_then(|text| text.trim().parse().ok())
        .unwrap_or(100.0)
}

fn sample_process(pid: u32, ticks_per_second: f64) -> Option<ProcessSample> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces: the first is
    // field 3 (state), so utime (14) and stime (15) are at 11 and 12.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let rss_kib = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    Some(ProcessSample {
        cpu_seconds: (utime + stime) / ticks_per_second,
        rss_kib,
    })
}

/// One keep-alive HTTP/1.1 connection, reopened after an error.
struct Connection {
    address: SocketAddr,
    stream: Option<Stream>,
}

/// A TCP stream with a read buffer, over tokio's readiness API (`try_read`, `try_write`), which
/// needs only tokio's `net` feature.
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
struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Response {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(header, _)| header == name)
            .map(|(_, value)| value.as_str())
    }
}

/// What a request carries besides its method and path.
#[derive(Debug, Clone, Copy, Default)]
struct Extras<'a> {
    /// A bearer token.
    token: Option<&'a str>,
    /// Other headers, as `Name: value` lines without the line end.
    headers: &'a [&'a str],
    /// A body and its content type.
    body: Option<(&'a str, &'a str)>,
}

impl<'a> Extras<'a> {
    fn token(token: &'a str) -> Self {
        Self {
            token: Some(token),
            ..Self::default()
        }
    }

    fn json(token: Option<&'a str>, body: &'a str) -> Self {
        Self {
            token,
            body: Some(("application/json", body)),
            ..Self::default()
        }
    }
}

impl Connection {
    fn new(address: SocketAddr) -> Self {
        Self {
            address,
            stream: None,
        }
    }

    async fn request(
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

/// Latencies and failures of one route.
#[derive(Debug, Default)]
struct RouteStats {
    latencies: Vec<Duration>,
    /// Body bytes received.
    bytes: usize,
    /// Non-2xx answers, by status.
    statuses: BTreeMap<u16, usize>,
    /// Requests that got no answer (connection errors).
    failures: usize,
}

impl RouteStats {
    fn record(&mut self, started: Instant, result: &io::Result<Response>) {
        match result {
            Ok(response) => {
                self.latencies.push(started.elapsed());
                self.bytes += response.body.len();
                if !(200..300).contains(&response.status) {
                    *self.statuses.entry(response.status).or_default() += 1;
                }
            }
            Err(_) => self.failures += 1,
        }
    }

    fn merge(&mut self, other: Self) {
        self.latencies.extend(other.latencies);
        self.bytes += other.bytes;
        for (status, count) in other.statuses {
            *self.statuses.entry(status).or_default() += count;
        }
        self.failures += other.failures;
    }

    fn errors(&self) -> usize {
        self.statuses.values().sum::<usize>() + self.failures
    }
}

fn percentile_ms(sorted: &[Duration], p: f64) -> f64 {
    let index = ((sorted.len() as f64 * p).ceil() as usize).saturating_sub(1);
    sorted
        .get(index)
        .map_or(0.0, |sample| sample.as_secs_f64() * 1000.0)
}

fn json(response: &Response) -> serde_json::Value {
    serde_json::from_slice(&response.body).unwrap_or_else(|error| {
        panic!(
            "status {}, body is not JSON ({error}): {}",
            response.status,
            String::from_utf8_lossy(&response.body)
        )
    })
}

fn argument<T: std::str::FromStr>(name: &str, default: T) -> T {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|arg| arg == name)
        .and_then(|index| args.get(index + 1))
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// A setup request, retried while the API's rate limit answers 429 (setup is not measured).
async fn setup_request(
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

/// Logs in to the instructor's web pages with the token; `Err` says why not (for example, the
/// server has no such page yet). The overview table is an htmx partial behind the instructor's
/// session cookie, so the cookie is what the table requests send.
async fn instructor_cookie(connection: &mut Connection) -> Result<String, String> {
    let form = format!("token={INSTRUCTOR_TOKEN}");
    let response = connection
        .request(
            "POST",
            "/instructor/login",
            Extras {
                body: Some(("application/x-www-form-urlencoded", &form)),
                ..Extras::default()
            },
        )
        .await
        .map_err(|error| format!("POST /instructor/login failed: {error}"))?;
    if !(300..400).contains(&response.status) {
        return Err(format!(
            "POST /instructor/login answered {}",
            response.status
        ));
    }
    response
        .headers
        .iter()
        .filter(|(name, _)| name == "set-cookie")
        .filter_map(|(_, value)| value.split(';').next())
        .find(|cookie| cookie.starts_with("chaoslab_instructor="))
        .map(|cookie| format!("Cookie: {cookie}"))
        .ok_or_else(|| "POST /instructor/login set no instructor cookie".to_owned())
}

/// Percentiles of one route, in milliseconds.
fn print_route(route: &str, stats: &mut RouteStats) -> f64 {
    stats.latencies.sort_unstable();
    let p99 = percentile_ms(&stats.latencies, 0.99);
    println!(
        "| `{route}` | {} | {:.1} KiB | {} | {:.2} ms | {:.2} ms | {:.2} ms |",
        stats.latencies.len() + stats.failures,
        stats.bytes as f64 / stats.latencies.len().max(1) as f64 / 1024.0,
        if stats.errors() == 0 {
            "0".to_owned()
        } else {
            format!("{:?} + {} failed", stats.statuses, stats.failures)
        },
        percentile_ms(&stats.latencies, 0.5),
        p99,
        stats
            .latencies
            .last()
            .map_or(0.0, |max| max.as_secs_f64() * 1000.0),
    );
    p99
}

const DASHBOARD_ROUTE: &str = "GET /api/v1/participants/{id}/dashboard";
const LIST_ROUTE: &str = "GET /api/v1/participants?limit=500";
const TABLE_ROUTE: &str = "GET /instructor/table (htmx)";

fn main() {
    let seconds: u64 = argument("--seconds", 60);
    let participant_count: usize = argument("--participants", 200);
    let run_for = Duration::from_secs(seconds);
    let ticks_per_second = clock_ticks_per_second();

    let server = Server::start();
    let address = server.address;
    let pid = server.pid();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        // Ready within 30 s, or the bench is pointless.
        let mut probe = Connection::new(address);
        let ready_by = Instant::now() + Duration::from_secs(30);
        loop {
            match probe.request("GET", "/readyz", Extras::default()).await {
                Ok(response) if response.status == 200 => break,
                _ if Instant::now() > ready_by => {
                    panic!(
                        "the server was not ready after 30 s; its log:\n{}",
                        server.log()
                    )
                }
                _ => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        let idle = sample_process(pid, ticks_per_second).unwrap();

        // Setup: join, then start traffic.
        let setup_started = Instant::now();
        let mut participants = Vec::with_capacity(participant_count);
        for index in 0..participant_count {
            let body = format!(r#"{{"name":"Participant {index}"}}"#);
            let response = setup_request(
                &mut probe,
                "POST",
                "/api/v1/participants",
                Extras::json(None, &body),
            )
            .await;
            assert_eq!(
                response.status,
                201,
                "{}",
                String::from_utf8_lossy(&response.body)
            );
            let created = json(&response);
            participants.push((
                created["id"].as_str().unwrap().to_owned(),
                created["token"].as_str().unwrap().to_owned(),
            ));
        }
        let joined_in = setup_started.elapsed();
        for (id, token) in &participants {
            let response = setup_request(
                &mut probe,
                "PUT",
                &format!("/api/v1/participants/{id}/traffic"),
                Extras::json(
                    Some(token),
                    r#"{"publisher":{"rate":2},"subscriber":{"rate":2}}"#,
                ),
            )
            .await;
            assert_eq!(
                response.status,
                200,
                "{}",
                String::from_utf8_lossy(&response.body)
            );
        }
        let setup_took = setup_started.elapsed();
        let after_setup = sample_process(pid, ticks_per_second).unwrap();
        tokio::time::sleep(WARM_UP).await;

        // The instructor's web overview, if the server has it.
        let overview_cookie = instructor_cookie(&mut probe).await;
        if let Ok(cookie) = &overview_cookie {
            let headers = [cookie.as_str(), "HX-Request: true"];
            let extras = Extras {
                headers: &headers,
                ..Extras::default()
            };
            let response = probe
                .request("GET", "/instructor/table", extras)
                .await
                .unwrap();
            assert_eq!(
                response.status,
                200,
                "{}",
                String::from_utf8_lossy(&response.body)
            );
        }

        // The run.
        let started = Instant::now();
        let before = sample_process(pid, ticks_per_second).unwrap();
        let ends = started + run_for;
        let mut tasks = tokio::task::JoinSet::new();
        for (index, (id, token)) in participants.iter().cloned().enumerate() {
            let offset = DASHBOARD_EVERY.mul_f64(index as f64 / participant_count as f64);
            tasks.spawn(async move {
                let mut stats = BTreeMap::<&'static str, RouteStats>::new();
                let mut connection = Connection::new(address);
                let path = format!("/api/v1/participants/{id}/dashboard");
                let mut next = started + offset;
                while next < ends {
                    tokio::time::sleep_until(next.into()).await;
                    let sent = Instant::now();
                    let result = connection
                        .request("GET", &path, Extras::token(&token))
                        .await;
                    stats
                        .entry(DASHBOARD_ROUTE)
                        .or_default()
                        .record(sent, &result);
                    next += DASHBOARD_EVERY;
                }
                stats
            });
        }
        let cookie = overview_cookie.as_ref().ok().cloned();
        tasks.spawn(async move {
            let mut stats = BTreeMap::<&'static str, RouteStats>::new();
            let mut connection = Connection::new(address);
            let mut next = started;
            while next < ends {
                tokio::time::sleep_until(next.into()).await;
                let sent = Instant::now();
                let result = connection
                    .request(
                        "GET",
                        "/api/v1/participants?limit=500",
                        Extras::token(INSTRUCTOR_TOKEN),
                    )
                    .await;
                stats.entry(LIST_ROUTE).or_default().record(sent, &result);
                if let Some(cookie) = &cookie {
                    let headers = [cookie.as_str(), "HX-Request: true"];
                    let extras = Extras {
                        headers: &headers,
                        ..Extras::default()
                    };
                    let sent = Instant::now();
                    let result = connection.request("GET", "/instructor/table", extras).await;
                    stats.entry(TABLE_ROUTE).or_default().record(sent, &result);
                }
                next += OVERVIEW_EVERY;
            }
            stats
        });
        let sampler = tokio::spawn(async move {
            let mut peak_rss_kib = 0;
            while Instant::now() < ends {
                if let Some(sample) = sample_process(pid, ticks_per_second) {
                    peak_rss_kib = peak_rss_kib.max(sample.rss_kib);
                }
                tokio::time::sleep(SAMPLE_EVERY).await;
            }
            peak_rss_kib
        });

        let mut routes = BTreeMap::<&'static str, RouteStats>::new();
        while let Some(result) = tasks.join_next().await {
            for (route, stats) in result.unwrap() {
                routes.entry(route).or_default().merge(stats);
            }
        }
        let after = sample_process(pid, ticks_per_second).unwrap();
        let wall = started.elapsed().as_secs_f64();
        let peak_rss_kib = sampler.await.unwrap().max(after.rss_kib);

        // Did the traffic really flow? Sum every participant's accounting.
        let mut published = 0;
        let mut converted = 0;
        let mut dead_lettered = 0;
        let mut consumed = 0;
        for (id, token) in &participants {
            let response = setup_request(
                &mut probe,
                "GET",
                &format!("/api/v1/participants/{id}/accounting"),
                Extras::token(token),
            )
            .await;
            let accounting = json(&response);
            published += accounting["published"].as_u64().unwrap_or(0);
            converted += accounting["converted"].as_u64().unwrap_or(0);
            dead_lettered += accounting["dead_lettered"].as_u64().unwrap_or(0);
            consumed += accounting["consumed"].as_u64().unwrap_or(0);
        }
        // The traffic started between `joined_in` and `setup_took`, within a fraction of a second.
        let flowing = (setup_started.elapsed() - joined_in).as_secs_f64();

        println!("API under workshop load: {participant_count} participants, {seconds} s");
        println!(
            "setup: {participant_count} joins in {:.1} s, traffic started for all by {:.1} s; \
             then a {} s warm-up",
            joined_in.as_secs_f64(),
            setup_took.as_secs_f64(),
            WARM_UP.as_secs()
        );
        match &overview_cookie {
            Ok(_) => println!("instructor web overview: /instructor/table polled with htmx"),
            Err(reason) => println!("instructor web overview: not polled ({reason})"),
        }
        println!();
        println!("| route | requests | mean body | non-2xx / failed | p50 | p99 | max |");
        println!("|---|---|---|---|---|---|---|");
        let mut p99_met = true;
        let mut all_ok = true;
        for (route, stats) in &mut routes {
            p99_met &= print_route(route, stats) < 100.0;
            all_ok &= stats.errors() == 0;
        }
        let cpu_seconds = after.cpu_seconds - before.cpu_seconds;
        let cores = cpu_seconds / wall;
        println!();
        println!(
            "server CPU over the run: {cpu_seconds:.1} s in {wall:.1} s = {cores:.3} cores on \
             average (setup took {:.1} s of CPU)",
            after_setup.cpu_seconds - idle.cpu_seconds
        );
        println!(
            "server RSS: {:.1} MiB idle, {:.1} MiB after setup, peak {:.1} MiB, final {:.1} MiB",
            idle.rss_kib as f64 / 1024.0,
            after_setup.rss_kib as f64 / 1024.0,
            peak_rss_kib as f64 / 1024.0,
            after.rss_kib as f64 / 1024.0
        );
        println!(
            "pipeline: {published} objects published in the {flowing:.0} s since traffic started \
             ({:.0}/s), {converted} converted, {dead_lettered} dead-lettered, {consumed} CSV \
             messages consumed",
            published as f64 / flowing
        );
        println!(
            "targets: p99 < 100 ms on every route: {}; under one core on average: {}; \
             no errors: {}",
            if p99_met { "met" } else { "NOT met" },
            if cores < 1.0 { "met" } else { "NOT met" },
            if all_ok { "yes" } else { "NO" }
        );
        drop(server);
    });
}
