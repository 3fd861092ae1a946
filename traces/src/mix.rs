//! Traffic mixes: the TOML description of what a trace contains, plus the named presets.
//!
//! Every field has a default, so a mix file only states what differs from the built-in
//! defaults. Unknown keys are errors (a typo must not silently fall back to a default).

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

use serde::{Deserialize, Serialize};

/// What went wrong loading or validating a mix. Every variant names its source
/// (a file path or `preset NAME`).
#[derive(Debug, thiserror::Error)]
pub enum MixError {
    /// The file could not be read.
    #[error("{file}: cannot read: {source}")]
    Io {
        /// The file.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TOML did not parse or did not match the mix schema.
    #[error("{file}:{line}:{column}: {message}")]
    Toml {
        /// The file.
        file: String,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// The mix parsed but a value is out of range.
    #[error("{file}: {message}")]
    Invalid {
        /// The file.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// No preset of that name.
    #[error("unknown preset `{name}` (known presets: {known})")]
    UnknownPreset {
        /// The requested name.
        name: String,
        /// Comma-separated list of presets.
        known: String,
    },
}

/// The kinds of flows the generator can emit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowKind {
    /// A single unanswered TCP SYN.
    SynScan,
    /// TLS 1.2 over TCP with certificate, then application data.
    Tls12,
    /// TLS 1.3 over TCP, then application data.
    Tls13,
    /// HTTP/1.1 keep-alive or pipelined transactions.
    Http,
    /// DNS over UDP.
    DnsUdp,
    /// DNS over TCP.
    DnsTcp,
    /// QUIC v1 with encrypted Initials.
    Quic,
    /// SSH banners and KEXINIT, then encrypted packets.
    Ssh,
    /// OpenVPN over UDP.
    OpenvpnUdp,
    /// OpenVPN over TCP (2-byte length framing).
    OpenvpnTcp,
    /// TLS 1.3 flow carrying media segments sized by a resolution label.
    Video,
    /// Bulk TCP transfer.
    Bulk,
    /// Plain UDP exchange.
    Udp,
    /// Short TCP exchange torn down by RST.
    TcpRst,
    /// TCP flow that just stops (no FIN/RST), so inactivity timeouts fire.
    Idle,
}

impl FlowKind {
    /// All kinds, in a fixed order.
    pub const ALL: [FlowKind; 15] = [
        FlowKind::SynScan,
        FlowKind::Tls12,
        FlowKind::Tls13,
        FlowKind::Http,
        FlowKind::DnsUdp,
        FlowKind::DnsTcp,
        FlowKind::Quic,
        FlowKind::Ssh,
        FlowKind::OpenvpnUdp,
        FlowKind::OpenvpnTcp,
        FlowKind::Video,
        FlowKind::Bulk,
        FlowKind::Udp,
        FlowKind::TcpRst,
        FlowKind::Idle,
    ];

    /// True for kinds carried over TCP.
    pub fn is_tcp(self) -> bool {
        !matches!(self, FlowKind::DnsUdp | FlowKind::Quic | FlowKind::OpenvpnUdp | FlowKind::Udp)
    }

    /// The snake_case name used in mix files and ground truth.
    pub fn name(self) -> &'static str {
        match self {
            FlowKind::SynScan => "syn_scan",
            FlowKind::Tls12 => "tls12",
            FlowKind::Tls13 => "tls13",
            FlowKind::Http => "http",
            FlowKind::DnsUdp => "dns_udp",
            FlowKind::DnsTcp => "dns_tcp",
            FlowKind::Quic => "quic",
            FlowKind::Ssh => "ssh",
            FlowKind::OpenvpnUdp => "openvpn_udp",
            FlowKind::OpenvpnTcp => "openvpn_tcp",
            FlowKind::Video => "video",
            FlowKind::Bulk => "bulk",
            FlowKind::Udp => "udp",
            FlowKind::TcpRst => "tcp_rst",
            FlowKind::Idle => "idle",
        }
    }
}

impl fmt::Display for FlowKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Relative weights of each flow kind (normalised by the generator).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
#[allow(missing_docs)]
pub struct Kinds {
    pub syn_scan: f64,
    pub tls12: f64,
    pub tls13: f64,
    pub http: f64,
    pub dns_udp: f64,
    pub dns_tcp: f64,
    pub quic: f64,
    pub ssh: f64,
    pub openvpn_udp: f64,
    pub openvpn_tcp: f64,
    pub video: f64,
    pub bulk: f64,
    pub udp: f64,
    pub tcp_rst: f64,
    pub idle: f64,
}

impl Kinds {
    /// The weight of `kind`.
    pub fn weight(&self, kind: FlowKind) -> f64 {
        match kind {
            FlowKind::SynScan => self.syn_scan,
            FlowKind::Tls12 => self.tls12,
            FlowKind::Tls13 => self.tls13,
            FlowKind::Http => self.http,
            FlowKind::DnsUdp => self.dns_udp,
            FlowKind::DnsTcp => self.dns_tcp,
            FlowKind::Quic => self.quic,
            FlowKind::Ssh => self.ssh,
            FlowKind::OpenvpnUdp => self.openvpn_udp,
            FlowKind::OpenvpnTcp => self.openvpn_tcp,
            FlowKind::Video => self.video,
            FlowKind::Bulk => self.bulk,
            FlowKind::Udp => self.udp,
            FlowKind::TcpRst => self.tcp_rst,
            FlowKind::Idle => self.idle,
        }
    }
}

/// How flow start times are spaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArrivalProcess {
    /// Exponential inter-arrival times (Poisson process).
    Poisson,
    /// Evenly spaced starts.
    Constant,
}

