//! The release `chaoslab serve` as a child process: started on a free loopback port with a
//! temporary data directory and the embedded backend, ready when this returns, killed when
//! dropped (also when the bench panics); its CPU time and resident memory read from `/proc`.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::http::{Connection, Extras};

/// The instructor's token the server is started with.
pub const INSTRUCTOR_TOKEN: &str = "bench-instructor-token-000000001";

/// How long the server may take to answer `/readyz` with 200.
const READY_WITHIN: Duration = Duration::from_secs(60);

/// The server process.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// Where it listens.
    pub address: SocketAddr,
    data_dir: tempfile::TempDir,
}

impl Server {
    /// Starts `chaoslab serve` (the binary cargo builds for the bench, `CARGO_BIN_EXE_chaoslab`)
    /// with the instructor's token, JSON logs at `RUST_LOG=warn` into a file, and `extra_args`;
    /// waits until `/readyz` answers 200. Call it outside any tokio runtime: it runs one of its
    /// own for the wait.
    pub fn start(extra_args: &[&str]) -> Self {
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
            .args([
                "--instructor-token",
                INSTRUCTOR_TOKEN,
                "--log-format",
                "json",
            ])
            .args(extra_args)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|error| {
                panic!("cannot start {}: {error}", env!("CARGO_BIN_EXE_chaoslab"))
            });
        let server = Self {
            child,
            address,
            data_dir,
        };
        server.wait_until_ready();
        server
    }

    fn wait_until_ready(&self) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut probe = Connection::new(self.address);
            let ready_by = Instant::now() + READY_WITHIN;
            loop {
                match probe.request("GET", "/readyz", Extras::default()).await {
                    Ok(response) if response.status == 200 => return,
                    _ if Instant::now() > ready_by => panic!(
                        "the server was not ready after {} s; its log:\n{}",
                        READY_WITHIN.as_secs(),
                        self.log()
                    ),
                    _ => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
    }

    /// Reads the process's CPU time and resident memory.
    pub fn meter(&self) -> ProcessMeter {
        ProcessMeter {
            pid: self.child.id(),
            ticks_per_second: clock_ticks_per_second(),
        }
    }

    /// What the server has logged so far (warnings and errors).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.path().join("server.log")).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU time and resident memory of a process at one moment.
#[derive(Debug, Clone, Copy)]
pub struct ProcessSample {
    /// User and system CPU time since it started.
    pub cpu_seconds: f64,
    /// `VmRSS`.
    pub rss_kib: u64,
}

/// Reads a process's [`ProcessSample`]s from `/proc/<pid>/stat` and `/proc/<pid>/status`.
#[derive(Debug, Clone, Copy)]
pub struct ProcessMeter {
    pid: u32,
    ticks_per_second: f64,
}

impl ProcessMeter {
    /// The process's id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// The process now; None once it has gone.
    pub fn sample(&self) -> Option<ProcessSample> {
        let pid = self.pid;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // Fields after the command name, which is in parentheses and may hold spaces: the first
        // is field 3 (state), so utime (14) and stime (15) are at 11 and 12.
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
            cpu_seconds: (utime + stime) / self.ticks_per_second,
            rss_kib,
        })
    }
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

/// Kibibytes as mebibytes, for printing.
pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}
