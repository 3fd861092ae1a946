//! [`Ast`] → typed [`Expr`]: names resolved against the published field
//! list (`weir_protocols::all_fields`), values checked against field types,
//! regexes compiled once to validate them.
//!
//! Lowering of negative operators: `f != v` is `proto and not (f = v)` and
//! `f not contains v` is `proto and not (f contains v)`, where `proto` is
//! the field's protocol. So a field predicate, positive or not, holds only
//! when its protocol is present (`http.host != 'a'` never matches DNS), and
//! `!=` on a combined field means "neither endpoint" (Wireshark's `!=`).

use crate::ast::{Ast, Op, Value};
use crate::error::{Error, ErrorKind, Result, Span};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;
use weir_protocols::registry::Protocol;
use weir_protocols::{FieldType, Transition};

/// A protocol predicate.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Proto {
    Ethernet,
    Vlan,
    Ipv4,
    Ipv6,
    Tcp,
    Udp,
    L7(Protocol),
}

impl Proto {
    pub fn from_name(name: &str) -> Option<Proto> {
        Some(match name {
            "ethernet" | "eth" => Proto::Ethernet,
            "vlan" => Proto::Vlan,
            "ipv4" => Proto::Ipv4,
            "ipv6" => Proto::Ipv6,
            "tcp" => Proto::Tcp,
            "udp" => Proto::Udp,
            _ => Proto::L7(Protocol::from_name(name)?),
        })
    }
    pub fn name(self) -> &'static str {
        match self {
            Proto::Ethernet => "ethernet",
            Proto::Vlan => "vlan",
            Proto::Ipv4 => "ipv4",
            Proto::Ipv6 => "ipv6",
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
            Proto::L7(p) => p.name(),
        }
    }
    /// When the predicate can first be decided.
    pub fn stage(self) -> Stage {
        match self {
            Proto::L7(_) => Stage::ProtoDiscovered,
            _ => Stage::Packet,
        }
    }
}

/// The transition at which a predicate can first be evaluated.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Stage {
    /// From the headers of a packet (`L4FirstPacket` for a connection).
    Packet,
    /// When the L7 protocol is identified (`L7OnDisc`).
    ProtoDiscovered,
    /// When a session's headers are parsed (`L7EndHeaders`).
    HeadersParsed,
    /// When a session ends (`L7EndSession`).
    SessionEnd,
    /// A user-defined predicate: decided by user code.
    Custom,
}

impl Stage {
    pub fn name(self) -> &'static str {
        match self {
            Stage::Packet => "packet",
            Stage::ProtoDiscovered => "proto",
            Stage::HeadersParsed => "headers",
            Stage::SessionEnd => "session",
            Stage::Custom => "custom",
        }
    }
    fn from_transition(t: Transition) -> Stage {
        match t {
            Transition::L7OnDisc => Stage::ProtoDiscovered,
            Transition::L7InHeaders | Transition::L7EndHeaders => Stage::HeadersParsed,
            Transition::L7EndSession | Transition::L7InPayload => Stage::SessionEnd,
            _ => Stage::Packet,
        }
    }
}

/// A resolved field.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Field {
    pub name: String,
    pub ty: FieldType,
    pub proto: Proto,
    pub stage: Stage,
}

impl Field {
    pub fn lookup(name: &str) -> Option<Field> {
        let def = weir_protocols::fields::field(name)?;
        let proto = Proto::from_name(name.split('.').next()?)?;
        Some(Field { name: def.name.to_string(), ty: def.ty, proto, stage: Stage::from_transition(def.available_at) })
    }
    /// `ipv4.addr`, `tcp.port`, ...: true when either endpoint's value is tested.
    pub fn is_combined(&self) -> bool {
        self.name.ends_with(".addr") || self.name.ends_with(".port")
    }
    /// Whether a connection carries at most one value of this field (so two
    /// equality tests with different values are mutually exclusive).
    pub fn single_valued(&self) -> bool {
        if self.is_combined() || self.name == "vlan.id" {
            return false;
        }
        match self.proto {
            // One handshake per connection.
            Proto::L7(Protocol::Tls | Protocol::Quic | Protocol::Ssh) => true,
            // Many transactions per connection.
            Proto::L7(Protocol::Http | Protocol::Dns) => false,
            _ => true,
        }
    }
}

