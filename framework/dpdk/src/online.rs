//! The online runtime (feature `dpdk`): one worker lcore per RX queue,
//! each running the same [`Pipeline`] as the pcap source in a
//! run-to-completion burst loop.
//!
//! - **Queues**: every port gets one RX queue per worker (plus a sink queue
//!   when sampling is configured); worker `i` polls queue `i` of every port.
//!   Symmetric RSS puts both directions of a connection on one queue, so each
//!   worker owns its connections outright.
//! - **Time**: packet time is the frame's RX timestamp where the driver
//!   provides one in a known unit (`net_pcap`: the capture's timestamps, in
//!   microseconds), else the host clock at reception. A queue that has been
//!   quiet for `idle_tick_ms` advances its timers from the host clock
//!   ([`crate::clock`]), so idle connections expire on a quiet link — except
//!   in idle-exit mode, where the quiet period is not packet time (a replay
//!   then ends exactly like a file read).
//! - **Stop**: Ctrl-C, `duration_s`, `idle_exit_s` or [`RunControl::stop`].
//!   Every worker then advances to the latest packet time seen on any queue
//!   (as the offline dispatcher's final tick does) and drains its
//!   connections, so callback outputs equal those of a pcap run over the
//!   same packets.
//! - **Control at run time** ([`RunControl`]): RETA sampling into the sink
//!   queue, filter offload, port stats.

use crate::clock::{IdleTicker, SharedClock};
use crate::control::PortControl;
use crate::dpdk::{lcore, DpdkError, Eal, Mbuf, Mempool, Port, PortSetup, RxQueue};
use crate::nic::{NicControl, NicError};
use crate::stats::{OnlineStats, PortStats, WorkerStats};
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use weir_conntrack::{ConnHandler, Timestamp};
use weir_filter::hw::HwFilter;
use weir_runtime::config::OnlineSettings;
use weir_runtime::{Config, Pipeline, RawPacket, RunReport, Stats};
use weir_wire::LinkType;

/// The poll-mode driver plugin directory: found at build time next to the
/// DPDK libraries, else where Debian installs DPDK 22.11's.
pub fn default_pmd_dir() -> &'static str {
    dpdk_sys::PMD_DIR.unwrap_or("/usr/lib/x86_64-linux-gnu/dpdk/pmds-23.0")
}

#[derive(Debug, thiserror::Error)]
pub enum OnlineError {
    #[error(transparent)]
    Dpdk(#[from] DpdkError),
    #[error("no worker lcore: give EAL at least two lcores (e.g. -l 0-1, or --lcores '0@0,1@0' on one CPU)")]
    NoWorkers,
    #[error("[online] cores: lcore {0} is not a worker lcore EAL was given")]
    UnknownCore(u32),
    #[error("[online] ports: port {0} does not exist")]
    UnknownPort(u16),
    #[error("a worker lcore panicked")]
    WorkerPanicked,
}

/// The EAL arguments for `online`: its typed settings, then `eal` verbatim.
/// Adds `-d <PMD dir>` when none is given and the directory exists, and
/// `--no-shconf` (no files shared between processes) unless a
/// `--file-prefix` or `--proc-type` is given.
pub fn eal_args(online: &OnlineSettings) -> Vec<String> {
    let mut a: Vec<String> = Vec::new();
    if !online.cores.is_empty() {
        let main = online.main_core.unwrap_or(0);
        let mut all = vec![main];
        all.extend(online.cores.iter().copied().filter(|c| *c != main));
        a.push("-l".into());
        a.push(all.iter().map(u32::to_string).collect::<Vec<_>>().join(","));
        a.push("--main-lcore".into());
        a.push(main.to_string());
    } else if let Some(m) = online.main_core {
        a.push("--main-lcore".into());
        a.push(m.to_string());
    }
    if online.no_huge_mb > 0 {
        a.push("--no-huge".into());
        a.push("-m".into());
        a.push(online.no_huge_mb.to_string());
    }
    for v in &online.vdevs {
        a.push("--vdev".into());
        a.push(v.clone());
    }
    for d in &online.allow {
        a.push("-a".into());
        a.push(d.clone());
    }
    a.extend(online.eal.iter().cloned());
    let has = |a: &[String], flag: &str| {
        a.iter()
            .any(|x| x == flag || x.starts_with(&format!("{flag}=")))
    };
    if !has(&a, "-d") {
        let dir = if online.pmd_dir.is_empty() {
            default_pmd_dir()
        } else {
            &online.pmd_dir
        };
        if Path::new(dir).is_dir() {
            a.push("-d".into());
            a.push(dir.into());
        }
    }
    if !["--file-prefix", "--proc-type", "--no-shconf", "--in-memory"]
        .iter()
        .any(|f| has(&a, f))
    {
        a.push("--no-shconf".into());
    }
    a
}

/// Splits an `--eal '...'` string into arguments (whitespace; single or
/// double quotes group words).
pub fn split_eal(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut any = false;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            (None, c) => cur.push(c),
        }
    }
    if any || !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// How to turn a driver's RX timestamp into nanoseconds; `None`: unknown
