//! One subscription on one connection, straight from `docs/SEMANTICS.md`:
//! its own data, its own filter functions, its filter decided literal by
//! literal, its deliveries. Fed the connection's events in order.

use crate::Dynamic;
use std::any::Any;
use weir_conntrack::Transition;
use weir_filter::dnf::{Dnf, Literal};
use weir_filter::eval::{eval_literal, PacketFacts, SessionFields, Subject};
use weir_filter::typed::{Pred, Proto};
use weir_filter::{L7State, Verdict};
use weir_ir::ir::TrackedKind;
use weir_ir::{Every, Ir, Level, SubscriptionIr};
use weir_protocols::registry::AnySessionRef;
use weir_runtime::api::{Ctx, Event, FilterResult};

/// What is known about the connection, shared by its subscriptions.
#[derive(Clone, Debug)]
pub struct ConnFacts {
    pub packet: PacketFacts,
    pub l7: L7State,
    /// Bit `t as u16`: transition `t` happened.
    pub reached: u16,
    /// Bit `p as u8`: a session of protocol `p` was seen.
    pub seen: u8,
}

impl ConnFacts {
    pub fn new(packet: PacketFacts) -> ConnFacts {
        ConnFacts { packet, l7: L7State::Pending, reached: 0, seen: 0 }
    }
    /// Takes note of an event (before the subscriptions see it).
    pub fn observe(&mut self, ev: &Event<'_>) {
        self.reached |= 1 << ev.transition() as u16;
        if let Event::OnDisc(p) = ev {
            self.l7 = p.map_or(L7State::None, L7State::Known);
        }
        if let Some(s) = ev.session() {
            self.seen |= 1 << s.protocol() as u8;
        }
    }
}

/// What a subscription's literals see at one event.
struct View<'a> {
    facts: &'a ConnFacts,
    session: Option<AnySessionRef<'a>>,
    last: bool,
    users: &'a [(String, Verdict)],
}

impl Subject for View<'_> {
    fn packet(&self) -> Option<&PacketFacts> {
        Some(&self.facts.packet)
    }
    fn l7(&self) -> L7State {
        match self.facts.l7 {
            L7State::Pending if self.last => L7State::None,
            s => s,
        }
    }
    fn any_session(&self, f: &mut dyn FnMut(&dyn SessionFields) -> bool) -> bool {
        self.session.as_ref().is_some_and(|s| f(s))
    }
    fn sessions_final(&self) -> bool {
        self.session.is_some() || self.last
    }
    fn user(&self, name: &str) -> Verdict {
        let v = self.users.iter().find(|(n, _)| n == name).map_or(Verdict::Undecided, |(_, v)| *v);
        if self.last && v == Verdict::Undecided {
            Verdict::NoMatch
        } else {
            v
        }
    }
}

/// SEMANTICS §2: a field literal at termination, when sessions of its
/// protocol were tried, fails whatever its sign.
fn literal(l: &Literal, v: &View<'_>) -> Verdict {
    if let Pred::Field { field, .. } = &l.pred {
        if let Proto::L7(p) = field.proto {
            if v.session.is_none() && v.last && v.facts.seen & (1 << p as u8) != 0 {
                return Verdict::NoMatch;
            }
        }
    }
    eval_literal(l, v)
}

/// The verdict of `d` at one event (SEMANTICS §2): `session` is the session
/// tried at this event (if any), `last` whether the event is `L4Terminated`,
/// `users` the user predicates' verdicts so far (absent = undecided).
pub fn dnf_verdict(d: &Dnf, facts: &ConnFacts, session: Option<AnySessionRef<'_>>, last: bool, users: &[(String, Verdict)]) -> Verdict {
    verdict(d, &View { facts, session, last, users })
}

fn verdict(d: &Dnf, v: &View<'_>) -> Verdict {
    d.conjunctions.iter().map(|c| c.literals.iter().map(|l| literal(l, v)).min().unwrap_or(Verdict::Match)).max().unwrap_or(Verdict::NoMatch)
}

/// A filter function a subscription's filter names: its index, name,
/// the transitions at which it is asked, the tracked items of its data,
/// and its state's item.
pub type FilterUse = (usize, String, Vec<Transition>, Vec<usize>, Option<usize>);

/// The static facts of one subscription the machine needs.
#[derive(Clone, Debug)]
pub struct SubStatic {
    pub ir: SubscriptionIr,
    /// Per parameter: the tracked item holding it (`None`: packet-level or `FilterStr`).
    pub params: Vec<Option<usize>>,
    /// The stateful callback's tracked item.
    pub state: Option<usize>,
    /// Filter functions its filter names.
    pub filters: Vec<FilterUse>,
    pub per_session: bool,
}

