//! Runtime configuration: one TOML file for every knob, with defaults that
//! suit a pcap run. Unknown keys are errors, and every error names the file.
//!
//! ```toml
//! [conntrack]              # weir_conntrack::ConnConfig (durations in ms)
//! max_connections = 1000000
//! tcp_establish_timeout_ms = 5000
//! tcp_inactivity_timeout_ms = 300000
//! udp_inactivity_timeout_ms = 60000
//! max_ooo_segments = 500
//!
//! [defrag]
//! max_datagrams = 1024
//! timeout_ms = 30000
//!
//! [packets]
//! verify_checksums = true
//!
//! [offline]
//! cores = 1
//!
//! [online]                 # live capture through DPDK (feature `dpdk`, crate weir-dpdk)
//! eal = ["--no-huge", "-m", "1024"]   # extra EAL arguments
//! cores = [1, 2]           # worker lcores, one RX queue each (empty: every EAL worker lcore)
//! ports = [0]              # DPDK port ids (empty: every port)
//! duration_s = 0           # stop after this long (0: on Ctrl-C only)
//! ```

use serde::Deserialize;
use std::path::{Path, PathBuf};
use weir_conntrack::ConnConfig;
use weir_wire::DefragConfig;

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub conntrack: ConnConfig,
    pub defrag: DefragSettings,
    pub packets: PacketSettings,
    pub offline: OfflineSettings,
    pub online: OnlineSettings,
}

/// IP reassembly limits (see `weir_wire::defrag`).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DefragSettings {
    /// Datagrams being reassembled at once, per core; a new one beyond this is dropped and counted.
    pub max_datagrams: usize,
    /// Largest reassembled datagram payload in bytes.
    pub max_datagram_len: usize,
    /// Fragments per datagram.
    pub max_fragments: usize,
    /// A datagram not completed within this much packet time is dropped.
    pub timeout_ms: u64,
}

impl Default for DefragSettings {
    fn default() -> Self {
        let d = DefragConfig::default();
        DefragSettings {
            max_datagrams: d.max_datagrams,
            max_datagram_len: d.max_datagram_len,
            max_fragments: d.max_fragments,
            timeout_ms: d.timeout_ns / 1_000_000,
        }
    }
}

