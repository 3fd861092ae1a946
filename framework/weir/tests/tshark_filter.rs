//! `weir log --filter` against tshark's display filters on every capture in
//! `../shared/traces/real`: for each case, the connections weir logs equal
//! the conversations tshark selects with the equivalent display filter.
//!
//! The two languages mean different things by a filter, so each case states
//! its tshark side as a small set algebra over display filters:
//!
//! - `sel(F)` is the set of conversations in which at least one frame
//!   matches `F`: tshark's filters are per frame, weir's per connection;
//! - `a - b`, `a | b`, `a & b` are difference, union and intersection. As
//!   weir's `not` on packet and protocol predicates is connection-level,
//!   `tcp and not tls` is `sel("tcp") - sel(TLS)`: the TCP conversations
//!   none of whose frames is TLS. Field predicates are decided per session
//!   (`docs/SEMANTICS.md` §2), so `http.method != 'GET'` is a request whose
//!   method is not GET, `sel(HTTP && http.request.method != "GET")`, and
//!   `not http.method = 'GET'` also holds on a connection without HTTP.
//!
//! tshark runs once per capture (`-q -z conv,tcp,F -z conv,udp,F` for every
//! display filter of every case, with the options of `truth.sh` and the
//! `-d` port hints of `truth/decode_as.tsv`); weir runs once per (case,
//! capture) through the library, as `weir log --filter` does. Connections
//! are compared as (L4 protocol, unordered pair of endpoints): tshark's
//! tables ignore VLAN IDs, and weir may split one conversation into several
//! connections by its timers (see `tshark_conn.rs`). Frames inside ICMP
//! errors are left out of every display filter.
//!
//! Translations that follow from weir's definitions (not differences):
//!
//! - weir identifies TLS by its ClientHello, directly over TCP, so its `tls`
//!   is [`TLS`]: a ClientHello over TCP, not inside OpenVPN. A connection
//!   caught after its handshake is not TLS to weir (tshark decodes its
//!   records on port 443), and tshark also dissects QUIC's handshake as `tls`.
//! - weir's DNS probe accepts the DNS message format whatever the port, and
//!   mDNS, LLMNR and NetBIOS name service use it; tshark names those
//!   protocols apart, so [`DNS`] includes them (`tshark_l7.rs` leaves them
//!   out of its comparison instead). tshark's `dns.qry.*` fields cover DNS,
//!   mDNS and LLMNR.
//! - weir's `http` is HTTP/1.x over TCP ([`HTTP`]: tshark also names SSDP
//!   `http`), and `http.status` is the final response's (1xx other than 101
//!   skipped).
//! - weir's `tls.version`, `tls.cipher` and `tls.alpn` are the
//!   ServerHello's, so their tshark side looks only at frames carrying one;
//!   `ssh.client_version` / `ssh.server_version` are the banners of each side
//!   (tshark's `ssh.direction`).
//! - weir's packet-level fields are read from a connection's first packet;
//!   the cases use only those that every packet of a conversation shares
//!   (protocols, VLAN IDs, `*.addr` and `*.port`).
//!
//! Each filtered run is also checked against one unfiltered run: every conn
//! record it writes is one of the unfiltered run's, with exactly that
//! connection's L7 records. Differences with tshark that are understood are
//! listed in `KNOWN` as (capture, weir filter, reason); an entry that no
//! longer differs fails the test, as does a case that selects nothing on any
//! capture. The test skips, saying why, when `../shared` is absent or tshark
//! is not installed (CI installs it).

mod common;

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use weir::connlog::ConnLogRecord;
use weir::filter::dnf::Dnf;
use weir::filter::Filter;
use weir::app::Engine;
use weir::log::L7Record;
use weir::runtime::Config;

/// A TLS ClientHello directly over TCP (weir's `tls`).
const TLS: &str = "tls.handshake.type == 1 && tcp && !openvpn";
/// The DNS message format (weir's `dns`), see the module docs.
const DNS: &str = "dns || mdns || llmnr || nbns";
/// HTTP/1.x over TCP (weir's `http`).
const HTTP: &str = "http && tcp";

