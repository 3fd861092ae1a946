//! tshark (an independent dissector) must extract exactly the names the ground truth
//! lists: TLS and QUIC SNIs, HTTP hosts, DNS query names, SSH identification strings.
//! Skips, printing why, when `tshark` is not on PATH.

use std::collections::BTreeMap;
use std::process::Command;

use weir_tracegen::{write_trace, FlowKind, FlowTruth, Mix};

fn tshark_available() -> bool {
    Command::new("tshark").arg("--version").output().is_ok_and(|o| o.status.success())
}

type Multiset = BTreeMap<String, usize>;

fn add(m: &mut Multiset, s: &str) {
    *m.entry(s.to_string()).or_default() += 1;
}

/// Expected multisets from the truth: (tls sni, quic sni, http host, dns qname, ssh version).
fn expected(truth: &[FlowTruth]) -> [Multiset; 5] {
    let mut e: [Multiset; 5] = Default::default();
    for t in truth {
        match (t.kind, &t.sni) {
            (FlowKind::Quic, Some(s)) => add(&mut e[1], s),
            (_, Some(s)) => add(&mut e[0], s),
            _ => {}
        }
        t.hosts.iter().for_each(|h| add(&mut e[2], h));
        t.qnames.iter().for_each(|q| add(&mut e[3], q));
        t.ssh_client.iter().chain(&t.ssh_server).for_each(|v| add(&mut e[4], v));
    }
    e
}

fn extracted(pcap: &std::path::Path) -> [Multiset; 5] {
    let out = Command::new("tshark")
        .arg("-r")
        .arg(pcap)
        .args([
            "-Y",
            "tls.handshake.type==1 or http.request or dns.flags.response==0 or ssh.protocol",
            "-T",
            "fields",
            "-E",
            "separator=\t",
            "-E",
            "occurrence=a",
            "-E",
            "aggregator=,",
            "-e",
            "frame.protocols",
            "-e",
            "tls.handshake.extensions_server_name",
            "-e",
            "http.host",
            "-e",
            "dns.qry.name",
            "-e",
            "ssh.protocol",
        ])
        .output()
        .expect("run tshark");
    assert!(out.status.success(), "tshark failed: {}", String::from_utf8_lossy(&out.stderr));
    let mut got: [Multiset; 5] = Default::default();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        let protos = cols[0];
        let field = |i: usize| cols.get(i).copied().unwrap_or("").split(',').filter(|s| !s.is_empty()).map(str::to_string).collect::<Vec<_>>();
        let tls_slot = if protos.contains(":quic") { 1 } else { 0 };
        field(1).iter().for_each(|s| add(&mut got[tls_slot], s));
        field(2).iter().for_each(|s| add(&mut got[2], s));
        field(3).iter().for_each(|s| add(&mut got[3], s));
        field(4).iter().for_each(|s| add(&mut got[4], s));
    }
    got
}

#[test]
fn tshark_extracts_exactly_the_ground_truth_names() {
    if !tshark_available() {
        println!("SKIPPED tshark_extracts_exactly_the_ground_truth_names: `tshark` is not on PATH");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("t.pcap");
    let mut mix = Mix::preset("default").unwrap();
    mix.flows = 600;
    mix.size_scale = 0.05;
    mix.mean_packet_size = 0;
    write_trace(&mix, 42, &pcap).unwrap();
    let text = std::fs::read_to_string(weir_tracegen::truth_path(&pcap)).unwrap();
    let truth = weir_tracegen::truth::parse_jsonl(&text).unwrap();
    let want = expected(&truth);
    let got = extracted(&pcap);
    let names = ["TLS SNI", "QUIC SNI", "HTTP Host", "DNS qname", "SSH version"];
    for i in 0..5 {
        assert!(!want[i].is_empty(), "the trace should contain some {}", names[i]);
        assert_eq!(got[i], want[i], "{} multiset differs (left: tshark, right: truth)", names[i]);
    }
}
