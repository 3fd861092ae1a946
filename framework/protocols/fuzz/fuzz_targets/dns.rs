//! Fuzz DNS: the whole input as one message (wire parser and UDP probe),
//! then as a TCP and a UDP stream cut into segments whose direction and
//! length come from a header byte each.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weir_protocols::dns::{DnsMessage, DnsParser, Limits};
use weir_protocols::{Direction, ParseEvent, Parser, SegmentMeta, Timestamp, Transport};

fuzz_target!(|data: &[u8]| {
    let _ = DnsMessage::parse(data, 64);
    for transport in [Transport::Udp, Transport::Tcp] {
        let _ = <DnsParser as Parser>::probe(data, &meta(Direction::ToResponder, transport));
        let limits = Limits { max_outstanding: 8, max_records_per_section: 32, max_message_len: 4096, max_retained: 8 };
        let mut p = DnsParser::new(limits);
        let mut events = Vec::new();
        let mut rest = data;
        while let Some((&ctl, tail)) = rest.split_first() {
            let len = usize::from(ctl & 0x7f).min(tail.len());
            let (seg, next) = tail.split_at(len);
            let dir = if ctl & 0x80 == 0 { Direction::ToResponder } else { Direction::ToOriginator };
            events.clear();
            p.parse(seg, &meta(dir, transport), &mut events);
            for e in &events {
                match e {
                    ParseEvent::InHeaders { start, end } => assert!(start <= end && *end <= seg.len()),
                    ParseEvent::SessionDone(id) => assert!(p.take_session(*id).is_some()),
                    _ => {}
                }
            }
            assert!(p.buffered_bytes() <= 2 * 4096);
            assert!(p.outstanding_len() <= 8);
            rest = next;
        }
        events.clear();
        p.finish(&mut events);
    }
});

fn meta(dir: Direction, transport: Transport) -> SegmentMeta {
    SegmentMeta { dir, ts: Timestamp(0), transport, orig_port: 50000, resp_port: 53 }
}
