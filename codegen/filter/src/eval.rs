//! Evaluation of filters against what is known about a connection (or a
//! packet): three-valued, because a predicate on data not seen yet is
//! [`Verdict::Undecided`] rather than false.
//!
//! Connection-level meaning (the same for the AST, the DNF and the trie):
//! - a packet-level predicate (protocols up to L4 and their fields) is
//!   decided on the connection's first packet; `src` is the originator;
//! - `*.addr` / `*.port` hold when either endpoint's value does;
//! - an L7 protocol predicate holds when that protocol was identified;
//! - an L7 field predicate holds when any session of its protocol satisfies
//!   it; it is false once the sessions are final (or another protocol was
//!   identified) and none did;
//! - `not`, `and`, `or` follow Kleene's three-valued logic.

use crate::dnf::{Conjunction, Dnf, Literal};
use crate::typed::{Expr, Field, Pred, Proto, Test};
use std::net::IpAddr;
use weir_protocols::registry::{AnySession, AnySessionRef, Protocol};
use weir_protocols::FieldValue;
use weir_wire::{parse_frame, parse_transport, LinkType, ParseOptions, Transport, VlanStack};

/// A three-valued truth value, ordered `NoMatch < Undecided < Match` so that
/// `and` is `min` and `or` is `max`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum Verdict {
    NoMatch,
    Undecided,
    Match,
}

impl Verdict {
    pub fn from_bool(b: bool) -> Verdict {
        if b {
            Verdict::Match
        } else {
            Verdict::NoMatch
        }
    }
    pub fn not(self) -> Verdict {
        match self {
            Verdict::Match => Verdict::NoMatch,
            Verdict::NoMatch => Verdict::Match,
            Verdict::Undecided => Verdict::Undecided,
        }
    }
    pub fn is_decided(self) -> bool {
        self != Verdict::Undecided
    }
}

/// L4 header facts of a packet.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct L4Facts {
    pub proto: Proto,
    pub src_port: u16,
    pub dst_port: u16,
    /// TCP flags byte; 0 for UDP.
    pub flags: u8,
}

/// What the packet-level predicates look at: the headers of one packet
/// (for a connection, its first packet with `src` = originator).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct PacketFacts {
    pub ethernet: bool,
    pub vlans: VlanStack,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// TTL or hop limit.
    pub ttl: u8,
    /// IP protocol number (after IPv6 extension headers).
    pub ip_protocol: u8,
    /// `None` for other transports and for non-first fragments.
    pub l4: Option<L4Facts>,
}

impl PacketFacts {
    /// Parses a captured frame (checksums are not verified: a filter does
    /// not judge them). Errors are the frame's wire errors.
    pub fn from_frame(link: LinkType, frame: &[u8]) -> Result<PacketFacts, weir_wire::WireError> {
        let opts = ParseOptions { verify_checksums: false };
        let l3 = parse_frame(link, frame, &opts)?;
        let l4 = if l3.fragment.is_some_and(|f| f.offset != 0) {
            None
        } else {
            match parse_transport(&l3.ip, l3.payload, &opts) {
                Ok(Transport::Tcp(h, _)) => Some(L4Facts { proto: Proto::Tcp, src_port: h.src_port, dst_port: h.dst_port, flags: h.flags.0 }),
                Ok(Transport::Udp(h, _)) => Some(L4Facts { proto: Proto::Udp, src_port: h.src_port, dst_port: h.dst_port, flags: 0 }),
                _ => None,
            }
        };
        Ok(PacketFacts {
            ethernet: link == LinkType::Ethernet,
            vlans: l3.vlans,
            src: l3.ip.src,
            dst: l3.ip.dst,
            ttl: l3.ip.ttl,
            ip_protocol: l3.ip.protocol.into(),
            l4,
        })
    }

    fn has(&self, p: Proto) -> bool {
        match p {
            Proto::Ethernet => self.ethernet,
            Proto::Vlan => !self.vlans.is_empty(),
            Proto::Ipv4 => self.src.is_ipv4(),
            Proto::Ipv6 => self.src.is_ipv6(),
            Proto::Tcp | Proto::Udp => self.l4.is_some_and(|l| l.proto == p),
            Proto::L7(_) => false,
        }
    }

