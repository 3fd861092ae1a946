//! The per-core connection table.

use crate::base::{Direction, Timestamp};
use crate::config::ConnConfig;
use crate::conn::{
    Conn, ConnHandler, ConnInfo, ConnRecord, EndReason, FiveTuple, Interest, L4Pdu, L4Proto,
    PacketInput, TcpMeta,
};
use crate::reassembly::{Overflow, Reassembler};
use crate::seq::SeqNumber;
use crate::stats::ConnStats;
use crate::timer::{TimerEntry, TimerWheel};
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::net::SocketAddr;
use weir_wire::{TcpFlags, VlanStack};

/// Canonical key: both directions of a connection map to the same key.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
struct ConnKey {
    vlans: VlanStack,
    proto: L4Proto,
    lo: SocketAddr,
    hi: SocketAddr,
}

impl ConnKey {
    fn new(vlans: VlanStack, proto: L4Proto, a: SocketAddr, b: SocketAddr) -> Self {
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        ConnKey {
            vlans,
            proto,
            lo,
            hi,
        }
    }
}

/// Timeouts in nanoseconds.
#[derive(Copy, Clone, Debug)]
struct Timeouts {
    establish: u64,
    tcp: u64,
    udp: u64,
    linger: u64,
    resolution: u64,
}

impl Timeouts {
    fn new(c: &ConnConfig) -> Self {
        let ns = |ms: u64| ms.saturating_mul(1_000_000);
        Timeouts {
            establish: ns(c.tcp_establish_timeout_ms),
            tcp: ns(c.tcp_inactivity_timeout_ms),
            udp: ns(c.udp_inactivity_timeout_ms),
            linger: ns(c.tcp_close_linger_ms),
            resolution: ns(c.timer_resolution_ms).max(1),
        }
    }

    fn tick(&self, ts: Timestamp) -> u64 {
        ts.as_nanos() / self.resolution
    }
}

/// The L4 lifetime of a key, kept for tracked and ignored keys alike: it
/// decides the deadline and the end reason.
#[derive(Copy, Clone, Debug)]
struct Life {
    proto: L4Proto,
    orig: SocketAddr,
    last_ts: Timestamp,
    began_with_syn: bool,
    resp_seen: bool,
    fin_seen: [bool; 2],
    closing: Option<EndReason>,
}

impl Life {
    fn dir(&self, src: SocketAddr) -> Direction {
        if src == self.orig {
            Direction::ToResponder
        } else {
            Direction::ToOriginator
        }
    }

    fn on_packet(&mut self, dir: Direction, flags: TcpFlags, ts: Timestamp) {
        self.last_ts = self.last_ts.max(ts);
        if dir == Direction::ToOriginator {
            self.resp_seen = true;
        }
        if self.proto != L4Proto::Tcp {
            return;
        }
        if flags.fin() {
            self.fin_seen[dir.index()] = true;
        }
        if self.closing.is_none() {
            if flags.rst() {
                self.closing = Some(EndReason::Rst);
            } else if self.fin_seen == [true, true] {
                self.closing = Some(EndReason::FinExchange);
            }
        }
    }

    fn deadline(&self, to: &Timeouts) -> (Timestamp, EndReason) {
        let (after, reason) = match (self.closing, self.proto) {
            (Some(r), _) => (to.linger, r),
            (None, L4Proto::Tcp) if self.began_with_syn && !self.resp_seen => {
                (to.establish, EndReason::EstablishmentTimeout)
            }
            (None, L4Proto::Tcp) => (to.tcp, EndReason::InactivityTimeout),
            (None, L4Proto::Udp) => (to.udp, EndReason::InactivityTimeout),
        };
        (self.last_ts.saturating_add_nanos(after), reason)
    }
}

/// Metadata kept with a buffered out-of-order segment.
#[derive(Copy, Clone, Debug)]
struct SegMeta {
    ts: Timestamp,
    tcp: TcpMeta,
    wire_len: u32,
}

#[derive(Debug, Default)]
struct TcpTrack {
    syn_from_orig: bool,
    resp_isn: Option<SeqNumber>,
    /// Highest sequence number after payload seen, per direction (for history `t`).
    high_end: [Option<SeqNumber>; 2],
}

