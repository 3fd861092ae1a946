//! The compiled executor: the fixed part of every generated pipeline.
//!
//! `#[weir::app]` generates a [`Generated`] impl — the action tree of each
//! transition as nested conditionals, a per-connection struct holding
//! exactly the tracked data, and direct calls to the user's functions —
//! and [`Compiled`] drives it from the connection tracker and the L7
//! parsers, following `docs/SEMANTICS.md`:
//!
//! 1. held data listing the transition are updated;
//! 2. user filter functions running at it are asked (while undecided);
//! 3. if the transition has a tree, it is evaluated once: connection-level
//!    trees shrink the *pending* set and grow the (sticky) *matched* set;
//!    session trees only add matches (a per-session subscription's match
//!    is for that session only); data a live subscription needs is built;
//! 4. callbacks are invoked in subscription order;
//! 5. the framework work still needed is recomputed from the pending and
//!    matched sets; when none remains the connection leaves the table.
//!
//! Per packet, a connection whose actions are settled costs the tracker's
//! work plus only the calls its actions ask for: trees run at decision
//! transitions, never per packet unless a filter function decides there.

use crate::api::{Ctx, Event};
use crate::app::trace::Trace;
use std::marker::PhantomData;
use weir_conntrack::{
    Conn, ConnHandler, ConnInfo, ConnRecord, EndReason, FiveTuple, Interest, L4Pdu, L4Proto, Transition,
};
use weir_filter::eval::{PacketFacts, SessionFields, Subject};
use weir_filter::typed::Proto;
use weir_filter::{L7State, Verdict};
use weir_ir::Framework;
use weir_protocols::registry::AnySessionRef;
use weir_protocols::Transport;
use weir_runtime::l7::L7Conn;

/// A set of subscription ids.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bits(Box<[u64]>);

impl Bits {
    pub fn new(n: usize) -> Bits {
        Bits(vec![0; n.div_ceil(64)].into_boxed_slice())
    }
    #[inline]
    pub fn set(&mut self, i: u32) {
        if let Some(w) = self.0.get_mut(i as usize / 64) {
            *w |= 1 << (i % 64);
        }
    }
    #[inline]
    pub fn clear(&mut self, i: u32) {
        if let Some(w) = self.0.get_mut(i as usize / 64) {
            *w &= !(1 << (i % 64));
        }
    }
    #[inline]
    pub fn get(&self, i: u32) -> bool {
        self.0.get(i as usize / 64).is_some_and(|w| w & (1 << (i % 64)) != 0)
    }
    pub fn or_mask(&mut self, m: &[u64]) {
        for (a, b) in self.0.iter_mut().zip(m) {
            *a |= b;
        }
    }
    pub fn fill(&mut self, n: usize) {
        for (k, w) in self.0.iter_mut().enumerate() {
            let lo = k * 64;
            *w = if n >= lo + 64 { u64::MAX } else if n > lo { (1u64 << (n - lo)) - 1 } else { 0 };
        }
    }
    pub fn reset(&mut self) {
        self.0.iter_mut().for_each(|w| *w = 0);
    }
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|w| *w == 0)
    }
    pub fn intersects(&self, m: &[u64]) -> bool {
        self.0.iter().zip(m).any(|(a, b)| a & b != 0)
    }
    pub fn words(&self) -> &[u64] {
        &self.0
    }
    /// The ids in the set, ascending.
    pub fn ones(&self) -> impl Iterator<Item = u32> + '_ {
        self.0.iter().enumerate().flat_map(|(k, &w)| {
            let mut w = w;
            std::iter::from_fn(move || {
                if w == 0 {
                    return None;
                }
                let b = w.trailing_zeros();
                w &= w - 1;
                Some(k as u32 * 64 + b)
            })
        })
    }
}

/// What one tree evaluation found: subscriptions whose (cut) filter
/// matched, and those still alive (a prefix matched, or undecided).
#[derive(Clone, Debug)]
pub struct Acc {
    pub matched: Bits,
    pub alive: Bits,
}

