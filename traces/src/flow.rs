//! One flow from start to end: pick its parameters, build the conversation of its kind,
//! run the transport, apply impairments, frame into Ethernet packets, count the truth.

use std::net::IpAddr;

use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::dist::{self, Sizes, Zipf};
use crate::mix::{self, FlowKind, Impairments, Mix, Prefix4, Prefix6};
use crate::names;
use crate::proto::{dns, http, openvpn, quic, ssh, tls, Lazy, Msg};
use crate::transport::{self, Pkt, TcpEnd, Timing, L4};
use crate::truth::{DirStats, DnsOutcome, DnsQuery, End, FlowTruth, L4Proto};
use crate::wire::{self, Dir, Endpoints, IpOpts};
use crate::Packet;

/// Largest application payload of one flow, whatever the size distribution and scale say.
pub const MAX_FLOW_BYTES: u64 = 64 << 20;

/// A mix compiled for sampling.
#[derive(Debug, Clone)]
pub struct Plan {
    pub(crate) mix: Mix,
    kinds: Vec<(FlowKind, f64)>,
    kind_total: f64,
    pub(crate) sizes: Sizes,
    client4: Vec<Prefix4>,
    server4: Vec<Prefix4>,
    client6: Vec<Prefix6>,
    server6: Vec<Prefix6>,
    hosts: Vec<String>,
    host_pick: Zipf,
    ns_per_byte: f64,
}

impl Plan {
    /// Compile a mix (validating it first).
    pub fn new(mix: &Mix) -> Result<Plan, mix::MixError> {
        mix.validate(&format!("mix `{}`", mix.name))?;
        let kinds: Vec<(FlowKind, f64)> =
            FlowKind::ALL.iter().map(|k| (*k, mix.kinds.weight(*k))).filter(|(_, w)| *w > 0.0).collect();
        let kind_total = kinds.iter().map(|(_, w)| w).sum();
        let a = &mix.addresses;
        let mut hosts: Vec<String> = if mix.names.hosts.is_empty() && mix.names.synthetic_hosts == 0 {
            names::HOSTS.iter().map(|s| s.to_string()).collect()
        } else {
            mix.names.hosts.clone()
        };
        hosts.extend((0..mix.names.synthetic_hosts).map(names::synthetic_host));
        Ok(Plan {
            mix: mix.clone(),
            kinds,
            kind_total,
            sizes: Sizes::new(&mix.size),
            client4: a.client_v4.iter().filter_map(|p| mix::parse_prefix4(p)).collect(),
            server4: a.server_v4.iter().filter_map(|p| mix::parse_prefix4(p)).collect(),
            client6: a.client_v6.iter().filter_map(|p| mix::parse_prefix6(p)).collect(),
            server6: a.server_v6.iter().filter_map(|p| mix::parse_prefix6(p)).collect(),
            host_pick: Zipf::new(hosts.len(), mix.names.zipf_s),
            hosts,
            ns_per_byte: 8_000.0 / (mix.bandwidth_mbps * 1_000.0),
        })
    }

    pub(crate) fn pick_kind(&self, rng: &mut impl Rng) -> FlowKind {
        let mut u = rng.gen::<f64>() * self.kind_total;
        for (k, w) in &self.kinds {
            if u < *w {
                return *k;
            }
            u -= w;
        }
        self.kinds.last().map_or(FlowKind::Bulk, |(k, _)| *k)
    }

    fn host(&self, rng: &mut impl Rng) -> String {
        self.hosts[self.host_pick.sample(rng)].clone()
    }

