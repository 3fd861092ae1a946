//! Compact packet builders: Ethernet (+802.1Q), IPv4, IPv6, TCP and UDP with correct
//! checksums, and IP fragmentation (IPv4 flags/offset, IPv6 fragment header).
//!
//! Builders write whole frames into a fresh `Vec<u8>`; nothing here parses.

use std::cell::RefCell;
use std::net::IpAddr;

/// Frame buffers at least this large are recycled through a per-thread pool (see
/// [`recycle`]); smaller ones come from the allocator's fast path anyway.
const POOL_MIN: usize = 1024;
/// Capacity given to pooled buffers, so that any recycled buffer fits a full-size frame
/// (18 + 40 + 60 + 1460 bytes and the 1200-byte QUIC datagrams).
const POOL_CAP: usize = 1600;
/// At most this many idle buffers are kept per thread (about 26 MB).
const POOL_MAX: usize = 16_384;

thread_local! {
    static POOL: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
    /// Scratch space for the Ethernet and IP headers of an unfragmented frame.
    static HDR: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// An empty buffer with room for `cap` bytes, recycled when it is large.
pub(crate) fn alloc_buf(cap: usize) -> Vec<u8> {
    if cap < POOL_MIN {
        return Vec::with_capacity(cap);
    }
    let reused = if cap <= POOL_CAP { POOL.with(|p| p.borrow_mut().pop()) } else { None };
    match reused {
        Some(mut b) => {
            b.clear();
            b
        }
        None => Vec::with_capacity(cap.max(POOL_CAP)),
    }
}

/// Give a packet's buffer back for reuse by later packets built on this thread
/// (optional; saves an allocation and a free per large frame).
pub fn recycle(buf: Vec<u8>) {
    if buf.capacity() >= POOL_CAP {
        POOL.with(|p| {
            let mut p = p.borrow_mut();
            if p.len() < POOL_MAX {
                p.push(buf);
            }
        });
    }
}

/// Ethertypes and IP protocol numbers used by the builders.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// IPv6 ethertype.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// 802.1Q tag ethertype.
pub const ETHERTYPE_VLAN: u16 = 0x8100;
/// IP protocol number of TCP.
pub const PROTO_TCP: u8 = 6;
/// IP protocol number of UDP.
pub const PROTO_UDP: u8 = 17;
/// IPv6 next-header value of the fragment header.
pub const PROTO_IPV6_FRAG: u8 = 44;

/// TCP flag bits.
pub mod tcp_flags {
    /// FIN
    pub const FIN: u8 = 0x01;
    /// SYN
    pub const SYN: u8 = 0x02;
    /// RST
    pub const RST: u8 = 0x04;
    /// PSH
    pub const PSH: u8 = 0x08;
    /// ACK
    pub const ACK: u8 = 0x10;
}

/// Direction of a packet inside a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Client (originator) to server (responder).
    ToServer,
    /// Server to client.
    ToClient,
}

/// The addresses of one flow's two endpoints, both layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoints {
    /// Client MAC address.
    pub client_mac: [u8; 6],
    /// Server-side (gateway) MAC address.
    pub server_mac: [u8; 6],
    /// 802.1Q VLAN id, if tagged.
    pub vlan: Option<u16>,
    /// Client IP address (same family as `server`).
    pub client: IpAddr,
    /// Server IP address.
    pub server: IpAddr,
    /// Client L4 port.
    pub client_port: u16,
    /// Server L4 port.
    pub server_port: u16,
}

impl Endpoints {
    fn oriented(&self, dir: Dir) -> (IpAddr, IpAddr, u16, u16, [u8; 6], [u8; 6]) {
        match dir {
            Dir::ToServer => (
                self.client,
                self.server,
                self.client_port,
                self.server_port,
                self.client_mac,
                self.server_mac,
            ),
            Dir::ToClient => (
                self.server,
                self.client,
                self.server_port,
                self.client_port,
                self.server_mac,
                self.client_mac,
            ),
        }
    }

    /// Bytes of Ethernet (+VLAN) and IP header in front of the L4 header.
    pub fn l3_overhead(&self) -> usize {
        let eth = if self.vlan.is_some() { 18 } else { 14 };
        eth + if self.client.is_ipv4() { 20 } else { 40 }
    }
}

