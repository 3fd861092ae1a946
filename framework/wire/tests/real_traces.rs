//! Parses every frame of the shared real captures (if present) and checks that
//! nothing panics, that no frame is malformed, and that IP fragments in them
//! reassemble.

use pcap_file::pcap::PcapReader;
use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use weir_wire::{
    parse_frame, parse_frame_captured, parse_transport, DefragConfig, DefragOutcome, Defragmenter,
    LinkType, ParseOptions, Transport,
};

fn traces_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/traces/real")
}

/// Frames in these captures that are legitimately malformed, as
/// (file, 1-based frame number, error kind, reason).
const KNOWN_MALFORMED: &[(&str, usize, &str, &str)] = &[
    // Zeek's reassembly test trace: five 1500-byte IPv4 datagrams were recorded with
    // only 1492/1480 bytes although the record's orig_len equals its caplen, so the
    // IP total length really does run past the frame (tshark flags them too).
    ("zeek__tcp_reassembly.pcap", 7, "truncated_ipv4", LOST_TAIL),
    ("zeek__tcp_reassembly.pcap", 26, "truncated_ipv4", LOST_TAIL),
    ("zeek__tcp_reassembly.pcap", 35, "truncated_ipv4", LOST_TAIL),
    ("zeek__tcp_reassembly.pcap", 39, "truncated_ipv4", LOST_TAIL),
    ("zeek__tcp_reassembly.pcap", 85, "truncated_ipv4", LOST_TAIL),
];
const LOST_TAIL: &str = "IP total length beyond the recorded bytes with orig_len == caplen";

