//! QUIC Initial packet protection (RFC 9001 §5, RFC 9369 §3.3): initial
//! secrets from the client's first Destination Connection ID, header
//! protection with AES-128-ECB, payload protection with AES-128-GCM.

use aes::cipher::{BlockEncrypt, KeyInit};
use aes::Aes128;
use aes_gcm::aead::{Aead, Payload};
use aes_gcm::Aes128Gcm;
use hkdf::Hkdf;
use sha2::Sha256;

/// QUIC version 1 (RFC 9000).
pub const VERSION_1: u32 = 0x0000_0001;
/// QUIC version 2 (RFC 9369).
pub const VERSION_2: u32 = 0x6b33_43cf;
/// draft-29 (also drafts 30–32, which share its salt).
pub const DRAFT_29: u32 = 0xff00_001d;

const SALT_V1: [u8; 20] = [
    0x38, 0x76, 0x2c, 0xf7, 0xf5, 0x59, 0x34, 0xb3, 0x4d, 0x17, 0x9a, 0xe6, 0xa4, 0xc8, 0x0c, 0xad, 0xcc, 0xbb, 0x7f,
    0x0a,
];
const SALT_V2: [u8; 20] = [
    0x0d, 0xed, 0xe3, 0xde, 0xf7, 0x00, 0xa6, 0xdb, 0x81, 0x93, 0x81, 0xbe, 0x6e, 0x26, 0x9d, 0xcb, 0xf9, 0xbd, 0x2e,
    0xd9,
];
const SALT_DRAFT29: [u8; 20] = [
    0xaf, 0xbf, 0xec, 0x28, 0x99, 0x93, 0xd2, 0x4c, 0x9e, 0x97, 0x86, 0xf1, 0x9c, 0x61, 0x11, 0xe0, 0x43, 0x90, 0xa8,
    0x99,
];

/// The protection parameters of a version, if weir can decrypt it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct VersionParams {
    pub salt: &'static [u8; 20],
    pub key_label: &'static [u8],
    pub iv_label: &'static [u8],
    pub hp_label: &'static [u8],
}

pub fn version_params(version: u32) -> Option<VersionParams> {
    let v1 = VersionParams { salt: &SALT_V1, key_label: b"quic key", iv_label: b"quic iv", hp_label: b"quic hp" };
    match version {
        VERSION_1 => Some(v1),
        VERSION_2 => {
            Some(VersionParams { salt: &SALT_V2, key_label: b"quicv2 key", iv_label: b"quicv2 iv", hp_label: b"quicv2 hp" })
        }
        0xff00_001d..=0xff00_0020 => Some(VersionParams { salt: &SALT_DRAFT29, ..v1 }),
        _ => None,
    }
}

/// Keys of one direction of the Initial packet number space.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Keys {
    pub key: [u8; 16],
    pub iv: [u8; 12],
    pub hp: [u8; 16],
}

/// HKDF-Expand-Label (RFC 8446 §7.1) with an empty context.
fn expand_label(hk: &Hkdf<Sha256>, label: &[u8], out: &mut [u8]) -> Option<()> {
    let full_len = 6 + label.len();
    let mut info = Vec::with_capacity(4 + full_len);
    info.extend_from_slice(&u16::try_from(out.len()).ok()?.to_be_bytes());
    info.push(u8::try_from(full_len).ok()?);
    info.extend_from_slice(b"tls13 ");
    info.extend_from_slice(label);
    info.push(0);
    hk.expand(&info, out).ok()
}

/// Client and server Initial keys for `version` from the client's DCID.
pub fn initial_keys(version: u32, dcid: &[u8]) -> Option<(Keys, Keys)> {
    let p = version_params(version)?;
    let (_, initial) = Hkdf::<Sha256>::extract(Some(p.salt), dcid);
    let derive = |label: &[u8]| -> Option<Keys> {
        let mut secret = [0u8; 32];
        expand_label(&initial, label, &mut secret)?;
        let hk = Hkdf::<Sha256>::from_prk(&secret).ok()?;
        let mut k = Keys { key: [0; 16], iv: [0; 12], hp: [0; 16] };
        expand_label(&hk, p.key_label, &mut k.key)?;
        expand_label(&hk, p.iv_label, &mut k.iv)?;
        expand_label(&hk, p.hp_label, &mut k.hp)?;
        Some(k)
    };
    Some((derive(b"client in")?, derive(b"server in")?))
}