    pub(crate) fn endpoints(&self, rng: &mut impl Rng, kind: FlowKind) -> Endpoints {
        let v6 = rng.gen_bool(self.mix.ipv6_share);
        let (client, server) = if v6 {
            let c = self.client6[rng.gen_range(0..self.client6.len())];
            let s = self.server6[rng.gen_range(0..self.server6.len())];
            (dist::addr6(rng, &c), dist::addr6(rng, &s))
        } else {
            let c = self.client4[rng.gen_range(0..self.client4.len())];
            let s = self.server4[rng.gen_range(0..self.server4.len())];
            (dist::addr4(rng, &c), dist::addr4(rng, &s))
        };
        let vlan = if self.mix.vlan_share > 0.0 && rng.gen_bool(self.mix.vlan_share) {
            self.mix.vlan_ids.choose(rng).copied()
        } else {
            None
        };
        let mut client_mac = [0x02, 0, 0, 0, 0, 0];
        let tail = match client {
            IpAddr::V4(a) => a.octets()[1..].to_vec(),
            IpAddr::V6(a) => a.octets()[13..].to_vec(),
        };
        client_mac[3..].copy_from_slice(&tail);
        Endpoints {
            client_mac,
            server_mac: [0x02, 0xfe, 0, 0, 0, 1],
            vlan,
            client,
            server,
            client_port: rng.gen_range(32_768..61_000),
            server_port: server_port(rng, kind),
        }
    }
}

fn server_port(rng: &mut impl Rng, kind: FlowKind) -> u16 {
    match kind {
        FlowKind::SynScan => *[22, 23, 80, 443, 445, 3389, 8080, 8443, 25, 21].choose(rng).unwrap_or(&80),
        FlowKind::Tls12 | FlowKind::Tls13 | FlowKind::Video | FlowKind::Quic => 443,
        FlowKind::Http => {
            if rng.gen_bool(0.9) {
                80
            } else {
                8080
            }
        }
        FlowKind::DnsUdp | FlowKind::DnsTcp => 53,
        FlowKind::Ssh => 22,
        FlowKind::OpenvpnUdp | FlowKind::OpenvpnTcp => 1194,
        FlowKind::Bulk => *[5001, 5201, 9000].choose(rng).unwrap_or(&5001),
        FlowKind::Udp => rng.gen_range(40_000..50_000),
        FlowKind::TcpRst => *[3306, 5432, 6379, 8888].choose(rng).unwrap_or(&8888),
        FlowKind::Idle => *[8765, 12000, 23456].choose(rng).unwrap_or(&12000),
    }
}

/// Everything decided before the flow is built.
#[derive(Debug, Clone)]
pub struct FlowSpec {
    /// Flow id.
    pub id: u64,
    /// Kind.
    pub kind: FlowKind,
    /// Addresses and ports.
    pub ep: Endpoints,
    /// First packet time.
    pub start_ns: u64,
    /// Payload size budget (bytes).
    pub size: u64,
    /// This flow reuses a closed flow's five-tuple.
    pub reused_tuple: bool,
}

fn empty_truth(spec: &FlowSpec) -> FlowTruth {
    FlowTruth {
        id: spec.id,
        kind: spec.kind,
        proto: if spec.kind.is_tcp() { L4Proto::Tcp } else { L4Proto::Udp },
        client: spec.ep.client,
        client_port: spec.ep.client_port,
        server: spec.ep.server,
        server_port: spec.ep.server_port,
        vlan: spec.ep.vlan,
        start_ns: spec.start_ns,
        end_ns: spec.start_ns,
        sni: None,
        alpn: Vec::new(),
        tls_version: None,
        pq_key_share: false,
        hosts: Vec::new(),
        uris: Vec::new(),
        user_agents: Vec::new(),
        pipelined: false,
        qnames: Vec::new(),
        dns: Vec::new(),
        ssh_client: None,
        ssh_server: None,
        resolution: None,
        segments: None,
        tls_auth: None,
        to_server: DirStats::default(),
        to_client: DirStats::default(),
        end: End::None,
        reused_tuple: spec.reused_tuple,
    }
}

fn app_exchange(rng: &mut impl Rng, msgs: &mut Vec<Msg>, size: u64) {
    let rounds = (size / 50_000).clamp(1, 20);
    for _ in 0..rounds {
        let up = rng.gen_range(150..800);
        msgs.push(Msg::new(Dir::ToServer, tls::app_data(rng, up)).after(rng.gen_range(0..30_000_000)));
        let down = (size / rounds) as usize;
        let lazy = Lazy::TlsRecords { plain: down, seed: rng.gen() };
        msgs.push(Msg::lazy(Dir::ToClient, lazy).after(rng.gen_range(0..2_000_000)));
    }
}

