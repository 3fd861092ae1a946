//! `weir log`'s L7 logs against tshark on every capture in
//! `../shared/traces/real`: the multisets of TLS SNIs (TLS over TCP), QUIC
//! SNIs, HTTP requests (method, host, URI), DNS messages (id, qname) and SSH
//! banners equal tshark's. This runs the whole product path — the runtime's
//! reassembly and probing, then the parsers — where the protocol crate's own
//! tshark tests use a test harness.
//!
//! Differences are named in `KNOWN` (capture, log, reason); a listed entry
//! that no longer differs fails the test. Skips when `../shared` is absent.

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use weir::app::Engine;
use weir::runtime::Config;
use weir_protocols::registry::Protocol;

const KNOWN: &[(&str, &str, &str)] = &[
    (
        "zeek__http_methods.pcap",
        "http.request",
        "deliberately broken request lines (`OPTIONS HTTP/1.1`, `GET /HTTP/1.1`): weir's probe decides by content and \
         needs METHOD SP target SP HTTP/1.x; tshark decodes them because they are on port 80",
    ),
    (
        "zeek__tls_hrr.pcap",
        "tls.sni",
        "HelloRetryRequest: the second ClientHello belongs to the same handshake, so weir logs one TLS session; \
         tshark lists each ClientHello",
    ),
    (
        "zeek__vlan-collisions.pcap",
        "http.request",
        "the same connection on three VLAN stacks: weir keeps three connections (VLANs are part of the key, as in \
         Zeek); tshark ignores VLAN IDs and merges them",
    ),
];

/// mDNS, LLMNR and NetBIOS name service use the DNS message format, and
/// weir's content-based probe parses them as DNS; tshark names them as
/// other protocols and its DNS truth leaves them out, so they are left out
/// of the comparison.
const NOT_DNS_PORTS: [u64; 3] = [5353, 5355, 137];

