//! Chaos experiments in the manner of Chaos Toolkit, run by the server on pipeline time.
//!
//! - [`substitute`]: configuration, secrets and `${name}` substitution;
//! - [`experiment`]: checking an experiment as chaoslib does, and as the server must (only HTTP
//!   calls to the participant's own API), into a plan;
//! - [`tolerance`]: chaoslib's tolerance rules;
//! - [`runner`]: playing a plan: hypothesis, method, hypothesis, rollbacks, halts;
//! - [`journal`]: the run's journal, with chaoslib's keys;
//! - [`store`] and [`registry`]: saved experiments, runs, and the runs going on;
//! - [`templates`]: the labs' ready-made experiments;
//! - [`import`]: the original lab's experiments (AWS CLI processes and chaosaws probes), mapped
//!   onto HTTP calls to this server's built-in probes and fault-injection API;
//! - [`export_aws`]: the reverse, an experiment for this server rewritten for a stack on AWS.

pub mod experiment;
pub mod export_aws;
pub mod import;
pub mod journal;
pub mod registry;
pub mod runner;
pub mod store;
pub mod substitute;
pub mod templates;
pub mod tolerance;