impl Acc {
    pub fn new(n: usize) -> Acc {
        Acc { matched: Bits::new(n), alive: Bits::new(n) }
    }
    /// Subscription `j`'s filter, fully decided here, reached with verdict `v`.
    #[inline]
    pub fn complete(&mut self, j: u32, v: Verdict) {
        match v {
            Verdict::Match => self.matched.set(j),
            Verdict::Undecided => self.alive.set(j),
            Verdict::NoMatch => {}
        }
    }
    /// A prefix of subscription `j`'s filter (more to decide later) reached with `v`.
    #[inline]
    pub fn prefix(&mut self, j: u32, v: Verdict) {
        if v != Verdict::NoMatch {
            self.alive.set(j);
        }
    }
    #[inline]
    pub fn complete_mask(&mut self, m: &[u64], v: Verdict) {
        match v {
            Verdict::Match => self.matched.or_mask(m),
            Verdict::Undecided => self.alive.or_mask(m),
            Verdict::NoMatch => {}
        }
    }
    #[inline]
    pub fn prefix_mask(&mut self, m: &[u64], v: Verdict) {
        if v != Verdict::NoMatch {
            self.alive.or_mask(m);
        }
    }
}

/// Static facts about one subscription (generated from the IR).
#[derive(Copy, Clone, Debug)]
pub struct SubInfo {
    pub name: &'static str,
    pub filter: &'static str,
    pub deliver_at: Transition,
    pub data_ready: Transition,
    /// Named with `on = ...` (delivered only there).
    pub named: bool,
    /// Delivered at each occurrence of `deliver_at`.
    pub repeated: bool,
    pub streaming: bool,
    /// Repeated at a session transition: its session predicates are decided per session.
    pub per_session: bool,
    /// Framework work needed while undecided / once matched (`Framework` bits).
    pub need_pending: u8,
    pub need_matched: u8,
    /// A periodic streaming callback: its slot in the connection's period
    /// counters, and the period (events, or nanoseconds of packet time).
    pub periodic: Option<(u16, Period)>,
}

/// The period of a periodic streaming callback.
#[derive(Copy, Clone, Debug)]
pub enum Period {
    Events(u64),
    Nanos(u64),
}

/// What a tree's literals see.
pub struct TreeFacts<'a> {
    pub packet: &'a PacketFacts,
    pub l7: L7State,
    /// The session of a session transition.
    pub session: Option<AnySessionRef<'a>>,
    /// Termination: everything is final.
    pub last: bool,
    /// Protocols (bit `Protocol as u8`) with at least one session so far.
    pub seen: u8,
    /// Verdicts of the user filter functions, by index.
    pub user: &'a [Verdict],
    pub user_names: &'a [&'static str],
}

impl Subject for TreeFacts<'_> {
    fn packet(&self) -> Option<&PacketFacts> {
        Some(self.packet)
    }
    fn l7(&self) -> L7State {
        self.l7
    }
    fn any_session(&self, f: &mut dyn FnMut(&dyn SessionFields) -> bool) -> bool {
        match &self.session {
            Some(s) => f(s),
            None => false,
        }
    }
    fn sessions_final(&self) -> bool {
        // A session tree decides on its session; termination on everything.
        self.session.is_some() || self.last
    }
    fn user(&self, name: &str) -> Verdict {
        match self.user_names.iter().position(|n| *n == name) {
            Some(i) => match self.user.get(i).copied().unwrap_or(Verdict::Undecided) {
                Verdict::Undecided if self.last => Verdict::NoMatch,
                v => v,
            },
            None => Verdict::NoMatch,
        }
    }
}

