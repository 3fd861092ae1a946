//! The `weir` command.

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};
use std::io::Write;
use std::path::PathBuf;
use weir::connlog::{sort_records, ConnLogger};
use weir::runtime::{run_offline, Config, RunReport};

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
    /// Log every connection of one or more captures (read in order as one capture).
    Log(LogArgs),
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
    /// pcap or pcapng files, or directories of them.
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
}

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Log(args) => log(args),
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
    let (loggers, report) = run_offline(&args.inputs, &cfg, |_| ConnLogger::default())?;
    for w in &report.warnings {
        eprintln!("weir: warning: {w}");
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: cannot create directory", args.out.display()))?;
    let mut records: Vec<_> = loggers.into_iter().flat_map(|l| l.records).collect();
    sort_records(&mut records);
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
    let stats_json = serde_json::json!({ "total": &report.stats, "per_core": &report.per_core });
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
