//! The protocol registry: every L7 protocol weir knows, enum dispatch over
//! their parsers and sessions (no `dyn`), and the [`Prober`] that picks the
//! protocol of a connection from its first bytes.
//!
//! Ports only *order* the probes (443 → TLS first, 53 → DNS first, ...); the
//! verdict always comes from content. The prober is bounded: it looks at no
//! more than `ProberLimits::max_segments` segments and `max_bytes` bytes per
//! direction, then gives up with [`ProbeOutcome::NoMatch`].

use serde::{Deserialize, Serialize};

use crate::{dns, http, quic, ssh, tls};
use crate::{ParseEvent, ParseResult, Parser, ProbeResult, SegmentMeta, SessionId, Transport};

/// An application-layer protocol weir can parse.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Protocol {
    Tls,
    Http,
    Dns,
    Quic,
    Ssh,
}

impl Protocol {
    pub const ALL: [Protocol; 5] = [Protocol::Tls, Protocol::Http, Protocol::Dns, Protocol::Quic, Protocol::Ssh];

    /// The filter-language name (`tls`, `http`, ...).
    pub const fn name(self) -> &'static str {
        match self {
            Protocol::Tls => "tls",
            Protocol::Http => "http",
            Protocol::Dns => "dns",
            Protocol::Quic => "quic",
            Protocol::Ssh => "ssh",
        }
    }

    pub fn from_name(name: &str) -> Option<Protocol> {
        Protocol::ALL.into_iter().find(|p| p.name() == name)
    }

    /// Whether the protocol runs over `t`.
    pub const fn runs_over(self, t: Transport) -> bool {
        matches!(
            (self, t),
            (Protocol::Tls | Protocol::Http | Protocol::Ssh | Protocol::Dns, Transport::Tcp)
                | (Protocol::Dns | Protocol::Quic, Transport::Udp)
        )
    }

    /// Well-known ports, used only to order the probes.
    pub const fn port_hint(self, t: Transport, port: u16) -> bool {
        match (self, t) {
            (Protocol::Tls, Transport::Tcp) => matches!(port, 443 | 8443 | 465 | 993 | 995 | 853 | 636 | 990),
            (Protocol::Quic, Transport::Udp) => matches!(port, 443 | 8443 | 784),
            (Protocol::Http, _) => matches!(port, 80 | 8080 | 8000 | 8008 | 3128),
            (Protocol::Dns, _) => port == 53,
            (Protocol::Ssh, _) => matches!(port, 22 | 2222),
            _ => false,
        }
    }

    fn probe(self, seg: &[u8], meta: &SegmentMeta) -> ProbeResult {
        match self {
            Protocol::Tls => tls::TlsParser::probe(seg, meta),
            Protocol::Quic => quic::QuicParser::probe(seg, meta),
            Protocol::Http => http::HttpParser::probe(seg, meta),
            Protocol::Dns => dns::DnsParser::probe(seg, meta),
            Protocol::Ssh => ssh::SshParser::probe(seg, meta),
        }
    }
}

/// One parser of any protocol (enum dispatch).
// One parser per connection: the size spread between variants costs less
// than a heap allocation per connection would.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum AnyParser {
    Tls(tls::TlsParser),
    Quic(quic::QuicParser),
    Http(http::HttpParser),
    Dns(dns::DnsParser),
    Ssh(ssh::SshParser),
}

/// One session of any protocol.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "protocol", content = "session", rename_all = "lowercase")]
pub enum AnySession {
    Tls(tls::TlsHandshake),
    Quic(quic::QuicStream),
    Http(http::HttpTransaction),
    Dns(dns::DnsTransaction),
    Ssh(ssh::SshHandshake),
}

