//! TCP sequence numbers: 32-bit values compared modulo 2^32 (RFC 793 §3.3).

use std::cmp::Ordering;
use std::fmt;

/// A TCP sequence number. Arithmetic wraps; ordering is the usual
/// "within half the sequence space" rule: `a < b` iff `b - a`, taken as a
/// signed 32-bit value, is positive. This is only a total order on sets that
/// span less than 2^31, which is why the reassembler refuses to buffer data
/// more than [`crate::reassembly::MAX_AHEAD`] bytes ahead of its cursor.
#[derive(Copy, Clone, PartialEq, Eq, Hash, Default)]
pub struct SeqNumber(pub u32);

impl SeqNumber {
    /// `self + n`, wrapping.
    pub const fn add(self, n: u32) -> SeqNumber {
        SeqNumber(self.0.wrapping_add(n))
    }

    /// Signed distance `self - other` (positive when `self` is after `other`).
    pub const fn diff(self, other: SeqNumber) -> i32 {
        self.0.wrapping_sub(other.0) as i32
    }

    /// Unsigned distance from `origin` forward to `self`, wrapping.
    pub const fn offset_from(self, origin: SeqNumber) -> u32 {
        self.0.wrapping_sub(origin.0)
    }
}

impl PartialOrd for SeqNumber {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SeqNumber {
    fn cmp(&self, other: &Self) -> Ordering {
        self.diff(*other).cmp(&0)
    }
}

impl fmt::Debug for SeqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "seq{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordering_wraps_around() {
        let near_top = SeqNumber(u32::MAX - 5);
        let wrapped = near_top.add(10);
        assert_eq!(wrapped, SeqNumber(4));
        assert!(near_top < wrapped);
        assert!(wrapped > near_top);
        assert_eq!(wrapped.diff(near_top), 10);
        assert_eq!(near_top.diff(wrapped), -10);
        assert_eq!(wrapped.offset_from(near_top), 10);
    }

    #[test]
    fn plain_ordering() {
        assert!(SeqNumber(1) < SeqNumber(2));
        assert_eq!(SeqNumber(7).cmp(&SeqNumber(7)), Ordering::Equal);
    }
}
