//! QUIC v1 (RFC 9000) with Initial packets protected as RFC 9001 §5 requires:
//! initial secrets via HKDF-SHA256 with the v1 salt, AES-128-GCM payload protection and
//! AES-128 header protection. Handshake and 1-RTT packets carry random bytes.

use aes::cipher::{generic_array::GenericArray, BlockEncrypt};
use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes128Gcm, KeyInit};
use hkdf::Hkdf;
use rand::Rng;
use sha2::Sha256;

use super::{random_bytes, tls, Msg};
use crate::wire::Dir;

/// The QUIC v1 initial salt (RFC 9001 §5.2).
pub const INITIAL_SALT_V1: [u8; 20] = [
    0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f,
    0x0a,
];

/// Smallest UDP payload of a client Initial datagram.
pub const MIN_CLIENT_INITIAL: usize = 1200;

/// Packet protection keys for one direction.
#[derive(Clone)]
pub struct Keys {
    /// AEAD key.
    pub key: [u8; 16],
    /// AEAD IV.
    pub iv: [u8; 12],
    /// Header protection key.
    pub hp: [u8; 16],
    aead: Aes128Gcm,
    hp_cipher: aes::Aes128,
}

fn expand_label(prk: &Hkdf<Sha256>, label: &str, out: &mut [u8]) {
    let full = format!("tls13 {label}");
    let mut info = Vec::with_capacity(4 + full.len());
    info.extend_from_slice(&(out.len() as u16).to_be_bytes());
    info.push(full.len() as u8);
    info.extend_from_slice(full.as_bytes());
    info.push(0);
    // Output lengths here (<= 32) are far below HKDF's 255 * 32 limit.
    let _ = prk.expand(&info, out);
}

impl Keys {
    fn from_secret(secret: &[u8; 32]) -> Keys {
        let prk = Hkdf::<Sha256>::from_prk(secret).unwrap_or_else(|_| Hkdf::<Sha256>::new(None, secret));
        let mut key = [0u8; 16];
        let mut iv = [0u8; 12];
        let mut hp = [0u8; 16];
        expand_label(&prk, "quic key", &mut key);
        expand_label(&prk, "quic iv", &mut iv);
        expand_label(&prk, "quic hp", &mut hp);
        Keys {
            key,
            iv,
            hp,
            aead: Aes128Gcm::new(GenericArray::from_slice(&key)),
            hp_cipher: aes::Aes128::new(GenericArray::from_slice(&hp)),
        }
    }

    /// Client and server Initial keys for a client-chosen destination connection id.
    pub fn initial(dcid: &[u8]) -> (Keys, Keys) {
        let initial = Hkdf::<Sha256>::new(Some(&INITIAL_SALT_V1), dcid);
        let mut c = [0u8; 32];
        let mut s = [0u8; 32];
        expand_label(&initial, "client in", &mut c);
        expand_label(&initial, "server in", &mut s);
        (Keys::from_secret(&c), Keys::from_secret(&s))
    }

    /// Header-protection mask for a 16-byte ciphertext sample.
    pub fn mask(&self, sample: &[u8]) -> [u8; 16] {
        let mut block = GenericArray::clone_from_slice(&sample[..16]);
        self.hp_cipher.encrypt_block(&mut block);
        block.into()
    }
}

fn push_varint(out: &mut Vec<u8>, v: u64) {
    if v < 64 {
        out.push(v as u8);
    } else if v < 16_384 {
        out.extend_from_slice(&(0x4000 | v as u16).to_be_bytes());
    } else if v < (1 << 30) {
        out.extend_from_slice(&(0x8000_0000 | v as u32).to_be_bytes());
    } else {
        out.extend_from_slice(&(0xc000_0000_0000_0000 | v).to_be_bytes());
    }
}

