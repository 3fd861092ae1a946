//! The 802.1Q tag stack of a frame, stored inline.

use std::fmt;

/// VLAN IDs of a frame, outermost first. Holds up to [`VlanStack::MAX`]
/// tags inline (no allocation); frames with deeper stacks are malformed.
///
/// Part of a connection's key: the same five-tuple on different VLANs is a
/// different connection (as in Zeek).
#[derive(Copy, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VlanStack {
    len: u8,
    ids: [u16; VlanStack::MAX],
}

impl VlanStack {
    /// Deepest tag stack weir accepts (802.1Q, QinQ, and QinQinQ seen in the wild).
    pub const MAX: usize = 4;

    pub const fn new() -> Self {
        VlanStack {
            len: 0,
            ids: [0; VlanStack::MAX],
        }
    }

    /// Appends an inner tag's 12-bit ID; returns `false` (and changes nothing) when full.
    pub fn push(&mut self, id: u16) -> bool {
        if (self.len as usize) < Self::MAX {
            self.ids[self.len as usize] = id & 0x0fff;
            self.len += 1;
            true
        } else {
            false
        }
    }

    pub fn as_slice(&self) -> &[u16] {
        &self.ids[..self.len as usize]
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Outermost tag's ID, if tagged.
    pub fn outer(&self) -> Option<u16> {
        self.as_slice().first().copied()
    }
}

impl fmt::Debug for VlanStack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.as_slice()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_until_full_then_refuse() {
        let mut s = VlanStack::new();
        for id in 1..=VlanStack::MAX as u16 {
            assert!(s.push(id | 0xf000));
        }
        assert!(!s.push(99));
        assert_eq!(s.as_slice(), &[1, 2, 3, 4]);
        assert_eq!(s.outer(), Some(1));
    }
}
