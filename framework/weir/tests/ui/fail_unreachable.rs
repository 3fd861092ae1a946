#[weir::app]
mod subs {
    use weir::prelude::*;

    #[callback("tcp and udp")]
    fn f(_ft: &FiveTuple) {}
}

fn main() {}
