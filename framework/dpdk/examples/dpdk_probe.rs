//! Prints what DPDK reports for each port: capabilities, and the first
//! frames' lengths and RX timestamps.
//!
//! `cargo run -p weir-dpdk --features dpdk --example dpdk_probe -- <EAL arguments>`
#[cfg(feature = "dpdk")]
fn main() {
    use weir_dpdk::dpdk::{port::device_caps, Eal, Mempool, Port, PortSetup};
    let args: Vec<String> = std::env::args().skip(1).collect();
    let eal = Eal::init(&args).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1)
    });
    println!(
        "DPDK {} main lcore {} workers {:?}",
        weir_dpdk::dpdk::version(),
        eal.main_lcore(),
        eal.worker_lcores()
    );
    let pool = Mempool::create(&eal, "probe", 4095, 64, 2176, -1).expect("mempool");
    for id in eal.ports() {
        let (caps, name) = device_caps(&eal, id).expect("caps");
        println!("port {id} {name}: {caps:?}");
        let setup = PortSetup {
            rx_queues: caps.max_rx_queues.max(1),
            rx_descriptors: 512,
            mtu: 0,
            promiscuous: true,
            timestamps: true,
        };
        let (mut port, warnings) = Port::configure(&eal, id, &setup, &pool).expect("configure");
        for w in warnings {
            println!("  warning: {w}");
        }
        port.start().expect("start");
        let mut q = port.take_rx_queue(0).expect("queue 0");
        let mut bufs = Vec::new();
        let mut shown = 0;
        for _ in 0..1000 {
            q.rx_burst(&mut bufs, 32);
            for m in bufs.drain(..) {
                if shown < 5 {
                    let ts = q.timestamp_field().and_then(|f| m.rx_timestamp(f));
                    println!(
                        "  frame {} B, segments {}, refcount {}, timestamp {ts:?}",
                        m.pkt_len(),
                        m.segments(),
                        m.refcount()
                    );
                    shown += 1;
                }
            }
            if shown >= 5 {
                break;
            }
        }
        println!(
            "  stats: {:?}",
            port.stats()
                .map(|s| (s.packets, s.bytes, s.imissed, s.xstats.len()))
        );
    }
}

#[cfg(not(feature = "dpdk"))]
fn main() {
    eprintln!("built without the `dpdk` feature");
}
