//! IPv6 headers (RFC 8200) and a bounded walk over extension headers.
//!
//! Invariants: [`Ipv6Packet::new_checked`] checks, once, that the buffer holds
//! the 40-byte header, the version is 6 and `40 + payload length <= buffer
//! length`; afterwards no accessor can panic. [`walk_extension_headers`]
//! visits at most [`MAX_EXTENSION_HEADERS`] headers and checks every length
//! before slicing, so it always terminates and never panics.
//!
//! Cost: fixed-offset loads for the header; the walk is O(number of
//! extension headers) (usually zero) and reads two bytes per header
//! (eight for a fragment header).

use crate::error::{Layer, WireError};
use crate::ip::{Fragment, IpProtocol};
use std::net::Ipv6Addr;

/// Most extension headers [`walk_extension_headers`] follows before giving up
/// with [`WireError::TooManyExtensionHeaders`].
pub const MAX_EXTENSION_HEADERS: usize = 8;

mod field {
    pub type Field = core::ops::Range<usize>;
    pub const VER_TC_FLOW: Field = 0..4;
    pub const LENGTH: Field = 4..6;
    pub const NXT_HDR: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC_ADDR: Field = 8..24;
    pub const DST_ADDR: Field = 24..40;
    pub const PAYLOAD: usize = 40;

    // Fragment extension header.
    pub const FRAG_NXT_HDR: usize = 0;
    pub const FRAG_OFF_M: Field = 2..4;
    pub const FRAG_IDENT: Field = 4..8;
    pub const FRAG_LEN: usize = 8;
}

/// Length of the fixed IPv6 header.
pub const IPV6_HEADER_LEN: usize = field::PAYLOAD;
/// Length of an IPv6 fragment extension header.
pub const IPV6_FRAGMENT_HEADER_LEN: usize = field::FRAG_LEN;

fn addr(b: &[u8]) -> Ipv6Addr {
    let mut a = [0u8; 16];
    a.copy_from_slice(b);
    Ipv6Addr::from(a)
}

/// A read/write view of an IPv6 packet.
#[derive(Debug, Clone)]
pub struct Ipv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv6Packet<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        Ipv6Packet { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    pub fn check_len(&self) -> Result<(), WireError> {
        let len = self.buffer.as_ref().len();
        if len < field::PAYLOAD {
            return Err(WireError::Truncated(Layer::Ipv6));
        }
        if self.version() != 6 {
            return Err(WireError::BadVersion(self.version()));
        }
        if field::PAYLOAD + usize::from(self.payload_len()) > len {
            return Err(WireError::Truncated(Layer::Ipv6));
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn word0(&self) -> u32 {
        let b = &self.buffer.as_ref()[field::VER_TC_FLOW];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[0] >> 4
    }

    pub fn traffic_class(&self) -> u8 {
        (self.word0() >> 20) as u8
    }

    pub fn flow_label(&self) -> u32 {
        self.word0() & 0x000f_ffff
    }

    pub fn payload_len(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::LENGTH];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Next header right after the fixed header (maybe an extension header).
    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::NXT_HDR])
    }

    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::HOP_LIMIT]
    }

    pub fn src_addr(&self) -> Ipv6Addr {
        addr(&self.buffer.as_ref()[field::SRC_ADDR])
    }

    pub fn dst_addr(&self) -> Ipv6Addr {
        addr(&self.buffer.as_ref()[field::DST_ADDR])
    }

    /// Bytes after the fixed header, cut to the payload length (extension headers included).
    pub fn payload(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        let end = (field::PAYLOAD + usize::from(self.payload_len())).min(b.len());
        b.get(field::PAYLOAD..end).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6Packet<T> {
    pub fn set_version_tc_flow(&mut self, traffic_class: u8, flow_label: u32) {
        let w = (6u32 << 28) | (u32::from(traffic_class) << 20) | (flow_label & 0x000f_ffff);
        self.buffer.as_mut()[field::VER_TC_FLOW].copy_from_slice(&w.to_be_bytes());
    }
    pub fn set_payload_len(&mut self, v: u16) {
        self.buffer.as_mut()[field::LENGTH].copy_from_slice(&v.to_be_bytes());
    }
    pub fn set_next_header(&mut self, p: IpProtocol) {
        self.buffer.as_mut()[field::NXT_HDR] = p.into();
    }
    pub fn set_hop_limit(&mut self, v: u8) {
        self.buffer.as_mut()[field::HOP_LIMIT] = v;
    }
    pub fn set_src_addr(&mut self, a: Ipv6Addr) {
        self.buffer.as_mut()[field::SRC_ADDR].copy_from_slice(&a.octets());
    }
    pub fn set_dst_addr(&mut self, a: Ipv6Addr) {
        self.buffer.as_mut()[field::DST_ADDR].copy_from_slice(&a.octets());
    }
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[field::PAYLOAD..]
    }
}

