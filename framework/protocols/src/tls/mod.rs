//! TLS (SSLv3 … TLS 1.3) handshake parser.
//!
//! The record layer is parsed incrementally from the reassembled TCP stream of
//! each direction: records may be split at any byte, several records may share
//! a segment, and handshake messages may span records or share one. Only the
//! cleartext part is parsed: ClientHello, ServerHello / HelloRetryRequest,
//! Certificate (TLS ≤ 1.2) and ServerKeyExchange.
//!
//! **Transitions.** The headers end (`HeadersDone`) once *both* directions
//! switched to encryption — a ChangeCipherSpec (TLS ≤ 1.2) or the first
//! `application_data` record (TLS 1.3, where CCS is a no-op) from each side —
//! or on a fatal alert. Bytes after that are `Payload`. The session ends
//! (`SessionDone`) at a close_notify/alert record after the handshake, at a
//! fatal alert, or at `finish`.
//!
//! **Bounds.** Per direction the parser holds a 5-byte record header, at most
//! one handshake message (`Limits::max_handshake_message`, default 64 KiB,
//! plus one record of look-ahead) and 2 alert bytes. A larger handshake
//! message abandons the connection (`Skipped(LimitExceeded)`, counted in
//! [`TlsStats::abandoned_oversize`]).

pub mod cert;
pub mod fingerprint;
pub mod handshake;
pub mod names;

use serde::Serialize;

pub use cert::CertInfo;
pub use handshake::{ClientHello, Extension, KeyShare, ServerHello};

use crate::{
    Direction, FieldDef, FieldType, ParseEvent, ParseResult, Parser, ProbeResult, SegmentMeta, SessionId, SkipReason,
    Transition,
};

/// Filterable TLS fields (available once the handshake headers are parsed).
pub const FIELDS: &[FieldDef] = &[
    FieldDef {
        name: "tls.sni",
        ty: FieldType::Str,
        available_at: Transition::L7EndHeaders,
        doc: "server_name from the ClientHello (several names comma-joined)",
    },
    FieldDef {
        name: "tls.version",
        ty: FieldType::U16,
        available_at: Transition::L7EndHeaders,
        doc: "negotiated version code: ServerHello supported_versions, else its legacy version (0x0304 = TLS 1.3)",
    },
    FieldDef {
        name: "tls.cipher",
        ty: FieldType::Str,
        available_at: Transition::L7EndHeaders,
        doc: "chosen cipher suite as its IANA name (e.g. TLS_AES_128_GCM_SHA256); unknown codes as 0x%04x",
    },
    FieldDef {
        name: "tls.alpn",
        ty: FieldType::Str,
        available_at: Transition::L7EndHeaders,
        doc: "ALPN protocol chosen by the server",
    },
    FieldDef {
        name: "tls.ja3",
        ty: FieldType::Str,
        available_at: Transition::L7EndHeaders,
        doc: "JA3 client fingerprint (MD5 hex, GREASE removed)",
    },
    FieldDef {
        name: "tls.ja3s",
        ty: FieldType::Str,
        available_at: Transition::L7EndHeaders,
        doc: "JA3S server fingerprint (MD5 hex)",
    },
    FieldDef {
        name: "tls.ja4",
        ty: FieldType::Str,
        available_at: Transition::L7EndHeaders,
        doc: "JA4 client fingerprint (FoxIO), e.g. t13d1516h2_8daaf6152771_02713d6af862",
    },
];

/// Configurable bounds of one TLS parser.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest handshake message accepted (body length). Default 64 KiB.
    pub max_handshake_message: usize,
    /// Certificates kept per chain (more are counted but not summarised). Default 16.
    pub max_certificates: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_handshake_message: 64 * 1024, max_certificates: 16 }
    }
}

/// Counters of one TLS parser.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TlsStats {
    pub records: u64,
    pub handshake_messages: u64,
    /// Handshake messages over `Limits::max_handshake_message` (connection abandoned).
    pub abandoned_oversize: u64,
    /// Invalid record headers or unparseable hello messages (connection abandoned).
    pub malformed: u64,
}

