//! Typed [`Expr`] → disjunctive normal form, expanded along the protocol
//! layer graph and ordered by the stage at which each literal can first be
//! evaluated.
//!
//! Steps: negation pushed to the literals; `and` distributed over `or`
//! (bounded by [`DnfOptions::max_conjunctions`]); each conjunction
//! completed with the protocols its literals imply and split over the
//! network and transport layers they allow (`tls` ⇒ `ipv4 and tcp and tls
//! or ipv6 and tcp and tls`; `dns` over TCP and UDP); contradictions
//! (`ipv4 and ipv6`, `tls and udp`, `p and not p`, two L7 protocols)
//! dropped; negative literals made redundant by the chosen layers dropped
//! (`tcp and not udp` ⇒ `tcp`); duplicate and absorbed conjunctions
//! (`a or a and b` ⇒ `a`) removed.

use crate::typed::{Expr, Pred, Proto, Stage, Test};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::fmt;
use weir_protocols::registry::Protocol;
use weir_protocols::Transport;

/// A possibly negated predicate.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Literal {
    pub pred: Pred,
    pub negated: bool,
}

impl Literal {
    pub fn pos(pred: Pred) -> Literal {
        Literal { pred, negated: false }
    }
    pub fn stage(&self) -> Stage {
        self.pred.stage()
    }
    /// Canonical order inside a conjunction: by stage, then protocols
    /// before fields before user predicates, general before specific.
    pub fn order_key(&self) -> (Stage, u8, u32, &Pred, bool) {
        let class = match &self.pred {
            Pred::Proto(_) => 0,
            Pred::Field { .. } => 1,
            Pred::User(_) => 2,
        };
        (self.stage(), class, specificity(&self.pred), &self.pred, self.negated)
    }
}

/// Larger = more specific (prefix length; narrower integer ranges).
pub(crate) fn specificity(p: &Pred) -> u32 {
    match p {
        Pred::Field { test: Test::Prefixes(ps), .. } => ps.iter().map(|p| u32::from(p.len)).min().unwrap_or(0),
        Pred::Field { test: Test::IntRange { lo, hi }, .. } => 64 - (hi - lo).checked_ilog2().map_or(0, |b| b + 1),
        _ => 0,
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.negated {
            f.write_str("not ")?;
        }
        write!(f, "{}", self.pred)
    }
}

/// A conjunction of literals in canonical order; empty = always true.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Conjunction {
    pub literals: Vec<Literal>,
}

impl fmt::Display for Conjunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.literals.is_empty() {
            // No literal: everything matches. `ipv4 or ipv6` is the parseable form.
            return f.write_str("ipv4 or ipv6");
        }
        for (i, l) in self.literals.iter().enumerate() {
            if i > 0 {
                f.write_str(" and ")?;
            }
            write!(f, "{l}")?;
        }
        Ok(())
    }
}

/// A filter in disjunctive normal form. No conjunction = matches nothing.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Dnf {
    pub conjunctions: Vec<Conjunction>,
}

impl Dnf {
    /// Matches every connection (a subscription without a filter).
    pub fn all() -> Dnf {
        Dnf { conjunctions: vec![Conjunction { literals: vec![] }] }
    }
    /// Stage-tagged form for `weir filter explain`: `[packet] tcp and [proto] tls ...`.
    pub fn explain(&self) -> String {
        let mut out = String::new();
        for c in &self.conjunctions {
            let parts: Vec<String> = c.literals.iter().map(|l| format!("[{}] {l}", l.stage().name())).collect();
            out.push_str(if parts.is_empty() { "(everything)".to_string() } else { parts.join(" and ") }.as_str());
            out.push('\n');
        }
        out
    }
}