#[derive(Debug)]
struct Tracked<S> {
    conn: Conn<S>,
    life: Life,
    tcp: TcpTrack,
    reasm: [Reassembler<SegMeta>; 2],
}

#[derive(Debug)]
enum Entry<S> {
    Free,
    Tracked(Box<Tracked<S>>),
    /// A key whose connection is not (or no longer) tracked; `tombstone`
    /// when left by an out-of-order overflow.
    Ignored {
        life: Life,
        tombstone: bool,
    },
}

#[derive(Debug)]
struct Slot<S> {
    gen: u32,
    /// Tick of the newest wheel entry for this slot (`u64::MAX`: none).
    sched: u64,
    key: ConnKey,
    entry: Entry<S>,
}

impl<S> Slot<S> {
    fn life(&self) -> Option<&Life> {
        match &self.entry {
            Entry::Free => None,
            Entry::Tracked(t) => Some(&t.life),
            Entry::Ignored { life, .. } => Some(life),
        }
    }
}

/// What the tracked-packet path decided.
enum After {
    Keep,
    NoInterest,
    Overflow,
}

/// A per-core connection table: lookup, L4 state machine, timers and
/// reassembly (see the crate docs for the exact semantics).
pub struct ConnTable<S> {
    cfg: ConnConfig,
    to: Timeouts,
    /// Keyed SipHash (std `RandomState`): keys are attacker-chosen.
    map: HashMap<ConnKey, u32, RandomState>,
    slots: Vec<Slot<S>>,
    free: Vec<u32>,
    wheel: TimerWheel,
    fired: Vec<TimerEntry>,
    now: Timestamp,
    next_id: u64,
    tracked: usize,
    stats: ConnStats,
}

impl<S> ConnTable<S> {
    /// A table for `cfg`, which should have passed [`ConnConfig::validate`]
    /// (an invalid one does not panic, but limits may behave oddly).
    pub fn new(cfg: ConnConfig) -> Self {
        let to = Timeouts::new(&cfg);
        let longest = to.tcp.max(to.udp).max(to.establish).max(to.linger);
        let wheel = TimerWheel::new((longest / to.resolution).saturating_add(2));
        ConnTable {
            map: HashMap::with_capacity_and_hasher(
                cfg.max_connections.min(4096),
                RandomState::new(),
            ),
            slots: Vec::new(),
            free: Vec::new(),
            wheel,
            fired: Vec::new(),
            now: Timestamp::ZERO,
            next_id: 0,
            tracked: 0,
            stats: ConnStats::default(),
            cfg,
            to,
        }
    }

    pub fn config(&self) -> &ConnConfig {
        &self.cfg
    }

    /// Entries in the table: tracked connections, ignored keys and tombstones
    /// (all bounded together by `max_connections`).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Tracked connections (those that will get, or could get, `L4Terminated`).
    pub fn tracked(&self) -> usize {
        self.tracked
    }

    pub fn stats(&self) -> &ConnStats {
        &self.stats
    }

    /// Entries in the timer wheel, live and stale; never more than
    /// [`ConnTable::timer_bound`].
    pub fn timer_entries(&self) -> usize {
        self.wheel.len()
    }

    /// The most timer entries this table can hold: `4 × max_connections +
    /// buckets + 1`, where the wheel has `buckets` (a power of two, 16 to
    /// 65 536, about longest timeout / resolution).
    pub fn timer_bound(&self) -> usize {
        4usize
            .saturating_mul(self.cfg.max_connections)
            .saturating_add(self.wheel.buckets())
            .saturating_add(1)
    }

    /// The table's clock: the latest time seen by `process` or `advance`.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Fires every timer due at `now` (the table's clock never goes back).
    pub fn advance<H: ConnHandler<State = S>>(&mut self, now: Timestamp, h: &mut H) {
        self.now = self.now.max(now);
        let now = self.now;
        let mut fired = std::mem::take(&mut self.fired);
        self.wheel.expire(self.to.tick(now), &mut fired);
        for e in fired.drain(..) {
            self.stats.timer_checks += 1;
            let Some(slot) = self.slots.get(e.slot as usize) else {
                continue;
            };
            if slot.gen != e.gen || slot.sched != e.tick {
                continue;
            }
            let Some(life) = slot.life() else { continue };
            let (deadline, reason) = life.deadline(&self.to);
            if now >= deadline {
                self.end_slot(e.slot, reason, h);
            } else {
                let tick = self.to.tick(deadline);
                let slot = &mut self.slots[e.slot as usize];
                slot.sched = tick;
                self.wheel.insert(TimerEntry {
                    slot: e.slot,
                    gen: slot.gen,
                    tick,
                });
            }
        }
        self.fired = fired;
    }