/// A protected Initial packet (packet number length 2) carrying `frames`, padded with
/// PADDING frames so the packet is at least `min_len` bytes.
pub fn initial_packet(keys: &Keys, dcid: &[u8], scid: &[u8], pn: u32, frames: &[u8], min_len: usize) -> Vec<u8> {
    const PN_LEN: usize = 2;
    let mut hdr = Vec::with_capacity(64);
    hdr.push(0xc0 | (PN_LEN as u8 - 1));
    hdr.extend_from_slice(&1u32.to_be_bytes());
    hdr.push(dcid.len() as u8);
    hdr.extend_from_slice(dcid);
    hdr.push(scid.len() as u8);
    hdr.extend_from_slice(scid);
    hdr.push(0); // token length
    // Length is always encoded on 2 bytes so the header size is known before padding.
    let fixed = hdr.len() + 2 + PN_LEN + 16;
    let mut plain = frames.to_vec();
    // The header-protection sample (16 bytes from packet-number start + 4) must exist.
    let min_payload = min_len.saturating_sub(fixed).max(4);
    if plain.len() < min_payload {
        plain.resize(min_payload, 0);
    }
    let length = PN_LEN + plain.len() + 16;
    hdr.extend_from_slice(&(0x4000 | length as u16).to_be_bytes());
    let pn_off = hdr.len();
    hdr.extend_from_slice(&(pn as u16).to_be_bytes());
    let mut nonce = keys.iv;
    for (i, b) in u64::from(pn).to_be_bytes().iter().enumerate() {
        nonce[4 + i] ^= b;
    }
    let tag = keys
        .aead
        .encrypt_in_place_detached(GenericArray::from_slice(&nonce), &hdr, &mut plain)
        .unwrap_or_default();
    let mut pkt = hdr;
    pkt.extend_from_slice(&plain);
    pkt.extend_from_slice(&tag);
    let mask = keys.mask(&pkt[pn_off + 4..pn_off + 20]);
    pkt[0] ^= mask[0] & 0x0f;
    for i in 0..PN_LEN {
        pkt[pn_off + i] ^= mask[1 + i];
    }
    pkt
}

/// A CRYPTO frame.
pub fn crypto_frame(offset: u64, data: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(data.len() + 8);
    f.push(0x06);
    push_varint(&mut f, offset);
    push_varint(&mut f, data.len() as u64);
    f.extend_from_slice(data);
    f
}

fn transport_params(rng: &mut impl Rng, scid: &[u8]) -> Vec<u8> {
    let mut tp = Vec::new();
    let mut param = |id: u64, val: &[u8]| {
        push_varint(&mut tp, id);
        push_varint(&mut tp, val.len() as u64);
        tp.extend_from_slice(val);
    };
    let varint = |v: u64| {
        let mut b = Vec::new();
        push_varint(&mut b, v);
        b
    };
    param(0x01, &varint(30_000)); // max_idle_timeout
    param(0x04, &varint(15_728_640)); // initial_max_data
    param(0x05, &varint(6_291_456));
    param(0x06, &varint(6_291_456));
    param(0x07, &varint(6_291_456));
    param(0x08, &varint(100));
    param(0x09, &varint(103));
    param(0x0f, scid); // initial_source_connection_id
    let grease: u8 = rng.gen();
    param(0x1b + 31 * u64::from(grease % 8), &[]);
    tp
}

