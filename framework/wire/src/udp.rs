//! UDP datagrams (RFC 768).
//!
//! Invariants: [`UdpPacket::new_checked`] checks, once, that the buffer holds
//! the 8-byte header and that `8 <= length <= buffer length`; afterwards no
//! accessor can panic and [`UdpPacket::payload`] is cut to the UDP length.
//!
//! Cost: fixed-offset loads; checksum verification is one pass over the datagram.

use crate::checksum;
use crate::error::{Layer, WireError};
use std::net::IpAddr;

mod field {
    pub type Field = core::ops::Range<usize>;
    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
    pub const LENGTH: Field = 4..6;
    pub const CHECKSUM: Field = 6..8;
    pub const PAYLOAD: usize = 8;
}

/// Length of a UDP header.
pub const UDP_HEADER_LEN: usize = field::PAYLOAD;

/// A read/write view of a UDP datagram.
#[derive(Debug, Clone)]
pub struct UdpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> UdpPacket<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        UdpPacket { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    pub fn check_len(&self) -> Result<(), WireError> {
        let len = self.buffer.as_ref().len();
        if len < field::PAYLOAD {
            return Err(WireError::Truncated(Layer::Udp));
        }
        let ul = usize::from(self.len());
        if ul < field::PAYLOAD {
            return Err(WireError::BadTotalLength(Layer::Udp));
        }
        if ul > len {
            return Err(WireError::Truncated(Layer::Udp));
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

    pub fn src_port(&self) -> u16 {
        self.be16(field::SRC_PORT)
    }
    pub fn dst_port(&self) -> u16 {
        self.be16(field::DST_PORT)
    }
    /// The length field: header plus payload.
    pub fn len(&self) -> u16 {
        self.be16(field::LENGTH)
    }
    /// True when the length field says there is no payload.
    pub fn is_empty(&self) -> bool {
        usize::from(self.len()) <= field::PAYLOAD
    }
    pub fn checksum(&self) -> u16 {
        self.be16(field::CHECKSUM)
    }

    /// The payload, cut to the UDP length.
    pub fn payload(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        let end = usize::from(self.len()).min(b.len());
        b.get(field::PAYLOAD..end).unwrap_or(&[])
    }

    /// True when the checksum verifies over the UDP length with the pseudo-header.
    /// A zero checksum field means "none" over IPv4; callers decide what that means.
    pub fn verify_checksum(&self, src: IpAddr, dst: IpAddr) -> bool {
        let b = self.buffer.as_ref();
        let end = usize::from(self.len()).min(b.len());
        checksum::verify_transport(src, dst, 17, b.get(..end).unwrap_or(&[]))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> UdpPacket<T> {
    fn set_be16(&mut self, f: field::Field, v: u16) {
        self.buffer.as_mut()[f].copy_from_slice(&v.to_be_bytes());
    }
    pub fn set_src_port(&mut self, v: u16) {
        self.set_be16(field::SRC_PORT, v)
    }
    pub fn set_dst_port(&mut self, v: u16) {
        self.set_be16(field::DST_PORT, v)
    }
    pub fn set_len(&mut self, v: u16) {
        self.set_be16(field::LENGTH, v)
    }
    pub fn set_checksum(&mut self, v: u16) {
        self.set_be16(field::CHECKSUM, v)
    }
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD..]
    }
    /// Computes the checksum over the UDP length and stores it (0 is sent as 0xffff).
    pub fn fill_checksum(&mut self, src: IpAddr, dst: IpAddr) {
        self.set_checksum(0);
        let end = usize::from(self.len());
        let c = checksum::transport(src, dst, 17, &self.buffer.as_ref()[..end]);
        self.set_checksum(if c == 0 { 0xffff } else { c });
    }
}

/// High-level form of a UDP datagram.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct UdpRepr<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub payload: &'a [u8],
}

impl<'a> UdpRepr<'a> {
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &'a UdpPacket<&'a T>) -> Result<Self, WireError> {
        packet.check_len()?;
        Ok(UdpRepr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            payload: packet.payload(),
        })
    }

    pub fn buffer_len(&self) -> usize {
        field::PAYLOAD + self.payload.len()
    }

    /// Writes header, payload and checksum; the buffer must be [`Self::buffer_len`] long
    /// and the payload at most 65527 bytes.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut UdpPacket<T>,
        src: IpAddr,
        dst: IpAddr,
    ) {
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_len(u16::try_from(self.buffer_len()).unwrap_or(u16::MAX));
        packet.payload_mut()[..self.payload.len()].copy_from_slice(self.payload);
        packet.fill_checksum(src, dst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// DNS query header: 51234 -> 53, length 12 (4 payload bytes), plus 2 padding bytes.
    const DGRAM: [u8; 14] = [
        0xc8, 0x22, 0x00, 0x35, 0x00, 0x0c, 0x00, 0x00, 0xab, 0xcd, 0x01, 0x00, 0xee, 0xee,
    ];

    #[test]
    fn parses_fixture() {
        let p = UdpPacket::new_checked(&DGRAM[..]).unwrap();
        assert_eq!((p.src_port(), p.dst_port(), p.len()), (51234, 53, 12));
        assert_eq!(p.payload(), &[0xab, 0xcd, 0x01, 0x00]);
        assert_eq!(
            UdpPacket::new_checked(&DGRAM[..7]).unwrap_err(),
            WireError::Truncated(Layer::Udp)
        );
        assert_eq!(
            UdpPacket::new_checked(&DGRAM[..11]).unwrap_err(),
            WireError::Truncated(Layer::Udp)
        );
        let mut b = DGRAM;
        b[5] = 7;
        assert_eq!(
            UdpPacket::new_checked(&b[..]).unwrap_err(),
            WireError::BadTotalLength(Layer::Udp)
        );
    }

    #[test]
    fn checksum_good_and_bad() {
        let (src, dst): (IpAddr, IpAddr) =
            ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let mut b = DGRAM;
        UdpPacket::new_unchecked(&mut b[..]).fill_checksum(src, dst);
        assert!(UdpPacket::new_checked(&b[..])
            .unwrap()
            .verify_checksum(src, dst));
        b[13] = 0x55; // padding is outside the UDP length: still good
        assert!(UdpPacket::new_checked(&b[..])
            .unwrap()
            .verify_checksum(src, dst));
        b[9] ^= 0xff;
        assert!(!UdpPacket::new_checked(&b[..])
            .unwrap()
            .verify_checksum(src, dst));
    }

    fn addr() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<[u8; 4]>().prop_map(IpAddr::from),
            any::<[u8; 16]>().prop_map(IpAddr::from)
        ]
    }

    proptest! {
        #[test]
        fn roundtrip(sp in any::<u16>(), dp in any::<u16>(), payload in proptest::collection::vec(any::<u8>(), 0..64),
                     src in addr(), dst in addr()) {
            let repr = UdpRepr { src_port: sp, dst_port: dp, payload: &payload };
            let mut buf = vec![0u8; repr.buffer_len()];
            repr.emit(&mut UdpPacket::new_unchecked(&mut buf[..]), src, dst);
            let p = UdpPacket::new_checked(&buf[..]).unwrap();
            prop_assert!(p.verify_checksum(src, dst));
            prop_assert_ne!(p.checksum(), 0);
            prop_assert_eq!(UdpRepr::parse(&p).unwrap(), repr);
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            if let Ok(p) = UdpPacket::new_checked(&bytes[..]) {
                let _ = (p.src_port(), p.dst_port(), p.len(), p.is_empty(), p.checksum(), p.payload().len());
            }
        }
    }
}
