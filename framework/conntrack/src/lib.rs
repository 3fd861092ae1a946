//! Connection tracking for weir: the L4 half of the connection model
//! (`../shared/DESIGN.md` §1).
//!
//! This crate sits above `weir-wire` (packet views) and below the protocol
//! parsers and the runtime. It owns the per-core connection table, the
//! timers that end idle connections, and the lightweight per-direction TCP
//! reassembly.
#![forbid(unsafe_code)]

mod base;

pub use base::{Direction, Timestamp, Transition};