/// Flow start-time process and concurrency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Arrival {
    /// Poisson or constant spacing.
    pub process: ArrivalProcess,
    /// Mean new flows per second of trace time.
    pub rate_per_s: f64,
    /// At most this many flows active at once (a start waits for a flow to end); 0 = no cap.
    pub max_concurrent: u32,
    /// If set, flow starts spread over this many seconds (rate = flows / duration),
    /// overriding `rate_per_s`.
    pub duration_s: Option<f64>,
}

impl Arrival {
    /// Mean gap between flow starts in nanoseconds for `flows` flows.
    pub fn mean_gap_ns(&self, flows: u64) -> f64 {
        match self.duration_s {
            Some(d) => d * 1e9 / flows.max(1) as f64,
            None => 1e9 / self.rate_per_s,
        }
    }
}

impl Default for Arrival {
    fn default() -> Self {
        Arrival { process: ArrivalProcess::Poisson, rate_per_s: 2000.0, max_concurrent: 0, duration_s: None }
    }
}

/// Distribution of a flow's application payload size in bytes (heavy-tailed by default).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "dist", rename_all = "snake_case", deny_unknown_fields)]
pub enum SizeDist {
    /// Always `bytes`.
    Fixed {
        /// The size.
        bytes: u64,
    },
    /// Uniform in `[min, max]`.
    Uniform {
        /// Lower bound.
        min: u64,
        /// Upper bound.
        max: u64,
    },
    /// Bounded Pareto with shape `alpha` on `[min, max]`.
    Pareto {
        /// Scale (smallest value).
        min: u64,
        /// Shape; smaller is heavier-tailed.
        alpha: f64,
        /// Truncation.
        max: u64,
    },
    /// `unit * k` where rank `k` in `1..=n` is Zipf(s) distributed.
    Zipf {
        /// Bytes per rank step.
        unit: u64,
        /// Exponent.
        s: f64,
        /// Number of ranks.
        n: u64,
    },
}

impl Default for SizeDist {
    fn default() -> Self {
        SizeDist::Pareto { min: 2_000, alpha: 1.2, max: 20_000_000 }
    }
}

/// Address ranges (CIDR strings) clients and servers are drawn from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Addresses {
    /// IPv4 client prefixes.
    pub client_v4: Vec<String>,
    /// IPv4 server prefixes.
    pub server_v4: Vec<String>,
    /// IPv6 client prefixes.
    pub client_v6: Vec<String>,
    /// IPv6 server prefixes.
    pub server_v6: Vec<String>,
}