/// A tshark selection: a set algebra over display filters.
#[derive(Clone, Debug)]
enum T {
    /// Conversations with at least one frame matching the display filter.
    Sel(String),
    Or(Box<T>, Box<T>),
    And(Box<T>, Box<T>),
    Minus(Box<T>, Box<T>),
}

fn sel(display_filter: &str) -> T {
    T::Sel(display_filter.to_string())
}

impl std::ops::BitOr for T {
    type Output = T;
    fn bitor(self, o: T) -> T {
        T::Or(Box::new(self), Box::new(o))
    }
}
impl std::ops::BitAnd for T {
    type Output = T;
    fn bitand(self, o: T) -> T {
        T::And(Box::new(self), Box::new(o))
    }
}
impl std::ops::Sub for T {
    type Output = T;
    fn sub(self, o: T) -> T {
        T::Minus(Box::new(self), Box::new(o))
    }
}

impl std::fmt::Display for T {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            T::Sel(s) => write!(f, "sel({s:?})"),
            T::Or(a, b) => write!(f, "({a} | {b})"),
            T::And(a, b) => write!(f, "({a} & {b})"),
            T::Minus(a, b) => write!(f, "({a} - {b})"),
        }
    }
}

impl T {
    fn display_filters<'a>(&'a self, out: &mut BTreeSet<&'a str>) {
        match self {
            T::Sel(s) => {
                out.insert(s);
            }
            T::Or(a, b) | T::And(a, b) | T::Minus(a, b) => {
                a.display_filters(out);
                b.display_filters(out);
            }
        }
    }

    fn eval(&self, by_filter: &BTreeMap<String, BTreeSet<Conv>>) -> BTreeSet<Conv> {
        match self {
            T::Sel(s) => by_filter[&tap_filter(s)].clone(),
            T::Or(a, b) => &a.eval(by_filter) | &b.eval(by_filter),
            T::And(a, b) => &a.eval(by_filter) & &b.eval(by_filter),
            T::Minus(a, b) => &a.eval(by_filter) - &b.eval(by_filter),
        }
    }
}

/// The display filter tshark applies: the case's, outside ICMP errors.
fn tap_filter(f: &str) -> String {
    format!("({f}) && !icmp && !icmpv6")
}

struct Case {
    weir: &'static str,
    tshark: T,
}

fn case(weir: &'static str, tshark: T) -> Case {
    Case { weir, tshark }
}

