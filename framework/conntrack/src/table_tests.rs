//! Scenario tests of the table: every termination path, roles, history,
//! handshake, bounds, VLANs, packet time, and a random-input property.

use crate::*;
use proptest::prelude::*;
use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use weir_wire::{TcpFlags, VlanStack};

const T0_S: u64 = 1_600_000_000;
const S: TcpFlags = TcpFlags::SYN;
const A: TcpFlags = TcpFlags::ACK;
const F: TcpFlags = TcpFlags::FIN;
const R: TcpFlags = TcpFlags::RST;
const P: TcpFlags = TcpFlags::PSH;

fn at(ms: u64) -> Timestamp {
    Timestamp::from_secs(T0_S).saturating_add_nanos(ms * 1_000_000)
}

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

const C: &str = "10.0.0.1:40000";
const SV: &str = "10.0.0.2:80";

fn tcp<'a>(
    ms: u64,
    src: &str,
    dst: &str,
    flags: TcpFlags,
    seq: u32,
    ack: u32,
    data: &'a [u8],
) -> PacketInput<'a> {
    let (s, d) = (addr(src), addr(dst));
    PacketInput {
        ts: at(ms),
        vlans: VlanStack::new(),
        src: s.ip(),
        dst: d.ip(),
        src_port: s.port(),
        dst_port: d.port(),
        proto: L4Proto::Tcp,
        tcp: Some(TcpMeta {
            seq,
            ack,
            flags,
            window: 1000,
        }),
        payload: data,
        wire_len: 54 + data.len() as u32,
        bad_checksum: false,
        ttl: 64,
        ethernet: true,
    }
}

fn udp<'a>(ms: u64, src: &str, dst: &str, data: &'a [u8]) -> PacketInput<'a> {
    let (s, d) = (addr(src), addr(dst));
    PacketInput {
        ts: at(ms),
        vlans: VlanStack::new(),
        src: s.ip(),
        dst: d.ip(),
        src_port: s.port(),
        dst_port: d.port(),
        proto: L4Proto::Udp,
        tcp: None,
        payload: data,
        wire_len: 42 + data.len() as u32,
        bad_checksum: false,
        ttl: 64,
        ethernet: true,
    }
}

/// One logged transition.
#[derive(Clone, Debug, PartialEq)]
enum Ev {
    First {
        id: u64,
        dir: Direction,
    },
    InConn {
        id: u64,
        dir: Direction,
        len: usize,
    },
    Handshake {
        id: u64,
    },
    Stream {
        id: u64,
        dir: Direction,
        data: Vec<u8>,
        from_buffer: bool,
    },
    Term {
        id: u64,
        reason: EndReason,
        record: ConnRecord,
        tuple: FiveTuple,
    },
}

/// A handler that logs every transition and answers with fixed interests.
struct Recorder {
    log: Vec<Ev>,
    first: Option<Interest>,
    /// `None`: keep the current interest.
    in_conn: Option<Interest>,
    stream: Option<Interest>,
}

impl Recorder {
    fn new() -> Self {
        Recorder {
            log: Vec::new(),
            first: Some(Interest::ALL),
            in_conn: None,
            stream: None,
        }
    }
    fn terms(&self) -> Vec<(u64, EndReason)> {
        self.log
            .iter()
            .filter_map(|e| match e {
                Ev::Term { id, reason, .. } => Some((*id, *reason)),
                _ => None,
            })
            .collect()
    }
    fn term_record(&self, want: u64) -> ConnRecord {
        self.log
            .iter()
            .find_map(|e| match e {
                Ev::Term { id, record, .. } if *id == want => Some(*record),
                _ => None,
            })
            .expect("terminated")
    }
    fn firsts(&self) -> Vec<(u64, Direction)> {
        self.log
            .iter()
            .filter_map(|e| match e {
                Ev::First { id, dir } => Some((*id, *dir)),
                _ => None,
            })
            .collect()
    }
    fn stream(&self, dir: Direction) -> Vec<u8> {
        self.log
            .iter()
            .filter_map(|e| match e {
                Ev::Stream { dir: d, data, .. } if *d == dir => Some(data.clone()),
                _ => None,
            })
            .flatten()
            .collect()
    }
}

impl ConnHandler for Recorder {
    type State = u64;
    fn first_packet(&mut self, conn: &ConnInfo, pdu: &L4Pdu<'_>) -> Option<(u64, Interest)> {
        self.log.push(Ev::First {
            id: conn.id,
            dir: pdu.dir,
        });
        self.first.map(|i| (conn.id, i))
    }
    fn in_conn(&mut self, conn: &mut Conn<u64>, pdu: &L4Pdu<'_>) -> Interest {
        assert_eq!(conn.state, conn.id());
        self.log.push(Ev::InConn {
            id: conn.id(),
            dir: pdu.dir,
            len: pdu.payload_len,
        });
        self.in_conn.unwrap_or(conn.interest())
    }
    fn end_handshake(&mut self, conn: &mut Conn<u64>) -> Interest {
        self.log.push(Ev::Handshake { id: conn.id() });
        conn.interest()
    }
    fn in_stream(&mut self, conn: &mut Conn<u64>, pdu: &L4Pdu<'_>) -> Interest {
        assert!(pdu.reassembled);
        self.log.push(Ev::Stream {
            id: conn.id(),
            dir: pdu.dir,
            data: pdu.payload.to_vec(),
            from_buffer: pdu.from_buffer,
        });
        self.stream.unwrap_or(conn.interest())
    }
    fn terminated(&mut self, conn: Conn<u64>, reason: EndReason) {
        assert_eq!(conn.record().end, Some(reason));
        self.log.push(Ev::Term {
            id: conn.id(),
            reason,
            record: *conn.record(),
            tuple: *conn.five_tuple(),
        });
    }
}