/// The header-protection mask: AES-128-ECB(hp, sample).
pub fn hp_mask(hp: &[u8; 16], sample: &[u8; 16]) -> [u8; 16] {
    let cipher = Aes128::new(&(*hp).into());
    let mut block = aes::Block::from(*sample);
    cipher.encrypt_block(&mut block);
    block.into()
}

/// A decrypted long-header packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opened {
    pub packet_number: u64,
    pub plaintext: Vec<u8>,
}

/// Remove header protection and decrypt one long-header packet.
/// `packet` spans the whole packet (header through tag); `pn_offset` is where
/// the (protected) packet number starts.
pub fn open(keys: &Keys, packet: &[u8], pn_offset: usize) -> Option<Opened> {
    let sample: [u8; 16] = packet.get(pn_offset + 4..pn_offset + 20)?.try_into().ok()?;
    let mask = hp_mask(&keys.hp, &sample);
    let first = packet.first()? ^ (mask.first()? & 0x0f);
    let pn_len = usize::from(first & 0x03) + 1;
    let mut header = packet.get(..pn_offset + pn_len)?.to_vec();
    *header.first_mut()? = first;
    let mut pn = 0u64;
    for i in 0..pn_len {
        let b = header.get_mut(pn_offset + i)?;
        *b ^= mask.get(1 + i)?;
        pn = (pn << 8) | u64::from(*b);
    }
    let mut nonce = keys.iv;
    for (n, p) in nonce.iter_mut().skip(4).zip(pn.to_be_bytes()) {
        *n ^= p;
    }
    let ciphertext = packet.get(pn_offset + pn_len..)?;
    let aead = Aes128Gcm::new(&keys.key.into());
    let plaintext = aead.decrypt(&nonce.into(), Payload { msg: ciphertext, aad: &header }).ok()?;
    Some(Opened { packet_number: pn, plaintext })
}

