#[weir::app]
mod subs {
    use weir::prelude::*;

    #[callback("tcp", on = L4Nope)]
    fn f(_ft: &FiveTuple) {}
}

fn main() {}
