//! Lightweight one-direction stream reassembly.
//!
//! A [`Reassembler`] follows one direction of a TCP connection with a cursor
//! (`next`, the first sequence number not yet delivered):
//!
//! * a segment starting at the cursor is delivered **straight from the
//!   packet** (no copy) and the cursor moves past it;
//! * a segment starting after the cursor is **copied** into a buffer of at
//!   most `max_segments` pieces, sorted by sequence number, and delivered
//!   (with its own metadata) as soon as the gap before it fills;
//! * bytes already delivered or already buffered are trimmed away: **the first
//!   copy of every byte wins** (as most end hosts do), so a segment made only
//!   of such bytes is a duplicate and is dropped from the stream;
//! * a SYN and a FIN each consume one sequence number; without a SYN the
//!   stream starts at the first segment pushed (mid-stream start);
//! * data more than [`MAX_AHEAD`] bytes after the cursor is dropped
//!   (`out_of_window`), which keeps every buffered sequence number within
//!   2^31 of the cursor, so wrapping comparisons stay a total order;
//! * a segment that would make the buffer hold more than `max_segments`
//!   pieces is refused with [`Overflow`] and nothing changes.
//!
//! Cost: an in-order segment with an empty buffer is O(1) and copies
//! nothing. An out-of-order segment costs one copy plus O(buffered) work.

use crate::seq::SeqNumber;
use std::collections::VecDeque;

/// How far ahead of the cursor data may start and still be buffered.
pub const MAX_AHEAD: u32 = 1 << 30;

/// A piece of the stream handed to the delivery callback, in stream order.
#[derive(Debug)]
pub struct Chunk<'a, M> {
    /// Sequence number of `data[0]`.
    pub seq: SeqNumber,
    pub data: &'a [u8],
    /// `Some(meta of the packet that carried it)` when the piece waited in
    /// the out-of-order buffer, `None` when it comes from the current packet.
    pub buffered: Option<M>,
}

/// What one [`Reassembler::push`] did.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct PushOutcome {
    /// Chunks handed to the callback.
    pub delivered: u32,
    /// Pieces copied into the out-of-order buffer.
    pub buffered: u32,
    /// The segment carried payload but every byte was already delivered or buffered.
    pub duplicate: bool,
    /// The segment started more than [`MAX_AHEAD`] bytes after the cursor and was dropped.
    pub out_of_window: bool,
    /// The callback returned `false`: delivery stopped early.
    pub stopped: bool,
}

/// The out-of-order buffer would exceed its bound; the segment was not taken.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Overflow;

#[derive(Debug)]
struct Segment<M> {
    seq: SeqNumber,
    data: Vec<u8>,
    meta: M,
}

/// Reassembly state of one direction. `M` is the per-packet metadata kept
/// with buffered segments (the table keeps timestamp and TCP header fields).
#[derive(Debug)]
pub struct Reassembler<M> {
    next: Option<SeqNumber>,
    fin: Option<SeqNumber>,
    fin_done: bool,
    segs: VecDeque<Segment<M>>,
    max_segments: usize,
    /// Scratch list of uncovered `(start, end)` offsets, reused across pushes.
    pieces: Vec<(u64, u64)>,
}

impl<M: Copy> Reassembler<M> {
    pub fn new(max_segments: usize) -> Self {
        Reassembler {
            next: None,
            fin: None,
            fin_done: false,
            segs: VecDeque::new(),
            max_segments,
            pieces: Vec::new(),
        }
    }

    /// The next sequence number the stream expects, once known.
    pub fn next_seq(&self) -> Option<SeqNumber> {
        self.next
    }

    /// Pieces waiting in the out-of-order buffer.
    pub fn buffered_segments(&self) -> usize {
        self.segs.len()
    }

    /// Bytes waiting in the out-of-order buffer.
    pub fn buffered_bytes(&self) -> usize {
        self.segs.iter().map(|s| s.data.len()).sum()
    }

