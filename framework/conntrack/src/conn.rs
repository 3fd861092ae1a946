//! The per-connection types user code sees: input packets, five-tuples,
//! records, interests, PDUs and the [`ConnHandler`] trait.

use crate::base::{Direction, Timestamp};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use weir_wire::{TcpFlags, VlanStack};

/// Transport protocol of a connection.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum L4Proto {
    Tcp,
    Udp,
}

impl L4Proto {
    pub const fn name(self) -> &'static str {
        match self {
            L4Proto::Tcp => "tcp",
            L4Proto::Udp => "udp",
        }
    }
}

/// The TCP header fields the tracker uses.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TcpMeta {
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
}

/// One parsed packet, as the runtime hands it to [`crate::ConnTable::process`].
#[derive(Copy, Clone, Debug)]
pub struct PacketInput<'a> {
    pub ts: Timestamp,
    pub vlans: VlanStack,
    pub src: IpAddr,
    pub dst: IpAddr,
    pub src_port: u16,
    pub dst_port: u16,
    pub proto: L4Proto,
    /// `Some` iff `proto == Tcp` (a TCP packet with `None` is tracked as if
    /// it carried no flags and sequence number 0).
    pub tcp: Option<TcpMeta>,
    /// Transport payload.
    pub payload: &'a [u8],
    /// Original frame length on the wire (pcap `orig_len`).
    pub wire_len: u32,
    /// A checksum was verified and found wrong (the packet is processed anyway, counted).
    pub bad_checksum: bool,
    /// IPv4 TTL or IPv6 hop limit.
    pub ttl: u8,
    /// The frame had an Ethernet header (link type Ethernet).
    pub ethernet: bool,
}

impl PacketInput<'_> {
    pub fn src_addr(&self) -> SocketAddr {
        SocketAddr::new(self.src, self.src_port)
    }
    pub fn dst_addr(&self) -> SocketAddr {
        SocketAddr::new(self.dst, self.dst_port)
    }
}

fn serialize_vlans<S: Serializer>(v: &VlanStack, s: S) -> Result<S::Ok, S::Error> {
    v.as_slice().serialize(s)
}

/// A connection's identity, oriented from the originator.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct FiveTuple {
    pub orig: SocketAddr,
    pub resp: SocketAddr,
    pub proto: L4Proto,
    /// Serialized as a list of VLAN IDs, outermost first.
    #[serde(serialize_with = "serialize_vlans")]
    pub vlans: VlanStack,
}

impl fmt::Display for FiveTuple {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} -> {}", self.proto.name(), self.orig, self.resp)?;
        if !self.vlans.is_empty() {
            write!(f, " vlan {:?}", self.vlans)?;
        }
        Ok(())
    }
}

/// What [`ConnHandler::first_packet`] sees: the five-tuple and the connection id.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConnInfo {
    pub tuple: FiveTuple,
    /// Core-local, increasing from 1 in the order connections are offered.
    pub id: u64,
    /// The first packet's TTL / hop limit.
    pub ttl: u8,
    /// The first packet had an Ethernet header.
    pub ethernet: bool,
}

/// Why a connection ended. `name()` is the stable `end` key of logs.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum EndReason {
    /// A FIN was seen from both sides (then `tcp_close_linger_ms` passed,
    /// the port was reused, or input ended).
    #[serde(rename = "fin")]
    FinExchange,
    /// An RST was seen (then linger, port reuse or end of input).
    #[serde(rename = "rst")]
    Rst,
    /// The connection began with a SYN and the responder sent nothing for
    /// `tcp_establish_timeout_ms` after the originator's last packet.
    #[serde(rename = "establish_timeout")]
    EstablishmentTimeout,
    /// No packet for `tcp_inactivity_timeout_ms` / `udp_inactivity_timeout_ms`.
    #[serde(rename = "inactivity_timeout")]
    InactivityTimeout,
    /// The out-of-order buffer of one direction overflowed.
    #[serde(rename = "ooo_overflow")]
    OutOfOrderOverflow,
    /// [`crate::ConnTable::drain`] was called (end of the capture / shutdown).
    #[serde(rename = "end_of_input")]
    EndOfInput,
}