/// Every case: a weir filter and its tshark selection.
fn cases() -> Vec<Case> {
    let tls = || sel(TLS);
    let http = || sel(HTTP);
    let dns = || sel(DNS);
    let http_with = |cond: &str| sel(&format!("({HTTP}) && {cond}"));
    let tls_with = |cond: &str| sel(&format!("({TLS}) && {cond}"));
    // A frame carrying a ServerHello: the fields of the ClientHello, which shares names
    // such as `tls.handshake.ciphersuite`, never sit in the same frame.
    let server_hello = |cond: &str| {
        sel(&format!(
            "tcp && !openvpn && tls.handshake.type == 2 && {cond}"
        ))
    };
    vec![
        // Protocols.
        case("ipv4", sel("ip")),
        case("ipv6", sel("ipv6")),
        case("tcp", sel("tcp")),
        case("udp", sel("udp")),
        case("vlan", sel("vlan")),
        case("tls", tls()),
        case("http", http()),
        case("dns", dns()),
        case("quic", sel("quic")),
        case("ssh", sel("ssh")),
        // Packet-level fields.
        case("vlan.id = 42", sel("vlan.id == 42")),
        case("vlan.id in {10, 20}", sel("vlan.id in {10, 20}")),
        case(
            "ipv4.addr in 192.168.0.0/16",
            sel("ip.addr == 192.168.0.0/16"),
        ),
        case(
            "ipv4.addr in {10.0.0.0/8, 172.16.0.0/12}",
            sel("ip.addr == 10.0.0.0/8 || ip.addr == 172.16.0.0/12"),
        ),
        case("ipv4.addr = 192.168.115.8", sel("ip.addr == 192.168.115.8")),
        case(
            "ipv6.addr in 2001:470::/32",
            sel("ipv6.addr == 2001:470::/32"),
        ),
        case(
            "ipv6.addr in {2a00:1450::/32, 2606:4700::/32}",
            sel("ipv6.addr == 2a00:1450::/32 || ipv6.addr == 2606:4700::/32"),
        ),
        case(
            "ipv4.addr != 192.168.0.0/16",
            sel("ip") - sel("ip.addr == 192.168.0.0/16"),
        ),
        case(
            "ipv6.addr != fe80::/10",
            sel("ipv6") - sel("ipv6.addr == fe80::/10"),
        ),
        case("tcp.port = 443", sel("tcp.port == 443")),
        case("tcp.port != 80", sel("tcp") - sel("tcp.port == 80")),
        case("tcp.port in 8000..=8080", sel("tcp.port in {8000..8080}")),
        case("tcp.port in 20..23", sel("tcp.port in {20..22}")),
        case(
            "udp.port in {53, 123, 5353}",
            sel("udp.port in {53, 123, 5353}"),
        ),
        case("udp.port <= 123", sel("udp.port <= 123")),
        case(
            "udp.port < 1024 and not dns",
            sel("udp.port < 1024") - dns(),
        ),
        case("tcp.port > 49151 and ipv6", sel("tcp.port > 49151 && ipv6")),
        case(
            "tcp.port >= 8000 and tcp.port <= 9000",
            sel("tcp.port >= 8000 && tcp.port <= 9000"),
        ),
        // L7 fields.
        case(
            "tls.sni contains 'google'",
            tls_with("tls.handshake.extensions_server_name contains \"google\""),
        ),
        case(
            r"tls.sni ~ '^www\\.'",
            tls_with(r#"tls.handshake.extensions_server_name matches "^www\\.""#),
        ),
        case(
            "tls.sni = 'pitangui.amazon.com'",
            tls_with("tls.handshake.extensions_server_name == \"pitangui.amazon.com\""),
        ),
        case(
            "not tls.sni contains 'google'",
            sel("tcp || udp")
                - tls_with("tls.handshake.extensions_server_name contains \"google\""),
        ),
        case(
            "tls and not tls.sni ~ '.'",
            tls() - tls_with("tls.handshake.extensions_server_name matches \".\""),
        ),
        case(
            "tls.sni not contains 'amazon'",
            tls() - tls_with("tls.handshake.extensions_server_name contains \"amazon\""),
        ),
        case(
            "tls.version = 0x0304",
            server_hello("tls.handshake.extensions.supported_version == 0x0304"),
        ),
        case(
            "tls.version < 0x0303",
            server_hello(
                "!tls.handshake.extensions.supported_version && tls.handshake.version < 0x0303",
            ),
        ),
        case(
            "tls.cipher in {'TLS_AES_128_GCM_SHA256', 'TLS_RSA_WITH_AES_128_CBC_SHA'}",
            server_hello("tls.handshake.ciphersuite in {0x1301, 0x002f}"),
        ),
        case(
            "http.host = 'bro.org'",
            http_with("http.host == \"bro.org\""),
        ),
        case(
            r"http.host ~ '^[0-9.]+(:[0-9]+)?$'",
            http_with(r#"http.host matches "^[0-9.]+(:[0-9]+)?$""#),
        ),
        case(
            "http.method in {'POST', 'PUT', 'DELETE'}",
            http_with("http.request.method in {\"POST\", \"PUT\", \"DELETE\"}"),
        ),
        case(
            "http.method != 'GET'",
            http_with("http.request.method != \"GET\""),
        ),
        case(
            r"http.host matches '\\.com$'",
            http_with(r#"http.host matches "\\.com$""#),
        ),
        case(
            "http.user_agent contains 'Android'",
            http_with("http.user_agent contains \"Android\""),
        ),
        case(
            "http.user_agent ~ 'Firefox/[0-9]+'",
            http_with("http.user_agent matches \"Firefox/[0-9]+\""),
        ),
        case("http.status >= 400", http_with("http.response.code >= 400")),
        case("http.status = 304", http_with("http.response.code == 304")),
        // weir's status is the final response's: 1xx interim responses other than 101 are skipped.
        case(
            "http.status < 200",
            http_with("http.response.code < 200 && !(http.response.code in {100, 102..199})"),
        ),
        case(
            "http.host not contains 'google'",
            http_with("http.request && !(http.host contains \"google\")"),
        ),
        case(
            "dns.qname = 'www.google.com'",
            sel("dns.qry.name == \"www.google.com\""),
        ),
        case(
            r"dns.qname ~ '\\.de$'",
            sel(r#"dns.qry.name matches "\\.de$""#),
        ),
        case("dns.qtype = 28", sel("dns.qry.type == 28")),
        // NetBIOS name service names its query type `nbns.type`.
        case("dns.qtype != 1", dns() & sel("dns.qry.type != 1 || (nbns && nbns.type != 1)")),
        case(
            "dns.rcode = 3",
            sel(&format!(
                "({DNS}) && dns.flags.response == 1 && dns.flags.rcode == 3"
            )),
        ),
        case("quic.version = 1", sel("quic.version == 1")),
        case(
            "quic.version = 0x6b3343cf",
            sel("quic.version == 0x6b3343cf"),
        ),
        case(
            "quic.sni contains 'google'",
            sel("quic && tls.handshake.extensions_server_name contains \"google\""),
        ),
        case(
            "quic and not quic.sni contains 'google'",
            sel("quic") - sel("quic && tls.handshake.extensions_server_name contains \"google\""),
        ),
        case(
            "ssh.client_version contains 'OpenSSH_6'",
            sel("ssh.protocol contains \"OpenSSH_6\" && ssh.direction == 0"),
        ),
        case(
            r"ssh.client_version ~ '^SSH-2\\.0-OpenSSH_[5-7]\\.'",
            sel(r#"ssh.protocol matches "^SSH-2\\.0-OpenSSH_[5-7]\\." && ssh.direction == 0"#),
        ),
        case(
            r"ssh.server_version ~ '^SSH-1\\.99'",
            sel(r#"ssh.protocol matches "^SSH-1\\.99" && ssh.direction == 1"#),
        ),
        case(
            "ssh and not ssh.server_version contains 'OpenSSH'",
            sel("ssh") - sel("ssh.protocol contains \"OpenSSH\" && ssh.direction == 1"),
        ),
        // Combinations.
        case("tcp and not tls", sel("tcp") - tls()),
        case("tls or http", tls() | http()),
        case(
            "udp.port = 443 or tls.sni contains 'netflix'",
            sel("udp.port == 443")
                | tls_with("tls.handshake.extensions_server_name contains \"netflix\""),
        ),
        case("(http or tls) and ipv6", (http() | tls()) & sel("ipv6")),
        case("dns and tcp", dns() & sel("tcp")),
        case("not tcp", sel("tcp || udp") - sel("tcp")),
        case("not dns", sel("tcp || udp") - dns()),
        case(
            "not http.method = 'GET'",
            (sel("tcp || udp") - http()) | http_with("http.request.method != \"GET\""),
        ),
        case(
            "dns and udp.port != 53",
            dns() & (sel("udp") - sel("udp.port == 53")),
        ),
        case(
            "tcp and not (tls or http or ssh or dns)",
            sel("tcp") - tls() - http() - sel("ssh") - dns(),
        ),
        case("tls and not tcp.port = 443", tls() - sel("tcp.port == 443")),
        case(
            "(tcp.port = 80 or tcp.port = 8000) and http.method = 'POST'",
            sel("tcp.port == 80 || tcp.port == 8000")
                & http_with("http.request.method == \"POST\""),
        ),
        case(
            "ipv4.addr = 192.168.122.87 or dns.qname contains 'google'",
            sel("ip.addr == 192.168.122.87") | sel("dns.qry.name contains \"google\""),
        ),
        case(
            "udp and not (dns or quic)",
            sel("udp") - dns() - sel("quic"),
        ),
        case("tcp.port = 443 and not tls", sel("tcp.port == 443") - tls()),
        case(
            "tls.sni contains 'google' or quic.sni contains 'google'",
            tls_with("tls.handshake.extensions_server_name contains \"google\"")
                | sel("quic && tls.handshake.extensions_server_name contains \"google\""),
        ),
    ]
}

/// Differences with tshark that are understood: (capture, the weir filters
/// that differ there, reason). Every (capture, filter) pair must differ.
const KNOWN: &[(&str, &[&str], &str)] = &[
    (
        "ndpi__sites.pcap",
        &["tcp and not tls", "tcp.port = 443 and not tls", "tcp and not (tls or http or ssh or dns)"],
        "the capture joins traces and its frames go back in time: two SYNs (ports 49950, 55280) follow frames \
         stamped 48 s and 6 s after them, so weir's establishment timer ends each at once and its SYN-ACK starts a \
         second connection on the same five-tuple, holding the ClientHello; the first piece, without TLS, is \
         `not tls`, and a five-tuple comparison cannot tell the pieces apart",
    ),
    (
        "sv__base64-decode-5885.pcap",
        &["tcp and not tls", "tcp.port = 443 and not tls", "tcp and not (tls or http or ssh or dns)"],
        "the five-tuple 192.168.100.67:57558 -> 142.251.39.35:443 carries a SYN reset at once (SYN, ACK of an \
         unseen segment, RST), then the SYN again 3 s later and a TLS connection: weir logs two connections, the RST \
         ending the first, which is `not tls`; a five-tuple comparison cannot tell it apart from the second",
    ),
    (
        "zeek__http_methods.pcap",
        &[
            "http",
            "http.method in {'POST', 'PUT', 'DELETE'}",
            "http.method != 'GET'",
            "http.status >= 400",
            r"http.host matches '\\.com$'",
            "tls or http",
            "not http.method = 'GET'",
            "tcp and not (tls or http or ssh or dns)",
            "(tcp.port = 80 or tcp.port = 8000) and http.method = 'POST'",
        ],
        "deliberately broken request lines (`OPTIONS HTTP/1.1`, `GET /HTTP/1.1`, ...): weir's probe decides by \
         content and needs METHOD SP target SP HTTP/1.x, so these connections are not HTTP to weir; tshark decodes \
         them as HTTP because they are on port 80 (as in tshark_l7.rs)",
    ),
    (
        "zeek__wikipedia.pcap",
        &["dns", "not dns", "dns and udp.port != 53", "udp and not (dns or quic)"],
        "two mDNS announcements are responses without a question (QDCOUNT 0): weir's DNS probe requires a \
         question, so they are not DNS to weir; tshark decodes them as mDNS by port 5353",
    ),
];

/// A conversation: L4 protocol and the unordered pair of endpoints.
type Conv = (&'static str, (IpAddr, u16), (IpAddr, u16));

fn conv(proto: &str, a: (IpAddr, u16), b: (IpAddr, u16)) -> Conv {
    let proto = match proto {
        "tcp" => "tcp",
        "udp" => "udp",
        other => panic!("unexpected protocol {other}"),
    };
    if a <= b {
        (proto, a, b)
    } else {
        (proto, b, a)
    }
}

fn show(c: &Conv) -> String {
    let ep = |(ip, port): (IpAddr, u16)| match ip {
        IpAddr::V4(_) => format!("{ip}:{port}"),
        IpAddr::V6(_) => format!("[{ip}]:{port}"),
    };
    format!("{} {} <-> {}", c.0, ep(c.1), ep(c.2))
}

/// `addr:port` as tshark's conversation table prints it (IPv6 unbracketed).
fn endpoint(s: &str) -> Option<(IpAddr, u16)> {
    let (addr, port) = s.rsplit_once(':')?;
    Some((addr.parse().ok()?, port.parse().ok()?))
}

/// The `-d` port hints truth.sh used for this capture.
fn decode_as(dir: &Path, capture: &str) -> Vec<String> {
    let text =
        std::fs::read_to_string(dir.join("truth/decode_as.tsv")).expect("truth/decode_as.tsv");
    text.lines()
        .filter_map(|l| l.split_once('\t'))
        .filter(|(name, _)| *name == capture)
        .flat_map(|(_, hints)| {
            hints
                .split_whitespace()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Runs tshark once on `pcap` and returns, per display filter (as given to
/// the tap), the conversations with a matching frame.
fn tshark_selections(
    dir: &Path,
    pcap: &Path,
    filters: &[String],
) -> BTreeMap<String, BTreeSet<Conv>> {
    let name = pcap.file_name().unwrap().to_string_lossy().to_string();
    let mut cmd = Command::new("tshark");
    cmd.args(["-n", "-2", "-q"]);
    for o in [
        "tcp.desegment_tcp_streams:TRUE",
        "tcp.analyze_sequence_numbers:TRUE",
        "ip.defragment:TRUE",
        "ipv6.defragment:TRUE",
    ] {
        cmd.args(["-o", o]);
    }
    cmd.args(decode_as(dir, &name));
    cmd.arg("-r").arg(pcap);
    for f in filters {
        cmd.args([
            "-z",
            &format!("conv,tcp,{f}"),
            "-z",
            &format!("conv,udp,{f}"),
        ]);
    }
    let out = cmd.output().expect("tshark runs (apt-get install tshark)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "tshark failed on {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut by_filter: BTreeMap<String, BTreeSet<Conv>> = BTreeMap::new();
    let mut seen: BTreeSet<(&str, String)> = BTreeSet::new();
    let mut proto = "";
    let mut current: Option<String> = None;
    for line in stdout.lines() {
        if line.starts_with("====") {
            current = None;
        } else if line == "TCP Conversations" {
            proto = "tcp";
        } else if line == "UDP Conversations" {
            proto = "udp";
        } else if let Some(f) = line.strip_prefix("Filter:") {
            assert!(
                seen.insert((proto, f.to_string())),
                "{name}: two {proto} tables for {f}"
            );
            by_filter.entry(f.to_string()).or_default();
            current = Some(f.to_string());
        } else if let Some(f) = &current {
            let t: Vec<&str> = line.split_whitespace().collect();
            if t.get(1) != Some(&"<->") {
                continue;
            }
            let (Some(a), Some(b)) = (endpoint(t[0]), endpoint(t[2])) else {
                panic!("{name}: unreadable conversation line {line:?}");
            };
            by_filter.get_mut(f).unwrap().insert(conv(proto, a, b));
        }
    }
    for f in filters {
        for p in ["tcp", "udp"] {
            assert!(
                seen.contains(&(p, f.clone())),
                "{name}: tshark printed no {p} table for {f}"
            );
        }
    }
    by_filter
}

/// What `weir log` writes for `pcap`, with a filter or without.
struct Logs {
    conns: Vec<ConnLogRecord>,
    sessions: Vec<L7Record>,
}

fn weir_log(pcap: &Path, filter: Option<&Arc<Dnf>>) -> Logs {
    let mut cfg = Config::default();
    cfg.offline.cores = 1;
    cfg.offline.progress = false;
    let (logs, report) = weir::log::run(Engine::Compiled, &[pcap.to_path_buf()], &cfg, filter.cloned()).unwrap();
    assert!(
        report.stats.balanced(),
        "{}: counters do not add up",
        pcap.display()
    );
    Logs {
        conns: logs.conns,
        sessions: logs.sessions,
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap_or_else(|_| panic!("address {s}"))
}

/// An L7 record's connection as (proto, originator, responder).
fn session_key(r: &L7Record) -> (String, (IpAddr, u16), (IpAddr, u16)) {
    let f = &r.fields;
    let s = |k: &str| {
        f[k].as_str()
            .unwrap_or_else(|| panic!("{k} in {f:?}"))
            .to_string()
    };
    let p = |k: &str| f[k].as_u64().unwrap_or_else(|| panic!("{k} in {f:?}")) as u16;
    (
        s("proto"),
        (ip(&s("orig_h")), p("orig_p")),
        (ip(&s("resp_h")), p("resp_p")),
    )
}

fn conn_key(r: &ConnLogRecord) -> (String, (IpAddr, u16), (IpAddr, u16)) {
    (
        r.proto.to_string(),
        (ip(&r.orig_h), r.orig_p),
        (ip(&r.resp_h), r.resp_p),
    )
}

fn multiset<T: Ord>(items: impl IntoIterator<Item = T>) -> BTreeMap<T, usize> {
    let mut m = BTreeMap::new();
    for i in items {
        *m.entry(i).or_insert(0) += 1;
    }
    m
}

/// Whether `small` is contained in `big`, counting multiplicity.
fn included<T: Ord>(small: &BTreeMap<T, usize>, big: &BTreeMap<T, usize>) -> bool {
    small
        .iter()
        .all(|(k, n)| big.get(k).is_some_and(|m| m >= n))
}

/// `weir log --filter` must write exactly the unfiltered records of the
/// connections it selects: each conn record is one of the unfiltered run's,
/// and the L7 records are those of the selected connections. (L7 records
/// name a connection by its five-tuple only, so where weir split a
/// five-tuple into several connections and selected some of them, only
/// inclusion is checked.)
fn check_against_unfiltered(filtered: &Logs, all: &Logs) -> Vec<String> {
    let mut problems = Vec::new();
    let all_conns = multiset(all.conns.iter().map(|r| format!("{r:?}")));
    for r in &filtered.conns {
        if !all_conns.contains_key(&format!("{r:?}")) {
            problems.push(format!(
                "conn record differs from the unfiltered run's: {r:?}"
            ));
        }
    }
    let pieces_sel = multiset(filtered.conns.iter().map(conn_key));
    let by_key = |logs: &Logs| {
        let mut m: BTreeMap<_, Vec<String>> = BTreeMap::new();
        for r in &logs.sessions {
            m.entry(session_key(r))
                .or_default()
                .push(Value::Object(r.fields.clone()).to_string());
        }
        m
    };
    let (sess_all, sess_sel) = (by_key(all), by_key(filtered));
    for (k, recs) in &sess_sel {
        if !pieces_sel.contains_key(k) {
            problems.push(format!(
                "L7 records of a connection that is not logged: {}",
                recs[0]
            ));
        }
    }
    for k in pieces_sel.keys() {
        let mine = multiset(sess_sel.get(k).into_iter().flatten());
        let theirs = multiset(sess_all.get(k).into_iter().flatten());
        // A transaction before the one through which the filter matched
        // is not logged (field predicates are per session), so the
        // filtered records are among the unfiltered ones (log_filter.rs
        // checks that they are exactly those from the matching one on).
        let ok = included(&mine, &theirs);
        if !ok {
            problems.push(format!(
                "L7 records of {k:?} differ from the unfiltered run's: filtered {:?}, unfiltered {:?}",
                mine.keys().collect::<Vec<_>>(),
                theirs.keys().collect::<Vec<_>>()
            ));
        }
    }
    problems
}

/// Per-capture outcome of one case.
struct Outcome {
    /// Filtered logs that are not the unfiltered logs of the selected connections.
    log_problems: Vec<String>,
    weir: usize,
    tshark: usize,
    only_weir: Vec<String>,
    only_tshark: Vec<String>,
}

#[test]
fn filtered_connections_match_tshark_display_filters() {
    let Some((dir, pcaps)) = common::real_captures() else {
        return;
    };
    let version = Command::new("tshark").arg("--version").output();
    let Some(version) = version.ok().filter(|o| o.status.success()) else {
        eprintln!("skipping: `tshark` is not on PATH (CI installs it: .ci/run)");
        return;
    };
    eprintln!(
        "{}",
        String::from_utf8_lossy(&version.stdout)
            .lines()
            .next()
            .unwrap_or("tshark")
    );
    let start = Instant::now();
    let cases = cases();
    let mut filters = BTreeSet::new();
    for c in &cases {
        c.tshark.display_filters(&mut filters);
    }
    let filters: Vec<String> = filters.into_iter().map(tap_filter).collect();
    let tries: Vec<Arc<Dnf>> = cases
        .iter()
        .map(|c| Arc::new(Filter::new(c.weir).unwrap_or_else(|e| panic!("{e}")).dnf))
        .collect();

    // Two workers over the captures; in each, tshark runs beside weir.
    let next = AtomicUsize::new(0);
    let results: Mutex<BTreeMap<usize, Vec<Outcome>>> = Mutex::new(BTreeMap::new());
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(pcap) = pcaps.get(i) else { break };
                let (theirs, ours) = std::thread::scope(|s2| {
                    let t = s2.spawn(|| tshark_selections(&dir, pcap, &filters));
                    let all = weir_log(pcap, None);
                    let ours: Vec<(BTreeSet<Conv>, Vec<String>)> = tries
                        .iter()
                        .map(|t| {
                            let logs = weir_log(pcap, Some(t));
                            let conns = logs.conns.iter().map(|r| {
                                conv(
                                    r.proto,
                                    (ip(&r.orig_h), r.orig_p),
                                    (ip(&r.resp_h), r.resp_p),
                                )
                            });
                            (conns.collect(), check_against_unfiltered(&logs, &all))
                        })
                        .collect();
                    (t.join().unwrap(), ours)
                });
                let outcomes = cases
                    .iter()
                    .zip(ours)
                    .map(|(c, (ours, log_problems))| {
                        let expected = c.tshark.eval(&theirs);
                        Outcome {
                            log_problems,
                            weir: ours.len(),
                            tshark: expected.len(),
                            only_weir: ours.difference(&expected).map(show).collect(),
                            only_tshark: expected.difference(&ours).map(show).collect(),
                        }
                    })
                    .collect();
                results.lock().unwrap().insert(i, outcomes);
            });
        }
    });
    let results = results.into_inner().unwrap();

    let mut failures = Vec::new();
    let known_pairs: Vec<(&str, &str, &str)> = KNOWN
        .iter()
        .flat_map(|(cap, fs, why)| fs.iter().map(move |f| (*cap, *f, *why)))
        .collect();
    let mut known_used = vec![false; known_pairs.len()];
    let (mut compared, mut known_hits) = (0usize, 0usize);
    let mut totals = vec![(0usize, 0usize); cases.len()];
    for (i, outcomes) in &results {
        let name = pcaps[*i].file_name().unwrap().to_string_lossy().to_string();
        for (k, (c, o)) in cases.iter().zip(outcomes).enumerate() {
            compared += 1;
            totals[k].0 += o.weir;
            totals[k].1 += o.tshark;
            for p in &o.log_problems {
                failures.push(format!("{name} `{}`: {p}", c.weir));
            }
            if o.only_weir.is_empty() && o.only_tshark.is_empty() {
                continue;
            }
            if let Some(j) = known_pairs
                .iter()
                .position(|e| e.0 == name && e.1 == c.weir)
            {
                known_used[j] = true;
                known_hits += 1;
                eprintln!(
                    "known difference {name} `{}`: {}\n    only weir {:?}; only tshark {:?}",
                    c.weir, known_pairs[j].2, o.only_weir, o.only_tshark
                );
                continue;
            }
            failures.push(format!(
                "{name} `{}` vs {}:\n      only weir   {:?}\n      only tshark {:?}",
                c.weir, c.tshark, o.only_weir, o.only_tshark
            ));
        }
    }
    for (j, used) in known_used.iter().enumerate() {
        if !used {
            let (cap, filter, _) = known_pairs[j];
            failures.push(format!(
                "KNOWN entry ({cap}, `{filter}`) no longer differs; remove it"
            ));
        }
    }
    eprintln!("{:>6} {:>6}  filter", "weir", "tshark");
    for (c, (w, t)) in cases.iter().zip(&totals) {
        eprintln!("{w:>6} {t:>6}  {}", c.weir);
        if *w == 0 && *t == 0 {
            failures.push(format!(
                "`{}` selects nothing on any capture: pick a value that has teeth",
                c.weir
            ));
        }
    }
    let selected: usize = totals.iter().map(|t| t.1).sum();
    eprintln!(
        "{selected} connections selected by tshark in all, in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    eprintln!(
        "tshark filters: {} filters, {} captures, {compared} connection selections compared, {known_hits} known differences",
        cases.len(),
        pcaps.len(),
    );
    assert!(
        selected >= 500,
        "the filters select only {selected} connections in all: too few to have teeth"
    );
    assert!(
        failures.is_empty(),
        "{} difference(s) with tshark:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}
