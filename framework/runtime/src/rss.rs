//! Symmetric receive-side scaling: the Toeplitz hash a NIC computes, with
//! the repeating `0x6d5a` key that makes it symmetric.
//!
//! With that key the hash of (src, dst, sport, dport) equals the hash of
//! (dst, src, dport, sport) (Woo and Park, "Scalable TCP Session Monitoring
//! with Symmetric Receive-side Scaling"), so both directions of a connection
//! land on one core. The offline runtime uses it to dispatch packets to
//! worker threads exactly as a NIC would dispatch them to RX queues; the
//! DPDK backend programs the same key into the NIC.
//!
//! Cost: one table lookup and XOR per input byte (12 bytes for IPv4,
//! 36 for IPv6), from per-position tables built once.

use std::net::IpAddr;

/// The symmetric RSS key: `0x6d5a` repeated to 40 bytes.
pub const SYMMETRIC_RSS_KEY: [u8; 40] = {
    let mut k = [0u8; 40];
    let mut i = 0;
    while i < 40 {
        k[i] = if i % 2 == 0 { 0x6d } else { 0x5a };
        i += 1;
    }
    k
};

/// Longest hash input: IPv6 source + destination + two ports.
const MAX_INPUT: usize = 36;

/// A Toeplitz hasher with precomputed per-byte-position tables.
#[derive(Clone)]
pub struct Toeplitz {
    table: Box<[[u32; 256]; MAX_INPUT]>,
}

impl Toeplitz {
    /// Builds the tables for `key` (at least 40 bytes are used; shorter keys are zero-extended).
    pub fn new(key: &[u8]) -> Toeplitz {
        let mut k = [0u8; MAX_INPUT + 4];
        for (d, s) in k.iter_mut().zip(key) {
            *d = *s;
        }
        let mut table = Box::new([[0u32; 256]; MAX_INPUT]);
        for (pos, row) in table.iter_mut().enumerate() {
            // The 32-bit key window that lines up with each bit of input byte `pos`.
            let mut windows = [0u32; 8];
            for (bit, w) in windows.iter_mut().enumerate() {
                let start = pos * 8 + bit;
                let mut v = 0u32;
                for j in 0..32 {
                    let b = start + j;
                    if k[b / 8] & (0x80 >> (b % 8)) != 0 {
                        v |= 1 << (31 - j);
                    }
                }
                *w = v;
            }
            for (value, slot) in row.iter_mut().enumerate() {
                let mut h = 0;
                for (bit, w) in windows.iter().enumerate() {
                    if value & (0x80 >> bit) != 0 {
                        h ^= w;
                    }
                }
                *slot = h;
            }
        }
        Toeplitz { table }
    }

    /// The symmetric hasher used by weir by default.
    pub fn symmetric() -> Toeplitz {
        Toeplitz::new(&SYMMETRIC_RSS_KEY)
    }

    /// Hash of raw input bytes (at most 36 are used).
    pub fn hash_bytes(&self, input: &[u8]) -> u32 {
        input
            .iter()
            .zip(self.table.iter())
            .fold(0, |h, (b, row)| h ^ row[*b as usize])
    }

    /// Hash of a flow as a NIC computes it: source address, destination
    /// address, then source and destination ports when `ports` is given
    /// (TCP/UDP), addresses only otherwise. Mixed address families hash the
    /// addresses only as IPv6-mapped.
    pub fn hash_flow(&self, src: IpAddr, dst: IpAddr, ports: Option<(u16, u16)>) -> u32 {
        let mut buf = [0u8; MAX_INPUT];
        let mut n = match (src, dst) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                buf[0..4].copy_from_slice(&s.octets());
                buf[4..8].copy_from_slice(&d.octets());
                8
            }
            (s, d) => {
                buf[0..16].copy_from_slice(&to_v6(s));
                buf[16..32].copy_from_slice(&to_v6(d));
                32
            }
        };
        if let Some((sp, dp)) = ports {
            buf[n..n + 2].copy_from_slice(&sp.to_be_bytes());
            buf[n + 2..n + 4].copy_from_slice(&dp.to_be_bytes());
            n += 4;
        }
        self.hash_bytes(&buf[..n])
    }
}

fn to_v6(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// A redirection table: hash → queue, as on a NIC (`hash % len` picks the bucket).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reta {
    buckets: Vec<u16>,
}

