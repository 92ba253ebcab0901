//! The release `chaoslab serve` as a child process: started on a free loopback port with the
//! embedded backend, ready when this returns, killed when dropped (also when the bench panics);
//! its CPU time and resident memory read from `/proc`.
//!
//! The server keeps its data in `<folder>/data` and logs to `<folder>/server.log`. The folder is
//! temporary ([`Server::start`]), or one the caller names and that outlives the server
//! ([`Server::start_in`]), so that a bench can prepare a large data folder once and start on it
//! again. [`Server::kill`] and [`Server::restart`] are a crash and the start that follows: the
//! child is sent SIGKILL (`kill -9`), and the next one starts on the same folder.

use std::fs::OpenOptions;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::http::{Connection, Extras};

/// The instructor's token the server is started with.
pub const INSTRUCTOR_TOKEN: &str = "bench-instructor-token-000000001";

/// How long a server on a new, empty data folder may take to answer `/readyz` with 200.
const READY_WITHIN: Duration = Duration::from_secs(60);

/// How long a server on a data folder that holds something may take: today's engine reads
/// every object into memory before it is ready, and a bench wants that time measured, however
/// long, rather than cut off.
const READY_ON_DATA_WITHIN: Duration = Duration::from_secs(30 * 60);

/// How often `/readyz` is asked while waiting: often enough that a start is timed to within a
/// few hundredths of a second.
const READY_POLL: Duration = Duration::from_millis(10);

/// Where a server keeps its data and its log.
#[derive(Debug)]
enum Folder {
    /// Removed when the server is dropped.
    Temporary(tempfile::TempDir),
    /// Left in place for the next start.
    Kept(PathBuf),
}

impl Folder {
    fn path(&self) -> &Path {
        match self {
            Self::Temporary(folder) => folder.path(),
            Self::Kept(folder) => folder,
        }
    }
}

/// The server process.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// Where it listens: a new port at each start, so after [`Server::restart`] open a new
    /// [`Connection`].
    pub address: SocketAddr,
    folder: Folder,
    /// The command line after `serve --listen … --data-dir …`.
    args: Vec<String>,
}

impl Server {
    /// Starts `chaoslab serve` (the binary cargo builds for the bench, `CARGO_BIN_EXE_chaoslab`)
    /// on a temporary data folder with the instructor's token, JSON logs at `RUST_LOG=warn` into
    /// a file, and `extra_args`; waits until `/readyz` answers 200. Call it outside any tokio
    /// runtime: it runs one of its own for the wait.
    pub fn start(extra_args: &[&str]) -> Self {
        let folder = Folder::Temporary(tempfile::tempdir().unwrap());
        let mut server = Self::spawn(folder, extra_args);
        server.wait_until_ready(READY_WITHIN);
        server
    }

    /// [`Server::start`] on `folder`, created if need be, which outlives the server: whatever
    /// its `data` holds is what the server starts on. Waits as long as a large folder takes.
    pub fn start_in(folder: &Path, extra_args: &[&str]) -> Self {
        std::fs::create_dir_all(folder)
            .unwrap_or_else(|error| panic!("cannot create {}: {error}", folder.display()));
        let mut server = Self::spawn(Folder::Kept(folder.to_owned()), extra_args);
        server.wait_until_ready(READY_ON_DATA_WITHIN);
        server
    }

    fn spawn(folder: Folder, extra_args: &[&str]) -> Self {
        let args: Vec<String> = extra_args.iter().map(|arg| (*arg).to_owned()).collect();
        let (child, address) = launch(folder.path(), &args);
        Self {
            child,
            address,
            folder,
            args,
        }
    }

    /// Sends the server SIGKILL, as `kill -9` does, and waits for it to be gone: nothing it had
    /// not committed survives. Does nothing if it has already gone.
    pub fn kill(&mut self) {
        // `Child::kill` is SIGKILL on Unix.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the server again on the same folder with the same options (after
    /// [`Server::kill`]; a server still running is killed first), on a new port. Answers the
    /// time from spawning the process to its first 200 from `/readyz`.
    pub fn restart(&mut self) -> Duration {
        self.kill();
        let spawned = Instant::now();
        let (child, address) = launch(self.folder.path(), &self.args);
        self.child = child;
        self.address = address;
        self.wait_until_ready(READY_ON_DATA_WITHIN);
        spawned.elapsed()
    }

    fn wait_until_ready(&mut self, within: Duration) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut probe = Connection::new(self.address);
            let ready_by = Instant::now() + within;
            loop {
                match probe.request("GET", "/readyz", Extras::default()).await {
                    Ok(response) if response.status == 200 => return,
                    _ => {}
                }
                if let Ok(Some(status)) = self.child.try_wait() {
                    panic!(
                        "the server exited ({status}) before it was ready; its log:\n{}",
                        self.log()
                    );
                }
                if Instant::now() > ready_by {
                    panic!(
                        "the server was not ready after {} s; its log:\n{}",
                        within.as_secs(),
                        self.log()
                    );
                }
                tokio::time::sleep(READY_POLL).await;
            }
        });
    }

    /// Reads the process's CPU time and resident memory (the process started last: take a new
    /// meter after [`Server::restart`]).
    pub fn meter(&self) -> ProcessMeter {
        ProcessMeter {
            pid: self.child.id(),
            ticks_per_second: clock_ticks_per_second(),
        }
    }

    /// What the server has logged so far (warnings and errors), over every start on its folder.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.folder.path().join("server.log")).unwrap_or_default()
    }

    /// The server's data folder (`--data-dir`).
    pub fn data_dir(&self) -> PathBuf {
        data_dir(self.folder.path())
    }

    /// The data folder's size: the sum of the sizes of the files in it, at any depth (SQLite's
    /// database, `-wal` and `-shm` files included).
    pub fn data_size(&self) -> u64 {
        folder_size(&self.data_dir())
    }
}

/// The data folder of a server whose folder is `folder`.
pub fn data_dir(folder: &Path) -> PathBuf {
    folder.join("data")
}

/// Spawns `chaoslab serve` on a free loopback port, keeping its data in `folder`'s `data` and
/// appending its log to `folder`'s `server.log`.
fn launch(folder: &Path, extra_args: &[String]) -> (Child, SocketAddr) {
    // A free port: bind port 0, read it, let it go. The server binds it right after.
    let address = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .unwrap();
    let log = OpenOptions::new()
        .create(true)
        .append(true)
        .open(folder.join("server.log"))
        .unwrap();
    let binary = binary();
    let child = Command::new(&binary)
        .arg("serve")
        .arg("--listen")
        .arg(address.to_string())
        .arg("--data-dir")
        .arg(data_dir(folder))
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
        .unwrap_or_else(|error| panic!("cannot start {binary}: {error}"));
    (child, address)
}

/// The sum of the sizes of the files under `path`, at any depth; a file that goes while it is
/// walked (SQLite removes its `-wal` at a clean close) counts as nothing.
pub fn folder_size(path: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(path) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => folder_size(&entry.path()),
            Ok(kind) if kind.is_file() => entry.metadata().map_or(0, |metadata| metadata.len()),
            _ => 0,
        })
        .sum()
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

/// The server binary: the one cargo builds for the bench, or `CHAOSLAB_BENCH_BINARY` (e.g. an
/// earlier commit's build, to compare two engines back to back on one machine).
pub fn binary() -> String {
    std::env::var("CHAOSLAB_BENCH_BINARY")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_chaoslab").to_owned())
}
