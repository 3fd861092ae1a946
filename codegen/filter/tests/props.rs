//! Property tests of the filter language (STYLE.md convention 10):
//!
//! - (a) random filter text from the grammar (real fields, type-correct
//!   values, random nesting, both spellings of every operator): print →
//!   parse gives the same AST, printing is a fixpoint, and the DNF text
//!   normalises to the same DNF;
//! - (b) the DNF is equivalent to the typed expression on random *final*
//!   facts, and never contradicts a decided expression on partial facts;
//! - (c) a trie of 1–20 filters gives each filter its DNF's verdict on
//!   final facts and refines it on partial facts;
//! - (d) parsing arbitrary text never panics (errors display too).
//!
//! Randomness is seeded: every run replays the same cases unless
//! `PROPTEST_RNG_SEED=<u64>` picks another seed; a failure prints its
//! minimal input (add it to the corpus as a regression case). Run with
//! `-- --nocapture` to see the verdict and set-node statistics.
//! Facts are *consistent*: the L7 protocol runs over the packet's
//! transport, sessions belong to that protocol, TLS/QUIC/SSH have at most
//! one handshake; values come from the same small pools as the filters so
//! that predicates actually match.

mod common;

use common::{MapSession, SessionValue};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use weir_filter::dnf::Dnf;
use weir_filter::eval::{eval_dnf, eval_expr, L4Facts};
use weir_filter::parse::parse;
use weir_filter::trie::{Branch, PredicateTrie, TrieOptions};
use weir_filter::typed::Proto;
use weir_filter::{Facts, Filter, L7State, PacketFacts, Verdict};
use weir_protocols::registry::Protocol;
use weir_wire::VlanStack;

fn config(cases: u32) -> Config {
    let mut c = Config::with_cases(cases);
    // The fixed seed makes every run replay the same cases; a failure prints
    // its minimal input, so no regression file is kept.
    c.failure_persistence = None;
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        c.rng_seed = RngSeed::Fixed(0x7765_6972_f11e);
    }
    c
}

// ------------------------------------------------------------------ pools

const INT_FIELDS: &[(&str, &[u64])] = &[
    ("tcp.port", &[22, 53, 80, 443, 8080]),
    ("tcp.src_port", &[22, 80, 443, 40000]),
    ("tcp.dst_port", &[22, 53, 80, 443]),
    ("udp.port", &[53, 443, 5353]),
    ("udp.src_port", &[53, 40000]),
    ("udp.dst_port", &[53, 443]),
    ("ipv4.ttl", &[1, 64, 128, 255]),
    ("ipv6.hop_limit", &[1, 64, 255]),
    ("ipv4.protocol", &[1, 6, 17]),
    ("tcp.flags", &[2, 16, 17, 18]),
    ("vlan.id", &[10, 20]),
    ("tls.version", &[771, 772]),
    ("quic.version", &[1, 0xff00_001d]),
    ("http.status", &[200, 404, 503]),
    ("dns.qtype", &[1, 28]),
    ("dns.rcode", &[0, 3]),
];

fn int_max(field: &str) -> u64 {
    match field {
        "ipv4.ttl" | "ipv6.hop_limit" | "ipv4.protocol" | "tcp.flags" | "dns.rcode" => 255,
        "quic.version" => u32::MAX.into(),
        _ => 65535,
    }
}

const STR_FIELDS: &[(&str, &[&str])] = &[
    ("tls.sni", &["a.com", "b.com", "video.example.com", "www.netflix.com"]),
    ("quic.sni", &["a.com", "www.google.com"]),
    ("http.host", &["a.com", "b.com", "video.example.com"]),
    ("dns.qname", &["a.com", "example.com", "www.netflix.com"]),
    ("tls.alpn", &["h2", "http/1.1"]),
    ("tls.cipher", &["TLS_AES_128_GCM_SHA256", "TLS_CHACHA20_POLY1305_SHA256"]),
    ("tls.ja3", &["e7d705a3", "0c3a8b1f"]),
    ("tls.ja3s", &["eb1d94da", "15af977c"]),
    ("tls.ja4", &["t13d1516h2_8daaf6152771", "t12d0910h1_c866b44c5a26"]),
    ("http.method", &["GET", "POST"]),
    ("http.uri", &["/", "/api/v1", "/index.html"]),
    ("http.user_agent", &["curl/8.5.0", "Mozilla/5.0"]),
    ("http.content_type", &["text/html", "application/json"]),
    ("ssh.client_version", &["SSH-2.0-OpenSSH_9.6", "SSH-2.0-PuTTY"]),
    ("ssh.server_version", &["SSH-2.0-OpenSSH_9.6", "SSH-2.0-dropbear"]),
];