impl Reta {
    /// Standard size of NIC redirection tables.
    pub const DEFAULT_SIZE: usize = 128;

    /// Buckets spread round-robin over `queues` queues.
    pub fn round_robin(size: usize, queues: u16) -> Reta {
        let q = queues.max(1);
        Reta {
            buckets: (0..size.max(1))
                .map(|i| (i % usize::from(q)) as u16)
                .collect(),
        }
    }

    pub fn queue(&self, hash: u32) -> u16 {
        self.buckets[hash as usize % self.buckets.len()]
    }

    pub fn buckets(&self) -> &[u16] {
        &self.buckets
    }

    /// Points bucket `i` at `queue` (e.g. a sink queue for flow sampling). Out-of-range buckets are ignored.
    pub fn set(&mut self, i: usize, queue: u16) {
        if let Some(b) = self.buckets.get_mut(i) {
            *b = queue;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// Bit-by-bit Toeplitz, straight from the definition, as the model.
    fn reference(key: &[u8], input: &[u8]) -> u32 {
        let mut result = 0u32;
        for (i, byte) in input.iter().enumerate() {
            for b in 0..8 {
                if byte & (0x80 >> b) != 0 {
                    let start = i * 8 + b;
                    let mut w = 0u32;
                    for j in 0..32 {
                        let kb = start + j;
                        if key.get(kb / 8).is_some_and(|k| k & (0x80 >> (kb % 8)) != 0) {
                            w |= 1 << (31 - j);
                        }
                    }
                    result ^= w;
                }
            }
        }
        result
    }

    /// Microsoft's RSS verification key and its published IPv4 TCP vector.
    const MS_KEY: [u8; 40] = [
        0x6d, 0x5a, 0x56, 0xda, 0x25, 0x5b, 0x0e, 0xc2, 0x41, 0x67, 0x25, 0x3d, 0x43, 0xa3, 0x8f,
        0xb0, 0xd0, 0xca, 0x2b, 0xcb, 0xae, 0x7b, 0x30, 0xb4, 0x77, 0xcb, 0x2d, 0xa3, 0x80, 0x30,
        0xf2, 0x0c, 0x6a, 0x42, 0xb7, 0x3b, 0xbe, 0xac, 0x01, 0xfa,
    ];

    #[test]
    fn microsoft_verification_vector() {
        let t = Toeplitz::new(&MS_KEY);
        // 66.9.149.187:2794 -> 161.142.100.80:1766 hashes to 0x51ccc178.
        let h = t.hash_flow(
            IpAddr::V4(Ipv4Addr::new(66, 9, 149, 187)),
            IpAddr::V4(Ipv4Addr::new(161, 142, 100, 80)),
            Some((2794, 1766)),
        );
        assert_eq!(h, 0x51cc_c178);
    }

    proptest! {
        #[test]
        fn tables_match_bitwise_definition(input in proptest::collection::vec(any::<u8>(), 0..36)) {
            let t = Toeplitz::symmetric();
            prop_assert_eq!(t.hash_bytes(&input), reference(&SYMMETRIC_RSS_KEY, &input));
        }

        #[test]
        fn symmetric_for_both_families(a in any::<[u8; 16]>(), b in any::<[u8; 16]>(), sp: u16, dp: u16, v4: bool) {
            let t = Toeplitz::symmetric();
            let (x, y) = if v4 {
                (IpAddr::V4(Ipv4Addr::new(a[0], a[1], a[2], a[3])), IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3])))
            } else {
                (IpAddr::V6(Ipv6Addr::from(a)), IpAddr::V6(Ipv6Addr::from(b)))
            };
            prop_assert_eq!(t.hash_flow(x, y, Some((sp, dp))), t.hash_flow(y, x, Some((dp, sp))));
            prop_assert_eq!(t.hash_flow(x, y, None), t.hash_flow(y, x, None));
        }
    }

    #[test]
    fn reta_round_robin_and_set() {
        let mut r = Reta::round_robin(8, 3);
        assert_eq!(r.buckets(), &[0, 1, 2, 0, 1, 2, 0, 1]);
        r.set(2, 7);
        assert_eq!(r.queue(2), 7);
        assert_eq!(r.queue(10), 7);
        r.set(99, 1);
    }
}
