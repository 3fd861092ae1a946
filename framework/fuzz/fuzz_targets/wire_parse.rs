//! Fuzzes the whole wire layer: `parse_frame` and `parse_frame_captured` for
//! every link type, `parse_transport` on what they return, and a small
//! `Defragmenter` fed with every fragment (reassembled payloads go through
//! `parse_transport` too).
//!
//! Input layout: byte 0 selects options (bit 0: verify checksums, bit 1: parse
//! as snap-length-cut), the rest is the frame. The same frame is also split at
//! byte 1's value into two frames so the defragmenter sees several fragments.
#![no_main]

use libfuzzer_sys::fuzz_target;
use weir_wire::{
    parse_frame, parse_frame_captured, parse_transport, DefragConfig, DefragOutcome, Defragmenter,
    LinkType, ParseOptions, VlanStack,
};

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, frame)) = data.split_first() else {
        return;
    };
    let opts = ParseOptions {
        verify_checksums: ctl & 1 != 0,
    };
    let snapped = ctl & 2 != 0;
    let mut defrag = Defragmenter::new(DefragConfig {
        max_datagrams: 4,
        max_datagram_len: 4096,
        max_fragments: 8,
        timeout_ns: 1_000,
    });
    let split = usize::from(frame.first().copied().unwrap_or(0)).min(frame.len());
    let pieces = [frame, &frame[..split], &frame[split..]];
    for (i, piece) in pieces.iter().enumerate() {
        for link in LinkType::ALL {
            let parsed = if snapped {
                parse_frame_captured(link, piece, piece.len() + 1, &opts).map(|c| c.packet)
            } else {
                parse_frame(link, piece, &opts)
            };
            let Ok(l3) = parsed else { continue };
            assert!(l3.payload.len() <= piece.len());
            assert!(l3.vlans.len() <= VlanStack::MAX);
            if l3.fragment.is_some() {
                match defrag.push(i as u64 * 100, &l3) {
                    DefragOutcome::Complete(r) => {
                        assert!(r.payload.len() <= 4096);
                        let _ = parse_transport(&r.ip, &r.payload, &opts);
                    }
                    DefragOutcome::Pending | DefragOutcome::Dropped(_) => {}
                }
                assert!(defrag.len() <= 4);
            } else {
                let _ = parse_transport(&l3.ip, l3.payload, &opts);
            }
        }
    }
    defrag.expire(u64::MAX);
    assert_eq!(defrag.len(), 0);
});
