//! TCP segments (RFC 9293) and their options.
//!
//! Invariants: [`TcpPacket::new_checked`] checks, once, that the buffer holds
//! the 20-byte header and that `20 <= data offset * 4 <= buffer length`;
//! afterwards no accessor can panic. [`TcpOptions`] never panics on any option
//! bytes: a length byte below 2 or beyond the option area ends the iteration
//! and sets [`TcpOptions::malformed`]; a known option with the wrong length is
//! skipped and also sets the flag. The iteration always terminates (each step
//! consumes at least one byte of at most 40).
//!
//! Cost: fixed-offset loads for the header; options are parsed lazily, one
//! pass over at most 40 bytes; checksum verification is one pass over the segment.

use crate::checksum;
use crate::error::{Layer, WireError};
use crate::tcp_flags::TcpFlags;
use std::net::IpAddr;

mod field {
    pub type Field = core::ops::Range<usize>;
    pub const SRC_PORT: Field = 0..2;
    pub const DST_PORT: Field = 2..4;
    pub const SEQ_NUM: Field = 4..8;
    pub const ACK_NUM: Field = 8..12;
    pub const DATA_OFF: usize = 12;
    pub const FLAGS: usize = 13;
    pub const WIN_SIZE: Field = 14..16;
    pub const CHECKSUM: Field = 16..18;
    pub const URGENT: Field = 18..20;
    pub const OPTIONS: usize = 20;
}

/// Length of a TCP header without options.
pub const TCP_HEADER_LEN: usize = field::OPTIONS;
/// Longest TCP option area (data offset 15).
pub const MAX_OPTIONS_LEN: usize = 40;

/// A read/write view of a TCP segment.
#[derive(Debug, Clone)]
pub struct TcpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> TcpPacket<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        TcpPacket { buffer }
    }

    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    pub fn check_len(&self) -> Result<(), WireError> {
        let len = self.buffer.as_ref().len();
        if len < field::OPTIONS {
            return Err(WireError::Truncated(Layer::Tcp));
        }
        let hl = usize::from(self.header_len());
        if hl < field::OPTIONS {
            return Err(WireError::BadHeaderLength(Layer::Tcp));
        }
        if hl > len {
            return Err(WireError::Truncated(Layer::Tcp));
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn be16(&self, f: field::Field) -> u16 {
        let b = &self.buffer.as_ref()[f];
        u16::from_be_bytes([b[0], b[1]])
    }

    fn be32(&self, f: field::Field) -> u32 {
        let b = &self.buffer.as_ref()[f];
        u32::from_be_bytes([b[0], b[1], b[2], b[3]])
    }

    pub fn src_port(&self) -> u16 {
        self.be16(field::SRC_PORT)
    }
    pub fn dst_port(&self) -> u16 {
        self.be16(field::DST_PORT)
    }
    pub fn seq_number(&self) -> u32 {
        self.be32(field::SEQ_NUM)
    }
    pub fn ack_number(&self) -> u32 {
        self.be32(field::ACK_NUM)
    }
    /// Header length in bytes (data offset * 4), options included.
    pub fn header_len(&self) -> u8 {
        (self.buffer.as_ref()[field::DATA_OFF] >> 4) * 4
    }
    /// The eight flag bits of byte 13 (the NS bit of byte 12 is ignored).
    pub fn flags(&self) -> TcpFlags {
        TcpFlags(self.buffer.as_ref()[field::FLAGS])
    }
    pub fn window_len(&self) -> u16 {
        self.be16(field::WIN_SIZE)
    }
    pub fn checksum(&self) -> u16 {
        self.be16(field::CHECKSUM)
    }
    pub fn urgent_at(&self) -> u16 {
        self.be16(field::URGENT)
    }

    /// The raw option bytes.
    pub fn options_raw(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        let end = usize::from(self.header_len()).min(b.len());
        b.get(field::OPTIONS..end).unwrap_or(&[])
    }

    /// Iterator over the parsed options.
    pub fn options(&self) -> TcpOptions<'_> {
        TcpOptions::new(self.options_raw())
    }

    pub fn payload(&self) -> &[u8] {
        let b = self.buffer.as_ref();
        b.get(usize::from(self.header_len())..).unwrap_or(&[])
    }

    /// True when the checksum verifies over the whole buffer with the pseudo-header.
    pub fn verify_checksum(&self, src: IpAddr, dst: IpAddr) -> bool {
        checksum::verify_transport(src, dst, 6, self.buffer.as_ref())
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> TcpPacket<T> {
    fn set_be16(&mut self, f: field::Field, v: u16) {
        self.buffer.as_mut()[f].copy_from_slice(&v.to_be_bytes());
    }
    fn set_be32(&mut self, f: field::Field, v: u32) {
        self.buffer.as_mut()[f].copy_from_slice(&v.to_be_bytes());
    }
    pub fn set_src_port(&mut self, v: u16) {
        self.set_be16(field::SRC_PORT, v)
    }
    pub fn set_dst_port(&mut self, v: u16) {
        self.set_be16(field::DST_PORT, v)
    }
    pub fn set_seq_number(&mut self, v: u32) {
        self.set_be32(field::SEQ_NUM, v)
    }
    pub fn set_ack_number(&mut self, v: u32) {
        self.set_be32(field::ACK_NUM, v)
    }
    /// Sets the header length in bytes (multiple of 4, 20..=60).
    pub fn set_header_len(&mut self, v: u8) {
        self.buffer.as_mut()[field::DATA_OFF] = (v / 4) << 4;
    }
    pub fn set_flags(&mut self, f: TcpFlags) {
        self.buffer.as_mut()[field::FLAGS] = f.bits();
    }
    pub fn set_window_len(&mut self, v: u16) {
        self.set_be16(field::WIN_SIZE, v)
    }
    pub fn set_checksum(&mut self, v: u16) {
        self.set_be16(field::CHECKSUM, v)
    }
    pub fn set_urgent_at(&mut self, v: u16) {
        self.set_be16(field::URGENT, v)
    }
    pub fn options_mut(&mut self) -> &mut [u8] {
        let hl = usize::from(self.header_len());
        &mut self.buffer.as_mut()[field::OPTIONS..hl]
    }
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let hl = usize::from(self.header_len());
        &mut self.buffer.as_mut()[hl..]
    }
    /// Computes the checksum over the whole buffer and stores it.
    pub fn fill_checksum(&mut self, src: IpAddr, dst: IpAddr) {
        self.set_checksum(0);
        let c = checksum::transport(src, dst, 6, self.buffer.as_ref());
        self.set_checksum(c);
    }
}

/// One TCP option.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TcpOption<'a> {
    EndOfList,
    NoOperation,
    MaxSegmentSize(u16),
    WindowScale(u8),
    SackPermitted,
    /// Up to four SACK blocks (left, right edges).
    SackRange([Option<(u32, u32)>; 4]),
    Timestamps {
        tsval: u32,
        tsecr: u32,
    },
    Unknown {
        kind: u8,
        data: &'a [u8],
    },
}

