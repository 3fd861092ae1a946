//! RSS, RETA and filter offload against the software NIC model.
//!
//! Virtual devices have no redirection table and no flow API, so this is
//! where that logic is exercised: what a real NIC accepts is approximated by
//! the model's presets (`full_featured`, `limited`, `virtual_device`), not
//! checked against hardware. Pure Rust: runs without DPDK.

use proptest::prelude::*;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use weir_dpdk::flow::{install_hw_filter, patterns, remove_offload, widenings, RuleOutcome};
use weir_dpdk::model::{FlowSupport, ModelNic, Verdict};
use weir_dpdk::nic::{rss_types, FlowAction, FlowItem, NicControl, RssPlan};
use weir_dpdk::reta::RetaControl;
use weir_filter::hw::{HwFilter, HwIp, HwL4, HwPrefix, HwRule};

#[derive(Copy, Clone, Debug)]
struct Pkt {
    src: IpAddr,
    dst: IpAddr,
    udp: bool,
    sport: u16,
    dport: u16,
}

impl Pkt {
    fn reversed(self) -> Pkt {
        Pkt {
            src: self.dst,
            dst: self.src,
            sport: self.dport,
            dport: self.sport,
            ..self
        }
    }

    /// An Ethernet frame (checksums left zero: the model does not verify them).
    fn frame(&self) -> Vec<u8> {
        let proto = if self.udp { 17u8 } else { 6 };
        let mut l4 = vec![0u8; if self.udp { 8 } else { 20 }];
        l4[0..2].copy_from_slice(&self.sport.to_be_bytes());
        l4[2..4].copy_from_slice(&self.dport.to_be_bytes());
        if self.udp {
            l4[4..6].copy_from_slice(&8u16.to_be_bytes());
        } else {
            l4[12] = 5 << 4;
            l4[13] = 0x10;
        }
        let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];
        match (self.src, self.dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                f.extend([0x08, 0x00, 0x45, 0]);
                f.extend((20 + l4.len() as u16).to_be_bytes());
                f.extend([0, 1, 0, 0, 64, proto, 0, 0]);
                f.extend(s.octets());
                f.extend(d.octets());
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                f.extend([0x86, 0xdd, 0x60, 0, 0, 0]);
                f.extend((l4.len() as u16).to_be_bytes());
                f.extend([proto, 64]);
                f.extend(s.octets());
                f.extend(d.octets());
            }
            _ => unreachable!("same family"),
        }
        f.extend(l4);
        f
    }
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

fn prefix_has(p: &HwPrefix, a: IpAddr) -> bool {
    match (p.addr, a) {
        (IpAddr::V4(n), IpAddr::V4(x)) => {
            let m = if p.len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(p.len))
            };
            u32::from(n) & m == u32::from(x) & m
        }
        (IpAddr::V6(n), IpAddr::V6(x)) => {
            let m = if p.len == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(p.len))
            };
            u128::from(n) & m == u128::from(x) & m
        }
        _ => false,
    }
}

/// A hardware rule evaluated directly on the packet: the model of "what the filter wants".
fn rule_accepts(r: &HwRule, p: &Pkt) -> bool {
    r.ip.is_none_or(|ip| (ip == HwIp::V4) == p.src.is_ipv4())
        && r.src_addr.is_none_or(|a| prefix_has(&a, p.src))
        && r.dst_addr.is_none_or(|a| prefix_has(&a, p.dst))
        && r.l4.is_none_or(|l| (l == HwL4::Udp) == p.udp)
        && r.src_port.is_none_or(|x| x == p.sport)
        && r.dst_port.is_none_or(|x| x == p.dport)
}

fn rule(
    ip: Option<HwIp>,
    dst: Option<(IpAddr, u8)>,
    l4: Option<HwL4>,
    dport: Option<u16>,
) -> HwRule {
    HwRule {
        ip,
        src_addr: None,
        dst_addr: dst.map(|(addr, len)| HwPrefix { addr, len }),
        l4,
        src_port: None,
        dst_port: dport,
    }
}

/// `tcp dst 443 to 10.0.0.0/8`, `udp dst 53`, and IPv6 `2001:db8::/32`.
fn sample_filter() -> Vec<HwRule> {
    vec![
        rule(
            Some(HwIp::V4),
            Some((v4(10, 0, 0, 0), 8)),
            Some(HwL4::Tcp),
            Some(443),
        ),
        rule(None, None, Some(HwL4::Udp), Some(53)),
        rule(
            Some(HwIp::V6),
            Some((IpAddr::V6("2001:db8::".parse::<Ipv6Addr>().unwrap()), 32)),
            None,
            None,
        ),
    ]
}

