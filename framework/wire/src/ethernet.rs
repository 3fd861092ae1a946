//! Ethernet II frames and 802.1Q / 802.1ad VLAN tags.
//!
//! Invariants: after [`EthernetFrame::new_checked`] (at least 14 bytes) and
//! [`VlanTag::new_checked`] (at least 4 bytes) no accessor can panic. Views
//! borrow the buffer; nothing is copied.
//!
//! Cost: fixed-offset loads, O(1) per header.

use crate::error::{Layer, WireError};
use std::fmt;

/// A 48-bit MAC address.
#[derive(Copy, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EthernetAddress(pub [u8; 6]);

impl fmt::Debug for EthernetAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl fmt::Display for EthernetAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// EtherType values weir knows by name.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum EtherType {
    Ipv4,
    Arp,
    Ipv6,
    /// 802.1Q customer tag, TPID 0x8100.
    Vlan,
    /// 802.1ad service tag, TPID 0x88a8.
    QinQ,
    /// Pre-standard QinQ service tag, TPID 0x9100.
    QinQLegacy,
    /// PPPoE session stage, 0x8864.
    PppoeSession,
    Unknown(u16),
}

impl EtherType {
    /// True for the three TPIDs that introduce a VLAN tag.
    pub const fn is_vlan_tpid(self) -> bool {
        matches!(
            self,
            EtherType::Vlan | EtherType::QinQ | EtherType::QinQLegacy
        )
    }
}

impl From<u16> for EtherType {
    fn from(v: u16) -> Self {
        match v {
            0x0800 => EtherType::Ipv4,
            0x0806 => EtherType::Arp,
            0x86dd => EtherType::Ipv6,
            0x8100 => EtherType::Vlan,
            0x88a8 => EtherType::QinQ,
            0x9100 => EtherType::QinQLegacy,
            0x8864 => EtherType::PppoeSession,
            other => EtherType::Unknown(other),
        }
    }
}

impl From<EtherType> for u16 {
    fn from(v: EtherType) -> u16 {
        match v {
            EtherType::Ipv4 => 0x0800,
            EtherType::Arp => 0x0806,
            EtherType::Ipv6 => 0x86dd,
            EtherType::Vlan => 0x8100,
            EtherType::QinQ => 0x88a8,
            EtherType::QinQLegacy => 0x9100,
            EtherType::PppoeSession => 0x8864,
            EtherType::Unknown(other) => other,
        }
    }
}

mod field {
    pub type Field = core::ops::Range<usize>;
    pub const DESTINATION: Field = 0..6;
    pub const SOURCE: Field = 6..12;
    pub const ETHERTYPE: Field = 12..14;
    pub const PAYLOAD: usize = 14;

    pub const TCI: Field = 0..2;
    pub const TAG_ETHERTYPE: Field = 2..4;
    pub const TAG_PAYLOAD: usize = 4;
}

/// Length of an Ethernet II header.
pub const ETHERNET_HEADER_LEN: usize = field::PAYLOAD;
/// Length of one VLAN tag (TCI + inner EtherType; the TPID is the outer EtherType).
pub const VLAN_TAG_LEN: usize = field::TAG_PAYLOAD;

fn be16(b: &[u8], f: field::Field) -> u16 {
    let s = &b[f];
    u16::from_be_bytes([s[0], s[1]])
}

/// A read/write view of an Ethernet II frame.
#[derive(Debug, Clone)]
pub struct EthernetFrame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> EthernetFrame<T> {
    /// Wraps a buffer without checking it; accessors may panic on short buffers.
    pub const fn new_unchecked(buffer: T) -> Self {
        EthernetFrame { buffer }
    }

