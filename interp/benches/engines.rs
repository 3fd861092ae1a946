//! Engine throughput (issue #7, the paper's §6.2 comparison): the compiled
//! pipeline, the naive multi-subscription engine and the reference
//! interpreter on one generated trace, for 1 and 128 disjoint IPv4-subnet
//! subscriptions (`ConnRecord` at termination; build.rs generates the apps).
//!
//! `cargo bench -p weir-interp --bench engines -- --warm-up-time 1 --measurement-time 5`
//! Each run also checks that the three engines made the same number of
//! invocations (a benchmark is a test too).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::path::PathBuf;
use weir::app::{run, Engine, Generated, Invocation};
use weir::runtime::Config;
use weir_interp::Dynamic;

type RunFn = fn(Engine, &[PathBuf], &Config) -> Vec<Invocation>;

/// Runs without recording; returns one placeholder per invocation count (cheap).
fn run_app<G: Generated + Dynamic>(e: Engine, inputs: &[PathBuf], cfg: &Config) -> Vec<Invocation>
where
    G::Data: Send,
{
    let r = run::<G>(e, inputs, cfg, false).expect("run");
    let n = r.stats.invocations as usize;
    vec![Invocation { conn: String::new(), callback: String::new(), transition: String::new(), args: n.to_string() }]
}

#[allow(dead_code)]
#[path = "../tests/differential/common.rs"]
mod common;

include!(concat!(env!("OUT_DIR"), "/bench_apps.rs"));

fn engines(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let mut mix = weir_tracegen::Mix::preset("default").expect("preset");
    mix.flows = 4000;
    let pcap = dir.path().join("bench.pcap");
    weir_tracegen::write_trace(&mix, 3, &pcap).expect("generate");
    let files = vec![pcap];
    let cfg = Config::default();
    let packets = run::<<BenchProbe as Probe>::App>(Engine::Compiled, &files, &cfg, false).expect("run").report.stats.received;
    let mut g = c.benchmark_group("engines");
    g.sample_size(10);
    g.throughput(Throughput::Elements(packets));
    for (name, f) in bench_apps() {
        let counts: Vec<String> = [Engine::Compiled, Engine::Naive, Engine::Interp].iter().map(|e| f(*e, &files, &cfg)[0].args.clone()).collect();
        assert!(counts.iter().all(|c| *c == counts[0]), "{name}: invocations differ between engines: {counts:?}");
        eprintln!("{name}: {} invocations on {packets} packets", counts[0]);
        for e in [Engine::Compiled, Engine::Naive, Engine::Interp] {
            g.bench_with_input(BenchmarkId::new(name, format!("{e:?}")), &e, |b, e| b.iter(|| f(*e, &files, &cfg)));
        }
    }
    g.finish();
}

/// The packet count comes from the smallest app.
trait Probe {
    type App: Generated + Dynamic;
}
struct BenchProbe;
impl Probe for BenchProbe {
    type App = app_subnets_1::App;
}

criterion_group!(benches, engines);
criterion_main!(benches);
