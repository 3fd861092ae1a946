//! The `weir` command.

use anyhow::{anyhow, bail, Context, Result};
use std::sync::Arc;
use weir::filter::hw::{derive as derive_hw, DEFAULT_MAX_RULES};
use weir::filter::trie::{PredicateTrie, TrieOptions};
use weir::filter::Filter;
use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use weir::app::Engine;
use weir::log::L7Record;
use weir::runtime::{Config, RunReport};
use weir_protocols::registry::Protocol;

mod live;

#[derive(Parser)]
#[command(
    name = "weir",
    version,
    about = "Expressive, high-performance network traffic analysis"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Log every connection (conn.jsonl) and every TLS, HTTP, DNS, QUIC and SSH
    /// session (tls.jsonl, ...) of one or more captures, read in order as one capture.
    Log(LogArgs),
    /// Work with filters.
    #[command(subcommand)]
    Filter(FilterCommand),
}

#[derive(Subcommand)]
enum FilterCommand {
    /// Print a filter's parsed form, normal form (each literal tagged with the
    /// stage at which it is decided), predicate trie and derived NIC rules.
    Explain {
        /// The filter, e.g. "tls.sni ~ 'nflx' and ipv4.addr in 10.0.0.0/8".
        filter: String,
    },
}

#[derive(clap::Args)]
struct LogArgs {
    /// Directory for the logs (created if missing): conn.jsonl, and stats.json (totals and per core).
    #[arg(long, default_value = "weir-logs")]
    out: PathBuf,
    /// Worker threads; packets are dispatched by a symmetric RSS hash (overrides the config file).
    #[arg(long)]
    cores: Option<usize>,
    /// TOML configuration file.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Do not print the progress line.
    #[arg(long)]
    quiet: bool,
    /// Log only connections (and their L7 records) matching this filter,
    /// e.g. "tls.sni contains 'nflx' or dns"; see `weir filter explain`.
    #[arg(long)]
    filter: Option<String>,
    /// Capture live through DPDK instead of reading files (needs the `dpdk`
    /// cargo feature); the `[online]` section of --config applies.
    #[arg(long)]
    dpdk: bool,
    /// With --dpdk: EAL arguments, appended to those of the config, e.g.
    /// '--no-huge -m 1024 --no-pci --vdev net_pcap0,rx_pcap=trace.pcap'.
    #[arg(long, allow_hyphen_values = true, requires = "dpdk")]
    eal: Option<String>,
    /// With --dpdk: stop once no packet arrived for this many seconds (the
    /// quiet period is not packet time, so a replayed trace logs as when read).
    #[arg(long, requires = "dpdk")]
    idle_exit: Option<u64>,
    /// With --dpdk: stop after this many seconds (default: at Ctrl-C).
    #[arg(long, requires = "dpdk")]
    duration: Option<u64>,
    /// Executor of the log's subscriptions: `compiled` (the generated
    /// pipeline), `interp` (the reference interpreter) or `naive` (the
    /// multi-subscription baseline); all three write the same logs.
    #[arg(long, default_value = "compiled", conflicts_with = "dpdk")]
    engine: Engine,
    /// pcap or pcapng files, or directories of them.
    #[arg(required_unless_present = "dpdk", conflicts_with = "dpdk")]
    inputs: Vec<PathBuf>,
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Log(args) => log(args),
        Command::Filter(FilterCommand::Explain { filter }) => explain(&filter),
    };
    if let Err(e) = result {
        eprintln!("weir: error: {e:#}");
        std::process::exit(1);
    }
}

