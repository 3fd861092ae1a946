//! QUIC (v1 RFC 9000/9001, v2 RFC 9369, draft-29) Initial-packet parser.
//!
//! Each UDP datagram is walked packet by packet (coalesced long-header
//! packets by their Length, stopping at a short header). Initial packets are
//! decrypted with keys derived from the DCID of the client's Initial (after a
//! Retry the client's next Initial carries the Retry's SCID, and keys follow
//! it); the server's Initials are decrypted with the server keys of the same
//! DCID. CRYPTO frames are reassembled per direction in a bounded buffer (out
//! of order, across packets and datagrams), so a ClientHello larger than one
//! packet still yields its SNI/ALPN; it is parsed with the TLS handshake
//! parser ([`crate::tls::handshake`]).
//!
//! **Transitions.** `HeadersDone` once the ClientHello and the ServerHello
//! are parsed (or, without a readable ServerHello, at the first short-header
//! packet after the ClientHello). Datagrams after that are `Payload`. The
//! session ends at a CONNECTION_CLOSE in an Initial, or at `finish`.
//!
//! **Bounds.** Per direction at most `Limits::max_crypto` bytes of CRYPTO
//! data are buffered (default 64 KiB); data beyond it is dropped and counted
//! in [`QuicStats::abandoned_oversize`]. At most `Limits::max_packets_per_datagram`
//! coalesced packets are examined per datagram.

pub mod crypto;
pub mod packet;

use std::collections::BTreeMap;

use serde::Serialize;

use crate::tls::handshake::{self, hex, ClientHello, ServerHello};
use crate::tls::{fingerprint, names};
use crate::{
    Direction, FieldDef, FieldType, ParseEvent, ParseResult, Parser, ProbeResult, SegmentMeta, SessionId, SkipReason,
    Transition,
};
use packet::{LongHeader, LongType};

/// Filterable QUIC fields.
pub const FIELDS: &[FieldDef] = &[
    FieldDef {
        name: "quic.sni",
        ty: FieldType::Str,
        available_at: Transition::L7EndHeaders,
        doc: "server_name from the ClientHello carried in the client's Initial packets",
    },
    FieldDef {
        name: "quic.version",
        ty: FieldType::U32,
        available_at: Transition::L7EndHeaders,
        doc: "long-header version of the client's first Initial (0x00000001 = v1, 0x6b3343cf = v2)",
    },
];

/// Human name of a QUIC version.
pub fn version_name(v: u32) -> String {
    match v {
        0 => "version-negotiation".to_owned(),
        crypto::VERSION_1 => "v1".to_owned(),
        crypto::VERSION_2 => "v2".to_owned(),
        0xff00_0001..=0xff00_00ff => format!("draft-{}", v & 0xff),
        _ => format!("0x{v:08x}"),
    }
}

/// Configurable bounds of one QUIC parser.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// CRYPTO bytes buffered per direction (offset + length). Default 64 KiB.
    pub max_crypto: usize,
    /// Coalesced packets examined per datagram. Default 8.
    pub max_packets_per_datagram: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_crypto: 64 * 1024, max_packets_per_datagram: 8 }
    }
}

/// Counters of one QUIC parser.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct QuicStats {
    pub datagrams: u64,
    pub packets: u64,
    pub initials_decrypted: u64,
    pub decrypt_failures: u64,
    /// CRYPTO data beyond `Limits::max_crypto` (dropped).
    pub abandoned_oversize: u64,
    /// Datagrams or handshake messages that are not valid QUIC/TLS.
    pub malformed: u64,
}