/// Build a protected Initial packet (the inverse of [`open`]): long header
/// with an empty token, a 2-byte packet number, `frames` padded with PADDING
/// so the header-protection sample exists. For tests, benchmarks and trace
/// generation; `None` if a length does not fit its field.
pub fn seal_initial(version: u32, keys: &Keys, dcid: &[u8], scid: &[u8], pn: u16, frames: &[u8]) -> Option<Vec<u8>> {
    let mut plain = frames.to_vec();
    while plain.len() < 24 {
        plain.push(0);
    }
    let type_bits: u8 = if version == VERSION_2 { 1 } else { 0 };
    let mut p = vec![0xc0 | (type_bits << 4) | 0x01];
    p.extend_from_slice(&version.to_be_bytes());
    p.push(u8::try_from(dcid.len()).ok()?);
    p.extend_from_slice(dcid);
    p.push(u8::try_from(scid.len()).ok()?);
    p.extend_from_slice(scid);
    p.push(0); // token length
    let len = u16::try_from(2 + plain.len() + 16).ok().filter(|l| *l < 0x4000)?;
    p.extend_from_slice(&(0x4000 | len).to_be_bytes());
    let pn_offset = p.len();
    p.extend_from_slice(&pn.to_be_bytes());
    let mut nonce = keys.iv;
    for (n, b) in nonce.iter_mut().skip(4).zip(u64::from(pn).to_be_bytes()) {
        *n ^= b;
    }
    let aead = Aes128Gcm::new(&keys.key.into());
    let ct = aead.encrypt(&nonce.into(), Payload { msg: &plain, aad: &p }).ok()?;
    p.extend_from_slice(&ct);
    let sample: [u8; 16] = p.get(pn_offset + 4..pn_offset + 20)?.try_into().ok()?;
    let mask = hp_mask(&keys.hp, &sample);
    *p.first_mut()? ^= mask.first()? & 0x0f;
    for i in 0..2 {
        *p.get_mut(pn_offset + i)? ^= mask.get(1 + i)?;
    }
    Some(p)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn unhex(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex")).collect()
    }

    const DCID: &str = "8394c8f03e515708";

    #[test]
    fn rfc9001_appendix_a1_keys() {
        let (c, s) = initial_keys(VERSION_1, &unhex(DCID)).expect("v1");
        assert_eq!(c.key.to_vec(), unhex("1f369613dd76d5467730efcbe3b1a22d"));
        assert_eq!(c.iv.to_vec(), unhex("fa044b2f42a3fd3b46fb255c"));
        assert_eq!(c.hp.to_vec(), unhex("9f50449e04a0e810283a1e9933adedd2"));
        assert_eq!(s.key.to_vec(), unhex("cf3a5331653c364c88f0f379b6067e37"));
        assert_eq!(s.iv.to_vec(), unhex("0ac1493ca1905853b0bba03e"));
        assert_eq!(s.hp.to_vec(), unhex("c206b8d9b9f0f37644430b490eeaa314"));
    }

    #[test]
    fn rfc9001_appendix_a2_a3_header_protection_masks() {
        let (c, s) = initial_keys(VERSION_1, &unhex(DCID)).expect("v1");
        let sample: [u8; 16] = unhex("d1b1c98dd7689fb8ec11d242b123dc9b").try_into().expect("16");
        assert_eq!(hp_mask(&c.hp, &sample)[..5].to_vec(), unhex("437b9aec36"));
        let sample: [u8; 16] = unhex("2cd0991cd25b0aac406a5816b6394100").try_into().expect("16");
        assert_eq!(hp_mask(&s.hp, &sample)[..5].to_vec(), unhex("2ec0d8356a"));
    }

    #[test]
    fn rfc9369_appendix_a1_keys() {
        let (c, s) = initial_keys(VERSION_2, &unhex(DCID)).expect("v2");
        assert_eq!(c.key.to_vec(), unhex("8b1a0bc121284290a29e0971b5cd045d"));
        assert_eq!(c.iv.to_vec(), unhex("91f73e2351d8fa91660e909f"));
        assert_eq!(c.hp.to_vec(), unhex("45b95e15235d6f45a6b19cbcb0294ba9"));
        assert_eq!(s.key.to_vec(), unhex("82db637861d55e1d011f19ea71d5d2a7"));
        assert_eq!(s.iv.to_vec(), unhex("dd13c276499c0249d3310652"));
        assert_eq!(s.hp.to_vec(), unhex("edf6d05c83121201b436e16877593c3a"));
    }

    #[test]
    fn draft29_appendix_a_client_keys() {
        // draft-ietf-quic-tls-29 Appendix A.1 (same DCID as RFC 9001).
        let (c, _) = initial_keys(DRAFT_29, &unhex(DCID)).expect("draft-29");
        assert_eq!(c.key.to_vec(), unhex("175257a31eb09dea9366d8bb79ad80ba"));
        assert_eq!(c.iv.to_vec(), unhex("6b26114b9cba2b63a9e8dd4f"));
        assert_eq!(c.hp.to_vec(), unhex("9ddd12c994c0698b89374a9c077a3077"));
    }

    #[test]
    fn unknown_version_has_no_keys() {
        assert!(initial_keys(0x1234_5678, &[1, 2, 3]).is_none());
    }

    #[test]
    fn open_rejects_garbage_without_panicking() {
        let (c, _) = initial_keys(VERSION_1, &unhex(DCID)).expect("v1");
        assert!(open(&c, &[0xc3; 10], 5).is_none());
        assert!(open(&c, &[0xc3; 100], 18).is_none());
        assert!(open(&c, &[], 0).is_none());
    }
}
