//! Ground truth: one JSON object per flow (JSONL), written beside each pcap.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::mix::FlowKind;

/// Transport protocol of a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum L4Proto {
    /// TCP
    Tcp,
    /// UDP
    Udp,
}

/// How a flow ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum End {
    /// TCP FIN exchange.
    Fin,
    /// TCP RST.
    Rst,
    /// No teardown (UDP, unanswered SYN, idle TCP): only a timeout ends it.
    None,
}

/// Per-direction counts, as written to the pcap (after impairments).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DirStats {
    /// Ethernet frames (each IP fragment is a frame).
    pub frames: u64,
    /// IP datagrams (fragments of one datagram count once; duplicates and
    /// retransmissions count again).
    pub packets: u64,
    /// Sum of frame lengths.
    pub bytes: u64,
    /// Sum of L4 payload lengths over `packets`.
    pub payload: u64,
}

/// Outcome of one DNS query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DnsOutcome {
    /// Address record(s).
    Address,
    /// CNAME then address.
    Cname,
    /// RCODE 3.
    Nxdomain,
    /// No response.
    Unanswered,
}

/// One DNS query of a flow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DnsQuery {
    /// Query name.
    pub name: String,
    /// "A" or "AAAA".
    pub qtype: String,
    /// Transaction id.
    pub id: u16,
    /// What the server answered.
    pub outcome: DnsOutcome,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Everything known about one generated flow.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowTruth {
    /// Flow id (creation order, from 0).
    pub id: u64,
    /// Kind.
    pub kind: FlowKind,
    /// Transport.
    pub proto: L4Proto,
    /// Client (originator) address.
    pub client: IpAddr,
    /// Client port.
    pub client_port: u16,
    /// Server address.
    pub server: IpAddr,
    /// Server port.
    pub server_port: u16,
    /// 802.1Q VLAN id.
    pub vlan: Option<u16>,
    /// Timestamp of the first packet written.
    pub start_ns: u64,
    /// Timestamp of the last packet written.
    pub end_ns: u64,
    /// TLS/QUIC server name in the ClientHello.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    /// ALPN protocols offered.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alpn: Vec<String>,
    /// "1.2" or "1.3" for TLS, video and QUIC flows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_version: Option<String>,
    /// The ClientHello carries a post-quantum-sized key share.
    #[serde(default, skip_serializing_if = "is_false")]
    pub pq_key_share: bool,
    /// HTTP Host of each request, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    /// HTTP request URI of each request, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uris: Vec<String>,
    /// HTTP User-Agent of each request, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_agents: Vec<String>,
    /// HTTP requests were pipelined.
    #[serde(default, skip_serializing_if = "is_false")]
    pub pipelined: bool,
    /// DNS query names, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub qnames: Vec<String>,
    /// DNS queries with their outcome.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<DnsQuery>,
    /// SSH client identification string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_client: Option<String>,
    /// SSH server identification string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ssh_server: Option<String>,
    /// Video resolution label (240p ... 1080p).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<String>,
    /// Number of media segments of a video flow.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segments: Option<u32>,
    /// OpenVPN control packets carry tls-auth fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_auth: Option<bool>,
    /// Client to server counts.
    pub to_server: DirStats,
    /// Server to client counts.
    pub to_client: DirStats,
    /// How the flow ends.
    pub end: End,
    /// This flow reuses the five-tuple of an earlier, closed flow.
    #[serde(default, skip_serializing_if = "is_false")]
    pub reused_tuple: bool,
}

impl FlowTruth {
    /// One JSON line (no trailing newline).
    pub fn to_json_line(&self) -> String {
        // Serialising plain data with string keys cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Parse a JSONL ground-truth file's text.
pub fn parse_jsonl(text: &str) -> Result<Vec<FlowTruth>, serde_json::Error> {
    text.lines().filter(|l| !l.trim().is_empty()).map(serde_json::from_str).collect()
}
