//! Zero-copy packet views and IP defragmentation for weir.
//!
//! This is the lowest layer of weir: everything above it (connection
//! tracking, reassembly, protocol parsers, the runtime) sees packets only
//! through the types here.
//!
//! # What it guarantees
//! - **Validate once.** Each view (`EthernetFrame`, `VlanTag`, `Ipv4Packet`,
//!   `Ipv6Packet`, `TcpPacket`, `UdpPacket`, ...) is a `Packet<T: AsRef<[u8]>>`
//!   wrapper in the smoltcp shape. `new_checked` validates the lengths once;
//!   after it succeeds no accessor can panic.
//! - **No panics on hostile input.** [`parse_frame`], [`parse_transport`],
//!   the TCP option iterator and the IPv6 extension-header walk are total on
//!   arbitrary bytes (property-tested and fuzzed), and every loop is bounded:
//!   at most [`VlanStack::MAX`] VLAN tags, [`ipv6::MAX_EXTENSION_HEADERS`]
//!   extension headers, 40 bytes of TCP options.
//! - **Zero-copy, allocation-free parsing.** [`L3Packet::payload`] and the
//!   payloads in [`Transport`] are sub-slices of the captured frame, cut to the
//!   lengths the headers announce (Ethernet padding never leaks upward).
//!   [`parse_frame_captured`] is the variant for frames cut by a capture's
//!   snap length: it reports how many IP bytes are missing instead of failing.
//! - **Small `Copy` errors.** [`WireError`] is a few bytes; `kind()` gives a
//!   stable name for statistics and `is_malformed()` separates broken packets
//!   from valid non-IP traffic.
//! - **Bounded defragmentation.** [`Defragmenter`] holds at most
//!   `max_datagrams` datagrams of at most `max_datagram_len` bytes and
//!   `max_fragments` fragments each; everything beyond is a counted drop.
//!
//! # What it costs per packet
//! [`parse_frame`]: a few bounds checks and fixed-offset loads per header
//! (Ethernet, each VLAN tag, IP, each IPv6 extension header), no allocation;
//! with `verify_checksums`, one pass over the IPv4 header.
//! [`parse_transport`]: fixed loads plus one pass over at most 40 option bytes;
//! with `verify_checksums`, one pass over the segment for the checksum.
//! [`Defragmenter::push`] (fragments only): one hash lookup, a copy of the
//! fragment's bytes, and a scan of the datagram's fragment list (at most
//! `max_fragments`); completion moves the assembled buffer out without copying.
#![forbid(unsafe_code)]

pub mod checksum;
pub mod defrag;
mod error;
pub mod ethernet;
mod frame;
mod ip;
pub mod ipv4;
pub mod ipv6;
pub mod pppoe;
pub mod tcp;
mod tcp_flags;
mod transport;
pub mod udp;
mod vlan;

pub use defrag::{DefragConfig, DefragDrop, DefragOutcome, DefragStats, Defragmenter, Reassembled};
pub use error::{Layer, WireError};
pub use ethernet::{EtherType, EthernetAddress, EthernetFrame, EthernetRepr, VlanTag, VlanTagRepr};
pub use frame::{parse_frame, parse_frame_captured, CapturedL3, L3Packet, LinkType, ParseOptions};
pub use ip::{Fragment, IpHeader, IpProtocol, IpVersion};
pub use ipv4::{Ipv4Packet, Ipv4Repr};
pub use ipv6::{Ipv6ExtHeader, Ipv6FragmentHeader, Ipv6FragmentRepr, Ipv6Packet, Ipv6Repr};
pub use pppoe::PppoeSession;
pub use tcp::{TcpOption, TcpOptionSummary, TcpOptions, TcpPacket, TcpRepr};
pub use tcp_flags::TcpFlags;
pub use transport::{parse_transport, TcpHeader, Transport, UdpHeader};
pub use udp::{UdpPacket, UdpRepr};
pub use vlan::VlanStack;
