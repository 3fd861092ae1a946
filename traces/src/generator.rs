//! The flow scheduler: flows start by the mix's arrival process; each active flow's
//! schedule is decided when it starts and its frames are built when they are due
//! (`flow::build_deferred`); a priority queue keyed by (next packet time, flow id)
//! merges the active flows into one time-ordered stream.
//!
//! Memory holds only the active flows' messages and schedules. Output depends only on the mix and the
//! seed: one master ChaCha stream draws every flow's parameters and a per-flow seed.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::net::IpAddr;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::dist;
use crate::flow::{self, FlowSpec, Plan};
use crate::mix::{ArrivalProcess, FlowKind, Mix, MixError};
use crate::truth::{End, FlowTruth};
use crate::Packet;

/// Trace time of the first flow start: 2024-01-01T00:00:00Z (fixed; no wall clock).
pub const EPOCH_NS: u64 = 1_704_067_200 * 1_000_000_000;

/// Recently closed TCP five-tuples remembered for the port-reuse impairment.
const CLOSED_RING: usize = 256;

struct Active {
    /// Remaining frames (in `frames`), last first (so `pop` yields the next one).
    rest: flow::FlowFrames,
}

/// Generates a trace as an iterator of packets in timestamp order.
///
/// ```
/// let mix = weir_tracegen::Mix::preset("default").unwrap();
/// let mut mix = mix;
/// mix.flows = 20;
/// let mut g = weir_tracegen::Generator::new(&mix, 7).unwrap();
/// let first = g.next().unwrap();
/// assert!(first.data.len() >= 54);
/// assert!(g.drain_truth().count() >= 1);
/// ```
pub struct Generator {
    plan: Plan,
    master: ChaCha8Rng,
    flows_total: u64,
    next_id: u64,
    next_start_ns: u64,
    mean_gap_ns: f64,
    heap: BinaryHeap<Reverse<(u64, u64, usize)>>,
    slots: Vec<Option<Active>>,
    free: Vec<usize>,
    ends: BinaryHeap<Reverse<u64>>,
    truth: VecDeque<FlowTruth>,
    record_truth: bool,
    closed: VecDeque<(FlowSpecTuple, u64)>,
    scale: f64,
    frames_out: u64,
    bytes_out: u64,
}

#[derive(Clone, Copy)]
struct FlowSpecTuple {
    ep: crate::wire::Endpoints,
}

impl Generator {
    /// A generator for `mix.flows` flows of `mix`, seeded by `seed`.
    pub fn new(mix: &Mix, seed: u64) -> Result<Generator, MixError> {
        let plan = Plan::new(mix)?;
        Ok(Generator {
            master: ChaCha8Rng::seed_from_u64(seed),
            flows_total: mix.flows,
            next_id: 0,
            next_start_ns: EPOCH_NS,
            mean_gap_ns: mix.arrival.mean_gap_ns(mix.flows),
            heap: BinaryHeap::new(),
            slots: Vec::new(),
            free: Vec::new(),
            ends: BinaryHeap::new(),
            truth: VecDeque::new(),
            record_truth: true,
            closed: VecDeque::new(),
            scale: mix.size_scale,
            frames_out: 0,
            bytes_out: 0,
            plan,
        })
    }

    /// Keep (default) or skip ground-truth records; skipping saves work in benchmarks.
    pub fn set_record_truth(&mut self, on: bool) {
        self.record_truth = on;
        if !on {
            self.truth.clear();
        }
    }