/// A borrowed session of any protocol.
#[derive(Copy, Clone, Debug)]
pub enum AnySessionRef<'a> {
    Tls(&'a tls::TlsHandshake),
    Quic(&'a quic::QuicStream),
    Http(&'a http::HttpTransaction),
    Dns(&'a dns::DnsTransaction),
    Ssh(&'a ssh::SshHandshake),
}

impl AnySession {
    pub fn protocol(&self) -> Protocol {
        match self {
            AnySession::Tls(_) => Protocol::Tls,
            AnySession::Quic(_) => Protocol::Quic,
            AnySession::Http(_) => Protocol::Http,
            AnySession::Dns(_) => Protocol::Dns,
            AnySession::Ssh(_) => Protocol::Ssh,
        }
    }
}

impl AnySession {
    pub fn as_ref(&self) -> AnySessionRef<'_> {
        match self {
            AnySession::Tls(x) => AnySessionRef::Tls(x),
            AnySession::Quic(x) => AnySessionRef::Quic(x),
            AnySession::Http(x) => AnySessionRef::Http(x),
            AnySession::Dns(x) => AnySessionRef::Dns(x),
            AnySession::Ssh(x) => AnySessionRef::Ssh(x),
        }
    }
}

impl<'a> AnySessionRef<'a> {
    pub fn protocol(&self) -> Protocol {
        match self {
            AnySessionRef::Tls(_) => Protocol::Tls,
            AnySessionRef::Quic(_) => Protocol::Quic,
            AnySessionRef::Http(_) => Protocol::Http,
            AnySessionRef::Dns(_) => Protocol::Dns,
            AnySessionRef::Ssh(_) => Protocol::Ssh,
        }
    }

    /// The value of the filter field `name` (`tls.sni`, ...); `None` when the
    /// field belongs to another protocol or the session lacks it.
    pub fn field(&self, name: &str) -> Option<crate::FieldValue<'a>> {
        match *self {
            AnySessionRef::Tls(x) => x.field(name),
            AnySessionRef::Quic(x) => x.field(name),
            AnySessionRef::Http(x) => x.field(name),
            AnySessionRef::Dns(x) => x.field(name),
            AnySessionRef::Ssh(x) => x.field(name),
        }
    }
}

impl AnyParser {
    /// A fresh parser with default limits.
    pub fn new(p: Protocol) -> AnyParser {
        match p {
            Protocol::Tls => AnyParser::Tls(tls::TlsParser::new()),
            Protocol::Quic => AnyParser::Quic(quic::QuicParser::new()),
            Protocol::Http => AnyParser::Http(http::HttpParser::new(http::Limits::default())),
            Protocol::Dns => AnyParser::Dns(dns::DnsParser::new(dns::Limits::default())),
            Protocol::Ssh => AnyParser::Ssh(ssh::SshParser::new(ssh::Limits::default())),
        }
    }

    pub fn protocol(&self) -> Protocol {
        match self {
            AnyParser::Tls(_) => Protocol::Tls,
            AnyParser::Quic(_) => Protocol::Quic,
            AnyParser::Http(_) => Protocol::Http,
            AnyParser::Dns(_) => Protocol::Dns,
            AnyParser::Ssh(_) => Protocol::Ssh,
        }
    }

    pub fn parse(&mut self, seg: &[u8], meta: &SegmentMeta, events: &mut Vec<ParseEvent>) -> ParseResult {
        match self {
            AnyParser::Tls(p) => p.parse(seg, meta, events),
            AnyParser::Quic(p) => p.parse(seg, meta, events),
            AnyParser::Http(p) => p.parse(seg, meta, events),
            AnyParser::Dns(p) => p.parse(seg, meta, events),
            AnyParser::Ssh(p) => p.parse(seg, meta, events),
        }
    }

    pub fn session(&self, id: SessionId) -> Option<AnySessionRef<'_>> {
        match self {
            AnyParser::Tls(p) => p.session(id).map(AnySessionRef::Tls),
            AnyParser::Quic(p) => p.session(id).map(AnySessionRef::Quic),
            AnyParser::Http(p) => p.session(id).map(AnySessionRef::Http),
            AnyParser::Dns(p) => p.session(id).map(AnySessionRef::Dns),
            AnyParser::Ssh(p) => p.session(id).map(AnySessionRef::Ssh),
        }
    }

    pub fn take_session(&mut self, id: SessionId) -> Option<AnySession> {
        match self {
            AnyParser::Tls(p) => p.take_session(id).map(AnySession::Tls),
            AnyParser::Quic(p) => p.take_session(id).map(AnySession::Quic),
            AnyParser::Http(p) => p.take_session(id).map(AnySession::Http),
            AnyParser::Dns(p) => p.take_session(id).map(AnySession::Dns),
            AnyParser::Ssh(p) => p.take_session(id).map(AnySession::Ssh),
        }
    }

    pub fn finish(&mut self, events: &mut Vec<ParseEvent>) {
        match self {
            AnyParser::Tls(p) => p.finish(events),
            AnyParser::Quic(p) => p.finish(events),
            AnyParser::Http(p) => p.finish(events),
            AnyParser::Dns(p) => p.finish(events),
            AnyParser::Ssh(p) => p.finish(events),
        }
    }
}

/// The prober's verdict so far.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ProbeOutcome {
    Identified(Protocol),
    /// Some probe is still unsure; feed the next segment.
    Undecided,
    /// No protocol matches (or the probing budget ran out).
    NoMatch,
}

