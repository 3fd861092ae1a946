//! `weir log` against tshark: on every Ethernet capture in
//! `../shared/traces/real`, the per-connection packet and byte counts per
//! direction equal tshark's conversation counts in `truth/<capture>.conn.tsv`.
//!
//! Connections are matched on (proto, VLAN stack, the unordered pair of
//! endpoints, first-packet timestamp); counts are compared per direction by
//! endpoint, so the test does not depend on who is called originator. The
//! originator choice itself is compared too (tshark: sender of the first SYN
//! if one was captured, else of the first packet — weir's rule as well).
//!
//! Where weir deliberately differs, the test names the case and why:
//!
//! - **Split by a timer.** tshark never ends a conversation by time; weir
//!   ends unanswered SYNs after the 5 s establishment timeout, idle
//!   connections after the TCP/UDP inactivity timeout, and closed ones after
//!   the close linger (as Zeek and Retina do), so a later packet on the same
//!   five-tuple starts a new connection. Accepted only when the weir pieces
//!   inside the tshark conversation's time span add up exactly to tshark's
//!   counts and every piece but the last ended by such a timer.
//! - **SYN-ACK first.** When a capture starts at the SYN-ACK, tshark calls the
//!   first packet's sender (the server) the initiator; weir makes the
//!   SYN-ACK's receiver (the client) the originator. Accepted only when
//!   weir's history starts with the responder's `h`.
//! - Single cases listed in `DELIBERATE`, each with its reason.
//!
//! The test skips, saying why, when `../shared` is absent.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use weir::connlog::{sort_records, ConnLogRecord};
use weir::app::Engine;
use weir::runtime::Config;

/// (capture, a substring of the difference it excuses, why).
const DELIBERATE: &[(&str, &str, &str)] = &[(
    "zeek__ipv4_fragmented-4.pcap",
    "counts differ for \"128.32.46.142\":7790",
    "the request's IPv4 fragments overlap ([24,72) over [48,72)); weir drops overlapping \
     fragments (ambiguous reassembly is an evasion vector, RFC 5722), tshark reassembles them",
)];

/// End reasons that may separate two weir pieces of one tshark conversation.
const TIMER_ENDS: &[&str] = &["establish_timeout", "inactivity_timeout", "fin", "rst"];

#[derive(Debug, Clone, PartialEq)]
struct Truth {
    proto: String,
    vlan: Vec<u16>,
    a: (String, u16),
    b: (String, u16),
    pkts_ab: u64,
    bytes_ab: u64,
    pkts_ba: u64,
    bytes_ba: u64,
    first_ns: u64,
    last_ns: u64,
    a_is_first_packet: bool,
}

fn parse_ts(s: &str) -> u64 {
    let (sec, frac) = s.split_once('.').unwrap_or((s, "0"));
    let mut frac = frac.to_string();
    frac.truncate(9);
    while frac.len() < 9 {
        frac.push('0');
    }
    sec.parse::<u64>().unwrap() * 1_000_000_000 + frac.parse::<u64>().unwrap()
}

fn read_truth(path: &Path) -> Vec<Truth> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split('\t').collect();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("{name} column"))
    };
    let (proto, vlan, aa, ap, ba, bp) = (
        col("proto"),
        col("vlan"),
        col("a_addr"),
        col("a_port"),
        col("b_addr"),
        col("b_port"),
    );
    let (pab, bab, pba, bba, fts) = (
        col("packets_a_to_b"),
        col("bytes_a_to_b"),
        col("packets_b_to_a"),
        col("bytes_b_to_a"),
        col("first_ts"),
    );
    let (lts, a_is) = (col("last_ts"), col("a_is"));
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            let n = |i: usize| f[i].parse::<u64>().unwrap();
            Truth {
                proto: f[proto].to_string(),
                vlan: if f[vlan].is_empty() {
                    vec![]
                } else {
                    f[vlan].split(',').map(|v| v.parse().unwrap()).collect()
                },
                a: (canon(f[aa]), f[ap].parse().unwrap()),
                b: (canon(f[ba]), f[bp].parse().unwrap()),
                pkts_ab: n(pab),
                bytes_ab: n(bab),
                pkts_ba: n(pba),
                bytes_ba: n(bba),
                first_ns: parse_ts(f[fts]),
                last_ns: parse_ts(f[lts]),
                a_is_first_packet: f[a_is] == "first_packet",
            }
        })
        .collect()
}

impl Truth {
    fn counts(&self) -> (u64, u64, u64, u64) {
        (self.pkts_ab, self.bytes_ab, self.pkts_ba, self.bytes_ba)
    }
}

/// A weir record's (a->b packets, bytes, b->a packets, bytes), with `a` given by address.
fn counts_from_a(r: &ConnLogRecord, a: &(String, u16)) -> (u64, u64, u64, u64) {
    if (r.orig_h.clone(), r.orig_p) == *a {
        (r.orig_pkts, r.orig_bytes, r.resp_pkts, r.resp_bytes)
    } else {
        (r.resp_pkts, r.resp_bytes, r.orig_pkts, r.orig_bytes)
    }
}

fn canon(addr: &str) -> String {
    addr.parse::<std::net::IpAddr>()
        .map(|a| a.to_string())
        .unwrap_or_else(|_| addr.to_string())
}

type Key = (String, Vec<u16>, (String, u16), (String, u16), u64);