/// unit, use the host clock.
fn timestamp_scale(driver: &str) -> Option<u64> {
    match driver {
        // libpcap's microsecond view of the capture's timestamps.
        "net_pcap" => Some(1_000),
        _ => None,
    }
}

/// Run-time control of a live run, usable from any thread.
#[derive(Clone)]
pub struct RunControl {
    stop: Arc<AtomicBool>,
    ports: Arc<Mutex<Vec<PortControl<Port>>>>,
}

impl RunControl {
    /// Asks the run to stop (as Ctrl-C does).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    fn ports(&self) -> std::sync::MutexGuard<'_, Vec<PortControl<Port>>> {
        self.ports.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keeps about `fraction` of the RSS buckets on the workers and points
    /// the rest at the sink queue, on every port; returns the buckets kept
    /// per port. Ports without a RETA or a sink are an error.
    pub fn sample(&self, fraction: f64) -> Result<Vec<usize>, NicError> {
        self.ports()
            .iter_mut()
            .map(|p| p.sample(fraction))
            .collect()
    }

    /// Points `buckets` of every port's RETA at the sink queue.
    pub fn to_sink(&self, buckets: &[u16]) -> Result<(), NicError> {
        self.ports().iter_mut().try_for_each(|p| p.to_sink(buckets))
    }

    /// Points `buckets` back at their workers.
    pub fn restore(&self, buckets: &[u16]) -> Result<(), NicError> {
        self.ports().iter_mut().try_for_each(|p| p.restore(buckets))
    }

    /// Installs the NIC rules of a hardware filter on every port (see
    /// [`crate::flow`] and [`crate::control`]); returns the log lines.
    /// Replaces rules installed by an earlier call. The software filter
    /// must still run.
    pub fn offload_filter(&self, filter: &HwFilter) -> Vec<String> {
        let mut log = Vec::new();
        for p in self.ports().iter_mut() {
            let name = p.nic().name().to_string();
            log.extend(
                p.offload(filter)
                    .into_iter()
                    .map(|l| format!("{name}: {l}")),
            );
        }
        log
    }

    /// Current device counters of every port.
    pub fn port_stats(&self) -> Vec<PortStats> {
        self.ports()
            .iter()
            .filter_map(|p| p.nic().stats().ok())
            .collect()
    }
}

/// What a worker hands back.
struct WorkerOut<H> {
    handler: H,
    stats: Stats,
    worker: WorkerStats,
}

/// A started live run; [`OnlineRun::wait`] monitors it on the main lcore.
pub struct OnlineRun<H> {
    control: RunControl,
    clock: Arc<SharedClock>,
    joins: Vec<lcore::LcoreJoin<WorkerOut<H>>>,
    done_rx: Receiver<u64>,
    finals: Vec<Sender<u64>>,
    sinks: Vec<RxQueue>,
    pool: Mempool,
    settings: OnlineSettings,
    started: Instant,
    warnings: Vec<String>,
    signalled: Arc<AtomicBool>,
}

static POOLS: AtomicU64 = AtomicU64::new(0);

