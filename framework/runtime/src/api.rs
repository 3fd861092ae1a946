//! What user code sees (`../shared/DESIGN.md` §2): the context and events
//! handed to data types, the [`DataType`] trait that `#[datatype]` implements
//! (built-ins implement the same trait), and [`FilterResult`].
//!
//! Every user API runs inside one connection; [`Ctx`] names it. An [`Event`]
//! is one transition of the connection's state machines with the data it
//! carries (DESIGN §1's table).

use std::fmt;
use weir_conntrack::{ConnRecord, Direction, EndReason, FiveTuple, L4Pdu, Timestamp, Transition};
use weir_protocols::registry::{AnySession, AnySessionRef, Protocol};

/// The connection a user API runs in.
#[derive(Copy, Clone, Debug)]
pub struct Ctx<'a> {
    /// Oriented from the originator.
    pub tuple: &'a FiveTuple,
    /// Core-local connection id.
    pub id: u64,
    /// The core (worker) running this connection.
    pub core: usize,
    /// Packet time of the event being processed.
    pub ts: Timestamp,
    /// The tracker's record so far (at `L4FirstPacket`: before the first
    /// packet is counted; at `L4Terminated`: final, with `end` set).
    pub record: &'a ConnRecord,
    /// The first packet's TTL / hop limit.
    pub ttl: u8,
    /// The first packet had an Ethernet header.
    pub ethernet: bool,
}

/// A piece of L7 data (`L7InHeaders`, `L7InPayload`).
#[derive(Copy, Clone, Debug)]
pub struct L7Segment<'a> {
    pub data: &'a [u8],
    pub dir: Direction,
    pub ts: Timestamp,
}

/// One transition with what it carries.
#[derive(Copy, Clone, Debug)]
pub enum Event<'a> {
    FirstPacket(&'a L4Pdu<'a>),
    InConn(&'a L4Pdu<'a>),
    EndHandshake,
    InStream(&'a L4Pdu<'a>),
    /// The protocol identified, or `None` when every parser gave up.
    OnDisc(Option<Protocol>),
    InHeaders(&'a L7Segment<'a>),
    EndHeaders(AnySessionRef<'a>),
    EndSession(&'a AnySession),
    InPayload(&'a L7Segment<'a>),
    Terminated(EndReason),
}

impl Event<'_> {
    pub fn transition(&self) -> Transition {
        match self {
            Event::FirstPacket(_) => Transition::L4FirstPacket,
            Event::InConn(_) => Transition::L4InConn,
            Event::EndHandshake => Transition::L4EndHandshake,
            Event::InStream(_) => Transition::L4InStream,
            Event::OnDisc(_) => Transition::L7OnDisc,
            Event::InHeaders(_) => Transition::L7InHeaders,
            Event::EndHeaders(_) => Transition::L7EndHeaders,
            Event::EndSession(_) => Transition::L7EndSession,
            Event::InPayload(_) => Transition::L7InPayload,
            Event::Terminated(_) => Transition::L4Terminated,
        }
    }

    /// The session an L7 session event carries.
    pub fn session(&self) -> Option<AnySessionRef<'_>> {
        match self {
            Event::EndHeaders(s) => Some(*s),
            Event::EndSession(s) => Some(s.as_ref()),
            _ => None,
        }
    }
}

/// A per-connection data type: a built-in or a user's `#[datatype]`.
///
/// It is constructed at most once per connection, when the first filter
/// prefix that needs it has matched, then updated at the transitions its
/// declaration names (`#[datatype_fn(on = ...)]`), and read by callbacks
/// through `&Self`. `Debug` is what invocation traces record.
pub trait DataType: Sized + fmt::Debug {
    /// Built when first needed (`ctx.ts` is the time of that event).
    fn new(ctx: &Ctx<'_>) -> Self;
    /// Called at each transition the declaration lists (others are not delivered).
    fn update(&mut self, _ctx: &Ctx<'_>, _ev: &Event<'_>) {}
    /// Called just before a callback or filter reads the value (e.g. to
    /// copy the tracker's counters); cheap, and only at delivery.
    fn sync(&mut self, _ctx: &Ctx<'_>) {}
}

/// The verdict of a user-defined filter predicate.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum FilterResult {
    /// The predicate holds for this connection.
    Accept,
    /// It does not hold.
    Drop,
    /// Not decided yet: ask again at the next occurrence of its transition
    /// (undecided at the end of the connection counts as `Drop`).
    Continue,
}

/// How invocation traces name a connection: its five-tuple and first packet
/// time (a five-tuple alone repeats when ports are reused).
pub fn conn_key(ctx: &Ctx<'_>) -> String {
    format!("{} @{}", ctx.tuple, ctx.record.first_ts.as_nanos())
}
