//! Hardware-filter derivation: the NIC flow rules (Ethernet / IPv4 / IPv6 /
//! TCP / UDP; equality on protocol and ports, prefix on addresses) whose
//! union is at least as broad as a filter.
//!
//! Every packet of a connection that matches the filter — in either
//! direction — matches some rule of [`HwFilter::Rules`] (rules come in
//! mirrored pairs); the converse need not hold (the software filter still
//! runs). When no narrower set of rules is exact, the result is
//! [`HwFilter::AcceptAll`]. Rules naming a transport cannot see non-first
//! IP fragments (no transport header): an offload must accept fragments
//! separately (`weir-dpdk` installs fragment companion rules).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;

/// What the NIC may be told to accept.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HwFilter {
    /// Nothing narrower than "every packet" is implied by the filter.
    AcceptAll,
    /// Accept a packet iff it matches at least one rule. Never empty.
    Rules(Vec<HwRule>),
}

/// IP version of a rule (the rule's L3 item).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum HwIp {
    V4,
    V6,
}

/// Transport of a rule (the rule's L4 item).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum HwL4 {
    Tcp,
    Udp,
}

/// An address prefix: the top `len` bits of `addr` (host bits are zero).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct HwPrefix {
    pub addr: IpAddr,
    pub len: u8,
}

/// One flow rule: an Ethernet pattern, an optional IP item, an optional L4
/// item. Every `Some` field is a constraint; `None` is a wildcard.
///
/// Invariants: addresses are only set together with `ip`, and of that
/// version; ports only together with `l4`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct HwRule {
    pub ip: Option<HwIp>,
    pub src_addr: Option<HwPrefix>,
    pub dst_addr: Option<HwPrefix>,
    /// Transport protocol (sets the IP `next_proto` match as well).
    pub l4: Option<HwL4>,
    pub src_port: Option<u16>,
    pub dst_port: Option<u16>,
}

impl HwRule {
    /// The same rule for the other direction (sources and destinations swapped).
    pub fn mirrored(&self) -> HwRule {
        HwRule {
            src_addr: self.dst_addr,
            dst_addr: self.src_addr,
            src_port: self.dst_port,
            dst_port: self.src_port,
            ..self.clone()
        }
    }
}

impl fmt::Display for HwPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

impl fmt::Display for HwRule {
    /// `rte_flow`-like: `eth / ipv4 src is 10.0.0.0/8 / tcp dst is 443`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("eth")?;
        if let Some(ip) = self.ip {
            f.write_str(match ip {
                HwIp::V4 => " / ipv4",
                HwIp::V6 => " / ipv6",
            })?;
            if let Some(p) = self.src_addr {
                write!(f, " src is {p}")?;
            }
            if let Some(p) = self.dst_addr {
                write!(f, " dst is {p}")?;
            }
        }
        if let Some(l4) = self.l4 {
            f.write_str(match l4 {
                HwL4::Tcp => " / tcp",
                HwL4::Udp => " / udp",
            })?;
            if let Some(p) = self.src_port {
                write!(f, " src is {p}")?;
            }
            if let Some(p) = self.dst_port {
                write!(f, " dst is {p}")?;
            }
        }
        Ok(())
    }
}

use crate::dnf::{Conjunction, Dnf};
use crate::typed::{Pred, Proto, Test};

/// Most rules before the derivation gives up and accepts all (NICs hold a
/// few thousand rules at best; beyond that a rule table costs more than it saves).
pub const DEFAULT_MAX_RULES: usize = 1024;

/// Derives the NIC rules for the union of `filters`.
pub fn derive(filters: &[&Dnf], max_rules: usize) -> HwFilter {
    let mut rules: Vec<HwRule> = Vec::new();
    for dnf in filters {
        for c in &dnf.conjunctions {
            match conjunction_rules(c) {
                None => return HwFilter::AcceptAll,
                Some(rs) => rules.extend(rs),
            }
            if rules.len() > max_rules * 4 {
                return HwFilter::AcceptAll;
            }
        }
    }
    // A connection's filter covers both directions: a rule on the
    // originator's side (`dst is 443`) also needs its mirror for the replies.
    let mirrored: Vec<HwRule> = rules.iter().map(HwRule::mirrored).collect();
    rules.extend(mirrored);
    rules.sort();
    rules.dedup();
    if rules.len() > max_rules * 8 {
        return HwFilter::AcceptAll;
    }
    // Drop rules covered by a broader one.
    let keep: Vec<bool> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| !rules.iter().enumerate().any(|(j, o)| j != i && covers(o, r) && (!covers(r, o) || j < i)))
        .collect();
    let rules: Vec<HwRule> = rules.into_iter().zip(keep).filter_map(|(r, k)| k.then_some(r)).collect();
    if rules.is_empty() || rules.len() > max_rules {
        // No conjunction at all means the filter matches nothing; a NIC
        // rule set cannot say "nothing" portably, so accept all (the software
        // filter still drops everything).
        return HwFilter::AcceptAll;
    }
    HwFilter::Rules(rules)
}

