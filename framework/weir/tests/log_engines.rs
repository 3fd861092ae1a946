//! `weir log` is a weir application: its compiled pipeline, the reference
//! interpreter and the naive engine write the same logs, with and without
//! `--filter`, on the bundled trace (through the command line) and on every
//! shared real capture (in process).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use weir::app::Engine;
use weir::filter::Filter;
use weir::runtime::Config;

const ENGINES: [&str; 3] = ["compiled", "interp", "naive"];
const FILTERS: [Option<&str>; 3] = [None, Some("tls.sni contains 'a' or http.uri contains 'favicon' or dns"), Some("tcp.port = 443 and not tls")];
const LOGS: [&str; 6] = ["conn.jsonl", "tls.jsonl", "http.jsonl", "dns.jsonl", "quic.jsonl", "ssh.jsonl"];

fn default_pcap() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../traces/data/default.pcap")
}

#[test]
fn the_three_engines_write_identical_log_files() {
    for filter in FILTERS {
        let mut outputs: Vec<(String, Vec<Vec<u8>>)> = Vec::new();
        for engine in ENGINES {
            let dir = tempfile::tempdir().unwrap();
            let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_weir"));
            cmd.args(["log", "--quiet", "--engine", engine, "--out"]).arg(dir.path());
            if let Some(f) = filter {
                cmd.args(["--filter", f]);
            }
            let out = cmd.arg(default_pcap()).output().unwrap();
            assert!(out.status.success(), "weir log --engine {engine}: {}", String::from_utf8_lossy(&out.stderr));
            let files = LOGS.iter().map(|l| std::fs::read(dir.path().join(l)).unwrap()).collect();
            outputs.push((engine.to_string(), files));
        }
        let lines: usize = outputs[0].1.iter().map(|f| f.iter().filter(|b| **b == b'\n').count()).sum();
        assert!(lines > 50, "{filter:?}: only {lines} log lines; the comparison has no teeth");
        for (engine, files) in &outputs[1..] {
            for (k, name) in LOGS.iter().enumerate() {
                assert!(files[k] == outputs[0].1[k], "{filter:?}: {name} of --engine {engine} differs from --engine compiled");
            }
        }
        eprintln!("filter {filter:?}: {lines} log lines, identical on {} engines", ENGINES.len());
    }
}

#[test]
fn the_three_engines_agree_on_the_shared_captures() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/traces/real");
    let Ok(rd) = std::fs::read_dir(&dir) else {
        eprintln!("skipped: {} is absent (a fresh clone has no ../shared)", dir.display());
        return;
    };
    let mut pcaps: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng")).collect();
    pcaps.sort();
    let mut cfg = Config::default();
    cfg.offline.progress = false;
    let (mut records, mut runs) = (0usize, 0usize);
    for pcap in &pcaps {
        for filter in FILTERS {
            let dnf = filter.map(|f| Arc::new(Filter::new(f).unwrap().dnf));
            let logs: Vec<(Vec<String>, Vec<String>)> = [Engine::Compiled, Engine::Interp, Engine::Naive]
                .into_iter()
                .map(|e| {
                    let (l, _) = weir::log::run(e, std::slice::from_ref(pcap), &cfg, dnf.clone()).unwrap();
                    runs += 1;
                    (l.conns.iter().map(|c| serde_json::to_string(c).unwrap()).collect(), l.sessions.iter().map(|s| serde_json::Value::Object(s.fields.clone()).to_string()).collect())
                })
                .collect();
            for (name, other) in ["interp", "naive"].iter().zip(&logs[1..]) {
                assert_eq!(other.0, logs[0].0, "{} {filter:?}: conn log of {name} differs from compiled", pcap.display());
                assert_eq!(other.1, logs[0].1, "{} {filter:?}: L7 logs of {name} differ from compiled", pcap.display());
            }
            records += logs[0].0.len() + logs[0].1.len();
        }
    }
    assert!(records > 1000, "only {records} records compared");
    eprintln!("{} captures x {} filters: {runs} runs, {records} records identical on 3 engines", pcaps.len(), FILTERS.len());
}