/// A TLS alert seen in clear.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Alert {
    pub level: u8,
    pub description: u8,
}

/// The `TlsHandshake` data type: one per connection.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TlsHandshake {
    /// Negotiated version name (`TLSv1.3`), from the ServerHello.
    pub version: Option<String>,
    /// Negotiated version code (0x0304 = TLS 1.3).
    pub version_code: Option<u16>,
    /// ClientHello legacy version name.
    pub client_version: Option<String>,
    pub sni: Option<String>,
    /// ALPN protocols offered by the client.
    pub alpn_offered: Vec<String>,
    /// ALPN protocol chosen by the server.
    pub alpn: Option<String>,
    /// Chosen cipher suite (IANA name, or hex).
    pub cipher: Option<String>,
    pub cipher_code: Option<u16>,
    /// Offered cipher suites (IANA names, or hex), GREASE included as hex.
    pub client_ciphers: Vec<String>,
    pub ja3: Option<String>,
    pub ja3s: Option<String>,
    pub ja4: Option<String>,
    pub cert_subjects: Vec<String>,
    pub cert_issuers: Vec<String>,
    /// Server certificate chain (TLS ≤ 1.2), first `max_certificates`.
    pub certificates: Vec<CertInfo>,
    /// Number of certificates in the server's Certificate message.
    pub server_cert_count: Option<usize>,
    /// Client certificate chain (TLS ≤ 1.2 mutual authentication).
    pub client_certificates: Vec<CertInfo>,
    /// ECDHE group named in the ServerKeyExchange.
    pub server_key_exchange_group: Option<String>,
    pub client_hello: Option<ClientHello>,
    /// A HelloRetryRequest, if the server sent one.
    pub hello_retry_request: Option<ServerHello>,
    /// The second ClientHello (after a HelloRetryRequest).
    pub retry_client_hello: Option<ClientHello>,
    pub server_hello: Option<ServerHello>,
    /// The ClientHello came in SSLv2-compatible format.
    pub sslv2_client_hello: bool,
    /// First alert seen in clear.
    pub alert: Option<Alert>,
}

impl TlsHandshake {
    /// The value of the filter field `name` (one of this module's [`FIELDS`]), if the session has it.
    pub fn field(&self, name: &str) -> Option<crate::FieldValue<'_>> {
        use crate::FieldValue as V;
        match name {
            "tls.sni" => self.sni.as_deref().map(V::Str),
            "tls.version" => self.version_code.map(|v| V::Int(v.into())),
            "tls.cipher" => self.cipher.as_deref().map(V::Str),
            "tls.alpn" => self.alpn.as_deref().map(V::Str),
            "tls.ja3" => self.ja3.as_deref().map(V::Str),
            "tls.ja3s" => self.ja3s.as_deref().map(V::Str),
            "tls.ja4" => self.ja4.as_deref().map(V::Str),
            _ => None,
        }
    }
}


const CT_CCS: u8 = 20;
const CT_ALERT: u8 = 21;
const CT_HANDSHAKE: u8 = 22;
const CT_APPDATA: u8 = 23;
/// Internal marker for an SSLv2-format record.
const CT_SSLV2: u8 = 0x80;
const MAX_RECORD: usize = 16384 + 2048;

#[derive(Clone, Debug, Default)]
struct DirState {
    hdr: [u8; 5],
    hdr_len: usize,
    in_body: bool,
    remaining: usize,
    content_type: u8,
    started: bool,
    v2: bool,
    hs_buf: Vec<u8>,
    small: Vec<u8>,
    encrypted: bool,
}

/// Incremental TLS parser (one per connection). Session id is always 0.
#[derive(Clone, Debug, Default)]
pub struct TlsParser {
    limits: Limits,
    stats: TlsStats,
    dirs: [DirState; 2],
    session: Option<TlsHandshake>,
    client_dir: Option<Direction>,
    taken: bool,
    headers_done: bool,
    session_done: bool,
    skipped: bool,
}