    /// Calls `f` on each value of a packet-level field; true as soon as `f` is.
    pub fn any_value(&self, field: &str, mut f: impl FnMut(FieldValue<'_>) -> bool) -> bool {
        let (proto, name) = field.split_once('.').unwrap_or((field, ""));
        let Some(p) = Proto::from_name(proto) else { return false };
        if !self.has(p) {
            return false;
        }
        let int = |v: u64| FieldValue::Int(v);
        match (p, name) {
            (Proto::Vlan, "id") => self.vlans.as_slice().iter().any(|id| f(int((*id).into()))),
            (Proto::Ipv4 | Proto::Ipv6, "src_addr") => f(FieldValue::Ip(self.src)),
            (Proto::Ipv4 | Proto::Ipv6, "dst_addr") => f(FieldValue::Ip(self.dst)),
            (Proto::Ipv4 | Proto::Ipv6, "addr") => f(FieldValue::Ip(self.src)) || f(FieldValue::Ip(self.dst)),
            (Proto::Ipv4, "ttl") | (Proto::Ipv6, "hop_limit") => f(int(self.ttl.into())),
            (Proto::Ipv4, "protocol") => f(int(self.ip_protocol.into())),
            (Proto::Tcp | Proto::Udp, _) => {
                let Some(l4) = self.l4 else { return false };
                match name {
                    "src_port" => f(int(l4.src_port.into())),
                    "dst_port" => f(int(l4.dst_port.into())),
                    "port" => f(int(l4.src_port.into())) || f(int(l4.dst_port.into())),
                    "flags" => f(int(l4.flags.into())),
                    "fin" => f(FieldValue::Bool(l4.flags & 0x01 != 0)),
                    "syn" => f(FieldValue::Bool(l4.flags & 0x02 != 0)),
                    "rst" => f(FieldValue::Bool(l4.flags & 0x04 != 0)),
                    "ack" => f(FieldValue::Bool(l4.flags & 0x10 != 0)),
                    _ => false,
                }
            }
            _ => false,
        }
    }
}

/// The L7 protocol of a connection, as far as known.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum L7State {
    /// Not identified yet.
    Pending,
    /// Identification ended without a match.
    None,
    Known(Protocol),
}

/// A session whose fields a filter can read.
pub trait SessionFields {
    fn protocol(&self) -> Protocol;
    fn field(&self, name: &str) -> Option<FieldValue<'_>>;
}

impl SessionFields for AnySession {
    fn protocol(&self) -> Protocol {
        AnySession::protocol(self)
    }
    fn field(&self, name: &str) -> Option<FieldValue<'_>> {
        self.as_ref().field(name)
    }
}

impl SessionFields for AnySessionRef<'_> {
    fn protocol(&self) -> Protocol {
        AnySessionRef::protocol(self)
    }
    fn field(&self, name: &str) -> Option<FieldValue<'_>> {
        AnySessionRef::field(self, name)
    }
}

/// What is known about a connection (or packet) when a filter is evaluated.
pub trait Subject {
    /// The first packet's headers (`None`: not known, so packet predicates are undecided).
    fn packet(&self) -> Option<&PacketFacts>;
    fn l7(&self) -> L7State;
    /// True as soon as `f` is true for some session seen so far.
    fn any_session(&self, f: &mut dyn FnMut(&dyn SessionFields) -> bool) -> bool;
    /// No further session will be added.
    fn sessions_final(&self) -> bool;
    /// The verdict of a user-defined predicate (default: undecided).
    fn user(&self, _name: &str) -> Verdict {
        Verdict::Undecided
    }
}

/// A ready-made [`Subject`].
#[derive(Clone, Debug)]
pub struct Facts<S> {
    pub packet: Option<PacketFacts>,
    pub l7: L7State,
    pub sessions: Vec<S>,
    pub sessions_final: bool,
    /// User predicates' verdicts by name; absent = undecided.
    pub user: Vec<(String, Verdict)>,
}

impl<S> Facts<S> {
    /// A connection's first packet, nothing else known yet.
    pub fn packet(p: PacketFacts) -> Facts<S> {
        Facts { packet: Some(p), l7: L7State::Pending, sessions: Vec::new(), sessions_final: false, user: Vec::new() }
    }
}

impl<S: SessionFields> Subject for Facts<S> {
    fn packet(&self) -> Option<&PacketFacts> {
        self.packet.as_ref()
    }
    fn l7(&self) -> L7State {
        self.l7
    }
    fn any_session(&self, f: &mut dyn FnMut(&dyn SessionFields) -> bool) -> bool {
        self.sessions.iter().any(|s| f(s))
    }
    fn sessions_final(&self) -> bool {
        self.sessions_final
    }
    fn user(&self, name: &str) -> Verdict {
        self.user.iter().find(|(n, _)| n == name).map_or(Verdict::Undecided, |(_, v)| *v)
    }
}

/// Whether one value passes a test.
pub fn test_value(test: &Test, v: FieldValue<'_>) -> bool {
    match (test, v) {
        (Test::Bool(b), FieldValue::Bool(x)) => *b == x,
        (Test::IntRange { lo, hi }, FieldValue::Int(x)) => *lo <= x && x <= *hi,
        (Test::IntSet(set), FieldValue::Int(x)) => set.binary_search(&x).is_ok(),
        (Test::Prefixes(ps), FieldValue::Ip(ip)) => ps.iter().any(|p| p.contains(ip)),
        (Test::StrEq(set), FieldValue::Str(s)) => set.iter().any(|x| x == s),
        (Test::Contains(needle), FieldValue::Str(s)) => contains(s.as_bytes(), needle),
        (Test::Contains(needle), FieldValue::Bytes(b)) => contains(b, needle),
        (Test::Regex(re), FieldValue::Str(s)) => re.is_match(s.as_bytes()),
        (Test::Regex(re), FieldValue::Bytes(b)) => re.is_match(b),
        _ => false,
    }
}

