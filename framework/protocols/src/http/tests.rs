use super::*;
use crate::{Timestamp, Transport};
use proptest::prelude::*;

const C: Direction = Direction::ToResponder;
const S: Direction = Direction::ToOriginator;

fn meta(dir: Direction) -> SegmentMeta {
    SegmentMeta { dir, ts: Timestamp(0), transport: Transport::Tcp, orig_port: 40000, resp_port: 80 }
}

/// What a run produced, independent of how the bytes were segmented.
#[derive(Debug, PartialEq, Default)]
struct Outcome {
    sessions: Vec<HttpTransaction>,
    /// Non-offset events in order.
    marks: Vec<ParseEvent>,
    /// Payload bytes per direction, concatenated.
    payload: [Vec<u8>; 2],
    header_bytes: [usize; 2],
}

fn run_with(p: &mut HttpParser, segs: &[(Direction, &[u8])]) -> Outcome {
    let mut out = Outcome::default();
    let mut events = Vec::new();
    for (dir, seg) in segs {
        events.clear();
        let r = p.parse(seg, &meta(*dir), &mut events);
        if r != ParseResult::Skipped || !events.is_empty() {
            assert_eq!(r, HttpParser::summarize(&events));
        }
        collect(p, &events, seg, *dir, &mut out);
        assert!(p.buffered_bytes() <= 2 * (p.limits().max_header_bytes + 2));
    }
    events.clear();
    p.finish(&mut events);
    collect(p, &events, &[], C, &mut out);
    out
}

fn collect(p: &mut HttpParser, events: &[ParseEvent], seg: &[u8], dir: Direction, out: &mut Outcome) {
    for e in events {
        match e {
            ParseEvent::Payload { start, end } => out.payload[dir.index()].extend_from_slice(&seg[*start..*end]),
            ParseEvent::InHeaders { start, end } => out.header_bytes[dir.index()] += end - start,
            ParseEvent::HeadersDone(id) => {
                assert!(p.session(*id).is_some(), "session {id} visible at HeadersDone");
                out.marks.push(e.clone());
            }
            ParseEvent::SessionDone(id) => {
                out.sessions.push(p.take_session(*id).expect("session at SessionDone"));
                out.marks.push(e.clone());
            }
            ParseEvent::Skipped(_) => out.marks.push(e.clone()),
        }
    }
}

fn run(segs: &[(Direction, &[u8])]) -> (Outcome, HttpStats) {
    let mut p = HttpParser::default();
    let o = run_with(&mut p, segs);
    (o, p.stats().clone())
}

#[test]
fn probe_requests_and_responses() {
    let m = meta(C);
    assert_eq!(HttpParser::probe(b"GET / HTTP/1.1\r\nHost: a\r\n", &m), ProbeResult::Certain);
    assert_eq!(HttpParser::probe(b"PROPFIND /x HTTP/1.1\n", &m), ProbeResult::Certain);
    assert_eq!(HttpParser::probe(b"M-SEARCH * HTTP/1.1\r\n", &m), ProbeResult::Certain);
    assert_eq!(HttpParser::probe(b"GET /", &m), ProbeResult::Unsure);
    assert_eq!(HttpParser::probe(b"GET / HTTP/1.", &m), ProbeResult::Unsure);
    assert_eq!(HttpParser::probe(b"GET / HTTP/1.1\r", &m), ProbeResult::Unsure);
    assert_eq!(HttpParser::probe(b"GE", &m), ProbeResult::Unsure);
    assert_eq!(HttpParser::probe(b"HTTP/1.1 200 OK\r\n", &meta(S)), ProbeResult::Certain);
    assert_eq!(HttpParser::probe(b"HTT", &meta(S)), ProbeResult::Unsure);
    assert_eq!(HttpParser::probe(b"GET / HTTP/2.0\r\n", &m), ProbeResult::NotForUs);
    assert_eq!(HttpParser::probe(b"PRI * HTTP/2.0\r\n", &m), ProbeResult::NotForUs);
    assert_eq!(HttpParser::probe(b"\x16\x03\x01\x02\x00", &m), ProbeResult::NotForUs);
    assert_eq!(HttpParser::probe(b"SSH-2.0-OpenSSH\r\n", &m), ProbeResult::NotForUs);
    assert_eq!(HttpParser::probe(b"GET  / HTTP/1.1\r\n", &m), ProbeResult::NotForUs);
    assert_eq!(HttpParser::probe(b"GET / HTTP/1.1 x\r\n", &m), ProbeResult::NotForUs);
    assert_eq!(HttpParser::probe(b"", &m), ProbeResult::Unsure);
}