impl Default for Addresses {
    fn default() -> Self {
        Addresses {
            client_v4: vec!["10.0.0.0/16".into()],
            server_v4: vec!["192.0.2.0/24".into(), "198.51.100.0/24".into(), "203.0.113.0/24".into()],
            client_v6: vec!["fd00:10::/64".into()],
            server_v6: vec!["2001:db8:1::/64".into(), "2001:db8:2::/64".into()],
        }
    }
}

/// Names used for SNI, HTTP Host, DNS qnames.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Names {
    /// Host names (empty = built-in list).
    pub hosts: Vec<String>,
    /// Extra synthetic names `site<i>.example.<tld>` appended to `hosts`.
    pub synthetic_hosts: u32,
    /// Zipf exponent for picking a host by its position in the list (0 = uniform).
    pub zipf_s: f64,
}

impl Default for Names {
    fn default() -> Self {
        Names { hosts: Vec::new(), synthetic_hosts: 0, zipf_s: 1.0 }
    }
}

/// How TCP flows (other than `syn_scan`, `tcp_rst`, `idle`) end.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TcpEnds {
    /// Probability of an RST teardown instead of FIN.
    pub rst: f64,
    /// Probability that the flow just stops (no FIN/RST).
    pub idle: f64,
}

impl Default for TcpEnds {
    fn default() -> Self {
        TcpEnds { rst: 0.05, idle: 0.03 }
    }
}

/// Impairment probabilities (per packet unless noted).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Impairments {
    /// A packet is missing from the capture (never a packet carrying L7 headers listed in
    /// the truth, a SYN, SYN-ACK, FIN, RST, or a flow's first datagram).
    pub loss: f64,
    /// A packet swaps places with the next packet of its flow.
    pub reorder: f64,
    /// A packet appears twice back to back.
    pub duplicate: f64,
    /// A TCP data segment is sent again a little later.
    pub retransmit: f64,
    /// An IP datagram longer than `fragment_size` is fragmented.
    pub fragment: f64,
    /// Maximum bytes of L4 data per fragment.
    pub fragment_size: usize,
    /// Per flow: a new TCP flow reuses the five-tuple of a flow that already closed.
    pub port_reuse: f64,
}

impl Default for Impairments {
    fn default() -> Self {
        Impairments {
            loss: 0.0,
            reorder: 0.0,
            duplicate: 0.0,
            retransmit: 0.0,
            fragment: 0.0,
            fragment_size: 512,
            port_reuse: 0.0,
        }
    }
}

/// A full traffic mix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Mix {
    /// Name (presets use their preset name).
    pub name: String,
    /// One-line description shown by `--help`.
    pub description: String,
    /// Number of flows to generate.
    pub flows: u64,
    /// Relative share of each flow kind.
    pub kinds: Kinds,
    /// Share of flows over IPv6.
    pub ipv6_share: f64,
    /// Share of flows carrying an 802.1Q tag.
    pub vlan_share: f64,
    /// VLAN ids tagged flows use.
    pub vlan_ids: Vec<u16>,
    /// TCP MSS for IPv4 (IPv6 uses MSS - 20).
    pub mss: u16,
    /// Round-trip time range in milliseconds (log-uniform per flow).
    pub rtt_ms: [f64; 2],
    /// Bottleneck rate pacing back-to-back segments, in Mbit/s.
    pub bandwidth_mbps: f64,
    /// Target mean frame size in bytes; a feedback loop scales flow sizes toward it (0 = off).
    pub mean_packet_size: u32,
    /// Multiplies every flow size (and video segment sizes) before the feedback loop.
    pub size_scale: f64,
    /// Start-time process.
    pub arrival: Arrival,
    /// Flow payload size distribution.
    pub size: SizeDist,
    /// Address ranges.
    pub addresses: Addresses,
    /// Host names.
    pub names: Names,
    /// TCP teardown mix.
    pub tcp_ends: TcpEnds,
    /// Impairments.
    pub impair: Impairments,
    /// Share of TLS 1.3 / QUIC ClientHellos with a post-quantum-sized key share.
    pub pq_share: f64,
    /// Share of HTTP flows that pipeline their requests.
    pub http_pipelined_share: f64,
    /// Share of HTTP responses with a chunked body.
    pub http_chunked_share: f64,
    /// Share of OpenVPN flows using tls-auth (HMAC + packet id + time in control packets).
    pub openvpn_tls_auth_share: f64,
    /// Range of media segments per video flow.
    pub video_segments: [u32; 2],
}

