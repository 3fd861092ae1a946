use super::crypto::{initial_keys, Keys, VERSION_1, VERSION_2};
use super::*;
use crate::tls::handshake::tests::{alpn_ext, client_hello_body, sni_ext};
use crate::{Timestamp, Transport};
use proptest::prelude::*;

const DCID: [u8; 8] = [0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08];
const SCID: [u8; 4] = [1, 2, 3, 4];

fn meta(dir: Direction) -> SegmentMeta {
    SegmentMeta { dir, ts: Timestamp(0), transport: Transport::Udp, orig_port: 50000, resp_port: 443 }
}

pub(crate) fn seal(version: u32, keys: &Keys, dcid: &[u8], scid: &[u8], pn: u16, frames: &[u8]) -> Vec<u8> {
    crypto::seal_initial(version, keys, dcid, scid, pn, frames).expect("sealable")
}

fn crypto_frame(off: usize, data: &[u8]) -> Vec<u8> {
    let mut f = vec![0x06];
    f.extend_from_slice(&(0x8000_0000u32 | off as u32).to_be_bytes());
    f.extend_from_slice(&(0x4000u16 | data.len() as u16).to_be_bytes());
    f.extend_from_slice(data);
    f
}

fn client_hello_msg(pad: usize) -> Vec<u8> {
    let body = client_hello_body(
        &[0x1301, 0x1302],
        &[sni_ext("quic.example"), alpn_ext(&["h3"]), (43, vec![2, 3, 4]), (21, vec![0; pad])],
    );
    let mut m = vec![1];
    m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    m.extend_from_slice(&body);
    m
}

fn server_hello_msg() -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend_from_slice(&[9; 32]);
    b.push(0);
    b.extend_from_slice(&[0x13, 0x01, 0]);
    b.extend_from_slice(&[0, 6, 0, 43, 0, 2, 3, 4]);
    let mut m = vec![2];
    m.extend_from_slice(&(b.len() as u32).to_be_bytes()[1..]);
    m.extend_from_slice(&b);
    m
}

fn feed(p: &mut QuicParser, dir: Direction, d: &[u8]) -> (ParseResult, Vec<ParseEvent>) {
    let mut ev = Vec::new();
    let r = p.parse(d, &meta(dir), &mut ev);
    (r, ev)
}

#[test]
fn v1_client_and_server_initials() {
    let (ck, sk) = initial_keys(VERSION_1, &DCID).expect("keys");
    let ch = seal(VERSION_1, &ck, &DCID, &SCID, 0, &crypto_frame(0, &client_hello_msg(0)));
    assert_eq!(probe(&ch), ProbeResult::Certain);
    let mut p = QuicParser::new();
    let (r, _) = feed(&mut p, Direction::ToResponder, &ch);
    assert_eq!(r, ParseResult::Continue);
    let s = p.session(0).expect("session");
    assert_eq!(s.sni.as_deref(), Some("quic.example"));
    assert_eq!(s.alpn, vec!["h3"]);
    assert_eq!(s.version_name, "v1");
    assert_eq!(s.dcid, "8394c8f03e515708");
    assert!(s.ja4.as_deref().is_some_and(|j| j.starts_with("q13d0204h3_")), "{:?}", s.ja4);
    // Server Initial (ACK + CRYPTO(ServerHello)) coalesced with a Handshake packet.
    let mut frames = vec![0x02, 0x00, 0x00, 0x00, 0x00];
    frames.extend(crypto_frame(0, &server_hello_msg()));
    let mut dgram = seal(VERSION_1, &sk, &SCID, &[9, 9], 0, &frames);
    dgram.extend_from_slice(&[0xe0, 0, 0, 0, 1, 0, 0, 0x40, 0x02, 0xaa, 0xbb]);
    let (r, ev) = feed(&mut p, Direction::ToOriginator, &dgram);
    assert_eq!(r, ParseResult::HeadersDone);
    assert_eq!(ev.last(), Some(&ParseEvent::HeadersDone(0)));
    let s = p.session(0).expect("session");
    assert_eq!(s.cipher.as_deref(), Some("TLS_AES_128_GCM_SHA256"));
    assert_eq!(s.tls_version.as_deref(), Some("TLSv1.3"));
    assert_eq!(s.server_scid.as_deref(), Some("0909"));
    assert_eq!(p.stats().packets, 3);
    let (_, ev) = feed(&mut p, Direction::ToResponder, &[0x40, 1, 2, 3]);
    assert_eq!(ev, vec![ParseEvent::Payload { start: 0, end: 4 }]);
}

#[test]
fn v2_initial_decrypts() {
    let (ck, _) = initial_keys(VERSION_2, &DCID).expect("keys");
    let ch = seal(VERSION_2, &ck, &DCID, &SCID, 7, &crypto_frame(0, &client_hello_msg(0)));
    assert_eq!(probe(&ch), ProbeResult::Certain);
    let mut p = QuicParser::new();
    feed(&mut p, Direction::ToResponder, &ch);
    let s = p.session(0).expect("session");
    assert_eq!(s.version, VERSION_2);
    assert_eq!(s.sni.as_deref(), Some("quic.example"));
}

