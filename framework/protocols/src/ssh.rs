//! SSH: probe and incremental parser of the cleartext handshake, producing
//! one [`SshHandshake`] per connection.
//!
//! # Model
//! * Identification strings both ways (`SSH-protoversion-softwareversion
//!   SP comments CR LF`, RFC 4253 §4.2), split into protocol, software and
//!   comments. LF-only line ends are accepted, and other lines before the
//!   banner are skipped (RFC 4253 allows them from the server; they are
//!   tolerated from either side, at most [`Limits::max_pre_banner_lines`]).
//! * After the banner, the binary packet protocol (RFC 4253 §6):
//!   `packet_length`, `padding_length`, payload, padding, no MAC before
//!   NEWKEYS. KEXINIT (message 20) is decoded in each direction: cookie,
//!   the ten name-lists and `first_kex_packet_follows`. Other packets are
//!   skipped without buffering.
//! * After a direction's NEWKEYS (message 21) that direction is encrypted:
//!   its bytes are reported as [`ParseEvent::Payload`].
//!
//! # Events
//! `InHeaders` covers banners, pre-banner lines and cleartext packets. When
//! both directions have sent NEWKEYS the handshake (session id 0) is done:
//! `HeadersDone(0)`, `SessionDone(0)`, then `Skipped(Opaque)`. An SSH-1
//! banner (protocol other than `2.0`/`1.99`) ends the handshake once both
//! banners are seen (its packet format is not parsed). If the connection
//! ends earlier, [`Parser::finish`] emits `HeadersDone(0)` and
//! `SessionDone(0)` for whatever was seen (if at least one banner was).
//!
//! # Limits
//! A banner or pre-banner line longer than [`Limits::max_banner_len`]
//! (255, RFC 4253 §4.2) or a packet longer than [`Limits::max_packet_len`]
//! (35000, RFC 4253 §6.1) abandons the connection (`Skipped(LimitExceeded)`,
//! [`SshStats::abandoned_oversize`]); invalid packet framing or KEXINIT
//! contents abandon it as `Skipped(Malformed)` ([`SshStats::malformed`]).
//! When a connection is abandoned after at least one banner, what was seen
//! is still reported (`HeadersDone(0)`, `SessionDone(0)`) before `Skipped`.

use std::fmt::Write as _;

use crate::{
    Direction, FieldDef, FieldType, ParseEvent, ParseResult, Parser, ProbeResult, SegmentMeta,
    SessionId, SkipReason, Transition,
};

/// Filterable SSH fields: the full identification strings (without CR LF).
/// They are read from the first cleartext bytes but handed out with the
/// handshake at `L7EndHeaders`.
pub const FIELDS: &[FieldDef] = &[
    FieldDef {
        name: "ssh.client_version",
        ty: FieldType::Str,
        available_at: Transition::L7EndHeaders,
        doc: "Client identification string, e.g. SSH-2.0-OpenSSH_9.6",
    },
    FieldDef {
        name: "ssh.server_version",
        ty: FieldType::Str,
        available_at: Transition::L7EndHeaders,
        doc: "Server identification string, e.g. SSH-2.0-OpenSSH_8.9p1 Ubuntu-3",
    },
];

/// KEXINIT message number.
pub const MSG_KEXINIT: u8 = 20;
/// NEWKEYS message number.
pub const MSG_NEWKEYS: u8 = 21;

/// Configurable bounds of one [`SshParser`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest banner (or pre-banner) line including CR LF.
    pub max_banner_len: usize,
    /// Most lines accepted before the banner.
    pub max_pre_banner_lines: usize,
    /// Largest `packet_length`.
    pub max_packet_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_banner_len: 255, max_pre_banner_lines: 32, max_packet_len: 35000 }
    }
}

/// Counters of one [`SshParser`].
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SshStats {
    /// Cleartext binary packets seen (both directions).
    pub packets: u64,
    /// Lines skipped before a banner.
    pub pre_banner_lines: u64,
    pub abandoned_oversize: u64,
    pub malformed: u64,
}

/// An identification string, split (RFC 4253 §4.2).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SshBanner {
    /// The whole line without CR LF.
    pub full: String,
    /// `2.0`, `1.99`, ...
    pub proto_version: String,
    pub software_version: String,
    pub comments: Option<String>,
}

impl SshBanner {
    /// Splits a banner line (without line end). `None` unless it starts with `SSH-`.
    pub fn parse(line: &[u8]) -> Option<SshBanner> {
        let full = String::from_utf8_lossy(line).into_owned();
        let rest = full.strip_prefix("SSH-")?;
        let (proto, rest) = rest.split_once('-').unwrap_or((rest, ""));
        let (software, comments) = match rest.split_once(' ') {
            Some((s, c)) => (s, Some(c.to_owned())),
            None => (rest, None),
        };
        Some(SshBanner {
            proto_version: proto.to_owned(),
            software_version: software.to_owned(),
            comments,
            full: full.clone(),
        })
    }