/// Bounds of one [`Prober`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ProberLimits {
    /// Segments examined before giving up. Default 8.
    pub max_segments: usize,
    /// Bytes accumulated per direction (TCP) before giving up. Default 4096.
    pub max_bytes: usize,
}

impl Default for ProberLimits {
    fn default() -> Self {
        ProberLimits { max_segments: 8, max_bytes: 4096 }
    }
}

/// Decides the protocol of one connection from its first segments.
///
/// TCP: the bytes of each direction are accumulated (bounded) so a probe
/// that needs more than one segment sees the stream prefix. UDP: each
/// datagram is probed on its own.
#[derive(Clone, Debug)]
pub struct Prober {
    limits: ProberLimits,
    transport: Transport,
    /// Candidates in probing order, with whether each is still possible.
    candidates: Vec<(Protocol, bool)>,
    bufs: [Vec<u8>; 2],
    segments: usize,
    outcome: ProbeOutcome,
}

impl Prober {
    pub fn new(transport: Transport, orig_port: u16, resp_port: u16) -> Self {
        Self::with_limits(transport, orig_port, resp_port, ProberLimits::default())
    }

    pub fn with_limits(transport: Transport, orig_port: u16, resp_port: u16, limits: ProberLimits) -> Self {
        let mut candidates: Vec<(Protocol, bool)> = Protocol::ALL
            .into_iter()
            .filter(|p| p.runs_over(transport))
            .map(|p| (p, true))
            .collect();
        // Stable sort: hinted protocols (responder port first, then originator port) go first.
        candidates.sort_by_key(|(p, _)| {
            if p.port_hint(transport, resp_port) {
                0
            } else if p.port_hint(transport, orig_port) {
                1
            } else {
                2
            }
        });
        Prober { limits, transport, candidates, bufs: Default::default(), segments: 0, outcome: ProbeOutcome::Undecided }
    }

    /// The candidates in probing order.
    pub fn order(&self) -> Vec<Protocol> {
        self.candidates.iter().map(|(p, _)| *p).collect()
    }

    pub fn outcome(&self) -> ProbeOutcome {
        self.outcome
    }

