//! The reference interpreter: every connection is tracked in full (all
//! events, whatever the subscriptions need), its events are buffered, and
//! when it ends they are replayed through each subscription on its own
//! (subscriptions sharing a stateful callback are replayed together: they
//! share its instance). Invocations are then put in event order, then
//! subscription order (SEMANTICS §4).

use crate::machine::{packet_facts, ConnFacts, Record, Shared, SubMachine, SubStatic};
use crate::Dynamic;
use std::marker::PhantomData;
use std::sync::Arc;
use weir_conntrack::{Conn, ConnHandler, ConnInfo, ConnRecord, Direction, EndReason, FiveTuple, Interest, L4Pdu, L4Proto, TcpMeta, Timestamp};
use weir_protocols::registry::{AnySession, AnySessionRef, Protocol};
use weir_protocols::{SegmentMeta, Transport};
use weir_runtime::api::{conn_key, Ctx, Event, L7Segment};
use weir_runtime::l7::{L7Conn, L7Event};

/// A packet or segment, owned.
#[derive(Clone, Debug)]
struct Pdu {
    payload: Vec<u8>,
    dir: Direction,
    ts: Timestamp,
    tcp: Option<TcpMeta>,
    wire_len: u32,
    reassembled: bool,
    from_buffer: bool,
}

impl Pdu {
    fn of(p: &L4Pdu<'_>) -> Pdu {
        Pdu { payload: p.payload.to_vec(), dir: p.dir, ts: p.ts, tcp: p.tcp, wire_len: p.wire_len, reassembled: p.reassembled, from_buffer: p.from_buffer }
    }
    fn view(&self) -> L4Pdu<'_> {
        L4Pdu { payload: &self.payload, dir: self.dir, ts: self.ts, tcp: self.tcp, wire_len: self.wire_len, payload_len: self.payload.len(), reassembled: self.reassembled, from_buffer: self.from_buffer }
    }
}

/// An event, owned.
#[derive(Clone, Debug)]
enum Owned {
    FirstPacket(Pdu),
    InConn(Pdu),
    EndHandshake,
    InStream(Pdu),
    OnDisc(Option<Protocol>),
    InHeaders(Vec<u8>, Direction, Timestamp),
    EndHeaders(AnySession),
    EndSession(AnySession),
    InPayload(Vec<u8>, Direction, Timestamp),
    Terminated(EndReason),
}

fn owned(s: AnySessionRef<'_>) -> AnySession {
    match s {
        AnySessionRef::Tls(x) => AnySession::Tls(x.clone()),
        AnySessionRef::Quic(x) => AnySession::Quic(x.clone()),
        AnySessionRef::Http(x) => AnySession::Http(x.clone()),
        AnySessionRef::Dns(x) => AnySession::Dns(x.clone()),
        AnySessionRef::Ssh(x) => AnySession::Ssh(x.clone()),
    }
}

/// The whole life of one connection.
pub struct Recording {
    info: ConnInfo,
    facts: weir_filter::eval::PacketFacts,
    l7: L7Conn,
    /// Each event with its time and the tracker's record at that moment.
    events: Vec<(Owned, Timestamp, ConnRecord)>,
}

/// The interpreter, as a connection handler (one per core).
pub struct Interp<D: Dynamic> {
    core: usize,
    subs: Arc<Vec<SubStatic>>,
    pub records: Vec<Record>,
    _d: PhantomData<fn() -> D>,
}

impl<D: Dynamic> Interp<D> {
    pub fn new(core: usize, subs: Arc<Vec<SubStatic>>) -> Self {
        Interp { core, subs, records: Vec::new(), _d: PhantomData }
    }