    /// Ground truth of the flows started so far and not yet drained, in flow-id order.
    pub fn drain_truth(&mut self) -> std::collections::vec_deque::Drain<'_, FlowTruth> {
        self.truth.drain(..)
    }

    /// Hand a packet's buffer back once it has been consumed, so later packets reuse
    /// it instead of allocating (optional; output is the same either way).
    pub fn recycle(&mut self, data: Vec<u8>) {
        crate::wire::recycle(data);
    }

    /// Number of flows started so far.
    pub fn flows_started(&self) -> u64 {
        self.next_id
    }

    /// The next packet, or `None` when every flow has been emitted.
    pub fn next_packet(&mut self) -> Option<Packet> {
        loop {
            let next_ts = self.heap.peek().map(|Reverse((t, _, _))| *t);
            if self.next_id < self.flows_total && match next_ts { None => true, Some(t) => self.next_start_ns <= t } {
                self.start_flow();
                continue;
            }
            // The flow at the top stays there with its next time (one sift) unless done.
            let mut top = self.heap.peek_mut()?;
            let Reverse((_, id, slot)) = *top;
            let active = self.slots[slot].as_mut()?;
            let pending = active.rest.frames.pop()?;
            let pkt = active.rest.packet(pending);
            if let Some(n) = active.rest.frames.last() {
                *top = Reverse((n.ts_ns, id, slot));
            } else {
                std::collections::binary_heap::PeekMut::pop(top);
                self.slots[slot] = None;
                self.free.push(slot);
            }
            return Some(pkt);
        }
    }

    fn start_flow(&mut self) {
        let id = self.next_id;
        self.next_id += 1;
        let mut start = self.next_start_ns;
        let cap = self.plan.mix.arrival.max_concurrent as usize;
        while self.ends.peek().is_some_and(|Reverse(e)| *e < start) {
            self.ends.pop();
        }
        if cap > 0 && self.ends.len() >= cap {
            if let Some(Reverse(e)) = self.ends.pop() {
                start = start.max(e + 1);
            }
        }
        let gap = match self.plan.mix.arrival.process {
            ArrivalProcess::Poisson => dist::exponential(&mut self.master, self.mean_gap_ns),
            ArrivalProcess::Constant => self.mean_gap_ns,
        };
        self.next_start_ns = start + gap as u64;

        let m = &mut self.master;
        let kind = self.plan.pick_kind(m);
        let mut ep = self.plan.endpoints(m, kind);
        let raw = self.plan.sizes.sample(m);
        let size = ((raw as f64 * self.scale) as u64).clamp(1, flow::MAX_FLOW_BYTES);
        let flow_seed: u64 = m.gen();
        let mut reused = false;
        let reuse_p = self.plan.mix.impair.port_reuse;
        if kind.is_tcp() && kind != FlowKind::SynScan && reuse_p > 0.0 && m.gen_bool(reuse_p) {
            if let Some(pos) = self.closed.iter().position(|(_, end)| *end + 1_000_000 < start) {
                if let Some((t, _)) = self.closed.remove(pos) {
                    ep = t.ep;
                    reused = true;
                }
            }
        }
        let spec = FlowSpec { id, kind, ep, start_ns: start, size, reused_tuple: reused };
        let mut rng = ChaCha8Rng::seed_from_u64(flow_seed);
        let (mut pkts, truth) = flow::build_deferred(&self.plan, &spec, &mut rng);
        self.adjust_scale(&truth);
        self.ends.push(Reverse(truth.end_ns));
        if kind.is_tcp() && matches!(truth.end, End::Fin | End::Rst) && reuse_p > 0.0 {
            if self.closed.len() == CLOSED_RING {
                self.closed.pop_front();
            }
            self.closed.push_back((FlowSpecTuple { ep: spec.ep }, truth.end_ns));
        }
        if self.record_truth {
            self.truth.push_back(truth);
        }
        if pkts.frames.is_empty() {
            return;
        }
        pkts.frames.reverse();
        let first_ts = pkts.frames.last().map_or(start, |p| p.ts_ns);
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s] = Some(Active { rest: pkts });
                s
            }
            None => {
                self.slots.push(Some(Active { rest: pkts }));
                self.slots.len() - 1
            }
        };
        self.heap.push(Reverse((first_ts, id, slot)));
    }

    /// Feedback toward the mix's target mean frame size: grow flow sizes while the mean
    /// so far is below target, shrink them while above.
    fn adjust_scale(&mut self, t: &FlowTruth) {
        self.frames_out += t.to_server.frames + t.to_client.frames;
        self.bytes_out += t.to_server.bytes + t.to_client.bytes;
        let target = f64::from(self.plan.mix.mean_packet_size);
        if target == 0.0 || self.frames_out == 0 {
            return;
        }
        let mean = self.bytes_out as f64 / self.frames_out as f64;
        let base = self.plan.mix.size_scale;
        self.scale = if mean < target { self.scale * 1.01 } else { self.scale / 1.01 }.clamp(base / 100.0, base * 100.0);
    }
}

impl Iterator for Generator {
    type Item = Packet;

    fn next(&mut self) -> Option<Packet> {
        self.next_packet()
    }
}

