//! The built-in data types: what a callback or filter can ask for by naming
//! the type as a parameter (`fn cb(t: &FiveTuple, rec: &ConnRecord)`).
//!
//! Every type implements [`DataType`] (the same trait a user's
//! `#[datatype]` implements), `Debug` (deterministic: invocation traces
//! record it) and `Clone`. Each one is built once per connection when the
//! first filter prefix that needs it matches, updated only at the
//! transitions listed below, and read through `&Self`.
//!
//! | Type | Complete at | Updated at | Cost |
//! |---|---|---|---|
//! | [`FiveTuple`] | `L4FirstPacket` | — | one copy at construction |
//! | [`AnonFiveTuple`] | `L4FirstPacket` | — | at construction, one keyed hash per address bit (32 per IPv4, 128 per IPv6 address) |
//! | [`StartTime`] | `L4FirstPacket` | — | one copy |
//! | [`CoreId`] | `L4FirstPacket` | — | one copy |
//! | [`FilterStr`] | `L4FirstPacket` | — | none (the generated code fills in the subscription's filter text) |
//! | [`SessionProto`] | `L7OnDisc` | `L7OnDisc` | one store |
//! | [`ConnRecord`] | `L4Terminated` | `sync` only | one record copy per delivery, nothing per packet |
//! | [`PktCount`], [`ByteCount`], [`ConnDuration`] | `L4Terminated` | `sync` only | a few word copies per delivery |
//! | [`InterArrivals`] | `L4Terminated` | `L4InConn` | per packet O(1); at most 2 × [`InterArrivals::MAX`] `u64`s |
//! | [`PacketList`] | `L4Terminated` | `L4InConn` | per packet: one copy of ≤ [`PacketList::HEAD`] payload bytes for the first [`PacketList::MAX`] packets, a counter afterwards |
//! | [`TlsHandshake`], [`QuicStream`], [`SshHandshake`] | `L7EndHeaders` | `L7EndHeaders` | one session clone |
//! | [`HttpTransaction`], [`DnsTransaction`] | `L7EndSession` | `L7EndSession` | one session clone |
//! | [`Packet`], [`Segment`] | (packet-level) | — | none: borrowed from the event, never stored |
//!
//! The connection-level types complete at `L4Terminated` can also be read
//! earlier, by streaming callbacks: they then show the connection so far.
//! A type constructed after the connection's first packets (because the
//! filter prefix that needs it matched later) sees only what follows.
//!
//! Every type here is written in the shape `#[datatype]` expands: an
//! inherent `new`, `on_*` update methods taking exactly the payload of one
//! [`Event`] variant, an optional `sync_`, and a small [`DataType`] impl
//! that only dispatches. The session types ([`TlsHandshake`], ...) belong
//! to `weir-protocols`, so they implement [`DataType`] directly.

// Each `update` mirrors the generated dispatch: one match arm per declared
// transition, which for a built-in is usually a single arm.
#![allow(clippy::single_match)]

use crate::api::Ctx;
use crate::datatype;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::ops::Deref;
use weir_conntrack::{Direction, L4Pdu, Timestamp};
use weir_protocols::registry::{AnySession, AnySessionRef, Protocol};


/// One packet of the connection (`L4FirstPacket`, `L4InConn`), passed
/// straight from the event to the callback; never stored.
pub type Packet<'a> = weir_conntrack::L4Pdu<'a>;

/// One in-order piece of a reassembled stream (`L4InStream`), passed
/// straight from the event to the callback; never stored.
pub type Segment<'a> = weir_conntrack::L4Pdu<'a>;

// ---------------------------------------------------------------------------
// Connection identity

/// The connection's five-tuple, oriented from the originator.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct FiveTuple(pub weir_conntrack::FiveTuple);

#[datatype]
impl FiveTuple {
    pub fn new(ctx: &Ctx<'_>) -> Self {
        FiveTuple(*ctx.tuple)
    }
}