impl DefragSettings {
    pub fn to_config(&self) -> DefragConfig {
        DefragConfig {
            max_datagrams: self.max_datagrams,
            max_datagram_len: self.max_datagram_len,
            max_fragments: self.max_fragments,
            timeout_ns: self.timeout_ms.saturating_mul(1_000_000),
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PacketSettings {
    /// Verify IPv4 header and TCP/UDP checksums. Packets that fail are still processed, and counted.
    pub verify_checksums: bool,
}

impl Default for PacketSettings {
    fn default() -> Self {
        PacketSettings {
            verify_checksums: true,
        }
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OfflineSettings {
    /// Worker threads; packets are dispatched by the symmetric RSS hash.
    pub cores: usize,
    /// Frames per batch handed from the reader to a worker.
    pub batch: usize,
    /// Print a progress line on runs longer than about two seconds.
    pub progress: bool,
}

impl Default for OfflineSettings {
    fn default() -> Self {
        OfflineSettings {
            cores: 1,
            batch: 256,
            progress: true,
        }
    }
}

/// Live capture through DPDK (used by the `weir-dpdk` crate; ignored by pcap runs).
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OnlineSettings {
    /// Extra EAL arguments, passed as they are (e.g. `--vdev`, `-a`, `--no-pci`).
    pub eal: Vec<String>,
    /// Worker lcores, one RX queue each; empty: every worker lcore EAL was given.
    pub cores: Vec<u32>,
    /// The main lcore (EAL `--main-lcore`); `None`: EAL's default.
    pub main_core: Option<u32>,
    /// Memory in MB without hugepages (`--no-huge -m N`); 0: use hugepages.
    pub no_huge_mb: u32,
    /// Directory of DPDK's poll-mode driver plugins (EAL `-d`); empty: the build-time default.
    pub pmd_dir: String,
    /// Virtual devices (EAL `--vdev`), e.g. `net_pcap0,rx_pcap=trace.pcap`.
    pub vdevs: Vec<String>,
    /// PCI allow-list (EAL `-a`); empty: every bound device.
    pub allow: Vec<String>,
    /// DPDK port ids; empty: every available port.
    pub ports: Vec<u16>,
    /// An extra RX queue per port for flows sampled out through the redirection table.
    pub sink: bool,
    pub rx_descriptors: u16,
    /// Mbufs in the pool (per socket) and the per-lcore cache.
    pub mbufs: u32,
    pub mbuf_cache: u32,
    /// Mbuf data room in bytes (headroom included).
    pub mbuf_size: u16,
    /// Packets per RX burst.
    pub burst: u16,
    pub promiscuous: bool,
    /// Port MTU; 0: leave the device's.
    pub mtu: u16,
    /// Stop after this many seconds; 0: only on Ctrl-C (or `idle_exit_s`).
    pub duration_s: u64,
    /// Stop once no packet arrived for this many seconds; 0: never. The
    /// quiet period is not counted as packet time (replays give the same
    /// results as reading the file).
    pub idle_exit_s: u64,
    /// On a quiet queue, advance timers from the clock after this many ms without packets.
    pub idle_tick_ms: u64,
}

impl Default for OnlineSettings {
    fn default() -> Self {
        OnlineSettings {
            eal: Vec::new(),
            cores: Vec::new(),
            main_core: None,
            no_huge_mb: 0,
            pmd_dir: String::new(),
            vdevs: Vec::new(),
            allow: Vec::new(),
            ports: Vec::new(),
            sink: false,
            rx_descriptors: 1024,
            mbufs: 16383,
            mbuf_cache: 256,
            mbuf_size: 2176,
            burst: 32,
            promiscuous: true,
            mtu: 0,
            duration_s: 0,
            idle_exit_s: 0,
            idle_tick_ms: 100,
        }
    }
}

/// A configuration that could not be read or is inconsistent.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{}: cannot read: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    #[error("{}: {message}", path.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "configuration".into()))]
    Invalid {
        path: Option<PathBuf>,
        message: String,
    },
}

impl Config {
    /// Reads and validates a TOML file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let cfg = Config::from_toml(&text).map_err(|message| ConfigError::Parse {
            path: path.to_path_buf(),
            message,
        })?;
        cfg.validate().map_err(|e| match e {
            ConfigError::Invalid { message, .. } => ConfigError::Invalid {
                path: Some(path.to_path_buf()),
                message,
            },
            other => other,
        })?;
        Ok(cfg)
    }

    /// Parses TOML text (no validation); the error message carries line and column.
    pub fn from_toml(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e| e.to_string().trim_end().to_string())
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |message: String| ConfigError::Invalid {
            path: None,
            message,
        };
        self.conntrack
            .validate()
            .map_err(|e| invalid(e.to_string()))?;
        let d = &self.defrag;
        if d.max_datagrams == 0
            || d.max_fragments == 0
            || d.max_datagram_len == 0
            || d.timeout_ms == 0
        {
            return Err(invalid("[defrag] max_datagrams, max_fragments, max_datagram_len and timeout_ms must be positive".into()));
        }
        if self.offline.cores == 0 || self.offline.cores > 1024 {
            return Err(invalid(format!(
                "[offline] cores must be between 1 and 1024, not {}",
                self.offline.cores
            )));
        }
        if self.offline.batch == 0 {
            return Err(invalid("[offline] batch must be positive".into()));
        }
        let o = &self.online;
        if o.rx_descriptors == 0
            || o.burst == 0
            || o.burst > 512
            || o.mbufs < 64
            || o.mbuf_size < 256
        {
            return Err(invalid("[online] rx_descriptors must be positive, burst between 1 and 512, mbufs at least 64 and mbuf_size at least 256".into()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_gives_defaults() {
        let c = Config::from_toml("").unwrap();
        c.validate().unwrap();
        assert_eq!(c.offline.cores, 1);
        assert!(c.packets.verify_checksums);
    }

    #[test]
    fn unknown_key_is_an_error_with_position() {
        let e = Config::from_toml("[offline]\ncorez = 2\n").unwrap_err();
        assert!(e.contains("corez"), "{e}");
        assert!(e.contains("line 2"), "{e}");
    }

    #[test]
    fn load_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("bad.toml");
        std::fs::write(&p, "[offline]\ncores = 0\n").unwrap();
        let e = Config::load(&p).unwrap_err().to_string();
        assert!(e.contains("bad.toml") && e.contains("cores"), "{e}");
        let e = Config::load(&dir.path().join("missing.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("missing.toml") && e.contains("cannot read"),
            "{e}"
        );
        std::fs::write(&p, "[offline\n").unwrap();
        let e = Config::load(&p).unwrap_err().to_string();
        assert!(e.contains("bad.toml") && e.contains("line 1"), "{e}");
    }
}
