//! HTTP/1.x parser throughput: transactions per second over a keep-alive
//! connection (Content-Length and chunked bodies) and over a pipelined one,
//! fed in MSS-sized segments. Each workload first checks its expected
//! transaction count.
//!
//! Run: `cargo bench -p weir-protocols --bench http -- --warm-up-time 1 --measurement-time 3`

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use weir_protocols::http::HttpParser;
use weir_protocols::{Direction, ParseEvent, Parser, SegmentMeta, Timestamp, Transport};

const TRANSACTIONS: usize = 100;
const MSS: usize = 1460;

fn meta(dir: Direction) -> SegmentMeta {
    SegmentMeta { dir, ts: Timestamp(0), transport: Transport::Tcp, orig_port: 40000, resp_port: 80 }
}

fn request(i: usize) -> Vec<u8> {
    format!(
        "GET /assets/img/{i}.png?v=3 HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n\
         Accept: image/avif,image/webp,*/*\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate\r\n\
         Connection: keep-alive\r\nReferer: http://www.example.com/index.html\r\nCookie: session=abcdef0123456789; theme=dark\r\n\r\n"
    )
    .into_bytes()
}

fn response(i: usize) -> Vec<u8> {
    let body = vec![b'x'; 2000 + (i % 7) * 300];
    let mut v = if i % 4 == 0 {
        let mut v = b"HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n".to_vec();
        for c in body.chunks(700) {
            v.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
            v.extend_from_slice(c);
            v.extend_from_slice(b"\r\n");
        }
        v.extend_from_slice(b"0\r\n\r\n");
        return v;
    } else {
        format!(
            "HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\nContent-Type: image/png\r\nContent-Length: {}\r\nConnection: keep-alive\r\nCache-Control: max-age=3600\r\n\r\n",
            body.len()
        )
        .into_bytes()
    };
    v.extend_from_slice(&body);
    v
}

/// Segments of a keep-alive conversation (request, then its response).
fn keep_alive() -> Vec<(Direction, Vec<u8>)> {
    let mut segs = Vec::new();
    for i in 0..TRANSACTIONS {
        segs.push((Direction::ToResponder, request(i)));
        for c in response(i).chunks(MSS) {
            segs.push((Direction::ToOriginator, c.to_vec()));
        }
    }
    segs
}

/// All requests pipelined first, then all responses.
fn pipelined() -> Vec<(Direction, Vec<u8>)> {
    let reqs: Vec<u8> = (0..TRANSACTIONS).flat_map(request).collect();
    let resps: Vec<u8> = (0..TRANSACTIONS).flat_map(response).collect();
    let mut segs: Vec<_> = reqs.chunks(MSS).map(|c| (Direction::ToResponder, c.to_vec())).collect();
    segs.extend(resps.chunks(MSS).map(|c| (Direction::ToOriginator, c.to_vec())));
    segs
}

fn run(segs: &[(Direction, Vec<u8>)]) -> usize {
    let mut p = HttpParser::default();
    let mut events = Vec::with_capacity(64);
    let mut done = 0;
    for (dir, seg) in segs {
        events.clear();
        p.parse(seg, &meta(*dir), &mut events);
        for e in &events {
            if let ParseEvent::SessionDone(id) = e {
                done += usize::from(p.take_session(*id).is_some());
            }
        }
    }
    events.clear();
    p.finish(&mut events);
    done
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("http");
    g.throughput(Throughput::Elements(TRANSACTIONS as u64));
    for (name, segs) in [("keep_alive", keep_alive()), ("pipelined", pipelined())] {
        assert_eq!(run(&segs), TRANSACTIONS, "{name}: expected transaction count");
        g.bench_function(name, |b| b.iter(|| run(black_box(&segs))));
    }
    g.finish();
    let mut g = c.benchmark_group("http_probe");
    g.throughput(Throughput::Elements(1));
    g.bench_function("request", |b| {
        let r = request(1);
        b.iter(|| HttpParser::probe(black_box(&r), &meta(Direction::ToResponder)))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