impl SubStatic {
    /// Every subscription of an IR.
    pub fn all(ir: &Ir) -> Vec<SubStatic> {
        let find = |name: &str| ir.tracked.iter().position(|t| t.name == name);
        ir.subscriptions
            .iter()
            .map(|s| {
                let params = s
                    .callback
                    .params
                    .iter()
                    .map(|p| {
                        let k = find(p)?;
                        match &ir.tracked[k].kind {
                            TrackedKind::Data(d) if d.level == Level::Packet || d.name == "FilterStr" => None,
                            _ => Some(k),
                        }
                    })
                    .collect();
                let mut filters: Vec<FilterUse> = Vec::new();
                for l in s.filter.conjunctions.iter().flat_map(|c| &c.literals) {
                    if let Pred::User(n) = &l.pred {
                        if filters.iter().any(|(_, m, ..)| m == n) {
                            continue;
                        }
                        if let Some(i) = ir.filter_fns.iter().position(|f| &f.name == n) {
                            let f = &ir.filter_fns[i];
                            let data = f.data.iter().filter_map(|d| find(d)).collect();
                            filters.push((i, n.clone(), f.transitions().collect(), data, if f.stateful { find(&f.name) } else { None }));
                        }
                    }
                }
                SubStatic {
                    ir: s.clone(),
                    params,
                    state: if s.callback.stateful { find(&s.callback.name) } else { None },
                    filters,
                    per_session: s.repeated && matches!(s.deliver_at, Transition::L7EndHeaders | Transition::L7EndSession),
                }
            })
            .collect()
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Status {
    Pending,
    Matched,
    Dropped,
}

/// A connection's stateful-callback instances, by tracked item.
pub type Shared = Vec<(usize, Box<dyn Any>)>;

/// One subscription on one connection.
pub struct SubMachine {
    status: Status,
    /// Delivered once (not repeated), or unsubscribed.
    done: bool,
    /// Its own value of every tracked item it reads (data, filter and callback state).
    values: Vec<(usize, Box<dyn Any>)>,
    built: bool,
    users: Vec<(String, Verdict)>,
    period: (u64, Option<u64>),
}

impl Default for SubMachine {
    fn default() -> Self {
        SubMachine { status: Status::Pending, done: false, values: Vec::new(), built: false, users: Vec::new(), period: (0, None) }
    }
}

impl SubMachine {
    /// Nothing more can happen for this subscription on this connection.
    pub fn finished(&self) -> bool {
        self.status == Status::Dropped || self.done
    }
    pub fn pending(&self) -> bool {
        self.status == Status::Pending && !self.done
    }

    fn value(&mut self, k: usize) -> Option<&mut Box<dyn Any>> {
        self.values.iter_mut().find(|(j, _)| *j == k).map(|(_, v)| v)
    }

    fn build<D: Dynamic>(&mut self, s: &SubStatic, shared: &mut Shared, ctx: &Ctx<'_>, ev: &Event<'_>) {
        self.built = true;
        // A stateful callback is one instance per connection, shared by its methods.
        if let Some(k) = s.state {
            if !shared.iter().any(|(j, _)| *j == k) {
                if let Some(v) = D::new_data(k, ctx) {
                    shared.push((k, v));
                }
            }
        }
        let mut ks: Vec<usize> = s.params.iter().flatten().copied().collect();
        for (_, _, _, data, state) in &s.filters {
            ks.extend(data);
            ks.extend(state);
        }
        ks.sort_unstable();
        ks.dedup();
        for k in ks {
            if let Some(mut v) = D::new_data(k, ctx) {
                D::update_data(k, v.as_mut(), ctx, ev);
                self.values.push((k, v));
            }
        }
        self.users = s.filters.iter().map(|(_, n, ..)| (n.clone(), Verdict::Undecided)).collect();
    }

    fn decide(&mut self, s: &SubStatic, facts: &ConnFacts, ev: &Event<'_>) -> bool {
        let t = ev.transition();
        let last = t == Transition::L4Terminated;
        let session = match t {
            Transition::L7EndHeaders => ev.session(),
            // Only a per-session subscription is tried on the complete session.
            Transition::L7EndSession if s.per_session && s.ir.deliver_at == t => ev.session(),
            Transition::L7EndSession => return false,
            _ => None,
        };
        let v = verdict(&s.ir.filter, &View { facts, session, last, users: &self.users });
        if session.is_some() {
            if v == Verdict::Match {
                if s.per_session && s.ir.deliver_at == t {
                    return true;
                }
                self.status = Status::Matched;
            }
            return false;
        }
        self.status = match v {
            Verdict::Match => Status::Matched,
            Verdict::NoMatch => Status::Dropped,
            Verdict::Undecided if last => Status::Dropped,
            Verdict::Undecided => Status::Pending,
        };
        false
    }

    /// Feeds one event; calls `deliver(debug)` for each invocation.
    /// `shared` holds the connection's stateful-callback instances.
    pub fn on_event<D: Dynamic>(&mut self, s: &SubStatic, shared: &mut Shared, facts: &ConnFacts, ctx: &Ctx<'_>, ev: &Event<'_>, deliver: &mut dyn FnMut(String)) {
        if self.finished() {
            return;
        }
        let t = ev.transition();
        for (k, v) in &mut self.values {
            D::update_data(*k, v.as_mut(), ctx, ev);
        }
        if t == Transition::L4FirstPacket {
            self.decide(s, facts, ev);
            if self.status == Status::Dropped {
                return;
            }
            self.build::<D>(s, shared, ctx, ev);
        }
        let mut hit = false;
        if self.status == Status::Pending {
            for (idx, (i, _, on, data, state)) in s.filters.iter().enumerate() {
                if !on.contains(&t) || self.users[idx].1 != Verdict::Undecided {
                    continue;
                }
                for k in data {
                    if let Some(v) = self.value(*k) {
                        D::sync_data(*k, v.as_mut(), ctx);
                    }
                }
                // The filter's own state is taken out while its data are lent.
                let pos = state.and_then(|k| self.values.iter().position(|(j, _)| *j == k));
                let mut taken = pos.map(|p| self.values.remove(p));
                let args: Vec<&dyn Any> = data.iter().filter_map(|k| self.values.iter().find(|(j, _)| j == k).map(|(_, v)| v.as_ref())).collect();
                let r = if state.is_some() && taken.is_none() {
                    FilterResult::Continue
                } else {
                    D::call_filter(*i, &args, taken.as_mut().map(|(_, v)| v.as_mut() as &mut dyn Any), ev)
                };
                if let (Some(p), Some(t)) = (pos, taken) {
                    self.values.insert(p, t);
                }
                self.users[idx].1 = match r {
                    FilterResult::Accept => Verdict::Match,
                    FilterResult::Drop => Verdict::NoMatch,
                    FilterResult::Continue => Verdict::Undecided,
                };
            }
            hit = self.decide(s, facts, ev);
        }
        if self.status == Status::Dropped {
            return;
        }
        // Delivery (SEMANTICS §4).
        let every = s.ir.repeated || s.ir.callback.streaming;
        let now = if every {
            t == s.ir.deliver_at && (self.status == Status::Matched || hit)
        } else {
            self.status == Status::Matched && facts.reached & (1 << s.ir.data_ready as u16) != 0 && (s.ir.callback.on.is_none() || t == s.ir.deliver_at)
        };
        if !now {
            return;
        }
        if let Some(e) = s.ir.callback.every {
            let due = match e {
                Every::Events(n) => {
                    self.period.0 += 1;
                    self.period.0 >= n
                }
                Every::Nanos(n) => {
                    let now = ctx.ts.as_nanos();
                    let start = *self.period.1.get_or_insert(now);
                    now.saturating_sub(start) >= n
                }
            };
            if !due {
                return;
            }
            self.period = (0, Some(ctx.ts.as_nanos()));
        }
        for k in s.params.iter().flatten() {
            if let Some(v) = self.value(*k) {
                D::sync_data(*k, v.as_mut(), ctx);
            }
        }
        let state_ref: Option<&mut dyn Any> = s.state.and_then(|k| shared.iter_mut().find(|(j, _)| *j == k)).map(|(_, v)| v.as_mut());
        if s.state.is_some() && state_ref.is_none() {
            return;
        }
        let args: Vec<(usize, &dyn Any)> = self.values.iter().map(|(k, v)| (*k, v.as_ref())).collect();
        let ordered: Vec<&dyn Any> = s.params.iter().map(|p| p.and_then(|k| args.iter().find(|(j, _)| *j == k).map(|(_, v)| *v)).unwrap_or(&() as &dyn Any)).collect();
        if let Some((keep, debug)) = D::call(s.ir.id, &ordered, state_ref, ev) {
            deliver(debug);
            if !every || (s.ir.callback.streaming && !keep) {
                self.done = true;
            }
        }
    }
}

impl SubMachine {
    /// `Some(true)`: undecided; `Some(false)`: matched and still to be
    /// delivered; `None`: nothing more can happen.
    pub fn alive(&self) -> Option<bool> {
        match (self.status, self.done) {
            (Status::Dropped, _) | (_, true) => None,
            (Status::Pending, false) => Some(true),
            (Status::Matched, false) => Some(false),
        }
    }
}

/// The first packet's facts (originator = `src`): what packet predicates
/// see, for every executor and `weir log`.
pub fn packet_facts(conn: &weir_conntrack::ConnInfo, pdu: &weir_conntrack::L4Pdu<'_>) -> PacketFacts {
    use weir_conntrack::L4Proto;
    use weir_filter::eval::L4Facts;
    let ft = &conn.tuple;
    let (proto, ip_protocol) = match ft.proto {
        L4Proto::Tcp => (Proto::Tcp, 6),
        L4Proto::Udp => (Proto::Udp, 17),
    };
    PacketFacts {
        ethernet: conn.ethernet,
        vlans: ft.vlans,
        src: ft.orig.ip(),
        dst: ft.resp.ip(),
        ttl: conn.ttl,
        ip_protocol,
        l4: Some(L4Facts { proto, src_port: ft.orig.port(), dst_port: ft.resp.port(), flags: pdu.tcp.map_or(0, |t| t.flags.0) }),
    }
}

/// One recorded invocation.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Record {
    pub conn: String,
    pub callback: String,
    pub transition: Transition,
    pub args: String,
}