fn rss_action(queues: u16) -> FlowAction {
    FlowAction::Rss {
        queues: (0..queues).collect(),
        types: rss_types::WANTED,
    }
}

#[test]
fn hw_rules_translate_to_rte_flow_patterns() {
    let r = sample_filter();
    assert_eq!(
        patterns(&r[0]).unwrap(),
        vec![vec![
            FlowItem::Eth,
            FlowItem::Ipv4 {
                src: None,
                dst: Some((Ipv4Addr::new(10, 0, 0, 0), 8)),
                proto: Some(6)
            },
            FlowItem::Tcp {
                src_port: None,
                dst_port: Some(443)
            },
        ]]
    );
    // A transport without an IP version needs one pattern per family.
    let p = patterns(&r[1]).unwrap();
    assert_eq!(p.len(), 2);
    assert!(matches!(
        p[0][1],
        FlowItem::Ipv4 {
            proto: Some(17),
            ..
        }
    ));
    assert!(matches!(
        p[1][1],
        FlowItem::Ipv6 {
            proto: Some(17),
            ..
        }
    ));
    assert_eq!(
        patterns(&HwRule::default_any()).unwrap(),
        vec![vec![FlowItem::Eth]]
    );
    // Broken invariants are errors, not panics.
    let bad = HwRule {
        src_addr: Some(HwPrefix {
            addr: v4(1, 2, 3, 4),
            len: 32,
        }),
        ..HwRule::default_any()
    };
    assert!(patterns(&bad).is_err());
    let bad = HwRule {
        ip: Some(HwIp::V6),
        ..bad
    };
    assert!(patterns(&bad).unwrap_err().to_string().contains("IPv6"));
    let bad = HwRule {
        dst_port: Some(1),
        ..HwRule::default_any()
    };
    assert!(patterns(&bad).is_err());
    // Widening only ever removes constraints, ending at the IP version alone.
    let w = widenings(&r[0]);
    assert_eq!(w[0], r[0]);
    assert_eq!(w.last().unwrap(), &rule(Some(HwIp::V4), None, None, None));
}

trait AnyRule {
    fn default_any() -> HwRule;
}

impl AnyRule for HwRule {
    fn default_any() -> HwRule {
        rule(None, None, None, None)
    }
}

#[test]
fn full_featured_nic_takes_every_rule_and_drops_the_rest() {
    let mut nic = ModelNic::full_featured(4);
    let filter = HwFilter::Rules(sample_filter());
    let report = install_hw_filter(&mut nic, &filter, &rss_action(4));
    assert!(report.offloaded, "{:?}", report.log);
    assert!(report
        .outcomes
        .iter()
        .all(|(_, o)| matches!(o, RuleOutcome::Exact { .. })));
    // 1 + 2 (udp for both families) + 1 accepting rules, 3 companions
    // accepting their IP fragments (10/8 TCP, UDP for both families), then the drop.
    assert_eq!(report.installed.len(), 8);
    assert!(nic.validations.iter().all(|(_, ok)| *ok));
    let https = Pkt {
        src: v4(192, 168, 1, 1),
        dst: v4(10, 1, 2, 3),
        udp: false,
        sport: 50000,
        dport: 443,
    };
    assert!(matches!(nic.classify(&https.frame()), Verdict::Queue(_)));
    let other = Pkt { dport: 80, ..https };
    assert_eq!(nic.classify(&other.frame()), Verdict::Drop);
    // A non-first fragment of a wanted TCP connection has no TCP header: the
    // port rule cannot see it, the fragment companion keeps it.
    let mut frag = https.frame();
    frag[14 + 6..14 + 8].copy_from_slice(&0x0010u16.to_be_bytes()); // offset 128 bytes
    assert!(matches!(nic.classify(&frag), Verdict::Queue(_)), "a fragment of a wanted connection is kept");
    let mut unwanted_frag = https.frame();
    unwanted_frag[14 + 16..14 + 20].copy_from_slice(&[192, 168, 9, 9]); // dst outside 10/8
    unwanted_frag[14 + 6..14 + 8].copy_from_slice(&0x0010u16.to_be_bytes());
    assert_eq!(nic.classify(&unwanted_frag), Verdict::Drop, "fragments of unwanted traffic are still dropped");
    let mut report = report;
    remove_offload(&mut nic, &mut report);
    assert_eq!(nic.rules().count(), 0);
    assert!(matches!(nic.classify(&other.frame()), Verdict::Queue(_)));
}

