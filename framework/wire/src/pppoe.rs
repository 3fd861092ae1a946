//! PPPoE session stage (RFC 2516, EtherType 0x8864) carrying PPP (RFC 1661).
//!
//! Broadband access networks wrap subscriber IP in PPPoE sessions, often
//! inside QinQ tags. weir looks through the 6-byte PPPoE header and the
//! 2-byte PPP protocol field to the IPv4 (0x0021) or IPv6 (0x0057) datagram.
//!
//! Invariants: after [`PppoeSession::new_checked`] (at least 8 bytes,
//! version/type 1/1, code 0 = session data) no accessor can panic. The PPPoE
//! length counts the PPP protocol field and its payload.
//!
//! Cost: fixed-offset loads, O(1).

use crate::error::{Layer, WireError};

mod field {
    pub type Field = core::ops::Range<usize>;
    pub const VER_TYPE: usize = 0;
    pub const CODE: usize = 1;
    pub const SESSION_ID: Field = 2..4;
    pub const LENGTH: Field = 4..6;
    pub const PPP_PROTOCOL: Field = 6..8;
    pub const PAYLOAD: usize = 8;
}

/// PPPoE + PPP header length.
pub const PPPOE_SESSION_HEADER_LEN: usize = field::PAYLOAD;

/// PPP protocol numbers weir follows.
pub const PPP_IPV4: u16 = 0x0021;
pub const PPP_IPV6: u16 = 0x0057;

/// A view of a PPPoE session-stage header followed by the PPP protocol field.
#[derive(Debug, Clone, Copy)]
pub struct PppoeSession<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> PppoeSession<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        PppoeSession { buffer }
    }

    /// Checks the length, version/type (1/1) and code (0: session data).
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let p = Self::new_unchecked(buffer);
        let b = p.buffer.as_ref();
        if b.len() < field::PAYLOAD {
            return Err(WireError::Truncated(Layer::Pppoe));
        }
        if b[field::VER_TYPE] != 0x11 || b[field::CODE] != 0 {
            return Err(WireError::BadVersion(b[field::VER_TYPE]));
        }
        if p.length() < 2 {
            return Err(WireError::BadTotalLength(Layer::Pppoe));
        }
        Ok(p)
    }

    fn u16_at(&self, f: field::Field) -> u16 {
        let b = &self.buffer.as_ref()[f];
        u16::from_be_bytes([b[0], b[1]])
    }

    pub fn session_id(&self) -> u16 {
        self.u16_at(field::SESSION_ID)
    }

    /// Length of the PPP protocol field plus its payload.
    pub fn length(&self) -> u16 {
        self.u16_at(field::LENGTH)
    }

    pub fn ppp_protocol(&self) -> u16 {
        self.u16_at(field::PPP_PROTOCOL)
    }
}

impl<'a> PppoeSession<&'a [u8]> {
    /// The PPP payload, cut to the PPPoE length when the buffer holds it
    /// (trailing Ethernet padding removed); `Err` when the length runs past
    /// the buffer, unless `snapped` allows a capture cut short.
    pub fn payload(&self, snapped: bool) -> Result<&'a [u8], WireError> {
        let b: &'a [u8] = &self.buffer[field::PAYLOAD..];
        let want = usize::from(self.length()) - 2;
        match b.get(..want) {
            Some(p) => Ok(p),
            None if snapped => Ok(b),
            None => Err(WireError::BadTotalLength(Layer::Pppoe)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    // From ndpi's dns.pcap: PPPoE session 0x556a, length 63, PPP IPv4.
    const SESSION: [u8; 10] = [0x11, 0x00, 0x55, 0x6a, 0x00, 0x3f, 0x00, 0x21, 0x45, 0x00];

    #[test]
    fn fields() {
        let p = PppoeSession::new_checked(&SESSION[..]).unwrap();
        assert_eq!(p.session_id(), 0x556a);
        assert_eq!(p.length(), 63);
        assert_eq!(p.ppp_protocol(), PPP_IPV4);
        assert_eq!(
            p.payload(false),
            Err(WireError::BadTotalLength(Layer::Pppoe))
        );
        assert_eq!(p.payload(true).unwrap(), &[0x45, 0x00]);
    }

    #[test]
    fn rejects_discovery_and_short() {
        let mut padi = SESSION;
        padi[1] = 0x09;
        assert!(PppoeSession::new_checked(&padi[..]).is_err());
        assert_eq!(
            PppoeSession::new_checked(&SESSION[..7]).unwrap_err(),
            WireError::Truncated(Layer::Pppoe)
        );
        let mut zero = SESSION;
        zero[5] = 1;
        assert_eq!(
            PppoeSession::new_checked(&zero[..]).unwrap_err(),
            WireError::BadTotalLength(Layer::Pppoe)
        );
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..40), snapped: bool) {
            if let Ok(p) = PppoeSession::new_checked(&data[..]) {
                let _ = (p.session_id(), p.ppp_protocol(), p.payload(snapped));
            }
        }
    }
}
