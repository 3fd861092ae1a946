#[weir::app]
mod subs {
    use weir::prelude::*;

    #[callback("tcp")]
    fn f(_hs: &TlsHandshake, _t: &HttpTransaction) {}
}

fn main() {}
