//! DPDK wrapper checks that need EAL (feature `dpdk`): mbuf refcounting
//! against the mempool's counters, and a `net_pcap` port end to end.
//!
//! EAL starts once per process, so this file is one test in phases.
//! Runs with `--no-huge` and a virtual device: no hugepages, no NIC.
//!
//! Leaks and double frees: Debian's DPDK is built without the mempool debug
//! cookies, so after each phase the test checks the pool's counters
//! (`in_use() == 0`, `available() == capacity()`) and then allocates the
//! whole pool: a leaked mbuf makes that come up short, and a double-freed
//! one (in the pool twice; the counters are clamped to the pool size and
//! would not show it) comes out twice, or lets one allocation more succeed.
#![cfg(feature = "dpdk")]

use std::path::Path;
use weir_dpdk::dpdk::{port::device_caps, Eal, Mbuf, Mempool, Port, PortSetup};
use weir_dpdk::flow::install_hw_filter;
use weir_dpdk::nic::{FlowAction, NicControl};
use weir_dpdk::online::eal_args;
use weir_dpdk::reta::RetaControl;
use weir_filter::hw::{HwFilter, HwIp, HwL4, HwRule};
use weir_runtime::config::OnlineSettings;

fn trace() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../traces/data/default.pcap")
}

fn frames(path: &Path) -> Vec<Vec<u8>> {
    let mut r = pcap_file::pcap::PcapReader::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut out = Vec::new();
    while let Some(p) = r.next_packet() {
        out.push(p.unwrap().data.into_owned());
    }
    out
}

fn assert_pool_whole(pool: &Mempool, phase: &str) {
    assert_eq!(pool.in_use(), 0, "{phase}: mbufs still in use");
    assert_eq!(pool.available(), pool.capacity(), "{phase}: counters");
    let all: Vec<Mbuf> = std::iter::from_fn(|| pool.alloc())
        .take(pool.capacity() as usize + 1)
        .collect();
    assert_eq!(
        all.len(),
        pool.capacity() as usize,
        "{phase}: leak or double free"
    );
    let distinct: std::collections::HashSet<usize> =
        all.iter().map(|m| m.data().as_ptr() as usize).collect();
    assert_eq!(
        distinct.len(),
        all.len(),
        "{phase}: an mbuf was in the pool twice"
    );
    drop(all);
    assert_eq!(pool.in_use(), 0, "{phase}: after the full allocation");
}