fn type_name(ty: FieldType) -> &'static str {
    match ty {
        FieldType::Bool => "bool",
        FieldType::U8 => "u8",
        FieldType::U16 => "u16",
        FieldType::U32 => "u32",
        FieldType::U64 => "u64",
        FieldType::Str => "string",
        FieldType::Bytes => "bytes",
        FieldType::Ipv4Addr => "IPv4 address",
        FieldType::Ipv6Addr => "IPv6 address",
    }
}

fn int_max(ty: FieldType) -> Option<u64> {
    match ty {
        FieldType::U8 => Some(u8::MAX.into()),
        FieldType::U16 => Some(u16::MAX.into()),
        FieldType::U32 => Some(u32::MAX.into()),
        FieldType::U64 => Some(u64::MAX),
        _ => None,
    }
}

/// An address prefix with host bits cleared.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Prefix {
    pub addr: IpAddr,
    pub len: u8,
}

impl Prefix {
    /// `len` is clamped to the address length.
    pub fn new(addr: IpAddr, len: u8) -> Prefix {
        let len = len.min(if addr.is_ipv4() { 32 } else { 128 });
        let addr = match addr {
            IpAddr::V4(a) => {
                let mask = if len == 0 { 0 } else { u32::MAX << (32 - u32::from(len.min(32))) };
                IpAddr::V4((u32::from(a) & mask).into())
            }
            IpAddr::V6(a) => {
                let mask = if len == 0 { 0 } else { u128::MAX << (128 - u32::from(len.min(128))) };
                IpAddr::V6((u128::from(a) & mask).into())
            }
        };
        Prefix { addr, len }
    }
    /// The inclusive range of addresses as integers (IPv4 widened to u128).
    pub fn range(&self) -> (u128, u128) {
        let (bits, base) = match self.addr {
            IpAddr::V4(a) => (32u32, u128::from(u32::from(a))),
            IpAddr::V6(a) => (128, u128::from(a)),
        };
        let host = bits.saturating_sub(u32::from(self.len));
        let span = if host == 128 { u128::MAX } else { (1u128 << host) - 1 };
        (base, base | span)
    }
    pub fn contains(&self, ip: IpAddr) -> bool {
        let v = match (ip, self.addr) {
            (IpAddr::V4(a), IpAddr::V4(_)) => u128::from(u32::from(a)),
            (IpAddr::V6(a), IpAddr::V6(_)) => u128::from(a),
            _ => return false,
        };
        let (lo, hi) = self.range();
        lo <= v && v <= hi
    }
    fn max_len(&self) -> u8 {
        if self.addr.is_ipv4() {
            32
        } else {
            128
        }
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.len == self.max_len() {
            write!(f, "{}", self.addr)
        } else {
            write!(f, "{}/{}", self.addr, self.len)
        }
    }
}

/// What a field predicate tests. All tests are positive: negation is an
/// explicit `not` in the expression.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Test {
    /// A boolean field is set (`tcp.syn`), or equals the value.
    Bool(bool),
    /// Integer in the inclusive range `lo..=hi` (`=` is `v..=v`, `<` is `0..=v-1`, ...).
    IntRange { lo: u64, hi: u64 },
    /// Integer in a set (`in {..}`), sorted and deduplicated.
    IntSet(Vec<u64>),
    /// Address within any of these prefixes (one for `=`/`in`, several for a set).
    Prefixes(Vec<Prefix>),
    /// String equal to one of these (sorted, deduplicated).
    StrEq(Vec<String>),
    /// Value contains these bytes.
    Contains(Vec<u8>),
    /// Value matches this regular expression (unanchored, like Wireshark).
    Regex(RegexPattern),
}

/// A regular expression, compiled on first use. Compares, hashes and
/// serialises as its source text.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RegexPattern {
    source: String,
    #[serde(skip)]
    compiled: std::sync::OnceLock<Option<regex::bytes::Regex>>,
}

impl RegexPattern {
    /// Largest compiled program accepted (bounds memory for hostile filters).
    pub const SIZE_LIMIT: usize = 1 << 20;

