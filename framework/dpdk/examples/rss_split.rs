//! Splits a pcap into one file per RX queue as a NIC with symmetric RSS
//! would (round-robin redirection table), for multi-queue `net_pcap` replays:
//! `--vdev net_pcap0,rx_pcap=OUT.q0.pcap,rx_pcap=OUT.q1.pcap`.
//!
//! `cargo run -p weir-dpdk --example rss_split -- IN.pcap QUEUES OUT`
use pcap_file::pcap::{PcapReader, PcapWriter};
use weir_dpdk::model::rss_queue;
use weir_runtime::rss::{Reta, Toeplitz};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, queues, out] = args.as_slice() else {
        eprintln!("usage: rss_split IN.pcap QUEUES OUT  (writes OUT.q0.pcap, OUT.q1.pcap, ...)");
        std::process::exit(2);
    };
    let queues: u16 = queues.parse().expect("QUEUES is a number");
    let mut reader =
        PcapReader::new(std::fs::File::open(input).expect("readable input")).expect("a pcap file");
    let header = reader.header();
    let mut writers: Vec<_> = (0..queues)
        .map(|q| {
            let f = std::fs::File::create(format!("{out}.q{q}.pcap")).expect("writable output");
            PcapWriter::with_header(f, header).expect("pcap header")
        })
        .collect();
    let (hasher, reta) = (
        Toeplitz::symmetric(),
        Reta::round_robin(Reta::DEFAULT_SIZE, queues),
    );
    let mut counts = vec![0u64; usize::from(queues)];
    while let Some(p) = reader.next_packet() {
        let p = p.expect("a valid record");
        let q = usize::from(rss_queue(&hasher, &reta, &p.data));
        counts[q] += 1;
        writers[q].write_packet(&p).expect("write");
    }
    println!("{counts:?}");
}
