//! Packet time on a live link.
//!
//! Timers run on packet time. While packets arrive, a worker's clock is the
//! timestamp of its latest packet. When its queue has been quiet for a
//! while, the worker advances its timers from the host clock instead: to
//! the latest packet time seen on *any* queue plus the host time elapsed
//! since that packet arrived, so idle connections expire on a quiet link at
//! the time they would have with a packet arriving now.
//!
//! The shared state is two relaxed atomics per run (written once per
//! non-empty burst), so the estimate may lag by one burst; that only moves
//! an idle expiry by microseconds.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Latest packet time over all queues, and when (host time) it arrived.
#[derive(Debug)]
pub struct SharedClock {
    start: Instant,
    latest_ts: AtomicU64,
    latest_at: AtomicU64,
    /// Host time (ns since start) of the last non-empty burst on any queue.
    last_arrival: AtomicU64,
}

impl SharedClock {
    pub fn new() -> Self {
        SharedClock {
            start: Instant::now(),
            latest_ts: AtomicU64::new(0),
            latest_at: AtomicU64::new(0),
            last_arrival: AtomicU64::new(0),
        }
    }

    /// Host nanoseconds since the run started.
    pub fn host_ns(&self) -> u64 {
        self.start.elapsed().as_nanos() as u64
    }

    /// A burst arrived whose latest packet time is `ts_ns`.
    pub fn arrived(&self, ts_ns: u64, host_ns: u64) {
        self.last_arrival.store(host_ns, Ordering::Relaxed);
        if self.latest_ts.fetch_max(ts_ns, Ordering::Relaxed) < ts_ns {
            self.latest_at.store(host_ns, Ordering::Relaxed);
        }
    }

    /// Host time (ns since start) of the last burst on any queue.
    pub fn last_arrival_ns(&self) -> u64 {
        self.last_arrival.load(Ordering::Relaxed)
    }

    /// Latest packet time over all queues (0 before any packet).
    pub fn latest_packet_ns(&self) -> u64 {
        self.latest_ts.load(Ordering::Relaxed)
    }

    /// Host time since the last packet on any queue.
    pub fn quiet_ns(&self, host_ns: u64) -> u64 {
        host_ns.saturating_sub(self.last_arrival.load(Ordering::Relaxed))
    }

    /// The packet time "now" for a worker on a quiet queue; `None` before any packet.
    pub fn estimate(&self, host_ns: u64) -> Option<u64> {
        idle_estimate(
            self.latest_ts.load(Ordering::Relaxed),
            self.latest_at.load(Ordering::Relaxed),
            host_ns,
        )
    }
}

impl Default for SharedClock {
    fn default() -> Self {
        SharedClock::new()
    }
}

/// `latest_ts + (host_now - latest_at)`, or `None` before the first packet.
pub fn idle_estimate(latest_ts: u64, latest_at: u64, host_now: u64) -> Option<u64> {
    (latest_ts != 0).then(|| latest_ts.saturating_add(host_now.saturating_sub(latest_at)))
}

/// Per-worker decision: advance timers from the clock when the worker's own
/// queue has been quiet for `idle_after_ns`, at most once per `idle_after_ns`.
#[derive(Debug)]
pub struct IdleTicker {
    idle_after_ns: u64,
    last_packet: u64,
    last_tick: u64,
}

impl IdleTicker {
    /// `idle_after_ns == 0` disables clock ticks.
    pub fn new(idle_after_ns: u64) -> Self {
        IdleTicker {
            idle_after_ns,
            last_packet: 0,
            last_tick: 0,
        }
    }

    pub fn packet(&mut self, host_ns: u64) {
        self.last_packet = host_ns;
    }

    /// Whether to advance timers now.
    pub fn due(&mut self, host_ns: u64) -> bool {
        if self.idle_after_ns == 0
            || host_ns.saturating_sub(self.last_packet) < self.idle_after_ns
            || host_ns.saturating_sub(self.last_tick) < self.idle_after_ns
        {
            return false;
        }
        self.last_tick = host_ns;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn estimate_extrapolates_from_the_latest_packet() {
        assert_eq!(idle_estimate(0, 0, 5), None);
        assert_eq!(idle_estimate(1_000, 10, 110), Some(1_100));
        // Host time before the packet (a racing reader) never goes back.
        assert_eq!(idle_estimate(1_000, 200, 100), Some(1_000));
    }

    #[test]
    fn shared_clock_keeps_the_maximum() {
        let c = SharedClock::new();
        c.arrived(500, 10);
        c.arrived(300, 20);
        assert_eq!(c.latest_packet_ns(), 500);
        assert_eq!(c.estimate(110), Some(600));
        assert_eq!(c.quiet_ns(120), 100);
    }

    #[test]
    fn ticker_fires_only_after_quiet_and_at_most_once_per_period() {
        let mut t = IdleTicker::new(100);
        t.packet(1_000);
        assert!(!t.due(1_050));
        assert!(t.due(1_100));
        assert!(!t.due(1_150));
        assert!(t.due(1_200));
        t.packet(1_250);
        assert!(!t.due(1_300));
        let mut off = IdleTicker::new(0);
        assert!(!off.due(u64::MAX));
    }
}
