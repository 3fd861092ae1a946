//! Generates the differential corpus's applications (`tests/differential/apps.toml`)
//! as `#[weir::app]` modules for `tests/differential.rs`.

use serde::Deserialize;
use std::fmt::Write;

#[derive(Deserialize)]
struct Corpus {
    app: Vec<App>,
}

#[derive(Deserialize)]
struct App {
    name: String,
    sub: Vec<Sub>,
}

#[derive(Deserialize)]
struct Sub {
    #[serde(default)]
    filter: String,
    params: Vec<String>,
    on: Option<String>,
    #[serde(default)]
    streaming: bool,
    every: Option<String>,
    #[serde(default)]
    unsubscribe: bool,
}

const COMMON: &str = "super::common::Bytes, super::common::Segs, super::common::Life, super::common::L7Log, super::common::high_port, super::common::Talker, super::common::Staged, super::common::short_sni, super::common::bulky";

fn main() {
    let src = "tests/differential/apps.toml";
    println!("cargo:rerun-if-changed={src}");
    let text = std::fs::read_to_string(src).unwrap_or_else(|e| panic!("{src}: {e}"));
    let corpus: Corpus = toml::from_str(&text).unwrap_or_else(|e| panic!("{src}: {e}"));
    let out_dir = std::path::PathBuf::from(std::env::var("OUT_DIR").unwrap());
    std::fs::write(out_dir.join("diff_apps.rs"), emit(&corpus.app, "apps")).unwrap();
    std::fs::write(out_dir.join("random_apps.rs"), emit(&random_apps(24, 0x5eed), "random_apps")).unwrap();
    // The engine-throughput benchmark: 1 and 128 disjoint subnet subscriptions.
    let subnets = |n: usize| App {
        name: format!("subnets_{n}"),
        sub: (0..n).map(|k| Sub { filter: format!("ipv4.addr in 10.{}.{}.0/24", k / 256, k % 256), params: vec!["ConnRecord".into()], on: None, streaming: false, every: None, unsubscribe: false }).collect(),
    };
    std::fs::write(out_dir.join("bench_apps.rs"), emit(&[subnets(1), subnets(128)], "bench_apps")).unwrap();
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[(self.next() % v.len() as u64) as usize]
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// Random subscription sets from a grammar of filters and data types; every
/// generated subscription is valid by construction (the data agree with
/// the filter and the transition).
fn random_apps(n: usize, seed: u64) -> Vec<App> {
    const PACKET: &[&str] = &["tcp", "udp", "ipv4", "ipv6", "tcp.port = 443", "tcp.port = 80", "udp.port = 53", "ipv4.addr in 10.0.0.0/8", "tcp.dst_port > 1024", "ipv4.ttl < 128", "tcp.syn", "vlan"];
    const USER_EARLY: &[&str] = &["high_port"];
    const PROTO: &[(&str, &str, &str)] = &[
        ("tls", "TlsHandshake", "tls.sni contains 'o'"),
        ("http", "HttpTransaction", "http.method = 'GET'"),
        ("dns", "DnsTransaction", "dns.qtype = 1"),
        ("quic", "QuicStream", "quic.sni contains 'google'"),
        ("ssh", "SshHandshake", "ssh.client_version contains 'SSH'"),
    ];
    const CONN_DATA: &[&str] = &["ConnRecord", "PktCount", "ByteCount", "ConnDuration", "FiveTuple", "AnonFiveTuple", "StartTime", "SessionProto", "Bytes", "Life", "L7Log", "Segs", "InterArrivals"];
    let mut r = Rng(seed);
    let mut apps = Vec::new();
    for a in 0..n {
        let mut subs = Vec::new();
        for _ in 0..(2 + r.next() % 5) {
            // A packet-level part: one or two atoms, maybe negated, and/or.
            let atom = |r: &mut Rng| {
                let x = if r.chance(15) { r.pick(USER_EARLY).to_string() } else { r.pick(PACKET).to_string() };
                if r.chance(20) { format!("not {x}") } else { x }
            };
            let mut pkt = atom(&mut r);
            if r.chance(50) {
                let op = if r.chance(50) { "and" } else { "or" };
                pkt = format!("({pkt} {op} {})", atom(&mut r));
            }
            let kind = r.next() % 6;
            let sub = match kind {
                // Connection data at the end, optionally with a protocol or a late user filter.
                0 | 1 => {
                    let mut filter = pkt.clone();
                    if r.chance(40) {
                        let (p, _, field) = *r.pick(PROTO);
                        filter = if r.chance(50) { format!("{filter} and {p}") } else { format!("{filter} and {field}") };
                    }
                    if r.chance(20) {
                        filter = format!("{filter} and {}", r.pick(&["bulky", "Talker", "Staged"]));
                    }
                    let mut params = vec![r.pick(CONN_DATA).to_string()];
                    if r.chance(50) {
                        params.push(r.pick(CONN_DATA).to_string());
                    }
                    Sub { filter, params, on: Some("L4Terminated".into()), streaming: false, every: None, unsubscribe: false }
                }
                // A session type of one protocol.
                2 | 3 => {
                    let (p, data, field) = *r.pick(PROTO);
                    let filter = if r.chance(50) { format!("{pkt} and {field}") } else if r.chance(50) { format!("{p} and not {field}") } else { p.to_string() };
                    let mut params = vec![data.to_string()];
                    if r.chance(40) {
                        params.push("FiveTuple".into());
                    }
                    Sub { filter, params, on: None, streaming: false, every: None, unsubscribe: false }
                }
                // Per packet or segment: streaming, periodic or unsubscribing.
                4 => {
                    let (on, data) = *r.pick(&[("L4InConn", "Packet"), ("L4InConn", "Bytes"), ("L4InStream", "Segs"), ("L4InStream", "Segment")]);
                    let every = if r.chance(30) { Some(if r.chance(50) { "packets = 3".to_string() } else { "millis = 50".to_string() }) } else { None };
                    let unsubscribe = every.is_none() && r.chance(40);
                    Sub { filter: pkt.clone(), params: vec![data.into()], on: Some(on.into()), streaming: every.is_none() && !unsubscribe, every, unsubscribe }
                }
                // The first packet or the handshake.
                _ => {
                    let on = *r.pick(&["L4FirstPacket", "L4EndHandshake", "L7OnDisc"]);
                    let filter = if on == "L7OnDisc" && r.chance(50) { format!("{pkt} and {}", r.pick(PROTO).0) } else { pkt.clone() };
                    let params = match on {
                        "L7OnDisc" => vec!["SessionProto".to_string()],
                        _ => vec!["FiveTuple".to_string(), "StartTime".to_string()],
                    };
                    Sub { filter, params, on: Some(on.into()), streaming: false, every: None, unsubscribe: false }
                }
            };
            if valid(&sub) {
                subs.push(sub);
            }
        }
        apps.push(App { name: format!("rand{a}"), sub: subs });
    }
    apps
}

/// Whether the IR accepts the subscription (with common.rs's declarations):
/// a few grammar combinations cannot be delivered (a TLS session behind `udp`).
fn valid(s: &Sub) -> bool {
    use weir_conntrack::Transition as T;
    use weir_ir::{AppSpec, CallbackSpec, DataTypeSpec, FilterFnSpec, Level, SubscriptionSpec};
    let dt = |name: &str, updates: &[T]| DataTypeSpec { name: name.into(), level: Level::Connection, complete_at: T::L4Terminated, updates: updates.to_vec(), protocols: vec![] };
    let f = |name: &str, on: T, stateful: bool, data: &str| FilterFnSpec { name: name.into(), on, also: vec![], stateful, data: vec![data.into()] };
    let on = s.on.as_deref().map(|o| T::ALL.into_iter().find(|t| t.name() == o).expect("transition"));
    let app = AppSpec {
        datatypes: vec![
            dt("Bytes", &[T::L4InConn]),
            dt("Segs", &[T::L4FirstPacket, T::L4InStream]),
            dt("Life", &[T::L4EndHandshake, T::L4Terminated]),
            dt("L7Log", &[T::L7OnDisc, T::L7InHeaders, T::L7InPayload, T::L7EndHeaders, T::L7EndSession]),
        ],
        filters: vec![
            f("high_port", T::L4FirstPacket, false, "FiveTuple"),
            f("Talker", T::L4InConn, true, "Bytes"),
            f("short_sni", T::L7EndHeaders, false, "TlsHandshake"),
            f("bulky", T::L4Terminated, false, "Bytes"),
            FilterFnSpec { also: vec![T::L7OnDisc, T::L7EndSession, T::L4Terminated], ..f("Staged", T::L4FirstPacket, true, "L7Log") },
        ],
        subscriptions: vec![SubscriptionSpec {
            name: "s".into(),
            filter: s.filter.clone(),
            callback: CallbackSpec { name: "s".into(), stateful: s.unsubscribe, streaming: s.streaming || s.every.is_some() || s.unsubscribe, on, params: s.params.clone(), every: None },
        }],
    };
    weir_ir::compile(&app, None).is_ok()
}

fn emit(apps: &[App], list_fn: &str) -> String {
    let mut out = String::new();
    let mut list = String::new();
    for a in apps {
        let m = format!("app_{}", a.name);
        writeln!(out, "#[weir::app(include({COMMON}))]\n#[allow(unused_variables, unused_imports, dead_code, non_camel_case_types)]\npub mod {m} {{\n    use weir::prelude::*;\n    use super::common::*;").unwrap();
        for (i, s) in a.sub.iter().enumerate() {
            let params: Vec<String> = s.params.iter().enumerate().map(|(k, p)| format!("a{k}: &{p}")).collect();
            let names: Vec<String> = (0..s.params.len()).map(|k| format!("a{k}")).collect();
            let filter = format!("{:?}", s.filter);
            if s.unsubscribe {
                let on = s.on.clone().unwrap_or_else(|| "L4InConn".into());
                writeln!(
                    out,
                    "    pub struct S{i} {{ t: Three }}\n    #[callback({filter})]\n    impl S{i} {{\n        pub fn new(ctx: &Ctx) -> Self {{ S{i} {{ t: Three::new(ctx) }} }}\n        #[callback_fn(on = {on}, streaming)]\n        fn go(&mut self, {p}) -> bool {{ let _ = ({n},); self.t.tick() }}\n        #[callback_fn(on = L4Terminated)]\n        fn end(&mut self) {{}}\n    }}",
                    p = params.join(", "),
                    n = names.join(", ")
                )
                .unwrap();
                continue;
            }
            let mut args = vec![filter];
            if let Some(on) = &s.on {
                args.push(format!("on = {on}"));
            }
            match (&s.every, s.streaming) {
                (Some(e), _) => args.push(format!("streaming({e})")),
                (None, true) => args.push("streaming".into()),
                _ => {}
            }
            let ret = if s.streaming || s.every.is_some() { " -> bool" } else { "" };
            let body = if ret.is_empty() { format!("let _ = ({},);", names.join(", ")) } else { format!("let _ = ({},); true", names.join(", ")) };
            writeln!(out, "    #[callback({})]\n    pub fn s{i}({}){ret} {{ {body} }}", args.join(", "), params.join(", ")).unwrap();
        }
        writeln!(out, "}}").unwrap();
        writeln!(list, "    ({:?}, run_app::<{m}::App>),", a.name).unwrap();
    }
    writeln!(out, "pub fn {list_fn}() -> Vec<(&'static str, RunFn)> {{\n    vec![\n{list}    ]\n}}").unwrap();
    out
}