/// One literal of a generated tree. An L7 field predicate is decided on a
/// session; at termination, a connection that had sessions of the field's
/// protocol has had each of them tried, so the literal fails whichever its
/// sign (a connection without any such session: the field is absent).
#[inline]
pub fn literal(l: &weir_filter::dnf::Literal, f: &TreeFacts<'_>) -> Verdict {
    if let weir_filter::typed::Pred::Field { field, .. } = &l.pred {
        if let Proto::L7(p) = field.proto {
            if f.session.is_none() && f.last && f.seen & (1 << p as u8) != 0 {
                return Verdict::NoMatch;
            }
        }
    }
    weir_filter::eval::eval_literal(l, f)
}

/// A set node: the members hit, and the verdict of the others.
#[inline]
pub fn set_lookup(g: &weir_filter::trie::SetGroup, f: &TreeFacts<'_>, hits: &mut Vec<u32>) -> Verdict {
    hits.clear();
    if f.session.is_none() && f.last {
        if let Proto::L7(p) = g.field.proto {
            if f.seen & (1 << p as u8) != 0 {
                return Verdict::NoMatch;
            }
        }
    }
    if g.lookup(f, hits) {
        Verdict::NoMatch
    } else {
        Verdict::Undecided
    }
}

/// The generated part of an application.
pub trait Generated: 'static {
    /// The per-connection tracked data (one `Option` field per item).
    type Data: Default;
    const SUBS: &'static [SubInfo];
    /// User filter function names, by index.
    const FILTER_FNS: &'static [&'static str];
    /// Bit `t as u16` set when transition `t` has an action tree.
    const TREES: u16;
    /// Per distinct need: the subscriptions that have it while pending / once matched.
    const PENDING_NEEDS: &'static [(u8, &'static [u64])];
    const MATCHED_NEEDS: &'static [(u8, &'static [u64])];
    /// Number of periodic streaming callbacks.
    const PERIODIC: usize;
    /// The application's IR, serialised (the interpreter and the tree tables read it).
    const IR_JSON: &'static str;

    /// Evaluates the action tree of `t`.
    fn tree(t: Transition, f: &TreeFacts<'_>, acc: &mut Acc);
    /// Builds the tracked data that subscriptions in `live` need and that
    /// are not held yet (a new item also sees `ev` if it updates there).
    fn construct(live: &Bits, d: &mut Self::Data, ctx: &Ctx<'_>, ev: &Event<'_>);
    /// Updates held data that list `ev`'s transition.
    fn update(d: &mut Self::Data, ctx: &Ctx<'_>, ev: &Event<'_>);
    /// Bit `t as u16` set when a user filter function runs at `t`.
    const FILTERS_AT: u16;
    /// Asks the user filter functions that run at `ev`'s transition, are
    /// still undecided, and that a subscription in `live` uses.
    fn filters(live: &Bits, d: &mut Self::Data, ctx: &Ctx<'_>, ev: &Event<'_>, verdicts: &mut [Verdict]);
    /// Invokes subscription `sub`'s callback; `false` unsubscribes (streaming).
    fn invoke(sub: u32, d: &mut Self::Data, ctx: &Ctx<'_>, ev: &Event<'_>, trace: Option<&mut Trace>) -> bool;
}

/// Per-connection state of the compiled executor.
pub struct ConnState<D> {
    facts: PacketFacts,
    l7state: L7State,
    l7: Option<Box<L7Conn>>,
    pending: Bits,
    matched: Bits,
    /// Delivered (non-repeated) or unsubscribed.
    done: Bits,
    hits: Bits,
    verdicts: Box<[Verdict]>,
    /// Bit `t as u16`: transition `t` happened.
    reached: u16,
    seen: u8,
    framework: u8,
    /// Per periodic callback: events since the period started, and its start (ns).
    periods: Box<[(u64, Option<u64>)]>,
    pub data: D,
}

/// Counters of the compiled executor.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct EngineStats {
    pub invocations: u64,
    pub tree_evaluations: u64,
    pub connections_dropped_early: u64,
}

