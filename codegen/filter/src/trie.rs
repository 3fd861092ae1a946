//! A predicate trie: the normal forms of many filters (patterns) merged so
//! that shared prefixes are evaluated once.
//!
//! Built in passes over an arena of nodes:
//! 1. **insert** each conjunction of each pattern along its canonical
//!    literal order (general to specific), sharing prefixes;
//! 2. **absorb**: a pattern that already accepts at a node is removed below
//!    it (its longer conjunctions add nothing), and nodes that serve no
//!    pattern are dropped;
//! 3. **hoist**: `ipv4` and `ipv6` siblings with identical subtrees are
//!    replaced by that subtree (every tracked connection is one or the
//!    other, so the test neither drops traffic nor tells patterns apart);
//! 4. **group** siblings that test one field into a set node: string or
//!    integer equality as one hash lookup, address prefixes as one binary
//!    search over merged ranges, `contains` as one Aho-Corasick automaton,
//!    regexes as one `RegexSet`;
//! 5. **exclusive chains**: a node whose children are pairwise mutually
//!    exclusive is marked, so evaluation (and generated code: `else if`)
//!    stops at the first child that matches. The mark is set only when
//!    every pair is exclusive.
//!
//! Every node records the patterns it serves and those that accept there.
//! Evaluation ([`PredicateTrie::eval`]) agrees with evaluating each pattern's
//! DNF separately whenever the facts are final, and is at least as decided
//! when they are partial.

use crate::dnf::{protos_conflict, specificity, Dnf, Literal};
use crate::eval::{contains, eval_pred_dyn, l7_undecided, Verdict};
use crate::typed::{Field, Pred, Proto, RegexPattern, Test};
use crate::Subject;
use aho_corasick::AhoCorasick;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::net::IpAddr;
use std::sync::OnceLock;
use weir_protocols::FieldValue;

/// Limits and knobs of [`PredicateTrie::build`].
#[derive(Copy, Clone, Debug)]
pub struct TrieOptions {
    /// Most nodes (default 1,000,000).
    pub max_nodes: usize,
    /// Fewest siblings on one field that become a set node (default 2).
    pub min_set: usize,
}

impl Default for TrieOptions {
    fn default() -> Self {
        TrieOptions { max_nodes: 1_000_000, min_set: 2 }
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TrieError {
    #[error("the predicate trie would have more than {0} nodes")]
    TooManyNodes(usize),
}

/// Index of a node in the trie's arena; the root is 0.
pub type NodeId = usize;

/// One node: the literal tested on the way in (none at the root).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Node {
    pub literal: Option<Literal>,
    /// Patterns whose conjunctions pass through this node (sorted).
    pub serves: Vec<u32>,
    /// Patterns with a conjunction that ends here (sorted).
    pub accepts: Vec<u32>,
    pub children: Vec<Branch>,
    /// Every pair of children (set members included) is mutually exclusive.
    pub exclusive: bool,
}

/// A child of a node: one node, or several on one field behind one lookup.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum Branch {
    One(NodeId),
    Set(SetGroup),
}

/// How a set node looks values up.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SetKind {
    /// String equality: one hash lookup.
    StrHash,
    /// Integer equality: one hash lookup.
    IntHash,
    /// Address prefixes merged into disjoint ranges: one binary search.
    Ranges,
    /// `contains`: one Aho-Corasick pass.
    AhoCorasick,
    /// `~`: one `RegexSet` pass.
    RegexSet,
}

impl SetKind {
    fn of(lit: &Literal) -> Option<SetKind> {
        if lit.negated {
            return None;
        }
        match &lit.pred {
            Pred::Field { test, .. } => match test {
                Test::StrEq(_) => Some(SetKind::StrHash),
                Test::IntRange { lo, hi } if lo == hi => Some(SetKind::IntHash),
                Test::IntSet(_) => Some(SetKind::IntHash),
                Test::Prefixes(_) => Some(SetKind::Ranges),
                Test::Contains(_) => Some(SetKind::AhoCorasick),
                Test::Regex(_) => Some(SetKind::RegexSet),
                _ => None,
            },
            _ => None,
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            SetKind::StrHash => "hash",
            SetKind::IntHash => "hash",
            SetKind::Ranges => "ranges",
            SetKind::AhoCorasick => "aho-corasick",
            SetKind::RegexSet => "regex-set",
        }
    }
}