    /// End of input: every tracked connection terminates — with its closing
    /// reason if closing, with its timeout reason if its deadline has passed
    /// but its timer has not fired yet, otherwise with `EndOfInput` — in slot
    /// order. Ignored keys and tombstones are forgotten. The table is empty
    /// afterwards and can be reused.
    pub fn drain<H: ConnHandler<State = S>>(&mut self, h: &mut H) {
        for i in 0..self.slots.len() {
            let Some(life) = self.slots[i].life() else {
                continue;
            };
            let (deadline, reason) = life.deadline(&self.to);
            let reason = if life.closing.is_some() || self.now >= deadline {
                reason
            } else {
                EndReason::EndOfInput
            };
            self.end_slot(i as u32, reason, h);
        }
        self.wheel.clear();
        self.map.clear();
        self.slots.clear();
        self.free.clear();
    }

    /// Processes one packet (see the crate docs for the order of events).
    pub fn process<H: ConnHandler<State = S>>(&mut self, pkt: &PacketInput<'_>, h: &mut H) {
        self.stats.packets += 1;
        self.advance(pkt.ts, h);
        let tcp = match pkt.proto {
            L4Proto::Tcp => Some(pkt.tcp.unwrap_or(TcpMeta {
                seq: 0,
                ack: 0,
                flags: TcpFlags::default(),
                window: 0,
            })),
            L4Proto::Udp => None,
        };
        let flags = tcp.map(|t| t.flags).unwrap_or_default();
        let pure_syn = flags.syn() && !flags.ack() && !flags.fin() && !flags.rst();
        let src = pkt.src_addr();
        let key = ConnKey::new(pkt.vlans, pkt.proto, src, pkt.dst_addr());

        if let Some(&idx) = self.map.get(&key) {
            let slot = &self.slots[idx as usize];
            let Some(life) = slot.life().copied() else {
                return;
            };
            let tombstone = matches!(
                slot.entry,
                Entry::Ignored {
                    tombstone: true,
                    ..
                }
            );
            let (deadline, reason) = life.deadline(&self.to);
            if self.now >= deadline {
                // Its timer is due but has not fired (same tick): end it first.
                self.end_slot(idx, reason, h);
            } else if pure_syn && !tombstone && life.closing.is_some() {
                self.stats.port_reuses += 1;
                self.end_slot(idx, reason, h);
            } else {
                match &mut self.slots[idx as usize].entry {
                    Entry::Tracked(_) => self.track_packet(idx, pkt, tcp, h),
                    Entry::Ignored { life, tombstone } => {
                        let dir = life.dir(src);
                        if *tombstone {
                            life.last_ts = life.last_ts.max(pkt.ts);
                            self.stats.packets_tombstoned += 1;
                        } else {
                            life.on_packet(dir, flags, pkt.ts);
                            self.stats.packets_ignored += 1;
                        }
                        self.schedule(idx);
                    }
                    Entry::Free => {}
                }
                return;
            }
        }

        if self.map.len() >= self.cfg.max_connections {
            self.stats.table_full += 1;
            return;
        }
        self.create(key, pkt, tcp, h);
    }