fn table() -> ConnTable<u64> {
    ConnTable::new(ConnConfig::default())
}

/// Client ISN 1000, server ISN 5000; returns the time of the last packet.
fn handshake(t: &mut ConnTable<u64>, h: &mut Recorder, ms: u64) -> u64 {
    t.process(&tcp(ms, C, SV, S, 1000, 0, b""), h);
    t.process(&tcp(ms + 1, SV, C, S | A, 5000, 1001, b""), h);
    t.process(&tcp(ms + 2, C, SV, A, 1001, 5001, b""), h);
    ms + 2
}

#[test]
fn fin_exchange_lingers_and_counts_trailing_ack() {
    let (mut t, mut h) = (table(), Recorder::new());
    handshake(&mut t, &mut h, 0);
    assert!(h.log.contains(&Ev::Handshake { id: 1 }));
    t.process(&tcp(10, C, SV, P | A, 1001, 5001, b"GET /"), &mut h);
    t.process(&tcp(11, SV, C, A, 5001, 1006, b""), &mut h);
    t.process(&tcp(20, C, SV, F | A, 1006, 5001, b""), &mut h);
    t.process(&tcp(21, SV, C, F | A, 5001, 1007, b""), &mut h);
    t.process(&tcp(30, C, SV, A, 1007, 5002, b""), &mut h); // trailing ACK
    assert!(h.terms().is_empty(), "still lingering");
    assert_eq!(t.tracked(), 1);
    // Linger is measured from the last packet (30 ms): not yet at 2 s.
    t.advance(at(1_900), &mut h);
    assert!(h.terms().is_empty());
    t.advance(at(2_200), &mut h);
    assert_eq!(h.terms(), vec![(1, EndReason::FinExchange)]);
    let rec = h.term_record(1);
    assert_eq!(rec.packets, [5, 3]);
    assert_eq!(rec.payload_bytes, [5, 0]);
    assert_eq!(rec.history.as_str(), "ShADaFf");
    assert!(rec.handshake_completed);
    assert_eq!(
        rec.duration_ns, 30_000_000,
        "duration ends at the last packet"
    );
    assert_eq!(h.stream(Direction::ToResponder), b"GET /");
    assert_eq!(t.stats().ended_fin, 1);
    assert_eq!(t.len(), 0);
}

#[test]
fn events_of_one_packet_come_in_the_documented_order() {
    let (mut t, mut h) = (table(), Recorder::new());
    t.process(&tcp(0, C, SV, S, 1000, 0, b""), &mut h);
    t.process(&tcp(1, SV, C, S | A, 5000, 1001, b""), &mut h);
    // The handshake-completing ACK carries data: InConn, Handshake, Stream.
    t.process(&tcp(2, C, SV, P | A, 1001, 5001, b"hi"), &mut h);
    t.drain(&mut h);
    let tags: Vec<String> = h
        .log
        .iter()
        .map(|e| match e {
            Ev::First { dir, .. } => format!("first:{}", dir.index()),
            Ev::InConn { dir, len, .. } => format!("conn:{}:{len}", dir.index()),
            Ev::Handshake { .. } => "handshake".to_string(),
            Ev::Stream { dir, data, .. } => format!("stream:{}:{}", dir.index(), data.len()),
            Ev::Term { reason, .. } => format!("term:{reason}"),
        })
        .collect();
    assert_eq!(
        tags,
        [
            "first:0",
            "conn:0:0",
            "conn:1:0",
            "conn:0:2",
            "handshake",
            "stream:0:2",
            "term:end_of_input"
        ]
    );
}

#[test]
fn rst_closes_and_drain_keeps_the_closing_reason() {
    let (mut t, mut h) = (table(), Recorder::new());
    handshake(&mut t, &mut h, 0);
    t.process(&tcp(5, SV, C, R | A, 5001, 1001, b""), &mut h);
    t.process(&tcp(6, SV, C, R, 5001, 0, b""), &mut h);
    assert!(h.terms().is_empty());
    t.advance(at(2_200), &mut h);
    assert_eq!(h.terms(), vec![(1, EndReason::Rst)]);
    assert_eq!(h.term_record(1).history.as_str(), "ShAr");
    assert_eq!(h.term_record(1).packets, [2, 3]);

    let (mut t, mut h) = (table(), Recorder::new());
    handshake(&mut t, &mut h, 0);
    t.process(&tcp(5, C, SV, R, 1001, 0, b""), &mut h);
    t.drain(&mut h);
    assert_eq!(h.terms(), vec![(1, EndReason::Rst)]);
}

