//! IPv4 and IPv6 defragmentation, bounded in memory and time.
//!
//! Datagrams are keyed by (VLAN stack, source, destination, protocol,
//! identification); for IPv6 the protocol is the fragment header's next
//! header. Time is the packets' own timestamps in nanoseconds, so offline runs
//! expire datagrams exactly as live ones would.
//!
//! Invariants:
//! - at most `max_datagrams` datagrams are in progress; a fragment that would
//!   start one more is dropped and counted (`table_full`);
//! - a datagram never holds more than `max_datagram_len` bytes nor more than
//!   `max_fragments` fragments; beyond either, the whole datagram is dropped
//!   and counted;
//! - an exact duplicate (same offset and length) is ignored and counted; any
//!   other overlap, or fragments that disagree on where the datagram ends,
//!   discard the whole datagram (RFC 5722 spirit) and are counted;
//! - a datagram whose first fragment is `timeout_ns` old or older is expired
//!   (counted) before the next fragment is handled, or by [`Defragmenter::expire`];
//! - the expiry queue is compacted whenever it holds more than twice the
//!   table bound, so it is bounded too.
//!
//! Cost per fragment: one SipHash lookup (keys are attacker-chosen), a scan of
//! the datagram's fragment list (at most `max_fragments`), one copy of the
//! fragment's bytes into the datagram buffer, and amortised O(1) expiry work.
//! Completion moves the assembled buffer out without another copy (except for
//! IPv6 extension headers that follow the fragment header, which are stripped).

use crate::frame::L3Packet;
use crate::ip::{IpHeader, IpVersion};
use crate::ipv6::{is_extension_header, walk_extension_headers};
use crate::vlan::VlanStack;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

/// Limits of a [`Defragmenter`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct DefragConfig {
    /// Datagrams in progress at once (default 1024).
    pub max_datagrams: usize,
    /// Largest reassembled payload in bytes (default 65535).
    pub max_datagram_len: usize,
    /// Fragments per datagram (default 64).
    pub max_fragments: usize,
    /// Age of a datagram's first fragment after which it is expired (default 30 s).
    pub timeout_ns: u64,
}

impl Default for DefragConfig {
    fn default() -> Self {
        DefragConfig {
            max_datagrams: 1024,
            max_datagram_len: 65535,
            max_fragments: 64,
            timeout_ns: 30_000_000_000,
        }
    }
}

/// A complete datagram.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reassembled {
    pub vlans: VlanStack,
    /// IP header summary of the first fragment (offset 0). For IPv6 the
    /// protocol is the upper layer after any extension headers that followed
    /// the fragment header, and `header_len` counts them.
    pub ip: IpHeader,
    /// The whole upper-layer payload.
    pub payload: Vec<u8>,
}

/// Why a fragment (and possibly its datagram) was dropped.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum DefragDrop {
    /// Overlapped a fragment already held (not an exact duplicate), or
    /// disagreed on the datagram's end: the datagram is discarded.
    Overlap,
    /// The datagram would exceed `max_datagram_len`: discarded.
    Oversized,
    /// `max_datagrams` datagrams are in progress: this new one is not started.
    TableFull,
    /// The datagram would exceed `max_fragments`: discarded.
    TooManyFragments,
    /// The packet is not a fragment (`L3Packet::fragment` is `None`).
    NotAFragment,
}

/// What [`Defragmenter::push`] did with a fragment.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DefragOutcome {
    /// Held (or ignored as an exact duplicate); the datagram is not complete yet.
    Pending,
    Complete(Reassembled),
    Dropped(DefragDrop),
}

/// Counters of a [`Defragmenter`].
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct DefragStats {
    /// Fragments pushed.
    pub fragments: u64,
    /// Datagrams reassembled.
    pub completed: u64,
    pub overlaps: u64,
    pub duplicates: u64,
    pub oversized: u64,
    pub timeouts: u64,
    pub table_full: u64,
    pub too_many_fragments: u64,
}