/// Siblings testing one field, decided by one lookup. Member `i` is the
/// node `members[i]`, whose literal is a positive test on `field`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SetGroup {
    pub field: Field,
    pub kind: SetKind,
    pub members: Vec<NodeId>,
    /// `tests[i]` is member `i`'s test (what the matcher is built from).
    pub tests: Vec<Test>,
    /// Built on first use (and after deserialising).
    #[serde(skip)]
    matcher: OnceLock<Matcher>,
}

/// The patterns merged into one trie.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PredicateTrie {
    nodes: Vec<Node>,
    patterns: usize,
}

impl PredicateTrie {
    /// Merges `filters` (pattern `i` = `filters[i]`).
    pub fn build(filters: &[&Dnf], opts: &TrieOptions) -> Result<PredicateTrie, TrieError> {
        let mut b = Builder { nodes: vec![BNode::default()], index: HashMap::new(), max: opts.max_nodes };
        for (id, dnf) in filters.iter().enumerate() {
            let id = id as u32;
            for c in &dnf.conjunctions {
                let mut at = 0;
                b.serve(at, id);
                for lit in &c.literals {
                    at = b.child(at, lit)?;
                    b.serve(at, id);
                }
                if b.nodes[at].accepts.last() != Some(&id) {
                    b.nodes[at].accepts.push(id);
                }
            }
        }
        drop(std::mem::take(&mut b.index));
        b.sort_children(0);
        let mut depth_count = vec![0u32; filters.len()];
        b.absorb(0, &mut depth_count);
        b.hoist(0);
        let mut trie = PredicateTrie { nodes: Vec::new(), patterns: filters.len() };
        trie.emit(&b, 0, opts);
        Ok(trie)
    }