    fn create<H: ConnHandler<State = S>>(
        &mut self,
        key: ConnKey,
        pkt: &PacketInput<'_>,
        tcp: Option<TcpMeta>,
        h: &mut H,
    ) {
        let flags = tcp.map(|t| t.flags).unwrap_or_default();
        let synack_first = flags.syn() && flags.ack();
        let (orig, resp, dir) = if synack_first {
            (pkt.dst_addr(), pkt.src_addr(), Direction::ToOriginator)
        } else {
            (pkt.src_addr(), pkt.dst_addr(), Direction::ToResponder)
        };
        let tuple = FiveTuple {
            orig,
            resp,
            proto: pkt.proto,
            vlans: pkt.vlans,
        };
        self.next_id += 1;
        let info = ConnInfo {
            tuple,
            id: self.next_id,
            ttl: pkt.ttl,
            ethernet: pkt.ethernet,
        };
        let pdu = L4Pdu {
            payload: pkt.payload,
            dir,
            ts: pkt.ts,
            tcp,
            wire_len: pkt.wire_len,
            payload_len: pkt.payload.len(),
            reassembled: false,
            from_buffer: false,
        };
        let mut life = Life {
            proto: pkt.proto,
            orig,
            last_ts: pkt.ts,
            began_with_syn: flags.syn() && !flags.ack(),
            resp_seen: false,
            fin_seen: [false; 2],
            closing: None,
        };
        match h.first_packet(&info, &pdu) {
            Some((state, interest)) if !interest.is_empty() => {
                self.stats.created += 1;
                self.tracked += 1;
                if tcp.is_some() && !life.began_with_syn {
                    self.stats.mid_stream_starts += 1;
                }
                if synack_first {
                    self.stats.role_flips += 1;
                }
                let max_ooo = self.cfg.max_ooo_segments;
                let tracked = Tracked {
                    conn: Conn {
                        tuple,
                        id: info.id,
                        record: ConnRecord::new(pkt.ts),
                        interest,
                        ttl: info.ttl,
                        ethernet: info.ethernet,
                        state,
                    },
                    life,
                    tcp: TcpTrack::default(),
                    reasm: [Reassembler::new(max_ooo), Reassembler::new(max_ooo)],
                };
                let idx = self.insert(key, Entry::Tracked(Box::new(tracked)));
                self.track_packet(idx, pkt, tcp, h);
            }
            _ => {
                self.stats.rejected += 1;
                self.stats.ignored_created += 1;
                life.on_packet(dir, flags, pkt.ts);
                let idx = self.insert(
                    key,
                    Entry::Ignored {
                        life,
                        tombstone: false,
                    },
                );
                self.schedule(idx);
            }
        }
    }

    fn insert(&mut self, key: ConnKey, entry: Entry<S>) -> u32 {
        let idx = match self.free.pop() {
            Some(i) => {
                let slot = &mut self.slots[i as usize];
                slot.key = key;
                slot.entry = entry;
                slot.sched = u64::MAX;
                i
            }
            None => {
                self.slots.push(Slot {
                    gen: 0,
                    sched: u64::MAX,
                    key,
                    entry,
                });
                (self.slots.len() - 1) as u32
            }
        };
        self.map.insert(key, idx);
        idx
    }

    /// Adds a wheel entry if the slot's deadline is earlier than its newest entry.
    fn schedule(&mut self, idx: u32) {
        let slot = &mut self.slots[idx as usize];
        let Some(life) = slot.life() else { return };
        let tick = self.to.tick(life.deadline(&self.to).0);
        if tick < slot.sched {
            slot.sched = tick;
            self.wheel.insert(TimerEntry {
                slot: idx,
                gen: slot.gen,
                tick,
            });
            self.compact_timers();
        }
    }

    /// Entries of ended connections and superseded deadlines stay in the
    /// wheel until their tick passes; under heavy churn (e.g. a SYN/RST flood
    /// reusing one port) they could pile up faster than ticks pass. When the
    /// wheel exceeds `4 × len() + buckets` entries, drop every stale one.
    /// At most two entries per table entry are live (the one matching its
    /// `sched`, rarely a twin), so the wheel stays below
    /// `4 × max_connections + buckets + 1` and the O(buckets + entries)
    /// sweep is paid for by the insertions since the last one.
    fn compact_timers(&mut self) {
        if self.wheel.len()
            <= self
                .map
                .len()
                .saturating_mul(4)
                .saturating_add(self.wheel.buckets())
        {
            return;
        }
        let slots = &self.slots;
        self.wheel.retain(|e| match slots.get(e.slot as usize) {
            Some(s) => s.gen == e.gen && s.sched == e.tick && !matches!(s.entry, Entry::Free),
            None => false,
        });
        self.stats.timer_compactions += 1;
    }

