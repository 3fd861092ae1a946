//! `weir log` against the generator's ground truth on the bundled synthetic
//! trace (`traces/data/default.pcap`, every flow kind of the default mix):
//! one connection per generated flow, originator = client, per-direction
//! packet, byte and payload counts, and how each flow ended. No tshark needed.

use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use weir::connlog::ConnLogRecord;
use weir::app::Engine;
use weir::runtime::Config;

fn run(cores: usize) -> Vec<ConnLogRecord> {
    let pcap = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../traces/data/default.pcap");
    let mut cfg = Config::default();
    cfg.offline.cores = cores;
    cfg.offline.progress = false;
    let (logs, report) = weir::log::run(Engine::Compiled, &[pcap], &cfg, None).unwrap();
    assert!(report.stats.balanced());
    assert_eq!(report.stats.malformed_total, 0);
    assert_eq!(report.stats.bad_checksums, 0);
    logs.conns
}

#[test]
fn conn_log_matches_generator_truth() {
    let truth_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../traces/data/default.truth.jsonl");
    let truth: Vec<Value> = std::fs::read_to_string(truth_path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let capture_end = truth
        .iter()
        .map(|t| t["end_ns"].as_u64().unwrap())
        .max()
        .unwrap();
    for cores in [1, 3] {
        let recs = run(cores);
        assert_eq!(
            recs.len(),
            truth.len(),
            "one connection per generated flow ({cores} cores)"
        );
        let mut by_key: HashMap<(String, u16, String, u16, u64), &ConnLogRecord> = HashMap::new();
        for r in &recs {
            by_key.insert(
                (
                    r.orig_h.clone(),
                    r.orig_p,
                    r.resp_h.clone(),
                    r.resp_p,
                    r.ts_ns,
                ),
                r,
            );
        }
        let mut ends: HashMap<(String, String), usize> = HashMap::new();
        for t in &truth {
            let s = |k: &str| t[k].as_str().unwrap().to_string();
            let port = |k: &str| t[k].as_u64().unwrap() as u16;
            let key = (
                s("client"),
                port("client_port"),
                s("server"),
                port("server_port"),
                t["start_ns"].as_u64().unwrap(),
            );
            let r = by_key.get(&key).unwrap_or_else(|| {
                panic!(
                    "flow {} not found as an originator-oriented connection: {t}",
                    t["id"]
                )
            });
            assert_eq!(r.proto, t["proto"].as_str().unwrap());
            // The generator tags a flow with at most one 802.1Q ID (`null` when untagged).
            let vlan: Vec<u16> = t["vlan"]
                .as_u64()
                .map(|v| vec![v as u16])
                .unwrap_or_default();
            assert_eq!(r.vlan, vlan);
            let d = |dir: &str, k: &str| t[dir][k].as_u64().unwrap();
            assert_eq!(
                (
                    r.orig_pkts,
                    r.orig_bytes,
                    r.orig_payload_bytes,
                    r.resp_pkts,
                    r.resp_bytes,
                    r.resp_payload_bytes
                ),
                (
                    d("to_server", "packets"),
                    d("to_server", "bytes"),
                    d("to_server", "payload"),
                    d("to_client", "packets"),
                    d("to_client", "bytes"),
                    d("to_client", "payload")
                ),
                "counts of flow {}",
                t["id"]
            );
            let kind = s("kind");
            let expected_ok = match t["end"].as_str().unwrap() {
                "fin" => r.end == "fin",
                "rst" => r.end == "rst",
                // Flows that just stop end by a timer, or by the end of the capture
                // when the capture ends before the timer would fire.
                _ => {
                    let timer = if kind == "syn_scan" {
                        "establish_timeout"
                    } else {
                        "inactivity_timeout"
                    };
                    let last = t["end_ns"].as_u64().unwrap();
                    let limit_ns = match (r.proto, kind.as_str()) {
                        (_, "syn_scan") => 5_000_000_000,
                        ("udp", _) => 60_000_000_000,
                        _ => 300_000_000_000,
                    };
                    r.end == timer || (r.end == "end_of_input" && capture_end < last + limit_ns)
                }
            };
            assert!(
                expected_ok,
                "flow {} ({kind}, truth end {}) ended by {}",
                t["id"], t["end"], r.end
            );
            *ends.entry((kind, r.end.to_string())).or_default() += 1;
        }
        // The trace exercises the timers, not only the end of input.
        assert!(
            ends.get(&("syn_scan".into(), "establish_timeout".into()))
                .copied()
                .unwrap_or(0)
                > 100,
            "{ends:?}"
        );
    }
}

/// With loss, reordering, duplicates, IP fragments and port reuse, the
/// connection log is the same whatever the number of cores (fragments are
/// reassembled before the RSS hash; packet time reaches every core).
#[test]
fn impaired_trace_gives_the_same_log_on_any_core_count() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("impaired.pcap");
    let mut mix = weir_tracegen::Mix::preset("impaired").unwrap();
    mix.flows = 400;
    weir_tracegen::write_trace(&mix, 7, &pcap).unwrap();
    let mut logs = Vec::new();
    for cores in [1, 2, 4] {
        let mut cfg = Config::default();
        cfg.offline.cores = cores;
        cfg.offline.progress = false;
        let (out, report) = weir::log::run(Engine::Compiled, std::slice::from_ref(&pcap), &cfg, None).unwrap();
        assert!(report.stats.balanced());
        assert!(
            report.stats.defrag.completed > 0,
            "the trace must exercise reassembly"
        );
        let mut recs: Vec<ConnLogRecord> = out.conns;
        weir::connlog::sort_records(&mut recs);
        logs.push(recs);
    }
    assert!(logs[0].len() > 300);
    assert_eq!(logs[0], logs[1]);
    assert_eq!(logs[0], logs[2]);
}

