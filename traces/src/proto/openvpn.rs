//! OpenVPN packets (control channel with reliability layer, data channel), following the
//! opcode and ACK patterns Xue et al. (USENIX Security 2022) fingerprint: client hard
//! reset, server hard reset, ACKs with packet-id arrays, P_CONTROL_V1 carrying the TLS
//! handshake in fragments, then P_DATA_V2.

use rand::Rng;

use super::{random_bytes, random_vec, tls, Msg};
use crate::wire::Dir;

/// Opcodes (upper 5 bits of the first byte).
pub const P_CONTROL_V1: u8 = 4;
/// Acknowledgement only.
pub const P_ACK_V1: u8 = 5;
/// Client hard reset, version 2.
pub const P_CONTROL_HARD_RESET_CLIENT_V2: u8 = 7;
/// Server hard reset, version 2.
pub const P_CONTROL_HARD_RESET_SERVER_V2: u8 = 8;
/// Data packet with peer id.
pub const P_DATA_V2: u8 = 9;

/// Per-side state of the control channel.
struct Side {
    session: [u8; 8],
    next_pid: u32,
    /// Packet ids received from the peer and not yet acknowledged.
    pending_acks: Vec<u32>,
    replay_id: u32,
}

/// Builds one OpenVPN session's packets.
pub struct Session {
    client: Side,
    server: Side,
    tls_auth: bool,
    time: u32,
}

impl Session {
    /// A new session; `tls_auth` adds HMAC, replay packet id and time to control packets.
    pub fn new(rng: &mut impl Rng, tls_auth: bool) -> Session {
        let side = |rng: &mut dyn rand::RngCore| {
            let mut session = [0u8; 8];
            rng.fill_bytes(&mut session);
            Side { session, next_pid: 0, pending_acks: Vec::new(), replay_id: 1 }
        };
        Session { client: side(rng), server: side(rng), tls_auth, time: rng.gen_range(1_600_000_000..1_800_000_000) }
    }

    fn sides(&mut self, dir: Dir) -> (&mut Side, &mut Side) {
        match dir {
            Dir::ToServer => (&mut self.client, &mut self.server),
            Dir::ToClient => (&mut self.server, &mut self.client),
        }
    }

    /// A control-channel packet (`payload = None` makes a P_ACK_V1); acknowledges up to
    /// four pending packet ids of the peer.
    pub fn control(&mut self, rng: &mut impl Rng, dir: Dir, opcode: u8, payload: Option<&[u8]>) -> Vec<u8> {
        let tls_auth = self.tls_auth;
        let time = self.time;
        let (me, peer) = self.sides(dir);
        let mut p = Vec::with_capacity(64 + payload.map_or(0, |x| x.len()));
        p.push(opcode << 3);
        p.extend_from_slice(&me.session);
        if tls_auth {
            random_bytes(rng, &mut p, 20); // HMAC-SHA1
            p.extend_from_slice(&me.replay_id.to_be_bytes());
            p.extend_from_slice(&time.to_be_bytes());
            me.replay_id += 1;
        }
        let n = me.pending_acks.len().min(4);
        p.push(n as u8);
        for id in me.pending_acks.drain(..n) {
            p.extend_from_slice(&id.to_be_bytes());
        }
        if n > 0 {
            p.extend_from_slice(&peer.session);
        }
        if let Some(data) = payload {
            let pid = me.next_pid;
            me.next_pid += 1;
            p.extend_from_slice(&pid.to_be_bytes());
            p.extend_from_slice(data);
            peer.pending_acks.push(pid);
        }
        p
    }

    /// P_CONTROL_V1 packets carrying `tls` in fragments of at most `frag` bytes.
    pub fn control_tls(&mut self, rng: &mut impl Rng, dir: Dir, tls: &[u8], frag: usize) -> Vec<Vec<u8>> {
        tls.chunks(frag).map(|c| self.control(rng, dir, P_CONTROL_V1, Some(c))).collect()
    }

    /// A P_DATA_V2 packet with `n` bytes of ciphertext.
    pub fn data(rng: &mut impl Rng, peer_id: u32, packet_id: u32, n: usize) -> Vec<u8> {
        let mut p = Vec::with_capacity(n + 8);
        p.push(P_DATA_V2 << 3);
        p.extend_from_slice(&peer_id.to_be_bytes()[1..]);
        p.extend_from_slice(&packet_id.to_be_bytes());
        random_bytes(rng, &mut p, n);
        p
    }
}