impl<H: ConnHandler + Send + 'static> OnlineRun<H> {
    /// Configures the ports of `cfg.online`, launches one worker per queue
    /// with `make_handler(worker)`, and returns at once.
    pub fn start<F>(eal: &Eal, cfg: &Config, make_handler: F) -> Result<Self, OnlineError>
    where
        F: Fn(usize) -> H,
    {
        let o = cfg.online.clone();
        let mut workers: Vec<u32> = if o.cores.is_empty() {
            eal.worker_lcores().to_vec()
        } else {
            for c in &o.cores {
                if !eal.worker_lcores().contains(c) {
                    return Err(OnlineError::UnknownCore(*c));
                }
            }
            o.cores.clone()
        };
        if workers.is_empty() {
            return Err(OnlineError::NoWorkers);
        }
        let available = eal.ports();
        let port_ids = if o.ports.is_empty() {
            available.clone()
        } else {
            for p in &o.ports {
                if !available.contains(p) {
                    return Err(OnlineError::UnknownPort(*p));
                }
            }
            o.ports.clone()
        };
        if port_ids.is_empty() {
            return Err(DpdkError::NoPorts.into());
        }
        let mut warnings = Vec::new();
        // Fewer queues than workers on some port: use fewer workers.
        let mut caps = Vec::new();
        for &id in &port_ids {
            let (c, name) = crate::dpdk::port::device_caps(eal, id)?;
            let max = c.max_rx_queues.max(1);
            let want = workers.len() as u16 + u16::from(o.sink);
            if want > max {
                let usable = if o.sink && max >= 2 { max - 1 } else { max };
                if (usable as usize) < workers.len() {
                    warnings.push(format!(
                        "{name}: {max} RX queue(s); using {usable} of the {} worker lcores",
                        workers.len()
                    ));
                    workers.truncate(usize::from(usable));
                }
            }
            caps.push(c);
        }
        let nworkers = workers.len() as u16;
        let mut sink = o.sink;
        if sink
            && caps
                .iter()
                .any(|c| c.reta_size == 0 || c.max_rx_queues <= nworkers)
        {
            warnings.push(
                "[online] sink: a port has no redirection table or no spare queue; flow sampling is off"
                    .into(),
            );
            sink = false;
        }
        let n = POOLS.fetch_add(1, Ordering::Relaxed);
        let pool = Mempool::create(
            eal,
            &format!("weir_rx{n}"),
            o.mbufs,
            o.mbuf_cache,
            o.mbuf_size,
            -1,
        )?;
        let setup = PortSetup {
            rx_queues: nworkers + u16::from(sink),
            rx_descriptors: o.rx_descriptors,
            mtu: o.mtu,
            promiscuous: o.promiscuous,
            timestamps: true,
        };
        let mut ctls = Vec::new();
        let mut queues: Vec<Vec<(RxQueue, Option<u64>)>> =
            (0..nworkers).map(|_| Vec::new()).collect();
        let mut sinks = Vec::new();
        for &id in &port_ids {
            let (mut port, w) = Port::configure(eal, id, &setup, &pool)?;
            warnings.extend(w);
            port.start()?;
            let scale = if port.has_timestamps() {
                timestamp_scale(&port.caps().driver)
            } else {
                None
            };
            if scale.is_none() {
                warnings.push(format!(
                    "{}: no RX timestamps in a known unit; packet time is the host clock",
                    port.name()
                ));
            }
            for (q, list) in queues.iter_mut().enumerate() {
                if let Some(rx) = port.take_rx_queue(q as u16) {
                    list.push((rx, scale));
                }
            }
            if sink {
                if let Some(rx) = port.take_rx_queue(nworkers) {
                    sinks.push(rx);
                }
            }
            let (ctl, w) = PortControl::new(port, nworkers, sink.then_some(nworkers));
            warnings.extend(w);
            ctls.push(ctl);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let clock = Arc::new(SharedClock::new());
        let (done_tx, done_rx) = channel();
        let idle_tick_ns = if o.idle_exit_s > 0 {
            0
        } else {
            o.idle_tick_ms.saturating_mul(1_000_000)
        };
        let mut joins = Vec::new();
        let mut finals = Vec::new();
        for (i, (lcore_id, qs)) in workers.iter().zip(queues).enumerate() {
            let (final_tx, final_rx) = channel();
            finals.push(final_tx);
            let job = Worker {
                cfg: cfg.clone(),
                handler: make_handler(i),
                queues: qs,
                stop: stop.clone(),
                clock: clock.clone(),
                done: done_tx.clone(),
                final_ts: final_rx,
                burst: o.burst,
                idle_tick_ns,
                lcore: *lcore_id,
            };
            match lcore::launch(eal, *lcore_id, move || job.run()) {
                Ok(j) => joins.push(j),
                Err(e) => {
                    // Let the workers already running finish on their own.
                    stop.store(true, Ordering::SeqCst);
                    return Err(e.into());
                }
            }
        }
        Ok(OnlineRun {
            control: RunControl {
                stop,
                ports: Arc::new(Mutex::new(ctls)),
            },
            clock,
            joins,
            done_rx,
            finals,
            sinks,
            pool,
            settings: o,
            started: Instant::now(),
            warnings,
            signalled: Arc::new(AtomicBool::new(false)),
        })
    }

    pub fn control(&self) -> RunControl {
        self.control.clone()
    }

    /// Setup warnings so far (capability fallbacks).
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Stops the run on Ctrl-C (SIGINT/SIGTERM). Only one handler can be
    /// installed per process; a failure is a warning.
    pub fn stop_on_ctrl_c(&mut self) {
        let flag = self.signalled.clone();
        let stop = self.control.stop.clone();
        if let Err(e) = ctrlc::set_handler(move || {
            flag.store(true, Ordering::SeqCst);
            stop.store(true, Ordering::SeqCst);
        }) {
            self.warnings
                .push(format!("cannot install the Ctrl-C handler: {e}"));
        }
    }

    /// Monitors the run on the calling (main) lcore until a stop condition,
    /// then stops the workers, drains every connection and gathers the results.
    pub fn wait(mut self) -> Result<(Vec<H>, RunReport, OnlineStats), OnlineError> {
        let o = &self.settings;
        let duration = (o.duration_s > 0).then(|| Duration::from_secs(o.duration_s));
        let idle_exit = o.idle_exit_s.saturating_mul(1_000_000_000);
        let mut sink_packets = 0u64;
        let mut bufs: Vec<Mbuf> = Vec::with_capacity(512);
        let reason = loop {
            let mut drained = 0;
            for s in &mut self.sinks {
                drained += s.rx_burst(&mut bufs, 512);
                bufs.clear();
            }
            sink_packets += drained as u64;
            if self.signalled.load(Ordering::Relaxed) {
                break "signal";
            }
            if self.control.stop.load(Ordering::Relaxed) {
                break "requested";
            }
            if duration.is_some_and(|d| self.started.elapsed() >= d) {
                break "duration";
            }
            if idle_exit > 0 && self.clock.quiet_ns(self.clock.host_ns()) >= idle_exit {
                break "idle";
            }
            if drained == 0 {
                std::thread::sleep(Duration::from_millis(if self.sinks.is_empty() {
                    5
                } else {
                    1
                }));
            }
        };
        self.control.stop.store(true, Ordering::SeqCst);
        // Phase 2: every worker reports its latest packet time; all of them
        // then advance to the latest over all queues and drain.
        let mut latest = 0u64;
        for _ in 0..self.joins.len() {
            match self.done_rx.recv() {
                Ok(t) => latest = latest.max(t),
                Err(_) => break,
            }
        }
        for f in &self.finals {
            let _ = f.send(latest);
        }
        let mut handlers = Vec::new();
        let mut per_core = Vec::new();
        let mut workers = Vec::new();
        let mut panicked = false;
        for j in self.joins.drain(..) {
            match j.join() {
                Ok(out) => {
                    handlers.push(out.handler);
                    per_core.push(out.stats);
                    workers.push(out.worker);
                }
                Err(_) => panicked = true,
            }
        }
        if panicked {
            return Err(OnlineError::WorkerPanicked);
        }
        let mut total = Stats::default();
        for s in &per_core {
            total.merge(s);
        }
        let ports = self.control.port_stats();
        for p in self.control.ports().iter_mut() {
            p.clear_offload();
            p.nic_mut().flush_flows();
            p.nic_mut().stop();
        }
        let online = OnlineStats {
            dpdk_version: crate::dpdk::version().to_string(),
            ports,
            workers,
            sink_packets,
            mempool_capacity: self.pool.capacity(),
            mempool_in_use: self.pool.in_use(),
            stop_reason: reason.to_string(),
            warnings: std::mem::take(&mut self.warnings),
        };
        let report = RunReport {
            stats: total,
            per_core,
            warnings: Vec::new(),
            // A run stopped by idle-exit took as long as its last packet.
            elapsed: if reason == "idle" {
                Duration::from_nanos(self.clock.last_arrival_ns())
            } else {
                self.started.elapsed()
            },
        };
        Ok((handlers, report, online))
    }
}

