//! The web interface.

pub mod assets;