impl Deref for FiveTuple {
    type Target = weir_conntrack::FiveTuple;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// The key [`AnonFiveTuple::new`] uses. Change it (through
/// [`AnonFiveTuple::with_key`]) to make the mapping unlinkable to other
/// captures anonymised with the default.
pub const DEFAULT_ANON_KEY: [u8; 16] = *b"weir-anon-key-v1";

/// The five-tuple with both addresses anonymised; ports, protocol and VLANs
/// unchanged.
///
/// The mapping is deterministic for a key and **prefix-preserving** (the
/// Crypto-PAn construction): two addresses sharing exactly their first `k`
/// bits map to two addresses sharing exactly their first `k` bits, so
/// subnets stay subnets. Output bit `i` is input bit `i` XOR one bit of a
/// keyed SipHash-2-4 of the input's first `i` bits (see [`anonymize_ip`]).
///
/// This is for consistent anonymisation, not for secrecy: SipHash is a
/// keyed PRF, but prefix-preserving schemes leak structure by design, and
/// the default key is public.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct AnonFiveTuple(pub weir_conntrack::FiveTuple);

#[datatype]
impl AnonFiveTuple {
    pub fn new(ctx: &Ctx<'_>) -> Self {
        AnonFiveTuple::with_key(ctx.tuple, &DEFAULT_ANON_KEY)
    }

