#[weir::app]
mod subs {
    use weir::prelude::*;

    #[callback("tcp", on = L4FirstPacket)]
    fn f(_hs: &TlsHandshake) {}
}

fn main() {}