    /// Wraps a buffer after checking it holds a full header.
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let f = Self::new_unchecked(buffer);
        f.check_len()?;
        Ok(f)
    }

    pub fn check_len(&self) -> Result<(), WireError> {
        if self.buffer.as_ref().len() < field::PAYLOAD {
            Err(WireError::Truncated(Layer::Ethernet))
        } else {
            Ok(())
        }
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    pub fn dst_addr(&self) -> EthernetAddress {
        let mut a = [0; 6];
        a.copy_from_slice(&self.buffer.as_ref()[field::DESTINATION]);
        EthernetAddress(a)
    }

    pub fn src_addr(&self) -> EthernetAddress {
        let mut a = [0; 6];
        a.copy_from_slice(&self.buffer.as_ref()[field::SOURCE]);
        EthernetAddress(a)
    }

    pub fn ethertype(&self) -> EtherType {
        EtherType::from(be16(self.buffer.as_ref(), field::ETHERTYPE))
    }

    pub fn payload(&self) -> &[u8] {
        self.buffer.as_ref().get(field::PAYLOAD..).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> EthernetFrame<T> {
    pub fn set_dst_addr(&mut self, a: EthernetAddress) {
        self.buffer.as_mut()[field::DESTINATION].copy_from_slice(&a.0);
    }
    pub fn set_src_addr(&mut self, a: EthernetAddress) {
        self.buffer.as_mut()[field::SOURCE].copy_from_slice(&a.0);
    }
    pub fn set_ethertype(&mut self, t: EtherType) {
        self.buffer.as_mut()[field::ETHERTYPE].copy_from_slice(&u16::from(t).to_be_bytes());
    }
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD..]
    }
}

/// High-level form of an Ethernet II header.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct EthernetRepr {
    pub src_addr: EthernetAddress,
    pub dst_addr: EthernetAddress,
    pub ethertype: EtherType,
}

impl EthernetRepr {
    pub fn parse<T: AsRef<[u8]>>(frame: &EthernetFrame<T>) -> Result<Self, WireError> {
        frame.check_len()?;
        Ok(EthernetRepr {
            src_addr: frame.src_addr(),
            dst_addr: frame.dst_addr(),
            ethertype: frame.ethertype(),
        })
    }

    pub const fn buffer_len(&self) -> usize {
        field::PAYLOAD
    }

    /// Writes the header; the buffer must be at least [`Self::buffer_len`] long.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, frame: &mut EthernetFrame<T>) {
        frame.set_src_addr(self.src_addr);
        frame.set_dst_addr(self.dst_addr);
        frame.set_ethertype(self.ethertype);
    }
}

/// A view of one VLAN tag as it follows a VLAN TPID: TCI then the inner EtherType.
#[derive(Debug, Clone)]
pub struct VlanTag<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> VlanTag<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        VlanTag { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let t = Self::new_unchecked(buffer);
        if t.buffer.as_ref().len() < field::TAG_PAYLOAD {
            return Err(WireError::Truncated(Layer::Vlan));
        }
        Ok(t)
    }

    /// Priority code point (3 bits).
    pub fn pcp(&self) -> u8 {
        self.buffer.as_ref()[0] >> 5
    }

    /// Drop eligible indicator.
    pub fn dei(&self) -> bool {
        self.buffer.as_ref()[0] & 0x10 != 0
    }

    /// The 12-bit VLAN identifier.
    pub fn vid(&self) -> u16 {
        be16(self.buffer.as_ref(), field::TCI) & 0x0fff
    }

    pub fn ethertype(&self) -> EtherType {
        EtherType::from(be16(self.buffer.as_ref(), field::TAG_ETHERTYPE))
    }

    pub fn payload(&self) -> &[u8] {
        self.buffer
            .as_ref()
            .get(field::TAG_PAYLOAD..)
            .unwrap_or(&[])
    }
}

/// High-level form of a VLAN tag.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct VlanTagRepr {
    pub pcp: u8,
    pub dei: bool,
    pub vid: u16,
    pub ethertype: EtherType,
}

impl VlanTagRepr {
    pub fn parse<T: AsRef<[u8]>>(tag: &VlanTag<T>) -> Self {
        VlanTagRepr {
            pcp: tag.pcp(),
            dei: tag.dei(),
            vid: tag.vid(),
            ethertype: tag.ethertype(),
        }
    }