    pub fn new(source: &str) -> std::result::Result<RegexPattern, String> {
        let re = Self::compile(source)?;
        Ok(RegexPattern { source: source.to_string(), compiled: std::sync::OnceLock::from(Some(re)) })
    }
    fn compile(source: &str) -> std::result::Result<regex::bytes::Regex, String> {
        regex::bytes::RegexBuilder::new(source)
            .size_limit(Self::SIZE_LIMIT)
            .build()
            .map_err(|e| e.to_string().lines().last().unwrap_or("").trim().to_string())
    }
    pub fn as_str(&self) -> &str {
        &self.source
    }
    /// Whether `hay` matches; a pattern that no longer compiles (only
    /// possible for a hand-edited serialised IR) matches nothing.
    pub fn is_match(&self, hay: &[u8]) -> bool {
        self.compiled
            .get_or_init(|| Self::compile(&self.source).ok())
            .as_ref()
            .is_some_and(|re| re.is_match(hay))
    }
}

impl PartialEq for RegexPattern {
    fn eq(&self, o: &Self) -> bool {
        self.source == o.source
    }
}
impl Eq for RegexPattern {}
impl std::hash::Hash for RegexPattern {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.source.hash(h)
    }
}
impl PartialOrd for RegexPattern {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for RegexPattern {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.source.cmp(&o.source)
    }
}

/// A typed predicate.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Pred {
    Proto(Proto),
    Field { field: Field, test: Test },
    /// A user-defined predicate, by name.
    User(String),
}

impl Pred {
    pub fn stage(&self) -> Stage {
        match self {
            Pred::Proto(p) => p.stage(),
            Pred::Field { field, .. } => field.stage,
            Pred::User(_) => Stage::Custom,
        }
    }
    /// The protocol whose presence this predicate (when true) implies.
    pub fn implied_proto(&self) -> Option<Proto> {
        match self {
            Pred::Proto(p) => Some(*p),
            Pred::Field { field, .. } => Some(field.proto),
            Pred::User(_) => None,
        }
    }
}

impl fmt::Display for Pred {
    /// Filter syntax that parses back to this predicate.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pred::Proto(p) => f.write_str(p.name()),
            Pred::User(n) => f.write_str(n),
            Pred::Field { field, test } => {
                let n = &field.name;
                match test {
                    Test::Bool(true) => f.write_str(n),
                    Test::Bool(false) => write!(f, "{n} = false"),
                    Test::IntRange { lo, hi } if lo == hi => write!(f, "{n} = {lo}"),
                    Test::IntRange { lo, hi } => write!(f, "{n} in {lo}..={hi}"),
                    Test::IntSet(v) => {
                        let items: Vec<String> = v.iter().map(u64::to_string).collect();
                        write!(f, "{n} in {{{}}}", items.join(", "))
                    }
                    Test::Prefixes(p) if p.len() == 1 => {
                        let op = if p[0].len == p[0].max_len() { "=" } else { "in" };
                        write!(f, "{n} {op} {}", p[0])
                    }
                    Test::Prefixes(p) => {
                        let items: Vec<String> = p.iter().map(|p| format!("{}/{}", p.addr, p.len)).collect();
                        write!(f, "{n} in {{{}}}", items.join(", "))
                    }
                    Test::StrEq(v) if v.len() == 1 => write!(f, "{n} = {}", Value::Str(v[0].clone())),
                    Test::StrEq(v) => {
                        let items: Vec<String> = v.iter().map(|s| Value::Str(s.clone()).to_string()).collect();
                        write!(f, "{n} in {{{}}}", items.join(", "))
                    }
                    Test::Contains(b) => match std::str::from_utf8(b) {
                        Ok(s) if !s.chars().any(char::is_control) => write!(f, "{n} contains {}", Value::Str(s.into())),
                        _ => write!(f, "{n} contains {}", Value::Bytes(b.clone())),
                    },
                    Test::Regex(r) => write!(f, "{n} ~ {}", Value::Str(r.as_str().to_string())),
                }
            }
        }
    }
}

/// A typed filter expression.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Pred(Pred),
}

/// How bare names that are neither protocols nor fields are treated.
#[derive(Clone, Debug, Default)]
pub struct TypeOptions {
    /// Names of user-defined predicates. `None` accepts any unknown bare
    /// identifier (without a dot) as a user predicate; `Some(list)` makes
    /// any other name an `UnknownProtocol` error.
    pub user_predicates: Option<Vec<String>>,
}