#[test]
fn establishment_timeout_fires_at_5s_of_packet_time() {
    let (mut t, mut h) = (table(), Recorder::new());
    t.process(&tcp(0, C, SV, S, 1000, 0, b""), &mut h);
    t.advance(at(4_999), &mut h);
    assert!(h.terms().is_empty());
    t.advance(at(5_100), &mut h);
    assert_eq!(h.terms(), vec![(1, EndReason::EstablishmentTimeout)]);
    let rec = h.term_record(1);
    assert_eq!(rec.history.as_str(), "S");
    assert_eq!(rec.duration_ns, 0);
    assert_eq!(t.stats().ended_establish_timeout, 1);

    // A packet of the same key exactly at the deadline finds it expired.
    let (mut t, mut h) = (table(), Recorder::new());
    t.process(&tcp(0, C, SV, S, 1000, 0, b""), &mut h);
    t.process(&tcp(5_000, C, SV, S, 1000, 0, b""), &mut h);
    assert_eq!(h.terms(), vec![(1, EndReason::EstablishmentTimeout)]);
    assert_eq!(h.firsts().len(), 2);
    // Once the responder answered, the inactivity timeout applies instead.
    let (mut t, mut h) = (table(), Recorder::new());
    t.process(&tcp(0, C, SV, S, 1000, 0, b""), &mut h);
    t.process(&tcp(1, SV, C, R | A, 0, 1001, b""), &mut h);
    t.advance(at(6_000), &mut h);
    assert_eq!(h.terms(), vec![(1, EndReason::Rst)]);
}

#[test]
fn tcp_inactivity_timeout_is_300s() {
    let (mut t, mut h) = (table(), Recorder::new());
    let last = handshake(&mut t, &mut h, 0);
    t.advance(at(last + 299_900), &mut h);
    assert!(h.terms().is_empty());
    t.advance(at(last + 300_200), &mut h);
    assert_eq!(h.terms(), vec![(1, EndReason::InactivityTimeout)]);
    assert_eq!(t.stats().ended_inactivity_timeout, 1);
}

#[test]
fn udp_inactivity_timeout_is_60s_and_datagrams_are_stream_segments() {
    let (mut t, mut h) = (table(), Recorder::new());
    t.process(&udp(0, "10.0.0.1:5353", "10.0.0.9:53", b"q"), &mut h);
    t.process(&udp(3, "10.0.0.9:53", "10.0.0.1:5353", b"answer"), &mut h);
    t.advance(at(59_000), &mut h);
    assert!(h.terms().is_empty());
    t.advance(at(60_200), &mut h);
    assert_eq!(h.terms(), vec![(1, EndReason::InactivityTimeout)]);
    let rec = h.term_record(1);
    assert_eq!(rec.history.as_str(), "Dd");
    assert_eq!(rec.packets, [1, 1]);
    assert_eq!(h.stream(Direction::ToOriginator), b"answer");
}

#[test]
fn out_of_order_overflow_terminates_and_tombstones_the_key() {
    let cfg = ConnConfig {
        max_ooo_segments: 2,
        ..ConnConfig::default()
    };
    let (mut t, mut h) = (ConnTable::new(cfg), Recorder::new());
    handshake(&mut t, &mut h, 0);
    t.process(&tcp(10, C, SV, A, 1101, 5001, b"b"), &mut h);
    t.process(&tcp(11, C, SV, A, 1201, 5001, b"c"), &mut h);
    assert!(h.terms().is_empty());
    t.process(&tcp(12, C, SV, A, 1301, 5001, b"d"), &mut h);
    assert_eq!(h.terms(), vec![(1, EndReason::OutOfOrderOverflow)]);
    assert_eq!(t.stats().ooo_overflows, 1);
    assert_eq!(t.stats().ooo_buffered_segments, 2);
    assert_eq!(t.tracked(), 0);
    assert_eq!(t.len(), 1, "a tombstone remains");
    // Further packets, even a SYN, do not re-create the connection.
    t.process(&tcp(20, C, SV, A, 1001, 5001, b"a"), &mut h);
    t.process(&tcp(10_000, C, SV, S, 9000, 0, b""), &mut h);
    assert_eq!(h.firsts().len(), 1);
    assert_eq!(t.stats().packets_tombstoned, 2);
    // Until the inactivity timeout after its last packet.
    t.process(&tcp(10_000 + 300_000, C, SV, S, 9000, 0, b""), &mut h);
    assert_eq!(h.firsts().len(), 2);
}

#[test]
fn drain_ends_everything_with_end_of_input() {
    let (mut t, mut h) = (table(), Recorder::new());
    handshake(&mut t, &mut h, 0);
    t.process(&udp(5, "10.0.0.1:1", "10.0.0.9:2", b"x"), &mut h);
    t.drain(&mut h);
    assert_eq!(
        h.terms(),
        vec![(1, EndReason::EndOfInput), (2, EndReason::EndOfInput)]
    );
    assert_eq!(t.len(), 0);
    assert_eq!(t.stats().ended_end_of_input, 2);
    assert_eq!(
        t.stats().created,
        t.stats().ended() + t.stats().dropped_no_interest
    );
}

