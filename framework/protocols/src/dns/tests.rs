use super::*;
use crate::Direction;
use proptest::prelude::*;

fn meta(dir: Direction, transport: Transport) -> SegmentMeta {
    SegmentMeta { dir, ts: Timestamp(7), transport, orig_port: 40000, resp_port: 53 }
}

fn wire_name(s: &str) -> Vec<u8> {
    let mut v = Vec::new();
    for l in s.split('.').filter(|l| !l.is_empty()) {
        v.push(l.len() as u8);
        v.extend_from_slice(l.as_bytes());
    }
    v.push(0);
    v
}

fn header(id: u16, flags: u16, counts: [u16; 4]) -> Vec<u8> {
    let mut v = id.to_be_bytes().to_vec();
    v.extend_from_slice(&flags.to_be_bytes());
    for c in counts {
        v.extend_from_slice(&c.to_be_bytes());
    }
    v
}

fn rr(name: &[u8], rtype: u16, ttl: u32, rdata: &[u8]) -> Vec<u8> {
    let mut v = name.to_vec();
    v.extend_from_slice(&rtype.to_be_bytes());
    v.extend_from_slice(&1u16.to_be_bytes());
    v.extend_from_slice(&ttl.to_be_bytes());
    v.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
    v.extend_from_slice(rdata);
    v
}

fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut v = header(id, 0x0100, [1, 0, 0, 0]);
    v.extend(wire_name(name));
    v.extend_from_slice(&qtype.to_be_bytes());
    v.extend_from_slice(&1u16.to_be_bytes());
    v
}

/// A response to `query(id, "www.example.com", 1)` with a CNAME (compressed)
/// and two A records, an NS authority and an OPT additional.
fn response(id: u16) -> Vec<u8> {
    let mut v = header(id, 0x8180, [1, 3, 1, 1]);
    v.extend(wire_name("www.example.com")); // offset 12
    v.extend_from_slice(&[0, 1, 0, 1]);
    // CNAME www.example.com -> cdn.example.com (cdn + pointer to "example.com" at 16)
    v.extend(rr(&[0xc0, 12], 5, 300, &[3, b'c', b'd', b'n', 0xc0, 16]));
    let cdn = v.len() - 6; // offset of "cdn" label
    v.extend(rr(&[0xc0, cdn as u8], 1, 60, &[93, 184, 216, 34]));
    v.extend(rr(&[0xc0, cdn as u8], 1, 60, &[93, 184, 216, 35]));
    v.extend(rr(&[0xc0, 16], 2, 3600, &[2, b'n', b's', 0xc0, 16]));
    let mut opt = vec![0];
    opt.extend_from_slice(&41u16.to_be_bytes());
    opt.extend_from_slice(&1232u16.to_be_bytes());
    opt.extend_from_slice(&0u32.to_be_bytes());
    opt.extend_from_slice(&6u16.to_be_bytes());
    opt.extend_from_slice(&[0, 10, 0, 2, 0xab, 0xcd]);
    v.extend(opt);
    v
}

#[derive(Debug, PartialEq, Default)]
struct Outcome {
    sessions: Vec<DnsTransaction>,
    marks: Vec<ParseEvent>,
}

fn run_with(p: &mut DnsParser, segs: &[(Direction, Transport, &[u8])]) -> Outcome {
    let mut out = Outcome::default();
    let mut ev = Vec::new();
    for (dir, tr, seg) in segs {
        ev.clear();
        let r = p.parse(seg, &meta(*dir, *tr), &mut ev);
        if r != ParseResult::Skipped || !ev.is_empty() {
            assert_eq!(r, DnsParser::summarize(&ev));
        }
        collect(p, &ev, &mut out);
    }
    ev.clear();
    p.finish(&mut ev);
    collect(p, &ev, &mut out);
    out
}

