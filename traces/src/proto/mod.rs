//! Application-layer payload builders. Each module turns a few parameters into the
//! byte messages of one conversation; transports (`crate::transport`) cut them into packets.

pub mod der;
pub mod dns;
pub mod http;
pub mod openvpn;
pub mod quic;
pub mod ssh;
pub mod tls;

use rand::RngCore;

use crate::wire::Dir;

/// Bytes that are produced on demand, at any offset, instead of being stored: large
/// payloads are written straight into the packets that carry them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lazy {
    /// `len` random-looking bytes.
    Random {
        /// Length in bytes.
        len: usize,
        /// Stream seed.
        seed: u64,
    },
    /// TLS application-data records carrying `plain` bytes of random ciphertext in total
    /// (records of at most 16384 + 17 bytes, as [`tls::app_data`] lays them out).
    TlsRecords {
        /// Sum of record payload bytes before the 17-byte AEAD overhead per record.
        plain: usize,
        /// Stream seed.
        seed: u64,
    },
}

const TLS_FULL: usize = 16_384;

fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Counter-based random bytes: byte `pos` of stream `seed`, written for `pos` in
/// `offset..offset + out.len()`.
fn fill_counter(seed: u64, offset: usize, out: &mut [u8]) {
    let mut pos = offset;
    let mut k = 0;
    while pos % 8 != 0 && k < out.len() {
        out[k] = mix64(seed.wrapping_add(((pos / 8) as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15))).to_le_bytes()[pos % 8];
        pos += 1;
        k += 1;
    }
    let mut block = (pos / 8) as u64;
    // Four independent 8-byte words per step keep the scalar multipliers busy (the
    // 2-lane SSE2 form the compiler would otherwise pick emulates 64-bit multiplies).
    let mut quads = out[k..].chunks_exact_mut(32);
    for q in &mut quads {
        let x0 = seed.wrapping_add(block.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        let x1 = x0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let x2 = x1.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let x3 = x2.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let w = [mix64(x0), mix64(x1), mix64(x2), mix64(x3)];
        for (c, v) in q.chunks_exact_mut(8).zip(w) {
            c.copy_from_slice(&v.to_le_bytes());
        }
        block += 4;
    }
    let mut chunks = quads.into_remainder().chunks_exact_mut(8);
    for chunk in &mut chunks {
        chunk.copy_from_slice(&mix64(seed.wrapping_add(block.wrapping_mul(0x9e37_79b9_7f4a_7c15))).to_le_bytes());
        block += 1;
    }
    let rest = chunks.into_remainder();
    let b = mix64(seed.wrapping_add(block.wrapping_mul(0x9e37_79b9_7f4a_7c15))).to_le_bytes();
    let n = rest.len();
    rest.copy_from_slice(&b[..n]);
}

impl Lazy {
    /// Total length in bytes.
    pub fn len(&self) -> usize {
        match *self {
            Lazy::Random { len, .. } => len,
            Lazy::TlsRecords { plain, .. } => {
                let plain = plain.max(1);
                let records = plain.div_ceil(TLS_FULL);
                plain + records * (5 + 17)
            }
        }
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Write bytes `offset..offset + out.len()` of this payload into `out`.
    pub fn fill(&self, offset: usize, out: &mut [u8]) {
        match *self {
            Lazy::Random { seed, .. } => fill_counter(seed, offset, out),
            Lazy::TlsRecords { plain, seed } => {
                fill_counter(seed, offset, out);
                let plain = plain.max(1);
                let full_rec = 5 + TLS_FULL + 17;
                let end = offset + out.len();
                let mut r = offset / full_rec;
                loop {
                    let start = r * full_rec;
                    if start >= end || r * TLS_FULL >= plain {
                        break;
                    }
                    let body = (plain - r * TLS_FULL).min(TLS_FULL) + 17;
                    let len = (body as u16).to_be_bytes();
                    let hdr = [23u8, 3, 3, len[0], len[1]];
                    for (i, b) in hdr.iter().enumerate() {
                        let at = start + i;
                        if at >= offset && at < end {
                            out[at - offset] = *b;
                        }
                    }
                    r += 1;
                }
            }
        }
    }

    /// The whole payload as bytes.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut v = vec![0; self.len()];
        self.fill(0, &mut v);
        v
    }
}

/// One application message: bytes sent by one side in one go.
#[derive(Debug, Clone)]
pub struct Msg {
    /// Who sends it.
    pub dir: Dir,
    /// The bytes (for UDP transports: exactly one datagram's payload), followed by `lazy`.
    pub data: Vec<u8>,
    /// Bytes after `data`, produced while segmenting.
    pub lazy: Option<Lazy>,
    /// Extra delay before the message starts, beyond the natural turnaround.
    pub think_ns: u64,
    /// Carries L7 headers recorded in the ground truth (never dropped by loss impairment).
    pub key: bool,
}

impl Msg {
    /// A message with no extra delay that is not a key message.
    pub fn new(dir: Dir, data: Vec<u8>) -> Msg {
        Msg { dir, data, lazy: None, think_ns: 0, key: false }
    }

    /// A key message (carries truth-relevant headers).
    pub fn key(dir: Dir, data: Vec<u8>) -> Msg {
        Msg { dir, data, lazy: None, think_ns: 0, key: true }
    }

    /// A message whose bytes are all produced on demand.
    pub fn lazy(dir: Dir, lazy: Lazy) -> Msg {
        Msg { dir, data: Vec::new(), lazy: Some(lazy), think_ns: 0, key: false }
    }

    /// Set the think time.
    pub fn after(mut self, think_ns: u64) -> Msg {
        self.think_ns = think_ns;
        self
    }

    /// Total length.
    pub fn len(&self) -> usize {
        self.data.len() + self.lazy.map_or(0, |l| l.len())
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Append bytes `start..end` of the message to `out`.
    pub fn write_range(&self, start: usize, end: usize, out: &mut Vec<u8>) {
        let dl = self.data.len();
        if start < dl {
            out.extend_from_slice(&self.data[start..end.min(dl)]);
        }
        if let Some(l) = &self.lazy {
            if end > dl {
                let from = start.max(dl) - dl;
                let pos = out.len();
                out.resize(pos + (end - dl - from), 0);
                l.fill(from, &mut out[pos..]);
            }
        }
    }

    /// All bytes of the message.
    pub fn bytes(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(self.len());
        self.write_range(0, self.len(), &mut v);
        v
    }
}

/// Append a big-endian length field of `width` bytes around what `f` writes.
pub(crate) fn with_len(out: &mut Vec<u8>, width: usize, f: impl FnOnce(&mut Vec<u8>)) {
    let pos = out.len();
    out.resize(pos + width, 0);
    f(out);
    let len = out.len() - pos - width;
    for i in 0..width {
        out[pos + i] = (len >> (8 * (width - 1 - i))) as u8;
    }
}

/// Append `n` random-looking bytes. Short runs come straight from `rng`; long runs
/// (payloads) from a SplitMix64 stream seeded by `rng`, which is several times faster
/// than ChaCha and just as deterministic.
pub(crate) fn random_bytes(rng: &mut impl RngCore, out: &mut Vec<u8>, n: usize) {
    if n < 64 {
        let pos = out.len();
        out.resize(pos + n, 0);
        rng.fill_bytes(&mut out[pos..]);
        return;
    }
    let mut x = rng.next_u64();
    let mut next = || {
        x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix64(x)
    };
    let pos = out.len();
    out.resize(pos + n, 0);
    let mut chunks = out[pos..].chunks_exact_mut(8);
    for c in &mut chunks {
        c.copy_from_slice(&next().to_le_bytes());
    }
    let rest = chunks.into_remainder();
    let k = rest.len();
    rest.copy_from_slice(&next().to_le_bytes()[..k]);
}

/// A message of the `n` bytes `random_vec(rng, n)` would make (same draws from `rng`),
/// produced while segmenting when long: the SplitMix64 stream of [`random_bytes`] seeded
/// by `x` is the counter stream of [`Lazy::Random`] seeded by `x + γ`.
pub(crate) fn random_msg(rng: &mut impl RngCore, dir: Dir, n: usize) -> Msg {
    random_msg_after(rng, dir, Vec::new(), n)
}

/// `head` followed by what `random_bytes(rng, _, n)` would append, as a message.
pub(crate) fn random_msg_after(rng: &mut impl RngCore, dir: Dir, mut head: Vec<u8>, n: usize) -> Msg {
    if n < 64 {
        random_bytes(rng, &mut head, n);
        return Msg::new(dir, head);
    }
    let x = rng.next_u64();
    Msg { lazy: Some(Lazy::Random { len: n, seed: x.wrapping_add(0x9e37_79b9_7f4a_7c15) }), ..Msg::new(dir, head) }
}

/// `n` random bytes.
pub(crate) fn random_vec(rng: &mut impl RngCore, n: usize) -> Vec<u8> {
    let mut v = Vec::new();
    random_bytes(rng, &mut v, n);
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_bytes_lengths_and_determinism() {
        use rand::SeedableRng;
        for n in [0, 1, 63, 64, 65, 1000, 1460] {
            let mut a = Vec::new();
            random_bytes(&mut rand_chacha::ChaCha8Rng::seed_from_u64(n as u64), &mut a, n);
            let mut b = Vec::new();
            random_bytes(&mut rand_chacha::ChaCha8Rng::seed_from_u64(n as u64), &mut b, n);
            assert_eq!((a.len(), &a), (n, &b));
        }
        let mut v = Vec::new();
        random_bytes(&mut rand_chacha::ChaCha8Rng::seed_from_u64(1), &mut v, 4096);
        let zeros = v.iter().filter(|b| **b == 0).count();
        assert!(zeros < 64, "looks random: {zeros} zero bytes in 4096");
    }

    #[test]
    fn random_msg_matches_random_vec() {
        use rand::SeedableRng;
        for n in [0, 1, 63, 64, 65, 1000, 1460, 100_003] {
            let mut a = rand_chacha::ChaCha8Rng::seed_from_u64(n as u64);
            let mut b = a.clone();
            let m = random_msg(&mut a, Dir::ToClient, n);
            assert_eq!(m.bytes(), random_vec(&mut b, n), "n = {n}");
            assert_eq!(a.next_u64(), b.next_u64(), "same draws, n = {n}");
        }
    }

    #[test]
    fn lazy_fill_at_any_offset_matches_whole() {
        for lazy in [Lazy::Random { len: 5000, seed: 7 }, Lazy::TlsRecords { plain: 40_000, seed: 9 }, Lazy::TlsRecords { plain: 10, seed: 1 }] {
            let whole = lazy.to_vec();
            assert_eq!(whole.len(), lazy.len());
            for (a, b) in [(0, 1), (3, 17), (1460, 2920), (16_000, 16_500), (whole.len() - 5, whole.len())] {
                if b > whole.len() {
                    continue;
                }
                let mut part = vec![0; b - a];
                lazy.fill(a, &mut part);
                assert_eq!(part, &whole[a..b], "{lazy:?} {a}..{b}");
            }
        }
    }

    #[test]
    fn lazy_tls_records_match_eager_layout() {
        let w = Lazy::TlsRecords { plain: 40_000, seed: 3 }.to_vec();
        let mut i = 0;
        let mut plain = 0;
        while i < w.len() {
            assert_eq!(&w[i..i + 3], &[23, 3, 3]);
            let n = u16::from_be_bytes([w[i + 3], w[i + 4]]) as usize;
            plain += n - 17;
            i += 5 + n;
        }
        assert_eq!((i, plain), (w.len(), 40_000));
    }

    #[test]
    fn msg_write_range_spans_data_and_lazy() {
        let m = Msg { lazy: Some(Lazy::Random { len: 100, seed: 2 }), ..Msg::new(Dir::ToServer, vec![1, 2, 3]) };
        let all = m.bytes();
        assert_eq!(all.len(), 103);
        assert_eq!(&all[..3], &[1, 2, 3]);
        let mut part = Vec::new();
        m.write_range(2, 50, &mut part);
        assert_eq!(part, &all[2..50]);
    }

    #[test]
    fn with_len_writes_big_endian_length() {
        let mut v = vec![9];
        with_len(&mut v, 3, |o| o.extend_from_slice(&[1; 300]));
        assert_eq!(&v[..4], &[9, 0, 1, 44]);
        assert_eq!(v.len(), 304);
    }
}
