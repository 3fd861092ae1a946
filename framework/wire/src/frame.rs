//! From a captured frame to its IP layer: link types, VLAN stacks, and the
//! [`L3Packet`] summary the runtime works with.
//!
//! Invariants: [`parse_frame`] never panics and never allocates. It walks at
//! most [`VlanStack::MAX`] VLAN tags (one more is
//! [`WireError::TooManyVlanTags`]) and at most
//! [`crate::ipv6::MAX_EXTENSION_HEADERS`] IPv6 extension headers. On success,
//! `payload` is a sub-slice of the frame cut to the IP length, so Ethernet
//! padding never reaches the transport layer. An IPv4 total length of 0
//! is read as "the rest of the frame", as in captures of TCP segmentation
//! offload (Wireshark does the same). [`parse_frame_captured`] additionally
//! accepts frames cut by the capture's snap length and says how much is missing.
//!
//! Cost: a handful of bounds checks and fixed-offset loads per header; with
//! `verify_checksums` one extra pass over the IPv4 header (20 to 60 bytes).

use crate::error::{Layer, WireError};
use crate::ethernet::{EtherType, EthernetFrame, VlanTag};
use crate::ip::{Fragment, IpHeader, IpVersion};
use crate::ipv4::Ipv4Packet;
use crate::ipv6::{walk_extension_headers, Ipv6Packet, IPV6_HEADER_LEN};
use crate::pppoe::{PppoeSession, PPP_IPV4, PPP_IPV6};
use crate::vlan::VlanStack;
use std::net::IpAddr;

/// How the captured bytes begin (the pcap link type, in weir's words).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum LinkType {
    /// Ethernet II (LINKTYPE_ETHERNET 1), with any 802.1Q / 802.1ad tags.
    Ethernet,
    /// Raw IP (LINKTYPE_RAW 101); the version comes from the first nibble.
    RawIp,
    /// Raw IPv4 (LINKTYPE_IPV4 228).
    Ipv4,
    /// Raw IPv6 (LINKTYPE_IPV6 229).
    Ipv6,
    /// Linux cooked capture v1 (LINKTYPE_LINUX_SLL 113): 16-byte header, protocol at bytes 14..16.
    LinuxSll,
    /// Linux cooked capture v2 (LINKTYPE_LINUX_SLL2 276): 20-byte header, protocol at bytes 0..2.
    LinuxSll2,
    /// BSD loopback (LINKTYPE_NULL 0): 4-byte address family in the capturing host's
    /// byte order (both are accepted): 2 = IPv4; 10, 24, 28, 30 = IPv6.
    Null,
    /// OpenBSD loopback (LINKTYPE_LOOP 108): like `Null` but the family is big-endian.
    Loop,
}

impl LinkType {
    /// Every link type, for exhaustive tests and fuzzing.
    pub const ALL: [LinkType; 8] = [
        LinkType::Ethernet,
        LinkType::RawIp,
        LinkType::Ipv4,
        LinkType::Ipv6,
        LinkType::LinuxSll,
        LinkType::LinuxSll2,
        LinkType::Null,
        LinkType::Loop,
    ];

    /// Maps a pcap / pcapng LINKTYPE_ number; `None` for link types weir does not read.
    pub const fn from_linktype(n: u32) -> Option<LinkType> {
        Some(match n {
            0 => LinkType::Null,
            1 => LinkType::Ethernet,
            12 | 14 | 101 => LinkType::RawIp,
            108 => LinkType::Loop,
            113 => LinkType::LinuxSll,
            228 => LinkType::Ipv4,
            229 => LinkType::Ipv6,
            276 => LinkType::LinuxSll2,
            _ => return None,
        })
    }
}

/// Knobs of [`parse_frame`] and [`crate::parse_transport`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ParseOptions {
    /// Verify IPv4 header and TCP/UDP checksums (default true).
    pub verify_checksums: bool,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            verify_checksums: true,
        }
    }
}

/// A frame parsed down to its IP payload.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct L3Packet<'a> {
    pub vlans: VlanStack,
    pub ip: IpHeader,
    /// IP payload after all extension headers, cut to the IP length (Ethernet padding removed).
    pub payload: &'a [u8],
    /// Some when this is a real fragment (IPv4 MF or offset != 0; IPv6 fragment
    /// header with offset != 0 or M set). An IPv6 atomic fragment (offset 0, M
    /// clear) is not a fragment: its payload is the upper-layer data.
    pub fragment: Option<Fragment>,
}

mod field {
    pub type Field = core::ops::Range<usize>;
    pub const SLL_PROTOCOL: Field = 14..16;
    pub const SLL_LEN: usize = 16;
    pub const SLL2_PROTOCOL: Field = 0..2;
    pub const SLL2_LEN: usize = 20;
    pub const NULL_FAMILY: Field = 0..4;
    pub const NULL_LEN: usize = 4;
}

fn be16_at(b: &[u8], f: field::Field) -> Option<u16> {
    match b.get(f)? {
        [x, y] => Some(u16::from_be_bytes([*x, *y])),
        _ => None,
    }
}