/// High-level form of the fixed IPv6 header.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Ipv6Repr {
    pub src_addr: Ipv6Addr,
    pub dst_addr: Ipv6Addr,
    pub next_header: IpProtocol,
    pub payload_len: usize,
    pub hop_limit: u8,
}

impl Ipv6Repr {
    pub fn parse<T: AsRef<[u8]>>(packet: &Ipv6Packet<T>) -> Result<Self, WireError> {
        packet.check_len()?;
        Ok(Ipv6Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            next_header: packet.next_header(),
            payload_len: usize::from(packet.payload_len()),
            hop_limit: packet.hop_limit(),
        })
    }

    pub const fn buffer_len(&self) -> usize {
        field::PAYLOAD
    }

    /// Writes the fixed header (traffic class and flow label zero).
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Ipv6Packet<T>) {
        packet.set_version_tc_flow(0, 0);
        packet.set_payload_len(u16::try_from(self.payload_len).unwrap_or(u16::MAX));
        packet.set_next_header(self.next_header);
        packet.set_hop_limit(self.hop_limit);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
    }
}

/// A view of an IPv6 fragment extension header (RFC 8200 §4.5).
#[derive(Debug, Clone)]
pub struct Ipv6FragmentHeader<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv6FragmentHeader<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        Ipv6FragmentHeader { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        if buffer.as_ref().len() < field::FRAG_LEN {
            return Err(WireError::Truncated(Layer::Ipv6Ext));
        }
        Ok(Self::new_unchecked(buffer))
    }

    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[field::FRAG_NXT_HDR])
    }

    fn off_m(&self) -> u16 {
        let b = &self.buffer.as_ref()[field::FRAG_OFF_M];
        u16::from_be_bytes([b[0], b[1]])
    }

    /// Fragment offset in bytes.
    pub fn frag_offset(&self) -> u16 {
        self.off_m() & 0xfff8
    }

    pub fn more_frags(&self) -> bool {
        self.off_m() & 1 != 0
    }

    pub fn ident(&self) -> u32 {
        let b = &self.buffer.as_ref()[field::FRAG_IDENT];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }
}

/// High-level form of an IPv6 fragment header.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Ipv6FragmentRepr {
    pub next_header: IpProtocol,
    /// Offset in bytes (multiple of 8).
    pub frag_offset: u16,
    pub more_frags: bool,
    pub ident: u32,
}

impl Ipv6FragmentRepr {
    pub fn parse<T: AsRef<[u8]>>(h: &Ipv6FragmentHeader<T>) -> Self {
        Ipv6FragmentRepr {
            next_header: h.next_header(),
            frag_offset: h.frag_offset(),
            more_frags: h.more_frags(),
            ident: h.ident(),
        }
    }

    pub const fn buffer_len(&self) -> usize {
        field::FRAG_LEN
    }

    /// Writes the 8-byte header at the start of `buf` (which must be long enough).
    pub fn emit(&self, buf: &mut [u8]) {
        buf[field::FRAG_NXT_HDR] = self.next_header.into();
        buf[1] = 0;
        let off_m = (self.frag_offset & 0xfff8) | u16::from(self.more_frags);
        buf[field::FRAG_OFF_M].copy_from_slice(&off_m.to_be_bytes());
        buf[field::FRAG_IDENT].copy_from_slice(&self.ident.to_be_bytes());
    }
}

