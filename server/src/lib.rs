//! chaoslab: the control plane of a hands-on serverless chaos-engineering lab.
//!
//! - [`cli`] parses the command line and runs a subcommand;
//! - [`convert`] runs the lab's ETL transform on local files (`chaoslab convert`).

pub mod cli;
pub mod convert;