/// Parses a captured frame of link type `link` down to its IP payload.
///
/// Strict: an IP length that runs past the end of `frame` is an error
/// ([`WireError::Truncated`]). For frames cut short by the capture's snap
/// length use [`parse_frame_captured`].
pub fn parse_frame<'a>(
    link: LinkType,
    frame: &'a [u8],
    opts: &ParseOptions,
) -> Result<L3Packet<'a>, WireError> {
    parse_link(link, frame, opts, false).map(|(p, _)| p)
}

/// A frame parsed by [`parse_frame_captured`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct CapturedL3<'a> {
    pub packet: L3Packet<'a>,
    /// Bytes of the IP datagram that the capture did not keep (0 for a whole
    /// datagram). When non-zero, `packet.payload` is cut short: pass
    /// `verify_checksums: false` to [`crate::parse_transport`] and do not feed
    /// the payload to reassembly or defragmentation as if it were complete.
    pub missing: usize,
}

/// Like [`parse_frame`], for a captured frame whose original length on the
/// wire was `orig_len` (the pcap record's `orig_len`).
///
/// When the capture kept fewer bytes than `orig_len` (snap length), an IP
/// length running past the captured bytes is accepted as long as the IP
/// header itself (and every IPv6 extension header walked) was captured;
/// [`CapturedL3::missing`] says how much is gone. When `orig_len <=
/// frame.len()` this is exactly [`parse_frame`]. Passing `usize::MAX` as
/// `orig_len` gives tshark-like tolerance for any frame whose IP length runs
/// past the recorded bytes (some public traces were edited that way).
pub fn parse_frame_captured<'a>(
    link: LinkType,
    frame: &'a [u8],
    orig_len: usize,
    opts: &ParseOptions,
) -> Result<CapturedL3<'a>, WireError> {
    let snapped = orig_len > frame.len();
    parse_link(link, frame, opts, snapped).map(|(packet, missing)| CapturedL3 { packet, missing })
}

/// Shared walk; `snapped` allows IP lengths beyond the buffer. Returns the
/// packet and the number of IP bytes not in the buffer.
fn parse_link<'a>(
    link: LinkType,
    frame: &'a [u8],
    opts: &ParseOptions,
    snapped: bool,
) -> Result<(L3Packet<'a>, usize), WireError> {
    let vlans = VlanStack::new();
    match link {
        LinkType::Ethernet => {
            let eth = EthernetFrame::new_checked(frame)?;
            let rest = frame
                .get(crate::ethernet::ETHERNET_HEADER_LEN..)
                .unwrap_or(&[]);
            parse_ethertype(eth.ethertype(), rest, vlans, opts, snapped)
        }
        LinkType::RawIp => match frame.first().map(|b| b >> 4) {
            Some(4) => parse_ipv4(frame, vlans, opts, snapped),
            Some(6) => parse_ipv6(frame, vlans, snapped),
            Some(v) => Err(WireError::BadVersion(v)),
            None => Err(WireError::Truncated(Layer::Link)),
        },
        LinkType::Ipv4 => parse_ipv4(frame, vlans, opts, snapped),
        LinkType::Ipv6 => parse_ipv6(frame, vlans, snapped),
        LinkType::LinuxSll => {
            let proto =
                be16_at(frame, field::SLL_PROTOCOL).ok_or(WireError::Truncated(Layer::Link))?;
            let rest = frame.get(field::SLL_LEN..).unwrap_or(&[]);
            parse_ethertype(EtherType::from(proto), rest, vlans, opts, snapped)
        }
        LinkType::LinuxSll2 => {
            let proto =
                be16_at(frame, field::SLL2_PROTOCOL).ok_or(WireError::Truncated(Layer::Link))?;
            let rest = frame
                .get(field::SLL2_LEN..)
                .ok_or(WireError::Truncated(Layer::Link))?;
            parse_ethertype(EtherType::from(proto), rest, vlans, opts, snapped)
        }
        LinkType::Null | LinkType::Loop => {
            let fam = match frame.get(field::NULL_FAMILY) {
                Some([a, b, c, d]) => [*a, *b, *c, *d],
                _ => return Err(WireError::Truncated(Layer::Link)),
            };
            let rest = frame.get(field::NULL_LEN..).unwrap_or(&[]);
            let be = u32::from_be_bytes(fam);
            let family = if link == LinkType::Loop {
                be
            } else {
                let le = u32::from_le_bytes(fam);
                if bsd_family_version(le).is_some() {
                    le
                } else {
                    be
                }
            };
            match bsd_family_version(family) {
                Some(IpVersion::V4) => parse_ipv4(rest, vlans, opts, snapped),
                Some(IpVersion::V6) => parse_ipv6(rest, vlans, snapped),
                None => Err(WireError::UnsupportedLinkFamily(family)),
            }
        }
    }
}

/// The IP version of a BSD `AF_*` value as written by loopback captures.
const fn bsd_family_version(family: u32) -> Option<IpVersion> {
    match family {
        2 => Some(IpVersion::V4),
        10 | 24 | 28 | 30 => Some(IpVersion::V6),
        _ => None,
    }
}