fn log(args: LogArgs) -> Result<()> {
    let mut cfg = match &args.config {
        Some(p) => Config::load(p)?,
        None => Config::default(),
    };
    if let Some(c) = args.cores {
        cfg.offline.cores = c;
    }
    if args.quiet {
        cfg.offline.progress = false;
    }
    cfg.validate()?;
    let dnf = args.filter.as_deref().map(compile_filter).transpose()?.map(|(f, _)| Arc::new(f.dnf));
    let (ran, logs) = weir::log::collect(dnf, || {
        if args.dpdk {
            live::run(&args, &mut cfg)
        } else {
            let run = weir::app::run::<weir::log::app::LogApp>(args.engine, &args.inputs, &cfg, false)?;
            Ok((run.report, None))
        }
    });
    let (report, online) = ran?;
    for w in &report.warnings {
        eprintln!("weir: warning: {w}");
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: cannot create directory", args.out.display()))?;
    let (records, sessions) = (logs.conns, logs.sessions);
    for p in Protocol::ALL {
        write_sessions(&args.out, p, sessions.iter().filter(|s| s.protocol == p))?;
    }
    let path = args.out.join("conn.jsonl");
    let file = std::fs::File::create(&path)
        .with_context(|| format!("{}: cannot create", path.display()))?;
    let mut w = std::io::BufWriter::new(file);
    for r in &records {
        serde_json::to_writer(&mut w, r)?;
        w.write_all(b"\n")?;
    }
    w.flush()
        .with_context(|| format!("{}: cannot write", path.display()))?;
    let stats_path = args.out.join("stats.json");
    let mut stats_json = serde_json::json!({ "total": &report.stats, "per_core": &report.per_core });
    if let Some(online) = online {
        stats_json["dpdk"] = online;
    }
    std::fs::write(
        &stats_path,
        serde_json::to_string_pretty(&stats_json)? + "\n",
    )
    .with_context(|| format!("{}: cannot write", stats_path.display()))?;
    summary(&report, records.len(), &path);
    if !report.stats.balanced() {
        bail!(
            "internal error: packet counters do not add up (see {})",
            stats_path.display()
        );
    }
    Ok(())
}

/// Parses a filter (relative `file=` paths from the current directory) and
/// builds its one-pattern trie. An invalid filter is reported with its caret diagram.
fn compile_filter(src: &str) -> Result<(Filter, PredicateTrie)> {
    // `weir log` has no user-defined predicates: an unknown bare name is an error.
    let opts = weir::filter::Options {
        types: weir::filter::typed::TypeOptions { user_predicates: Some(Vec::new()) },
        ..Default::default()
    };
    let f = Filter::with_options(src, &opts).map_err(|e| anyhow!("invalid filter\n{e}"))?;
    let trie = PredicateTrie::build(&[&f.dnf], &TrieOptions::default()).map_err(|e| anyhow!("invalid filter: {e}"))?;
    Ok((f, trie))
}

fn explain(src: &str) -> Result<()> {
    let (f, trie) = compile_filter(src)?;
    println!("filter:\n  {}\n", f.ast);
    println!("normal form ({} conjunction(s); stage at which each literal is decided):", f.dnf.conjunctions.len());
    for line in f.dnf.explain().lines() {
        println!("  {line}");
    }
    println!("\nnormal form as a filter:\n  {}\n", f.dnf);
    println!("predicate trie:");
    for line in trie.to_string().lines() {
        println!("  {line}");
    }
    println!("\nNIC rules (at least as broad as the filter):");
    for line in derive_hw(&[&f.dnf], DEFAULT_MAX_RULES).to_string().lines() {
        println!("  {line}");
    }
    if !f.files.is_empty() {
        let files: Vec<String> = f.files.iter().map(|p| p.display().to_string()).collect();
        println!("\nfiles read: {}", files.join(", "));
    }
    Ok(())
}

/// Writes `<protocol>.jsonl` (an empty file when the protocol was not seen).
fn write_sessions<'a>(
    out: &std::path::Path,
    p: Protocol,
    recs: impl Iterator<Item = &'a L7Record>,
) -> Result<()> {
    let path = out.join(format!("{}.jsonl", p.name()));
    let file = std::fs::File::create(&path)
        .with_context(|| format!("{}: cannot create", path.display()))?;
    let mut w = std::io::BufWriter::new(file);
    for r in recs {
        serde_json::to_writer(&mut w, &r.fields)?;
        w.write_all(b"\n")?;
    }
    w.flush()
        .with_context(|| format!("{}: cannot write", path.display()))?;
    Ok(())
}

fn summary(report: &RunReport, conns: usize, path: &std::path::Path) {
    let s = &report.stats;
    let secs = report.elapsed.as_secs_f64();
    eprintln!(
        "weir: {} packets ({:.1} MB) in {:.2} s ({:.2} Mpps) on {} core(s): {} connections -> {}",
        s.received,
        s.received_bytes as f64 / 1e6,
        secs,
        s.received as f64 / secs.max(1e-9) / 1e6,
        report.per_core.len(),
        conns,
        path.display()
    );
    eprintln!(
        "weir: ipv4 {} ipv6 {} tcp {} udp {} other-l4 {} non-ip {} malformed {} fragments-held {} bad-checksums {}",
        s.ipv4, s.ipv6, s.tcp, s.udp, s.other_l4, s.non_ip, s.malformed_total, s.fragments_held, s.bad_checksums
    );
    if !s.malformed.is_empty() {
        let m: Vec<String> = s
            .malformed
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        eprintln!("weir: malformed by reason: {}", m.join(" "));
    }
}
