//! Raw bindings to the system DPDK: `bindgen` output for the EAL, mempool,
//! mbuf, ring, ethdev and `rte_flow` APIs, plus `weir_*` functions from a C
//! shim (`src/shim.c`) for the static-inline fast-path helpers (RX burst,
//! mbuf free/alloc/refcount/data, ring enqueue/dequeue, lcore id, TSC,
//! `rte_errno`).
//!
//! Everything here is `unsafe` and unchecked; use `weir-dpdk`'s safe
//! wrapper instead. Without the `dpdk` feature the crate is empty, so a
//! workspace build needs no DPDK.
//!
//! Version cfgs set by the build script: `dpdk_major = "22"` and
//! `dpdk_ge_21_11`, `dpdk_ge_22_11`, ... for the installed release.
#![cfg_attr(
    feature = "dpdk",
    allow(
        non_upper_case_globals,
        non_camel_case_types,
        non_snake_case,
        dead_code,
        improper_ctypes,
        clippy::all,
        rustdoc::all,
        unsafe_op_in_unsafe_fn
    )
)]

#[cfg(feature = "dpdk")]
mod bindings {
    include!(concat!(env!("OUT_DIR"), "/bindings.rs"));
}

#[cfg(feature = "dpdk")]
pub use bindings::*;

/// The DPDK release the bindings were generated from (`pkg-config --modversion libdpdk`).
#[cfg(feature = "dpdk")]
pub const DPDK_VERSION: &str = env!("WEIR_DPDK_VERSION");

/// DPDK's poll-mode driver plugin directory found at build time (EAL's `-d`
/// for shared-library builds such as Debian's), if there is one.
#[cfg(feature = "dpdk")]
pub const PMD_DIR: Option<&str> = option_env!("WEIR_DPDK_PMD_DIR");
