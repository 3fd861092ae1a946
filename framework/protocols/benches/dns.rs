//! DNS parser throughput: transactions per second for UDP query/response
//! pairs (A with CNAME chain + EDNS) and for TCP-framed messages split
//! across segments. Each workload first checks its expected count.
//!
//! Run: `cargo bench -p weir-protocols --bench dns -- --warm-up-time 1 --measurement-time 3`

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use weir_protocols::dns::DnsParser;
use weir_protocols::{Direction, ParseEvent, Parser, SegmentMeta, Timestamp, Transport};

const TRANSACTIONS: usize = 100;

fn meta(dir: Direction, transport: Transport) -> SegmentMeta {
    SegmentMeta { dir, ts: Timestamp(0), transport, orig_port: 40000, resp_port: 53 }
}

fn name(s: &str) -> Vec<u8> {
    let mut v = Vec::new();
    for l in s.split('.') {
        v.push(l.len() as u8);
        v.extend_from_slice(l.as_bytes());
    }
    v.push(0);
    v
}

fn header(id: u16, flags: u16, c: [u16; 4]) -> Vec<u8> {
    let mut v = id.to_be_bytes().to_vec();
    v.extend_from_slice(&flags.to_be_bytes());
    c.iter().for_each(|x| v.extend_from_slice(&x.to_be_bytes()));
    v
}

fn opt() -> Vec<u8> {
    vec![0, 0, 41, 0x04, 0xd0, 0, 0, 0, 0, 0, 0]
}

fn query(id: u16) -> Vec<u8> {
    let mut v = header(id, 0x0100, [1, 0, 0, 1]);
    v.extend(name(&format!("host{id}.www.example.com")));
    v.extend_from_slice(&[0, 1, 0, 1]);
    v.extend(opt());
    v
}

fn response(id: u16) -> Vec<u8> {
    let mut v = header(id, 0x8180, [1, 4, 0, 1]);
    v.extend(name(&format!("host{id}.www.example.com")));
    v.extend_from_slice(&[0, 1, 0, 1]);
    // CNAME to edge.cdn.net, then three A records for it (compressed).
    v.extend_from_slice(&[0xc0, 12, 0, 5, 0, 1, 0, 0, 1, 44]);
    let target = name("edge.cdn.net");
    v.extend_from_slice(&(target.len() as u16).to_be_bytes());
    let at = v.len();
    v.extend(target);
    for i in 0..3u8 {
        v.extend_from_slice(&[0xc0, at as u8, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 93, 184, 216, i]);
    }
    v.extend(opt());
    v
}

fn udp() -> Vec<(Direction, Transport, Vec<u8>)> {
    (0..TRANSACTIONS as u16)
        .flat_map(|i| {
            [
                (Direction::ToResponder, Transport::Udp, query(i)),
                (Direction::ToOriginator, Transport::Udp, response(i)),
            ]
        })
        .collect()
}

fn tcp() -> Vec<(Direction, Transport, Vec<u8>)> {
    let frame = |m: Vec<u8>| {
        let mut v = (m.len() as u16).to_be_bytes().to_vec();
        v.extend(m);
        v
    };
    let c: Vec<u8> = (0..TRANSACTIONS as u16).flat_map(|i| frame(query(i))).collect();
    let s: Vec<u8> = (0..TRANSACTIONS as u16).flat_map(|i| frame(response(i))).collect();
    let mut segs: Vec<_> = c.chunks(1000).map(|x| (Direction::ToResponder, Transport::Tcp, x.to_vec())).collect();
    segs.extend(s.chunks(1000).map(|x| (Direction::ToOriginator, Transport::Tcp, x.to_vec())));
    segs
}

fn run(segs: &[(Direction, Transport, Vec<u8>)]) -> usize {
    let mut p = DnsParser::default();
    let mut events = Vec::with_capacity(16);
    let mut answered = 0;
    for (d, t, seg) in segs {
        events.clear();
        p.parse(seg, &meta(*d, *t), &mut events);
        for e in &events {
            if let ParseEvent::SessionDone(id) = e {
                answered += usize::from(p.take_session(*id).is_some_and(|t| t.answers.len() == 4));
            }
        }
    }
    answered
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("dns");
    g.throughput(Throughput::Elements(TRANSACTIONS as u64));
    for (name, segs) in [("udp", udp()), ("tcp", tcp())] {
        assert_eq!(run(&segs), TRANSACTIONS, "{name}: expected answered transactions");
        g.bench_function(name, |b| b.iter(|| run(black_box(&segs))));
    }
    g.finish();
    let mut g = c.benchmark_group("dns_probe");
    g.throughput(Throughput::Elements(1));
    g.bench_function("query", |b| {
        let q = query(7);
        b.iter(|| DnsParser::probe(black_box(&q), &meta(Direction::ToResponder, Transport::Udp)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
