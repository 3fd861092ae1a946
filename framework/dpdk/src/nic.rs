//! What the runtime needs from a NIC, as plain data and one trait, so that
//! the RSS, RETA and `rte_flow` logic runs against a real DPDK port
//! ([`crate::dpdk::Port`], feature `dpdk`) and against the software model
//! ([`crate::model::ModelNic`]) alike.

use serde::Serialize;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// RSS hash-type bits, as in DPDK's `RTE_ETH_RSS_*` (22.11 values; they are
/// `RTE_BIT64` macros that bindgen cannot see).
pub mod rss_types {
    pub const IPV4: u64 = 1 << 2;
    pub const FRAG_IPV4: u64 = 1 << 3;
    pub const NONFRAG_IPV4_TCP: u64 = 1 << 4;
    pub const NONFRAG_IPV4_UDP: u64 = 1 << 5;
    pub const NONFRAG_IPV4_OTHER: u64 = 1 << 7;
    pub const IPV6: u64 = 1 << 8;
    pub const FRAG_IPV6: u64 = 1 << 9;
    pub const NONFRAG_IPV6_TCP: u64 = 1 << 10;
    pub const NONFRAG_IPV6_UDP: u64 = 1 << 11;
    pub const NONFRAG_IPV6_OTHER: u64 = 1 << 13;
    pub const IPV6_EX: u64 = 1 << 15;
    pub const IPV6_TCP_EX: u64 = 1 << 16;
    pub const IPV6_UDP_EX: u64 = 1 << 17;
    /// `RTE_ETH_RSS_IP`.
    pub const IP: u64 =
        IPV4 | FRAG_IPV4 | NONFRAG_IPV4_OTHER | IPV6 | FRAG_IPV6 | NONFRAG_IPV6_OTHER | IPV6_EX;
    /// `RTE_ETH_RSS_TCP`.
    pub const TCP: u64 = NONFRAG_IPV4_TCP | NONFRAG_IPV6_TCP | IPV6_TCP_EX;
    /// `RTE_ETH_RSS_UDP`.
    pub const UDP: u64 = NONFRAG_IPV4_UDP | NONFRAG_IPV6_UDP | IPV6_UDP_EX;
    /// What weir asks for: addresses for every IP packet, plus ports for TCP and UDP.
    pub const WANTED: u64 = IP | TCP | UDP;
}

/// RX offload bits (`RTE_ETH_RX_OFFLOAD_*`).
pub mod rx_offloads {
    pub const SCATTER: u64 = 1 << 13;
    pub const TIMESTAMP: u64 = 1 << 14;
    pub const RSS_HASH: u64 = 1 << 19;
}

/// The device capabilities the runtime reads before configuring a port.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DevCaps {
    pub driver: String,
    pub max_rx_queues: u16,
    /// Redirection-table entries; 0 when RETA cannot be read or written.
    pub reta_size: u16,
    /// RSS key length in bytes; 0 when the key cannot be set.
    pub hash_key_size: u8,
    /// `flow_type_rss_offloads`: the hash types the device can compute.
    pub rss_types: u64,
    pub rx_offloads: u64,
    pub min_mtu: u16,
    pub max_mtu: u16,
}

/// The RSS setup derived from the capabilities: the symmetric key at the
/// device's key length, and the wanted hash types the device supports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RssPlan {
    /// `None`: the key cannot be programmed (the device keeps its own).
    pub key: Option<Vec<u8>>,
    pub types: u64,
    pub warnings: Vec<String>,
}

impl RssPlan {
    pub fn for_device(caps: &DevCaps, queues: u16) -> RssPlan {
        let mut warnings = Vec::new();
        if queues <= 1 {
            return RssPlan {
                key: None,
                types: 0,
                warnings,
            };
        }
        let types = rss_types::WANTED & caps.rss_types;
        if types == 0 {
            warnings.push(format!(
                "{}: no RSS hash types supported (flow_type_rss_offloads {:#x}); the device decides how packets spread over {queues} queues, so the two directions of a connection may be split",
                caps.driver, caps.rss_types
            ));
        } else if types != rss_types::WANTED {
            warnings.push(format!(
                "{}: RSS hash types reduced to {types:#x} of the wanted {:#x} (device supports {:#x})",
                caps.driver,
                rss_types::WANTED,
                caps.rss_types
            ));
        }
        let key = if caps.hash_key_size == 0 {
            warnings.push(format!(
                "{}: the RSS key cannot be set; hashing may not be symmetric",
                caps.driver
            ));
            None
        } else {
            // 0x6d5a repeated is symmetric at any even length.
            Some(
                (0..usize::from(caps.hash_key_size))
                    .map(|i| if i % 2 == 0 { 0x6d } else { 0x5a })
                    .collect(),
            )
        };
        RssPlan {
            key,
            types,
            warnings,
        }
    }
}

