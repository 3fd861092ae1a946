//! The `weir log` application: `conn.jsonl` plus one log per L7 protocol
//! (`tls.jsonl`, `http.jsonl`, `dns.jsonl`, `quic.jsonl`, `ssh.jsonl`).
//!
//! It is a weir application ([`app`]): four subscriptions, so it runs on every engine (`weir log --engine
//! compiled|interp|naive`), and the logs of the three are identical.
//!
//! - `conn`: `ConnRecord`, `FiveTuple` and `SessionProto`, at termination;
//! - `handshake`: each TLS, QUIC or SSH session when it ends (also a
//!   handshake that never finished, with what was seen);
//! - `http`, `dns`: each transaction (per session), built-in data types.
//!
//! Each L7 record carries `ts`, the connection's `orig_h, orig_p, resp_h,
//! resp_p, proto` (originator = client), and the protocol's keys:
//!
//! - tls: `version, client_version, sni, alpn, cipher, client_ciphers, ja3, ja3s, ja4, cert_subjects, cert_issuers`
//! - http: `method, host, uri, version, user_agent, status, status_msg, req_body_len, resp_body_len, content_type, trans_depth`
//! - dns: `transport, id, qname, qtype, rcode, answers, ttls, rtt` (`rcode` is
//!   null without a response; `rtt`, in seconds, is null unless both the query
//!   and the response were seen)
//! - quic: `version` (name, e.g. `v1`), `sni, alpn, dcid, scid`
//! - ssh: `client_version, server_version, client_kex, server_kex`
//!
//! `ts` is packet time: when the session ended (TLS, QUIC, SSH, HTTP), for
//! DNS the query's time (the response's without a query).
//!
//! **Filter** (`weir log --filter F`): the filter text is only known at run
//! time, so it is the user predicate `LogFilter`, a stateful filter asked at
//! the first packet, at protocol discovery, at each session's end and at
//! termination, over what [`app::LogFacts`] has seen. It means what `F`
//! means as a subscription's filter (`docs/SEMANTICS.md` §2): packet and
//! protocol predicates per connection, field predicates per session (a
//! conjunction matches through one session satisfying all its field
//! literals; sessions are tried when they end). A connection that cannot
//! match is dropped at its first packet. A connection is logged when `F`
//! matched it; an HTTP or DNS transaction when `F` had matched by the end of
//! that transaction (through it or an earlier one); a TLS, QUIC or SSH
//! handshake when `F` matched the connection.
//!
//! The callbacks write into a process-wide sink, so one process runs one
//! `weir log` at a time ([`run`] and [`collect`] take a lock).

use crate::app::Engine;
use crate::connlog::{sort_records, ConnLogRecord};
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use weir_conntrack::{FiveTuple, Timestamp};
use weir_filter::dnf::Dnf;
use weir_protocols::registry::{AnySessionRef, Protocol};
use weir_runtime::{Config, RunError, RunReport};

/// One line of an L7 log.
#[derive(Clone, Debug, PartialEq)]
pub struct L7Record {
    pub protocol: Protocol,
    pub ts_ns: u64,
    pub fields: Map<String, Value>,
}

/// What one run logged, sorted ([`sort_records`], [`sort_sessions`]).
#[derive(Debug, Default)]
pub struct Logs {
    pub conns: Vec<ConnLogRecord>,
    pub sessions: Vec<L7Record>,
}

/// Where the callbacks write, and the run's filter.
static SINK: Mutex<Logs> = Mutex::new(Logs { conns: Vec::new(), sessions: Vec::new() });
static FILTER: RwLock<Option<Arc<Dnf>>> = RwLock::new(None);
static ONE_RUN: Mutex<()> = Mutex::new(());

fn sink() -> std::sync::MutexGuard<'static, Logs> {
    SINK.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs `f` (which runs [`app::LogApp`] on some engine or source) with
/// `filter` as the log filter (`None`: log everything), and returns its
/// result with the sorted logs.
pub fn collect<T>(filter: Option<Arc<Dnf>>, f: impl FnOnce() -> T) -> (T, Logs) {
    let _one = ONE_RUN.lock().unwrap_or_else(PoisonError::into_inner);
    *FILTER.write().unwrap_or_else(PoisonError::into_inner) = filter;
    *sink() = Logs::default();
    let out = f();
    *FILTER.write().unwrap_or_else(PoisonError::into_inner) = None;
    let mut logs = std::mem::take(&mut *sink());
    sort_records(&mut logs.conns);
    sort_sessions(&mut logs.sessions);
    (out, logs)
}

/// Runs `weir log` over pcap/pcapng files on `engine`.
pub fn run(engine: Engine, inputs: &[PathBuf], cfg: &Config, filter: Option<Arc<Dnf>>) -> Result<(Logs, RunReport), RunError> {
    let (r, logs) = collect(filter, || crate::app::run::<app::LogApp>(engine, inputs, cfg, false));
    Ok((logs, r?.report))
}

