//! Endless replay of an in-memory trace. Loop `k` (from 0) shifts timestamps by `k`
//! trace lengths and, for `k > 0`, XORs `k` into every flow's client side — the low 16
//! bits of the client address and, from bit 16 up, the client port — fixing the IPv4
//! header checksum and (incrementally, RFC 1624) the TCP/UDP checksum. Each loop thus
//! yields distinct flows with unchanged server addresses, ports and payloads.

use std::collections::HashMap;

use crate::wire::{fold, sum16, ETHERTYPE_IPV4, ETHERTYPE_IPV6, ETHERTYPE_VLAN, PROTO_IPV6_FRAG, PROTO_TCP, PROTO_UDP};
use crate::Packet;

/// Where the rewritable fields of one packet are.
#[derive(Debug, Clone, Copy)]
struct Rewrite {
    ip_off: usize,
    v6: bool,
    client_is_src: bool,
    /// Offset of the L4 header and the checksum field, when this packet carries them.
    l4: Option<(usize, usize)>,
}

/// Loops a trace forever with per-loop client rewriting.
#[derive(Debug, Clone)]
pub struct Replay {
    packets: Vec<Packet>,
    rewrites: Vec<Option<Rewrite>>,
    pos: usize,
    loop_no: u64,
    span_ns: u64,
}

/// IP header offset, IPv6?, source and destination address bytes, and the L4 header
/// offset and protocol when this frame carries the L4 header.
type Located = (usize, bool, Vec<u8>, Vec<u8>, Option<(usize, u8)>);

fn locate(frame: &[u8]) -> Option<Located> {
    let mut off = 12;
    let mut et = u16::from_be_bytes([*frame.get(off)?, *frame.get(off + 1)?]);
    while et == ETHERTYPE_VLAN {
        off += 4;
        et = u16::from_be_bytes([*frame.get(off)?, *frame.get(off + 1)?]);
    }
    let ip = off + 2;
    match et {
        ETHERTYPE_IPV4 => {
            let h = frame.get(ip..ip + 20)?;
            let ihl = usize::from(h[0] & 0x0f) * 4;
            let frag_off = u16::from_be_bytes([h[6], h[7]]) & 0x1fff;
            let l4 = (frag_off == 0).then_some((ip + ihl, h[9]));
            Some((ip, false, h[12..16].to_vec(), h[16..20].to_vec(), l4))
        }
        ETHERTYPE_IPV6 => {
            let h = frame.get(ip..ip + 40)?;
            let (src, dst) = (h[8..24].to_vec(), h[24..40].to_vec());
            let l4 = match h[6] {
                PROTO_IPV6_FRAG => {
                    let f = frame.get(ip + 40..ip + 48)?;
                    let first = u16::from_be_bytes([f[2], f[3]]) >> 3 == 0;
                    first.then_some((ip + 48, f[0]))
                }
                p => Some((ip + 40, p)),
            };
            Some((ip, true, src, dst, l4))
        }
        _ => None,
    }
}

/// One's-complement incremental update of checksum `hc` for a word changing `old -> new`.
fn csum_update(hc: u16, old: u16, new: u16) -> u16 {
    let sum = u64::from(!hc) + u64::from(!old) + u64::from(new);
    fold(sum)
}

impl Replay {
    /// Prepare `packets` (time-ordered) for replay.
    pub fn new(packets: Vec<Packet>) -> Replay {
        let mut client_of: HashMap<(Vec<u8>, Vec<u8>), Vec<u8>> = HashMap::new();
        let rewrites = packets
            .iter()
            .map(|p| {
                let (ip_off, v6, src, dst, l4) = locate(&p.data)?;
                let key = if src <= dst { (src.clone(), dst.clone()) } else { (dst.clone(), src.clone()) };
                let client = client_of.entry(key).or_insert_with(|| src.clone());
                let client_is_src = *client == src;
                let l4 = match l4 {
                    Some((o, PROTO_TCP)) if p.data.len() >= o + 18 => Some((o, o + 16)),
                    Some((o, PROTO_UDP)) if p.data.len() >= o + 8 => Some((o, o + 6)),
                    _ => None,
                };
                Some(Rewrite { ip_off, v6, client_is_src, l4 })
            })
            .collect();
        let span_ns = match (packets.first(), packets.last()) {
            (Some(a), Some(b)) => b.ts_ns - a.ts_ns + 1_000_000,
            _ => 1,
        };
        Replay { packets, rewrites, pos: 0, loop_no: 0, span_ns }
    }

