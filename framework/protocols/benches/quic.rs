//! QUIC Initial handshake parsing throughput (handshakes per second),
//! including key derivation, header-protection removal and AES-GCM opening.
//!
//! Workloads (checked before measuring): a client Initial carrying a
//! ClientHello in one packet plus a server Initial with the ServerHello; and a
//! 3-packet ClientHello (large key share) delivered out of order.
//!
//! Run: `cargo bench -p weir-protocols --bench quic -- --warm-up-time 1 --measurement-time 3`

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use weir_protocols::quic::crypto::{initial_keys, seal_initial, VERSION_1};
use weir_protocols::quic::{QuicParser, QuicStream};
use weir_protocols::{Direction, ParseEvent, Parser, SegmentMeta, Timestamp, Transport};

const DCID: [u8; 8] = [0x83, 0x94, 0xc8, 0xf0, 0x3e, 0x51, 0x57, 0x08];

fn ext(t: u16, d: &[u8]) -> Vec<u8> {
    let mut e = t.to_be_bytes().to_vec();
    e.extend_from_slice(&(d.len() as u16).to_be_bytes());
    e.extend_from_slice(d);
    e
}

fn hs(typ: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![typ];
    m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    m.extend_from_slice(body);
    m
}

fn client_hello(key_share_len: usize) -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend_from_slice(&[7; 32]);
    b.push(0);
    b.extend_from_slice(&[0, 6, 0x13, 0x01, 0x13, 0x02, 0x13, 0x03, 1, 0]);
    let name = b"quic.example.com";
    let mut sni = ((name.len() + 3) as u16).to_be_bytes().to_vec();
    sni.push(0);
    sni.extend_from_slice(&(name.len() as u16).to_be_bytes());
    sni.extend_from_slice(name);
    let mut ks = ((key_share_len + 4) as u16).to_be_bytes().to_vec();
    ks.extend_from_slice(&[0x11, 0xec]);
    ks.extend_from_slice(&(key_share_len as u16).to_be_bytes());
    ks.extend_from_slice(&vec![5u8; key_share_len]);
    let exts = [
        ext(0, &sni),
        ext(16, &[0, 3, 2, b'h', b'3']),
        ext(43, &[2, 3, 4]),
        ext(10, &[0, 4, 0x11, 0xec, 0, 29]),
        ext(13, &[0, 4, 4, 3, 8, 4]),
        ext(51, &ks),
        ext(57, &[1, 2, 3, 4, 5, 6, 7, 8]),
    ]
    .concat();
    b.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    b.extend_from_slice(&exts);
    hs(1, &b)
}

fn server_hello() -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend_from_slice(&[9; 32]);
    b.extend_from_slice(&[0, 0x13, 0x01, 0]);
    let exts = [ext(43, &[3, 4]), ext(51, &[&[0u8, 29, 0, 32][..], &[3u8; 32][..]].concat())].concat();
    b.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    b.extend_from_slice(&exts);
    hs(2, &b)
}

fn crypto_frame(off: usize, data: &[u8]) -> Vec<u8> {
    let mut f = vec![0x06];
    f.extend_from_slice(&(0x8000_0000u32 | off as u32).to_be_bytes());
    f.extend_from_slice(&(0x4000u16 | data.len() as u16).to_be_bytes());
    f.extend_from_slice(data);
    f
}

fn flow(pieces: usize, key_share_len: usize) -> Vec<(Direction, Vec<u8>)> {
    let (ck, sk) = initial_keys(VERSION_1, &DCID).expect("keys");
    let ch = client_hello(key_share_len);
    let step = ch.len().div_ceil(pieces);
    let mut out: Vec<(Direction, Vec<u8>)> = ch
        .chunks(step)
        .enumerate()
        .map(|(i, c)| {
            let mut frames = crypto_frame(i * step, c);
            frames.resize(1150, 0); // PADDING to a 1200-byte datagram
            (Direction::ToResponder, seal_initial(VERSION_1, &ck, &DCID, &[1, 2, 3, 4], i as u16, &frames).expect("seal"))
        })
        .collect();
    out.reverse(); // out of order: the last piece first
    let mut frames = vec![0x02, 0, 0, 0, 0];
    frames.extend(crypto_frame(0, &server_hello()));
    out.push((Direction::ToOriginator, seal_initial(VERSION_1, &sk, &[1, 2, 3, 4], &[9; 8], 0, &frames).expect("seal")));
    out
}

fn run(flow: &[(Direction, Vec<u8>)], events: &mut Vec<ParseEvent>) -> Option<QuicStream> {
    let mut p = QuicParser::new();
    for (dir, d) in flow {
        let meta = SegmentMeta { dir: *dir, ts: Timestamp(0), transport: Transport::Udp, orig_port: 50000, resp_port: 443 };
        events.clear();
        p.parse(d, &meta, events);
    }
    events.clear();
    p.finish(events);
    p.take_session(0)
}

fn bench(c: &mut Criterion) {
    let mut events = Vec::new();
    let mut g = c.benchmark_group("quic_initial_handshake");
    g.throughput(Throughput::Elements(1));
    for (name, pieces, ks) in [("one_packet_client_hello", 1, 32), ("three_packet_client_hello_reordered", 3, 1216)] {
        let f = flow(pieces, ks);
        let s = run(&f, &mut events).expect("session");
        assert_eq!(s.sni.as_deref(), Some("quic.example.com"));
        assert_eq!(s.cipher.as_deref(), Some("TLS_AES_128_GCM_SHA256"));
        g.bench_function(name, |b| b.iter(|| black_box(run(black_box(&f), &mut events))));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