#[test]
fn eal_mbufs_and_a_net_pcap_port() {
    let settings = OnlineSettings {
        no_huge_mb: 256,
        vdevs: vec![format!("net_pcap0,rx_pcap={}", trace().display())],
        eal: vec!["--no-pci".into(), "-l".into(), "0".into()],
        ..Default::default()
    };
    let eal = Eal::init(&eal_args(&settings)).expect("EAL starts without hugepages");
    assert!(matches!(
        Eal::init(&["--no-huge"]),
        Err(weir_dpdk::dpdk::DpdkError::EalAlreadyInitialised)
    ));

    // Phase 1: refcounts on a private pool.
    let pool = Mempool::create(&eal, "test_refcnt", 63, 0, 2176, -1).unwrap();
    assert_eq!(pool.capacity(), 63);
    assert_pool_whole(&pool, "fresh pool");
    {
        let mut m = pool.alloc().expect("an mbuf");
        assert_eq!(m.refcount(), 1);
        assert!(m.append(b"hello mbuf"));
        assert_eq!(pool.in_use(), 1);
        let c1 = m.clone();
        let c2 = c1.clone();
        assert_eq!(m.refcount(), 3);
        // Clones share the buffer: same bytes at the same address.
        assert_eq!(c2.data(), b"hello mbuf");
        assert_eq!(c1.data().as_ptr(), m.data().as_ptr());
        // A shared mbuf cannot be written.
        assert!(!m.append(b"!"));
        drop(c1);
        assert_eq!(m.refcount(), 2);
        assert_eq!(pool.in_use(), 1, "dropping a clone does not free");
        drop(m);
        assert_eq!(c2.refcount(), 1);
        assert_eq!(pool.in_use(), 1);
        drop(c2);
    }
    assert_pool_whole(&pool, "clone/drop");

    // Exhaustion, and handles freed on another thread.
    let all: Vec<Mbuf> = std::iter::from_fn(|| pool.alloc()).collect();
    assert_eq!(all.len(), 63);
    assert!(pool.alloc().is_none(), "the pool is empty");
    let clones: Vec<Mbuf> = all.iter().map(Mbuf::clone).collect();
    assert!(clones.iter().all(|m| m.refcount() == 2));
    std::thread::spawn(move || drop(clones)).join().unwrap();
    assert!(all.iter().all(|m| m.refcount() == 1));
    assert_eq!(pool.in_use(), 63);
    drop(all);
    assert_pool_whole(&pool, "exhaustion");

    // Phase 2: a net_pcap port; frames are views of the mbufs, equal to the trace.
    let ports = eal.ports();
    assert_eq!(ports, vec![0]);
    let (caps, name) = device_caps(&eal, 0).unwrap();
    assert_eq!(
        (caps.driver.as_str(), name.as_str()),
        ("net_pcap", "net_pcap0")
    );
    let rx_pool = Mempool::create(&eal, "test_rx", 4095, 0, 2176, -1).unwrap();
    let setup = PortSetup {
        rx_queues: 4, // more than the device has: a warning, not an error
        rx_descriptors: 512,
        mtu: 1, // below the device's minimum: a warning
        promiscuous: true,
        timestamps: true,
    };
    let (mut port, warnings) = Port::configure(&eal, 0, &setup, &rx_pool).unwrap();
    assert_eq!(port.rx_queue_count(), 1);
    assert!(
        warnings.iter().any(|w| w.contains("RX queues")),
        "{warnings:?}"
    );
    assert!(warnings.iter().any(|w| w.contains("MTU")), "{warnings:?}");

    // Control path on a device without RETA or flow API: refusals, no crash.
    assert!(port.reta_update(&[(0, 0)]).is_err());
    assert!(RetaControl::new(&mut port, 1, None).is_err());
    let filter = HwFilter::Rules(vec![HwRule {
        ip: Some(HwIp::V4),
        src_addr: None,
        dst_addr: None,
        l4: Some(HwL4::Tcp),
        src_port: None,
        dst_port: Some(443),
    }]);
    let report = install_hw_filter(&mut port, &filter, &FlowAction::Queue(0));
    assert!(!report.offloaded && report.installed.is_empty());
    assert!(
        report
            .log
            .iter()
            .any(|l| l.contains("software filter only")),
        "{:?}",
        report.log
    );

    port.start().unwrap();
    let expected = frames(&trace());
    let mut q = port.take_rx_queue(0).unwrap();
    assert!(
        port.take_rx_queue(0).is_none(),
        "a queue is handed out once"
    );
    let mut bufs = Vec::new();
    let mut got = 0usize;
    let mut kept: Vec<Mbuf> = Vec::new();
    let mut idle = 0;
    while idle < 1000 {
        if q.rx_burst(&mut bufs, 64) == 0 {
            idle += 1;
            continue;
        }
        idle = 0;
        for m in bufs.drain(..) {
            assert_eq!(m.refcount(), 1);
            assert_eq!(m.data(), expected[got].as_slice(), "frame {got}");
            assert_eq!(m.pkt_len() as usize, expected[got].len());
            let ts = q.timestamp_field().and_then(|f| m.rx_timestamp(f));
            assert!(ts.is_some(), "net_pcap stamps frames");
            if got % 1000 == 0 {
                kept.push(m.clone());
            }
            got += 1;
        }
    }
    assert_eq!(got, expected.len());
    assert_eq!(
        rx_pool.in_use() as usize,
        kept.len(),
        "only the kept clones remain"
    );
    drop(kept);
    let stats = port.stats().unwrap();
    assert_eq!(stats.packets as usize, expected.len());
    assert_eq!(stats.queues[0].packets as usize, expected.len());
    assert_eq!(stats.imissed + stats.rx_nombuf, 0);
    assert!(!stats.xstats.is_empty());
    port.stop();
    assert_pool_whole(&rx_pool, "after RX");
}