fn random_exchange(rng: &mut impl Rng, msgs: &mut Vec<Msg>, size: u64, rounds: u64) {
    for _ in 0..rounds {
        let up = rng.gen_range(20..400);
        msgs.push(Msg::new(Dir::ToServer, crate::proto::random_vec(rng, up)).after(rng.gen_range(0..50_000_000)));
        let down = (size / rounds).max(1) as usize;
        msgs.push(crate::proto::random_msg(rng, Dir::ToClient, down));
    }
}

enum Carrier {
    Tcp(TcpEnd),
    Udp,
    Syn,
}

/// One frame of a flow: its bytes, or (unfragmented TCP) what it takes to build them.
#[derive(Debug)]
pub struct Pending {
    /// Capture timestamp.
    pub ts_ns: u64,
    frame: PendingFrame,
}

#[derive(Debug)]
enum PendingFrame {
    Ready(Vec<u8>),
    Deferred { dir: Dir, proto: u8, ident: u32, ttl: u8, l4: L4 },
}

/// A flow's frames in time order, with what it takes to build the deferred ones.
#[derive(Debug)]
pub struct FlowFrames {
    /// The flow's endpoints.
    pub ep: Endpoints,
    /// The flow's messages (payload source of deferred TCP segments).
    pub msgs: Vec<Msg>,
    /// The frames, sorted by time.
    pub frames: Vec<Pending>,
}

impl FlowFrames {
    /// The packet of frame `p` (one of `self.frames`).
    pub fn packet(&self, p: Pending) -> Packet {
        let data = match p.frame {
            PendingFrame::Ready(d) => d,
            PendingFrame::Deferred { dir, proto, ident, ttl, l4 } => {
                let l4 = l4.build(&self.ep, dir, &self.msgs);
                let mut data = Vec::new();
                wire::frames(&self.ep, dir, proto, l4, &IpOpts { ident, ttl, fragment: None }, |f| data = f);
                data
            }
        };
        Packet { ts_ns: p.ts_ns, data }
    }
}

/// Build one flow's packets (sorted by time) and its ground truth.
pub fn build(plan: &Plan, spec: &FlowSpec, rng: &mut ChaCha8Rng) -> (Vec<Packet>, FlowTruth) {
    let (mut f, truth) = build_deferred(plan, spec, rng);
    let frames = std::mem::take(&mut f.frames);
    (frames.into_iter().map(|p| f.packet(p)).collect(), truth)
}

