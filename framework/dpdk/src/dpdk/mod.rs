//! The thin safe wrapper over `dpdk-sys` (feature `dpdk`). This module and
//! its children are the only code of weir-dpdk allowed `unsafe`; every block
//! says why it is sound.
//!
//! - [`eal`]: EAL initialisation (once per process), lcores, ports.
//! - [`mbuf`]: mempools and the [`Mbuf`] handle (`Clone` bumps the
//!   refcount, `Drop` frees once); [`Mbuf::data`] is a `&[u8]` view of
//!   the frame, no copy.
//! - [`port`]: capability-driven port setup (RSS, queues, MTU,
//!   promiscuous, timestamps), RX bursts, stats and xstats, RETA and
//!   `rte_flow` ([`crate::nic::NicControl`]).
//! - [`lcore`]: running a closure on a worker lcore.

pub mod eal;
mod flow_ffi;
pub mod lcore;
pub mod mbuf;
pub mod port;

pub use eal::Eal;
pub use lcore::LcoreJoin;
pub use mbuf::{Mbuf, Mempool};
pub use port::{Port, PortSetup, RxQueue};

use std::ffi::CStr;

/// A DPDK call failed.
#[derive(Debug, thiserror::Error)]
pub enum DpdkError {
    #[error("EAL initialisation failed ({message}); arguments: {args}")]
    EalInit { args: String, message: String },
    #[error("EAL is already initialised in this process (DPDK allows it once)")]
    EalAlreadyInitialised,
    #[error("an argument contains a NUL byte: {0:?}")]
    NulInArgument(String),
    #[error("mempool {name}: {message}")]
    Mempool { name: String, message: String },
    #[error("port {port}: {op}: {message}")]
    Port {
        port: u16,
        op: &'static str,
        message: String,
    },
    #[error("no DPDK port is available (give EAL a --vdev, or bind a NIC and allow it with -a)")]
    NoPorts,
    #[error("lcore {lcore}: {message}")]
    Lcore { lcore: u32, message: String },
}

/// DPDK's text for an errno value (positive or negative).
pub(crate) fn strerror(code: i32) -> String {
    // SAFETY: rte_strerror accepts any int and returns a pointer to a static
    // or thread-local NUL-terminated string, valid until the next call on this
    // thread; it is copied out at once.
    unsafe {
        let p = dpdk_sys::rte_strerror(code.abs());
        if p.is_null() {
            return format!("error {code}");
        }
        CStr::from_ptr(p).to_string_lossy().into_owned()
    }
}

/// The calling thread's `rte_errno`.
pub(crate) fn last_errno() -> i32 {
    // SAFETY: reads the per-thread rte_errno variable; no preconditions.
    unsafe { dpdk_sys::weir_errno() }
}

/// The DPDK release the bindings were built against.
pub fn version() -> &'static str {
    dpdk_sys::DPDK_VERSION
}

/// Timestamp counter ticks and their rate, for cheap clocks on the hot path.
pub fn rdtsc() -> u64 {
    // SAFETY: reads the CPU's time-stamp counter; no memory is touched.
    unsafe { dpdk_sys::weir_rdtsc() }
}
