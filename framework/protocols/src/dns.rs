//! DNS over UDP and TCP: probe, message parser and query/response matching
//! into [`DnsTransaction`]s.
//!
//! # Model
//! * UDP: every segment is one message. TCP: messages are framed by a
//!   2-byte length (RFC 1035 §4.2.2); several messages may share a segment
//!   and one message may span any number of segments (per-direction buffer,
//!   at most one message long).
//! * Every message is parsed completely: header flags, questions, answer,
//!   authority and additional records. Rdata of A, AAAA, CNAME, NS, PTR, MX,
//!   TXT, SOA, SRV, SVCB/HTTPS and OPT (EDNS) is decoded; other types are
//!   kept raw (RFC 3597 rendering).
//! * Names are decompressed with loop protection: at most
//!   [`MAX_POINTER_HOPS`] compression pointers per name and at most 255
//!   bytes of name (RFC 1035 §3.1).
//! * A query (QR = 0) waits for its response; a response (QR = 1) is
//!   matched to the oldest outstanding query with the same id and question
//!   (or the same id if the question differs). Direction is not used, so a
//!   capture that misses the SYN (TCP) still matches.
//!
//! # Events
//! `InHeaders` covers every message's bytes (length prefix included).
//! A transaction is a DNS session: `HeadersDone(id)` and `SessionDone(id)`
//! are emitted together when the response arrives, for a response without a
//! query when it arrives, and for unanswered queries at [`Parser::finish`]
//! (or when evicted because [`Limits::max_outstanding`] queries are open).
//!
//! # Errors and limits
//! A malformed message is counted ([`DnsStats::malformed`]) and skipped;
//! if the very first message of a connection is malformed the connection is
//! not DNS (`Skipped(Malformed)`). A message with more than
//! [`Limits::max_records_per_section`] records in a section, or longer than
//! [`Limits::max_message_len`], is skipped and counted in
//! [`DnsStats::abandoned_oversize`].

use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use crate::{
    FieldDef, FieldType, ParseEvent, ParseResult, Parser, ProbeResult, SegmentMeta, SessionId,
    SkipReason, Timestamp, Transition, Transport,
};

/// Filterable DNS fields; all known when the transaction completes
/// (`L7EndHeaders`), taken from the query (or the response without a query).
pub const FIELDS: &[FieldDef] = &[
    FieldDef {
        name: "dns.qname",
        ty: FieldType::Str,
        available_at: Transition::L7EndHeaders,
        doc: "Name of the first question, dotted, without trailing dot",
    },
    FieldDef {
        name: "dns.qtype",
        ty: FieldType::U16,
        available_at: Transition::L7EndHeaders,
        doc: "Type of the first question (1 = A, 28 = AAAA, ...)",
    },
    FieldDef {
        name: "dns.rcode",
        ty: FieldType::U8,
        available_at: Transition::L7EndHeaders,
        doc: "Response code of the response header (0 = NOERROR, 3 = NXDOMAIN, ...)",
    },
];

/// Most compression pointers followed while reading one name.
pub const MAX_POINTER_HOPS: usize = 64;
/// Longest name on the wire (RFC 1035 §3.1).
pub const MAX_NAME_LEN: usize = 255;

/// Configurable bounds of one [`DnsParser`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Queries waiting for a response; the oldest is completed unanswered
    /// when a new one would exceed this.
    pub max_outstanding: usize,
    /// Most records (or questions) in any one section.
    pub max_records_per_section: usize,
    /// Longest message accepted (TCP framing allows 65535).
    pub max_message_len: usize,
    /// Most completed sessions kept until taken.
    pub max_retained: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_outstanding: 64, max_records_per_section: 256, max_message_len: 65535, max_retained: 256 }
    }
}

/// Counters of one [`DnsParser`].
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct DnsStats {
    pub queries: u64,
    pub responses: u64,
    /// Responses matched to a query.
    pub matched: u64,
    /// Responses without an outstanding query.
    pub unmatched_responses: u64,
    /// Queries completed without a response (at finish or evicted).
    pub unanswered: u64,
    /// Queries completed early because too many were outstanding.
    pub evicted_outstanding: u64,
    pub malformed: u64,
    pub abandoned_oversize: u64,
    pub evicted_untaken: u64,
}

// ---------------------------------------------------------------------------
// IANA names

