//! Application-layer protocols for weir: the L7 half of the connection model
//! (`../shared/DESIGN.md` §1).
//!
//! Every protocol module follows one contract, learned from Retina:
//!
//! 1. **Probe** ([`ProbeResult`]): decided from the bytes of the first
//!    segment(s), never from ports (ports may only order the probes).
//! 2. **Parse** ([`ParseResult`], [`ParseEvent`]): an incremental parser fed
//!    `&[u8]` segments in stream order plus [`SegmentMeta`]. State is bounded;
//!    a message split across any number of segments parses exactly as the
//!    contiguous message; a message that exceeds its limit is abandoned and
//!    counted.
//! 3. **Sessions**: what a parser produces (a TLS handshake, an HTTP
//!    transaction, a DNS transaction, ...). Completed sessions are handed out
//!    by id and then forgotten by the parser.
//!
//! Parsers never see a DPDK mbuf: everything here runs in plain `cargo test`.
//!
//! **Conventions.** Each module has a `Limits` struct (`Default` = the
//! documented defaults) and a `stats()` with counters such as
//! `abandoned_oversize` and `malformed`; each publishes `pub const FIELDS`.
//! [`all_fields`] gathers them with the packet-level fields, and
//! [`registry`] dispatches over every parser ([`registry::AnyParser`]) and
//! picks a connection's protocol ([`registry::Prober`]).
//!
//! **Cost.** Per segment a parser does work linear in the segment (record /
//! message framing) plus, once per session, the hello parsing and
//! fingerprints (TLS), or per Initial packet an HKDF key derivation (cached
//! per DCID) and one AES-GCM open (QUIC).
#![forbid(unsafe_code)]

pub use weir_conntrack::{Direction, Timestamp, Transition};

/// The transport under a segment.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Transport {
    Tcp,
    Udp,
}

/// Metadata handed to probes and parsers with every segment.
///
/// For TCP a segment is one in-order piece of the reassembled stream of
/// `dir`; for UDP it is one datagram's payload.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct SegmentMeta {
    pub dir: Direction,
    pub ts: Timestamp,
    pub transport: Transport,
    /// Port of the originator (client side of the connection).
    pub orig_port: u16,
    /// Port of the responder (server side of the connection).
    pub resp_port: u16,
}

/// A probe's verdict on whether a connection carries its protocol.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum ProbeResult {
    /// The bytes can only be this protocol.
    Certain,
    /// Not enough bytes yet to decide; probe again with the next segment.
    Unsure,
    /// The bytes cannot be this protocol.
    NotForUs,
}

/// The summary outcome of feeding one segment to a parser: the most
/// advanced thing that happened (`Skipped` > `SessionDone` > `HeadersDone`
/// > `Continue`). Details, in order, are in the [`ParseEvent`]s.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ParseResult {
    /// More bytes are needed; nothing completed.
    Continue,
    /// The headers of at least one session are complete (`L7EndHeaders`).
    HeadersDone,
    /// At least one session ended (`L7EndSession`).
    SessionDone,
    /// The parser stopped parsing this connection for good (encrypted from
    /// here on, a limit exceeded, or the bytes turned out not to be this
    /// protocol). Further segments are ignored.
    Skipped,
}

/// Identifies a session within one parser (one connection), in order of creation.
pub type SessionId = u32;

/// What happened while a parser consumed one segment, in stream order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParseEvent {
    /// Bytes `start..end` of the segment belong to the L7 headers (`L7InHeaders`).
    InHeaders { start: usize, end: usize },
    /// Session `id`'s headers are parsed; it can be inspected with the parser's `session(id)`.
    HeadersDone(SessionId),
    /// Bytes `start..end` of the segment are L7 payload (`L7InPayload`: HTTP body, TLS ciphertext).
    Payload { start: usize, end: usize },
    /// Session `id` ended; take it with the parser's `take_session(id)`.
    SessionDone(SessionId),
    /// The parser gave up on this connection (see [`ParseResult::Skipped`]).
    Skipped(SkipReason),
}

/// Why a parser stopped.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum SkipReason {
    /// Everything after this point is encrypted or opaque (e.g. TLS after the handshake).
    Opaque,
    /// A message exceeded the parser's configured limit (counted in the parser's stats).
    LimitExceeded,
    /// The bytes violate the protocol.
    Malformed,
}

/// The contract every protocol parser implements (one instance per connection).
pub trait Parser {
    /// What this parser produces: a TLS handshake, an HTTP transaction, ...
    type Session;

    /// Decide from content (not ports) whether `seg` starts this protocol.
    fn probe(seg: &[u8], meta: &SegmentMeta) -> ProbeResult
    where
        Self: Sized;

    /// Feed the next segment in stream order. Events are appended to
    /// `events` in the order they happen; the return value summarises them.
    fn parse(&mut self, seg: &[u8], meta: &SegmentMeta, events: &mut Vec<ParseEvent>) -> ParseResult;

    /// A session whose headers are done and that has not been taken yet.
    fn session(&self, id: SessionId) -> Option<&Self::Session>;

    /// Remove a session from the parser (after `SessionDone`, or at any time).
    fn take_session(&mut self, id: SessionId) -> Option<Self::Session>;

    /// The connection ended: complete what can be completed (unanswered DNS
    /// queries, HTTP bodies delimited by connection close, ...) and emit
    /// `SessionDone` for each such session.
    fn finish(&mut self, events: &mut Vec<ParseEvent>);
}

/// The value type of a filterable field.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum FieldType {
    Bool,
    U8,
    U16,
    U32,
    U64,
    /// UTF-8 text (lossily decoded where the wire carries bytes).
    Str,
    Bytes,
    Ipv4Addr,
    Ipv6Addr,
}

/// One filterable field, as the filter language sees it.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct FieldDef {
    /// `proto.field`, e.g. `tls.sni`.
    pub name: &'static str,
    pub ty: FieldType,
    /// The earliest transition at which the value is known.
    pub available_at: Transition,
    /// One line for `weir filter explain` and the docs.
    pub doc: &'static str,
}

/// The value of a field in one session (see each module's `FIELDS` and its
/// session type's `field`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FieldValue<'a> {
    Bool(bool),
    /// Every integer type (`U8`..`U64`), widened.
    Int(u64),
    Str(&'a str),
    Bytes(&'a [u8]),
    Ip(std::net::IpAddr),
}

pub mod http;

pub mod quic;
pub mod tls;
pub mod dns;
pub mod fields;
pub mod registry;

pub use fields::all_fields;
pub mod ssh;