    pub fn patterns(&self) -> usize {
        self.patterns
    }
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }
    pub fn root(&self) -> &Node {
        &self.nodes[0]
    }

    /// The verdict of each pattern, in order.
    pub fn eval<S: Subject>(&self, s: &S) -> Vec<Verdict> {
        let mut out = Vec::new();
        self.eval_into(s, &mut out);
        out
    }

    /// Like [`PredicateTrie::eval`], reusing `out`.
    pub fn eval_into<S: Subject>(&self, s: &S, out: &mut Vec<Verdict>) {
        out.clear();
        out.resize(self.patterns, Verdict::NoMatch);
        let s: &dyn Subject = s;
        let mut stack: Vec<(NodeId, Verdict)> = vec![(0, Verdict::Match)];
        let mut hits = Vec::new();
        while let Some((n, acc)) = stack.pop() {
            let node = &self.nodes[n];
            for &p in &node.accepts {
                let slot = &mut out[p as usize];
                *slot = (*slot).max(acc);
            }
            for b in &node.children {
                match b {
                    Branch::One(c) => {
                        let lit = self.nodes[*c].literal.as_ref();
                        let v = lit.map_or(Verdict::Match, |l| {
                            let v = eval_pred_dyn(&l.pred, s);
                            if l.negated {
                                v.not()
                            } else {
                                v
                            }
                        });
                        if v != Verdict::NoMatch {
                            stack.push((*c, acc.min(v)));
                        }
                        if node.exclusive && v == Verdict::Match {
                            break;
                        }
                    }
                    Branch::Set(g) => {
                        hits.clear();
                        let decided = g.lookup(s, &mut hits);
                        for &i in &hits {
                            stack.push((g.members[i as usize], acc));
                        }
                        if !decided {
                            for (i, &m) in g.members.iter().enumerate() {
                                if hits.binary_search(&(i as u32)).is_err() {
                                    stack.push((m, acc.min(Verdict::Undecided)));
                                }
                            }
                        }
                        if node.exclusive && !hits.is_empty() {
                            break;
                        }
                    }
                }
            }
        }
    }

    fn emit(&mut self, b: &Builder, bid: usize, opts: &TrieOptions) -> NodeId {
        let id = self.nodes.len();
        let bn = &b.nodes[bid];
        self.nodes.push(Node {
            literal: bn.literal.clone(),
            serves: bn.serves.clone(),
            accepts: bn.accepts.clone(),
            children: Vec::new(),
            exclusive: false,
        });
        let kids: Vec<usize> = bn.children.iter().copied().filter(|&c| !b.nodes[c].serves.is_empty()).collect();
        // Group siblings by (field, kind).
        let mut groups: BTreeMap<(String, u8), Vec<usize>> = BTreeMap::new();
        for &c in &kids {
            if let (Some(kind), Some(Literal { pred: Pred::Field { field, .. }, .. })) =
                (b.nodes[c].literal.as_ref().and_then(SetKind::of), b.nodes[c].literal.as_ref())
            {
                groups.entry((field.name.clone(), kind as u8)).or_default().push(c);
            }
        }
        let mut children = Vec::new();
        let mut done = std::collections::HashSet::new();
        for &c in &kids {
            if done.contains(&c) {
                continue;
            }
            let lit = b.nodes[c].literal.as_ref();
            let group = lit.and_then(|l| match (&l.pred, SetKind::of(l)) {
                (Pred::Field { field, .. }, Some(kind)) => {
                    groups.get(&(field.name.clone(), kind as u8)).filter(|g| g.len() >= opts.min_set.max(2)).map(|g| (field.clone(), kind, g))
                }
                _ => None,
            });
            match group {
                Some((field, kind, members)) => {
                    let mut ids = Vec::with_capacity(members.len());
                    let mut tests = Vec::with_capacity(members.len());
                    for &m in members {
                        done.insert(m);
                        if let Some(Literal { pred: Pred::Field { test, .. }, .. }) = &b.nodes[m].literal {
                            tests.push(test.clone());
                        }
                        ids.push(self.emit(b, m, opts));
                    }
                    children.push(Branch::Set(SetGroup { field, kind, members: ids, tests, matcher: OnceLock::new() }));
                }
                None => {
                    done.insert(c);
                    children.push(Branch::One(self.emit(b, c, opts)));
                }
            }
        }
        let exclusive = self.chain_exclusive(&children);
        self.nodes[id].children = children;
        self.nodes[id].exclusive = exclusive;
        id
    }

    fn lit(&self, n: NodeId) -> Option<&Literal> {
        self.nodes[n].literal.as_ref()
    }

    /// Whether every pair of children is mutually exclusive.
    fn chain_exclusive(&self, children: &[Branch]) -> bool {
        let members: Vec<NodeId> = children
            .iter()
            .flat_map(|b| match b {
                Branch::One(n) => std::slice::from_ref(n).iter().copied().collect::<Vec<_>>(),
                Branch::Set(g) => g.members.clone(),
            })
            .collect();
        if members.len() < 2 {
            return false;
        }
        if members.len() <= 64 {
            return members.iter().enumerate().all(|(i, &a)| {
                members[i + 1..].iter().all(|&b| match (self.lit(a), self.lit(b)) {
                    (Some(x), Some(y)) => exclusive(x, y),
                    _ => false,
                })
            });
        }
        // Large chains: only one set group of disjoint values qualifies.
        match children {
            [Branch::Set(g)] if g.field.single_valued() => self.group_disjoint(g),
            _ => false,
        }
    }

    fn group_disjoint(&self, g: &SetGroup) -> bool {
        let tests: Vec<&Test> = g.members.iter().filter_map(|&m| match self.lit(m) {
            Some(Literal { pred: Pred::Field { test, .. }, .. }) => Some(test),
            _ => None,
        }).collect();
        match g.kind {
            SetKind::StrHash => {
                let mut seen = std::collections::HashSet::new();
                tests.iter().all(|t| match t {
                    Test::StrEq(v) => v.iter().all(|s| seen.insert(s.as_str())),
                    _ => false,
                })
            }
            SetKind::IntHash => {
                let mut seen = std::collections::HashSet::new();
                tests.iter().all(|t| match t {
                    Test::IntRange { lo, .. } => seen.insert(*lo),
                    Test::IntSet(v) => v.iter().all(|x| seen.insert(*x)),
                    _ => false,
                })
            }
            SetKind::Ranges => {
                let mut ranges: Vec<(bool, u128, u128)> = tests
                    .iter()
                    .flat_map(|t| match t {
                        Test::Prefixes(ps) => ps.iter().map(|p| {
                            let (lo, hi) = p.range();
                            (p.addr.is_ipv4(), lo, hi)
                        }).collect(),
                        _ => vec![],
                    })
                    .collect();
                ranges.sort_unstable();
                ranges.windows(2).all(|w| w[0].0 != w[1].0 || w[0].2 < w[1].1)
            }
            SetKind::AhoCorasick | SetKind::RegexSet => false,
        }
    }
}