fn tsv(dir: &Path, capture: &str, kind: &str) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(dir.join("truth").join(format!("{capture}.{kind}.tsv")))
        .unwrap_or_default();
    let mut lines = text.lines();
    let Some(header) = lines.next() else {
        return vec![];
    };
    let cols: Vec<&str> = header.split('\t').collect();
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            cols.iter()
                .zip(l.split('\t'))
                .map(|(c, v)| (c.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

type Bag = BTreeMap<String, i64>;

fn bag(items: impl IntoIterator<Item = String>) -> Bag {
    let mut b = Bag::new();
    for i in items {
        *b.entry(i).or_default() += 1;
    }
    b
}

/// Items in `a` and not in `b` (with multiplicity), and the reverse.
fn diff(a: &Bag, b: &Bag) -> (Vec<String>, Vec<String>) {
    let mut only_a = Vec::new();
    let mut only_b = Vec::new();
    for k in a.keys().chain(b.keys()) {
        let d = a.get(k).copied().unwrap_or(0) - b.get(k).copied().unwrap_or(0);
        if d > 0 && !only_a.contains(k) {
            only_a.push(format!("{k} x{d}"));
        } else if d < 0 && !only_b.contains(k) {
            only_b.push(format!("{k} x{}", -d));
        }
    }
    only_a.dedup();
    only_b.dedup();
    (only_a, only_b)
}

fn s(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(x) => x.clone(),
        other => other.to_string(),
    }
}

#[test]
fn l7_logs_match_tshark() {
    let Some((dir, pcaps)) = common::real_captures() else {
        return;
    };
    let mut failures = Vec::new();
    let mut compared: BTreeMap<&str, usize> = BTreeMap::new();
    let mut known_used = vec![false; KNOWN.len()];
    for pcap in &pcaps {
        let name = pcap.file_name().unwrap().to_string_lossy().to_string();
        let mut cfg = Config::default();
        cfg.offline.progress = false;
        let (logs, _) = weir::log::run(Engine::Compiled, std::slice::from_ref(pcap), &cfg, None).unwrap();
        let sessions = logs.sessions;
        let ours =
            |p: Protocol,
             f: &dyn Fn(&serde_json::Map<String, serde_json::Value>) -> Vec<String>| {
                bag(sessions
                    .iter()
                    .filter(|r| r.protocol == p)
                    .flat_map(|r| f(&r.fields)))
            };
        let checks: Vec<(&str, Bag, Bag)> = vec![
            (
                "tls.sni",
                ours(Protocol::Tls, &|f| vec![s(&f["sni"])]),
                bag(tsv(&dir, &name, "tls")
                    .into_iter()
                    .filter(|r| r["carrier"] == "tcp")
                    .map(|r| r["sni"].clone())),
            ),
            (
                "quic.sni",
                ours(Protocol::Quic, &|f| vec![s(&f["sni"])]),
                bag(tsv(&dir, &name, "quic")
                    .into_iter()
                    .map(|r| r["sni"].clone())),
            ),
            (
                "http.request",
                ours(Protocol::Http, &|f| {
                    if f["method"].is_null() {
                        vec![]
                    } else {
                        vec![format!(
                            "{} {} {}",
                            s(&f["method"]),
                            s(&f["host"]),
                            s(&f["uri"])
                        )]
                    }
                }),
                bag(tsv(&dir, &name, "http")
                    .into_iter()
                    .map(|r| format!("{} {} {}", r["method"], r["host"], r["uri"]))),
            ),
            (
                // Every DNS message tshark saw: ours are transactions holding a query and/or a response.
                "dns.message",
                ours(Protocol::Dns, &|f| {
                    let port = |k: &str| f[k].as_u64().unwrap_or(0);
                    if NOT_DNS_PORTS.contains(&port("orig_p"))
                        || NOT_DNS_PORTS.contains(&port("resp_p"))
                    {
                        return vec![];
                    }
                    // A transaction holds a query and/or a response: `rcode` comes
                    // from the response, `rtt` needs both.
                    let m = format!("{} {}", s(&f["id"]), s(&f["qname"]));
                    let messages = if !f["rtt"].is_null() { 2 } else { 1 };
                    vec![m; messages]
                }),
                bag(tsv(&dir, &name, "dns")
                    .into_iter()
                    .map(|r| format!("{} {}", r["id"], r["qname"]))),
            ),
            (
                "ssh.banner",
                ours(Protocol::Ssh, &|f| {
                    vec![s(&f["client_version"]), s(&f["server_version"])]
                        .into_iter()
                        .filter(|b| !b.is_empty())
                        .collect()
                }),
                bag(tsv(&dir, &name, "ssh")
                    .into_iter()
                    .map(|r| r["banner"].clone())),
            ),
        ];
        for (what, mine, theirs) in checks {
            *compared.entry(what).or_default() += theirs.values().sum::<i64>() as usize;
            let (only_ours, only_tshark) = diff(&mine, &theirs);
            if only_ours.is_empty() && only_tshark.is_empty() {
                continue;
            }
            if let Some(i) = KNOWN.iter().position(|k| k.0 == name && k.1 == what) {
                known_used[i] = true;
                eprintln!(
                    "known difference {name} {what}: {} ({:?} / {:?})",
                    KNOWN[i].2, only_ours, only_tshark
                );
                continue;
            }
            failures.push(format!(
                "{name} {what}: only weir {only_ours:?}; only tshark {only_tshark:?}"
            ));
        }
    }
    for (i, used) in known_used.iter().enumerate() {
        if !used {
            failures.push(format!(
                "KNOWN entry {:?} no longer differs; remove it",
                KNOWN[i]
            ));
        }
    }
    eprintln!(
        "tshark L7 agreement over {} captures: {compared:?}",
        pcaps.len()
    );
    assert!(
        failures.is_empty(),
        "{} difference(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}
