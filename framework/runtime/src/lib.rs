//! The weir runtime: packet sources, the per-core pipeline, configuration
//! and statistics (`../shared/DESIGN.md` §5).
//!
//! Layers, one direction: a [`PacketSource`] lends frames → a per-core
//! [`Pipeline`] parses them (`weir-wire`), reassembles IP fragments, and
//! drives the connection table (`weir-conntrack`), which calls the
//! application's `ConnHandler`. Offline runs ([`run_offline`]) read pcap and
//! pcapng files on one or more cores, dispatching by the symmetric RSS hash
//! so that results do not depend on the number of cores.
#![forbid(unsafe_code)]

pub mod api;
pub mod config;
pub mod l7;
pub mod offline;
pub mod pcap;
pub mod pipeline;
pub mod rss;
pub mod source;
pub mod stats;

pub use config::{Config, ConfigError};
pub use offline::{run_offline, run_source, RunError, RunReport};
pub use pcap::{CaptureFile, CaptureSet};
pub use pipeline::Pipeline;
pub use source::{PacketSource, RawPacket, SourceError, SourceErrorKind};
pub use stats::Stats;
