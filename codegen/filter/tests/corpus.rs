//! The filter corpus: every `tests/corpus/*.toml` file, every case, every
//! executor (STYLE.md convention 9).
//!
//! A case is one `[[case]]` table with a `name` and a `filter`, and is of
//! exactly one kind:
//! - **error**: `error = "UnknownField"` (the `ErrorKind::name()`),
//!   `span = [start, end]` (byte offsets), optional `message_contains` and
//!   `origin = ["file.txt", line]` (for errors inside a `file=` include);
//! - **eval**: `verdict = "Match" | "NoMatch" | "Undecided"` plus facts
//!   (`frame = "<hex Ethernet frame>"` or `packet = { src, dst, proto, sport,
//!   dport, flags, ttl, vlans, ethernet, ip_protocol }`, `l7`, `sessions`,
//!   `sessions_final`, `user`), checked against the typed expression, the
//!   DNF and a predicate trie; `dnf_verdict` states where the DNF (and the
//!   trie) is legitimately more decided than the expression on partial facts;
//! - **normal form**: `dnf = "..."` (the exact `Display` of the DNF).
//!
//! Any valid case may give `printed` (the exact `Display` of the AST); every
//! valid case checks print → parse → equal AST and DNF text → equal DNF.
//! `options = { max_depth, max_len, max_predicates, max_include_depth,
//! max_conjunctions, user_predicates }` overrides the defaults; `file=`
//! paths resolve against `tests/corpus/files/`.
//!
//! `known_bug = "why"` marks a case whose expectation follows the documented
//! semantics while the implementation disagrees: it still runs, counts as
//! skipped-with-reason, and fails the run once it starts passing (so the
//! mark is removed with the fix).
//!
//! Besides the cases, the runner checks coverage: every field of
//! `weir_protocols::all_fields()` and every protocol predicate in some eval
//! case, every operator and spelling in some valid case, every producible
//! error kind in some error case.

mod common;

