//! Test-only oracle harness: pcap → connections → reassembled stream chunks.
//!
//! This is deliberately small and obviously correct rather than fast. It is
//! shared by every `tests/*.rs` file of `weir-protocols` (`mod support;`).
//!
//! * Link layers: Ethernet (with any stack of 802.1Q / 802.1ad / QinQ tags)
//!   (and PPPoE sessions inside it) and raw IP. Other link types yield no packets.
//! * IPv4 (payload trimmed to the total length, so Ethernet padding never
//!   leaks into TCP data) and IPv6 with extension headers. Fragments other
//!   than IPv6 atomic fragments are skipped.
//! * Connections are keyed by (transport, VLAN stack, unordered endpoint
//!   pair). A TCP pure SYN after a FIN or RST in the same key starts a new
//!   connection (unless it repeats the first SYN's sequence number). The client is the pure-SYN sender, else the receiver of a
//!   SYN-ACK, else the sender of the first packet.
//! * Each TCP direction is reassembled in sequence order: retransmitted and
//!   overlapping bytes are dropped (first copy wins), out-of-order data waits
//!   until the gap fills; without a SYN the stream starts at the first seen
//!   sequence number. A chunk is emitted, in capture order, by each packet
//!   that makes new contiguous data available (it carries all of that data).
//!   Each UDP datagram with a payload is one chunk.
#![allow(dead_code)]

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use weir_protocols::{Direction, ParseEvent, ParseResult, Parser, SegmentMeta, SessionId, Timestamp, Transport};

/// One piece of reassembled stream data (TCP) or one datagram (UDP).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    pub dir: Direction,
    pub ts: Timestamp,
    /// 1-based capture frame number of the packet that made this data available.
    pub frame: usize,
    pub data: Vec<u8>,
}

/// One connection of a capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conn {
    pub transport: Transport,
    /// VLAN IDs, outer tag first.
    pub vlans: Vec<u16>,
    pub client: (IpAddr, u16),
    pub server: (IpAddr, u16),
    /// 1-based frame number of the first packet.
    pub first_frame: usize,
    /// Number of packets (with a parsed transport header) in the connection.
    pub packets: usize,
    pub chunks: Vec<Chunk>,
}

impl Conn {
    pub fn meta(&self, chunk: &Chunk) -> SegmentMeta {
        SegmentMeta {
            dir: chunk.dir,
            ts: chunk.ts,
            transport: self.transport,
            orig_port: self.client.1,
            resp_port: self.server.1,
        }
    }

    /// All bytes of one direction, concatenated.
    pub fn stream(&self, dir: Direction) -> Vec<u8> {
        self.chunks.iter().filter(|c| c.dir == dir).flat_map(|c| c.data.iter().copied()).collect()
    }
}

/// `CARGO_MANIFEST_DIR/../../../shared/traces/real`, or `None` (with a printed
/// reason) when the directory is absent.
pub fn traces_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/traces/real");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!("skipping: real traces not found at {}", dir.display());
        None
    }
}

/// Every `*.pcap` capture in the traces directory, sorted by name.
pub fn captures() -> Option<Vec<PathBuf>> {
    let dir = traces_dir()?;
    let mut out: Vec<PathBuf> = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    out.sort();
    Some(out)
}

/// Rows of `truth/<capture>.<kind>.tsv` as header → value maps (values
/// unescaped). `None` if the file does not exist.
pub fn truth(capture: &str, kind: &str) -> Option<Vec<HashMap<String, String>>> {
    let path = traces_dir()?.join("truth").join(format!("{capture}.{kind}.tsv"));
    let text = std::fs::read_to_string(path).ok()?;
    let mut lines = text.lines();
    let header: Vec<String> = lines.next()?.split('\t').map(str::to_owned).collect();
    Some(
        lines
            .filter(|l| !l.is_empty())
            .map(|l| header.iter().cloned().zip(l.split('\t').map(unescape)).collect())
            .collect(),
    )
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(o) => {
                out.push('\\');
                out.push(o)
            }
            None => out.push('\\'),
        }
    }
    out
}