const V4: &[&str] = &["10.0.0.1", "10.0.0.2", "192.168.1.1", "8.8.8.8"];
const V4_PREFIXES: &[&str] = &["10.0.0.0/8", "10.0.0.0/30", "192.168.0.0/16", "0.0.0.0/0", "8.8.8.8/32"];
const V6: &[&str] = &["2001:db8::1", "2001:db8::2", "fe80::1", "::1"];
const V6_PREFIXES: &[&str] = &["2001:db8::/32", "fe80::/10", "::/0", "2001:db8::/127"];
const PROTOS: &[&str] = &["tcp", "udp", "ipv4", "ipv6", "tls", "http", "dns", "quic", "ssh", "ethernet", "eth", "vlan"];
const BOOLS: &[&str] = &["tcp.syn", "tcp.ack", "tcp.fin", "tcp.rst"];
const USERS: &[&str] = &["u1", "u2"];
const PORTS: &[u16] = &[22, 53, 80, 443, 5353, 8080, 40000];

fn pick<T: Copy>(pool: &[T], i: &prop::sample::Index) -> T {
    pool[i.index(pool.len())]
}

/// A filter string literal in either quote style.
fn quote(s: &str, double: bool) -> String {
    let q = if double { '"' } else { '\'' };
    let mut out = String::from(q);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(q);
    out
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .map(|c| if "\\.+*?()|[]{}^$#&-~".contains(c) { format!("\\{c}") } else { c.to_string() })
        .collect()
}

fn int_text(v: u64, hex: bool) -> String {
    if hex {
        format!("0x{v:x}")
    } else {
        v.to_string()
    }
}

// ------------------------------------------------------------- generators

type Idx = prop::sample::Index;

fn int_leaf() -> impl Strategy<Value = String> {
    (any::<Idx>(), 0u8..12, any::<Idx>(), any::<Idx>(), any::<bool>()).prop_map(|(f, op, a, b, hex)| {
        let (name, pool) = pick(INT_FIELDS, &f);
        let (x, y) = (pick(pool, &a), pick(pool, &b));
        let (lo, hi) = (x.min(y), x.max(y));
        let max = int_max(name);
        let t = |v| int_text(v, hex);
        match op {
            0 => format!("{name} = {}", t(x)),
            1 => format!("{name}=={}", t(x)),
            2 => format!("{name} != {}", t(x)),
            3 if x > 0 => format!("{name} < {}", t(x)),
            3 => format!("{name} <= {}", t(x)),
            4 => format!("{name} <= {}", t(x)),
            5 if x < max => format!("{name} > {}", t(x)),
            5 => format!("{name} >= {}", t(x)),
            6 => format!("{name} >= {}", t(x)),
            7 if lo < hi => format!("{name} in {}..{}", t(lo), t(hi)),
            7 | 8 => format!("{name} in {}..={}", t(lo), t(hi)),
            9 => format!("{name} in {{{}, {}}}", t(x), t(y)),
            10 => format!("{name} = {{{}}}", t(x)),
            _ => format!("{name} in {{{} {}}}", t(x), t(y)),
        }
    })
}

fn addr_leaf() -> impl Strategy<Value = String> {
    (any::<bool>(), 0u8..3, 0u8..6, any::<Idx>(), any::<Idx>(), any::<bool>()).prop_map(|(v6, field, op, a, b, prefix)| {
        let fam = if v6 { "ipv6" } else { "ipv4" };
        let name = format!("{fam}.{}", ["addr", "src_addr", "dst_addr"][usize::from(field)]);
        let pool = match (v6, prefix) {
            (false, false) => V4,
            (false, true) => V4_PREFIXES,
            (true, false) => V6,
            (true, true) => V6_PREFIXES,
        };
        let (x, y) = (pick(pool, &a), pick(if v6 { V6 } else { V4 }, &b));
        match op {
            0 => format!("{name} = {x}"),
            1 => format!("{name} != {x}"),
            2 => format!("{name} in {x}"),
            3 => format!("{name} in {{{x}, {y}}}"),
            4 => format!("{name} == {x}"),
            _ => format!("{name} = {{{x}}}"),
        }
    })
}