    /// Removes the entry in `idx`; a tracked connection ends with `reason`.
    fn end_slot<H: ConnHandler<State = S>>(&mut self, idx: u32, reason: EndReason, h: &mut H) {
        let slot = &mut self.slots[idx as usize];
        let entry = std::mem::replace(&mut slot.entry, Entry::Free);
        if matches!(entry, Entry::Free) {
            return;
        }
        slot.gen = slot.gen.wrapping_add(1);
        slot.sched = u64::MAX;
        let key = slot.key;
        self.map.remove(&key);
        self.free.push(idx);
        if let Entry::Tracked(t) = entry {
            self.tracked -= 1;
            self.stats.count_end(reason);
            let mut conn = t.conn;
            conn.record.end = Some(reason);
            if conn.interest.contains(Interest::TERMINATED) {
                self.stats.terminated_delivered += 1;
                h.terminated(conn, reason);
            }
        }
    }

    /// The connection lost all interest: drop its state, keep its key ignored.
    fn drop_interest(&mut self, idx: u32) {
        let slot = &mut self.slots[idx as usize];
        if let Entry::Tracked(t) = &slot.entry {
            let life = t.life;
            slot.entry = Entry::Ignored {
                life,
                tombstone: false,
            };
            self.tracked -= 1;
            self.stats.dropped_no_interest += 1;
            self.stats.ignored_created += 1;
        }
        self.schedule(idx);
    }

    /// One packet of the tracked connection in `idx` (new or existing).
    fn track_packet<H: ConnHandler<State = S>>(
        &mut self,
        idx: u32,
        pkt: &PacketInput<'_>,
        tcp: Option<TcpMeta>,
        h: &mut H,
    ) {
        let after = {
            let ConnTable { slots, stats, .. } = self;
            let Entry::Tracked(t) = &mut slots[idx as usize].entry else {
                return;
            };
            track(t, pkt, tcp, stats, h)
        };
        match after {
            After::Keep => self.schedule(idx),
            After::NoInterest => self.drop_interest(idx),
            After::Overflow => {
                self.stats.ooo_overflows += 1;
                let key = self.slots[idx as usize].key;
                let mut life = match &self.slots[idx as usize].entry {
                    Entry::Tracked(t) => t.life,
                    _ => return,
                };
                self.end_slot(idx, EndReason::OutOfOrderOverflow, h);
                life.closing = None;
                life.began_with_syn = false;
                self.stats.tombstones_created += 1;
                let idx = self.insert(
                    key,
                    Entry::Ignored {
                        life,
                        tombstone: true,
                    },
                );
                self.schedule(idx);
            }
        }
    }
}

