//! SSH agreement with tshark on every capture in `shared/traces/real`.
//!
//! tshark's `truth/<capture>.ssh.tsv` has one row per identification
//! string. For every TCP connection our probe accepts, the handshake's
//! client and server banners are compared with those rows (sender,
//! receiver, role, banner, protocol, software, comments). Known differences
//! are listed in [`KNOWN`]. The test also checks that the KEXINIT of both
//! sides was decoded wherever the handshake reached NEWKEYS.

mod support;

use std::collections::BTreeMap;

use weir_protocols::ssh::{SshBanner, SshParser};
use weir_protocols::{ProbeResult, Transport};

/// (src, dst, role, banner, proto, software, comments)
type Row = (String, String, String, String, String, String, String);

/// Known, explained disagreements: (capture, rows only ours, rows only tshark, reason).
const KNOWN: &[(&str, usize, usize, &str)] = &[];

fn ep(addr: &str, port: &str) -> String {
    if addr.contains(':') {
        format!("[{addr}]:{port}")
    } else {
        format!("{addr}:{port}")
    }
}

fn our_row(src: String, dst: String, role: &str, b: &SshBanner) -> Row {
    (
        src,
        dst,
        role.to_string(),
        b.full.clone(),
        b.proto_version.clone(),
        b.software_version.clone(),
        b.comments.clone().unwrap_or_default(),
    )
}

#[test]
fn ssh_agrees_with_tshark() {
    let Some(captures) = support::captures() else { return };
    let mut agreed = 0usize;
    let mut with_both_kex = 0usize;
    let mut failures = Vec::new();
    for path in captures {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let Some(truth) = support::truth(&name, "ssh") else {
            eprintln!("skipping {name}: no ssh truth file");
            continue;
        };
        let mut want: BTreeMap<Row, usize> = BTreeMap::new();
        for r in &truth {
            *want
                .entry((
                    ep(&r["src_addr"], &r["src_port"]),
                    ep(&r["dst_addr"], &r["dst_port"]),
                    r["role"].clone(),
                    r["banner"].clone(),
                    r["proto_version"].clone(),
                    r["software_version"].clone(),
                    r["comments"].clone(),
                ))
                .or_default() += 1;
        }
        let mut got: BTreeMap<Row, usize> = BTreeMap::new();
        for conn in support::connections(&path) {
            if conn.transport != Transport::Tcp || support::probe::<SshParser>(&conn, 4) != ProbeResult::Certain {
                continue;
            }
            let (c, s) = (support::endpoint(&conn.client), support::endpoint(&conn.server));
            let mut p = SshParser::default();
            for h in support::run(&mut p, &conn) {
                if let Some(b) = &h.client_banner {
                    *got.entry(our_row(c.clone(), s.clone(), "client", b)).or_default() += 1;
                }
                if let Some(b) = &h.server_banner {
                    *got.entry(our_row(s.clone(), c.clone(), "server", b)).or_default() += 1;
                }
                if h.client_newkeys && h.server_newkeys {
                    assert!(h.client_kex.is_some() && h.server_kex.is_some(), "{name}: NEWKEYS without KEXINIT");
                    with_both_kex += 1;
                }
            }
        }
        let (mut only_ours, mut only_tshark) = (0usize, 0usize);
        let mut detail = Vec::new();
        for (row, &n) in &want {
            let g = got.get(row).copied().unwrap_or(0);
            agreed += n.min(g);
            if n > g {
                only_tshark += n - g;
                detail.push(format!("tshark only {row:?}"));
            }
        }
        for (row, &n) in &got {
            let w = want.get(row).copied().unwrap_or(0);
            if n > w {
                only_ours += n - w;
                detail.push(format!("ours only {row:?}"));
            }
        }
        let expect = KNOWN.iter().find(|k| k.0 == name).map_or((0, 0), |k| (k.1, k.2));
        if (only_ours, only_tshark) != expect {
            failures.push(format!("{name}: {only_ours} only ours / {only_tshark} only tshark (known {expect:?}): {detail:#?}"));
        }
    }
    eprintln!("ssh: {agreed} banners agree with tshark; {with_both_kex} handshakes reached NEWKEYS with both KEXINITs");
    assert!(failures.is_empty(), "{} disagreements:\n{}", failures.len(), failures.join("\n"));
    assert!(agreed >= 50, "too few banners compared: {agreed}");
    assert!(with_both_kex > 10, "too few complete handshakes: {with_both_kex}");
}
