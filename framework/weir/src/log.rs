//! The `weir log` application: `conn.jsonl` plus one log per L7 protocol
//! (`tls.jsonl`, `http.jsonl`, `dns.jsonl`, `quic.jsonl`, `ssh.jsonl`).
//!
//! Each L7 record carries `ts` (packet time at which the session was
//! complete: for DNS the query time when there was a query), the
//! connection's `orig_h, orig_p, resp_h, resp_p, proto` (originator =
//! client), and the protocol's keys:
//!
//! - tls: `version, client_version, sni, alpn, cipher, client_ciphers, ja3, ja3s, ja4, cert_subjects, cert_issuers`
//! - http: `method, host, uri, version, user_agent, status, status_msg, req_body_len, resp_body_len, content_type, trans_depth`
//! - dns: `transport, id, qname, qtype, rcode, answers, ttls, rtt` (`rcode` is
//!   null without a response; `rtt`, in seconds, is null unless both the query
//!   and the response were seen)
//! - quic: `version` (name, e.g. `v1`), `sni, alpn, dcid, scid`
//! - ssh: `client_version, server_version, client_kex, server_kex`
//!
//! Cost: every connection is reassembled until its protocol is known; then
//! only while its parser can still produce something the logs use (for TLS,
//! QUIC and SSH, until the handshake's headers are parsed).
//!
//! **Filter** (`weir log --filter`): a connection is logged, with its L7
//! records, only when the filter matches it (connection-level meaning, see
//! `weir_filter::eval`). The filter is decided as early as possible: at the
//! first packet (a connection that cannot match is not tracked at all),
//! when the L7 protocol is identified, at each session; L7 records wait
//! until then. A connection still undecided at its end is decided with
//! everything known (no more sessions, protocol unknown if never found).

use crate::connlog::{record, ConnLogRecord};
use serde_json::{Map, Value};
use weir_conntrack::{
    Conn, ConnHandler, ConnInfo, EndReason, FiveTuple, Interest, L4Pdu, L4Proto, Timestamp,
};
use weir_protocols::registry::{AnySession, Protocol};
use weir_protocols::{SegmentMeta, Transport};
use std::sync::Arc;
use weir_filter::trie::PredicateTrie;
use weir_filter::{Facts, L7State, Verdict};
use weir_runtime::l7::{L7Conn, L7Event};

/// One line of an L7 log.
#[derive(Clone, Debug, PartialEq)]
pub struct L7Record {
    pub protocol: Protocol,
    pub ts_ns: u64,
    pub fields: Map<String, Value>,
}

/// The connection and L7 logger behind `weir log`.
#[derive(Default)]
pub struct LogApp {
    pub conns: Vec<ConnLogRecord>,
    pub sessions: Vec<L7Record>,
    /// Pattern 0 of this trie decides which connections are logged.
    filter: Option<Arc<PredicateTrie>>,
}

impl LogApp {
    /// A logger that logs only connections matching pattern 0 of `filter`.
    pub fn with_filter(filter: Arc<PredicateTrie>) -> LogApp {
        LogApp { filter: Some(filter), ..LogApp::default() }
    }
}

/// Per-connection state: the L7 driver and whether the logs need more of the stream.
pub struct LogConn {
    l7: L7Conn,
    headers_done: bool,
    /// With a filter: what it has seen, and records waiting for its verdict.
    filter: Option<Box<FilterState>>,
}

struct FilterState {
    facts: Facts<AnySession>,
    verdict: Verdict,
    held: Vec<L7Record>,
}

impl FilterState {
    /// Re-evaluates an undecided filter; on a decision, releases or drops the held records.
    fn decide(&mut self, trie: &PredicateTrie, out: &mut Vec<L7Record>) {
        if self.verdict != Verdict::Undecided {
            return;
        }
        self.verdict = trie.eval(&self.facts).first().copied().unwrap_or(Verdict::NoMatch);
        match self.verdict {
            Verdict::Match => out.append(&mut self.held),
            Verdict::NoMatch => self.held.clear(),
            Verdict::Undecided => return,
        }
        // Decided: the sessions are no longer needed.
        self.facts.sessions = Vec::new();
    }
}