/// The tracked-packet path: record, history, handshake, `L4InConn`,
/// `L4EndHandshake`, `L4InStream`, in that order.
fn track<S, H: ConnHandler<State = S>>(
    t: &mut Tracked<S>,
    pkt: &PacketInput<'_>,
    tcp: Option<TcpMeta>,
    stats: &mut ConnStats,
    h: &mut H,
) -> After {
    stats.packets_tracked += 1;
    let dir = t.life.dir(pkt.src_addr());
    let d = dir.index();
    let flags = tcp.map(|m| m.flags).unwrap_or_default();
    let payload = pkt.payload;
    t.life.on_packet(dir, flags, pkt.ts);

    // Record.
    let rec = &mut t.conn.record;
    rec.packets[d] = rec.packets[d].saturating_add(1);
    rec.wire_bytes[d] = rec.wire_bytes[d].saturating_add(u64::from(pkt.wire_len));
    rec.payload_bytes[d] = rec.payload_bytes[d].saturating_add(payload.len() as u64);
    rec.last_ts = rec.last_ts.max(pkt.ts);
    rec.duration_ns = rec.last_ts.saturating_since(rec.first_ts);
    if pkt.bad_checksum {
        stats.bad_checksums += 1;
        rec.history.record(b'c', dir);
    }

    // TCP machine and history.
    let mut handshake_now = false;
    if let Some(m) = tcp {
        let hist = &mut rec.history;
        let (syn, ack, fin, rst) = (flags.syn(), flags.ack(), flags.fin(), flags.rst());
        if syn && !ack {
            hist.record(b's', dir);
        }
        if syn && ack {
            hist.record(b'h', dir);
        }
        if syn && (fin || rst) {
            hist.record(b'q', dir);
        }
        if fin && rst {
            hist.record(b'i', dir);
        }
        if !payload.is_empty() {
            hist.record(b'd', dir);
            let start = SeqNumber(m.seq).add(u32::from(syn));
            let end = start.add(payload.len().min(u32::MAX as usize) as u32);
            let high = &mut t.tcp.high_end[d];
            match *high {
                Some(hi) if end <= hi => {
                    stats.retransmissions += 1;
                    hist.record(b't', dir);
                }
                Some(hi) if end > hi => *high = Some(end),
                Some(_) => {}
                None => *high = Some(end),
            }
        }
        if ack && !syn && !fin && !rst && payload.is_empty() {
            hist.record(b'a', dir);
        }
        if fin {
            hist.record(b'f', dir);
        }
        if rst {
            hist.record(b'r', dir);
        }
        if m.window == 0 && !rst {
            hist.record(b'w', dir);
        }
        match dir {
            Direction::ToResponder if syn && !ack => t.tcp.syn_from_orig = true,
            Direction::ToOriginator if syn && ack => t.tcp.resp_isn = Some(SeqNumber(m.seq)),
            Direction::ToResponder
                if ack
                    && !syn
                    && !rst
                    && !rec.handshake_completed
                    && t.tcp.syn_from_orig
                    && t.tcp.resp_isn.map(|isn| isn.add(1)) == Some(SeqNumber(m.ack)) =>
            {
                rec.handshake_completed = true;
                stats.handshakes += 1;
                handshake_now = true;
            }
            _ => {}
        }
    } else if !payload.is_empty() {
        rec.history.record(b'd', dir);
    }

    let pdu = L4Pdu {
        payload,
        dir,
        ts: pkt.ts,
        tcp,
        wire_len: pkt.wire_len,
        payload_len: payload.len(),
        reassembled: false,
        from_buffer: false,
    };

    // L4InConn.
    if t.conn.interest.contains(Interest::IN_CONN) {
        t.conn.interest = h.in_conn(&mut t.conn, &pdu);
        if t.conn.interest.is_empty() {
            return After::NoInterest;
        }
    }
    // L4EndHandshake.
    if handshake_now && t.conn.interest.contains(Interest::HANDSHAKE) {
        t.conn.interest = h.end_handshake(&mut t.conn);
        if t.conn.interest.is_empty() {
            return After::NoInterest;
        }
    }
    // L4InStream.
    if t.conn.interest.contains(Interest::STREAM) {
        match tcp {
            None => {
                if !payload.is_empty() {
                    let pdu = L4Pdu {
                        reassembled: true,
                        ..pdu
                    };
                    stats.stream_segments += 1;
                    t.conn.interest = h.in_stream(&mut t.conn, &pdu);
                }
            }
            Some(m) if !flags.rst() => {
                let Tracked { conn, reasm, .. } = t;
                let r = &mut reasm[d];
                if flags.syn() {
                    r.syn(SeqNumber(m.seq));
                }
                let seq = SeqNumber(m.seq).add(u32::from(flags.syn()));
                let meta = SegMeta {
                    ts: pkt.ts,
                    tcp: m,
                    wire_len: pkt.wire_len,
                };
                let res = r.push(seq, payload, flags.fin(), meta, |c| {
                    let src = c.buffered.unwrap_or(meta);
                    let piece = L4Pdu {
                        payload: c.data,
                        dir,
                        ts: src.ts,
                        tcp: Some(TcpMeta {
                            seq: c.seq.0,
                            ..src.tcp
                        }),
                        wire_len: src.wire_len,
                        payload_len: c.data.len(),
                        reassembled: true,
                        from_buffer: c.buffered.is_some(),
                    };
                    stats.stream_segments += 1;
                    if piece.from_buffer {
                        stats.stream_from_buffer += 1;
                    }
                    conn.interest = h.in_stream(conn, &piece);
                    conn.interest.contains(Interest::STREAM)
                });
                match res {
                    Err(Overflow) => return After::Overflow,
                    Ok(o) => {
                        stats.ooo_buffered_segments += u64::from(o.buffered);
                        stats.stream_duplicates += u64::from(o.duplicate);
                        stats.stream_out_of_window += u64::from(o.out_of_window);
                    }
                }
            }
            Some(_) => {}
        }
        if t.conn.interest.is_empty() {
            return After::NoInterest;
        }
    }
    if !t.conn.interest.contains(Interest::STREAM) {
        for r in &mut t.reasm {
            if r.next_seq().is_some() {
                r.clear();
            }
        }
    }
    After::Keep
}
