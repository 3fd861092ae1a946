//! Fuzz the SSH probe and handshake parser: the input is cut into segments
//! whose direction and length come from a header byte each; bit 0x40 of the
//! first byte prepends valid banners so the binary packet and KEXINIT paths
//! are reached quickly.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weir_protocols::ssh::{KexInit, Limits, SshParser};
use weir_protocols::{Direction, ParseEvent, Parser, SegmentMeta, Timestamp, Transport};

fuzz_target!(|data: &[u8]| {
    let _ = <SshParser as Parser>::probe(data, &meta(Direction::ToOriginator));
    let _ = KexInit::parse(data);
    let mut p = SshParser::new(Limits { max_banner_len: 255, max_pre_banner_lines: 8, max_packet_len: 4096 });
    let mut events = Vec::new();
    if data.first().is_some_and(|b| b & 0x40 != 0) {
        p.parse(b"SSH-2.0-fuzz\r\n", &meta(Direction::ToResponder), &mut events);
        p.parse(b"SSH-2.0-fuzz\r\n", &meta(Direction::ToOriginator), &mut events);
    }
    let mut rest = data;
    while let Some((&ctl, tail)) = rest.split_first() {
        let len = usize::from(ctl & 0x7f).min(tail.len());
        let (seg, next) = tail.split_at(len);
        let dir = if ctl & 0x80 == 0 { Direction::ToResponder } else { Direction::ToOriginator };
        events.clear();
        p.parse(seg, &meta(dir), &mut events);
        for e in &events {
            if let ParseEvent::InHeaders { start, end } | ParseEvent::Payload { start, end } = e {
                assert!(start <= end && *end <= seg.len());
            }
        }
        assert!(p.buffered_bytes() <= 2 * (255 + 4096));
        rest = next;
    }
    events.clear();
    p.finish(&mut events);
    let _ = p.take_session(0);
});

fn meta(dir: Direction) -> SegmentMeta {
    SegmentMeta { dir, ts: Timestamp(0), transport: Transport::Tcp, orig_port: 50000, resp_port: 22 }
}