/// One's-complement sum of big-endian 16-bit words (odd trailing byte padded with
/// zero), not folded. Adds 32-bit words at a time: 2^16 = 1 modulo 2^16 - 1, so a
/// 32-bit word contributes the same as its two halves.
pub fn sum16(data: &[u8]) -> u64 {
    // Little-endian words need no byte swapping per word (cheaper to vectorise); the
    // folded little-endian sum is the big-endian one byte-swapped (RFC 1071 §2 (B)).
    let (mut lo, mut hi) = (0u64, 0u64);
    let mut words = data.chunks_exact(8);
    for c in &mut words {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        lo += w & 0xffff_ffff;
        hi += w >> 32;
    }
    let mut le = lo + hi;
    let mut chunks = words.remainder().chunks_exact(4);
    for c in &mut chunks {
        le += u64::from(u32::from_le_bytes([c[0], c[1], c[2], c[3]]));
    }
    while le > 0xffff {
        le = (le & 0xffff) + (le >> 16);
    }
    let mut sum = ((le & 0xff) << 8) | (le >> 8);
    let rest = chunks.remainder();
    let mut pairs = rest.chunks_exact(2);
    for c in &mut pairs {
        sum += u64::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = pairs.remainder() {
        sum += u64::from(*last) << 8;
    }
    sum
}

/// Fold a one's-complement sum and complement it.
pub fn fold(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

fn addr_sum(a: IpAddr) -> u64 {
    match a {
        IpAddr::V4(v) => sum16(&v.octets()),
        IpAddr::V6(v) => sum16(&v.octets()),
    }
}

/// L4 checksum over the pseudo header and `l4` (header with zeroed checksum + payload).
pub fn l4_checksum(src: IpAddr, dst: IpAddr, proto: u8, l4: &[u8]) -> u16 {
    let sum = addr_sum(src) + addr_sum(dst) + u64::from(proto) + l4.len() as u64 + sum16(l4);
    fold(sum)
}

/// Parameters of one TCP segment.
#[derive(Debug, Clone, Copy)]
pub struct TcpSeg<'a> {
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgement number.
    pub ack: u32,
    /// Flags (see [`tcp_flags`]).
    pub flags: u8,
    /// Advertised window.
    pub window: u16,
    /// Raw option bytes (length a multiple of 4).
    pub options: &'a [u8],
    /// Segment payload.
    pub payload: &'a [u8],
}

/// An L4 datagram stored after `off` bytes of headroom, so the Ethernet and IP headers
/// can be written in front of it without copying the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L4Buf {
    /// Headroom followed by the L4 header and payload.
    pub buf: Vec<u8>,
    /// Where the L4 header starts.
    pub off: usize,
}

impl L4Buf {
    /// The L4 bytes.
    pub fn l4(&self) -> &[u8] {
        &self.buf[self.off..]
    }
}

/// Build the TCP header + payload (checksum filled in) after `headroom` zero bytes.
pub fn tcp_l4(src: IpAddr, dst: IpAddr, sport: u16, dport: u16, seg: &TcpSeg<'_>, headroom: usize) -> L4Buf {
    tcp_l4_with(src, dst, sport, dport, seg, headroom, seg.payload.len(), |b| b.extend_from_slice(seg.payload))
}

/// Like [`tcp_l4`], but the payload (`payload_len` bytes, `seg.payload` ignored) is
/// appended by `fill`, so it can be produced in place.
#[allow(clippy::too_many_arguments)]
pub fn tcp_l4_with(
    src: IpAddr,
    dst: IpAddr,
    sport: u16,
    dport: u16,
    seg: &TcpSeg<'_>,
    headroom: usize,
    payload_len: usize,
    fill: impl FnOnce(&mut Vec<u8>),
) -> L4Buf {
    debug_assert!(seg.options.len() % 4 == 0 && seg.options.len() <= 40);
    let hlen = 20 + seg.options.len();
    let mut b = alloc_buf(headroom + hlen + payload_len);
    b.resize(headroom, 0);
    b.extend_from_slice(&sport.to_be_bytes());
    b.extend_from_slice(&dport.to_be_bytes());
    b.extend_from_slice(&seg.seq.to_be_bytes());
    b.extend_from_slice(&seg.ack.to_be_bytes());
    b.push(((hlen / 4) as u8) << 4);
    b.push(seg.flags);
    b.extend_from_slice(&seg.window.to_be_bytes());
    b.extend_from_slice(&[0, 0, 0, 0]);
    b.extend_from_slice(seg.options);
    fill(&mut b);
    debug_assert_eq!(b.len(), headroom + hlen + payload_len);
    let c = l4_checksum(src, dst, PROTO_TCP, &b[headroom..]);
    b[headroom + 16..headroom + 18].copy_from_slice(&c.to_be_bytes());
    L4Buf { buf: b, off: headroom }
}