    /// Forgets everything (buffer freed); the next push starts a new stream.
    pub fn clear(&mut self) {
        self.next = None;
        self.fin = None;
        self.fin_done = false;
        self.segs = VecDeque::new();
        self.pieces = Vec::new();
    }

    /// A SYN with sequence number `isn` was seen: the stream starts at
    /// `isn + 1`. Ignored once the stream has started.
    pub fn syn(&mut self, isn: SeqNumber) {
        if self.next.is_none() {
            self.next = Some(isn.add(1));
        }
    }

    /// Takes one segment (`fin`: it carried a FIN, which follows its data) and
    /// hands every newly in-order piece to `deliver`, in stream order, until
    /// `deliver` returns `false`.
    pub fn push<F>(
        &mut self,
        seq: SeqNumber,
        data: &[u8],
        fin: bool,
        meta: M,
        mut deliver: F,
    ) -> Result<PushOutcome, Overflow>
    where
        F: FnMut(Chunk<'_, M>) -> bool,
    {
        let data = &data[..data.len().min(MAX_AHEAD as usize)];
        let mut out = PushOutcome::default();
        let next = *self.next.get_or_insert(seq);

        let d = seq.diff(next);
        let (start, data) = if d < 0 {
            let skip = d.unsigned_abs() as usize;
            if skip >= data.len() {
                out.duplicate = !data.is_empty();
                if fin && skip == data.len() {
                    self.note_fin(next);
                }
                return Ok(out);
            }
            (next, &data[skip..])
        } else {
            (seq, data)
        };
        if fin {
            self.note_fin(start.add(data.len() as u32));
        }
        if data.is_empty() {
            self.consume_fin();
            return Ok(out);
        }
        let off = start.offset_from(next);
        if off > 0 {
            if off > MAX_AHEAD {
                out.out_of_window = true;
                return Ok(out);
            }
            self.insert_out_of_order(next, off, data, meta, &mut out)?;
            return Ok(out);
        }

        // In order: interleave pieces of this packet with buffered segments.
        let mut next = next;
        loop {
            while let Some(front) = self.segs.front() {
                if front.seq.diff(next) > 0 {
                    break;
                }
                let Some(seg) = self.segs.pop_front() else {
                    break;
                };
                let skip = next.diff(seg.seq).max(0) as usize;
                if skip >= seg.data.len() {
                    continue;
                }
                let piece = &seg.data[skip..];
                let more = deliver(Chunk {
                    seq: next,
                    data: piece,
                    buffered: Some(seg.meta),
                });
                next = next.add(piece.len() as u32);
                out.delivered += 1;
                if !more {
                    out.stopped = true;
                    self.next = Some(next);
                    return Ok(out);
                }
            }
            let pkt_off = next.diff(start);
            if pkt_off < 0 || pkt_off as usize >= data.len() {
                break;
            }
            let from = pkt_off as usize;
            let mut to = data.len();
            if let Some(front) = self.segs.front() {
                let fo = front.seq.diff(start);
                if fo >= 0 && (fo as usize) < to {
                    to = fo as usize;
                }
            }
            if to <= from {
                break;
            }
            let piece = &data[from..to];
            let more = deliver(Chunk {
                seq: next,
                data: piece,
                buffered: None,
            });
            next = next.add(piece.len() as u32);
            out.delivered += 1;
            if !more {
                out.stopped = true;
                break;
            }
        }
        self.next = Some(next);
        self.consume_fin();
        Ok(out)
    }

    fn note_fin(&mut self, at: SeqNumber) {
        if !self.fin_done && self.fin.is_none() {
            self.fin = Some(at);
        }
    }

    fn consume_fin(&mut self) {
        if let (Some(next), Some(fin)) = (self.next, self.fin) {
            if next == fin && self.segs.is_empty() {
                self.next = Some(next.add(1));
                self.fin = None;
                self.fin_done = true;
            }
        }
    }

    /// Buffers the parts of `[off, off + len)` (offsets from `next`) that no
    /// buffered segment covers yet.
    fn insert_out_of_order(
        &mut self,
        next: SeqNumber,
        off: u32,
        data: &[u8],
        meta: M,
        out: &mut PushOutcome,
    ) -> Result<(), Overflow> {
        let start = u64::from(off);
        let end = start + data.len() as u64;
        self.pieces.clear();
        let mut cur = start;
        for seg in &self.segs {
            let s = u64::from(seg.seq.offset_from(next));
            let e = s + seg.data.len() as u64;
            if e <= cur {
                continue;
            }
            if s >= end {
                break;
            }
            if s > cur {
                self.pieces.push((cur, s));
            }
            cur = cur.max(e);
            if cur >= end {
                break;
            }
        }
        if cur < end {
            self.pieces.push((cur, end));
        }
        if self.pieces.is_empty() {
            out.duplicate = true;
            return Ok(());
        }
        if self.segs.len() + self.pieces.len() > self.max_segments {
            return Err(Overflow);
        }
        for &(s, e) in &self.pieces {
            let at = self
                .segs
                .partition_point(|seg| u64::from(seg.seq.offset_from(next)) < s);
            let bytes = data[(s - start) as usize..(e - start) as usize].to_vec();
            self.segs.insert(
                at,
                Segment {
                    seq: next.add(s as u32),
                    data: bytes,
                    meta,
                },
            );
            out.buffered += 1;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// A delivered chunk: (seq, bytes, metadata if it came from the buffer).
    type Delivered = (u32, Vec<u8>, Option<u32>);

    /// Pushes one segment and returns the delivered bytes (and whether each chunk was buffered).
    fn push(
        r: &mut Reassembler<u32>,
        seq: u32,
        data: &[u8],
        tag: u32,
    ) -> (Result<PushOutcome, Overflow>, Vec<Delivered>) {
        let mut got = Vec::new();
        let res = r.push(SeqNumber(seq), data, false, tag, |c| {
            got.push((c.seq.0, c.data.to_vec(), c.buffered));
            true
        });
        (res, got)
    }

    #[test]
    fn in_order_passes_through() {
        let mut r = Reassembler::new(4);
        r.syn(SeqNumber(99));
        let (res, got) = push(&mut r, 100, b"abc", 1);
        assert_eq!(res.unwrap().delivered, 1);
        assert_eq!(got, vec![(100, b"abc".to_vec(), None)]);
        assert_eq!(r.next_seq(), Some(SeqNumber(103)));
    }

    #[test]
    fn gap_fill_delivers_buffer_after_packet() {
        let mut r = Reassembler::new(4);
        r.syn(SeqNumber(0));
        let (res, got) = push(&mut r, 4, b"def", 7);
        assert_eq!(res.unwrap().buffered, 1);
        assert!(got.is_empty());
        assert_eq!(r.buffered_segments(), 1);
        let (_, got) = push(&mut r, 1, b"abc", 8);
        assert_eq!(
            got,
            vec![(1, b"abc".to_vec(), None), (4, b"def".to_vec(), Some(7))]
        );
        assert_eq!(r.buffered_segments(), 0);
    }

    #[test]
    fn first_copy_wins_on_overlap() {
        let mut r = Reassembler::new(4);
        r.syn(SeqNumber(0));
        assert!(push(&mut r, 3, b"XY", 1).0.is_ok()); // bytes at 3,4
        let (_, got) = push(&mut r, 1, b"abcdef", 2); // bytes 1..7
        let stream: Vec<u8> = got.iter().flat_map(|(_, d, _)| d.clone()).collect();
        assert_eq!(stream, b"abXYef");
        assert_eq!(got.len(), 3);
        // A retransmission of delivered bytes is a duplicate.
        let (res, got) = push(&mut r, 2, b"bc", 3);
        assert!(res.unwrap().duplicate);
        assert!(got.is_empty());
    }

    #[test]
    fn overflow_refuses_and_keeps_state() {
        let mut r = Reassembler::new(2);
        r.syn(SeqNumber(0));
        assert!(push(&mut r, 10, b"a", 0).0.is_ok());
        assert!(push(&mut r, 20, b"b", 0).0.is_ok());
        assert_eq!(push(&mut r, 30, b"c", 0).0, Err(Overflow));
        assert_eq!(r.buffered_segments(), 2);
        // A duplicate of buffered data is not an overflow.
        assert!(push(&mut r, 10, b"a", 0).0.unwrap().duplicate);
    }

    #[test]
    fn syn_and_fin_consume_one_sequence_number() {
        let mut r: Reassembler<()> = Reassembler::new(4);
        r.syn(SeqNumber(u32::MAX));
        assert_eq!(r.next_seq(), Some(SeqNumber(0)));
        let res = r.push(SeqNumber(0), b"hi", true, (), |_| true).unwrap();
        assert_eq!(res.delivered, 1);
        assert_eq!(r.next_seq(), Some(SeqNumber(3)));
        // A retransmitted FIN changes nothing.
        r.push(SeqNumber(2), b"", true, (), |_| true).unwrap();
        assert_eq!(r.next_seq(), Some(SeqNumber(3)));
    }

    #[test]
    fn mid_stream_starts_at_first_segment_and_far_data_is_dropped() {
        let mut r: Reassembler<()> = Reassembler::new(4);
        let res = r.push(SeqNumber(5000), b"x", false, (), |_| true).unwrap();
        assert_eq!(res.delivered, 1);
        let res = r
            .push(SeqNumber(5001 + MAX_AHEAD + 1), b"y", false, (), |_| true)
            .unwrap();
        assert!(res.out_of_window);
        assert_eq!(r.buffered_segments(), 0);
    }

    #[test]
    fn stop_leaves_the_rest() {
        let mut r: Reassembler<()> = Reassembler::new(4);
        r.syn(SeqNumber(0));
        r.push(SeqNumber(3), b"c", false, (), |_| true).unwrap();
        let mut n = 0;
        let res = r
            .push(SeqNumber(1), b"ab", false, (), |_| {
                n += 1;
                false
            })
            .unwrap();
        assert!(res.stopped);
        assert_eq!(n, 1);
    }

    /// A stream, its ISN, and the segments to push: (offset, length, variant).
    /// Variant 0 carries the true bytes; other variants carry altered bytes to
    /// check that the first copy of every byte wins.
    fn scenario() -> impl Strategy<Value = (Vec<u8>, u32, Vec<(usize, usize, u8)>)> {
        (
            prop::collection::vec(any::<u8>(), 1..600),
            prop_oneof![
                Just(u32::MAX - 3),
                (u32::MAX - 700)..=u32::MAX,
                any::<u32>()
            ],
        )
            .prop_flat_map(|(stream, isn)| {
                let n = stream.len();
                let cuts = prop::collection::vec(1..n + 1, 0..12);
                let extra = prop::collection::vec((0..n, 1..80usize, 0u8..3), 0..20);
                (Just(stream), Just(isn), cuts, extra)
            })
            .prop_flat_map(|(stream, isn, mut cuts, extra)| {
                let n = stream.len();
                cuts.push(0);
                cuts.push(n);
                cuts.sort_unstable();
                cuts.dedup();
                let mut segs: Vec<(usize, usize, u8)> =
                    cuts.windows(2).map(|w| (w[0], w[1] - w[0], 0)).collect();
                for (off, len, v) in extra {
                    segs.push((off, len.min(n - off), v));
                }
                (Just(stream), Just(isn), Just(segs).prop_shuffle())
            })
    }

    proptest! {
        #[test]
        fn matches_first_copy_wins_model((stream, isn, segs) in scenario()) {
            let mut r: Reassembler<usize> = Reassembler::new(10_000);
            r.syn(SeqNumber(isn));
            let base = isn.wrapping_add(1);
            // Model: byte offset -> first byte received there.
            let mut model: BTreeMap<usize, u8> = BTreeMap::new();
            let mut delivered: Vec<u8> = Vec::new();
            for (i, &(off, len, variant)) in segs.iter().enumerate() {
                let bytes: Vec<u8> = stream[off..off + len]
                    .iter()
                    .map(|b| b.wrapping_add(variant))
                    .collect();
                for (k, b) in bytes.iter().enumerate() {
                    model.entry(off + k).or_insert(*b);
                }
                let seq = base.wrapping_add(off as u32);
                let before = delivered.len();
                let res = r.push(SeqNumber(seq), &bytes, false, i, |c| {
                    assert_eq!(c.seq.0, base.wrapping_add(delivered.len() as u32));
                    delivered.extend_from_slice(c.data);
                    true
                });
                prop_assert!(res.is_ok());
                // The delivered prefix is exactly the model's contiguous prefix.
                let prefix = (0..).take_while(|k| model.contains_key(k)).count();
                prop_assert_eq!(delivered.len(), prefix);
                let expect: Vec<u8> = model.range(..prefix).map(|(_, b)| *b).collect();
                prop_assert_eq!(&delivered, &expect);
                if off + len <= before {
                    prop_assert_eq!(delivered.len(), before);
                }
            }
            // Every byte of the stream was sent at least once (variant 0 cover).
            prop_assert_eq!(delivered.len(), stream.len());
            prop_assert_eq!(r.buffered_segments(), 0);
            // Where only true copies were sent first, the stream is exact.
            let truth: Vec<u8> = (0..stream.len()).map(|k| model[&k]).collect();
            prop_assert_eq!(delivered, truth);
        }

        #[test]
        fn never_holds_more_than_the_bound(
            isn in prop_oneof![(u32::MAX - 300)..=u32::MAX, any::<u32>()],
            max in 1usize..6,
            segs in prop::collection::vec((0usize..400, 1usize..30), 1..40),
        ) {
            let mut r: Reassembler<()> = Reassembler::new(max);
            r.syn(SeqNumber(isn));
            let base = isn.wrapping_add(1);
            let mut covered: BTreeMap<usize, ()> = BTreeMap::new();
            let mut overflows = 0;
            for (off, len) in segs {
                let before = r.buffered_segments();
                let next = r.next_seq().unwrap().offset_from(SeqNumber(base)) as usize;
                let data = vec![0u8; len];
                match r.push(SeqNumber(base.wrapping_add(off as u32)), &data, false, (), |_| true) {
                    Ok(_) => {
                        for k in off..off + len {
                            covered.insert(k, ());
                        }
                    }
                    Err(Overflow) => {
                        overflows += 1;
                        // Refused only when out of order, adding new bytes, with the buffer in use.
                        prop_assert!(off > next);
                        prop_assert!((off..off + len).any(|k| !covered.contains_key(&k)));
                        prop_assert_eq!(r.buffered_segments(), before);
                    }
                }
                prop_assert!(r.buffered_segments() <= max);
            }
            // Disjoint out-of-order pieces beyond the bound must overflow.
            let mut r: Reassembler<()> = Reassembler::new(max);
            r.syn(SeqNumber(isn));
            for k in 0..max {
                prop_assert!(r.push(SeqNumber(base.wrapping_add(10 + 10 * k as u32)), b"z", false, (), |_| true).is_ok());
            }
            prop_assert_eq!(
                r.push(SeqNumber(base.wrapping_add(10 + 10 * max as u32)), b"z", false, (), |_| true),
                Err(Overflow)
            );
            let _ = overflows;
        }
    }
}