#[test]
fn limited_nic_widens_rules_then_falls_back_without_priorities() {
    let mut nic = ModelNic::limited(4);
    let report = install_hw_filter(&mut nic, &HwFilter::Rules(sample_filter()), &rss_action(4));
    // Prefixes and ports are refused, so each rule was widened...
    match &report.outcomes[0].1 {
        RuleOutcome::Widened { used, .. } => {
            assert_eq!(used, &rule(Some(HwIp::V4), None, Some(HwL4::Tcp), None))
        }
        o => panic!("{o:?}"),
    }
    assert!(report.log.iter().any(|l| l.contains("wider")));
    // ...but the catch-all drop needs a second priority: software only, nothing left on the NIC.
    assert!(!report.offloaded);
    assert!(report
        .log
        .iter()
        .any(|l| l.contains("catch-all drop rule refused")));
    assert_eq!(nic.rules().count(), 0);

    // With two priority levels the widened rules stay and the drop is installed.
    let mut nic = ModelNic::limited(4);
    nic.support.max_priority = 1;
    let report = install_hw_filter(&mut nic, &HwFilter::Rules(sample_filter()), &rss_action(4));
    assert!(report.offloaded, "{:?}", report.log);
    let dns = Pkt {
        src: v4(1, 1, 1, 1),
        dst: v4(8, 8, 8, 8),
        udp: true,
        sport: 5353,
        dport: 53,
    };
    assert!(matches!(nic.classify(&dns.frame()), Verdict::Queue(_)));
}

#[test]
fn unsupported_family_or_flow_api_means_software_only() {
    // No IPv6 items: the IPv6 rule cannot be expressed at any width.
    let mut nic = ModelNic::full_featured(2);
    nic.support.ipv6 = false;
    let report = install_hw_filter(&mut nic, &HwFilter::Rules(sample_filter()), &rss_action(2));
    assert!(!report.offloaded);
    assert!(matches!(report.outcomes[2].1, RuleOutcome::Software { .. }));
    assert!(report.log.iter().any(|l| l.contains("not offloaded")));
    assert_eq!(nic.rules().count(), 0, "partial rule sets are removed");

    let mut vdev = ModelNic::virtual_device(1);
    let report = install_hw_filter(
        &mut vdev,
        &HwFilter::Rules(sample_filter()),
        &FlowAction::Queue(0),
    );
    assert!(!report.offloaded && report.installed.is_empty());
    assert!(vdev.validations.iter().all(|(_, ok)| !ok));

    let mut nic = ModelNic::full_featured(2);
    let report = install_hw_filter(&mut nic, &HwFilter::AcceptAll, &rss_action(2));
    assert!(!report.offloaded && nic.validations.is_empty());

    // An action naming a queue the port lacks is refused, not installed.
    let mut nic = ModelNic::full_featured(2);
    let report = install_hw_filter(
        &mut nic,
        &HwFilter::Rules(sample_filter()),
        &FlowAction::Queue(9),
    );
    assert!(!report.offloaded && nic.rules().count() == 0);
}

fn arb_pkt() -> impl Strategy<Value = Pkt> {
    (
        any::<bool>(),
        prop::sample::select(vec![0u8, 10, 192]),
        any::<[u8; 3]>(),
        any::<[u8; 4]>(),
        any::<bool>(),
        prop::sample::select(vec![53u16, 80, 443, 1234]),
        any::<u16>(),
        any::<bool>(),
    )
        .prop_map(|(v6, net, rest, other, udp, port, eph, to_server)| {
            let (a, b) = if v6 {
                let mut x = [0u8; 16];
                x[0..4].copy_from_slice(&[0x20, 0x01, 0x0d, if net == 10 { 0xb8 } else { 0xb9 }]);
                x[13..16].copy_from_slice(&rest);
                let mut y = [0u8; 16];
                y[0] = 0xfe;
                y[12..16].copy_from_slice(&other);
                (IpAddr::V6(x.into()), IpAddr::V6(y.into()))
            } else {
                (
                    v4(net, rest[0], rest[1], rest[2]),
                    v4(other[0], other[1], other[2], other[3]),
                )
            };
            // Server `a` on a well-known port, client `b`.
            let p = Pkt {
                src: b,
                dst: a,
                udp,
                sport: eph,
                dport: port,
            };
            if to_server {
                p
            } else {
                p.reversed()
            }
        })
}