    /// Anonymises `tuple` under `key`.
    pub fn with_key(tuple: &weir_conntrack::FiveTuple, key: &[u8; 16]) -> Self {
        let anon = |a: SocketAddr| SocketAddr::new(anonymize_ip(a.ip(), key), a.port());
        AnonFiveTuple(weir_conntrack::FiveTuple {
            orig: anon(tuple.orig),
            resp: anon(tuple.resp),
            proto: tuple.proto,
            vlans: tuple.vlans,
        })
    }
}


impl Deref for AnonFiveTuple {
    type Target = weir_conntrack::FiveTuple;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// Prefix-preserving anonymisation of one address under `key` (IPv4 stays
/// IPv4, IPv6 stays IPv6).
pub fn anonymize_ip(addr: IpAddr, key: &[u8; 16]) -> IpAddr {
    match addr {
        IpAddr::V4(a) => {
            let x = u32::from(a);
            // Truncation is exact: the result has 32 significant bits.
            IpAddr::V4(Ipv4Addr::from(anonymize_bits(u128::from(x), 32, 4, key) as u32))
        }
        IpAddr::V6(a) => IpAddr::V6(Ipv6Addr::from(anonymize_bits(u128::from(a), 128, 6, key))),
    }
}

/// Crypto-PAn over the low `width` bits of `x` (most significant first):
/// output bit `i` = input bit `i` XOR the low bit of
/// `SipHash-2-4(key, [family, i, first i bits as a right-aligned u128])`.
fn anonymize_bits(x: u128, width: u32, family: u8, key: &[u8; 16]) -> u128 {
    let mut out: u128 = 0;
    let mut msg = [0u8; 18];
    msg[0] = family;
    for i in 0..width {
        let prefix = if i == 0 { 0 } else { x >> (width - i) };
        // `i < width <= 128`, so it fits in a byte.
        msg[1] = i as u8;
        msg[2..].copy_from_slice(&prefix.to_be_bytes());
        let flip = (siphash24(key, &msg) & 1) as u128;
        let bit = (x >> (width - 1 - i)) & 1;
        out = (out << 1) | (bit ^ flip);
    }
    out
}

/// SipHash-2-4 (Aumasson & Bernstein), 64-bit output, little-endian key
/// and message words. Written here so the anonymisation cannot change with
/// the standard library's hasher choice.
fn siphash24(key: &[u8; 16], msg: &[u8]) -> u64 {
    let mut k = [0u8; 8];
    k.copy_from_slice(&key[..8]);
    let k0 = u64::from_le_bytes(k);
    k.copy_from_slice(&key[8..]);
    let k1 = u64::from_le_bytes(k);
    let mut v = [
        k0 ^ 0x736f_6d65_7073_6575,
        k1 ^ 0x646f_7261_6e64_6f6d,
        k0 ^ 0x6c79_6765_6e65_7261,
        k1 ^ 0x7465_6462_7974_6573,
    ];
    let mut chunks = msg.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let m = u64::from_le_bytes(w);
        v[3] ^= m;
        sip_round(&mut v);
        sip_round(&mut v);
        v[0] ^= m;
    }
    let mut last = [0u8; 8];
    let rest = chunks.remainder();
    last[..rest.len()].copy_from_slice(rest);
    last[7] = msg.len() as u8; // the length modulo 256
    let m = u64::from_le_bytes(last);
    v[3] ^= m;
    sip_round(&mut v);
    sip_round(&mut v);
    v[0] ^= m;
    v[2] ^= 0xff;
    for _ in 0..4 {
        sip_round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

fn sip_round(v: &mut [u64; 4]) {
    v[0] = v[0].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(13);
    v[1] ^= v[0];
    v[0] = v[0].rotate_left(32);
    v[2] = v[2].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(16);
    v[3] ^= v[2];
    v[0] = v[0].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(21);
    v[3] ^= v[0];
    v[2] = v[2].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(17);
    v[1] ^= v[2];
    v[2] = v[2].rotate_left(32);
}

/// Time of the connection's first packet.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct StartTime(pub Timestamp);

#[datatype]
impl StartTime {
    pub fn new(ctx: &Ctx<'_>) -> Self {
        StartTime(ctx.record.first_ts)
    }
}


/// The core (worker) processing the connection.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct CoreId(pub usize);

#[datatype]
impl CoreId {
    pub fn new(ctx: &Ctx<'_>) -> Self {
        CoreId(ctx.core)
    }
}


/// The filter text of the subscription delivering the callback.
///
/// [`DataType::new`] cannot know which subscription reads the value, so it
/// returns `FilterStr("")`; the generated code passes each subscription's
/// own filter text as a constant instead of building this type.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct FilterStr(pub &'static str);

#[datatype]
impl FilterStr {
    pub fn new(_ctx: &Ctx<'_>) -> Self {
        FilterStr("")
    }
}


/// The L7 protocol identified on the connection (`None` until `L7OnDisc`,
/// and after it when every parser gave up).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct SessionProto(pub Option<Protocol>);

#[datatype(level = Static, complete = L7OnDisc)]
impl SessionProto {
    pub fn new(_ctx: &Ctx<'_>) -> Self {
        SessionProto(None)
    }

    #[datatype_fn(on = L7OnDisc)]
    fn on_disc(&mut self, _ctx: &Ctx<'_>, proto: Option<Protocol>) {
        self.0 = proto;
    }
}


// ---------------------------------------------------------------------------
// Counters kept by the tracker (copied at delivery)

/// The tracker's record of the connection: counters, timestamps, history
/// and end reason (final at `L4Terminated`).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ConnRecord(pub weir_conntrack::ConnRecord);

#[datatype(complete = L4Terminated)]
impl ConnRecord {
    pub fn new(ctx: &Ctx<'_>) -> Self {
        ConnRecord(*ctx.record)
    }

    #[datatype_fn(sync)]
    fn sync_(&mut self, ctx: &Ctx<'_>) {
        self.0 = *ctx.record;
    }
}


impl Deref for ConnRecord {
    type Target = weir_conntrack::ConnRecord;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// Packets seen per direction.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct PktCount {
    /// Originator → responder.
    pub orig: u64,
    /// Responder → originator.
    pub resp: u64,
}

#[datatype(complete = L4Terminated)]
impl PktCount {
    pub fn new(ctx: &Ctx<'_>) -> Self {
        let mut c = PktCount::default();
        c.sync_(ctx);
        c
    }

    #[datatype_fn(sync)]
    fn sync_(&mut self, ctx: &Ctx<'_>) {
        self.orig = ctx.record.packets[0];
        self.resp = ctx.record.packets[1];
    }

    /// Both directions.
    pub fn total(&self) -> u64 {
        self.orig.saturating_add(self.resp)
    }
}


/// Bytes seen per direction: on the wire (frame lengths) and transport payload.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ByteCount {
    /// Frame bytes originator → responder.
    pub orig_wire: u64,
    /// Frame bytes responder → originator.
    pub resp_wire: u64,
    /// Transport payload bytes originator → responder.
    pub orig_payload: u64,
    /// Transport payload bytes responder → originator.
    pub resp_payload: u64,
}

#[datatype(complete = L4Terminated)]
impl ByteCount {
    pub fn new(ctx: &Ctx<'_>) -> Self {
        let mut c = ByteCount::default();
        c.sync_(ctx);
        c
    }

    #[datatype_fn(sync)]
    fn sync_(&mut self, ctx: &Ctx<'_>) {
        let r = ctx.record;
        self.orig_wire = r.wire_bytes[0];
        self.resp_wire = r.wire_bytes[1];
        self.orig_payload = r.payload_bytes[0];
        self.resp_payload = r.payload_bytes[1];
    }

    /// Frame bytes, both directions.
    pub fn total_wire(&self) -> u64 {
        self.orig_wire.saturating_add(self.resp_wire)
    }