/// IANA name of an RR TYPE / QTYPE (`ANY` for 255).
pub fn type_name(code: u16) -> Option<&'static str> {
    Some(match code {
        1 => "A",
        2 => "NS",
        3 => "MD",
        4 => "MF",
        5 => "CNAME",
        6 => "SOA",
        7 => "MB",
        8 => "MG",
        9 => "MR",
        10 => "NULL",
        11 => "WKS",
        12 => "PTR",
        13 => "HINFO",
        14 => "MINFO",
        15 => "MX",
        16 => "TXT",
        17 => "RP",
        18 => "AFSDB",
        19 => "X25",
        20 => "ISDN",
        21 => "RT",
        22 => "NSAP",
        23 => "NSAP-PTR",
        24 => "SIG",
        25 => "KEY",
        26 => "PX",
        27 => "GPOS",
        28 => "AAAA",
        29 => "LOC",
        30 => "NXT",
        31 => "EID",
        32 => "NIMLOC",
        33 => "SRV",
        34 => "ATMA",
        35 => "NAPTR",
        36 => "KX",
        37 => "CERT",
        38 => "A6",
        39 => "DNAME",
        40 => "SINK",
        41 => "OPT",
        42 => "APL",
        43 => "DS",
        44 => "SSHFP",
        45 => "IPSECKEY",
        46 => "RRSIG",
        47 => "NSEC",
        48 => "DNSKEY",
        49 => "DHCID",
        50 => "NSEC3",
        51 => "NSEC3PARAM",
        52 => "TLSA",
        53 => "SMIMEA",
        55 => "HIP",
        56 => "NINFO",
        57 => "RKEY",
        58 => "TALINK",
        59 => "CDS",
        60 => "CDNSKEY",
        61 => "OPENPGPKEY",
        62 => "CSYNC",
        63 => "ZONEMD",
        64 => "SVCB",
        65 => "HTTPS",
        99 => "SPF",
        100 => "UINFO",
        101 => "UID",
        102 => "GID",
        103 => "UNSPEC",
        104 => "NID",
        105 => "L32",
        106 => "L64",
        107 => "LP",
        108 => "EUI48",
        109 => "EUI64",
        249 => "TKEY",
        250 => "TSIG",
        251 => "IXFR",
        252 => "AXFR",
        253 => "MAILB",
        254 => "MAILA",
        255 => "ANY",
        256 => "URI",
        257 => "CAA",
        258 => "AVC",
        259 => "DOA",
        260 => "AMTRELAY",
        261 => "RESINFO",
        32768 => "TA",
        32769 => "DLV",
        _ => return None,
    })
}

/// IANA name of an RCODE (extended RCODEs included).
pub fn rcode_name(code: u16) -> Option<&'static str> {
    Some(match code {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        11 => "DSOTYPENI",
        16 => "BADVERS",
        17 => "BADKEY",
        18 => "BADTIME",
        19 => "BADMODE",
        20 => "BADNAME",
        21 => "BADALG",
        22 => "BADTRUNC",
        23 => "BADCOOKIE",
        _ => return None,
    })
}

/// IANA name of an OPCODE.
pub fn opcode_name(code: u8) -> Option<&'static str> {
    Some(match code {
        0 => "QUERY",
        1 => "IQUERY",
        2 => "STATUS",
        4 => "NOTIFY",
        5 => "UPDATE",
        6 => "DSO",
        _ => return None,
    })
}

/// IANA name of a CLASS.
pub fn class_name(code: u16) -> Option<&'static str> {
    Some(match code {
        1 => "IN",
        3 => "CH",
        4 => "HS",
        254 => "NONE",
        255 => "ANY",
        _ => return None,
    })
}

/// `A`, `AAAA`, ... or `TYPE65534` for unknown codes.
pub fn type_to_string(code: u16) -> String {
    type_name(code).map_or_else(|| format!("TYPE{code}"), str::to_owned)
}

/// `NOERROR`, ... or `RCODE12` for unknown codes.
pub fn rcode_to_string(code: u16) -> String {
    rcode_name(code).map_or_else(|| format!("RCODE{code}"), str::to_owned)
}

// ---------------------------------------------------------------------------
// Wire format