/// The `QuicStream` data type: the Initial handshake of one QUIC connection.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct QuicStream {
    /// Long-header version of the client's first Initial.
    pub version: u32,
    pub version_name: String,
    pub sni: Option<String>,
    /// ALPN protocols offered in the ClientHello.
    pub alpn: Vec<String>,
    /// DCID of the client's first Initial (hex).
    pub dcid: String,
    /// SCID of the client's first Initial (hex).
    pub scid: String,
    /// SCID chosen by the server (hex), from its first Initial or Retry.
    pub server_scid: Option<String>,
    /// DCID of the client Initial that completed the ClientHello (hex).
    pub client_hello_dcid: Option<String>,
    /// Negotiated TLS version and cipher from the ServerHello.
    pub tls_version: Option<String>,
    pub cipher: Option<String>,
    pub ja4: Option<String>,
    pub client_hello: Option<ClientHello>,
    pub server_hello: Option<ServerHello>,
    /// The server sent a Retry.
    pub retry: bool,
    /// Versions offered in a Version Negotiation packet.
    pub version_negotiation: Vec<u32>,
    /// CONNECTION_CLOSE error code seen in an Initial.
    pub connection_close: Option<u64>,
}

impl QuicStream {
    /// The value of the filter field `name` (one of this module's [`FIELDS`]), if the session has it.
    pub fn field(&self, name: &str) -> Option<crate::FieldValue<'_>> {
        use crate::FieldValue as V;
        match name {
            "quic.sni" => self.sni.as_deref().map(V::Str),
            "quic.version" => Some(V::Int(self.version.into())),
            _ => None,
        }
    }
}


/// One direction's CRYPTO stream: a contiguous prefix plus pending pieces.
#[derive(Clone, Debug, Default)]
struct CryptoStream {
    data: Vec<u8>,
    pending: BTreeMap<u64, Vec<u8>>,
    pending_bytes: usize,
    /// The first handshake message was handled.
    done: bool,
}

impl CryptoStream {
    /// Insert a CRYPTO frame; `false` if it was (partly) beyond `limit`.
    fn insert(&mut self, off: u64, bytes: &[u8], limit: usize) -> bool {
        let Ok(off) = usize::try_from(off) else { return false };
        let Some(end) = off.checked_add(bytes.len()) else { return false };
        if end > limit {
            return false;
        }
        if end <= self.data.len() {
            return true; // duplicate
        }
        if off <= self.data.len() {
            let skip = self.data.len() - off;
            self.data.extend_from_slice(bytes.get(skip..).unwrap_or_default());
            while let Some((&k, _)) = self.pending.first_key_value() {
                if usize::try_from(k).unwrap_or(usize::MAX) > self.data.len() {
                    break;
                }
                let Some((k, piece)) = self.pending.pop_first() else { break };
                self.pending_bytes -= piece.len();
                let skip = self.data.len() - usize::try_from(k).unwrap_or(0);
                if let Some(tail) = piece.get(skip..) {
                    self.data.extend_from_slice(tail);
                }
            }
        } else {
            let key = off as u64;
            let keep = self.pending.get(&key).is_none_or(|old| old.len() < bytes.len());
            if keep {
                if let Some(old) = self.pending.insert(key, bytes.to_vec()) {
                    self.pending_bytes -= old.len();
                }
                self.pending_bytes += bytes.len();
            }
        }
        true
    }

    /// The first complete handshake message: (type, body).
    fn first_message(&self) -> Option<(u8, &[u8])> {
        let typ = *self.data.first()?;
        let len = (usize::from(*self.data.get(1)?) << 16)
            | (usize::from(*self.data.get(2)?) << 8)
            | usize::from(*self.data.get(3)?);
        Some((typ, self.data.get(4..4 + len)?))
    }
}

/// Incremental QUIC parser (one per UDP flow). Session id is always 0.
#[derive(Clone, Debug, Default)]
pub struct QuicParser {
    limits: Limits,
    stats: QuicStats,
    session: Option<QuicStream>,
    /// DCID of the latest client Initial and the keys derived from it.
    keys: Option<(u32, Vec<u8>, crypto::Keys, crypto::Keys)>,
    crypto: [CryptoStream; 2],
    client_dir: Option<Direction>,
    saw_short_after_hello: bool,
    taken: bool,
    headers_done: bool,
    session_done: bool,
    skipped: bool,
}

impl QuicParser {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_limits(limits: Limits) -> Self {
        QuicParser { limits, ..Self::default() }
    }

    pub fn stats(&self) -> QuicStats {
        self.stats
    }