/// Everything one worker lcore owns.
struct Worker<H> {
    cfg: Config,
    handler: H,
    /// `(queue, timestamp unit in ns)`, one per port.
    queues: Vec<(RxQueue, Option<u64>)>,
    stop: Arc<AtomicBool>,
    clock: Arc<SharedClock>,
    done: Sender<u64>,
    final_ts: Receiver<u64>,
    burst: u16,
    idle_tick_ns: u64,
    lcore: u32,
}

fn host_time_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

impl<H: ConnHandler> Worker<H> {
    fn run(mut self) -> WorkerOut<H> {
        let mut p = Pipeline::new(&self.cfg, self.handler);
        let mut ws = WorkerStats {
            lcore: self.lcore,
            queue: self.queues.first().map(|q| q.0.queue()).unwrap_or(0),
            ..Default::default()
        };
        let mut bufs: Vec<Mbuf> = Vec::with_capacity(usize::from(self.burst));
        let mut ticker = IdleTicker::new(self.idle_tick_ns);
        let mut latest = 0u64;
        while !self.stop.load(Ordering::Relaxed) {
            let mut got = 0usize;
            for (rx, scale) in self.queues.iter_mut() {
                let n = rx.rx_burst(&mut bufs, self.burst);
                if n == 0 {
                    continue;
                }
                got += n;
                ws.bursts += 1;
                let field = rx.timestamp_field().copied();
                let mut host_ts = None;
                for m in bufs.drain(..) {
                    let ts = match (field.as_ref().and_then(|f| m.rx_timestamp(f)), *scale) {
                        (Some(t), Some(unit)) => t.saturating_mul(unit),
                        _ => *host_ts.get_or_insert_with(host_time_ns),
                    };
                    latest = latest.max(ts);
                    if m.segments() > 1 {
                        ws.multi_segment += 1;
                    }
                    ws.packets += 1;
                    ws.bytes += u64::from(m.pkt_len());
                    p.process(&RawPacket {
                        ts: Timestamp::from_nanos(ts),
                        wire_len: m.pkt_len(),
                        link: LinkType::Ethernet,
                        data: m.data(),
                    });
                }
            }
            let host = self.clock.host_ns();
            if got > 0 {
                self.clock.arrived(latest, host);
                ticker.packet(host);
            } else {
                ws.empty_polls += 1;
                if ticker.due(host) {
                    if let Some(now) = self.clock.estimate(host) {
                        ws.idle_ticks += 1;
                        p.advance(Timestamp::from_nanos(now));
                    }
                }
                std::hint::spin_loop();
            }
        }
        let _ = self.done.send(latest);
        let end = self.final_ts.recv().unwrap_or(latest);
        if end > 0 {
            p.advance(Timestamp::from_nanos(end));
        }
        let (handler, stats) = p.finish();
        WorkerOut {
            handler,
            stats,
            worker: ws,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eal_string_splits_like_a_shell() {
        assert_eq!(
            split_eal("--no-huge -m 1024  --vdev 'net_pcap0,rx_pcap=a b.pcap' -d\"x\""),
            vec![
                "--no-huge",
                "-m",
                "1024",
                "--vdev",
                "net_pcap0,rx_pcap=a b.pcap",
                "-dx"
            ]
        );
        assert!(split_eal("  ").is_empty());
        assert_eq!(split_eal("''"), vec![""]);
    }

    #[test]
    fn eal_args_from_settings() {
        let o = OnlineSettings {
            cores: vec![2, 3],
            main_core: Some(1),
            no_huge_mb: 512,
            vdevs: vec!["net_null0".into()],
            allow: vec!["0000:01:00.0".into()],
            pmd_dir: "/nonexistent".into(),
            ..Default::default()
        };
        assert_eq!(
            eal_args(&o).join(" "),
            "-l 1,2,3 --main-lcore 1 --no-huge -m 512 --vdev net_null0 -a 0000:01:00.0 --no-shconf"
        );
        let o = OnlineSettings {
            eal: vec!["--file-prefix".into(), "x".into(), "-d".into(), "/p".into()],
            ..Default::default()
        };
        assert_eq!(eal_args(&o).join(" "), "--file-prefix x -d /p");
    }
}