/// Why a message failed to parse.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum DnsError {
    /// The message ended before a field it announces.
    Truncated,
    /// A compression pointer chain was too long (or looped).
    PointerLoop,
    /// A name exceeded 255 bytes.
    NameTooLong,
    /// A label type other than a plain label or pointer.
    BadLabel,
    /// A section count exceeds the configured limit.
    TooManyRecords,
    /// Bytes left over after the last record.
    TrailingBytes,
}

/// One question.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DnsQuestion {
    pub name: String,
    pub qtype: u16,
    pub qclass: u16,
}

/// One SVCB/HTTPS parameter (value kept raw).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct SvcParam {
    pub key: u16,
    pub value: Vec<u8>,
}

/// One EDNS option (value kept raw).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct EdnsOption {
    pub code: u16,
    pub data: Vec<u8>,
}

/// Decoded record data.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub enum RData {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    Cname(String),
    Ns(String),
    Ptr(String),
    Mx { preference: u16, exchange: String },
    /// The character-strings, lossily decoded.
    Txt(Vec<String>),
    Soa { mname: String, rname: String, serial: u32, refresh: u32, retry: u32, expire: u32, minimum: u32 },
    Srv { priority: u16, weight: u16, port: u16, target: String },
    /// SVCB (64) and HTTPS (65).
    Svcb { priority: u16, target: String, params: Vec<SvcParam> },
    /// EDNS OPT pseudo-record (the record's class and TTL carry the
    /// payload size and extended flags; see [`DnsRecord`]).
    Opt(Vec<EdnsOption>),
    /// Any other type, or a known type whose rdata did not decode.
    Raw(Vec<u8>),
}

impl RData {
    /// Text form for logs: presentation format where one exists,
    /// `\# len hex` (RFC 3597) for raw data.
    pub fn render(&self) -> String {
        match self {
            RData::A(a) => a.to_string(),
            RData::Aaaa(a) => a.to_string(),
            RData::Cname(n) | RData::Ns(n) | RData::Ptr(n) => n.clone(),
            RData::Mx { preference, exchange } => format!("{preference} {exchange}"),
            RData::Txt(parts) => parts
                .iter()
                .map(|p| format!("\"{}\"", p.replace('\\', "\\\\").replace('"', "\\\"")))
                .collect::<Vec<_>>()
                .join(" "),
            RData::Soa { mname, rname, serial, refresh, retry, expire, minimum } => {
                format!("{mname} {rname} {serial} {refresh} {retry} {expire} {minimum}")
            }
            RData::Srv { priority, weight, port, target } => format!("{priority} {weight} {port} {target}"),
            RData::Svcb { priority, target, params } => {
                let mut s = format!("{priority} {target}");
                for p in params {
                    let _ = write!(s, " key{}={}", p.key, hex(&p.value));
                }
                s
            }
            RData::Opt(opts) => {
                let mut s = String::from("OPT");
                for o in opts {
                    let _ = write!(s, " {}={}", o.code, hex(&o.data));
                }
                s
            }
            RData::Raw(b) => format!("\\# {} {}", b.len(), hex(b)),
        }
    }
}

fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

/// One resource record.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DnsRecord {
    pub name: String,
    pub rtype: u16,
    /// CLASS (for OPT: the requestor's UDP payload size).
    pub class: u16,
    /// TTL (for OPT: extended RCODE, version and flags).
    pub ttl: u32,
    pub rdata: RData,
}

/// A parsed DNS message.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct DnsMessage {
    pub id: u16,
    /// true for a response.
    pub qr: bool,
    pub opcode: u8,
    pub aa: bool,
    pub tc: bool,
    pub rd: bool,
    pub ra: bool,
    pub z: bool,
    pub ad: bool,
    pub cd: bool,
    /// The 4-bit header RCODE (see [`DnsMessage::full_rcode`] for EDNS).
    pub rcode: u8,
    pub questions: Vec<DnsQuestion>,
    pub answers: Vec<DnsRecord>,
    pub authority: Vec<DnsRecord>,
    pub additional: Vec<DnsRecord>,
}

/// Header length.
const HEADER_LEN: usize = 12;

