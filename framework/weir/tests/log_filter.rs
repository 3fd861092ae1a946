//! `weir log --filter` on the bundled synthetic trace: for each filter, the
//! filtered logs are exactly the unfiltered logs restricted to the
//! connections an independent predicate over the unfiltered records selects
//! (conn records, and every L7 record of those connections and no other),
//! on 1 and 2 cores. Plus the command line: an invalid filter exits non-zero
//! with a caret diagram, and `weir filter explain` prints every stage.

use serde_json::{Map, Value};
use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;
use weir::connlog::{sort_records, ConnLogRecord};
use weir::filter::trie::{PredicateTrie, TrieOptions};
use weir::filter::Filter;
use weir::log::{sort_sessions, L7Record, LogApp};
use weir::runtime::{run_offline, Config};

type Key = (String, u16, String, u16, &'static str);

fn key(r: &ConnLogRecord) -> Key {
    (r.orig_h.clone(), r.orig_p, r.resp_h.clone(), r.resp_p, r.proto)
}

fn l7_key(f: &Map<String, Value>) -> (String, u16, String, u16, String) {
    let s = |k: &str| f[k].as_str().unwrap_or_default().to_string();
    let p = |k: &str| f[k].as_u64().unwrap_or_default() as u16;
    (s("orig_h"), p("orig_p"), s("resp_h"), p("resp_p"), s("proto"))
}

fn run(filter: Option<&str>, cores: usize) -> (Vec<ConnLogRecord>, Vec<L7Record>) {
    let pcap = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../traces/data/default.pcap");
    let mut cfg = Config::default();
    cfg.offline.cores = cores;
    cfg.offline.progress = false;
    let trie = filter.map(|src| {
        let f = Filter::new(src).unwrap_or_else(|e| panic!("{e}"));
        Arc::new(PredicateTrie::build(&[&f.dnf], &TrieOptions::default()).unwrap())
    });
    let (apps, report) = run_offline(&[pcap], &cfg, |_| match &trie {
        Some(t) => LogApp::with_filter(t.clone()),
        None => LogApp::default(),
    })
    .unwrap();
    assert!(report.stats.balanced());
    let mut conns = Vec::new();
    let mut sessions = Vec::new();
    for a in apps {
        conns.extend(a.conns);
        sessions.extend(a.sessions);
    }
    sort_records(&mut conns);
    sort_sessions(&mut sessions);
    (conns, sessions)
}

/// The L7 records of one connection, by protocol key.
fn sessions_of<'a>(all: &'a [L7Record], k: &Key) -> Vec<&'a L7Record> {
    all.iter()
        .filter(|s| {
            let (oh, op, rh, rp, proto) = l7_key(&s.fields);
            (oh, op, rh, rp) == (k.0.clone(), k.1, k.2.clone(), k.3) && proto == k.4
        })
        .collect()
}