#[test]
fn new_syn_after_fin_is_a_new_connection() {
    let (mut t, mut h) = (table(), Recorder::new());
    handshake(&mut t, &mut h, 0);
    t.process(&tcp(10, C, SV, F | A, 1001, 5001, b""), &mut h);
    t.process(&tcp(11, SV, C, F | A, 5001, 1002, b""), &mut h);
    t.process(&tcp(12, C, SV, A, 1002, 5002, b""), &mut h);
    // Port reuse well within the linger time.
    t.process(&tcp(500, C, SV, S, 77_000, 0, b""), &mut h);
    assert_eq!(h.terms(), vec![(1, EndReason::FinExchange)]);
    assert_eq!(
        h.firsts(),
        vec![(1, Direction::ToResponder), (2, Direction::ToResponder)]
    );
    assert_eq!(t.stats().port_reuses, 1);
    assert_eq!(h.term_record(1).packets, [4, 2]);
    t.drain(&mut h);
    assert_eq!(h.term_record(2).history.as_str(), "S");
    // A SYN on an open (not closing) connection is part of it.
    let (mut t, mut h) = (table(), Recorder::new());
    handshake(&mut t, &mut h, 0);
    t.process(&tcp(10, C, SV, S, 1000, 0, b""), &mut h);
    assert_eq!(h.firsts().len(), 1);
}

#[test]
fn mid_stream_connection_history_and_stream() {
    let (mut t, mut h) = (table(), Recorder::new());
    t.process(&tcp(0, C, SV, P | A, 70_000, 9, b"hello"), &mut h);
    t.process(&tcp(1, SV, C, A, 9, 70_005, b""), &mut h);
    t.process(&tcp(2, C, SV, P | A, 70_005, 9, b" world"), &mut h);
    t.drain(&mut h);
    let rec = h.term_record(1);
    assert_eq!(rec.history.as_str(), "Da");
    assert!(!rec.handshake_completed);
    assert_eq!(h.stream(Direction::ToResponder), b"hello world");
    assert_eq!(t.stats().mid_stream_starts, 1);
}

#[test]
fn syn_ack_first_flips_roles() {
    let (mut t, mut h) = (table(), Recorder::new());
    t.process(&tcp(0, SV, C, S | A, 5000, 1001, b""), &mut h);
    t.process(&tcp(1, C, SV, A, 1001, 5001, b""), &mut h);
    t.drain(&mut h);
    assert_eq!(h.firsts(), vec![(1, Direction::ToOriginator)]);
    let Some(Ev::Term { tuple, record, .. }) = h.log.last() else {
        panic!("no termination")
    };
    assert_eq!(tuple.orig, addr(C));
    assert_eq!(tuple.resp, addr(SV));
    assert_eq!(record.history.as_str(), "hA");
    assert_eq!(record.packets, [1, 1]);
    assert_eq!(t.stats().role_flips, 1);
    // Without the originator's SYN the handshake is not complete.
    assert!(!record.handshake_completed);
    assert!(!h.log.iter().any(|e| matches!(e, Ev::Handshake { .. })));
}

#[test]
fn handshake_needs_the_ack_of_isn_plus_one_and_interest() {
    let (mut t, mut h) = (table(), Recorder::new());
    t.process(&tcp(0, C, SV, S, 1000, 0, b""), &mut h);
    t.process(&tcp(1, SV, C, S | A, 5000, 1001, b""), &mut h);
    t.process(&tcp(2, C, SV, A, 1001, 4999, b""), &mut h); // wrong ack
    assert!(!h.log.iter().any(|e| matches!(e, Ev::Handshake { .. })));
    t.process(&tcp(3, C, SV, A, 1001, 5001, b""), &mut h);
    assert_eq!(
        h.log
            .iter()
            .filter(|e| matches!(e, Ev::Handshake { .. }))
            .count(),
        1
    );
    // The handshake event comes after L4InConn of the completing packet.
    let pos = h
        .log
        .iter()
        .position(|e| matches!(e, Ev::Handshake { .. }))
        .unwrap();
    assert!(matches!(
        h.log[pos - 1],
        Ev::InConn {
            id: 1,
            dir: Direction::ToResponder,
            len: 0
        }
    ));

    let mut h = Recorder::new();
    h.first = Some(Interest::TERMINATED);
    let mut t = table();
    handshake(&mut t, &mut h, 0);
    t.drain(&mut h);
    assert!(!h
        .log
        .iter()
        .any(|e| matches!(e, Ev::Handshake { .. } | Ev::InConn { .. })));
    assert!(h.term_record(1).handshake_completed);
    assert_eq!(t.stats().handshakes, 1);
}

#[test]
fn table_full_drops_and_counts() {
    let cfg = ConnConfig {
        max_connections: 2,
        ..ConnConfig::default()
    };
    let (mut t, mut h) = (ConnTable::new(cfg), Recorder::new());
    t.process(&udp(0, "10.0.0.1:1", "10.0.0.9:53", b"a"), &mut h);
    t.process(&udp(1, "10.0.0.1:2", "10.0.0.9:53", b"b"), &mut h);
    t.process(&udp(2, "10.0.0.1:3", "10.0.0.9:53", b"c"), &mut h);
    t.process(&udp(3, "10.0.0.9:53", "10.0.0.1:1", b"d"), &mut h);
    assert_eq!(t.len(), 2);
    assert_eq!(t.stats().table_full, 1);
    assert_eq!(h.firsts().len(), 2);
    let s = t.stats();
    assert_eq!(
        s.packets,
        s.packets_tracked + s.rejected + s.packets_ignored + s.packets_tombstoned + s.table_full
    );
}

