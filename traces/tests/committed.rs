//! `data/default.pcap` and its truth are exactly what the command in README.md produces.

use weir_tracegen::{truth, write_to, FlowKind, Mix};

/// The parameters of the README command:
/// `--preset default --flows 1200 --seed 1 --size-scale 0.02 --mean-packet-size 0`.
fn committed_mix() -> Mix {
    let mut mix = Mix::preset("default").unwrap();
    mix.flows = 1200;
    mix.size_scale = 0.02;
    mix.mean_packet_size = 0;
    mix
}

#[test]
fn regenerating_the_committed_trace_gives_identical_bytes() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let pcap = std::fs::read(dir.join("default.pcap")).expect("traces/data/default.pcap is committed");
    let truth_text = std::fs::read(dir.join("default.truth.jsonl")).expect("traces/data/default.truth.jsonl is committed");
    assert!(pcap.len() + truth_text.len() <= 2 << 20, "committed trace must stay within 2 MiB");
    let (mut p, mut t) = (Vec::new(), Vec::new());
    write_to(&committed_mix(), 1, &mut p, &mut t).unwrap();
    assert!(p == pcap, "data/default.pcap differs from a fresh generation ({} vs {} bytes)", p.len(), pcap.len());
    assert!(t == truth_text, "data/default.truth.jsonl differs from a fresh generation");
}

#[test]
fn committed_trace_has_every_kind() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
    let text = std::fs::read_to_string(dir.join("default.truth.jsonl")).unwrap();
    let flows = truth::parse_jsonl(&text).unwrap();
    assert_eq!(flows.len(), 1200);
    for k in FlowKind::ALL {
        assert!(flows.iter().any(|f| f.kind == k), "no {k} flow in the committed trace");
    }
}