/// Resolves and type-checks an AST.
pub fn resolve(ast: &Ast, opts: &TypeOptions) -> Result<Expr> {
    // Iterative over the user-supplied tree: (node, source of its spans).
    resolve_node(ast, opts, None)
}

fn resolve_node(ast: &Ast, opts: &TypeOptions, src: Option<&str>) -> Result<Expr> {
    // Depth is bounded by the parser's nesting limit, so recursion here is bounded.
    let err = |kind: ErrorKind, span: Span| Error::new(kind, span, src.unwrap_or(""));
    Ok(match ast {
        Ast::Or { items, .. } => Expr::Or(items.iter().map(|a| resolve_node(a, opts, src)).collect::<Result<_>>()?),
        Ast::And { items, .. } => Expr::And(items.iter().map(|a| resolve_node(a, opts, src)).collect::<Result<_>>()?),
        Ast::Not { inner, .. } => Expr::Not(Box::new(resolve_node(inner, opts, src)?)),
        Ast::File { full_path, lines, .. } => {
            // Each line is resolved against its own text, and errors name the file and line.
            let items = lines
                .iter()
                .map(|l| {
                    resolve_node(&l.ast, opts, Some(&l.text)).map_err(|mut e| {
                        if e.origin.is_none() {
                            e.origin = Some((full_path.clone(), l.line));
                        }
                        e
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            if items.len() == 1 {
                items.into_iter().next().unwrap_or(Expr::Or(vec![]))
            } else {
                Expr::Or(items)
            }
        }
        Ast::Name { name, span } => {
            if let Some(p) = Proto::from_name(name) {
                Expr::Pred(Pred::Proto(p))
            } else if let Some(field) = Field::lookup(name) {
                if field.ty != FieldType::Bool {
                    return Err(err(
                        ErrorKind::TypeMismatch {
                            field: name.clone(),
                            ty: type_name(field.ty),
                            problem: "a bare field must be boolean; compare it with a value".into(),
                        },
                        *span,
                    ));
                }
                Expr::Pred(Pred::Field { field, test: Test::Bool(true) })
            } else if name.contains('.') {
                return Err(err(unknown_field(name), *span));
            } else if opts.user_predicates.as_ref().is_none_or(|u| u.iter().any(|n| n == name)) {
                Expr::Pred(Pred::User(name.clone()))
            } else {
                return Err(err(ErrorKind::UnknownProtocol(name.clone()), *span));
            }
        }
        Ast::Compare { field, field_span, op, op_span, value, value_span } => {
            let Some(f) = Field::lookup(field) else {
                let kind = if field.contains('.') {
                    unknown_field(field)
                } else if Proto::from_name(field).is_some() {
                    ErrorKind::TypeMismatch {
                        field: field.clone(),
                        ty: "protocol",
                        problem: "a protocol is a predicate on its own; compare one of its fields (e.g. `tcp.port`)".into(),
                    }
                } else {
                    ErrorKind::UnknownProtocol(field.clone())
                };
                return Err(err(kind, *field_span));
            };
            let test = typed_test(&f, *op, value, *value_span, *op_span).map_err(|(k, s)| err(k, s))?;
            let pred = Expr::Pred(Pred::Field { field: f.clone(), test });
            match op {
                Op::Ne | Op::NotContains => Expr::And(vec![Expr::Pred(Pred::Proto(f.proto)), Expr::Not(Box::new(pred))]),
                _ => pred,
            }
        }
    })
}

/// Resolves an AST whose spans point into `src`, so errors show it.
pub fn resolve_source(ast: &Ast, src: &str, opts: &TypeOptions) -> Result<Expr> {
    resolve_node(ast, opts, Some(src))
}

fn unknown_field(name: &str) -> ErrorKind {
    let all = weir_protocols::all_fields();
    let proto = name.split('.').next().unwrap_or("");
    // Suggest the closest name (edit distance ≤ 3), preferring the same protocol.
    let best = all
        .iter()
        .map(|f| (edit_distance(f.name, name), !f.name.starts_with(proto), f.name))
        .filter(|(d, _, _)| *d <= 3)
        .min();
    ErrorKind::UnknownField { name: name.to_string(), suggestion: best.map(|(_, _, n)| n.to_string()) }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

type TestResult = std::result::Result<Test, (ErrorKind, Span)>;

fn typed_test(f: &Field, op: Op, value: &Value, vspan: Span, ospan: Span) -> TestResult {
    let mismatch = |problem: String, span: Span| (ErrorKind::TypeMismatch { field: f.name.clone(), ty: type_name(f.ty), problem }, span);
    let op_unsupported = || mismatch(format!("operator `{}` does not apply to it", op.as_str()), ospan);
    let value_kind = |v: &Value| match v {
        Value::Int(_) => "an integer",
        Value::Range { .. } => "a range",
        Value::Bool(_) => "a boolean",
        Value::Ipv4 { .. } => "an IPv4 address",
        Value::Ipv6 { .. } => "an IPv6 address",
        Value::Str(_) => "a string",
        Value::Bytes(_) => "a byte string",
        Value::Set(_) => "a set",
    };
    let wrong_value = |v: &Value, span: Span| mismatch(format!("{} cannot be compared with it", value_kind(v)), span);
    match f.ty {
        FieldType::Bool => match (op, value) {
            (Op::Eq | Op::Ne, Value::Bool(b)) => Ok(Test::Bool(*b)),
            (Op::Eq | Op::Ne, Value::Int(n @ (0 | 1))) => Ok(Test::Bool(*n == 1)),
            (Op::Eq | Op::Ne, v) => Err(wrong_value(v, vspan)),
            _ => Err(op_unsupported()),
        },
        FieldType::U8 | FieldType::U16 | FieldType::U32 | FieldType::U64 => {
            let max = int_max(f.ty).unwrap_or(u64::MAX);
            let fits = |n: u64, span: Span| {
                if n > max {
                    Err((ErrorKind::OutOfRange { field: f.name.clone(), value: n.to_string(), ty: type_name(f.ty) }, span))
                } else {
                    Ok(n)
                }
            };
            let empty = |what: String| (ErrorKind::ImpossibleRange(what), vspan);
            match (op, value) {
                (Op::Eq | Op::Ne, Value::Int(n)) => {
                    let n = fits(*n, vspan)?;
                    Ok(Test::IntRange { lo: n, hi: n })
                }
                (Op::Lt, Value::Int(n)) if *n == 0 => Err(empty(format!("no {} is < 0", type_name(f.ty)))),
                (Op::Lt, Value::Int(n)) => Ok(Test::IntRange { lo: 0, hi: (*n - 1).min(max) }),
                (Op::Le, Value::Int(n)) => Ok(Test::IntRange { lo: 0, hi: (*n).min(max) }),
                (Op::Gt, Value::Int(n)) if *n >= max => Err(empty(format!("no {} is > {n}", type_name(f.ty)))),
                (Op::Gt, Value::Int(n)) => Ok(Test::IntRange { lo: *n + 1, hi: max }),
                (Op::Ge, Value::Int(n)) => Ok(Test::IntRange { lo: fits(*n, vspan)?, hi: max }),
                (Op::In | Op::Eq | Op::Ne, Value::Range { lo, hi, inclusive }) => {
                    let hi = if *inclusive { *hi } else { *hi - 1 };
                    if *lo > max {
                        return Err(empty(format!("{} holds no value above {max}", type_name(f.ty))));
                    }
                    Ok(Test::IntRange { lo: *lo, hi: hi.min(max) })
                }
                (Op::In | Op::Eq | Op::Ne, Value::Set(items)) => {
                    let mut v = Vec::new();
                    for (item, span) in items {
                        match item {
                            Value::Int(n) => v.push(fits(*n, *span)?),
                            other => return Err(wrong_value(other, *span)),
                        }
                    }
                    v.sort_unstable();
                    v.dedup();
                    Ok(if v.len() == 1 { Test::IntRange { lo: v[0], hi: v[0] } } else { Test::IntSet(v) })
                }
                (Op::Eq | Op::Ne | Op::Lt | Op::Le | Op::Gt | Op::Ge | Op::In, v) => Err(wrong_value(v, vspan)),
                _ => Err(op_unsupported()),
            }
        }
        FieldType::Ipv4Addr | FieldType::Ipv6Addr => {
            let v4 = f.ty == FieldType::Ipv4Addr;
            let prefix = |v: &Value, span: Span| match (v, v4) {
                (Value::Ipv4 { addr, len }, true) => Ok(Prefix::new(IpAddr::V4(*addr), len.unwrap_or(32))),
                (Value::Ipv6 { addr, len }, false) => Ok(Prefix::new(IpAddr::V6(*addr), len.unwrap_or(128))),
                (other, _) => Err(wrong_value(other, span)),
            };
            match (op, value) {
                (Op::Eq | Op::Ne | Op::In, Value::Set(items)) => {
                    let mut v = items.iter().map(|(i, s)| prefix(i, *s)).collect::<std::result::Result<Vec<_>, _>>()?;
                    v.sort_unstable();
                    v.dedup();
                    Ok(Test::Prefixes(v))
                }
                (Op::Eq | Op::Ne | Op::In, v) => Ok(Test::Prefixes(vec![prefix(v, vspan)?])),
                _ => Err(op_unsupported()),
            }
        }
        FieldType::Str | FieldType::Bytes => match (op, value) {
            (Op::Eq | Op::Ne, Value::Str(s)) => Ok(Test::StrEq(vec![s.clone()])),
            (Op::In | Op::Eq | Op::Ne, Value::Set(items)) => {
                let mut v = Vec::new();
                for (item, span) in items {
                    match item {
                        Value::Str(s) => v.push(s.clone()),
                        other => return Err(wrong_value(other, *span)),
                    }
                }
                v.sort_unstable();
                v.dedup();
                Ok(Test::StrEq(v))
            }
            (Op::Contains | Op::NotContains, Value::Str(s)) => Ok(Test::Contains(s.as_bytes().to_vec())),
            (Op::Contains | Op::NotContains, Value::Bytes(b)) => Ok(Test::Contains(b.clone())),
            (Op::Matches, Value::Str(r)) => {
                let re = RegexPattern::new(r).map_err(|e| (ErrorKind::InvalidRegex(e), vspan))?;
                Ok(Test::Regex(re))
            }
            (Op::Eq | Op::Ne | Op::In | Op::Contains | Op::NotContains | Op::Matches, v) => Err(wrong_value(v, vspan)),
            _ => Err(op_unsupported()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;

    fn kind(src: &str) -> String {
        let ast = parse(src).unwrap();
        resolve_source(&ast, src, &TypeOptions::default()).expect_err(src).kind.name().into()
    }

    #[test]
    fn type_errors() {
        assert_eq!(kind("tcp.port contains 'x'"), "TypeMismatch");
        assert_eq!(kind("tls.sni < 3"), "TypeMismatch");
        assert_eq!(kind("ipv4.addr = 2001:db8::1"), "TypeMismatch");
        assert_eq!(kind("tcp.port = 70000"), "OutOfRange");
        assert_eq!(kind("tls.snii = 'a'"), "UnknownField");
        assert_eq!(kind("tls.sni ~ '(unclosed'"), "InvalidRegex");
        assert_eq!(kind("tcp.port < 0"), "ImpossibleRange");
        assert_eq!(kind("ipv4.ttl > 255"), "ImpossibleRange");
        assert_eq!(kind("tls.sni"), "TypeMismatch");
        assert_eq!(kind("foo.bar"), "UnknownField");
    }

    #[test]
    fn suggestion() {
        let src = "tls.snii = 'a'";
        let e = resolve_source(&parse(src).unwrap(), src, &TypeOptions::default()).unwrap_err();
        assert_eq!(e.to_string(), "error: unknown field `tls.snii` (did you mean `tls.sni`?)\n  |\n1 | tls.snii = 'a'\n  | ^^^^^^^^");
    }

    #[test]
    fn user_predicates() {
        let opts = TypeOptions { user_predicates: Some(vec!["video".into()]) };
        assert!(resolve(&parse("tls and video").unwrap(), &opts).is_ok());
        assert_eq!(resolve(&parse("tls and audio").unwrap(), &opts).unwrap_err().kind.name(), "UnknownProtocol");
    }

    #[test]
    fn prefix_normalised() {
        let p = Prefix::new("10.1.2.3".parse().unwrap(), 8);
        assert_eq!(p.to_string(), "10.0.0.0/8");
        assert!(p.contains("10.200.0.1".parse().unwrap()));
        assert!(!p.contains("11.0.0.1".parse().unwrap()));
        assert_eq!(Prefix::new("::".parse().unwrap(), 0).range(), (0, u128::MAX));
    }
}