    /// Payload bytes, both directions.
    pub fn total_payload(&self) -> u64 {
        self.orig_payload.saturating_add(self.resp_payload)
    }
}


/// Time from the first to the latest packet (zero if the clock went back).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ConnDuration(pub std::time::Duration);

#[datatype(complete = L4Terminated)]
impl ConnDuration {
    pub fn new(ctx: &Ctx<'_>) -> Self {
        ConnDuration(ctx.record.duration())
    }

    #[datatype_fn(sync)]
    fn sync_(&mut self, ctx: &Ctx<'_>) {
        self.0 = ctx.record.duration();
    }
}


// ---------------------------------------------------------------------------
// Per-packet data

/// Gaps between consecutive packets of each direction, in nanoseconds.
///
/// A packet earlier than the direction's latest one gives a gap of 0 and,
/// like the tracker's `last_ts`, does not move the direction's clock back.
/// At most [`InterArrivals::MAX`] gaps are kept per direction; further
/// gaps are counted in `dropped`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct InterArrivals {
    /// Gaps between originator → responder packets, in arrival order.
    pub orig: Vec<u64>,
    /// Gaps between responder → originator packets, in arrival order.
    pub resp: Vec<u64>,
    /// Gaps not kept because their direction already held `MAX`.
    pub dropped: u64,
    /// Latest timestamp seen per direction ([`Direction::index`]).
    last: [Option<Timestamp>; 2],
}

#[datatype]
impl InterArrivals {
    /// Gaps kept per direction.
    pub const MAX: usize = 1024;

    pub fn new(_ctx: &Ctx<'_>) -> Self {
        InterArrivals::default()
    }

    #[datatype_fn(on = L4InConn)]
    fn on_packet(&mut self, _ctx: &Ctx<'_>, pdu: &L4Pdu<'_>) {
        let i = pdu.dir.index();
        let Some(last) = self.last[i] else {
            self.last[i] = Some(pdu.ts);
            return;
        };
        let gap = pdu.ts.saturating_since(last);
        self.last[i] = Some(last.max(pdu.ts));
        let gaps = match pdu.dir {
            Direction::ToResponder => &mut self.orig,
            Direction::ToOriginator => &mut self.resp,
        };
        if gaps.len() < Self::MAX {
            gaps.push(gap);
        } else {
            self.dropped = self.dropped.saturating_add(1);
        }
    }

    /// The gaps of one direction.
    pub fn gaps(&self, dir: Direction) -> &[u64] {
        match dir {
            Direction::ToResponder => &self.orig,
            Direction::ToOriginator => &self.resp,
        }
    }
}


/// A summary of one packet in a [`PacketList`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacketInfo {
    pub ts: Timestamp,
    pub dir: Direction,
    /// Frame length on the wire.
    pub wire_len: u32,
    /// Transport payload length.
    pub payload_len: usize,
    /// TCP flag bits (0 for UDP).
    pub tcp_flags: u8,
    /// The first [`PacketList::HEAD`] bytes of the payload (fewer if shorter).
    pub payload_head: Vec<u8>,
}

/// The first [`PacketList::MAX`] packets of the connection in arrival
/// order; later packets are only counted in `dropped`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PacketList {
    pub packets: Vec<PacketInfo>,
    /// Packets after the first `MAX`.
    pub dropped: u64,
}

#[datatype]
impl PacketList {
    /// Packets kept.
    pub const MAX: usize = 150;
    /// Payload bytes kept per packet.
    pub const HEAD: usize = 64;

    pub fn new(_ctx: &Ctx<'_>) -> Self {
        PacketList::default()
    }

    #[datatype_fn(on = L4InConn)]
    fn on_packet(&mut self, _ctx: &Ctx<'_>, pdu: &L4Pdu<'_>) {
        if self.packets.len() >= Self::MAX {
            self.dropped = self.dropped.saturating_add(1);
            return;
        }
        let head = &pdu.payload[..pdu.payload.len().min(Self::HEAD)];
        self.packets.push(PacketInfo {
            ts: pdu.ts,
            dir: pdu.dir,
            wire_len: pdu.wire_len,
            payload_len: pdu.payload_len,
            tcp_flags: pdu.tcp.map_or(0, |t| t.flags.bits()),
            payload_head: head.to_vec(),
        });
    }
}


// ---------------------------------------------------------------------------
// L7 sessions (types of weir-protocols; a session of another protocol is ignored)






// ---------------------------------------------------------------------------
// Sessions: the protocol parsers' session types, wrapped so that they are
// declared with `#[datatype]` like every other data type (fields are
// reached through `Deref`).

