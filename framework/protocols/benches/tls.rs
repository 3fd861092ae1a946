//! TLS handshake parsing throughput (handshakes per second).
//!
//! Workloads (each checked before measuring): a TLS 1.2 full handshake
//! (ClientHello with SNI/ALPN/groups, ServerHello, Certificate, ServerKeyExchange,
//! CCS both ways) fed as whole flights, and the same bytes fed in 64-byte
//! segments; a TLS 1.3 handshake (ClientHello, ServerHello, encrypted records).
//!
//! Run: `cargo bench -p weir-protocols --bench tls -- --warm-up-time 1 --measurement-time 3`

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use weir_protocols::tls::TlsParser;
use weir_protocols::{Direction, ParseEvent, Parser, SegmentMeta, Timestamp, Transport};

fn record(ct: u8, body: &[u8]) -> Vec<u8> {
    let mut r = vec![ct, 3, 3];
    r.extend_from_slice(&(body.len() as u16).to_be_bytes());
    r.extend_from_slice(body);
    r
}

fn hs(typ: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![typ];
    m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    m.extend_from_slice(body);
    m
}

fn ext(t: u16, d: &[u8]) -> Vec<u8> {
    let mut e = t.to_be_bytes().to_vec();
    e.extend_from_slice(&(d.len() as u16).to_be_bytes());
    e.extend_from_slice(d);
    e
}

fn client_hello() -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend_from_slice(&[7; 32]);
    b.push(32);
    b.extend_from_slice(&[1; 32]);
    let ciphers: [u16; 16] = [
        0x3a3a, 0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d,
        0x002f, 0x0035,
    ];
    b.extend_from_slice(&32u16.to_be_bytes());
    for c in ciphers {
        b.extend_from_slice(&c.to_be_bytes());
    }
    b.extend_from_slice(&[1, 0]);
    let name = b"www.example.com";
    let mut sni = ((name.len() + 3) as u16).to_be_bytes().to_vec();
    sni.push(0);
    sni.extend_from_slice(&(name.len() as u16).to_be_bytes());
    sni.extend_from_slice(name);
    let exts = [
        ext(0x0a0a, &[]),
        ext(0, &sni),
        ext(23, &[]),
        ext(0xff01, &[0]),
        ext(10, &[0, 8, 0x0a, 0x0a, 0, 29, 0, 23, 0, 24]),
        ext(11, &[1, 0]),
        ext(35, &[]),
        ext(16, &[0, 12, 2, b'h', b'2', 8, b'h', b't', b't', b'p', b'/', b'1', b'.', b'1']),
        ext(5, &[1, 0, 0, 0, 0]),
        ext(13, &[0, 16, 4, 3, 8, 4, 4, 1, 5, 3, 8, 5, 5, 1, 8, 6, 6, 1]),
        ext(18, &[]),
        ext(51, &[&[0u8, 36, 0, 29, 0, 32][..], &[9u8; 32][..]].concat()),
        ext(45, &[1, 1]),
        ext(43, &[6, 0x0a, 0x0a, 3, 4, 3, 3]),
        ext(21, &[0; 200]),
    ]
    .concat();
    b.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    b.extend_from_slice(&exts);
    record(22, &hs(1, &b))
}

fn server_hello(tls13: bool) -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend_from_slice(&[5; 32]);
    b.push(0);
    b.extend_from_slice(if tls13 { &[0x13, 0x01] } else { &[0xc0, 0x2f] });
    b.push(0);
    let exts = if tls13 {
        [ext(43, &[3, 4]), ext(51, &[&[0u8, 29, 0, 32][..], &[3u8; 32][..]].concat())].concat()
    } else {
        [ext(0xff01, &[0]), ext(23, &[]), ext(16, &[0, 3, 2, b'h', b'2']), ext(11, &[1, 0])].concat()
    };
    b.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    b.extend_from_slice(&exts);
    hs(2, &b)
}

fn flow(tls13: bool) -> Vec<(Direction, Vec<u8>)> {
    if tls13 {
        return vec![
            (Direction::ToResponder, client_hello()),
            (Direction::ToOriginator, [record(22, &server_hello(true)), record(20, &[1]), record(23, &[0xaa; 3000])].concat()),
            (Direction::ToResponder, [record(20, &[1]), record(23, &[0xbb; 80])].concat()),
        ];
    }
    // Certificate message with one 1 KiB (unparseable) blob: the chain path without x509 cost dominating.
    let mut certs = (1024u32 + 3).to_be_bytes()[1..].to_vec();
    certs.extend_from_slice(&1024u32.to_be_bytes()[1..]);
    certs.extend_from_slice(&[0x30; 1024]);
    let server = [server_hello(false), hs(11, &certs), hs(12, &[&[3u8, 0, 29, 32][..], &[1u8; 32][..]].concat()), hs(14, &[])]
        .concat();
    vec![
        (Direction::ToResponder, client_hello()),
        (Direction::ToOriginator, record(22, &server)),
        (Direction::ToResponder, [record(22, &hs(16, &[9; 33])), record(20, &[1]), record(22, &[0xee; 40])].concat()),
        (Direction::ToOriginator, [record(20, &[1]), record(22, &[0xdd; 40])].concat()),
    ]
}

fn run(flow: &[(Direction, Vec<u8>)], seg: usize, events: &mut Vec<ParseEvent>) -> Option<weir_protocols::tls::TlsHandshake> {
    let mut p = TlsParser::new();
    for (dir, bytes) in flow {
        let meta = SegmentMeta { dir: *dir, ts: Timestamp(0), transport: Transport::Tcp, orig_port: 50000, resp_port: 443 };
        for chunk in bytes.chunks(seg) {
            events.clear();
            p.parse(chunk, &meta, events);
        }
    }
    events.clear();
    p.finish(events);
    p.take_session(0)
}

fn bench(c: &mut Criterion) {
    let mut events = Vec::new();
    let mut g = c.benchmark_group("tls_handshake");
    g.throughput(Throughput::Elements(1));
    for (name, tls13, seg) in [("tls12_flights", false, usize::MAX), ("tls12_64B_segments", false, 64), ("tls13_flights", true, usize::MAX)] {
        let f = flow(tls13);
        // The workload states what it must produce.
        let s = run(&f, seg, &mut events).expect("session");
        assert_eq!(s.sni.as_deref(), Some("www.example.com"));
        assert_eq!(s.version.as_deref(), Some(if tls13 { "TLSv1.3" } else { "TLSv1.2" }));
        assert!(s.ja3.is_some() && s.ja4.is_some());
        g.bench_function(name, |b| b.iter(|| black_box(run(black_box(&f), seg, &mut events))));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
