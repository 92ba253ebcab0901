//! What the benches that drive a real `chaoslab serve` process share: the server as a child
//! process ([`server`]), a small HTTP/1.1 client ([`http`]), participants who join and run
//! traffic ([`participants`]) and the bench's command-line options.
//!
//! Each `[[bench]]` is a crate of its own that includes this module with `mod support;`, and none
//! uses all of it, hence `dead_code` is allowed here and only here.
#![allow(dead_code)]

pub mod http;
pub mod participants;
pub mod server;

/// The value after `name` on the bench's command line (`cargo bench … -- --name value`), or
/// `default` when it is absent or does not parse.
pub fn argument<T: std::str::FromStr>(name: &str, default: T) -> T {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|arg| arg == name)
        .and_then(|index| args.get(index + 1))
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// Every value given after `name` on the bench's command line, in order (an option that may be
/// repeated).
pub fn arguments(name: &str) -> Vec<String> {
    let args: Vec<String> = std::env::args().collect();
    args.windows(2)
        .filter(|pair| pair[0] == name)
        .map(|pair| pair[1].clone())
        .collect()
}