/// The datagrams of a QUIC connection: client Initial(s) with the ClientHello (split over
/// two Initials when it does not fit in one), server Initial + Handshake, then `data`
/// bytes of 1-RTT packets.
pub fn conversation(rng: &mut impl Rng, sni: &str, pq: bool, data: usize) -> Vec<Msg> {
    let mut dcid = [0u8; 8];
    rng.fill(&mut dcid);
    let mut cscid = [0u8; 8];
    rng.fill(&mut cscid);
    let mut sscid = [0u8; 8];
    rng.fill(&mut sscid);
    let (ck, sk) = Keys::initial(&dcid);
    let spec = tls::ClientHelloSpec {
        sni: Some(sni),
        alpn: &["h3"],
        tls13: true,
        pq,
        quic_params: Some(transport_params(rng, &cscid)),
    };
    let ch = tls::client_hello(rng, &spec);
    let mut msgs = Vec::new();
    // 1200-byte datagrams: header (26) + pn (2) + tag (16) + frame header (<= 5).
    let per_packet = MIN_CLIENT_INITIAL - 26 - 2 - 16 - 5;
    for (i, chunk) in ch.chunks(per_packet).enumerate() {
        let frame = crypto_frame((i * per_packet) as u64, chunk);
        let pkt = initial_packet(&ck, &dcid, &cscid, i as u32, &frame, MIN_CLIENT_INITIAL);
        msgs.push(Msg::key(Dir::ToServer, pkt));
    }
    let n_client = msgs.len() as u32;
    // Server: Initial (ACK + ServerHello) coalesced with a Handshake packet.
    let sh = tls::server_hello(rng, true, 0x1301, None, true);
    // ACK frame: largest acknowledged, delay 0, no extra ranges, first range covers 0..=largest.
    let largest = (n_client - 1) as u8;
    let mut frames = vec![0x02, largest, 0x00, 0x00, largest];
    frames.extend_from_slice(&crypto_frame(0, &sh));
    let mut dgram = initial_packet(&sk, &cscid, &sscid, 0, &frames, 0);
    let hs_len = rng.gen_range(900..1100);
    dgram.extend_from_slice(&long_header_random(rng, 2, &cscid, &sscid, hs_len));
    msgs.push(Msg::new(Dir::ToClient, dgram).after(rng.gen_range(100_000..1_000_000)));
    let hs2 = rng.gen_range(800..1200);
    msgs.push(Msg::new(Dir::ToClient, long_header_random(rng, 2, &cscid, &sscid, hs2)));
    // Client: Handshake Finished (random), then 1-RTT traffic.
    msgs.push(Msg::new(Dir::ToServer, long_header_random(rng, 2, &sscid, &cscid, 80)));
    let rounds = (data / 20_000).clamp(1, 24);
    for _ in 0..rounds {
        let n = rng.gen_range(40..300);
        let req = short_header_random(rng, Dir::ToServer, &sscid, n);
        msgs.push(req.after(rng.gen_range(0..20_000_000)));
        let mut left = (data / rounds).max(30);
        while left > 0 {
            let n = left.min(1200);
            left -= n;
            msgs.push(short_header_random(rng, Dir::ToClient, &cscid, n));
        }
    }
    msgs
}

/// A long-header packet of `ty` (2 = Handshake) with random protected payload.
fn long_header_random(rng: &mut impl Rng, ty: u8, dcid: &[u8], scid: &[u8], n: usize) -> Vec<u8> {
    let mut p = Vec::with_capacity(n + 30);
    p.push(0xc0 | (ty << 4) | (rng.gen::<u8>() & 0x0f));
    p.extend_from_slice(&1u32.to_be_bytes());
    p.push(dcid.len() as u8);
    p.extend_from_slice(dcid);
    p.push(scid.len() as u8);
    p.extend_from_slice(scid);
    push_varint(&mut p, n as u64);
    random_bytes(rng, &mut p, n);
    p
}

