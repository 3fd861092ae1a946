//! Periodic streaming callbacks: every N packets, every T seconds of packet time.

use std::collections::BTreeMap;
use std::path::PathBuf;

#[weir::app]
mod periodic {
    use weir::prelude::*;
    #[callback("tcp", streaming(packets = 5))]
    fn every5(c: &PktCount) -> bool {
        let _ = c;
        true
    }
    #[callback("tcp", streaming(seconds = 2))]
    fn every2s(d: &ConnDuration) -> bool {
        let _ = d;
        true
    }
    #[callback("tcp", on = L4Terminated)]
    fn total(c: &PktCount, d: &ConnDuration) {
        let _ = (c, d);
    }
}

fn num(args: &str, key: &str) -> u64 {
    let at = args.find(key).unwrap_or_else(|| panic!("{key} in {args}")) + key.len();
    args[at..].chars().take_while(|c| c.is_ascii_digit()).collect::<String>().parse().unwrap()
}

/// `(ConnDuration(2.035790116s),)` → seconds (Debug of `Duration`: s, ms, µs or ns).
fn duration(args: &str) -> f64 {
    let inner = args.trim_start_matches("(ConnDuration(").trim_end_matches("),)");
    let split = inner.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(inner.len());
    let v: f64 = inner[..split].parse().unwrap_or_else(|_| panic!("{args}"));
    v * match &inner[split..] {
        "s" => 1.0,
        "ms" => 1e-3,
        "µs" => 1e-6,
        "ns" => 1e-9,
        u => panic!("unit {u} in {args}"),
    }
}

#[test]
fn periods_follow_packet_counts_and_packet_time() {
    let pcap = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../traces/data/default.pcap");
    let run = weir::app::run_compiled::<periodic::App>(&[pcap], &weir::runtime::Config::default(), true).unwrap();
    let t = run.trace.unwrap();
    let mut per: BTreeMap<&str, (Vec<u64>, Vec<String>, u64)> = BTreeMap::new();
    for i in &t.invocations {
        let e = per.entry(&i.conn).or_default();
        match i.callback.as_str() {
            "every5" => e.0.push(num(&i.args, "orig: ") + num(&i.args, "resp: ")),
            "every2s" => e.1.push(i.args.clone()),
            _ => e.2 = num(&i.args, "orig: ") + num(&i.args, "resp: "),
        }
    }
    let (mut long, mut fired) = (0, 0);
    for (conn, (five, secs, total)) in &per {
        // The k-th call sees exactly 5k packets counted.
        let want: Vec<u64> = (1..=total / 5).map(|k| 5 * k).collect();
        assert_eq!(five, &want, "{conn}");
        if !secs.is_empty() {
            fired += secs.len();
        }
        long += usize::from(*total >= 5);
    }
    assert!(long > 0 && fired > 0, "long {long} fired {fired}");
    // Durations seen by every2s at least 2 s apart (packet time).
    for (conn, (_, secs, _)) in &per {
        let ds: Vec<f64> = secs.iter().map(|a| duration(a)).collect();
        for w in ds.windows(2) {
            assert!(w[1] - w[0] >= 2.0 - 1e-9, "{conn}: {ds:?}");
        }
    }
}
