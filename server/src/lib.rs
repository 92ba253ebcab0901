//! chaoslab: the control plane of a hands-on serverless chaos-engineering lab.
//!
//! - [`cli`] parses the command line and runs a subcommand;
//! - [`convert`] runs the lab's ETL transform on local files (`chaoslab convert`);
//! - [`metrics`] records CloudWatch-style metrics and answers GetMetricData queries;
//! - [`dashboard`] reads the shared dashboard definition and runs its widgets' queries;
//!   [`measures`] reads the lab's two measures, percent in error and in flight, from it;
//! - [`lab`] holds the lab's steps and their checks; [`participants`] who joined and how far
//!   they got; [`events`] the event log;
//! - [`ops`] is the lab's use cases (join, traffic, SLO, steps, reset, …), each in one place;
//! - [`web`] serves the pages and [`api`] the REST API with its OpenAPI document, both thin
//!   adapters over [`ops`]; [`router`] puts them together with the layers every request passes;
//!   [`state`] is what they share; [`serve`] runs the server (`chaoslab serve`);
//! - [`backend`] runs the pipeline: [`backend::embedded`] in this process, with AWS's semantics.
//! - [`inspector`] explains the ETL function's settings and shows its source, highlighted.
//! - [`slo`] judges the participant's service level objective against the metrics.
//! - [`traffic`] runs each participant's publisher and subscriber as tokio tasks.
//! - [`chaos`] reads Chaos Toolkit experiments: the original lab's, imported onto our API.

pub mod api;
pub mod backend;
pub mod chaos;
pub mod cli;
pub mod convert;
pub mod dashboard;
pub mod database;
pub mod events;
pub mod input;
pub mod inspector;
pub mod lab;
pub mod measures;
pub mod metrics;
pub mod ops;
pub mod participants;
pub mod protection;
pub mod router;
pub mod serve;
pub mod slo;
pub mod state;
pub mod traffic;
pub mod web;