const REQ: &[u8] = b"GET /index.html?q=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.0\r\nCookie: a=b\r\nAccept: */*\r\n\r\n";
const RESP: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello";

#[test]
fn simple_transaction() {
    let (o, st) = run(&[(C, REQ), (S, RESP)]);
    assert_eq!(o.marks, vec![ParseEvent::HeadersDone(0), ParseEvent::SessionDone(0)]);
    let t = &o.sessions[0];
    assert_eq!(t.trans_depth, 1);
    assert_eq!(t.method.as_deref(), Some("GET"));
    assert_eq!(t.uri.as_deref(), Some("/index.html?q=1"));
    assert_eq!(t.version.as_deref(), Some("HTTP/1.1"));
    assert_eq!(t.host.as_deref(), Some("example.com"));
    assert_eq!(t.user_agent.as_deref(), Some("curl/8.0"));
    assert_eq!(t.status, Some(200));
    assert_eq!(t.status_msg.as_deref(), Some("OK"));
    assert_eq!(t.content_type.as_deref(), Some("text/html"));
    assert_eq!(t.resp_body_len, 5);
    assert_eq!(t.req_body_len, 0);
    let req = t.request.as_ref().unwrap();
    assert_eq!(req.headers.len(), 4);
    assert_eq!(req.cookie(), Some("a=b"));
    assert_eq!(req.header("ACCEPT"), Some("*/*"));
    assert_eq!(t.response.as_ref().unwrap().content_length(), Some("5"));
    assert_eq!(o.payload[1], b"hello");
    assert_eq!(o.header_bytes, [REQ.len(), RESP.len() - 5]);
    assert_eq!(st.requests, 1);
    assert_eq!(st.responses, 1);
}

#[test]
fn pipelined_requests_pair_in_order() {
    let reqs = b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nPOST /b HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyzHEAD /c HTTP/1.1\r\nHost: h\r\n\r\n";
    let resps = b"HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nnoHTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n";
    let (o, _) = run(&[(C, reqs), (S, resps)]);
    let got: Vec<_> = o
        .sessions
        .iter()
        .map(|t| (t.trans_depth, t.method.clone().unwrap(), t.uri.clone().unwrap(), t.status.unwrap(), t.req_body_len, t.resp_body_len))
        .collect();
    assert_eq!(
        got,
        vec![
            (1, "GET".into(), "/a".into(), 404, 0, 2),
            (2, "POST".into(), "/b".into(), 201, 3, 0),
            (3, "HEAD".into(), "/c".into(), 200, 0, 0),
        ]
    );
    assert_eq!(o.payload[0], b"xyz");
    assert_eq!(o.payload[1], b"no");
}

#[test]
fn chunked_body_with_extensions_and_trailers() {
    let resp = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n4;ext=1\r\nWiki\r\n5\r\npedia\r\nD \r\n in\r\n\r\nchunks\r\n0\r\nExpires: never\r\nX-T: 1\r\n\r\n";
    let req2 = b"GET /2 HTTP/1.1\r\n\r\n";
    let (o, st) = run(&[(C, REQ), (S, resp), (C, req2), (S, b"HTTP/1.0 204 No Content\r\n\r\n")]);
    assert_eq!(o.payload[1], b"Wikipedia in\r\n\r\nchunks");
    let t = &o.sessions[0];
    assert_eq!(t.resp_body_len, 22);
    let r = t.response.as_ref().unwrap();
    assert!(r.chunked);
    assert_eq!(r.trailers, vec![
        HttpHeader { name: "Expires".into(), value: "never".into() },
        HttpHeader { name: "X-T".into(), value: "1".into() },
    ]);
    assert_eq!(o.sessions[1].status, Some(204));
    assert_eq!(st.malformed, 0);
}

