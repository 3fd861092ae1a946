use super::handshake::tests::{alpn_ext, client_hello_body, sni_ext};
use super::handshake::HRR_RANDOM;
use super::*;
use crate::{Timestamp, Transport};
use proptest::prelude::*;

pub(crate) fn record(ct: u8, body: &[u8]) -> Vec<u8> {
    let mut r = vec![ct, 3, 3];
    r.extend_from_slice(&(body.len() as u16).to_be_bytes());
    r.extend_from_slice(body);
    r
}

pub(crate) fn hs(typ: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![typ];
    m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    m.extend_from_slice(body);
    m
}

fn server_hello_body(version_ext: Option<u16>, cipher: u16, random: [u8; 32]) -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend_from_slice(&random);
    b.push(0);
    b.extend_from_slice(&cipher.to_be_bytes());
    b.push(0);
    let mut e = Vec::new();
    if let Some(v) = version_ext {
        e.extend_from_slice(&[0, 43, 0, 2]);
        e.extend_from_slice(&v.to_be_bytes());
    }
    e.extend_from_slice(&[0, 16, 0, 5, 0, 3, 2, b'h', b'2']);
    b.extend_from_slice(&(e.len() as u16).to_be_bytes());
    b.extend_from_slice(&e);
    b
}

pub(crate) fn sample_client_hello() -> Vec<u8> {
    client_hello_body(
        &[0x1a1a, 0x1301, 0xc02f, 0x009c],
        &[
            sni_ext("www.example.com"),
            alpn_ext(&["h2", "http/1.1"]),
            (10, vec![0, 4, 0, 29, 0, 23]),
            (11, vec![1, 0]),
            (13, vec![0, 4, 4, 3, 8, 4]),
            (43, vec![4, 3, 4, 3, 3]),
        ],
    )
}

fn meta(dir: Direction) -> SegmentMeta {
    SegmentMeta { dir, ts: Timestamp(0), transport: Transport::Tcp, orig_port: 50000, resp_port: 443 }
}

/// (direction, bytes) of a TLS 1.2 full handshake followed by one app-data record each way.
fn tls12_flow() -> Vec<(Direction, Vec<u8>)> {
    let ch = record(22, &hs(1, &sample_client_hello()));
    let mut server = hs(2, &server_hello_body(None, 0xc02f, [5; 32]));
    // Certificate message with two (unparseable) certificates.
    let mut certs = Vec::new();
    for c in [&[1u8, 2, 3][..], &[4u8, 5][..]] {
        certs.extend_from_slice(&(c.len() as u32).to_be_bytes()[1..]);
        certs.extend_from_slice(c);
    }
    let mut cert_body = (certs.len() as u32).to_be_bytes()[1..].to_vec();
    cert_body.extend_from_slice(&certs);
    server.extend(hs(11, &cert_body));
    server.extend(hs(12, &[3, 0, 29, 2, 0xaa, 0xbb]));
    server.extend(hs(14, &[]));
    vec![
        (Direction::ToResponder, ch),
        (Direction::ToOriginator, record(22, &server)),
        (Direction::ToResponder, [record(22, &hs(16, &[9; 33])), record(20, &[1]), record(22, &[0xee; 40])].concat()),
        (Direction::ToOriginator, [record(20, &[1]), record(22, &[0xdd; 40])].concat()),
        (Direction::ToResponder, record(23, &[0xcc; 100])),
        (Direction::ToOriginator, record(23, &[0xbb; 100])),
    ]
}

fn run(flow: &[(Direction, Vec<u8>)]) -> (TlsParser, Vec<ParseEvent>, Vec<ParseResult>) {
    let mut p = TlsParser::new();
    let mut all = Vec::new();
    let mut results = Vec::new();
    for (dir, bytes) in flow {
        let mut ev = Vec::new();
        results.push(p.parse(bytes, &meta(*dir), &mut ev));
        all.extend(ev);
    }
    (p, all, results)
}