fn parse_ethertype<'a>(
    mut ethertype: EtherType,
    mut rest: &'a [u8],
    mut vlans: VlanStack,
    opts: &ParseOptions,
    snapped: bool,
) -> Result<(L3Packet<'a>, usize), WireError> {
    // Each turn either returns or pushes a tag, and the stack holds at most
    // VlanStack::MAX tags, so this loop runs at most MAX + 1 times.
    loop {
        match ethertype {
            EtherType::Ipv4 => return parse_ipv4(rest, vlans, opts, snapped),
            EtherType::Ipv6 => return parse_ipv6(rest, vlans, snapped),
            t if t.is_vlan_tpid() => {
                let tag = VlanTag::new_checked(rest)?;
                if !vlans.push(tag.vid()) {
                    return Err(WireError::TooManyVlanTags);
                }
                ethertype = tag.ethertype();
                rest = rest.get(crate::ethernet::VLAN_TAG_LEN..).unwrap_or(&[]);
            }
            EtherType::PppoeSession => {
                let s = PppoeSession::new_checked(rest)?;
                let payload = s.payload(snapped)?;
                return match s.ppp_protocol() {
                    PPP_IPV4 => parse_ipv4(payload, vlans, opts, snapped),
                    PPP_IPV6 => parse_ipv6(payload, vlans, snapped),
                    other => Err(WireError::UnsupportedPppProtocol(other)),
                };
            }
            other => return Err(WireError::UnsupportedEtherType(other.into())),
        }
    }
}

/// `buf` shortened to `len` bytes, or all of it (plus the shortfall) when
/// `snapped` allows a length beyond the buffer.
fn cut(buf: &[u8], len: usize, snapped: bool, layer: Layer) -> Result<(&[u8], usize), WireError> {
    match buf.get(..len) {
        Some(b) => Ok((b, 0)),
        None if snapped => Ok((buf, len - buf.len())),
        None => Err(WireError::Truncated(layer)),
    }
}

fn parse_ipv4<'a>(
    buf: &'a [u8],
    vlans: VlanStack,
    opts: &ParseOptions,
    snapped: bool,
) -> Result<(L3Packet<'a>, usize), WireError> {
    // The checks of `Ipv4Packet::check_len`, spelled out because two cases
    // differ here: a total length of 0 (captures of TCP segmentation
    // offload) means "the rest of the frame", and a snap-length-cut frame may
    // have a total length beyond the buffer.
    if buf.len() < crate::ipv4::IPV4_HEADER_LEN {
        return Err(WireError::Truncated(Layer::Ipv4));
    }
    let p = Ipv4Packet::new_unchecked(buf);
    if p.version() != 4 {
        return Err(WireError::BadVersion(p.version()));
    }
    let hl = usize::from(p.header_len());
    if hl < crate::ipv4::IPV4_HEADER_LEN {
        return Err(WireError::BadHeaderLength(Layer::Ipv4));
    }
    if hl > buf.len() {
        return Err(WireError::Truncated(Layer::Ipv4));
    }
    let total = match p.total_len() {
        0 => buf.len(),
        t => usize::from(t),
    };
    if total < hl {
        return Err(WireError::BadTotalLength(Layer::Ipv4));
    }
    let (datagram, missing) = cut(buf, total, snapped, Layer::Ipv4)?;
    let header_len = p.header_len();
    let payload = datagram
        .get(usize::from(header_len)..)
        .ok_or(WireError::BadTotalLength(Layer::Ipv4))?;
    let fragment = p.is_fragment().then(|| Fragment {
        id: u32::from(p.ident()),
        offset: u32::from(p.frag_offset()),
        more: p.more_frags(),
    });
    let ip = IpHeader {
        version: IpVersion::V4,
        src: IpAddr::V4(p.src_addr()),
        dst: IpAddr::V4(p.dst_addr()),
        protocol: p.next_header(),
        ttl: p.hop_limit(),
        header_len: u16::from(header_len),
        checksum_ok: opts.verify_checksums.then(|| p.verify_checksum()),
    };
    Ok((
        L3Packet {
            vlans,
            ip,
            payload,
            fragment,
        },
        missing,
    ))
}

fn parse_ipv6(
    buf: &[u8],
    vlans: VlanStack,
    snapped: bool,
) -> Result<(L3Packet<'_>, usize), WireError> {
    let p = Ipv6Packet::new_unchecked(buf);
    match p.check_len() {
        Ok(()) => {}
        Err(WireError::Truncated(_)) if snapped && buf.len() >= IPV6_HEADER_LEN => {}
        Err(e) => return Err(e),
    }
    let rest = buf.get(IPV6_HEADER_LEN..).unwrap_or(&[]);
    let (body, missing) = cut(rest, usize::from(p.payload_len()), snapped, Layer::Ipv6)?;
    let walk = walk_extension_headers(p.next_header(), body)?;
    let payload = body
        .get(walk.ext_len..)
        .ok_or(WireError::Truncated(Layer::Ipv6Ext))?;
    let ip = IpHeader {
        version: IpVersion::V6,
        src: IpAddr::V6(p.src_addr()),
        dst: IpAddr::V6(p.dst_addr()),
        protocol: walk.protocol,
        ttl: p.hop_limit(),
        header_len: u16::try_from(IPV6_HEADER_LEN + walk.ext_len).unwrap_or(u16::MAX),
        checksum_ok: None,
    };
    Ok((
        L3Packet {
            vlans,
            ip,
            payload,
            fragment: walk.fragment,
        },
        missing,
    ))
}