fn str_leaf() -> impl Strategy<Value = String> {
    (any::<Idx>(), 0u8..10, any::<Idx>(), any::<Idx>(), any::<Idx>(), any::<Idx>(), any::<bool>()).prop_map(
        |(f, op, a, b, s0, s1, dq)| {
            let (name, pool) = pick(STR_FIELDS, &f);
            let (x, y) = (pick(pool, &a), pick(pool, &b));
            // A substring of x (on char boundaries; the pools are ASCII).
            let (i, j) = (s0.index(x.len() + 1), s1.index(x.len() + 1));
            let sub = &x[i.min(j)..i.max(j)];
            match op {
                0 => format!("{name} = {}", quote(x, dq)),
                1 => format!("{name} == {}", quote(x, dq)),
                2 => format!("{name} != {}", quote(x, dq)),
                3 => format!("{name} in {{{}, {}}}", quote(x, dq), quote(y, !dq)),
                4 => format!("{name} contains {}", quote(sub, dq)),
                5 => format!("{name} not contains {}", quote(sub, dq)),
                6 if !sub.is_empty() => {
                    let hex: Vec<String> = sub.bytes().map(|b| format!("{b:02x}")).collect();
                    format!("{name} contains |{}|", hex.join(" "))
                }
                6 | 7 => format!("{name} ~ {}", quote(&regex_escape(sub), dq)),
                8 => format!("{name} matches {}", quote(&format!("^{}", regex_escape(sub)), dq)),
                _ => format!("{name} ~ {}", quote(&format!("(?i){}$", regex_escape(&sub.to_uppercase())), dq)),
            }
        },
    )
}

fn bool_leaf() -> impl Strategy<Value = String> {
    (any::<Idx>(), 0u8..6).prop_map(|(f, form)| {
        let name = pick(BOOLS, &f);
        match form {
            0 | 1 => name.to_string(),
            2 => format!("{name} = true"),
            3 => format!("{name} = false"),
            4 => format!("{name} == 1"),
            _ => format!("{name}=0"),
        }
    })
}

fn leaf() -> BoxedStrategy<String> {
    prop_oneof![
        3 => any::<Idx>().prop_map(|i| pick(PROTOS, &i).to_string()),
        1 => bool_leaf(),
        3 => int_leaf(),
        2 => addr_leaf(),
        4 => str_leaf(),
        1 => any::<Idx>().prop_map(|i| pick(USERS, &i).to_string()),
    ]
    .boxed()
}

/// Filter text: a tree of and/or/not/parentheses over leaves, each operator
/// in a random spelling.
#[derive(Clone, Debug)]
enum G {
    Leaf(String),
    And(Vec<G>, bool),
    Or(Vec<G>, bool),
    Not(Box<G>, bool),
    Paren(Box<G>),
}

impl G {
    fn render(&self) -> String {
        match self {
            G::Leaf(s) => s.clone(),
            G::Paren(g) => format!("({})", g.render()),
            G::Not(g, bang) => {
                let inner = match **g {
                    G::And(..) | G::Or(..) => format!("({})", g.render()),
                    _ => g.render(),
                };
                if *bang {
                    format!("!{inner}")
                } else {
                    format!("not {inner}")
                }
            }
            G::And(items, sym) => items
                .iter()
                .map(|g| match g {
                    G::Or(..) => format!("({})", g.render()),
                    _ => g.render(),
                })
                .collect::<Vec<_>>()
                .join(if *sym { " && " } else { " and " }),
            G::Or(items, sym) => items.iter().map(G::render).collect::<Vec<_>>().join(if *sym { " || " } else { " or " }),
        }
    }
}

fn filter_text() -> impl Strategy<Value = String> {
    leaf()
        .prop_map(G::Leaf)
        .prop_recursive(4, 24, 4, |inner| {
            prop_oneof![
                (prop::collection::vec(inner.clone(), 2..4), any::<bool>()).prop_map(|(v, s)| G::And(v, s)),
                (prop::collection::vec(inner.clone(), 2..4), any::<bool>()).prop_map(|(v, s)| G::Or(v, s)),
                (inner.clone(), any::<bool>()).prop_map(|(g, b)| G::Not(Box::new(g), b)),
                inner.prop_map(|g| G::Paren(Box::new(g))),
            ]
        })
        .prop_map(|g| g.render())
}

