//! Transports: turn a conversation's messages into L4 datagrams with timestamps.
//!
//! Timing model: the capture point sits next to the client. A client packet is seen at
//! the moment it is sent; the server's reaction is seen one RTT later; the client's
//! reaction to a server packet is seen `CLIENT_DELAY_NS` later. Back-to-back segments
//! are paced by the bottleneck bandwidth. The receiver of a data burst sends a pure ACK
//! every second segment (delayed ACK); the ACK of a burst's last segment is piggybacked
//! on the receiver's reply when one follows.

use rand::Rng;

use crate::proto::Msg;
use crate::wire::{self, tcp_flags as F, Dir, Endpoints, TcpSeg, PROTO_TCP, PROTO_UDP};

/// Client stack reaction time as seen by the capture point.
pub const CLIENT_DELAY_NS: u64 = 30_000;

/// One L4 datagram of a flow, before IP framing and impairments.
#[derive(Debug, Clone)]
pub struct Pkt {
    /// Capture timestamp.
    pub ts_ns: u64,
    /// Direction.
    pub dir: Dir,
    /// IP protocol.
    pub proto: u8,
    /// L4 header + payload, built or still to be built.
    pub l4: L4,
    /// L4 payload length.
    pub payload_len: usize,
    /// Must not be dropped by the loss impairment (handshake or truth-relevant data).
    pub key: bool,
    /// TCP segment carrying data (eligible for retransmission).
    pub tcp_data: bool,
}

/// An L4 datagram: its bytes, or (TCP) what it takes to produce them later, so that a
/// flow's segments only occupy memory while they are being emitted.
#[derive(Debug, Clone)]
pub enum L4 {
    /// Header + payload (checksum filled in) after headroom for the frame headers.
    Built(wire::L4Buf),
    /// A TCP segment whose payload is a range of one of the flow's messages.
    Tcp(TcpRecipe),
    /// A UDP datagram carrying message `msg` (`len` bytes) whole.
    Udp {
        /// Message index.
        msg: usize,
        /// Payload length.
        len: usize,
    },
}

/// Everything needed to build one TCP segment of a flow.
#[derive(Debug, Clone, Copy)]
pub struct TcpRecipe {
    seq: u32,
    ack: u32,
    flags: u8,
    window: u16,
    options: [u8; 12],
    options_len: u8,
    /// Message index and byte range of the payload (`start == end` for none); 32 bits
    /// keep the many queued recipes small (flows are at most 64 MiB).
    msg: u32,
    start: u32,
    end: u32,
}

impl L4 {
    /// Length of the L4 datagram (header + payload).
    pub fn len(&self) -> usize {
        match self {
            L4::Built(b) => b.l4().len(),
            L4::Tcp(r) => 20 + usize::from(r.options_len) + (r.end - r.start) as usize,
            L4::Udp { len, .. } => 8 + len,
        }
    }

    /// Never empty (every datagram has a header); for symmetry with `len`.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The datagram's bytes for `dir` of `ep`, whose messages are `msgs`.
    pub fn build(self, ep: &Endpoints, dir: Dir, msgs: &[Msg]) -> wire::L4Buf {
        match self {
            L4::Built(b) => b,
            L4::Tcp(r) => {
                let options = &r.options[..usize::from(r.options_len)];
                let seg = TcpSeg { seq: r.seq, ack: r.ack, flags: r.flags, window: r.window, options, payload: &[] };
                let (start, end) = (r.start as usize, r.end as usize);
                wire::tcp_datagram_with(ep, dir, &seg, end - start, |out| {
                    if end > start {
                        msgs[r.msg as usize].write_range(start, end, out);
                    }
                })
            }
            L4::Udp { msg, len } => wire::udp_datagram_with(ep, dir, len, |out| msgs[msg].write_range(0, len, out)),
        }
    }
}

/// How a TCP connection ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpEnd {
    /// FIN exchange; `client_first` says who closes first.
    Fin {
        /// The client sends the first FIN.
        client_first: bool,
    },
    /// One side resets.
    Rst {
        /// The client sends the RST.
        by_client: bool,
    },
    /// The connection just stops.
    Idle,
}