fn collect(p: &mut DnsParser, ev: &[ParseEvent], out: &mut Outcome) {
    for e in ev {
        match e {
            ParseEvent::SessionDone(id) => {
                out.sessions.push(p.take_session(*id).expect("session"));
                out.marks.push(e.clone());
            }
            ParseEvent::HeadersDone(id) => {
                assert!(p.session(*id).is_some());
                out.marks.push(e.clone());
            }
            ParseEvent::Skipped(_) => out.marks.push(e.clone()),
            _ => {}
        }
    }
}

const C: Direction = Direction::ToResponder;
const S: Direction = Direction::ToOriginator;
const U: Transport = Transport::Udp;
const T: Transport = Transport::Tcp;

#[test]
fn names_are_iana() {
    assert_eq!(type_to_string(1), "A");
    assert_eq!(type_to_string(28), "AAAA");
    assert_eq!(type_to_string(65), "HTTPS");
    assert_eq!(type_to_string(65534), "TYPE65534");
    assert_eq!(rcode_to_string(3), "NXDOMAIN");
    assert_eq!(rcode_to_string(12), "RCODE12");
    assert_eq!(opcode_name(5), Some("UPDATE"));
    assert_eq!(class_name(1), Some("IN"));
}

#[test]
fn parses_full_response() {
    let m = DnsMessage::parse(&response(0x1234), 256).unwrap();
    assert_eq!(m.id, 0x1234);
    assert!(m.qr && m.rd && m.ra && !m.aa && !m.tc);
    assert_eq!(m.questions[0].name, "www.example.com");
    assert_eq!(m.answers.len(), 3);
    assert_eq!(m.answers[0].rdata, RData::Cname("cdn.example.com".into()));
    assert_eq!(m.answers[1].name, "cdn.example.com");
    assert_eq!(m.answers[1].rdata.render(), "93.184.216.34");
    assert_eq!(m.authority[0].rdata, RData::Ns("ns.example.com".into()));
    assert_eq!(m.additional[0].rdata, RData::Opt(vec![EdnsOption { code: 10, data: vec![0xab, 0xcd] }]));
    assert_eq!(m.additional[0].class, 1232);
    assert_eq!(m.full_rcode(), 0);
}

