//! Connection tracking for weir: the L4 half of the connection model
//! (`/work/shared/DESIGN.md` §1, §5).
//!
//! # Layer
//!
//! This crate sits above `weir-wire` (it uses only `VlanStack` and
//! `TcpFlags` from it) and below the protocol parsers and the runtime. The
//! runtime turns each parsed packet into a [`PacketInput`] and calls
//! [`ConnTable::process`]; the table calls back into one monomorphic
//! [`ConnHandler`] (the subscription layer) at the L4 transitions
//! `L4FirstPacket`, `L4InConn`, `L4EndHandshake`, `L4InStream` and
//! `L4Terminated`. One table per core; nothing is shared.
//!
//! # Semantics
//!
//! **Key.** A connection is found by its canonical key (VLAN stack,
//! protocol, lower endpoint, higher endpoint), so both directions find the
//! same entry and the same five-tuple on another VLAN stack is another
//! connection. The map uses std's keyed SipHash-1-3 (`RandomState`, a random
//! key per table): keys are chosen by whoever sends packets, and an unkeyed
//! fast hash would let them force collisions (hash flooding).
//!
//! **Roles.** The originator is the sender of the first packet, except when
//! that packet is a SYN+ACK: then its receiver is the originator (the SYN was
//! missed). Roles never change afterwards. [`FiveTuple`] is oriented from the
//! originator; [`Direction::ToResponder`] is originator → responder.
//!
//! **Time** is the packet timestamp. The table's clock is the latest
//! timestamp seen by `process` or `advance` and never goes back; a packet
//! from the past is processed normally (it counts in its connection) but
//! moves no clock, no `last_ts` and no deadline backwards. No wall clock is
//! ever read.
//!
//! **Entries.** The table holds three kinds of entries, all counted by
//! [`ConnTable::len`] and bounded together by `max_connections`:
//! *tracked* connections (handler state, record, reassembly), *ignored* keys
//! (the handler declined the first packet or a later call returned an empty
//! [`Interest`]; only the key's L4 lifetime is kept, so its later packets
//! create nothing and are counted in `packets_ignored`), and *tombstones*
//! (left by an out-of-order overflow; `packets_tombstoned`).
//!
//! **Order of events for one packet** (`process`):
//! 1. `advance(pkt.ts)`: every timer due at the new clock fires first
//!    (connections terminate in wheel order).
//! 2. Lookup. If the key has an entry whose deadline is already reached
//!    (`now >= deadline`, possible within one timer tick), that entry ends
//!    now with its timer reason and the packet is treated as new. If the
//!    entry is *closing* (tracked or ignored, not a tombstone) and the packet
//!    is a pure SYN (SYN without ACK, FIN, RST), the old entry ends (its
//!    closing reason; counted in `port_reuses`) and the SYN starts a new
//!    connection. An ignored key or tombstone otherwise just absorbs the
//!    packet (its timers are refreshed) and processing stops.
//! 3. Create (new key): if the table already holds `max_connections`
//!    entries the packet is dropped (`table_full`). Otherwise a connection
//!    id is assigned and `L4FirstPacket` is called with the packet. `None` or
//!    an empty interest makes the key *ignored* (`rejected`).
//! 4. The record is updated (packets, bytes, timestamps, history), then the
//!    TCP state: handshake detection, FIN/RST closing.
//! 5. `L4InConn` if the interest has `IN_CONN`.
//! 6. `L4EndHandshake` if this packet completed the handshake and the
//!    interest has `HANDSHAKE`.
//! 7. `L4InStream` for each newly in-order piece, in stream order, while the
//!    interest has `STREAM` (TCP: reassembled, possibly several pieces, some
//!    from the out-of-order buffer; UDP: the datagram itself if non-empty; an
//!    RST's payload is never part of the stream). A buffer overflow ends the
//!    connection at once with `OutOfOrderOverflow` (and `L4Terminated` if
//!    the interest has `TERMINATED`), leaving a tombstone.
//! 8. The connection's timer is rescheduled if its deadline moved earlier.
//!
//! Each handler call returns the connection's new interest, which replaces
//! the old one. An empty interest after any call drops the connection's
//! state at once, without `L4Terminated` (`dropped_no_interest`), and leaves
//! the key ignored (for TCP as for UDP, see below). Losing `STREAM` frees
//! both reassembly buffers; gaining it later restarts the stream at the next
//! packet (as a mid-stream start).
//!
//! **Handshake.** Complete when the originator sent a SYN (without ACK), the
//! responder sent a SYN+ACK (its sequence number is the ISN; the latest one
//! counts), and then the originator sends an ACK (without SYN/RST) whose
//! acknowledgment number is ISN + 1. Happens at most once per connection. A
//! connection that started with the SYN+ACK therefore never completes it.
//!
//! **Closing (TCP).** An RST from either side, or a FIN seen from both sides,
//! moves the connection (or ignored key) into *closing*. It stays the same
//! connection — later packets (trailing ACKs, retransmitted FINs) count in its
//! record and reach `L4InConn` — until `tcp_close_linger_ms` pass after its
//! last packet, a pure SYN arrives on the key (port reuse), or input ends.
//! The end reason is always the event that started closing (`Rst` or
//! `FinExchange`), whichever of those three ends it. This matches how Zeek
//! and tshark group trailing packets.
//!
//! **Deadlines** are measured from the entry's last packet (its latest
//! timestamp): closing → `tcp_close_linger_ms` (reason: the closing reason);
//! a TCP connection whose first packet was a SYN without ACK and whose
//! responder has sent nothing yet → `tcp_establish_timeout_ms`
//! (`EstablishmentTimeout`); other TCP → `tcp_inactivity_timeout_ms`, UDP →
//! `udp_inactivity_timeout_ms` (`InactivityTimeout`). Ignored keys use the
//! same rules (a tombstone: always the inactivity timeout). A timer fires at
//! the first `advance`/`process` whose clock is in a later
//! `timer_resolution_ms` tick than the deadline, so at most one resolution
//! late (and exactly on time for a packet of the same key, by step 2). A
//! connection's `duration` ends at its last packet, never at the timer.
//!
//! **End of input.** [`ConnTable::drain`] ends every tracked connection in
//! slot order: with its closing reason if closing, its timer reason if its
//! deadline has passed but the timer has not fired, otherwise `EndOfInput`.
//!
//! **`L4Terminated`** is delivered once per tracked connection that ends
//! while its interest has `TERMINATED`, after `record.end` is set. A
//! connection dropped for lack of interest is never terminated.
//!
//! **Reassembly** ([`reassembly`]): per direction, only while the interest
//! has `STREAM`. In-order data is delivered straight from the packet (no
//! copy); out-of-order data is copied into a buffer of at most
//! `max_ooo_segments` pieces per direction and delivered (`from_buffer`,
//! with the metadata and timestamp of the packet that carried it) once the
//! gap fills; the first copy of every byte wins; segments with nothing new
//! are dropped from the stream (`stream_duplicates`) but still reach
//! `L4InConn`; sequence numbers wrap (`seq::SeqNumber`); SYN and FIN consume
//! one sequence number; without a SYN the stream starts at the direction's
//! first packet (data reordered before that first packet is lost to the
//! stream).
//!
//! **History** ([`History`], Zeek `conn.log` letters, upper case for the
//! originator, each letter once per direction in first-seen order):
//! `s` SYN without ACK, `h` SYN+ACK, `a` pure ACK (ACK, no
//! SYN/FIN/RST, no payload), `d` payload, `f` FIN, `r` RST, `c` bad checksum,
//! `t` payload entirely at or below the highest sequence number already seen
//! in that direction (retransmission or reordering), `w` zero window (not on
//! RST), `q` multi-flag (SYN with FIN or RST), `i` inconsistent (FIN with
//! RST). UDP uses `d` and `c` only.
//!
//! # Guarantees
//!
//! * No panic, overflow or endless loop on any packet sequence, including
//!   timestamps going back and forth and arbitrary flag combinations.
//! * Memory is bounded by configuration: `max_connections` entries, each
//!   with at most `2 × max_ooo_segments` buffered pieces (each at most one
//!   packet's payload), and at most [`ConnTable::timer_bound`] timer entries
//!   (`4 × max_connections + wheel buckets + 1`; stale entries of ended
//!   connections are swept when the wheel passes `4 × len() + buckets`).
//! * Deterministic: the same input gives the same callbacks in the same
//!   order (the random hash key never affects order).
//! * [`ConnStats`] adds up: see its docs for the two identities.
//!
//! # Cost per packet
//!
//! One keyed hash lookup; O(1) record and state updates; O(1) amortised
//! timer work (a later deadline never touches the wheel; expiry re-checks an
//! entry and re-inserts it if its deadline moved); in-order reassembly with
//! an empty buffer is O(1) with no copy; an out-of-order segment costs one
//! copy plus O(buffered pieces) ≤ O(`max_ooo_segments`). Allocation happens
//! only when a connection is created (one `Box`), when an out-of-order piece
//! is buffered (one copy), and when a wheel bucket or the table grows. A
//! quiet link only walks empty wheel buckets (at most one revolution per
//! `advance`).
//!
//! # Deliberate choices
//!
//! * Ignored TCP keys: the design says a TCP connection with no interest
//!   left is "dropped from the table". Because weir also tracks connections
//!   that start mid-stream, removing the key would make its very next packet
//!   a new (mid-stream) connection and call `L4FirstPacket` again, once per
//!   packet. So TCP keys are ignored like UDP keys, until they close and
//!   linger, are reused by a pure SYN, or time out.
#![forbid(unsafe_code)]
mod base;
mod config;
mod conn;
pub mod reassembly;
pub mod seq;
mod stats;
mod table;
mod timer;
pub use base::{Direction, Timestamp, Transition};
pub use config::{ConnConfig, ConnConfigError, MAX_DURATION_MS};
pub use conn::{
    Conn, ConnHandler, ConnInfo, ConnRecord, EndReason, FiveTuple, History, Interest, L4Pdu,
    L4Proto, PacketInput, TcpMeta,
};
pub use stats::ConnStats;
pub use table::ConnTable;
#[cfg(test)]
mod table_tests;