impl TcpOption<'_> {
    /// Bytes this option takes when emitted.
    pub fn buffer_len(&self) -> usize {
        match self {
            TcpOption::EndOfList | TcpOption::NoOperation => 1,
            TcpOption::MaxSegmentSize(_) => 4,
            TcpOption::WindowScale(_) => 3,
            TcpOption::SackPermitted => 2,
            TcpOption::SackRange(r) => 2 + 8 * r.iter().flatten().count(),
            TcpOption::Timestamps { .. } => 10,
            TcpOption::Unknown { data, .. } => 2 + data.len(),
        }
    }

    /// Writes the option at the start of `buf` (which must hold
    /// [`Self::buffer_len`] bytes) and returns the bytes written.
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        let len = self.buffer_len();
        match *self {
            TcpOption::EndOfList => buf[0] = 0,
            TcpOption::NoOperation => buf[0] = 1,
            TcpOption::MaxSegmentSize(m) => {
                buf[..2].copy_from_slice(&[2, 4]);
                buf[2..4].copy_from_slice(&m.to_be_bytes());
            }
            TcpOption::WindowScale(s) => buf[..3].copy_from_slice(&[3, 3, s]),
            TcpOption::SackPermitted => buf[..2].copy_from_slice(&[4, 2]),
            TcpOption::SackRange(r) => {
                buf[0] = 5;
                buf[1] = len as u8;
                for (i, (l, rt)) in r.iter().flatten().enumerate() {
                    let at = 2 + 8 * i;
                    buf[at..at + 4].copy_from_slice(&l.to_be_bytes());
                    buf[at + 4..at + 8].copy_from_slice(&rt.to_be_bytes());
                }
            }
            TcpOption::Timestamps { tsval, tsecr } => {
                buf[..2].copy_from_slice(&[8, 10]);
                buf[2..6].copy_from_slice(&tsval.to_be_bytes());
                buf[6..10].copy_from_slice(&tsecr.to_be_bytes());
            }
            TcpOption::Unknown { kind, data } => {
                buf[0] = kind;
                buf[1] = len as u8;
                buf[2..len].copy_from_slice(data);
            }
        }
        len
    }
}

