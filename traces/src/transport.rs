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
    /// L4 header + payload (checksum filled in) after headroom for the frame headers.
    pub l4: wire::L4Buf,
    /// L4 payload length.
    pub payload_len: usize,
    /// Must not be dropped by the loss impairment (handshake or truth-relevant data).
    pub key: bool,
    /// TCP segment carrying data (eligible for retransmission).
    pub tcp_data: bool,
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

struct TcpState<'a> {
    ep: &'a Endpoints,
    out: Vec<Pkt>,
    snd_c: u32,
    snd_s: u32,
}

/// Where a segment's payload comes from.
enum Payload<'a> {
    None,
    Range(&'a Msg, usize, usize),
}

impl TcpState<'_> {
    fn push(&mut self, ts: u64, dir: Dir, flags: u8, payload: Payload<'_>, options: &[u8], key: bool) {
        let (seq, ack, window) = match dir {
            Dir::ToServer => (self.snd_c, self.snd_s, 502),
            Dir::ToClient => (self.snd_s, self.snd_c, 501),
        };
        let ack = if flags & F::ACK != 0 { ack } else { 0 };
        let window = if flags & F::SYN != 0 { 64_240 } else { window };
        let plen = match payload {
            Payload::None => 0,
            Payload::Range(_, a, b) => b - a,
        };
        let seg = TcpSeg { seq, ack, flags, window, options, payload: &[] };
        let l4 = wire::tcp_datagram_with(self.ep, dir, &seg, plen, |out| {
            if let Payload::Range(m, a, b) = payload {
                m.write_range(a, b, out);
            }
        });
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
    let mut st = TcpState { ep, out: Vec::with_capacity(1), snd_c: isn, snd_s: 0 };
    st.push(ts, Dir::ToServer, F::SYN, Payload::None, &[2, 4, 0x05, 0xb4], true);
    st.out
}

/// A TCP connection: handshake, the messages cut into `mss`-sized segments with ACKs,
/// then the teardown.
pub fn tcp(ep: &Endpoints, t: &Timing, mss: usize, isn: (u32, u32), msgs: &[Msg], end: TcpEnd, rng: &mut impl Rng) -> Vec<Pkt> {
    let segs: usize = msgs.iter().map(|m| m.len() / mss + 1).sum();
    let mut st = TcpState { ep, out: Vec::with_capacity(segs * 3 / 2 + 8), snd_c: isn.0, snd_s: isn.1 };
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
            st.push(ts, m.dir, flags, Payload::Range(m, a, b), &[], m.key);
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
            l4: if m.lazy.is_some() { wire::udp_datagram(ep, m.dir, &m.bytes()) } else { wire::udp_datagram(ep, m.dir, &m.data) },
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
        let l = p.l4.l4();
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
