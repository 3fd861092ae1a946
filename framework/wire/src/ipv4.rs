//! IPv4 headers (RFC 791), options included.
//!
//! Invariants: [`Ipv4Packet::new_checked`] checks, once, that the buffer holds
//! the fixed header, that the version is 4, that `20 <= IHL*4 <= total length
//! <= buffer length`. Afterwards no accessor can panic: variable-length
//! accessors (`options`, `payload`) also clamp to the buffer, so they stay
//! total even if a setter later rewrites a length field.
//!
//! Cost: fixed-offset loads; [`Ipv4Packet::verify_checksum`] is one pass over
//! the header (20 to 60 bytes).

use crate::checksum;
use crate::error::{Layer, WireError};
use crate::ip::IpProtocol;
use std::net::Ipv4Addr;

mod field {
    pub type Field = core::ops::Range<usize>;
    pub const VER_IHL: usize = 0;
    pub const DSCP_ECN: usize = 1;
    pub const LENGTH: Field = 2..4;
    pub const IDENT: Field = 4..6;
    pub const FLG_OFF: Field = 6..8;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: Field = 10..12;
    pub const SRC_ADDR: Field = 12..16;
    pub const DST_ADDR: Field = 16..20;
    pub const OPTIONS: usize = 20;
}

/// Length of an IPv4 header without options.
pub const IPV4_HEADER_LEN: usize = field::OPTIONS;

/// A read/write view of an IPv4 packet.
#[derive(Debug, Clone)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        Ipv4Packet { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// The validation behind [`Self::new_checked`].
    pub fn check_len(&self) -> Result<(), WireError> {
        let len = self.buffer.as_ref().len();
        if len < field::OPTIONS {
            return Err(WireError::Truncated(Layer::Ipv4));
        }
        if self.version() != 4 {
            return Err(WireError::BadVersion(self.version()));
        }
        let hl = usize::from(self.header_len());
        if hl < field::OPTIONS {
            return Err(WireError::BadHeaderLength(Layer::Ipv4));
        }
        if hl > len {
            return Err(WireError::Truncated(Layer::Ipv4));
        }
        let total = usize::from(self.total_len());
        if total < hl {
            return Err(WireError::BadTotalLength(Layer::Ipv4));
        }
        if total > len {
            return Err(WireError::Truncated(Layer::Ipv4));
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn be16(&self, f: field::Field) -> u16 {
        let b = &self.buffer.as_ref()[f];
        u16::from_be_bytes([b[0], b[1]])
    }

    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// Header length in bytes (IHL * 4), options included.
    pub fn header_len(&self) -> u8 {
        (self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }

    pub fn dscp(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN] >> 2
    }

    pub fn ecn(&self) -> u8 {
        self.buffer.as_ref()[field::DSCP_ECN] & 0x03
    }

    pub fn total_len(&self) -> u16 {
        self.be16(field::LENGTH)
    }

    pub fn ident(&self) -> u16 {
        self.be16(field::IDENT)
    }

    pub fn dont_frag(&self) -> bool {
        self.be16(field::FLG_OFF) & 0x4000 != 0
    }

    pub fn more_frags(&self) -> bool {
        self.be16(field::FLG_OFF) & 0x2000 != 0
    }

    /// Fragment offset in bytes.
    pub fn frag_offset(&self) -> u16 {
        (self.be16(field::FLG_OFF) & 0x1fff) << 3
    }

    /// True for a real fragment (MF set or non-zero offset).
    pub fn is_fragment(&self) -> bool {
        self.more_frags() || self.frag_offset() != 0
    }

    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::PROTOCOL])
    }

    pub fn checksum(&self) -> u16 {
        self.be16(field::CHECKSUM)
    }

    pub fn src_addr(&self) -> Ipv4Addr {
        let b = &self.buffer.as_ref()[field::SRC_ADDR];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }

    pub fn dst_addr(&self) -> Ipv4Addr {
        let b = &self.buffer.as_ref()[field::DST_ADDR];
        Ipv4Addr::new(b[0], b[1], b[2], b[3])
    }

    /// The option bytes between the fixed header and the payload.
    pub fn options(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        let end = usize::from(self.header_len()).min(b.len());
        b.get(field::OPTIONS..end).unwrap_or(&[])
    }

    /// True when the header checksum verifies.
    pub fn verify_checksum(&self) -> bool {
        let b = self.buffer.as_ref();
        let end = usize::from(self.header_len()).min(b.len());
        b.get(..end).is_some_and(|h| !checksum::data(h) == 0)
    }

    /// The payload, cut to the total length (link-layer padding removed).
    pub fn payload(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        let end = usize::from(self.total_len()).min(b.len());
        let start = usize::from(self.header_len()).min(end);
        b.get(start..end).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    fn set_be16(&mut self, f: field::Field, v: u16) {
        self.buffer.as_mut()[f].copy_from_slice(&v.to_be_bytes());
    }

    pub fn set_version_and_header_len(&mut self, header_len: u8) {
        self.buffer.as_mut()[field::VER_IHL] = 0x40 | ((header_len / 4) & 0x0f);
    }
    pub fn set_dscp_ecn(&mut self, dscp: u8, ecn: u8) {
        self.buffer.as_mut()[field::DSCP_ECN] = (dscp << 2) | (ecn & 3);
    }
    pub fn set_total_len(&mut self, v: u16) {
        self.set_be16(field::LENGTH, v)
    }
    pub fn set_ident(&mut self, v: u16) {
        self.set_be16(field::IDENT, v)
    }
    /// Sets DF, MF and the offset (bytes, must be a multiple of 8).
    pub fn set_flags_and_offset(&mut self, dont_frag: bool, more_frags: bool, offset: u16) {
        let v =
            (u16::from(dont_frag) << 14) | (u16::from(more_frags) << 13) | ((offset >> 3) & 0x1fff);
        self.set_be16(field::FLG_OFF, v)
    }
    pub fn set_hop_limit(&mut self, v: u8) {
        self.buffer.as_mut()[field::TTL] = v;
    }
    pub fn set_next_header(&mut self, p: IpProtocol) {
        self.buffer.as_mut()[field::PROTOCOL] = p.into();
    }
    pub fn set_checksum(&mut self, v: u16) {
        self.set_be16(field::CHECKSUM, v)
    }
    pub fn set_src_addr(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&a.octets());
    }
    pub fn set_dst_addr(&mut self, a: Ipv4Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&a.octets());
    }
    /// Computes and stores the header checksum.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let hl = usize::from(self.header_len());
        let sum = !checksum::data(&self.buffer.as_ref()[..hl]);
        self.set_checksum(sum);
    }
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let hl = usize::from(self.header_len());
        &mut self.buffer.as_mut()[hl..]
    }
}