/// Iterator over TCP options that never panics; see the module invariants.
#[derive(Clone, Debug)]
pub struct TcpOptions<'a> {
    rest: &'a [u8],
    malformed: bool,
}

impl<'a> TcpOptions<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        TcpOptions {
            rest: bytes,
            malformed: false,
        }
    }

    /// True once the iteration met a malformed option.
    pub fn malformed(&self) -> bool {
        self.malformed
    }
}

fn be32(b: &[u8]) -> u32 {
    match b {
        [a, b, c, d, ..] => u32::from_be_bytes([*a, *b, *c, *d]),
        _ => 0,
    }
}

impl<'a> Iterator for TcpOptions<'a> {
    type Item = TcpOption<'a>;

    fn next(&mut self) -> Option<TcpOption<'a>> {
        loop {
            let (&kind, after_kind) = self.rest.split_first()?;
            match kind {
                0 => {
                    self.rest = &[];
                    return Some(TcpOption::EndOfList);
                }
                1 => {
                    self.rest = after_kind;
                    return Some(TcpOption::NoOperation);
                }
                _ => {}
            }
            let len = match after_kind.first() {
                Some(&l) if l >= 2 && usize::from(l) <= self.rest.len() => usize::from(l),
                _ => {
                    self.malformed = true;
                    self.rest = &[];
                    return None;
                }
            };
            let (opt, rest) = self.rest.split_at(len);
            self.rest = rest;
            let data = opt.get(2..).unwrap_or(&[]);
            let parsed = match (kind, data.len()) {
                (2, 2) => Some(TcpOption::MaxSegmentSize(u16::from_be_bytes([
                    data[0], data[1],
                ]))),
                (3, 1) => Some(TcpOption::WindowScale(data[0])),
                (4, 0) => Some(TcpOption::SackPermitted),
                (5, n) if n > 0 && n % 8 == 0 && n <= 32 => {
                    let mut r = [None; 4];
                    for (slot, block) in r.iter_mut().zip(data.chunks_exact(8)) {
                        *slot = Some((be32(block), be32(block.get(4..).unwrap_or(&[]))));
                    }
                    Some(TcpOption::SackRange(r))
                }
                (8, 8) => Some(TcpOption::Timestamps {
                    tsval: be32(data),
                    tsecr: be32(data.get(4..).unwrap_or(&[])),
                }),
                (2..=5 | 8, _) => None,
                _ => Some(TcpOption::Unknown { kind, data }),
            };
            match parsed {
                Some(o) => return Some(o),
                None => self.malformed = true, // known kind, wrong length: skip it
            }
        }
    }
}

/// The options weir cares about, gathered from one header.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct TcpOptionSummary {
    pub mss: Option<u16>,
    pub window_scale: Option<u8>,
    pub sack_permitted: bool,
    pub timestamps: Option<(u32, u32)>,
    /// Set when an option had an impossible length.
    pub malformed: bool,
}

impl TcpOptionSummary {
    /// Summarises option bytes in one pass.
    pub fn from_options(bytes: &[u8]) -> Self {
        let mut s = TcpOptionSummary::default();
        let mut it = TcpOptions::new(bytes);
        for o in &mut it {
            match o {
                TcpOption::MaxSegmentSize(m) => s.mss = Some(m),
                TcpOption::WindowScale(w) => s.window_scale = Some(w),
                TcpOption::SackPermitted => s.sack_permitted = true,
                TcpOption::Timestamps { tsval, tsecr } => s.timestamps = Some((tsval, tsecr)),
                _ => {}
            }
        }
        s.malformed = it.malformed();
        s
    }
}

/// High-level form of a TCP segment.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TcpRepr<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq_number: u32,
    pub ack_number: u32,
    pub flags: TcpFlags,
    pub window_len: u16,
    pub urgent_at: u16,
    pub max_seg_size: Option<u16>,
    pub window_scale: Option<u8>,
    pub sack_permitted: bool,
    pub timestamps: Option<(u32, u32)>,
    pub payload: &'a [u8],
}