    /// SSH-2 (`2.0`, or `1.99` meaning both).
    pub fn is_v2(&self) -> bool {
        self.proto_version == "2.0" || self.proto_version == "1.99"
    }
}

/// A decoded KEXINIT (RFC 4253 §7.1).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct KexInit {
    /// The 16 random cookie bytes, hex.
    pub cookie: String,
    pub kex_algorithms: Vec<String>,
    pub server_host_key_algorithms: Vec<String>,
    pub encryption_algorithms_client_to_server: Vec<String>,
    pub encryption_algorithms_server_to_client: Vec<String>,
    pub mac_algorithms_client_to_server: Vec<String>,
    pub mac_algorithms_server_to_client: Vec<String>,
    pub compression_algorithms_client_to_server: Vec<String>,
    pub compression_algorithms_server_to_client: Vec<String>,
    pub languages_client_to_server: Vec<String>,
    pub languages_server_to_client: Vec<String>,
    pub first_kex_packet_follows: bool,
}

impl KexInit {
    /// Parses a KEXINIT payload after the message number byte.
    pub fn parse(body: &[u8]) -> Option<KexInit> {
        let cookie = body.get(..16)?;
        let mut pos = 16usize;
        let mut lists: Vec<Vec<String>> = Vec::with_capacity(10);
        for _ in 0..10 {
            let len = body.get(pos..pos + 4)?;
            let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
            pos += 4;
            let raw = body.get(pos..pos.checked_add(len)?)?;
            pos += len;
            let text = String::from_utf8_lossy(raw);
            lists.push(if text.is_empty() { Vec::new() } else { text.split(',').map(str::to_owned).collect() });
        }
        let follows = *body.get(pos)? != 0;
        let mut it = lists.into_iter();
        let mut next = || it.next().unwrap_or_default();
        let mut hex = String::with_capacity(32);
        for b in cookie {
            let _ = write!(hex, "{b:02x}");
        }
        Some(KexInit {
            cookie: hex,
            kex_algorithms: next(),
            server_host_key_algorithms: next(),
            encryption_algorithms_client_to_server: next(),
            encryption_algorithms_server_to_client: next(),
            mac_algorithms_client_to_server: next(),
            mac_algorithms_server_to_client: next(),
            compression_algorithms_client_to_server: next(),
            compression_algorithms_server_to_client: next(),
            languages_client_to_server: next(),
            languages_server_to_client: next(),
            first_kex_packet_follows: follows,
        })
    }
}

/// The cleartext part of an SSH connection: the `SshHandshake` data type.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct SshHandshake {
    /// Client identification string without CR LF.
    pub client_version: Option<String>,
    /// Server identification string without CR LF.
    pub server_version: Option<String>,
    pub client_banner: Option<SshBanner>,
    pub server_banner: Option<SshBanner>,
    pub client_kex: Option<KexInit>,
    pub server_kex: Option<KexInit>,
    pub client_newkeys: bool,
    pub server_newkeys: bool,
}

impl SshHandshake {
    /// The value of the filter field `name` (one of this module's [`FIELDS`]), if the session has it.
    pub fn field(&self, name: &str) -> Option<crate::FieldValue<'_>> {
        use crate::FieldValue as V;
        match name {
            "ssh.client_version" => self.client_version.as_deref().map(V::Str),
            "ssh.server_version" => self.server_version.as_deref().map(V::Str),
            _ => None,
        }
    }
}


#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum State {
    /// Looking for the identification line.
    Banner,
    /// Reading the 6-byte packet header (length, padding, message number).
    Header,
    /// Reading `left` bytes of the current packet after its message number.
    Body { left: usize, msg: u8, padding: usize, total: usize },
    /// Encrypted (after NEWKEYS) or not parsed (SSH-1).
    Opaque,
}

#[derive(Debug)]
struct Side {
    state: State,
    line: Vec<u8>,
    lines_before: usize,
    hdr: [u8; 6],
    hdr_have: usize,
    /// KEXINIT bytes being buffered.
    body: Vec<u8>,
}

impl Side {
    fn new() -> Self {
        Side { state: State::Banner, line: Vec::new(), lines_before: 0, hdr: [0; 6], hdr_have: 0, body: Vec::new() }
    }
}

/// The SSH parser for one connection.
#[derive(Debug)]
pub struct SshParser {
    limits: Limits,
    stats: SshStats,
    sides: [Side; 2],
    hs: SshHandshake,
    /// Headers/session reported.
    reported: bool,
    taken: bool,
    dead: bool,
}

impl Default for SshParser {
    fn default() -> Self {
        Self::new(Limits::default())
    }
}

