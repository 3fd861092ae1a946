//! RFC 1071 Internet checksum helpers, with the IPv4 / IPv6 pseudo-headers
//! used by TCP and UDP.
//!
//! Invariants: every function is total (any input length, odd lengths are
//! padded with a zero byte as the RFC says) and allocation-free.
//!
//! Cost: one pass over the data, four bytes per step accumulated in a `u64`
//! (no carry handling inside the loop), folded once at the end.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Folds a wide one's-complement accumulator to 16 bits.
const fn fold(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// One's-complement sum of `data` (not complemented), as 16-bit big-endian words.
pub fn data(data: &[u8]) -> u16 {
    // Big-endian 32-bit words are congruent to the sum of their two 16-bit
    // halves modulo 0xffff, so summing them into a wide accumulator and
    // folding at the end gives the RFC 1071 sum with half the iterations.
    let mut sum: u64 = 0;
    let mut quads = data.chunks_exact(4);
    for q in &mut quads {
        sum += u64::from(u32::from_be_bytes([q[0], q[1], q[2], q[3]]));
    }
    match *quads.remainder() {
        [a, b, c] => sum += u64::from(u32::from_be_bytes([a, b, c, 0])),
        [a, b] => sum += u64::from(u16::from_be_bytes([a, b])),
        [a] => sum += u64::from(u16::from_be_bytes([a, 0])),
        _ => {}
    }
    fold(sum)
}

/// One's-complement sum of several partial sums.
pub fn combine(sums: &[u16]) -> u16 {
    fold(sums.iter().map(|&s| u64::from(s)).sum())
}

/// Partial sum of the IPv4 pseudo-header (RFC 793 / 768).
pub fn pseudo_header_v4(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, length: u32) -> u16 {
    let mut buf = [0u8; 12];
    buf[0..4].copy_from_slice(&src.octets());
    buf[4..8].copy_from_slice(&dst.octets());
    buf[9] = protocol;
    buf[10..12].copy_from_slice(&(length as u16).to_be_bytes());
    data(&buf)
}

/// Partial sum of the IPv6 pseudo-header (RFC 8200 §8.1).
pub fn pseudo_header_v6(src: Ipv6Addr, dst: Ipv6Addr, next_header: u8, length: u32) -> u16 {
    let mut buf = [0u8; 40];
    buf[0..16].copy_from_slice(&src.octets());
    buf[16..32].copy_from_slice(&dst.octets());
    buf[32..36].copy_from_slice(&length.to_be_bytes());
    buf[39] = next_header;
    data(&buf)
}

/// Pseudo-header sum for either family. Mixed families (one v4, one v6
/// address) use the IPv6 form with the v4 address mapped.
pub fn pseudo_header(src: IpAddr, dst: IpAddr, protocol: u8, length: u32) -> u16 {
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => pseudo_header_v4(s, d, protocol, length),
        (s, d) => pseudo_header_v6(to_v6(s), to_v6(d), protocol, length),
    }
}

fn to_v6(a: IpAddr) -> Ipv6Addr {
    match a {
        IpAddr::V4(v4) => v4.to_ipv6_mapped(),
        IpAddr::V6(v6) => v6,
    }
}

/// The checksum field value for `segment` (whose checksum field must be zero)
/// carried over IP between `src` and `dst`.
pub fn transport(src: IpAddr, dst: IpAddr, protocol: u8, segment: &[u8]) -> u16 {
    let len = u32::try_from(segment.len()).unwrap_or(u32::MAX);
    !combine(&[pseudo_header(src, dst, protocol, len), data(segment)])
}

/// True when `segment` (checksum field included) verifies with its pseudo-header.
pub fn verify_transport(src: IpAddr, dst: IpAddr, protocol: u8, segment: &[u8]) -> bool {
    transport(src, dst, protocol, segment) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The IPv4 header example from RFC 1071 era textbooks (checksum 0xb861).
    const IPV4_HDR: [u8; 20] = [
        0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0xb8, 0x61, 0xc0, 0xa8, 0x00,
        0x01, 0xc0, 0xa8, 0x00, 0xc7,
    ];

    #[test]
    fn known_header_verifies() {
        assert_eq!(!data(&IPV4_HDR), 0);
        let mut h = IPV4_HDR;
        h[10] = 0;
        h[11] = 0;
        assert_eq!(!data(&h), 0xb861);
        h[8] = 0x41; // change TTL: checksum must no longer verify
        h[10..12].copy_from_slice(&0xb861u16.to_be_bytes());
        assert_ne!(!data(&h), 0);
    }

    #[test]
    fn odd_length_pads_with_zero() {
        assert_eq!(data(&[0x12, 0x34, 0x56]), data(&[0x12, 0x34, 0x56, 0x00]));
        assert_eq!(data(&[]), 0);
    }

    /// Naive model: sum with end-around carry after every addition.
    fn model(bytes: &[u8]) -> u16 {
        let mut s: u32 = 0;
        for (i, b) in bytes.iter().enumerate() {
            let v = if i % 2 == 0 {
                u32::from(*b) << 8
            } else {
                u32::from(*b)
            };
            s += v;
            if s > 0xffff {
                s = (s & 0xffff) + 1;
            }
        }
        s as u16
    }

    proptest! {
        #[test]
        fn matches_model(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            prop_assert_eq!(data(&bytes), model(&bytes));
        }

        #[test]
        fn split_sums_combine(bytes in proptest::collection::vec(any::<u8>(), 0..200), cut in 0usize..100) {
            let cut = (cut * 2).min(bytes.len() & !1);
            prop_assert_eq!(combine(&[data(&bytes[..cut]), data(&bytes[cut..])]), data(&bytes));
        }
    }
}
