//! A hashed timer wheel with lazy rescheduling.
//!
//! Time is cut into ticks of `timer_resolution_ms`. An entry for tick `t`
//! lives in bucket `t % buckets`; entries more than one revolution ahead
//! simply stay in their bucket until a pass finds them due. The table keeps
//! at most a few entries per connection: a packet that pushes a deadline
//! later does not touch the wheel (the entry is re-checked when it fires and
//! re-inserted if the deadline moved), and only a deadline that moves
//! *earlier* (entering the closing state) adds an entry, making the old one
//! stale.
//!
//! Cost: insert O(1); `expire` visits `min(elapsed ticks, buckets)` buckets
//! plus the entries in them, so a quiet link only walks empty buckets.

/// A wheel entry: which table slot (and its generation) to re-check at `tick`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct TimerEntry {
    pub slot: u32,
    pub gen: u32,
    pub tick: u64,
}

#[derive(Debug)]
pub(crate) struct TimerWheel {
    buckets: Vec<Vec<TimerEntry>>,
    mask: u64,
    /// First tick not yet expired.
    next_tick: u64,
    started: bool,
    len: usize,
}

impl TimerWheel {
    /// A wheel of `buckets.next_power_of_two()` buckets (at least 16, at most 2^16).
    pub fn new(buckets: u64) -> Self {
        let n = buckets.clamp(16, 1 << 16).next_power_of_two();
        TimerWheel {
            buckets: (0..n).map(|_| Vec::new()).collect(),
            mask: n - 1,
            next_tick: 0,
            started: false,
            len: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    /// Schedules `e`; a tick already expired fires at the next `expire`.
    pub fn insert(&mut self, e: TimerEntry) {
        let at = if self.started {
            e.tick.max(self.next_tick)
        } else {
            e.tick
        };
        self.buckets[(at & self.mask) as usize].push(e);
        self.len += 1;
    }

    /// Moves every entry with `tick < now_tick` into `out` (bucket order, then
    /// insertion order).
    pub fn expire(&mut self, now_tick: u64, out: &mut Vec<TimerEntry>) {
        if !self.started {
            self.started = true;
            // Entries inserted before the first expire may be anywhere.
            self.next_tick = 0;
            if self.len == 0 {
                self.next_tick = now_tick;
                return;
            }
        }
        if now_tick <= self.next_tick {
            return;
        }
        let span = now_tick - self.next_tick;
        let visits = span.min(self.mask + 1);
        for i in 0..visits {
            let b = (self.next_tick.wrapping_add(i) & self.mask) as usize;
            let bucket = &mut self.buckets[b];
            if bucket.is_empty() {
                continue;
            }
            let mut kept = 0;
            for j in 0..bucket.len() {
                let entry = bucket[j];
                if entry.tick < now_tick {
                    out.push(entry);
                } else {
                    bucket[kept] = entry;
                    kept += 1;
                }
            }
            self.len -= bucket.len() - kept;
            bucket.truncate(kept);
        }
        self.next_tick = now_tick;
    }

    pub fn buckets(&self) -> usize {
        self.buckets.len()
    }

    /// Keeps only the entries for which `keep` is true (order preserved).
    /// Costs O(buckets + entries).
    pub fn retain(&mut self, mut keep: impl FnMut(&TimerEntry) -> bool) {
        let mut len = 0;
        for b in &mut self.buckets {
            b.retain(&mut keep);
            len += b.len();
        }
        self.len = len;
    }

    pub fn clear(&mut self) {
        for b in &mut self.buckets {
            b.clear();
        }
        self.len = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(slot: u32, tick: u64) -> TimerEntry {
        TimerEntry { slot, gen: 0, tick }
    }

    #[test]
    fn fires_only_strictly_past_ticks() {
        let mut w = TimerWheel::new(16);
        let mut out = Vec::new();
        w.expire(100, &mut out);
        w.insert(e(1, 105));
        w.expire(105, &mut out);
        assert!(out.is_empty());
        w.expire(106, &mut out);
        assert_eq!(out, vec![e(1, 105)]);
        assert_eq!(w.len(), 0);
    }

    #[test]
    fn far_entries_survive_revolutions_and_big_jumps() {
        let mut w = TimerWheel::new(16);
        let mut out = Vec::new();
        w.expire(0, &mut out);
        w.insert(e(1, 40));
        w.insert(e(2, 3));
        w.expire(20, &mut out);
        assert_eq!(out, vec![e(2, 3)]);
        out.clear();
        w.expire(40, &mut out);
        assert!(out.is_empty());
        // A jump of many revolutions visits each bucket once.
        w.expire(1_000_000, &mut out);
        assert_eq!(out, vec![e(1, 40)]);
    }

    #[test]
    fn retain_drops_entries() {
        let mut w = TimerWheel::new(16);
        w.insert(e(1, 5));
        w.insert(e(2, 5));
        w.insert(e(3, 40));
        w.retain(|x| x.slot != 2);
        assert_eq!(w.len(), 2);
        let mut out = Vec::new();
        w.expire(100, &mut out);
        assert_eq!(out, vec![e(1, 5), e(3, 40)]);
    }

    #[test]
    fn late_insert_fires_next_time() {
        let mut w = TimerWheel::new(16);
        let mut out = Vec::new();
        w.expire(50, &mut out);
        w.insert(e(3, 10));
        w.expire(51, &mut out);
        assert_eq!(out, vec![e(3, 10)]);
    }
}
