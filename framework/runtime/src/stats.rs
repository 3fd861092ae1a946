//! Per-core and total counters.
//!
//! Every frame a core receives ends in exactly one of these buckets, so
//!
//! ```text
//! received = non_ip + malformed_total + fragments_held + other_l4 + tcp + udp
//! ```
//!
//! - `non_ip`: valid frames that carry no IP (ARP, LLDP, ...), ignored.
//! - `malformed_total`: frames or transport headers that failed validation,
//!   broken down by reason in `malformed` (`weir_wire::WireError::kind`).
//! - `fragments_held`: IP fragments absorbed by reassembly (waiting,
//!   dropped, or completed by a later fragment). The fragment that
//!   *completes* a datagram is not counted here: the reassembled datagram is
//!   counted once as a TCP/UDP/other packet, with the wire length of that
//!   completing frame (the convention tshark uses).
//! - `other_l4`: IP packets that are neither TCP nor UDP (ICMP, ...).
//! - `tcp`, `udp`: packets handed to connection tracking; what the tracker
//!   did with them is in `conn` (`weir_conntrack::ConnStats`).
//!
//! `truncated` counts frames whose IP datagram is longer than the captured
//! bytes (snap length): they are processed with their headers, but their
//! payload is not given to reassembly (it is incomplete). They are part of
//! the buckets above.
//!
//! `bad_checksums` counts packets whose IPv4 header or TCP/UDP checksum was
//! verified and wrong; they are still processed (and are part of tcp/udp).

use serde::Serialize;
use std::collections::BTreeMap;
use weir_conntrack::ConnStats;
use weir_wire::DefragStats;

#[derive(Clone, Debug, Default, Serialize)]
pub struct Stats {
    pub received: u64,
    /// Sum of wire lengths of received frames.
    pub received_bytes: u64,
    pub non_ip: u64,
    pub malformed_total: u64,
    pub malformed: BTreeMap<&'static str, u64>,
    pub fragments_held: u64,
    pub ipv4: u64,
    pub ipv6: u64,
    pub other_l4: u64,
    pub tcp: u64,
    pub udp: u64,
    pub bad_checksums: u64,
    pub truncated: u64,
    pub defrag: DefragStats,
    pub conn: ConnStats,
}

impl Stats {
    /// Adds another core's counters into these.
    pub fn merge(&mut self, o: &Stats) {
        self.received += o.received;
        self.received_bytes += o.received_bytes;
        self.non_ip += o.non_ip;
        self.malformed_total += o.malformed_total;
        for (k, v) in &o.malformed {
            *self.malformed.entry(k).or_default() += v;
        }
        self.fragments_held += o.fragments_held;
        self.ipv4 += o.ipv4;
        self.ipv6 += o.ipv6;
        self.other_l4 += o.other_l4;
        self.tcp += o.tcp;
        self.udp += o.udp;
        self.bad_checksums += o.bad_checksums;
        self.truncated += o.truncated;
        self.defrag.merge(&o.defrag);
        self.conn.merge(&o.conn);
    }

    /// The accounting identity of the module docs.
    pub fn balanced(&self) -> bool {
        self.received
            == self.non_ip
                + self.malformed_total
                + self.fragments_held
                + self.other_l4
                + self.tcp
                + self.udp
    }

    pub(crate) fn malformed(&mut self, kind: &'static str) {
        self.malformed_total += 1;
        *self.malformed.entry(kind).or_default() += 1;
    }
}