/// Build the UDP header + payload (checksum filled in; never zero) after `headroom` bytes.
pub fn udp_l4(src: IpAddr, dst: IpAddr, sport: u16, dport: u16, payload: &[u8], headroom: usize) -> L4Buf {
    udp_l4_with(src, dst, sport, dport, headroom, payload.len(), |b| b.extend_from_slice(payload))
}

/// Like [`udp_l4`], but the payload (`payload_len` bytes) is appended by `fill`.
#[allow(clippy::too_many_arguments)]
pub fn udp_l4_with(
    src: IpAddr,
    dst: IpAddr,
    sport: u16,
    dport: u16,
    headroom: usize,
    payload_len: usize,
    fill: impl FnOnce(&mut Vec<u8>),
) -> L4Buf {
    let len = 8 + payload_len;
    let mut b = alloc_buf(headroom + len);
    b.resize(headroom, 0);
    b.extend_from_slice(&sport.to_be_bytes());
    b.extend_from_slice(&dport.to_be_bytes());
    b.extend_from_slice(&(len as u16).to_be_bytes());
    b.extend_from_slice(&[0, 0]);
    fill(&mut b);
    debug_assert_eq!(b.len(), headroom + len);
    let mut c = l4_checksum(src, dst, PROTO_UDP, &b[headroom..]);
    if c == 0 {
        c = 0xffff;
    }
    b[headroom + 6..headroom + 8].copy_from_slice(&c.to_be_bytes());
    L4Buf { buf: b, off: headroom }
}

fn push_eth(out: &mut Vec<u8>, ep: &Endpoints, src_mac: [u8; 6], dst_mac: [u8; 6], v6: bool) {
    out.extend_from_slice(&dst_mac);
    out.extend_from_slice(&src_mac);
    if let Some(vid) = ep.vlan {
        out.extend_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
        out.extend_from_slice(&(vid & 0x0fff).to_be_bytes());
    }
    let et = if v6 { ETHERTYPE_IPV6 } else { ETHERTYPE_IPV4 };
    out.extend_from_slice(&et.to_be_bytes());
}

/// How to place one L4 datagram into IP packets.
#[derive(Debug, Clone, Copy)]
pub struct IpOpts {
    /// IPv4 identification / IPv6 fragment identification.
    pub ident: u32,
    /// Time to live / hop limit.
    pub ttl: u8,
    /// Split the L4 datagram into fragments carrying at most this many bytes each
    /// (rounded down to a multiple of 8); `None` sends one unfragmented packet.
    pub fragment: Option<usize>,
}