/// Whether two literals can never hold together (for one connection).
pub fn exclusive(a: &Literal, b: &Literal) -> bool {
    if a.pred == b.pred {
        return a.negated != b.negated;
    }
    if a.negated || b.negated {
        return false;
    }
    if let (Some(x), Some(y)) = (a.pred.implied_proto(), b.pred.implied_proto()) {
        if protos_conflict(x, y) {
            return true;
        }
    }
    match (&a.pred, &b.pred) {
        (Pred::Field { field: f, test: s }, Pred::Field { field: g, test: t }) if f == g && f.single_valued() => tests_disjoint(s, t),
        _ => false,
    }
}

fn tests_disjoint(s: &Test, t: &Test) -> bool {
    fn ints(t: &Test) -> Option<Vec<(u64, u64)>> {
        match t {
            Test::IntRange { lo, hi } => Some(vec![(*lo, *hi)]),
            Test::IntSet(v) => Some(v.iter().map(|x| (*x, *x)).collect()),
            _ => None,
        }
    }
    match (s, t) {
        (Test::Bool(x), Test::Bool(y)) => x != y,
        // Sets are sorted (typed.rs): a merge decides disjointness.
        (Test::StrEq(x), Test::StrEq(y)) => sorted_disjoint(x, y),
        (Test::IntSet(x), Test::IntSet(y)) => sorted_disjoint(x, y),
        (Test::Prefixes(x), Test::Prefixes(y)) => x.iter().all(|p| {
            y.iter().all(|q| {
                let (a, b) = p.range();
                let (c, d) = q.range();
                p.addr.is_ipv4() != q.addr.is_ipv4() || b < c || d < a
            })
        }),
        _ => match (ints(s), ints(t)) {
            (Some(x), Some(y)) => x.iter().all(|(a, b)| y.iter().all(|(c, d)| b < c || d < a)),
            _ => false,
        },
    }
}

