//! The per-core packet path: frame → (defragmentation) → transport →
//! connection tracking → the application's [`ConnHandler`].
//!
//! One `Pipeline` per core, sharing nothing. The pcap runtime feeds it
//! borrowed frames; the DPDK runtime will feed it mbuf views the same way.
//! Per packet it costs one frame parse, one transport parse (plus checksum
//! verification when enabled), one connection-table lookup, and whatever
//! the handler asks for; no allocation except for out-of-order TCP data and
//! IP fragments.

use crate::config::Config;
use crate::source::RawPacket;
use crate::stats::Stats;
use std::net::IpAddr;
use weir_conntrack::{ConnHandler, ConnTable, L4Proto, PacketInput, TcpMeta, Timestamp};
use weir_wire::{
    parse_frame_captured, parse_transport, DefragOutcome, Defragmenter, IpHeader, IpVersion,
    LinkType, ParseOptions, Transport, VlanStack,
};

pub struct Pipeline<H: ConnHandler> {
    opts: ParseOptions,
    defrag: Defragmenter,
    table: ConnTable<H::State>,
    handler: H,
    stats: Stats,
}

impl<H: ConnHandler> Pipeline<H> {
    /// `cfg` must have been validated.
    pub fn new(cfg: &Config, handler: H) -> Self {
        Pipeline {
            opts: ParseOptions {
                verify_checksums: cfg.packets.verify_checksums,
            },
            defrag: Defragmenter::new(cfg.defrag.to_config()),
            table: ConnTable::new(cfg.conntrack.clone()),
            handler,
            stats: Stats::default(),
        }
    }

    pub fn handler(&self) -> &H {
        &self.handler
    }

