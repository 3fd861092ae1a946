#[weir::app]
mod subs {
    use weir::prelude::*;

    #[datatype_fn(on = L4InConn)]
    fn update(_ctx: &Ctx, _p: &L4Pdu) {}
}

fn main() {}
