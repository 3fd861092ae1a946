//! pcap and pcapng files as a [`PacketSource`].
//!
//! Records are parsed with `pcap-file`'s slice parsers over our own chunked
//! read buffer, which gives us three things the crate's readers do not:
//! byte offsets for error messages, a bound on memory (no record may exceed
//! [`MAX_RECORD_LEN`]), and correct timestamps for pcapng interfaces with a
//! non-default `if_tsresol`/`if_tsoffset`. Frames are handed out as slices of
//! the read buffer: no per-packet copy or allocation.
//!
//! Several files (or every capture in a directory, sorted by name) are read
//! in order as one continuous capture by [`CaptureSet`].

use crate::source::{PacketSource, RawPacket, SourceError, SourceErrorKind, MAX_RECORD_LEN};
use pcap_file::pcap::PcapParser;
use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionOption;
use pcap_file::pcapng::{Block, PcapNgParser};
use pcap_file::{Endianness, PcapError, TsResolution};
use std::borrow::Cow;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use weir_conntrack::Timestamp;
use weir_wire::LinkType;

const INITIAL_BUF: usize = 1 << 20;
const PCAPNG_SHB: u32 = 0x0A0D_0D0A;

enum Format {
    Pcap {
        parser: PcapParser,
        link: LinkType,
        nanos: bool,
    },
    PcapNg {
        parser: PcapNgParser,
        last_ts: Timestamp,
    },
}

/// A file read through a growable buffer.
struct ReadBuf {
    file: File,
    buf: Vec<u8>,
    /// Start of unread bytes in `buf`.
    pos: usize,
    /// End of valid bytes in `buf`.
    end: usize,
    /// File offset of `buf[0]`.
    offset: u64,
    eof: bool,
}

