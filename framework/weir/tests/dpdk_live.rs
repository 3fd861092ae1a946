//! `weir log --dpdk` against `weir log` on the same packets (feature `dpdk`).
//!
//! DPDK's `net_pcap` virtual device replays a capture with `--no-huge` (no
//! hugepages, no NIC), each run in its own `weir` process because EAL can
//! start only once per process. `net_pcap` delivers microsecond timestamps,
//! so the trace is first rewritten with microsecond resolution and both
//! sides read that file.
#![cfg(feature = "dpdk")]

use std::path::{Path, PathBuf};
use std::process::Command;
use weir::runtime::rss::{Reta, Toeplitz};
use weir_dpdk::model::rss_queue;

const LOGS: &[&str] = &[
    "conn.jsonl",
    "tls.jsonl",
    "http.jsonl",
    "dns.jsonl",
    "quic.jsonl",
    "ssh.jsonl",
];

fn bundled_trace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../traces/data/default.pcap")
}

/// `(ts_ns, frame)` records of a little-endian classic pcap (µs or ns).
fn read_pcap(path: &Path) -> Vec<(u64, Vec<u8>)> {
    let b = std::fs::read(path).unwrap();
    let magic = u32::from_le_bytes(b[0..4].try_into().unwrap());
    let unit = match magic {
        0xa1b2_c3d4 => 1_000,
        0xa1b2_3c4d => 1,
        m => panic!("{}: unexpected pcap magic {m:#x}", path.display()),
    };
    let mut out = Vec::new();
    let mut i = 24;
    let u = |i: usize| u64::from(u32::from_le_bytes(b[i..i + 4].try_into().unwrap()));
    while i + 16 <= b.len() {
        let (s, frac, cap) = (u(i), u(i + 4), u(i + 8) as usize);
        assert_eq!(u(i + 12) as usize, cap, "the test traces are not snapped");
        out.push((
            s * 1_000_000_000 + frac * unit,
            b[i + 16..i + 16 + cap].to_vec(),
        ));
        i += 16 + cap;
    }
    out
}

/// Writes a microsecond-resolution Ethernet pcap (timestamps truncated to µs, as libpcap does).
fn write_pcap_us(path: &Path, frames: &[(u64, Vec<u8>)]) {
    let mut out = Vec::new();
    out.extend(0xa1b2_c3d4u32.to_le_bytes());
    out.extend(2u16.to_le_bytes());
    out.extend(4u16.to_le_bytes());
    for v in [0u32, 0, 262_144, 1] {
        out.extend(v.to_le_bytes());
    }
    for (ts, f) in frames {
        out.extend(((ts / 1_000_000_000) as u32).to_le_bytes());
        out.extend((((ts % 1_000_000_000) / 1_000) as u32).to_le_bytes());
        out.extend((f.len() as u32).to_le_bytes());
        out.extend((f.len() as u32).to_le_bytes());
        out.extend(f);
    }
    std::fs::write(path, out).unwrap();
}

fn weir() -> Command {
    Command::new(env!("CARGO_BIN_EXE_weir"))
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().expect("weir runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "weir failed:\n{stderr}");
    stderr
}

/// DPDK workers busy-poll: one live run at a time keeps them from starving
/// each other on a small machine (a starved worker looks like a quiet link).
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// `weir log --dpdk` over `net_pcap` with one `rx_pcap` per queue.
fn run_dpdk(queue_files: &[PathBuf], out: &Path, extra: &[&str]) -> String {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let rx: Vec<String> = queue_files
        .iter()
        .map(|p| format!(",rx_pcap={}", p.display()))
        .collect();
    // One worker lcore per queue plus the main one, all free to run on any CPU.
    let lcores: Vec<String> = (0..=queue_files.len())
        .map(|l| format!("{l}@(0-1)"))
        .collect();
    let eal = format!(
        "--no-huge -m 512 --no-pci --lcores {} --vdev net_pcap0{}",
        lcores.join(","),
        rx.concat()
    );
    let mut cmd = weir();
    cmd.args(["log", "--quiet", "--dpdk", "--eal", &eal, "--out"])
        .arg(out)
        .args(extra);
    run(&mut cmd)
}

fn run_pcap(trace: &Path, out: &Path, extra: &[&str]) {
    let mut cmd = weir();
    cmd.args(["log", "--quiet", "--out"])
        .arg(out)
        .args(extra)
        .arg(trace);
    run(&mut cmd);
}

fn assert_same_logs(a: &Path, b: &Path, what: &str) {
    for log in LOGS {
        let x = std::fs::read_to_string(a.join(log)).unwrap();
        let y = std::fs::read_to_string(b.join(log)).unwrap();
        assert!(
            x == y,
            "{what}: {log} differs ({} vs {} lines)",
            x.lines().count(),
            y.lines().count()
        );
    }
    let sa: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(a.join("stats.json")).unwrap()).unwrap();
    let sb: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(b.join("stats.json")).unwrap()).unwrap();
    for k in [
        "received",
        "received_bytes",
        "ipv4",
        "ipv6",
        "tcp",
        "udp",
        "non_ip",
    ] {
        assert_eq!(sa["total"][k], sb["total"][k], "{what}: stats total.{k}");
    }
}