struct Reader<'a> {
    msg: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], DnsError> {
        let end = self.pos.checked_add(n).ok_or(DnsError::Truncated)?;
        let b = self.msg.get(self.pos..end).ok_or(DnsError::Truncated)?;
        self.pos = end;
        Ok(b)
    }
    fn u8(&mut self) -> Result<u8, DnsError> {
        Ok(self.bytes(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, DnsError> {
        let b = self.bytes(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, DnsError> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn name(&mut self) -> Result<String, DnsError> {
        let (name, end) = read_name(self.msg, self.pos)?;
        self.pos = end;
        Ok(name)
    }
}

/// Appends a label in presentation format (`\.` and `\DDD` escapes).
fn push_label(out: &mut String, label: &[u8]) {
    if label.iter().all(|&b| b.is_ascii_graphic() && b != b'.' && b != b'\\') {
        // Common case: nothing to escape (all ASCII, so valid UTF-8).
        out.push_str(&String::from_utf8_lossy(label));
        return;
    }
    for &b in label {
        match b {
            b'.' | b'\\' => {
                out.push('\\');
                out.push(b as char);
            }
            0x21..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\{b:03}");
            }
        }
    }
}

/// Reads the (possibly compressed) name starting at `start` of `msg`.
/// Returns the dotted name (`.` for the root) and the offset just after the
/// name's first, uncompressed part.
pub fn read_name(msg: &[u8], start: usize) -> Result<(String, usize), DnsError> {
    let mut out = String::with_capacity(32);
    let mut pos = start;
    let mut end: Option<usize> = None;
    let mut hops = 0usize;
    let mut wire_len = 0usize;
    loop {
        let len = *msg.get(pos).ok_or(DnsError::Truncated)?;
        match len & 0xc0 {
            0x00 => {
                wire_len += 1 + usize::from(len);
                if wire_len > MAX_NAME_LEN {
                    return Err(DnsError::NameTooLong);
                }
                if len == 0 {
                    let end = end.unwrap_or(pos + 1);
                    if out.is_empty() {
                        out.push('.');
                    }
                    return Ok((out, end));
                }
                let label = msg.get(pos + 1..pos + 1 + usize::from(len)).ok_or(DnsError::Truncated)?;
                if !out.is_empty() {
                    out.push('.');
                }
                push_label(&mut out, label);
                pos += 1 + usize::from(len);
            }
            0xc0 => {
                let lo = *msg.get(pos + 1).ok_or(DnsError::Truncated)?;
                if end.is_none() {
                    end = Some(pos + 2);
                }
                hops += 1;
                if hops > MAX_POINTER_HOPS {
                    return Err(DnsError::PointerLoop);
                }
                pos = (usize::from(len & 0x3f) << 8) | usize::from(lo);
            }
            _ => return Err(DnsError::BadLabel),
        }
    }
}

fn parse_rdata(msg: &[u8], rtype: u16, start: usize, len: usize) -> Result<RData, DnsError> {
    let end = start.checked_add(len).ok_or(DnsError::Truncated)?;
    let raw = msg.get(start..end).ok_or(DnsError::Truncated)?;
    // Names inside rdata may point anywhere before; reading stays within
    // `msg`, and the rdata must be consumed exactly.
    let mut r = Reader { msg, pos: start };
    let decoded = (|| -> Result<RData, DnsError> {
        let d = match rtype {
            1 => {
                let b = r.bytes(4)?;
                RData::A(Ipv4Addr::new(b[0], b[1], b[2], b[3]))
            }
            28 => {
                let b: [u8; 16] = r.bytes(16)?.try_into().map_err(|_| DnsError::Truncated)?;
                RData::Aaaa(Ipv6Addr::from(b))
            }
            5 => RData::Cname(r.name()?),
            2 => RData::Ns(r.name()?),
            12 => RData::Ptr(r.name()?),
            15 => RData::Mx { preference: r.u16()?, exchange: r.name()? },
            16 => {
                let mut parts = Vec::new();
                while r.pos < end {
                    let n = r.u8()?;
                    parts.push(String::from_utf8_lossy(r.bytes(usize::from(n))?).into_owned());
                }
                RData::Txt(parts)
            }
            6 => RData::Soa {
                mname: r.name()?,
                rname: r.name()?,
                serial: r.u32()?,
                refresh: r.u32()?,
                retry: r.u32()?,
                expire: r.u32()?,
                minimum: r.u32()?,
            },
            33 => RData::Srv { priority: r.u16()?, weight: r.u16()?, port: r.u16()?, target: r.name()? },
            64 | 65 => {
                let priority = r.u16()?;
                let target = r.name()?;
                let mut params = Vec::new();
                while r.pos < end {
                    let key = r.u16()?;
                    let n = r.u16()?;
                    params.push(SvcParam { key, value: r.bytes(usize::from(n))?.to_vec() });
                }
                RData::Svcb { priority, target, params }
            }
            41 => {
                let mut opts = Vec::new();
                while r.pos < end {
                    let code = r.u16()?;
                    let n = r.u16()?;
                    opts.push(EdnsOption { code, data: r.bytes(usize::from(n))?.to_vec() });
                }
                RData::Opt(opts)
            }
            _ => RData::Raw(raw.to_vec()),
        };
        Ok(d)
    })();
    match decoded {
        Ok(d) if r.pos == end || matches!(d, RData::Raw(_)) => Ok(d),
        // A known type whose rdata does not decode exactly: keep it raw.
        _ => Ok(RData::Raw(raw.to_vec())),
    }
}

impl DnsMessage {
    /// Parses one complete message (without TCP length prefix).
    pub fn parse(msg: &[u8], max_records_per_section: usize) -> Result<DnsMessage, DnsError> {
        let mut r = Reader { msg, pos: 0 };
        let id = r.u16()?;
        let flags = r.u16()?;
        let counts = [r.u16()?, r.u16()?, r.u16()?, r.u16()?];
        if counts.iter().any(|&c| usize::from(c) > max_records_per_section) {
            return Err(DnsError::TooManyRecords);
        }
        let mut questions = Vec::with_capacity(usize::from(counts[0]).min(16));
        for _ in 0..counts[0] {
            questions.push(DnsQuestion { name: r.name()?, qtype: r.u16()?, qclass: r.u16()? });
        }
        let mut sections: [Vec<DnsRecord>; 3] = [Vec::new(), Vec::new(), Vec::new()];
        for (sec, &count) in sections.iter_mut().zip(&counts[1..]) {
            for _ in 0..count {
                let name = r.name()?;
                let rtype = r.u16()?;
                let class = r.u16()?;
                let ttl = r.u32()?;
                let rdlen = usize::from(r.u16()?);
                let rdata = parse_rdata(msg, rtype, r.pos, rdlen)?;
                r.pos += rdlen;
                sec.push(DnsRecord { name, rtype, class, ttl, rdata });
            }
        }
        let [answers, authority, additional] = sections;
        Ok(DnsMessage {
            id,
            qr: flags & 0x8000 != 0,
            opcode: ((flags >> 11) & 0xf) as u8,
            aa: flags & 0x0400 != 0,
            tc: flags & 0x0200 != 0,
            rd: flags & 0x0100 != 0,
            ra: flags & 0x0080 != 0,
            z: flags & 0x0040 != 0,
            ad: flags & 0x0020 != 0,
            cd: flags & 0x0010 != 0,
            rcode: (flags & 0xf) as u8,
            questions,
            answers,
            authority,
            additional,
        })
    }

    /// The OPT record, if any.
    pub fn edns(&self) -> Option<&DnsRecord> {
        self.additional.iter().find(|r| r.rtype == 41)
    }

    /// RCODE including the EDNS extended bits.
    pub fn full_rcode(&self) -> u16 {
        let ext = self.edns().map_or(0, |o| (o.ttl >> 24) as u16);
        (ext << 4) | u16::from(self.rcode)
    }
}

/// Checks the header and questions of a message prefix. `Ok(true)`: plausible
/// and complete; `Ok(false)`: plausible so far but cut short.
fn plausible(msg: &[u8]) -> Result<bool, ()> {
    let Some(h) = msg.get(..HEADER_LEN) else { return Ok(false) };
    let flags = u16::from_be_bytes([h[2], h[3]]);
    let opcode = (flags >> 11) & 0xf;
    let counts = [
        u16::from_be_bytes([h[4], h[5]]),
        u16::from_be_bytes([h[6], h[7]]),
        u16::from_be_bytes([h[8], h[9]]),
        u16::from_be_bytes([h[10], h[11]]),
    ];
    let qr = flags & 0x8000 != 0;
    if !matches!(opcode, 0 | 1 | 2 | 4 | 5 | 6) || flags & 0x0040 != 0 {
        return Err(());
    }
    if counts[0] == 0 || counts[0] > 8 || counts[1..].iter().any(|&c| c > 512) {
        return Err(());
    }
    if !qr && (counts[1] > 16 || flags & 0xf != 0) {
        return Err(());
    }
    let mut r = Reader { msg, pos: HEADER_LEN };
    for _ in 0..counts[0] {
        let q = (|| -> Result<(u16, u16), DnsError> {
            r.name()?;
            Ok((r.u16()?, r.u16()?))
        })();
        match q {
            Ok((qtype, qclass)) => {
                if qtype == 0 || !matches!(qclass & 0x7fff, 1 | 3 | 4 | 254 | 255) {
                    return Err(());
                }
            }
            Err(DnsError::Truncated) => return Ok(false),
            Err(_) => return Err(()),
        }
    }
    Ok(true)
}

// ---------------------------------------------------------------------------
// Transactions

/// One query and its response: the `DnsTransaction` data type.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct DnsTransaction {
    /// `udp` or `tcp`.
    pub transport: &'static str,
    pub id: u16,
    /// First question's name (of the query, else of the response).
    pub qname: String,
    /// IANA name of the first question's type (`A`, `AAAA`, `TYPE65534`).
    pub qtype: String,
    pub qtype_code: u16,
    /// IANA name of the response code (`NOERROR`, `NXDOMAIN`, ...), if answered.
    pub rcode: Option<String>,
    /// Full response code (EDNS extended bits included).
    pub rcode_code: Option<u16>,
    /// Rendered rdata of the response's answer section.
    pub answers: Vec<String>,
    /// TTLs of the answer section, parallel to `answers`.
    pub ttls: Vec<u32>,
    pub query_ts: Option<Timestamp>,
    pub response_ts: Option<Timestamp>,
    pub query: Option<DnsMessage>,
    pub response: Option<DnsMessage>,
}

impl DnsTransaction {
    /// The value of the filter field `name` (one of this module's [`FIELDS`]), if the session has it.
    pub fn field(&self, name: &str) -> Option<crate::FieldValue<'_>> {
        use crate::FieldValue as V;
        match name {
            "dns.qname" => Some(V::Str(&self.qname)),
            "dns.qtype" => Some(V::Int(self.qtype_code.into())),
            "dns.rcode" => self.rcode_code.map(|v| V::Int(v.into())),
            _ => None,
        }
    }
}

impl DnsTransaction {
    fn new(transport: Transport, id: u16) -> Self {
        DnsTransaction {
            transport: match transport {
                Transport::Udp => "udp",
                Transport::Tcp => "tcp",
            },
            id,
            qname: String::new(),
            qtype: String::new(),
            qtype_code: 0,
            rcode: None,
            rcode_code: None,
            answers: Vec::new(),
            ttls: Vec::new(),
            query_ts: None,
            response_ts: None,
            query: None,
            response: None,
        }
    }

    fn set_question(&mut self, m: &DnsMessage) {
        if let Some(q) = m.questions.first() {
            self.qname = q.name.clone();
            self.qtype = type_to_string(q.qtype);
            self.qtype_code = q.qtype;
        }
    }

    fn set_response(&mut self, m: DnsMessage, ts: Timestamp) {
        if self.query.is_none() {
            self.set_question(&m);
        }
        let rc = m.full_rcode();
        self.rcode = Some(rcode_to_string(rc));
        self.rcode_code = Some(rc);
        self.answers = m.answers.iter().map(|r| r.rdata.render()).collect();
        self.ttls = m.answers.iter().map(|r| r.ttl).collect();
        self.response_ts = Some(ts);
        self.response = Some(m);
    }
}

#[derive(Debug)]
struct Outstanding {
    sid: SessionId,
    /// Lower-cased first question.
    key: Option<(String, u16, u16)>,
    tx: DnsTransaction,
}

fn question_key(m: &DnsMessage) -> Option<(String, u16, u16)> {
    m.questions.first().map(|q| (q.name.to_ascii_lowercase(), q.qtype, q.qclass))
}

/// TCP framing state of one direction.
#[derive(Debug, Default)]
struct Framer {
    /// Bytes of the length prefix seen so far (0..2) and the prefix.
    len_have: u8,
    len_bytes: [u8; 2],
    /// Message bytes still expected; `buf` holds those received.
    need: usize,
    buf: Vec<u8>,
    /// Oversize message bytes still to discard.
    discard: usize,
}

/// The DNS parser for one connection (a UDP flow or a TCP connection).
#[derive(Debug)]
pub struct DnsParser {
    limits: Limits,
    stats: DnsStats,
    framers: [Framer; 2],
    outstanding: VecDeque<Outstanding>,
    done: BTreeMap<SessionId, DnsTransaction>,
    next_id: SessionId,
    seen_valid: bool,
    dead: bool,
}

impl Default for DnsParser {
    fn default() -> Self {
        Self::new(Limits::default())
    }
}

impl DnsParser {
    pub fn new(limits: Limits) -> Self {
        DnsParser {
            limits,
            stats: DnsStats::default(),
            framers: [Framer::default(), Framer::default()],
            outstanding: VecDeque::new(),
            done: BTreeMap::new(),
            next_id: 0,
            seen_valid: false,
            dead: false,
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn stats(&self) -> &DnsStats {
        &self.stats
    }

    /// Bytes buffered for partial TCP messages.
    pub fn buffered_bytes(&self) -> usize {
        self.framers.iter().map(|f| f.buf.len()).sum()
    }

    /// Queries waiting for a response.
    pub fn outstanding_len(&self) -> usize {
        self.outstanding.len()
    }

    fn new_sid(&mut self) -> SessionId {
        let id = self.next_id;
        self.next_id = self.next_id.saturating_add(1);
        id
    }

    fn complete(&mut self, sid: SessionId, tx: DnsTransaction, events: &mut Vec<ParseEvent>) {
        events.push(ParseEvent::HeadersDone(sid));
        events.push(ParseEvent::SessionDone(sid));
        self.done.insert(sid, tx);
        while self.done.len() > self.limits.max_retained {
            self.done.pop_first();
            self.stats.evicted_untaken += 1;
        }
    }

    /// Handles one complete message. Returns `Err` when the connection must
    /// be abandoned.
    fn on_message(
        &mut self,
        bytes: &[u8],
        meta: &SegmentMeta,
        events: &mut Vec<ParseEvent>,
    ) -> Result<(), SkipReason> {
        let msg = match DnsMessage::parse(bytes, self.limits.max_records_per_section) {
            Ok(m) => m,
            Err(DnsError::TooManyRecords) => {
                self.stats.abandoned_oversize += 1;
                return Ok(());
            }
            Err(_) => {
                self.stats.malformed += 1;
                return if self.seen_valid { Ok(()) } else { Err(SkipReason::Malformed) };
            }
        };
        self.seen_valid = true;
        if !msg.qr {
            self.stats.queries += 1;
            if self.outstanding.len() >= self.limits.max_outstanding {
                if let Some(old) = self.outstanding.pop_front() {
                    self.stats.evicted_outstanding += 1;
                    self.stats.unanswered += 1;
                    self.complete(old.sid, old.tx, events);
                }
            }
            let sid = self.new_sid();
            let mut tx = DnsTransaction::new(meta.transport, msg.id);
            tx.set_question(&msg);
            tx.query_ts = Some(meta.ts);
            let key = question_key(&msg);
            tx.query = Some(msg);
            self.outstanding.push_back(Outstanding { sid, key, tx });
        } else {
            self.stats.responses += 1;
            let key = question_key(&msg);
            let pos = self
                .outstanding
                .iter()
                .position(|o| o.tx.id == msg.id && key.is_some() && o.key == key)
                .or_else(|| self.outstanding.iter().position(|o| o.tx.id == msg.id));
            match pos.and_then(|i| self.outstanding.remove(i)) {
                Some(mut o) => {
                    self.stats.matched += 1;
                    o.tx.set_response(msg, meta.ts);
                    self.complete(o.sid, o.tx, events);
                }
                None => {
                    self.stats.unmatched_responses += 1;
                    let sid = self.new_sid();
                    let mut tx = DnsTransaction::new(meta.transport, msg.id);
                    tx.set_response(msg, meta.ts);
                    self.complete(sid, tx, events);
                }
            }
        }
        Ok(())
    }

    fn parse_tcp(&mut self, seg: &[u8], meta: &SegmentMeta, events: &mut Vec<ParseEvent>) -> Result<(), SkipReason> {
        let d = meta.dir.index();
        let mut pos = 0usize;
        while pos < seg.len() {
            let f = &mut self.framers[d];
            let start = pos;
            if f.discard > 0 {
                let take = f.discard.min(seg.len() - pos);
                f.discard -= take;
                pos += take;
                continue;
            }
            if f.need == 0 {
                // Reading the length prefix.
                while usize::from(f.len_have) < 2 && pos < seg.len() {
                    f.len_bytes[usize::from(f.len_have)] = seg[pos];
                    f.len_have += 1;
                    pos += 1;
                }
                events.push(ParseEvent::InHeaders { start, end: pos });
                if f.len_have < 2 {
                    continue;
                }
                f.len_have = 0;
                let len = usize::from(u16::from_be_bytes(f.len_bytes));
                if len > self.limits.max_message_len {
                    self.stats.abandoned_oversize += 1;
                    f.discard = len;
                    continue;
                }
                if len < HEADER_LEN {
                    self.stats.malformed += 1;
                    if !self.seen_valid {
                        return Err(SkipReason::Malformed);
                    }
                    f.discard = len;
                    continue;
                }
                f.need = len;
                // Whole message inside this segment: parse in place.
                if let Some(m) = seg.get(pos..pos + len) {
                    f.need = 0;
                    events.push(ParseEvent::InHeaders { start: pos, end: pos + len });
                    pos += len;
                    self.on_message(m, meta, events)?;
                }
                continue;
            }
            let take = f.need.min(seg.len() - pos);
            f.buf.extend_from_slice(&seg[pos..pos + take]);
            f.need -= take;
            pos += take;
            events.push(ParseEvent::InHeaders { start, end: pos });
            if f.need == 0 {
                let m = std::mem::take(&mut f.buf);
                self.on_message(&m, meta, events)?;
                let mut m = m;
                m.clear();
                if self.framers[d].buf.is_empty() {
                    self.framers[d].buf = m;
                }
            }
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

impl Parser for DnsParser {
    type Session = DnsTransaction;

    /// A plausible header (known opcode, Z clear, 1..=8 questions, small
    /// counts, queries without answers or rcode) followed by questions that
    /// parse with a known class. For TCP the 2-byte length prefix comes
    /// first. `Unsure` while the questions are cut short.
    fn probe(seg: &[u8], meta: &SegmentMeta) -> ProbeResult {
        let msg = match meta.transport {
            Transport::Udp => seg,
            Transport::Tcp => {
                let Some(l) = seg.get(..2) else { return ProbeResult::Unsure };
                let len = usize::from(u16::from_be_bytes([l[0], l[1]]));
                if len < HEADER_LEN + 5 {
                    return ProbeResult::NotForUs;
                }
                let body = &seg[2..];
                &body[..body.len().min(len)]
            }
        };
        match plausible(msg) {
            Ok(true) => ProbeResult::Certain,
            Ok(false) if meta.transport == Transport::Tcp => ProbeResult::Unsure,
            _ => ProbeResult::NotForUs,
        }
    }

    fn parse(&mut self, seg: &[u8], meta: &SegmentMeta, events: &mut Vec<ParseEvent>) -> ParseResult {
        if self.dead {
            return ParseResult::Skipped;
        }
        let from = events.len();
        let res = match meta.transport {
            Transport::Udp => {
                events.push(ParseEvent::InHeaders { start: 0, end: seg.len() });
                if seg.len() > self.limits.max_message_len {
                    self.stats.abandoned_oversize += 1;
                    Ok(())
                } else {
                    self.on_message(seg, meta, events)
                }
            }
            Transport::Tcp => self.parse_tcp(seg, meta, events),
        };
        if let Err(reason) = res {
            self.dead = true;
            self.framers = [Framer::default(), Framer::default()];
            events.push(ParseEvent::Skipped(reason));
        }
        Self::summarize(events.get(from..).unwrap_or(&[]))
    }

    fn session(&self, id: SessionId) -> Option<&DnsTransaction> {
        self.done.get(&id)
    }

    fn take_session(&mut self, id: SessionId) -> Option<DnsTransaction> {
        self.done.remove(&id)
    }

    /// Completes every unanswered query (`response` is `None`).
    fn finish(&mut self, events: &mut Vec<ParseEvent>) {
        while let Some(o) = self.outstanding.pop_front() {
            self.stats.unanswered += 1;
            self.complete(o.sid, o.tx, events);
        }
        self.dead = true;
    }
}

#[cfg(test)]
mod tests;