/// The packets of one OpenVPN session as messages (each a UDP datagram or, when
/// `tcp`, a length-prefixed record), with `data` bytes of tunnel traffic.
pub fn conversation(rng: &mut impl Rng, tcp: bool, tls_auth: bool, data: usize) -> Vec<Msg> {
    let mut s = Session::new(rng, tls_auth);
    let mut pkts: Vec<(Dir, Vec<u8>)> = Vec::new();
    let c = Dir::ToServer;
    let v = Dir::ToClient;
    pkts.push((c, s.control(rng, c, P_CONTROL_HARD_RESET_CLIENT_V2, Some(&[]))));
    pkts.push((v, s.control(rng, v, P_CONTROL_HARD_RESET_SERVER_V2, Some(&[]))));
    pkts.push((c, s.control(rng, c, P_ACK_V1, None)));
    let spec = tls::ClientHelloSpec { sni: None, alpn: &[], tls13: rng.gen_bool(0.5), pq: false, quic_params: None };
    let ch = tls::records(tls::CT_HANDSHAKE, 0x0301, &tls::client_hello(rng, &spec));
    for p in s.control_tls(rng, c, &ch, 1100) {
        pkts.push((c, p));
    }
    let mut server_flight = tls::records(tls::CT_HANDSHAKE, 0x0303, &tls::server_hello(rng, false, 0xc02f, None, false));
    server_flight.extend_from_slice(&tls::records(tls::CT_HANDSHAKE, 0x0303, &tls::certificate_msg(rng, "openvpn-server")));
    server_flight.extend_from_slice(&tls::records(tls::CT_HANDSHAKE, 0x0303, &tls::handshake(14, &[])));
    // The server acknowledges the ClientHello, then sends its flight; the client ACKs each.
    pkts.push((v, s.control(rng, v, P_ACK_V1, None)));
    for p in s.control_tls(rng, v, &server_flight, 1100) {
        pkts.push((v, p));
        pkts.push((c, s.control(rng, c, P_ACK_V1, None)));
    }
    let mut fin = tls::records(tls::CT_HANDSHAKE, 0x0303, &random_vec(rng, 70));
    fin.extend_from_slice(&tls::records(tls::CT_CCS, 0x0303, &[1]));
    fin.extend_from_slice(&tls::records(tls::CT_HANDSHAKE, 0x0303, &random_vec(rng, 40)));
    for p in s.control_tls(rng, c, &fin, 1100) {
        pkts.push((c, p));
    }
    pkts.push((v, s.control(rng, v, P_ACK_V1, None)));
    let mut sfin = tls::records(tls::CT_CCS, 0x0303, &[1]);
    sfin.extend_from_slice(&tls::records(tls::CT_HANDSHAKE, 0x0303, &random_vec(rng, 40)));
    pkts.push((v, s.control(rng, v, P_CONTROL_V1, Some(&sfin))));
    pkts.push((c, s.control(rng, c, P_ACK_V1, None)));
    // Key-method 2 option exchange inside TLS application data.
    let n = rng.gen_range(250..400);
    let opts_c = tls::app_data(rng, n);
    pkts.push((c, s.control(rng, c, P_CONTROL_V1, Some(&opts_c))));
    let n = rng.gen_range(200..300);
    let opts_s = tls::app_data(rng, n);
    pkts.push((v, s.control(rng, v, P_CONTROL_V1, Some(&opts_s))));
    pkts.push((c, s.control(rng, c, P_ACK_V1, None)));
    // Data channel.
    let peer_id = rng.gen_range(0..64);
    let mut pid_c = 1;
    let mut pid_s = 1;
    let mut left = data;
    while left > 0 {
        let n = left.min(rng.gen_range(64..1300));
        left -= n;
        if rng.gen_bool(0.35) {
            pkts.push((c, Session::data(rng, peer_id, pid_c, n)));
            pid_c += 1;
        } else {
            pkts.push((v, Session::data(rng, peer_id, pid_s, n)));
            pid_s += 1;
        }
    }
    pkts.into_iter()
        .enumerate()
        .map(|(i, (dir, p))| {
            let data = if tcp {
                let mut f = Vec::with_capacity(p.len() + 2);
                f.extend_from_slice(&(p.len() as u16).to_be_bytes());
                f.extend_from_slice(&p);
                f
            } else {
                p
            };
            Msg { dir, data, lazy: None, think_ns: if i < 3 { 0 } else { rng.gen_range(0..300_000) }, key: i < 3 }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn opcode_sequence_and_acks() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let m = conversation(&mut rng, false, false, 5000);
        let ops: Vec<u8> = m.iter().map(|x| x.data[0] >> 3).collect();
        assert_eq!(&ops[..4], &[P_CONTROL_HARD_RESET_CLIENT_V2, P_CONTROL_HARD_RESET_SERVER_V2, P_ACK_V1, P_CONTROL_V1]);
        assert!(ops.contains(&P_DATA_V2));
        // The server hard reset acknowledges client packet id 0 and names the client session.
        let sr = &m[1].data;
        assert_eq!(sr[9], 1);
        assert_eq!(&sr[10..14], &[0, 0, 0, 0]);
        assert_eq!(&sr[14..22], &m[0].data[1..9]);
        // Every control packet id of the client is acknowledged by the server exactly once.
        let mut client_pids = Vec::new();
        let mut acked = Vec::new();
        for x in &m {
            let op = x.data[0] >> 3;
            if op == P_DATA_V2 {
                continue;
            }
            let n = x.data[9] as usize;
            let ids: Vec<u32> = (0..n).map(|k| u32::from_be_bytes(x.data[10 + 4 * k..14 + 4 * k].try_into().unwrap())).collect();
            let after = 10 + 4 * n + if n > 0 { 8 } else { 0 };
            if x.dir == Dir::ToServer {
                if op != P_ACK_V1 {
                    client_pids.push(u32::from_be_bytes(x.data[after..after + 4].try_into().unwrap()));
                }
            } else {
                acked.extend(ids);
            }
        }
        assert_eq!(client_pids, acked);
    }

    #[test]
    fn tcp_framing_and_tls_auth() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(6);
        let m = conversation(&mut rng, true, true, 100);
        for x in &m {
            assert_eq!(u16::from_be_bytes([x.data[0], x.data[1]]) as usize, x.data.len() - 2);
        }
        // hard reset with tls-auth: op, session(8), hmac(20), pid(4), time(4), ack len(1), pid(4)
        assert_eq!(m[0].data.len(), 2 + 1 + 8 + 20 + 4 + 4 + 1 + 4);
    }
}