/// The rules of one conjunction (alternatives from combined fields and
/// sets), or `None` when nothing narrower than "everything" is implied.
fn conjunction_rules(c: &Conjunction) -> Option<Vec<HwRule>> {
    let mut base = HwRule { ip: None, src_addr: None, dst_addr: None, l4: None, src_port: None, dst_port: None };
    // Each entry: alternatives that refine the rule (any one of them holds).
    let mut alternatives: Vec<Vec<Refine>> = Vec::new();
    for lit in c.literals.iter().filter(|l| !l.negated) {
        match &lit.pred {
            Pred::Proto(Proto::Ipv4) => base.ip = Some(HwIp::V4),
            Pred::Proto(Proto::Ipv6) => base.ip = Some(HwIp::V6),
            Pred::Proto(Proto::Tcp) => base.l4 = Some(HwL4::Tcp),
            Pred::Proto(Proto::Udp) => base.l4 = Some(HwL4::Udp),
            Pred::Field { field, test } => {
                let name = field.name.split_once('.').map_or("", |(_, n)| n);
                let alts: Vec<Refine> = match (name, test) {
                    ("src_addr" | "dst_addr" | "addr", Test::Prefixes(ps)) if field.proto != Proto::Vlan => ps
                        .iter()
                        .flat_map(|p| {
                            let hp = HwPrefix { addr: p.addr, len: p.len };
                            match name {
                                "src_addr" => vec![Refine::Src(hp)],
                                "dst_addr" => vec![Refine::Dst(hp)],
                                _ => vec![Refine::Src(hp), Refine::Dst(hp)],
                            }
                        })
                        .collect(),
                    ("src_port" | "dst_port" | "port", t) if matches!(field.proto, Proto::Tcp | Proto::Udp) => {
                        let vals: Vec<u16> = match t {
                            Test::IntRange { lo, hi } if hi - lo < 16 => (*lo..=*hi).filter_map(|v| u16::try_from(v).ok()).collect(),
                            Test::IntSet(v) if v.len() <= 16 => v.iter().filter_map(|v| u16::try_from(*v).ok()).collect(),
                            _ => continue,
                        };
                        vals.into_iter()
                            .flat_map(|v| match name {
                                "src_port" => vec![Refine::SrcPort(v)],
                                "dst_port" => vec![Refine::DstPort(v)],
                                _ => vec![Refine::SrcPort(v), Refine::DstPort(v)],
                            })
                            .collect()
                    }
                    ("protocol", Test::IntRange { lo, hi }) if lo == hi && (*lo == 6 || *lo == 17) => {
                        vec![Refine::L4(if *lo == 6 { HwL4::Tcp } else { HwL4::Udp })]
                    }
                    _ => continue,
                };
                if !alts.is_empty() {
                    alternatives.push(alts);
                }
            }
            _ => {}
        }
    }
    let mut rules = vec![base];
    for alts in alternatives {
        if rules.len().saturating_mul(alts.len()) > 4096 {
            return None;
        }
        let mut next = Vec::new();
        for r in &rules {
            for a in &alts {
                // An alternative that contradicts an earlier refinement is
                // dropped; an address refinement already set keeps the narrower.
                if let Some(r2) = a.apply(r) {
                    next.push(r2);
                }
            }
        }
        rules = next;
        if rules.len() > 4096 {
            return None;
        }
    }
    if rules.iter().any(|r| r.ip.is_none() && r.l4.is_none()) {
        return None;
    }
    Some(rules)
}

#[derive(Copy, Clone, Debug)]
enum Refine {
    Src(HwPrefix),
    Dst(HwPrefix),
    SrcPort(u16),
    DstPort(u16),
    L4(HwL4),
}

