//! Every way a connection ends, end to end from a pcap file: packets are
//! written to a capture, read back by the runtime, and the end reasons and
//! counts come out of `conn.jsonl`'s records. Timeouts fire from packet
//! timestamps only (the test runs in a fraction of a second of wall time
//! over ~450 s of packet time).

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use weir::connlog::{record, sort_records, ConnLogRecord};
use weir::conntrack::{Conn, ConnHandler, ConnInfo, EndReason, Interest, L4Pdu};
use weir::app::Engine;
use weir::runtime::{run_source, CaptureFile, Config};
use weir::wire::{
    EtherType, EthernetAddress, EthernetFrame, EthernetRepr, IpProtocol, Ipv4Packet, Ipv4Repr,
    TcpFlags, TcpPacket, TcpRepr, UdpPacket, UdpRepr,
};

const T0: u64 = 1_700_000_000_000_000_000;
const S: TcpFlags = TcpFlags::SYN;
const A: TcpFlags = TcpFlags::ACK;
const F: TcpFlags = TcpFlags::FIN;
const R: TcpFlags = TcpFlags::RST;
const P: TcpFlags = TcpFlags::PSH;

fn ip(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, last)
}

fn l2_l3(src: Ipv4Addr, dst: Ipv4Addr, proto: IpProtocol, l4_len: usize) -> Vec<u8> {
    let mut buf = vec![0u8; 14 + 20 + l4_len];
    let eth = EthernetRepr {
        src_addr: EthernetAddress([2, 0, 0, 0, 0, 1]),
        dst_addr: EthernetAddress([2, 0, 0, 0, 0, 2]),
        ethertype: EtherType::Ipv4,
    };
    eth.emit(&mut EthernetFrame::new_unchecked(&mut buf[..]));
    let ipr = Ipv4Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: proto,
        payload_len: l4_len,
        hop_limit: 64,
        ident: 1,
        dont_frag: true,
        more_frags: false,
        frag_offset: 0,
    };
    ipr.emit(&mut Ipv4Packet::new_unchecked(&mut buf[14..]));
    buf
}

#[allow(clippy::too_many_arguments)]
fn tcp(
    src: (u8, u16),
    dst: (u8, u16),
    seq: u32,
    ack: u32,
    flags: TcpFlags,
    payload: &[u8],
) -> Vec<u8> {
    let repr = TcpRepr {
        src_port: src.1,
        dst_port: dst.1,
        seq_number: seq,
        ack_number: ack,
        flags,
        window_len: 65535,
        urgent_at: 0,
        max_seg_size: None,
        window_scale: None,
        sack_permitted: false,
        timestamps: None,
        payload,
    };
    let mut buf = l2_l3(ip(src.0), ip(dst.0), IpProtocol::Tcp, repr.buffer_len());
    repr.emit(
        &mut TcpPacket::new_unchecked(&mut buf[34..]),
        IpAddr::V4(ip(src.0)),
        IpAddr::V4(ip(dst.0)),
    );
    buf
}

fn udp(src: (u8, u16), dst: (u8, u16), payload: &[u8]) -> Vec<u8> {
    let repr = UdpRepr {
        src_port: src.1,
        dst_port: dst.1,
        payload,
    };
    let mut buf = l2_l3(ip(src.0), ip(dst.0), IpProtocol::Udp, 8 + payload.len());
    repr.emit(
        &mut UdpPacket::new_unchecked(&mut buf[34..]),
        IpAddr::V4(ip(src.0)),
        IpAddr::V4(ip(dst.0)),
    );
    buf
}

