//! Running weir applications: the executors of a `#[weir::app]` module's
//! subscriptions over packet sources, and the command line every app
//! binary gets from [`main`].

pub mod compiled;
pub mod trace;

pub use compiled::{Compiled, EngineStats, Generated};
pub use trace::{Invocation, Trace};

use std::path::PathBuf;
use weir_runtime::{Config, RunError, RunReport};

/// The result of running an application over captures.
pub struct AppRun {
    pub report: RunReport,
    pub stats: EngineStats,
    /// Invocations of every core (when recorded), each core's in order.
    pub trace: Option<Trace>,
}

/// Runs the compiled pipeline of `G` over pcap/pcapng files.
pub fn run_compiled<G: Generated>(inputs: &[PathBuf], cfg: &Config, record: bool) -> Result<AppRun, RunError>
where
    G::Data: Send,
{
    let (handlers, report) = weir_runtime::run_offline(inputs, cfg, |core| Compiled::<G>::new(core, record))?;
    let mut stats = EngineStats::default();
    let mut trace = record.then(Trace::default);
    for mut h in handlers {
        stats.invocations += h.stats.invocations;
        stats.tree_evaluations += h.stats.tree_evaluations;
        stats.connections_dropped_early += h.stats.connections_dropped_early;
        if let (Some(all), Some(t)) = (trace.as_mut(), h.take_trace()) {
            all.invocations.extend(t.invocations);
        }
    }
    Ok(AppRun { report, stats, trace })
}

/// The executors an application can run on.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Engine {
    /// The generated pipeline (default).
    Compiled,
    /// The reference interpreter: each subscription on its own, over whole connections.
    Interp,
    /// The naive multi-subscription baseline.
    Naive,
}

impl std::str::FromStr for Engine {
    type Err = String;
    fn from_str(s: &str) -> Result<Engine, String> {
        match s {
            "compiled" => Ok(Engine::Compiled),
            "interp" => Ok(Engine::Interp),
            "naive" => Ok(Engine::Naive),
            other => Err(format!("unknown engine `{other}` (compiled, interp, naive)")),
        }
    }
}

fn subs_of<G: Generated>() -> Result<std::sync::Arc<Vec<weir_interp::SubStatic>>, RunError> {
    let ir: weir_ir::Ir = serde_json::from_str(<G as Generated>::IR_JSON).map_err(|e| RunError::Ir(e.to_string()))?;
    Ok(std::sync::Arc::new(weir_interp::SubStatic::all(&ir)))
}

fn to_trace(records: Vec<weir_interp::machine::Record>) -> Trace {
    Trace {
        invocations: records
            .into_iter()
            .map(|r| Invocation { conn: r.conn, callback: r.callback, transition: r.transition.name().to_string(), args: r.args })
            .collect(),
    }
}

/// Runs `G` over pcap/pcapng files on the chosen engine.
pub fn run<G: Generated + weir_interp::Dynamic>(engine: Engine, inputs: &[PathBuf], cfg: &Config, record: bool) -> Result<AppRun, RunError>
where
    G::Data: Send,
{
    match engine {
        Engine::Compiled => run_compiled::<G>(inputs, cfg, record),
        Engine::Interp => {
            let subs = subs_of::<G>()?;
            let (hs, report) = weir_runtime::run_offline(inputs, cfg, |core| weir_interp::interp::Interp::<G>::new(core, subs.clone()))?;
            let records: Vec<_> = hs.into_iter().flat_map(|h| h.records).collect();
            let stats = EngineStats { invocations: records.len() as u64, ..EngineStats::default() };
            Ok(AppRun { report, stats, trace: record.then(|| to_trace(records)) })
        }
        Engine::Naive => {
            let subs = subs_of::<G>()?;
            let ir: weir_ir::Ir = serde_json::from_str(<G as Generated>::IR_JSON).map_err(|e| RunError::Ir(e.to_string()))?;
            let needs: Vec<(u8, u8)> = ir.subscriptions.iter().map(|s| {
                let (p, m) = weir_ir::needs(&ir, s);
                (p.0, m.0)
            }).collect();
            let needs = std::sync::Arc::new(needs);
            let (hs, report) = weir_runtime::run_offline(inputs, cfg, |core| weir_interp::naive::Naive::<G>::new(core, subs.clone(), needs.clone(), record))?;
            let mut stats = EngineStats::default();
            let mut records = Vec::new();
            for h in hs {
                stats.invocations += h.invocations;
                records.extend(h.records);
            }
            Ok(AppRun { report, stats, trace: record.then(|| to_trace(records)) })
        }
    }
}

/// `main` of an application binary:
/// `app [--config FILE] [--cores N] [--trace FILE] [--dump-ir DIR] CAPTURE...`.
pub fn main<G: Generated + weir_interp::Dynamic>() -> std::process::ExitCode
where
    G::Data: Send,
{
    match cli::<G>(std::env::args_os().collect()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[derive(clap::Parser, Debug)]
#[command(about = "A weir application: runs its subscriptions over capture files")]
struct Args {
    /// Runtime configuration (TOML); defaults otherwise.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Worker cores (offline: connections are spread by the symmetric RSS hash).
    #[arg(long)]
    cores: Option<usize>,
    /// Write every callback invocation to this file (JSON lines).
    #[arg(long)]
    trace: Option<PathBuf>,
    /// Write the application's IR (JSON and readable text) into this directory.
    #[arg(long)]
    dump_ir: Option<PathBuf>,
    /// Executor: `compiled` (the generated pipeline), `interp` (the
    /// reference interpreter) or `naive` (the multi-subscription baseline).
    #[arg(long, default_value = "compiled")]
    engine: Engine,
    /// pcap or pcapng files.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
}

fn cli<G: Generated + weir_interp::Dynamic>(argv: Vec<std::ffi::OsString>) -> anyhow::Result<()>
where
    G::Data: Send,
{
    use anyhow::Context;
    use clap::Parser;
    let args = Args::try_parse_from(argv).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut cfg = match &args.config {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    if let Some(c) = args.cores {
        cfg.offline.cores = c;
    }
    cfg.validate()?;
    if let Some(dir) = &args.dump_ir {
        let ir: weir_ir::Ir = serde_json::from_str(<G as Generated>::IR_JSON).context("embedded IR")?;
        ir.dump(dir, "app").with_context(|| format!("writing the IR into {}", dir.display()))?;
    }
    let run = run::<G>(args.engine, &args.inputs, &cfg, args.trace.is_some())?;
    if let (Some(path), Some(t)) = (&args.trace, &run.trace) {
        std::fs::write(path, t.to_jsonl()).with_context(|| format!("writing {}", path.display()))?;
    }
    eprintln!(
        "{} packets, {} connections tracked ({} not needed at the first packet), {} callback invocations, {:.2} s",
        run.report.stats.received,
        run.report.stats.conn.created,
        run.report.stats.conn.rejected,
        run.stats.invocations,
        run.report.elapsed.as_secs_f64()
    );
    Ok(())
}