pub(crate) fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || hay.windows(needle.len()).any(|w| w == needle)
}

/// Whether an L7 field of `proto` can still gain a value (used when no session matched).
pub(crate) fn l7_undecided(s: &dyn Subject, proto: Proto) -> bool {
    if s.sessions_final() {
        return false;
    }
    match (s.l7(), proto) {
        (L7State::Pending, _) => true,
        (L7State::Known(p), Proto::L7(q)) => p == q,
        _ => false,
    }
}

/// The verdict of one field predicate, given a per-value test.
pub(crate) fn field_verdict(s: &dyn Subject, field: &Field, mut pass: impl FnMut(FieldValue<'_>) -> bool) -> Verdict {
    match field.proto {
        Proto::L7(p) => {
            let hit = s.any_session(&mut |sess| sess.protocol() == p && sess.field(&field.name).is_some_and(&mut pass));
            if hit {
                Verdict::Match
            } else if l7_undecided(s, field.proto) {
                Verdict::Undecided
            } else {
                Verdict::NoMatch
            }
        }
        _ => match s.packet() {
            None => Verdict::Undecided,
            Some(pk) => Verdict::from_bool(pk.any_value(&field.name, pass)),
        },
    }
}

/// The verdict of one predicate.
pub fn eval_pred<S: Subject>(pred: &Pred, s: &S) -> Verdict {
    eval_pred_dyn(pred, s)
}

pub(crate) fn eval_pred_dyn(pred: &Pred, s: &dyn Subject) -> Verdict {
    match pred {
        Pred::Proto(Proto::L7(p)) => match s.l7() {
            L7State::Pending => Verdict::Undecided,
            L7State::None => Verdict::NoMatch,
            L7State::Known(q) => Verdict::from_bool(*p == q),
        },
        Pred::Proto(p) => s.packet().map_or(Verdict::Undecided, |pk| Verdict::from_bool(pk.has(*p))),
        Pred::Field { field, test } => field_verdict(s, field, |v| test_value(test, v)),
        Pred::User(name) => s.user(name),
    }
}

pub fn eval_literal<S: Subject>(l: &Literal, s: &S) -> Verdict {
    let v = eval_pred(&l.pred, s);
    if l.negated {
        v.not()
    } else {
        v
    }
}

/// Direct evaluation of a typed expression (the reference semantics).
pub fn eval_expr<S: Subject>(e: &Expr, s: &S) -> Verdict {
    match e {
        Expr::Pred(p) => eval_pred(p, s),
        Expr::Not(inner) => eval_expr(inner, s).not(),
        Expr::And(items) => {
            let mut v = Verdict::Match;
            for i in items {
                v = v.min(eval_expr(i, s));
                if v == Verdict::NoMatch {
                    break;
                }
            }
            v
        }
        Expr::Or(items) => {
            let mut v = Verdict::NoMatch;
            for i in items {
                v = v.max(eval_expr(i, s));
                if v == Verdict::Match {
                    break;
                }
            }
            v
        }
    }
}

pub fn eval_conjunction<S: Subject>(c: &Conjunction, s: &S) -> Verdict {
    c.literals.iter().map(|l| eval_literal(l, s)).min().unwrap_or(Verdict::Match)
}

pub fn eval_dnf<S: Subject>(d: &Dnf, s: &S) -> Verdict {
    d.conjunctions.iter().map(|c| eval_conjunction(c, s)).max().unwrap_or(Verdict::NoMatch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Filter;

    struct NoSession;
    impl SessionFields for NoSession {
        fn protocol(&self) -> Protocol {
            Protocol::Tls
        }
        fn field(&self, _: &str) -> Option<FieldValue<'_>> {
            None
        }
    }

    fn pkt(src: &str, dst: &str, l4: Option<(Proto, u16, u16)>) -> PacketFacts {
        PacketFacts {
            ethernet: true,
            vlans: VlanStack::new(),
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            ttl: 64,
            ip_protocol: 6,
            l4: l4.map(|(proto, s, d)| L4Facts { proto, src_port: s, dst_port: d, flags: 0x02 }),
        }
    }

    #[test]
    fn packet_predicates() {
        let p: Facts<NoSession> = Facts::packet(pkt("10.0.0.1", "192.168.1.1", Some((Proto::Tcp, 5000, 443))));
        let v = |src: &str| Filter::new(src).unwrap().eval(&p);
        assert_eq!(v("tcp.port = 443 and ipv4.addr in 192.168.0.0/16"), Verdict::Match);
        assert_eq!(v("tcp.port != 443"), Verdict::NoMatch);
        assert_eq!(v("tcp.syn and not tcp.ack"), Verdict::Match);
        assert_eq!(v("udp or ipv6"), Verdict::NoMatch);
        assert_eq!(v("tls"), Verdict::Undecided);
        assert_eq!(v("udp and tls"), Verdict::NoMatch);
        assert_eq!(v("tcp and tls.sni = 'x'"), Verdict::Undecided);
    }
}