impl fmt::Display for Dnf {
    /// Filter text that parses back to an equivalent filter; `false` has no
    /// syntax of its own and prints as `ipv4 and ipv6`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.conjunctions.is_empty() {
            return f.write_str("ipv4 and ipv6");
        }
        for (i, c) in self.conjunctions.iter().enumerate() {
            if i > 0 {
                f.write_str(" or ")?;
            }
            if c.literals.is_empty() {
                f.write_str("(ipv4 or ipv6)")?;
            } else {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// Limits of the normal form.
#[derive(Copy, Clone, Debug)]
pub struct DnfOptions {
    /// Most conjunctions before or after expansion (default 100,000).
    pub max_conjunctions: usize,
    /// Most literals in one conjunction (default 256): bounds the depth of
    /// tries and the cost of a long `and`.
    pub max_conjunction_len: usize,
    /// Most literals over all conjunctions (default 2,000,000): bounds memory.
    pub max_literals: usize,
}

impl Default for DnfOptions {
    fn default() -> Self {
        DnfOptions { max_conjunctions: 100_000, max_conjunction_len: 256, max_literals: 2_000_000 }
    }
}

/// The normal form would exceed one of the [`DnfOptions`] limits.
#[derive(Copy, Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DnfTooLarge {
    #[error("the normal form has more than {0} conjunctions")]
    Conjunctions(usize),
    #[error("a conjunction of the normal form has more than {0} literals")]
    ConjunctionLength(usize),
    #[error("the normal form has more than {0} literals in all")]
    Literals(usize),
}

/// Computes the expanded normal form of `expr`.
pub fn to_dnf(expr: &Expr, opts: &DnfOptions) -> Result<Dnf, DnfTooLarge> {
    let raw = distribute(expr, false, opts)?;
    let mut out: Vec<Conjunction> = Vec::new();
    let mut seen = HashSet::new();
    for lits in raw {
        for c in expand(lits) {
            if seen.insert(c.clone()) {
                out.push(c);
                if out.len() > opts.max_conjunctions {
                    return Err(DnfTooLarge::Conjunctions(opts.max_conjunctions));
                }
            }
        }
    }
    Ok(Dnf { conjunctions: remove_absorbed(out) })
}

/// DNF of `expr` (negated when `neg`), as lists of literals.
fn distribute(expr: &Expr, neg: bool, opts: &DnfOptions) -> Result<Vec<Vec<Literal>>, DnfTooLarge> {
    let max = opts.max_conjunctions;
    match (expr, neg) {
        (Expr::Pred(p), _) => Ok(vec![vec![Literal { pred: p.clone(), negated: neg }]]),
        (Expr::Not(inner), _) => distribute(inner, !neg, opts),
        // Or, or a negated And (De Morgan): union of the items' DNFs.
        (Expr::Or(items), false) | (Expr::And(items), true) => {
            let mut out = Vec::new();
            for item in items {
                out.extend(distribute(item, neg, opts)?);
                if out.len() > max {
                    return Err(DnfTooLarge::Conjunctions(opts.max_conjunctions));
                }
            }
            Ok(out)
        }
        // And, or a negated Or: cross product.
        (Expr::And(items), false) | (Expr::Or(items), true) => {
            let mut acc: Vec<Vec<Literal>> = vec![vec![]];
            for item in items {
                let d = distribute(item, neg, opts)?;
                if acc.len().saturating_mul(d.len()) > max {
                    return Err(DnfTooLarge::Conjunctions(opts.max_conjunctions));
                }
                // Bound every conjunction's length and the total size before building.
                let longest_a = acc.iter().map(Vec::len).max().unwrap_or(0);
                let longest_d = d.iter().map(Vec::len).max().unwrap_or(0);
                if longest_a + longest_d > opts.max_conjunction_len {
                    return Err(DnfTooLarge::ConjunctionLength(opts.max_conjunction_len));
                }
                let total: usize = acc.iter().map(Vec::len).sum::<usize>() * d.len() + d.iter().map(Vec::len).sum::<usize>() * acc.len();
                if total > opts.max_literals {
                    return Err(DnfTooLarge::Literals(opts.max_literals));
                }
                if d.len() == 1 {
                    // One alternative: extend in place (a long `and` stays linear).
                    for a in &mut acc {
                        a.extend(d[0].iter().cloned());
                    }
                    continue;
                }
                let mut next = Vec::with_capacity(acc.len() * d.len());
                for a in &acc {
                    for b in &d {
                        let mut c = a.clone();
                        c.extend(b.iter().cloned());
                        next.push(c);
                    }
                }
                acc = next;
            }
            Ok(acc)
        }
    }
}

fn layer(p: Proto) -> u8 {
    match p {
        Proto::Ethernet => 0,
        Proto::Vlan => 1,
        Proto::Ipv4 | Proto::Ipv6 => 2,
        Proto::Tcp | Proto::Udp => 3,
        Proto::L7(_) => 4,
    }
}

/// Two protocols that cannot both be present in one connection.
pub(crate) fn protos_conflict(a: Proto, b: Proto) -> bool {
    a != b && layer(a) == layer(b) && layer(a) >= 2
}

/// Completes one conjunction with its implied protocols and splits it over
/// the layers it allows; returns no conjunction when it is contradictory.
fn expand(mut lits: Vec<Literal>) -> Vec<Conjunction> {
    lits.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
    lits.dedup();
    // p and not p
    let positive: HashSet<&Pred> = lits.iter().filter(|l| !l.negated).map(|l| &l.pred).collect();
    if lits.iter().any(|l| l.negated && positive.contains(&l.pred)) {
        return vec![];
    }
    let implied: HashSet<Proto> = lits.iter().filter(|l| !l.negated).filter_map(|l| l.pred.implied_proto()).collect();
    let negated: HashSet<Proto> = lits.iter().filter_map(|l| match (&l.pred, l.negated) {
        (Pred::Proto(p), true) => Some(*p),
        _ => None,
    }).collect();
    if implied.iter().any(|a| implied.iter().any(|b| protos_conflict(*a, *b))) {
        return vec![];
    }
    // `not tls and tls.sni = 'a'`: a protocol both implied and negated.
    if implied.iter().any(|p| negated.contains(p)) {
        return vec![];
    }
    let l7: Option<Protocol> = implied.iter().find_map(|p| match p {
        Proto::L7(x) => Some(*x),
        _ => None,
    });
    let needs_transport = implied.iter().any(|p| layer(*p) >= 3);
    let needs_net = implied.iter().any(|p| layer(*p) >= 2);
    let transports: Vec<Option<Proto>> = if needs_transport {
        [Proto::Tcp, Proto::Udp]
            .into_iter()
            .filter(|t| !negated.contains(t))
            .filter(|t| implied.iter().all(|p| !protos_conflict(*p, *t)))
            .filter(|t| {
                let tr = if *t == Proto::Tcp { Transport::Tcp } else { Transport::Udp };
                l7.is_none_or(|x| x.runs_over(tr))
            })
            .map(Some)
            .collect()
    } else {
        vec![None]
    };
    let nets: Vec<Option<Proto>> = if needs_net {
        [Proto::Ipv4, Proto::Ipv6]
            .into_iter()
            .filter(|n| !negated.contains(n))
            .filter(|n| implied.iter().all(|p| !protos_conflict(*p, *n)))
            .map(Some)
            .collect()
    } else {
        vec![None]
    };
    let mut out = Vec::new();
    for net in &nets {
        for tr in &transports {
            let chosen: Vec<Proto> = implied.iter().copied().chain(*net).chain(*tr).collect();
            let mut c: Vec<Literal> = lits
                .iter()
                .filter(|l| !(l.negated && redundant_negative(&l.pred, &chosen)))
                .cloned()
                .collect();
            for p in &chosen {
                let lit = Literal::pos(Pred::Proto(*p));
                if !c.contains(&lit) {
                    c.push(lit);
                }
            }
            c.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
            out.push(Conjunction { literals: c });
        }
    }
    out
}

/// A negative literal that is always true given the protocols present:
/// `not udp` beside `tcp`, `not http.host = 'x'` beside `dns`, `not quic`
/// beside `tcp` (QUIC runs over UDP only).
fn redundant_negative(pred: &Pred, chosen: &[Proto]) -> bool {
    let Some(p) = pred.implied_proto() else { return false };
    if chosen.iter().any(|c| protos_conflict(*c, p)) {
        return true;
    }
    match p {
        Proto::L7(x) => chosen.iter().any(|c| match c {
            Proto::Tcp => !x.runs_over(Transport::Tcp),
            Proto::Udp => !x.runs_over(Transport::Udp),
            _ => false,
        }),
        _ => false,
    }
}

/// Most conjunctions for which absorption is attempted: it is quadratic, and
/// an optimisation only (the normal form stays equivalent without it).
const MAX_ABSORB: usize = 10_000;

/// Removes conjunctions that contain all literals of another (`a or a and b` ⇒ `a`).
fn remove_absorbed(mut cs: Vec<Conjunction>) -> Vec<Conjunction> {
    let lens: HashSet<usize> = cs.iter().map(|c| c.literals.len()).collect();
    if lens.len() <= 1 || cs.len() > MAX_ABSORB {
        return cs; // equal lengths: only duplicates could absorb, and those are gone
    }
    let sets: Vec<HashSet<&Literal>> = cs.iter().map(|c| c.literals.iter().collect()).collect();
    let mut order: Vec<usize> = (0..cs.len()).collect();
    order.sort_by_key(|&i| cs[i].literals.len());
    let mut keep = vec![true; cs.len()];
    for (k, &i) in order.iter().enumerate() {
        if !keep[i] {
            continue;
        }
        for &j in &order[k + 1..] {
            if keep[j] && sets[j].len() > sets[i].len() && sets[i].is_subset(&sets[j]) {
                keep[j] = false;
            }
        }
    }
    let mut i = 0;
    cs.retain(|_| {
        i += 1;
        keep[i - 1]
    });
    cs
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;
    use crate::typed::{resolve, TypeOptions};

    fn dnf(src: &str) -> String {
        let e = resolve(&parse(src).unwrap(), &TypeOptions::default()).unwrap();
        to_dnf(&e, &DnfOptions::default()).unwrap().to_string()
    }

    #[test]
    fn layer_expansion() {
        assert_eq!(dnf("tls"), "ipv4 and tcp and tls or ipv6 and tcp and tls");
        assert_eq!(dnf("dns"), "ipv4 and tcp and dns or ipv4 and udp and dns or ipv6 and tcp and dns or ipv6 and udp and dns");
        assert_eq!(dnf("ipv4.addr = 10.0.0.1"), "ipv4 and ipv4.addr = 10.0.0.1");
        assert_eq!(dnf("tls and udp"), "ipv4 and ipv6");
        assert_eq!(dnf("tcp and not udp"), "ipv4 and tcp or ipv6 and tcp");
        assert_eq!(dnf("tcp and not tcp"), "ipv4 and ipv6");
        assert_eq!(dnf("quic or tls"), "ipv4 and udp and quic or ipv6 and udp and quic or ipv4 and tcp and tls or ipv6 and tcp and tls");
        assert_eq!(dnf("vlan.id = 5"), "vlan and vlan.id = 5");
    }

    #[test]
    fn size_limits_are_typed_errors() {
        let long = vec!["tcp.port = 1"; 300].join(" and ");
        let e = resolve(&parse(&long).unwrap(), &TypeOptions::default()).unwrap();
        assert_eq!(to_dnf(&e, &DnfOptions::default()), Err(DnfTooLarge::ConjunctionLength(256)));
        // (a or b) and (c or d) and ...: 2^20 conjunctions.
        let wide = (0..20).map(|i| format!("(tcp.port = {i} or udp.port = {i})")).collect::<Vec<_>>().join(" and ");
        let e = resolve(&parse(&wide).unwrap(), &TypeOptions::default()).unwrap();
        assert_eq!(to_dnf(&e, &DnfOptions::default()), Err(DnfTooLarge::Conjunctions(100_000)));
        let opts = DnfOptions { max_literals: 1_000, ..DnfOptions::default() };
        let some = (0..8).map(|i| format!("(tcp.port = {i} or udp.port = {i})")).collect::<Vec<_>>().join(" and ");
        let e = resolve(&parse(&some).unwrap(), &TypeOptions::default()).unwrap();
        assert_eq!(to_dnf(&e, &opts), Err(DnfTooLarge::Literals(1_000)));
    }

    #[test]
    fn negation_and_absorption() {
        assert_eq!(dnf("not (tls or http)"), "not tls and not http");
        assert_eq!(dnf("ipv4 or ipv4 and tcp"), "ipv4");
        assert_eq!(dnf("tcp.port != 80"), "ipv4 and tcp and not tcp.port = 80 or ipv6 and tcp and not tcp.port = 80");
        assert_eq!(dnf("ipv4 and not (tcp.port = 80 and tls)"), "ipv4 and not tcp.port = 80 or ipv4 and not tls");
    }
}
