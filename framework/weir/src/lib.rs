//! weir: expressive, high-performance network traffic analysis.
//!
//! This is the user-facing crate. It re-exports the layers (`wire`,
//! `conntrack`, `runtime`) and hosts the built-in applications behind the
//! `weir` command (for now the connection logger of `weir log`).
#![forbid(unsafe_code)]

pub mod api;
pub mod app;
#[doc(hidden)]
pub mod __private;
pub mod connlog;
pub mod datatypes;
pub mod log;

pub use api::{Ctx, DataType, Event, FilterResult, L7Segment};
pub use weir_macros::{app, callback, callback_fn, datatype, datatype_fn, filter, filter_fn};

// Generated code and built-ins say `::weir::...`, also inside this crate.
extern crate self as weir;

pub use weir_conntrack as conntrack;
pub use weir_filter as filter;
pub use weir_runtime as runtime;
pub use weir_wire as wire;