impl EndReason {
    pub const ALL: [EndReason; 6] = [
        EndReason::FinExchange,
        EndReason::Rst,
        EndReason::EstablishmentTimeout,
        EndReason::InactivityTimeout,
        EndReason::OutOfOrderOverflow,
        EndReason::EndOfInput,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            EndReason::FinExchange => "fin",
            EndReason::Rst => "rst",
            EndReason::EstablishmentTimeout => "establish_timeout",
            EndReason::InactivityTimeout => "inactivity_timeout",
            EndReason::OutOfOrderOverflow => "ooo_overflow",
            EndReason::EndOfInput => "end_of_input",
        }
    }
}

impl fmt::Display for EndReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What a connection still needs from the tracker. Empty = nothing: the
/// connection's state is dropped without `L4Terminated` and its key is
/// ignored until it times out (see the crate docs).
#[derive(Copy, Clone, PartialEq, Eq, Hash, Default)]
pub struct Interest(u8);

impl Interest {
    pub const NONE: Interest = Interest(0);
    /// Deliver every packet (`L4InConn`).
    pub const IN_CONN: Interest = Interest(1);
    /// Deliver `L4EndHandshake`.
    pub const HANDSHAKE: Interest = Interest(2);
    /// Reassemble and deliver `L4InStream`.
    pub const STREAM: Interest = Interest(4);
    /// Deliver `L4Terminated`.
    pub const TERMINATED: Interest = Interest(8);
    pub const ALL: Interest = Interest(15);

    pub const fn bits(self) -> u8 {
        self.0
    }
    /// Unknown bits are dropped.
    pub const fn from_bits_truncate(bits: u8) -> Interest {
        Interest(bits & Self::ALL.0)
    }
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// True when every bit of `other` is set.
    pub const fn contains(self, other: Interest) -> bool {
        self.0 & other.0 == other.0
    }
    pub const fn intersects(self, other: Interest) -> bool {
        self.0 & other.0 != 0
    }
    pub const fn union(self, other: Interest) -> Interest {
        Interest(self.0 | other.0)
    }
    pub const fn difference(self, other: Interest) -> Interest {
        Interest(self.0 & !other.0)
    }
}

impl std::ops::BitOr for Interest {
    type Output = Interest;
    fn bitor(self, rhs: Interest) -> Interest {
        Interest(self.0 | rhs.0)
    }
}
impl std::ops::BitOrAssign for Interest {
    fn bitor_assign(&mut self, rhs: Interest) {
        self.0 |= rhs.0;
    }
}
impl std::ops::BitAnd for Interest {
    type Output = Interest;
    fn bitand(self, rhs: Interest) -> Interest {
        Interest(self.0 & rhs.0)
    }
}
impl std::ops::BitAndAssign for Interest {
    fn bitand_assign(&mut self, rhs: Interest) {
        self.0 &= rhs.0;
    }
}
impl std::ops::Not for Interest {
    type Output = Interest;
    fn not(self) -> Interest {
        Interest(!self.0 & Self::ALL.0)
    }
}

impl fmt::Debug for Interest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [(Interest, &str); 4] = [
            (Interest::IN_CONN, "IN_CONN"),
            (Interest::HANDSHAKE, "HANDSHAKE"),
            (Interest::STREAM, "STREAM"),
            (Interest::TERMINATED, "TERMINATED"),
        ];
        if self.is_empty() {
            return f.write_str("NONE");
        }
        let mut first = true;
        for (bit, name) in NAMES {
            if self.contains(bit) {
                if !first {
                    f.write_str("|")?;
                }
                f.write_str(name)?;
                first = false;
            }
        }
        Ok(())
    }
}

/// One packet (`L4FirstPacket`, `L4InConn`) or one reassembled piece of a
/// stream (`L4InStream`).
#[derive(Copy, Clone, Debug)]
pub struct L4Pdu<'a> {
    pub payload: &'a [u8],
    pub dir: Direction,
    /// The carrying packet's timestamp (for a buffered piece: the timestamp
    /// of the packet that carried it, not of the one that filled the gap).
    pub ts: Timestamp,
    /// The carrying packet's TCP fields; for a stream piece `seq` is the
    /// sequence number of `payload[0]` (after trimming).
    pub tcp: Option<TcpMeta>,
    /// The carrying packet's wire length.
    pub wire_len: u32,
    /// `payload.len()`.
    pub payload_len: usize,
    /// True for `L4InStream` pieces.
    pub reassembled: bool,
    /// The piece waited in the out-of-order buffer.
    pub from_buffer: bool,
}

