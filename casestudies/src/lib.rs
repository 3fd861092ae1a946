//! The Iris paper's example applications (§3 and Figure 3) written as weir
//! apps. Each module holds one `#[weir::app] pub mod app { ... }` so that
//! `examples/<name>.rs` (a one-line `main`) and `tests/examples.rs` (runs
//! on real and generated captures, checked against tshark and generator
//! truth) use the same code.
//!
//! | module | shows |
//! |---|---|
//! | [`tls_sni_logger`] | a stateless callback on a session type (`TlsHandshake`) plus a static type (`FiveTuple`) |
//! | [`http_ua_logger`] | a session type delivered at `L7EndSession` (`HttpTransaction`) |
//! | [`video_resolution`] | the paper's working example: a user data type, a stateful streaming callback, a DNS callback feeding a user filter, and a `file=` SNI list |
//! | [`long_lived`] | a stateful user filter that decides late (`Continue` until a threshold) |
//! | [`packet_level`] | a packet-level subscription (`Packet`, one invocation per packet) |
//!
//! The callbacks print one line per result to stdout; tests turn that off
//! with [`output::set_quiet`] and read what the apps collected instead.
#![forbid(unsafe_code)]

pub mod exported;
pub mod http_ua_logger;
pub mod long_lived;
pub mod output;
pub mod packet_level;
pub mod tls_sni_logger;
pub mod video_resolution;

// Exported subscriptions are named from the crate root.
pub use exported::{exported_sni, well_known};