fn sorted_disjoint<T: Ord>(x: &[T], y: &[T]) -> bool {
    let (mut i, mut j) = (0, 0);
    while i < x.len() && j < y.len() {
        match x[i].cmp(&y[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => return false,
        }
    }
    true
}

// ---------------------------------------------------------------- building

#[derive(Default)]
struct BNode {
    literal: Option<Literal>,
    serves: Vec<u32>,
    accepts: Vec<u32>,
    children: Vec<usize>,
}

struct Builder {
    nodes: Vec<BNode>,
    index: HashMap<(usize, Literal), usize>,
    max: usize,
}

impl Builder {
    fn serve(&mut self, n: usize, id: u32) {
        if self.nodes[n].serves.last() != Some(&id) {
            self.nodes[n].serves.push(id);
        }
    }

    fn child(&mut self, at: usize, lit: &Literal) -> Result<usize, TrieError> {
        if let Some(&c) = self.index.get(&(at, lit.clone())) {
            return Ok(c);
        }
        if self.nodes.len() >= self.max {
            return Err(TrieError::TooManyNodes(self.max));
        }
        let c = self.nodes.len();
        self.nodes.push(BNode { literal: Some(lit.clone()), ..Default::default() });
        self.nodes[at].children.push(c);
        self.index.insert((at, lit.clone()), c);
        Ok(c)
    }

    /// Children in canonical literal order (general to specific), recursively.
    fn sort_children(&mut self, root: usize) {
        let mut stack = vec![root];
        while let Some(n) = stack.pop() {
            let mut kids = std::mem::take(&mut self.nodes[n].children);
            kids.sort_by(|&a, &b| {
                let la = self.nodes[a].literal.as_ref();
                let lb = self.nodes[b].literal.as_ref();
                la.map(Literal::order_key).cmp(&lb.map(Literal::order_key))
            });
            stack.extend(kids.iter().copied());
            self.nodes[n].children = kids;
        }
    }

    /// Removes patterns below a node where they already accept.
    /// `accepted[p]` counts accepting ancestors of pattern `p` on the path.
    fn absorb(&mut self, n: usize, accepted: &mut [u32]) {
        {
            let node = &mut self.nodes[n];
            node.serves.retain(|p| accepted[*p as usize] == 0);
            node.accepts.retain(|p| accepted[*p as usize] == 0);
        }
        if self.nodes[n].serves.is_empty() {
            self.nodes[n].children.clear();
            return;
        }
        let accepts = self.nodes[n].accepts.clone();
        for p in &accepts {
            accepted[*p as usize] += 1;
        }
        let kids = self.nodes[n].children.clone();
        for c in kids {
            self.absorb(c, accepted);
        }
        for p in &accepts {
            accepted[*p as usize] -= 1;
        }
        // Recompute what this node serves from what is left below it.
        let mut serves: Vec<u32> = self.nodes[n].accepts.clone();
        for &c in &self.nodes[n].children {
            serves.extend(&self.nodes[c].serves);
        }
        serves.sort_unstable();
        serves.dedup();
        self.nodes[n].serves = serves;
        let nodes = &self.nodes;
        let kids: Vec<usize> = nodes[n].children.iter().copied().filter(|&c| !nodes[c].serves.is_empty()).collect();
        self.nodes[n].children = kids;
    }

    /// Replaces `ipv4` / `ipv6` siblings with equal subtrees by that subtree.
    fn hoist(&mut self, n: usize) {
        let kids = self.nodes[n].children.clone();
        for &c in &kids {
            self.hoist(c);
        }
        if let [a, b] = kids[..] {
            let is = |x: usize, p: Proto| self.nodes[x].literal == Some(Literal::pos(Pred::Proto(p)));
            if is(a, Proto::Ipv4) && is(b, Proto::Ipv6) && self.same(a, b) {
                let mut accepts = self.nodes[n].accepts.clone();
                accepts.extend(self.nodes[a].accepts.iter().copied());
                accepts.sort_unstable();
                accepts.dedup();
                self.nodes[n].accepts = accepts;
                self.nodes[n].children = self.nodes[a].children.clone();
            }
        }
    }

    /// Structural equality of two subtrees, ignoring their own literals.
    fn same(&self, a: usize, b: usize) -> bool {
        let (x, y) = (&self.nodes[a], &self.nodes[b]);
        x.accepts == y.accepts
            && x.serves == y.serves
            && x.children.len() == y.children.len()
            && x.children.iter().zip(&y.children).all(|(&c, &d)| self.nodes[c].literal == self.nodes[d].literal && self.same(c, d))
    }
}

// ---------------------------------------------------------------- set lookups

#[derive(Clone, Debug)]
enum Matcher {
    Str(HashMap<Box<str>, Vec<u32>>),
    Int(HashMap<u64, Vec<u32>>),
    /// Disjoint sorted ranges (IPv4 widened to u128 and kept apart from IPv6).
    Ranges { v4: Vec<(u128, u128, Vec<u32>)>, v6: Vec<(u128, u128, Vec<u32>)> },
    Ac { ac: Option<AhoCorasick>, map: Vec<u32>, always: Vec<u32>, fallback: Vec<(Vec<u8>, u32)> },
    Re { set: Option<regex::bytes::RegexSet>, map: Vec<u32>, fallback: Vec<(RegexPattern, u32)> },
}

impl SetGroup {
    /// Adds the indices of matching members to `hits` (sorted, unique);
    /// returns whether the non-hits are decided (`NoMatch`) rather than undecided.
    /// (Generated pipelines call it for their set nodes.)
    pub fn lookup(&self, s: &dyn Subject, hits: &mut Vec<u32>) -> bool {
        let m = self.matcher.get_or_init(|| {
            let tests: Vec<&Test> = self.tests.iter().collect();
            Matcher::build(self.kind, &tests)
        });
        let decided = match self.field.proto {
            Proto::L7(p) => {
                s.any_session(&mut |sess| {
                    if sess.protocol() == p {
                        if let Some(v) = sess.field(&self.field.name) {
                            m.collect(v, hits);
                        }
                    }
                    false
                });
                !l7_undecided(s, self.field.proto)
            }
            _ => match s.packet() {
                None => false,
                Some(pk) => {
                    pk.any_value(&self.field.name, |v| {
                        m.collect(v, hits);
                        false
                    });
                    true
                }
            },
        };
        hits.sort_unstable();
        hits.dedup();
        decided
    }
}

impl Matcher {
    fn build(kind: SetKind, tests: &[&Test]) -> Matcher {
        match kind {
            SetKind::StrHash => {
                let mut m: HashMap<Box<str>, Vec<u32>> = HashMap::new();
                for (i, t) in tests.iter().enumerate() {
                    if let Test::StrEq(v) = t {
                        for s in v {
                            m.entry(s.as_str().into()).or_default().push(i as u32);
                        }
                    }
                }
                Matcher::Str(m)
            }
            SetKind::IntHash => {
                let mut m: HashMap<u64, Vec<u32>> = HashMap::new();
                for (i, t) in tests.iter().enumerate() {
                    let vals: Vec<u64> = match t {
                        Test::IntRange { lo, .. } => vec![*lo],
                        Test::IntSet(v) => v.clone(),
                        _ => vec![],
                    };
                    for v in vals {
                        m.entry(v).or_default().push(i as u32);
                    }
                }
                Matcher::Int(m)
            }
            SetKind::Ranges => {
                let mut v4 = Vec::new();
                let mut v6 = Vec::new();
                for (i, t) in tests.iter().enumerate() {
                    if let Test::Prefixes(ps) = t {
                        for p in ps {
                            let (lo, hi) = p.range();
                            if p.addr.is_ipv4() { &mut v4 } else { &mut v6 }.push((lo, hi, i as u32));
                        }
                    }
                }
                Matcher::Ranges { v4: elementary(v4), v6: elementary(v6) }
            }
            SetKind::AhoCorasick => {
                let mut pats = Vec::new();
                let mut map = Vec::new();
                let mut always = Vec::new();
                for (i, t) in tests.iter().enumerate() {
                    if let Test::Contains(b) = t {
                        if b.is_empty() {
                            always.push(i as u32);
                        } else {
                            pats.push(b.clone());
                            map.push(i as u32);
                        }
                    }
                }
                // Building fails only past aho-corasick's own size limits; then
                // each needle is searched on its own (same answers, slower).
                let ac = if pats.is_empty() { None } else { AhoCorasick::new(&pats).ok() };
                let fallback = if ac.is_none() { pats.into_iter().zip(map.iter().copied()).collect() } else { Vec::new() };
                Matcher::Ac { ac, map, always, fallback }
            }
            SetKind::RegexSet => {
                let pats: Vec<(RegexPattern, u32)> = tests
                    .iter()
                    .enumerate()
                    .filter_map(|(i, t)| match t {
                        Test::Regex(r) => Some((r.clone(), i as u32)),
                        _ => None,
                    })
                    .collect();
                let set = regex::bytes::RegexSetBuilder::new(pats.iter().map(|(r, _)| r.as_str()))
                    .size_limit(RegexPattern::SIZE_LIMIT * 8)
                    .build()
                    .ok();
                let map = pats.iter().map(|(_, i)| *i).collect();
                let fallback = if set.is_none() { pats } else { Vec::new() };
                Matcher::Re { set, map, fallback }
            }
        }
    }

    fn collect(&self, v: FieldValue<'_>, hits: &mut Vec<u32>) {
        match (self, v) {
            (Matcher::Str(m), FieldValue::Str(s)) => hits.extend(m.get(s).into_iter().flatten()),
            (Matcher::Int(m), FieldValue::Int(x)) => hits.extend(m.get(&x).into_iter().flatten()),
            (Matcher::Ranges { v4, v6 }, FieldValue::Ip(ip)) => {
                let (ranges, x) = match ip {
                    IpAddr::V4(a) => (v4, u128::from(u32::from(a))),
                    IpAddr::V6(a) => (v6, u128::from(a)),
                };
                let i = ranges.partition_point(|r| r.0 <= x);
                if i > 0 && x <= ranges[i - 1].1 {
                    hits.extend(&ranges[i - 1].2);
                }
            }
            (Matcher::Ac { ac, map, always, fallback }, FieldValue::Str(_) | FieldValue::Bytes(_)) => {
                let hay = match v {
                    FieldValue::Str(s) => s.as_bytes(),
                    FieldValue::Bytes(b) => b,
                    _ => &[],
                };
                hits.extend(always);
                if let Some(ac) = ac {
                    for m in ac.find_overlapping_iter(hay) {
                        hits.push(map[m.pattern().as_usize()]);
                    }
                }
                for (needle, i) in fallback {
                    if contains(hay, needle) {
                        hits.push(*i);
                    }
                }
            }
            (Matcher::Re { set, map, fallback }, FieldValue::Str(_) | FieldValue::Bytes(_)) => {
                let hay = match v {
                    FieldValue::Str(s) => s.as_bytes(),
                    FieldValue::Bytes(b) => b,
                    _ => &[],
                };
                if let Some(set) = set {
                    hits.extend(set.matches(hay).iter().map(|i| map[i]));
                }
                for (re, i) in fallback {
                    if re.is_match(hay) {
                        hits.push(*i);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Overlapping `(lo, hi, member)` intervals → disjoint sorted intervals,
/// each with every member covering it.
fn elementary(mut iv: Vec<(u128, u128, u32)>) -> Vec<(u128, u128, Vec<u32>)> {
    if iv.is_empty() {
        return Vec::new();
    }
    // Boundaries: every start, and every end + 1.
    let mut points: Vec<u128> = Vec::with_capacity(iv.len() * 2);
    for &(lo, hi, _) in &iv {
        points.push(lo);
        if hi < u128::MAX {
            points.push(hi + 1);
        }
    }
    points.sort_unstable();
    points.dedup();
    iv.sort_unstable();
    let mut out: Vec<(u128, u128, Vec<u32>)> = Vec::new();
    // Sweep: active intervals kept in a map end → members.
    let mut active: BTreeMap<u128, Vec<u32>> = BTreeMap::new();
    let mut next = 0;
    for (k, &start) in points.iter().enumerate() {
        let end = points.get(k + 1).map_or(u128::MAX, |p| p - 1);
        while next < iv.len() && iv[next].0 <= start {
            active.entry(iv[next].1).or_default().push(iv[next].2);
            next += 1;
        }
        // Drop intervals that ended before `start`.
        let ended: Vec<u128> = active.range(..start).map(|(k, _)| *k).collect();
        for e in ended {
            active.remove(&e);
        }
        if active.is_empty() {
            continue;
        }
        let mut members: Vec<u32> = active.values().flatten().copied().collect();
        members.sort_unstable();
        members.dedup();
        match out.last_mut() {
            Some(last) if last.2 == members && last.1.checked_add(1) == Some(start) => last.1 = end,
            _ => out.push((start, end, members)),
        }
    }
    out
}

// ---------------------------------------------------------------- printing

impl fmt::Display for PredicateTrie {
    /// One line per node: the literal, its stage, the patterns accepting
    /// there; `else-if` marks a node whose children are an exclusive chain.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.fmt_node(f, 0, 0)
    }
}

impl PredicateTrie {
    fn fmt_node(&self, f: &mut fmt::Formatter<'_>, n: NodeId, depth: usize) -> fmt::Result {
        let node = &self.nodes[n];
        let pad = "  ".repeat(depth);
        match &node.literal {
            None => write!(f, "{pad}root")?,
            Some(l) => write!(f, "{pad}{l}  [{}]", l.stage().name())?,
        }
        if !node.accepts.is_empty() {
            write!(f, "  => accept {}", ids(&node.accepts))?;
        }
        if node.exclusive {
            f.write_str("  (children: else-if chain)")?;
        }
        writeln!(f)?;
        for b in &node.children {
            match b {
                Branch::One(c) => self.fmt_node(f, *c, depth + 1)?,
                Branch::Set(g) => {
                    writeln!(f, "{pad}  set {} ({}, {} members, one lookup)", g.field.name, g.kind.name(), g.members.len())?;
                    for &m in &g.members {
                        self.fmt_node(f, m, depth + 2)?;
                    }
                }
            }
        }
        Ok(())
    }
}

fn ids(v: &[u32]) -> String {
    let s: Vec<String> = v.iter().map(u32::to_string).collect();
    format!("{{{}}}", s.join(", "))
}

/// Specificity is re-exported for the IR's ordering of siblings.
pub fn literal_specificity(l: &Literal) -> u32 {
    specificity(&l.pred)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::{eval_dnf, Facts, L4Facts, L7State, PacketFacts};
    use crate::Filter;
    use weir_protocols::registry::{AnySession, Protocol};
    use weir_protocols::tls::TlsHandshake;
    use weir_wire::VlanStack;

    fn trie(srcs: &[&str]) -> (Vec<Filter>, PredicateTrie) {
        let fs: Vec<Filter> = srcs.iter().map(|s| Filter::new(s).unwrap()).collect();
        let dnfs: Vec<&Dnf> = fs.iter().map(|f| &f.dnf).collect();
        let t = PredicateTrie::build(&dnfs, &TrieOptions::default()).unwrap();
        (fs, t)
    }

    fn conn(src: &str, dst: &str, dport: u16, sni: Option<&str>) -> Facts<AnySession> {
        let packet = PacketFacts {
            ethernet: true,
            vlans: VlanStack::new(),
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            ttl: 64,
            ip_protocol: 6,
            l4: Some(L4Facts { proto: Proto::Tcp, src_port: 40000, dst_port: dport, flags: 2 }),
        };
        let sessions: Vec<AnySession> = sni
            .map(|s| AnySession::Tls(TlsHandshake { sni: Some(s.into()), ..Default::default() }))
            .into_iter()
            .collect();
        Facts {
            packet: Some(packet),
            l7: if sni.is_some() { L7State::Known(Protocol::Tls) } else { L7State::None },
            sessions,
            sessions_final: true,
            user: vec![],
        }
    }

    #[test]
    fn shared_prefixes_hoisting_and_sets() {
        let (fs, t) = trie(&["tls.sni = 'a.com'", "tls.sni = 'b.com'", "tls.sni ~ 'video'", "tls.sni contains 'nflx'", "tls"]);
        let shown = t.to_string();
        assert_eq!(
            shown,
            "root\n\
             \x20 tcp  [packet]\n\
             \x20   tls  [proto]  => accept {4}\n\
             \x20     set tls.sni (hash, 2 members, one lookup)\n\
             \x20       tls.sni = 'a.com'  [headers]  => accept {0}\n\
             \x20       tls.sni = 'b.com'  [headers]  => accept {1}\n\
             \x20     tls.sni contains 'nflx'  [headers]  => accept {3}\n\
             \x20     tls.sni ~ 'video'  [headers]  => accept {2}\n"
        );
        let c = conn("10.0.0.1", "10.0.0.2", 443, Some("nflxvideo.net"));
        let v = t.eval(&c);
        let direct: Vec<Verdict> = fs.iter().map(|f| eval_dnf(&f.dnf, &c)).collect();
        assert_eq!(v, direct);
        assert_eq!(v, vec![Verdict::NoMatch, Verdict::NoMatch, Verdict::Match, Verdict::Match, Verdict::Match]);
    }

    #[test]
    fn subnets_merge_into_one_range_lookup() {
        let srcs: Vec<String> = (0..128).map(|i| format!("ipv4.dst_addr in 10.{i}.0.0/16")).collect();
        let refs: Vec<&str> = srcs.iter().map(String::as_str).collect();
        let (fs, t) = trie(&refs);
        let root = t.root();
        // root → ipv4 → set of 128 (exclusive: the subnets are disjoint)
        let Branch::One(ipv4) = root.children[0] else { panic!("{t}") };
        let n = &t.nodes()[ipv4];
        assert!(matches!(&n.children[..], [Branch::Set(g)] if g.members.len() == 128 && g.kind == SetKind::Ranges), "{t}");
        assert!(n.exclusive);
        for (dst, expect) in [("10.5.1.1", Some(5)), ("10.127.255.255", Some(127)), ("10.128.0.1", None), ("192.168.0.1", None)] {
            let c = conn("1.1.1.1", dst, 80, None);
            let v = t.eval(&c);
            for (i, f) in fs.iter().enumerate() {
                assert_eq!(v[i], eval_dnf(&f.dnf, &c), "{dst} pattern {i}");
                assert_eq!(v[i] == Verdict::Match, expect == Some(i), "{dst} pattern {i}");
            }
        }
    }

    #[test]
    fn absorption_and_exclusive_chains() {
        let (_, t) = trie(&["tcp or tcp and tls", "udp.port = 53"]);
        assert_eq!(t.to_string(), "root  (children: else-if chain)\n  tcp  [packet]  => accept {0}\n  udp  [packet]\n    udp.port = 53  [packet]  => accept {1}\n");
        // http.host is multi-valued: no else-if.
        let (_, t) = trie(&["http.host = 'a'", "http.host = 'b'"]);
        let http = t.nodes().iter().find(|n| n.literal.as_ref().is_some_and(|l| l.to_string() == "http")).unwrap();
        assert!(!http.exclusive, "{t}");
        let (_, t) = trie(&["tls.sni = 'a'", "tls.sni = 'b'"]);
        let tls = t.nodes().iter().find(|n| n.literal.as_ref().is_some_and(|l| l.to_string() == "tls")).unwrap();
        assert!(tls.exclusive, "{t}");
    }

    #[test]
    fn elementary_ranges() {
        let r = elementary(vec![(0, 10, 0), (5, 20, 1), (30, 40, 2), (41, 50, 2)]);
        assert_eq!(r, vec![(0, 4, vec![0]), (5, 10, vec![0, 1]), (11, 20, vec![1]), (30, 50, vec![2])]);
        let r = elementary(vec![(0, u128::MAX, 0), (7, 7, 1)]);
        assert_eq!(r, vec![(0, 6, vec![0]), (7, 7, vec![0, 1]), (8, u128::MAX, vec![0])]);
    }
}