#[test]
fn different_vlans_are_different_connections() {
    let (mut t, mut h) = (table(), Recorder::new());
    let mut p = udp(0, "10.0.0.1:1", "10.0.0.9:53", b"a");
    p.vlans.push(10);
    t.process(&p, &mut h);
    let mut q = udp(1, "10.0.0.9:53", "10.0.0.1:1", b"b");
    q.vlans.push(20);
    t.process(&q, &mut h);
    q.vlans = p.vlans;
    t.process(&q, &mut h);
    assert_eq!(t.len(), 2);
    t.drain(&mut h);
    assert_eq!(h.term_record(1).packets, [1, 1]);
    assert_eq!(
        h.term_record(2).packets,
        [1, 0],
        "its first packet came from 10.0.0.9"
    );
    let Some(Ev::Term { tuple, .. }) = h.log.iter().find(|e| matches!(e, Ev::Term { id: 2, .. }))
    else {
        panic!()
    };
    assert_eq!(tuple.vlans.as_slice(), &[20]);
}

#[test]
fn timers_follow_packet_time_even_when_it_goes_back() {
    let (mut t, mut h) = (table(), Recorder::new());
    t.process(&udp(0, "10.0.0.1:1", "10.0.0.9:53", b"a"), &mut h);
    t.process(&udp(59_000, "10.0.0.1:2", "10.0.0.9:53", b"b"), &mut h);
    // A packet from the past changes nothing and panics nowhere.
    t.process(&udp(10, "10.0.0.1:2", "10.0.0.9:53", b"c"), &mut h);
    assert!(h.terms().is_empty());
    assert_eq!(t.now(), at(59_000));
    t.process(&udp(61_000, "10.0.0.1:2", "10.0.0.9:53", b"d"), &mut h);
    assert_eq!(h.terms(), vec![(1, EndReason::InactivityTimeout)]);
    let rec = h.term_record(1);
    assert_eq!(rec.duration_ns, 0);
    t.drain(&mut h);
    // Connection 2's last packet (61 s) is its latest, despite the one from the past.
    assert_eq!(h.term_record(2).last_ts, at(61_000));
    assert_eq!(h.term_record(2).packets, [3, 0]);
}

#[test]
fn out_of_order_segments_wait_and_retransmissions_are_not_redelivered() {
    let (mut t, mut h) = (table(), Recorder::new());
    handshake(&mut t, &mut h, 0);
    t.process(&tcp(10, C, SV, A, 1004, 5001, b"def"), &mut h);
    t.process(&tcp(11, C, SV, A, 1001, 5001, b"abc"), &mut h);
    t.process(&tcp(12, C, SV, A, 1001, 5001, b"abc"), &mut h); // retransmission
    let streams: Vec<(Vec<u8>, bool)> = h
        .log
        .iter()
        .filter_map(|e| match e {
            Ev::Stream {
                data, from_buffer, ..
            } => Some((data.clone(), *from_buffer)),
            _ => None,
        })
        .collect();
    assert_eq!(
        streams,
        vec![(b"abc".to_vec(), false), (b"def".to_vec(), true)]
    );
    let in_conn = h
        .log
        .iter()
        .filter(|e| matches!(e, Ev::InConn { len: 3, .. }))
        .count();
    assert_eq!(in_conn, 3, "every packet still reaches L4InConn");
    assert_eq!(t.stats().stream_duplicates, 1);
    assert_eq!(
        t.stats().retransmissions,
        2,
        "reordered and retransmitted payload"
    );
    t.drain(&mut h);
    assert_eq!(h.term_record(1).history.as_str(), "ShADT");
}

#[test]
fn sequence_numbers_wrap_in_the_table() {
    let (mut t, mut h) = (table(), Recorder::new());
    let isn = u32::MAX - 2;
    t.process(&tcp(0, C, SV, S, isn, 0, b""), &mut h);
    t.process(&tcp(1, SV, C, S | A, 7, isn.wrapping_add(1), b""), &mut h);
    t.process(&tcp(2, C, SV, A, isn.wrapping_add(1), 8, b""), &mut h);
    t.process(&tcp(3, C, SV, A, isn.wrapping_add(5), 8, b"efgh"), &mut h);
    t.process(&tcp(4, C, SV, A, isn.wrapping_add(1), 8, b"abcd"), &mut h);
    assert_eq!(h.stream(Direction::ToResponder), b"abcdefgh");
    assert!(h.log.contains(&Ev::Handshake { id: 1 }));
}