/// A view of a generic IPv6 extension header (hop-by-hop, routing,
/// destination options: length in 8-octet units; AH: length in 4-octet units).
#[derive(Debug, Clone)]
pub struct Ipv6ExtHeader<T: AsRef<[u8]>> {
    buffer: T,
    /// True for an Authentication Header, whose length field counts 4-octet units.
    ah: bool,
}

impl<T: AsRef<[u8]>> Ipv6ExtHeader<T> {
    /// Wraps a buffer without checking it; `ah` selects the AH length rule.
    pub const fn new_unchecked(buffer: T, ah: bool) -> Self {
        Ipv6ExtHeader { buffer, ah }
    }

    /// Wraps a buffer after checking it holds the whole header its length field announces.
    pub fn new_checked(buffer: T, ah: bool) -> Result<Self, WireError> {
        let h = Self::new_unchecked(buffer, ah);
        let len = h.buffer.as_ref().len();
        if len < 2 || h.header_len() > len {
            return Err(WireError::Truncated(Layer::Ipv6Ext));
        }
        Ok(h)
    }

    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(self.buffer.as_ref()[0])
    }

    /// The whole header's length in bytes.
    pub fn header_len(&self) -> usize {
        let units = usize::from(self.buffer.as_ref()[1]);
        if self.ah {
            (units + 2) * 4
        } else {
            (units + 1) * 8
        }
    }

    /// The header's data after the next-header and length bytes (options, routing data, ...).
    pub fn data(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        let end = self.header_len().min(b.len());
        b.get(2..end).unwrap_or(&[])
    }
}

/// Result of walking the extension headers after the fixed IPv6 header.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ExtensionWalk {
    /// The upper-layer protocol (for a real fragment: the fragment header's next header).
    pub protocol: IpProtocol,
    /// Bytes of extension headers walked (the upper-layer data starts here).
    pub ext_len: usize,
    /// Set when a fragment header makes this a real fragment.
    pub fragment: Option<Fragment>,
    /// Number of extension headers seen.
    pub count: usize,
}

/// True for the next-header values this walk treats as extension headers.
pub const fn is_extension_header(p: IpProtocol) -> bool {
    matches!(
        p,
        IpProtocol::HopByHop
            | IpProtocol::Ipv6Route
            | IpProtocol::Ipv6Frag
            | IpProtocol::Ipv6Opts
            | IpProtocol::Ah
    )
}

