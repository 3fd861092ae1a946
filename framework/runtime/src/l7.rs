//! The L7 half of a connection (`../shared/DESIGN.md` §1): probing, then
//! incremental parsing, turned into the L7 transitions `L7OnDisc`,
//! `L7InHeaders`, `L7EndHeaders`, `L7EndSession` and `L7InPayload`.
//!
//! An [`L7Conn`] is fed the connection's in-order stream segments (TCP after
//! reassembly, each UDP datagram) with their [`SegmentMeta`]. While the
//! protocol is unknown it runs the [`Prober`] and holds the segments it has
//! seen (bounded by the prober's own limits: a few segments, at most 4 KiB
//! per direction); once a probe is certain it creates that protocol's parser
//! and replays the held segments in order, so the parser sees the stream
//! from its start. Every parse event becomes an [`L7Event`] for the caller.
//!
//! Cost: nothing per segment once parsing has stopped ([`L7Conn::wants_data`]
//! is false, and callers stop reassembly); otherwise the parser's cost.

use weir_protocols::registry::{
    AnyParser, AnySession, AnySessionRef, ProbeOutcome, Prober, Protocol,
};
use weir_protocols::{ParseEvent, SegmentMeta};

/// One L7 transition, as it happens.
#[derive(Debug)]
pub enum L7Event<'a> {
    /// `L7OnDisc`: the protocol was identified, or (`None`) every probe gave up.
    Discovered(Option<Protocol>),
    /// `L7InHeaders`: a piece of a segment inside the L7 headers.
    InHeaders(&'a [u8], &'a SegmentMeta),
    /// `L7EndHeaders`: a session's headers are parsed.
    EndHeaders(AnySessionRef<'a>, &'a SegmentMeta),
    /// `L7EndSession`: a session ended (taken from the parser; boxed, sessions are large and rare).
    EndSession(Box<AnySession>, &'a SegmentMeta),
    /// `L7InPayload`: a piece of a segment that is L7 payload.
    InPayload(&'a [u8], &'a SegmentMeta),
}

enum Stage {
    Probing {
        prober: Prober,
        held: Vec<(SegmentMeta, Vec<u8>)>,
    },
    Parsing(AnyParser),
    /// The parser stopped (opaque from here, a limit, or not this protocol after all).
    Stopped(AnyParser),
    /// No protocol matched.
    Unknown,
}

/// Probing and parsing state of one connection.
pub struct L7Conn {
    stage: Stage,
    events: Vec<ParseEvent>,
    /// Metadata of the last segment, for events raised at the end of the connection.
    last: Option<SegmentMeta>,
}

impl L7Conn {
    pub fn new(transport: weir_protocols::Transport, orig_port: u16, resp_port: u16) -> L7Conn {
        L7Conn {
            stage: Stage::Probing {
                prober: Prober::new(transport, orig_port, resp_port),
                held: Vec::new(),
            },
            events: Vec::new(),
            last: None,
        }
    }

    /// The identified protocol, if any.
    pub fn protocol(&self) -> Option<Protocol> {
        match &self.stage {
            Stage::Parsing(p) | Stage::Stopped(p) => Some(p.protocol()),
            Stage::Probing { .. } | Stage::Unknown => None,
        }
    }

    /// False once more segments can change nothing (no protocol, or the parser stopped).
    pub fn wants_data(&self) -> bool {
        matches!(self.stage, Stage::Probing { .. } | Stage::Parsing(_))
    }

    /// Feeds the next in-order segment.
    pub fn on_segment(&mut self, seg: &[u8], meta: &SegmentMeta, f: &mut impl FnMut(L7Event<'_>)) {
        if seg.is_empty() {
            return;
        }
        self.last = Some(*meta);
        match &mut self.stage {
            Stage::Probing { prober, held } => match prober.probe(seg, meta) {
                ProbeOutcome::Undecided => held.push((*meta, seg.to_vec())),
                ProbeOutcome::NoMatch => {
                    self.stage = Stage::Unknown;
                    f(L7Event::Discovered(None));
                }
                ProbeOutcome::Identified(p) => {
                    let held = std::mem::take(held);
                    self.stage = Stage::Parsing(AnyParser::new(p));
                    f(L7Event::Discovered(Some(p)));
                    for (m, data) in &held {
                        self.parse(data, m, f);
                    }
                    self.parse(seg, meta, f);
                }
            },
            Stage::Parsing(_) => self.parse(seg, meta, f),
            Stage::Stopped(_) | Stage::Unknown => {}
        }
    }

    /// Feeds a stream segment (`None`: the connection ended) and hands each
    /// resulting L7 transition to `f` as a user-API [`Event`](crate::api::Event)
    /// with `base` as its context, at the time of the segment that caused it
    /// (discovery: the connection's latest packet time).
    pub fn drive(
        &mut self,
        base: crate::api::Ctx<'_>,
        seg: Option<&weir_conntrack::L4Pdu<'_>>,
        f: &mut dyn FnMut(&crate::api::Ctx<'_>, &crate::api::Event<'_>),
    ) {
        use crate::api::{Ctx, Event, L7Segment};
        let (ft, rec) = (base.tuple, base.record);
        let mut g = |e: L7Event<'_>| {
            let ts = match &e {
                L7Event::Discovered(_) => rec.last_ts,
                L7Event::InHeaders(_, m) | L7Event::InPayload(_, m) | L7Event::EndHeaders(_, m) | L7Event::EndSession(_, m) => m.ts,
            };
            let ctx = Ctx { ts, ..base };
            match e {
                L7Event::Discovered(p) => f(&ctx, &Event::OnDisc(p)),
                L7Event::InHeaders(d, m) => f(&ctx, &Event::InHeaders(&L7Segment { data: d, dir: m.dir, ts: m.ts })),
                L7Event::InPayload(d, m) => f(&ctx, &Event::InPayload(&L7Segment { data: d, dir: m.dir, ts: m.ts })),
                L7Event::EndHeaders(s, _) => f(&ctx, &Event::EndHeaders(s)),
                L7Event::EndSession(s, _) => f(&ctx, &Event::EndSession(&s)),
            }
        };
        match seg {
            Some(pdu) => {
                let transport = match ft.proto {
                    weir_conntrack::L4Proto::Tcp => weir_protocols::Transport::Tcp,
                    weir_conntrack::L4Proto::Udp => weir_protocols::Transport::Udp,
                };
                let meta = SegmentMeta { dir: pdu.dir, ts: pdu.ts, transport, orig_port: ft.orig.port(), resp_port: ft.resp.port() };
                self.on_segment(pdu.payload, &meta, &mut g);
            }
            None => self.on_end(&mut g),
        }
    }