    /// Probe with the next segment of the connection.
    pub fn probe(&mut self, seg: &[u8], meta: &SegmentMeta) -> ProbeOutcome {
        if self.outcome != ProbeOutcome::Undecided || seg.is_empty() {
            return self.outcome;
        }
        self.segments += 1;
        let d = meta.dir.index();
        let data: &[u8] = match self.transport {
            Transport::Udp => seg,
            Transport::Tcp => {
                let Some(buf) = self.bufs.get_mut(d) else { return self.outcome };
                let room = self.limits.max_bytes.saturating_sub(buf.len());
                buf.extend_from_slice(seg.get(..room.min(seg.len())).unwrap_or_default());
                buf
            }
        };
        let mut unsure = false;
        let mut found = None;
        for (p, alive) in self.candidates.iter_mut() {
            if !*alive {
                continue;
            }
            match p.probe(data, meta) {
                ProbeResult::Certain => {
                    found = Some(*p);
                    break;
                }
                ProbeResult::Unsure => unsure = true,
                ProbeResult::NotForUs => *alive = false,
            }
        }
        let full = self.bufs.iter().any(|b| b.len() >= self.limits.max_bytes);
        self.outcome = match found {
            Some(p) => ProbeOutcome::Identified(p),
            None if unsure && self.segments < self.limits.max_segments && !full => ProbeOutcome::Undecided,
            None => ProbeOutcome::NoMatch,
        };
        self.outcome
    }
}

#[cfg(test)]
mod tests {
    use crate::{all_fields, FieldValue};

    /// Every published L7 field is answered by its protocol's session type,
    /// and by no other.
    #[test]
    fn every_l7_field_has_a_value_accessor() {
        let tls = tls::TlsHandshake {
            sni: Some("a".into()),
            version_code: Some(0x0303),
            cipher: Some("c".into()),
            alpn: Some("h2".into()),
            ja3: Some("j".into()),
            ja3s: Some("j".into()),
            ja4: Some("j".into()),
            ..Default::default()
        };
        let quic = quic::QuicStream { sni: Some("a".into()), version: 1, ..Default::default() };
        let ssh = ssh::SshHandshake {
            client_version: Some("SSH-2.0-a".into()),
            server_version: Some("SSH-2.0-b".into()),
            ..Default::default()
        };
        let dns = dns::DnsTransaction {
            transport: "udp",
            id: 1,
            qname: "example.com".into(),
            qtype: "A".into(),
            qtype_code: 1,
            rcode: Some("NOERROR".into()),
            rcode_code: Some(0),
            answers: vec![],
            ttls: vec![],
            query_ts: None,
            response_ts: None,
            query: None,
            response: None,
        };
        let http = http::HttpTransaction {
            trans_depth: 1,
            method: Some("GET".into()),
            host: Some("h".into()),
            uri: Some("/".into()),
            version: Some("1.1".into()),
            user_agent: Some("ua".into()),
            status: Some(200),
            status_msg: Some("OK".into()),
            req_body_len: 0,
            resp_body_len: 0,
            content_type: Some("text/html".into()),
            request: None,
            response: None,
        };
        let sessions = [
            AnySessionRef::Tls(&tls),
            AnySessionRef::Quic(&quic),
            AnySessionRef::Ssh(&ssh),
            AnySessionRef::Dns(&dns),
            AnySessionRef::Http(&http),
        ];
        for f in all_fields() {
            let proto = f.name.split('.').next().unwrap();
            for s in &sessions {
                let v = s.field(f.name);
                if s.protocol().name() == proto {
                    let v = v.unwrap_or_else(|| panic!("{} has no value accessor", f.name));
                    let type_ok = match (f.ty, v) {
                        (crate::FieldType::Str, FieldValue::Str(_)) => true,
                        (crate::FieldType::U8 | crate::FieldType::U16 | crate::FieldType::U32 | crate::FieldType::U64, FieldValue::Int(_)) => true,
                        _ => false,
                    };
                    assert!(type_ok, "{}: {:?} does not fit {:?}", f.name, v, f.ty);
                } else {
                    assert_eq!(v, None, "{} answered by {:?}", f.name, s.protocol());
                }
            }
        }
    }

    use super::*;
    use crate::{Direction, Timestamp};

    fn meta(t: Transport, dir: Direction, orig: u16, resp: u16) -> SegmentMeta {
        SegmentMeta { dir, ts: Timestamp(0), transport: t, orig_port: orig, resp_port: resp }
    }