#[test]
fn empty_interest_drops_state_and_ignores_the_key() {
    // TCP: dropped after L4InConn, no L4Terminated, no new L4FirstPacket.
    let (mut t, mut h) = (table(), Recorder::new());
    h.in_conn = Some(Interest::NONE);
    handshake(&mut t, &mut h, 0);
    assert_eq!(h.firsts().len(), 1);
    assert_eq!(t.tracked(), 0);
    assert_eq!(t.len(), 1);
    assert_eq!(t.stats().dropped_no_interest, 1);
    assert_eq!(t.stats().packets_ignored, 2);
    // Its FIN exchange and linger free the key; a later SYN is a new connection.
    t.process(&tcp(10, C, SV, F | A, 1001, 5001, b""), &mut h);
    t.process(&tcp(11, SV, C, F | A, 5001, 1002, b""), &mut h);
    t.advance(at(3_000), &mut h);
    assert_eq!(t.len(), 0);
    assert!(h.terms().is_empty());

    // UDP: declined at the first packet, ignored until the inactivity timeout.
    let (mut t, mut h) = (table(), Recorder::new());
    h.first = None;
    t.process(&udp(0, "10.0.0.1:1", "10.0.0.9:53", b"a"), &mut h);
    t.process(&udp(30_000, "10.0.0.9:53", "10.0.0.1:1", b"b"), &mut h);
    assert_eq!(h.firsts().len(), 1);
    assert_eq!(t.stats().rejected, 1);
    assert_eq!(t.stats().packets_ignored, 1);
    t.process(&udp(90_000, "10.0.0.1:1", "10.0.0.9:53", b"c"), &mut h);
    assert_eq!(
        h.firsts().len(),
        2,
        "ignored until 60 s after its last packet"
    );
    t.drain(&mut h);
    assert!(h.terms().is_empty());
}

#[test]
fn losing_stream_interest_stops_delivery() {
    let (mut t, mut h) = (table(), Recorder::new());
    h.stream = Some(Interest::TERMINATED | Interest::IN_CONN);
    handshake(&mut t, &mut h, 0);
    t.process(&tcp(10, C, SV, A, 1001, 5001, b"ab"), &mut h);
    t.process(&tcp(11, C, SV, A, 1003, 5001, b"cd"), &mut h);
    assert_eq!(h.stream(Direction::ToResponder), b"ab");
    t.drain(&mut h);
    assert_eq!(h.terms(), vec![(1, EndReason::EndOfInput)]);
}

#[test]
fn bad_checksums_and_zero_windows_are_in_the_history() {
    let (mut t, mut h) = (table(), Recorder::new());
    let mut p = tcp(0, C, SV, S, 1, 0, b"");
    p.bad_checksum = true;
    t.process(&p, &mut h);
    let mut q = tcp(1, SV, C, S | A, 1, 2, b"");
    q.tcp.as_mut().unwrap().window = 0;
    t.process(&q, &mut h);
    t.process(&tcp(2, C, SV, S | F, 1, 0, b""), &mut h);
    t.process(&tcp(3, SV, C, F | R, 1, 0, b""), &mut h);
    t.drain(&mut h);
    assert_eq!(h.term_record(1).history.as_str(), "CShwQFifr");
    assert_eq!(t.stats().bad_checksums, 1);
}

#[test]
fn syn_rst_flood_on_one_port_keeps_timers_bounded() {
    let cfg = ConnConfig {
        max_connections: 4,
        tcp_establish_timeout_ms: 1_000,
        tcp_inactivity_timeout_ms: 1_000,
        udp_inactivity_timeout_ms: 1_000,
        tcp_close_linger_ms: 100,
        ..ConnConfig::default()
    };
    let (mut t, mut h) = (ConnTable::new(cfg), Recorder::new());
    for i in 0..5_000u32 {
        t.process(&tcp(0, C, SV, S, i, 0, b""), &mut h);
        t.process(&tcp(0, SV, C, R | A, 0, i.wrapping_add(1), b""), &mut h);
        assert!(t.timer_entries() <= t.timer_bound());
    }
    assert!(t.timer_bound() <= 4 * 4 + 16 + 1);
    assert_eq!(t.stats().port_reuses, 4_999);
    assert!(t.stats().timer_compactions > 0);
    assert_eq!(t.len(), 1);
    t.drain(&mut h);
    assert_eq!(h.terms().len(), 5_000);
    assert!(h.terms().iter().all(|&(_, r)| r == EndReason::Rst));
}

/// A handler answering with pseudo-random interests, checking the contract.
struct Fuzz {
    rng: u64,
    last: HashMap<u64, Interest>,
    live: HashSet<u64>,
    terminated: HashSet<u64>,
}

impl Fuzz {
    fn pick(&mut self) -> Interest {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        const CHOICES: [Interest; 8] = [
            Interest::ALL,
            Interest::ALL,
            Interest::ALL,
            Interest::TERMINATED.union(Interest::STREAM),
            Interest::TERMINATED.union(Interest::IN_CONN),
            Interest::IN_CONN.union(Interest::STREAM),
            Interest::TERMINATED,
            Interest::NONE,
        ];
        if self.rng % 4 != 0 {
            return Interest::ALL;
        }
        CHOICES[((self.rng >> 8) % 8) as usize]
    }
    fn answer(&mut self, conn: &Conn<u64>) -> Interest {
        assert_eq!(conn.state, conn.id());
        assert!(self.live.contains(&conn.id()), "call on a dead connection");
        let i = self.pick();
        self.last.insert(conn.id(), i);
        if i.is_empty() {
            self.live.remove(&conn.id());
        }
        i
    }
}

