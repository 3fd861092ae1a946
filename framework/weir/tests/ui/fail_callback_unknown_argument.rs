#[weir::app]
mod subs {
    use weir::prelude::*;

    #[callback("tcp", colour = red)]
    fn f(_ft: &FiveTuple) {}
}

fn main() {}
