//! `weir log --filter` on the bundled synthetic trace: for each filter, the
//! filtered logs are exactly the unfiltered logs restricted to the
//! connections an independent predicate over the unfiltered records selects
//! (conn records, and every L7 record of those connections and no other),
//! on 1 and 2 cores. Plus the command line: an invalid filter exits non-zero
//! with a caret diagram, and `weir filter explain` prints every stage.

use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use weir::connlog::ConnLogRecord;
use weir::filter::Filter;
use weir::app::Engine;
use weir::log::L7Record;
use weir::runtime::Config;

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
    let dnf = filter.map(|src| Arc::new(Filter::new(src).unwrap_or_else(|e| panic!("{e}")).dnf));
    let (logs, report) = weir::log::run(Engine::Compiled, &[pcap], &cfg, dnf).unwrap();
    assert!(report.stats.balanced());
    (logs.conns, logs.sessions)
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

/// What a filter selects, by an oracle over the unfiltered logs.
enum Pick {
    /// Connection-level (packet and protocol predicates): the connection with all its records.
    Conn(Box<dyn Fn(&ConnLogRecord) -> bool>),
    /// Field predicates, decided per session: a connection with a session
    /// that matches, and its records from the first such session on.
    Session(Box<dyn Fn(&L7Record) -> bool>),
}

/// A connection's records in the order its parser produced them.
fn in_session_order(mut ss: Vec<&L7Record>) -> Vec<&L7Record> {
    ss.sort_by_key(|s| (s.fields.get("trans_depth").and_then(Value::as_u64), s.ts_ns));
    ss
}

#[test]
fn filtered_logs_are_the_matching_part_of_the_full_logs() {
    let (all, all_sessions) = run(None, 1);
    let field = |s: &L7Record, k: &str| s.fields.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let cases: Vec<(&str, Pick)> = vec![
        ("tls", Pick::Conn(Box::new(|c| c.l7 == Some("tls")))),
        ("dns", Pick::Conn(Box::new(|c| c.l7 == Some("dns")))),
        ("udp and not dns", Pick::Conn(Box::new(|c| c.proto == "udp" && c.l7 != Some("dns")))),
        ("tcp.port = 443", Pick::Conn(Box::new(|c| c.proto == "tcp" && (c.orig_p == 443 || c.resp_p == 443)))),
        ("tcp.dst_port in 1..=1023 and not http", Pick::Conn(Box::new(|c| c.proto == "tcp" && (1..=1023).contains(&c.resp_p) && c.l7 != Some("http")))),
        ("ipv6", Pick::Conn(Box::new(|c| c.orig_h.contains(':')))),
        ("quic or ssh", Pick::Conn(Box::new(|c| matches!(c.l7, Some("quic" | "ssh"))))),
        (
            "tls.sni contains 'a' or http.host ~ '\\\\.com$'",
            Pick::Session(Box::new(move |s| (s.protocol.name() == "tls" && field(s, "sni").contains('a')) || (s.protocol.name() == "http" && field(s, "host").ends_with(".com")))),
        ),
        (
            // Often not the connection's first request.
            "http.uri contains 'favicon'",
            Pick::Session(Box::new(move |s| s.protocol.name() == "http" && field(s, "uri").contains("favicon"))),
        ),
        (
            // Negated, per session: a request not from Wget.
            "http.user_agent not contains 'Wget'",
            Pick::Session(Box::new(move |s| s.protocol.name() == "http" && !field(s, "user_agent").contains("Wget"))),
        ),
        (
            "http.user_agent != 'python-requests/2.31.0' and http.status = 200",
            Pick::Session(Box::new(move |s| {
                s.protocol.name() == "http" && field(s, "user_agent") != "python-requests/2.31.0" && s.fields.get("status").and_then(Value::as_u64) == Some(200)
            })),
        ),
    ];
    let mut selected_total = 0;
    let mut cut_sessions = 0;
    for (src, pick) in &cases {
        let mut want: Vec<&ConnLogRecord> = Vec::new();
        let mut want_sessions: Vec<&L7Record> = Vec::new();
        for c in &all {
            let ss = in_session_order(sessions_of(&all_sessions, &key(c)));
            match pick {
                Pick::Conn(f) if f(c) => {
                    want.push(c);
                    want_sessions.extend(ss);
                }
                Pick::Session(f) => {
                    if let Some(i) = ss.iter().position(|s| f(s)) {
                        want.push(c);
                        cut_sessions += i;
                        want_sessions.extend(&ss[i..]);
                    }
                }
                Pick::Conn(_) => {}
            }
        }
        assert!(!want.is_empty(), "{src}: the oracle selects nothing; pick a filter with teeth");
        selected_total += want.len();
        // In the logs' own order.
        let want_sessions: Vec<&L7Record> = all_sessions.iter().filter(|s| want_sessions.iter().any(|w| std::ptr::eq(*w, *s))).collect();
        for cores in [1, 2] {
            let (got, got_sessions) = run(Some(src), cores);
            let got_keys: Vec<Key> = got.iter().map(key).collect();
            let want_list: Vec<Key> = want.iter().map(|c| key(c)).collect();
            assert_eq!(got_keys, want_list, "{src} on {cores} core(s): connections");
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
    assert!(cut_sessions > 0, "no filter matched a connection after its first transaction; the per-session rule is untested");
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