impl Refine {
    fn apply(self, r: &HwRule) -> Option<HwRule> {
        let mut r = r.clone();
        let set_prefix = |slot: &mut Option<HwPrefix>, p: HwPrefix| -> bool {
            match slot {
                None => {
                    *slot = Some(p);
                    true
                }
                Some(old) if prefix_covers(old, &p) => {
                    *slot = Some(p);
                    true
                }
                Some(old) => prefix_covers(&p, old),
            }
        };
        let ok = match self {
            Refine::Src(p) => set_prefix(&mut r.src_addr, p),
            Refine::Dst(p) => set_prefix(&mut r.dst_addr, p),
            Refine::SrcPort(v) => *r.src_port.get_or_insert(v) == v,
            Refine::DstPort(v) => *r.dst_port.get_or_insert(v) == v,
            Refine::L4(l) => *r.l4.get_or_insert(l) == l,
        };
        ok.then_some(r)
    }
}

fn prefix_covers(a: &HwPrefix, b: &HwPrefix) -> bool {
    let pa = crate::typed::Prefix::new(a.addr, a.len);
    a.len <= b.len && pa.contains(b.addr)
}

/// Whether every packet matching `b` matches `a`.
fn covers(a: &HwRule, b: &HwRule) -> bool {
    fn opt<T: PartialEq>(a: &Option<T>, b: &Option<T>) -> bool {
        a.is_none() || a == b
    }
    let pfx = |x: &Option<HwPrefix>, y: &Option<HwPrefix>| match (x, y) {
        (None, _) => true,
        (Some(_), None) => false,
        (Some(x), Some(y)) => prefix_covers(x, y),
    };
    opt(&a.ip, &b.ip) && opt(&a.l4, &b.l4) && opt(&a.src_port, &b.src_port) && opt(&a.dst_port, &b.dst_port) && pfx(&a.src_addr, &b.src_addr) && pfx(&a.dst_addr, &b.dst_addr)
}

impl fmt::Display for HwFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HwFilter::AcceptAll => f.write_str("accept all (no narrower rule set is implied by the filter)"),
            HwFilter::Rules(rules) => {
                for (i, r) in rules.iter().enumerate() {
                    if i > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "{r}")?;
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Filter;

    fn hw(src: &str) -> String {
        let f = Filter::new(src).unwrap();
        derive(&[&f.dnf], DEFAULT_MAX_RULES).to_string()
    }

    #[test]
    fn rules() {
        assert_eq!(hw("tls"), "eth / ipv4 / tcp\neth / ipv6 / tcp");
        // The replies of a matching connection come back mirrored.
        assert_eq!(
            hw("tcp.dst_port = 443 and ipv4.dst_addr in 10.0.0.0/8"),
            "eth / ipv4 dst is 10.0.0.0/8 / tcp dst is 443\neth / ipv4 src is 10.0.0.0/8 / tcp src is 443"
        );
        // A combined field becomes one rule per endpoint.
        assert_eq!(
            hw("tcp.port = 22"),
            "eth / ipv4 / tcp dst is 22\neth / ipv4 / tcp src is 22\neth / ipv6 / tcp dst is 22\neth / ipv6 / tcp src is 22"
        );
        // (src or dst in /8) and (src or dst in /16): the /16 alternatives cover the rest.
        assert_eq!(hw("ipv4.addr in 10.0.0.0/8 and ipv4.addr in 10.1.0.0/16"), "eth / ipv4 dst is 10.1.0.0/16\neth / ipv4 src is 10.1.0.0/16");
        assert_eq!(hw("tls.sni = 'a' and ipv6.dst_addr = ::1"), "eth / ipv6 dst is ::1/128 / tcp\neth / ipv6 src is ::1/128 / tcp");
        // Not expressible: VLAN, negations, wide port ranges: broaden.
        assert!(hw("vlan.id = 3").starts_with("accept all"));
        assert!(hw("tcp or vlan").starts_with("accept all"));
        assert_eq!(hw("tcp and not tcp.port = 80"), "eth / ipv4 / tcp\neth / ipv6 / tcp");
        assert_eq!(hw("tcp.port in 1000..2000"), "eth / ipv4 / tcp\neth / ipv6 / tcp");
        assert_eq!(
            hw("udp.port = 53 or tcp"),
            "eth / ipv4 / tcp\neth / ipv4 / udp dst is 53\neth / ipv4 / udp src is 53\neth / ipv6 / tcp\neth / ipv6 / udp dst is 53\neth / ipv6 / udp src is 53"
        );
        // Too many rules: accept all.
        let f = Filter::new("tcp.port in {1, 2, 3, 4, 5, 6, 7, 8}").unwrap();
        assert_eq!(derive(&[&f.dnf], 8), HwFilter::AcceptAll);
    }
}
