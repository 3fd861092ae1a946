//! QUIC agreement with tshark (`truth/<capture>.quic.tsv`) on every real
//! capture: one row per connection whose ClientHello was decrypted and
//! reassembled. Compared columns: version, dcid (of the Initial that
//! completed the ClientHello), sni, alpn, supported_versions.

mod support;

use std::collections::{BTreeMap, BTreeSet};

use weir_protocols::quic::{QuicParser, QuicStream};
use weir_protocols::{ProbeResult, Transport};

fn colon_hex(h: &str) -> String {
    h.as_bytes().chunks(2).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join(":")
}

fn row(s: &QuicStream) -> Option<BTreeMap<&'static str, String>> {
    let ch = s.client_hello.as_ref()?;
    let mut r = BTreeMap::new();
    r.insert("version", format!("0x{:08x}", s.version));
    r.insert("dcid", colon_hex(s.client_hello_dcid.as_deref().unwrap_or_default()));
    r.insert("sni", s.sni.clone().unwrap_or_default());
    r.insert("alpn", s.alpn.join(","));
    r.insert(
        "supported_versions",
        ch.supported_versions.iter().map(|v| format!("0x{v:04x}")).collect::<Vec<_>>().join(","),
    );
    Some(r)
}

#[test]
fn quic_agrees_with_tshark_on_every_capture() {
    let Some(caps) = support::captures() else { return };
    let mut compared = 0usize;
    let mut failures = Vec::new();
    for cap in &caps {
        let name = cap.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        let Some(truth) = support::truth(&name, "quic") else { continue };
        let mut want: BTreeMap<(String, String), Vec<&std::collections::HashMap<String, String>>> = BTreeMap::new();
        for r in &truth {
            let c = format!("{}:{}", r["client_addr"], r["client_port"]);
            let s = format!("{}:{}", r["server_addr"], r["server_port"]);
            want.entry((c, s)).or_default().push(r);
        }
        let mut got: BTreeMap<(String, String), Vec<BTreeMap<&'static str, String>>> = BTreeMap::new();
        for conn in support::connections(cap) {
            if conn.transport != Transport::Udp || support::probe::<QuicParser>(&conn, 1) != ProbeResult::Certain {
                continue;
            }
            let mut p = QuicParser::new();
            let key = (format!("{}:{}", conn.client.0, conn.client.1), format!("{}:{}", conn.server.0, conn.server.1));
            for t in support::run_detailed(&mut p, &conn) {
                // Headers end once the ServerHello is read (or 1-RTT starts).
                if t.session.server_hello.is_some() && t.headers_frame.is_none() {
                    failures.push(format!("{name} {}: ServerHello parsed but no HeadersDone", key.0));
                }
                got.entry(key.clone()).or_default().extend(row(&t.session));
            }
        }
        let keys: BTreeSet<_> = want.keys().chain(got.keys()).cloned().collect();
        for key in keys {
            let w = want.get(&key).map(Vec::as_slice).unwrap_or_default();
            let g = got.get(&key).map(Vec::as_slice).unwrap_or_default();
            for i in 0..w.len().max(g.len()) {
                match (w.get(i), g.get(i)) {
                    (Some(w), Some(g)) => {
                        compared += 1;
                        for (col, ours) in g {
                            if &w[*col] != ours {
                                failures.push(format!(
                                    "{name} {} -> {}: {col}: tshark {:?}, weir {:?}",
                                    key.0, key.1, w[*col], ours
                                ));
                            }
                        }
                    }
                    (Some(w), None) => {
                        failures.push(format!("{name} {} -> {}: missing (tshark sni {:?})", key.0, key.1, w["sni"]))
                    }
                    (None, Some(g)) => {
                        failures.push(format!("{name} {} -> {}: extra (weir sni {:?})", key.0, key.1, g["sni"]))
                    }
                    (None, None) => {}
                }
            }
        }
    }
    eprintln!("compared {compared} QUIC rows");
    assert!(failures.is_empty(), "{} disagreements:\n{}", failures.len(), failures.join("\n"));
    assert!(compared >= 13, "too few rows compared: {compared}");
}

/// Server Initials decrypt (ServerHello → cipher), Retry is recognised, v2 is named.
#[test]
fn quic_server_hello_retry_and_v2() {
    let Some(dir) = support::traces_dir() else { return };
    let first = |cap: &str| -> QuicStream {
        let conns = support::connections(dir.join(cap));
        let conn = conns
            .iter()
            .find(|c| c.transport == Transport::Udp && support::probe::<QuicParser>(c, 1) == ProbeResult::Certain)
            .unwrap_or_else(|| panic!("{cap}: no QUIC connection"));
        support::run(&mut QuicParser::new(), conn).into_iter().next().expect("session")
    };
    let x = first("iris__quic_xargs.pcap");
    assert_eq!(x.cipher.as_deref(), Some("TLS_AES_128_GCM_SHA256"));
    assert_eq!(x.tls_version.as_deref(), Some("TLSv1.3"));
    let r = first("sv__quic-retry.pcap");
    assert!(r.retry);
    assert!(r.server_hello.is_some(), "ServerHello decrypted with keys from the Retry SCID");
    let v2 = first("zeek__quic_quicv2-echo-443.pcap");
    assert_eq!(v2.version_name, "v2");
    assert!(v2.server_hello.is_some());
}
