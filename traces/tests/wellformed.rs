//! Every generated frame is well formed, checked by an independent parser and checksum
//! routine written for this test: Ethernet/802.1Q, IPv4 (header checksum, lengths),
//! IPv6 (payload length, fragment header), TCP/UDP checksums over the pseudo header —
//! over the reassembled datagram for fragments. Plus per-flow counts against the truth.

use std::collections::BTreeMap;

use proptest::prelude::*;
use weir_tracegen::{generate, FlowKind, Mix, Packet};

/// RFC 1071 checksum over the concatenation of `parts`, computed byte by byte.
fn ones_complement(parts: &[&[u8]]) -> u16 {
    let bytes: Vec<u8> = parts.iter().flat_map(|p| p.iter().copied()).collect();
    let mut sum: u32 = 0;
    let mut i = 0;
    while i < bytes.len() {
        let hi = u32::from(bytes[i]);
        let lo = if i + 1 < bytes.len() { u32::from(bytes[i + 1]) } else { 0 };
        sum += (hi << 8) | lo;
        sum = (sum & 0xffff) + (sum >> 16);
        i += 2;
    }
    !(sum as u16)
}

#[derive(Debug, Default)]
struct Datagram {
    pieces: BTreeMap<usize, Vec<u8>>,
    total: Option<usize>,
    proto: u8,
    src: Vec<u8>,
    dst: Vec<u8>,
}

type Key = (Vec<u8>, Vec<u8>, u32, u8);
/// (source, destination, protocol, L4 datagram)
type Whole = (Vec<u8>, Vec<u8>, u8, Vec<u8>);
type TupleKey = (Vec<u8>, Vec<u8>, u16, u16);

/// Check one frame; returns the L4 datagram when complete (or a fragment bookkeeping
/// result). Panics with a message on any malformation.
fn check_frame(f: &[u8], frags: &mut BTreeMap<Key, Datagram>) -> Option<Whole> {
    assert!(f.len() >= 14, "short frame");
    let mut off = 12;
    let mut et = u16::from_be_bytes([f[off], f[off + 1]]);
    if et == 0x8100 {
        let vid = u16::from_be_bytes([f[14], f[15]]) & 0x0fff;
        assert!((1..4095).contains(&vid), "bad VLAN id {vid}");
        off += 4;
        et = u16::from_be_bytes([f[off], f[off + 1]]);
    }
    let ip = &f[off + 2..];
    match et {
        0x0800 => {
            assert_eq!(ip[0] >> 4, 4);
            let ihl = usize::from(ip[0] & 0xf) * 4;
            assert_eq!(ihl, 20);
            assert_eq!(ones_complement(&[&ip[..ihl]]), 0, "IPv4 header checksum");
            let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
            assert_eq!(total, ip.len(), "IPv4 total length vs frame");
            let fo = u16::from_be_bytes([ip[6], ip[7]]);
            let more = fo & 0x2000 != 0;
            let offset = usize::from(fo & 0x1fff) * 8;
            let body = ip[ihl..].to_vec();
            let (src, dst) = (ip[12..16].to_vec(), ip[16..20].to_vec());
            if !more && offset == 0 {
                return Some((src, dst, ip[9], body));
            }
            assert!(fo & 0x4000 == 0, "DF set on a fragment");
            let id = u32::from(u16::from_be_bytes([ip[4], ip[5]]));
            reassemble(frags, (src, dst, id, ip[9]), offset, more, body)
        }
        0x86dd => {
            assert_eq!(ip[0] >> 4, 6);
            let plen = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
            assert_eq!(plen + 40, ip.len(), "IPv6 payload length vs frame");
            let (src, dst) = (ip[8..24].to_vec(), ip[24..40].to_vec());
            if ip[6] == 44 {
                let fh = &ip[40..48];
                let fo = u16::from_be_bytes([fh[2], fh[3]]);
                let id = u32::from_be_bytes([fh[4], fh[5], fh[6], fh[7]]);
                reassemble(frags, (src, dst, id, fh[0]), usize::from(fo >> 3) * 8, fo & 1 == 1, ip[48..].to_vec())
            } else {
                Some((src, dst, ip[6], ip[40..].to_vec()))
            }
        }
        other => panic!("unexpected ethertype {other:#06x}"),
    }
}

