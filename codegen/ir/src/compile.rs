//! [`AppSpec`] → [`Ir`]: name resolution, transition inference and
//! validation (typed errors naming the subscription and the part at fault,
//! so the proc macro can put them on the user's span), tracked data, and
//! one action tree per transition at which a filter can be decided.

use crate::builtins;
use crate::ir::{ActionTree, Actions, Framework, Ir, SubscriptionIr, TrackedData, TrackedKind};
use crate::spec::{AppSpec, DataTypeSpec, FilterFnSpec, Level};
use std::collections::{BTreeSet, HashMap};
use weir_conntrack::Transition;
use weir_filter::dnf::{Conjunction, Dnf};
use weir_filter::trie::{PredicateTrie, TrieOptions};
use weir_filter::typed::{Pred, Stage, TypeOptions};
use weir_filter::{Filter, Options};
use weir_protocols::registry::Protocol;

/// What is wrong, and where (the macro maps `part` to a span).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("subscription `{subscription}`: {kind}")]
pub struct IrError {
    pub subscription: String,
    /// Which part of the declaration: `filter`, `param N`, `on`, `name`.
    pub part: String,
    pub kind: IrErrorKind,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IrErrorKind {
    #[error("invalid filter\n{0}")]
    Filter(String),
    #[error("unknown data type `{0}`")]
    UnknownDataType(String),
    #[error("`{data}` is not available at {at} (earliest: {earliest})")]
    DataUnavailable { data: String, at: Transition, earliest: Transition },
    #[error("`{data}` holds one value per session; it can only be delivered at {at}")]
    PerSession { data: String, at: Transition },
    #[error("the filter is decided at {decided} (by {by}), after the callback's transition {at}")]
    FilterTooLate { decided: Transition, by: String, at: Transition },
    #[error("the name is used twice")]
    Duplicate,
    #[error("the filter can never match (its normal form is empty), so the callback is unreachable")]
    Unreachable,
    #[error("filter function `{0}` is declared twice")]
    DuplicateFilterFn(String),
    #[error("data type `{0}` is declared twice")]
    DuplicateDataType(String),
    #[error("the predicate trie is too large: {0}")]
    TooLarge(String),
    #[error("`{a}` and `{b}` come from sessions of different protocols; no connection has both")]
    IncompatibleData { a: String, b: String },
    #[error("`{data}` needs a {protocols} session, which no connection the filter matches can carry")]
    DataNeverAvailable { data: String, protocols: String },
}

/// Order of the transitions along a connection's life; a repeating
/// transition ranks after the one that starts it (packets after the first
/// packet, header segments after discovery, payload after the headers).
pub fn rank(t: Transition) -> u8 {
    match t {
        Transition::L4FirstPacket => 0,
        Transition::L4InConn | Transition::L4InStream => 1,
        Transition::L4EndHandshake => 2,
        Transition::L7OnDisc => 3,
        Transition::L7InHeaders => 4,
        Transition::L7EndHeaders => 5,
        Transition::L7InPayload => 6,
        Transition::L7EndSession => 7,
        Transition::L4Terminated => 8,
    }
}

fn repeating(t: Transition) -> bool {
    matches!(t, Transition::L4InConn | Transition::L4InStream | Transition::L7InHeaders | Transition::L7InPayload)
}

/// The transition at which a literal is decided (a user predicate: where its function runs).
fn literal_transition(l: &weir_filter::dnf::Literal, fns: &HashMap<&str, &FilterFnSpec>) -> Transition {
    let custom = match &l.pred {
        Pred::User(n) => fns.get(n.as_str()).map_or(Transition::L4Terminated, |f| f.on),
        _ => Transition::L4FirstPacket,
    };
    stage_transition(l.stage(), custom)
}

fn stage_of(t: Transition) -> Stage {
    match t {
        Transition::L4FirstPacket => Stage::Packet,
        Transition::L7OnDisc => Stage::ProtoDiscovered,
        Transition::L7EndHeaders => Stage::HeadersParsed,
        Transition::L7EndSession | Transition::L4Terminated => Stage::SessionEnd,
        _ => Stage::Custom,
    }
}

fn stage_transition(s: Stage, custom: Transition) -> Transition {
    match s {
        Stage::Packet => Transition::L4FirstPacket,
        Stage::ProtoDiscovered => Transition::L7OnDisc,
        Stage::HeadersParsed => Transition::L7EndHeaders,
        Stage::SessionEnd => Transition::L7EndSession,
        Stage::Custom => custom,
    }
}

/// Builds the IR of an application.
pub fn compile(app: &AppSpec, base_dir: Option<&std::path::Path>) -> Result<Ir, IrError> {
    let started = std::time::Instant::now();
    let err = |sub: &str, part: &str, kind: IrErrorKind| IrError { subscription: sub.to_string(), part: part.to_string(), kind };

    // Data types: built-ins, then the app's own (a name may not be declared twice).
    let mut types: HashMap<String, DataTypeSpec> = builtins::all().into_iter().map(|d| (d.name.clone(), d)).collect();
    for d in &app.datatypes {
        if types.insert(d.name.clone(), d.clone()).is_some() && builtins::get(&d.name).is_none() {
            return Err(err("", "datatype", IrErrorKind::DuplicateDataType(d.name.clone())));
        }
    }
    let mut fns: HashMap<&str, &FilterFnSpec> = HashMap::new();
    for f in &app.filters {
        if fns.insert(&f.name, f).is_some() {
            return Err(err("", "filter", IrErrorKind::DuplicateFilterFn(f.name.clone())));
        }
    }
    let opts = Options {
        types: TypeOptions { user_predicates: Some(app.filters.iter().map(|f| f.name.clone()).collect()) },
        parse: weir_filter::parse::ParseOptions { base_dir: base_dir.map(Into::into), ..Default::default() },
        ..Default::default()
    };

    let mut names = BTreeSet::new();
    let mut subs = Vec::new();
    let mut files = Vec::new();
    let mut tracked: Vec<TrackedData> = Vec::new();
    let mut tracked_ix: HashMap<String, u32> = HashMap::new();
    let mut track = |name: &str, kind: TrackedKind, sub: u32, updates: Vec<Transition>, tracked: &mut Vec<TrackedData>| -> u32 {
        let id = *tracked_ix.entry(name.to_string()).or_insert_with(|| {
            tracked.push(TrackedData { id: tracked.len() as u32, name: name.to_string(), kind, used_by: vec![], updates });
            (tracked.len() - 1) as u32
        });
        let t = &mut tracked[id as usize];
        if t.used_by.last() != Some(&sub) {
            t.used_by.push(sub);
        }
        id
    };

    for (j, s) in app.subscriptions.iter().enumerate() {
        let j = j as u32;
        if !names.insert(s.name.clone()) {
            return Err(err(&s.name, "name", IrErrorKind::Duplicate));
        }
        let (filter, dnf) = if s.filter.trim().is_empty() {
            (None, Dnf::all())
        } else {
            let f = Filter::with_options(&s.filter, &opts).map_err(|e| err(&s.name, "filter", IrErrorKind::Filter(e.to_string())))?;
            files.extend(f.files.iter().cloned());
            let d = f.dnf.clone();
            (Some(f), d)
        };
        if dnf.conjunctions.is_empty() {
            return Err(err(&s.name, "filter", IrErrorKind::Unreachable));
        }
        // When is the filter decided, and by which literal?
        let mut decided = (Transition::L4FirstPacket, String::from("the packet headers"));
        for c in &dnf.conjunctions {
            for l in &c.literals {
                let t = literal_transition(l, &fns);
                if rank(t) > rank(decided.0) {
                    decided = (t, l.to_string());
                }
            }
        }
        let mut data = Vec::new();
        for (i, p) in s.callback.params.iter().enumerate() {
            let d = types.get(p).ok_or_else(|| err(&s.name, &format!("param {i}"), IrErrorKind::UnknownDataType(p.clone())))?;
            data.push(d.clone());
        }
        // Session data must share a protocol, and the filter must allow it.
        let mut common: Option<(String, Vec<Protocol>)> = None;
        for (i, d) in data.iter().enumerate().filter(|(_, d)| d.level == Level::Session) {
            common = Some(match common {
                None => (d.name.clone(), d.protocols.clone()),
                Some((a, ps)) => {
                    let both: Vec<Protocol> = ps.iter().copied().filter(|p| d.protocols.contains(p)).collect();
                    if both.is_empty() {
                        return Err(err(&s.name, &format!("param {i}"), IrErrorKind::IncompatibleData { a, b: d.name.clone() }));
                    }
                    (a, both)
                }
            });
        }
        if let Some((name, protos)) = &common {
            let possible = dnf.conjunctions.iter().any(|c| {
                protos.iter().any(|p| {
                    c.literals.iter().filter(|l| !l.negated).all(|l| match &l.pred {
                        Pred::Proto(weir_filter::typed::Proto::L7(q)) => q == p,
                        Pred::Proto(weir_filter::typed::Proto::Tcp) => p.runs_over(weir_protocols::Transport::Tcp),
                        Pred::Proto(weir_filter::typed::Proto::Udp) => p.runs_over(weir_protocols::Transport::Udp),
                        _ => true,
                    })
                })
            });
            if !possible {
                let names: Vec<&str> = protos.iter().map(|p| p.name()).collect();
                return Err(err(&s.name, "filter", IrErrorKind::DataNeverAvailable { data: name.clone(), protocols: names.join("/") }));
            }
        }
        // Delivery: when the data are complete and a conjunction of the filter
        // matched; a conjunction decided earlier delivers earlier, so the
        // inferred transition is the data's, or the earliest any conjunction
        // can decide. Packet-level data makes the subscription per packet.
        let data_ready = data.iter().map(|d| d.complete_at).max_by_key(|t| rank(*t)).unwrap_or(Transition::L4FirstPacket);
        let earliest_decision = dnf
            .conjunctions
            .iter()
            .map(|c| c.literals.iter().map(|l| literal_transition(l, &fns)).max_by_key(|t| rank(*t)).unwrap_or(Transition::L4FirstPacket))
            .min_by_key(|t| rank(*t))
            .unwrap_or(Transition::L4FirstPacket);
        let inferred = if rank(earliest_decision) > rank(data_ready) { earliest_decision } else { data_ready };
        let packet_level = data.iter().find(|d| d.level == Level::Packet).map(|d| d.complete_at);
        let deliver_at = s.callback.on.or(packet_level).unwrap_or(inferred);
        // Per occurrence when named at (or made of data of) a repeating
        // transition, or per session; a filter decided on a repeating
        // transition still delivers once.
        let repeated = s.callback.on.or(packet_level).is_some_and(repeating) || data.iter().any(|d| d.level == Level::Session && d.complete_at == deliver_at && d.protocols.iter().any(|p| matches!(p, Protocol::Http | Protocol::Dns)));
        for (i, d) in data.iter().enumerate() {
            let part = format!("param {i}");
            let ok = match d.level {
                Level::Static => rank(d.complete_at) <= rank(deliver_at),
                // Readable at any time by a streaming or per-packet callback; complete at the end.
                Level::Connection => rank(d.complete_at) <= rank(deliver_at) || repeated || s.callback.streaming,
                Level::Session => {
                    let multi = d.protocols.iter().any(|p| matches!(p, Protocol::Http | Protocol::Dns));
                    if multi && deliver_at != d.complete_at {
                        return Err(err(&s.name, &part, IrErrorKind::PerSession { data: d.name.clone(), at: d.complete_at }));
                    }
                    rank(d.complete_at) <= rank(deliver_at)
                }
                // The first packet is a packet too.
                Level::Packet => deliver_at == d.complete_at || (d.complete_at == Transition::L4InConn && deliver_at == Transition::L4FirstPacket),
            };
            if !ok {
                return Err(err(&s.name, &part, IrErrorKind::DataUnavailable { data: d.name.clone(), at: deliver_at, earliest: d.complete_at }));
            }
        }
        // A named transition must see the whole filter decided.
        if s.callback.on.is_some() && !repeated && !s.callback.streaming && rank(decided.0) > rank(deliver_at) {
            return Err(err(&s.name, "on", IrErrorKind::FilterTooLate { decided: decided.0, by: decided.1, at: deliver_at }));
        }
        let mut ids = Vec::new();
        for d in &data {
            ids.push(track(&d.name, TrackedKind::Data(d.clone()), j, d.updates.clone(), &mut tracked));
        }
        if s.callback.stateful {
            ids.push(track(&s.callback.name, TrackedKind::StatefulCallback(s.callback.name.clone()), j, vec![deliver_at], &mut tracked));
        }
        // Stateful user filters this subscription's filter names.
        for c in &dnf.conjunctions {
            for l in &c.literals {
                if let Pred::User(n) = &l.pred {
                    let Some(f) = fns.get(n.as_str()) else { continue };
                    for dn in &f.data {
                        let d = types.get(dn).ok_or_else(|| err(&s.name, "filter", IrErrorKind::UnknownDataType(dn.clone())))?;
                        track(&d.name, TrackedKind::Data(d.clone()), j, d.updates.clone(), &mut tracked);
                    }
                    if f.stateful {
                        track(&f.name, TrackedKind::StatefulFilter((*f).clone()), j, f.transitions().collect(), &mut tracked);
                    }
                }
            }
        }
        drop(filter);
        subs.push(SubscriptionIr {
            id: j,
            name: s.name.clone(),
            filter_source: s.filter.clone(),
            filter: dnf,
            deliver_at,
            data_ready: s.callback.on.unwrap_or(data_ready),
            repeated,
            callback: s.callback.clone(),
            tracked: ids,
        });
    }

    let trees = build_trees(&subs, &tracked, &fns).map_err(|e| err("", "filter", IrErrorKind::TooLarge(e)))?;
    Ok(Ir {
        subscriptions: subs,
        tracked,
        filter_fns: app.filters.clone(),
        trees,
        files,
        build_micros: started.elapsed().as_micros() as u64,
    })
}

/// The transitions with a tree: the first packet, each stage some filter
/// decides at, and termination when something is delivered there.
fn tree_transitions(subs: &[SubscriptionIr], fns: &HashMap<&str, &FilterFnSpec>) -> Vec<(Transition, Stage)> {
    let mut ts: Vec<(Transition, Stage)> = vec![(Transition::L4FirstPacket, Stage::Packet)];
    for s in subs {
        for c in &s.filter.conjunctions {
            for l in &c.literals {
                // A stateful filter asked again later can decide there too.
                let again = match &l.pred {
                    Pred::User(n) => fns.get(n.as_str()).map_or(&[][..], |f| &f.also[..]),
                    _ => &[],
                };
                for &t in std::iter::once(&literal_transition(l, fns)).chain(again) {
                    if !ts.iter().any(|(x, _)| *x == t) {
                        ts.push((t, stage_of(t)));
                    }
                }
            }
        }
    }
    // Termination decides, with everything known, what is still pending
    // (a protocol never identified, sessions that never came).
    let undecided_at_end = subs.iter().any(|s| {
        !s.repeated
            && !s.callback.streaming
            && s.filter.conjunctions.iter().flat_map(|c| &c.literals).any(|l| literal_transition(l, fns) != Transition::L4FirstPacket)
    });
    if undecided_at_end && !ts.iter().any(|(x, _)| *x == Transition::L4Terminated) {
        ts.push((Transition::L4Terminated, Stage::SessionEnd));
    }
    ts.sort_by_key(|(t, _)| (rank(*t), *t));
    ts
}

/// A subscription's filter cut at `stage`: (conjunctions fully decided, prefixes with more to decide).
fn cut(dnf: &Dnf, upto: Transition, fns: &HashMap<&str, &FilterFnSpec>) -> (Dnf, Dnf) {
    let mut complete = Vec::new();
    let mut pending = Vec::new();
    for c in &dnf.conjunctions {
        let decided_here = |l: &weir_filter::dnf::Literal| rank(literal_transition(l, fns)) <= rank(upto);
        let prefix: Vec<_> = c.literals.iter().take_while(|l| decided_here(l)).cloned().collect();
        if prefix.len() == c.literals.len() {
            complete.push(Conjunction { literals: prefix });
        } else {
            pending.push(Conjunction { literals: prefix });
        }
    }
    (Dnf { conjunctions: complete }, Dnf { conjunctions: pending })
}

fn build_trees(subs: &[SubscriptionIr], tracked: &[TrackedData], fns: &HashMap<&str, &FilterFnSpec>) -> Result<Vec<ActionTree>, String> {
    let mut trees = Vec::new();
    for (t, stage) in tree_transitions(subs, fns) {
        let mut patterns = Vec::with_capacity(subs.len() * 2);
        for s in subs {
            let (complete, pending) = cut(&s.filter, t, fns);
            patterns.push(complete);
            patterns.push(pending);
        }
        let refs: Vec<&Dnf> = patterns.iter().collect();
        let trie = PredicateTrie::build(&refs, &TrieOptions::default()).map_err(|e| e.to_string())?;
        let mut node_actions = vec![Actions::default(); trie.nodes().len()];
        for (n, node) in trie.nodes().iter().enumerate() {
            let mut acts = Actions::default();
            for &p in &node.accepts {
                let s = &subs[(p / 2) as usize];
                let complete = p % 2 == 0;
                acts.merge(&sub_actions(s, tracked, fns, t, complete));
            }
            node_actions[n] = acts;
        }
        trees.push(ActionTree { transition: t, stage, trie, node_actions });
    }
    Ok(trees)
}

/// What subscription `s` needs when its filter, cut at transition `t`, matched
/// (`complete`: a conjunction is fully decided) or is still undecided.
fn sub_actions(s: &SubscriptionIr, tracked: &[TrackedData], fns: &HashMap<&str, &FilterFnSpec>, t: Transition, complete: bool) -> Actions {
    let mut a = Actions::default();
    let every = s.repeated || s.callback.streaming;
    let named = s.callback.on.is_some() && !every;
    let mut framework = Framework::NONE;
    if complete {
        if named && rank(t) > rank(s.deliver_at) {
            return a; // its transition has passed
        }
        if !every && rank(s.data_ready) <= rank(t) && (!named || t == s.deliver_at) {
            a.deliver.push(s.id); // at most once per connection (the executor keeps a delivered bit)
            a.framework = framework;
            return a;
        }
        a.waiting.push(s.id);
        framework = framework.union(Framework::to_reach(if every { s.deliver_at } else { s.data_ready }));
    } else {
        if named && rank(t) >= rank(s.deliver_at) {
            return a; // cannot be decided by its transition any more
        }
        a.pending.push(s.id);
        framework = framework.union(Framework::to_reach(s.data_ready)).union(Framework::to_reach(s.deliver_at));
        // The rest of the filter must be decided: reach every later stage it uses.
        for c in &s.filter.conjunctions {
            for l in &c.literals {
                framework = framework.union(Framework::to_reach(literal_transition(l, fns)));
            }
        }
    }
    for &d in &s.tracked {
        let td = &tracked[d as usize];
        for &u in &td.updates {
            framework = framework.union(Framework::to_reach(u));
        }
        if let TrackedKind::Data(spec) = &td.kind {
            framework = framework.union(Framework::to_reach(spec.complete_at));
        }
        a.tracked.push(d);
    }
    a.tracked.sort_unstable();
    a.tracked.dedup();
    a.framework = framework;
    a
}

/// The framework work subscription `s` needs while its filter is still
/// undecided, and once it matched (until delivered, or for as long as it
/// is delivered repeatedly). Termination is always needed while undecided:
/// it decides with everything known.
pub fn needs(ir: &Ir, s: &SubscriptionIr) -> (Framework, Framework) {
    let fns: HashMap<&str, &FilterFnSpec> = ir.filter_fns.iter().map(|f| (f.name.as_str(), f)).collect();
    let mut data = Framework::NONE;
    for td in ir.tracked.iter().filter(|t| t.used_by.contains(&s.id)) {
        for &u in &td.updates {
            data = data.union(Framework::to_reach(u));
        }
        if let TrackedKind::Data(spec) = &td.kind {
            data = data.union(Framework::to_reach(spec.complete_at));
        }
    }
    let every = s.repeated || s.callback.streaming;
    let matched = data.union(Framework::to_reach(if every { s.deliver_at } else { s.data_ready })).union(Framework::to_reach(s.deliver_at));
    let mut pending = matched.union(Framework::TERMINATED);
    for c in &s.filter.conjunctions {
        for l in &c.literals {
            pending = pending.union(Framework::to_reach(literal_transition(l, &fns)));
        }
    }
    (pending, matched)
}
