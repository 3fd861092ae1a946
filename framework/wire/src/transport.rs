//! From an IP payload to its TCP or UDP header summary.
//!
//! Invariants: [`parse_transport`] never panics and never allocates; the
//! returned payload is a sub-slice of the input (TCP: after the options; UDP:
//! cut to the UDP length). Checksums are computed over exactly the `payload`
//! passed in with the pseudo-header of `ip`, so a reassembled datagram
//! verifies the same way as an unfragmented one.
//!
//! Cost: fixed-offset loads plus one pass over at most 40 option bytes; with
//! `verify_checksums` one pass over the segment.

use crate::error::WireError;
use crate::frame::ParseOptions;
use crate::ip::{IpHeader, IpProtocol, IpVersion};
use crate::tcp::{TcpOptionSummary, TcpPacket};
use crate::tcp_flags::TcpFlags;
use crate::udp::{UdpPacket, UDP_HEADER_LEN};

/// The transport layer of a packet.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Transport<'a> {
    /// Header and segment payload.
    Tcp(TcpHeader, &'a [u8]),
    /// Header and datagram payload (cut to the UDP length).
    Udp(UdpHeader, &'a [u8]),
    /// Any other protocol: not parsed.
    Other(IpProtocol),
}

/// Summary of a TCP header.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct TcpHeader {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    pub window: u16,
    /// Header length in bytes, options included (20..=60).
    pub header_len: u8,
    /// `Some(ok)` when checksums are verified.
    pub checksum_ok: Option<bool>,
    pub options: TcpOptionSummary,
}

/// Summary of a UDP header.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct UdpHeader {
    pub src_port: u16,
    pub dst_port: u16,
    /// The length field (header plus payload).
    pub length: u16,
    /// `None` when not verified, or when the UDP/IPv4 checksum field is 0 (no checksum).
    pub checksum_ok: Option<bool>,
}