impl<'a> TcpRepr<'a> {
    /// Parses a segment; malformed options are ignored (see [`TcpOptionSummary::malformed`]).
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &'a TcpPacket<&'a T>) -> Result<Self, WireError> {
        packet.check_len()?;
        let o = TcpOptionSummary::from_options(packet.options_raw());
        Ok(TcpRepr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            seq_number: packet.seq_number(),
            ack_number: packet.ack_number(),
            flags: packet.flags(),
            window_len: packet.window_len(),
            urgent_at: packet.urgent_at(),
            max_seg_size: o.mss,
            window_scale: o.window_scale,
            sack_permitted: o.sack_permitted,
            timestamps: o.timestamps,
            payload: packet.payload(),
        })
    }

    fn options(&self) -> impl Iterator<Item = TcpOption<'static>> {
        let mss = self.max_seg_size.map(TcpOption::MaxSegmentSize);
        let ws = self.window_scale.map(TcpOption::WindowScale);
        let sp = self.sack_permitted.then_some(TcpOption::SackPermitted);
        let ts = self
            .timestamps
            .map(|(tsval, tsecr)| TcpOption::Timestamps { tsval, tsecr });
        [mss, ws, sp, ts].into_iter().flatten()
    }

    /// Header length including options, padded to a multiple of 4.
    pub fn header_len(&self) -> usize {
        let opts: usize = self.options().map(|o| o.buffer_len()).sum();
        field::OPTIONS + opts.div_ceil(4) * 4
    }

    pub fn buffer_len(&self) -> usize {
        self.header_len() + self.payload.len()
    }

    /// Writes header, options (NOP-padded), payload and the checksum for the
    /// given addresses. The buffer must be exactly [`Self::buffer_len`] long.
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut TcpPacket<T>,
        src: IpAddr,
        dst: IpAddr,
    ) {
        let hl = self.header_len();
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_seq_number(self.seq_number);
        packet.set_ack_number(self.ack_number);
        packet.set_header_len(hl as u8);
        packet.set_flags(self.flags);
        packet.set_window_len(self.window_len);
        packet.set_urgent_at(self.urgent_at);
        {
            let opts = packet.options_mut();
            let mut at = 0;
            for o in self.options() {
                at += o.emit(&mut opts[at..]);
            }
            for b in &mut opts[at..] {
                *b = 1; // NOP padding
            }
        }
        packet.payload_mut()[..self.payload.len()].copy_from_slice(self.payload);
        packet.fill_checksum(src, dst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A Linux SYN: 40-byte header, options MSS 1460, SACK-permitted,
    /// timestamps (tsval 0x0a1b2c3d, tsecr 0), NOP, window scale 7.
    const SYN: [u8; 40] = [
        0xc3, 0x50, 0x01, 0xbb, 0x12, 0x34, 0x56, 0x78, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x02, 0xfa,
        0xf0, 0x00, 0x00, 0x00, 0x00, // fixed header
        0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x0a, 0x1b, 0x2c, 0x3d, 0x00, 0x00, 0x00,
        0x00, 0x01, 0x03, 0x03, 0x07,
    ];

    #[test]
    fn parses_syn() {
        let p = TcpPacket::new_checked(&SYN[..]).unwrap();
        assert_eq!((p.src_port(), p.dst_port()), (50000, 443));
        assert_eq!(p.seq_number(), 0x12345678);
        assert_eq!(p.header_len(), 40);
        assert_eq!(p.flags(), TcpFlags::SYN);
        assert_eq!(p.window_len(), 64240);
        assert!(p.payload().is_empty());
        let opts: Vec<_> = p.options().collect();
        assert_eq!(
            opts,
            vec![
                TcpOption::MaxSegmentSize(1460),
                TcpOption::SackPermitted,
                TcpOption::Timestamps {
                    tsval: 0x0a1b2c3d,
                    tsecr: 0
                },
                TcpOption::NoOperation,
                TcpOption::WindowScale(7),
            ]
        );
        let s = TcpOptionSummary::from_options(p.options_raw());
        assert_eq!(
            s,
            TcpOptionSummary {
                mss: Some(1460),
                window_scale: Some(7),
                sack_permitted: true,
                timestamps: Some((0x0a1b2c3d, 0)),
                malformed: false
            }
        );
    }

    #[test]
    fn rejects_bad_headers() {
        assert_eq!(
            TcpPacket::new_checked(&SYN[..19]).unwrap_err(),
            WireError::Truncated(Layer::Tcp)
        );
        let mut b = SYN;
        b[12] = 0x40;
        assert_eq!(
            TcpPacket::new_checked(&b[..]).unwrap_err(),
            WireError::BadHeaderLength(Layer::Tcp)
        );
        b[12] = 0xb0; // 44 bytes in a 40-byte buffer
        assert_eq!(
            TcpPacket::new_checked(&b[..]).unwrap_err(),
            WireError::Truncated(Layer::Tcp)
        );
    }

    #[test]
    fn option_edge_cases() {
        fn collect(b: &[u8]) -> (Vec<TcpOption<'_>>, bool) {
            let mut it = TcpOptions::new(b);
            let v: Vec<_> = (&mut it).collect();
            (v, it.malformed())
        }
        // EOL ends the list even with bytes after it.
        assert_eq!(
            collect(&[1, 0, 2, 4, 5, 0xb4]),
            (vec![TcpOption::NoOperation, TcpOption::EndOfList], false)
        );
        // Zero and one length bytes end the iteration, flagged.
        assert_eq!(collect(&[2, 0, 1, 1]), (vec![], true));
        assert_eq!(collect(&[30, 1]), (vec![], true));
        // Length beyond the option area.
        assert_eq!(
            collect(&[1, 8, 10, 0, 0]),
            (vec![TcpOption::NoOperation], true)
        );
        // Kind without a length byte.
        assert_eq!(collect(&[1, 2]), (vec![TcpOption::NoOperation], true));
        // MSS with a wrong length is skipped, flagged, and the walk goes on.
        assert_eq!(
            collect(&[2, 3, 5, 3, 3, 2]),
            (vec![TcpOption::WindowScale(2)], true)
        );
        // Unknown kinds carry their data.
        assert_eq!(
            collect(&[30, 4, 0xaa, 0xbb]),
            (
                vec![TcpOption::Unknown {
                    kind: 30,
                    data: &[0xaa, 0xbb]
                }],
                false
            )
        );
        // SACK with two blocks, and SACK with a bad length.
        let sack = [5, 18, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4];
        assert_eq!(
            collect(&sack),
            (
                vec![TcpOption::SackRange([
                    Some((1, 2)),
                    Some((3, 4)),
                    None,
                    None
                ])],
                false
            )
        );
        assert!(collect(&[5, 6, 0, 0, 0, 1]).1);
        assert_eq!(collect(&[]), (vec![], false));
    }

    #[test]
    fn checksum_good_and_bad() {
        let src: IpAddr = "192.168.1.2".parse().unwrap();
        let dst: IpAddr = "10.1.1.1".parse().unwrap();
        let mut b = SYN;
        TcpPacket::new_unchecked(&mut b[..]).fill_checksum(src, dst);
        assert!(TcpPacket::new_checked(&b[..])
            .unwrap()
            .verify_checksum(src, dst));
        assert!(!TcpPacket::new_checked(&b[..])
            .unwrap()
            .verify_checksum(dst, "10.1.1.2".parse().unwrap()));
        b[39] = 8;
        assert!(!TcpPacket::new_checked(&b[..])
            .unwrap()
            .verify_checksum(src, dst));
    }

    fn addr() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<[u8; 4]>().prop_map(IpAddr::from),
            any::<[u8; 16]>().prop_map(IpAddr::from)
        ]
    }

    proptest! {
        #[test]
        fn roundtrip(sp in any::<u16>(), dp in any::<u16>(), seq in any::<u32>(), ack in any::<u32>(), flags in any::<u8>(),
                     win in any::<u16>(), urg in any::<u16>(), mss in any::<Option<u16>>(), ws in any::<Option<u8>>(),
                     sackp in any::<bool>(), ts in any::<Option<(u32, u32)>>(),
                     payload in proptest::collection::vec(any::<u8>(), 0..64), src in addr(), dst in addr()) {
            let repr = TcpRepr { src_port: sp, dst_port: dp, seq_number: seq, ack_number: ack, flags: TcpFlags(flags),
                window_len: win, urgent_at: urg, max_seg_size: mss, window_scale: ws, sack_permitted: sackp,
                timestamps: ts, payload: &payload };
            let mut buf = vec![0u8; repr.buffer_len()];
            repr.emit(&mut TcpPacket::new_unchecked(&mut buf[..]), src, dst);
            let p = TcpPacket::new_checked(&buf[..]).unwrap();
            prop_assert!(p.verify_checksum(src, dst));
            prop_assert!(!p.options().malformed());
            prop_assert_eq!(TcpRepr::parse(&p).unwrap(), repr);
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(p) = TcpPacket::new_checked(&bytes[..]) {
                let _ = (p.src_port(), p.dst_port(), p.seq_number(), p.ack_number(), p.header_len(), p.flags(),
                         p.window_len(), p.checksum(), p.urgent_at(), p.payload().len(), p.options().count());
                prop_assert!(p.options_raw().len() <= MAX_OPTIONS_LEN);
            }
            let mut it = TcpOptions::new(&bytes);
            prop_assert!((&mut it).count() <= bytes.len());
        }
    }
}
