//! DNS agreement with tshark on every capture in `shared/traces/real`.
//!
//! The truth (`truth/<capture>.dns.tsv`) lists every DNS message. For every
//! UDP/TCP connection our probe accepts, every message the parser saw (the
//! query and response of each transaction) is compared with tshark's rows
//! for the same connection, as multisets of (id, QR, opcode, rcode,
//! question count, qname, qtype, answer/authority/additional counts).
//! Differences that are understood are listed in [`KNOWN`].

mod support;

use std::collections::BTreeMap;

use weir_protocols::dns::{DnsMessage, DnsParser};
use weir_protocols::{ProbeResult, Transport};

/// (id, is_response, opcode, rcode, qdcount, qname, qtype, an, ns, ar)
type Msg = (String, String, String, String, String, String, String, String, String, String);
type Key = (String, String, String);

/// Ports tshark gives to protocols that share the DNS wire format but are
/// not labelled `dns` (mDNS, LLMNR, NetBIOS name service): the truth has no
/// rows for them, so we do not compare connections on these ports.
const OTHER_PROTOCOL_PORTS: &[u16] = &[5353, 5355, 137];

/// Known, explained disagreements: (capture, messages only we report,
/// messages only tshark reports, reason).
const KNOWN: &[(&str, usize, usize, &str)] = &[
    (
        "ndpi__dns_fragmented.pcap",
        0,
        7,
        "7 large responses (DNSKEY/ANY with many records) arrive in IPv4/IPv6 fragments; the test \
         harness (tests/support) skips IP fragments, tshark reassembles them (ip.defragment). The \
         parser is not involved: the datagrams never reach it",
    ),
    (
        "zeek__dns-edns-ecs.pcap",
        0,
        4,
        "the same 4 IP-fragmented responses as in ndpi__dns_fragmented (the captures share packets); \
         the harness skips IP fragments",
    ),
];

fn msg_row(m: &DnsMessage) -> Msg {
    let qname = m
        .questions
        .iter()
        .map(|q| if q.name == "." { "<Root>".to_string() } else { q.name.clone() })
        .collect::<Vec<_>>()
        .join(",");
    let qtype = m.questions.iter().map(|q| q.qtype.to_string()).collect::<Vec<_>>().join(",");
    (
        m.id.to_string(),
        u8::from(m.qr).to_string(),
        m.opcode.to_string(),
        if m.qr { m.rcode.to_string() } else { String::new() },
        m.questions.len().to_string(),
        qname,
        qtype,
        m.answers.len().to_string(),
        m.authority.len().to_string(),
        m.additional.len().to_string(),
    )
}

fn key(transport: &str, a: String, b: String) -> Key {
    if a <= b {
        (transport.to_string(), a, b)
    } else {
        (transport.to_string(), b, a)
    }
}

fn ep(addr: &str, port: &str) -> String {
    if addr.contains(':') {
        format!("[{addr}]:{port}")
    } else {
        format!("{addr}:{port}")
    }
}

#[test]
fn dns_agrees_with_tshark() {
    let Some(captures) = support::captures() else { return };
    let mut agreed = 0usize;
    let mut failures = Vec::new();
    for path in captures {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(truth) = support::truth(&name, "dns") else {
            eprintln!("skipping {name}: no dns truth file");
            continue;
        };
        let mut want: BTreeMap<Key, Vec<Msg>> = BTreeMap::new();
        for r in &truth {
            let k = key(&r["transport"], ep(&r["src_addr"], &r["src_port"]), ep(&r["dst_addr"], &r["dst_port"]));
            want.entry(k).or_default().push((
                r["id"].clone(),
                r["is_response"].clone(),
                r["opcode"].clone(),
                r["rcode"].clone(),
                r["qdcount"].clone(),
                r["qname"].clone(),
                r["qtype"].clone(),
                r["ancount"].clone(),
                r["nscount"].clone(),
                r["arcount"].clone(),
            ));
        }
        let mut got: BTreeMap<Key, Vec<Msg>> = BTreeMap::new();
        for conn in support::connections(&path) {
            if OTHER_PROTOCOL_PORTS.contains(&conn.client.1) || OTHER_PROTOCOL_PORTS.contains(&conn.server.1) {
                continue;
            }
            if support::probe::<DnsParser>(&conn, 4) != ProbeResult::Certain {
                continue;
            }
            let tr = match conn.transport {
                Transport::Udp => "udp",
                Transport::Tcp => "tcp",
            };
            let k = key(tr, support::endpoint(&conn.client), support::endpoint(&conn.server));
            let mut p = DnsParser::default();
            for t in support::run(&mut p, &conn) {
                for m in t.query.iter().chain(t.response.iter()) {
                    got.entry(k.clone()).or_default().push(msg_row(m));
                }
            }
        }
        let (mut only_ours, mut only_tshark) = (0usize, 0usize);
        let mut detail = Vec::new();
        let keys: std::collections::BTreeSet<&Key> = want.keys().chain(got.keys()).collect();
        for k in keys {
            let mut w = want.get(k).cloned().unwrap_or_default();
            let mut g = got.get(k).cloned().unwrap_or_default();
            w.sort();
            g.sort();
            let (mut i, mut j) = (0, 0);
            while i < w.len() || j < g.len() {
                match (w.get(i), g.get(j)) {
                    (Some(a), Some(b)) if a == b => {
                        agreed += 1;
                        i += 1;
                        j += 1;
                    }
                    (Some(a), Some(b)) if a < b => {
                        only_tshark += 1;
                        detail.push(format!("tshark only {k:?} {a:?}"));
                        i += 1;
                    }
                    (Some(_), Some(b)) | (None, Some(b)) => {
                        only_ours += 1;
                        detail.push(format!("ours only {k:?} {b:?}"));
                        j += 1;
                    }
                    (Some(a), None) => {
                        only_tshark += 1;
                        detail.push(format!("tshark only {k:?} {a:?}"));
                        i += 1;
                    }
                    (None, None) => break,
                }
            }
        }
        let expect = KNOWN.iter().find(|k| k.0 == name).map_or((0, 0), |k| (k.1, k.2));
        if (only_ours, only_tshark) != expect {
            failures.push(format!(
                "{name}: {only_ours} messages only ours / {only_tshark} only tshark (known {expect:?}): {detail:#?}"
            ));
        }
    }
    eprintln!("dns: {agreed} messages agree with tshark");
    assert!(failures.is_empty(), "{} disagreements:\n{}", failures.len(), failures.join("\n"));
    assert!(agreed > 400, "too few messages compared: {agreed}");
}
