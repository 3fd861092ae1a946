#[weir::app]
mod subs {
    use weir::prelude::*;

    #[callback("tsl")]
    fn f(_ft: &FiveTuple) {}
}

fn main() {}
