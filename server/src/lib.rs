//! chaoslab: the control plane of a hands-on serverless chaos-engineering lab.
//!
//! - [`cli`] parses the command line and runs a subcommand;
//! - [`convert`] runs the lab's ETL transform on local files (`chaoslab convert`);
//! - [`metrics`] records CloudWatch-style metrics and answers GetMetricData queries;
//! - [`dashboard`] reads the shared dashboard definition and runs its widgets' queries;
//! - [`lab`] holds the lab's steps; [`participants`] who joined and how far they got;
//! - [`web`] serves the pages; [`api`] the REST API with its OpenAPI document; [`serve`] runs the server (`chaoslab serve`);
//! - [`backend`] runs the pipeline: [`backend::embedded`] in this process, with AWS's semantics.
//! - [`inspector`] explains the ETL function's settings and shows its source, highlighted.
//! - [`slo`] judges the participant's service level objective against the metrics.
//! - [`traffic`] runs each participant's publisher and subscriber as tokio tasks.

pub mod api;
pub mod backend;
pub mod cli;
pub mod convert;
pub mod dashboard;
pub mod database;
pub mod events;
pub mod inspector;
pub mod lab;
pub mod metrics;
pub mod participants;
pub mod serve;
pub mod slo;
pub mod traffic;
pub mod web;