    /// The connection ended: the parser completes what it can.
    pub fn on_end(&mut self, f: &mut impl FnMut(L7Event<'_>)) {
        let Some(meta) = self.last else { return };
        let parser = match &mut self.stage {
            Stage::Parsing(p) | Stage::Stopped(p) => p,
            Stage::Probing { .. } => {
                self.stage = Stage::Unknown;
                f(L7Event::Discovered(None));
                return;
            }
            Stage::Unknown => return,
        };
        self.events.clear();
        parser.finish(&mut self.events);
        Self::deliver(parser, &mut self.events, &[], &meta, f);
        let stopped = std::mem::replace(&mut self.stage, Stage::Unknown);
        if let Stage::Parsing(p) | Stage::Stopped(p) = stopped {
            self.stage = Stage::Stopped(p);
        }
    }

    fn parse(&mut self, seg: &[u8], meta: &SegmentMeta, f: &mut impl FnMut(L7Event<'_>)) {
        let Stage::Parsing(parser) = &mut self.stage else {
            return;
        };
        self.events.clear();
        parser.parse(seg, meta, &mut self.events);
        let skipped = Self::deliver(parser, &mut self.events, seg, meta, f);
        if skipped {
            if let Stage::Parsing(p) = std::mem::replace(&mut self.stage, Stage::Unknown) {
                self.stage = Stage::Stopped(p);
            }
        }
    }

    /// Turns parse events into L7 events; returns whether the parser stopped.
    fn deliver(
        parser: &mut AnyParser,
        events: &mut [ParseEvent],
        seg: &[u8],
        meta: &SegmentMeta,
        f: &mut impl FnMut(L7Event<'_>),
    ) -> bool {
        let mut skipped = false;
        for ev in events.iter() {
            match ev {
                ParseEvent::InHeaders { start, end } => {
                    if let Some(piece) = seg.get(*start..*end) {
                        f(L7Event::InHeaders(piece, meta));
                    }
                }
                ParseEvent::Payload { start, end } => {
                    if let Some(piece) = seg.get(*start..*end) {
                        f(L7Event::InPayload(piece, meta));
                    }
                }
                ParseEvent::HeadersDone(id) => {
                    if let Some(s) = parser.session(*id) {
                        f(L7Event::EndHeaders(s, meta));
                    }
                }
                ParseEvent::SessionDone(id) => {
                    if let Some(s) = parser.take_session(*id) {
                        f(L7Event::EndSession(Box::new(s), meta));
                    }
                }
                ParseEvent::Skipped(_) => skipped = true,
            }
        }
        skipped
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use weir_conntrack::{Direction, Timestamp};
    use weir_protocols::Transport;

    fn meta(dir: Direction) -> SegmentMeta {
        SegmentMeta {
            dir,
            ts: Timestamp(1),
            transport: Transport::Tcp,
            orig_port: 40000,
            resp_port: 8080,
        }
    }

    #[test]
    fn held_segments_are_replayed_after_identification() {
        let mut c = L7Conn::new(Transport::Tcp, 40000, 8080);
        let mut log = Vec::new();
        let mut f =
            |e: L7Event<'_>| log.push(format!("{e:?}").split('(').next().unwrap_or("").to_string());
        // The request line arrives in two pieces: the first is not enough to decide.
        c.on_segment(b"GE", &meta(Direction::ToResponder), &mut f);
        assert_eq!(c.protocol(), None);
        c.on_segment(
            b"T /a HTTP/1.1\r\nHost: h\r\n\r\n",
            &meta(Direction::ToResponder),
            &mut f,
        );
        assert_eq!(c.protocol(), Some(Protocol::Http));
        c.on_segment(
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
            &meta(Direction::ToOriginator),
            &mut f,
        );
        c.on_end(&mut f);
        assert!(log.contains(&"Discovered".to_string()), "{log:?}");
        assert!(log.contains(&"EndHeaders".to_string()), "{log:?}");
        assert!(log.contains(&"InPayload".to_string()), "{log:?}");
        assert_eq!(
            log.iter().filter(|e| *e == "EndSession").count(),
            1,
            "{log:?}"
        );
    }

    #[test]
    fn unknown_bytes_give_up_and_stop_wanting_data() {
        let mut c = L7Conn::new(Transport::Tcp, 40000, 8080);
        let mut disc = Vec::new();
        let mut f = |e: L7Event<'_>| {
            if let L7Event::Discovered(p) = e {
                disc.push(p)
            }
        };
        for _ in 0..20 {
            c.on_segment(&[0u8; 700], &meta(Direction::ToResponder), &mut f);
        }
        assert!(!c.wants_data());
        assert_eq!(disc, vec![None]);
    }
}