impl SshParser {
    pub fn new(limits: Limits) -> Self {
        SshParser {
            limits,
            stats: SshStats::default(),
            sides: [Side::new(), Side::new()],
            hs: SshHandshake::default(),
            reported: false,
            taken: false,
            dead: false,
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn stats(&self) -> &SshStats {
        &self.stats
    }

    /// Bytes buffered for partial lines and KEXINIT packets.
    pub fn buffered_bytes(&self) -> usize {
        self.sides.iter().map(|s| s.line.len() + s.body.len()).sum()
    }

    fn report(&mut self, events: &mut Vec<ParseEvent>) {
        if !self.reported {
            self.reported = true;
            events.push(ParseEvent::HeadersDone(0));
            events.push(ParseEvent::SessionDone(0));
        }
    }

    /// Is the handshake over (both NEWKEYS, or SSH-1 with both banners)?
    fn handshake_over(&self) -> bool {
        let hs = &self.hs;
        let v1 = [&hs.client_banner, &hs.server_banner]
            .iter()
            .any(|b| b.as_ref().is_some_and(|b| !b.is_v2()));
        (hs.client_newkeys && hs.server_newkeys)
            || (v1 && hs.client_banner.is_some() && hs.server_banner.is_some())
    }

    fn on_banner(&mut self, dir: Direction, banner: SshBanner) {
        let d = dir.index();
        self.sides[d].state = if banner.is_v2() { State::Header } else { State::Opaque };
        let full = Some(banner.full.clone());
        match dir {
            Direction::ToResponder => {
                self.hs.client_version = full;
                self.hs.client_banner = Some(banner);
            }
            Direction::ToOriginator => {
                self.hs.server_version = full;
                self.hs.server_banner = Some(banner);
            }
        }
    }

    fn on_packet_done(&mut self, dir: Direction, msg: u8, padding: usize, total: usize) -> Result<(), SkipReason> {
        let d = dir.index();
        self.stats.packets += 1;
        self.sides[d].state = State::Header;
        if msg == MSG_KEXINIT {
            let body = std::mem::take(&mut self.sides[d].body);
            // payload after the message number = total - padding_length byte - msg byte - padding
            let payload_len = total.checked_sub(2 + padding).ok_or(SkipReason::Malformed)?;
            let kex = body.get(..payload_len).and_then(KexInit::parse).ok_or(SkipReason::Malformed)?;
            match dir {
                Direction::ToResponder => self.hs.client_kex = Some(kex),
                Direction::ToOriginator => self.hs.server_kex = Some(kex),
            }
        } else if msg == MSG_NEWKEYS {
            self.sides[d].state = State::Opaque;
            match dir {
                Direction::ToResponder => self.hs.client_newkeys = true,
                Direction::ToOriginator => self.hs.server_newkeys = true,
            }
        }
        Ok(())
    }

    fn parse_inner(&mut self, seg: &[u8], dir: Direction, events: &mut Vec<ParseEvent>) -> Result<(), SkipReason> {
        let d = dir.index();
        let mut pos = 0usize;
        while pos < seg.len() && !self.handshake_over() {
            let start = pos;
            match self.sides[d].state {
                State::Banner => {
                    let rest = &seg[pos..];
                    let (take, nl) = match rest.iter().position(|&b| b == b'\n') {
                        Some(i) => (i + 1, true),
                        None => (rest.len(), false),
                    };
                    let side = &mut self.sides[d];
                    if side.line.len() + take > self.limits.max_banner_len {
                        return Err(SkipReason::LimitExceeded);
                    }
                    side.line.extend_from_slice(&rest[..take]);
                    pos += take;
                    events.push(ParseEvent::InHeaders { start, end: pos });
                    if !nl {
                        continue;
                    }
                    let line = std::mem::take(&mut side.line);
                    let text = line.strip_suffix(b"\n").unwrap_or(&line);
                    let text = text.strip_suffix(b"\r").unwrap_or(text);
                    match SshBanner::parse(text) {
                        Some(b) => self.on_banner(dir, b),
                        None => {
                            side.lines_before += 1;
                            self.stats.pre_banner_lines += 1;
                            if side.lines_before > self.limits.max_pre_banner_lines {
                                return Err(SkipReason::Malformed);
                            }
                        }
                    }
                }
                State::Header => {
                    let side = &mut self.sides[d];
                    while side.hdr_have < 6 && pos < seg.len() {
                        side.hdr[side.hdr_have] = seg[pos];
                        side.hdr_have += 1;
                        pos += 1;
                    }
                    events.push(ParseEvent::InHeaders { start, end: pos });
                    if side.hdr_have < 6 {
                        continue;
                    }
                    side.hdr_have = 0;
                    let h = side.hdr;
                    let total = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as usize;
                    let padding = usize::from(h[4]);
                    let msg = h[5];
                    if total > self.limits.max_packet_len {
                        return Err(SkipReason::LimitExceeded);
                    }
                    // padding_length byte + at least the message number + padding.
                    if total < 2 || padding + 2 > total {
                        return Err(SkipReason::Malformed);
                    }
                    side.body.clear();
                    side.state = State::Body { left: total - 2, msg, padding, total };
                    if total == 2 {
                        self.on_packet_done(dir, msg, padding, total)?;
                    }
                }
                State::Body { left, msg, padding, total } => {
                    let take = left.min(seg.len() - pos);
                    if msg == MSG_KEXINIT {
                        self.sides[d].body.extend_from_slice(&seg[pos..pos + take]);
                    }
                    pos += take;
                    events.push(ParseEvent::InHeaders { start, end: pos });
                    if take == left {
                        self.on_packet_done(dir, msg, padding, total)?;
                    } else {
                        self.sides[d].state = State::Body { left: left - take, msg, padding, total };
                    }
                }
                State::Opaque => {
                    events.push(ParseEvent::Payload { start, end: seg.len() });
                    pos = seg.len();
                }
            }
        }
        if self.handshake_over() {
            self.report(events);
            return Err(SkipReason::Opaque);
        }
        Ok(())
    }

    fn summarize(events: &[ParseEvent]) -> ParseResult {
        events.iter().fold(ParseResult::Continue, |acc, e| {
            acc.max(match e {
                ParseEvent::HeadersDone(_) => ParseResult::HeadersDone,
                ParseEvent::SessionDone(_) => ParseResult::SessionDone,
                ParseEvent::Skipped(_) => ParseResult::Skipped,
                _ => ParseResult::Continue,
            })
        })
    }
}

/// Does `seg` start like an SSH identification line?
fn banner_prefix(seg: &[u8]) -> ProbeResult {
    const P: &[u8] = b"SSH-";
    if seg.starts_with(P) {
        ProbeResult::Certain
    } else if P.starts_with(seg) {
        ProbeResult::Unsure
    } else {
        ProbeResult::NotForUs
    }
}

impl Parser for SshParser {
    type Session = SshHandshake;

    /// `SSH-` at the start of the stream; from the server, also `SSH-` at
    /// the start of a later line when every line before it is printable text
    /// (RFC 4253 §4.2 lets servers send other lines first).
    fn probe(seg: &[u8], meta: &SegmentMeta) -> ProbeResult {
        let first = banner_prefix(seg);
        if first != ProbeResult::NotForUs || meta.dir != Direction::ToOriginator {
            return first;
        }
        let mut rest = seg;
        for _ in 0..Limits::default().max_pre_banner_lines {
            let Some(nl) = rest.iter().position(|&b| b == b'\n') else { break };
            let line = &rest[..nl];
            if !line.iter().all(|&b| b == b'\t' || b == b'\r' || (0x20..0x7f).contains(&b)) {
                return ProbeResult::NotForUs;
            }
            rest = &rest[nl + 1..];
            match banner_prefix(rest) {
                ProbeResult::Certain => return ProbeResult::Certain,
                ProbeResult::Unsure if !rest.is_empty() => return ProbeResult::Unsure,
                _ => {}
            }
        }
        ProbeResult::NotForUs
    }

    fn parse(&mut self, seg: &[u8], meta: &SegmentMeta, events: &mut Vec<ParseEvent>) -> ParseResult {
        if self.dead {
            return ParseResult::Skipped;
        }
        let from = events.len();
        if let Err(reason) = self.parse_inner(seg, meta.dir, events) {
            match reason {
                SkipReason::LimitExceeded => self.stats.abandoned_oversize += 1,
                SkipReason::Malformed => self.stats.malformed += 1,
                SkipReason::Opaque => {}
            }
            if reason != SkipReason::Opaque && (self.hs.client_banner.is_some() || self.hs.server_banner.is_some()) {
                self.report(events);
            }
            self.dead = true;
            self.sides = [Side::new(), Side::new()];
            events.push(ParseEvent::Skipped(reason));
        }
        Self::summarize(events.get(from..).unwrap_or(&[]))
    }

    fn session(&self, id: SessionId) -> Option<&SshHandshake> {
        (id == 0 && self.reported && !self.taken).then_some(&self.hs)
    }

    fn take_session(&mut self, id: SessionId) -> Option<SshHandshake> {
        if id != 0 || !self.reported || self.taken {
            return None;
        }
        self.taken = true;
        Some(std::mem::take(&mut self.hs))
    }

    fn finish(&mut self, events: &mut Vec<ParseEvent>) {
        if !self.dead && (self.hs.client_banner.is_some() || self.hs.server_banner.is_some()) {
            self.report(events);
        }
        self.dead = true;
    }
}

#[cfg(test)]
mod tests;