/// One item of an `rte_flow` pattern. Addresses carry a prefix length
/// (the mask); `None` fields are wildcards (zero mask).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FlowItem {
    Eth,
    Ipv4 {
        src: Option<(Ipv4Addr, u8)>,
        dst: Option<(Ipv4Addr, u8)>,
        /// `next_proto_id`, set when the rule names a transport.
        proto: Option<u8>,
    },
    Ipv6 {
        src: Option<(Ipv6Addr, u8)>,
        dst: Option<(Ipv6Addr, u8)>,
        proto: Option<u8>,
    },
    Tcp {
        src_port: Option<u16>,
        dst_port: Option<u16>,
    },
    Udp {
        src_port: Option<u16>,
        dst_port: Option<u16>,
    },
    /// Only IP fragments (IPv4: MF set or a non-zero offset; IPv6: a
    /// fragment header). Follows the IP item. A non-first fragment carries
    /// no TCP/UDP header, so a rule naming a transport cannot match it: the
    /// offload accepts fragments with companion rules of this kind.
    Fragment,
}

/// What a matching packet gets.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FlowAction {
    /// One queue.
    Queue(u16),
    /// Spread by the symmetric hash over `queues` (the list acts as the
    /// rule's own indirection table; entries may repeat).
    Rss {
        queues: Vec<u16>,
        types: u64,
    },
    Drop,
}

/// An ingress `rte_flow` rule.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FlowRule {
    /// Lower is matched first.
    pub priority: u32,
    pub pattern: Vec<FlowItem>,
    pub action: FlowAction,
}

impl fmt::Display for FlowRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "priority {} pattern", self.priority)?;
        for (i, item) in self.pattern.iter().enumerate() {
            f.write_str(if i == 0 { " " } else { " / " })?;
            let pfx = |f: &mut fmt::Formatter<'_>, k: &str, v: Option<(String, u8)>| match v {
                Some((a, l)) => write!(f, " {k} {a}/{l}"),
                None => Ok(()),
            };
            let port = |f: &mut fmt::Formatter<'_>, k: &str, v: Option<u16>| match v {
                Some(p) => write!(f, " {k} is {p}"),
                None => Ok(()),
            };
            match item {
                FlowItem::Eth => f.write_str("eth")?,
                FlowItem::Ipv4 { src, dst, proto } => {
                    f.write_str("ipv4")?;
                    pfx(f, "src", src.map(|(a, l)| (a.to_string(), l)))?;
                    pfx(f, "dst", dst.map(|(a, l)| (a.to_string(), l)))?;
                    if let Some(p) = proto {
                        write!(f, " proto is {p}")?;
                    }
                }
                FlowItem::Ipv6 { src, dst, proto } => {
                    f.write_str("ipv6")?;
                    pfx(f, "src", src.map(|(a, l)| (a.to_string(), l)))?;
                    pfx(f, "dst", dst.map(|(a, l)| (a.to_string(), l)))?;
                    if let Some(p) = proto {
                        write!(f, " proto is {p}")?;
                    }
                }
                FlowItem::Tcp { src_port, dst_port } => {
                    f.write_str("tcp")?;
                    port(f, "src", *src_port)?;
                    port(f, "dst", *dst_port)?;
                }
                FlowItem::Udp { src_port, dst_port } => {
                    f.write_str("udp")?;
                    port(f, "src", *src_port)?;
                    port(f, "dst", *dst_port)?;
                }
                FlowItem::Fragment => f.write_str("fragment")?,
            }
        }
        f.write_str(" / end actions ")?;
        match &self.action {
            FlowAction::Queue(q) => write!(f, "queue index {q}"),
            FlowAction::Rss { queues, types } => {
                write!(f, "rss types {types:#x} queues {} entries", queues.len())
            }
            FlowAction::Drop => f.write_str("drop"),
        }?;
        f.write_str(" / end")
    }
}

/// A rule installed on a device, to destroy it later.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct FlowId(pub u64);

/// A device refused a request. `message` is the driver's explanation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{op}: {message} (errno {errno})")]
pub struct NicError {
    pub op: &'static str,
    pub errno: i32,
    pub message: String,
}

impl NicError {
    pub fn unsupported(op: &'static str, message: impl Into<String>) -> Self {
        NicError {
            op,
            errno: 95, // ENOTSUP
            message: message.into(),
        }
    }
}

/// The control-path operations of a NIC port that weir uses at run time.
pub trait NicControl {
    fn caps(&self) -> &DevCaps;
    /// Writes `(bucket, queue)` entries of the redirection table, leaving the others.
    fn reta_update(&mut self, entries: &[(u16, u16)]) -> Result<(), NicError>;
    /// Reads the whole redirection table.
    fn reta_query(&mut self) -> Result<Vec<u16>, NicError>;
    fn flow_validate(&mut self, rule: &FlowRule) -> Result<(), NicError>;
    fn flow_create(&mut self, rule: &FlowRule) -> Result<FlowId, NicError>;
    fn flow_destroy(&mut self, id: FlowId) -> Result<(), NicError>;
}
