use super::*;
use crate::{Timestamp, Transport};
use proptest::prelude::*;

const C: Direction = Direction::ToResponder;
const S: Direction = Direction::ToOriginator;

fn meta(dir: Direction) -> SegmentMeta {
    SegmentMeta { dir, ts: Timestamp(0), transport: Transport::Tcp, orig_port: 50000, resp_port: 22 }
}

fn packet(msg: u8, payload: &[u8]) -> Vec<u8> {
    // padding so that (4 + 1 + 1 + payload + padding) % 8 == 0, padding >= 4
    let mut padding = 8 - ((6 + payload.len()) % 8);
    if padding < 4 {
        padding += 8;
    }
    let total = 1 + 1 + payload.len() + padding;
    let mut v = (total as u32).to_be_bytes().to_vec();
    v.push(padding as u8);
    v.push(msg);
    v.extend_from_slice(payload);
    v.extend(std::iter::repeat_n(0xee, padding));
    v
}

fn name_list(v: &mut Vec<u8>, s: &str) {
    v.extend_from_slice(&(s.len() as u32).to_be_bytes());
    v.extend_from_slice(s.as_bytes());
}

fn kexinit(kex: &str, follows: bool) -> Vec<u8> {
    let mut p: Vec<u8> = (0u8..16).collect();
    for s in [
        kex,
        "ssh-ed25519,rsa-sha2-512",
        "chacha20-poly1305@openssh.com,aes128-ctr",
        "aes128-ctr",
        "hmac-sha2-256",
        "hmac-sha2-256,hmac-sha1",
        "none,zlib@openssh.com",
        "none",
        "",
        "",
    ] {
        name_list(&mut p, s);
    }
    p.push(u8::from(follows));
    p.extend_from_slice(&[0, 0, 0, 0]);
    packet(MSG_KEXINIT, &p)
}

fn conversation() -> (Vec<u8>, Vec<u8>) {
    let mut c = b"SSH-2.0-OpenSSH_9.6\r\n".to_vec();
    c.extend(kexinit("curve25519-sha256,ext-info-c", false));
    c.extend(packet(30, &[7; 36])); // KEX_ECDH_INIT
    c.extend(packet(MSG_NEWKEYS, &[]));
    c.extend_from_slice(&[0xab; 40]); // encrypted
    let mut s = b"Welcome\r\nnotice: be nice\nSSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.1\r\n".to_vec();
    s.extend(kexinit("curve25519-sha256", true));
    s.extend(packet(31, &[9; 200])); // KEX_ECDH_REPLY
    s.extend(packet(MSG_NEWKEYS, &[]));
    s.extend_from_slice(&[0xcd; 64]);
    (c, s)
}

#[derive(Debug, PartialEq, Default)]
struct Outcome {
    sessions: Vec<SshHandshake>,
    marks: Vec<ParseEvent>,
}

fn run_with(p: &mut SshParser, segs: &[(Direction, &[u8])]) -> Outcome {
    let mut out = Outcome::default();
    let mut ev = Vec::new();
    let collect = |p: &mut SshParser, ev: &[ParseEvent], out: &mut Outcome| {
        for e in ev {
            match e {
                ParseEvent::HeadersDone(id) => {
                    assert!(p.session(*id).is_some());
                    out.marks.push(e.clone());
                }
                ParseEvent::SessionDone(id) => {
                    out.sessions.push(p.take_session(*id).unwrap());
                    out.marks.push(e.clone());
                }
                ParseEvent::Skipped(_) => out.marks.push(e.clone()),
                _ => {}
            }
        }
    };
    for (d, seg) in segs {
        ev.clear();
        let r = p.parse(seg, &meta(*d), &mut ev);
        if r != ParseResult::Skipped || !ev.is_empty() {
            assert_eq!(r, SshParser::summarize(&ev));
        }
        collect(p, &ev, &mut out);
        assert!(p.buffered_bytes() <= 2 * (p.limits().max_banner_len + p.limits().max_packet_len));
    }
    ev.clear();
    p.finish(&mut ev);
    collect(p, &ev, &mut out);
    out
}