    pub fn handler_mut(&mut self) -> &mut H {
        &mut self.handler
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Connections currently tracked.
    pub fn connections(&self) -> usize {
        self.table.len()
    }

    /// Processes one frame.
    ///
    /// Every frame moves packet time forward, also frames that never reach
    /// the connection table (non-IP, malformed, held fragments, ICMP): a
    /// timeout fires at the same packet time whatever traffic surrounds it,
    /// which keeps results independent of how packets are spread over cores.
    pub fn process(&mut self, pkt: &RawPacket<'_>) {
        if !self.process_frame(pkt) {
            self.table.advance(pkt.ts, &mut self.handler);
        }
    }

    /// Returns whether the packet reached the connection table.
    fn process_frame(&mut self, pkt: &RawPacket<'_>) -> bool {
        self.stats.received += 1;
        self.stats.received_bytes += u64::from(pkt.wire_len);
        // Frames cut short by the capture's snap length (or whose IP length runs
        // past the recorded bytes, which tshark also tolerates) keep their headers.
        let (l3, cut) = match parse_frame_captured(pkt.link, pkt.data, usize::MAX, &self.opts) {
            Ok(c) => (c.packet, c.missing > 0),
            Err(e) if e.is_malformed() => {
                self.stats.malformed(e.kind());
                return false;
            }
            Err(_) => {
                self.stats.non_ip += 1;
                return false;
            }
        };
        if cut {
            self.stats.truncated += 1;
        }
        if l3.fragment.is_some() {
            if cut {
                // An incomplete fragment can never complete a datagram.
                self.stats.fragments_held += 1;
                return false;
            }
            return match self.defrag.push(pkt.ts.as_nanos(), &l3) {
                DefragOutcome::Complete(d) => {
                    let eth = pkt.link == LinkType::Ethernet;
                    self.process_datagram(pkt.ts, pkt.wire_len, eth, d.vlans, &d.ip, &d.payload, false)
                }
                DefragOutcome::Pending | DefragOutcome::Dropped(_) => {
                    self.stats.fragments_held += 1;
                    false
                }
            };
        }
        let eth = pkt.link == LinkType::Ethernet;
        self.process_datagram(pkt.ts, pkt.wire_len, eth, l3.vlans, &l3.ip, l3.payload, cut)
    }

    /// Processes an IP datagram reassembled elsewhere (the multi-core
    /// dispatcher reassembles before hashing). Counts as one received frame:
    /// the fragment that completed it, of `wire_len` bytes.
    pub fn process_reassembled(
        &mut self,
        ts: Timestamp,
        wire_len: u32,
        ethernet: bool,
        vlans: VlanStack,
        ip: &IpHeader,
        payload: &[u8],
    ) {
        self.stats.received += 1;
        self.stats.received_bytes += u64::from(wire_len);
        if !self.process_datagram(ts, wire_len, ethernet, vlans, ip, payload, false) {
            self.table.advance(ts, &mut self.handler);
        }
    }

    /// `cut`: the datagram is incomplete in the capture; its transport
    /// header is used but its payload is withheld from tracking (a partial
    /// payload would corrupt the reassembled stream).
    fn process_datagram(
        &mut self,
        ts: Timestamp,
        wire_len: u32,
        ethernet: bool,
        vlans: VlanStack,
        ip: &IpHeader,
        payload: &[u8],
        cut: bool,
    ) -> bool {
        match ip.version {
            IpVersion::V4 => self.stats.ipv4 += 1,
            IpVersion::V6 => self.stats.ipv6 += 1,
        }
        let opts = if cut {
            ParseOptions {
                verify_checksums: false,
            }
        } else {
            self.opts
        };
        let (proto, src_port, dst_port, tcp, l4_payload, l4_ok) =
            match parse_transport(ip, payload, &opts) {
                Ok(Transport::Tcp(h, p)) => {
                    self.stats.tcp += 1;
                    let meta = TcpMeta {
                        seq: h.seq,
                        ack: h.ack,
                        flags: h.flags,
                        window: h.window,
                    };
                    (
                        L4Proto::Tcp,
                        h.src_port,
                        h.dst_port,
                        Some(meta),
                        p,
                        h.checksum_ok,
                    )
                }
                Ok(Transport::Udp(h, p)) => {
                    self.stats.udp += 1;
                    (L4Proto::Udp, h.src_port, h.dst_port, None, p, h.checksum_ok)
                }
                Ok(Transport::Other(_)) => {
                    self.stats.other_l4 += 1;
                    return false;
                }
                Err(e) => {
                    self.stats.malformed(e.kind());
                    return false;
                }
            };
        let bad_checksum = ip.checksum_ok == Some(false) || l4_ok == Some(false);
        if bad_checksum {
            self.stats.bad_checksums += 1;
        }
        let input = PacketInput {
            ts,
            vlans,
            src: ip.src,
            dst: ip.dst,
            src_port,
            dst_port,
            proto,
            tcp,
            payload: if cut { &[] } else { l4_payload },
            wire_len,
            bad_checksum,
            ttl: ip.ttl,
            ethernet,
        };
        self.table.process(&input, &mut self.handler);
        true
    }

    /// Advances timers to `now` (packet time) without a packet: used for
    /// time ticks from the dispatcher and idle ticks on a live link.
    pub fn advance(&mut self, now: Timestamp) {
        self.table.advance(now, &mut self.handler);
        self.defrag.expire(now.as_nanos());
    }

    /// End of input: every open connection terminates; returns the handler and the counters.
    pub fn finish(mut self) -> (H, Stats) {
        self.table.drain(&mut self.handler);
        self.stats.conn = self.table.stats().clone();
        self.stats.defrag.merge(self.defrag.stats());
        (self.handler, self.stats)
    }
}

/// The flow hash input of a datagram: addresses and, for TCP/UDP, ports.
pub(crate) fn flow_of(ip: &IpHeader, payload: &[u8]) -> (IpAddr, IpAddr, Option<(u16, u16)>) {
    let quick = ParseOptions {
        verify_checksums: false,
    };
    let ports = match parse_transport(ip, payload, &quick) {
        Ok(Transport::Tcp(h, _)) => Some((h.src_port, h.dst_port)),
        Ok(Transport::Udp(h, _)) => Some((h.src_port, h.dst_port)),
        _ => None,
    };
    (ip.src, ip.dst, ports)
}