/// Filters that share a field, so that a trie groups them into set nodes.
fn sibling_text() -> impl Strategy<Value = String> {
    (0u8..8, any::<Idx>(), any::<Idx>(), any::<Idx>()).prop_map(|(kind, a, b, c)| {
        let sni = pick(STR_FIELDS[0].1, &a);
        let host = pick(STR_FIELDS[2].1, &a);
        match kind {
            0 => format!("tls.sni = '{sni}'"),
            1 => format!("ipv4.addr in {}", pick(V4_PREFIXES, &b)),
            2 => format!("http.host contains '{}'", &host[host.len() / 2..]),
            3 => format!("tls.sni ~ {}", quote(&regex_escape(&sni[..sni.len().min(5)]), false)),
            4 => format!("tcp.port = {}", pick(PORTS, &b)),
            5 => format!("dns.qname in {{'{}', '{}'}}", pick(STR_FIELDS[3].1, &b), pick(STR_FIELDS[3].1, &c)),
            6 => format!("ipv6.addr in {} and tcp.port = {}", pick(V6_PREFIXES, &b), pick(PORTS, &c)),
            _ => format!("tls.sni = '{sni}' and tcp.port = {}", pick(PORTS, &c)),
        }
    })
}

fn trie_filter() -> BoxedStrategy<String> {
    prop_oneof![1 => filter_text(), 1 => sibling_text()].boxed()
}

// ------------------------------------------------------------------ facts

fn str_pool(field: &str) -> &'static [&'static str] {
    STR_FIELDS.iter().find(|(n, _)| *n == field).map_or(&[][..], |(_, p)| *p)
}
fn int_pool(field: &str) -> &'static [u64] {
    INT_FIELDS.iter().find(|(n, _)| *n == field).map_or(&[][..], |(_, p)| *p)
}

fn session(protocol: Protocol, picks: &[(bool, Idx)]) -> MapSession {
    let mut fields = Vec::new();
    let prefix = format!("{}.", protocol.name());
    let defs = weir_protocols::all_fields();
    for (k, def) in defs.iter().filter(|d| d.name.starts_with(&prefix)).enumerate() {
        let (present, i) = &picks[k % picks.len()];
        if !present {
            continue;
        }
        let strs = str_pool(def.name);
        let ints = int_pool(def.name);
        if !strs.is_empty() {
            fields.push((def.name.to_string(), SessionValue::Str(pick(strs, i).to_string())));
        } else if !ints.is_empty() {
            fields.push((def.name.to_string(), SessionValue::Int(pick(ints, i))));
        }
    }
    MapSession { protocol, fields }
}

#[derive(Clone, Debug)]
struct FactsSpec {
    facts: Facts<MapSession>,
}

/// `final_facts`: packet known, L7 identified (or known absent), sessions
/// final, user predicates decided. Otherwise partial: L7 maybe pending,
/// sessions maybe incomplete, user predicates maybe undecided.
fn facts(final_facts: bool) -> impl Strategy<Value = FactsSpec> {
    (
        (any::<bool>(), any::<Idx>(), any::<Idx>(), 0u8..10, any::<Idx>(), any::<Idx>(), any::<Idx>(), any::<Idx>()),
        (prop::collection::vec(any::<Idx>(), 0..3), any::<bool>(), any::<Idx>(), 0u8..3),
        (prop::collection::vec(prop::collection::vec((prop::bool::weighted(0.8), any::<Idx>()), 8), 0..4), 0u8..3, 0u8..3),
    )
        .prop_map(move |((v6, s, d, tr, sp, dp, fl, ttl), (vl, eth, l7i, pending), (sess, u1, u2))| {
            let (src, dst): (IpAddr, IpAddr) = if v6 {
                (pick(V6, &s).parse().unwrap(), pick(V6, &d).parse().unwrap())
            } else {
                (pick(V4, &s).parse().unwrap(), pick(V4, &d).parse().unwrap())
            };
            let proto = match tr {
                0..=4 => Some(Proto::Tcp),
                5..=8 => Some(Proto::Udp),
                _ => None,
            };
            let mut vlans = VlanStack::new();
            for i in &vl {
                vlans.push(pick(&[10u16, 20, 30], i));
            }
            let packet = PacketFacts {
                ethernet: eth,
                vlans,
                src,
                dst,
                ttl: pick(&[1u8, 64, 128, 255], &ttl),
                ip_protocol: match proto {
                    Some(Proto::Tcp) => 6,
                    Some(Proto::Udp) => 17,
                    _ => 1,
                },
                l4: proto.map(|p| L4Facts {
                    proto: p,
                    src_port: pick(PORTS, &sp),
                    dst_port: pick(PORTS, &dp),
                    flags: if p == Proto::Tcp { pick(&[2u8, 16, 17, 18, 20], &fl) } else { 0 },
                }),
            };
            let candidates: &[Option<Protocol>] = match proto {
                Some(Proto::Tcp) => &[Some(Protocol::Tls), Some(Protocol::Http), Some(Protocol::Ssh), Some(Protocol::Dns), None],
                Some(Proto::Udp) => &[Some(Protocol::Quic), Some(Protocol::Dns), None],
                _ => &[None],
            };
            let l7p = pick(candidates, &l7i);
            let l7 = if !final_facts && pending == 0 {
                L7State::Pending
            } else {
                l7p.map_or(L7State::None, L7State::Known)
            };
            let mut sessions = Vec::new();
            if let L7State::Known(p) = l7 {
                let max = if matches!(p, Protocol::Tls | Protocol::Quic | Protocol::Ssh) { 1 } else { 3 };
                for picks in sess.iter().take(max) {
                    sessions.push(session(p, picks));
                }
            }
            let verdict = |u: u8| match u {
                0 => Some(Verdict::Match),
                1 => Some(Verdict::NoMatch),
                _ if final_facts => Some(Verdict::NoMatch),
                _ => None,
            };
            let user = [("u1", verdict(u1)), ("u2", verdict(u2))]
                .into_iter()
                .filter_map(|(n, v)| v.map(|v| (n.to_string(), v)))
                .collect();
            FactsSpec { facts: Facts { packet: Some(packet), l7, sessions, sessions_final: final_facts, user } }
        })
}

