//! # weir-tracegen — deterministic, protocol-valid synthetic traffic with ground truth
//!
//! Layer: a standalone tool beside the framework (it depends on no weir crate). It
//! produces the large, controlled traces weir's tests and benchmarks need, as pcap files
//! (`weir-tracegen` CLI) or straight into memory ([`Generator`], [`Replay`]).
//!
//! Guarantees:
//! - **Deterministic**: the same [`Mix`] and seed give byte-identical packets and truth
//!   (ChaCha8 streams, no hash-order iteration, no wall clock; trace time starts at
//!   [`generator::EPOCH_NS`]).
//! - **Well formed**: every frame has correct IPv4 header, TCP and UDP checksums
//!   (over the reassembled datagram when fragmented) and consistent lengths; TCP flows
//!   have real handshakes, sequence/ack numbers, MSS segmentation and FIN/RST teardown;
//!   QUIC Initials are encrypted as RFC 9001 §5 requires, so dissectors can decrypt them.
//! - **Ground truth**: each flow's [`FlowTruth`] states its five-tuple, kind, L7 names
//!   (SNI, HTTP hosts, DNS names, SSH versions, video resolution), per-direction counts
//!   and how it ends.
//! - **Streaming**: only active flows are in memory; flows are merged by next-packet time
//!   with a priority queue.
//!
//! Cost: building a packet is a few allocations and a copy of its payload; random payload
//! bytes come from ChaCha8.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod dist;
pub mod flow;
pub mod generator;
pub mod mix;
pub mod names;
pub mod pcap;
pub mod proto;
pub mod replay;
pub mod transport;
pub mod truth;
pub mod wire;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

pub use generator::{generate, Generator};
pub use mix::{FlowKind, Mix, MixError, PRESETS};
pub use replay::Replay;
pub use truth::{DirStats, End, FlowTruth, L4Proto};

/// One captured frame: timestamp in nanoseconds since the Unix epoch and the Ethernet bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// Capture time (ns since the Unix epoch).
    pub ts_ns: u64,
    /// The whole Ethernet frame.
    pub data: Vec<u8>,
}

/// Errors writing a trace.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The mix is invalid.
    #[error(transparent)]
    Mix(#[from] MixError),
    /// A file could not be written.
    #[error("{file}: {source}")]
    Io {
        /// The file.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// What a written trace contains.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Flows.
    pub flows: u64,
    /// Frames written.
    pub packets: u64,
    /// Frame bytes written.
    pub bytes: u64,
    /// First timestamp.
    pub first_ns: u64,
    /// Last timestamp.
    pub last_ns: u64,
}

/// `FILE.pcap` → `FILE.truth.jsonl` (any other name gets `.truth.jsonl` appended).
pub fn truth_path(pcap: &Path) -> PathBuf {
    let s = pcap.to_string_lossy();
    let stem = s.strip_suffix(".pcap").unwrap_or(&s);
    PathBuf::from(format!("{stem}.truth.jsonl"))
}

/// Generate `mix` with `seed` into any two writers (pcap bytes, JSONL truth).
pub fn write_to<P: Write, T: Write>(mix: &Mix, seed: u64, pcap: P, truth: T) -> Result<Summary, WriteError> {
    write_named(mix, seed, pcap, truth, "<pcap output>", "<truth output>")
}

fn write_named<P: Write, T: Write>(
    mix: &Mix,
    seed: u64,
    pcap: P,
    mut truth: T,
    pcap_name: &str,
    truth_name: &str,
) -> Result<Summary, WriteError> {
    let perr = |source| WriteError::Io { file: pcap_name.to_string(), source };
    let terr = |source| WriteError::Io { file: truth_name.to_string(), source };
    let mut g = Generator::new(mix, seed)?;
    let mut w = pcap::PcapWriter::new(pcap).map_err(perr)?;
    let mut s = Summary::default();
    let mut line = String::new();
    let mut flush_truth = |g: &mut Generator, t: &mut T| -> std::io::Result<()> {
        for ft in g.drain_truth() {
            line.clear();
            line.push_str(&ft.to_json_line());
            line.push('\n');
            t.write_all(line.as_bytes())?;
        }
        Ok(())
    };
    while let Some(p) = g.next_packet() {
        if s.packets == 0 {
            s.first_ns = p.ts_ns;
        }
        s.last_ns = p.ts_ns;
        s.packets += 1;
        s.bytes += p.data.len() as u64;
        w.write_packet(p.ts_ns, &p.data).map_err(perr)?;
        g.recycle(p.data);
        flush_truth(&mut g, &mut truth).map_err(terr)?;
    }
    flush_truth(&mut g, &mut truth).map_err(terr)?;
    w.into_inner().map_err(perr)?;
    truth.flush().map_err(terr)?;
    s.flows = g.flows_started();
    Ok(s)
}

/// Write `FILE.pcap` and `FILE.truth.jsonl` for `mix` with `seed`.
pub fn write_trace(mix: &Mix, seed: u64, pcap_path: &Path) -> Result<Summary, WriteError> {
    let tpath = truth_path(pcap_path);
    let (pname, tname) = (pcap_path.display().to_string(), tpath.display().to_string());
    let pf = File::create(pcap_path).map_err(|source| WriteError::Io { file: pname.clone(), source })?;
    let tf = File::create(&tpath).map_err(|source| WriteError::Io { file: tname.clone(), source })?;
    let pw = BufWriter::with_capacity(1 << 20, pf);
    let tw = BufWriter::with_capacity(1 << 16, tf);
    write_named(mix, seed, pw, tw, &pname, &tname)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truth_path_replaces_pcap_suffix() {
        assert_eq!(truth_path(Path::new("a/b.pcap")), PathBuf::from("a/b.truth.jsonl"));
        assert_eq!(truth_path(Path::new("x.cap")), PathBuf::from("x.cap.truth.jsonl"));
    }

    #[test]
    fn write_to_memory_is_deterministic() {
        let mut mix = Mix::preset("impaired").unwrap();
        mix.flows = 80;
        let run = |seed| {
            let (mut p, mut t) = (Vec::new(), Vec::new());
            write_to(&mix, seed, &mut p, &mut t).unwrap();
            (p, t)
        };
        let a = run(11);
        assert_eq!(a, run(11));
        assert_ne!(a.0, run(12).0);
        let truth = truth::parse_jsonl(std::str::from_utf8(&a.1).unwrap()).unwrap();
        assert_eq!(truth.len(), 80);
    }
}