/// What happened inside one segment (positions are offsets in the segment).
#[derive(Default)]
struct SegOutcome {
    headers_done_at: Option<usize>,
    session_done: bool,
    skipped: Option<(usize, SkipReason)>,
}

impl TlsParser {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_limits(limits: Limits) -> Self {
        TlsParser { limits, ..Self::default() }
    }

    pub fn stats(&self) -> TlsStats {
        self.stats
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    fn tls13(&self) -> bool {
        let s = self.session.as_ref();
        let sh = s.and_then(|s| s.server_hello.as_ref().or(s.hello_retry_request.as_ref()));
        sh.is_some_and(|sh| sh.version() == 0x0304)
    }

    fn session_mut(&mut self) -> &mut TlsHandshake {
        self.session.get_or_insert_with(TlsHandshake::default)
    }

    fn mark_encrypted(&mut self, d: usize, pos: usize, out: &mut SegOutcome) {
        if let Some(st) = self.dirs.get_mut(d) {
            if !st.encrypted {
                st.encrypted = true;
                st.hs_buf = Vec::new();
            }
        }
        if !self.headers_done && self.dirs.iter().all(|s| s.encrypted) {
            self.finish_headers(pos, out);
        }
    }

    fn finish_headers(&mut self, pos: usize, out: &mut SegOutcome) {
        if !self.headers_done {
            self.headers_done = true;
            self.session_mut();
            out.headers_done_at = Some(pos);
        }
    }

    fn skip(&mut self, pos: usize, reason: SkipReason, out: &mut SegOutcome) {
        match reason {
            SkipReason::LimitExceeded => self.stats.abandoned_oversize += 1,
            SkipReason::Malformed => self.stats.malformed += 1,
            SkipReason::Opaque => {}
        }
        self.skipped = true;
        out.skipped = Some((pos, reason));
    }

    fn on_record_end(&mut self, d: usize, dir: Direction, pos: usize, out: &mut SegOutcome) {
        let tls13 = self.tls13();
        let Some(st) = self.dirs.get_mut(d) else { return };
        let ct = st.content_type;
        match ct {
            CT_CCS if !tls13 => self.mark_encrypted(d, pos, out),
            CT_ALERT => {
                let small = std::mem::take(&mut st.small);
                let encrypted = st.encrypted;
                if self.headers_done || encrypted {
                    // An alert after the handshake (close_notify or an error) ends the session.
                    if self.headers_done {
                        out.session_done = true;
                    }
                    return;
                }
                if let (Some(&level), Some(&description)) = (small.first(), small.get(1)) {
                    let s = self.session_mut();
                    if s.alert.is_none() {
                        s.alert = Some(Alert { level, description });
                    }
                    if level == 2 || description == 0 {
                        self.finish_headers(pos, out);
                        out.session_done = true;
                    }
                }
            }
            CT_SSLV2 => {
                let buf = std::mem::take(&mut st.hs_buf);
                st.v2 = false;
                match handshake::parse_sslv2_client_hello(&buf) {
                    Some(ch) => {
                        self.client_dir = Some(dir);
                        self.stats.handshake_messages += 1;
                        let s = self.session_mut();
                        s.sslv2_client_hello = true;
                        s.client_hello = Some(ch);
                        refresh(s, Part::Client);
                    }
                    None => self.skip(pos, SkipReason::Malformed, out),
                }
            }
            _ => {}
        }
    }

    /// Extract complete handshake messages from direction `d`'s buffer.
    fn drain_handshake(&mut self, d: usize, dir: Direction, pos: usize, out: &mut SegOutcome) {
        loop {
            let Some(st) = self.dirs.get_mut(d) else { return };
            let buf = &st.hs_buf;
            let (Some(&typ), Some(&a), Some(&b), Some(&c)) = (buf.first(), buf.get(1), buf.get(2), buf.get(3)) else {
                return;
            };
            let len = (usize::from(a) << 16) | (usize::from(b) << 8) | usize::from(c);
            if len > self.limits.max_handshake_message {
                self.skip(pos, SkipReason::LimitExceeded, out);
                return;
            }
            if buf.len() < 4 + len {
                return;
            }
            let msg: Vec<u8> = st.hs_buf.drain(..4 + len).collect();
            self.stats.handshake_messages += 1;
            let body = msg.get(4..).unwrap_or_default();
            if !self.on_message(typ, body, dir) {
                self.skip(pos, SkipReason::Malformed, out);
                return;
            }
        }
    }

    /// Handle one handshake message; `false` if a hello is malformed.
    fn on_message(&mut self, typ: u8, body: &[u8], dir: Direction) -> bool {
        let limit = self.limits.max_certificates;
        match typ {
            1 => {
                let Some(ch) = handshake::parse_client_hello(body) else { return false };
                self.client_dir.get_or_insert(dir);
                let s = self.session_mut();
                if s.client_hello.is_none() {
                    s.client_hello = Some(ch);
                    refresh(s, Part::Client);
                } else if s.retry_client_hello.is_none() {
                    s.retry_client_hello = Some(ch);
                }
            }
            2 => {
                let Some(sh) = handshake::parse_server_hello(body) else { return false };
                self.client_dir.get_or_insert(dir.reverse());
                let s = self.session_mut();
                if sh.is_hello_retry_request {
                    if s.hello_retry_request.is_none() {
                        s.hello_retry_request = Some(sh);
                    }
                } else if s.server_hello.is_none() {
                    s.server_hello = Some(sh);
                }
                refresh(s, Part::Server);
            }
            11 => {
                let from_server = self.client_dir != Some(dir);
                if let Some(list) = handshake::parse_certificate_list(body) {
                    let s = self.session_mut();
                    let certs: Vec<CertInfo> = list.iter().take(limit).map(|der| cert::summarize(der)).collect();
                    if from_server {
                        if s.server_cert_count.is_none() {
                            s.server_cert_count = Some(list.len());
                            s.certificates = certs;
                        }
                    } else if s.client_certificates.is_empty() {
                        s.client_certificates = certs;
                    }
                    refresh(s, Part::Certs);
                }
            }
            12 => {
                if let Some(g) = handshake::server_key_exchange_group(body) {
                    self.session_mut().server_key_exchange_group = Some(names::or_hex(names::group(g), g));
                }
            }
            _ => {}
        }
        true
    }

    fn consume(&mut self, seg: &[u8], dir: Direction, out: &mut SegOutcome) {
        let d = dir.index();
        let mut i = 0usize;
        let mut record_start = 0usize;
        while i < seg.len() && !self.skipped {
            let Some(st) = self.dirs.get_mut(d) else { return };
            if !st.in_body {
                if st.hdr_len == 0 {
                    record_start = i;
                    if !st.started {
                        st.started = true;
                        st.v2 = seg.get(i).is_some_and(|b| b & 0x80 != 0);
                    }
                }
                let need = if st.v2 { 2 } else { 5 };
                let take = (need - st.hdr_len).min(seg.len() - i);
                if let (Some(dst), Some(src)) = (st.hdr.get_mut(st.hdr_len..st.hdr_len + take), seg.get(i..i + take)) {
                    dst.copy_from_slice(src);
                }
                st.hdr_len += take;
                i += take;
                if st.hdr_len < need {
                    continue;
                }
                st.hdr_len = 0;
                let [h0, h1, h2, h3, h4] = st.hdr;
                let (ct, len) = if st.v2 {
                    (CT_SSLV2, (usize::from(h0 & 0x7f) << 8) | usize::from(h1))
                } else {
                    (h0, (usize::from(h3) << 8) | usize::from(h4))
                };
                let valid = if ct == CT_SSLV2 {
                    len >= 9
                } else {
                    (CT_CCS..=24).contains(&ct) && h1 == 3 && h2 <= 4 && len <= MAX_RECORD
                };
                if !valid {
                    self.skip(record_start, SkipReason::Malformed, out);
                    return;
                }
                st.content_type = ct;
                st.remaining = len;
                st.in_body = true;
                self.stats.records += 1;
                if ct == CT_APPDATA {
                    self.mark_encrypted(d, record_start, out);
                }
                let Some(st) = self.dirs.get_mut(d) else { return };
                if st.remaining == 0 {
                    st.in_body = false;
                    self.on_record_end(d, dir, i, out);
                }
                continue;
            }
            let take = st.remaining.min(seg.len() - i);
            let body = seg.get(i..i + take).unwrap_or_default();
            i += take;
            st.remaining -= take;
            let mut drain = false;
            match st.content_type {
                CT_HANDSHAKE if !st.encrypted => {
                    st.hs_buf.extend_from_slice(body);
                    drain = true;
                }
                CT_SSLV2 => st.hs_buf.extend_from_slice(body),
                CT_ALERT | CT_CCS => {
                    let room = 2usize.saturating_sub(st.small.len());
                    st.small.extend(body.iter().take(room));
                }
                _ => {}
            }
            let done = st.remaining == 0;
            if done {
                st.in_body = false;
            }
            if drain {
                self.drain_handshake(d, dir, i, out);
            }
            if done && !self.skipped {
                self.on_record_end(d, dir, i, out);
            }
        }
    }
}

/// Which summary fields of a session to recompute.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Part {
    Client,
    Server,
    Certs,
}