use common::{MapSession, SessionValue};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use weir_filter::ast::{Ast, Op};
use weir_filter::dnf::DnfOptions;
use weir_filter::eval::{eval_dnf, L4Facts};
use weir_filter::parse::{parse_with, ParseOptions};
use weir_filter::trie::{PredicateTrie, TrieOptions};
use weir_filter::typed::{Expr, Pred, Proto, TypeOptions};
use weir_filter::{Facts, Filter, L7State, Options, PacketFacts, Verdict};
use weir_protocols::registry::Protocol;
use weir_protocols::FieldType;
use weir_wire::{LinkType, VlanStack};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CorpusFile {
    #[serde(rename = "case", default)]
    cases: Vec<Case>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    filter: String,
    #[serde(default)]
    options: Option<OptionSpec>,
    #[serde(default)]
    known_bug: Option<String>,
    // valid filters
    #[serde(default)]
    dnf: Option<String>,
    #[serde(default)]
    printed: Option<String>,
    // invalid filters
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    span: Option<[usize; 2]>,
    #[serde(default)]
    message_contains: Option<String>,
    #[serde(default)]
    origin: Option<(String, usize)>,
    // evaluation
    #[serde(default)]
    verdict: Option<String>,
    #[serde(default)]
    dnf_verdict: Option<String>,
    #[serde(default)]
    frame: Option<String>,
    #[serde(default)]
    packet: Option<PacketSpec>,
    #[serde(default)]
    l7: Option<String>,
    #[serde(default)]
    sessions: Option<Vec<toml::Table>>,
    #[serde(default)]
    sessions_final: Option<bool>,
    #[serde(default)]
    user: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
struct OptionSpec {
    max_depth: Option<usize>,
    max_len: Option<usize>,
    max_predicates: Option<usize>,
    max_include_depth: Option<usize>,
    max_conjunctions: Option<usize>,
    user_predicates: Option<Vec<String>>,
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct PacketSpec {
    src: String,
    dst: String,
    #[serde(default)]
    proto: Option<String>,
    #[serde(default)]
    sport: Option<u16>,
    #[serde(default)]
    dport: Option<u16>,
    #[serde(default)]
    flags: Option<u8>,
    #[serde(default)]
    ttl: Option<u8>,
    #[serde(default)]
    vlans: Option<Vec<u16>>,
    #[serde(default)]
    ethernet: Option<bool>,
    #[serde(default)]
    ip_protocol: Option<u8>,
}

#[derive(Copy, Clone, PartialEq, Eq, PartialOrd, Ord, Debug)]
enum Kind {
    NormalForm,
    Error,
    Eval,
}

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("corpus")
}

fn verdict(s: &str) -> Result<Verdict, String> {
    match s {
        "Match" => Ok(Verdict::Match),
        "NoMatch" => Ok(Verdict::NoMatch),
        "Undecided" => Ok(Verdict::Undecided),
        other => Err(format!("bad verdict {other:?} (Match, NoMatch or Undecided)")),
    }
}

fn decode_hex(s: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if digits.len() % 2 != 0 {
        return Err("odd number of hex digits in frame".into());
    }
    let nibble = |b: u8| match b {
        b'0'..=b'9' => Ok(b - b'0'),
        b'a'..=b'f' => Ok(b - b'a' + 10),
        b'A'..=b'F' => Ok(b - b'A' + 10),
        _ => Err(format!("bad hex digit {:?} in frame", b as char)),
    };
    digits.chunks(2).map(|p| Ok(nibble(p[0])? << 4 | nibble(p[1])?)).collect()
}

fn options(case: &Case) -> Options {
    let spec = case.options.clone().unwrap_or_default();
    let mut parse = ParseOptions { base_dir: Some(corpus_dir().join("files")), ..ParseOptions::default() };
    if let Some(v) = spec.max_depth {
        parse.max_depth = v;
    }
    if let Some(v) = spec.max_len {
        parse.max_len = v;
    }
    if let Some(v) = spec.max_predicates {
        parse.max_predicates = v;
    }
    if let Some(v) = spec.max_include_depth {
        parse.max_include_depth = v;
    }
    let mut dnf = DnfOptions::default();
    if let Some(v) = spec.max_conjunctions {
        dnf.max_conjunctions = v;
    }
    Options { parse, types: TypeOptions { user_predicates: spec.user_predicates }, dnf }
}

fn kind_of(case: &Case) -> Result<Kind, String> {
    let error_keys = case.error.is_some() || case.span.is_some() || case.message_contains.is_some() || case.origin.is_some();
    let eval_keys = case.verdict.is_some()
        || case.dnf_verdict.is_some()
        || case.frame.is_some()
        || case.packet.is_some()
        || case.l7.is_some()
        || case.sessions.is_some()
        || case.sessions_final.is_some()
        || case.user.is_some();
    match (error_keys, eval_keys) {
        (true, true) => Err("a case is either an error case or an eval case".into()),
        (true, false) => {
            if case.error.is_none() || case.span.is_none() {
                return Err("an error case needs `error` and `span`".into());
            }
            if case.dnf.is_some() || case.printed.is_some() {
                return Err("an error case has no `dnf`/`printed`".into());
            }
            Ok(Kind::Error)
        }
        (false, true) => {
            if case.verdict.is_none() {
                return Err("an eval case needs `verdict`".into());
            }
            if case.frame.is_some() && case.packet.is_some() {
                return Err("give `frame` or `packet`, not both".into());
            }
            Ok(Kind::Eval)
        }
        (false, false) if case.dnf.is_some() => Ok(Kind::NormalForm),
        (false, false) => Err("a case needs `dnf`, `error` or `verdict`".into()),
    }
}

fn packet_facts(case: &Case) -> Result<Option<PacketFacts>, String> {
    if let Some(hex) = &case.frame {
        let bytes = decode_hex(hex)?;
        return PacketFacts::from_frame(LinkType::Ethernet, &bytes).map(Some).map_err(|e| format!("frame does not parse: {e:?}"));
    }
    let Some(p) = &case.packet else { return Ok(None) };
    let src: IpAddr = p.src.parse().map_err(|_| format!("bad src {:?}", p.src))?;
    let dst: IpAddr = p.dst.parse().map_err(|_| format!("bad dst {:?}", p.dst))?;
    if src.is_ipv4() != dst.is_ipv4() {
        return Err("src and dst of different IP versions".into());
    }
    let l4_proto = match p.proto.as_deref() {
        Some("tcp") => Some(Proto::Tcp),
        Some("udp") => Some(Proto::Udp),
        None | Some("none") => None,
        Some(other) => return Err(format!("bad packet proto {other:?} (tcp, udp, none)")),
    };
    if l4_proto.is_none() && (p.sport.is_some() || p.dport.is_some() || p.flags.is_some()) {
        return Err("ports/flags without a transport".into());
    }
    if l4_proto == Some(Proto::Udp) && p.flags.is_some() {
        return Err("flags on a UDP packet".into());
    }
    let mut vlans = VlanStack::new();
    for id in p.vlans.iter().flatten() {
        if *id > 0x0fff || !vlans.push(*id) {
            return Err(format!("bad VLAN stack {:?}", p.vlans));
        }
    }
    let ip_protocol = p.ip_protocol.unwrap_or(match l4_proto {
        Some(Proto::Tcp) => 6,
        Some(Proto::Udp) => 17,
        _ => 1,
    });
    Ok(Some(PacketFacts {
        ethernet: p.ethernet.unwrap_or(true),
        vlans,
        src,
        dst,
        ttl: p.ttl.unwrap_or(64),
        ip_protocol,
        l4: l4_proto.map(|proto| L4Facts {
            proto,
            src_port: p.sport.unwrap_or(0),
            dst_port: p.dport.unwrap_or(0),
            flags: p.flags.unwrap_or(0),
        }),
    }))
}

fn session(t: &toml::Table) -> Result<MapSession, String> {
    let proto_name = t.get("protocol").and_then(|v| v.as_str()).ok_or("a session needs `protocol`")?;
    let protocol = Protocol::from_name(proto_name).ok_or_else(|| format!("unknown session protocol {proto_name:?}"))?;
    let mut fields = Vec::new();
    for (k, v) in t {
        if k == "protocol" {
            continue;
        }
        // Only published fields of the session's own protocol, with values of
        // their type: a typo must not make a case pass by accident.
        let def = weir_protocols::fields::field(k).ok_or_else(|| format!("session field {k:?} is not a published field"))?;
        if k.split('.').next() != Some(proto_name) {
            return Err(format!("field {k:?} in a {proto_name} session"));
        }
        let value = match (def.ty, v) {
            (FieldType::Str, toml::Value::String(s)) => SessionValue::Str(s.clone()),
            (FieldType::U8 | FieldType::U16 | FieldType::U32 | FieldType::U64, toml::Value::Integer(i)) if *i >= 0 => {
                SessionValue::Int(*i as u64)
            }
            (ty, v) => return Err(format!("session field {k:?} of type {ty:?} given {v}")),
        };
        fields.push((k.clone(), value));
    }
    Ok(MapSession { protocol, fields })
}

fn facts(case: &Case) -> Result<Facts<MapSession>, String> {
    let l7 = match case.l7.as_deref() {
        None | Some("pending") => L7State::Pending,
        Some("none") => L7State::None,
        Some(name) => L7State::Known(Protocol::from_name(name).ok_or_else(|| format!("unknown l7 {name:?}"))?),
    };
    let sessions = case.sessions.iter().flatten().map(session).collect::<Result<Vec<_>, _>>()?;
    for s in &sessions {
        if l7 != L7State::Known(s.protocol) && l7 != L7State::Pending {
            return Err(format!("a {} session with l7 = {:?}", s.protocol.name(), l7));
        }
    }
    let mut user = Vec::new();
    for (name, v) in case.user.iter().flatten() {
        user.push((name.clone(), verdict(v)?));
    }
    Ok(Facts { packet: packet_facts(case)?, l7, sessions, sessions_final: case.sessions_final.unwrap_or(false), user })
}

fn is_final(f: &Facts<MapSession>) -> bool {
    f.packet.is_some() && f.l7 != L7State::Pending && f.sessions_final
}

/// print → parse gives the same AST, and the DNF text normalises to the same DNF.
/// The printed texts are parsed with the case's user predicates but default
/// limits (a normal form is longer than its filter).
fn check_round_trips(filter: &Filter, case_opts: &Options, problems: &mut Vec<String>) {
    let opts = &Options {
        parse: ParseOptions { base_dir: case_opts.parse.base_dir.clone(), ..ParseOptions::default() },
        types: case_opts.types.clone(),
        dnf: DnfOptions::default(),
    };
    let printed = filter.ast.to_string();
    match parse_with(&printed, &opts.parse) {
        Ok(p) => {
            if p.ast.without_spans() != filter.ast.without_spans() {
                problems.push(format!("printed AST `{printed}` parses to a different AST: {:?}", p.ast.without_spans()));
            }
            let again = p.ast.to_string();
            if again != printed {
                problems.push(format!("print(parse(print)) = `{again}` differs from print = `{printed}`"));
            }
        }
        Err(e) => problems.push(format!("printed AST `{printed}` does not parse:\n{e}")),
    }
    let dnf_text = filter.dnf.to_string();
    match Filter::with_options(&dnf_text, opts) {
        Ok(f2) if f2.dnf == filter.dnf => {}
        Ok(f2) => problems.push(format!("DNF text `{dnf_text}` normalises to a different DNF `{}`", f2.dnf)),
        Err(e) => problems.push(format!("DNF text `{dnf_text}` does not parse:\n{e}")),
    }
}

struct Ran {
    kind: Kind,
    /// For eval cases: the filter's DNF, facts and the DNF's expected verdict
    /// (for the per-file multi-pattern trie check).
    eval: Option<(weir_filter::dnf::Dnf, Facts<MapSession>, Verdict)>,
    filter: Option<Filter>,
}

/// Runs one case; `Err` lists everything wrong with it.
fn run_case(case: &Case) -> Result<Ran, Vec<String>> {
    let kind = kind_of(case).map_err(|e| vec![format!("malformed case: {e}")])?;
    let opts = options(case);
    let result = Filter::with_options(&case.filter, &opts);
    let mut problems = Vec::new();
    if kind == Kind::Error {
        let want = case.error.as_deref().unwrap_or_default();
        let [start, end] = case.span.unwrap_or_default();
        match result {
            Ok(f) => problems.push(format!("expected error {want}, but the filter is valid; DNF: {}", f.dnf)),
            Err(e) => {
                if e.kind.name() != want {
                    problems.push(format!("expected error {want}, got {}:\n{e}", e.kind.name()));
                }
                if (e.span.start, e.span.end) != (start, end) {
                    problems.push(format!("expected span [{start}, {end}], got [{}, {}]:\n{e}", e.span.start, e.span.end));
                }
                let shown = e.to_string();
                if let Some(m) = &case.message_contains {
                    if !shown.contains(m.as_str()) {
                        problems.push(format!("message does not contain {m:?}:\n{shown}"));
                    }
                }
                match (&case.origin, &e.origin) {
                    (None, None) => {}
                    (Some((file, line)), Some((path, l))) => {
                        if path.file_name().and_then(|n| n.to_str()) != Some(file.as_str()) || l != line {
                            problems.push(format!("expected origin {file}:{line}, got {}:{l}", path.display()));
                        }
                    }
                    (want, got) => problems.push(format!("expected origin {want:?}, got {got:?}")),
                }
            }
        }
        return if problems.is_empty() { Ok(Ran { kind, eval: None, filter: None }) } else { Err(problems) };
    }
    let filter = match result {
        Ok(f) => f,
        Err(e) => return Err(vec![format!("expected a valid filter:\n{e}")]),
    };
    if let Some(want) = &case.printed {
        let got = filter.ast.to_string();
        if &got != want {
            problems.push(format!("printed:\n  expected `{want}`\n  got      `{got}`"));
        }
    }
    if let Some(want) = &case.dnf {
        let got = filter.dnf.to_string();
        if &got != want {
            problems.push(format!("dnf:\n  expected `{want}`\n  got      `{got}`"));
        }
    }
    check_round_trips(&filter, &opts, &mut problems);
    let mut eval = None;
    if kind == Kind::Eval {
        match eval_case(case, &filter) {
            Ok((f, want_dnf)) => eval = Some((filter.dnf.clone(), f, want_dnf)),
            Err(mut p) => problems.append(&mut p),
        }
    }
    if problems.is_empty() {
        Ok(Ran { kind, eval, filter: Some(filter) })
    } else {
        Err(problems)
    }
}

fn eval_case(case: &Case, filter: &Filter) -> Result<(Facts<MapSession>, Verdict), Vec<String>> {
    fn one<T>(r: Result<T, String>) -> Result<T, Vec<String>> {
        r.map_err(|e| vec![format!("malformed case: {e}")])
    }
    let facts = one(facts(case))?;
    let want = one(verdict(case.verdict.as_deref().unwrap_or_default()))?;
    let want_dnf = match &case.dnf_verdict {
        None => want,
        Some(v) => {
            let v = one(verdict(v))?;
            // Only a DNF that dropped a contradiction (or a redundant literal)
            // may be more decided, and only while the facts are partial.
            if is_final(&facts) || want != Verdict::Undecided || v == Verdict::Undecided {
                return Err(vec!["malformed case: `dnf_verdict` is only for an undecided expression on partial facts".into()]);
            }
            v
        }
    };
    let mut problems = Vec::new();
    let got = filter.eval(&facts);
    if got != want {
        problems.push(format!("expression: expected {want:?}, got {got:?}"));
    }
    let got = eval_dnf(&filter.dnf, &facts);
    if got != want_dnf {
        problems.push(format!("dnf `{}`: expected {want_dnf:?}, got {got:?}", filter.dnf));
    }
    match PredicateTrie::build(&[&filter.dnf], &TrieOptions::default()) {
        Ok(trie) => {
            let got = trie.eval(&facts);
            if got != [want_dnf] {
                problems.push(format!("trie: expected [{want_dnf:?}], got {got:?}\n{trie}"));
            }
        }
        Err(e) => problems.push(format!("trie: {e}")),
    }
    if problems.is_empty() {
        Ok((facts, want_dnf))
    } else {
        Err(problems)
    }
}

fn walk_expr<'e>(e: &'e Expr, out: &mut Vec<&'e Pred>) {
    match e {
        Expr::And(items) | Expr::Or(items) => items.iter().for_each(|i| walk_expr(i, out)),
        Expr::Not(inner) => walk_expr(inner, out),
        Expr::Pred(p) => out.push(p),
    }
}