#[weir::app(name = LogApp)]
pub mod app {
    //! The subscriptions of `weir log` (see the module above).

    use super::{session_record, sink, FILTER};
    use crate::prelude::*;
    use std::sync::{Arc, PoisonError};
    use weir_filter::dnf::Dnf;
    use weir_filter::{L7State, Verdict};
    use weir_interp::machine::{dnf_verdict, packet_facts, ConnFacts};
    use weir_protocols::registry::AnySessionRef;

    /// What the log filter has seen of the connection, and its verdict so
    /// far, decided as a subscription's filter is (SEMANTICS §2, through the
    /// interpreter's literal-by-literal evaluation). Without a filter it
    /// holds nothing and has matched.
    pub struct LogFacts {
        filter: Option<Arc<Dnf>>,
        facts: Option<ConnFacts>,
        verdict: Verdict,
    }

    #[datatype(complete = L4FirstPacket)]
    impl LogFacts {
        pub fn new(_ctx: &Ctx) -> Self {
            let filter = FILTER.read().unwrap_or_else(PoisonError::into_inner).clone();
            let verdict = if filter.is_some() { Verdict::Undecided } else { Verdict::Match };
            LogFacts { filter, facts: None, verdict }
        }
        #[datatype_fn(on = L4FirstPacket)]
        fn first(&mut self, ctx: &Ctx, p: &L4Pdu) {
            if self.verdict == Verdict::Undecided {
                let info = weir_conntrack::ConnInfo { tuple: *ctx.tuple, id: ctx.id, ttl: ctx.ttl, ethernet: ctx.ethernet };
                self.facts = Some(ConnFacts::new(packet_facts(&info, p)));
                self.decide(None, false);
            }
        }
        #[datatype_fn(on = L7OnDisc)]
        fn disc(&mut self, _ctx: &Ctx, p: Option<Protocol>) {
            if let Some(f) = &mut self.facts {
                f.l7 = p.map_or(L7State::None, L7State::Known);
                self.decide(None, false);
            }
        }
        #[datatype_fn(on = L7EndSession)]
        fn session(&mut self, _ctx: &Ctx, s: &AnySession) {
            if let Some(f) = &mut self.facts {
                f.seen |= 1 << s.protocol() as u8;
                self.decide(Some(s.as_ref()), false);
            }
        }
        #[datatype_fn(on = L4Terminated)]
        fn end(&mut self, _ctx: &Ctx, _r: EndReason) {
            self.decide(None, true);
        }
    }

    impl std::fmt::Debug for LogFacts {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            write!(f, "LogFacts({:?})", self.verdict)
        }
    }

    impl LogFacts {
        /// A session tried on its own can only match; everything else decides
        /// what it can, and the end decides everything.
        fn decide(&mut self, session: Option<AnySessionRef<'_>>, last: bool) {
            let (Some(d), Some(f)) = (&self.filter, &self.facts) else { return };
            if self.verdict != Verdict::Undecided {
                return;
            }
            let v = dnf_verdict(d, f, session, last, &[]);
            self.verdict = match v {
                Verdict::Match => Verdict::Match,
                _ if last => Verdict::NoMatch,
                _ if session.is_some() => Verdict::Undecided,
                v => v,
            };
        }
        /// The verdict so far as a filter result.
        pub fn result(&self) -> FilterResult {
            match self.verdict {
                Verdict::Match => FilterResult::Accept,
                Verdict::NoMatch => FilterResult::Drop,
                Verdict::Undecided => FilterResult::Continue,
            }
        }
    }

    /// The run-time filter: asked wherever [`LogFacts`] can change its mind.
    pub struct LogFilter;

    #[filter]
    impl LogFilter {
        pub fn new(_ctx: &Ctx) -> Self {
            LogFilter
        }
        #[filter_fn(on = L4FirstPacket)]
        pub fn first(&mut self, f: &LogFacts) -> FilterResult {
            f.result()
        }
        #[filter_fn(on = L7OnDisc)]
        pub fn disc(&mut self, f: &LogFacts) -> FilterResult {
            f.result()
        }
        #[filter_fn(on = L7EndSession)]
        pub fn session(&mut self, f: &LogFacts) -> FilterResult {
            f.result()
        }
        #[filter_fn(on = L4Terminated)]
        pub fn end(&mut self, f: &LogFacts) -> FilterResult {
            f.result()
        }
    }

    /// When the latest session ended.
    #[derive(Debug)]
    pub struct SessionClock {
        pub ended: Timestamp,
    }

    #[datatype(complete = L7EndSession)]
    impl SessionClock {
        pub fn new(ctx: &Ctx) -> Self {
            SessionClock { ended: ctx.ts }
        }
        #[datatype_fn(on = L7EndSession)]
        fn ended(&mut self, ctx: &Ctx, _s: &AnySession) {
            self.ended = ctx.ts;
        }
    }

    #[callback("LogFilter")]
    fn conn(ft: &FiveTuple, rec: &ConnRecord, p: &SessionProto) {
        let r = crate::connlog::record_of(ft, rec, p.0.map(|p| p.name()));
        sink().conns.push(r);
    }

    /// The latest session that ended, and when. A TLS, QUIC or SSH
    /// handshake that never finished still ends (with the connection) and is
    /// logged with what was seen; the built-in handshake types only complete
    /// once the headers are parsed.
    #[derive(Debug)]
    pub struct Ended {
        pub session: Option<AnySession>,
        pub at: Timestamp,
    }

    #[datatype(level = Session, complete = L7EndSession, protocols(tls, quic, ssh))]
    impl Ended {
        pub fn new(ctx: &Ctx) -> Self {
            Ended { session: None, at: ctx.ts }
        }
        #[datatype_fn(on = L7EndSession)]
        fn ended(&mut self, ctx: &Ctx, s: &AnySession) {
            self.session = Some(s.clone());
            self.at = ctx.ts;
        }
    }

    #[callback("(tls or quic or ssh) and LogFilter")]
    fn handshake(ft: &FiveTuple, e: &Ended) {
        if let Some(s) = &e.session {
            sink().sessions.push(session_record(ft, e.at, s.as_ref()));
        }
    }

    #[callback("http and LogFilter")]
    fn http(ft: &FiveTuple, t: &HttpTransaction, c: &SessionClock) {
        sink().sessions.push(session_record(ft, c.ended, AnySessionRef::Http(t)));
    }

    #[callback("dns and LogFilter")]
    fn dns(ft: &FiveTuple, t: &DnsTransaction, c: &SessionClock) {
        sink().sessions.push(session_record(ft, c.ended, AnySessionRef::Dns(t)));
    }
}