impl ConnHandler for Fuzz {
    type State = u64;
    fn first_packet(&mut self, conn: &ConnInfo, _pdu: &L4Pdu<'_>) -> Option<(u64, Interest)> {
        let i = self.pick();
        if i.is_empty() {
            return None;
        }
        assert!(self.live.insert(conn.id));
        self.last.insert(conn.id, i);
        Some((conn.id, i))
    }
    fn in_conn(&mut self, conn: &mut Conn<u64>, _pdu: &L4Pdu<'_>) -> Interest {
        self.answer(conn)
    }
    fn end_handshake(&mut self, conn: &mut Conn<u64>) -> Interest {
        self.answer(conn)
    }
    fn in_stream(&mut self, conn: &mut Conn<u64>, pdu: &L4Pdu<'_>) -> Interest {
        assert!(!pdu.payload.is_empty());
        self.answer(conn)
    }
    fn terminated(&mut self, conn: Conn<u64>, _reason: EndReason) {
        let id = conn.id();
        assert!(
            self.live.remove(&id),
            "terminated twice or after a drop: {id}"
        );
        assert!(self.last[&id].contains(Interest::TERMINATED));
        assert!(conn.interest().contains(Interest::TERMINATED));
        assert!(self.terminated.insert(id));
    }
}

#[derive(Clone, Debug)]
struct RandPkt {
    dt_ms: i64,
    key: u8,
    reverse: bool,
    flags: u8,
    seq: u32,
    ack: u32,
    len: u8,
    bad: bool,
}

fn rand_pkt() -> impl Strategy<Value = RandPkt> {
    (
        prop::sample::select(vec![
            -3_000i64, -1, 0, 0, 1, 5, 50, 1_000, 2_500, 5_050, 61_000, 301_000,
        ]),
        0u8..6,
        any::<bool>(),
        prop_oneof![
            Just(0x02u8),
            Just(0x12),
            Just(0x10),
            Just(0x18),
            Just(0x11),
            Just(0x04),
            any::<u8>()
        ],
        prop_oneof![Just(u32::MAX - 10), 0u32..40, any::<u32>()],
        prop_oneof![Just(0u32), any::<u32>()],
        0u8..20,
        any::<bool>(),
    )
        .prop_map(|(dt_ms, key, reverse, flags, seq, ack, len, bad)| RandPkt {
            dt_ms,
            key,
            reverse,
            flags,
            seq,
            ack,
            len,
            bad,
        })
}

/// Builds the random packet `p` at time `now_ms` (shared by the two random tests).
fn random_input<'a>(p: &RandPkt, now_ms: u64, payload: &'a [u8]) -> PacketInput<'a> {
    let ports = [(1000u16, 80u16), (1001, 80), (53, 53)];
    let (sp, dp) = ports[(p.key % 3) as usize];
    let (src, dst, sp, dp) = if p.reverse {
        ("10.0.0.2", "10.0.0.1", dp, sp)
    } else {
        ("10.0.0.1", "10.0.0.2", sp, dp)
    };
    let is_tcp = p.key < 4;
    let mut vlans = VlanStack::new();
    if p.key == 5 {
        vlans.push(7);
    }
    PacketInput {
        ts: Timestamp::from_nanos(now_ms * 1_000_000),
        vlans,
        src: src.parse().unwrap(),
        dst: dst.parse().unwrap(),
        src_port: sp,
        dst_port: dp,
        proto: if is_tcp { L4Proto::Tcp } else { L4Proto::Udp },
        tcp: is_tcp.then_some(TcpMeta {
            seq: p.seq,
            ack: p.ack,
            flags: TcpFlags(p.flags),
            window: p.len.into(),
        }),
        payload: &payload[..(p.len as usize).min(payload.len())],
        wire_len: 60 + u32::from(p.len),
        bad_checksum: p.bad,
        ttl: 64,
        ethernet: true,
    }
}