#[test]
fn tls12_full_handshake() {
    let (mut p, events, results) = run(&tls12_flow());
    assert_eq!(
        results,
        vec![
            ParseResult::Continue,
            ParseResult::Continue,
            ParseResult::Continue,
            ParseResult::HeadersDone,
            ParseResult::Continue,
            ParseResult::Continue
        ]
    );
    assert!(events.contains(&ParseEvent::HeadersDone(0)));
    let s = p.session(0).expect("session").clone();
    assert_eq!(s.sni.as_deref(), Some("www.example.com"));
    assert_eq!(s.version.as_deref(), Some("TLSv1.2"));
    assert_eq!(s.version_code, Some(0x0303));
    assert_eq!(s.cipher.as_deref(), Some("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"));
    assert_eq!(s.alpn.as_deref(), Some("h2"));
    assert_eq!(s.alpn_offered, vec!["h2", "http/1.1"]);
    assert_eq!(s.server_cert_count, Some(2));
    assert_eq!(s.certificates.len(), 2);
    assert_eq!(s.server_key_exchange_group.as_deref(), Some("x25519"));
    assert_eq!(s.client_ciphers[0], "0x1a1a");
    assert_eq!(s.client_ciphers[1], "TLS_AES_128_GCM_SHA256");
    assert!(s.ja3.is_some() && s.ja3s.is_some());
    assert!(s.ja4.as_deref().is_some_and(|j| j.starts_with("t13d0306h2_")), "{:?}", s.ja4);
    let mut ev = Vec::new();
    p.finish(&mut ev);
    assert_eq!(ev, vec![ParseEvent::SessionDone(0)]);
    assert!(p.take_session(0).is_some());
    assert!(p.take_session(0).is_none());
}

#[test]
fn tls13_with_hello_retry_request() {
    let ch = record(22, &hs(1, &sample_client_hello()));
    let hrr = record(22, &hs(2, &server_hello_body(Some(0x0304), 0x1301, HRR_RANDOM)));
    let sh = record(22, &hs(2, &server_hello_body(Some(0x0304), 0x1302, [1; 32])));
    let flow = vec![
        (Direction::ToResponder, ch.clone()),
        (Direction::ToOriginator, [hrr, record(20, &[1])].concat()),
        (Direction::ToResponder, [record(20, &[1]), ch].concat()),
        (Direction::ToOriginator, [sh, record(23, &[7; 50])].concat()),
        (Direction::ToResponder, record(23, &[8; 50])),
        (Direction::ToResponder, record(21, &[1, 0])),
    ];
    let (p, events, results) = run(&flow);
    assert_eq!(results[4], ParseResult::HeadersDone);
    assert_eq!(results[5], ParseResult::SessionDone);
    assert_eq!(events.iter().filter(|e| matches!(e, ParseEvent::HeadersDone(0))).count(), 1);
    let s = p.session.as_ref().expect("session");
    assert!(s.hello_retry_request.is_some());
    assert!(s.retry_client_hello.is_some());
    assert_eq!(s.version.as_deref(), Some("TLSv1.3"));
    assert_eq!(s.cipher.as_deref(), Some("TLS_AES_256_GCM_SHA384"));
    // The first encrypted record of the client is payload.
    assert!(events.contains(&ParseEvent::Payload { start: 0, end: 55 }));
}

#[test]
fn fatal_alert_ends_headers_and_session() {
    let flow = vec![
        (Direction::ToResponder, record(22, &hs(1, &sample_client_hello()))),
        (Direction::ToOriginator, record(21, &[2, 40])),
    ];
    let (p, _events, results) = run(&flow);
    assert_eq!(results[1], ParseResult::SessionDone);
    assert_eq!(p.session.as_ref().and_then(|s| s.alert), Some(Alert { level: 2, description: 40 }));
}