    /// Start at loop `k` instead of 0 (e.g. to give parallel replayers disjoint flows).
    pub fn starting_at_loop(mut self, k: u64) -> Replay {
        self.loop_no = k;
        self.pos = 0;
        self
    }

    /// Packets per loop.
    pub fn len(&self) -> usize {
        self.packets.len()
    }

    /// True when there is nothing to replay.
    pub fn is_empty(&self) -> bool {
        self.packets.is_empty()
    }

    /// Loops completed so far.
    pub fn loops(&self) -> u64 {
        self.loop_no
    }

    /// Copy the next packet into `buf` (cleared first) and return its timestamp;
    /// `None` only when the trace is empty.
    pub fn next_into(&mut self, buf: &mut Vec<u8>) -> Option<u64> {
        let p = self.packets.get(self.pos)?;
        buf.clear();
        buf.extend_from_slice(&p.data);
        let k = self.loop_no;
        let ts = p.ts_ns + k * self.span_ns;
        if k > 0 {
            if let Some(rw) = self.rewrites[self.pos] {
                rewrite(buf, &rw, k);
            }
        }
        self.pos += 1;
        if self.pos == self.packets.len() {
            self.pos = 0;
            self.loop_no += 1;
        }
        Some(ts)
    }

    /// The next packet (allocates); `None` only when the trace is empty.
    pub fn next_packet(&mut self) -> Option<Packet> {
        let mut data = Vec::new();
        let ts_ns = self.next_into(&mut data)?;
        Some(Packet { ts_ns, data })
    }
}

impl Iterator for Replay {
    type Item = Packet;

    fn next(&mut self) -> Option<Packet> {
        self.next_packet()
    }
}

fn rewrite(b: &mut [u8], rw: &Rewrite, k: u64) {
    let addr_x = (k & 0xffff) as u16;
    let port_x = ((k >> 16) & 0x3fff) as u16;
    let (src_end, dst_end) = if rw.v6 { (rw.ip_off + 24, rw.ip_off + 40) } else { (rw.ip_off + 16, rw.ip_off + 20) };
    let addr_at = if rw.client_is_src { src_end - 2 } else { dst_end - 2 };
    let old_addr = u16::from_be_bytes([b[addr_at], b[addr_at + 1]]);
    let new_addr = old_addr ^ addr_x;
    b[addr_at..addr_at + 2].copy_from_slice(&new_addr.to_be_bytes());
    if !rw.v6 {
        let h = rw.ip_off;
        b[h + 10..h + 12].copy_from_slice(&[0, 0]);
        let ihl = usize::from(b[h] & 0x0f) * 4;
        let c = fold(sum16(&b[h..h + ihl]));
        b[h + 10..h + 12].copy_from_slice(&c.to_be_bytes());
    }
    if let Some((l4, ck)) = rw.l4 {
        let port_at = if rw.client_is_src { l4 } else { l4 + 2 };
        let old_port = u16::from_be_bytes([b[port_at], b[port_at + 1]]);
        let new_port = old_port ^ port_x;
        b[port_at..port_at + 2].copy_from_slice(&new_port.to_be_bytes());
        let hc = u16::from_be_bytes([b[ck], b[ck + 1]]);
        let is_udp = ck == l4 + 6;
        if is_udp && hc == 0 {
            return; // no checksum
        }
        let mut c = csum_update(hc, old_addr, new_addr);
        c = csum_update(c, old_port, new_port);
        if is_udp && c == 0 {
            c = 0xffff;
        }
        b[ck..ck + 2].copy_from_slice(&c.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incremental_checksum_matches_recompute() {
        let data = [0x12u8, 0x34, 0xab, 0xcd, 0x00, 0x00, 0x77, 0x01];
        let c = fold(sum16(&data));
        let mut d2 = data;
        d2[2] ^= 0x5a;
        let new = u16::from_be_bytes([d2[2], d2[3]]);
        let c2 = csum_update(c, 0xabcd, new);
        let full = fold(sum16(&d2));
        // Equal as one's-complement numbers (0x0000 and 0xffff both mean zero).
        assert!(c2 == full || (c2 == 0 && full == 0xffff) || (c2 == 0xffff && full == 0));
    }
}
