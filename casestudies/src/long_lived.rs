//! Long-lived connections (Iris §3): a stateful filter that keeps a
//! connection only once it has carried more than [`MIN_PACKETS`] packets or
//! lasted more than [`MIN_DURATION`] of packet time, and a callback that
//! receives the connection's final record at termination.
//!
//! The filter runs at every packet (`L4InConn`) and answers `Continue`
//! until a threshold is passed, then `Accept`; a connection that ends while
//! still undecided is dropped (DESIGN §2). Because time is the packet's
//! timestamp, "lasted" means: some packet arrived more than `MIN_DURATION`
//! after the first one.

use std::sync::Mutex;
use std::time::Duration;

/// More packets than this (both directions) make a connection long-lived.
pub const MIN_PACKETS: u64 = 50;
/// Lasting longer than this makes a connection long-lived.
pub const MIN_DURATION: Duration = Duration::from_secs(10);

/// One delivered connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LongConn {
    /// `FiveTuple` display form, originator first.
    pub tuple: String,
    pub first_ns: u64,
    pub packets: u64,
    pub duration: Duration,
}

static DELIVERED: Mutex<Vec<LongConn>> = Mutex::new(Vec::new());

/// The connections delivered since the last call.
pub fn take_delivered() -> Vec<LongConn> {
    std::mem::take(&mut *DELIVERED.lock().unwrap_or_else(|e| e.into_inner()))
}

/// Whether a connection with these counters passes the thresholds.
pub fn is_long(packets: u64, duration: Duration) -> bool {
    packets > MIN_PACKETS || duration > MIN_DURATION
}

#[weir::app]
pub mod app {
    use weir::prelude::*;

    /// One instance per connection. It counts the packets and the time
    /// span it sees itself (independently of the tracker's counters, which
    /// the test compares it with).
    pub struct LongLived {
        packets: u64,
        first_ns: Option<u64>,
    }

    #[filter]
    impl LongLived {
        pub fn new(_ctx: &Ctx) -> Self {
            LongLived { packets: 0, first_ns: None }
        }

        #[filter_fn(on = L4InConn)]
        fn check(&mut self, p: &Packet) -> FilterResult {
            self.packets += 1;
            let ts = p.ts.as_nanos();
            let first = *self.first_ns.get_or_insert(ts);
            let lasted = std::time::Duration::from_nanos(ts.saturating_sub(first));
            if super::is_long(self.packets, lasted) {
                FilterResult::Accept
            } else {
                FilterResult::Continue
            }
        }
    }

    #[callback("(tcp or udp) and LongLived")]
    fn long_conn(rec: &ConnRecord, ft: &FiveTuple) {
        let c = super::LongConn {
            tuple: ft.to_string(),
            first_ns: rec.first_ts.as_nanos(),
            packets: rec.total_packets(),
            duration: rec.duration(),
        };
        crate::output::line(format_args!(
            "{} packets={} duration={:.3}s end={:?}",
            c.tuple,
            c.packets,
            c.duration.as_secs_f64(),
            rec.end
        ));
        super::DELIVERED.lock().unwrap_or_else(|e| e.into_inner()).push(c);
    }
}