#[cfg(test)]
mod tests {

    /// Frame 4 of nDPI's dns.pcap: QinQ (421, 785), PPPoE session, PPP IPv4, UDP/53.
    const QINQ_PPPOE_DNS: [u8; 91] = [
        0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0xd4, 0x94, 0xe8, 0x0e, 0xad, 0xc1, 0x81, 0x00, 0x01,
        0xa5, 0x81, 0x00, 0x03, 0x11, 0x88, 0x64, 0x11, 0x00, 0x55, 0x6a, 0x00, 0x3f, 0x00, 0x21,
        0x45, 0x00, 0x00, 0x3d, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x84, 0xa1, 0x52, 0xb2, 0x71,
        0xf5, 0x52, 0xb2, 0x9e, 0xb5, 0xb8, 0x97, 0x00, 0x35, 0x00, 0x29, 0xb6, 0x7d, 0x78, 0x43,
        0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x65, 0x37, 0x08, 0x77,
        0x68, 0x61, 0x74, 0x73, 0x61, 0x70, 0x70, 0x03, 0x6e, 0x65, 0x74, 0x00, 0x00, 0x01, 0x00,
        0x01,
    ];

    #[test]
    fn qinq_pppoe_ipv4_udp() {
        let opts = ParseOptions {
            verify_checksums: true,
        };
        let p = parse_frame(LinkType::Ethernet, &QINQ_PPPOE_DNS, &opts).unwrap();
        assert_eq!(p.vlans.as_slice(), &[421, 785]);
        assert_eq!(p.ip.src, "82.178.113.245".parse::<IpAddr>().unwrap());
        assert_eq!(p.ip.checksum_ok, Some(true));
        assert_eq!(p.payload.len(), 41);
        match crate::parse_transport(&p.ip, p.payload, &opts).unwrap() {
            crate::Transport::Udp(u, body) => {
                assert_eq!(
                    (u.src_port, u.dst_port, u.checksum_ok),
                    (47255, 53, Some(true))
                );
                assert_eq!(body.len(), 33);
            }
            other => panic!("{other:?}"),
        }
        // LCP inside PPPoE is valid but not IP.
        let mut lcp = QINQ_PPPOE_DNS;
        lcp[28..30].copy_from_slice(&[0xc0, 0x21]);
        let e = parse_frame(LinkType::Ethernet, &lcp, &opts).unwrap_err();
        assert_eq!(e, WireError::UnsupportedPppProtocol(0xc021));
        assert!(!e.is_malformed());
        // A PPPoE length beyond the frame is malformed unless the capture was cut.
        let short = &QINQ_PPPOE_DNS[..60];
        assert!(parse_frame(LinkType::Ethernet, short, &opts)
            .unwrap_err()
            .is_malformed());
        assert!(
            parse_frame_captured(LinkType::Ethernet, short, 91, &opts)
                .unwrap()
                .missing
                > 0
        );
    }
    use super::*;
    use crate::ip::IpProtocol;
    use crate::ipv4::Ipv4Repr;
    use crate::ipv6::Ipv6Repr;
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const MACS: [u8; 12] = [
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
    ];

    /// A valid IPv4/UDP packet 192.0.2.1:1000 -> 198.51.100.7:53 with 4 payload bytes.
    fn ipv4_udp(flags_off: (bool, u16), ident: u16) -> Vec<u8> {
        let repr = Ipv4Repr {
            src_addr: Ipv4Addr::new(192, 0, 2, 1),
            dst_addr: Ipv4Addr::new(198, 51, 100, 7),
            next_header: IpProtocol::Udp,
            payload_len: 12,
            hop_limit: 63,
            ident,
            dont_frag: false,
            more_frags: flags_off.0,
            frag_offset: flags_off.1,
        };
        let mut b = vec![0u8; 32];
        repr.emit(&mut Ipv4Packet::new_unchecked(&mut b[..]));
        b[20..32].copy_from_slice(&[0x03, 0xe8, 0x00, 0x35, 0x00, 0x0c, 0x00, 0x00, 1, 2, 3, 4]);
        b
    }

    fn ipv6_with(next: IpProtocol, ext_and_payload: &[u8]) -> Vec<u8> {
        let repr = Ipv6Repr {
            src_addr: "2001:db8::1".parse().unwrap(),
            dst_addr: "2001:db8::2".parse().unwrap(),
            next_header: next,
            payload_len: ext_and_payload.len(),
            hop_limit: 64,
        };
        let mut b = vec![0u8; 40];
        repr.emit(&mut Ipv6Packet::new_unchecked(&mut b[..]));
        b.extend_from_slice(ext_and_payload);
        b
    }

    fn eth(ethertypes_and_tags: &[u8], l3: &[u8]) -> Vec<u8> {
        let mut f = MACS.to_vec();
        f.extend_from_slice(ethertypes_and_tags);
        f.extend_from_slice(l3);
        f
    }