/// Like [`build`], but unfragmented TCP frames are only built by [`FlowFrames::packet`],
/// so a long flow holds little memory until its packets are due. Same bytes as `build`.
pub fn build_deferred(plan: &Plan, spec: &FlowSpec, rng: &mut ChaCha8Rng) -> (FlowFrames, FlowTruth) {
    let mix = &plan.mix;
    let mut truth = empty_truth(spec);
    let size = spec.size.min(MAX_FLOW_BYTES);
    let tcp_end = {
        let u: f64 = rng.gen();
        if u < mix.tcp_ends.rst {
            TcpEnd::Rst { by_client: rng.gen_bool(0.3) }
        } else if u < mix.tcp_ends.rst + mix.tcp_ends.idle {
            TcpEnd::Idle
        } else {
            TcpEnd::Fin { client_first: rng.gen_bool(0.6) }
        }
    };
    let mut msgs = Vec::new();
    let carrier = match spec.kind {
        FlowKind::SynScan => Carrier::Syn,
        FlowKind::Tls12 | FlowKind::Tls13 => {
            let tls13 = spec.kind == FlowKind::Tls13;
            let sni = rng.gen_bool(0.95).then(|| plan.host(rng));
            let alpn: &[&str] = match rng.gen_range(0..10) {
                0..=6 => &["h2", "http/1.1"],
                7 | 8 => &["http/1.1"],
                _ => &[],
            };
            let pq = tls13 && rng.gen_bool(mix.pq_share);
            msgs = tls::handshake_msgs(rng, tls13, sni.as_deref(), alpn, pq);
            app_exchange(rng, &mut msgs, size);
            truth.sni = sni;
            truth.alpn = alpn.iter().map(|s| s.to_string()).collect();
            truth.tls_version = Some(if tls13 { "1.3" } else { "1.2" }.into());
            truth.pq_key_share = pq;
            Carrier::Tcp(tcp_end)
        }
        FlowKind::Video => {
            let host = names::VIDEO_HOSTS[rng.gen_range(0..names::VIDEO_HOSTS.len())].to_string();
            let (label, rate) = names::RESOLUTIONS[rng.gen_range(0..names::RESOLUTIONS.len())];
            let [lo, hi] = mix.video_segments;
            let segments = rng.gen_range(lo..=hi);
            msgs = tls::handshake_msgs(rng, true, Some(&host), &["h2", "http/1.1"], false);
            let seg_secs = 2;
            for s in 0..segments {
                let gap = if s == 0 { 0 } else { seg_secs * 1_000_000_000 - rng.gen_range(0..300_000_000) };
                let up = rng.gen_range(300..600);
                msgs.push(Msg::new(Dir::ToServer, tls::app_data(rng, up)).after(gap));
                // Capped like every flow size (keeps message offsets within 32 bits).
                let bytes = ((rate * seg_secs) as f64 * rng.gen_range(0.85..1.15) * mix.size_scale).min(MAX_FLOW_BYTES as f64);
                msgs.push(Msg::lazy(Dir::ToClient, Lazy::TlsRecords { plain: bytes as usize, seed: rng.gen() }));
            }
            truth.sni = Some(host);
            truth.alpn = vec!["h2".into(), "http/1.1".into()];
            truth.tls_version = Some("1.3".into());
            truth.resolution = Some(label.into());
            truth.segments = Some(segments);
            Carrier::Tcp(tcp_end)
        }
        FlowKind::Http => {
            let host = plan.host(rng);
            let n = rng.gen_range(1..=4usize);
            let ua = names::USER_AGENTS[rng.gen_range(0..names::USER_AGENTS.len())].to_string();
            let txs: Vec<http::Transaction> = (0..n)
                .map(|_| {
                    let path = names::PATHS[rng.gen_range(0..names::PATHS.len())];
                    let uri = if rng.gen_bool(0.3) { format!("{path}?id={}", rng.gen_range(0..100_000)) } else { path.to_string() };
                    http::Transaction {
                        host: host.clone(),
                        uri,
                        user_agent: ua.clone(),
                        body_len: ((size / n as u64) as f64 * rng.gen_range(0.5..1.5)) as usize,
                        chunked: rng.gen_bool(mix.http_chunked_share),
                    }
                })
                .collect();
            let pipelined = n > 1 && rng.gen_bool(mix.http_pipelined_share);
            msgs = http::conversation(rng, &txs, pipelined);
            truth.hosts = txs.iter().map(|t| t.host.clone()).collect();
            truth.uris = txs.iter().map(|t| t.uri.clone()).collect();
            truth.user_agents = txs.iter().map(|t| t.user_agent.clone()).collect();
            truth.pipelined = pipelined;
            Carrier::Tcp(tcp_end)
        }
        FlowKind::DnsUdp | FlowKind::DnsTcp => {
            let over_tcp = spec.kind == FlowKind::DnsTcp;
            let host = plan.host(rng);
            let n = if over_tcp { rng.gen_range(1..=3) } else { rng.gen_range(1..=2) };
            for q in 0..n {
                let qtype = if q % 2 == 0 { dns::QTYPE_A } else { dns::QTYPE_AAAA };
                let (answer, outcome) = match rng.gen_range(0..100) {
                    0..=69 => (dns::Answer::Address, DnsOutcome::Address),
                    70..=84 => (dns::Answer::Cname, DnsOutcome::Cname),
                    85..=94 => (dns::Answer::NxDomain, DnsOutcome::Nxdomain),
                    _ if !over_tcp => (dns::Answer::Unanswered, DnsOutcome::Unanswered),
                    _ => (dns::Answer::NxDomain, DnsOutcome::Nxdomain),
                };
                let name = if answer == dns::Answer::NxDomain {
                    format!("x{:06x}.{host}", rng.gen_range(0..0xff_ffffu32))
                } else {
                    host.clone()
                };
                let id: u16 = rng.gen();
                let query = dns::query(id, &name, qtype);
                let resp = dns::response(rng, id, &name, qtype, answer);
                let frame = |m: &[u8]| if over_tcp { dns::tcp_framed(m) } else { m.to_vec() };
                msgs.push(Msg::key(Dir::ToServer, frame(&query)).after(rng.gen_range(0..1_000_000)));
                if let Some(r) = resp {
                    msgs.push(Msg::new(Dir::ToClient, frame(&r)).after(rng.gen_range(0..5_000_000)));
                }
                truth.qnames.push(name.clone());
                truth.dns.push(DnsQuery { name, qtype: if qtype == dns::QTYPE_A { "A" } else { "AAAA" }.into(), id, outcome });
            }
            if over_tcp {
                Carrier::Tcp(TcpEnd::Fin { client_first: rng.gen_bool(0.5) })
            } else {
                Carrier::Udp
            }
        }
        FlowKind::Quic => {
            let host = plan.host(rng);
            let pq = rng.gen_bool(mix.pq_share);
            msgs = quic::conversation(rng, &host, pq, size as usize);
            truth.sni = Some(host);
            truth.alpn = vec!["h3".into()];
            truth.tls_version = Some("1.3".into());
            truth.pq_key_share = pq;
            Carrier::Udp
        }
        FlowKind::Ssh => {
            let c = ssh::CLIENT_VERSIONS[rng.gen_range(0..ssh::CLIENT_VERSIONS.len())];
            let s = ssh::SERVER_VERSIONS[rng.gen_range(0..ssh::SERVER_VERSIONS.len())];
            msgs = ssh::conversation(rng, c, s, size as usize);
            truth.ssh_client = Some(c.into());
            truth.ssh_server = Some(s.into());
            Carrier::Tcp(tcp_end)
        }
        FlowKind::OpenvpnUdp | FlowKind::OpenvpnTcp => {
            let over_tcp = spec.kind == FlowKind::OpenvpnTcp;
            let tls_auth = rng.gen_bool(mix.openvpn_tls_auth_share);
            msgs = openvpn::conversation(rng, over_tcp, tls_auth, size as usize);
            truth.tls_auth = Some(tls_auth);
            if over_tcp {
                Carrier::Tcp(tcp_end)
            } else {
                Carrier::Udp
            }
        }
        FlowKind::Bulk => {
            let req = rng.gen_range(60..300);
            if rng.gen_bool(0.75) {
                msgs.push(Msg::new(Dir::ToServer, crate::proto::random_vec(rng, req)));
                msgs.push(Msg::lazy(Dir::ToClient, Lazy::Random { len: size as usize, seed: rng.gen() }));
            } else {
                msgs.push(Msg::lazy(Dir::ToServer, Lazy::Random { len: size as usize, seed: rng.gen() }));
                msgs.push(Msg::new(Dir::ToClient, crate::proto::random_vec(rng, req)));
            }
            Carrier::Tcp(tcp_end)
        }
        FlowKind::Udp => {
            let mut left = size as usize;
            let max = if spec.ep.client.is_ipv4() { 1472 } else { 1452 };
            while left > 0 {
                let n = left.min(rng.gen_range(40..=max));
                left -= n;
                let dir = if rng.gen_bool(0.4) { Dir::ToServer } else { Dir::ToClient };
                let dir = if msgs.is_empty() { Dir::ToServer } else { dir };
                let mut d = crate::proto::random_vec(rng, n);
                // Version bits 0 keep RTP/RTCP heuristics from claiming random payloads.
                d[0] &= 0x3f;
                msgs.push(Msg::new(dir, d).after(rng.gen_range(0..2_000_000)));
            }
            Carrier::Udp
        }
        FlowKind::TcpRst => {
            random_exchange(rng, &mut msgs, (size / 8).max(100), 1);
            Carrier::Tcp(TcpEnd::Rst { by_client: rng.gen_bool(0.5) })
        }
        FlowKind::Idle => {
            let rounds = rng.gen_range(1..=3);
            random_exchange(rng, &mut msgs, (size / 4).max(100), rounds);
            Carrier::Tcp(TcpEnd::Idle)
        }
    };
    let rtt_ns = (dist::log_uniform(rng, mix.rtt_ms[0], mix.rtt_ms[1]) * 1e6) as u64;
    let timing = Timing { start_ns: spec.start_ns, rtt_ns, ns_per_byte: plan.ns_per_byte };
    let v4 = spec.ep.client.is_ipv4();
    let mss = if v4 { usize::from(mix.mss) } else { usize::from(mix.mss) - 20 };
    let isn = (rng.gen(), rng.gen());
    let pkts = match carrier {
        Carrier::Syn => transport::syn_probe(&spec.ep, spec.start_ns, isn.0),
        Carrier::Udp => transport::udp_deferred(&timing, &msgs),
        Carrier::Tcp(end) => {
            truth.end = match end {
                TcpEnd::Fin { .. } => End::Fin,
                TcpEnd::Rst { .. } => End::Rst,
                TcpEnd::Idle => End::None,
            };
            transport::tcp_deferred(&timing, mss, isn, &msgs, end, rng)
        }
    };
    let pkts = impair(pkts, &mix.impair, rtt_ns, rng);
    let frames = frame_all(&spec.ep, pkts, &msgs, &mix.impair, rng, &mut truth);
    (FlowFrames { ep: spec.ep, msgs, frames }, truth)
}