/// Drives a [`Generated`] pipeline (one per core).
pub struct Compiled<G: Generated> {
    core: usize,
    trace: Option<Trace>,
    acc: Acc,
    pub stats: EngineStats,
    _g: PhantomData<fn() -> G>,
}

fn transport(ft: &FiveTuple) -> Transport {
    match ft.proto {
        L4Proto::Tcp => Transport::Tcp,
        L4Proto::Udp => Transport::Udp,
    }
}

const fn bit(t: Transition) -> u16 {
    1 << t as u16
}

/// Connection-level trees shrink the pending set; session trees only add matches.
fn session_tree(t: Transition) -> bool {
    matches!(t, Transition::L7EndHeaders | Transition::L7EndSession)
}

impl<G: Generated> Compiled<G> {
    pub fn new(core: usize, trace: bool) -> Self {
        let n = G::SUBS.len();
        Compiled { core, trace: trace.then(Trace::default), acc: Acc::new(n), stats: EngineStats::default(), _g: PhantomData }
    }

    /// The invocation trace, when recording.
    pub fn take_trace(&mut self) -> Option<Trace> {
        self.trace.take()
    }

    fn step(&mut self, st: &mut ConnState<G::Data>, ctx: &Ctx<'_>, ev: &Event<'_>) {
        let t = ev.transition();
        st.reached |= bit(t);
        if let Event::OnDisc(p) = ev {
            st.l7state = p.map_or(L7State::None, L7State::Known);
        }
        let session = ev.session();
        if let Some(s) = &session {
            st.seen |= 1 << s.protocol() as u8;
        }
        G::update(&mut st.data, ctx, ev);
        st.hits.reset();
        let last = t == Transition::L4Terminated;
        if G::TREES & bit(t) != 0 {
            if G::FILTERS_AT & bit(t) != 0 {
                // Filter functions read data built once a prefix matched: a
                // first pass (their verdicts as they stand) builds it, then
                // they run for the subscriptions still alive, then the tree
                // decides with their verdicts.
                self.apply_tree(t, st, session, false);
                let live = self.live(st);
                G::construct(&live, &mut st.data, ctx, ev);
                G::filters(&live, &mut st.data, ctx, ev, &mut st.verdicts);
            }
            self.apply_tree(t, st, session, last);
            let live = self.live(st);
            G::construct(&live, &mut st.data, ctx, ev);
        } else if G::FILTERS_AT & bit(t) != 0 {
            let live = self.live(st);
            G::filters(&live, &mut st.data, ctx, ev, &mut st.verdicts);
        }
        // A per-session subscription delivered at the session's end decides
        // its session predicates on that (complete) session.
        if t == Transition::L7EndSession && G::TREES & bit(Transition::L7EndHeaders) != 0 {
            self.eval_tree(Transition::L7EndHeaders, st, session, false);
            for j in self.acc.matched.ones() {
                let s = &G::SUBS[j as usize];
                if s.per_session && s.deliver_at == t && st.pending.get(j) {
                    st.hits.set(j);
                }
            }
        }
        self.deliver(st, ctx, ev, t);
        self.recompute(st);
    }

    fn live(&self, st: &ConnState<G::Data>) -> Bits {
        let mut live = st.pending.clone();
        live.or_mask(st.matched.words());
        live
    }

    /// Evaluates the tree of `t` and applies it: connection-level trees
    /// shrink the pending set and grow the matched set (termination, `last`,
    /// decides everything); session trees only add matches.
    fn apply_tree(&mut self, t: Transition, st: &mut ConnState<G::Data>, session: Option<AnySessionRef<'_>>, last: bool) {
        self.eval_tree(t, st, session, last);
        let acc = &self.acc;
        if session_tree(t) {
            for j in acc.matched.ones() {
                let s = &G::SUBS[j as usize];
                if !st.pending.get(j) {
                    continue;
                }
                if s.per_session && s.deliver_at == t {
                    st.hits.set(j);
                } else {
                    st.matched.set(j);
                    st.pending.clear(j);
                }
            }
        } else {
            for (k, w) in st.pending.0.iter_mut().enumerate() {
                let m = acc.matched.0[k] & *w;
                st.matched.0[k] |= m;
                *w &= acc.alive.0[k] & !m;
                if last {
                    *w = 0;
                }
            }
        }
    }

