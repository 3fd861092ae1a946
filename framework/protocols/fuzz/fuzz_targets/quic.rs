//! Fuzz the QUIC probe and parser: the input is cut into datagrams whose
//! direction and length come from a 2-byte header each. Inputs that start
//! with a valid long header reach Initial decryption (which then mostly
//! fails authentication, exercising the failure paths).
#![no_main]

use libfuzzer_sys::fuzz_target;
use weir_protocols::quic::{Limits, QuicParser};
use weir_protocols::{Direction, Parser, SegmentMeta, Timestamp, Transport};

fuzz_target!(|data: &[u8]| {
    let _ = <QuicParser as Parser>::probe(data, &meta(Direction::ToResponder));
    let mut p = QuicParser::with_limits(Limits { max_crypto: 8192, ..Limits::default() });
    let mut events = Vec::new();
    let mut rest = data;
    while rest.len() >= 2 {
        let (hdr, tail) = rest.split_at(2);
        let len = (usize::from(hdr[0] & 0x07) << 8 | usize::from(hdr[1])).min(tail.len());
        let (dgram, next) = tail.split_at(len);
        let dir = if hdr[0] & 0x80 == 0 { Direction::ToResponder } else { Direction::ToOriginator };
        events.clear();
        p.parse(dgram, &meta(dir), &mut events);
        rest = next;
    }
    events.clear();
    p.finish(&mut events);
    let _ = p.take_session(0);
});

fn meta(dir: Direction) -> SegmentMeta {
    SegmentMeta { dir, ts: Timestamp(0), transport: Transport::Udp, orig_port: 50000, resp_port: 443 }
}