    #[test]
    fn ethernet_ipv4_with_padding() {
        let mut f = eth(&[0x08, 0x00], &ipv4_udp((false, 0), 1));
        f.extend_from_slice(&[0; 14]); // pad to 60 bytes
        let p = parse_frame(LinkType::Ethernet, &f, &ParseOptions::default()).unwrap();
        assert!(p.vlans.is_empty());
        assert_eq!(p.ip.version, IpVersion::V4);
        assert_eq!(p.ip.src, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
        assert_eq!(p.ip.protocol, IpProtocol::Udp);
        assert_eq!(
            (p.ip.ttl, p.ip.header_len, p.ip.checksum_ok),
            (63, 20, Some(true))
        );
        assert_eq!(p.payload.len(), 12);
        assert_eq!(p.fragment, None);
        let p = parse_frame(
            LinkType::Ethernet,
            &f,
            &ParseOptions {
                verify_checksums: false,
            },
        )
        .unwrap();
        assert_eq!(p.ip.checksum_ok, None);
    }

    #[test]
    fn ipv4_total_length_zero_means_segmentation_offload() {
        let mut l3 = ipv4_udp((false, 0), 1);
        l3[2] = 0;
        l3[3] = 0;
        let p = parse_frame(LinkType::Ipv4, &l3, &ParseOptions::default()).unwrap();
        assert_eq!(p.payload.len(), 12);
        // Any other total length below the header is still malformed.
        l3[3] = 19;
        assert_eq!(
            parse_frame(LinkType::Ipv4, &l3, &ParseOptions::default()).unwrap_err(),
            WireError::BadTotalLength(Layer::Ipv4)
        );
    }

    #[test]
    fn bad_ipv4_checksum_is_reported_not_rejected() {
        let mut l3 = ipv4_udp((false, 0), 1);
        l3[8] = 1; // TTL changed after the checksum was computed
        let p = parse_frame(LinkType::Ipv4, &l3, &ParseOptions::default()).unwrap();
        assert_eq!(p.ip.checksum_ok, Some(false));
    }

    #[test]
    fn vlan_stacks() {
        let l3 = ipv4_udp((false, 0), 1);
        // 802.1Q
        let f = eth(&[0x81, 0x00, 0x00, 0x0a, 0x08, 0x00], &l3);
        assert_eq!(
            parse_frame(LinkType::Ethernet, &f, &ParseOptions::default())
                .unwrap()
                .vlans
                .as_slice(),
            &[10]
        );
        // QinQ: 802.1ad outer 100, 802.1Q inner 200
        let f = eth(
            &[0x88, 0xa8, 0x00, 0x64, 0x81, 0x00, 0x00, 0xc8, 0x08, 0x00],
            &l3,
        );
        assert_eq!(
            parse_frame(LinkType::Ethernet, &f, &ParseOptions::default())
                .unwrap()
                .vlans
                .as_slice(),
            &[100, 200]
        );
        // QinQinQ with the legacy 0x9100 TPID and PCP bits set (ignored in the ID).
        let f = eth(
            &[
                0x91, 0x00, 0xe0, 0x01, 0x88, 0xa8, 0x00, 0x02, 0x81, 0x00, 0x00, 0x03, 0x86, 0xdd,
            ],
            &ipv6_with(IpProtocol::Ipv6NoNxt, &[]),
        );
        let p = parse_frame(LinkType::Ethernet, &f, &ParseOptions::default()).unwrap();
        assert_eq!(p.vlans.as_slice(), &[1, 2, 3]);
        assert_eq!(p.ip.protocol, IpProtocol::Ipv6NoNxt);
        // Four tags are accepted, five are not.
        let four = [
            0x81, 0x00, 0, 1, 0x81, 0x00, 0, 2, 0x81, 0x00, 0, 3, 0x81, 0x00, 0, 4, 0x08, 0x00,
        ];
        assert_eq!(
            parse_frame(
                LinkType::Ethernet,
                &eth(&four, &l3),
                &ParseOptions::default()
            )
            .unwrap()
            .vlans
            .len(),
            4
        );
        let five = [
            0x81, 0x00, 0, 1, 0x81, 0x00, 0, 2, 0x81, 0x00, 0, 3, 0x81, 0x00, 0, 4, 0x81, 0x00, 0,
            5, 0x08, 0x00,
        ];
        assert_eq!(
            parse_frame(
                LinkType::Ethernet,
                &eth(&five, &l3),
                &ParseOptions::default()
            )
            .unwrap_err(),
            WireError::TooManyVlanTags
        );
        // Truncated tag.
        assert_eq!(
            parse_frame(
                LinkType::Ethernet,
                &eth(&[0x81, 0x00, 0x00], &[]),
                &ParseOptions::default()
            )
            .unwrap_err(),
            WireError::Truncated(Layer::Vlan)
        );
    }

    #[test]
    fn non_ip_is_unsupported_not_malformed() {
        let arp = eth(&[0x08, 0x06], &[0u8; 28]);
        let e = parse_frame(LinkType::Ethernet, &arp, &ParseOptions::default()).unwrap_err();
        assert_eq!(e, WireError::UnsupportedEtherType(0x0806));
        assert!(!e.is_malformed());
        let e = parse_frame(
            LinkType::Ethernet,
            &eth(&[0x08, 0x00], &[0x45]),
            &ParseOptions::default(),
        )
        .unwrap_err();
        assert!(e.is_malformed());
    }

    #[test]
    fn ipv4_fragments() {
        let first = ipv4_udp((true, 0), 0x1234);
        let p = parse_frame(LinkType::Ipv4, &first, &ParseOptions::default()).unwrap();
        assert_eq!(
            p.fragment,
            Some(Fragment {
                id: 0x1234,
                offset: 0,
                more: true
            })
        );
        let last = ipv4_udp((false, 1480), 0x1234);
        let p = parse_frame(LinkType::RawIp, &last, &ParseOptions::default()).unwrap();
        assert_eq!(
            p.fragment,
            Some(Fragment {
                id: 0x1234,
                offset: 1480,
                more: false
            })
        );
    }

    #[test]
    fn ipv6_extension_headers_and_fragments() {
        let udp = [0x03, 0xe8, 0x00, 0x35, 0x00, 0x0a, 0x00, 0x00, 0xaa, 0xbb];
        // Hop-by-hop -> UDP.
        let mut x = vec![17, 0, 1, 4, 0, 0, 0, 0];
        x.extend_from_slice(&udp);
        let b6 = ipv6_with(IpProtocol::HopByHop, &x);
        let p = parse_frame(LinkType::Ipv6, &b6, &ParseOptions::default()).unwrap();
        assert_eq!(
            (p.ip.protocol, p.ip.header_len, p.payload),
            (IpProtocol::Udp, 48, &udp[..])
        );
        assert_eq!(p.ip.checksum_ok, None);
        // Routing (8 bytes) -> UDP.
        let mut x = vec![17, 0, 0, 0, 0, 0, 0, 0];
        x.extend_from_slice(&udp);
        let b6 = ipv6_with(IpProtocol::Ipv6Route, &x);
        let p = parse_frame(LinkType::RawIp, &b6, &ParseOptions::default()).unwrap();
        assert_eq!((p.ip.protocol, p.payload), (IpProtocol::Udp, &udp[..]));
        // Destination options -> UDP.
        let b6 = ipv6_with(IpProtocol::Ipv6Opts, &x);
        let p = parse_frame(LinkType::RawIp, &b6, &ParseOptions::default()).unwrap();
        assert_eq!((p.ip.protocol, p.payload), (IpProtocol::Udp, &udp[..]));
        // AH (len 1 => 12 bytes) -> UDP.
        let mut x = vec![17, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1];
        x.extend_from_slice(&udp);
        let b6 = ipv6_with(IpProtocol::Ah, &x);
        let p = parse_frame(LinkType::RawIp, &b6, &ParseOptions::default()).unwrap();
        assert_eq!(
            (p.ip.protocol, p.ip.header_len, p.payload),
            (IpProtocol::Udp, 52, &udp[..])
        );
        // Atomic fragment -> UDP, not a fragment.
        let mut x = vec![17, 0, 0, 0, 0, 0, 0, 9];
        x.extend_from_slice(&udp);
        let b6 = ipv6_with(IpProtocol::Ipv6Frag, &x);
        let p = parse_frame(LinkType::RawIp, &b6, &ParseOptions::default()).unwrap();
        assert_eq!(
            (p.ip.protocol, p.fragment, p.payload),
            (IpProtocol::Udp, None, &udp[..])
        );
        // A real first fragment.
        x[3] = 1;
        let b6 = ipv6_with(IpProtocol::Ipv6Frag, &x);
        let p = parse_frame(LinkType::RawIp, &b6, &ParseOptions::default()).unwrap();
        assert_eq!(
            p.fragment,
            Some(Fragment {
                id: 9,
                offset: 0,
                more: true
            })
        );
        assert_eq!((p.ip.protocol, p.payload), (IpProtocol::Udp, &udp[..]));
        // Payload length beyond the capture.
        let mut b = ipv6_with(IpProtocol::Udp, &udp);
        b.pop();
        assert_eq!(
            parse_frame(LinkType::Ipv6, &b, &ParseOptions::default()).unwrap_err(),
            WireError::Truncated(Layer::Ipv6)
        );
    }

    #[test]
    fn cooked_and_loopback_links() {
        let l3 = ipv4_udp((false, 0), 1);
        let mut sll = vec![0, 0, 0, 1, 0, 6, 0, 1, 2, 3, 4, 5, 0, 0, 0x08, 0x00];
        sll.extend_from_slice(&l3);
        assert_eq!(
            parse_frame(LinkType::LinuxSll, &sll, &ParseOptions::default())
                .unwrap()
                .payload
                .len(),
            12
        );
        // SLL with an 802.1Q tag inside.
        let mut sllv = vec![
            0, 0, 0, 1, 0, 6, 0, 1, 2, 3, 4, 5, 0, 0, 0x81, 0x00, 0x00, 0x07, 0x08, 0x00,
        ];
        sllv.extend_from_slice(&l3);
        assert_eq!(
            parse_frame(LinkType::LinuxSll, &sllv, &ParseOptions::default())
                .unwrap()
                .vlans
                .as_slice(),
            &[7]
        );
        let mut sll2 = vec![
            0x86, 0xdd, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 0, 1, 2, 3, 4, 5, 0, 0,
        ];
        sll2.extend_from_slice(&ipv6_with(IpProtocol::Ipv6NoNxt, &[]));
        assert_eq!(
            parse_frame(LinkType::LinuxSll2, &sll2, &ParseOptions::default())
                .unwrap()
                .ip
                .version,
            IpVersion::V6
        );
        assert_eq!(
            parse_frame(LinkType::LinuxSll2, &sll2[..19], &ParseOptions::default()).unwrap_err(),
            WireError::Truncated(Layer::Link)
        );

        let mut le = vec![2, 0, 0, 0];
        le.extend_from_slice(&l3);
        assert_eq!(
            parse_frame(LinkType::Null, &le, &ParseOptions::default())
                .unwrap()
                .ip
                .version,
            IpVersion::V4
        );
        let v6 = ipv6_with(IpProtocol::Ipv6NoNxt, &[]);
        for fam in [10u32, 24, 28, 30] {
            for bytes in [fam.to_le_bytes(), fam.to_be_bytes()] {
                let mut f = bytes.to_vec();
                f.extend_from_slice(&v6);
                let p = parse_frame(LinkType::Null, &f, &ParseOptions::default()).unwrap();
                assert_eq!(
                    p.ip.dst,
                    IpAddr::V6("2001:db8::2".parse::<Ipv6Addr>().unwrap())
                );
            }
        }
        let mut lo = vec![0, 0, 0, 2];
        lo.extend_from_slice(&l3);
        assert!(parse_frame(LinkType::Loop, &lo, &ParseOptions::default()).is_ok());
        lo[..4].copy_from_slice(&[2, 0, 0, 0]); // little-endian is wrong for Loop
        let e = parse_frame(LinkType::Loop, &lo, &ParseOptions::default()).unwrap_err();
        assert_eq!(e, WireError::UnsupportedLinkFamily(0x0200_0000));
        assert!(!e.is_malformed());
        assert_eq!(
            parse_frame(LinkType::RawIp, &[0x50], &ParseOptions::default()).unwrap_err(),
            WireError::BadVersion(5)
        );
        assert_eq!(LinkType::from_linktype(113), Some(LinkType::LinuxSll));
        assert_eq!(LinkType::from_linktype(9999), None);
    }

    /// Frame 1 of Zeek's `vlan-qinqinq.pcap`: three 802.1Q tags (30, 20, 10), IPv4 TCP SYN.
    const QINQINQ_SYN: [u8; 90] = [
        0x00, 0x10, 0xdb, 0x88, 0xd2, 0xef, 0xc8, 0xbc, 0xc8, 0x96, 0xd2, 0xa0, 0x81, 0x00, 0x00,
        0x1e, 0x81, 0x00, 0x00, 0x14, 0x81, 0x00, 0x00, 0x0a, 0x08, 0x00, 0x45, 0x00, 0x00, 0x40,
        0xdf, 0x8e, 0x40, 0x00, 0x40, 0x06, 0x6d, 0xd3, 0x8d, 0x8e, 0xe4, 0x05, 0xc0, 0x96, 0xbb,
        0x2b, 0xe9, 0xd0, 0x00, 0x50, 0xfe, 0x21, 0x32, 0x3a, 0x00, 0x00, 0x00, 0x00, 0xb0, 0x02,
        0xff, 0xff, 0x3b, 0xc0, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4, 0x01, 0x03, 0x03, 0x04, 0x01,
        0x01, 0x08, 0x0a, 0x16, 0x4a, 0xdd, 0x20, 0x00, 0x00, 0x00, 0x00, 0x04, 0x02, 0x00, 0x00,
    ];

    /// Frame 13 of Zeek's `ipv6-http-atomic-frag.pcap`: IPv6 with an atomic fragment header, TCP SYN.
    const ATOMIC_FRAG_SYN: [u8; 82] = [
        0xaa, 0x00, 0x04, 0x00, 0x0a, 0x04, 0x00, 0x10, 0x18, 0x95, 0x31, 0x6a, 0x86, 0xdd, 0x60,
        0x00, 0x00, 0x00, 0x00, 0x1c, 0x2c, 0x40, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x01, 0x00,
        0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00, 0xe9, 0x2e, 0x00, 0x50, 0x69, 0x81, 0x79, 0x05, 0x00, 0x00, 0x00, 0x00, 0x50,
        0x02, 0x20, 0x00, 0x68, 0x66, 0x00, 0x00,
    ];

    #[test]
    fn real_qinqinq_frame() {
        let opts = ParseOptions::default();
        let p = parse_frame(LinkType::Ethernet, &QINQINQ_SYN, &opts).unwrap();
        assert_eq!(p.vlans.as_slice(), &[30, 20, 10]);
        assert_eq!(p.ip.src, IpAddr::V4(Ipv4Addr::new(141, 142, 228, 5)));
        assert_eq!(p.ip.dst, IpAddr::V4(Ipv4Addr::new(192, 150, 187, 43)));
        assert_eq!(
            (p.ip.protocol, p.ip.checksum_ok, p.payload.len()),
            (IpProtocol::Tcp, Some(true), 44)
        );
        let crate::Transport::Tcp(h, _) = crate::parse_transport(&p.ip, p.payload, &opts).unwrap()
        else {
            panic!("not tcp")
        };
        assert_eq!(
            (h.src_port, h.dst_port, h.flags),
            (59856, 80, crate::TcpFlags::SYN)
        );
        assert_eq!(
            (
                h.options.mss,
                h.options.window_scale,
                h.options.sack_permitted
            ),
            (Some(1460), Some(4), true)
        );
        assert_eq!(h.checksum_ok, Some(true));
    }

    #[test]
    fn real_atomic_fragment_frame() {
        let opts = ParseOptions::default();
        let p = parse_frame(LinkType::Ethernet, &ATOMIC_FRAG_SYN, &opts).unwrap();
        assert_eq!(p.fragment, None, "an atomic fragment is not a fragment");
        assert_eq!(
            (p.ip.protocol, p.ip.header_len, p.ip.ttl),
            (IpProtocol::Tcp, 48, 64)
        );
        let crate::Transport::Tcp(h, body) =
            crate::parse_transport(&p.ip, p.payload, &opts).unwrap()
        else {
            panic!("not tcp")
        };
        assert_eq!(
            (h.src_port, h.dst_port, h.seq, h.flags),
            (59694, 80, 0x69817905, crate::TcpFlags::SYN)
        );
        assert_eq!(h.checksum_ok, Some(true));
        assert!(body.is_empty());
    }

    #[test]
    fn snap_length_cut_frames() {
        let opts = ParseOptions::default();
        let full = eth(&[0x08, 0x00], &ipv4_udp((false, 0), 1));
        let cut = &full[..14 + 20 + 8]; // IP + UDP headers captured, payload not
        assert_eq!(
            parse_frame(LinkType::Ethernet, cut, &opts).unwrap_err(),
            WireError::Truncated(Layer::Ipv4)
        );
        // Not snapped (orig_len == captured): still strict.
        assert!(parse_frame_captured(LinkType::Ethernet, cut, cut.len(), &opts).is_err());
        let c = parse_frame_captured(LinkType::Ethernet, cut, full.len(), &opts).unwrap();
        assert_eq!((c.missing, c.packet.payload.len()), (4, 8));
        // The IP header itself must be there.
        assert_eq!(
            parse_frame_captured(LinkType::Ethernet, &full[..14 + 19], full.len(), &opts)
                .unwrap_err(),
            WireError::Truncated(Layer::Ipv4)
        );
        // Whole frames: identical to parse_frame, nothing missing.
        let c = parse_frame_captured(LinkType::Ethernet, &full, full.len(), &opts).unwrap();
        assert_eq!(
            (c.packet, c.missing),
            (parse_frame(LinkType::Ethernet, &full, &opts).unwrap(), 0)
        );
        // IPv6 cut after its header and hop-by-hop header.
        let mut x = vec![17, 0, 1, 4, 0, 0, 0, 0];
        x.extend_from_slice(&[0u8; 30]);
        let v6 = ipv6_with(IpProtocol::HopByHop, &x);
        let c = parse_frame_captured(LinkType::Ipv6, &v6[..50], v6.len(), &opts).unwrap();
        assert_eq!(
            (c.missing, c.packet.payload.len(), c.packet.ip.protocol),
            (28, 2, IpProtocol::Udp)
        );
        assert_eq!(
            parse_frame_captured(LinkType::Ipv6, &v6[..44], v6.len(), &opts).unwrap_err(),
            WireError::Truncated(Layer::Ipv6Ext)
        );
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200), verify in any::<bool>()) {
            for link in LinkType::ALL {
                let opts = ParseOptions { verify_checksums: verify };
                if let Ok(p) = parse_frame(link, &bytes, &opts) {
                    prop_assert!(p.payload.len() <= bytes.len());
                    prop_assert!(p.vlans.len() <= VlanStack::MAX);
                }
                if let Ok(c) = parse_frame_captured(link, &bytes, bytes.len() + 100, &opts) {
                    prop_assert!(c.packet.payload.len() <= bytes.len());
                }
            }
        }

        /// Random bytes behind a plausible prefix reach the deeper layers.
        #[test]
        fn never_panics_structured(tags in proptest::collection::vec((prop_oneof![Just(0x8100u16), Just(0x88a8), Just(0x9100)], any::<u16>()), 0..6),
                                   et in prop_oneof![Just(0x0800u16), Just(0x86dd), any::<u16>()],
                                   body in proptest::collection::vec(any::<u8>(), 0..120)) {
            let mut f = MACS.to_vec();
            for (tpid, tci) in &tags {
                f.extend_from_slice(&tpid.to_be_bytes());
                f.extend_from_slice(&tci.to_be_bytes());
            }
            f.extend_from_slice(&et.to_be_bytes());
            f.extend_from_slice(&body);
            let r = parse_frame(LinkType::Ethernet, &f, &ParseOptions::default());
            if tags.len() > VlanStack::MAX {
                prop_assert_eq!(r.unwrap_err(), WireError::TooManyVlanTags);
            }
        }
    }
}
