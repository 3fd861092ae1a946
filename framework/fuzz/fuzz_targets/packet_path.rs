//! The whole per-core packet path on arbitrary input.
//!
//! The input is cut into frames: each frame is a 4-byte header (link type,
//! time step, length) followed by that many bytes. Frames go through a
//! `Pipeline` whose handler asks for everything (reassembly included), with
//! bounds small enough to be hit: any panic, hang or unbalanced counter is
//! a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weir_conntrack::{Conn, ConnHandler, ConnInfo, EndReason, Interest, L4Pdu, Timestamp};
use weir_runtime::{Config, Pipeline, RawPacket};
use weir_wire::LinkType;

struct Everything;

impl ConnHandler for Everything {
    type State = u64;
    fn first_packet(&mut self, _c: &ConnInfo, _p: &L4Pdu<'_>) -> Option<(u64, Interest)> {
        Some((0, Interest::ALL))
    }
    fn in_conn(&mut self, _c: &mut Conn<u64>, _p: &L4Pdu<'_>) -> Interest {
        Interest::ALL
    }
    fn end_handshake(&mut self, _c: &mut Conn<u64>) -> Interest {
        Interest::ALL
    }
    fn in_stream(&mut self, c: &mut Conn<u64>, p: &L4Pdu<'_>) -> Interest {
        c.state = c.state.wrapping_add(p.payload.len() as u64);
        Interest::ALL
    }
    fn terminated(&mut self, _c: Conn<u64>, _r: EndReason) {}
}

fuzz_target!(|data: &[u8]| {
    let mut cfg = Config::default();
    cfg.conntrack.max_connections = 16;
    cfg.conntrack.max_ooo_segments = 8;
    cfg.defrag.max_datagrams = 4;
    cfg.defrag.max_fragments = 8;
    cfg.offline.progress = false;
    let mut p = Pipeline::new(&cfg, Everything);
    let mut ts = 1_000_000_000u64;
    let mut rest = data;
    while rest.len() >= 4 {
        let link = LinkType::ALL[usize::from(rest[0]) % LinkType::ALL.len()];
        // Time steps from 0 to ~65 s, sometimes backwards.
        let step = u64::from(u16::from_le_bytes([rest[1], rest[2]])) * 1_000_000;
        ts = if rest[0] & 0x80 != 0 { ts.saturating_sub(step / 64) } else { ts.saturating_add(step) };
        let len = usize::from(rest[3]).min(rest.len() - 4);
        let frame = &rest[4..4 + len];
        p.process(&RawPacket { ts: Timestamp(ts), wire_len: len as u32, link, data: frame });
        rest = &rest[4 + len..];
    }
    let (_, stats) = p.finish();
    assert!(stats.balanced());
});