fn reassemble(
    frags: &mut BTreeMap<Key, Datagram>,
    key: Key,
    offset: usize,
    more: bool,
    body: Vec<u8>,
) -> Option<Whole> {
    assert!(!more || body.len() % 8 == 0, "non-final fragment not a multiple of 8");
    let d = frags.entry(key.clone()).or_default();
    d.proto = key.3;
    d.src = key.0.clone();
    d.dst = key.1.clone();
    if !more {
        d.total = Some(offset + body.len());
    }
    d.pieces.insert(offset, body);
    let total = d.total?;
    let mut buf = Vec::with_capacity(total);
    for (o, p) in &d.pieces {
        if *o != buf.len() {
            return None;
        }
        buf.extend_from_slice(p);
    }
    if buf.len() != total {
        return None;
    }
    let d = frags.remove(&key)?;
    Some((d.src, d.dst, d.proto, buf))
}

fn check_l4(src: &[u8], dst: &[u8], proto: u8, l4: &[u8]) {
    let len = (l4.len() as u32).to_be_bytes();
    let pseudo: Vec<u8> = if src.len() == 4 {
        [src, dst, &[0, proto], &len[2..]].concat()
    } else {
        [src, dst, &len[..], &[0, 0, 0, proto]].concat()
    };
    match proto {
        6 => {
            assert!(l4.len() >= 20);
            let doff = usize::from(l4[12] >> 4) * 4;
            assert!(doff >= 20 && doff <= l4.len(), "TCP data offset");
            assert_eq!(ones_complement(&[&pseudo, l4]), 0, "TCP checksum");
        }
        17 => {
            assert_eq!(usize::from(u16::from_be_bytes([l4[4], l4[5]])), l4.len(), "UDP length");
            assert_ne!(&l4[6..8], &[0, 0], "UDP checksum omitted");
            assert_eq!(ones_complement(&[&pseudo, l4]), 0, "UDP checksum");
        }
        p => panic!("unexpected IP protocol {p}"),
    }
}

/// Check every frame; returns the number of complete L4 datagrams.
fn check_all(pkts: &[Packet]) -> usize {
    let mut frags = BTreeMap::new();
    let mut n = 0;
    for w in pkts.windows(2) {
        assert!(w[0].ts_ns <= w[1].ts_ns, "timestamps go back");
    }
    for p in pkts {
        if let Some((s, d, proto, l4)) = check_frame(&p.data, &mut frags) {
            check_l4(&s, &d, proto, &l4);
            n += 1;
        }
    }
    assert!(frags.is_empty(), "{} datagrams never completed", frags.len());
    n
}

fn mix_from(weights: &[f64; 15], impair: [f64; 5], v6: f64, vlan: f64, flows: u64) -> Mix {
    let mut m = Mix::preset("impaired").unwrap();
    let k = &mut m.kinds;
    let slots = [
        &mut k.syn_scan, &mut k.tls12, &mut k.tls13, &mut k.http, &mut k.dns_udp, &mut k.dns_tcp, &mut k.quic, &mut k.ssh,
        &mut k.openvpn_udp, &mut k.openvpn_tcp, &mut k.video, &mut k.bulk, &mut k.udp, &mut k.tcp_rst, &mut k.idle,
    ];
    for (s, w) in slots.into_iter().zip(weights) {
        *s = *w;
    }
    m.kinds.bulk += 0.01;
    m.impair.loss = impair[0];
    m.impair.reorder = impair[1];
    m.impair.duplicate = impair[2];
    m.impair.retransmit = impair[3];
    m.impair.fragment = impair[4];
    m.impair.port_reuse = 0.1;
    m.ipv6_share = v6;
    m.vlan_share = vlan;
    m.flows = flows;
    m.size_scale = 0.05;
    m.mean_packet_size = 0;
    m
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn every_frame_is_well_formed(
        seed: u64,
        weights in prop::array::uniform15(0.0f64..1.0),
        impair in prop::array::uniform5(0.0f64..0.3),
        v6 in 0.0f64..=1.0,
        vlan in 0.0f64..=1.0,
    ) {
        let mix = mix_from(&weights, impair, v6, vlan, 25);
        let (pkts, truth) = generate(&mix, seed).unwrap();
        let datagrams = check_all(&pkts);
        let want: u64 = truth.iter().map(|t| t.to_server.packets + t.to_client.packets).sum();
        prop_assert_eq!(datagrams as u64, want);
        let frames: u64 = truth.iter().map(|t| t.to_server.frames + t.to_client.frames).sum();
        prop_assert_eq!(frames, pkts.len() as u64);
    }
}

