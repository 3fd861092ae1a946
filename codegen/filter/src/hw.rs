//! Hardware-filter derivation: the NIC flow rules (Ethernet / IPv4 / IPv6 /
//! TCP / UDP; equality on protocol and ports, prefix on addresses) whose
//! union is at least as broad as a filter.
//!
//! A packet that matches the filter always matches some rule of
//! [`HwFilter::Rules`]; the converse need not hold (the software filter still
//! runs). When no narrower set of rules is exact, the result is
//! [`HwFilter::AcceptAll`].

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;

/// What the NIC may be told to accept.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HwFilter {
    /// Nothing narrower than "every packet" is implied by the filter.
    AcceptAll,
    /// Accept a packet iff it matches at least one rule. Never empty.
    Rules(Vec<HwRule>),
}

/// IP version of a rule (the rule's L3 item).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum HwIp {
    V4,
    V6,
}

/// Transport of a rule (the rule's L4 item).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum HwL4 {
    Tcp,
    Udp,
}

/// An address prefix: the top `len` bits of `addr` (host bits are zero).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct HwPrefix {
    pub addr: IpAddr,
    pub len: u8,
}

/// One flow rule: an Ethernet pattern, an optional IP item, an optional L4
/// item. Every `Some` field is a constraint; `None` is a wildcard.
///
/// Invariants: addresses are only set together with `ip`, and of that
/// version; ports only together with `l4`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct HwRule {
    pub ip: Option<HwIp>,
    pub src_addr: Option<HwPrefix>,
    pub dst_addr: Option<HwPrefix>,
    /// Transport protocol (sets the IP `next_proto` match as well).
    pub l4: Option<HwL4>,
    pub src_port: Option<u16>,
    pub dst_port: Option<u16>,
}

impl fmt::Display for HwPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl fmt::Display for HwRule {
    /// `rte_flow`-like: `eth / ipv4 src is 10.0.0.0/8 / tcp dst is 443`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("eth")?;
        if let Some(ip) = self.ip {
            f.write_str(match ip {
                HwIp::V4 => " / ipv4",
                HwIp::V6 => " / ipv6",
            })?;
            if let Some(p) = self.src_addr {
                write!(f, " src is {p}")?;
            }
            if let Some(p) = self.dst_addr {
                write!(f, " dst is {p}")?;
            }
        }
        if let Some(l4) = self.l4 {
            f.write_str(match l4 {
                HwL4::Tcp => " / tcp",
                HwL4::Udp => " / udp",
            })?;
            if let Some(p) = self.src_port {
                write!(f, " src is {p}")?;
            }
            if let Some(p) = self.dst_port {
                write!(f, " dst is {p}")?;
            }
        }
        Ok(())
    }
}