/// The TLS handshake (client and server hello, certificates) (`weir_protocols::tls::TlsHandshake`); the latest one of the connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsHandshake(pub weir_protocols::tls::TlsHandshake);

#[datatype(level = Session, complete = L7EndHeaders, protocols(tls))]
impl TlsHandshake {
    pub fn new(_ctx: &Ctx<'_>) -> Self {
        Self::default()
    }

    #[datatype_fn(on = L7EndHeaders)]
    fn on_headers(&mut self, _ctx: &Ctx<'_>, s: AnySessionRef<'_>) {
        if let AnySessionRef::Tls(s) = s {
            self.0.clone_from(s);
        }
    }
}

impl Deref for TlsHandshake {
    type Target = weir_protocols::tls::TlsHandshake;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// The QUIC Initial handshake (`weir_protocols::quic::QuicStream`); the latest one of the connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QuicStream(pub weir_protocols::quic::QuicStream);

#[datatype(level = Session, complete = L7EndHeaders, protocols(quic))]
impl QuicStream {
    pub fn new(_ctx: &Ctx<'_>) -> Self {
        Self::default()
    }

    #[datatype_fn(on = L7EndHeaders)]
    fn on_headers(&mut self, _ctx: &Ctx<'_>, s: AnySessionRef<'_>) {
        if let AnySessionRef::Quic(s) = s {
            self.0.clone_from(s);
        }
    }
}

impl Deref for QuicStream {
    type Target = weir_protocols::quic::QuicStream;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// The SSH version exchange and key-exchange init (`weir_protocols::ssh::SshHandshake`); the latest one of the connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SshHandshake(pub weir_protocols::ssh::SshHandshake);

#[datatype(level = Session, complete = L7EndHeaders, protocols(ssh))]
impl SshHandshake {
    pub fn new(_ctx: &Ctx<'_>) -> Self {
        Self::default()
    }

    #[datatype_fn(on = L7EndHeaders)]
    fn on_headers(&mut self, _ctx: &Ctx<'_>, s: AnySessionRef<'_>) {
        if let AnySessionRef::Ssh(s) = s {
            self.0.clone_from(s);
        }
    }
}

impl Deref for SshHandshake {
    type Target = weir_protocols::ssh::SshHandshake;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// One HTTP request and its response (`weir_protocols::http::HttpTransaction`); the latest one of the connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HttpTransaction(pub weir_protocols::http::HttpTransaction);

#[datatype(level = Session, complete = L7EndSession, protocols(http))]
impl HttpTransaction {
    pub fn new(_ctx: &Ctx<'_>) -> Self {
        Self::default()
    }

    #[datatype_fn(on = L7EndSession)]
    fn on_session(&mut self, _ctx: &Ctx<'_>, s: &AnySession) {
        if let AnySession::Http(s) = s {
            self.0.clone_from(s);
        }
    }
}

impl Deref for HttpTransaction {
    type Target = weir_protocols::http::HttpTransaction;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

/// One DNS query and its response (`weir_protocols::dns::DnsTransaction`); the latest one of the connection.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DnsTransaction(pub weir_protocols::dns::DnsTransaction);

#[datatype(level = Session, complete = L7EndSession, protocols(dns))]
impl DnsTransaction {
    pub fn new(_ctx: &Ctx<'_>) -> Self {
        Self::default()
    }

    #[datatype_fn(on = L7EndSession)]
    fn on_session(&mut self, _ctx: &Ctx<'_>, s: &AnySession) {
        if let AnySession::Dns(s) = s {
            self.0.clone_from(s);
        }
    }
}

impl Deref for DnsTransaction {
    type Target = weir_protocols::dns::DnsTransaction;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{DataType, Event};
    use proptest::prelude::*;
    use weir_conntrack::{EndReason, L4Proto, TcpMeta};
    use weir_wire::{TcpFlags, VlanStack};

    fn tuple() -> weir_conntrack::FiveTuple {
        weir_conntrack::FiveTuple {
            orig: "10.0.0.1:40000".parse().unwrap(),
            resp: "192.0.2.7:443".parse().unwrap(),
            proto: L4Proto::Tcp,
            vlans: VlanStack::new(),
        }
    }

    fn ctx<'a>(tuple: &'a weir_conntrack::FiveTuple, record: &'a weir_conntrack::ConnRecord) -> Ctx<'a> {
        Ctx { tuple, id: 7, core: 3, ts: record.last_ts, record, ttl: 64, ethernet: true }
    }