/// Walks the extension headers at the start of `payload`, starting with
/// next-header value `first`.
///
/// Stops at the first non-extension protocol, at "no next header" (59), or at
/// a fragment header that makes the datagram a real fragment (offset != 0 or
/// M set), whose data cannot be walked further. An atomic fragment header
/// (offset 0, M clear) is skipped like any other header.
pub fn walk_extension_headers(
    first: IpProtocol,
    payload: &[u8],
) -> Result<ExtensionWalk, WireError> {
    let mut next = first;
    let mut off = 0usize;
    let mut count = 0usize;
    while is_extension_header(next) {
        if count == MAX_EXTENSION_HEADERS {
            return Err(WireError::TooManyExtensionHeaders);
        }
        count += 1;
        let rest = payload.get(off..).unwrap_or(&[]);
        if next == IpProtocol::Ipv6Frag {
            let h = Ipv6FragmentHeader::new_checked(rest)?;
            off += field::FRAG_LEN;
            if h.frag_offset() != 0 || h.more_frags() {
                let fragment = Fragment {
                    id: h.ident(),
                    offset: u32::from(h.frag_offset()),
                    more: h.more_frags(),
                };
                return Ok(ExtensionWalk {
                    protocol: h.next_header(),
                    ext_len: off,
                    fragment: Some(fragment),
                    count,
                });
            }
            next = h.next_header();
            continue;
        }
        // RFC 4302: AH counts 4-octet units (minus 2), the others 8-octet units (minus 1).
        let h = Ipv6ExtHeader::new_checked(rest, next == IpProtocol::Ah)?;
        off += h.header_len();
        next = h.next_header();
    }
    Ok(ExtensionWalk {
        protocol: next,
        ext_len: off,
        fragment: None,
        count,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// IPv6 header 2001:db8::1 -> 2001:db8::2, next header TCP, payload length 0.
    const HDR: [u8; 40] = [
        0x60, 0x0a, 0xbc, 0xde, 0x00, 0x00, 0x06, 0x40, // ver/tc/flow, len, nh, hlim
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, //
        0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02,
    ];

    #[test]
    fn parses_fixed_header() {
        let p = Ipv6Packet::new_checked(&HDR[..]).unwrap();
        assert_eq!(p.version(), 6);
        assert_eq!(p.traffic_class(), 0x00);
        assert_eq!(p.flow_label(), 0xabcde);
        assert_eq!(p.next_header(), IpProtocol::Tcp);
        assert_eq!(p.hop_limit(), 64);
        assert_eq!(p.src_addr(), "2001:db8::1".parse::<Ipv6Addr>().unwrap());
        assert_eq!(p.dst_addr(), "2001:db8::2".parse::<Ipv6Addr>().unwrap());
        assert!(p.payload().is_empty());
        let mut b = HDR.to_vec();
        b[5] = 4; // payload length 4 with no bytes behind it
        assert_eq!(
            Ipv6Packet::new_checked(&b[..]).unwrap_err(),
            WireError::Truncated(Layer::Ipv6)
        );
        b[0] = 0x40;
        assert_eq!(
            Ipv6Packet::new_checked(&b[..]).unwrap_err(),
            WireError::BadVersion(4)
        );
    }

    #[test]
    fn walks_each_extension_header() {
        // hop-by-hop (8 bytes, PadN) -> routing (type 0, 24 bytes) -> destination options (8)
        // -> AH (len 4 => 24 bytes) -> TCP
        let mut p = vec![43, 0, 1, 4, 0, 0, 0, 0];
        p.extend_from_slice(&[60, 2, 0, 0, 0, 0, 0, 0]);
        p.extend_from_slice(&[0u8; 16]);
        p.extend_from_slice(&[51, 0, 1, 4, 0, 0, 0, 0]);
        p.extend_from_slice(&[6, 4, 0, 0]);
        p.extend_from_slice(&[0u8; 20]);
        p.extend_from_slice(b"TCP...");
        let w = walk_extension_headers(IpProtocol::HopByHop, &p).unwrap();
        assert_eq!(w.protocol, IpProtocol::Tcp);
        assert_eq!(w.ext_len, 8 + 24 + 8 + 24);
        assert_eq!(w.count, 4);
        assert_eq!(&p[w.ext_len..], b"TCP...");
        assert!(w.fragment.is_none());
        // Cut inside the AH header.
        assert_eq!(
            walk_extension_headers(IpProtocol::HopByHop, &p[..50]).unwrap_err(),
            WireError::Truncated(Layer::Ipv6Ext)
        );
    }

    #[test]
    fn generic_extension_header_view() {
        let h = Ipv6ExtHeader::new_checked(
            &[6u8, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14][..],
            false,
        )
        .unwrap();
        assert_eq!(
            (h.next_header(), h.header_len(), h.data().len()),
            (IpProtocol::Tcp, 16, 14)
        );
        let ah =
            Ipv6ExtHeader::new_checked(&[17u8, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1][..], true).unwrap();
        assert_eq!((ah.next_header(), ah.header_len()), (IpProtocol::Udp, 12));
        assert!(Ipv6ExtHeader::new_checked(&[6u8, 1, 0, 0, 0, 0, 0, 0][..], false).is_err());
        assert!(Ipv6ExtHeader::new_checked(&[6u8][..], false).is_err());
    }

    #[test]
    fn no_next_header_stops() {
        let p = [59u8, 0, 1, 4, 0, 0, 0, 0, 0xaa];
        let w = walk_extension_headers(IpProtocol::Ipv6Opts, &p).unwrap();
        assert_eq!((w.protocol, w.ext_len), (IpProtocol::Ipv6NoNxt, 8));
    }

    #[test]
    fn fragment_headers() {
        // Atomic fragment: offset 0, M clear -> walked through, not a fragment.
        let atomic = [17u8, 0, 0x00, 0x00, 0xde, 0xad, 0xbe, 0xef, 0x11];
        let w = walk_extension_headers(IpProtocol::Ipv6Frag, &atomic).unwrap();
        assert_eq!(
            (w.protocol, w.ext_len, w.fragment),
            (IpProtocol::Udp, 8, None)
        );
        // First fragment: offset 0, M set.
        let first = [17u8, 0, 0x00, 0x01, 0xde, 0xad, 0xbe, 0xef, 0x11];
        let w = walk_extension_headers(IpProtocol::Ipv6Frag, &first).unwrap();
        assert_eq!(
            w.fragment,
            Some(Fragment {
                id: 0xdeadbeef,
                offset: 0,
                more: true
            })
        );
        assert_eq!(w.protocol, IpProtocol::Udp);
        // Later fragment: offset 1448, M clear.
        let later = [17u8, 0, 0x05, 0xa8, 0, 0, 0, 7];
        let w = walk_extension_headers(IpProtocol::Ipv6Frag, &later).unwrap();
        assert_eq!(
            w.fragment,
            Some(Fragment {
                id: 7,
                offset: 1448,
                more: false
            })
        );
        assert_eq!(
            walk_extension_headers(IpProtocol::Ipv6Frag, &later[..7]).unwrap_err(),
            WireError::Truncated(Layer::Ipv6Ext)
        );
    }

    #[test]
    fn bounded_walk() {
        let mut p = Vec::new();
        for _ in 0..MAX_EXTENSION_HEADERS {
            p.extend_from_slice(&[60, 0, 1, 4, 0, 0, 0, 0]);
        }
        assert_eq!(
            walk_extension_headers(IpProtocol::Ipv6Opts, &p).unwrap_err(),
            WireError::TooManyExtensionHeaders
        );
        let last = p.len() - 8;
        p[last] = 6;
        assert_eq!(
            walk_extension_headers(IpProtocol::Ipv6Opts, &p)
                .unwrap()
                .protocol,
            IpProtocol::Tcp
        );
    }

    proptest! {
        #[test]
        fn roundtrip(src in any::<[u8; 16]>(), dst in any::<[u8; 16]>(), nh in any::<u8>(), len in 0usize..64, hl in any::<u8>()) {
            let repr = Ipv6Repr { src_addr: src.into(), dst_addr: dst.into(), next_header: nh.into(), payload_len: len, hop_limit: hl };
            let mut buf = vec![0u8; repr.buffer_len() + len];
            repr.emit(&mut Ipv6Packet::new_unchecked(&mut buf[..]));
            prop_assert_eq!(Ipv6Repr::parse(&Ipv6Packet::new_checked(&buf[..]).unwrap()).unwrap(), repr);
        }

        #[test]
        fn fragment_roundtrip(nh in any::<u8>(), off in 0u16..0x2000, m in any::<bool>(), id in any::<u32>()) {
            let repr = Ipv6FragmentRepr { next_header: nh.into(), frag_offset: off * 8, more_frags: m, ident: id };
            let mut buf = [0u8; 8];
            repr.emit(&mut buf);
            prop_assert_eq!(Ipv6FragmentRepr::parse(&Ipv6FragmentHeader::new_checked(&buf[..]).unwrap()), repr);
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..120), first in any::<u8>()) {
            if let Ok(p) = Ipv6Packet::new_checked(&bytes[..]) {
                let _ = (p.version(), p.traffic_class(), p.flow_label(), p.payload_len(), p.next_header(),
                         p.hop_limit(), p.src_addr(), p.dst_addr(), p.payload().len());
            }
            for ah in [false, true] {
                if let Ok(h) = Ipv6ExtHeader::new_checked(&bytes[..], ah) {
                    prop_assert!(h.header_len() <= bytes.len());
                    let _ = (h.next_header(), h.data().len());
                }
            }
            if let Ok(w) = walk_extension_headers(first.into(), &bytes) {
                prop_assert!(w.ext_len <= bytes.len());
                prop_assert!(w.count <= MAX_EXTENSION_HEADERS);
            }
        }
    }
}