/// Apply loss, duplication, retransmission and reordering to one flow's datagrams.
pub fn impair(mut pkts: Vec<Pkt>, im: &Impairments, rtt_ns: u64, rng: &mut impl Rng) -> Vec<Pkt> {
    if im.loss == 0.0 && im.duplicate == 0.0 && im.retransmit == 0.0 && im.reorder == 0.0 {
        return pkts;
    }
    if im.loss > 0.0 {
        pkts.retain(|p| p.key || !rng.gen_bool(im.loss));
    }
    if im.duplicate > 0.0 || im.retransmit > 0.0 {
        let mut out = Vec::with_capacity(pkts.len() + 4);
        let mut resend = Vec::new();
        for p in pkts {
            if im.duplicate > 0.0 && rng.gen_bool(im.duplicate) {
                out.push(p.clone());
            }
            if p.tcp_data && im.retransmit > 0.0 && rng.gen_bool(im.retransmit) {
                let mut r = p.clone();
                r.ts_ns += 3 * rtt_ns.max(1_000_000);
                resend.push(r);
            }
            out.push(p);
        }
        out.extend(resend);
        out.sort_by_key(|p| p.ts_ns);
        pkts = out;
    }
    if im.reorder > 0.0 && pkts.len() > 1 {
        let mut i = 0;
        while i + 1 < pkts.len() {
            if rng.gen_bool(im.reorder) {
                let (a, b) = (pkts[i].ts_ns, pkts[i + 1].ts_ns);
                pkts.swap(i, i + 1);
                pkts[i].ts_ns = a;
                pkts[i + 1].ts_ns = b;
                i += 2;
            } else {
                i += 1;
            }
        }
    }
    pkts
}