impl Default for Mix {
    fn default() -> Self {
        Mix {
            name: "custom".into(),
            description: String::new(),
            flows: 1000,
            kinds: Kinds { bulk: 1.0, ..Kinds::default() },
            ipv6_share: 0.2,
            vlan_share: 0.0,
            vlan_ids: vec![100, 200, 300],
            mss: 1460,
            rtt_ms: [2.0, 120.0],
            bandwidth_mbps: 200.0,
            mean_packet_size: 895,
            size_scale: 1.0,
            arrival: Arrival::default(),
            size: SizeDist::default(),
            addresses: Addresses::default(),
            names: Names::default(),
            tcp_ends: TcpEnds::default(),
            impair: Impairments::default(),
            pq_share: 0.2,
            http_pipelined_share: 0.2,
            http_chunked_share: 0.3,
            openvpn_tls_auth_share: 0.5,
            video_segments: [2, 6],
        }
    }
}

/// Named presets: `(name, TOML source)`.
pub const PRESETS: [(&str, &str); 8] = [
    ("default", include_str!("../presets/default.toml")),
    ("tls-heavy", include_str!("../presets/tls-heavy.toml")),
    ("http-hosts", include_str!("../presets/http-hosts.toml")),
    ("subnets", include_str!("../presets/subnets.toml")),
    ("openvpn", include_str!("../presets/openvpn.toml")),
    ("video", include_str!("../presets/video.toml")),
    ("impaired", include_str!("../presets/impaired.toml")),
    ("bulk", include_str!("../presets/bulk.toml")),
];

/// An IPv4 prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefix4 {
    /// Network address.
    pub base: u32,
    /// Prefix length.
    pub len: u8,
}

/// An IPv6 prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefix6 {
    /// Network address.
    pub base: u128,
    /// Prefix length.
    pub len: u8,
}

/// Parse `a.b.c.d/len`.
pub fn parse_prefix4(s: &str) -> Option<Prefix4> {
    let (a, l) = s.split_once('/')?;
    let a: Ipv4Addr = a.trim().parse().ok()?;
    let len: u8 = l.trim().parse().ok()?;
    if len > 32 {
        return None;
    }
    let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
    Some(Prefix4 { base: u32::from(a) & mask, len })
}

/// Parse `x:y::/len`.
pub fn parse_prefix6(s: &str) -> Option<Prefix6> {
    let (a, l) = s.split_once('/')?;
    let a: Ipv6Addr = a.trim().parse().ok()?;
    let len: u8 = l.trim().parse().ok()?;
    if len > 128 {
        return None;
    }
    let mask = if len == 0 { 0 } else { u128::MAX << (128 - len) };
    Some(Prefix6 { base: u128::from(a) & mask, len })
}

