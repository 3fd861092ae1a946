#[weir::app]
mod subs {
    use weir::prelude::*;

    pub struct Twice;

    #[filter]
    impl Twice {
        pub fn new(_ctx: &Ctx<'_>) -> Self {
            Twice
        }
        #[filter_fn(on = L4InConn)]
        pub fn first(&mut self, _c: &PktCount) -> FilterResult {
            FilterResult::Continue
        }
        #[filter_fn(on = L4InConn)]
        pub fn again(&mut self, _c: &PktCount) -> FilterResult {
            FilterResult::Accept
        }
    }

    #[callback("Twice")]
    fn cb(_t: &FiveTuple) {}
}

fn main() {}
