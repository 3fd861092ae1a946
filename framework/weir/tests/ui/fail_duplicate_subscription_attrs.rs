#[weir::app]
mod subs {
    use weir::prelude::*;

    // One function, two subscriptions: both would be named `f`.
    #[callback("tcp")]
    #[callback("udp")]
    fn f(_ft: &FiveTuple) {}
}

fn main() {}