fn frame_all(ep: &Endpoints, pkts: Vec<Pkt>, msgs: &[Msg], im: &Impairments, rng: &mut impl Rng, truth: &mut FlowTruth) -> Vec<Pending> {
    let mut out = Vec::with_capacity(pkts.len() + 2);
    let mut ident_c: u32 = rng.gen();
    let mut ident_s: u32 = rng.gen();
    for p in pkts {
        let l4_len = p.l4.len();
        let frag = (im.fragment > 0.0 && l4_len > im.fragment_size && rng.gen_bool(im.fragment))
            .then_some(im.fragment_size);
        let (ident, ttl, stats) = match p.dir {
            Dir::ToServer => (&mut ident_c, 64, &mut truth.to_server),
            Dir::ToClient => (&mut ident_s, 52, &mut truth.to_client),
        };
        *ident = ident.wrapping_add(1);
        stats.packets += 1;
        stats.payload += p.payload_len as u64;
        let ts_ns = p.ts_ns;
        match (p.l4, frag) {
            (l4 @ (L4::Tcp(_) | L4::Udp { .. }), None) => {
                stats.frames += 1;
                stats.bytes += (ep.l3_overhead() + l4_len) as u64;
                out.push(Pending { ts_ns, frame: PendingFrame::Deferred { dir: p.dir, proto: p.proto, ident: *ident, ttl, l4 } });
            }
            (l4, frag) => {
                let l4 = l4.build(ep, p.dir, msgs);
                wire::frames(ep, p.dir, p.proto, l4, &IpOpts { ident: *ident, ttl, fragment: frag }, |f| {
                    stats.frames += 1;
                    stats.bytes += f.len() as u64;
                    out.push(Pending { ts_ns, frame: PendingFrame::Ready(f) });
                });
            }
        }
    }
    if let (Some(first), Some(last)) = (out.first(), out.last()) {
        truth.start_ns = first.ts_ns;
        truth.end_ns = last.ts_ns;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn tcp_flags(p: &Packet) -> u8 {
        let mut off = 14;
        if p.data[12..14] == [0x81, 0] {
            off += 4;
        }
        off += if p.data[off - 2..off] == [8, 0] { 20 } else { 40 };
        p.data[off + 13]
    }

    fn plan(preset: &str) -> Plan {
        Plan::new(&Mix::preset(preset).unwrap()).unwrap()
    }

    fn build_kind(kind: FlowKind, seed: u64, im: Impairments) -> (Vec<Packet>, FlowTruth) {
        let mut p = plan("impaired");
        p.mix.impair = im;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let ep = p.endpoints(&mut rng, kind);
        let spec = FlowSpec { id: 0, kind, ep, start_ns: 1_000, size: 30_000, reused_tuple: false };
        build(&p, &spec, &mut rng)
    }

    #[test]
    fn total_loss_keeps_only_key_packets() {
        let lossy = Impairments { loss: 1.0, ..Impairments::default() };
        for seed in 0..5 {
            let (pkts, t) = build_kind(FlowKind::Http, seed, lossy.clone());
            let (all, _) = build_kind(FlowKind::Http, seed, Impairments::default());
            assert!(pkts.len() < all.len());
            // SYN, SYN-ACK, request segments and the FIN/RST segments survive.
            assert!(pkts.len() >= 3, "SYN, SYN-ACK and the request survive");
            let fins = pkts.iter().filter(|p| tcp_flags(p) & crate::wire::tcp_flags::FIN != 0).count();
            let rsts = pkts.iter().filter(|p| tcp_flags(p) & crate::wire::tcp_flags::RST != 0).count();
            match t.end {
                End::Fin => assert_eq!((fins, rsts), (2, 0)),
                End::Rst => assert_eq!((fins, rsts), (0, 1)),
                End::None => assert_eq!((fins, rsts), (0, 0)),
            }
        }
        let (pkts, t) = build_kind(FlowKind::Udp, 3, lossy);
        assert_eq!(t.to_server.packets + t.to_client.packets, pkts.len() as u64);
        assert!(!pkts.is_empty(), "the first datagram always survives");
    }

    #[test]
    fn truth_counts_match_built_packets() {
        for (i, kind) in FlowKind::ALL.into_iter().enumerate() {
            let (pkts, t) = build_kind(kind, i as u64, Impairments::default());
            assert_eq!(t.kind, kind);
            let bytes: u64 = pkts.iter().map(|p| p.data.len() as u64).sum();
            assert_eq!(t.to_server.frames + t.to_client.frames, pkts.len() as u64, "{kind}");
            assert_eq!(t.to_server.bytes + t.to_client.bytes, bytes, "{kind}");
            assert_eq!((t.start_ns, t.end_ns), (pkts[0].ts_ns, pkts[pkts.len() - 1].ts_ns));
        }
    }
}