#[test]
fn fragments_happen_and_reassemble_in_both_families() {
    let mut w = [0.0; 15];
    w[4] = 1.0; // dns_udp
    w[6] = 1.0; // quic
    w[1] = 1.0; // tls12 (certificates)
    let mix = mix_from(&w, [0.0, 0.0, 0.0, 0.0, 1.0], 0.5, 0.2, 40);
    let (pkts, _) = generate(&mix, 9).unwrap();
    let v4_frag = pkts.iter().filter(|p| p.data.len() > 21 && p.data[12..14] == [8, 0] && p.data[20] & 0x20 != 0).count();
    let v6_frag = pkts.iter().filter(|p| p.data.len() > 21 && p.data[12..14] == [0x86, 0xdd] && p.data[20] == 44).count();
    assert!(v4_frag > 0 && v6_frag > 0, "v4 {v4_frag} v6 {v6_frag}");
    check_all(&pkts);
}

#[test]
fn per_flow_counts_match_the_wire() {
    let mut mix = Mix::preset("default").unwrap();
    mix.flows = 300;
    mix.size_scale = 0.1;
    let (pkts, truth) = generate(&mix, 77).unwrap();
    // Count frames by (src, dst, sport, dport) over unfragmented IPv4/IPv6 frames.
    let mut seen: BTreeMap<TupleKey, (u64, u64)> = BTreeMap::new();
    for p in &pkts {
        let mut off = 12;
        if p.data[12..14] == [0x81, 0] {
            off += 4;
        }
        let ip = &p.data[off + 2..];
        let (src, dst, l4) = if ip[0] >> 4 == 4 { (&ip[12..16], &ip[16..20], &ip[20..]) } else { (&ip[8..24], &ip[24..40], &ip[40..]) };
        let key = (src.to_vec(), dst.to_vec(), u16::from_be_bytes([l4[0], l4[1]]), u16::from_be_bytes([l4[2], l4[3]]));
        let e = seen.entry(key).or_default();
        e.0 += 1;
        e.1 += p.data.len() as u64;
    }
    let ip_bytes = |a: &std::net::IpAddr| match a {
        std::net::IpAddr::V4(v) => v.octets().to_vec(),
        std::net::IpAddr::V6(v) => v.octets().to_vec(),
    };
    for t in &truth {
        let c2s = seen.get(&(ip_bytes(&t.client), ip_bytes(&t.server), t.client_port, t.server_port)).copied().unwrap_or_default();
        let s2c = seen.get(&(ip_bytes(&t.server), ip_bytes(&t.client), t.server_port, t.client_port)).copied().unwrap_or_default();
        assert_eq!((c2s.0, c2s.1), (t.to_server.frames, t.to_server.bytes), "flow {} to_server", t.id);
        assert_eq!((s2c.0, s2c.1), (t.to_client.frames, t.to_client.bytes), "flow {} to_client", t.id);
        if t.kind == FlowKind::SynScan {
            assert_eq!(t.end, weir_tracegen::End::None);
        }
    }
}

#[test]
fn same_seed_same_bytes_different_seed_different_bytes() {
    let mut mix = Mix::preset("impaired").unwrap();
    mix.flows = 150;
    let a = generate(&mix, 5).unwrap();
    let b = generate(&mix, 5).unwrap();
    assert_eq!(a.0, b.0);
    assert_eq!(a.1, b.1);
    let c = generate(&mix, 6).unwrap();
    assert_ne!(a.0, c.0);
}

#[test]
fn replay_loops_rewrite_clients_and_keep_checksums_right() {
    let mut mix = Mix::preset("impaired").unwrap();
    mix.flows = 60;
    mix.size_scale = 0.05;
    let (pkts, _) = generate(&mix, 8).unwrap();
    let n = pkts.len();
    let mut r = weir_tracegen::Replay::new(pkts.clone());
    let loop0: Vec<Packet> = (0..n).map(|_| r.next_packet().unwrap()).collect();
    assert_eq!(loop0, pkts, "loop 0 is the trace itself");
    let loop1: Vec<Packet> = (0..n).map(|_| r.next_packet().unwrap()).collect();
    assert_eq!(r.loops(), 2);
    check_all(&loop1);
    assert!(loop1[0].ts_ns > pkts[n - 1].ts_ns, "loop 1 starts after loop 0 ends");
    let mut changed = 0;
    for (a, b) in pkts.iter().zip(&loop1) {
        assert_eq!(a.data.len(), b.data.len());
        if a.data != b.data {
            changed += 1;
        }
    }
    assert_eq!(changed, n, "every packet of loop 1 differs from loop 0");
    // Loops past 65535 also rewrite client ports; frames stay well formed.
    let mut far = weir_tracegen::Replay::new(pkts.clone()).starting_at_loop(70_001);
    let more: Vec<Packet> = (0..n).map(|_| far.next_packet().unwrap()).collect();
    check_all(&more);
    let ports_changed = pkts.iter().zip(&more).filter(|(a, b)| a.data[34..38] != b.data[34..38]).count();
    assert!(ports_changed > 0);
}