    fn keys_for(&mut self, version: u32, dcid: &[u8]) -> Option<(crypto::Keys, crypto::Keys)> {
        if let Some((v, d, c, s)) = &self.keys {
            if *v == version && d.as_slice() == dcid {
                return Some((c.clone(), s.clone()));
            }
        }
        let (c, s) = crypto::initial_keys(version, dcid)?;
        self.keys = Some((version, dcid.to_vec(), c.clone(), s.clone()));
        Some((c, s))
    }

    /// Process one datagram; returns whether it was recognisably QUIC.
    fn datagram(&mut self, dgram: &[u8], dir: Direction) -> bool {
        let mut rest = dgram;
        let mut any = false;
        for _ in 0..self.limits.max_packets_per_datagram {
            let Some(&first) = rest.first() else { break };
            if first & 0x80 == 0 {
                // Short header: 1-RTT data; nothing more to read in this datagram.
                if self.session.as_ref().is_some_and(|s| s.client_hello.is_some()) {
                    self.saw_short_after_hello = true;
                }
                any |= self.session.is_some();
                break;
            }
            let Some((hdr, len)) = packet::parse_long(rest) else { break };
            any = true;
            self.stats.packets += 1;
            self.packet(hdr, dir);
            rest = rest.get(len..).unwrap_or_default();
        }
        any
    }

    fn packet(&mut self, hdr: LongHeader<'_>, dir: Direction) {
        match hdr {
            LongHeader::VersionNegotiation { versions, .. } => {
                if let Some(s) = self.session.as_mut() {
                    if s.version_negotiation.is_empty() {
                        s.version_negotiation = versions;
                    }
                }
            }
            LongHeader::Retry { scid, .. } => {
                if let Some(s) = self.session.as_mut() {
                    s.retry = true;
                    s.server_scid.get_or_insert_with(|| hex(scid));
                }
            }
            LongHeader::Protected { ty: LongType::Initial, version, dcid, scid, pn_offset, packet } => {
                let client_dir = *self.client_dir.get_or_insert(dir);
                let from_client = dir == client_dir;
                if from_client {
                    self.session.get_or_insert_with(|| QuicStream {
                        version,
                        version_name: version_name(version),
                        dcid: hex(dcid),
                        scid: hex(scid),
                        ..QuicStream::default()
                    });
                } else if let Some(s) = self.session.as_mut() {
                    s.server_scid.get_or_insert_with(|| hex(scid));
                }
                let key_dcid = if from_client {
                    dcid.to_vec()
                } else {
                    match &self.keys {
                        Some((_, d, _, _)) => d.clone(),
                        None => return, // no client Initial seen: cannot derive keys
                    }
                };
                let Some((ck, sk)) = self.keys_for(version, &key_dcid) else { return };
                let keys = if from_client { ck } else { sk };
                let Some(opened) = crypto::open(&keys, packet, pn_offset) else {
                    self.stats.decrypt_failures += 1;
                    return;
                };
                self.stats.initials_decrypted += 1;
                let frames = packet::parse_frames(&opened.plaintext);
                let d = if from_client { 0 } else { 1 };
                let limit = self.limits.max_crypto;
                let mut overflow = false;
                if let Some(cs) = self.crypto.get_mut(d) {
                    for (off, bytes) in &frames.crypto {
                        overflow |= !cs.insert(*off, bytes, limit);
                    }
                }
                if overflow {
                    self.stats.abandoned_oversize += 1;
                }
                if let (Some(code), Some(s)) = (frames.close, self.session.as_mut()) {
                    s.connection_close.get_or_insert(code);
                }
                self.handshake(d, dcid);
            }
            LongHeader::Protected { .. } => {}
        }
    }

