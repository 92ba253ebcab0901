//! The real `chaoslab serve` binary on a free loopback port, with its own data directory, its
//! log lines kept, its addresses for a browser, and a minimal HTTP/1.1 client for its API.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The instructor token the binary is started with.
pub const INSTRUCTOR_TOKEN: &str = "instructor-token-for-tests";

/// A running `chaoslab serve`, killed when dropped.
pub struct Binary {
    /// `127.0.0.1:<port>`.
    pub address: String,
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
    args: Vec<String>,
    env: Vec<(String, String)>,
    data: tempfile::TempDir,
}

impl Binary {
    /// Starts the binary with `args` after `serve` and the environment variables `env`.
    /// `RUST_LOG` is unset unless `env` sets it, so the server uses its default filter. Waits
    /// until it says it is ready.
    pub fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        let data = tempfile::tempdir().unwrap();
        let args: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        let log = Arc::new(Mutex::new(Vec::new()));
        let (child, address) = spawn(data.path(), &args, &env, &log);
        Self {
            address,
            child,
            log,
            args,
            env,
            data,
        }
    }

    /// Kills the process with SIGKILL, as `kill -9` does (no shutdown, nothing saved on the way
    /// out), then starts it again on the same data directory and waits until it is ready. The
    /// address changes; the log goes on.
    pub fn kill_and_restart(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        let (child, address) = spawn(self.data.path(), &self.args, &self.env, &self.log);
        self.child = child;
        self.address = address;
    }

    /// The address of `path` on the server, for a browser.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Every line logged so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }

    /// Sends one request and returns the status and the body.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> (u16, String) {
        let authorization = token.map(|token| format!("Bearer {token}"));
        let headers: Vec<(&str, &str)> = authorization
            .iter()
            .map(|value| ("Authorization", value.as_str()))
            .collect();
        let (status, _, body) = self.send(method, path, &headers, body);
        (status, body)
    }

    /// Sends one request with `headers` (name, value) besides `Host`; returns the status, the
    /// response's head (status line and headers, as text) and the body.
    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> (u16, String, String) {
        let mut stream = TcpStream::connect(&self.address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n",
            self.address
        );
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        let body = body.unwrap_or_default();
        if !body.is_empty() {
            request.push_str("Content-Type: application/json\r\n");
        }
        request.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        stream.write_all(request.as_bytes()).unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let status = response
            .split_whitespace()
            .nth(1)
            .and_then(|status| status.parse().ok())
            .unwrap_or(0);
        let (head, body) = response
            .split_once("\r\n\r\n")
            .map(|(head, body)| (head.to_owned(), body.to_owned()))
            .unwrap_or_default();
        (status, head, body)
    }
}

/// Starts `chaoslab serve` on a free loopback port with `data` as its data directory; answers
/// the process and its address once it says it is ready. Its log lines go to `log`.
fn spawn(
    data: &std::path::Path,
    args: &[String],
    env: &[(String, String)],
    log: &Arc<Mutex<Vec<String>>>,
) -> (Child, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_chaoslab"));
    command
        .args(["serve", "--listen", "127.0.0.1:0"])
        .args(args)
        .arg("--data-dir")
        .arg(data)
        .args(["--instructor-token", INSTRUCTOR_TOKEN])
        .env_remove("RUST_LOG")
        .envs(env.iter().map(|(name, value)| (name, value)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = command.spawn().unwrap();
    let stderr = child.stderr.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    let lines = Arc::clone(log);
    // Reads to the end, so the server never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Some(at) = line.find("open http://") {
                let url = &line[at + "open http://".len()..];
                let address = url.split(['/', ' ']).next().unwrap_or_default();
                let _ = sender.send(address.to_owned());
            }
            lines.lock().unwrap().push(line);
        }
    });
    let address = receiver
        .recv_timeout(Duration::from_secs(60))
        .expect("chaoslab serve did not say it was ready within 60 s");
    (child, address)
}

impl Drop for Binary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