fn split_run(c: &[u8], s: &[u8], cc: &[usize], cs: &[usize]) -> Outcome {
    fn pieces<'a>(b: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
        let mut v = Vec::new();
        let mut prev = 0;
        for &c in cuts {
            let c = c.min(b.len()).max(prev);
            v.push(&b[prev..c]);
            prev = c;
        }
        v.push(&b[prev..]);
        v
    }
    // Interleave: server pieces and client pieces alternate.
    let pc = pieces(c, cc);
    let ps = pieces(s, cs);
    let mut segs = Vec::new();
    for i in 0..pc.len().max(ps.len()) {
        if let Some(p) = ps.get(i) {
            segs.push((S, *p));
        }
        if let Some(p) = pc.get(i) {
            segs.push((C, *p));
        }
    }
    run_with(&mut SshParser::default(), &segs)
}

#[test]
fn banner_split() {
    let b = SshBanner::parse(b"SSH-2.0-OpenSSH_5.9p1 Debian-5ubuntu1.1").unwrap();
    assert_eq!(b.proto_version, "2.0");
    assert_eq!(b.software_version, "OpenSSH_5.9p1");
    assert_eq!(b.comments.as_deref(), Some("Debian-5ubuntu1.1"));
    let b = SshBanner::parse(b"SSH-1.99-Cisco-1.25").unwrap();
    assert!(b.is_v2());
    assert_eq!((b.proto_version.as_str(), b.software_version.as_str(), b.comments), ("1.99", "Cisco-1.25", None));
    assert!(SshBanner::parse(b"HTTP/1.1 200").is_none());
}

#[test]
fn probe() {
    assert_eq!(SshParser::probe(b"SSH-2.0-x\r\n", &meta(C)), ProbeResult::Certain);
    assert_eq!(SshParser::probe(b"SS", &meta(C)), ProbeResult::Unsure);
    assert_eq!(SshParser::probe(b"GET / HTTP/1.1\r\n", &meta(C)), ProbeResult::NotForUs);
    assert_eq!(SshParser::probe(b"hello\r\nSSH-2.0-x\r\n", &meta(S)), ProbeResult::Certain);
    assert_eq!(SshParser::probe(b"hello\r\nSSH-2.0-x\r\n", &meta(C)), ProbeResult::NotForUs);
    assert_eq!(SshParser::probe(b"hello\r\nSS", &meta(S)), ProbeResult::Unsure);
    assert_eq!(SshParser::probe(b"\x00\xff\nSSH-2.0", &meta(S)), ProbeResult::NotForUs);
    assert_eq!(SshParser::probe(b"220 smtp ready\r\n", &meta(S)), ProbeResult::NotForUs);
}

#[test]
fn full_handshake() {
    let (c, s) = conversation();
    let o = split_run(&c, &s, &[], &[]);
    assert_eq!(o.marks, vec![ParseEvent::HeadersDone(0), ParseEvent::SessionDone(0), ParseEvent::Skipped(SkipReason::Opaque)]);
    let h = &o.sessions[0];
    assert_eq!(h.client_version.as_deref(), Some("SSH-2.0-OpenSSH_9.6"));
    assert_eq!(h.server_version.as_deref(), Some("SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.1"));
    assert_eq!(h.server_banner.as_ref().unwrap().comments.as_deref(), Some("Ubuntu-3ubuntu0.1"));
    let ck = h.client_kex.as_ref().unwrap();
    assert_eq!(ck.cookie, "000102030405060708090a0b0c0d0e0f");
    assert_eq!(ck.kex_algorithms, vec!["curve25519-sha256", "ext-info-c"]);
    assert_eq!(ck.server_host_key_algorithms, vec!["ssh-ed25519", "rsa-sha2-512"]);
    assert_eq!(ck.mac_algorithms_server_to_client, vec!["hmac-sha2-256", "hmac-sha1"]);
    assert_eq!(ck.compression_algorithms_client_to_server, vec!["none", "zlib@openssh.com"]);
    assert!(ck.languages_client_to_server.is_empty());
    assert!(!ck.first_kex_packet_follows);
    assert!(h.server_kex.as_ref().unwrap().first_kex_packet_follows);
    assert!(h.client_newkeys && h.server_newkeys);
}

#[test]
fn encrypted_bytes_after_one_sided_newkeys_are_payload() {
    let (c, s) = conversation();
    let mut p = SshParser::default();
    let mut ev = Vec::new();
    p.parse(&c, &meta(C), &mut ev);
    assert!(ev.contains(&ParseEvent::Payload { start: c.len() - 40, end: c.len() }));
    assert!(p.session(0).is_none());
    ev.clear();
    assert_eq!(p.parse(&s, &meta(S), &mut ev), ParseResult::Skipped);
}