    fn pdu(dir: Direction, ts: u64, payload: &[u8], flags: Option<u8>) -> L4Pdu<'_> {
        L4Pdu {
            payload,
            dir,
            ts: Timestamp(ts),
            tcp: flags.map(|f| TcpMeta { seq: 1, ack: 0, flags: TcpFlags(f), window: 100 }),
            wire_len: 54 + payload.len() as u32,
            payload_len: payload.len(),
            reassembled: false,
            from_buffer: false,
        }
    }

    #[test]
    fn identity_types_come_from_ctx() {
        let t = tuple();
        let rec = weir_conntrack::ConnRecord::new(Timestamp(1_000));
        let c = ctx(&t, &rec);
        assert_eq!(<FiveTuple as DataType>::new(&c).0, t);
        assert_eq!(<FiveTuple as DataType>::new(&c).resp.port(), 443);
        assert_eq!(<StartTime as DataType>::new(&c), StartTime(Timestamp(1_000)));
        assert_eq!(<CoreId as DataType>::new(&c), CoreId(3));
        assert_eq!(<FilterStr as DataType>::new(&c), FilterStr(""));
    }

    #[test]
    fn session_proto_is_set_at_disc() {
        let t = tuple();
        let rec = weir_conntrack::ConnRecord::new(Timestamp(0));
        let c = ctx(&t, &rec);
        let mut p = <SessionProto as DataType>::new(&c);
        assert_eq!(p.0, None);
        p.update(&c, &Event::Terminated(EndReason::Rst));
        assert_eq!(p.0, None);
        p.update(&c, &Event::OnDisc(Some(Protocol::Tls)));
        assert_eq!(p.0, Some(Protocol::Tls));
    }

    #[test]
    fn record_types_sync_from_the_tracker() {
        let t = tuple();
        let mut rec = weir_conntrack::ConnRecord::new(Timestamp(1_000));
        let mut r = <ConnRecord as DataType>::new(&ctx(&t, &rec));
        let mut p = <PktCount as DataType>::new(&ctx(&t, &rec));
        let mut b = <ByteCount as DataType>::new(&ctx(&t, &rec));
        let mut d = <ConnDuration as DataType>::new(&ctx(&t, &rec));
        assert_eq!(p.total(), 0);

        rec.packets = [3, 2];
        rec.wire_bytes = [300, 200];
        rec.payload_bytes = [30, 20];
        rec.last_ts = Timestamp(1_500_001_000);
        rec.duration_ns = 1_500_000_000;
        rec.end = Some(EndReason::FinExchange);
        let c = ctx(&t, &rec);
        // No per-packet work: nothing moves until sync.
        assert_eq!(p.orig, 0);
        r.sync(&c);
        p.sync(&c);
        b.sync(&c);
        d.sync(&c);
        assert_eq!(r.0, rec);
        assert_eq!(r.end, Some(EndReason::FinExchange));
        assert_eq!(p, PktCount { orig: 3, resp: 2 });
        assert_eq!(p.total(), 5);
        assert_eq!(b, ByteCount { orig_wire: 300, resp_wire: 200, orig_payload: 30, resp_payload: 20 });
        assert_eq!((b.total_wire(), b.total_payload()), (500, 50));
        assert_eq!(d.0, std::time::Duration::from_millis(1_500));
    }

    #[test]
    fn inter_arrivals_per_direction() {
        let t = tuple();
        let rec = weir_conntrack::ConnRecord::new(Timestamp(0));
        let c = ctx(&t, &rec);
        let mut ia = <InterArrivals as DataType>::new(&c);
        let (o, r) = (Direction::ToResponder, Direction::ToOriginator);
        for (dir, ts) in [(o, 100), (r, 150), (o, 300), (o, 250), (r, 1_000), (o, 400)] {
            ia.update(&c, &Event::InConn(&pdu(dir, ts, b"", Some(0x10))));
        }
        // 250 is earlier than 300: gap 0, and the next gap is measured from 300.
        assert_eq!(ia.orig, vec![200, 0, 100]);
        assert_eq!(ia.resp, vec![850]);
        assert_eq!(ia.gaps(Direction::ToOriginator), &[850]);
        assert_eq!(ia.dropped, 0);
        // Other events are ignored.
        ia.update(&c, &Event::InStream(&pdu(o, 10_000, b"x", None)));
        assert_eq!(ia.orig.len(), 3);
    }

