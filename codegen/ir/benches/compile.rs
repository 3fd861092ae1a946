//! IR build + optimise time for the Iris paper's compile-time workloads:
//! 1, 256 and 5,000 HTTP-host subscriptions, 1,024 and 2,048 subnet
//! subscriptions (the paper reports 18 s for 5,000 HTTP hosts and 6 min for
//! 2,048 subnets, rustc included; this is the IR part alone).
//! Run: `cargo bench -p weir-ir --bench compile`.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use weir_ir::{compile, AppSpec, CallbackSpec, SubscriptionSpec};

fn app(n: usize, filter: impl Fn(usize) -> String, data: &str) -> AppSpec {
    let subscriptions = (0..n)
        .map(|i| SubscriptionSpec {
            name: format!("s{i}"),
            filter: filter(i),
            callback: CallbackSpec { name: format!("cb{i}"), stateful: false, streaming: false, on: None, params: vec![data.into()], every: None },
        })
        .collect();
    AppSpec { subscriptions, ..Default::default() }
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("ir");
    g.sample_size(10);
    let host = |i: usize| format!("http.host = 'h{i}.example.com'");
    let subnet = |i: usize| format!("ipv4.addr in 10.{}.{}.0/24", i / 256, i % 256);
    for (name, spec) in [
        ("http_hosts/1", app(1, host, "HttpTransaction")),
        ("http_hosts/256", app(256, host, "HttpTransaction")),
        ("http_hosts/5000", app(5000, host, "HttpTransaction")),
        ("subnets/1024", app(1024, subnet, "ConnRecord")),
        ("subnets/2048", app(2048, subnet, "ConnRecord")),
    ] {
        let ir = compile(&spec, None).expect("valid app");
        assert_eq!(ir.subscriptions.len(), spec.subscriptions.len());
        g.throughput(Throughput::Elements(spec.subscriptions.len() as u64));
        g.bench_function(name, |b| b.iter(|| compile(black_box(&spec), None).map(|ir| ir.trees.len())));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