    fn replay(&mut self, rec: &Recording) {
        let tuple: &FiveTuple = &rec.info.tuple;
        // Groups: subscriptions sharing a stateful callback run together.
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for (j, s) in self.subs.iter().enumerate() {
            match s.state.and_then(|k| groups.iter_mut().find(|g| self.subs[g[0]].state == Some(k))) {
                Some(g) => g.push(j),
                None => groups.push(vec![j]),
            }
        }
        let mut out: Vec<(usize, usize, Record)> = Vec::new();
        for g in groups {
            let mut facts = ConnFacts::new(rec.facts);
            let mut shared: Shared = Vec::new();
            let mut ms: Vec<SubMachine> = g.iter().map(|_| SubMachine::default()).collect();
            for (n, (ev, ts, record)) in rec.events.iter().enumerate() {
                let seg;
                let pdu;
                let ev: Event<'_> = match ev {
                    Owned::FirstPacket(p) => {
                        pdu = p.view();
                        Event::FirstPacket(&pdu)
                    }
                    Owned::InConn(p) => {
                        pdu = p.view();
                        Event::InConn(&pdu)
                    }
                    Owned::InStream(p) => {
                        pdu = p.view();
                        Event::InStream(&pdu)
                    }
                    Owned::EndHandshake => Event::EndHandshake,
                    Owned::OnDisc(p) => Event::OnDisc(*p),
                    Owned::InHeaders(d, dir, t) => {
                        seg = L7Segment { data: d, dir: *dir, ts: *t };
                        Event::InHeaders(&seg)
                    }
                    Owned::InPayload(d, dir, t) => {
                        seg = L7Segment { data: d, dir: *dir, ts: *t };
                        Event::InPayload(&seg)
                    }
                    Owned::EndHeaders(s) => Event::EndHeaders(s.as_ref()),
                    Owned::EndSession(s) => Event::EndSession(s),
                    Owned::Terminated(r) => Event::Terminated(*r),
                };
                facts.observe(&ev);
                let ctx = Ctx { tuple, id: rec.info.id, core: self.core, ts: *ts, record, ttl: rec.info.ttl, ethernet: rec.info.ethernet };
                for (m, &j) in ms.iter_mut().zip(&g) {
                    let s = &self.subs[j];
                    m.on_event::<D>(s, &mut shared, &facts, &ctx, &ev, &mut |args| {
                        out.push((n, j, Record { conn: conn_key(&ctx), callback: s.ir.name.clone(), transition: ev.transition(), args }));
                    });
                }
            }
        }
        out.sort_by_key(|(n, j, _)| (*n, *j));
        self.records.extend(out.into_iter().map(|(_, _, r)| r));
    }

    fn push_l7(rec: &mut Recording, ft: &FiveTuple, record: &ConnRecord, seg: Option<&L4Pdu<'_>>) {
        let mut evs: Vec<(Owned, Timestamp)> = Vec::new();
        let mut f = |e: L7Event<'_>| {
            evs.push(match e {
                L7Event::Discovered(p) => (Owned::OnDisc(p), record.last_ts),
                L7Event::InHeaders(d, m) => (Owned::InHeaders(d.to_vec(), m.dir, m.ts), m.ts),
                L7Event::InPayload(d, m) => (Owned::InPayload(d.to_vec(), m.dir, m.ts), m.ts),
                L7Event::EndHeaders(s, m) => (Owned::EndHeaders(owned(s)), m.ts),
                L7Event::EndSession(s, m) => (Owned::EndSession(*s), m.ts),
            })
        };
        match seg {
            Some(p) => {
                let transport = match ft.proto {
                    L4Proto::Tcp => Transport::Tcp,
                    L4Proto::Udp => Transport::Udp,
                };
                let meta = SegmentMeta { dir: p.dir, ts: p.ts, transport, orig_port: ft.orig.port(), resp_port: ft.resp.port() };
                rec.l7.on_segment(p.payload, &meta, &mut f);
            }
            None => rec.l7.on_end(&mut f),
        }
        rec.events.extend(evs.into_iter().map(|(e, t)| (e, t, *record)));
    }
}

impl<D: Dynamic> ConnHandler for Interp<D> {
    type State = Recording;

    fn first_packet(&mut self, conn: &ConnInfo, pdu: &L4Pdu<'_>) -> Option<(Recording, Interest)> {
        let ft = &conn.tuple;
        let transport = match ft.proto {
            L4Proto::Tcp => Transport::Tcp,
            L4Proto::Udp => Transport::Udp,
        };
        let rec = Recording {
            info: *conn,
            facts: packet_facts(conn, pdu),
            l7: L7Conn::new(transport, ft.orig.port(), ft.resp.port()),
            events: vec![(Owned::FirstPacket(Pdu::of(pdu)), pdu.ts, ConnRecord::new(pdu.ts))],
        };
        Some((rec, Interest::ALL))
    }

    fn in_conn(&mut self, conn: &mut Conn<Recording>, pdu: &L4Pdu<'_>) -> Interest {
        let r = *conn.record();
        conn.state.events.push((Owned::InConn(Pdu::of(pdu)), pdu.ts, r));
        Interest::ALL
    }

    fn end_handshake(&mut self, conn: &mut Conn<Recording>) -> Interest {
        let r = *conn.record();
        conn.state.events.push((Owned::EndHandshake, r.last_ts, r));
        Interest::ALL
    }

    fn in_stream(&mut self, conn: &mut Conn<Recording>, pdu: &L4Pdu<'_>) -> Interest {
        let r = *conn.record();
        let ft = *conn.five_tuple();
        conn.state.events.push((Owned::InStream(Pdu::of(pdu)), pdu.ts, r));
        Self::push_l7(&mut conn.state, &ft, &r, Some(pdu));
        Interest::ALL
    }

    fn terminated(&mut self, mut conn: Conn<Recording>, reason: EndReason) {
        let r = *conn.record();
        let ft = *conn.five_tuple();
        Self::push_l7(&mut conn.state, &ft, &r, None);
        conn.state.events.push((Owned::Terminated(reason), r.last_ts, r));
        self.replay(&conn.state);
    }
}