    #[test]
    fn inter_arrivals_are_bounded() {
        let t = tuple();
        let rec = weir_conntrack::ConnRecord::new(Timestamp(0));
        let c = ctx(&t, &rec);
        let mut ia = <InterArrivals as DataType>::new(&c);
        let n = InterArrivals::MAX as u64 + 11;
        for i in 0..=n {
            ia.update(&c, &Event::InConn(&pdu(Direction::ToResponder, i * 10, b"", None)));
        }
        ia.update(&c, &Event::InConn(&pdu(Direction::ToOriginator, 5, b"", None)));
        ia.update(&c, &Event::InConn(&pdu(Direction::ToOriginator, 9, b"", None)));
        assert_eq!(ia.orig.len(), InterArrivals::MAX);
        assert!(ia.orig.iter().all(|&g| g == 10));
        assert_eq!(ia.resp, vec![4]);
        assert_eq!(ia.dropped, 11);
    }

    #[test]
    fn packet_list_records_and_bounds() {
        let t = tuple();
        let rec = weir_conntrack::ConnRecord::new(Timestamp(0));
        let c = ctx(&t, &rec);
        let mut pl = <PacketList as DataType>::new(&c);
        let big = [0xabu8; 200];
        pl.update(&c, &Event::InConn(&pdu(Direction::ToResponder, 1, b"", Some(0x02))));
        pl.update(&c, &Event::InConn(&pdu(Direction::ToOriginator, 2, &big, None)));
        pl.update(&c, &Event::FirstPacket(&pdu(Direction::ToResponder, 3, b"", None)));
        assert_eq!(pl.packets.len(), 2);
        assert_eq!(
            pl.packets[0],
            PacketInfo {
                ts: Timestamp(1),
                dir: Direction::ToResponder,
                wire_len: 54,
                payload_len: 0,
                tcp_flags: 0x02,
                payload_head: vec![],
            }
        );
        let p1 = &pl.packets[1];
        assert_eq!((p1.payload_len, p1.tcp_flags, p1.payload_head.len()), (200, 0, PacketList::HEAD));
        for i in 0..PacketList::MAX as u64 + 5 {
            pl.update(&c, &Event::InConn(&pdu(Direction::ToResponder, 10 + i, b"abc", Some(0x18))));
        }
        assert_eq!(pl.packets.len(), PacketList::MAX);
        assert_eq!(pl.dropped, 7);
        assert_eq!(pl.packets[2].payload_head, b"abc");
        assert_eq!(pl.packets[2].ts, Timestamp(10));
    }

    #[test]
    fn sessions_are_taken_from_their_own_protocol_only() {
        let t = tuple();
        let rec = weir_conntrack::ConnRecord::new(Timestamp(0));
        let c = ctx(&t, &rec);

        use weir_protocols::{dns, http, quic, ssh, tls};
        let tls = tls::TlsHandshake { sni: Some("example.com".into()), ..Default::default() };
        let ssh = ssh::SshHandshake { client_version: Some("SSH-2.0-x".into()), ..Default::default() };
        let quic = quic::QuicStream { version: 1, ..Default::default() };
        let http = AnySession::Http(http::HttpTransaction { host: Some("h".into()), ..Default::default() });
        let dns = AnySession::Dns(dns::DnsTransaction { qname: "q.example".into(), ..Default::default() });

        let mut t_dt = <TlsHandshake as DataType>::new(&c);
        let mut s_dt = <SshHandshake as DataType>::new(&c);
        let mut q_dt = <QuicStream as DataType>::new(&c);
        let mut h_dt = <HttpTransaction as DataType>::new(&c);
        let mut d_dt = <DnsTransaction as DataType>::new(&c);
        let evs = [
            Event::EndHeaders(AnySessionRef::Ssh(&ssh)),
            Event::EndHeaders(AnySessionRef::Tls(&tls)),
            Event::EndHeaders(AnySessionRef::Quic(&quic)),
            Event::EndSession(&http),
            Event::EndSession(&dns),
            // An HTTP session at EndHeaders is not what HttpTransaction waits for.
            Event::EndHeaders(http.as_ref()),
        ];
        for ev in &evs {
            t_dt.update(&c, ev);
            s_dt.update(&c, ev);
            q_dt.update(&c, ev);
            h_dt.update(&c, ev);
            d_dt.update(&c, ev);
        }
        assert_eq!(t_dt.0, tls);
        assert_eq!(s_dt.0, ssh);
        assert_eq!(q_dt.0, quic);
        assert_eq!(AnySession::Http(h_dt.0), http);
        assert_eq!(AnySession::Dns(d_dt.0), dns);

        // A TLS session at EndSession is not an EndHeaders.
        let mut t2 = <TlsHandshake as DataType>::new(&c);
        t2.update(&c, &Event::EndSession(&AnySession::Tls(tls.clone())));
        assert_eq!(t2, TlsHandshake::default());
    }