fn line_col(src: &str, byte: usize) -> (usize, usize) {
    let before = &src[..byte.min(src.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, col)
}

impl Mix {
    /// Parse a mix from TOML text; `file` names the source in errors.
    pub fn from_toml(src: &str, file: &str) -> Result<Mix, MixError> {
        let mix: Mix = toml::from_str(src).map_err(|e| {
            let (line, column) = e.span().map_or((1, 1), |s| line_col(src, s.start));
            MixError::Toml { file: file.to_string(), line, column, message: e.message().trim().to_string() }
        })?;
        mix.validate(file)?;
        Ok(mix)
    }

    /// Load a mix file.
    pub fn from_file(path: &Path) -> Result<Mix, MixError> {
        let file = path.display().to_string();
        let src = std::fs::read_to_string(path).map_err(|source| MixError::Io { file: file.clone(), source })?;
        Mix::from_toml(&src, &file)
    }

    /// A named preset.
    pub fn preset(name: &str) -> Result<Mix, MixError> {
        match PRESETS.iter().find(|(n, _)| *n == name) {
            Some((n, src)) => Mix::from_toml(src, &format!("preset {n}")),
            None => Err(MixError::UnknownPreset {
                name: name.to_string(),
                known: PRESETS.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", "),
            }),
        }
    }

    /// Check ranges; `file` names the source in the error.
    pub fn validate(&self, file: &str) -> Result<(), MixError> {
        let bad = |message: String| Err(MixError::Invalid { file: file.to_string(), message });
        let share = |name: &str, v: f64| -> Result<(), MixError> {
            if !(0.0..=1.0).contains(&v) {
                return bad(format!("`{name}` = {v} must be a probability in [0, 1]"));
            }
            Ok(())
        };
        let mut total = 0.0;
        for k in FlowKind::ALL {
            let w = self.kinds.weight(k);
            if !(w >= 0.0 && w.is_finite()) {
                return bad(format!("`kinds.{k}` = {w} must be a finite weight >= 0"));
            }
            total += w;
        }
        if total <= 0.0 {
            return bad("`kinds` must give at least one flow kind a positive weight".into());
        }
        share("ipv6_share", self.ipv6_share)?;
        share("vlan_share", self.vlan_share)?;
        share("pq_share", self.pq_share)?;
        share("http_pipelined_share", self.http_pipelined_share)?;
        share("http_chunked_share", self.http_chunked_share)?;
        share("openvpn_tls_auth_share", self.openvpn_tls_auth_share)?;
        share("tcp_ends.rst", self.tcp_ends.rst)?;
        share("tcp_ends.idle", self.tcp_ends.idle)?;
        if self.tcp_ends.rst + self.tcp_ends.idle > 1.0 {
            return bad("`tcp_ends.rst` + `tcp_ends.idle` must not exceed 1".into());
        }
        let im = &self.impair;
        for (n, v) in [
            ("impair.loss", im.loss),
            ("impair.reorder", im.reorder),
            ("impair.duplicate", im.duplicate),
            ("impair.retransmit", im.retransmit),
            ("impair.fragment", im.fragment),
            ("impair.port_reuse", im.port_reuse),
        ] {
            share(n, v)?;
        }
        if im.fragment_size < 64 {
            return bad(format!("`impair.fragment_size` = {} must be at least 64", im.fragment_size));
        }
        if self.vlan_share > 0.0 && self.vlan_ids.is_empty() {
            return bad("`vlan_ids` must not be empty when `vlan_share` > 0".into());
        }
        if let Some(v) = self.vlan_ids.iter().find(|v| **v == 0 || **v >= 4095) {
            return bad(format!("VLAN id {v} out of range 1..=4094"));
        }
        if !(536..=9000).contains(&self.mss) {
            return bad(format!("`mss` = {} must be in 536..=9000", self.mss));
        }
        let [lo, hi] = self.rtt_ms;
        if !(lo > 0.0 && hi >= lo && hi < 60_000.0) {
            return bad(format!("`rtt_ms` = [{lo}, {hi}] must satisfy 0 < min <= max < 60000"));
        }
        if !(self.bandwidth_mbps > 0.0 && self.bandwidth_mbps.is_finite()) {
            return bad("`bandwidth_mbps` must be positive".into());
        }
        if !(self.size_scale > 0.0 && self.size_scale.is_finite()) {
            return bad("`size_scale` must be positive".into());
        }
        if self.mean_packet_size != 0 && !(100..=9000).contains(&self.mean_packet_size) {
            return bad(format!("`mean_packet_size` = {} must be 0 (off) or in 100..=9000", self.mean_packet_size));
        }
        if !(self.arrival.rate_per_s > 0.0 && self.arrival.rate_per_s.is_finite()) {
            return bad("`arrival.rate_per_s` must be positive".into());
        }
        if let Some(d) = self.arrival.duration_s {
            if !(d > 0.0 && d.is_finite()) {
                return bad(format!("`arrival.duration_s` = {d} must be positive"));
            }
        }
        let [s0, s1] = self.video_segments;
        if s0 == 0 || s1 < s0 || s1 > 10_000 {
            return bad(format!("`video_segments` = [{s0}, {s1}] must satisfy 1 <= min <= max <= 10000"));
        }
        match self.size {
            SizeDist::Fixed { .. } => {}
            SizeDist::Uniform { min, max } if min > max => {
                return bad(format!("`size`: uniform min {min} > max {max}"));
            }
            SizeDist::Pareto { min, alpha, max } if min == 0 || max < min || alpha.is_nan() || alpha <= 0.0 => {
                return bad(format!("`size`: pareto needs 0 < min <= max and alpha > 0 (min {min}, max {max}, alpha {alpha})"));
            }
            SizeDist::Zipf { n, s, .. } if n == 0 || n > 1_000_000 || s.is_nan() || s < 0.0 => {
                return bad(format!("`size`: zipf needs 1 <= n <= 1000000 and s >= 0 (n {n}, s {s})"));
            }
            _ => {}
        }
        if self.names.zipf_s.is_nan() || self.names.zipf_s < 0.0 {
            return bad("`names.zipf_s` must be >= 0".into());
        }
        if self.names.synthetic_hosts > 1_000_000 {
            return bad("`names.synthetic_hosts` must be at most 1000000".into());
        }
        let a = &self.addresses;
        for (n, list) in [("addresses.client_v4", &a.client_v4), ("addresses.server_v4", &a.server_v4)] {
            if list.is_empty() && self.ipv6_share < 1.0 {
                return bad(format!("`{n}` must not be empty unless ipv6_share = 1"));
            }
            if let Some(p) = list.iter().find(|p| parse_prefix4(p).is_none()) {
                return bad(format!("`{n}`: `{p}` is not an IPv4 prefix like 10.0.0.0/16"));
            }
        }
        for (n, list) in [("addresses.client_v6", &a.client_v6), ("addresses.server_v6", &a.server_v6)] {
            if list.is_empty() && self.ipv6_share > 0.0 {
                return bad(format!("`{n}` must not be empty when ipv6_share > 0"));
            }
            if let Some(p) = list.iter().find(|p| parse_prefix6(p).is_none()) {
                return bad(format!("`{n}`: `{p}` is not an IPv6 prefix like 2001:db8::/64"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_loads() {
        for (name, _) in PRESETS {
            let m = Mix::preset(name).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(m.name, name);
            assert!(!m.description.is_empty(), "{name} needs a description");
        }
    }

    #[test]
    fn default_preset_has_every_kind() {
        let m = Mix::preset("default").unwrap();
        for k in FlowKind::ALL {
            assert!(m.kinds.weight(k) > 0.0, "default lacks {k}");
        }
    }

    #[test]
    fn toml_error_names_file_and_line() {
        let e = Mix::from_toml("flows = 10\nipv6_shar = 0.5\n", "mix.toml").unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("mix.toml:2:"), "{s}");
        assert!(s.contains("ipv6_shar"), "{s}");
    }

    #[test]
    fn bad_value_is_named() {
        let e = Mix::from_toml("[impair]\nloss = 1.5\n", "x.toml").unwrap_err();
        assert_eq!(e.to_string(), "x.toml: `impair.loss` = 1.5 must be a probability in [0, 1]");
        let e = Mix::from_toml("[addresses]\nclient_v4 = [\"10.0.0/8\"]\n", "y.toml").unwrap_err();
        assert!(e.to_string().contains("10.0.0/8"));
    }

    #[test]
    fn unknown_preset_lists_known() {
        let e = Mix::preset("nope").unwrap_err().to_string();
        assert!(e.contains("default") && e.contains("bulk"), "{e}");
    }

    #[test]
    fn prefixes_parse() {
        assert_eq!(parse_prefix4("10.1.2.3/16"), Some(Prefix4 { base: 0x0a01_0000, len: 16 }));
        assert!(parse_prefix4("10.1.2.3/33").is_none());
        assert_eq!(parse_prefix6("2001:db8::1/32").unwrap().base, 0x2001_0db8u128 << 96);
    }
}