const KEYS_TLS: &[&str] = &[
    "version",
    "client_version",
    "sni",
    "alpn",
    "cipher",
    "client_ciphers",
    "ja3",
    "ja3s",
    "ja4",
    "cert_subjects",
    "cert_issuers",
];
const KEYS_HTTP: &[&str] = &[
    "method",
    "host",
    "uri",
    "version",
    "user_agent",
    "status",
    "status_msg",
    "req_body_len",
    "resp_body_len",
    "content_type",
    "trans_depth",
];
const KEYS_DNS: &[&str] = &[
    "transport",
    "id",
    "qname",
    "qtype",
    "rcode",
    "answers",
    "ttls",
];
const KEYS_QUIC: &[&str] = &["sni", "alpn", "dcid", "scid"];
const KEYS_SSH: &[&str] = &[
    "client_version",
    "server_version",
    "client_kex",
    "server_kex",
];

/// Builds the log record of a completed session.
pub fn session_record(ft: &FiveTuple, ts: Timestamp, s: AnySessionRef<'_>) -> L7Record {
    let (protocol, value, keys) = match s {
        AnySessionRef::Tls(x) => (Protocol::Tls, serde_json::to_value(x), KEYS_TLS),
        AnySessionRef::Http(x) => (Protocol::Http, serde_json::to_value(x), KEYS_HTTP),
        AnySessionRef::Dns(x) => (Protocol::Dns, serde_json::to_value(x), KEYS_DNS),
        AnySessionRef::Quic(x) => (Protocol::Quic, serde_json::to_value(x), KEYS_QUIC),
        AnySessionRef::Ssh(x) => (Protocol::Ssh, serde_json::to_value(x), KEYS_SSH),
    };
    let value = value.unwrap_or(Value::Null);
    let ts = match s {
        AnySessionRef::Dns(d) => d.query_ts.or(d.response_ts).unwrap_or(ts),
        _ => ts,
    };
    let mut fields = Map::new();
    fields.insert("ts".into(), Value::from(ts.as_secs_f64()));
    fields.insert("orig_h".into(), Value::from(ft.orig.ip().to_string()));
    fields.insert("orig_p".into(), Value::from(ft.orig.port()));
    fields.insert("resp_h".into(), Value::from(ft.resp.ip().to_string()));
    fields.insert("resp_p".into(), Value::from(ft.resp.port()));
    fields.insert("proto".into(), Value::from(ft.proto.name()));
    if let AnySessionRef::Quic(q) = s {
        fields.insert("version".into(), Value::from(q.version_name.clone()));
    }
    for k in keys {
        fields.insert((*k).into(), value.get(*k).cloned().unwrap_or(Value::Null));
    }
    if let AnySessionRef::Dns(d) = s {
        let rtt = match (d.query_ts, d.response_ts) {
            (Some(q), Some(r)) => Value::from(r.saturating_since(q) as f64 / 1e9),
            _ => Value::Null,
        };
        fields.insert("rtt".into(), rtt);
    }
    L7Record {
        protocol,
        ts_ns: ts.as_nanos(),
        fields,
    }
}

/// Sorts L7 records by time, then connection, then content, so logs do not depend on the core count.
pub fn sort_sessions(v: &mut [L7Record]) {
    v.sort_by_cached_key(|r| (r.ts_ns, Value::Object(r.fields.clone()).to_string()));
}