/// Parses the TCP or UDP header at the start of `payload`, which is the IP
/// payload (after extension headers) of a datagram described by `ip`.
pub fn parse_transport<'a>(
    ip: &IpHeader,
    payload: &'a [u8],
    opts: &ParseOptions,
) -> Result<Transport<'a>, WireError> {
    match ip.protocol {
        IpProtocol::Tcp => {
            let p = TcpPacket::new_checked(payload)?;
            let header_len = p.header_len();
            let header = TcpHeader {
                src_port: p.src_port(),
                dst_port: p.dst_port(),
                seq: p.seq_number(),
                ack: p.ack_number(),
                flags: p.flags(),
                window: p.window_len(),
                header_len,
                checksum_ok: opts
                    .verify_checksums
                    .then(|| p.verify_checksum(ip.src, ip.dst)),
                options: TcpOptionSummary::from_options(p.options_raw()),
            };
            Ok(Transport::Tcp(
                header,
                payload.get(usize::from(header_len)..).unwrap_or(&[]),
            ))
        }
        IpProtocol::Udp => {
            let p = UdpPacket::new_checked(payload)?;
            let no_checksum = ip.version == IpVersion::V4 && p.checksum() == 0;
            let header = UdpHeader {
                src_port: p.src_port(),
                dst_port: p.dst_port(),
                length: p.len(),
                checksum_ok: (opts.verify_checksums && !no_checksum)
                    .then(|| p.verify_checksum(ip.src, ip.dst)),
            };
            let body = payload
                .get(UDP_HEADER_LEN..usize::from(p.len()))
                .unwrap_or(&[]);
            Ok(Transport::Udp(header, body))
        }
        other => Ok(Transport::Other(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Layer;
    use crate::frame::{parse_frame, LinkType};
    use crate::tcp::TcpRepr;
    use crate::udp::UdpRepr;
    use proptest::prelude::*;
    use std::net::IpAddr;

    fn ip(version: IpVersion, protocol: IpProtocol) -> IpHeader {
        let (src, dst): (IpAddr, IpAddr) = match version {
            IpVersion::V4 => ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap()),
            IpVersion::V6 => (
                "2001:db8::1".parse().unwrap(),
                "2001:db8::2".parse().unwrap(),
            ),
        };
        IpHeader {
            version,
            src,
            dst,
            protocol,
            ttl: 64,
            header_len: 20,
            checksum_ok: None,
        }
    }

    /// A real frame: Ethernet / IPv4 / TCP SYN-ACK with MSS, SACK-permitted,
    /// timestamps and window scale, all checksums valid.
    const SYN_ACK: [u8; 74] = [
        0x00, 0x0c, 0x29, 0x11, 0x22, 0x33, 0x00, 0x50, 0x56, 0xaa, 0xbb, 0xcc, 0x08,
        0x00, // ethernet
        0x45, 0x00, 0x00, 0x3c, 0x00, 0x00, 0x40, 0x00, 0x40, 0x06, 0xb7, 0x71, 0xc0, 0xa8, 0x01,
        0x01, 0xc0, 0xa8, 0x01, 0x64, // ipv4 192.168.1.1 -> 192.168.1.100
        0x00, 0x50, 0xd4, 0x31, 0x9e, 0x3b, 0x21, 0x7a, 0x5a, 0x4b, 0x3c, 0x2e, 0xa0, 0x12, 0xfe,
        0x88, 0x00, 0x00, 0x00, 0x00, // tcp 80 -> 54321, checksum patched in the test
        0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x00, 0x01, 0x02, 0x03, 0x00, 0x0a, 0x0b,
        0x0c, 0x01, 0x03, 0x03, 0x07,
    ];

    fn syn_ack_frame() -> Vec<u8> {
        let mut f = SYN_ACK.to_vec();
        crate::ipv4::Ipv4Packet::new_unchecked(&mut f[14..34]).fill_checksum();
        let p = parse_frame(LinkType::Ethernet, &f, &ParseOptions::default()).unwrap();
        let (src, dst) = (p.ip.src, p.ip.dst);
        TcpPacket::new_unchecked(&mut f[34..]).fill_checksum(src, dst);
        f
    }

    #[test]
    fn tcp_syn_ack_summary() {
        let f = syn_ack_frame();
        let opts = ParseOptions::default();
        let p = parse_frame(LinkType::Ethernet, &f, &opts).unwrap();
        assert_eq!(p.ip.checksum_ok, Some(true));
        let Transport::Tcp(h, body) = parse_transport(&p.ip, p.payload, &opts).unwrap() else {
            panic!("not tcp")
        };
        assert_eq!((h.src_port, h.dst_port), (80, 54321));
        assert_eq!((h.seq, h.ack), (0x9e3b217a, 0x5a4b3c2e));
        assert_eq!(h.flags, TcpFlags::SYN | TcpFlags::ACK);
        assert_eq!(
            (h.window, h.header_len, h.checksum_ok),
            (0xfe88, 40, Some(true))
        );
        assert_eq!(
            h.options,
            TcpOptionSummary {
                mss: Some(1460),
                window_scale: Some(7),
                sack_permitted: true,
                timestamps: Some((0x00010203, 0x000a0b0c)),
                malformed: false
            }
        );
        assert!(body.is_empty());

        let mut bad = f.clone();
        bad[40] ^= 1; // flip a bit of the sequence number
        let p = parse_frame(LinkType::Ethernet, &bad, &opts).unwrap();
        let Transport::Tcp(h, _) = parse_transport(&p.ip, p.payload, &opts).unwrap() else {
            panic!("not tcp")
        };
        assert_eq!(h.checksum_ok, Some(false));
        let Transport::Tcp(h, _) = parse_transport(
            &p.ip,
            p.payload,
            &ParseOptions {
                verify_checksums: false,
            },
        )
        .unwrap() else {
            panic!("not tcp")
        };
        assert_eq!(h.checksum_ok, None);
    }

    #[test]
    fn udp_checksums_v4_zero_and_v6() {
        let payload = b"hello";
        for version in [IpVersion::V4, IpVersion::V6] {
            let ip = ip(version, IpProtocol::Udp);
            let repr = UdpRepr {
                src_port: 5353,
                dst_port: 53,
                payload,
            };
            let mut buf = vec![0u8; repr.buffer_len()];
            repr.emit(&mut UdpPacket::new_unchecked(&mut buf[..]), ip.src, ip.dst);
            buf.extend_from_slice(&[0, 0]); // trailing bytes beyond the UDP length
            let opts = ParseOptions::default();
            let Transport::Udp(h, body) = parse_transport(&ip, &buf, &opts).unwrap() else {
                panic!("not udp")
            };
            assert_eq!(
                (h.src_port, h.dst_port, h.length, h.checksum_ok),
                (5353, 53, 13, Some(true))
            );
            assert_eq!(body, payload);
            buf[6] = 0;
            buf[7] = 0;
            let Transport::Udp(h, _) = parse_transport(&ip, &buf, &opts).unwrap() else {
                panic!("not udp")
            };
            let expect = if version == IpVersion::V4 {
                None
            } else {
                Some(false)
            };
            assert_eq!(h.checksum_ok, expect);
        }
    }

    #[test]
    fn errors_and_other_protocols() {
        let opts = ParseOptions::default();
        let ip4 = ip(IpVersion::V4, IpProtocol::Tcp);
        assert_eq!(
            parse_transport(&ip4, &[0u8; 19], &opts).unwrap_err(),
            WireError::Truncated(Layer::Tcp)
        );
        let ipu = ip(IpVersion::V4, IpProtocol::Udp);
        assert_eq!(
            parse_transport(&ipu, &[0u8; 7], &opts).unwrap_err(),
            WireError::Truncated(Layer::Udp)
        );
        let ipi = ip(IpVersion::V4, IpProtocol::Icmp);
        assert_eq!(
            parse_transport(&ipi, &[8, 0], &opts).unwrap(),
            Transport::Other(IpProtocol::Icmp)
        );
    }

    #[test]
    fn tcp_payload_after_options() {
        let ip = ip(IpVersion::V6, IpProtocol::Tcp);
        let repr = TcpRepr {
            src_port: 1,
            dst_port: 2,
            seq_number: 3,
            ack_number: 4,
            flags: TcpFlags::PSH | TcpFlags::ACK,
            window_len: 5,
            urgent_at: 0,
            max_seg_size: None,
            window_scale: None,
            sack_permitted: false,
            timestamps: Some((6, 7)),
            payload: b"GET / HTTP/1.1\r\n",
        };
        let mut buf = vec![0u8; repr.buffer_len()];
        repr.emit(&mut TcpPacket::new_unchecked(&mut buf[..]), ip.src, ip.dst);
        let Transport::Tcp(h, body) = parse_transport(&ip, &buf, &ParseOptions::default()).unwrap()
        else {
            panic!("not tcp")
        };
        assert_eq!(
            (h.header_len, h.checksum_ok, h.options.timestamps),
            (32, Some(true), Some((6, 7)))
        );
        assert_eq!(body, b"GET / HTTP/1.1\r\n");
    }

    proptest! {
        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..100), proto in any::<u8>(), v6 in any::<bool>(), verify in any::<bool>()) {
            let ip = ip(if v6 { IpVersion::V6 } else { IpVersion::V4 }, proto.into());
            if let Ok(t) = parse_transport(&ip, &bytes, &ParseOptions { verify_checksums: verify }) {
                match t {
                    Transport::Tcp(h, body) => prop_assert!(usize::from(h.header_len) + body.len() == bytes.len()),
                    Transport::Udp(h, body) => prop_assert!(body.len() + 8 == usize::from(h.length)),
                    Transport::Other(p) => prop_assert!(p != IpProtocol::Tcp && p != IpProtocol::Udp),
                }
            }
        }
    }
}
