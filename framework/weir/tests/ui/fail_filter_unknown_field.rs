#[weir::app]
mod subs {
    use weir::prelude::*;

    #[callback("tls.snii = 'x'")]
    fn f(_ft: &FiveTuple) {}
}

fn main() {}