// ---------------------------------------------------------------- decoding

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct TcpInfo {
    seq: u32,
    syn: bool,
    ack: bool,
    fin: bool,
    rst: bool,
}

#[derive(Clone, Debug)]
struct Decoded<'a> {
    vlans: Vec<u16>,
    transport: Transport,
    src: (IpAddr, u16),
    dst: (IpAddr, u16),
    tcp: Option<TcpInfo>,
    payload: &'a [u8],
}

const LINKTYPE_ETHERNET: u32 = 1;
const LINKTYPE_RAW: u32 = 101;

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([*b.get(at)?, *b.get(at + 1)?, *b.get(at + 2)?, *b.get(at + 3)?]))
}

fn decode(linktype: u32, frame: &[u8]) -> Option<Decoded<'_>> {
    let mut vlans = Vec::new();
    let (ethertype, ip) = match linktype {
        LINKTYPE_ETHERNET => {
            let mut off = 12;
            let mut ty = be16(frame, off)?;
            while matches!(ty, 0x8100 | 0x88a8 | 0x9100) {
                vlans.push(be16(frame, off + 2)? & 0x0fff);
                off += 4;
                ty = be16(frame, off)?;
            }
            if ty == 0x8864 {
                // PPPoE session: 6-byte header, then the 2-byte PPP protocol.
                let ppp = be16(frame, off + 8)?;
                let ty = match ppp {
                    0x0021 => 0x0800,
                    0x0057 => 0x86dd,
                    _ => return None,
                };
                (ty, frame.get(off + 10..)?)
            } else {
                (ty, frame.get(off + 2..)?)
            }
        }
        LINKTYPE_RAW => match frame.first()? >> 4 {
            4 => (0x0800, frame),
            6 => (0x86dd, frame),
            _ => return None,
        },
        _ => return None,
    };
    let (proto, src_ip, dst_ip, l4) = match ethertype {
        0x0800 => {
            let ihl = usize::from(ip.first()? & 0x0f) * 4;
            let total = usize::from(be16(ip, 2)?);
            let frag = be16(ip, 6)?;
            if frag & 0x3fff != 0 {
                return None; // a fragment (MF set or offset != 0): skipped
            }
            let src: [u8; 4] = ip.get(12..16)?.try_into().ok()?;
            let dst: [u8; 4] = ip.get(16..20)?.try_into().ok()?;
            if ihl < 20 || total < ihl {
                return None;
            }
            let end = total.min(ip.len());
            (*ip.get(9)?, IpAddr::from(src), IpAddr::from(dst), ip.get(ihl..end)?)
        }
        0x86dd => {
            let plen = usize::from(be16(ip, 4)?);
            let src: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
            let dst: [u8; 16] = ip.get(24..40)?.try_into().ok()?;
            let end = (40 + plen).min(ip.len());
            let mut rest = ip.get(40..end)?;
            let mut next = *ip.get(6)?;
            loop {
                match next {
                    0 | 43 | 60 => {
                        let len = (usize::from(*rest.get(1)?) + 1) * 8;
                        next = *rest.first()?;
                        rest = rest.get(len..)?;
                    }
                    44 => {
                        let off_m = be16(rest, 2)?;
                        if off_m & 0xfff9 != 0 {
                            return None; // a real fragment: skipped
                        }
                        next = *rest.first()?;
                        rest = rest.get(8..)?;
                    }
                    51 => {
                        let len = (usize::from(*rest.get(1)?) + 2) * 4;
                        next = *rest.first()?;
                        rest = rest.get(len..)?;
                    }
                    _ => break,
                }
            }
            (next, IpAddr::from(src), IpAddr::from(dst), rest)
        }
        _ => return None,
    };
    match proto {
        6 => {
            let sport = be16(l4, 0)?;
            let dport = be16(l4, 2)?;
            let seq = be32(l4, 4)?;
            let doff = usize::from(l4.get(12)? >> 4) * 4;
            let flags = *l4.get(13)?;
            if doff < 20 {
                return None;
            }
            Some(Decoded {
                vlans,
                transport: Transport::Tcp,
                src: (src_ip, sport),
                dst: (dst_ip, dport),
                tcp: Some(TcpInfo {
                    seq,
                    fin: flags & 0x01 != 0,
                    syn: flags & 0x02 != 0,
                    rst: flags & 0x04 != 0,
                    ack: flags & 0x10 != 0,
                }),
                payload: l4.get(doff..)?,
            })
        }
        17 => {
            let sport = be16(l4, 0)?;
            let dport = be16(l4, 2)?;
            let ulen = usize::from(be16(l4, 4)?);
            let end = if ulen >= 8 { ulen.min(l4.len()) } else { l4.len() };
            Some(Decoded {
                vlans,
                transport: Transport::Udp,
                src: (src_ip, sport),
                dst: (dst_ip, dport),
                tcp: None,
                payload: l4.get(8..end)?,
            })
        }
        _ => None,
    }
}