fn transport(ft: &FiveTuple) -> Transport {
    match ft.proto {
        L4Proto::Tcp => Transport::Tcp,
        L4Proto::Udp => Transport::Udp,
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
pub fn session_record(ft: &FiveTuple, ts: Timestamp, s: &AnySession) -> L7Record {
    let (protocol, value, keys) = match s {
        AnySession::Tls(x) => (Protocol::Tls, serde_json::to_value(x), KEYS_TLS),
        AnySession::Http(x) => (Protocol::Http, serde_json::to_value(x), KEYS_HTTP),
        AnySession::Dns(x) => (Protocol::Dns, serde_json::to_value(x), KEYS_DNS),
        AnySession::Quic(x) => (Protocol::Quic, serde_json::to_value(x), KEYS_QUIC),
        AnySession::Ssh(x) => (Protocol::Ssh, serde_json::to_value(x), KEYS_SSH),
    };
    let value = value.unwrap_or(Value::Null);
    let ts = match s {
        AnySession::Dns(d) => d.query_ts.or(d.response_ts).unwrap_or(ts),
        _ => ts,
    };
    let mut fields = Map::new();
    fields.insert("ts".into(), Value::from(ts.as_secs_f64()));
    fields.insert("orig_h".into(), Value::from(ft.orig.ip().to_string()));
    fields.insert("orig_p".into(), Value::from(ft.orig.port()));
    fields.insert("resp_h".into(), Value::from(ft.resp.ip().to_string()));
    fields.insert("resp_p".into(), Value::from(ft.resp.port()));
    fields.insert("proto".into(), Value::from(ft.proto.name()));
    if let AnySession::Quic(q) = s {
        fields.insert("version".into(), Value::from(q.version_name.clone()));
    }
    for k in keys {
        fields.insert((*k).into(), value.get(*k).cloned().unwrap_or(Value::Null));
    }
    if let AnySession::Dns(d) = s {
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

impl LogApp {
    /// Feeds one stream segment (or, with `seg = None`, ends the connection).
    fn drive(&mut self, conn: &mut Conn<LogConn>, seg: Option<&L4Pdu<'_>>) {
        let ft = *conn.five_tuple();
        let sessions = &mut self.sessions;
        let mut headers_done = false;
        let mut filter = conn.state.filter.as_deref_mut();
        let mut f = |e: L7Event<'_>| match e {
            L7Event::Discovered(p) => {
                if let Some(fs) = filter.as_deref_mut() {
                    fs.facts.l7 = p.map_or(L7State::None, L7State::Known);
                }
            }
            L7Event::EndSession(s, m) => {
                let rec = session_record(&ft, m.ts, &s);
                match filter.as_deref_mut() {
                    None => sessions.push(rec),
                    Some(fs) => match fs.verdict {
                        Verdict::Match => sessions.push(rec),
                        Verdict::NoMatch => {}
                        Verdict::Undecided => {
                            fs.held.push(rec);
                            fs.facts.sessions.push(*s);
                        }
                    },
                }
            }
            L7Event::EndHeaders(..) => headers_done = true,
            _ => {}
        };
        match seg {
            Some(pdu) => {
                let meta = SegmentMeta {
                    dir: pdu.dir,
                    ts: pdu.ts,
                    transport: transport(&ft),
                    orig_port: ft.orig.port(),
                    resp_port: ft.resp.port(),
                };
                conn.state.l7.on_segment(pdu.payload, &meta, &mut f);
            }
            None => conn.state.l7.on_end(&mut f),
        }
        conn.state.headers_done |= headers_done;
        if let (Some(trie), Some(fs)) = (&self.filter, conn.state.filter.as_deref_mut()) {
            let ended = seg.is_none();
            // Sessions are final only at the end: a stopped parser can still
            // hand out a partial session when the connection ends.
            fs.facts.sessions_final = ended;
            if ended && fs.facts.l7 == L7State::Pending {
                fs.facts.l7 = L7State::None;
            }
            fs.decide(trie, &mut self.sessions);
            if ended && fs.verdict == Verdict::Undecided {
                // Only a user predicate can stay undecided with everything
                // known; weir log has none, but never log half a connection.
                fs.verdict = Verdict::NoMatch;
                fs.held.clear();
            }
        }
    }

    fn rejected(conn: &Conn<LogConn>) -> bool {
        conn.state.filter.as_ref().is_some_and(|f| f.verdict == Verdict::NoMatch)
    }

    /// What the tracker must still deliver for this connection.
    fn interest(conn: &Conn<LogConn>) -> Interest {
        let single_session = matches!(
            conn.state.l7.protocol(),
            Some(Protocol::Tls | Protocol::Quic | Protocol::Ssh)
        );
        if !conn.state.l7.wants_data() || (single_session && conn.state.headers_done) {
            Interest::TERMINATED
        } else {
            Interest::TERMINATED | Interest::STREAM
        }
    }
}

impl ConnHandler for LogApp {
    type State = LogConn;

    fn first_packet(&mut self, conn: &ConnInfo, pdu: &L4Pdu<'_>) -> Option<(LogConn, Interest)> {
        let ft = &conn.tuple;
        let filter = match &self.filter {
            None => None,
            Some(trie) => {
                let mut fs = FilterState {
                    facts: Facts::packet(weir_interp::machine::packet_facts(conn, pdu)),
                    verdict: Verdict::Undecided,
                    held: Vec::new(),
                };
                fs.decide(trie, &mut self.sessions);
                if fs.verdict == Verdict::NoMatch {
                    return None;
                }
                Some(Box::new(fs))
            }
        };
        let l7 = L7Conn::new(transport(ft), ft.orig.port(), ft.resp.port());
        Some((
            LogConn {
                l7,
                headers_done: false,
                filter,
            },
            Interest::TERMINATED | Interest::STREAM,
        ))
    }

    fn in_conn(&mut self, conn: &mut Conn<LogConn>, _pdu: &L4Pdu<'_>) -> Interest {
        conn.interest()
    }

    fn end_handshake(&mut self, conn: &mut Conn<LogConn>) -> Interest {
        conn.interest()
    }

    fn in_stream(&mut self, conn: &mut Conn<LogConn>, pdu: &L4Pdu<'_>) -> Interest {
        self.drive(conn, Some(pdu));
        if Self::rejected(conn) {
            return Interest::NONE;
        }
        Self::interest(conn)
    }

    fn terminated(&mut self, mut conn: Conn<LogConn>, reason: EndReason) {
        self.drive(&mut conn, None);
        if Self::rejected(&conn) {
            return;
        }
        let l7 = conn.state.l7.protocol().map(|p| p.name());
        self.conns.push(record(&conn, reason, l7));
    }
}

/// Sorts L7 records by time, then connection, then content, so logs do not depend on the core count.
pub fn sort_sessions(v: &mut [L7Record]) {
    v.sort_by_cached_key(|r| (r.ts_ns, Value::Object(r.fields.clone()).to_string()));
}
