//! A tiny DER writer and a syntactically valid X.509 v3 certificate (random key and
//! signature bytes; nothing here is a real key).

use rand::RngCore;

use super::random_bytes;

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const INTEGER: u8 = 0x02;
const BIT_STRING: u8 = 0x03;
const OCTET_STRING: u8 = 0x04;
const NULL: u8 = 0x05;
const OID: u8 = 0x06;
const UTF8_STRING: u8 = 0x0c;
const PRINTABLE_STRING: u8 = 0x13;
const UTC_TIME: u8 = 0x17;

/// Append a DER length.
fn push_len(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// One TLV with the given content.
pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(content.len() + 6);
    v.push(tag);
    push_len(&mut v, content.len());
    v.extend_from_slice(content);
    v
}

/// A constructed TLV around the concatenation of `parts`.
pub fn cons(tag: u8, parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(tag, &parts.concat())
}

/// Encode an OID from its arcs.
pub fn oid(arcs: &[u64]) -> Vec<u8> {
    let mut body = Vec::new();
    let mut push_arc = |mut v: u64| {
        let mut tmp = vec![(v & 0x7f) as u8];
        v >>= 7;
        while v > 0 {
            tmp.push(0x80 | (v & 0x7f) as u8);
            v >>= 7;
        }
        tmp.reverse();
        body.extend_from_slice(&tmp);
    };
    push_arc(arcs[0] * 40 + arcs[1]);
    for a in &arcs[2..] {
        push_arc(*a);
    }
    tlv(OID, &body)
}

/// A positive INTEGER from big-endian magnitude bytes.
pub fn integer(mag: &[u8]) -> Vec<u8> {
    let skip = mag.iter().take_while(|b| **b == 0).count().min(mag.len().saturating_sub(1));
    let mag = &mag[skip..];
    let mut c = Vec::with_capacity(mag.len() + 1);
    if mag.first().is_some_and(|b| b & 0x80 != 0) {
        c.push(0);
    }
    c.extend_from_slice(mag);
    tlv(INTEGER, &c)
}

fn name(cn: &str, org: &str) -> Vec<u8> {
    let rdn = |arc: u64, tag: u8, v: &str| cons(SET, &[cons(SEQUENCE, &[oid(&[2, 5, 4, arc]), tlv(tag, v.as_bytes())])]);
    cons(SEQUENCE, &[rdn(6, PRINTABLE_STRING, "US"), rdn(10, UTF8_STRING, org), rdn(3, UTF8_STRING, cn)])
}

/// A DER X.509 v3 certificate for `cn` (also in subjectAltName), issued by `issuer`,
/// with a 2048-bit RSA-shaped public key and signature made of random bytes.
pub fn certificate(rng: &mut impl RngCore, cn: &str, issuer: &str) -> Vec<u8> {
    let sha256_rsa = cons(SEQUENCE, &[oid(&[1, 2, 840, 113_549, 1, 1, 11]), tlv(NULL, &[])]);
    let mut serial = [0u8; 16];
    rng.fill_bytes(&mut serial);
    serial[0] &= 0x7f;
    serial[0] |= 0x01;
    let validity = cons(
        SEQUENCE,
        &[tlv(UTC_TIME, b"240101000000Z"), tlv(UTC_TIME, b"271231235959Z")],
    );
    let mut modulus = Vec::new();
    random_bytes(rng, &mut modulus, 256);
    modulus[0] |= 0x80;
    let rsa_key = cons(SEQUENCE, &[integer(&modulus), integer(&[0x01, 0x00, 0x01])]);
    let mut bits = vec![0u8];
    bits.extend_from_slice(&rsa_key);
    let spki = cons(
        SEQUENCE,
        &[cons(SEQUENCE, &[oid(&[1, 2, 840, 113_549, 1, 1, 1]), tlv(NULL, &[])]), tlv(BIT_STRING, &bits)],
    );
    let san = cons(SEQUENCE, &[tlv(0x82, cn.as_bytes())]);
    let ext_san = cons(SEQUENCE, &[oid(&[2, 5, 29, 17]), tlv(OCTET_STRING, &san)]);
    let basic = cons(SEQUENCE, &[]);
    let ext_basic = cons(SEQUENCE, &[oid(&[2, 5, 29, 19]), tlv(OCTET_STRING, &basic)]);
    let exts = tlv(0xa3, &cons(SEQUENCE, &[ext_san, ext_basic]));
    let tbs = cons(
        SEQUENCE,
        &[
            tlv(0xa0, &tlv(INTEGER, &[2])),
            integer(&serial),
            sha256_rsa.clone(),
            name(issuer, "Weir Test CA"),
            validity,
            name(cn, "Weir Synthetic"),
            spki,
            exts,
        ],
    );
    let mut sig = vec![0u8];
    random_bytes(rng, &mut sig, 256);
    cons(SEQUENCE, &[tbs, sha256_rsa, tlv(BIT_STRING, &sig)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// Minimal DER reader for the test: returns (tag, content, rest).
    fn read(b: &[u8]) -> (u8, &[u8], &[u8]) {
        let tag = b[0];
        let (len, hdr) = if b[1] < 0x80 {
            (b[1] as usize, 2)
        } else {
            let n = (b[1] & 0x7f) as usize;
            (b[2..2 + n].iter().fold(0usize, |a, x| a << 8 | *x as usize), 2 + n)
        };
        (tag, &b[hdr..hdr + len], &b[hdr + len..])
    }

    #[test]
    fn oid_encoding_matches_known_bytes() {
        // sha256WithRSAEncryption = 06 09 2a 86 48 86 f7 0d 01 01 0b
        assert_eq!(
            oid(&[1, 2, 840, 113_549, 1, 1, 11]),
            vec![0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b]
        );
    }

    #[test]
    fn long_lengths() {
        let t = tlv(0x04, &[0; 300]);
        assert_eq!(&t[..4], &[0x04, 0x82, 0x01, 0x2c]);
        assert_eq!(integer(&[0x80]), vec![0x02, 0x02, 0x00, 0x80]);
        assert_eq!(integer(&[0, 0, 5]), vec![0x02, 0x01, 0x05]);
    }

    #[test]
    fn certificate_structure_nests_exactly() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let c = certificate(&mut rng, "www.example.com", "Weir CA");
        let (tag, body, rest) = read(&c);
        assert_eq!((tag, rest.len()), (0x30, 0));
        let (t1, tbs, r1) = read(body);
        let (t2, _alg, r2) = read(r1);
        let (t3, _sig, r3) = read(r2);
        assert_eq!((t1, t2, t3, r3.len()), (0x30, 0x30, 0x03, 0));
        let (v, _, after_v) = read(tbs);
        assert_eq!(v, 0xa0);
        let (serial, _, _) = read(after_v);
        assert_eq!(serial, 0x02);
        assert!(c.windows(15).any(|w| w == b"www.example.com"));
    }
}