    #[test]
    fn names_round_trip() {
        for p in Protocol::ALL {
            assert_eq!(Protocol::from_name(p.name()), Some(p));
        }
        assert_eq!(Protocol::from_name("smtp"), None);
    }

    #[test]
    fn port_hints_order_but_content_decides() {
        let pr = Prober::new(Transport::Tcp, 50000, 443);
        assert_eq!(pr.order().first(), Some(&Protocol::Tls));
        let pr = Prober::new(Transport::Udp, 50000, 53);
        assert_eq!(pr.order().first(), Some(&Protocol::Dns));
        // HTTP on port 443 is still HTTP.
        let mut pr = Prober::new(Transport::Tcp, 50000, 443);
        let m = meta(Transport::Tcp, Direction::ToResponder, 50000, 443);
        assert_eq!(pr.probe(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", &m), ProbeOutcome::Identified(Protocol::Http));
    }

    #[test]
    fn tls_across_segments_then_identified() {
        let ch = crate::tls::tests::record(22, &crate::tls::tests::hs(1, &crate::tls::tests::sample_client_hello()));
        let mut pr = Prober::new(Transport::Tcp, 50000, 8443);
        let m = meta(Transport::Tcp, Direction::ToResponder, 50000, 8443);
        assert_eq!(pr.probe(&ch[..3], &m), ProbeOutcome::Undecided);
        assert_eq!(pr.probe(&ch[3..], &m), ProbeOutcome::Identified(Protocol::Tls));
        // Decided: later segments do not change it.
        assert_eq!(pr.probe(b"garbage", &m), ProbeOutcome::Identified(Protocol::Tls));
    }

    #[test]
    fn garbage_is_no_match_and_budget_is_bounded() {
        let m = meta(Transport::Tcp, Direction::ToResponder, 50000, 443);
        let mut pr = Prober::new(Transport::Tcp, 50000, 443);
        assert_eq!(pr.probe(&[0x00, 0x01, 0x02, 0xff, 0xfe, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00], &m), ProbeOutcome::NoMatch);
        // A TLS prefix fed byte by byte stays Unsure until the segment budget runs out.
        let lim = ProberLimits { max_segments: 3, max_bytes: 4096 };
        let mut pr = Prober::with_limits(Transport::Tcp, 50000, 443, lim);
        assert_eq!(pr.probe(&[22], &m), ProbeOutcome::Undecided);
        assert_eq!(pr.probe(&[3], &m), ProbeOutcome::Undecided);
        assert_eq!(pr.probe(&[1], &m), ProbeOutcome::NoMatch);
        // The byte budget also ends probing.
        let lim = ProberLimits { max_segments: 100, max_bytes: 2 };
        let mut pr = Prober::with_limits(Transport::Tcp, 50000, 443, lim);
        assert_eq!(pr.probe(&[22], &m), ProbeOutcome::Undecided);
        assert_eq!(pr.probe(&[3, 1, 0, 200, 1], &m), ProbeOutcome::NoMatch);
    }

    #[test]
    fn any_parser_dispatch() {
        let mut p = AnyParser::new(Protocol::Tls);
        assert_eq!(p.protocol(), Protocol::Tls);
        let ch = crate::tls::tests::record(22, &crate::tls::tests::hs(1, &crate::tls::tests::sample_client_hello()));
        let mut ev = Vec::new();
        p.parse(&ch, &meta(Transport::Tcp, Direction::ToResponder, 1, 443), &mut ev);
        assert!(matches!(p.session(0), Some(AnySessionRef::Tls(_))));
        p.finish(&mut ev);
        let s = p.take_session(0).expect("session");
        assert_eq!(s.protocol(), Protocol::Tls);
        for proto in Protocol::ALL {
            assert_eq!(AnyParser::new(proto).protocol(), proto);
        }
    }
}