/// Recompute one part of the summary fields from the parsed messages
/// (fingerprints are hashed once per hello, not per message).
fn refresh(s: &mut TlsHandshake, part: Part) {
    match part {
        Part::Client => {
            if let Some(ch) = &s.client_hello {
                s.client_version = Some(names::or_hex(names::version(ch.legacy_version), ch.legacy_version));
                s.sni = ch.sni();
                s.alpn_offered = ch.alpn.clone();
                s.client_ciphers = ch.cipher_suites.iter().map(|c| names::or_hex(names::cipher(*c), *c)).collect();
                s.ja3 = Some(fingerprint::ja3(ch));
                s.ja4 = Some(fingerprint::ja4(ch, false));
            }
        }
        Part::Server => {
            if let Some(sh) = s.server_hello.as_ref().or(s.hello_retry_request.as_ref()) {
                let v = sh.version();
                s.version_code = Some(v);
                s.version = Some(names::or_hex(names::version(v), v));
                s.cipher_code = Some(sh.cipher_suite);
                s.cipher = Some(names::or_hex(names::cipher(sh.cipher_suite), sh.cipher_suite));
                s.alpn = sh.alpn.clone();
                s.ja3s = Some(fingerprint::ja3s(sh));
            }
        }
        Part::Certs => {
            s.cert_subjects = s.certificates.iter().map(|c| c.subject.clone()).collect();
            s.cert_issuers = s.certificates.iter().map(|c| c.issuer.clone()).collect();
        }
    }
}