#[test]
fn chunked_request_body() {
    let req = b"POST /up HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n";
    let (o, _) = run(&[(C, req), (S, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")]);
    assert_eq!(o.sessions[0].req_body_len, 3);
    assert_eq!(o.payload[0], b"abc");
}

#[test]
fn bodyless_responses() {
    for (status, method) in [("204 No Content", "GET"), ("304 Not Modified", "GET"), ("200 OK", "HEAD")] {
        let req = format!("{method} / HTTP/1.1\r\n\r\n");
        let resp = format!("HTTP/1.1 {status}\r\nContent-Length: 10\r\n\r\n");
        let req2 = b"GET /next HTTP/1.1\r\n\r\n";
        let resp2 = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        let (o, _) = run(&[(C, req.as_bytes()), (S, resp.as_bytes()), (C, req2), (S, resp2)]);
        assert_eq!(o.sessions.len(), 2, "{status} {method}");
        assert_eq!(o.sessions[0].resp_body_len, 0);
        assert_eq!(o.sessions[1].uri.as_deref(), Some("/next"));
    }
}

#[test]
fn interim_responses_do_not_end_the_transaction() {
    let req = b"POST /p HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n";
    let (o, st) = run(&[
        (C, req),
        (S, b"HTTP/1.1 100 Continue\r\n\r\n"),
        (C, b"ok"),
        (S, b"HTTP/1.1 103 Early Hints\r\nLink: </s.css>\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n!"),
    ]);
    assert_eq!(o.sessions.len(), 1);
    assert_eq!(o.sessions[0].status, Some(200));
    assert_eq!(o.sessions[0].req_body_len, 2);
    assert_eq!(st.interim_responses, 2);
}

#[test]
fn upgrade_makes_the_rest_opaque() {
    let req = b"GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n";
    let resp = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello";
    let (o, _) = run(&[(C, req), (C, b"\x81\x85garbage"), (S, resp), (C, b"more"), (S, b"x")]);
    assert_eq!(
        o.marks,
        vec![ParseEvent::HeadersDone(0), ParseEvent::SessionDone(0), ParseEvent::Skipped(SkipReason::Opaque)]
    );
    assert_eq!(o.sessions[0].status, Some(101));
}

#[test]
fn refused_upgrade_parses_on() {
    let req = b"GET / HTTP/1.1\r\nUpgrade: h2c\r\n\r\n";
    let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    let (o, _) = run(&[(C, req), (S, resp), (C, b"GET /2 HTTP/1.1\r\n\r\n"), (S, resp)]);
    assert_eq!(o.sessions.len(), 2);
}

#[test]
fn connect_tunnel() {
    let (o, _) = run(&[
        (C, b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"),
        (S, b"HTTP/1.1 200 Connection established\r\n\r\n"),
        (C, b"\x16\x03\x01\x00\x05hello"),
    ]);
    assert_eq!(o.sessions.len(), 1);
    assert_eq!(o.marks.last(), Some(&ParseEvent::Skipped(SkipReason::Opaque)));
}

#[test]
fn body_until_close_completes_at_finish() {
    let (o, _) = run(&[(C, b"GET / HTTP/1.0\r\n\r\n"), (S, b"HTTP/1.0 200 OK\r\n\r\nabc"), (S, b"def")]);
    assert_eq!(o.marks, vec![ParseEvent::HeadersDone(0), ParseEvent::SessionDone(0)]);
    assert_eq!(o.sessions[0].resp_body_len, 6);
}

#[test]
fn unanswered_request_completes_at_finish() {
    let mut p = HttpParser::default();
    let mut ev = Vec::new();
    assert_eq!(p.parse(REQ, &meta(C), &mut ev), ParseResult::Continue);
    assert_eq!(ev, vec![ParseEvent::InHeaders { start: 0, end: REQ.len() }]);
    assert!(p.session(0).is_none());
    ev.clear();
    p.finish(&mut ev);
    assert_eq!(ev, vec![ParseEvent::HeadersDone(0), ParseEvent::SessionDone(0)]);
    let t = p.take_session(0).unwrap();
    assert_eq!(t.status, None);
    assert_eq!(p.stats().unanswered, 1);
    assert!(p.take_session(0).is_none());
}

#[test]
fn incomplete_head_at_finish_produces_nothing() {
    let (o, _) = run(&[(C, b"GET / HTTP/1.1\r\nHost: x\r\n")]);
    assert!(o.sessions.is_empty());
}

#[test]
fn response_without_request_midstream() {
    let (o, st) = run(&[(C, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi"), (S, b"GET /next HTTP/1.1\r\n\r\n")]);
    assert_eq!(o.sessions.len(), 2);
    assert_eq!(o.sessions[0].method, None);
    assert_eq!(o.sessions[0].status, Some(200));
    assert_eq!(o.sessions[1].method.as_deref(), Some("GET"));
    assert_eq!(st.orphan_responses, 1);
}

#[test]
fn oversize_head_is_abandoned_and_counted() {
    let mut p = HttpParser::new(Limits { max_header_bytes: 100, ..Limits::default() });
    let mut big = b"GET / HTTP/1.1\r\n".to_vec();
    for i in 0..20 {
        big.extend_from_slice(format!("X-H{i}: aaaaaaaa\r\n").as_bytes());
    }
    let o = run_with(&mut p, &[(C, &big)]);
    assert_eq!(o.marks, vec![ParseEvent::Skipped(SkipReason::LimitExceeded)]);
    assert_eq!(p.stats().abandoned_oversize, 1);
    assert_eq!(p.buffered_bytes(), 0);
    let mut ev = Vec::new();
    assert_eq!(p.parse(b"x", &meta(C), &mut ev), ParseResult::Skipped);
}

#[test]
fn too_many_headers_abandoned() {
    let mut p = HttpParser::new(Limits { max_headers: 3, ..Limits::default() });
    let o = run_with(&mut p, &[(C, b"GET / HTTP/1.1\r\na: 1\r\nb: 2\r\nc: 3\r\nd: 4\r\n\r\n")]);
    assert_eq!(o.marks, vec![ParseEvent::Skipped(SkipReason::LimitExceeded)]);
}

#[test]
fn too_many_pending_abandoned() {
    let mut p = HttpParser::new(Limits { max_pending: 2, ..Limits::default() });
    let o = run_with(&mut p, &[(C, b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nGET /3 HTTP/1.1\r\n\r\n")]);
    assert_eq!(o.sessions.len(), 2, "the two accepted requests complete at abandonment");
    assert!(o.marks.contains(&ParseEvent::Skipped(SkipReason::LimitExceeded)));
}

#[test]
fn malformed_is_counted() {
    let (o, st) = run(&[(C, b"GET / HTTP/1.1\r\nno colon here\r\n\r\n")]);
    assert_eq!(o.marks, vec![ParseEvent::Skipped(SkipReason::Malformed)]);
    assert_eq!(st.malformed, 1);
    let (_, st) = run(&[(C, REQ), (S, b"HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n")]);
    assert_eq!(st.malformed, 1);
    let (_, st) = run(&[(C, REQ), (S, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")]);
    assert_eq!(st.malformed, 1);
}

#[test]
fn lf_only_folding_and_leading_blank_lines() {
    let req = b"\r\n\r\nGET /x HTTP/1.0\nHost:  a.b \nX-Long: one\n two\n\n";
    let (o, _) = run(&[(C, req), (S, b"HTTP/1.0 200 OK\nContent-Length: 0\n\n")]);
    let t = &o.sessions[0];
    assert_eq!(t.host.as_deref(), Some("a.b"));
    assert_eq!(t.request.as_ref().unwrap().header("x-long"), Some("one two"));
}

#[test]
fn untaken_sessions_are_bounded() {
    let mut p = HttpParser::new(Limits { max_retained: 2, ..Limits::default() });
    let mut ev = Vec::new();
    for _ in 0..5 {
        p.parse(b"GET / HTTP/1.1\r\n\r\n", &meta(C), &mut ev);
        p.parse(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", &meta(S), &mut ev);
    }
    assert_eq!(p.stats().evicted_untaken, 3);
    assert!(p.session(4).is_some());
    assert!(p.session(0).is_none());
}

/// A conversation exercising every framing rule.
fn conversation() -> (Vec<u8>, Vec<u8>) {
    let mut c = Vec::new();
    c.extend_from_slice(REQ);
    c.extend_from_slice(b"POST /f HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\nbody");
    c.extend_from_slice(b"PUT /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2;x=y\r\nab\r\n0\r\nT: v\r\n\r\n");
    c.extend_from_slice(b"HEAD /h HTTP/1.1\r\n\r\n");
    c.extend_from_slice(b"GET /last HTTP/1.1\r\n\r\n");
    let mut s = Vec::new();
    s.extend_from_slice(RESP);
    s.extend_from_slice(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nxyz\r\n0\r\n\r\n");
    s.extend_from_slice(b"HTTP/1.1 204 No Content\r\n\r\n");
    s.extend_from_slice(b"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\n");
    s.extend_from_slice(b"HTTP/1.1 200 OK\r\n\r\nuntil close");
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
    let pc = pieces(c, cuts_c);
    let ps = pieces(s, cuts_s);
    // Client pieces first, then server pieces (responses follow requests).
    let mut segs: Vec<(Direction, &[u8])> = pc.into_iter().map(|p| (C, p)).collect();
    segs.extend(ps.into_iter().map(|p| (S, p)));
    run(&segs).0
}

#[test]
fn split_at_every_boundary_parses_identically() {
    let (c, s) = conversation();
    let whole = split_run(&c, &s, &[], &[]);
    assert_eq!(whole.sessions.len(), 5);
    assert_eq!(whole.sessions[4].resp_body_len, 11);
    assert_eq!(whole.sessions[2].request.as_ref().unwrap().trailers.len(), 1);
    for i in 0..=c.len() {
        assert_eq!(split_run(&c, &s, &[i], &[]), whole, "client split at {i}");
    }
    for i in 0..=s.len() {
        assert_eq!(split_run(&c, &s, &[], &[i]), whole, "server split at {i}");
    }
}

proptest! {
    #[test]
    fn random_segmentation_parses_identically(
        mut cuts_c in proptest::collection::vec(0usize..400, 0..40),
        mut cuts_s in proptest::collection::vec(0usize..400, 0..40),
    ) {
        let (c, s) = conversation();
        cuts_c.sort_unstable();
        cuts_s.sort_unstable();
        let whole = split_run(&c, &s, &[], &[]);
        prop_assert_eq!(split_run(&c, &s, &cuts_c, &cuts_s), whole);
    }

    #[test]
    fn byte_at_a_time_interleaved(seed in 0u64..1000) {
        // Interleave requests and responses in a pseudo-random order that
        // still respects each direction's stream order.
        let (c, s) = conversation();
        let whole = split_run(&c, &s, &[], &[]);
        let mut p = HttpParser::default();
        let mut segs: Vec<(Direction, &[u8])> = Vec::new();
        let (mut i, mut j, mut x) = (0usize, 0usize, seed);
        // Responses may not overtake requests: keep j <= bytes of server
        // stream whose requests were sent; approximated by sending server
        // bytes only after all client bytes of the matching prefix.
        while i < c.len() {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let n = 1 + (x >> 33) as usize % 7;
            let e = (i + n).min(c.len());
            segs.push((C, &c[i..e]));
            i = e;
        }
        while j < s.len() {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let n = 1 + (x >> 33) as usize % 7;
            let e = (j + n).min(s.len());
            segs.push((S, &s[j..e]));
            j = e;
        }
        prop_assert_eq!(run_with(&mut p, &segs), whole);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_stay_bounded(
        segs in proptest::collection::vec((any::<bool>(), proptest::collection::vec(any::<u8>(), 0..300)), 0..20)
    ) {
        let limits = Limits { max_header_bytes: 256, max_headers: 8, max_chunk_line: 32, max_pending: 4, max_retained: 4 };
        let mut p = HttpParser::new(limits);
        let mut ev = Vec::new();
        for (d, bytes) in &segs {
            let dir = if *d { C } else { S };
            let _ = HttpParser::probe(bytes, &meta(dir));
            ev.clear();
            p.parse(bytes, &meta(dir), &mut ev);
            for e in &ev {
                if let ParseEvent::Payload { start, end } | ParseEvent::InHeaders { start, end } = e {
                    prop_assert!(start <= end && *end <= bytes.len());
                }
            }
            prop_assert!(p.buffered_bytes() <= 2 * (256 + 2));
            prop_assert!(p.pending_len() <= 4);
        }
        ev.clear();
        p.finish(&mut ev);
    }

    #[test]
    fn arbitrary_http_like_bytes_never_panic(
        parts in proptest::collection::vec(prop_oneof![
            Just(&b"GET / HTTP/1.1\r\n"[..]), Just(&b"HTTP/1.1 200 OK\r\n"[..]), Just(&b"\r\n"[..]),
            Just(&b"Content-Length: 3\r\n"[..]), Just(&b"Transfer-Encoding: chunked\r\n"[..]),
            Just(&b"5\r\nabcde\r\n"[..]), Just(&b"0\r\n"[..]), Just(&b"X: y\r\n"[..]), Just(&b"abc"[..]),
            Just(&b"HTTP/1.1 101 S\r\n"[..]), Just(&b"HTTP/1.1 100 C\r\n"[..]), Just(&b"HEAD / HTTP/1.0\n"[..]),
        ], 0..30),
        dirs in proptest::collection::vec(any::<bool>(), 30),
    ) {
        let mut p = HttpParser::default();
        let mut ev = Vec::new();
        for (i, part) in parts.iter().enumerate() {
            let dir = if dirs[i] { C } else { S };
            p.parse(part, &meta(dir), &mut ev);
        }
        p.finish(&mut ev);
        // Every SessionDone has exactly one HeadersDone before it.
        for (i, e) in ev.iter().enumerate() {
            if let ParseEvent::SessionDone(id) = e {
                prop_assert_eq!(ev[..i].iter().filter(|x| **x == ParseEvent::HeadersDone(*id)).count(), 1);
            }
        }
    }
}

#[test]
fn resync_after_lost_response_head_keeps_pairing_in_step() {
    // The first response's head was lost: the server stream starts inside
    // its body. The second request must pair with the second response.
    let (o, st) = run(&[
        (C, b"GET /1 HTTP/1.1\r\n\r\n"),
        (S, b"\x00\x01binary body\xff\r\nmore\n"),
        (S, b"tail of body"),
        (C, b"GET /2 HTTP/1.1\r\n\r\n"),
        (S, b"\nHTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
    ]);
    let got: Vec<_> = o.sessions.iter().map(|t| (t.uri.clone(), t.status)).collect();
    assert_eq!(got, vec![(Some("/1".into()), None), (Some("/2".into()), Some(404))]);
    assert_eq!(st.resyncs, 1);
    assert_eq!(st.malformed, 0);
}

#[test]
fn resync_after_lost_request_head() {
    // The client stream starts inside a request body.
    let (o, _) = run(&[
        (C, b"rest of a POST body\r\nGET /2 HTTP/1.1\r\n\r\n"),
        (S, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1 302 Found\r\nContent-Length: 0\r\n\r\n"),
    ]);
    let got: Vec<_> = o.sessions.iter().map(|t| (t.uri.clone(), t.status)).collect();
    assert_eq!(got, vec![(None, Some(200)), (Some("/2".into()), Some(302))]);
}

#[test]
fn resync_survives_false_starts_and_segment_splits() {
    let (o, st) = run(&[
        (C, b"GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\n"),
        (S, b"\xff\xfe body mentions HTTP/1.1 is old\r\n\r\nxx HTT"),
        (S, b"P/1.1 204 No Content\r\n\r\n"),
    ]);
    let got: Vec<_> = o.sessions.iter().map(|t| (t.uri.clone(), t.status)).collect();
    assert_eq!(got, vec![(Some("/1".into()), None), (Some("/2".into()), Some(204))]);
    assert_eq!(st.resyncs, 1);
    assert_eq!(st.malformed, 0);
}
