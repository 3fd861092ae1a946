//! Every filterable field weir knows: packet-level fields (available from
//! `L4FirstPacket`) plus each protocol module's `FIELDS`.

use crate::{dns, http, quic, ssh, tls, FieldDef, FieldType, Transition};

const fn packet(name: &'static str, ty: FieldType, doc: &'static str) -> FieldDef {
    FieldDef { name, ty, available_at: Transition::L4FirstPacket, doc }
}

/// Packet-level fields (link, network and transport headers).
pub const PACKET_FIELDS: &[FieldDef] = &[
    packet("vlan.id", FieldType::U16, "802.1Q VLAN ID (any tag of the stack)"),
    packet("ipv4.src_addr", FieldType::Ipv4Addr, "IPv4 source address"),
    packet("ipv4.dst_addr", FieldType::Ipv4Addr, "IPv4 destination address"),
    packet("ipv4.addr", FieldType::Ipv4Addr, "IPv4 source or destination address"),
    packet("ipv4.ttl", FieldType::U8, "IPv4 time to live"),
    packet("ipv4.protocol", FieldType::U8, "IPv4 protocol number (6 = TCP, 17 = UDP)"),
    packet("ipv6.src_addr", FieldType::Ipv6Addr, "IPv6 source address"),
    packet("ipv6.dst_addr", FieldType::Ipv6Addr, "IPv6 destination address"),
    packet("ipv6.addr", FieldType::Ipv6Addr, "IPv6 source or destination address"),
    packet("ipv6.hop_limit", FieldType::U8, "IPv6 hop limit"),
    packet("tcp.src_port", FieldType::U16, "TCP source port"),
    packet("tcp.dst_port", FieldType::U16, "TCP destination port"),
    packet("tcp.port", FieldType::U16, "TCP source or destination port"),
    packet("tcp.flags", FieldType::U8, "TCP flags byte (FIN 0x01, SYN 0x02, RST 0x04, PSH 0x08, ACK 0x10, URG 0x20)"),
    packet("tcp.syn", FieldType::Bool, "TCP SYN flag"),
    packet("tcp.ack", FieldType::Bool, "TCP ACK flag"),
    packet("tcp.fin", FieldType::Bool, "TCP FIN flag"),
    packet("tcp.rst", FieldType::Bool, "TCP RST flag"),
    packet("udp.src_port", FieldType::U16, "UDP source port"),
    packet("udp.dst_port", FieldType::U16, "UDP destination port"),
    packet("udp.port", FieldType::U16, "UDP source or destination port"),
];

/// Every field: packet-level fields, then each protocol module's `FIELDS`.
pub fn all_fields() -> Vec<FieldDef> {
    let modules: [&[FieldDef]; 6] = [PACKET_FIELDS, tls::FIELDS, quic::FIELDS, http::FIELDS, dns::FIELDS, ssh::FIELDS];
    modules.into_iter().flatten().copied().collect()
}

/// Look a field up by its `proto.field` name.
pub fn field(name: &str) -> Option<FieldDef> {
    all_fields().into_iter().find(|f| f.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn names_are_unique_and_dotted() {
        let all = all_fields();
        let mut seen = HashSet::new();
        for f in &all {
            assert!(seen.insert(f.name), "duplicate field {}", f.name);
            let (proto, field) = f.name.split_once('.').unwrap_or_else(|| panic!("{} is not proto.field", f.name));
            assert!(!proto.is_empty() && !field.is_empty(), "{}", f.name);
            assert!(
                f.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '.'),
                "{} is not snake_case",
                f.name
            );
            assert!(!f.doc.is_empty(), "{} has no doc", f.name);
        }
    }

    #[test]
    fn expected_fields_present() {
        assert_eq!(field("tls.sni").map(|f| f.ty), Some(FieldType::Str));
        assert_eq!(field("tls.version").map(|f| f.ty), Some(FieldType::U16));
        assert_eq!(field("quic.version").map(|f| f.ty), Some(FieldType::U32));
        assert_eq!(field("tcp.port").map(|f| f.available_at), Some(Transition::L4FirstPacket));
        assert_eq!(field("ipv6.hop_limit").map(|f| f.ty), Some(FieldType::U8));
        assert!(field("tls.nope").is_none());
        // Every protocol module contributes.
        for proto in ["tls.", "quic.", "http.", "dns.", "ssh."] {
            assert!(all_fields().iter().any(|f| f.name.starts_with(proto)), "{proto}");
        }
    }
}
