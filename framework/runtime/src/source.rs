//! Packet sources: where frames come from.
//!
//! A source hands out one frame at a time as a [`RawPacket`] that borrows
//! the source's own buffer (a pcap read buffer here; a DPDK mbuf later), so
//! nothing is copied between the source and the per-core pipeline.

use std::fmt;
use std::path::PathBuf;
use weir_conntrack::Timestamp;
use weir_wire::LinkType;

/// One captured frame, borrowed from its source.
#[derive(Copy, Clone, Debug)]
pub struct RawPacket<'a> {
    pub ts: Timestamp,
    /// Length of the frame on the wire (pcap `orig_len`); `data` may be shorter (snap length).
    pub wire_len: u32,
    pub link: LinkType,
    pub data: &'a [u8],
}

/// A source of frames in capture order.
///
/// This is a lending interface: the returned packet borrows the source until
/// the next call, so a zero-copy backend (a file buffer, a DPDK mbuf) needs
/// no copy.
pub trait PacketSource {
    /// The next frame, `Ok(None)` at the end of input.
    ///
    /// After an error the source is finished: every later call returns `Ok(None)`.
    fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, SourceError>;
}

/// A problem with an input file: which file, where, and what.
#[derive(Debug, thiserror::Error)]
#[error("{}: {}{kind}", path.display(), offset.map(|o| format!("at byte offset {o}: ")).unwrap_or_default())]
pub struct SourceError {
    pub path: PathBuf,
    /// Byte offset of the offending record or block, when known.
    pub offset: Option<u64>,
    pub kind: SourceErrorKind,
}

#[derive(Debug, thiserror::Error)]
pub enum SourceErrorKind {
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    #[error("not a pcap or pcapng file (magic number {0:#010x})")]
    NotACapture(u32),
    #[error("the file is empty or shorter than a capture header")]
    TooShort,
    #[error("unsupported link type {0} (weir reads Ethernet, raw IPv4/IPv6, Linux cooked v1/v2 and BSD/OpenBSD loopback)")]
    UnsupportedLinkType(u32),
    #[error("truncated record: the file ends {missing} byte(s) before the end of this record; the packets before it were processed")]
    TruncatedRecord { missing: u64 },
    #[error("record of {0} bytes is larger than any frame weir accepts ({max} bytes); the file is corrupt", max = MAX_RECORD_LEN)]
    RecordTooLarge(u64),
    #[error("malformed capture: {0}")]
    Malformed(String),
    #[error("packet refers to interface {0}, which the pcapng section does not describe")]
    UnknownInterface(u32),
    #[error("no capture files found in this directory (looked for *.pcap, *.pcapng, *.cap)")]
    EmptyDirectory,
}

impl SourceErrorKind {
    /// True when the packets before the error were all read and processing can continue with the next file.
    pub fn is_truncation(&self) -> bool {
        matches!(self, SourceErrorKind::TruncatedRecord { .. })
    }
}

/// The largest record (frame or pcapng block) a capture may contain. Larger
/// ones mean a corrupt file; refusing them bounds the read buffer.
pub const MAX_RECORD_LEN: u64 = 16 * 1024 * 1024;

impl fmt::Display for RawPacket<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {:?} {}B/{}B",
            self.ts,
            self.link,
            self.data.len(),
            self.wire_len
        )
    }
}