/// Generate a whole trace into memory: packets in time order and the ground truth.
pub fn generate(mix: &Mix, seed: u64) -> Result<(Vec<Packet>, Vec<FlowTruth>), MixError> {
    let mut g = Generator::new(mix, seed)?;
    let mut pkts = Vec::new();
    let mut truth = Vec::new();
    while let Some(p) = g.next_packet() {
        pkts.push(p);
        truth.extend(g.drain_truth());
    }
    truth.extend(g.drain_truth());
    Ok((pkts, truth))
}

/// The client address of a ground-truth flow is inside one of `prefixes`? (helper for tests
/// and subnet benchmarks)
pub fn in_prefix4(addr: IpAddr, base: u32, len: u8) -> bool {
    match addr {
        IpAddr::V4(a) => {
            let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
            u32::from(a) & mask == base & mask
        }
        IpAddr::V6(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn small(preset: &str, flows: u64) -> Mix {
        let mut m = Mix::preset(preset).unwrap();
        m.flows = flows;
        m
    }

    #[test]
    fn timestamps_never_go_back_and_every_flow_appears() {
        let (pkts, truth) = generate(&small("default", 300), 1).unwrap();
        assert!(pkts.windows(2).all(|w| w[0].ts_ns <= w[1].ts_ns));
        assert_eq!(truth.len(), 300);
        assert!(truth.iter().enumerate().all(|(i, t)| t.id == i as u64));
        let frames: u64 = truth.iter().map(|t| t.to_server.frames + t.to_client.frames).sum();
        assert_eq!(frames, pkts.len() as u64);
        assert!(pkts[0].ts_ns >= EPOCH_NS);
    }

    #[test]
    fn duration_spreads_starts_over_the_given_time() {
        let mut m = small("default", 2000);
        m.arrival.process = ArrivalProcess::Constant;
        m.arrival.duration_s = Some(10.0);
        let (_, truth) = generate(&m, 6).unwrap();
        let last_start = truth.iter().map(|t| t.start_ns).max().unwrap();
        let span = (last_start - EPOCH_NS) as f64 / 1e9;
        assert!((9.9..=10.0).contains(&span), "starts span {span} s");
    }

    #[test]
    fn max_concurrent_is_respected() {
        let mut m = small("bulk", 60);
        m.arrival.max_concurrent = 3;
        m.arrival.rate_per_s = 1e6;
        let (_, truth) = generate(&m, 2).unwrap();
        for t in &truth {
            let overlapping = truth.iter().filter(|u| u.start_ns <= t.start_ns && u.end_ns >= t.start_ns).count();
            assert!(overlapping <= 3, "flow {} overlaps {} flows", t.id, overlapping);
        }
    }

    #[test]
    fn default_mix_tcp_is_mostly_single_syns() {
        let (_, truth) = generate(&small("default", 3000), 3).unwrap();
        let tcp: Vec<_> = truth.iter().filter(|t| t.kind.is_tcp()).collect();
        let syn = tcp.iter().filter(|t| t.kind == FlowKind::SynScan).count() as f64;
        let share = syn / tcp.len() as f64;
        assert!((0.60..0.70).contains(&share), "single-SYN share {share}");
        for t in tcp.iter().filter(|t| t.kind == FlowKind::SynScan) {
            assert_eq!((t.to_server.frames, t.to_client.frames), (1, 0));
        }
    }

    #[test]
    fn mean_packet_size_tracks_target() {
        let (pkts, _) = generate(&small("default", 4000), 4).unwrap();
        let mean = pkts.iter().map(|p| p.data.len()).sum::<usize>() as f64 / pkts.len() as f64;
        assert!((700.0..1100.0).contains(&mean), "mean frame size {mean}");
    }

    #[test]
    fn port_reuse_reuses_closed_tuples() {
        let mut m = small("impaired", 400);
        m.impair.port_reuse = 0.5;
        let (_, truth) = generate(&m, 5).unwrap();
        let reused: Vec<_> = truth.iter().filter(|t| t.reused_tuple).collect();
        assert!(!reused.is_empty());
        for r in reused {
            let earlier = truth.iter().find(|t| {
                t.id < r.id
                    && (t.client, t.client_port, t.server, t.server_port) == (r.client, r.client_port, r.server, r.server_port)
            });
            let e = earlier.expect("reused tuple has an earlier flow");
            assert!(e.end_ns < r.start_ns);
            assert_ne!(e.end, End::None);
        }
    }
}
