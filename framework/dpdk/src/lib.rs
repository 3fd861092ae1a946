//! weir's live packet source (`../shared/DESIGN.md` §5): DPDK ports feeding
//! the same per-core [`weir_runtime::Pipeline`] as the pcap source.
//!
//! Layers:
//! - pure Rust, always built (and tested without DPDK): [`nic`] (device
//!   capabilities, `rte_flow` rules as data, the [`nic::NicControl`]
//!   trait), [`flow`] (hardware filter → validated `rte_flow` rules with
//!   software fallback), [`reta`] (redirection-table control for flow
//!   sampling), [`control`] (both, per port, kept consistent), [`model`] (a software NIC to test those against),
//!   [`clock`] (packet time on a quiet link), [`stats`];
//! - feature `dpdk`: [`dpdk`], the thin safe wrapper over `dpdk-sys` (the
//!   only module with `unsafe`, each block with its `// SAFETY:` argument),
//!   and [`online`], the multi-queue run-to-completion runtime.
//!
//! Per packet (feature `dpdk`): one RX burst slot, the mbuf's data as a
//! `&[u8]` (no copy), one timestamp read, then the pipeline's own cost;
//! the mbuf goes back to its pool when the pipeline is done with it.
#![deny(unsafe_code)]

pub mod clock;
pub mod control;
pub mod flow;
pub mod model;
pub mod nic;
pub mod reta;
pub mod stats;

#[cfg(feature = "dpdk")]
#[allow(unsafe_code)]
pub mod dpdk;
#[cfg(feature = "dpdk")]
pub mod online;

/// The symmetric RSS key programmed into NICs and flow rules.
pub const SYMMETRIC_KEY: [u8; 40] = weir_runtime::rss::SYMMETRIC_RSS_KEY;

#[cfg(test)]
mod tests {
    use weir_runtime::Config;

    #[test]
    fn online_section_parses_and_validates() {
        let c = Config::from_toml(
            "[online]\neal = [\"--no-pci\"]\ncores = [1, 2]\nports = [0]\nsink = true\nmbufs = 8191\nduration_s = 10\n",
        )
        .unwrap();
        c.validate().unwrap();
        assert_eq!(c.online.cores, [1, 2]);
        assert!(c.online.sink);
        assert_eq!(c.online.burst, 32);
        let e = Config::from_toml("[online]\nburst = 0\n").unwrap();
        assert!(e.validate().unwrap_err().to_string().contains("[online]"));
        assert!(Config::from_toml("[online]\nqueues = 2\n").is_err());
    }
}
