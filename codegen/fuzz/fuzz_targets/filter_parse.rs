//! Fuzzes the filter language end to end: arbitrary UTF-8 through
//! `Filter::new` (parse, type, normal form). Errors must display; a valid
//! filter must print back to an equal AST (and printing must be a
//! fixpoint), its DNF text must parse again, a trie must build from it, and
//! on a few fixed *final* connections (every user predicate decided) the
//! typed expression, the DNF and the trie must give the same verdict.
//!
//! Inputs containing `file=` are skipped: an include reads any path on the
//! machine (see README.md).
#![no_main]

use libfuzzer_sys::fuzz_target;
use weir_filter::dnf::DnfOptions;
use weir_filter::eval::{eval_dnf, eval_expr, L4Facts};
use weir_filter::trie::{PredicateTrie, TrieOptions};
use weir_filter::typed::Proto;
use weir_filter::{Filter, L7State, Options, PacketFacts, SessionFields, Subject, Verdict};
use weir_protocols::registry::Protocol;
use weir_protocols::FieldValue;
use weir_wire::VlanStack;

/// One session: (field, value) pairs.
struct Session(Protocol, Vec<(&'static str, FieldValue<'static>)>);

impl SessionFields for Session {
    fn protocol(&self) -> Protocol {
        self.0
    }
    fn field(&self, name: &str) -> Option<FieldValue<'_>> {
        self.1.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }
}

/// A finished connection; user predicates are decided by their name.
struct Conn {
    packet: PacketFacts,
    l7: L7State,
    sessions: Vec<Session>,
}

impl Subject for Conn {
    fn packet(&self) -> Option<&PacketFacts> {
        Some(&self.packet)
    }
    fn l7(&self) -> L7State {
        self.l7
    }
    fn any_session(&self, f: &mut dyn FnMut(&dyn SessionFields) -> bool) -> bool {
        self.sessions.iter().any(|s| f(s))
    }
    fn sessions_final(&self) -> bool {
        true
    }
    fn user(&self, name: &str) -> Verdict {
        Verdict::from_bool(name.len().is_multiple_of(2))
    }
}

fn conns() -> Vec<Conn> {
    let pkt = |src: &str, dst: &str, proto: Proto, sp: u16, dp: u16, flags: u8, vlans: &[u16]| {
        let mut v = VlanStack::new();
        for id in vlans {
            v.push(*id);
        }
        PacketFacts {
            ethernet: true,
            vlans: v,
            src: src.parse().unwrap(),
            dst: dst.parse().unwrap(),
            ttl: 64,
            ip_protocol: if proto == Proto::Tcp { 6 } else { 17 },
            l4: Some(L4Facts { proto, src_port: sp, dst_port: dp, flags }),
        }
    };
    vec![
        Conn {
            packet: pkt("10.0.0.1", "93.184.216.34", Proto::Tcp, 40000, 443, 0x02, &[]),
            l7: L7State::Known(Protocol::Tls),
            sessions: vec![Session(
                Protocol::Tls,
                vec![("tls.sni", FieldValue::Str("www.example.com")), ("tls.version", FieldValue::Int(0x0304)), ("tls.alpn", FieldValue::Str("h2"))],
            )],
        },
        Conn {
            packet: pkt("2001:db8::1", "2001:db8::53", Proto::Udp, 5353, 53, 0, &[10]),
            l7: L7State::Known(Protocol::Dns),
            sessions: vec![
                Session(Protocol::Dns, vec![("dns.qname", FieldValue::Str("a.com")), ("dns.qtype", FieldValue::Int(1))]),
                Session(Protocol::Dns, vec![("dns.qname", FieldValue::Str("b.com")), ("dns.rcode", FieldValue::Int(3))]),
            ],
        },
        Conn {
            packet: pkt("192.168.1.2", "10.1.2.3", Proto::Tcp, 51000, 80, 0x18, &[]),
            l7: L7State::Known(Protocol::Http),
            sessions: vec![Session(
                Protocol::Http,
                vec![("http.host", FieldValue::Str("a.com")), ("http.status", FieldValue::Int(200)), ("http.uri", FieldValue::Str("/"))],
            )],
        },
        Conn { packet: pkt("10.0.0.1", "10.0.0.2", Proto::Udp, 443, 50000, 0, &[]), l7: L7State::None, sessions: vec![] },
    ]
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if text.contains("file=") {
        return;
    }
    // A small normal-form limit keeps each input fast (and fuzzes the limit).
    let opts = Options { dnf: DnfOptions { max_conjunctions: 512, ..DnfOptions::default() }, ..Options::default() };
    let f = match Filter::with_options(text, &opts) {
        Ok(f) => f,
        Err(e) => {
            assert!(e.span.start <= e.span.end, "{e:?}");
            let _ = e.to_string();
            return;
        }
    };
    let printed = f.ast.to_string();
    let again = match weir_filter::parse::parse(&printed) {
        Ok(a) => a,
        Err(e) => panic!("{text:?} prints as {printed:?}, which does not parse:\n{e}"),
    };
    assert_eq!(again.without_spans(), f.ast.without_spans(), "{text:?} prints as {printed:?}");
    assert_eq!(again.to_string(), printed, "printing is not a fixpoint for {text:?}");
    if let Err(e) = Filter::with_options(&printed, &opts) {
        panic!("{text:?} prints as {printed:?}, which does not type-check:\n{e}");
    }
    let dnf_text = f.dnf.to_string();
    let g = match Filter::with_options(&dnf_text, &Options::default()) {
        Ok(g) => g,
        Err(e) => panic!("{text:?}: DNF text {dnf_text:?} does not parse:\n{e}"),
    };
    let trie = match PredicateTrie::build(&[&f.dnf, &g.dnf], &TrieOptions::default()) {
        Ok(t) => t,
        Err(_) => return,
    };
    let _ = trie.to_string();
    for c in conns() {
        let e = eval_expr(&f.expr, &c);
        let d = eval_dnf(&f.dnf, &c);
        let d2 = eval_dnf(&g.dnf, &c);
        let t = trie.eval(&c);
        assert_eq!(e, d, "{text:?}: expression vs DNF {dnf_text:?}");
        assert_eq!(d, d2, "{text:?}: DNF vs the DNF of its text");
        assert_eq!(t, vec![d, d2], "{text:?}: trie vs DNF\n{trie}");
    }
});