/// Zeek `conn.log`-style history: one letter per (event, direction), in the
/// order first seen, upper case for the originator, lower case for the
/// responder. Stored inline (no allocation); serialized as a string.
#[derive(Copy, Clone, PartialEq, Eq, Default)]
pub struct History {
    /// Bit `2 * letter + dir` set once that letter was recorded.
    seen: u32,
    len: u8,
    letters: [u8; History::CAPACITY],
}

impl History {
    /// Every letter once per direction.
    pub const CAPACITY: usize = 2 * History::LETTERS.len();
    /// The letters in Zeek's meaning (see the crate docs).
    pub const LETTERS: [u8; 11] = *b"shadfrctwiq";

    /// Records `letter` (lower case, one of [`History::LETTERS`]) for `dir`
    /// unless already recorded.
    pub fn record(&mut self, letter: u8, dir: Direction) {
        let Some(i) = Self::LETTERS.iter().position(|&l| l == letter) else {
            return;
        };
        let bit = 1u32 << (2 * i + dir.index());
        if self.seen & bit != 0 || self.len as usize >= Self::CAPACITY {
            return;
        }
        self.seen |= bit;
        self.letters[self.len as usize] = match dir {
            Direction::ToResponder => letter.to_ascii_uppercase(),
            Direction::ToOriginator => letter,
        };
        self.len += 1;
    }

    pub fn contains(&self, letter: u8, dir: Direction) -> bool {
        match Self::LETTERS.iter().position(|&l| l == letter) {
            Some(i) => self.seen & (1u32 << (2 * i + dir.index())) != 0,
            None => false,
        }
    }

    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.letters[..self.len as usize]).unwrap_or("")
    }
}

impl fmt::Debug for History {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.as_str())
    }
}
impl fmt::Display for History {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
impl Serialize for History {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Per-connection counters and summary (the built-in `ConnRecord` data type).
/// Per-direction arrays are indexed by [`Direction::index`]
/// (0: originator → responder, 1: responder → originator).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConnRecord {
    pub packets: [u64; 2],
    /// Sum of `wire_len`.
    pub wire_bytes: [u64; 2],
    /// Sum of transport payload lengths.
    pub payload_bytes: [u64; 2],
    /// Timestamp of the first packet.
    pub first_ts: Timestamp,
    /// Latest timestamp seen (a packet earlier than this does not move it back).
    pub last_ts: Timestamp,
    /// `last_ts - first_ts` in nanoseconds (0 if the clock went back).
    pub duration_ns: u64,
    pub history: History,
    /// Set just before `L4Terminated` is delivered.
    pub end: Option<EndReason>,
    /// The three-way handshake completed (see the crate docs).
    pub handshake_completed: bool,
}

impl ConnRecord {
    /// An empty record whose first packet is at `ts` (the table fills it in).
    pub fn new(ts: Timestamp) -> Self {
        ConnRecord {
            packets: [0; 2],
            wire_bytes: [0; 2],
            payload_bytes: [0; 2],
            first_ts: ts,
            last_ts: ts,
            duration_ns: 0,
            history: History::default(),
            end: None,
            handshake_completed: false,
        }
    }

    pub fn duration(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(self.duration_ns)
    }

