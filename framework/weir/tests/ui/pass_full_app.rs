// A complete application using every kind of weir item: it must build.

#[weir::app]
mod subs {
    use weir::prelude::*;

    #[callback("tls.sni ~ 'netflix'", on = L7EndHeaders)]
    fn f(_hs: &TlsHandshake, _ft: &FiveTuple) {}

    #[callback("tcp", on = L4InConn, streaming)]
    fn g(_p: &Packet) -> bool {
        true
    }

    #[callback("tcp and big")]
    fn h(_r: &ConnRecord) {}

    #[filter]
    fn big(_ft: &FiveTuple) -> FilterResult {
        FilterResult::Accept
    }

    #[derive(Debug)]
    pub struct Chunk {
        n: u64,
    }

    #[datatype]
    impl Chunk {
        pub fn new(_ctx: &Ctx) -> Self {
            Chunk { n: 0 }
        }
        #[datatype_fn(on = L4InConn)]
        fn update(&mut self, _ctx: &Ctx, _p: &L4Pdu) {
            self.n += 1;
        }
    }

    #[derive(Debug)]
    pub struct Est;

    #[callback("tcp")]
    impl Est {
        pub fn new(_ctx: &Ctx) -> Self {
            Est
        }
        #[callback_fn(on = L4InConn, streaming)]
        fn update(&mut self, _c: &Chunk) -> bool {
            true
        }
        #[callback_fn(on = L4Terminated)]
        fn end(&mut self, _c: &Chunk) {}
    }
}

fn main() {
    let _ = subs::App;
}
