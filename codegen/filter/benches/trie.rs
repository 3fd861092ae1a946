//! Criterion benchmarks of the filter layer at subscription scale (the
//! Iris paper's compile-time workloads): 5,000 HTTP host-equality filters
//! and 2,048 destination-subnet filters.
//!
//! - `build/*`: text → parse → type → DNF → one trie, for all filters
//!   (the target is well under 1 s each);
//! - `eval/*`: deciding every filter for one connection, with the trie
//!   (one hash lookup / one range search) and, for comparison, by
//!   evaluating each filter's DNF separately (what a naive engine does).
//!
//! Each workload checks its expected verdict counts before it is timed.
//! Run: `cargo bench -p weir-filter --bench trie`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use std::net::{IpAddr, Ipv4Addr};
use weir_filter::dnf::Dnf;
use weir_filter::eval::{eval_dnf, Facts, L4Facts, L7State, PacketFacts, SessionFields};
use weir_filter::trie::{PredicateTrie, TrieOptions};
use weir_filter::typed::Proto;
use weir_filter::{Filter, Verdict};
use weir_protocols::registry::Protocol;
use weir_protocols::FieldValue;
use weir_wire::VlanStack;

const HOSTS: usize = 5_000;
const SUBNETS: usize = 2_048;

fn host_filters() -> Vec<String> {
    (0..HOSTS).map(|i| format!("http.host = 'h{i}.example.com'")).collect()
}

fn subnet_filters() -> Vec<String> {
    (0..SUBNETS).map(|i| format!("ipv4.dst_addr in 10.{}.{}.0/24", i / 256, i % 256)).collect()
}

fn build(srcs: &[String]) -> (Vec<Filter>, PredicateTrie) {
    let fs: Vec<Filter> = srcs.iter().map(|s| Filter::new(s).expect("valid filter")).collect();
    let dnfs: Vec<&Dnf> = fs.iter().map(|f| &f.dnf).collect();
    let trie = PredicateTrie::build(&dnfs, &TrieOptions::default()).expect("trie within limits");
    (fs, trie)
}

struct Http(String);
impl SessionFields for Http {
    fn protocol(&self) -> Protocol {
        Protocol::Http
    }
    fn field(&self, name: &str) -> Option<FieldValue<'_>> {
        (name == "http.host").then_some(FieldValue::Str(&self.0))
    }
}

fn packet(dst: Ipv4Addr, dport: u16) -> PacketFacts {
    PacketFacts {
        ethernet: true,
        vlans: VlanStack::new(),
        src: IpAddr::V4(Ipv4Addr::new(192, 168, 1, 2)),
        dst: IpAddr::V4(dst),
        ttl: 64,
        ip_protocol: 6,
        l4: Some(L4Facts { proto: Proto::Tcp, src_port: 40000, dst_port: dport, flags: 0x02 }),
    }
}

fn matches(v: &[Verdict]) -> usize {
    v.iter().filter(|v| **v == Verdict::Match).count()
}

fn bench(c: &mut Criterion) {
    let hosts = host_filters();
    let subnets = subnet_filters();

    let mut g = c.benchmark_group("build");
    g.sample_size(10);
    g.throughput(Throughput::Elements(HOSTS as u64));
    g.bench_function("5000_http_hosts", |b| b.iter(|| build(black_box(&hosts)).1.nodes().len()));
    g.throughput(Throughput::Elements(SUBNETS as u64));
    g.bench_function("2048_subnets", |b| b.iter(|| build(black_box(&subnets)).1.nodes().len()));
    g.finish();

    // Session-level decision: an HTTP connection whose one transaction has host h4321.
    let (hfs, htrie) = build(&hosts);
    let conn = Facts {
        packet: Some(packet(Ipv4Addr::new(93, 184, 216, 34), 80)),
        l7: L7State::Known(Protocol::Http),
        sessions: vec![Http("h4321.example.com".into())],
        sessions_final: true,
        user: vec![],
    };
    let v = htrie.eval(&conn);
    assert_eq!((matches(&v), v[4321]), (1, Verdict::Match), "host workload");
    let naive: Vec<Verdict> = hfs.iter().map(|f| eval_dnf(&f.dnf, &conn)).collect();
    assert_eq!(v, naive, "trie and per-filter evaluation agree");

    // Packet-level decision: a first packet towards 10.7.9.1 (subnet 7 * 256 + 9).
    let (sfs, strie) = build(&subnets);
    let pkt: Facts<Http> = Facts::packet(packet(Ipv4Addr::new(10, 7, 9, 1), 443));
    let v = strie.eval(&pkt);
    assert_eq!((matches(&v), v[7 * 256 + 9]), (1, Verdict::Match), "subnet workload");

    let mut g = c.benchmark_group("eval");
    g.throughput(Throughput::Elements(1));
    let mut out = Vec::new();
    g.bench_function("5000_http_hosts/trie_per_session", |b| {
        b.iter(|| {
            htrie.eval_into(black_box(&conn), &mut out);
            out.len()
        })
    });
    g.bench_function("2048_subnets/trie_per_packet", |b| {
        b.iter(|| {
            strie.eval_into(black_box(&pkt), &mut out);
            out.len()
        })
    });
    g.sample_size(20);
    g.bench_function("5000_http_hosts/each_filter_per_session", |b| {
        b.iter(|| hfs.iter().filter(|f| eval_dnf(&f.dnf, black_box(&conn)) == Verdict::Match).count())
    });
    g.bench_function("2048_subnets/each_filter_per_packet", |b| {
        b.iter(|| sfs.iter().filter(|f| eval_dnf(&f.dnf, black_box(&pkt)) == Verdict::Match).count())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