    /// Parse the first handshake message of a direction once it is complete.
    fn handshake(&mut self, d: usize, dcid: &[u8]) {
        let Some(cs) = self.crypto.get(d) else { return };
        if cs.done {
            return;
        }
        let Some((typ, body)) = cs.first_message() else { return };
        let parsed_ch = if d == 0 && typ == 1 { handshake::parse_client_hello(body) } else { None };
        let parsed_sh = if d == 1 && typ == 2 { handshake::parse_server_hello(body) } else { None };
        if parsed_ch.is_none() && parsed_sh.is_none() {
            self.stats.malformed += 1;
        }
        if let Some(cs) = self.crypto.get_mut(d) {
            cs.done = true;
            // The rest of the stream is not needed.
            cs.pending.clear();
            cs.pending_bytes = 0;
        }
        let Some(s) = self.session.as_mut() else { return };
        if let Some(ch) = parsed_ch {
            s.sni = ch.sni();
            s.alpn = ch.alpn.clone();
            s.ja4 = Some(fingerprint::ja4(&ch, true));
            s.client_hello_dcid = Some(hex(dcid));
            s.client_hello = Some(ch);
        }
        if let Some(sh) = parsed_sh {
            let v = sh.version();
            s.tls_version = Some(names::or_hex(names::version(v), v));
            s.cipher = Some(names::or_hex(names::cipher(sh.cipher_suite), sh.cipher_suite));
            s.server_hello = Some(sh);
        }
    }
}

/// Probe: a long-header Initial of a version weir can decrypt, with sane
/// connection-ID lengths and a Length that fits the datagram.
pub fn probe(seg: &[u8]) -> ProbeResult {
    let Some(&first) = seg.first() else { return ProbeResult::Unsure };
    if first & 0xc0 != 0xc0 {
        return ProbeResult::NotForUs;
    }
    let Some(version) = seg.get(1..5).and_then(|v| v.try_into().ok()).map(u32::from_be_bytes) else {
        return ProbeResult::Unsure;
    };
    if crypto::version_params(version).is_none() {
        return ProbeResult::NotForUs;
    }
    if LongType::from_bits(version, first >> 4) != LongType::Initial {
        return ProbeResult::NotForUs;
    }
    match packet::parse_long(seg) {
        Some((LongHeader::Protected { dcid, .. }, _)) if dcid.len() >= 8 => ProbeResult::Certain,
        Some(_) => ProbeResult::NotForUs,
        // A UDP datagram is complete: a header that does not fit is not QUIC.
        None => ProbeResult::NotForUs,
    }
}

impl Parser for QuicParser {
    type Session = QuicStream;

    fn probe(seg: &[u8], _meta: &SegmentMeta) -> ProbeResult {
        probe(seg)
    }

    fn parse(&mut self, seg: &[u8], meta: &SegmentMeta, events: &mut Vec<ParseEvent>) -> ParseResult {
        if self.skipped || seg.is_empty() {
            return ParseResult::Continue;
        }
        self.stats.datagrams += 1;
        let was_done = self.headers_done;
        let quic = self.datagram(seg, meta.dir);
        if !quic && self.session.is_none() {
            self.stats.malformed += 1;
            self.skipped = true;
            events.push(ParseEvent::Skipped(SkipReason::Malformed));
            return ParseResult::Skipped;
        }
        if was_done {
            events.push(ParseEvent::Payload { start: 0, end: seg.len() });
        } else {
            events.push(ParseEvent::InHeaders { start: 0, end: seg.len() });
        }
        let mut res = ParseResult::Continue;
        let (has_ch, has_sh, closed) = match &self.session {
            Some(s) => (s.client_hello.is_some(), s.server_hello.is_some(), s.connection_close.is_some()),
            None => (false, false, false),
        };
        if !self.headers_done && has_ch && (has_sh || self.saw_short_after_hello || closed) {
            self.headers_done = true;
            events.push(ParseEvent::HeadersDone(0));
            res = ParseResult::HeadersDone;
        }
        if closed && !self.session_done && !self.taken {
            self.session_done = true;
            events.push(ParseEvent::SessionDone(0));
            res = ParseResult::SessionDone;
        }
        res
    }

    fn session(&self, id: SessionId) -> Option<&QuicStream> {
        if id == 0 && !self.taken {
            self.session.as_ref()
        } else {
            None
        }
    }

    fn take_session(&mut self, id: SessionId) -> Option<QuicStream> {
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
mod tests;
