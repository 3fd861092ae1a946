#[weir::app]
mod subs {
    use weir::prelude::*;

    #[callback("tls.sni = 'x'", on = L4FirstPacket)]
    fn f(_ft: &FiveTuple) {}
}

fn main() {}
