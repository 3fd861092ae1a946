//! The whole per-packet path never panics on hostile input, keeps its
//! counters balanced, and stays within its configured bounds.

use proptest::prelude::*;
use weir_conntrack::{Conn, ConnHandler, ConnInfo, EndReason, Interest, L4Pdu, Timestamp};
use weir_runtime::{Config, Pipeline, RawPacket};
use weir_wire::LinkType;

/// Asks for everything the tracker can do (reassembly included) and counts events.
#[derive(Default)]
struct Everything {
    first: u64,
    terminated: u64,
    stream_bytes: u64,
}

impl ConnHandler for Everything {
    type State = ();
    fn first_packet(&mut self, _c: &ConnInfo, _p: &L4Pdu<'_>) -> Option<((), Interest)> {
        self.first += 1;
        Some(((), Interest::ALL))
    }
    fn in_conn(&mut self, _c: &mut Conn<()>, _p: &L4Pdu<'_>) -> Interest {
        Interest::ALL
    }
    fn end_handshake(&mut self, _c: &mut Conn<()>) -> Interest {
        Interest::ALL
    }
    fn in_stream(&mut self, _c: &mut Conn<()>, p: &L4Pdu<'_>) -> Interest {
        self.stream_bytes += p.payload.len() as u64;
        Interest::ALL
    }
    fn terminated(&mut self, _c: Conn<()>, _r: EndReason) {
        self.terminated += 1;
    }
}

const LINKS: [LinkType; 8] = LinkType::ALL;

/// An Ethernet/IPv4/TCP SYN with a payload, to mutate.
fn seed_frame(sport: u16, flags: u8, seq: u32, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00];
    let total = (20 + 20 + payload.len()) as u16;
    f.extend([
        0x45,
        0,
        (total >> 8) as u8,
        total as u8,
        0,
        1,
        0,
        0,
        64,
        6,
        0,
        0,
        10,
        0,
        0,
        1,
        10,
        0,
        0,
        2,
    ]);
    f.extend(sport.to_be_bytes());
    f.extend(80u16.to_be_bytes());
    f.extend(seq.to_be_bytes());
    f.extend(0u32.to_be_bytes());
    f.extend([0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
    f.extend_from_slice(payload);
    f
}

fn small_config() -> Config {
    let mut cfg = Config::default();
    cfg.conntrack.max_connections = 8;
    cfg.conntrack.max_ooo_segments = 4;
    cfg.defrag.max_datagrams = 4;
    cfg.offline.progress = false;
    cfg.validate().unwrap();
    cfg
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_frames_never_panic(frames in prop::collection::vec((0usize..8, prop::collection::vec(any::<u8>(), 0..200), 0u64..400_000), 1..60)) {
        let mut p = Pipeline::new(&small_config(), Everything::default());
        let mut ts = 1_000_000_000u64;
        for (link, data, dt) in &frames {
            ts = ts.wrapping_add(*dt * 1_000_000);
            p.process(&RawPacket { ts: Timestamp(ts), wire_len: data.len() as u32, link: LINKS[*link], data });
            prop_assert!(p.connections() <= 8);
        }
        let (h, stats) = p.finish();
        prop_assert!(stats.balanced(), "{:?}", stats);
        prop_assert_eq!(stats.received, frames.len() as u64);
        prop_assert!(h.terminated <= h.first);
    }

    #[test]
    fn mutated_tcp_frames_never_panic(
        muts in prop::collection::vec((0usize..80, any::<u8>()), 0..6),
        pkts in prop::collection::vec((0u16..4, any::<u8>(), any::<u32>(), prop::collection::vec(any::<u8>(), 0..40), -3i64..300), 1..80),
    ) {
        let mut p = Pipeline::new(&small_config(), Everything::default());
        let mut ts: i64 = 5_000_000_000;
        for (i, (sport, flags, seq, payload, dt)) in pkts.iter().enumerate() {
            let mut f = seed_frame(1000 + sport, *flags, *seq, payload);
            if i % 3 == 0 {
                for (at, v) in &muts {
                    if let Some(b) = f.get_mut(*at) { *b = *v; }
                }
            }
            // Time may step backwards a little.
            ts = (ts + dt * 10_000_000).max(0);
            p.process(&RawPacket { ts: Timestamp(ts as u64), wire_len: f.len() as u32, link: LinkType::Ethernet, data: &f });
            prop_assert!(p.connections() <= 8);
        }
        let (h, stats) = p.finish();
        prop_assert!(stats.balanced(), "{:?}", stats);
        prop_assert!(h.terminated <= h.first);
    }
}
