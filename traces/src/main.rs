//! `weir-tracegen`: write a synthetic pcap and its ground truth.

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{CommandFactory, FromArgMatches, Parser};
use weir_tracegen::{truth_path, Generator, Mix, PRESETS};

/// Deterministic, protocol-valid synthetic traffic with ground truth.
///
/// Writes FILE.pcap and FILE.truth.jsonl (one JSON object per flow).
#[derive(Parser, Debug)]
#[command(name = "weir-tracegen", version)]
struct Cli {
    /// Named traffic mix (see the list below).
    #[arg(long, conflicts_with = "mix")]
    preset: Option<String>,
    /// Traffic mix TOML file.
    #[arg(long, value_name = "FILE")]
    mix: Option<PathBuf>,
    /// Number of flows (overrides the mix's `flows`).
    #[arg(long)]
    flows: Option<u64>,
    /// RNG seed; the same seed and mix give byte-identical output.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output pcap; the truth goes to the same name with `.truth.jsonl`.
    #[arg(long, value_name = "FILE.pcap", required_unless_present_any = ["count_only", "print_mix"])]
    out: Option<PathBuf>,
    /// Multiply flow sizes by this factor (overrides the mix's `size_scale`).
    #[arg(long)]
    size_scale: Option<f64>,
    /// Target mean frame size, 0 = off (overrides the mix's `mean_packet_size`).
    #[arg(long)]
    mean_packet_size: Option<u32>,
    /// Generate in memory only and print counts and speed (no files).
    #[arg(long)]
    count_only: bool,
    /// Print the resolved mix as TOML and exit.
    #[arg(long)]
    print_mix: bool,
}

fn main() {
    if let Err(e) = run() {
        // Library errors already name the file and the problem; print them without a backtrace.
        eprintln!("weir-tracegen: {e}");
        std::process::exit(2);
    }
}

fn run() -> Result<()> {
    let presets: Vec<String> = PRESETS
        .iter()
        .map(|(name, _)| match Mix::preset(name) {
            Ok(m) => format!("  {name:<12} {}", m.description),
            Err(e) => format!("  {name:<12} (invalid: {e})"),
        })
        .collect();
    let after = format!("Presets:\n{}", presets.join("\n"));
    let matches = Cli::command().after_help(after).get_matches();
    let cli = Cli::from_arg_matches(&matches)?;

    let mut mix = match (&cli.preset, &cli.mix) {
        (_, Some(file)) => Mix::from_file(file)?,
        (Some(name), None) => Mix::preset(name)?,
        (None, None) => Mix::preset("default")?,
    };
    if let Some(n) = cli.flows {
        mix.flows = n;
    }
    if let Some(s) = cli.size_scale {
        mix.size_scale = s;
    }
    if let Some(m) = cli.mean_packet_size {
        mix.mean_packet_size = m;
    }
    mix.validate("command line")?;
    if cli.print_mix {
        print!("{}", toml::to_string(&mix).context("serialising the mix")?);
        return Ok(());
    }
    let started = Instant::now();
    let (flows, packets, bytes) = if cli.count_only {
        let mut g = Generator::new(&mix, cli.seed)?;
        g.set_record_truth(false);
        let (mut packets, mut bytes) = (0u64, 0u64);
        while let Some(p) = g.next_packet() {
            packets += 1;
            bytes += p.data.len() as u64;
            g.recycle(p.data);
        }
        (g.flows_started(), packets, bytes)
    } else {
        let Some(out) = &cli.out else { bail!("--out FILE.pcap is required") };
        let s = weir_tracegen::write_trace(&mix, cli.seed, out)?;
        eprintln!("wrote {} and {}", out.display(), truth_path(out).display());
        (s.flows, s.packets, s.bytes)
    };
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    eprintln!(
        "mix {} seed {}: {flows} flows, {packets} packets, {bytes} bytes (mean {:.0} B/packet) in {secs:.2} s: {:.0} flows/s, {:.0} packets/s",
        mix.name,
        cli.seed,
        bytes as f64 / packets.max(1) as f64,
        flows as f64 / secs,
        packets as f64 / secs,
    );
    Ok(())
}
