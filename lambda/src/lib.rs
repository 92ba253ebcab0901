//! The lab's ETL function.
//!
//! - [`transform`] turns a JSON document into CSV: a pure function, bytes in and bytes out.
//! - [`event`] holds the S3 event notification shapes that trigger the function.
//! - [`fault`] is the fault-injection wrapper after failure-lambda 0.x: the document, its cache,
//!   the draw, and the faults applied around the handler.
//! - [`handler`] decodes an event, reads the object, transforms it and writes `output/<name>.csv`.
//! - [`store`] is the small object-store trait the handler works through, with an in-memory
//!   implementation and (feature `s3`) the S3 SDK client.
//!
//! The Lambda binary (`src/main.rs`, feature `lambda`) plugs the S3 client into the handler; the
//! server's embedded backend plugs in its own store, so both run the same code.

pub mod event;
pub mod fault;
pub mod handler;
pub mod store;
pub mod transform;
