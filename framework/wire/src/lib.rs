//! Zero-copy packet views for weir (being written).
#![forbid(unsafe_code)]

mod tcp_flags;
mod vlan;

pub use tcp_flags::TcpFlags;
pub use vlan::VlanStack;
