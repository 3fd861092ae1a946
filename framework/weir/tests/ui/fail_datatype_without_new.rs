#[weir::app]
mod subs {
    use weir::prelude::*;

    #[derive(Debug)]
    pub struct Chunk {
        n: u64,
    }

    #[datatype]
    impl Chunk {
        #[datatype_fn(on = L4InConn)]
        fn update(&mut self, _ctx: &Ctx, _p: &L4Pdu) {
            self.n += 1;
        }
    }
}

fn main() {}
