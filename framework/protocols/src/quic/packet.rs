//! QUIC long headers (RFC 9000 §17.2, RFC 9369 §3.2), variable-length
//! integers and the frames that can appear in Initial packets.

use super::crypto::VERSION_2;

/// A QUIC variable-length integer (RFC 9000 §16).
pub fn varint(b: &[u8], at: &mut usize) -> Option<u64> {
    let first = *b.get(*at)?;
    let len = 1usize << (first >> 6);
    let bytes = b.get(*at..*at + len)?;
    let mut v = u64::from(first & 0x3f);
    for x in bytes.iter().skip(1) {
        v = (v << 8) | u64::from(*x);
    }
    *at += len;
    Some(v)
}

/// Long-header packet types, independent of the version's bit encoding.
#[derive(Copy, Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub enum LongType {
    Initial,
    ZeroRtt,
    Handshake,
    Retry,
}

impl LongType {
    /// Decode the two type bits of byte 0 (v2 rotates them).
    pub fn from_bits(version: u32, bits: u8) -> LongType {
        let bits = bits & 0x03;
        if version == VERSION_2 {
            match bits {
                1 => LongType::Initial,
                2 => LongType::ZeroRtt,
                3 => LongType::Handshake,
                _ => LongType::Retry,
            }
        } else {
            match bits {
                0 => LongType::Initial,
                1 => LongType::ZeroRtt,
                2 => LongType::Handshake,
                _ => LongType::Retry,
            }
        }
    }
}

/// A parsed long header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LongHeader<'a> {
    /// Version Negotiation (version 0): the versions the server supports.
    VersionNegotiation { dcid: &'a [u8], scid: &'a [u8], versions: Vec<u32> },
    /// Retry: the new SCID the client must use as DCID.
    Retry { version: u32, dcid: &'a [u8], scid: &'a [u8] },
    /// Initial / 0-RTT / Handshake: `packet` is the whole packet, `pn_offset`
    /// where the protected packet number starts.
    Protected { ty: LongType, version: u32, dcid: &'a [u8], scid: &'a [u8], pn_offset: usize, packet: &'a [u8] },
}

/// Parse the long-header packet at the start of `b`; returns it and its
/// length in bytes (so coalesced packets can be iterated).
pub fn parse_long(b: &[u8]) -> Option<(LongHeader<'_>, usize)> {
    let first = *b.first()?;
    if first & 0x80 == 0 {
        return None;
    }
    let version = u32::from_be_bytes(b.get(1..5)?.try_into().ok()?);
    let mut at = 5usize;
    let dcid_len = usize::from(*b.get(at)?);
    let dcid = b.get(at + 1..at + 1 + dcid_len)?;
    at += 1 + dcid_len;
    let scid_len = usize::from(*b.get(at)?);
    let scid = b.get(at + 1..at + 1 + scid_len)?;
    at += 1 + scid_len;
    if version == 0 {
        let rest = b.get(at..)?;
        let versions = rest.chunks_exact(4).filter_map(|c| c.try_into().ok().map(u32::from_be_bytes)).collect();
        return Some((LongHeader::VersionNegotiation { dcid, scid, versions }, b.len()));
    }
    if dcid_len > 20 || scid_len > 20 || first & 0x40 == 0 {
        return None;
    }
    let ty = LongType::from_bits(version, first >> 4);
    if ty == LongType::Retry {
        return Some((LongHeader::Retry { version, dcid, scid }, b.len()));
    }
    if ty == LongType::Initial {
        let token_len = usize::try_from(varint(b, &mut at)?).ok()?;
        at = at.checked_add(token_len)?;
    }
    let len = usize::try_from(varint(b, &mut at)?).ok()?;
    let end = at.checked_add(len)?;
    let packet = b.get(..end)?;
    Some((LongHeader::Protected { ty, version, dcid, scid, pn_offset: at, packet }, end))
}

