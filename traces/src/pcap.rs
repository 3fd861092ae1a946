//! Classic pcap writer, nanosecond resolution (magic `0xa1b23c4d`), Ethernet link type.

use std::io::{self, Write};

/// Nanosecond-resolution pcap magic number.
pub const MAGIC_NS: u32 = 0xa1b2_3c4d;
/// Snap length written into the global header.
pub const SNAPLEN: u32 = 65_535;
/// LINKTYPE_ETHERNET.
pub const LINKTYPE_ETHERNET: u32 = 1;

/// Streams packets into a pcap file (little-endian headers).
pub struct PcapWriter<W: Write> {
    out: W,
}

impl<W: Write> PcapWriter<W> {
    /// Write the global header and return the writer.
    pub fn new(mut out: W) -> io::Result<Self> {
        let mut h = [0u8; 24];
        h[0..4].copy_from_slice(&MAGIC_NS.to_le_bytes());
        h[4..6].copy_from_slice(&2u16.to_le_bytes());
        h[6..8].copy_from_slice(&4u16.to_le_bytes());
        // thiszone = 0, sigfigs = 0
        h[16..20].copy_from_slice(&SNAPLEN.to_le_bytes());
        h[20..24].copy_from_slice(&LINKTYPE_ETHERNET.to_le_bytes());
        out.write_all(&h)?;
        Ok(PcapWriter { out })
    }

    /// Append one packet with timestamp `ts_ns` (nanoseconds since the epoch).
    pub fn write_packet(&mut self, ts_ns: u64, data: &[u8]) -> io::Result<()> {
        let mut h = [0u8; 16];
        h[0..4].copy_from_slice(&((ts_ns / 1_000_000_000) as u32).to_le_bytes());
        h[4..8].copy_from_slice(&((ts_ns % 1_000_000_000) as u32).to_le_bytes());
        let len = data.len() as u32;
        h[8..12].copy_from_slice(&len.min(SNAPLEN).to_le_bytes());
        h[12..16].copy_from_slice(&len.to_le_bytes());
        self.out.write_all(&h)?;
        self.out.write_all(&data[..data.len().min(SNAPLEN as usize)])
    }

    /// Flush and return the underlying writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Read a classic pcap (either resolution, little-endian) back into `(ts_ns, frame)` pairs.
/// Used by tests and by the CLI's `--check`; returns `None` on a malformed file.
pub fn read_pcap(bytes: &[u8]) -> Option<Vec<(u64, Vec<u8>)>> {
    let magic = u32::from_le_bytes(bytes.get(0..4)?.try_into().ok()?);
    let mult = match magic {
        MAGIC_NS => 1,
        0xa1b2_c3d4 => 1000,
        _ => return None,
    };
    let mut off = 24;
    let mut out = Vec::new();
    while off < bytes.len() {
        let h = bytes.get(off..off + 16)?;
        let sec = u64::from(u32::from_le_bytes(h[0..4].try_into().ok()?));
        let frac = u64::from(u32::from_le_bytes(h[4..8].try_into().ok()?));
        let incl = u32::from_le_bytes(h[8..12].try_into().ok()?) as usize;
        let data = bytes.get(off + 16..off + 16 + incl)?;
        out.push((sec * 1_000_000_000 + frac * mult, data.to_vec()));
        off += 16 + incl;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        w.write_packet(1_700_000_000_123_456_789, &[1, 2, 3]).unwrap();
        w.write_packet(1_700_000_001_000_000_000, &[4; 60]).unwrap();
        let bytes = w.into_inner().unwrap();
        assert_eq!(&bytes[0..4], &[0x4d, 0x3c, 0xb2, 0xa1]);
        assert_eq!(bytes.len(), 24 + 16 + 3 + 16 + 60);
        let pkts = read_pcap(&bytes).unwrap();
        assert_eq!(pkts[0], (1_700_000_000_123_456_789, vec![1, 2, 3]));
        assert_eq!(pkts[1].1.len(), 60);
    }

    #[test]
    fn truncated_file_is_rejected() {
        let mut w = PcapWriter::new(Vec::new()).unwrap();
        w.write_packet(5, &[9; 10]).unwrap();
        let bytes = w.into_inner().unwrap();
        assert!(read_pcap(&bytes[..bytes.len() - 1]).is_none());
    }
}