fn key(proto: &str, vlan: &[u16], x: (String, u16), y: (String, u16), first_ns: u64) -> Key {
    let (lo, hi) = if x <= y { (x, y) } else { (y, x) };
    (proto.to_string(), vlan.to_vec(), lo, hi, first_ns)
}

fn run(pcap: &Path, cores: usize) -> Vec<ConnLogRecord> {
    let mut cfg = Config::default();
    cfg.offline.cores = cores;
    cfg.offline.progress = false;
    let (logs, report) = weir::log::run(Engine::Compiled, &[pcap.to_path_buf()], &cfg, None).unwrap();
    assert!(
        report.warnings.is_empty(),
        "{}: {:?}",
        pcap.display(),
        report.warnings
    );
    assert!(
        report.stats.balanced(),
        "{}: counters do not add up: {:?}",
        pcap.display(),
        report.stats
    );
    let mut v: Vec<_> = logs.conns;
    sort_records(&mut v);
    v
}

#[test]
fn conn_counts_match_tshark_conversations() {
    let Some((dir, pcaps)) = common::real_captures() else {
        return;
    };
    let mut failures = Vec::new();
    let (mut compared, mut deliberate_hits, mut splits, mut syn_ack_first) =
        (0usize, 0usize, 0usize, 0usize);
    for pcap in &pcaps {
        let name = pcap.file_name().unwrap().to_string_lossy().to_string();
        let truth_path = dir.join("truth").join(format!("{name}.conn.tsv"));
        if !truth_path.exists() {
            continue;
        }
        let ours = run(pcap, 1);
        let ours2 = run(pcap, 2);
        if ours != ours2 {
            failures.push(format!("{name}: output differs between 1 and 2 cores"));
        }
        let truth = read_truth(&truth_path);
        let mut mine: BTreeMap<Key, &ConnLogRecord> = BTreeMap::new();
        for r in &ours {
            mine.insert(
                key(
                    r.proto,
                    &r.vlan,
                    (r.orig_h.clone(), r.orig_p),
                    (r.resp_h.clone(), r.resp_p),
                    r.ts_ns,
                ),
                r,
            );
        }
        let mut problems = Vec::new();
        for t in &truth {
            // Every weir piece of this conversation: same endpoints, starting inside its time span.
            let pieces: Vec<Key> = mine
                .keys()
                .filter(|k| {
                    **k == key(&t.proto, &t.vlan, t.a.clone(), t.b.clone(), k.4)
                        && (t.first_ns..=t.last_ns).contains(&k.4)
                })
                .cloned()
                .collect();
            let recs: Vec<&ConnLogRecord> = pieces.iter().map(|k| mine[k]).collect();
            for k in &pieces {
                mine.remove(k);
            }
            let Some(first) = recs.first() else {
                problems.push(format!("tshark conversation not found in weir: {t:?}"));
                continue;
            };
            compared += 1;
            let sum = recs
                .iter()
                .map(|r| counts_from_a(r, &t.a))
                .fold((0, 0, 0, 0), |s, c| {
                    (s.0 + c.0, s.1 + c.1, s.2 + c.2, s.3 + c.3)
                });
            let ends: Vec<&str> = recs.iter().map(|r| r.end).collect();
            if first.ts_ns != t.first_ns {
                problems.push(format!(
                    "first packet differs for {:?} <-> {:?}: weir {}, tshark {}",
                    t.a, t.b, first.ts_ns, t.first_ns
                ));
            } else if sum != t.counts() {
                problems.push(format!(
                    "counts differ for {:?}:{} <-> {:?}:{}: weir (a->b pkts, bytes, b->a pkts, bytes) {sum:?} in {} piece(s) ending {ends:?}, tshark {:?}",
                    t.a.0, t.a.1, t.b.0, t.b.1, recs.len(), t.counts()
                ));
            } else if recs.len() > 1 {
                if ends[..ends.len() - 1]
                    .iter()
                    .all(|e| TIMER_ENDS.contains(e))
                {
                    splits += 1;
                } else {
                    problems.push(format!(
                        "split without a timer for {:?} <-> {:?}: pieces ending {ends:?}",
                        t.a, t.b
                    ));
                }
            }
            if (first.orig_h.clone(), first.orig_p) != t.a {
                if t.a_is_first_packet && first.history.starts_with('h') {
                    syn_ack_first += 1;
                } else {
                    problems.push(format!(
                        "originator differs: tshark a = {:?}, weir orig = {}:{}",
                        t.a, first.orig_h, first.orig_p
                    ));
                }
            }
        }
        for (k, _) in mine {
            problems.push(format!(
                "weir connection not in tshark's conversations: {k:?}"
            ));
        }
        for d in DELIBERATE.iter().filter(|d| d.0 == name) {
            let before = problems.len();
            problems.retain(|p| !p.contains(d.1));
            if problems.len() == before {
                failures.push(format!(
                    "{name}: DELIBERATE entry {:?} excuses nothing; remove it",
                    d.1
                ));
            } else {
                deliberate_hits += 1;
                eprintln!("deliberate difference in {}: {} ({})", d.0, d.1, d.2);
            }
        }
        if !problems.is_empty() {
            failures.push(format!("{name}:\n    {}", problems.join("\n    ")));
        }
    }
    eprintln!(
        "tshark conn agreement: {} captures, {compared} conversations compared; named cases: {splits} split by a timer, \
         {syn_ack_first} SYN-ACK-first originators, {deliberate_hits} listed",
        pcaps.len()
    );
    assert!(
        failures.is_empty(),
        "{} capture(s) disagree with tshark:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