proptest! {
    /// Whatever the NIC accepts or widens, a packet the rules want is never
    /// dropped by it, and the directions of a flow that pass reach one queue.
    #[test]
    fn offload_never_drops_wanted_packets(pkts in prop::collection::vec(arb_pkt(), 1..40), limited: bool, prio2: bool) {
        let rules = sample_filter();
        let mut nic = if limited { ModelNic::limited(4) } else { ModelNic::full_featured(4) };
        if prio2 {
            nic.support.max_priority = nic.support.max_priority.max(1);
        }
        let report = install_hw_filter(&mut nic, &HwFilter::Rules(rules.clone()), &rss_action(4));
        for p in &pkts {
            let wanted = rules.iter().any(|r| rule_accepts(r, p));
            let v = nic.classify(&p.frame());
            if wanted {
                prop_assert!(matches!(v, Verdict::Queue(_)), "{p:?} wanted but {v:?}; {:?}", report.log);
            }
            if !report.offloaded {
                prop_assert!(matches!(v, Verdict::Queue(_)));
            }
            // Both directions that get through meet on one queue (the
            // filter itself may want only one direction).
            if let (Verdict::Queue(a), Verdict::Queue(b)) = (v, nic.classify(&p.reversed().frame())) {
                prop_assert_eq!(a, b, "directions split for {:?}", p);
            }
        }
    }
}

fn flows(n: u16) -> Vec<Pkt> {
    (0..n)
        .map(|i| Pkt {
            src: v4(10, 0, (i >> 8) as u8, i as u8),
            dst: v4(172, 16, 0, 1),
            udp: i % 3 == 0,
            sport: 1024 + i,
            dport: 443,
        })
        .collect()
}

#[test]
fn reta_sampling_moves_buckets_to_the_sink_and_back() {
    // 4 workers (queues 0-3) and a sink (queue 4).
    let mut nic = ModelNic::full_featured(5);
    let mut reta = RetaControl::new(&mut nic, 4, Some(4)).unwrap();
    assert_eq!(nic.reta_query().unwrap(), reta.table());
    assert!(
        reta.table().iter().all(|q| *q < 4),
        "the sink gets nothing at first"
    );
    let pkts = flows(4000);
    let share = |nic: &ModelNic| {
        let sunk = pkts
            .iter()
            .filter(|p| nic.classify(&p.frame()) == Verdict::Queue(4))
            .count();
        sunk as f64 / pkts.len() as f64
    };
    assert_eq!(share(&nic), 0.0);

    let kept = reta.sample(&mut nic, 0.25).unwrap();
    assert_eq!(kept, 128);
    assert_eq!(nic.reta_query().unwrap(), reta.table());
    let s = share(&nic);
    assert!((0.70..0.80).contains(&s), "about 75% sampled out, got {s}");
    for p in &pkts {
        assert_eq!(
            nic.classify(&p.frame()),
            nic.classify(&p.reversed().frame())
        );
    }

    // Individual buckets, back and forth.
    let all: Vec<u16> = (0..512).collect();
    reta.restore(&mut nic, &all).unwrap();
    assert_eq!(share(&nic), 0.0);
    reta.to_sink(&mut nic, &[0, 1, 2, 3]).unwrap();
    assert_eq!(&nic.reta_query().unwrap()[..5], &[4, 4, 4, 4, 0]);
    reta.restore(&mut nic, &[0, 1, 2, 3]).unwrap();
    assert_eq!(&nic.reta_query().unwrap()[..5], &[0, 1, 2, 3, 0]);
    // Out of range: an error, and nothing changed.
    let before = nic.reta_query().unwrap();
    assert!(reta.to_sink(&mut nic, &[3, 512]).is_err());
    assert_eq!(nic.reta_query().unwrap(), before);
    assert_eq!(reta.sample(&mut nic, 1.0).unwrap(), 512);
    assert_eq!(reta.sample(&mut nic, 0.0).unwrap(), 0);
    assert_eq!(share(&nic), 1.0);

    // No sink configured, or no RETA at all: errors, never panics.
    let mut no_sink = RetaControl::new(&mut nic, 4, None).unwrap();
    assert!(no_sink.to_sink(&mut nic, &[0]).is_err());
    assert!(RetaControl::new(&mut ModelNic::virtual_device(2), 2, Some(1)).is_err());
}

