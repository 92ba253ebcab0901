//! A flood of requests with made-up bearer tokens against a real `chaoslab serve` process: does
//! the server's resident memory stay flat, and does the rate limit answer them?
//!
//! `cargo bench -p chaoslab --bench token_flood [-- --requests N] [--token-bytes N]
//! [--connections N] [--warm-up N] [--checkpoints N]`. Figures go in BENCHMARKS.md.
//!
//! The server is the release binary (`CARGO_BIN_EXE_chaoslab`), started on a free loopback port
//! with a temporary data directory. Each request is `GET /api/v1/events` with
//! `Authorization: Bearer <a fresh random token of --token-bytes hex digits>`, sent over
//! keep-alive HTTP/1.1 connections, one thread each. Resident memory (`VmRSS` of
//! `/proc/<pid>/status`) is read when the server is ready, after a warm-up of the same requests,
//! at checkpoints during the flood and after it. The rate limit should refuse all but the first burst (429): a made-up token is not an
//! identity, so every one of them counts against the one client address.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const INSTRUCTOR_TOKEN: &str = "flood-bench-instructor-token-01";

struct Server {
    child: Child,
    address: SocketAddr,
    _data_dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Self {
        let data_dir = tempfile::tempdir().unwrap();
        let address = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_chaoslab"))
            .args(["serve", "--listen", &address.to_string(), "--data-dir"])
            .arg(data_dir.path())
            .args([
                "--instructor-token",
                INSTRUCTOR_TOKEN,
                "--log-format",
                "json",
            ])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let server = Self {
            child,
            address,
            _data_dir: data_dir,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(mut stream) = TcpStream::connect(address)
                && request(&mut stream, "/readyz", None).0 == 200
            {
                return server;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("the server was not ready within 60 s");
    }

    fn resident_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One keep-alive request; returns the status and whether the connection stays open.
fn request(stream: &mut TcpStream, path: &str, token: Option<&str>) -> (u16, bool) {
    let mut head = format!("GET {path} HTTP/1.1\r\nHost: bench\r\n");
    if let Some(token) = token {
        head.push_str("Authorization: Bearer ");
        head.push_str(token);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    if stream.write_all(head.as_bytes()).is_err() {
        return (0, false);
    }
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return (0, false);
    }
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|status| status.parse().ok())
        .unwrap_or(0);
    let mut length = 0usize;
    let mut open = true;
    loop {
        line.clear();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return (status, false);
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let lower = header.to_ascii_lowercase();
        if let Some(value) = lower.strip_prefix("content-length:") {
            length = value.trim().parse().unwrap_or(0);
        }
        if lower == "connection: close" {
            open = false;
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return (status, false);
    }
    (status, open)
}

fn random_token(bytes: usize) -> String {
    let mut token = String::with_capacity(bytes);
    while token.len() < bytes {
        token.push_str(&format!("{:032x}", fastrand::u128(..)));
    }
    token.truncate(bytes);
    token
}

fn argument(name: &str, default: usize) -> usize {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|arg| arg == name)
        .and_then(|at| args.get(at + 1))
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// Sends `requests` requests with fresh random tokens over `connections` keep-alive
/// connections, one thread each; returns how many got each status.
fn flood(
    address: SocketAddr,
    requests: usize,
    token_bytes: usize,
    connections: usize,
) -> std::collections::BTreeMap<u16, usize> {
    let per_connection = requests / connections;
    let workers: Vec<_> = (0..connections)
        .map(|_| {
            std::thread::spawn(move || {
                let mut counts = std::collections::BTreeMap::<u16, usize>::new();
                let mut stream = TcpStream::connect(address).unwrap();
                for _ in 0..per_connection {
                    let token = random_token(token_bytes);
                    let (status, open) = request(&mut stream, "/api/v1/events", Some(&token));
                    *counts.entry(status).or_default() += 1;
                    if !open {
                        stream = TcpStream::connect(address).unwrap();
                    }
                }
                counts
            })
        })
        .collect();
    let mut counts = std::collections::BTreeMap::<u16, usize>::new();
    for worker in workers {
        for (status, count) in worker.join().unwrap() {
            *counts.entry(status).or_default() += count;
        }
    }
    counts
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn main() {
    let requests = argument("--requests", 100_000);
    let token_bytes = argument("--token-bytes", 4096);
    let connections = argument("--connections", 2).max(1);
    let warm_up = argument("--warm-up", 1_000);
    let checkpoints = argument("--checkpoints", 5).max(1);

    let server = Server::start();
    let at_ready = server.resident_kib();
    // Ordinary traffic first: the instructor's valid token, over the same connections.
    let ordinary: Vec<_> = (0..connections)
        .map(|_| {
            let address = server.address;
            let per_connection = warm_up / connections;
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(address).unwrap();
                for _ in 0..per_connection {
                    let (_, open) = request(
                        &mut stream,
                        "/api/v1/events?limit=1",
                        Some(INSTRUCTOR_TOKEN),
                    );
                    if !open {
                        stream = TcpStream::connect(address).unwrap();
                    }
                }
            })
        })
        .collect();
    for worker in ordinary {
        worker.join().unwrap();
    }
    let after_ordinary = server.resident_kib();
    // The first requests bring the server to its working size (connection buffers big enough
    // for 4 KB headers, the database's statements, the runtime's worker stacks); what must not
    // happen is growth with the number of requests after that.
    flood(server.address, warm_up, token_bytes, connections);
    std::thread::sleep(Duration::from_millis(200));
    let before = server.resident_kib();
    println!(
        "resident memory: {:.1} MiB when ready, {:.1} MiB after {warm_up} ordinary requests, \
         {:.1} MiB after {warm_up} warm-up requests with random tokens",
        mib(at_ready),
        mib(after_ordinary),
        mib(before)
    );
    let started = Instant::now();
    let mut counts = std::collections::BTreeMap::<u16, usize>::new();
    let chunk = requests / checkpoints;
    let mut sent = 0;
    let mut peak = before;
    for _ in 0..checkpoints {
        for (status, count) in flood(server.address, chunk, token_bytes, connections) {
            *counts.entry(status).or_default() += count;
            sent += count;
        }
        let now = server.resident_kib();
        peak = peak.max(now);
        println!(
            "  after {sent:>7} requests: {:.1} MiB ({:+.1} MiB)",
            mib(now),
            mib(now) - mib(before)
        );
    }
    let elapsed = started.elapsed();
    let after = server.resident_kib();
    println!(
        "{sent} requests with distinct {token_bytes}-byte tokens over {connections} connections in {:.1} s ({:.0} requests/s)",
        elapsed.as_secs_f64(),
        sent as f64 / elapsed.as_secs_f64()
    );
    println!("statuses: {counts:?}");
    println!(
        "resident memory: {:.1} MiB before, {:.1} MiB after ({:+.1} MiB), peak {:.1} MiB",
        mib(before),
        mib(after),
        mib(after) - mib(before),
        mib(peak)
    );
}
