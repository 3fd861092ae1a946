#[weir::app]
mod subs {
    use weir::prelude::*;

    #[filter]
    fn big(_ft: &FiveTuple) -> bool {
        true
    }
}

fn main() {}
