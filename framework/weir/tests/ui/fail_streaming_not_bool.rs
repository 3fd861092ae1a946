#[weir::app]
mod subs {
    use weir::prelude::*;

    #[callback("tcp", on = L4InConn, streaming)]
    fn g(_p: &Packet) {}
}

fn main() {}
