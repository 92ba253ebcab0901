//! chaoslab: the control plane of a hands-on serverless chaos-engineering lab.
//!
//! - [`cli`] parses the command line and runs a subcommand;
//! - [`convert`] runs the lab's ETL transform on local files (`chaoslab convert`);
//! - [`metrics`] records CloudWatch-style metrics and answers GetMetricData queries;
//! - [`dashboard`] reads the shared dashboard definition and runs its widgets' queries;
//! - [`backend`] runs the pipeline: [`backend::embedded`] in this process, with AWS's semantics.

pub mod backend;
pub mod cli;
pub mod convert;
pub mod dashboard;
pub mod database;
pub mod metrics;
pub mod web;
