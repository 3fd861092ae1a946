//! Offline runs over capture files, on one or more cores.
//!
//! With one core the reading thread runs the [`Pipeline`] itself. With
//! `N > 1` cores it behaves like a NIC with symmetric RSS: the reader hashes
//! each frame's flow with the symmetric Toeplitz hash, looks the hash up in
//! a redirection table, and hands the frame (in batches) to that worker.
//! Both directions of a connection meet on one worker, so every worker owns
//! its connections outright.
//!
//! IP fragments are reassembled by the reader before dispatch (a non-first
//! fragment has no ports to hash), so a fragmented datagram reaches the
//! worker that owns its connection.
//!
//! Time: workers advance their timers from packet timestamps only. So that
//! a worker which receives nothing for a while still expires its idle
//! connections at the same packet time as a single core would, the reader
//! appends a time tick to every worker's batch whenever packet time moves on
//! by the timer resolution, and a final tick before the drain. Results
//! therefore do not depend on the number of cores.

use crate::config::Config;
use crate::pcap::CaptureSet;
use crate::pipeline::{flow_of, Pipeline};
use crate::rss::{Reta, Toeplitz};
use crate::source::{PacketSource, RawPacket, SourceError};
use crate::stats::Stats;
use std::path::PathBuf;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::time::{Duration, Instant};
use weir_conntrack::{ConnHandler, Timestamp};
use weir_wire::{
    parse_frame_captured, DefragOutcome, Defragmenter, IpHeader, LinkType, ParseOptions, VlanStack,
};

/// What a run produced besides the handlers.
#[derive(Debug, Default)]
pub struct RunReport {
    /// Totals over all cores (and the dispatcher's fragment reassembly).
    pub stats: Stats,
    pub per_core: Vec<Stats>,
    /// Files that ended early without stopping the run (truncated last record).
    pub warnings: Vec<SourceError>,
    pub elapsed: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("a worker thread panicked")]
    WorkerPanicked,
    /// An application's embedded IR does not parse (a build problem).
    #[error("the application's embedded IR does not parse: {0}")]
    Ir(String),
}

/// Prints a progress line to stderr on runs longer than about two seconds.
struct Progress {
    enabled: bool,
    start: Instant,
    last: Instant,
    printed: bool,
}

impl Progress {
    fn new(enabled: bool) -> Self {
        let now = Instant::now();
        Progress {
            enabled,
            start: now,
            last: now,
            printed: false,
        }
    }

    fn tick(&mut self, packets: u64, bytes: u64, pkt_ts: Timestamp) {
        if !self.enabled || packets % 8192 != 0 {
            return;
        }
        let now = Instant::now();
        if now.duration_since(self.start) < Duration::from_secs(2)
            || now.duration_since(self.last) < Duration::from_secs(1)
        {
            return;
        }
        self.last = now;
        self.printed = true;
        let secs = now.duration_since(self.start).as_secs_f64();
        eprint!(
            "\r[weir] {:.1}s  {} packets  {:.1} MB  {:.2} Mpps  packet time {}   ",
            secs,
            packets,
            bytes as f64 / 1e6,
            packets as f64 / secs / 1e6,
            pkt_ts
        );
    }

    fn done(&self) {
        if self.printed {
            eprintln!();
        }
    }
}

/// Runs `make_handler(core)` handlers over the capture files `inputs`.
///
/// Returns the handlers (in core order) after every connection has been
/// terminated, plus the run's counters. A missing or unreadable file, or a
/// corrupt record, is an error naming the file and offset; a truncated last
/// record only ends that file (reported in [`RunReport::warnings`]).
pub fn run_offline<H, F>(
    inputs: &[PathBuf],
    cfg: &Config,
    make_handler: F,
) -> Result<(Vec<H>, RunReport), RunError>
where
    H: ConnHandler + Send,
    F: Fn(usize) -> H + Sync,
{
    let mut source = CaptureSet::open(inputs)?;
    let start = Instant::now();
    let (handlers, mut report) = if cfg.offline.cores <= 1 {
        run_single(&mut source, cfg, make_handler(0))?
    } else {
        run_multi(&mut source, cfg, &make_handler)?
    };
    report.warnings = source.take_warnings();
    report.elapsed = start.elapsed();
    Ok((handlers, report))
}

