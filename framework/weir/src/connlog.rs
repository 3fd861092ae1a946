//! `conn.jsonl`: one record per connection, written when it terminates.
//!
//! The keys follow Zeek's conn.log where they overlap: `ts` (first packet,
//! seconds since the epoch), `duration` (first to last packet, seconds),
//! `orig_h`/`orig_p` (originator: the sender of the first packet, or of the
//! SYN when one was seen), `resp_h`/`resp_p`, `proto` (`tcp`/`udp`), `vlan`
//! (802.1Q IDs, outer first; empty if untagged), per-direction packets, wire
//! bytes (frame length on the wire) and payload bytes, the Zeek-style
//! `history`, and `end` (why the connection ended).
//!
//! Addresses are in canonical text (RFC 5952 for IPv6).

use serde::Serialize;
use weir_conntrack::{Conn, ConnHandler, ConnInfo, ConnRecord, Direction, EndReason, FiveTuple, Interest, L4Pdu};

/// One line of `conn.jsonl`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ConnLogRecord {
    pub ts: f64,
    pub duration: f64,
    pub orig_h: String,
    pub orig_p: u16,
    pub resp_h: String,
    pub resp_p: u16,
    pub proto: &'static str,
    pub vlan: Vec<u16>,
    pub orig_pkts: u64,
    pub resp_pkts: u64,
    pub orig_bytes: u64,
    pub resp_bytes: u64,
    pub orig_payload_bytes: u64,
    pub resp_payload_bytes: u64,
    pub history: String,
    pub end: &'static str,
    /// The L7 protocol identified in the connection (`tls`, `http`, ...), if any.
    pub l7: Option<&'static str>,
    /// Sort key: first packet time in ns (not serialised).
    #[serde(skip)]
    pub ts_ns: u64,
}

/// A connection logger without L7: it asks the tracker for nothing but the
/// termination event, so connections cost only their table entry and
/// `ConnRecord` counters (`l7` is always null). `weir log` uses
/// [`crate::log::app`], which adds the L7 logs.
#[derive(Default)]
pub struct ConnLogger {
    pub records: Vec<ConnLogRecord>,
}

impl ConnHandler for ConnLogger {
    type State = ();

    fn first_packet(&mut self, _conn: &ConnInfo, _pdu: &L4Pdu<'_>) -> Option<((), Interest)> {
        Some(((), Interest::TERMINATED))
    }

    fn in_conn(&mut self, conn: &mut Conn<()>, _pdu: &L4Pdu<'_>) -> Interest {
        conn.interest()
    }

    fn end_handshake(&mut self, conn: &mut Conn<()>) -> Interest {
        conn.interest()
    }

    fn in_stream(&mut self, conn: &mut Conn<()>, _pdu: &L4Pdu<'_>) -> Interest {
        conn.interest()
    }

    fn terminated(&mut self, conn: Conn<()>, reason: EndReason) {
        self.records.push(record(&conn, reason, None));
    }
}

/// Builds the log record of a terminated connection.
pub fn record<S>(conn: &Conn<S>, reason: EndReason, l7: Option<&'static str>) -> ConnLogRecord {
    let mut r = *conn.record();
    r.end = Some(reason);
    record_of(conn.five_tuple(), &r, l7)
}

/// Builds the log record of a connection from its five-tuple and its final
/// record (`end` set, as at `L4Terminated`).
pub fn record_of(ft: &FiveTuple, r: &ConnRecord, l7: Option<&'static str>) -> ConnLogRecord {
    let (o, p) = (
        Direction::ToResponder.index(),
        Direction::ToOriginator.index(),
    );
    ConnLogRecord {
        ts: r.first_ts.as_secs_f64(),
        duration: r.duration_ns as f64 / 1e9,
        orig_h: ft.orig.ip().to_string(),
        orig_p: ft.orig.port(),
        resp_h: ft.resp.ip().to_string(),
        resp_p: ft.resp.port(),
        proto: ft.proto.name(),
        vlan: ft.vlans.as_slice().to_vec(),
        orig_pkts: r.packets[o],
        resp_pkts: r.packets[p],
        orig_bytes: r.wire_bytes[o],
        resp_bytes: r.wire_bytes[p],
        orig_payload_bytes: r.payload_bytes[o],
        resp_payload_bytes: r.payload_bytes[p],
        history: r.history.to_string(),
        end: r.end.map_or("unknown", |e| e.name()),
        l7,
        ts_ns: r.first_ts.as_nanos(),
    }
}

/// Sorts records into the canonical order of `conn.jsonl` (first packet
/// time, then five-tuple), so output does not depend on the core count or
/// on termination order.
pub fn sort_records(records: &mut [ConnLogRecord]) {
    records.sort_by(|a, b| {
        (
            a.ts_ns, &a.orig_h, a.orig_p, &a.resp_h, a.resp_p, a.proto, &a.vlan,
        )
            .cmp(&(
                b.ts_ns, &b.orig_h, b.orig_p, &b.resp_h, b.resp_p, b.proto, &b.vlan,
            ))
    });
}