// ------------------------------------------------------------- properties

fn filter(text: &str) -> Result<Filter, TestCaseError> {
    Filter::new(text).map_err(|e| TestCaseError::fail(format!("generated filter `{text}` is invalid:\n{e}")))
}

/// (a) print → parse round trips; the DNF text is a fixpoint.
#[test]
fn a_print_parse_round_trip() {
    let mut runner = proptest::test_runner::TestRunner::new(config(4096));
    let result = runner.run(&filter_text(), |text| {
        let f = filter(&text)?;
        let printed = f.ast.to_string();
        let again = parse(&printed)
            .map_err(|e| TestCaseError::fail(format!("`{text}` prints as `{printed}`, which does not parse:\n{e}")))?;
        prop_assert_eq!(again.without_spans(), f.ast.without_spans(), "`{}` printed as `{}`", text, printed);
        prop_assert_eq!(again.to_string(), printed.clone());
        let dnf_text = f.dnf.to_string();
        let g = filter(&dnf_text)?;
        prop_assert_eq!(&g.dnf, &f.dnf, "`{}`: DNF `{}` does not normalise to itself", text, dnf_text);
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// (b) expression ≡ DNF on final facts; the DNF agrees with a decided
/// expression on partial facts. Also checks that the generators make
/// filters match as well as fail (a property over all-NoMatch is empty).
#[test]
fn b_dnf_equivalent_to_expression() {
    let counts: [AtomicUsize; 3] = Default::default();
    let strategy = (filter_text(), prop::collection::vec(facts(true), 12), prop::collection::vec(facts(false), 12));
    let mut runner = proptest::test_runner::TestRunner::new(config(4096));
    let result = runner.run(&strategy, |(text, finals, partials)| {
        let f = filter(&text)?;
        for s in &finals {
            let (e, d) = (eval_expr(&f.expr, &s.facts), eval_dnf(&f.dnf, &s.facts));
            counts[e as usize].fetch_add(1, Ordering::Relaxed);
            prop_assert_eq!(e, d, "final facts: `{}` (DNF `{}`) on {:?}", text, f.dnf, s.facts);
        }
        for s in &partials {
            let (e, d) = (eval_expr(&f.expr, &s.facts), eval_dnf(&f.dnf, &s.facts));
            if e.is_decided() {
                prop_assert_eq!(e, d, "partial facts: `{}` (DNF `{}`) on {:?}", text, f.dnf, s.facts);
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let [no, und, yes] = counts.map(|c| c.load(Ordering::Relaxed));
    eprintln!("props (b): 4096 filters x (12 final + 12 partial facts); final verdicts: {yes} Match, {no} NoMatch, {und} Undecided");
    let total = no + und + yes;
    assert!(yes * 10 >= total && no * 10 >= total, "the generators rarely match (or rarely fail): {yes} Match, {no} NoMatch of {total}");
}

/// (c) a trie of 1–20 filters: verdict i = DNF i on final facts, and
/// refines it on partial facts. Also checks that set nodes occur.
#[test]
fn c_trie_agrees_with_each_dnf() {
    let with_sets = AtomicUsize::new(0);
    let matches = AtomicUsize::new(0);
    let strategy = (
        prop::collection::vec(trie_filter(), 1..=20),
        prop::collection::vec(facts(true), 8),
        prop::collection::vec(facts(false), 8),
    );
    let mut runner = proptest::test_runner::TestRunner::new(config(2048));
    let result = runner.run(&strategy, |(texts, finals, partials)| {
        let filters = texts.iter().map(|t| filter(t)).collect::<Result<Vec<_>, _>>()?;
        let dnfs: Vec<&Dnf> = filters.iter().map(|f| &f.dnf).collect();
        let trie = PredicateTrie::build(&dnfs, &TrieOptions::default()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        if trie.nodes().iter().any(|n| n.children.iter().any(|b| matches!(b, Branch::Set(_)))) {
            with_sets.fetch_add(1, Ordering::Relaxed);
        }
        for (final_facts, set) in [(true, &finals), (false, &partials)] {
            for s in set {
                let got = trie.eval(&s.facts);
                prop_assert_eq!(got.len(), filters.len());
                for (i, f) in filters.iter().enumerate() {
                    let want = eval_dnf(&f.dnf, &s.facts);
                    if want == Verdict::Match {
                        matches.fetch_add(1, Ordering::Relaxed);
                    }
                    if final_facts || want.is_decided() {
                        prop_assert_eq!(
                            got[i], want,
                            "filter {} `{}` (DNF `{}`), final {}, facts {:?}\ntrie:\n{}",
                            i, texts[i], f.dnf, final_facts, s.facts, trie
                        );
                    }
                }
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let (sets, m) = (with_sets.load(Ordering::Relaxed), matches.load(Ordering::Relaxed));
    eprintln!("props (c): 2048 tries of 1-20 filters x (8 final + 8 partial facts); {sets} tries with set nodes; {m} DNF matches");
    assert!(sets >= 512, "set nodes are rarely exercised: {sets} of 2048 tries");
}

const SOUP: &[&str] = &[
    "tcp", "udp", "tls", "tls.sni", "tcp.port", "ipv4.addr", "ipv6.addr", "vlan.id", "http.host", "and", "or", "not", "&&", "||", "!",
    "(", ")", "=", "==", "!=", "<", "<=", ">", ">=", "in", "~", "matches", "contains", "not contains", "{", "}", ",", "'", "\"", "|", "\\",
    "\\x", "\\u{", "..", "..=", "/", ":", "::", "0x", "10.0.0.1", "10.0.0.0/8", "2001:db8::/32", "443", "65536", "99999999999999999999",
    "'a.com'", "\"b\"", "|16 03|", "true", "false", "file=", "file=nope.txt", "é", "😀", "\u{0}", "\n", " ", "\t", "-", "_", "a", "1",
];

fn soup() -> impl Strategy<Value = String> {
    prop::collection::vec((any::<Idx>(), 0u8..3), 0..40).prop_map(|toks| {
        let mut s = String::new();
        for (i, ws) in toks {
            s.push_str(pick(SOUP, &i));
            s.push_str(["", " ", "  "][usize::from(ws)]);
        }
        s
    })
}

/// Parsing never panics, an error always displays, and a success round-trips.
fn never_panics(text: &str) -> Result<(), TestCaseError> {
    match Filter::new(text) {
        Ok(f) => {
            let printed = f.ast.to_string();
            let again = parse(&printed).map_err(|e| TestCaseError::fail(format!("`{text}` prints as `{printed}`:\n{e}")))?;
            prop_assert_eq!(again.without_spans(), f.ast.without_spans());
            let _ = f.dnf.to_string();
        }
        Err(e) => {
            prop_assert!(e.span.start <= e.span.end, "{:?}", e);
            let _ = e.to_string();
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config(8192))]

    /// (d) arbitrary unicode text.
    #[test]
    fn d_arbitrary_text_never_panics(text in "(?s).{0,60}") {
        never_panics(&text)?;
    }

    /// (d) token soup of the grammar's symbols.
    #[test]
    fn d_token_soup_never_panics(text in soup()) {
        never_panics(&text)?;
    }
}