#[derive(Default, Debug)]
struct Counts {
    frames: usize,
    ip: usize,
    tcp: usize,
    udp: usize,
    other_l4: usize,
    unsupported: usize,
    fragments: usize,
    reassembled: usize,
    /// Frames cut by the capture's snap length (parsed with `parse_frame_captured`).
    snapped: usize,
    defrag_overlaps: u64,
    /// Malformed frames whose headers still parse with `orig_len = usize::MAX`.
    tolerated: usize,
    malformed: Vec<(usize, &'static str)>,
}

fn run_file(path: &Path) -> Counts {
    let mut c = Counts::default();
    let mut reader = PcapReader::new(File::open(path).expect("open capture")).expect("pcap header");
    let opts = ParseOptions::default();
    let mut defrag = Defragmenter::new(DefragConfig::default());
    let mut n = 0;
    while let Some(pkt) = reader.next_packet() {
        let pkt = pkt.expect("pcap record");
        n += 1;
        c.frames += 1;
        let now = u64::try_from(pkt.timestamp.as_nanos()).unwrap_or(u64::MAX);
        let orig_len = pkt.orig_len as usize;
        let snapped = orig_len > pkt.data.len();
        if snapped {
            // The strict parser must refuse or accept, never panic; the captured variant decides.
            let _ = parse_frame(LinkType::Ethernet, &pkt.data, &opts);
        }
        let l3 = match parse_frame_captured(LinkType::Ethernet, &pkt.data, orig_len, &opts) {
            Ok(c) if c.missing > 0 => c.packet,
            Ok(c) => {
                // A whole frame: the strict parser must agree.
                assert_eq!(
                    parse_frame(LinkType::Ethernet, &pkt.data, &opts),
                    Ok(c.packet)
                );
                c.packet
            }
            Err(e) if e.is_malformed() => {
                c.malformed.push((n, e.kind()));
                // A caller that wants tshark-like tolerance passes usize::MAX as orig_len:
                // the IP and TCP headers are still readable.
                if let Ok(t) =
                    parse_frame_captured(LinkType::Ethernet, &pkt.data, usize::MAX, &opts)
                {
                    if parse_transport(
                        &t.packet.ip,
                        t.packet.payload,
                        &ParseOptions {
                            verify_checksums: false,
                        },
                    )
                    .is_ok()
                    {
                        c.tolerated += 1;
                    }
                }
                continue;
            }
            Err(_) => {
                c.unsupported += 1;
                continue;
            }
        };
        c.ip += 1;
        if snapped {
            c.snapped += 1;
        }
        let transport = if snapped {
            // Cut payload: parse the header only, without checksums.
            parse_transport(
                &l3.ip,
                l3.payload,
                &ParseOptions {
                    verify_checksums: false,
                },
            )
            .map(|t| match t {
                Transport::Tcp(..) => 1,
                Transport::Udp(..) => 2,
                Transport::Other(_) => 3,
            })
        } else if l3.fragment.is_some() {
            c.fragments += 1;
            match defrag.push(now, &l3) {
                DefragOutcome::Complete(r) => {
                    c.reassembled += 1;
                    parse_transport(&r.ip, &r.payload, &opts).map(|t| match t {
                        Transport::Tcp(..) => 1,
                        Transport::Udp(..) => 2,
                        Transport::Other(_) => 3,
                    })
                }
                _ => Ok(0),
            }
        } else {
            parse_transport(&l3.ip, l3.payload, &opts).map(|t| match t {
                Transport::Tcp(..) => 1,
                Transport::Udp(..) => 2,
                Transport::Other(_) => 3,
            })
        };
        match transport {
            Ok(1) => c.tcp += 1,
            Ok(2) => c.udp += 1,
            Ok(3) => c.other_l4 += 1,
            Ok(_) => {}
            Err(e) => c.malformed.push((n, e.kind())),
        }
    }
    c.defrag_overlaps = defrag.stats().overlaps;
    c
}

#[test]
fn real_captures_have_no_malformed_frames() {
    let dir = traces_dir();
    if !dir.is_dir() {
        eprintln!("skipping: {} is absent", dir.display());
        return;
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read traces dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "pcap"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .pcap files in {}", dir.display());

    let mut results = BTreeMap::new();
    for f in &files {
        let name = f
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        results.insert(name, run_file(f));
    }
    let mut failures = Vec::new();
    for (name, c) in &results {
        for &(frame, kind) in &c.malformed {
            let known = KNOWN_MALFORMED
                .iter()
                .any(|&(f, n, k, _)| f == name && n == frame && k == kind);
            if !known {
                failures.push(format!("{name} frame {frame}: {kind}"));
            }
        }
    }
    if !failures.is_empty() {
        for (name, c) in &results {
            eprintln!("{name}: {c:?}");
        }
        panic!(
            "{} malformed frames:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
    let total: usize = results.values().map(|c| c.frames).sum();
    let ip: usize = results.values().map(|c| c.ip).sum();
    eprintln!("{} captures, {total} frames, {ip} IP", results.len());
    // Sanity: the corpus is mostly IP, TCP and UDP.
    assert!(
        ip * 10 >= total * 9,
        "only {ip} of {total} frames parsed as IP"
    );
    // Captures that are about fragmentation must reassemble something.
    for name in [
        "zeek__ipv4_fragmented-syn.pcap",
        "ndpi__dns_fragmented.pcap",
    ] {
        if let Some(c) = results.get(name) {
            assert!(c.fragments > 0 && c.reassembled > 0, "{name}: {c:?}");
        }
    }
    // fragmented-4 holds overlapping fragments ([24,72) over [48,72)): weir
    // discards such datagrams (RFC 5722 spirit) where tshark reassembles them.
    if let Some(c) = results.get("zeek__ipv4_fragmented-4.pcap") {
        assert!(
            c.fragments == 4 && c.reassembled == 0 && c.defrag_overlaps == 1,
            "{c:?}"
        );
    }
    if let Some(c) = results.get("zeek__tcp_reassembly.pcap") {
        assert_eq!(c.tolerated, 5, "{c:?}");
    }
    // Snap-length-cut captures parse through `parse_frame_captured`.
    if let Some(c) = results.get("zeek__tcp_retransmit-fast009.pcap") {
        assert!(c.snapped > 0 && c.tcp == c.frames, "{c:?}");
    }
    // VLAN captures must show their tags.
    if let Some(c) = results.get("zeek__vlan-qinqinq.pcap") {
        assert_eq!(c.tcp, c.frames, "{c:?}");
    }
}

/// The triple-tagged capture parses with its full VLAN stack.
#[test]
fn qinqinq_capture_has_three_tags() {
    let path = traces_dir().join("zeek__vlan-qinqinq.pcap");
    if !path.is_file() {
        eprintln!("skipping: {} is absent", path.display());
        return;
    }
    let mut reader = PcapReader::new(File::open(&path).expect("open")).expect("header");
    let mut seen = 0;
    while let Some(pkt) = reader.next_packet() {
        let pkt = pkt.expect("record");
        let l3 =
            parse_frame(LinkType::Ethernet, &pkt.data, &ParseOptions::default()).expect("parses");
        assert_eq!(l3.vlans.len(), 3, "{:?}", l3.vlans);
        seen += 1;
    }
    assert!(seen > 0);
}