/// Per-flow transport parameters.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Flow start (first packet).
    pub start_ns: u64,
    /// Round-trip time.
    pub rtt_ns: u64,
    /// Nanoseconds per byte on the bottleneck.
    pub ns_per_byte: f64,
}

impl Timing {
    fn pace(&self, bytes: usize) -> u64 {
        ((bytes + 54) as f64 * self.ns_per_byte) as u64 + 1
    }
}

fn syn_options(mss: u16) -> [u8; 12] {
    let m = mss.to_be_bytes();
    [2, 4, m[0], m[1], 1, 3, 3, 7, 1, 1, 4, 2]
}

struct TcpState {
    out: Vec<Pkt>,
    snd_c: u32,
    snd_s: u32,
}

/// Where a segment's payload comes from: nothing, or bytes `a..b` of message `i`.
enum Payload {
    None,
    Range(usize, usize, usize),
}

impl TcpState {
    fn push(&mut self, ts: u64, dir: Dir, flags: u8, payload: Payload, options: &[u8], key: bool) {
        let (seq, ack, window) = match dir {
            Dir::ToServer => (self.snd_c, self.snd_s, 502),
            Dir::ToClient => (self.snd_s, self.snd_c, 501),
        };
        let ack = if flags & F::ACK != 0 { ack } else { 0 };
        let window = if flags & F::SYN != 0 { 64_240 } else { window };
        let (msg, start, end) = match payload {
            Payload::None => (0, 0, 0),
            Payload::Range(i, a, b) => (i, a, b),
        };
        let plen = end - start;
        debug_assert!(end <= u32::MAX as usize);
        debug_assert!(options.len() <= 12 && options.len() % 4 == 0);
        let mut opts = [0u8; 12];
        opts[..options.len()].copy_from_slice(options);
        let (msg, start, end) = (msg as u32, start as u32, end as u32);
        let l4 = L4::Tcp(TcpRecipe { seq, ack, flags, window, options: opts, options_len: options.len() as u8, msg, start, end });
        let adv = plen as u32 + u32::from(flags & (F::SYN | F::FIN) != 0);
        match dir {
            Dir::ToServer => self.snd_c = self.snd_c.wrapping_add(adv),
            Dir::ToClient => self.snd_s = self.snd_s.wrapping_add(adv),
        }
        self.out.push(Pkt {
            ts_ns: ts,
            dir,
            proto: PROTO_TCP,
            l4,
            payload_len: plen,
            key,
            tcp_data: plen > 0,
        });
    }
}

fn reaction(dir_of_reactor: Dir, rtt: u64) -> u64 {
    match dir_of_reactor {
        Dir::ToServer => CLIENT_DELAY_NS,
        Dir::ToClient => rtt,
    }
}

fn flip(d: Dir) -> Dir {
    match d {
        Dir::ToServer => Dir::ToClient,
        Dir::ToClient => Dir::ToServer,
    }
}

/// A single SYN (scan probe) with only an MSS option.
pub fn syn_probe(ep: &Endpoints, ts: u64, isn: u32) -> Vec<Pkt> {
    let mut st = TcpState { out: Vec::with_capacity(1), snd_c: isn, snd_s: 0 };
    st.push(ts, Dir::ToServer, F::SYN, Payload::None, &[2, 4, 0x05, 0xb4], true);
    built(st.out, ep, &[])
}

/// Build the bytes of every packet of `pkts` now.
fn built(mut pkts: Vec<Pkt>, ep: &Endpoints, msgs: &[Msg]) -> Vec<Pkt> {
    for p in &mut pkts {
        let l4 = std::mem::replace(&mut p.l4, L4::Built(wire::L4Buf { buf: Vec::new(), off: 0 }));
        p.l4 = L4::Built(l4.build(ep, p.dir, msgs));
    }
    pkts
}