/// A long deterministic random run: the same contract as the property test,
/// and proof that the random inputs reach every end reason and bound.
#[test]
fn long_random_run_reaches_every_path() {
    let cfg = ConnConfig {
        max_connections: 3,
        max_ooo_segments: 2,
        ..ConnConfig::default()
    };
    let mut t: ConnTable<u64> = ConnTable::new(cfg);
    let mut h = Fuzz {
        rng: 0x9e37_79b9_7f4a_7c15,
        last: HashMap::new(),
        live: HashSet::new(),
        terminated: HashSet::new(),
    };
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let dts = [-3_000i64, 0, 1, 5, 50, 1_000, 2_500, 5_050, 61_000, 301_000];
    let flag_set = [0x02u8, 0x12, 0x10, 0x18, 0x11, 0x04, 0x14];
    let payload = [0x5au8; 32];
    let mut now: u64 = 1_000_000;
    for _ in 0..40_000 {
        let r = next();
        let dt = if r % 4 == 0 {
            dts[(r >> 8) as usize % dts.len()]
        } else {
            (r >> 8) as i64 % 3
        };
        now = now.saturating_add_signed(dt).max(1);
        let key = (next() % 6) as u8;
        let r = next();
        let p = RandPkt {
            dt_ms: dt,
            key,
            reverse: r & 1 == 1,
            flags: if r & 0xf0 == 0 {
                (r >> 16) as u8
            } else {
                flag_set[(r >> 8) as usize % flag_set.len()]
            },
            seq: 1000 + (next() % 8) as u32 * 4,
            ack: 1001 + (next() % 8) as u32 * 4,
            len: (next() % 9) as u8,
            bad: next() % 50 == 0,
        };
        t.process(&random_input(&p, now, &payload), &mut h);
        assert!(t.len() <= 3);
        assert!(t.timer_entries() <= t.timer_bound());
    }
    t.drain(&mut h);
    let s = t.stats().clone();
    assert_eq!(s.created, s.ended() + s.dropped_no_interest);
    assert_eq!(
        s.packets,
        s.packets_tracked + s.rejected + s.packets_ignored + s.packets_tombstoned + s.table_full
    );
    for id in &h.live {
        assert!(
            !h.last[id].contains(Interest::TERMINATED),
            "connection {id} never terminated"
        );
    }
    for (name, v) in [
        ("ended_fin", s.ended_fin),
        ("ended_rst", s.ended_rst),
        ("ended_establish_timeout", s.ended_establish_timeout),
        ("ended_inactivity_timeout", s.ended_inactivity_timeout),
        ("ended_ooo_overflow", s.ended_ooo_overflow),
        ("ended_end_of_input", s.ended_end_of_input),
        ("dropped_no_interest", s.dropped_no_interest),
        ("table_full", s.table_full),
        ("rejected", s.rejected),
        ("packets_ignored", s.packets_ignored),
        ("packets_tombstoned", s.packets_tombstoned),
        ("port_reuses", s.port_reuses),
        ("handshakes", s.handshakes),
        ("stream_from_buffer", s.stream_from_buffer),
        ("stream_duplicates", s.stream_duplicates),
        ("retransmissions", s.retransmissions),
    ] {
        assert!(v > 0, "{name} never reached: {s:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]
    #[test]
    fn random_packets_never_break_the_contract(
        seed in 1u64..u64::MAX,
        max_conns in 1usize..4,
        max_ooo in 1usize..4,
        pkts in prop::collection::vec(rand_pkt(), 1..120),
    ) {
        let cfg = ConnConfig { max_connections: max_conns, max_ooo_segments: max_ooo, ..ConnConfig::default() };
        prop_assert_eq!(cfg.validate(), Ok(()));
        let mut t: ConnTable<u64> = ConnTable::new(cfg);
        let mut h = Fuzz { rng: seed, last: HashMap::new(), live: HashSet::new(), terminated: HashSet::new() };
        let payload = [0x5au8; 32];
        let mut now: u64 = 1_000_000;
        for p in &pkts {
            now = now.saturating_add_signed(p.dt_ms).max(1);
            let input = random_input(p, now, &payload);
            t.process(&input, &mut h);
            prop_assert!(t.len() <= max_conns);
            prop_assert!(t.timer_entries() <= t.timer_bound());
            let s = t.stats();
            prop_assert_eq!(s.packets, s.packets_tracked + s.rejected + s.packets_ignored + s.packets_tombstoned + s.table_full);
            prop_assert_eq!(s.created, s.ended() + s.dropped_no_interest + t.tracked() as u64);
        }
        t.drain(&mut h);
        prop_assert_eq!(t.len(), 0);
        prop_assert_eq!(t.tracked(), 0);
        let s = t.stats();
        prop_assert_eq!(s.created, s.ended() + s.dropped_no_interest);
        prop_assert_eq!(s.terminated_delivered, h.terminated.len() as u64);
        for id in &h.live {
            // Still "live" for the handler: only possible when it never asked for L4Terminated.
            prop_assert!(!h.last[id].contains(Interest::TERMINATED), "connection {} never terminated", id);
        }
    }
}

#[test]
fn unvalidated_extreme_configs_do_not_panic() {
    let configs = [
        ConnConfig {
            max_connections: 0,
            timer_resolution_ms: 0,
            max_ooo_segments: 0,
            tcp_establish_timeout_ms: 0,
            tcp_inactivity_timeout_ms: 0,
            udp_inactivity_timeout_ms: 0,
            tcp_close_linger_ms: 0,
        },
        ConnConfig {
            max_connections: 2,
            timer_resolution_ms: 0,
            max_ooo_segments: 0,
            tcp_establish_timeout_ms: u64::MAX,
            tcp_inactivity_timeout_ms: u64::MAX,
            udp_inactivity_timeout_ms: 0,
            tcp_close_linger_ms: u64::MAX,
        },
    ];
    for cfg in configs {
        assert!(cfg.validate().is_err());
        let (mut t, mut h) = (ConnTable::new(cfg), Recorder::new());
        handshake(&mut t, &mut h, 0);
        t.process(&tcp(10, C, SV, A, 1101, 5001, b"x"), &mut h);
        t.process(&udp(20, "10.0.0.1:1", "10.0.0.9:53", b"a"), &mut h);
        t.process(
            &udp(u64::MAX / 2_000_000, "10.0.0.1:1", "10.0.0.9:53", b"a"),
            &mut h,
        );
        t.advance(Timestamp(u64::MAX), &mut h);
        t.drain(&mut h);
        assert_eq!(t.len(), 0);
    }
}
