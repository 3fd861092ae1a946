//! Self-checks of the shared test harness (`tests/support/mod.rs`).

mod support;

use proptest::prelude::*;
use std::collections::BTreeMap;

/// The obviously-correct model: lay every segment into a sparse byte map
/// (first copy of a byte wins) and read the contiguous prefix from offset 0.
fn model(segments: &[(u32, Vec<u8>)], base: u32) -> Vec<u8> {
    let mut bytes: BTreeMap<u64, u8> = BTreeMap::new();
    for (seq, data) in segments {
        let start = u64::from(seq.wrapping_sub(base));
        for (i, b) in data.iter().enumerate() {
            bytes.entry(start + i as u64).or_insert(*b);
        }
    }
    let mut out = Vec::new();
    let mut next = 0u64;
    while let Some(b) = bytes.get(&next) {
        out.push(*b);
        next += 1;
    }
    out
}

proptest! {
    /// Pieces of one stream, delivered shuffled and with duplicates, come
    /// out as the stream (when the union covers it) — same as the model.
    #[test]
    fn reassembly_matches_model(
        stream in proptest::collection::vec(any::<u8>(), 1..300),
        cuts in proptest::collection::vec((0usize..300, 1usize..60), 1..30),
        isn in any::<u32>(),
    ) {
        let mut segs: Vec<(u32, Vec<u8>)> = cuts
            .iter()
            .filter(|(s, _)| *s < stream.len())
            .map(|(s, l)| {
                let e = (*s + *l).min(stream.len());
                (isn.wrapping_add(1).wrapping_add(*s as u32), stream[*s..e].to_vec())
            })
            .collect();
        // Guarantee coverage after the shuffled pieces.
        segs.push((isn.wrapping_add(1), stream.clone()));
        let got = support::reassemble_for_test(&segs, Some(isn));
        prop_assert_eq!(&got, &model(&segs, isn.wrapping_add(1)));
        prop_assert_eq!(got, stream);
    }
}

#[test]
fn reassembly_without_syn_starts_at_first_seen_seq() {
    let segs = vec![(1000u32, b"world".to_vec()), (995, b"hello".to_vec()), (1005, b"!".to_vec())];
    // 995 is before the base (first seen = 1000): dropped as old data.
    assert_eq!(support::reassemble_for_test(&segs, None), b"world!".to_vec());
}

#[test]
fn reassembly_waits_for_gap() {
    let segs = vec![(11u32, b"cd".to_vec()), (13, b"ef".to_vec()), (9, b"ab".to_vec())];
    assert_eq!(support::reassemble_for_test(&segs, Some(8)), b"abcdef".to_vec());
    let gap = vec![(11u32, b"cd".to_vec())];
    assert_eq!(support::reassemble_for_test(&gap, Some(8)), Vec::<u8>::new());
}

/// Connection counts per capture agree with tshark's conn.tsv, except where
/// tshark reassembles IP fragments (the harness skips fragments).
#[test]
fn connection_counts_agree_with_tshark() {
    let Some(caps) = support::captures() else { return };
    // Captures where a connection exists only as IP fragments / tshark splits differently.
    let known: &[(&str, &str)] = &[
        ("zeek__ipv4_fragmented-4.pcap", "connections carried only in IPv4 fragments are skipped"),
        ("zeek__ipv4_fragmented-syn.pcap", "the SYN is fragmented; the harness skips fragments"),
        ("ndpi__dns_fragmented.pcap", "fragmented UDP datagrams are skipped"),
        ("zeek__dns-edns-ecs.pcap", "two UDP conversations exist only as IP fragments (skipped)"),
    ];
    let mut mismatches = Vec::new();
    for cap in &caps {
        let name = cap.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        let Some(rows) = support::truth(&name, "conn") else { continue };
        let conns = support::connections(cap);
        let ours = conns.len();
        if ours != rows.len() && !known.iter().any(|(k, _)| *k == name) {
            let tcp = conns.iter().filter(|c| c.transport == weir_protocols::Transport::Tcp).count();
            let ttcp = rows.iter().filter(|r| r["proto"] == "tcp").count();
            let mut ours_eps: Vec<String> = conns
                .iter()
                .map(|c| {
                    let mut e = [support::endpoint(&c.client), support::endpoint(&c.server)];
                    e.sort();
                    format!("{:?} {} {} first={}", c.transport, e[0], e[1], c.first_frame)
                })
                .collect();
            ours_eps.sort();
            mismatches.push(format!(
                "{name}: harness {ours} ({tcp} tcp), tshark {} ({ttcp} tcp); ours: {ours_eps:#?}",
                rows.len()
            ));
        }
    }
    assert!(mismatches.is_empty(), "connection count mismatches:\n{}", mismatches.join("\n"));
}