impl ReadBuf {
    /// Moves unread bytes to the front, grows the buffer if a record needs it, and reads more.
    fn fill(&mut self) -> std::io::Result<()> {
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.end, 0);
            self.offset += self.pos as u64;
            self.end -= self.pos;
            self.pos = 0;
        }
        if self.end == self.buf.len() {
            let grown = (self.buf.len() * 2).min(MAX_RECORD_LEN as usize + 64);
            self.buf.resize(grown.max(self.end + 1), 0);
        }
        let n = loop {
            match self.file.read(&mut self.buf[self.end..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        if n == 0 {
            self.eof = true;
        }
        self.end += n;
        Ok(())
    }

    fn unread(&self) -> &[u8] {
        &self.buf[self.pos..self.end]
    }
}

/// One capture file, read sequentially.
pub struct CaptureFile {
    path: PathBuf,
    rd: ReadBuf,
    finished: bool,
    format: Format,
    /// Holds a frame when the parser could not lend it from `buf`.
    scratch: Vec<u8>,
}

impl CaptureFile {
    /// Opens a capture and reads its header; errors name the file.
    pub fn open(path: &Path) -> Result<CaptureFile, SourceError> {
        let err = |offset, kind| SourceError {
            path: path.to_path_buf(),
            offset,
            kind,
        };
        let file = File::open(path).map_err(|e| err(None, SourceErrorKind::Io(e)))?;
        let mut rd = ReadBuf {
            file,
            buf: vec![0; INITIAL_BUF],
            pos: 0,
            end: 0,
            offset: 0,
            eof: false,
        };
        let format = loop {
            let avail = &rd.buf[rd.pos..rd.end];
            let parsed = match avail.get(0..4) {
                None => Err(PcapError::IncompleteBuffer),
                Some(m) => match u32::from_be_bytes([m[0], m[1], m[2], m[3]]) {
                    PCAPNG_SHB => PcapNgParser::new(avail).map(|(rem, parser)| {
                        (
                            avail.len() - rem.len(),
                            Format::PcapNg {
                                parser,
                                last_ts: Timestamp::ZERO,
                            },
                        )
                    }),
                    0xa1b2_c3d4 | 0xd4c3_b2a1 | 0xa1b2_3c4d | 0x4d3c_b2a1 => {
                        match PcapParser::new(avail) {
                            Ok((rem, parser)) => {
                                let h = parser.header();
                                let dl = u32::from(h.datalink);
                                let Some(link) = LinkType::from_linktype(dl) else {
                                    return Err(err(
                                        Some(20),
                                        SourceErrorKind::UnsupportedLinkType(dl),
                                    ));
                                };
                                let nanos = h.ts_resolution == TsResolution::NanoSecond;
                                Ok((
                                    avail.len() - rem.len(),
                                    Format::Pcap {
                                        parser,
                                        link,
                                        nanos,
                                    },
                                ))
                            }
                            Err(e) => Err(e),
                        }
                    }
                    magic => return Err(err(Some(0), SourceErrorKind::NotACapture(magic))),
                },
            };
            match parsed {
                Ok((used, format)) => {
                    rd.pos += used;
                    break format;
                }
                Err(PcapError::IncompleteBuffer) if !rd.eof => {
                    rd.fill().map_err(|e| err(None, SourceErrorKind::Io(e)))?
                }
                Err(PcapError::IncompleteBuffer) => {
                    return Err(err(Some(0), SourceErrorKind::TooShort))
                }
                Err(e) => return Err(err(Some(0), SourceErrorKind::Malformed(e.to_string()))),
            }
        };
        Ok(CaptureFile {
            path: path.to_path_buf(),
            rd,
            finished: false,
            format,
            scratch: Vec::new(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn error(&mut self, kind: SourceErrorKind) -> SourceError {
        self.finished = true;
        SourceError {
            path: self.path.clone(),
            offset: Some(self.rd.offset + self.rd.pos as u64),
            kind,
        }
    }

    /// Declared length of the record at `pos` (header included), if enough bytes are there to tell.
    fn declared_len(&self) -> Option<u64> {
        let a = self.rd.unread();
        match &self.format {
            Format::Pcap { parser, .. } => {
                let b: [u8; 4] = a.get(8..12)?.try_into().ok()?;
                let incl = match parser.header().endianness {
                    Endianness::Big => u32::from_be_bytes(b),
                    Endianness::Little => u32::from_le_bytes(b),
                };
                Some(16 + u64::from(incl))
            }
            Format::PcapNg { parser, .. } => {
                let t: [u8; 4] = a.get(0..4)?.try_into().ok()?;
                let b: [u8; 4] = a.get(4..8)?.try_into().ok()?;
                let (le, be) = (u32::from_le_bytes(b), u32::from_be_bytes(b));
                // A new section may switch byte order: accept either reading for its header.
                let len = if u32::from_le_bytes(t) == PCAPNG_SHB {
                    le.min(be)
                } else {
                    match parser.section().endianness {
                        Endianness::Big => be,
                        Endianness::Little => le,
                    }
                };
                Some(u64::from(len))
            }
        }
    }

    /// Where the next record ends, or what is wrong with it: reads more as needed.
    fn ensure_record(&mut self) -> Result<bool, SourceError> {
        loop {
            if self.finished {
                return Ok(false);
            }
            let have = self.rd.unread().len() as u64;
            match self.declared_len() {
                Some(len) if len > MAX_RECORD_LEN => {
                    return Err(self.error(SourceErrorKind::RecordTooLarge(len)))
                }
                Some(len) if have >= len => return Ok(true),
                _ => {}
            }
            if self.rd.eof {
                if have == 0 {
                    self.finished = true;
                    return Ok(false);
                }
                let missing = match self.declared_len() {
                    Some(len) => len - have,
                    None => 16u64.saturating_sub(have).max(1),
                };
                return Err(self.error(SourceErrorKind::TruncatedRecord { missing }));
            }
            if let Err(e) = self.rd.fill() {
                return Err(self.error(SourceErrorKind::Io(e)));
            }
        }
    }
}

/// Where a lent frame lives.
enum Lent {
    Buf { start: usize, len: usize },
    Scratch,
}

fn range_in(buf: &[u8], data: &[u8]) -> Option<(usize, usize)> {
    let start = (data.as_ptr() as usize).checked_sub(buf.as_ptr() as usize)?;
    (start + data.len() <= buf.len()).then_some((start, data.len()))
}

fn lend(buf: &[u8], scratch: &mut Vec<u8>, data: Cow<'_, [u8]>) -> Lent {
    match range_in(buf, &data) {
        Some((start, len)) => Lent::Buf { start, len },
        None => {
            scratch.clear();
            scratch.extend_from_slice(&data);
            Lent::Scratch
        }
    }
}

/// Converts a pcapng timestamp in interface units to nanoseconds.
fn pcapng_nanos(units: u64, tsresol: Option<u8>, offset_s: u64) -> u64 {
    let per_sec: u128 = match tsresol {
        None => 1_000_000,
        Some(r) if r & 0x80 == 0 => 10u128.checked_pow(u32::from(r)).unwrap_or(u128::MAX),
        Some(r) => 1u128.checked_shl(u32::from(r & 0x7f)).unwrap_or(u128::MAX),
    };
    let ns = u128::from(units) * 1_000_000_000 / per_sec.max(1);
    (ns.min(u128::from(u64::MAX)) as u64).saturating_add(offset_s.saturating_mul(1_000_000_000))
}

/// A frame located by [`CaptureFile::next_frame`], not yet lent out.
struct Frame {
    ts: Timestamp,
    wire_len: u32,
    link: LinkType,
    at: Lent,
}

impl CaptureFile {
    /// Parses up to the next frame (skipping pcapng blocks that carry none) without lending it.
    fn next_frame(&mut self) -> Result<Option<Frame>, SourceError> {
        loop {
            if !self.ensure_record()? {
                return Ok(None);
            }
            let avail = &self.rd.buf[self.rd.pos..self.rd.end];
            let (used, pkt) = match &mut self.format {
                Format::Pcap {
                    parser,
                    link,
                    nanos,
                } => match parser.next_raw_packet(avail) {
                    Ok((rem, raw)) => {
                        let frac = u64::from(raw.ts_frac) * if *nanos { 1 } else { 1_000 };
                        let ts = Timestamp(u64::from(raw.ts_sec) * 1_000_000_000 + frac);
                        let wire_len = raw.orig_len.max(raw.incl_len);
                        let link = *link;
                        let lent = lend(&self.rd.buf, &mut self.scratch, raw.data);
                        (avail.len() - rem.len(), Some((ts, wire_len, link, lent)))
                    }
                    Err(e) => {
                        let kind = SourceErrorKind::Malformed(e.to_string());
                        return Err(self.error(kind));
                    }
                },
                Format::PcapNg { parser, last_ts } => match parser.next_block(avail) {
                    Ok((rem, block)) => {
                        let used = avail.len() - rem.len();
                        let frame = match block {
                            Block::EnhancedPacket(b) => Some((
                                u64::try_from(b.timestamp.as_nanos()).unwrap_or(u64::MAX),
                                b.interface_id,
                                b.original_len,
                                b.data,
                            )),
                            Block::Packet(b) => Some((
                                b.timestamp,
                                u32::from(b.interface_id),
                                b.original_len,
                                b.data,
                            )),
                            // Simple packets carry no timestamp (they inherit the previous
                            // packet's) and no captured length: it is min(original length,
                            // snaplen), the rest of the block body is padding.
                            Block::SimplePacket(b) => {
                                let snap = parser.interfaces().first().map_or(0, |i| i.snaplen);
                                let cap = if snap == 0 {
                                    b.original_len
                                } else {
                                    b.original_len.min(snap)
                                };
                                let cap = (cap as usize).min(b.data.len());
                                let data = match b.data {
                                    Cow::Borrowed(d) => Cow::Borrowed(&d[..cap]),
                                    Cow::Owned(mut v) => {
                                        v.truncate(cap);
                                        Cow::Owned(v)
                                    }
                                };
                                Some((u64::MAX, 0, b.original_len, data))
                            }
                            _ => None,
                        };
                        match frame {
                            None => (used, None),
                            Some((units, iface, orig_len, data)) => {
                                let Some(idb) = parser.interfaces().get(iface as usize) else {
                                    return Err(
                                        self.error(SourceErrorKind::UnknownInterface(iface))
                                    );
                                };
                                let dl = u32::from(idb.linktype);
                                let Some(link) = LinkType::from_linktype(dl) else {
                                    return Err(
                                        self.error(SourceErrorKind::UnsupportedLinkType(dl))
                                    );
                                };
                                let mut tsresol = None;
                                let mut offset = 0;
                                for opt in &idb.options {
                                    match opt {
                                        InterfaceDescriptionOption::IfTsResol(r) => {
                                            tsresol = Some(*r)
                                        }
                                        InterfaceDescriptionOption::IfTsOffset(o) => offset = *o,
                                        _ => {}
                                    }
                                }
                                let ts = if units == u64::MAX {
                                    *last_ts
                                } else {
                                    Timestamp(pcapng_nanos(units, tsresol, offset))
                                };
                                *last_ts = ts;
                                let wire_len =
                                    orig_len.max(u32::try_from(data.len()).unwrap_or(u32::MAX));
                                let lent = lend(&self.rd.buf, &mut self.scratch, data);
                                (used, Some((ts, wire_len, link, lent)))
                            }
                        }
                    }
                    Err(e) => {
                        let kind = SourceErrorKind::Malformed(e.to_string());
                        return Err(self.error(kind));
                    }
                },
            };
            self.rd.pos += used;
            if let Some((ts, wire_len, link, at)) = pkt {
                return Ok(Some(Frame {
                    ts,
                    wire_len,
                    link,
                    at,
                }));
            }
        }
    }

    fn lent(&self, f: &Frame) -> RawPacket<'_> {
        let data = match f.at {
            Lent::Buf { start, len } => &self.rd.buf[start..start + len],
            Lent::Scratch => &self.scratch[..],
        };
        RawPacket {
            ts: f.ts,
            wire_len: f.wire_len,
            link: f.link,
            data,
        }
    }
}

impl PacketSource for CaptureFile {
    fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, SourceError> {
        Ok(self.next_frame()?.map(|f| self.lent(&f)))
    }
}

/// Expands the command-line inputs: files as given, directories to their
/// `*.pcap`, `*.pcapng` and `*.cap` files sorted by name.
pub fn expand_inputs(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, SourceError> {
    let mut out = Vec::new();
    for p in inputs {
        let io = |e| SourceError {
            path: p.clone(),
            offset: None,
            kind: SourceErrorKind::Io(e),
        };
        let meta = std::fs::metadata(p).map_err(io)?;
        if meta.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(p)
                .map_err(io)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| {
                    f.is_file()
                        && matches!(
                            f.extension().and_then(|e| e.to_str()),
                            Some("pcap" | "pcapng" | "cap")
                        )
                })
                .collect();
            if files.is_empty() {
                return Err(SourceError {
                    path: p.clone(),
                    offset: None,
                    kind: SourceErrorKind::EmptyDirectory,
                });
            }
            files.sort();
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Several capture files read in order as one continuous capture.
///
/// Every file is opened (and its header checked) up front, so a missing or
/// non-capture file fails before any packet is processed. A truncated last
/// record ends that file: it is reported through [`CaptureSet::take_warnings`]
/// and reading continues with the next file.
pub struct CaptureSet {
    files: std::collections::VecDeque<CaptureFile>,
    warnings: Vec<SourceError>,
}

impl CaptureSet {
    pub fn open(paths: &[PathBuf]) -> Result<CaptureSet, SourceError> {
        let files = expand_inputs(paths)?
            .iter()
            .map(|p| CaptureFile::open(p))
            .collect::<Result<_, _>>()?;
        Ok(CaptureSet {
            files,
            warnings: Vec::new(),
        })
    }

    /// Problems that ended a file early without stopping the run (truncated records).
    pub fn take_warnings(&mut self) -> Vec<SourceError> {
        std::mem::take(&mut self.warnings)
    }
}

impl PacketSource for CaptureSet {
    fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, SourceError> {
        loop {
            let Some(front) = self.files.front_mut() else {
                return Ok(None);
            };
            match front.next_frame() {
                Ok(Some(frame)) => {
                    let front = &self.files[0];
                    return Ok(Some(front.lent(&frame)));
                }
                Ok(None) => {
                    self.files.pop_front();
                }
                Err(e) if e.kind.is_truncation() => {
                    self.warnings.push(e);
                    self.files.pop_front();
                }
                Err(e) => {
                    self.files.clear();
                    return Err(e);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Rec<'a> {
        sec: u32,
        frac: u32,
        orig: u32,
        data: &'a [u8],
    }

    fn pcap_bytes(nanos: bool, big_endian: bool, linktype: u32, recs: &[Rec<'_>]) -> Vec<u8> {
        let u32b = |v: u32| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let u16b = |v: u16| {
            if big_endian {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            }
        };
        let mut out = Vec::new();
        out.extend(u32b(if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }));
        out.extend(u16b(2));
        out.extend(u16b(4));
        out.extend(u32b(0));
        out.extend(u32b(0));
        out.extend(u32b(96)); // snaplen smaller than orig_len below: tcpdump -s 96 does this
        out.extend(u32b(linktype));
        for r in recs {
            out.extend(u32b(r.sec));
            out.extend(u32b(r.frac));
            out.extend(u32b(r.data.len() as u32));
            out.extend(u32b(r.orig));
            out.extend_from_slice(r.data);
        }
        out
    }

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    /// (timestamp ns, wire length, link type, bytes) of a frame read back.
    type Read = (u64, u32, LinkType, Vec<u8>);

    fn read_all(src: &mut impl PacketSource) -> (Vec<Read>, Option<SourceError>) {
        let mut v = Vec::new();
        loop {
            match src.next_packet() {
                Ok(Some(p)) => v.push((p.ts.as_nanos(), p.wire_len, p.link, p.data.to_vec())),
                Ok(None) => return (v, None),
                Err(e) => return (v, Some(e)),
            }
        }
    }

    const A: &[u8] = &[1, 2, 3, 4, 5];
    const B: &[u8] = &[9; 60];

    #[test]
    fn classic_pcap_micro_and_nano_both_endiannesses() {
        let dir = tempfile::tempdir().unwrap();
        for (nanos, be) in [(false, false), (true, false), (false, true), (true, true)] {
            let recs = [
                Rec {
                    sec: 10,
                    frac: 7,
                    orig: 1514,
                    data: A,
                },
                Rec {
                    sec: 11,
                    frac: 0,
                    orig: 60,
                    data: B,
                },
            ];
            let p = write(dir.path(), "a.pcap", &pcap_bytes(nanos, be, 1, &recs));
            let mut f = CaptureFile::open(&p).unwrap();
            let (pkts, err) = read_all(&mut f);
            assert!(err.is_none());
            let frac = if nanos { 7 } else { 7_000 };
            assert_eq!(
                pkts[0],
                (10_000_000_000 + frac, 1514, LinkType::Ethernet, A.to_vec())
            );
            assert_eq!(
                pkts[1],
                (11_000_000_000, 60, LinkType::Ethernet, B.to_vec())
            );
            assert_eq!(pkts.len(), 2);
        }
    }

    #[test]
    fn link_types_are_mapped_or_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        for (n, lt) in [
            (101, LinkType::RawIp),
            (113, LinkType::LinuxSll),
            (276, LinkType::LinuxSll2),
            (0, LinkType::Null),
            (228, LinkType::Ipv4),
        ] {
            let p = write(
                dir.path(),
                "l.pcap",
                &pcap_bytes(
                    false,
                    false,
                    n,
                    &[Rec {
                        sec: 1,
                        frac: 0,
                        orig: 5,
                        data: A,
                    }],
                ),
            );
            let (pkts, err) = read_all(&mut CaptureFile::open(&p).unwrap());
            assert!(err.is_none());
            assert_eq!(pkts[0].2, lt);
        }
        let p = write(dir.path(), "wifi.pcap", &pcap_bytes(false, false, 127, &[]));
        let msg = CaptureFile::open(&p).err().unwrap().to_string();
        assert!(
            msg.contains("wifi.pcap") && msg.contains("unsupported link type 127"),
            "{msg}"
        );
    }

    #[test]
    fn truncated_last_record_is_reported_after_the_packets_before_it() {
        let dir = tempfile::tempdir().unwrap();
        let recs = [
            Rec {
                sec: 1,
                frac: 0,
                orig: 5,
                data: A,
            },
            Rec {
                sec: 2,
                frac: 0,
                orig: 60,
                data: B,
            },
        ];
        let full = pcap_bytes(false, false, 1, &recs);
        let cut = &full[..full.len() - 10];
        let p = write(dir.path(), "cut.pcap", cut);
        let (pkts, err) = read_all(&mut CaptureFile::open(&p).unwrap());
        assert_eq!(pkts.len(), 1);
        let err = err.unwrap();
        assert!(err.kind.is_truncation());
        let second_record = 24 + 16 + A.len() as u64;
        assert_eq!(err.offset, Some(second_record));
        let msg = err.to_string();
        assert!(
            msg.contains("cut.pcap")
                && msg.contains(&format!("offset {second_record}"))
                && msg.contains("10 byte"),
            "{msg}"
        );
        // Cut inside a record header too.
        let p = write(dir.path(), "cut2.pcap", &full[..24 + 16 + A.len() + 3]);
        let (pkts, err) = read_all(&mut CaptureFile::open(&p).unwrap());
        assert_eq!(pkts.len(), 1);
        assert!(err.unwrap().kind.is_truncation());
    }

    #[test]
    fn corrupt_length_is_refused_without_allocating_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = pcap_bytes(
            false,
            false,
            1,
            &[Rec {
                sec: 1,
                frac: 0,
                orig: 5,
                data: A,
            }],
        );
        bytes[24 + 8..24 + 12].copy_from_slice(&u32::MAX.to_le_bytes());
        let p = write(dir.path(), "huge.pcap", &bytes);
        let (pkts, err) = read_all(&mut CaptureFile::open(&p).unwrap());
        assert!(pkts.is_empty());
        let err = err.unwrap();
        assert!(
            matches!(err.kind, SourceErrorKind::RecordTooLarge(_)),
            "{err}"
        );
        assert_eq!(err.offset, Some(24));
    }

    #[test]
    fn non_captures_are_named_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(dir.path(), "notes.txt", b"hello, this is not a capture");
        let msg = CaptureFile::open(&p).err().unwrap().to_string();
        assert!(
            msg.contains("notes.txt") && msg.contains("not a pcap"),
            "{msg}"
        );
        let p = write(dir.path(), "empty.pcap", b"");
        let msg = CaptureFile::open(&p).err().unwrap().to_string();
        assert!(
            msg.contains("empty.pcap") && msg.contains("shorter than a capture header"),
            "{msg}"
        );
        let msg = CaptureFile::open(&dir.path().join("absent.pcap"))
            .err()
            .unwrap()
            .to_string();
        assert!(
            msg.contains("absent.pcap") && msg.contains("cannot read"),
            "{msg}"
        );
    }

    fn block(ty: u32, body: &[u8]) -> Vec<u8> {
        let mut b = body.to_vec();
        while b.len() % 4 != 0 {
            b.push(0);
        }
        let len = 12 + b.len() as u32;
        let mut out = ty.to_le_bytes().to_vec();
        out.extend(len.to_le_bytes());
        out.extend(b);
        out.extend(len.to_le_bytes());
        out
    }

    fn shb() -> Vec<u8> {
        let mut body = 0x1a2b_3c4du32.to_le_bytes().to_vec();
        body.extend(1u16.to_le_bytes());
        body.extend(0u16.to_le_bytes());
        body.extend((-1i64).to_le_bytes());
        block(PCAPNG_SHB, &body)
    }

    fn idb(linktype: u16, snaplen: u32, tsresol: Option<u8>) -> Vec<u8> {
        let mut body = linktype.to_le_bytes().to_vec();
        body.extend(0u16.to_le_bytes());
        body.extend(snaplen.to_le_bytes());
        if let Some(r) = tsresol {
            body.extend(9u16.to_le_bytes());
            body.extend(1u16.to_le_bytes());
            body.extend([r, 0, 0, 0]);
            body.extend(0u32.to_le_bytes());
        }
        block(1, &body)
    }

    fn epb(iface: u32, ts: u64, orig: u32, data: &[u8]) -> Vec<u8> {
        let mut body = iface.to_le_bytes().to_vec();
        body.extend(((ts >> 32) as u32).to_le_bytes());
        body.extend((ts as u32).to_le_bytes());
        body.extend((data.len() as u32).to_le_bytes());
        body.extend(orig.to_le_bytes());
        body.extend_from_slice(data);
        block(6, &body)
    }

    #[test]
    fn pcapng_interfaces_resolutions_and_simple_packets() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = shb();
        bytes.extend(idb(1, 5, None)); // microseconds, snaplen 5
        bytes.extend(idb(101, 0, Some(9))); // nanoseconds, raw IP
        bytes.extend(epb(0, 1_500_000, 1514, A));
        bytes.extend(block(5, &[0u8; 12])); // interface statistics: skipped
        bytes.extend(epb(1, 2_000_000_123, 60, B));
        let mut spb = 99u32.to_le_bytes().to_vec();
        spb.extend_from_slice(A);
        bytes.extend(block(3, &spb));
        let p = write(dir.path(), "x.pcapng", &bytes);
        let (pkts, err) = read_all(&mut CaptureFile::open(&p).unwrap());
        assert!(err.is_none(), "{err:?}");
        assert_eq!(
            pkts[0],
            (1_500_000_000, 1514, LinkType::Ethernet, A.to_vec())
        );
        assert_eq!(pkts[1], (2_000_000_123, 60, LinkType::RawIp, B.to_vec()));
        // The simple packet has no timestamp (it inherits the previous one) and
        // holds min(original length, snaplen) bytes; the rest is padding.
        assert_eq!(pkts[2], (2_000_000_123, 99, LinkType::Ethernet, A.to_vec()));
        assert_eq!(pkts.len(), 3);
        // A packet on an undeclared interface is a named error.
        let mut bad = shb();
        bad.extend(epb(3, 1, 5, A));
        let p = write(dir.path(), "bad.pcapng", &bad);
        let (_, err) = read_all(&mut CaptureFile::open(&p).unwrap());
        let msg = err.unwrap().to_string();
        assert!(
            msg.contains("bad.pcapng") && msg.contains("interface 3"),
            "{msg}"
        );
    }

    #[test]
    fn binary_tsresol_and_offsets() {
        assert_eq!(pcapng_nanos(3, Some(0x80 | 1), 0), 1_500_000_000);
        assert_eq!(pcapng_nanos(5, Some(3), 2), 2_005_000_000);
        assert_eq!(pcapng_nanos(u64::MAX, Some(0x80 | 127), 0), 0);
    }

    #[test]
    fn capture_set_reads_files_in_order_and_survives_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let one = pcap_bytes(
            false,
            false,
            1,
            &[
                Rec {
                    sec: 1,
                    frac: 0,
                    orig: 5,
                    data: A,
                },
                Rec {
                    sec: 2,
                    frac: 0,
                    orig: 60,
                    data: B,
                },
            ],
        );
        write(dir.path(), "1.pcap", &one[..one.len() - 1]);
        write(
            dir.path(),
            "2.pcap",
            &pcap_bytes(
                false,
                false,
                1,
                &[Rec {
                    sec: 3,
                    frac: 0,
                    orig: 5,
                    data: A,
                }],
            ),
        );
        write(dir.path(), "readme.txt", b"ignored");
        let mut set = CaptureSet::open(&[dir.path().to_path_buf()]).unwrap();
        let (pkts, err) = read_all(&mut set);
        assert!(err.is_none());
        assert_eq!(
            pkts.iter().map(|p| p.0 / 1_000_000_000).collect::<Vec<_>>(),
            vec![1, 3]
        );
        let w = set.take_warnings();
        assert_eq!(w.len(), 1);
        assert!(w[0].to_string().contains("1.pcap"));
        let empty = tempfile::tempdir().unwrap();
        let msg = CaptureSet::open(&[empty.path().to_path_buf()])
            .err()
            .unwrap()
            .to_string();
        assert!(msg.contains("no capture files"), "{msg}");
    }
}
