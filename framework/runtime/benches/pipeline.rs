//! The per-packet path (frame parse + transport parse + connection tracking)
//! on an in-memory trace, with TCP reassembly off and on.
//!
//! The trace is the bundled synthetic default mix (`traces/data/default.pcap`),
//! read into memory once, so the benchmark measures the pipeline and not
//! file I/O. Each iteration runs every packet of the trace through a fresh
//! pipeline and drains it at the end, and checks the expected packet count.

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::path::Path;
use weir_conntrack::{Conn, ConnHandler, ConnInfo, EndReason, Interest, L4Pdu};
use weir_runtime::{CaptureFile, Config, PacketSource, Pipeline, RawPacket};
use weir_wire::LinkType;

struct Frame {
    ts: weir_conntrack::Timestamp,
    wire_len: u32,
    link: LinkType,
    data: Vec<u8>,
}

fn load() -> Vec<Frame> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../traces/data/default.pcap");
    let mut f = CaptureFile::open(&path).expect("bundled trace");
    let mut v = Vec::new();
    while let Some(p) = f.next_packet().expect("bundled trace reads") {
        v.push(Frame {
            ts: p.ts,
            wire_len: p.wire_len,
            link: p.link,
            data: p.data.to_vec(),
        });
    }
    v
}

/// A handler asking for `interest` and doing nothing else.
struct Want {
    interest: Interest,
    ended: u64,
}

impl ConnHandler for Want {
    type State = ();
    fn first_packet(&mut self, _c: &ConnInfo, _p: &L4Pdu<'_>) -> Option<((), Interest)> {
        Some(((), self.interest))
    }
    fn in_conn(&mut self, _c: &mut Conn<()>, _p: &L4Pdu<'_>) -> Interest {
        self.interest
    }
    fn end_handshake(&mut self, _c: &mut Conn<()>) -> Interest {
        self.interest
    }
    fn in_stream(&mut self, _c: &mut Conn<()>, p: &L4Pdu<'_>) -> Interest {
        std::hint::black_box(p.payload);
        self.interest
    }
    fn terminated(&mut self, _c: Conn<()>, _r: EndReason) {
        self.ended += 1;
    }
}

fn bench(c: &mut Criterion) {
    let frames = load();
    let mut cfg = Config::default();
    cfg.offline.progress = false;
    let mut g = c.benchmark_group("per_packet_path");
    g.throughput(Throughput::Elements(frames.len() as u64));
    for (name, interest) in [
        ("parse+conntrack", Interest::TERMINATED),
        (
            "parse+conntrack+reassembly",
            Interest::TERMINATED | Interest::STREAM | Interest::IN_CONN,
        ),
    ] {
        g.bench_function(name, |b| {
            b.iter_batched(
                || Pipeline::new(&cfg, Want { interest, ended: 0 }),
                |mut p| {
                    for f in &frames {
                        p.process(&RawPacket {
                            ts: f.ts,
                            wire_len: f.wire_len,
                            link: f.link,
                            data: &f.data,
                        });
                    }
                    let (h, stats) = p.finish();
                    assert_eq!(stats.received, frames.len() as u64);
                    h.ended
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