// ------------------------------------------------------------ reassembly

/// One TCP direction: bytes delivered so far plus out-of-order pieces.
#[derive(Clone, Debug, Default)]
struct HalfStream {
    /// Sequence number of stream offset 0.
    base: Option<u32>,
    /// Stream offset of the next byte to deliver.
    delivered: i64,
    /// Out-of-order pieces by stream offset.
    pending: BTreeMap<i64, Vec<u8>>,
}

impl HalfStream {
    fn on_syn(&mut self, seq: u32) {
        if self.delivered == 0 && self.pending.is_empty() {
            self.base = Some(seq.wrapping_add(1));
        }
    }

    /// Accept a segment; return the newly contiguous bytes (possibly empty).
    fn accept(&mut self, seq: u32, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        if data.is_empty() {
            return out;
        }
        let base = *self.base.get_or_insert(seq);
        // Signed distance from the base: valid for streams below 2 GiB.
        let start = i64::from(seq.wrapping_sub(base) as i32);
        self.insert(start, data);
        while let Some((&off, _)) = self.pending.first_key_value() {
            if off > self.delivered {
                break;
            }
            let Some((off, piece)) = self.pending.pop_first() else { break };
            let skip = (self.delivered - off) as usize;
            if let Some(new) = piece.get(skip..) {
                out.extend_from_slice(new);
                self.delivered += new.len() as i64;
            }
        }
        out
    }

    fn insert(&mut self, start: i64, data: &[u8]) {
        let end = start + data.len() as i64;
        if end <= self.delivered {
            return; // retransmission
        }
        let keep = match self.pending.get(&start) {
            Some(old) => old.len() < data.len(),
            None => true,
        };
        if keep {
            self.pending.insert(start, data.to_vec());
        }
    }
}

#[derive(Clone, Debug)]
struct Building {
    conn: Conn,
    halves: [HalfStream; 2],
    closed: bool,
    /// Sequence number of the client's pure SYN, if one was seen.
    syn_seq: Option<u32>,
}

type Key = (u8, Vec<u16>, (IpAddr, u16), (IpAddr, u16));

fn key(d: &Decoded) -> Key {
    let t = match d.transport {
        Transport::Tcp => 6,
        Transport::Udp => 17,
    };
    let (a, b) = if d.src <= d.dst { (d.src, d.dst) } else { (d.dst, d.src) };
    (t, d.vlans.clone(), a, b)
}