/// Probe: a handshake record (type 22, version 3.x) carrying a ClientHello,
/// or an SSLv2-format ClientHello.
pub fn probe(seg: &[u8]) -> ProbeResult {
    let Some(&b0) = seg.first() else { return ProbeResult::Unsure };
    if b0 == CT_HANDSHAKE {
        type Check = (usize, fn(u8) -> bool);
        let checks: [Check; 3] = [(1, |b| b == 3), (2, |b| b <= 4), (5, |b| b == 1)];
        for (at, ok) in checks {
            match seg.get(at) {
                Some(&b) if !ok(b) => return ProbeResult::NotForUs,
                None => return ProbeResult::Unsure,
                _ => {}
            }
        }
        let len = (usize::from(seg.get(3).copied().unwrap_or(0)) << 8) | usize::from(seg.get(4).copied().unwrap_or(0));
        if !(4..=MAX_RECORD).contains(&len) {
            return ProbeResult::NotForUs;
        }
        return ProbeResult::Certain;
    }
    if b0 & 0x80 != 0 {
        // SSLv2 record header (2 bytes), msg type 1 (CLIENT-HELLO), version 0x0002 or 0x03xx.
        let (Some(&b1), Some(&t), Some(&v0), Some(&v1)) = (seg.get(1), seg.get(2), seg.get(3), seg.get(4)) else {
            let prefix_ok = seg.get(2).is_none_or(|t| *t == 1) && seg.get(3).is_none_or(|v| *v == 0 || *v == 3);
            return if prefix_ok { ProbeResult::Unsure } else { ProbeResult::NotForUs };
        };
        let len = (usize::from(b0 & 0x7f) << 8) | usize::from(b1);
        let version_ok = (v0 == 0 && v1 == 2) || (v0 == 3 && v1 <= 4);
        return if t == 1 && version_ok && len >= 9 { ProbeResult::Certain } else { ProbeResult::NotForUs };
    }
    ProbeResult::NotForUs
}

