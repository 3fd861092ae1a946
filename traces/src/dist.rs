//! Sampling helpers: Zipf ranks by inverse CDF table, bounded Pareto, exponential,
//! log-uniform, addresses from prefixes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use rand::Rng;

use crate::mix::{Prefix4, Prefix6, SizeDist};

/// Zipf(s) over ranks `0..n` by binary search in a cumulative table.
#[derive(Debug, Clone)]
pub struct Zipf {
    cdf: Vec<f64>,
}

impl Zipf {
    /// A Zipf distribution over `n >= 1` ranks with exponent `s >= 0` (0 = uniform).
    pub fn new(n: usize, s: f64) -> Zipf {
        let mut cdf = Vec::with_capacity(n.max(1));
        let mut acc = 0.0;
        for k in 1..=n.max(1) {
            acc += 1.0 / (k as f64).powf(s);
            cdf.push(acc);
        }
        for c in &mut cdf {
            *c /= acc;
        }
        Zipf { cdf }
    }

    /// A rank in `0..n`.
    pub fn sample(&self, rng: &mut impl Rng) -> usize {
        let u: f64 = rng.gen();
        self.cdf.partition_point(|c| *c < u).min(self.cdf.len() - 1)
    }
}

/// A compiled flow-size distribution.
#[derive(Debug, Clone)]
pub enum Sizes {
    /// Constant.
    Fixed(u64),
    /// Uniform.
    Uniform(u64, u64),
    /// Bounded Pareto (min, alpha, max).
    Pareto(f64, f64, f64),
    /// unit * (rank + 1).
    Zipf(u64, Zipf),
}

impl Sizes {
    /// Compile a validated [`SizeDist`].
    pub fn new(d: &SizeDist) -> Sizes {
        match *d {
            SizeDist::Fixed { bytes } => Sizes::Fixed(bytes),
            SizeDist::Uniform { min, max } => Sizes::Uniform(min, max),
            SizeDist::Pareto { min, alpha, max } => Sizes::Pareto(min as f64, alpha, max as f64),
            SizeDist::Zipf { unit, s, n } => Sizes::Zipf(unit, Zipf::new(n as usize, s)),
        }
    }

    /// One size in bytes.
    pub fn sample(&self, rng: &mut impl Rng) -> u64 {
        match self {
            Sizes::Fixed(b) => *b,
            Sizes::Uniform(a, b) => rng.gen_range(*a..=*b),
            Sizes::Pareto(l, a, h) => {
                // Inverse CDF of the Pareto distribution truncated to [l, h].
                let u: f64 = rng.gen();
                let la = l.powf(*a);
                let ha = h.powf(*a);
                let x = (-(u * ha - u * la - ha) / (ha * la)).powf(-1.0 / a);
                x.clamp(*l, *h) as u64
            }
            Sizes::Zipf(unit, z) => unit * (z.sample(rng) as u64 + 1),
        }
    }
}

/// Exponential with the given mean.
pub fn exponential(rng: &mut impl Rng, mean: f64) -> f64 {
    let u: f64 = rng.gen_range(f64::EPSILON..1.0);
    -mean * u.ln()
}

/// Log-uniform in `[lo, hi]`.
pub fn log_uniform(rng: &mut impl Rng, lo: f64, hi: f64) -> f64 {
    if hi <= lo {
        return lo;
    }
    (rng.gen_range(lo.ln()..=hi.ln())).exp()
}

/// A host address inside an IPv4 prefix, avoiding the network and broadcast addresses
/// when the prefix has room.
pub fn addr4(rng: &mut impl Rng, p: &Prefix4) -> IpAddr {
    let host_bits = 32 - u32::from(p.len);
    let host = if host_bits == 0 {
        0
    } else if host_bits == 1 {
        rng.gen_range(0..2)
    } else {
        let max = if host_bits >= 32 { u32::MAX } else { (1u32 << host_bits) - 1 };
        rng.gen_range(1..max)
    };
    IpAddr::V4(Ipv4Addr::from(p.base | host))
}

/// A host address inside an IPv6 prefix (interface id never zero).
pub fn addr6(rng: &mut impl Rng, p: &Prefix6) -> IpAddr {
    let host_bits = 128 - u32::from(p.len);
    let host = if host_bits == 0 {
        0
    } else {
        let r: u128 = rng.gen::<u128>() | 1;
        if host_bits >= 128 {
            r
        } else {
            r & ((1u128 << host_bits) - 1)
        }
    };
    IpAddr::V6(Ipv6Addr::from(p.base | host))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand::SeedableRng;

    #[test]
    fn zipf_prefers_low_ranks() {
        let z = Zipf::new(100, 1.0);
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let mut counts = [0u32; 100];
        for _ in 0..20_000 {
            counts[z.sample(&mut rng)] += 1;
        }
        assert!(counts[0] > counts[1] && counts[1] > counts[9] && counts[9] > counts[99]);
    }

    proptest! {
        #[test]
        fn pareto_stays_in_bounds(seed: u64, alpha in 0.5f64..3.0) {
            let s = Sizes::Pareto(1000.0, alpha, 50_000.0);
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            for _ in 0..100 {
                let x = s.sample(&mut rng);
                prop_assert!((1000..=50_000).contains(&x));
            }
        }

        #[test]
        fn addresses_stay_in_prefix(seed: u64, len in 8u8..=32) {
            let p = crate::mix::parse_prefix4(&format!("10.20.30.40/{len}")).unwrap();
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
            let IpAddr::V4(a) = addr4(&mut rng, &p) else { panic!() };
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            prop_assert_eq!(u32::from(a) & mask, p.base);
        }
    }
}