#[test]
fn incomplete_handshake_completes_at_finish() {
    let o = run_with(&mut SshParser::default(), &[(C, b"SSH-2.0-PuTTY_Release_0.80\n"), (S, b"SSH-2.0-dropbear\r\n")]);
    assert_eq!(o.marks, vec![ParseEvent::HeadersDone(0), ParseEvent::SessionDone(0)]);
    assert_eq!(o.sessions[0].client_version.as_deref(), Some("SSH-2.0-PuTTY_Release_0.80"));
    assert!(o.sessions[0].client_kex.is_none());
    let o = run_with(&mut SshParser::default(), &[(C, b"SSH-2.0-trunc")]);
    assert!(o.sessions.is_empty());
}

#[test]
fn ssh1_ends_after_banners() {
    let o = run_with(&mut SshParser::default(), &[(S, b"SSH-1.5-old\n"), (C, b"SSH-1.5-client\n\x00\x00\x01\x02")]);
    assert_eq!(o.marks, vec![ParseEvent::HeadersDone(0), ParseEvent::SessionDone(0), ParseEvent::Skipped(SkipReason::Opaque)]);
}

#[test]
fn limits() {
    let long = [b"SSH-2.0-".as_slice(), &[b'x'; 300]].concat();
    let mut p = SshParser::default();
    let o = run_with(&mut p, &[(C, &long)]);
    assert_eq!(o.marks, vec![ParseEvent::Skipped(SkipReason::LimitExceeded)]);
    assert_eq!(p.stats().abandoned_oversize, 1);
    let mut p = SshParser::default();
    let o = run_with(&mut p, &[(C, b"SSH-2.0-x\r\n\x00\x01\x00\x00\x04\x14")]);
    assert_eq!(o.marks.last(), Some(&ParseEvent::Skipped(SkipReason::LimitExceeded)));
    assert_eq!(o.sessions.len(), 1, "banner seen so far is reported");
    let mut p = SshParser::default();
    run_with(&mut p, &[(C, b"SSH-2.0-x\r\n\x00\x00\x00\x08\x09\x14")]);
    assert_eq!(p.stats().malformed, 1);
    // Bad KEXINIT contents.
    let mut p = SshParser::default();
    let mut bad = b"SSH-2.0-x\r\n".to_vec();
    bad.extend(packet(MSG_KEXINIT, &[0; 20]));
    run_with(&mut p, &[(C, &bad)]);
    assert_eq!(p.stats().malformed, 1);
    // Too many lines before the banner.
    let mut p = SshParser::default();
    let lines = "x\n".repeat(40);
    run_with(&mut p, &[(S, lines.as_bytes())]);
    assert_eq!(p.stats().malformed, 1);
}

#[test]
fn split_at_every_boundary() {
    let (c, s) = conversation();
    let whole = split_run(&c, &s, &[], &[]);
    for i in 0..=c.len() {
        assert_eq!(split_run(&c, &s, &[i], &[]), whole, "client split at {i}");
    }
    for i in 0..=s.len() {
        assert_eq!(split_run(&c, &s, &[], &[i]), whole, "server split at {i}");
    }
}

proptest! {
    #[test]
    fn random_segmentation(mut cc in proptest::collection::vec(0usize..500, 0..30), mut cs in proptest::collection::vec(0usize..600, 0..30)) {
        cc.sort_unstable();
        cs.sort_unstable();
        let (c, s) = conversation();
        prop_assert_eq!(split_run(&c, &s, &cc, &cs), split_run(&c, &s, &[], &[]));
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        segs in proptest::collection::vec((any::<bool>(), proptest::collection::vec(any::<u8>(), 0..400)), 0..20),
        banner in any::<bool>(),
    ) {
        let limits = Limits { max_banner_len: 64, max_pre_banner_lines: 4, max_packet_len: 1000 };
        let mut p = SshParser::new(limits);
        let mut ev = Vec::new();
        if banner {
            p.parse(b"SSH-2.0-a\r\n", &meta(C), &mut ev);
            p.parse(b"SSH-2.0-b\r\n", &meta(S), &mut ev);
        }
        for (d, bytes) in &segs {
            let dir = if *d { C } else { S };
            let _ = SshParser::probe(bytes, &meta(dir));
            let _ = KexInit::parse(bytes);
            ev.clear();
            p.parse(bytes, &meta(dir), &mut ev);
            prop_assert!(p.buffered_bytes() <= 2 * 1000);
        }
        p.finish(&mut ev);
    }
}