/// A classic pcap file with nanosecond timestamps.
fn write_pcap(path: &Path, mut frames: Vec<(f64, Vec<u8>)>) {
    frames.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out = Vec::new();
    for v in [
        0xa1b2_3c4du32.to_le_bytes().as_slice(),
        &2u16.to_le_bytes(),
        &4u16.to_le_bytes(),
    ] {
        out.extend_from_slice(v);
    }
    for v in [0u32, 0, 65535, 1] {
        out.extend(v.to_le_bytes());
    }
    for (secs, f) in frames {
        let ns = T0 + (secs * 1e9).round() as u64;
        out.extend(((ns / 1_000_000_000) as u32).to_le_bytes());
        out.extend(((ns % 1_000_000_000) as u32).to_le_bytes());
        out.extend((f.len() as u32).to_le_bytes());
        out.extend((f.len() as u32).to_le_bytes());
        out.extend(f);
    }
    std::fs::write(path, out).unwrap();
}

/// Client (1, port) talks to server (2, 80): a full handshake at `t`, returning the next seqs.
fn handshake(v: &mut Vec<(f64, Vec<u8>)>, port: u16, t: f64) -> (u32, u32) {
    let (c, s) = ((1, port), (2, 80));
    v.push((t, tcp(c, s, 100, 0, S, b"")));
    v.push((t + 0.01, tcp(s, c, 500, 101, S | A, b"")));
    v.push((t + 0.02, tcp(c, s, 101, 501, A, b"")));
    (101, 501)
}

fn scenario() -> Vec<(f64, Vec<u8>)> {
    let mut v = Vec::new();
    // 1000: FIN exchange with a trailing ACK inside the close linger.
    let (cs, ss) = handshake(&mut v, 1000, 0.0);
    let (c, s) = ((1, 1000), (2, 80));
    v.push((0.03, tcp(c, s, cs, ss, P | A, b"GET / HTTP/1.0\r\n\r\n")));
    v.push((0.04, tcp(c, s, cs + 18, ss, F | A, b"")));
    v.push((0.05, tcp(s, c, ss, cs + 19, F | A, b"")));
    v.push((0.06, tcp(c, s, cs + 19, ss + 1, A, b"")));
    // 1001: RST.
    let (cs, ss) = handshake(&mut v, 1001, 0.1);
    v.push((0.2, tcp((2, 80), (1, 1001), ss, cs, R | A, b"")));
    // 1002: unanswered SYN at t=1, then a retransmission 3 s later (same connection: < 5 s).
    v.push((1.0, tcp((1, 1002), (2, 80), 7, 0, S, b"")));
    v.push((4.0, tcp((1, 1002), (2, 80), 7, 0, S, b"")));
    // 1003: established, then idle forever.
    let (cs, ss) = handshake(&mut v, 1003, 2.0);
    v.push((2.1, tcp((1, 1003), (2, 80), cs, ss, P | A, b"hello")));
    // UDP 5000 -> 53 at t=3; again at t=70 (after the 60 s timeout: a new connection).
    v.push((3.0, udp((1, 5000), (3, 53), b"query")));
    v.push((3.5, udp((3, 53), (1, 5000), b"answer")));
    v.push((70.0, udp((1, 5000), (3, 53), b"query2")));
    // Unrelated traffic that moves packet time along.
    for i in 0..5 {
        v.push((10.0 + 100.0 * i as f64, udp((4, 6000 + i), (5, 9), b"tick")));
    }
    // 1004: opened at t=400, still open when the capture ends.
    handshake(&mut v, 1004, 400.0);
    v
}

fn by_port(recs: &[ConnLogRecord], port: u16) -> Vec<&ConnLogRecord> {
    recs.iter().filter(|r| r.orig_p == port).collect()
}