/// Runs one pipeline over any packet source, on the calling thread.
pub fn run_source<H: ConnHandler, S: PacketSource>(
    source: &mut S,
    cfg: &Config,
    handler: H,
) -> Result<(H, Stats), SourceError> {
    let mut p = Pipeline::new(cfg, handler);
    let mut progress = Progress::new(cfg.offline.progress);
    while let Some(pkt) = source.next_packet()? {
        p.process(&pkt);
        progress.tick(p.stats().received, p.stats().received_bytes, pkt.ts);
    }
    progress.done();
    Ok(p.finish())
}

fn run_single<H: ConnHandler>(
    source: &mut CaptureSet,
    cfg: &Config,
    handler: H,
) -> Result<(Vec<H>, RunReport), RunError> {
    let (h, stats) = run_source(source, cfg, handler)?;
    Ok((
        vec![h],
        RunReport {
            stats: stats.clone(),
            per_core: vec![stats],
            ..Default::default()
        },
    ))
}

/// One unit of work for a worker, in the order the reader saw it.
enum Item {
    Frame {
        ts: Timestamp,
        wire_len: u32,
        link: LinkType,
        start: usize,
        len: usize,
    },
    Datagram {
        ts: Timestamp,
        wire_len: u32,
        ethernet: bool,
        vlans: VlanStack,
        ip: IpHeader,
        start: usize,
        len: usize,
    },
    Tick(Timestamp),
}

/// Frames for one worker, their bytes packed in one buffer.
#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    items: Vec<Item>,
}

impl Batch {
    fn push_frame(&mut self, pkt: &RawPacket<'_>) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(pkt.data);
        self.items.push(Item::Frame {
            ts: pkt.ts,
            wire_len: pkt.wire_len,
            link: pkt.link,
            start,
            len: pkt.data.len(),
        });
    }

    fn push_datagram(
        &mut self,
        ts: Timestamp,
        wire_len: u32,
        ethernet: bool,
        vlans: VlanStack,
        ip: IpHeader,
        payload: &[u8],
    ) {
        let start = self.bytes.len();
        self.bytes.extend_from_slice(payload);
        self.items.push(Item::Datagram {
            ts,
            wire_len,
            ethernet,
            vlans,
            ip,
            start,
            len: payload.len(),
        });
    }
}

fn worker<H: ConnHandler>(cfg: &Config, handler: H, rx: Receiver<Batch>) -> (H, Stats) {
    let mut p = Pipeline::new(cfg, handler);
    for batch in rx {
        for item in &batch.items {
            match *item {
                Item::Frame {
                    ts,
                    wire_len,
                    link,
                    start,
                    len,
                } => p.process(&RawPacket {
                    ts,
                    wire_len,
                    link,
                    data: &batch.bytes[start..start + len],
                }),
                Item::Datagram {
                    ts,
                    wire_len,
                    ethernet,
                    vlans,
                    ref ip,
                    start,
                    len,
                } => p.process_reassembled(
                    ts,
                    wire_len,
                    ethernet,
                    vlans,
                    ip,
                    &batch.bytes[start..start + len],
                ),
                Item::Tick(ts) => p.advance(ts),
            }
        }
    }
    p.finish()
}