/// A 1-RTT short-header packet with random protected payload.
/// (The random payload is produced while the datagram is built.)
fn short_header_random(rng: &mut impl Rng, dir: Dir, dcid: &[u8], n: usize) -> Msg {
    let mut p = Vec::with_capacity(1 + dcid.len());
    p.push(0x40 | (rng.gen::<u8>() & 0x3f));
    p.extend_from_slice(dcid);
    super::random_msg_after(rng, dir, p, n.max(20))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn rfc9001_appendix_a_keys() {
        let (c, s) = Keys::initial(&hex("8394c8f03e515708"));
        assert_eq!(c.key.to_vec(), hex("1f369613dd76d5467730efcbe3b1a22d"));
        assert_eq!(c.iv.to_vec(), hex("fa044b2f42a3fd3b46fb255c"));
        assert_eq!(c.hp.to_vec(), hex("9f50449e04a0e810283a1e9933adedd2"));
        assert_eq!(s.key.to_vec(), hex("cf3a5331653c364c88f0f379b6067e37"));
        assert_eq!(s.iv.to_vec(), hex("0ac1493ca1905853b0bba03e"));
        assert_eq!(s.hp.to_vec(), hex("c206b8d9b9f0f37644430b490eeaa314"));
    }

    #[test]
    fn rfc9001_appendix_a_header_protection_mask() {
        // A.2: sample d1b1c98dd7689fb8ec11d242b123dc9b -> mask 437b9aec36...
        let (c, _) = Keys::initial(&hex("8394c8f03e515708"));
        let m = c.mask(&hex("d1b1c98dd7689fb8ec11d242b123dc9b"));
        assert_eq!(m[..5].to_vec(), hex("437b9aec36"));
    }

    /// Remove protection with the same primitives (independent of the builder's code path).
    fn unprotect(keys: &Keys, pkt: &[u8], dcid_len: usize, scid_len: usize) -> Vec<u8> {
        let pn_off = 1 + 4 + 1 + dcid_len + 1 + scid_len + 1 + 2;
        let mask = keys.mask(&pkt[pn_off + 4..pn_off + 20]);
        let first = pkt[0] ^ (mask[0] & 0x0f);
        let pn_len = (first & 3) as usize + 1;
        let mut hdr = pkt[..pn_off + pn_len].to_vec();
        hdr[0] = first;
        for i in 0..pn_len {
            hdr[pn_off + i] ^= mask[1 + i];
        }
        let pn = hdr[pn_off..].iter().fold(0u64, |a, b| a << 8 | u64::from(*b));
        let mut nonce = keys.iv;
        for (i, b) in pn.to_be_bytes().iter().enumerate() {
            nonce[4 + i] ^= b;
        }
        let mut body = pkt[pn_off + pn_len..pkt.len() - 16].to_vec();
        let tag = GenericArray::clone_from_slice(&pkt[pkt.len() - 16..]);
        keys.aead.decrypt_in_place_detached(GenericArray::from_slice(&nonce), &hdr, &mut body, &tag).unwrap();
        body
    }

    #[test]
    fn client_initials_decrypt_and_reassemble() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let msgs = conversation(&mut rng, "quic.example.org", true, 5000);
        let initials: Vec<_> = msgs.iter().filter(|m| m.key).collect();
        assert_eq!(initials.len(), 2, "a PQ ClientHello spans two Initials");
        let dcid = &initials[0].data[6..14];
        let (ck, _) = Keys::initial(dcid);
        let mut crypto = Vec::new();
        for m in &initials {
            assert!(m.data.len() >= MIN_CLIENT_INITIAL);
            let plain = unprotect(&ck, &m.data, 8, 8);
            assert_eq!(plain[0], 0x06);
            let (off, n1) = varint(&plain[1..]);
            let (len, n2) = varint(&plain[1 + n1..]);
            assert_eq!(off as usize, crypto.len());
            let start = 1 + n1 + n2;
            crypto.extend_from_slice(&plain[start..start + len as usize]);
            assert!(plain[start + len as usize..].iter().all(|b| *b == 0), "rest is PADDING");
        }
        assert_eq!(crypto[0], 1);
        assert!(crypto.windows(16).any(|w| w == b"quic.example.org"));
    }

    fn varint(b: &[u8]) -> (u64, usize) {
        let n = 1 << (b[0] >> 6);
        let mut v = u64::from(b[0] & 0x3f);
        for x in &b[1..n] {
            v = v << 8 | u64::from(*x);
        }
        (v, n)
    }
}
