//! weir: expressive, high-performance network traffic analysis.
//!
//! This is the user-facing crate. It re-exports the layers (`wire`,
//! `conntrack`, `runtime`) and hosts the built-in applications behind the
//! `weir` command (for now the connection logger of `weir log`).
#![forbid(unsafe_code)]

pub mod connlog;
pub mod log;

pub use weir_conntrack as conntrack;
pub use weir_filter as filter;
pub use weir_runtime as runtime;
pub use weir_wire as wire;