#[test]
fn filtered_logs_are_the_matching_part_of_the_full_logs() {
    let (all, all_sessions) = run(None, 1);
    let field = |s: &L7Record, k: &str| s.fields.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    type Pick = Box<dyn Fn(&ConnLogRecord, &[&L7Record]) -> bool>;
    let cases: Vec<(&str, Pick)> = vec![
        ("tls", Box::new(|c, _| c.l7 == Some("tls"))),
        ("dns", Box::new(|c, _| c.l7 == Some("dns"))),
        ("udp and not dns", Box::new(|c, _| c.proto == "udp" && c.l7 != Some("dns"))),
        ("tcp.port = 443", Box::new(|c, _| c.proto == "tcp" && (c.orig_p == 443 || c.resp_p == 443))),
        ("tcp.dst_port in 1..=1023 and not http", Box::new(|c, _| c.proto == "tcp" && (1..=1023).contains(&c.resp_p) && c.l7 != Some("http"))),
        ("ipv6", Box::new(|c, _| c.orig_h.contains(':'))),
        (
            "tls.sni contains 'a' or http.host ~ '\\\\.com$'",
            Box::new(move |_, ss| {
                ss.iter().any(|s| {
                    let sni = field(s, "sni");
                    let host = field(s, "host");
                    (s.protocol.name() == "tls" && sni.contains('a')) || (s.protocol.name() == "http" && host.ends_with(".com"))
                })
            }),
        ),
        (
            // `!=`: an HTTP connection with no request from Wget.
            "http.user_agent not contains 'Wget'",
            Box::new(move |c, ss| c.l7 == Some("http") && !ss.iter().any(|s| field(s, "user_agent").contains("Wget"))),
        ),
        (
            "http.user_agent != 'python-requests/2.31.0' and http.status = 200",
            Box::new(move |c, ss| {
                c.l7 == Some("http")
                    && !ss.iter().any(|s| field(s, "user_agent") == "python-requests/2.31.0")
                    && ss.iter().any(|s| s.fields.get("status").and_then(Value::as_u64) == Some(200))
            }),
        ),
        ("quic or ssh", Box::new(|c, _| matches!(c.l7, Some("quic" | "ssh")))),
    ];
    let mut selected_total = 0;
    for (src, pick) in &cases {
        let want: Vec<&ConnLogRecord> = all.iter().filter(|c| pick(c, &sessions_of(&all_sessions, &key(c)))).collect();
        assert!(!want.is_empty(), "{src}: the oracle selects nothing; pick a filter with teeth");
        selected_total += want.len();
        let want_keys: BTreeSet<Key> = want.iter().map(|c| key(c)).collect();
        let want_sessions: Vec<&L7Record> = all_sessions
            .iter()
            .filter(|s| {
                let (oh, op, rh, rp, proto) = l7_key(&s.fields);
                want_keys.iter().any(|k| (k.0.as_str(), k.1, k.2.as_str(), k.3, k.4) == (oh.as_str(), op, rh.as_str(), rp, proto.as_str()))
            })
            .collect();
        for cores in [1, 2] {
            let (got, got_sessions) = run(Some(src), cores);
            let got_keys: Vec<Key> = got.iter().map(key).collect();
            let want_list: Vec<Key> = want.iter().map(|c| key(c)).collect();
            assert_eq!(got_keys, want_list, "{src} on {cores} core(s): connections");
            assert_eq!(got.len(), want.len());
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(g, *w, "{src}: the conn record is the unfiltered one");
            }
            let got_s: Vec<&Map<String, Value>> = got_sessions.iter().map(|s| &s.fields).collect();
            let want_s: Vec<&Map<String, Value>> = want_sessions.iter().map(|s| &s.fields).collect();
            assert_eq!(got_s, want_s, "{src} on {cores} core(s): L7 records");
        }
        eprintln!("{src}: {} connections, {} L7 records", want.len(), want_sessions.len());
    }
    assert!(selected_total > 500, "the filters select {selected_total} connections in all");
    // Every connection is selected by a filter or its complement.
    let counts: HashMap<bool, usize> = all.iter().fold(HashMap::new(), |mut m, c| {
        *m.entry(c.l7 == Some("tls")).or_default() += 1;
        m
    });
    let (not_tls, _) = run(Some("not tls"), 1);
    assert_eq!(not_tls.len(), counts.get(&false).copied().unwrap_or(0));
}

fn weir() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_weir"))
}

#[test]
fn invalid_filter_prints_a_caret_and_fails() {
    let pcap = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../traces/data/default.pcap");
    let out_dir = tempfile::tempdir().unwrap();
    let out = weir()
        .args(["log", "--quiet", "--filter", "tcp.port contains 'x'", "--out"])
        .arg(out_dir.path())
        .arg(&pcap)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("invalid filter"), "{err}");
    assert!(err.contains("1 | tcp.port contains 'x'\n  |          ^^^^^^^^"), "{err}");
    assert!(!out_dir.path().join("conn.jsonl").exists(), "nothing is written for an invalid filter");
}

#[test]
fn unknown_bare_name_is_an_error_not_a_user_predicate() {
    let out = weir().args(["filter", "explain", "tcp and tsl"]).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("unknown protocol or predicate `tsl`"), "{err}");
    assert!(err.contains("1 | tcp and tsl\n  |         ^^^"), "{err}");
}

#[test]
fn explain_prints_every_stage() {
    let out = weir().args(["filter", "explain", "tls.sni = 'a.com' or tls.sni = 'b.com'"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "[packet] ipv4 and [packet] tcp and [proto] tls and [headers] tls.sni = 'a.com'",
        "set tls.sni (hash, 2 members, one lookup)",
        "eth / ipv4 / tcp",
        "eth / ipv6 / tcp",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
}
