//! Port, queue and mempool counters of a live run.

use serde::Serialize;
use std::collections::BTreeMap;

/// One RX queue's counters as the device reports them.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct QueueStats {
    pub queue: u16,
    pub packets: u64,
    pub bytes: u64,
    pub errors: u64,
}

/// A port's counters (`rte_eth_stats` plus every xstat).
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct PortStats {
    pub port: u16,
    pub name: String,
    pub packets: u64,
    pub bytes: u64,
    /// Dropped by the device because no descriptor was free (the RX ring was full).
    pub imissed: u64,
    pub ierrors: u64,
    /// Dropped because the mempool had no free mbuf.
    pub rx_nombuf: u64,
    pub queues: Vec<QueueStats>,
    pub xstats: BTreeMap<String, u64>,
}

impl PortStats {
    /// Packets the port lost before software saw them.
    pub fn lost(&self) -> u64 {
        self.imissed + self.rx_nombuf + self.ierrors
    }
}

/// What one worker saw on its queue(s).
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct WorkerStats {
    pub lcore: u32,
    pub queue: u16,
    pub packets: u64,
    pub bytes: u64,
    pub bursts: u64,
    pub empty_polls: u64,
    /// Timer advances from the clock on a quiet queue.
    pub idle_ticks: u64,
    /// Frames longer than one mbuf segment (only the first is parsed).
    pub multi_segment: u64,
}

/// The DPDK side of a live run, next to the runtime's [`weir_runtime::RunReport`].
#[derive(Clone, Debug, Default, Serialize)]
pub struct OnlineStats {
    pub dpdk_version: String,
    pub ports: Vec<PortStats>,
    pub workers: Vec<WorkerStats>,
    /// Packets the main lcore drained from sink queues (sampled-out flows).
    pub sink_packets: u64,
    pub mempool_capacity: u32,
    /// Mbufs still held when the run ended (0 unless something leaks).
    pub mempool_in_use: u32,
    /// Why the run stopped: `duration`, `idle`, `signal` or `requested`.
    pub stop_reason: String,
    /// Setup warnings (capability fallbacks).
    pub warnings: Vec<String>,
}
