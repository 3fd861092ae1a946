//! Fuzz the HTTP/1.x probe and parser: the input is cut into segments whose
//! direction and length come from a header byte each (so messages split at
//! arbitrary places, both directions interleaved). Small limits make the
//! limit paths reachable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weir_protocols::http::{HttpParser, Limits};
use weir_protocols::{Direction, ParseEvent, Parser, SegmentMeta, Timestamp, Transport};

fuzz_target!(|data: &[u8]| {
    let _ = <HttpParser as Parser>::probe(data, &meta(Direction::ToResponder));
    let limits = Limits { max_header_bytes: 1024, max_headers: 16, max_chunk_line: 64, max_pending: 8, max_retained: 8 };
    let mut p = HttpParser::new(limits);
    let mut events = Vec::new();
    let mut rest = data;
    while let Some((&ctl, tail)) = rest.split_first() {
        let len = usize::from(ctl & 0x7f).min(tail.len());
        let (seg, next) = tail.split_at(len);
        let dir = if ctl & 0x80 == 0 { Direction::ToResponder } else { Direction::ToOriginator };
        events.clear();
        p.parse(seg, &meta(dir), &mut events);
        check(&mut p, &events, seg.len());
        assert!(p.buffered_bytes() <= 2 * (1024 + 2));
        assert!(p.pending_len() <= 8);
        rest = next;
    }
    events.clear();
    p.finish(&mut events);
    check(&mut p, &events, 0);
});

fn check(p: &mut HttpParser, events: &[ParseEvent], len: usize) {
    for e in events {
        match e {
            ParseEvent::InHeaders { start, end } | ParseEvent::Payload { start, end } => {
                assert!(start <= end && *end <= len)
            }
            ParseEvent::SessionDone(id) => assert!(p.take_session(*id).is_some()),
            _ => {}
        }
    }
}

fn meta(dir: Direction) -> SegmentMeta {
    SegmentMeta { dir, ts: Timestamp(0), transport: Transport::Tcp, orig_port: 50000, resp_port: 80 }
}