fn run_multi<H, F>(
    source: &mut CaptureSet,
    cfg: &Config,
    make_handler: &F,
) -> Result<(Vec<H>, RunReport), RunError>
where
    H: ConnHandler + Send,
    F: Fn(usize) -> H + Sync,
{
    let cores = cfg.offline.cores;
    let batch_len = cfg.offline.batch;
    let tick_every = cfg
        .conntrack
        .timer_resolution_ms
        .max(1)
        .saturating_mul(1_000_000);
    let hasher = Toeplitz::symmetric();
    let reta = Reta::round_robin(Reta::DEFAULT_SIZE, cores as u16);
    let opts = ParseOptions {
        verify_checksums: false,
    };
    let mut defrag = Defragmenter::new(cfg.defrag.to_config());
    let mut reader_stats = Stats::default();

    std::thread::scope(|scope| {
        let mut txs: Vec<SyncSender<Batch>> = Vec::with_capacity(cores);
        let mut joins = Vec::with_capacity(cores);
        for core in 0..cores {
            let (tx, rx) = sync_channel::<Batch>(8);
            let handler = make_handler(core);
            txs.push(tx);
            joins.push(scope.spawn(move || worker(cfg, handler, rx)));
        }
        let mut batches: Vec<Batch> = (0..cores).map(|_| Batch::default()).collect();
        let flush = |batches: &mut Vec<Batch>, q: usize, txs: &Vec<SyncSender<Batch>>| {
            let b = std::mem::take(&mut batches[q]);
            // A worker only hangs up by panicking; that is reported when joining.
            let _ = txs[q].send(b);
        };
        let mut last_tick = Timestamp::ZERO;
        let mut latest = Timestamp::ZERO;
        let mut progress = Progress::new(cfg.offline.progress);
        let mut seen = 0u64;
        let mut seen_bytes = 0u64;
        let result = loop {
            let pkt = match source.next_packet() {
                Ok(Some(p)) => p,
                Ok(None) => break Ok(()),
                Err(e) => break Err(e),
            };
            seen += 1;
            seen_bytes += u64::from(pkt.wire_len);
            progress.tick(seen, seen_bytes, pkt.ts);
            latest = latest.max(pkt.ts);
            if latest.saturating_since(last_tick) >= tick_every {
                last_tick = latest;
                for b in batches.iter_mut() {
                    b.items.push(Item::Tick(latest));
                }
            }
            let q = match parse_frame_captured(pkt.link, pkt.data, usize::MAX, &opts) {
                Ok(c) if c.packet.fragment.is_some() && c.missing == 0 => {
                    let l3 = c.packet;
                    match defrag.push(pkt.ts.as_nanos(), &l3) {
                        // The completing frame is counted by the worker, as one datagram.
                        DefragOutcome::Complete(d) => {
                            let (s, dst, ports) = flow_of(&d.ip, &d.payload);
                            let q = usize::from(reta.queue(hasher.hash_flow(s, dst, ports)));
                            batches[q].push_datagram(
                                pkt.ts,
                                pkt.wire_len,
                                pkt.link == LinkType::Ethernet,
                                d.vlans,
                                d.ip,
                                &d.payload,
                            );
                            q
                        }
                        DefragOutcome::Pending | DefragOutcome::Dropped(_) => {
                            reader_stats.received += 1;
                            reader_stats.received_bytes += u64::from(pkt.wire_len);
                            reader_stats.fragments_held += 1;
                            continue;
                        }
                    }
                }
                Ok(c) => {
                    let l3 = c.packet;
                    let (s, d, ports) = if l3.fragment.is_some() {
                        (l3.ip.src, l3.ip.dst, None)
                    } else {
                        flow_of(&l3.ip, l3.payload)
                    };
                    let q = usize::from(reta.queue(hasher.hash_flow(s, d, ports)));
                    batches[q].push_frame(&pkt);
                    q
                }
                // Not IP or malformed: any worker counts it the same way.
                Err(_) => {
                    batches[0].push_frame(&pkt);
                    0
                }
            };
            if batches[q].items.len() >= batch_len {
                flush(&mut batches, q, &txs);
            }
        };
        progress.done();
        for q in 0..cores {
            batches[q].items.push(Item::Tick(latest));
            flush(&mut batches, q, &txs);
        }
        drop(txs);
        let mut handlers = Vec::with_capacity(cores);
        let mut per_core = Vec::with_capacity(cores);
        let mut panicked = false;
        for j in joins {
            match j.join() {
                Ok((h, s)) => {
                    handlers.push(h);
                    per_core.push(s);
                }
                Err(_) => panicked = true,
            }
        }
        result?;
        if panicked {
            return Err(RunError::WorkerPanicked);
        }
        defrag.expire(u64::MAX);
        reader_stats.defrag.merge(defrag.stats());
        let mut total = reader_stats;
        for s in &per_core {
            total.merge(s);
        }
        Ok((
            handlers,
            RunReport {
                stats: total,
                per_core,
                ..Default::default()
            },
        ))
    })
}