/// Write Ethernet (+VLAN) and IP headers for a datagram of `l4_len` bytes carrying
/// the byte range `start..start + body_len` (`more` = more fragments follow).
#[allow(clippy::too_many_arguments)]
fn write_headers(out: &mut Vec<u8>, ep: &Endpoints, dir: Dir, proto: u8, ip: &IpOpts, start: usize, body_len: usize, frag: Option<bool>) {
    let (src, dst, _, _, smac, dmac) = ep.oriented(dir);
    match (src, dst) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            push_eth(out, ep, smac, dmac, false);
            let h = out.len();
            let total = 20 + body_len;
            out.push(0x45);
            out.push(0);
            out.extend_from_slice(&(total as u16).to_be_bytes());
            out.extend_from_slice(&(ip.ident as u16).to_be_bytes());
            let flags_off = match frag {
                None => 0x4000, // DF
                Some(more) => ((start / 8) as u16) | if more { 0x2000 } else { 0 },
            };
            out.extend_from_slice(&flags_off.to_be_bytes());
            out.push(ip.ttl);
            out.push(proto);
            out.extend_from_slice(&[0, 0]);
            out.extend_from_slice(&s.octets());
            out.extend_from_slice(&d.octets());
            let c = fold(sum16(&out[h..h + 20]));
            out[h + 10..h + 12].copy_from_slice(&c.to_be_bytes());
        }
        (IpAddr::V6(s), IpAddr::V6(d)) => {
            push_eth(out, ep, smac, dmac, true);
            let ext = if frag.is_some() { 8 } else { 0 };
            out.extend_from_slice(&[0x60, 0, 0, 0]);
            out.extend_from_slice(&((ext + body_len) as u16).to_be_bytes());
            out.push(if frag.is_some() { PROTO_IPV6_FRAG } else { proto });
            out.push(ip.ttl);
            out.extend_from_slice(&s.octets());
            out.extend_from_slice(&d.octets());
            if let Some(more) = frag {
                out.push(proto);
                out.push(0);
                let off = ((start / 8) as u16) << 3 | u16::from(more);
                out.extend_from_slice(&off.to_be_bytes());
                out.extend_from_slice(&ip.ident.to_be_bytes());
            }
        }
        _ => unreachable_family(),
    }
}

/// Wrap an L4 datagram (built with `ep.l3_overhead()` bytes of headroom) into one or
/// more Ethernet frames travelling in `dir`, handing each to `emit`. The unfragmented
/// case reuses the datagram's buffer.
pub fn frames(ep: &Endpoints, dir: Dir, proto: u8, l4: L4Buf, ip: &IpOpts, mut emit: impl FnMut(Vec<u8>)) {
    let len = l4.buf.len() - l4.off;
    match ip.fragment {
        Some(max) if len > max.max(8) => {
            let step = (max.max(8) / 8) * 8;
            let body = l4.l4();
            let mut off = 0;
            while off < len {
                let end = (off + step).min(len);
                let mut f = Vec::with_capacity(ep.l3_overhead() + 8 + end - off);
                write_headers(&mut f, ep, dir, proto, ip, off, end - off, Some(end < len));
                f.extend_from_slice(&body[off..end]);
                emit(f);
                off = end;
            }
        }
        _ => {
            let mut buf = l4.buf;
            let fits = HDR.with(|h| {
                let mut hdr = h.borrow_mut();
                hdr.clear();
                write_headers(&mut hdr, ep, dir, proto, ip, 0, len, None);
                let fits = hdr.len() == l4.off;
                if fits {
                    buf[..l4.off].copy_from_slice(&hdr);
                } else {
                    let mut whole = Vec::with_capacity(hdr.len() + len);
                    whole.extend_from_slice(&hdr);
                    whole.extend_from_slice(&buf[l4.off..]);
                    buf = whole;
                }
                fits
            });
            debug_assert!(fits, "headroom matches the headers");
            emit(buf);
        }
    }
}

#[cold]
fn unreachable_family() {
    debug_assert!(false, "client and server address families differ");
}

/// Build the TCP datagram for `dir`, with headroom for this flow's headers.
pub fn tcp_datagram(ep: &Endpoints, dir: Dir, seg: &TcpSeg<'_>) -> L4Buf {
    let (src, dst, sp, dp, _, _) = ep.oriented(dir);
    tcp_l4(src, dst, sp, dp, seg, ep.l3_overhead())
}

/// Build the TCP datagram for `dir` whose payload `fill` appends in place.
pub fn tcp_datagram_with(ep: &Endpoints, dir: Dir, seg: &TcpSeg<'_>, payload_len: usize, fill: impl FnOnce(&mut Vec<u8>)) -> L4Buf {
    let (src, dst, sp, dp, _, _) = ep.oriented(dir);
    tcp_l4_with(src, dst, sp, dp, seg, ep.l3_overhead(), payload_len, fill)
}

/// Build the UDP datagram for `dir`, with headroom for this flow's headers.
pub fn udp_datagram(ep: &Endpoints, dir: Dir, payload: &[u8]) -> L4Buf {
    let (src, dst, sp, dp, _, _) = ep.oriented(dir);
    udp_l4(src, dst, sp, dp, payload, ep.l3_overhead())
}

