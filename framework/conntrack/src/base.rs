//! Small value types shared by every layer above the packet views.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A packet timestamp in nanoseconds since the Unix epoch.
///
/// Time in weir is always the packet's own timestamp (pcap record time
/// offline, NIC or TSC-derived time live), so timers fire in offline runs
/// exactly as they would live.
#[derive(
    Copy, Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Timestamp(pub u64);

impl Timestamp {
    pub const ZERO: Timestamp = Timestamp(0);

    pub const fn from_nanos(ns: u64) -> Self {
        Timestamp(ns)
    }

    pub const fn from_secs(s: u64) -> Self {
        Timestamp(s.saturating_mul(1_000_000_000))
    }

    pub const fn as_nanos(self) -> u64 {
        self.0
    }

    /// Seconds since the epoch as a float (for logs).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// `self - earlier`, or zero if `earlier` is later (capture clocks can step back).
    pub const fn saturating_since(self, earlier: Timestamp) -> u64 {
        self.0.saturating_sub(earlier.0)
    }

    pub const fn saturating_add_nanos(self, ns: u64) -> Timestamp {
        Timestamp(self.0.saturating_add(ns))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:09}",
            self.0 / 1_000_000_000,
            self.0 % 1_000_000_000
        )
    }
}

/// Which side of a connection sent a packet.
///
/// The originator is the sender of the connection's first packet, except
/// when that packet is a SYN+ACK: then its receiver is the originator.
/// Roles never change afterwards.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Direction {
    /// From the originator (client) to the responder (server).
    ToResponder,
    /// From the responder (server) to the originator (client).
    ToOriginator,
}

impl Direction {
    pub const fn reverse(self) -> Direction {
        match self {
            Direction::ToResponder => Direction::ToOriginator,
            Direction::ToOriginator => Direction::ToResponder,
        }
    }

    /// Index 0 for originator→responder, 1 for the reverse; handy for per-direction arrays.
    pub const fn index(self) -> usize {
        match self {
            Direction::ToResponder => 0,
            Direction::ToOriginator => 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_display_pads_nanos() {
        assert_eq!(Timestamp(1_000_000_007).to_string(), "1.000000007");
        assert_eq!(
            Timestamp::from_secs(3).saturating_since(Timestamp::from_secs(5)),
            0
        );
    }

    #[test]
    fn direction_reverse_and_index() {
        assert_eq!(Direction::ToResponder.reverse(), Direction::ToOriginator);
        assert_eq!(Direction::ToOriginator.index(), 1);
    }
}

/// Every state-machine transition a user API can hook (DESIGN §1, Iris Table 1).
///
/// L4 transitions come from the connection tracker; L7 transitions from the
/// protocol parser attached to the connection.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Transition {
    /// First packet of the connection; carries the packet.
    L4FirstPacket,
    /// TCP three-way handshake completed.
    L4EndHandshake,
    /// Every packet, in arrival order; carries the packet.
    L4InConn,
    /// Every in-order segment after reassembly; carries the segment.
    L4InStream,
    /// FIN exchange, RST, timeout, overflow or end of input.
    L4Terminated,
    /// A parser identified the protocol (or every parser gave up).
    L7OnDisc,
    /// Each segment inside the L7 headers.
    L7InHeaders,
    /// Headers parsed (TLS handshake, HTTP request+response headers, DNS transaction, ...).
    L7EndHeaders,
    /// An L7 session ended.
    L7EndSession,
    /// Each segment of L7 payload (HTTP body, TLS ciphertext).
    L7InPayload,
}

impl Transition {
    pub const ALL: [Transition; 10] = [
        Transition::L4FirstPacket,
        Transition::L4EndHandshake,
        Transition::L4InConn,
        Transition::L4InStream,
        Transition::L4Terminated,
        Transition::L7OnDisc,
        Transition::L7InHeaders,
        Transition::L7EndHeaders,
        Transition::L7EndSession,
        Transition::L7InPayload,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Transition::L4FirstPacket => "L4FirstPacket",
            Transition::L4EndHandshake => "L4EndHandshake",
            Transition::L4InConn => "L4InConn",
            Transition::L4InStream => "L4InStream",
            Transition::L4Terminated => "L4Terminated",
            Transition::L7OnDisc => "L7OnDisc",
            Transition::L7InHeaders => "L7InHeaders",
            Transition::L7EndHeaders => "L7EndHeaders",
            Transition::L7EndSession => "L7EndSession",
            Transition::L7InPayload => "L7InPayload",
        }
    }
}

impl fmt::Display for Transition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