/// Read a capture into connections, ordered by their first packet.
/// Panics (test-only) if the file cannot be read as a pcap.
pub fn connections(path: impl AsRef<Path>) -> Vec<Conn> {
    let path = path.as_ref();
    let file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader =
        pcap_file::pcap::PcapReader::new(file).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let linktype = u32::from(reader.header().datalink);
    let mut done: Vec<Conn> = Vec::new();
    let mut open: HashMap<Key, Building> = HashMap::new();
    let mut frame = 0usize;
    while let Some(pkt) = reader.next_packet() {
        let pkt = match pkt {
            Ok(p) => p,
            Err(e) => {
                eprintln!("{}: stopping at a bad record: {e}", path.display());
                break;
            }
        };
        frame += 1;
        let ts = Timestamp(u64::try_from(pkt.timestamp.as_nanos()).unwrap_or(u64::MAX));
        let Some(d) = decode(linktype, &pkt.data) else { continue };
        let k = key(&d);
        let pure_syn = d.tcp.is_some_and(|t| t.syn && !t.ack);
        // A pure SYN after FIN/RST starts a new connection, unless it repeats
        // the connection's own SYN (same ISN: a retransmission, as tshark sees it).
        let syn_seq = d.tcp.map(|t| t.seq);
        if pure_syn && open.get(&k).is_some_and(|b| b.closed && b.syn_seq != syn_seq) {
            if let Some(b) = open.remove(&k) {
                done.push(b.conn);
            }
        }
        let b = open.entry(k).or_insert_with(|| {
            let synack = d.tcp.is_some_and(|t| t.syn && t.ack);
            let (client, server) = if synack { (d.dst, d.src) } else { (d.src, d.dst) };
            Building {
                conn: Conn {
                    transport: d.transport,
                    vlans: d.vlans.clone(),
                    client,
                    server,
                    first_frame: frame,
                    packets: 0,
                    chunks: Vec::new(),
                },
                halves: Default::default(),
                closed: false,
                syn_seq: None,
            }
        });
        // A pure SYN from the "server" before any data fixes the roles.
        if pure_syn && d.src == b.conn.server && b.conn.chunks.is_empty() {
            std::mem::swap(&mut b.conn.client, &mut b.conn.server);
            b.halves.swap(0, 1);
        }
        if pure_syn && b.syn_seq.is_none() {
            b.syn_seq = syn_seq;
        }
        b.conn.packets += 1;
        let dir = if d.src == b.conn.client { Direction::ToResponder } else { Direction::ToOriginator };
        match d.tcp {
            Some(t) => {
                let half = &mut b.halves[dir.index()];
                if t.syn {
                    half.on_syn(t.seq);
                }
                let seq = if t.syn { t.seq.wrapping_add(1) } else { t.seq };
                let data = half.accept(seq, d.payload);
                if !data.is_empty() {
                    b.conn.chunks.push(Chunk { dir, ts, frame, data });
                }
                if t.fin || t.rst {
                    b.closed = true;
                }
            }
            None => {
                if !d.payload.is_empty() {
                    b.conn.chunks.push(Chunk { dir, ts, frame, data: d.payload.to_vec() });
                }
            }
        }
    }
    done.extend(open.into_values().map(|b| b.conn));
    done.sort_by_key(|c| c.first_frame);
    done
}

// ---------------------------------------------------------------- driving

/// Run `P::probe` over the first chunks of a connection: the data of the
/// first direction that sends any, accumulated chunk by chunk (at most
/// `max_chunks`), until the probe is no longer `Unsure`.
pub fn probe<P: Parser>(conn: &Conn, max_chunks: usize) -> weir_protocols::ProbeResult {
    let Some(first) = conn.chunks.first() else { return weir_protocols::ProbeResult::Unsure };
    let mut buf = Vec::new();
    let mut verdict = weir_protocols::ProbeResult::Unsure;
    for c in conn.chunks.iter().filter(|c| c.dir == first.dir).take(max_chunks) {
        buf.extend_from_slice(&c.data);
        let meta = SegmentMeta { dir: first.dir, ..conn.meta(c) };
        verdict = P::probe(&buf, &meta);
        if verdict != weir_protocols::ProbeResult::Unsure {
            break;
        }
    }
    verdict
}