    fn eval_tree(&mut self, t: Transition, st: &ConnState<G::Data>, session: Option<AnySessionRef<'_>>, last: bool) {
        self.stats.tree_evaluations += 1;
        let facts = TreeFacts {
            packet: &st.facts,
            l7: if last && st.l7state == L7State::Pending { L7State::None } else { st.l7state },
            session,
            last,
            seen: st.seen,
            user: &st.verdicts,
            user_names: G::FILTER_FNS,
        };
        self.acc.matched.reset();
        self.acc.alive.reset();
        G::tree(t, &facts, &mut self.acc);
    }

    fn deliver(&mut self, st: &mut ConnState<G::Data>, ctx: &Ctx<'_>, ev: &Event<'_>, t: Transition) {
        let mut cands = st.matched.clone();
        cands.or_mask(st.hits.words());
        for j in cands.ones() {
            if st.done.get(j) {
                continue;
            }
            let s = &G::SUBS[j as usize];
            let now = if s.repeated || s.streaming {
                t == s.deliver_at && (st.matched.get(j) || st.hits.get(j))
            } else {
                st.reached & bit(s.data_ready) != 0 && (!s.named || t == s.deliver_at)
            };
            if !now {
                continue;
            }
            if let Some((slot, period)) = s.periodic {
                let Some(p) = st.periods.get_mut(slot as usize) else { continue };
                let due = match period {
                    Period::Events(n) => {
                        p.0 += 1;
                        p.0 >= n
                    }
                    Period::Nanos(n) => {
                        let now = ctx.ts.as_nanos();
                        let start = *p.1.get_or_insert(now);
                        now.saturating_sub(start) >= n
                    }
                };
                if !due {
                    continue;
                }
                *p = (0, Some(ctx.ts.as_nanos()));
            }
            self.stats.invocations += 1;
            let keep = G::invoke(j, &mut st.data, ctx, ev, self.trace.as_mut());
            if !(s.repeated || s.streaming) || (s.streaming && !keep) {
                st.done.set(j);
            }
        }
    }

    fn recompute(&self, st: &mut ConnState<G::Data>) {
        let mut fw = 0u8;
        for (need, mask) in G::PENDING_NEEDS {
            if st.pending.intersects(mask) {
                fw |= need;
            }
        }
        let mut active = st.matched.clone();
        for (a, d) in active.0.iter_mut().zip(st.done.words()) {
            *a &= !d;
        }
        for (need, mask) in G::MATCHED_NEEDS {
            if active.intersects(mask) {
                fw |= need;
            }
        }
        st.framework = fw;
    }

    fn interest(st: &ConnState<G::Data>) -> Interest {
        Framework(st.framework).interest(st.l7.as_ref().is_none_or(|l| l.wants_data()))
    }

    fn feed_l7(&mut self, st: &mut ConnState<G::Data>, base: Ctx<'_>, seg: Option<&L4Pdu<'_>>) {
        if seg.is_some() && !Framework(st.framework).l7() {
            return;
        }
        let Some(mut l7) = st.l7.take() else { return };
        l7.drive(base, seg, &mut |ctx, ev| self.step(st, ctx, ev));
        st.l7 = Some(l7);
    }
}

impl<G: Generated> ConnHandler for Compiled<G> {
    type State = ConnState<G::Data>;

