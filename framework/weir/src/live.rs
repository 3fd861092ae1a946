//! `weir log --dpdk`: the same logs from a live capture through DPDK
//! (crate `weir-dpdk`, cargo feature `dpdk`).

use crate::LogArgs;
use anyhow::Result;
use weir::runtime::{Config, RunReport};

/// Runs the compiled `weir log` application on the DPDK ports of
/// `cfg.online` (plus the command line's `--eal`, `--idle-exit`,
/// `--duration`), offloading the `--filter` to the NIC where it can; the
/// logs go to [`weir::log::collect`]'s sink. Returns the DPDK counters as
/// JSON for `stats.json`.
#[cfg(feature = "dpdk")]
pub fn run(args: &LogArgs, cfg: &mut Config) -> Result<(RunReport, Option<serde_json::Value>)> {
    use weir::app::Compiled;
    use weir::log::app::LogApp;
    let make_app = |core| Compiled::<LogApp>::new(core, false);
    use anyhow::Context;
    use weir_dpdk::dpdk::Eal;
    use weir_dpdk::online::{eal_args, split_eal, OnlineRun};

    if let Some(e) = &args.eal {
        cfg.online.eal.extend(split_eal(e));
    }
    if let Some(s) = args.idle_exit {
        cfg.online.idle_exit_s = s;
    }
    if let Some(s) = args.duration {
        cfg.online.duration_s = s;
    }
    let eal = Eal::init(&eal_args(&cfg.online)).context("DPDK")?;
    let mut run = OnlineRun::start(&eal, cfg, make_app).context("DPDK")?;
    run.stop_on_ctrl_c();
    for w in run.warnings() {
        eprintln!("weir: warning: {w}");
    }
    if let Some(src) = &args.filter {
        let (f, _) = crate::compile_filter(src)?;
        let hw = weir::filter::hw::derive(&[&f.dnf], weir::filter::hw::DEFAULT_MAX_RULES);
        for line in run.control().offload_filter(&hw) {
            eprintln!("weir: filter offload: {line}");
        }
    }
    let (_handlers, report, online) = run.wait().context("DPDK")?;
    let lost: u64 = online.ports.iter().map(|p| p.lost()).sum();
    eprintln!(
        "weir: dpdk {}: stopped on {}; {} port(s), {} worker(s), lost before software {}, mbufs in use {}/{}",
        online.dpdk_version,
        online.stop_reason,
        online.ports.len(),
        online.workers.len(),
        lost,
        online.mempool_in_use,
        online.mempool_capacity
    );
    let json = serde_json::to_value(&online)?;
    Ok((report, Some(json)))
}

#[cfg(not(feature = "dpdk"))]
pub fn run(_args: &LogArgs, _cfg: &mut Config) -> Result<(RunReport, Option<serde_json::Value>)> {
    anyhow::bail!("--dpdk: this weir was built without DPDK support; rebuild with `--features dpdk` (needs DPDK 21.11+ found by pkg-config)")
}