#[test]
fn net_pcap_logs_equal_pcap_logs_on_one_and_two_queues() {
    let dir = tempfile::tempdir().unwrap();
    let frames = read_pcap(&bundled_trace());
    assert!(frames.len() > 1000);
    let trace = dir.path().join("trace_us.pcap");
    write_pcap_us(&trace, &frames);
    // The trace split as a 2-queue NIC with symmetric RSS would split it.
    let hasher = Toeplitz::symmetric();
    let reta = Reta::round_robin(Reta::DEFAULT_SIZE, 2);
    let mut split: [Vec<(u64, Vec<u8>)>; 2] = [Vec::new(), Vec::new()];
    for f in &frames {
        split[usize::from(rss_queue(&hasher, &reta, &f.1))].push(f.clone());
    }
    assert!(
        split.iter().all(|q| q.len() > frames.len() / 4),
        "both queues get traffic"
    );
    let q: Vec<PathBuf> = (0..2)
        .map(|i| dir.path().join(format!("q{i}.pcap")))
        .collect();
    for (p, part) in q.iter().zip(&split) {
        write_pcap_us(p, part);
    }

    let reference = dir.path().join("pcap");
    run_pcap(&trace, &reference, &[]);
    let one = dir.path().join("dpdk1");
    let log1 = run_dpdk(std::slice::from_ref(&trace), &one, &["--idle-exit", "2"]);
    assert_same_logs(&reference, &one, "1 queue");
    let two = dir.path().join("dpdk2");
    let log2 = run_dpdk(&q, &two, &["--idle-exit", "2"]);
    assert_same_logs(&reference, &two, "2 queues");
    assert!(
        log1.contains("stopped on idle") && log2.contains("2 worker(s)"),
        "{log1}\n{log2}"
    );

    // The DPDK counters reach stats.json: per port and per queue, and every mbuf came back.
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(two.join("stats.json")).unwrap()).unwrap();
    let d = &s["dpdk"];
    assert_eq!(d["ports"][0]["packets"], frames.len() as u64);
    assert_eq!(d["ports"][0]["queues"][0]["packets"], split[0].len() as u64);
    assert_eq!(d["ports"][0]["queues"][1]["packets"], split[1].len() as u64);
    assert_eq!(d["ports"][0]["imissed"], 0);
    assert_eq!(d["ports"][0]["rx_nombuf"], 0);
    assert_eq!(d["mempool_in_use"], 0);
    assert_eq!(d["workers"].as_array().unwrap().len(), 2);
}

fn checksum(data: &[u8], init: u32) -> u16 {
    let mut sum = init;
    for c in data.chunks(2) {
        sum += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// An unanswered SYN 10.0.0.1:40000 -> 10.0.0.2:80.
fn syn_frame() -> Vec<u8> {
    let mut tcp = vec![0u8; 20];
    tcp[0..2].copy_from_slice(&40000u16.to_be_bytes());
    tcp[2..4].copy_from_slice(&80u16.to_be_bytes());
    tcp[4..8].copy_from_slice(&1000u32.to_be_bytes());
    tcp[12] = 5 << 4;
    tcp[13] = 0x02;
    tcp[14..16].copy_from_slice(&64240u16.to_be_bytes());
    let (src, dst) = ([10, 0, 0, 1], [10, 0, 0, 2]);
    let mut pseudo = Vec::new();
    pseudo.extend(src);
    pseudo.extend(dst);
    pseudo.extend([0, 6, 0, 20]);
    pseudo.extend(&tcp);
    let c = checksum(&pseudo, 0);
    tcp[16..18].copy_from_slice(&c.to_be_bytes());
    let mut ip = vec![0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0];
    ip.extend(src);
    ip.extend(dst);
    let c = checksum(&ip, 0);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    let mut f = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
    f.extend(ip);
    f.extend(tcp);
    f
}

fn end_reasons(out: &Path) -> Vec<String> {
    std::fs::read_to_string(out.join("conn.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["end"].as_str().unwrap().to_string()
        })
        .collect()
}

#[test]
fn a_quiet_link_expires_idle_connections_from_the_clock() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("syn.pcap");
    write_pcap_us(&trace, &[(1_704_067_200_000_000_000, syn_frame())]);
    let cfg = dir.path().join("weir.toml");
    std::fs::write(&cfg, "[conntrack]\ntcp_establish_timeout_ms = 300\n").unwrap();
    let cfg_s = cfg.to_str().unwrap();

    // Read from the file, the capture ends before the timeout.
    let file = dir.path().join("file");
    run_pcap(&trace, &file, &["--config", cfg_s]);
    assert_eq!(end_reasons(&file), ["end_of_input"]);
    // Replayed with --idle-exit: the quiet period is not packet time, same result.
    let idle = dir.path().join("idle");
    run_dpdk(
        std::slice::from_ref(&trace),
        &idle,
        &["--config", cfg_s, "--idle-exit", "2"],
    );
    assert_eq!(end_reasons(&idle), ["end_of_input"]);
    // Live for 2 s: the link stays quiet and the clock expires the SYN.
    let live = dir.path().join("live");
    let log = run_dpdk(&[trace], &live, &["--config", cfg_s, "--duration", "2"]);
    assert!(log.contains("stopped on duration"), "{log}");
    assert_eq!(end_reasons(&live), ["establish_timeout"]);
    let s: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(live.join("stats.json")).unwrap()).unwrap();
    assert!(s["dpdk"]["workers"][0]["idle_ticks"].as_u64().unwrap() > 0);
}

#[test]
fn filter_is_offered_to_the_nic_and_still_runs_in_software() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("trace_us.pcap");
    write_pcap_us(&trace, &read_pcap(&bundled_trace()));
    let filter = "tcp.port = 443";
    let reference = dir.path().join("pcap");
    run_pcap(&trace, &reference, &["--filter", filter]);
    let live = dir.path().join("dpdk");
    let log = run_dpdk(&[trace], &live, &["--filter", filter, "--idle-exit", "2"]);
    assert_same_logs(&reference, &live, "--filter");
    // net_pcap has no flow API: every rule is refused and logged.
    assert!(log.contains("weir: filter offload:"), "{log}");
    assert!(log.contains("software filter only"), "{log}");
}