/// A session taken from a parser, with the frames where things happened.
#[derive(Clone, Debug)]
pub struct Taken<S> {
    pub id: SessionId,
    /// Frame of the chunk whose parse reported `HeadersDone(id)`, if any.
    pub headers_frame: Option<usize>,
    /// Frame of the chunk whose parse reported `SessionDone(id)` (`None`:
    /// completed by `finish`, or taken while still open at the end).
    pub done_frame: Option<usize>,
    pub session: S,
}

/// Feed every chunk of `conn` to `parser` in order (stopping after
/// `Skipped`), call `finish`, and take every session: first those reported
/// `SessionDone` (in report order), then any that reported `HeadersDone` and
/// are still held. Also checks the event/result invariants of the contract.
pub fn run_detailed<P: Parser>(parser: &mut P, conn: &Conn) -> Vec<Taken<P::Session>> {
    let mut headers: Vec<(SessionId, usize)> = Vec::new();
    let mut dones: Vec<(SessionId, Option<usize>)> = Vec::new();
    let mut events = Vec::new();
    for c in &conn.chunks {
        events.clear();
        let res = parser.parse(&c.data, &conn.meta(c), &mut events);
        check_events(&events, res, c.data.len());
        for e in &events {
            match e {
                ParseEvent::HeadersDone(id) => headers.push((*id, c.frame)),
                ParseEvent::SessionDone(id) => dones.push((*id, Some(c.frame))),
                _ => {}
            }
        }
        if res == ParseResult::Skipped {
            break;
        }
    }
    events.clear();
    parser.finish(&mut events);
    for e in &events {
        if let ParseEvent::SessionDone(id) = e {
            dones.push((*id, None));
        }
    }
    let mut out = Vec::new();
    let hframe = |id: SessionId| headers.iter().find(|(h, _)| *h == id).map(|(_, f)| *f);
    for (id, frame) in &dones {
        if let Some(s) = parser.take_session(*id) {
            out.push(Taken { id: *id, headers_frame: hframe(*id), done_frame: *frame, session: s });
        }
    }
    for (id, frame) in &headers {
        if let Some(s) = parser.take_session(*id) {
            out.push(Taken { id: *id, headers_frame: Some(*frame), done_frame: None, session: s });
        }
    }
    out
}

/// [`run_detailed`] without the frame bookkeeping.
pub fn run<P: Parser>(parser: &mut P, conn: &Conn) -> Vec<P::Session> {
    run_detailed(parser, conn).into_iter().map(|t| t.session).collect()
}

/// Contract checks on one `parse` call: ranges inside the segment, and the
/// summary result equal to the most advanced event.
pub fn check_events(events: &[ParseEvent], res: ParseResult, seg_len: usize) {
    let mut most = ParseResult::Continue;
    for e in events {
        match e {
            ParseEvent::InHeaders { start, end } | ParseEvent::Payload { start, end } => {
                assert!(start <= end && *end <= seg_len, "range {start}..{end} outside segment of {seg_len}");
            }
            ParseEvent::HeadersDone(_) => most = most.max(ParseResult::HeadersDone),
            ParseEvent::SessionDone(_) => most = most.max(ParseResult::SessionDone),
            ParseEvent::Skipped(_) => most = most.max(ParseResult::Skipped),
        }
    }
    assert_eq!(res, most, "summary result does not match events {events:?}");
}

/// Human-readable endpoint, e.g. `10.0.0.1:443` / `[::1]:443`.
pub fn endpoint(e: &(IpAddr, u16)) -> String {
    match e.0 {
        IpAddr::V4(a) => format!("{a}:{}", e.1),
        IpAddr::V6(a) => format!("[{a}]:{}", e.1),
    }
}

// ------------------------------------------------------ harness self-tests

/// The reassembly model: checked by `tests/tls_harness.rs`.
pub fn reassemble_for_test(segments: &[(u32, Vec<u8>)], syn: Option<u32>) -> Vec<u8> {
    let mut h = HalfStream::default();
    if let Some(s) = syn {
        h.on_syn(s);
    }
    let mut out = Vec::new();
    for (seq, data) in segments {
        out.extend(h.accept(*seq, data));
    }
    out
}