    pub fn total_packets(&self) -> u64 {
        self.packets[0].saturating_add(self.packets[1])
    }
}

/// A tracked connection as handlers see it.
#[derive(Debug)]
pub struct Conn<S> {
    pub(crate) tuple: FiveTuple,
    pub(crate) id: u64,
    pub(crate) record: ConnRecord,
    pub(crate) interest: Interest,
    pub(crate) ttl: u8,
    pub(crate) ethernet: bool,
    /// The handler's per-connection state.
    pub state: S,
}

impl<S> Conn<S> {
    pub fn five_tuple(&self) -> &FiveTuple {
        &self.tuple
    }
    pub fn id(&self) -> u64 {
        self.id
    }
    pub fn record(&self) -> &ConnRecord {
        &self.record
    }
    /// The interest in force (the value returned by the last handler call).
    pub fn interest(&self) -> Interest {
        self.interest
    }
    /// The tracker's view and the handler's state at once (split borrow).
    pub fn parts(&mut self) -> (&FiveTuple, &ConnRecord, &mut S) {
        (&self.tuple, &self.record, &mut self.state)
    }
    /// The first packet's TTL / hop limit.
    pub fn ttl(&self) -> u8 {
        self.ttl
    }
    /// The first packet had an Ethernet header.
    pub fn ethernet(&self) -> bool {
        self.ethernet
    }
    pub fn info(&self) -> ConnInfo {
        ConnInfo {
            tuple: self.tuple,
            id: self.id,
            ttl: self.ttl,
            ethernet: self.ethernet,
        }
    }
}

/// The subscription layer's side of the tracker. One monomorphic impl per
/// application; every method returns the connection's new [`Interest`].
pub trait ConnHandler {
    type State;
    /// `L4FirstPacket`. Return `None` (or an empty interest) to not track the connection.
    fn first_packet(&mut self, conn: &ConnInfo, pdu: &L4Pdu<'_>)
        -> Option<(Self::State, Interest)>;
    /// `L4InConn`: every packet, in arrival order.
    fn in_conn(&mut self, conn: &mut Conn<Self::State>, pdu: &L4Pdu<'_>) -> Interest;
    /// `L4EndHandshake`.
    fn end_handshake(&mut self, conn: &mut Conn<Self::State>) -> Interest;
    /// `L4InStream`: each in-order piece of a direction's stream (UDP: each datagram).
    fn in_stream(&mut self, conn: &mut Conn<Self::State>, pdu: &L4Pdu<'_>) -> Interest;
    /// `L4Terminated` (consumes the connection; `conn.record().end` is set).
    fn terminated(&mut self, conn: Conn<Self::State>, reason: EndReason);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_records_each_letter_once_per_direction() {
        let mut h = History::default();
        h.record(b's', Direction::ToResponder);
        h.record(b's', Direction::ToResponder);
        h.record(b'h', Direction::ToOriginator);
        h.record(b'a', Direction::ToResponder);
        h.record(b'd', Direction::ToOriginator);
        h.record(b'd', Direction::ToResponder);
        h.record(b'z', Direction::ToResponder);
        assert_eq!(h.as_str(), "ShAdD");
        assert!(h.contains(b'd', Direction::ToOriginator));
        assert!(!h.contains(b'f', Direction::ToOriginator));
        for l in History::LETTERS {
            h.record(l, Direction::ToResponder);
            h.record(l, Direction::ToOriginator);
        }
        assert_eq!(h.as_str().len(), History::CAPACITY);
    }

    #[test]
    fn interest_bits() {
        let i = Interest::IN_CONN | Interest::STREAM;
        assert!(i.contains(Interest::STREAM) && !i.contains(Interest::TERMINATED));
        assert_eq!(format!("{i:?}"), "IN_CONN|STREAM");
        assert_eq!(!Interest::ALL, Interest::NONE);
        assert!(Interest::default().is_empty());
        assert_eq!(Interest::from_bits_truncate(0xff), Interest::ALL);
    }

    #[test]
    fn end_reason_names_are_the_serde_names() {
        for r in EndReason::ALL {
            assert_eq!(
                serde_json::to_string(&r).unwrap(),
                format!("\"{}\"", r.name())
            );
        }
    }

    #[test]
    fn record_serializes_history_as_string() {
        let mut r = ConnRecord::new(Timestamp::from_secs(1));
        r.history.record(b's', Direction::ToResponder);
        let v = serde_json::to_value(r).unwrap();
        assert_eq!(v["history"], "S");
        assert_eq!(v["packets"][0], 0);
        let t = FiveTuple {
            orig: "10.0.0.1:5".parse().unwrap(),
            resp: "10.0.0.2:80".parse().unwrap(),
            proto: L4Proto::Tcp,
            vlans: {
                let mut v = VlanStack::new();
                v.push(7);
                v
            },
        };
        let v = serde_json::to_value(t).unwrap();
        assert_eq!(v["vlans"][0], 7);
        assert_eq!(v["proto"], "tcp");
    }
}
