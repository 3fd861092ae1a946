//! The built-in data types of DESIGN §2, declared as [`DataTypeSpec`]s —
//! the same declaration `#[datatype]` produces for a user's type. Counters
//! the tracker keeps (`ConnRecord`, `PktCount`, ...) need no per-packet update.

use crate::spec::{DataTypeSpec, Level};
use weir_conntrack::Transition as T;
use weir_protocols::registry::Protocol as P;

fn spec(name: &str, level: Level, complete_at: T, updates: &[T], protocols: &[P]) -> DataTypeSpec {
    DataTypeSpec { name: name.into(), level, complete_at, updates: updates.to_vec(), protocols: protocols.to_vec() }
}

/// Every built-in data type.
pub fn all() -> Vec<DataTypeSpec> {
    use Level::*;
    vec![
        spec("FiveTuple", Static, T::L4FirstPacket, &[], &[]),
        spec("AnonFiveTuple", Static, T::L4FirstPacket, &[], &[]),
        spec("StartTime", Static, T::L4FirstPacket, &[], &[]),
        spec("CoreId", Static, T::L4FirstPacket, &[], &[]),
        spec("FilterStr", Static, T::L4FirstPacket, &[], &[]),
        spec("SessionProto", Static, T::L7OnDisc, &[T::L7OnDisc], &[]),
        spec("ConnRecord", Connection, T::L4Terminated, &[], &[]),
        spec("PktCount", Connection, T::L4Terminated, &[], &[]),
        spec("ByteCount", Connection, T::L4Terminated, &[], &[]),
        spec("InterArrivals", Connection, T::L4Terminated, &[T::L4InConn], &[]),
        spec("ConnDuration", Connection, T::L4Terminated, &[], &[]),
        spec("PacketList", Connection, T::L4Terminated, &[T::L4InConn], &[]),
        spec("TlsHandshake", Session, T::L7EndHeaders, &[T::L7EndHeaders], &[P::Tls]),
        spec("QuicStream", Session, T::L7EndHeaders, &[T::L7EndHeaders], &[P::Quic]),
        spec("SshHandshake", Session, T::L7EndHeaders, &[T::L7EndHeaders], &[P::Ssh]),
        spec("HttpTransaction", Session, T::L7EndSession, &[T::L7EndSession], &[P::Http]),
        spec("DnsTransaction", Session, T::L7EndSession, &[T::L7EndSession], &[P::Dns]),
        spec("Packet", Level::Packet, T::L4InConn, &[], &[]),
        spec("Segment", Level::Packet, T::L4InStream, &[], &[]),
    ]
}

pub fn get(name: &str) -> Option<DataTypeSpec> {
    all().into_iter().find(|d| d.name == name)
}
