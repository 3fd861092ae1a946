//! A packet-level subscription (Iris §3): one callback invocation per
//! packet of every DNS (UDP port 53) or HTTPS (TCP port 443) connection,
//! counting packets and frame bytes into global counters.
//!
//! `Packet` is delivered at `L4InConn`: every packet of a matching
//! connection in arrival order (an IP datagram reassembled from fragments
//! is one packet). The filter is decided from the first packet's header,
//! so nothing else is tracked. Counters are atomics, so several cores can
//! add to them.

use std::sync::atomic::{AtomicU64, Ordering};

static PACKETS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

/// Packets and frame bytes counted since the last [`take_counts`].
pub fn take_counts() -> (u64, u64) {
    (PACKETS.swap(0, Ordering::Relaxed), BYTES.swap(0, Ordering::Relaxed))
}

#[weir::app]
pub mod app {
    use std::sync::atomic::Ordering;
    use weir::prelude::*;

    #[callback("udp.port = 53 or tcp.port = 443")]
    fn pkt(p: &Packet) {
        super::PACKETS.fetch_add(1, Ordering::Relaxed);
        super::BYTES.fetch_add(u64::from(p.wire_len), Ordering::Relaxed);
    }
}