#[test]
fn handshake_message_split_across_records_and_records_across_segments() {
    let msg = hs(1, &sample_client_hello());
    let (a, b) = msg.split_at(10);
    let stream = [record(22, a), record(22, b)].concat();
    let mut p = TlsParser::new();
    for byte in &stream {
        let mut ev = Vec::new();
        p.parse(std::slice::from_ref(byte), &meta(Direction::ToResponder), &mut ev);
    }
    assert_eq!(p.session.as_ref().and_then(|s| s.sni.clone()).as_deref(), Some("www.example.com"));
}

#[test]
fn oversize_handshake_message_is_abandoned_and_counted() {
    let mut p = TlsParser::with_limits(Limits { max_handshake_message: 100, ..Limits::default() });
    let big = record(22, &hs(1, &[0u8; 200]));
    let mut ev = Vec::new();
    assert_eq!(p.parse(&big, &meta(Direction::ToResponder), &mut ev), ParseResult::Skipped);
    assert_eq!(ev.last(), Some(&ParseEvent::Skipped(SkipReason::LimitExceeded)));
    assert_eq!(p.stats().abandoned_oversize, 1);
    ev.clear();
    assert_eq!(p.parse(&big, &meta(Direction::ToResponder), &mut ev), ParseResult::Continue);
    assert!(ev.is_empty());
}

#[test]
fn malformed_record_is_counted() {
    let mut p = TlsParser::new();
    let mut ev = Vec::new();
    assert_eq!(p.parse(b"GET / HTTP/1.1\r\n", &meta(Direction::ToResponder), &mut ev), ParseResult::Skipped);
    assert_eq!(p.stats().malformed, 1);
}

fn sslv2_hello() -> Vec<u8> {
    // msg 1, version 3.1, 2 cipher specs (6 bytes), no session id, 16-byte challenge.
    let mut body = vec![1, 3, 1, 0, 6, 0, 0, 0, 16];
    body.extend_from_slice(&[0, 0, 0x2f, 0x01, 0x00, 0x80]);
    body.extend_from_slice(&[0x42; 16]);
    let mut rec = vec![0x80 | ((body.len() >> 8) as u8), body.len() as u8];
    rec.extend_from_slice(&body);
    rec
}

#[test]
fn sslv2_client_hello_is_recognised() {
    let rec = sslv2_hello();
    let m = meta(Direction::ToResponder);
    assert_eq!(<TlsParser as Parser>::probe(&rec, &m), ProbeResult::Certain);
    let mut p = TlsParser::new();
    let mut ev = Vec::new();
    p.parse(&rec, &m, &mut ev);
    // Then the server answers with a normal TLS ServerHello.
    p.parse(&record(22, &hs(2, &server_hello_body(None, 0x002f, [3; 32]))), &meta(Direction::ToOriginator), &mut ev);
    let s = p.session.as_ref().expect("session");
    assert!(s.sslv2_client_hello);
    assert_eq!(s.client_hello.as_ref().map(|c| c.cipher_suites.clone()), Some(vec![0x002f]));
    assert_eq!(s.cipher.as_deref(), Some("TLS_RSA_WITH_AES_128_CBC_SHA"));
    assert_eq!(p.stats().malformed, 0);
}

#[test]
fn probe_verdicts() {
    let ch = record(22, &hs(1, &sample_client_hello()));
    assert_eq!(probe(&ch), ProbeResult::Certain);
    for n in 0..6 {
        assert_eq!(probe(&ch[..n]), ProbeResult::Unsure, "prefix {n}");
    }
    assert_eq!(probe(b"GET / HTTP/1.1"), ProbeResult::NotForUs);
    assert_eq!(probe(b"SSH-2.0-x"), ProbeResult::NotForUs);
    assert_eq!(probe(&record(22, &hs(2, &[0; 40]))), ProbeResult::NotForUs);
    assert_eq!(probe(&[22, 3, 9]), ProbeResult::NotForUs);
}

fn client_stream() -> Vec<u8> {
    [record(22, &hs(1, &sample_client_hello())), record(20, &[1]), record(23, &[1; 30])].concat()
}

