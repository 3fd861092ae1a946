//! Per-table counters.

use crate::conn::EndReason;
use serde::Serialize;

/// Counters of one [`crate::ConnTable`]. All are monotonic `u64`s.
///
/// Every packet given to `process` is counted in `packets` and in exactly
/// one of the five *fates*, so
/// `packets == packets_tracked + rejected + packets_ignored + packets_tombstoned + table_full`.
///
/// Every connection accepted by `L4FirstPacket` is counted in `created` and,
/// once gone, in exactly one of `ended_*` or `dropped_no_interest`, so
/// `created == sum(ended_*) + dropped_no_interest + ConnTable::tracked()`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ConnStats {
    /// Packets given to `process`.
    pub packets: u64,
    /// Fate: the packet belonged to (or created) a tracked connection.
    pub packets_tracked: u64,
    /// Fate: the packet would have created an entry but the table held
    /// `max_connections` entries; dropped.
    pub table_full: u64,
    /// Fate: the packet was offered as `L4FirstPacket` and the handler
    /// declined (`None` or an empty interest); its key is then ignored.
    pub rejected: u64,
    /// Fate: the packet belonged to an ignored key (declined, or a connection
    /// whose interest became empty) and was only used to keep the key's timers.
    pub packets_ignored: u64,
    /// Fate: the packet belonged to a tombstone left by an out-of-order overflow.
    pub packets_tombstoned: u64,

    /// Connections accepted by `L4FirstPacket`.
    pub created: u64,
    /// Of `created`: the first packet was not a SYN (TCP only; also counts SYN-ACK-first).
    pub mid_stream_starts: u64,
    /// Of `created`: the first packet was a SYN+ACK, so roles were flipped.
    pub role_flips: u64,
    /// Tracked connections that ended, by reason (whether or not
    /// `L4Terminated` was delivered, which needs `Interest::TERMINATED`).
    pub ended_fin: u64,
    pub ended_rst: u64,
    pub ended_establish_timeout: u64,
    pub ended_inactivity_timeout: u64,
    pub ended_ooo_overflow: u64,
    pub ended_end_of_input: u64,
    /// Tracked connections whose interest became empty after `L4FirstPacket`.
    pub dropped_no_interest: u64,
    /// `L4Terminated` calls made.
    pub terminated_delivered: u64,
    /// A pure SYN on a closing connection ended it and started a new one.
    pub port_reuses: u64,
    /// Handshakes completed (SYN, SYN+ACK, ACK of the responder's ISN + 1).
    pub handshakes: u64,

    /// TCP packets with payload entirely at or below the highest sequence
    /// number already seen in their direction (history `t`), tracked connections only.
    pub retransmissions: u64,
    /// Packets with `bad_checksum` set, tracked connections only.
    pub bad_checksums: u64,
    /// Out-of-order pieces copied into a reassembly buffer.
    pub ooo_buffered_segments: u64,
    /// Buffer overflows (each also ends a connection with `ooo_overflow`).
    pub ooo_overflows: u64,
    /// Segments with payload dropped from a stream because every byte had
    /// already been delivered or buffered (first copy wins).
    pub stream_duplicates: u64,
    /// Segments dropped from a stream because they started more than 1 GiB
    /// after the stream's cursor.
    pub stream_out_of_window: u64,
    /// `L4InStream` pieces delivered (of which `stream_from_buffer` came from the buffer).
    pub stream_segments: u64,
    pub stream_from_buffer: u64,

    /// Ignored keys created (declined first packets and connections that lost all interest).
    pub ignored_created: u64,
    /// Tombstones created (one per out-of-order overflow).
    pub tombstones_created: u64,
    /// Timer wheel entries examined (includes stale and rescheduled ones).
    pub timer_checks: u64,
    /// Sweeps of stale timer entries (see `ConnTable::timer_bound`).
    pub timer_compactions: u64,
}

impl ConnStats {
    pub(crate) fn count_end(&mut self, r: EndReason) {
        let c = match r {
            EndReason::FinExchange => &mut self.ended_fin,
            EndReason::Rst => &mut self.ended_rst,
            EndReason::EstablishmentTimeout => &mut self.ended_establish_timeout,
            EndReason::InactivityTimeout => &mut self.ended_inactivity_timeout,
            EndReason::OutOfOrderOverflow => &mut self.ended_ooo_overflow,
            EndReason::EndOfInput => &mut self.ended_end_of_input,
        };
        *c += 1;
    }

    /// Adds another table's counters (e.g. another core's) into these.
    pub fn merge(&mut self, o: &ConnStats) {
        // Destructuring makes adding a counter without merging it a compile error.
        let ConnStats {
            packets,
            packets_tracked,
            table_full,
            rejected,
            packets_ignored,
            packets_tombstoned,
            created,
            mid_stream_starts,
            role_flips,
            ended_fin,
            ended_rst,
            ended_establish_timeout,
            ended_inactivity_timeout,
            ended_ooo_overflow,
            ended_end_of_input,
            dropped_no_interest,
            terminated_delivered,
            port_reuses,
            handshakes,
            retransmissions,
            bad_checksums,
            ooo_buffered_segments,
            ooo_overflows,
            stream_duplicates,
            stream_out_of_window,
            stream_segments,
            stream_from_buffer,
            ignored_created,
            tombstones_created,
            timer_checks,
            timer_compactions,
        } = o;
        self.packets += packets;
        self.packets_tracked += packets_tracked;
        self.table_full += table_full;
        self.rejected += rejected;
        self.packets_ignored += packets_ignored;
        self.packets_tombstoned += packets_tombstoned;
        self.created += created;
        self.mid_stream_starts += mid_stream_starts;
        self.role_flips += role_flips;
        self.ended_fin += ended_fin;
        self.ended_rst += ended_rst;
        self.ended_establish_timeout += ended_establish_timeout;
        self.ended_inactivity_timeout += ended_inactivity_timeout;
        self.ended_ooo_overflow += ended_ooo_overflow;
        self.ended_end_of_input += ended_end_of_input;
        self.dropped_no_interest += dropped_no_interest;
        self.terminated_delivered += terminated_delivered;
        self.port_reuses += port_reuses;
        self.handshakes += handshakes;
        self.retransmissions += retransmissions;
        self.bad_checksums += bad_checksums;
        self.ooo_buffered_segments += ooo_buffered_segments;
        self.ooo_overflows += ooo_overflows;
        self.stream_duplicates += stream_duplicates;
        self.stream_out_of_window += stream_out_of_window;
        self.stream_segments += stream_segments;
        self.stream_from_buffer += stream_from_buffer;
        self.ignored_created += ignored_created;
        self.tombstones_created += tombstones_created;
        self.timer_checks += timer_checks;
        self.timer_compactions += timer_compactions;
    }

    /// Sum of the `ended_*` counters.
    pub fn ended(&self) -> u64 {
        self.ended_fin
            + self.ended_rst
            + self.ended_establish_timeout
            + self.ended_inactivity_timeout
            + self.ended_ooo_overflow
            + self.ended_end_of_input
    }
}