impl Parser for TlsParser {
    type Session = TlsHandshake;

    fn probe(seg: &[u8], _meta: &SegmentMeta) -> ProbeResult {
        probe(seg)
    }

    fn parse(&mut self, seg: &[u8], meta: &SegmentMeta, events: &mut Vec<ParseEvent>) -> ParseResult {
        if self.skipped || seg.is_empty() {
            return ParseResult::Continue;
        }
        if self.headers_done {
            // Ciphertext: keep framing records only to spot a closing alert.
            let mut out = SegOutcome::default();
            self.consume(seg, meta.dir, &mut out);
            events.push(ParseEvent::Payload { start: 0, end: seg.len() });
            if let Some((_, reason)) = out.skipped {
                events.push(ParseEvent::Skipped(reason));
                return ParseResult::Skipped;
            }
            if out.session_done && !self.session_done && !self.taken {
                self.session_done = true;
                events.push(ParseEvent::SessionDone(0));
                return ParseResult::SessionDone;
            }
            return ParseResult::Continue;
        }
        let mut out = SegOutcome::default();
        self.consume(seg, meta.dir, &mut out);
        let mut res = ParseResult::Continue;
        match (out.headers_done_at, out.skipped) {
            (Some(p), _) => {
                if p > 0 {
                    events.push(ParseEvent::InHeaders { start: 0, end: p });
                }
                events.push(ParseEvent::HeadersDone(0));
                res = ParseResult::HeadersDone;
                if p < seg.len() {
                    events.push(ParseEvent::Payload { start: p, end: seg.len() });
                }
            }
            (None, Some((p, _))) => {
                if p > 0 {
                    events.push(ParseEvent::InHeaders { start: 0, end: p });
                }
            }
            (None, None) => events.push(ParseEvent::InHeaders { start: 0, end: seg.len() }),
        }
        if out.session_done && !self.session_done {
            self.session_done = true;
            events.push(ParseEvent::SessionDone(0));
            res = ParseResult::SessionDone;
        }
        if let Some((_, reason)) = out.skipped {
            events.push(ParseEvent::Skipped(reason));
            res = ParseResult::Skipped;
        }
        res
    }

    fn session(&self, id: SessionId) -> Option<&TlsHandshake> {
        if id == 0 && !self.taken {
            self.session.as_ref()
        } else {
            None
        }
    }

    fn take_session(&mut self, id: SessionId) -> Option<TlsHandshake> {
        if id != 0 || self.taken {
            return None;
        }
        let s = self.session.take();
        if s.is_some() {
            self.taken = true;
        }
        s
    }

    fn finish(&mut self, events: &mut Vec<ParseEvent>) {
        if self.session.is_some() && !self.session_done && !self.taken {
            self.session_done = true;
            events.push(ParseEvent::SessionDone(0));
        }
    }
}

#[cfg(test)]
pub(crate) mod tests;