/// High-level form of an IPv4 header without options.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Ipv4Repr {
    pub src_addr: Ipv4Addr,
    pub dst_addr: Ipv4Addr,
    pub next_header: IpProtocol,
    pub payload_len: usize,
    pub hop_limit: u8,
    pub ident: u16,
    pub dont_frag: bool,
    pub more_frags: bool,
    /// Fragment offset in bytes (multiple of 8).
    pub frag_offset: u16,
}

impl Ipv4Repr {
    /// Parses a checked packet; options are skipped (see [`Ipv4Packet::options`]).
    pub fn parse<T: AsRef<[u8]>>(packet: &Ipv4Packet<T>) -> Result<Self, WireError> {
        packet.check_len()?;
        Ok(Ipv4Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            next_header: packet.next_header(),
            payload_len: packet.payload().len(),
            hop_limit: packet.hop_limit(),
            ident: packet.ident(),
            dont_frag: packet.dont_frag(),
            more_frags: packet.more_frags(),
            frag_offset: packet.frag_offset(),
        })
    }

    /// Header length emitted (no options).
    pub const fn buffer_len(&self) -> usize {
        field::OPTIONS
    }

    /// Writes the header with a valid checksum. The buffer must hold at least
    /// [`Self::buffer_len`] bytes; the payload is not touched.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Ipv4Packet<T>) {
        packet.set_version_and_header_len(field::OPTIONS as u8);
        packet.set_dscp_ecn(0, 0);
        let total = self.payload_len.saturating_add(field::OPTIONS);
        packet.set_total_len(u16::try_from(total).unwrap_or(u16::MAX));
        packet.set_ident(self.ident);
        packet.set_flags_and_offset(self.dont_frag, self.more_frags, self.frag_offset);
        packet.set_hop_limit(self.hop_limit);
        packet.set_next_header(self.next_header);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
        packet.fill_checksum();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// IPv4 + UDP header (DNS query 10.0.0.1 -> 8.8.8.8), total length 28, checksum valid.
    const PLAIN: [u8; 28] = [
        0x45, 0x00, 0x00, 0x1c, 0x1c, 0x46, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0x0a, 0x00, 0x00,
        0x01, 0x08, 0x08, 0x08, 0x08, // header
        0x30, 0x39, 0x00, 0x35, 0x00, 0x08, 0x00, 0x00, // UDP
    ];

    fn with_checksum(mut b: Vec<u8>) -> Vec<u8> {
        Ipv4Packet::new_unchecked(&mut b[..]).fill_checksum();
        b
    }

    #[test]
    fn parses_plain_header() {
        let b = with_checksum(PLAIN.to_vec());
        let p = Ipv4Packet::new_checked(&b[..]).unwrap();
        assert!(p.verify_checksum());
        assert_eq!(p.src_addr(), Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(p.dst_addr(), Ipv4Addr::new(8, 8, 8, 8));
        assert_eq!(p.next_header(), IpProtocol::Udp);
        assert_eq!((p.header_len(), p.total_len(), p.ident()), (20, 28, 0x1c46));
        assert!(p.dont_frag() && !p.more_frags() && !p.is_fragment());
        assert_eq!(p.payload().len(), 8);
        assert!(p.options().is_empty());
    }

    #[test]
    fn options_and_padding() {
        // IHL 6: one 4-byte option (router alert 94 04 00 00), then 4 payload
        // bytes and 3 bytes of Ethernet padding beyond the total length.
        let mut b = vec![
            0x46, 0x00, 0x00, 0x1c, 0x00, 0x01, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xe0, 0x00, 0x00, 0x16, 0x94, 0x04, 0x00, 0x00, 1, 2, 3, 4, 0xee, 0xee,
            0xee,
        ];
        b = with_checksum(b);
        let p = Ipv4Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.header_len(), 24);
        assert_eq!(p.options(), &[0x94, 0x04, 0x00, 0x00]);
        assert_eq!(p.payload(), &[1, 2, 3, 4]);
        assert!(p.verify_checksum());
        b[21] ^= 0x01; // corrupt an option byte
        assert!(!Ipv4Packet::new_checked(&b[..]).unwrap().verify_checksum());
    }

    #[test]
    fn fragment_fields() {
        let mut b = PLAIN.to_vec();
        b[6] = 0x20; // MF, offset 0x0b9 * 8
        b[7] = 0xb9;
        let p = Ipv4Packet::new_checked(&b[..]).unwrap();
        assert!(p.more_frags() && !p.dont_frag() && p.is_fragment());
        assert_eq!(p.frag_offset(), 0xb9 * 8);
    }

    #[test]
    fn rejects_bad_lengths() {
        let err = |b: &[u8]| Ipv4Packet::new_checked(b).unwrap_err();
        assert_eq!(err(&PLAIN[..19]), WireError::Truncated(Layer::Ipv4));
        let mut b = PLAIN;
        b[0] = 0x44;
        assert_eq!(err(&b), WireError::BadHeaderLength(Layer::Ipv4));
        b[0] = 0x65;
        assert_eq!(err(&b), WireError::BadVersion(6));
        b[0] = 0x4f; // 60-byte header in a 28-byte buffer
        assert_eq!(err(&b), WireError::Truncated(Layer::Ipv4));
        let mut b = PLAIN;
        b[3] = 19;
        assert_eq!(err(&b), WireError::BadTotalLength(Layer::Ipv4));
        b[3] = 29;
        assert_eq!(err(&b), WireError::Truncated(Layer::Ipv4));
    }

    proptest! {
        #[test]
        fn roundtrip(src in any::<[u8; 4]>(), dst in any::<[u8; 4]>(), proto in any::<u8>(),
                     len in 0usize..100, ttl in any::<u8>(), ident in any::<u16>(), df in any::<bool>(),
                     mf in any::<bool>(), off in 0u16..0x2000) {
            let repr = Ipv4Repr {
                src_addr: src.into(), dst_addr: dst.into(), next_header: proto.into(), payload_len: len,
                hop_limit: ttl, ident, dont_frag: df, more_frags: mf, frag_offset: off * 8,
            };
            let mut buf = vec![0u8; repr.buffer_len() + len];
            repr.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]));
            let p = Ipv4Packet::new_checked(&buf[..]).unwrap();
            prop_assert!(p.verify_checksum());
            prop_assert_eq!(Ipv4Repr::parse(&p).unwrap(), repr);
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(p) = Ipv4Packet::new_checked(&bytes[..]) {
                let _ = (p.version(), p.header_len(), p.dscp(), p.ecn(), p.total_len(), p.ident(),
                         p.dont_frag(), p.more_frags(), p.frag_offset(), p.hop_limit(), p.next_header(),
                         p.checksum(), p.src_addr(), p.dst_addr(), p.options().len(), p.payload().len(),
                         p.verify_checksum());
                prop_assert!(Ipv4Repr::parse(&p).is_ok());
            }
        }
    }
}