    fn first_packet(&mut self, conn: &ConnInfo, pdu: &L4Pdu<'_>) -> Option<(Self::State, Interest)> {
        let n = G::SUBS.len();
        let mut st = ConnState {
            facts: weir_interp::machine::packet_facts(conn, pdu),
            l7state: L7State::Pending,
            l7: None,
            pending: Bits::new(n),
            matched: Bits::new(n),
            done: Bits::new(n),
            hits: Bits::new(n),
            verdicts: vec![Verdict::Undecided; G::FILTER_FNS.len()].into_boxed_slice(),
            reached: 0,
            seen: 0,
            framework: 0,
            periods: vec![(0, None); G::PERIODIC].into_boxed_slice(),
            data: G::Data::default(),
        };
        st.pending.fill(n);
        let rec = ConnRecord::new(pdu.ts);
        let ctx = Ctx { tuple: &conn.tuple, id: conn.id, core: self.core, ts: pdu.ts, record: &rec, ttl: conn.ttl, ethernet: conn.ethernet };
        self.step(&mut st, &ctx, &Event::FirstPacket(pdu));
        let fw = Framework(st.framework);
        if fw.contains(Framework::PROBE) || fw.contains(Framework::PARSE) {
            let ft = &conn.tuple;
            st.l7 = Some(Box::new(L7Conn::new(transport(ft), ft.orig.port(), ft.resp.port())));
        }
        let i = Self::interest(&st);
        if i.is_empty() {
            return None;
        }
        Some((st, i))
    }

    fn in_conn(&mut self, conn: &mut Conn<Self::State>, pdu: &L4Pdu<'_>) -> Interest {
        let (id, ttl, ethernet) = (conn.id(), conn.ttl(), conn.ethernet());
        let (ft, rec, st) = conn.parts();
        let ctx = Ctx { tuple: ft, id, core: self.core, ts: pdu.ts, record: rec, ttl, ethernet };
        self.step(st, &ctx, &Event::InConn(pdu));
        self.settle(st)
    }

    fn end_handshake(&mut self, conn: &mut Conn<Self::State>) -> Interest {
        let (id, ttl, ethernet) = (conn.id(), conn.ttl(), conn.ethernet());
        let (ft, rec, st) = conn.parts();
        let ctx = Ctx { tuple: ft, id, core: self.core, ts: rec.last_ts, record: rec, ttl, ethernet };
        self.step(st, &ctx, &Event::EndHandshake);
        self.settle(st)
    }

    fn in_stream(&mut self, conn: &mut Conn<Self::State>, pdu: &L4Pdu<'_>) -> Interest {
        let (id, ttl, ethernet) = (conn.id(), conn.ttl(), conn.ethernet());
        let (ft, rec, st) = conn.parts();
        if Framework(st.framework).contains(Framework::STREAM) {
            let ctx = Ctx { tuple: ft, id, core: self.core, ts: pdu.ts, record: rec, ttl, ethernet };
            self.step(st, &ctx, &Event::InStream(pdu));
        }
        self.feed_l7(st, Ctx { tuple: ft, id, core: self.core, ts: rec.last_ts, record: rec, ttl, ethernet }, Some(pdu));
        self.settle(st)
    }

    fn terminated(&mut self, mut conn: Conn<Self::State>, reason: EndReason) {
        let (id, ttl, ethernet) = (conn.id(), conn.ttl(), conn.ethernet());
        let (ft, rec, st) = conn.parts();
        self.feed_l7(st, Ctx { tuple: ft, id, core: self.core, ts: rec.last_ts, record: rec, ttl, ethernet }, None);
        let ctx = Ctx { tuple: ft, id, core: self.core, ts: rec.last_ts, record: rec, ttl, ethernet };
        self.step(st, &ctx, &Event::Terminated(reason));
    }
}

impl<G: Generated> Compiled<G> {
    fn settle(&mut self, st: &ConnState<G::Data>) -> Interest {
        let i = Self::interest(st);
        if i.is_empty() {
            self.stats.connections_dropped_early += 1;
        }
        i
    }
}