/// The L7 side of `weir log` against the generator's truth: each flow's
/// discovered protocol follows from its kind, and the multisets of TLS and
/// QUIC SNIs, HTTP hosts, DNS query names and SSH banners in the logs equal
/// those the generator put on the wire.
#[test]
fn l7_logs_match_generator_truth() {
    let pcap = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../traces/data/default.pcap");
    let truth_path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../traces/data/default.truth.jsonl");
    let truth: Vec<Value> = std::fs::read_to_string(truth_path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut cfg = Config::default();
    cfg.offline.progress = false;
    let (logs, _) = weir::log::run(Engine::Compiled, &[pcap], &cfg, None).unwrap();
    let (conns, sessions) = (logs.conns, logs.sessions);
    let l7_by_flow: HashMap<(String, u16, u64), Option<&str>> = conns
        .iter()
        .map(|r| ((r.orig_h.clone(), r.orig_p, r.ts_ns), r.l7))
        .collect();
    let mut want: HashMap<&str, Vec<String>> = HashMap::new();
    for t in &truth {
        let kind = t["kind"].as_str().unwrap();
        let expected = match kind {
            "tls12" | "tls13" | "video" => Some("tls"),
            "http" => Some("http"),
            "dns_udp" | "dns_tcp" => Some("dns"),
            "quic" => Some("quic"),
            "ssh" => Some("ssh"),
            // SYN scans carry no payload; OpenVPN, bulk, plain UDP and idle flows are no protocol weir parses.
            _ => None,
        };
        let key = (
            t["client"].as_str().unwrap().to_string(),
            t["client_port"].as_u64().unwrap() as u16,
            t["start_ns"].as_u64().unwrap(),
        );
        assert_eq!(l7_by_flow[&key], expected, "flow {} ({kind})", t["id"]);
        let strs = |k: &str| -> Vec<String> {
            match &t[k] {
                Value::String(s) => vec![s.clone()],
                Value::Array(a) => a
                    .iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect(),
                _ => vec![],
            }
        };
        let proto = if kind == "quic" {
            "quic.sni"
        } else {
            "tls.sni"
        };
        want.entry(proto).or_default().extend(strs("sni"));
        want.entry("http.host").or_default().extend(strs("hosts"));
        want.entry("dns.qname").or_default().extend(strs("qnames"));
        want.entry("ssh").or_default().extend(strs("ssh_client"));
        want.entry("ssh").or_default().extend(strs("ssh_server"));
    }
    let mut got: HashMap<&str, Vec<String>> = HashMap::new();
    for s in &sessions {
        let f = &s.fields;
        let text = |k: &str| f[k].as_str().map(String::from);
        let (what, vals): (&str, Vec<Option<String>>) = match s.protocol.name() {
            "tls" => ("tls.sni", vec![text("sni")]),
            "quic" => ("quic.sni", vec![text("sni")]),
            "http" => ("http.host", vec![text("host")]),
            "dns" => ("dns.qname", vec![text("qname")]),
            "ssh" => ("ssh", vec![text("client_version"), text("server_version")]),
            other => panic!("unexpected protocol {other}"),
        };
        got.entry(what)
            .or_default()
            .extend(vals.into_iter().flatten());
    }
    for what in ["tls.sni", "quic.sni", "http.host", "dns.qname", "ssh"] {
        let mut w = want.remove(what).unwrap_or_default();
        let mut g = got.remove(what).unwrap_or_default();
        w.sort();
        g.sort();
        assert!(!w.is_empty(), "the bundled trace has no {what}");
        assert_eq!(g, w, "{what}");
    }
}