#[test]
fn retry_then_new_dcid_keys() {
    let (ck, _) = initial_keys(VERSION_1, &DCID).expect("keys");
    let first = seal(VERSION_1, &ck, &DCID, &SCID, 0, &[0x01]);
    let mut p = QuicParser::new();
    feed(&mut p, Direction::ToResponder, &first);
    // Retry: type bits 3, DCID = client SCID, SCID = new server CID, token, tag.
    let new_cid = [7u8; 8];
    let mut retry = vec![0xf0];
    retry.extend_from_slice(&VERSION_1.to_be_bytes());
    retry.push(4);
    retry.extend_from_slice(&SCID);
    retry.push(8);
    retry.extend_from_slice(&new_cid);
    retry.extend_from_slice(&[0xab; 20]);
    feed(&mut p, Direction::ToOriginator, &retry);
    let (ck2, _) = initial_keys(VERSION_1, &new_cid).expect("keys");
    let second = seal(VERSION_1, &ck2, &new_cid, &SCID, 1, &crypto_frame(0, &client_hello_msg(0)));
    feed(&mut p, Direction::ToResponder, &second);
    let s = p.session(0).expect("session");
    assert!(s.retry);
    assert_eq!(s.sni.as_deref(), Some("quic.example"));
    assert_eq!(s.dcid, "8394c8f03e515708");
    assert_eq!(s.client_hello_dcid.as_deref(), Some("0707070707070707"));
}

#[test]
fn crypto_overflow_is_counted_and_bounded() {
    let (ck, _) = initial_keys(VERSION_1, &DCID).expect("keys");
    let mut p = QuicParser::with_limits(Limits { max_crypto: 100, ..Limits::default() });
    let d = seal(VERSION_1, &ck, &DCID, &SCID, 0, &crypto_frame(90, &[1; 50]));
    feed(&mut p, Direction::ToResponder, &d);
    assert_eq!(p.stats().abandoned_oversize, 1);
    assert!(p.crypto[0].data.len() + p.crypto[0].pending_bytes <= 100);
}

#[test]
fn not_quic_is_skipped() {
    let mut p = QuicParser::new();
    let (r, ev) = feed(&mut p, Direction::ToResponder, b"\x12\x34\x01\x00\x00\x01");
    assert_eq!(r, ParseResult::Skipped);
    assert_eq!(ev, vec![ParseEvent::Skipped(SkipReason::Malformed)]);
    assert_eq!(probe(b"\x12\x34\x01\x00"), ProbeResult::NotForUs);
    assert_eq!(probe(&[0xc0, 0, 0]), ProbeResult::Unsure);
}

/// Deliver the ClientHello as CRYPTO frames cut at `cuts`, one frame per
/// packet, packets in `order`; the session must equal the one-frame session.
fn session_from_pieces(cuts: &[usize], reverse: bool) -> Option<QuicStream> {
    let (ck, _) = initial_keys(VERSION_1, &DCID).expect("keys");
    let msg = client_hello_msg(1500);
    let mut bounds: Vec<usize> = cuts.iter().map(|c| (*c).min(msg.len())).collect();
    bounds.push(0);
    bounds.push(msg.len());
    bounds.sort_unstable();
    bounds.dedup();
    let mut dgrams: Vec<Vec<u8>> = bounds
        .windows(2)
        .enumerate()
        .map(|(i, w)| seal(VERSION_1, &ck, &DCID, &SCID, i as u16, &crypto_frame(w[0], &msg[w[0]..w[1]])))
        .collect();
    if reverse {
        dgrams.reverse();
    }
    let mut p = QuicParser::new();
    for d in &dgrams {
        feed(&mut p, Direction::ToResponder, d);
    }
    p.take_session(0).map(|mut s| {
        s.client_hello_dcid = None;
        s
    })
}

#[test]
fn client_hello_split_at_every_boundary() {
    let whole = session_from_pieces(&[], false);
    assert!(whole.as_ref().is_some_and(|s| s.sni.is_some()));
    let len = client_hello_msg(1500).len();
    for cut in (1..len).step_by(7) {
        assert_eq!(session_from_pieces(&[cut], false), whole, "cut {cut}");
        assert_eq!(session_from_pieces(&[cut], true), whole, "cut {cut} reversed");
    }
}

proptest! {
    #[test]
    fn client_hello_random_pieces_any_order(cuts in proptest::collection::vec(0usize..1700, 0..6), rev in any::<bool>()) {
        prop_assert_eq!(session_from_pieces(&cuts, rev), session_from_pieces(&[], false));
    }

    #[test]
    fn arbitrary_datagrams_never_panic_and_stay_bounded(
        dgrams in proptest::collection::vec((any::<bool>(), proptest::collection::vec(any::<u8>(), 0..400)), 0..10),
        initial_prefix in any::<bool>(),
    ) {
        let limits = Limits { max_crypto: 2048, ..Limits::default() };
        let mut p = QuicParser::with_limits(limits);
        let mut ev = Vec::new();
        for (to_server, bytes) in &dgrams {
            let mut d = bytes.clone();
            if initial_prefix && d.len() > 6 {
                d[0] = 0xc0 | (d[0] & 0x0f);
                d[1..5].copy_from_slice(&VERSION_1.to_be_bytes());
            }
            let dir = if *to_server { Direction::ToResponder } else { Direction::ToOriginator };
            ev.clear();
            p.parse(&d, &meta(dir), &mut ev);
            for cs in &p.crypto {
                prop_assert!(cs.data.len() + cs.pending_bytes <= limits.max_crypto);
            }
        }
        ev.clear();
        p.finish(&mut ev);
    }

    #[test]
    fn arbitrary_plaintext_frames_never_panic(b in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = packet::parse_frames(&b);
        let _ = packet::parse_long(&b);
        let _ = probe(&b);
    }
}