/// A TCP connection: handshake, the messages cut into `mss`-sized segments with ACKs,
/// then the teardown.
pub fn tcp(ep: &Endpoints, t: &Timing, mss: usize, isn: (u32, u32), msgs: &[Msg], end: TcpEnd, rng: &mut impl Rng) -> Vec<Pkt> {
    built(tcp_deferred(t, mss, isn, msgs, end, rng), ep, msgs)
}

/// Like [`tcp`], but the segments' bytes are left to [`L4::build`] (with the same
/// messages).
pub fn tcp_deferred(t: &Timing, mss: usize, isn: (u32, u32), msgs: &[Msg], end: TcpEnd, rng: &mut impl Rng) -> Vec<Pkt> {
    let segs: usize = msgs.iter().map(|m| m.len() / mss + 1).sum();
    let mut st = TcpState { out: Vec::with_capacity(segs * 3 / 2 + 8), snd_c: isn.0, snd_s: isn.1 };
    let rtt = t.rtt_ns;
    let opts = syn_options(mss as u16);
    let mut clock = t.start_ns;
    st.push(clock, Dir::ToServer, F::SYN, Payload::None, &opts, true);
    clock += rtt;
    st.push(clock, Dir::ToClient, F::SYN | F::ACK, Payload::None, &opts, true);
    clock += CLIENT_DELAY_NS;
    st.push(clock, Dir::ToServer, F::ACK, Payload::None, &[], false);
    let mut prev = Dir::ToServer;
    for (i, m) in msgs.iter().enumerate() {
        let mut ts = clock + m.think_ns + if m.dir != prev { reaction(m.dir, rtt) } else { 0 };
        let receiver = flip(m.dir);
        let next_is_reply = msgs.get(i + 1).is_some_and(|n| n.dir == receiver && n.think_ns < 200_000_000);
        let len = m.len();
        let n = len.div_ceil(mss).max(1);
        for k in 0..n {
            let (a, b) = (k * mss, ((k + 1) * mss).min(len));
            let last = k + 1 == n;
            let flags = F::ACK | if last { F::PSH } else { 0 };
            st.push(ts, m.dir, flags, Payload::Range(i, a, b), &[], m.key);
            let send_ack = (k % 2 == 1 && !last) || (last && !next_is_reply);
            if send_ack {
                let ack_ts = ts + reaction(receiver, rtt);
                st.push(ack_ts, receiver, F::ACK, Payload::None, &[], false);
            }
            clock = ts;
            if !last {
                ts += t.pace(b - a);
            }
        }
        prev = m.dir;
    }
    let think = rng.gen_range(0..50_000_000u64);
    match end {
        TcpEnd::Fin { client_first } => {
            let first = if client_first { Dir::ToServer } else { Dir::ToClient };
            let second = flip(first);
            let t0 = clock + think + if first != prev { reaction(first, rtt) } else { 0 };
            // FIN and RST segments are key: the truth's `end` must stay visible.
            st.push(t0, first, F::FIN | F::ACK, Payload::None, &[], true);
            let t1 = t0 + reaction(second, rtt);
            st.push(t1, second, F::FIN | F::ACK, Payload::None, &[], true);
            st.push(t1 + reaction(first, rtt), first, F::ACK, Payload::None, &[], false);
        }
        TcpEnd::Rst { by_client } => {
            let d = if by_client { Dir::ToServer } else { Dir::ToClient };
            let t0 = clock + think + if d != prev { reaction(d, rtt) } else { 0 };
            st.push(t0, d, F::RST | F::ACK, Payload::None, &[], true);
        }
        TcpEnd::Idle => {}
    }
    let mut out = st.out;
    out.sort_by_key(|p| p.ts_ns);
    out
}

/// A UDP exchange: each message is one datagram.
pub fn udp(ep: &Endpoints, t: &Timing, msgs: &[Msg]) -> Vec<Pkt> {
    built(udp_deferred(t, msgs), ep, msgs)
}

