//! User data types and filters shared by the differential corpus: one data
//! type per transition, stateless and stateful filters.

use weir::prelude::*;

/// Payload bytes and packets per direction (L4InConn).
#[derive(Debug, Default)]
pub struct Bytes {
    pub n: [u64; 2],
    pub pkts: u64,
}
#[datatype]
impl Bytes {
    pub fn new(_ctx: &Ctx) -> Self {
        Bytes::default()
    }
    #[datatype_fn(on = L4InConn)]
    fn add(&mut self, _ctx: &Ctx, p: &L4Pdu) {
        self.n[p.dir.index()] += p.payload_len as u64;
        self.pkts += 1;
    }
}

/// Reassembled segments (L4InStream) and the first flags (L4FirstPacket).
#[derive(Debug, Default)]
pub struct Segs {
    pub count: u64,
    pub bytes: u64,
    pub first_flags: u8,
}
#[datatype]
impl Segs {
    pub fn new(_ctx: &Ctx) -> Self {
        Segs::default()
    }
    #[datatype_fn(on = L4FirstPacket)]
    fn first(&mut self, _ctx: &Ctx, p: &L4Pdu) {
        self.first_flags = p.tcp.map_or(0, |t| t.flags.0);
    }
    #[datatype_fn(on = L4InStream)]
    fn seg(&mut self, _ctx: &Ctx, p: &L4Pdu) {
        self.count += 1;
        self.bytes += p.payload_len as u64;
    }
}

/// Handshake time and how the connection ended (L4EndHandshake, L4Terminated).
#[derive(Debug, Default)]
pub struct Life {
    pub handshake_ns: Option<u64>,
    pub end: Option<String>,
}
#[datatype(complete = L4Terminated)]
impl Life {
    pub fn new(_ctx: &Ctx) -> Self {
        Life::default()
    }
    #[datatype_fn(on = L4EndHandshake)]
    fn hs(&mut self, ctx: &Ctx) {
        self.handshake_ns = Some(ctx.ts.as_nanos());
    }
    #[datatype_fn(on = L4Terminated)]
    fn end(&mut self, _ctx: &Ctx, r: EndReason) {
        self.end = Some(r.name().to_string());
    }
}

/// L7 activity: discovery, header and payload bytes, headers and sessions seen.
#[derive(Debug, Default)]
pub struct L7Log {
    pub disc: Option<Option<Protocol>>,
    pub header_bytes: u64,
    pub payload_bytes: u64,
    pub headers: u32,
    pub sessions: u32,
}
#[datatype(complete = L4Terminated)]
impl L7Log {
    pub fn new(_ctx: &Ctx) -> Self {
        L7Log::default()
    }
    #[datatype_fn(on = L7OnDisc)]
    fn disc(&mut self, _ctx: &Ctx, p: Option<Protocol>) {
        self.disc = Some(p);
    }
    #[datatype_fn(on = L7InHeaders)]
    fn hdr(&mut self, _ctx: &Ctx, s: &L7Segment) {
        self.header_bytes += s.data.len() as u64;
    }
    #[datatype_fn(on = L7InPayload)]
    fn pay(&mut self, _ctx: &Ctx, s: &L7Segment) {
        self.payload_bytes += s.data.len() as u64;
    }
    #[datatype_fn(on = L7EndHeaders)]
    fn heads(&mut self, _ctx: &Ctx, _s: AnySessionRef) {
        self.headers += 1;
    }
    #[datatype_fn(on = L7EndSession)]
    fn sess(&mut self, _ctx: &Ctx, _s: &AnySession) {
        self.sessions += 1;
    }
}

/// The originator's port is high (stateless, decided at the first packet).
#[filter]
pub fn high_port(f: &FiveTuple) -> FilterResult {
    if f.orig.port() >= 32768 {
        FilterResult::Accept
    } else {
        FilterResult::Drop
    }
}

/// The connection carried at least 8 packets (stateful, per packet; undecided until then).
pub struct Talker {
    n: u32,
}
#[filter]
impl Talker {
    pub fn new(_ctx: &Ctx) -> Self {
        Talker { n: 0 }
    }
    #[filter_fn(on = L4InConn)]
    pub fn check(&mut self, _b: &Bytes) -> FilterResult {
        self.n += 1;
        if self.n >= 8 {
            FilterResult::Accept
        } else {
            FilterResult::Continue
        }
    }
}

/// The TLS server name is short (decided where TlsHandshake is complete).
#[filter]
pub fn short_sni(hs: &TlsHandshake) -> FilterResult {
    match &hs.sni {
        Some(s) if s.len() < 16 => FilterResult::Accept,
        _ => FilterResult::Drop,
    }
}

/// One predicate asked at four transitions (a stateful filter with one
/// method per transition): dropped at the first packet for responder ports
/// divisible by 7, accepted at discovery for DNS and dropped when no
/// protocol was found, accepted at the second session, and at the end
/// accepted when some headers were parsed.
pub struct Staged {
    port: u16,
}
#[filter]
impl Staged {
    pub fn new(ctx: &Ctx) -> Self {
        Staged { port: ctx.tuple.resp.port() }
    }
    #[filter_fn(on = L4FirstPacket)]
    pub fn first(&mut self, _l: &L7Log) -> FilterResult {
        if self.port % 7 == 0 {
            FilterResult::Drop
        } else {
            FilterResult::Continue
        }
    }
    #[filter_fn(on = L7OnDisc)]
    pub fn disc(&mut self, l: &L7Log) -> FilterResult {
        match l.disc {
            Some(None) => FilterResult::Drop,
            Some(Some(Protocol::Dns)) => FilterResult::Accept,
            _ => FilterResult::Continue,
        }
    }
    #[filter_fn(on = L7EndSession)]
    pub fn session(&mut self, l: &L7Log) -> FilterResult {
        if l.sessions >= 2 {
            FilterResult::Accept
        } else {
            FilterResult::Continue
        }
    }
    #[filter_fn(on = L4Terminated)]
    pub fn end(&mut self, l: &L7Log) -> FilterResult {
        if l.headers >= 1 {
            FilterResult::Accept
        } else {
            FilterResult::Drop
        }
    }
}

/// More than 2,000 payload bytes in total, decided at the end.
#[filter(on = L4Terminated)]
pub fn bulky(b: &Bytes) -> FilterResult {
    if b.n[0] + b.n[1] > 2000 {
        FilterResult::Accept
    } else {
        FilterResult::Drop
    }
}

/// Counts its invocations per connection and unsubscribes after three.
pub struct Three {
    n: u32,
}
impl Three {
    pub fn new(_ctx: &Ctx) -> Self {
        Three { n: 0 }
    }
    pub fn tick(&mut self) -> bool {
        self.n += 1;
        self.n < 3
    }
}