    pub const fn buffer_len(&self) -> usize {
        field::TAG_PAYLOAD
    }

    /// Writes the tag into the first four bytes of `buf` (which must be long enough).
    pub fn emit(&self, buf: &mut [u8]) {
        let tci =
            (u16::from(self.pcp & 7) << 13) | (u16::from(self.dei) << 12) | (self.vid & 0x0fff);
        buf[field::TCI].copy_from_slice(&tci.to_be_bytes());
        buf[field::TAG_ETHERTYPE].copy_from_slice(&u16::from(self.ethertype).to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Ethernet header of an IPv4 frame followed by two bytes of payload.
    const FRAME: [u8; 16] = [
        0x00, 0x1b, 0x21, 0x3c, 0x9d, 0xf8, // dst
        0x52, 0x54, 0x00, 0x12, 0x34, 0x56, // src
        0x08, 0x00, // IPv4
        0x45, 0x00,
    ];

    #[test]
    fn parses_fixture() {
        let f = EthernetFrame::new_checked(&FRAME[..]).unwrap();
        assert_eq!(
            f.dst_addr(),
            EthernetAddress([0x00, 0x1b, 0x21, 0x3c, 0x9d, 0xf8])
        );
        assert_eq!(f.src_addr().to_string(), "52:54:00:12:34:56");
        assert_eq!(f.ethertype(), EtherType::Ipv4);
        assert_eq!(f.payload(), &[0x45, 0x00]);
        assert_eq!(
            EthernetFrame::new_checked(&FRAME[..13]).unwrap_err(),
            WireError::Truncated(Layer::Ethernet)
        );
    }

    #[test]
    fn vlan_tag_fields() {
        // PCP 5, DEI 1, VID 0x123, inner IPv6.
        let t = VlanTag::new_checked(&[0xb1, 0x23, 0x86, 0xdd][..]).unwrap();
        assert_eq!(
            (t.pcp(), t.dei(), t.vid(), t.ethertype()),
            (5, true, 0x123, EtherType::Ipv6)
        );
        assert!(VlanTag::new_checked(&[0u8; 3][..]).is_err());
        assert!(EtherType::from(0x9100).is_vlan_tpid() && !EtherType::Ipv4.is_vlan_tpid());
    }

    proptest! {
        #[test]
        fn ethernet_roundtrip(src in any::<[u8; 6]>(), dst in any::<[u8; 6]>(), et in any::<u16>()) {
            let repr = EthernetRepr { src_addr: EthernetAddress(src), dst_addr: EthernetAddress(dst), ethertype: et.into() };
            let mut buf = vec![0u8; repr.buffer_len()];
            repr.emit(&mut EthernetFrame::new_unchecked(&mut buf[..]));
            let parsed = EthernetRepr::parse(&EthernetFrame::new_checked(&buf[..]).unwrap()).unwrap();
            prop_assert_eq!(parsed, repr);
            prop_assert_eq!(u16::from(parsed.ethertype), et);
        }

        #[test]
        fn vlan_roundtrip(pcp in 0u8..8, dei in any::<bool>(), vid in 0u16..4096, et in any::<u16>()) {
            let repr = VlanTagRepr { pcp, dei, vid, ethertype: et.into() };
            let mut buf = [0u8; 4];
            repr.emit(&mut buf);
            prop_assert_eq!(VlanTagRepr::parse(&VlanTag::new_checked(&buf[..]).unwrap()), repr);
        }

        #[test]
        fn views_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            if let Ok(f) = EthernetFrame::new_checked(&bytes[..]) {
                let _ = (f.dst_addr(), f.src_addr(), f.ethertype(), f.payload().len());
            }
            if let Ok(t) = VlanTag::new_checked(&bytes[..]) {
                let _ = (t.pcp(), t.dei(), t.vid(), t.ethertype(), t.payload().len());
            }
        }
    }
}