#[test]
fn rss_plan_follows_device_capabilities() {
    let full = ModelNic::full_featured(4);
    let p = RssPlan::for_device(&full.caps, 4);
    assert_eq!(p.types, rss_types::WANTED);
    assert_eq!(p.key.as_deref(), Some(&weir_dpdk::SYMMETRIC_KEY[..]));
    assert!(p.warnings.is_empty());

    let limited = ModelNic::limited(4);
    let p = RssPlan::for_device(&limited.caps, 4);
    assert_eq!(p.types & rss_types::NONFRAG_IPV6_TCP, 0);
    assert_ne!(p.types & rss_types::NONFRAG_IPV4_TCP, 0);
    assert_eq!(p.key.as_ref().map(Vec::len), Some(52));
    assert!(p.key.unwrap().chunks(2).all(|c| c == [0x6d, 0x5a]));
    assert!(p.warnings[0].contains("reduced"));

    let vdev = ModelNic::virtual_device(2);
    let p = RssPlan::for_device(&vdev.caps, 2);
    assert_eq!(p.types, 0);
    assert!(p.warnings.iter().any(|w| w.contains("no RSS hash types")));
    assert!(RssPlan::for_device(&vdev.caps, 1).warnings.is_empty());

    // The model's RSS with limited types still keeps directions together.
    let mut nic = ModelNic::limited(4);
    nic.support = FlowSupport::none();
    for p in flows(200) {
        let p6 = Pkt {
            src: IpAddr::V6(Ipv6Addr::from(u128::from(p.sport) << 64)),
            dst: IpAddr::V6(Ipv6Addr::LOCALHOST),
            ..p
        };
        assert_eq!(
            nic.classify(&p6.frame()),
            nic.classify(&p6.reversed().frame())
        );
    }
}

#[test]
fn sampling_applies_to_offloaded_traffic_too() {
    use weir_dpdk::control::PortControl;
    let (mut port, warnings) = PortControl::new(ModelNic::full_featured(5), 4, Some(4));
    assert!(warnings.is_empty());
    let log = port.offload(&HwFilter::Rules(sample_filter()));
    assert!(port.offloaded(), "{log:?}");
    // HTTPS to 10/8: wanted by the first rule.
    let pkts: Vec<Pkt> = (0..2000u16)
        .map(|i| Pkt {
            src: v4(192, 168, (i >> 8) as u8, i as u8),
            dst: v4(10, 0, 0, 1),
            udp: false,
            sport: 2000 + i,
            dport: 443,
        })
        .collect();
    let sunk = |port: &PortControl<ModelNic>| {
        pkts.iter()
            .filter(|p| port.nic().classify(&p.frame()) == Verdict::Queue(4))
            .count() as f64
            / pkts.len() as f64
    };
    assert_eq!(sunk(&port), 0.0);
    assert_eq!(port.sample(0.5).unwrap(), 256);
    let s = sunk(&port);
    assert!(
        (0.4..0.6).contains(&s),
        "half the flows sampled out, got {s}"
    );
    // The rules were re-installed with the new queue list; unwanted traffic still dropped.
    assert!(port.offloaded());
    assert!(port.nic().rules().all(|r| match &r.action {
        FlowAction::Rss { queues, .. } => queues.as_slice() == port.reta_table().unwrap(),
        _ => true,
    }));
    let unwanted = Pkt {
        dport: 80,
        ..pkts[0]
    };
    assert_eq!(port.nic().classify(&unwanted.frame()), Verdict::Drop);
    let all: Vec<u16> = (0..512).collect();
    port.restore(&all).unwrap();
    assert_eq!(sunk(&port), 0.0);
    port.clear_offload();
    assert_eq!(port.nic().rules().count(), 0);

    // No redirection table: sampling is an error, offload still reports.
    let (mut vdev, _) = PortControl::new(ModelNic::virtual_device(1), 1, None);
    assert!(vdev.sample(0.5).is_err());
    assert!(vdev.to_sink(&[0]).is_err());
    assert_eq!(vdev.accept_action(), FlowAction::Queue(0));
    assert!(!vdev.offload(&HwFilter::Rules(sample_filter())).is_empty());
}