fn feed_split(stream: &[u8], cuts: &[usize]) -> (Option<TlsHandshake>, Vec<ParseEvent>) {
    let mut p = TlsParser::new();
    let mut events = Vec::new();
    let mut last = 0;
    for &c in cuts.iter().chain(std::iter::once(&stream.len())) {
        let c = c.clamp(last, stream.len());
        let mut ev = Vec::new();
        p.parse(&stream[last..c], &meta(Direction::ToResponder), &mut ev);
        events.extend(ev.into_iter().filter(|e| !matches!(e, ParseEvent::InHeaders { .. } | ParseEvent::Payload { .. })));
        last = c;
    }
    (p.session, events)
}

#[test]
fn split_at_every_boundary_parses_like_contiguous() {
    let stream = client_stream();
    let whole = feed_split(&stream, &[]);
    assert!(whole.0.as_ref().is_some_and(|s| s.sni.is_some()));
    for cut in 0..=stream.len() {
        assert_eq!(feed_split(&stream, &[cut]), whole, "cut at {cut}");
    }
}

/// Feed a bidirectional flow with every flight cut at `cuts` (taken modulo
/// the flight length); return the session and the non-range events.
fn feed_flow_split(flow: &[(Direction, Vec<u8>)], cuts: &[usize]) -> (Option<TlsHandshake>, Vec<ParseEvent>) {
    let mut p = TlsParser::new();
    let mut events = Vec::new();
    for (i, (dir, bytes)) in flow.iter().enumerate() {
        let mut points: Vec<usize> = cuts.iter().map(|c| (c + i) % (bytes.len() + 1)).collect();
        points.push(bytes.len());
        points.sort_unstable();
        let mut last = 0;
        for c in points {
            let mut ev = Vec::new();
            p.parse(&bytes[last..c], &meta(*dir), &mut ev);
            events.extend(ev.into_iter().filter(|e| !matches!(e, ParseEvent::InHeaders { .. } | ParseEvent::Payload { .. })));
            last = c;
        }
    }
    (p.session, events)
}

proptest! {
    #[test]
    fn full_handshake_random_segmentation_parses_like_contiguous(cuts in proptest::collection::vec(0usize..2000, 0..8)) {
        let flow = tls12_flow();
        let whole = feed_flow_split(&flow, &[]);
        prop_assert!(whole.1.contains(&ParseEvent::HeadersDone(0)));
        prop_assert_eq!(feed_flow_split(&flow, &cuts), whole);
    }

    #[test]
    fn random_segmentation_parses_like_contiguous(mut cuts in proptest::collection::vec(0usize..400, 0..20)) {
        let stream = client_stream();
        cuts.sort_unstable();
        prop_assert_eq!(feed_split(&stream, &cuts), feed_split(&stream, &[]));
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_stay_bounded(
        segs in proptest::collection::vec((any::<bool>(), proptest::collection::vec(any::<u8>(), 0..600)), 0..12),
        prefix in any::<bool>(),
    ) {
        let limits = Limits { max_handshake_message: 1024, ..Limits::default() };
        let mut p = TlsParser::with_limits(limits);
        let mut ev = Vec::new();
        if prefix {
            // Start like a real handshake so deeper states are reached.
            p.parse(&[22, 3, 1, 0x40, 0], &meta(Direction::ToResponder), &mut ev);
        }
        for (to_server, bytes) in &segs {
            let dir = if *to_server { Direction::ToResponder } else { Direction::ToOriginator };
            ev.clear();
            p.parse(bytes, &meta(dir), &mut ev);
            for st in &p.dirs {
                prop_assert!(st.hs_buf.len() <= limits.max_handshake_message + 4 + MAX_RECORD);
                prop_assert!(st.small.len() <= 2);
            }
        }
        ev.clear();
        p.finish(&mut ev);
    }

    #[test]
    fn arbitrary_hello_bodies_never_panic(body in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = handshake::parse_client_hello(&body);
        let _ = handshake::parse_server_hello(&body);
        let _ = handshake::parse_certificate_list(&body);
        let _ = handshake::parse_sslv2_client_hello(&body);
        let _ = probe(&body);
    }
}