    #[test]
    fn siphash_matches_the_reference() {
        let key: [u8; 16] = std::array::from_fn(|i| i as u8);
        // Reference vectors (SipHash paper, appendix A / vectors.h).
        assert_eq!(siphash24(&key, &[]), 0x726f_db47_dd0e_0e31);
        assert_eq!(siphash24(&key, &[0]), 0x74f8_39c5_93dc_67fd);
        let msg: Vec<u8> = (0..15).collect();
        assert_eq!(siphash24(&key, &msg), 0xa129_ca61_49be_45e5);
        // And std's (deprecated, but stable) SipHash-2-4 on every length up to 40.
        let data: Vec<u8> = (0..40u8).map(|b| b.wrapping_mul(37)).collect();
        for len in 0..=data.len() {
            #[allow(deprecated)]
            let mut h = std::hash::SipHasher::new_with_keys(
                u64::from_le_bytes(key[..8].try_into().unwrap()),
                u64::from_le_bytes(key[8..].try_into().unwrap()),
            );
            std::hash::Hasher::write(&mut h, &data[..len]);
            assert_eq!(siphash24(&key, &data[..len]), std::hash::Hasher::finish(&h), "len {len}");
        }
    }

    #[test]
    fn anon_five_tuple_keeps_ports_and_family() {
        let mut t = tuple();
        t.resp = "[2001:db8::1]:53".parse().unwrap();
        t.proto = L4Proto::Udp;
        let rec = weir_conntrack::ConnRecord::new(Timestamp(0));
        let a = <AnonFiveTuple as DataType>::new(&ctx(&t, &rec));
        assert_eq!(a, AnonFiveTuple::new(&ctx(&t, &rec)));
        assert_eq!((a.orig.port(), a.resp.port(), a.proto), (40000, 53, L4Proto::Udp));
        assert!(a.orig.is_ipv4() && a.resp.is_ipv6());
        assert_ne!(a.orig.ip(), t.orig.ip());
        assert_ne!(a.resp.ip(), t.resp.ip());
        let other = AnonFiveTuple::with_key(&t, &[9; 16]);
        assert_ne!((other.orig, other.resp), (a.orig, a.resp));
    }

    fn common_prefix(a: u128, b: u128, width: u32) -> u32 {
        (a ^ b).leading_zeros() - (128 - width)
    }

    /// `a` with bits after the first `k` replaced by `low`, and bit `k` flipped.
    fn sibling(a: u128, k: u32, low: u128, width: u32) -> u128 {
        if k >= width {
            return a;
        }
        let keep = if k == 0 { 0 } else { (a >> (width - k)) << (width - k) };
        let below = if k + 1 >= width { 0 } else { low & ((1u128 << (width - k - 1)) - 1) };
        keep | ((!a) & (1u128 << (width - 1 - k))) | below
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn anon_v4_preserves_exact_prefix(a: u32, low: u32, k in 0u32..=32, key: [u8; 16]) {
            let b = sibling(u128::from(a), k, u128::from(low), 32) as u32;
            prop_assert_eq!(common_prefix(a.into(), b.into(), 32), k);
            let anon = |x: u32| match anonymize_ip(IpAddr::V4(x.into()), &key) {
                IpAddr::V4(y) => u32::from(y),
                IpAddr::V6(_) => unreachable!(),
            };
            let (xa, xb) = (anon(a), anon(b));
            prop_assert_eq!(common_prefix(xa.into(), xb.into(), 32), k);
            prop_assert_eq!(xa, anon(a));
        }

        #[test]
        fn anon_v6_preserves_exact_prefix(a: u128, low: u128, k in 0u32..=128, key: [u8; 16]) {
            let b = sibling(a, k, low, 128);
            prop_assert_eq!(common_prefix(a, b, 128), k);
            let anon = |x: u128| match anonymize_ip(IpAddr::V6(x.into()), &key) {
                IpAddr::V6(y) => u128::from(y),
                IpAddr::V4(_) => unreachable!(),
            };
            let (xa, xb) = (anon(a), anon(b));
            prop_assert_eq!(common_prefix(xa, xb, 128), k);
            prop_assert_eq!(xa, anon(a));
        }
    }
}