#[test]
fn every_end_reason_fires_from_packet_time() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("ends.pcap");
    write_pcap(&pcap, scenario());
    for cores in [1, 2] {
        let mut cfg = Config::default();
        cfg.offline.cores = cores;
        cfg.offline.progress = false;
        let (logs, report) = weir::log::run(Engine::Compiled, std::slice::from_ref(&pcap), &cfg, None).unwrap();
        assert!(report.stats.balanced());
        let mut recs: Vec<ConnLogRecord> = logs.conns;
        sort_records(&mut recs);

        let fin = by_port(&recs, 1000);
        assert_eq!(fin.len(), 1);
        assert_eq!(fin[0].end, "fin");
        assert_eq!(
            (fin[0].orig_pkts, fin[0].resp_pkts),
            (5, 2),
            "the trailing ACK belongs to the connection"
        );
        assert_eq!(fin[0].history, "ShADFf");
        assert_eq!(fin[0].orig_payload_bytes, 18);

        let rst = by_port(&recs, 1001);
        assert_eq!((rst.len(), rst[0].end), (1, "rst"));

        let syn = by_port(&recs, 1002);
        assert_eq!(
            syn.len(),
            1,
            "a SYN retransmitted within 5 s is the same attempt"
        );
        assert_eq!(
            (syn[0].end, syn[0].orig_pkts, syn[0].resp_pkts),
            ("establish_timeout", 2, 0)
        );
        assert!((syn[0].duration - 3.0).abs() < 1e-6);

        let idle = by_port(&recs, 1003);
        assert_eq!(
            (idle.len(), idle[0].end, idle[0].history.as_str()),
            (1, "inactivity_timeout", "ShAD")
        );

        let udp = by_port(&recs, 5000);
        assert_eq!(
            udp.len(),
            2,
            "a datagram 66.5 s after the last one starts a new UDP connection"
        );
        assert_eq!(
            (udp[0].end, udp[0].orig_pkts, udp[0].resp_pkts),
            ("inactivity_timeout", 1, 1)
        );
        assert_eq!((udp[1].orig_pkts, udp[1].ts - udp[0].ts), (1, 67.0));

        let open = by_port(&recs, 1004);
        assert_eq!((open.len(), open[0].end), (1, "end_of_input"));
    }
}

/// Wants reassembled streams (so the out-of-order buffer is in play) and logs ends.
#[derive(Default)]
struct Streams(Vec<ConnLogRecord>);

impl ConnHandler for Streams {
    type State = ();
    fn first_packet(&mut self, _c: &ConnInfo, _p: &L4Pdu<'_>) -> Option<((), Interest)> {
        Some(((), Interest::STREAM | Interest::TERMINATED))
    }
    fn in_conn(&mut self, c: &mut Conn<()>, _p: &L4Pdu<'_>) -> Interest {
        c.interest()
    }
    fn end_handshake(&mut self, c: &mut Conn<()>) -> Interest {
        c.interest()
    }
    fn in_stream(&mut self, c: &mut Conn<()>, _p: &L4Pdu<'_>) -> Interest {
        c.interest()
    }
    fn terminated(&mut self, c: Conn<()>, reason: EndReason) {
        self.0.push(record(&c, reason, None));
    }
}

#[test]
fn out_of_order_overflow_ends_the_connection_with_terminated() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = dir.path().join("ooo.pcap");
    let mut v = Vec::new();
    let (cs, ss) = handshake(&mut v, 2000, 0.0);
    // A gap at cs, then 5 segments beyond it: the 5th overflows a 4-segment buffer.
    for i in 0..5u32 {
        v.push((
            0.1 + f64::from(i) * 0.01,
            tcp((1, 2000), (2, 80), cs + 10 + 10 * i, ss, A, &[b'x'; 10]),
        ));
    }
    // Later packets of the same key do not resurrect it.
    v.push((0.5, tcp((1, 2000), (2, 80), cs, ss, A, &[b'y'; 10])));
    write_pcap(&pcap, v);
    let mut cfg = Config::default();
    cfg.conntrack.max_ooo_segments = 4;
    cfg.offline.progress = false;
    cfg.validate().unwrap();
    let (h, stats) = run_source(
        &mut CaptureFile::open(&pcap).unwrap(),
        &cfg,
        Streams::default(),
    )
    .unwrap();
    assert_eq!(h.0.len(), 1, "{:?}", h.0);
    assert_eq!(h.0[0].end, "ooo_overflow");
    assert_eq!(stats.conn.ooo_overflows, 1);
    assert_eq!(stats.conn.packets_tombstoned, 1);
}
