//! Fuzz the TLS probe and parser: the input is cut into segments whose
//! direction and length come from a header byte each (so records split at
//! arbitrary places, both directions interleaved).
#![no_main]

use libfuzzer_sys::fuzz_target;
use weir_protocols::tls::{Limits, TlsParser};
use weir_protocols::{Direction, Parser, SegmentMeta, Timestamp, Transport};

fuzz_target!(|data: &[u8]| {
    let _ = <TlsParser as Parser>::probe(data, &meta(Direction::ToResponder));
    let mut p = TlsParser::with_limits(Limits { max_handshake_message: 4096, ..Limits::default() });
    let mut events = Vec::new();
    let mut rest = data;
    while let Some((&ctl, tail)) = rest.split_first() {
        let len = usize::from(ctl & 0x7f).min(tail.len());
        let (seg, next) = tail.split_at(len);
        let dir = if ctl & 0x80 == 0 { Direction::ToResponder } else { Direction::ToOriginator };
        events.clear();
        p.parse(seg, &meta(dir), &mut events);
        rest = next;
    }
    events.clear();
    p.finish(&mut events);
    let _ = p.take_session(0);
});

fn meta(dir: Direction) -> SegmentMeta {
    SegmentMeta { dir, ts: Timestamp(0), transport: Transport::Tcp, orig_port: 50000, resp_port: 443 }
}
