//! Chaos Toolkit experiments: what chaoslab reads, writes and runs of them.
//!
//! - [`import`]: the original lab's experiments (AWS CLI processes and chaosaws probes), mapped
//!   onto HTTP calls to this server's built-in probes and fault-injection API.

pub mod import;