impl DefragStats {
    /// Adds another defragmenter's counters (e.g. another core's) into these.
    pub fn merge(&mut self, o: &DefragStats) {
        // Destructuring makes adding a counter without merging it a compile error.
        let DefragStats {
            fragments,
            completed,
            overlaps,
            duplicates,
            oversized,
            timeouts,
            table_full,
            too_many_fragments,
        } = o;
        self.fragments += fragments;
        self.completed += completed;
        self.overlaps += overlaps;
        self.duplicates += duplicates;
        self.oversized += oversized;
        self.timeouts += timeouts;
        self.table_full += table_full;
        self.too_many_fragments += too_many_fragments;
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
struct Key {
    vlans: VlanStack,
    src: IpAddr,
    dst: IpAddr,
    protocol: u8,
    id: u32,
}

#[derive(Debug)]
struct Datagram {
    generation: u64,
    /// Header of the offset-0 fragment once seen, else of the first fragment seen.
    header: IpHeader,
    /// Byte ranges held, `[start, end)`, pairwise disjoint and non-empty.
    ranges: Vec<(u32, u32)>,
    received: u64,
    /// End of the datagram, known once the last fragment (MF clear) arrived.
    total: Option<u32>,
    data: Vec<u8>,
}

/// Reassembles IP fragments; see the module docs for its bounds.
#[derive(Debug)]
pub struct Defragmenter {
    cfg: DefragConfig,
    table: HashMap<Key, Datagram>,
    /// (deadline, key, generation) in creation order.
    order: VecDeque<(u64, Key, u64)>,
    next_generation: u64,
    stats: DefragStats,
}

impl Defragmenter {
    pub fn new(cfg: DefragConfig) -> Self {
        Defragmenter {
            cfg,
            table: HashMap::new(),
            order: VecDeque::new(),
            next_generation: 0,
            stats: DefragStats::default(),
        }
    }

    pub fn config(&self) -> &DefragConfig {
        &self.cfg
    }

    pub fn stats(&self) -> &DefragStats {
        &self.stats
    }

    /// Datagrams in progress.
    pub fn len(&self) -> usize {
        self.table.len()
    }

    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }

    /// Expires every datagram whose first fragment is `timeout_ns` old or older at `now_ns`.
    pub fn expire(&mut self, now_ns: u64) {
        while let Some(&(deadline, key, generation)) = self.order.front() {
            if deadline > now_ns {
                break;
            }
            self.order.pop_front();
            if self
                .table
                .get(&key)
                .is_some_and(|d| d.generation == generation)
            {
                self.table.remove(&key);
                self.stats.timeouts += 1;
            }
        }
    }

    /// Adds one fragment at time `now_ns`; stale datagrams are expired first.
    pub fn push(&mut self, now_ns: u64, pkt: &L3Packet<'_>) -> DefragOutcome {
        let Some(frag) = pkt.fragment else {
            return DefragOutcome::Dropped(DefragDrop::NotAFragment);
        };
        self.stats.fragments += 1;
        self.expire(now_ns);
        let key = Key {
            vlans: pkt.vlans,
            src: pkt.ip.src,
            dst: pkt.ip.dst,
            protocol: pkt.ip.protocol.into(),
            id: frag.id,
        };
        let start = u64::from(frag.offset);
        let end = start + pkt.payload.len() as u64;
        if end > self.cfg.max_datagram_len as u64 {
            self.table.remove(&key);
            self.stats.oversized += 1;
            return DefragOutcome::Dropped(DefragDrop::Oversized);
        }
        // Both fit in u32: end <= max_datagram_len was just checked... unless
        // max_datagram_len itself exceeds u32, which try_from catches.
        let (Ok(start), Ok(end)) = (u32::try_from(start), u32::try_from(end)) else {
            self.stats.oversized += 1;
            return DefragOutcome::Dropped(DefragDrop::Oversized);
        };
        if !self.table.contains_key(&key) {
            if self.table.len() >= self.cfg.max_datagrams {
                self.stats.table_full += 1;
                return DefragOutcome::Dropped(DefragDrop::TableFull);
            }
            let generation = self.next_generation;
            self.next_generation += 1;
            self.table.insert(
                key,
                Datagram {
                    generation,
                    header: pkt.ip,
                    ranges: Vec::new(),
                    received: 0,
                    total: None,
                    data: Vec::new(),
                },
            );
            self.order
                .push_back((now_ns.saturating_add(self.cfg.timeout_ns), key, generation));
            self.compact_order();
        }
        match self.add(&key, start, end, frag.more, pkt) {
            Ok(true) => {
                let Some(dg) = self.table.remove(&key) else {
                    return DefragOutcome::Pending;
                };
                self.stats.completed += 1;
                DefragOutcome::Complete(finish(pkt.vlans, dg))
            }
            Ok(false) => DefragOutcome::Pending,
            Err(drop) => {
                self.table.remove(&key);
                match drop {
                    DefragDrop::Overlap => self.stats.overlaps += 1,
                    DefragDrop::TooManyFragments => self.stats.too_many_fragments += 1,
                    _ => {}
                }
                DefragOutcome::Dropped(drop)
            }
        }
    }

    /// Records one fragment in its datagram; `Ok(true)` when it is now complete.
    fn add(
        &mut self,
        key: &Key,
        start: u32,
        end: u32,
        more: bool,
        pkt: &L3Packet<'_>,
    ) -> Result<bool, DefragDrop> {
        let Some(dg) = self.table.get_mut(key) else {
            return Ok(false);
        };
        if start == end && more {
            return Ok(false); // an empty middle fragment adds nothing
        }
        for &(s, e) in &dg.ranges {
            if s == start && e == end {
                self.stats.duplicates += 1;
                return Ok(false);
            }
            if start < e && s < end {
                return Err(DefragDrop::Overlap);
            }
        }
        if more {
            if dg.total.is_some_and(|t| end > t) {
                return Err(DefragDrop::Overlap);
            }
        } else {
            if dg.total.is_some_and(|t| t != end) || dg.ranges.iter().any(|&(_, e)| e > end) {
                return Err(DefragDrop::Overlap);
            }
            dg.total = Some(end);
        }
        if start < end {
            if dg.ranges.len() >= self.cfg.max_fragments {
                return Err(DefragDrop::TooManyFragments);
            }
            let (s, e) = (start as usize, end as usize);
            if dg.data.len() < e {
                dg.data.resize(e, 0);
            }
            if let Some(dst) = dg.data.get_mut(s..e) {
                dst.copy_from_slice(pkt.payload);
            }
            dg.ranges.push((start, end));
            dg.received += u64::from(end - start);
            if start == 0 {
                dg.header = pkt.ip;
            }
        }
        // Ranges are disjoint and inside [0, total), so covering `total` bytes means complete.
        Ok(dg.total.is_some_and(|t| dg.received == u64::from(t)))
    }

    fn compact_order(&mut self) {
        if self.order.len() > self.cfg.max_datagrams.max(8) * 2 {
            let table = &self.table;
            self.order
                .retain(|(_, k, g)| table.get(k).is_some_and(|d| d.generation == *g));
        }
    }
}

/// Builds the result; for IPv6 strips extension headers that followed the
/// fragment header (they are part of the fragmentable payload).
fn finish(vlans: VlanStack, dg: Datagram) -> Reassembled {
    let mut ip = dg.header;
    let mut payload = dg.data;
    if ip.version == IpVersion::V6 && is_extension_header(ip.protocol) {
        if let Ok(w) = walk_extension_headers(ip.protocol, &payload) {
            if w.fragment.is_none() && w.ext_len <= payload.len() {
                payload.drain(..w.ext_len);
                ip.protocol = w.protocol;
                ip.header_len = ip
                    .header_len
                    .saturating_add(u16::try_from(w.ext_len).unwrap_or(u16::MAX));
            }
        }
    }
    Reassembled { vlans, ip, payload }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{parse_frame, LinkType, ParseOptions};
    use crate::ip::{Fragment, IpProtocol};
    use crate::ipv4::{Ipv4Packet, Ipv4Repr};
    use crate::transport::{parse_transport, Transport};
    use crate::udp::{UdpPacket, UdpRepr};
    use proptest::prelude::*;
    use std::net::Ipv4Addr;

    const SEC: u64 = 1_000_000_000;

    fn header(version: IpVersion, protocol: IpProtocol) -> IpHeader {
        let (src, dst): (IpAddr, IpAddr) = match version {
            IpVersion::V4 => ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap()),
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

    fn frag<'a>(ip: IpHeader, id: u32, offset: u32, more: bool, payload: &'a [u8]) -> L3Packet<'a> {
        L3Packet {
            vlans: VlanStack::new(),
            ip,
            payload,
            fragment: Some(Fragment { id, offset, more }),
        }
    }

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 + 3) as u8).collect()
    }

    fn complete(o: DefragOutcome) -> Reassembled {
        match o {
            DefragOutcome::Complete(r) => r,
            other => panic!("expected completion, got {other:?}"),
        }
    }

    #[test]
    fn in_order_and_reversed() {
        let ip = header(IpVersion::V4, IpProtocol::Udp);
        let d = data(40);
        for reverse in [false, true] {
            let mut df = Defragmenter::new(DefragConfig::default());
            let mut parts = [
                frag(ip, 1, 0, true, &d[..16]),
                frag(ip, 1, 16, true, &d[16..32]),
                frag(ip, 1, 32, false, &d[32..]),
            ];
            if reverse {
                parts.reverse();
            }
            assert_eq!(df.push(0, &parts[0]), DefragOutcome::Pending);
            assert_eq!(df.push(1, &parts[1]), DefragOutcome::Pending);
            assert_eq!(df.len(), 1);
            let r = complete(df.push(2, &parts[2]));
            assert_eq!(r.payload, d);
            assert_eq!(r.ip, ip);
            assert!(df.is_empty());
            assert_eq!((df.stats().fragments, df.stats().completed), (3, 1));
        }
    }

    #[test]
    fn header_comes_from_the_first_fragment() {
        let ip = header(IpVersion::V4, IpProtocol::Udp);
        let first = IpHeader {
            ttl: 9,
            header_len: 24,
            ..ip
        };
        let d = data(16);
        let mut df = Defragmenter::new(DefragConfig::default());
        assert_eq!(
            df.push(0, &frag(ip, 1, 8, false, &d[8..])),
            DefragOutcome::Pending
        );
        let r = complete(df.push(0, &frag(first, 1, 0, true, &d[..8])));
        assert_eq!((r.ip.ttl, r.ip.header_len), (9, 24));
    }

    #[test]
    fn interleaved_datagrams_and_keys() {
        let ip = header(IpVersion::V4, IpProtocol::Udp);
        let tcp = header(IpVersion::V4, IpProtocol::Tcp);
        let (a, b) = (data(24), vec![0xaa; 24]);
        let mut vl = frag(ip, 7, 8, false, &b[8..]);
        vl.vlans.push(5);
        let mut df = Defragmenter::new(DefragConfig::default());
        assert_eq!(
            df.push(0, &frag(ip, 7, 0, true, &a[..8])),
            DefragOutcome::Pending
        );
        assert_eq!(
            df.push(0, &frag(ip, 8, 0, true, &b[..8])),
            DefragOutcome::Pending
        );
        assert_eq!(
            df.push(0, &frag(tcp, 7, 8, false, &b[8..])),
            DefragOutcome::Pending
        ); // other protocol
        assert_eq!(df.push(0, &vl), DefragOutcome::Pending); // other VLAN
        assert_eq!(
            df.push(0, &frag(ip, 8, 8, false, &b[8..])),
            DefragOutcome::Complete(Reassembled {
                vlans: VlanStack::new(),
                ip,
                payload: b.clone()
            })
        );
        assert_eq!(
            complete(df.push(0, &frag(ip, 7, 8, false, &a[8..]))).payload,
            a
        );
        assert_eq!(df.len(), 2);
    }

    #[test]
    fn duplicate_ignored_overlap_dropped() {
        let ip = header(IpVersion::V4, IpProtocol::Udp);
        let d = data(32);
        let mut df = Defragmenter::new(DefragConfig::default());
        assert_eq!(
            df.push(0, &frag(ip, 1, 0, true, &d[..16])),
            DefragOutcome::Pending
        );
        assert_eq!(
            df.push(0, &frag(ip, 1, 0, true, &d[..16])),
            DefragOutcome::Pending
        );
        assert_eq!(df.stats().duplicates, 1);
        assert_eq!(
            complete(df.push(0, &frag(ip, 1, 16, false, &d[16..]))).payload,
            d
        );

        assert_eq!(
            df.push(0, &frag(ip, 2, 0, true, &d[..16])),
            DefragOutcome::Pending
        );
        assert_eq!(
            df.push(0, &frag(ip, 2, 8, true, &d[8..24])),
            DefragOutcome::Dropped(DefragDrop::Overlap)
        );
        assert_eq!(df.stats().overlaps, 1);
        assert!(df.is_empty(), "the whole datagram is discarded");

        // Two different "last" fragments disagree on the end.
        assert_eq!(
            df.push(0, &frag(ip, 3, 16, false, &d[16..])),
            DefragOutcome::Pending
        );
        assert_eq!(
            df.push(0, &frag(ip, 3, 32, false, &d[..8])),
            DefragOutcome::Dropped(DefragDrop::Overlap)
        );
        // A middle fragment beyond the known end.
        assert_eq!(
            df.push(0, &frag(ip, 4, 8, false, &d[8..16])),
            DefragOutcome::Pending
        );
        assert_eq!(
            df.push(0, &frag(ip, 4, 16, true, &d[16..24])),
            DefragOutcome::Dropped(DefragDrop::Overlap)
        );
        assert_eq!(df.stats().overlaps, 3);
    }

    #[test]
    fn oversized_dropped() {
        let ip = header(IpVersion::V4, IpProtocol::Udp);
        let d = data(64);
        let mut df = Defragmenter::new(DefragConfig {
            max_datagram_len: 48,
            ..DefragConfig::default()
        });
        assert_eq!(
            df.push(0, &frag(ip, 1, 0, true, &d[..32])),
            DefragOutcome::Pending
        );
        assert_eq!(
            df.push(0, &frag(ip, 1, 32, false, &d[32..])),
            DefragOutcome::Dropped(DefragDrop::Oversized)
        );
        assert_eq!(df.stats().oversized, 1);
        assert!(df.is_empty());
        assert_eq!(
            df.push(0, &frag(ip, 2, 40, false, &d[..8])),
            DefragOutcome::Pending
        );
        assert_eq!(
            df.push(0, &frag(ip, 3, u32::from(u16::MAX), false, &d)),
            DefragOutcome::Dropped(DefragDrop::Oversized)
        );
    }

    #[test]
    fn timeout_expiry() {
        let ip = header(IpVersion::V4, IpProtocol::Udp);
        let d = data(16);
        let mut df = Defragmenter::new(DefragConfig {
            timeout_ns: 30 * SEC,
            ..DefragConfig::default()
        });
        assert_eq!(
            df.push(10 * SEC, &frag(ip, 1, 0, true, &d[..8])),
            DefragOutcome::Pending
        );
        assert_eq!(
            df.push(20 * SEC, &frag(ip, 2, 0, true, &d[..8])),
            DefragOutcome::Pending
        );
        df.expire(39 * SEC);
        assert_eq!((df.len(), df.stats().timeouts), (2, 0));
        df.expire(40 * SEC);
        assert_eq!((df.len(), df.stats().timeouts), (1, 1));
        // The second datagram's last fragment arrives too late: it starts a new datagram.
        assert_eq!(
            df.push(50 * SEC, &frag(ip, 2, 8, false, &d[8..])),
            DefragOutcome::Pending
        );
        assert_eq!((df.len(), df.stats().timeouts), (1, 2));
        // Within its own timeout it still completes.
        assert_eq!(
            complete(df.push(51 * SEC, &frag(ip, 2, 0, true, &d[..8]))).payload,
            d
        );
    }

    #[test]
    fn table_and_fragment_bounds() {
        let ip = header(IpVersion::V4, IpProtocol::Udp);
        let d = data(8 * 10);
        let mut df = Defragmenter::new(DefragConfig {
            max_datagrams: 3,
            max_fragments: 4,
            ..DefragConfig::default()
        });
        for id in 0..3 {
            assert_eq!(
                df.push(0, &frag(ip, id, 0, true, &d[..8])),
                DefragOutcome::Pending
            );
        }
        assert_eq!(
            df.push(0, &frag(ip, 99, 0, true, &d[..8])),
            DefragOutcome::Dropped(DefragDrop::TableFull)
        );
        assert_eq!((df.len(), df.stats().table_full), (3, 1));
        // Fragments of existing datagrams still get in.
        for i in 1..4u32 {
            assert_eq!(
                df.push(0, &frag(ip, 0, i * 8, true, &d[..8])),
                DefragOutcome::Pending
            );
        }
        assert_eq!(
            df.push(0, &frag(ip, 0, 32, true, &d[..8])),
            DefragOutcome::Dropped(DefragDrop::TooManyFragments)
        );
        assert_eq!((df.len(), df.stats().too_many_fragments), (2, 1));
        // Many short-lived datagrams never grow the expiry queue beyond its bound.
        for id in 1000..3000u32 {
            df.push(0, &frag(ip, id, 0, true, &d[..8]));
            df.push(0, &frag(ip, id, 8, false, &d[8..16]));
        }
        assert!(df.order.len() <= 16 + 1);
        assert_eq!(df.stats().completed, 2000);
    }

    #[test]
    fn not_a_fragment() {
        let ip = header(IpVersion::V4, IpProtocol::Udp);
        let p = L3Packet {
            vlans: VlanStack::new(),
            ip,
            payload: &[1, 2, 3],
            fragment: None,
        };
        let mut df = Defragmenter::new(DefragConfig::default());
        assert_eq!(
            df.push(0, &p),
            DefragOutcome::Dropped(DefragDrop::NotAFragment)
        );
        assert_eq!(df.stats().fragments, 0);
    }

    #[test]
    fn ipv6_extension_header_after_fragment_header_is_stripped() {
        let ip = IpHeader {
            header_len: 48,
            ..header(IpVersion::V6, IpProtocol::Ipv6Opts)
        };
        let mut d = vec![17, 0, 1, 4, 0, 0, 0, 0]; // destination options -> UDP
        d.extend_from_slice(&data(24));
        let mut df = Defragmenter::new(DefragConfig::default());
        assert_eq!(
            df.push(0, &frag(ip, 0xdead, 16, false, &d[16..])),
            DefragOutcome::Pending
        );
        let r = complete(df.push(0, &frag(ip, 0xdead, 0, true, &d[..16])));
        assert_eq!((r.ip.protocol, r.ip.header_len), (IpProtocol::Udp, 56));
        assert_eq!(r.payload, &d[8..]);
    }

    /// End to end: real IPv4 frames of a fragmented UDP datagram, parsed, reassembled,
    /// and the UDP checksum verified over the reassembled payload.
    #[test]
    fn ipv4_udp_frames_end_to_end() {
        let src = Ipv4Addr::new(192, 0, 2, 1);
        let dst = Ipv4Addr::new(192, 0, 2, 53);
        let body = data(100);
        let udp_repr = UdpRepr {
            src_port: 53,
            dst_port: 40000,
            payload: &body,
        };
        let mut udp = vec![0u8; udp_repr.buffer_len()];
        udp_repr.emit(
            &mut UdpPacket::new_unchecked(&mut udp[..]),
            src.into(),
            dst.into(),
        );
        let frames: Vec<Vec<u8>> = [(0usize, 48usize), (48, 96), (96, udp.len())]
            .iter()
            .map(|&(s, e)| {
                let repr = Ipv4Repr {
                    src_addr: src,
                    dst_addr: dst,
                    next_header: IpProtocol::Udp,
                    payload_len: e - s,
                    hop_limit: 64,
                    ident: 0x4242,
                    dont_frag: false,
                    more_frags: e != udp.len(),
                    frag_offset: s as u16,
                };
                let mut f = vec![0u8; 20 + e - s];
                repr.emit(&mut Ipv4Packet::new_unchecked(&mut f[..]));
                f[20..].copy_from_slice(&udp[s..e]);
                f
            })
            .collect();
        let opts = ParseOptions::default();
        let mut df = Defragmenter::new(DefragConfig::default());
        let mut out = None;
        for f in frames.iter().rev() {
            let p = parse_frame(LinkType::Ipv4, f, &opts).unwrap();
            assert!(p.fragment.is_some());
            assert_eq!(p.ip.checksum_ok, Some(true));
            if let DefragOutcome::Complete(r) = df.push(0, &p) {
                out = Some(r);
            }
        }
        let r = out.expect("reassembled");
        let Transport::Udp(h, payload) = parse_transport(&r.ip, &r.payload, &opts).unwrap() else {
            panic!("not udp")
        };
        assert_eq!((h.src_port, h.checksum_ok), (53, Some(true)));
        assert_eq!(payload, &body[..]);
    }

    /// The two frames of Zeek's `ipv4/fragmented-syn.pcap`: a TCP SYN whose
    /// 40-byte header is split after 24 bytes, in the middle of the options.
    const SYN_FRAG_1: [u8; 58] = [
        0x1e, 0x0b, 0x8b, 0x14, 0xf6, 0xf9, 0x98, 0xee, 0xcb, 0xbd, 0x07, 0xfe, 0x08, 0x00, 0x45,
        0x00, 0x00, 0x2c, 0x00, 0x01, 0x20, 0x00, 0x40, 0x06, 0x8e, 0xba, 0xc0, 0xa8, 0x01, 0x64,
        0x0a, 0x00, 0x00, 0x05, 0x30, 0x39, 0x00, 0x50, 0x00, 0x00, 0x03, 0xe8, 0x00, 0x00, 0x00,
        0x00, 0xa0, 0x02, 0x20, 0x00, 0xc5, 0x73, 0x00, 0x00, 0x02, 0x04, 0x05, 0xb4,
    ];
    const SYN_FRAG_2: [u8; 50] = [
        0x1e, 0x0b, 0x8b, 0x14, 0xf6, 0xf9, 0x98, 0xee, 0xcb, 0xbd, 0x07, 0xfe, 0x08, 0x00, 0x45,
        0x00, 0x00, 0x24, 0x00, 0x01, 0x00, 0x03, 0x40, 0x06, 0xae, 0xbf, 0xc0, 0xa8, 0x01, 0x64,
        0x0a, 0x00, 0x00, 0x05, 0x04, 0x02, 0x08, 0x0a, 0x00, 0xbc, 0x61, 0x4e, 0x00, 0x00, 0x00,
        0x00, 0x01, 0x03, 0x03, 0x07,
    ];

    #[test]
    fn real_fragmented_syn() {
        let opts = ParseOptions::default();
        let a = parse_frame(LinkType::Ethernet, &SYN_FRAG_1, &opts).unwrap();
        let b = parse_frame(LinkType::Ethernet, &SYN_FRAG_2, &opts).unwrap();
        assert_eq!(
            a.fragment,
            Some(Fragment {
                id: 1,
                offset: 0,
                more: true
            })
        );
        assert_eq!(
            b.fragment,
            Some(Fragment {
                id: 1,
                offset: 24,
                more: false
            })
        );
        // The first fragment alone does not hold the whole TCP header.
        assert!(parse_transport(&a.ip, a.payload, &opts).is_err());
        let mut df = Defragmenter::new(DefragConfig::default());
        assert_eq!(df.push(1, &a), DefragOutcome::Pending);
        let r = complete(df.push(2, &b));
        assert_eq!(r.payload.len(), 40);
        let Transport::Tcp(h, body) = parse_transport(&r.ip, &r.payload, &opts).unwrap() else {
            panic!("not tcp")
        };
        assert_eq!(
            (h.src_port, h.dst_port, h.seq, h.header_len),
            (12345, 80, 1000, 40)
        );
        assert!(h.flags.syn() && !h.flags.ack());
        assert_eq!(h.options.mss, Some(1460));
        assert_eq!(h.options.window_scale, Some(7));
        assert_eq!(h.options.timestamps, Some((0x00bc614e, 0)));
        assert_eq!(h.checksum_ok, Some(true));
        assert!(body.is_empty());
    }

    proptest! {
        /// Any permutation of a datagram's non-overlapping fragments reassembles to the original.
        #[test]
        fn any_permutation_reassembles(len in 1usize..3000, sizes in proptest::collection::vec(1usize..64, 1..40),
                                       keys in proptest::collection::vec(any::<u32>(), 40), v6 in any::<bool>()) {
            let d = data(len);
            let mut cuts = Vec::new();
            let mut at = 0;
            for s in sizes {
                if at >= len { break; }
                let end = (at + s * 8).min(len);
                cuts.push((at, end));
                at = end;
            }
            if at < len {
                cuts.push((at, len));
            }
            let mut order: Vec<usize> = (0..cuts.len()).collect();
            order.sort_by_key(|&i| keys.get(i).copied().unwrap_or(0));
            let ip = header(if v6 { IpVersion::V6 } else { IpVersion::V4 }, IpProtocol::Udp);
            let mut df = Defragmenter::new(DefragConfig::default());
            let mut result = None;
            for (n, &i) in order.iter().enumerate() {
                let (s, e) = cuts[i];
                let out = df.push(0, &frag(ip, 77, s as u32, e != len, &d[s..e]));
                if n + 1 < order.len() {
                    prop_assert_eq!(out, DefragOutcome::Pending);
                } else {
                    result = Some(out);
                }
            }
            prop_assert_eq!(result, Some(DefragOutcome::Complete(Reassembled { vlans: VlanStack::new(), ip, payload: d })));
            prop_assert!(df.is_empty());
        }

        /// Random fragment streams never break the bounds.
        #[test]
        fn bounded_under_random_fragments(ops in proptest::collection::vec((0u32..6, 0u32..200, any::<bool>(), 0usize..100, 0u64..100), 0..200)) {
            let cfg = DefragConfig { max_datagrams: 4, max_datagram_len: 1000, max_fragments: 5, timeout_ns: 30 };
            let mut df = Defragmenter::new(cfg);
            let ip = header(IpVersion::V4, IpProtocol::Udp);
            let d = data(100);
            let mut now = 0;
            for (id, off, more, len, dt) in ops {
                now += dt;
                let _ = df.push(now, &frag(ip, id, off * 8, more, &d[..len]));
                prop_assert!(df.len() <= cfg.max_datagrams);
                prop_assert!(df.order.len() <= cfg.max_datagrams.max(8) * 2 + 1);
                for dg in df.table.values() {
                    prop_assert!(dg.ranges.len() <= cfg.max_fragments);
                    prop_assert!(dg.data.len() <= cfg.max_datagram_len);
                }
            }
        }
    }
}