/// Build the UDP datagram for `dir` whose payload (`payload_len` bytes) `fill` appends.
pub fn udp_datagram_with(ep: &Endpoints, dir: Dir, payload_len: usize, fill: impl FnOnce(&mut Vec<u8>)) -> L4Buf {
    let (src, dst, sp, dp, _, _) = ep.oriented(dir);
    udp_l4_with(src, dst, sp, dp, ep.l3_overhead(), payload_len, fill)
}

/// Collect [`frames`] into a vector (tests and tools).
pub fn frames_vec(ep: &Endpoints, dir: Dir, proto: u8, l4: L4Buf, ip: &IpOpts) -> Vec<Vec<u8>> {
    let mut v = Vec::new();
    frames(ep, dir, proto, l4, ip, |f| v.push(f));
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    fn ep4() -> Endpoints {
        Endpoints {
            client_mac: [2, 0, 0, 0, 0, 1],
            server_mac: [2, 0, 0, 0, 0, 2],
            vlan: None,
            client: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
            server: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
            client_port: 40000,
            server_port: 80,
        }
    }

    #[test]
    fn ipv4_header_checksum_known_value() {
        // Classic example header (Wikipedia, IPv4 header checksum): checksum 0xb861.
        let h = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(fold(sum16(&h)), 0xb861);
    }

    #[test]
    fn sum16_matches_pairwise_sum() {
        let data: Vec<u8> = (0..1001u32).map(|i| (i * 7 + 3) as u8).collect();
        for n in [0, 1, 2, 3, 5, 8, 999, 1001] {
            let d = &data[..n];
            let mut want = 0u64;
            for (i, b) in d.iter().enumerate() {
                want += if i % 2 == 0 { u64::from(*b) << 8 } else { u64::from(*b) };
            }
            assert_eq!(fold(sum16(d)), fold(want), "n = {n}");
        }
    }

    #[test]
    fn udp_frame_layout() {
        let ep = ep4();
        let l4 = udp_datagram(&ep, Dir::ToServer, b"hello");
        let f = frames_vec(&ep, Dir::ToServer, PROTO_UDP, l4, &IpOpts { ident: 7, ttl: 64, fragment: None });
        assert_eq!(f.len(), 1);
        let f = &f[0];
        assert_eq!(f.len(), 14 + 20 + 8 + 5);
        assert_eq!(&f[12..14], &[0x08, 0x00]);
        assert_eq!(u16::from_be_bytes([f[16], f[17]]), 33);
        assert_eq!(fold(sum16(&f[14..34])), 0);
        assert_eq!(&f[34..36], &40000u16.to_be_bytes());
    }

    #[test]
    fn ipv4_fragments_cover_datagram() {
        let ep = ep4();
        let payload = vec![0xab; 1000];
        let l4 = udp_datagram(&ep, Dir::ToClient, &payload);
        let want = l4.l4().to_vec();
        let f = frames_vec(&ep, Dir::ToClient, PROTO_UDP, l4, &IpOpts { ident: 9, ttl: 64, fragment: Some(300) });
        assert_eq!(f.len(), 4);
        let mut got = Vec::new();
        for (i, fr) in f.iter().enumerate() {
            let fo = u16::from_be_bytes([fr[20], fr[21]]);
            assert_eq!(usize::from(fo & 0x1fff) * 8, got.len());
            assert_eq!(fo & 0x2000 != 0, i + 1 < f.len());
            got.extend_from_slice(&fr[34..]);
        }
        assert_eq!(got, want);
    }

    #[test]
    fn ipv6_vlan_fragment_header() {
        let mut ep = ep4();
        ep.vlan = Some(42);
        ep.client = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1));
        ep.server = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 0, 0, 0, 0, 2));
        let l4 = udp_datagram(&ep, Dir::ToServer, &[1u8; 100]);
        let f = frames_vec(&ep, Dir::ToServer, PROTO_UDP, l4, &IpOpts { ident: 5, ttl: 64, fragment: Some(64) });
        assert_eq!(f.len(), 2);
        assert_eq!(&f[0][12..16], &[0x81, 0x00, 0x00, 42]);
        assert_eq!(&f[0][16..18], &[0x86, 0xdd]);
        assert_eq!(f[0][18 + 6], PROTO_IPV6_FRAG);
        assert_eq!(f[0][18 + 40], PROTO_UDP);
    }
}
