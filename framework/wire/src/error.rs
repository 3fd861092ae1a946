//! The one error type of the wire layer.
//!
//! Invariants: [`WireError`] is a small `Copy` value (a few bytes), so
//! returning it on the per-packet hot path never allocates. Every variant has
//! a stable snake_case [`WireError::kind`] name for statistics, and
//! [`WireError::is_malformed`] separates broken packets from valid frames that
//! weir simply does not analyse (ARP, LLDP, unknown link families).
//!
//! Cost: nothing per packet unless an error is returned; `kind` is one `match`.

/// The protocol layer an error refers to.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Layer {
    /// A link-layer pseudo header: Linux cooked capture (SLL, SLL2), BSD/OpenBSD loopback.
    Link,
    Ethernet,
    /// An 802.1Q / 802.1ad tag.
    Vlan,
    /// A PPPoE session header and its PPP protocol field.
    Pppoe,
    Ipv4,
    Ipv6,
    /// An IPv6 extension header (hop-by-hop, routing, fragment, destination options, AH).
    Ipv6Ext,
    Tcp,
    Udp,
}

impl Layer {
    /// Lower-case name used inside [`WireError::kind`].
    pub const fn name(self) -> &'static str {
        match self {
            Layer::Link => "link",
            Layer::Ethernet => "ethernet",
            Layer::Vlan => "vlan",
            Layer::Pppoe => "pppoe",
            Layer::Ipv4 => "ipv4",
            Layer::Ipv6 => "ipv6",
            Layer::Ipv6Ext => "ipv6_ext",
            Layer::Tcp => "tcp",
            Layer::Udp => "udp",
        }
    }
}

impl std::fmt::Display for Layer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a frame or header could not be parsed.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum WireError {
    /// The buffer ends before the fixed part of a header, or before the length
    /// the header announces.
    #[error("truncated {0} header")]
    Truncated(Layer),
    /// The IP version nibble is neither the expected nor a known one.
    #[error("bad IP version {0}")]
    BadVersion(u8),
    /// A header-length field is below the minimum or beyond the buffer
    /// (IPv4 IHL, TCP data offset).
    #[error("bad {0} header length")]
    BadHeaderLength(Layer),
    /// A total-length field is smaller than the header or larger than the
    /// captured bytes (IPv4 total length, IPv6 payload length, UDP length).
    #[error("bad {0} total length")]
    BadTotalLength(Layer),
    /// More than [`crate::VlanStack::MAX`] stacked VLAN tags.
    #[error("more than {} stacked VLAN tags", crate::VlanStack::MAX)]
    TooManyVlanTags,
    /// More than [`crate::ipv6::MAX_EXTENSION_HEADERS`] IPv6 extension headers.
    #[error(
        "more than {} IPv6 extension headers",
        crate::ipv6::MAX_EXTENSION_HEADERS
    )]
    TooManyExtensionHeaders,
    /// A non-IP EtherType (ARP, LLDP, 802.3 length field, ...). Not malformed.
    #[error("unsupported EtherType {0:#06x}")]
    UnsupportedEtherType(u16),
    /// A PPP protocol other than IPv4/IPv6 inside PPPoE (LCP, IPCP, ...). Not malformed.
    #[error("unsupported PPP protocol {0:#06x}")]
    UnsupportedPppProtocol(u16),
    /// A loopback / cooked-capture address family weir does not analyse. Not malformed.
    #[error("unsupported link family {0}")]
    UnsupportedLinkFamily(u32),
}

impl WireError {
    /// Stable snake_case name for statistics, e.g. `"truncated_tcp"`.
    pub const fn kind(&self) -> &'static str {
        match self {
            WireError::Truncated(l) => match l {
                Layer::Link => "truncated_link",
                Layer::Ethernet => "truncated_ethernet",
                Layer::Vlan => "truncated_vlan",
                Layer::Pppoe => "truncated_pppoe",
                Layer::Ipv4 => "truncated_ipv4",
                Layer::Ipv6 => "truncated_ipv6",
                Layer::Ipv6Ext => "truncated_ipv6_ext",
                Layer::Tcp => "truncated_tcp",
                Layer::Udp => "truncated_udp",
            },
            WireError::BadVersion(_) => "bad_ip_version",
            WireError::BadHeaderLength(l) => match l {
                Layer::Ipv4 => "bad_header_len_ipv4",
                Layer::Tcp => "bad_header_len_tcp",
                Layer::Ipv6Ext => "bad_header_len_ipv6_ext",
                _ => "bad_header_len",
            },
            WireError::BadTotalLength(l) => match l {
                Layer::Ipv4 => "bad_total_len_ipv4",
                Layer::Ipv6 => "bad_total_len_ipv6",
                Layer::Udp => "bad_total_len_udp",
                _ => "bad_total_len",
            },
            WireError::TooManyVlanTags => "too_many_vlan_tags",
            WireError::TooManyExtensionHeaders => "too_many_ipv6_ext_headers",
            WireError::UnsupportedEtherType(_) => "unsupported_ethertype",
            WireError::UnsupportedPppProtocol(_) => "unsupported_ppp_protocol",
            WireError::UnsupportedLinkFamily(_) => "unsupported_link_family",
        }
    }

    /// False for valid frames weir does not analyse (non-IP EtherTypes,
    /// unknown link families); true for everything else.
    pub const fn is_malformed(&self) -> bool {
        !matches!(
            self,
            WireError::UnsupportedEtherType(_)
                | WireError::UnsupportedPppProtocol(_)
                | WireError::UnsupportedLinkFamily(_)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_stable_and_malformedness_split() {
        assert_eq!(WireError::Truncated(Layer::Tcp).kind(), "truncated_tcp");
        assert_eq!(WireError::TooManyVlanTags.kind(), "too_many_vlan_tags");
        assert!(WireError::Truncated(Layer::Ipv4).is_malformed());
        assert!(!WireError::UnsupportedEtherType(0x0806).is_malformed());
        assert!(!WireError::UnsupportedLinkFamily(7).is_malformed());
        assert_eq!(
            WireError::UnsupportedEtherType(0x0806).to_string(),
            "unsupported EtherType 0x0806"
        );
        assert!(std::mem::size_of::<WireError>() <= 8);
    }
}