fn walk_ops(a: &Ast, out: &mut BTreeSet<&'static str>) {
    match a {
        Ast::Or { items, .. } | Ast::And { items, .. } => items.iter().for_each(|i| walk_ops(i, out)),
        Ast::Not { inner, .. } => walk_ops(inner, out),
        Ast::File { lines, .. } => lines.iter().for_each(|l| walk_ops(&l.ast, out)),
        Ast::Name { .. } => {}
        Ast::Compare { op, .. } => {
            out.insert(op.as_str());
        }
    }
}

#[test]
fn corpus() {
    let dir = corpus_dir();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.expect("corpus dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no corpus files in {}", dir.display());

    let mut failures: Vec<String> = Vec::new();
    let mut skipped: Vec<String> = Vec::new();
    let mut counts: BTreeMap<Kind, usize> = BTreeMap::new();
    let mut per_file: Vec<String> = Vec::new();
    // Coverage.
    let mut eval_fields: BTreeSet<String> = BTreeSet::new();
    let mut eval_protos: BTreeSet<&'static str> = BTreeSet::new();
    let mut ops: BTreeSet<&'static str> = BTreeSet::new();
    let mut spellings: BTreeSet<&'static str> = BTreeSet::new();
    let mut error_kinds: BTreeSet<String> = BTreeSet::new();
    let mut verdicts: BTreeSet<String> = BTreeSet::new();

    for path in &paths {
        let file = path.file_name().and_then(|n| n.to_str()).unwrap_or("?").to_string();
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{file}: {e}"));
        let parsed: CorpusFile = match toml::from_str(&text) {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!("{file}: does not load: {e}"));
                continue;
            }
        };
        let mut names = BTreeSet::new();
        let mut file_counts: BTreeMap<Kind, usize> = BTreeMap::new();
        let mut trie_inputs: Vec<(String, weir_filter::dnf::Dnf, Facts<MapSession>, Verdict)> = Vec::new();
        for case in &parsed.cases {
            let id = format!("{file}: {}", case.name);
            if !names.insert(case.name.clone()) {
                failures.push(format!("{id}: duplicate case name"));
            }
            // A panic is a failure of this case, not of the whole run.
            let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_case(case)))
                .unwrap_or_else(|p| {
                    let msg = p.downcast_ref::<String>().cloned().or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()));
                    Err(vec![format!("panicked: {}", msg.unwrap_or_default())])
                });
            match (&case.known_bug, outcome) {
                (None, Ok(ran)) => {
                    *counts.entry(ran.kind).or_default() += 1;
                    *file_counts.entry(ran.kind).or_default() += 1;
                    match ran.kind {
                        Kind::Error => {
                            error_kinds.insert(case.error.clone().unwrap_or_default());
                        }
                        Kind::Eval => {
                            verdicts.insert(case.verdict.clone().unwrap_or_default());
                            if let Some(f) = &ran.filter {
                                let mut preds = Vec::new();
                                walk_expr(&f.expr, &mut preds);
                                for p in preds {
                                    match p {
                                        Pred::Field { field, .. } => {
                                            eval_fields.insert(field.name.clone());
                                        }
                                        Pred::Proto(p) => {
                                            eval_protos.insert(p.name());
                                        }
                                        Pred::User(_) => {}
                                    }
                                }
                            }
                        }
                        Kind::NormalForm => {}
                    }
                    if let Some(f) = &ran.filter {
                        walk_ops(&f.ast, &mut ops);
                        for s in ["==", "&&", "||", "!", "matches", "not contains", "~", "..=", "0x", "\"", "|"] {
                            if case.filter.contains(s) {
                                spellings.insert(s);
                            }
                        }
                    }
                    if let Some((dnf, facts, want)) = ran.eval {
                        trie_inputs.push((id.clone(), dnf, facts, want));
                    }
                }
                (None, Err(problems)) => failures.push(format!("{id} (filter `{}`):\n    {}", case.filter, problems.join("\n    ").replace('\n', "\n    "))),
                (Some(why), Err(_)) => skipped.push(format!("{id}: {why}")),
                (Some(why), Ok(_)) => failures.push(format!("{id}: marked known_bug ({why}) but passes: remove the mark")),
            }
        }
        // One trie over every eval filter of the file: each pattern's verdict
        // on its own facts must equal its DNF's whenever that is decided (a
        // trie may be more decided on partial facts, never less).
        if !trie_inputs.is_empty() {
            let dnfs: Vec<&weir_filter::dnf::Dnf> = trie_inputs.iter().map(|t| &t.1).collect();
            match PredicateTrie::build(&dnfs, &TrieOptions::default()) {
                Ok(trie) => {
                    for (i, (id, _, facts, want)) in trie_inputs.iter().enumerate() {
                        let got = trie.eval(facts)[i];
                        if (want.is_decided() || is_final(facts)) && got != *want {
                            failures.push(format!("{id}: in the trie of all {} eval filters of the file: expected {want:?}, got {got:?}", dnfs.len()));
                        }
                    }
                }
                Err(e) => failures.push(format!("{file}: trie of all eval filters: {e}")),
            }
        }
        let total: usize = file_counts.values().sum();
        per_file.push(format!(
            "  {file}: {total} ({} normal form, {} error, {} eval)",
            file_counts.get(&Kind::NormalForm).unwrap_or(&0),
            file_counts.get(&Kind::Error).unwrap_or(&0),
            file_counts.get(&Kind::Eval).unwrap_or(&0)
        ));
    }

    // Coverage: a corpus that stops testing something must fail.
    let mut missing = Vec::new();
    for f in weir_protocols::all_fields() {
        if !eval_fields.contains(f.name) {
            missing.push(format!("field {} in an eval case", f.name));
        }
    }
    for p in ["ethernet", "vlan", "ipv4", "ipv6", "tcp", "udp", "tls", "http", "dns", "quic", "ssh"] {
        if !eval_protos.contains(p) {
            missing.push(format!("protocol predicate {p} in an eval case"));
        }
    }
    for op in [Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge, Op::In, Op::Matches, Op::Contains, Op::NotContains] {
        if !ops.contains(op.as_str()) {
            missing.push(format!("operator `{}` in a valid case", op.as_str()));
        }
    }
    for s in ["==", "&&", "||", "!", "matches", "not contains", "~", "..=", "0x", "\"", "|"] {
        if !spellings.contains(s) {
            missing.push(format!("spelling `{s}` in a valid case"));
        }
    }
    for k in [
        "Empty", "UnexpectedChar", "Unexpected", "UnexpectedEnd", "UnbalancedParen", "UnterminatedString", "BadEscape", "BadBytes",
        "BadNumber", "BadValue", "BadAddress", "EmptySubnet", "ImpossibleRange", "OutOfRange", "UnknownProtocol", "UnknownField",
        "TypeMismatch", "InvalidRegex", "EmptySet", "NestingTooDeep", "TooLarge", "File",
    ] {
        if !error_kinds.contains(k) {
            missing.push(format!("error kind {k} in an error case"));
        }
    }
    for v in ["Match", "NoMatch", "Undecided"] {
        if !verdicts.contains(v) {
            missing.push(format!("verdict {v} in an eval case"));
        }
    }
    for m in missing {
        failures.push(format!("coverage: no {m}"));
    }

    let total: usize = counts.values().sum();
    let mut summary = String::new();
    let _ = writeln!(
        summary,
        "corpus: {total} cases ({} normal form, {} error, {} eval), {} skipped",
        counts.get(&Kind::NormalForm).unwrap_or(&0),
        counts.get(&Kind::Error).unwrap_or(&0),
        counts.get(&Kind::Eval).unwrap_or(&0),
        skipped.len()
    );
    for line in &per_file {
        let _ = writeln!(summary, "{line}");
    }
    for s in &skipped {
        let _ = writeln!(summary, "  skipped (known bug) {s}");
    }
    println!("{summary}");
    if !failures.is_empty() {
        panic!("{} corpus failure(s):\n\n{}\n\n{summary}", failures.len(), failures.join("\n\n"));
    }
}
