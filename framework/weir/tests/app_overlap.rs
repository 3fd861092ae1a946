//! Overlapping, nested and exclusive subscriptions: in one application
//! each subscription is delivered exactly what it gets when it runs
//! alone, although the others drop connections early (every connection a
//! subscription needs is still tracked for it). Compared per callback as
//! multisets, and per connection in order, on the bundled trace and every
//! shared real capture.

use std::collections::BTreeMap;
use std::path::PathBuf;
use weir::app::{run_compiled, Generated, Invocation};

mod subs {
    use weir::prelude::*;
    #[callback("tcp")]
    pub fn all_tcp(r: &ConnRecord) {
        let _ = r;
    }
    #[callback("tcp.port = 443")]
    pub fn https(f: &FiveTuple) {
        let _ = f;
    }
    #[callback("tls.sni contains 'google' or tls.sni contains 'wiki'")]
    pub fn sni(hs: &TlsHandshake) {
        let _ = hs;
    }
    #[callback("udp")]
    pub fn udp_counts(p: &PktCount, b: &ByteCount) {
        let _ = (p, b);
    }
    #[callback("http")]
    pub fn http(t: &HttpTransaction) {
        let _ = t;
    }
    #[callback("http.method = 'GET'")]
    pub fn http_get(t: &HttpTransaction) {
        let _ = t;
    }
    #[callback("tcp.port = 80", on = L4InConn)]
    pub fn web_packets(p: &Packet) {
        let _ = p;
    }
    #[callback("dns and not dns.qtype = 28")]
    pub fn dns_not_aaaa(t: &DnsTransaction) {
        let _ = t;
    }
    #[callback("tcp and not tls", on = L4Terminated)]
    pub fn not_tls(r: &ConnRecord, s: &SessionProto) {
        let _ = (r, s);
    }
    #[callback("quic or ssh")]
    pub fn proto(s: &SessionProto, f: &FiveTuple) {
        let _ = (s, f);
    }
    #[callback("ipv6 or vlan")]
    pub fn v6(f: &FiveTuple, t: &StartTime) {
        let _ = (f, t);
    }
}

#[weir::app(include(super::subs::all_tcp, super::subs::https, super::subs::sni, super::subs::udp_counts, super::subs::http, super::subs::http_get, super::subs::web_packets, super::subs::dns_not_aaaa, super::subs::not_tls, super::subs::proto, super::subs::v6))]
mod all {}

macro_rules! alone {
    ($($m:ident: $f:ident),* $(,)?) => {
        $(
            #[weir::app(include(super::subs::$f))]
            mod $m {}
        )*
        fn alone_runs(inputs: &[PathBuf]) -> Vec<(&'static str, Vec<Invocation>)> {
            vec![$((stringify!($f), run::<$m::App>(inputs)),)*]
        }
    };
}

alone!(a1: all_tcp, a2: https, a3: sni, a4: udp_counts, a5: http, a6: http_get, a7: web_packets, a8: dns_not_aaaa, a9: not_tls, a10: proto, a11: v6);

fn run<G: Generated>(inputs: &[PathBuf]) -> Vec<Invocation>
where
    G::Data: Send,
{
    let cfg = weir::runtime::Config::default();
    match run_compiled::<G>(inputs, &cfg, true) {
        Ok(r) => r.trace.map(|t| t.invocations).unwrap_or_default(),
        Err(e) => panic!("{inputs:?}: {e}"),
    }
}

/// Per connection, the invocations of one callback in order.
fn by_conn(v: &[Invocation], cb: &str) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for i in v.iter().filter(|i| i.callback == cb) {
        m.entry(i.conn.clone()).or_default().push(format!("{} {}", i.transition, i.args));
    }
    m
}

fn inputs() -> Vec<Vec<PathBuf>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut v = vec![vec![root.join("traces/data/default.pcap")]];
    let real = root.join("../shared/traces/real");
    match std::fs::read_dir(&real) {
        Ok(rd) => {
            let mut files: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng")).collect();
            files.sort();
            v.extend(files.into_iter().map(|f| vec![f]));
        }
        Err(e) => eprintln!("skipping shared real captures: {} unreadable ({e})", real.display()),
    }
    v
}

#[test]
fn each_subscription_gets_what_it_gets_alone() {
    let mut compared = 0usize;
    let mut delivered: BTreeMap<&str, usize> = BTreeMap::new();
    for input in inputs() {
        let together = run::<all::App>(&input);
        for (cb, alone) in alone_runs(&input) {
            let a = by_conn(&together, cb);
            let b = by_conn(&alone, cb);
            if a != b {
                let first = a.keys().chain(b.keys()).find(|k| a.get(*k) != b.get(*k)).cloned().unwrap_or_default();
                panic!(
                    "{input:?}: `{cb}` differs at connection {first}\n together: {:#?}\n alone: {:#?}",
                    a.get(&first),
                    b.get(&first)
                );
            }
            let n: usize = b.values().map(Vec::len).sum();
            compared += n;
            *delivered.entry(cb).or_default() += n;
        }
    }
    eprintln!("overlap: {compared} invocations compared; per callback {delivered:?}");
    // Every subscription was exercised somewhere.
    for (cb, n) in &delivered {
        assert!(*n > 0, "`{cb}` was never delivered on any trace");
    }
}

#[test]
fn engines_agree_quick() {
    use weir::app::{run, Engine};
    let cfg = weir::runtime::Config::default();
    for input in inputs() {
        let mut res = Vec::new();
        for e in [Engine::Compiled, Engine::Naive, Engine::Interp] {
            let t = run::<all::App>(e, &input, &cfg, true).unwrap().trace.unwrap().invocations;
            let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for i in t {
                m.entry(i.conn.clone()).or_default().push(format!("{} {} {}", i.callback, i.transition, i.args));
            }
            res.push(m);
        }
        for k in 1..3 {
            if res[0] != res[k] {
                let a = &res[0];
                let b = &res[k];
                let first = a.keys().chain(b.keys()).find(|c| a.get(*c) != b.get(*c)).cloned().unwrap_or_default();
                panic!("{input:?} engine {k}: {first}\n compiled: {:#?}\n other: {:#?}", a.get(&first), b.get(&first));
            }
        }
    }
}