#[test]
fn rdata_types() {
    let mx = parse_rdata(&[0, 10, 2, b'm', b'x', 0], 15, 0, 6).unwrap();
    assert_eq!(mx.render(), "10 mx");
    let txt = parse_rdata(&[3, b'a', b'"', b'c', 1, b'd'], 16, 0, 6).unwrap();
    assert_eq!(txt.render(), "\"a\\\"c\" \"d\"");
    let mut soa = vec![1, b'a', 0, 1, b'b', 0];
    for n in 1u32..=5 {
        soa.extend_from_slice(&n.to_be_bytes());
    }
    assert_eq!(parse_rdata(&soa, 6, 0, soa.len()).unwrap().render(), "a b 1 2 3 4 5");
    let srv = [0, 1, 0, 2, 0x01, 0xbb, 1, b't', 0];
    assert_eq!(parse_rdata(&srv, 33, 0, 9).unwrap().render(), "1 2 443 t");
    let https = [0, 1, 0, 0, 1, 0, 3, 2, b'h', b'2'];
    assert_eq!(parse_rdata(&https, 65, 0, 10).unwrap().render(), "1 . key1=026832");
    let aaaa = [0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
    assert_eq!(parse_rdata(&aaaa, 28, 0, 16).unwrap().render(), "2001:db8::1");
    // Bad length for A: kept raw.
    assert_eq!(parse_rdata(&[1, 2, 3], 1, 0, 3).unwrap(), RData::Raw(vec![1, 2, 3]));
    assert_eq!(parse_rdata(&[1, 2], 99, 0, 2).unwrap().render(), "\\# 2 0102");
    assert_eq!(parse_rdata(&[1, 2], 1, 0, 3), Err(DnsError::Truncated));
}

#[test]
fn name_compression_protection() {
    // Pointer to itself.
    assert_eq!(read_name(&[0xc0, 0x00], 0), Err(DnsError::PointerLoop));
    // Two pointers to each other.
    assert_eq!(read_name(&[0xc0, 0x02, 0xc0, 0x00], 0), Err(DnsError::PointerLoop));
    // Pointer out of the message.
    assert_eq!(read_name(&[0xc0, 0x09], 0), Err(DnsError::Truncated));
    // Reserved label type.
    assert_eq!(read_name(&[0x40], 0), Err(DnsError::BadLabel));
    // Root name and escapes.
    assert_eq!(read_name(&[0], 0), Ok((".".into(), 1)));
    assert_eq!(read_name(&[3, b'a', b'.', 0x01, 0], 0), Ok(("a\\.\\001".into(), 5)));
    // 255-byte limit: 4 labels of 63 = 256 bytes with lengths + root.
    let mut long = Vec::new();
    for _ in 0..4 {
        long.push(63);
        long.extend(std::iter::repeat_n(b'a', 63));
    }
    long.push(0);
    assert_eq!(read_name(&long, 0), Err(DnsError::NameTooLong));
    // A long chain of distinct backward pointers stops at the hop limit.
    let mut chain = vec![0u8];
    for i in 0..100u16 {
        let target = if i == 0 { 0 } else { 1 + 2 * (i - 1) };
        chain.extend_from_slice(&(0xc000 | target).to_be_bytes());
    }
    assert_eq!(read_name(&chain, chain.len() - 2), Err(DnsError::PointerLoop));
    assert_eq!(read_name(&chain, 1 + 2 * 10).map(|x| x.0), Ok(".".into()));
}

#[test]
fn probe_content_based() {
    let q = query(1, "example.com", 1);
    assert_eq!(DnsParser::probe(&q, &meta(C, U)), ProbeResult::Certain);
    assert_eq!(DnsParser::probe(&response(9), &meta(S, U)), ProbeResult::Certain);
    let mut tcp = (q.len() as u16).to_be_bytes().to_vec();
    tcp.extend_from_slice(&q);
    assert_eq!(DnsParser::probe(&tcp, &meta(C, T)), ProbeResult::Certain);
    assert_eq!(DnsParser::probe(&tcp[..10], &meta(C, T)), ProbeResult::Unsure);
    assert_eq!(DnsParser::probe(&tcp[..1], &meta(C, T)), ProbeResult::Unsure);
    assert_eq!(DnsParser::probe(b"GET / HTTP/1.1\r\n\r\n", &meta(C, U)), ProbeResult::NotForUs);
    assert_eq!(DnsParser::probe(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\x8a\x11\x22\x33\x44\x55\x66", &meta(C, T)), ProbeResult::NotForUs);
    assert_eq!(DnsParser::probe(&q[..8], &meta(C, U)), ProbeResult::NotForUs);
    let mut bad_class = q.clone();
    let n = bad_class.len();
    bad_class[n - 1] = 9;
    assert_eq!(DnsParser::probe(&bad_class, &meta(C, U)), ProbeResult::NotForUs);
}

#[test]
fn udp_query_response_transaction() {
    let q = query(0x1234, "www.example.com", 1);
    let r = response(0x1234);
    let o = run_with(&mut DnsParser::default(), &[(C, U, &q), (S, U, &r)]);
    assert_eq!(o.marks, vec![ParseEvent::HeadersDone(0), ParseEvent::SessionDone(0)]);
    let t = &o.sessions[0];
    assert_eq!(t.transport, "udp");
    assert_eq!(t.id, 0x1234);
    assert_eq!(t.qname, "www.example.com");
    assert_eq!(t.qtype, "A");
    assert_eq!(t.rcode.as_deref(), Some("NOERROR"));
    assert_eq!(t.answers, vec!["cdn.example.com", "93.184.216.34", "93.184.216.35"]);
    assert_eq!(t.ttls, vec![300, 60, 60]);
    assert!(t.query.is_some() && t.response.is_some());
}

#[test]
fn unanswered_and_unsolicited() {
    let mut p = DnsParser::default();
    let q = query(1, "a.example", 28);
    let r = response(2);
    let o = run_with(&mut p, &[(C, U, &q), (S, U, &r)]);
    assert_eq!(o.sessions.len(), 2);
    assert!(o.sessions[0].query.is_none(), "unsolicited response reported first");
    assert_eq!(o.sessions[0].qname, "www.example.com");
    assert!(o.sessions[1].response.is_none(), "unanswered query at finish");
    assert_eq!(o.sessions[1].qtype, "AAAA");
    assert_eq!(p.stats().unanswered, 1);
    assert_eq!(p.stats().unmatched_responses, 1);
}

#[test]
fn matching_by_id_and_question() {
    let q1 = query(5, "one.example", 1);
    let q2 = query(5, "www.example.com", 1);
    let o = run_with(&mut DnsParser::default(), &[(C, U, &q1), (C, U, &q2), (S, U, &response(5))]);
    assert_eq!(o.sessions[0].query.as_ref().unwrap().questions[0].name, "www.example.com");
    assert!(o.sessions[1].response.is_none());
}

#[test]
fn outstanding_limit_evicts_oldest() {
    let mut p = DnsParser::new(Limits { max_outstanding: 2, ..Limits::default() });
    let qs: Vec<Vec<u8>> = (0..5).map(|i| query(i, "x.example", 1)).collect();
    let segs: Vec<_> = qs.iter().map(|q| (C, U, q.as_slice())).collect();
    let mut ev = Vec::new();
    for (d, t, s) in &segs {
        p.parse(s, &meta(*d, *t), &mut ev);
        assert!(p.outstanding_len() <= 2);
    }
    assert_eq!(p.stats().evicted_outstanding, 3);
}

#[test]
fn record_limit_and_malformed() {
    let mut p = DnsParser::new(Limits { max_records_per_section: 2, ..Limits::default() });
    let q = query(1, "x.example", 1);
    let o = run_with(&mut p, &[(C, U, &q), (S, U, &response(1))]);
    assert_eq!(p.stats().abandoned_oversize, 1);
    assert_eq!(o.sessions.len(), 1);
    assert!(o.sessions[0].response.is_none());
    // First message malformed: not DNS.
    let mut p = DnsParser::default();
    let o = run_with(&mut p, &[(C, U, &[0u8, 1, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 5, b'a'])]);
    assert_eq!(o.marks, vec![ParseEvent::Skipped(SkipReason::Malformed)]);
    // Later malformed message: counted and skipped.
    let mut p = DnsParser::default();
    let o = run_with(&mut p, &[(C, U, &q), (S, U, &[0u8, 1, 0x81, 0, 0, 1, 0, 0, 0, 0, 0, 0, 5]), (S, U, &response(1))]);
    assert_eq!(p.stats().malformed, 1);
    assert_eq!(o.sessions.len(), 1);
    assert!(o.sessions[0].response.is_some());
}

#[test]
fn rcode_nxdomain_and_extended() {
    let q = query(3, "nx.example", 1);
    let mut r = header(3, 0x8183, [1, 0, 0, 1]);
    r.extend(wire_name("nx.example"));
    r.extend_from_slice(&[0, 1, 0, 1]);
    r.extend_from_slice(&[0, 0, 41, 4, 0xd0, 1, 0, 0, 0, 0, 0]); // ext rcode 1 -> 16|3 = 19
    let o = run_with(&mut DnsParser::default(), &[(C, U, &q), (S, U, &r)]);
    assert_eq!(o.sessions[0].rcode_code, Some(19));
    assert_eq!(o.sessions[0].rcode.as_deref(), Some("BADMODE"));
    assert_eq!(o.sessions[0].response.as_ref().unwrap().rcode, 3);
}

fn tcp_framed(msgs: &[Vec<u8>]) -> Vec<u8> {
    let mut v = Vec::new();
    for m in msgs {
        v.extend_from_slice(&(m.len() as u16).to_be_bytes());
        v.extend_from_slice(m);
    }
    v
}

fn tcp_conversation() -> (Vec<u8>, Vec<u8>) {
    let c = tcp_framed(&[query(1, "www.example.com", 1), query(2, "www.example.com", 1), query(3, "b.example", 16)]);
    let s = tcp_framed(&[response(2), response(1)]);
    (c, s)
}

fn split_run(c: &[u8], s: &[u8], cuts_c: &[usize], cuts_s: &[usize]) -> Outcome {
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
    let mut segs: Vec<(Direction, Transport, &[u8])> = pieces(c, cuts_c).into_iter().map(|p| (C, T, p)).collect();
    segs.extend(pieces(s, cuts_s).into_iter().map(|p| (S, T, p)));
    let mut p = DnsParser::default();
    let o = run_with(&mut p, &segs);
    assert!(p.buffered_bytes() == 0);
    o
}

#[test]
fn tcp_split_at_every_boundary() {
    let (c, s) = tcp_conversation();
    let whole = split_run(&c, &s, &[], &[]);
    assert_eq!(whole.sessions.len(), 3);
    assert_eq!(whole.sessions[0].id, 2);
    assert_eq!(whole.sessions[0].transport, "tcp");
    assert_eq!(whole.sessions[2].qtype, "TXT");
    for i in 0..=c.len() {
        assert_eq!(split_run(&c, &s, &[i], &[]), whole, "client split at {i}");
    }
    for i in 0..=s.len() {
        assert_eq!(split_run(&c, &s, &[], &[i]), whole, "server split at {i}");
    }
}

proptest! {
    #[test]
    fn tcp_random_segmentation(mut cc in proptest::collection::vec(0usize..200, 0..30), mut cs in proptest::collection::vec(0usize..300, 0..30)) {
        cc.sort_unstable();
        cs.sort_unstable();
        let (c, s) = tcp_conversation();
        prop_assert_eq!(split_run(&c, &s, &cc, &cs), split_run(&c, &s, &[], &[]));
    }

    #[test]
    fn arbitrary_messages_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = DnsMessage::parse(&bytes, 256);
        let _ = DnsParser::probe(&bytes, &meta(C, U));
        let _ = DnsParser::probe(&bytes, &meta(C, T));
        for start in 0..bytes.len().min(64) {
            if let Ok((name, _)) = read_name(&bytes, start) {
                // Escaping can at most quadruple the 255 wire bytes.
                prop_assert!(name.len() <= 4 * MAX_NAME_LEN);
            }
        }
    }

    #[test]
    fn arbitrary_streams_never_panic_and_stay_bounded(
        segs in proptest::collection::vec((any::<bool>(), any::<bool>(), proptest::collection::vec(any::<u8>(), 0..300)), 0..20)
    ) {
        let limits = Limits { max_outstanding: 4, max_records_per_section: 8, max_message_len: 512, max_retained: 4 };
        let mut p = DnsParser::new(limits);
        let mut ev = Vec::new();
        for (d, tcp, bytes) in &segs {
            let m = meta(if *d { C } else { S }, if *tcp { T } else { U });
            ev.clear();
            p.parse(bytes, &m, &mut ev);
            for e in &ev {
                if let ParseEvent::InHeaders { start, end } = e {
                    prop_assert!(start <= end && *end <= bytes.len());
                }
            }
            prop_assert!(p.buffered_bytes() <= 2 * 512);
            prop_assert!(p.outstanding_len() <= 4);
        }
        p.finish(&mut ev);
    }

    #[test]
    fn mutated_responses_never_panic(pos in 0usize..120, val in any::<u8>(), cut in 0usize..130) {
        let mut r = response(1);
        if let Some(b) = r.get_mut(pos) { *b = val; }
        r.truncate(cut.max(12));
        let _ = DnsMessage::parse(&r, 256);
        let mut p = DnsParser::default();
        let mut ev = Vec::new();
        p.parse(&r, &meta(S, U), &mut ev);
        p.finish(&mut ev);
    }
}
