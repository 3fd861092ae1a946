//! The naive multi-subscription engine (the paper's §6.2 baseline): the
//! same packet I/O, connection tracking, reassembly and L7 parsing as the
//! compiled pipeline, but every subscription is evaluated separately at
//! every event — its filter literal by literal, its own data built and
//! updated through dynamic dispatch and held in a `Vec<Box<dyn Any>>`,
//! subscriptions tracked by id. It is a fair baseline: a connection is
//! dropped once no subscription can use it, and a finished subscription
//! costs nothing more.

use crate::machine::{packet_facts, ConnFacts, Record, Shared, SubMachine, SubStatic};
use crate::Dynamic;
use std::marker::PhantomData;
use std::sync::Arc;
use weir_conntrack::{Conn, ConnHandler, ConnInfo, ConnRecord, EndReason, FiveTuple, Interest, L4Pdu, L4Proto};
use weir_ir::Framework;
use weir_protocols::Transport;
use weir_runtime::api::{conn_key, Ctx, Event};
use weir_runtime::l7::L7Conn;

/// Per-connection state: one machine per subscription.
pub struct NaiveConn {
    facts: ConnFacts,
    l7: Option<Box<L7Conn>>,
    machines: Vec<SubMachine>,
    shared: Shared,
    framework: u8,
}

pub struct Naive<D: Dynamic> {
    core: usize,
    subs: Arc<Vec<SubStatic>>,
    /// (need while undecided, need once matched) per subscription.
    needs: Arc<Vec<(u8, u8)>>,
    record: bool,
    pub records: Vec<Record>,
    pub invocations: u64,
    _d: PhantomData<fn() -> D>,
}

fn transport(ft: &FiveTuple) -> Transport {
    match ft.proto {
        L4Proto::Tcp => Transport::Tcp,
        L4Proto::Udp => Transport::Udp,
    }
}

impl<D: Dynamic> Naive<D> {
    pub fn new(core: usize, subs: Arc<Vec<SubStatic>>, needs: Arc<Vec<(u8, u8)>>, record: bool) -> Self {
        Naive { core, subs, needs, record, records: Vec::new(), invocations: 0, _d: PhantomData }
    }

    fn step(&mut self, st: &mut NaiveConn, ctx: &Ctx<'_>, ev: &Event<'_>) {
        st.facts.observe(ev);
        let record = self.record;
        let mut fw = 0u8;
        for (j, m) in st.machines.iter_mut().enumerate() {
            if m.finished() {
                continue;
            }
            let s = &self.subs[j];
            let (records, invocations) = (&mut self.records, &mut self.invocations);
            m.on_event::<D>(s, &mut st.shared, &st.facts, ctx, ev, &mut |args| {
                *invocations += 1;
                if record {
                    records.push(Record { conn: conn_key(ctx), callback: s.ir.name.clone(), transition: ev.transition(), args });
                }
            });
            match m.alive() {
                Some(true) => fw |= self.needs[j].0,
                Some(false) => fw |= self.needs[j].1,
                None => {}
            }
        }
        st.framework = fw;
    }

    fn interest(st: &NaiveConn) -> Interest {
        Framework(st.framework).interest(st.l7.as_ref().is_none_or(|l| l.wants_data()))
    }

    fn feed_l7(&mut self, st: &mut NaiveConn, base: Ctx<'_>, seg: Option<&L4Pdu<'_>>) {
        if seg.is_some() && !Framework(st.framework).l7() {
            return;
        }
        let Some(mut l7) = st.l7.take() else { return };
        l7.drive(base, seg, &mut |ctx, ev| self.step(st, ctx, ev));
        st.l7 = Some(l7);
    }
}

impl<D: Dynamic> ConnHandler for Naive<D> {
    type State = NaiveConn;

    fn first_packet(&mut self, conn: &ConnInfo, pdu: &L4Pdu<'_>) -> Option<(NaiveConn, Interest)> {
        let mut st = NaiveConn {
            facts: ConnFacts::new(packet_facts(conn, pdu)),
            l7: None,
            machines: (0..self.subs.len()).map(|_| SubMachine::default()).collect(),
            shared: Vec::new(),
            framework: 0,
        };
        let rec = ConnRecord::new(pdu.ts);
        let ctx = Ctx { tuple: &conn.tuple, id: conn.id, core: self.core, ts: pdu.ts, record: &rec, ttl: conn.ttl, ethernet: conn.ethernet };
        self.step(&mut st, &ctx, &Event::FirstPacket(pdu));
        let fw = Framework(st.framework);
        if fw.contains(Framework::PROBE) || fw.contains(Framework::PARSE) {
            let ft = &conn.tuple;
            st.l7 = Some(Box::new(L7Conn::new(transport(ft), ft.orig.port(), ft.resp.port())));
        }
        let i = Self::interest(&st);
        (!i.is_empty()).then_some((st, i))
    }

    fn in_conn(&mut self, conn: &mut Conn<NaiveConn>, pdu: &L4Pdu<'_>) -> Interest {
        let (id, ttl, ethernet) = (conn.id(), conn.ttl(), conn.ethernet());
        let (ft, rec, st) = conn.parts();
        let ctx = Ctx { tuple: ft, id, core: self.core, ts: pdu.ts, record: rec, ttl, ethernet };
        self.step(st, &ctx, &Event::InConn(pdu));
        Self::interest(st)
    }

    fn end_handshake(&mut self, conn: &mut Conn<NaiveConn>) -> Interest {
        let (id, ttl, ethernet) = (conn.id(), conn.ttl(), conn.ethernet());
        let (ft, rec, st) = conn.parts();
        let ctx = Ctx { tuple: ft, id, core: self.core, ts: rec.last_ts, record: rec, ttl, ethernet };
        self.step(st, &ctx, &Event::EndHandshake);
        Self::interest(st)
    }

    fn in_stream(&mut self, conn: &mut Conn<NaiveConn>, pdu: &L4Pdu<'_>) -> Interest {
        let (id, ttl, ethernet) = (conn.id(), conn.ttl(), conn.ethernet());
        let (ft, rec, st) = conn.parts();
        if Framework(st.framework).contains(Framework::STREAM) {
            let ctx = Ctx { tuple: ft, id, core: self.core, ts: pdu.ts, record: rec, ttl, ethernet };
            self.step(st, &ctx, &Event::InStream(pdu));
        }
        self.feed_l7(st, Ctx { tuple: ft, id, core: self.core, ts: rec.last_ts, record: rec, ttl, ethernet }, Some(pdu));
        Self::interest(st)
    }

    fn terminated(&mut self, mut conn: Conn<NaiveConn>, reason: EndReason) {
        let (id, ttl, ethernet) = (conn.id(), conn.ttl(), conn.ethernet());
        let (ft, rec, st) = conn.parts();
        self.feed_l7(st, Ctx { tuple: ft, id, core: self.core, ts: rec.last_ts, record: rec, ttl, ethernet }, None);
        let ctx = Ctx { tuple: ft, id, core: self.core, ts: rec.last_ts, record: rec, ttl, ethernet };
        self.step(st, &ctx, &Event::Terminated(reason));
    }
}