/// Like [`udp`], but the datagrams' bytes are left to [`L4::build`] (with the same
/// messages).
pub fn udp_deferred(t: &Timing, msgs: &[Msg]) -> Vec<Pkt> {
    let mut out = Vec::with_capacity(msgs.len());
    let mut clock = t.start_ns;
    let mut prev = Dir::ToServer;
    for (i, m) in msgs.iter().enumerate() {
        let ts = if i == 0 {
            clock + m.think_ns
        } else if m.dir != prev {
            clock + m.think_ns + reaction(m.dir, t.rtt_ns)
        } else {
            clock + m.think_ns + t.pace(m.len())
        };
        out.push(Pkt {
            ts_ns: ts,
            dir: m.dir,
            proto: PROTO_UDP,
            l4: L4::Udp { msg: i, len: m.len() },
            payload_len: m.len(),
            // The first datagram is key so that no flow vanishes from the capture.
            key: m.key || i == 0,
            tcp_data: false,
        });
        clock = ts;
        prev = m.dir;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use std::net::{IpAddr, Ipv4Addr};

    fn ep() -> Endpoints {
        Endpoints {
            client_mac: [2, 0, 0, 0, 0, 1],
            server_mac: [2, 0, 0, 0, 0, 2],
            vlan: None,
            client: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            server: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            client_port: 40000,
            server_port: 80,
        }
    }

    fn fields(p: &Pkt) -> (u32, u32, u8) {
        let L4::Built(b) = &p.l4 else { panic!("built") };
        let l = b.l4();
        (u32::from_be_bytes(l[4..8].try_into().unwrap()), u32::from_be_bytes(l[8..12].try_into().unwrap()), l[13])
    }

    #[test]
    fn handshake_data_fin_sequence_numbers() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let t = Timing { start_ns: 1000, rtt_ns: 10_000_000, ns_per_byte: 40.0 };
        let msgs = vec![Msg::new(Dir::ToServer, vec![1; 100]), Msg::new(Dir::ToClient, vec![2; 3000])];
        let p = tcp(&ep(), &t, 1460, (100, 5000), &msgs, TcpEnd::Fin { client_first: true }, &mut rng);
        assert_eq!(fields(&p[0]), (100, 0, F::SYN));
        assert_eq!(fields(&p[1]), (5000, 101, F::SYN | F::ACK));
        assert_eq!(fields(&p[2]), (101, 5001, F::ACK));
        assert_eq!(fields(&p[3]), (101, 5001, F::ACK | F::PSH));
        // server: 3 segments 1460, 1460, 80; the client ACKs after the 2nd and the last.
        let data: Vec<_> = p.iter().filter(|x| x.dir == Dir::ToClient && x.payload_len > 0).collect();
        assert_eq!(data.iter().map(|x| x.payload_len).collect::<Vec<_>>(), vec![1460, 1460, 80]);
        assert_eq!(fields(data[2]).0, 5001 + 2920);
        let fin = p.iter().find(|x| fields(x).2 & F::FIN != 0).unwrap();
        assert_eq!(fields(fin), (201, 8001, F::FIN | F::ACK));
        let last = p.last().unwrap();
        assert_eq!(fields(last), (202, 8002, F::ACK));
        assert!(p.windows(2).all(|w| w[0].ts_ns <= w[1].ts_ns));
        let acks = p.iter().filter(|x| x.dir == Dir::ToServer && x.payload_len == 0 && fields(x).2 == F::ACK).count();
        assert_eq!(acks, 1 + 2 + 1);
    }

    #[test]
    fn rst_and_idle_ends() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let t = Timing { start_ns: 0, rtt_ns: 1_000_000, ns_per_byte: 40.0 };
        let msgs = vec![Msg::new(Dir::ToServer, vec![1; 10])];
        let p = tcp(&ep(), &t, 1460, (1, 1), &msgs, TcpEnd::Rst { by_client: false }, &mut rng);
        assert_eq!(fields(p.last().unwrap()).2, F::RST | F::ACK);
        let p = tcp(&ep(), &t, 1460, (1, 1), &msgs, TcpEnd::Idle, &mut rng);
        assert!(p.iter().all(|x| fields(x).2 & (F::RST | F::FIN) == 0));
    }
}