/// What the frames of one decrypted Initial carried.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frames<'a> {
    pub crypto: Vec<(u64, &'a [u8])>,
    /// CONNECTION_CLOSE error code.
    pub close: Option<u64>,
    /// A frame type that cannot appear in Initial packets (parsing stopped there).
    pub unexpected: Option<u64>,
}

/// Walk the frames of a decrypted Initial payload; stops safely at the first
/// frame type not allowed in Initials, or at a truncated frame.
pub fn parse_frames(p: &[u8]) -> Frames<'_> {
    let mut f = Frames::default();
    let mut at = 0usize;
    while at < p.len() {
        let Some(ty) = varint(p, &mut at) else { break };
        let ok = match ty {
            0x00 | 0x01 => Some(()),
            0x02 | 0x03 => (|| {
                varint(p, &mut at)?;
                varint(p, &mut at)?;
                let count = varint(p, &mut at)?;
                varint(p, &mut at)?;
                for _ in 0..count {
                    varint(p, &mut at)?;
                    varint(p, &mut at)?;
                }
                if ty == 0x03 {
                    for _ in 0..3 {
                        varint(p, &mut at)?;
                    }
                }
                Some(())
            })(),
            0x06 => (|| {
                let off = varint(p, &mut at)?;
                let len = usize::try_from(varint(p, &mut at)?).ok()?;
                let data = p.get(at..at.checked_add(len)?)?;
                at += len;
                f.crypto.push((off, data));
                Some(())
            })(),
            0x1c | 0x1d => (|| {
                let code = varint(p, &mut at)?;
                if ty == 0x1c {
                    varint(p, &mut at)?;
                }
                let len = usize::try_from(varint(p, &mut at)?).ok()?;
                at = at.checked_add(len)?;
                f.close = Some(code);
                Some(())
            })(),
            other => {
                f.unexpected = Some(other);
                None
            }
        };
        if ok.is_none() {
            break;
        }
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_rfc9000_appendix_a1() {
        let cases: &[(&[u8], u64)] = &[
            (&[0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c], 151_288_809_941_952_652),
            (&[0x9d, 0x7f, 0x3e, 0x7d], 494_878_333),
            (&[0x7b, 0xbd], 15_293),
            (&[0x25], 37),
            (&[0x40, 0x25], 37),
        ];
        for (b, v) in cases {
            let mut at = 0;
            assert_eq!(varint(b, &mut at), Some(*v));
            assert_eq!(at, b.len());
        }
        let mut at = 0;
        assert_eq!(varint(&[0x80, 1], &mut at), None);
    }

    #[test]
    fn v2_rotates_type_bits() {
        assert_eq!(LongType::from_bits(1, 0), LongType::Initial);
        assert_eq!(LongType::from_bits(VERSION_2, 1), LongType::Initial);
        assert_eq!(LongType::from_bits(VERSION_2, 0), LongType::Retry);
        assert_eq!(LongType::from_bits(1, 3), LongType::Retry);
    }

    #[test]
    fn frames_crypto_ack_close_and_stop() {
        let p = [0x00, 0x01, 0x02, 0x05, 0x00, 0x00, 0x00, 0x06, 0x00, 0x03, b'a', b'b', b'c', 0x1d, 0x07, 0x00, 0x08];
        let f = parse_frames(&p);
        assert_eq!(f.crypto, vec![(0, &b"abc"[..])]);
        assert_eq!(f.close, Some(7));
        assert_eq!(f.unexpected, Some(8));
    }

    #[test]
    fn version_negotiation_and_truncation() {
        let vn = [0x80, 0, 0, 0, 0, 1, 0xaa, 1, 0xbb, 0, 0, 0, 1, 0x6b, 0x33, 0x43, 0xcf];
        match parse_long(&vn) {
            Some((LongHeader::VersionNegotiation { versions, .. }, _)) => assert_eq!(versions, vec![1, VERSION_2]),
            other => panic!("{other:?}"),
        }
        for n in 0..vn.len() {
            let _ = parse_long(&vn[..n]);
        }
    }
}
