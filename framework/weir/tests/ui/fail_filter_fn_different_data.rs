#[weir::app]
mod subs {
    use weir::prelude::*;

    pub struct Mixed;

    #[filter]
    impl Mixed {
        pub fn new(_ctx: &Ctx<'_>) -> Self {
            Mixed
        }
        #[filter_fn(on = L4InConn)]
        pub fn first(&mut self, _c: &PktCount) -> FilterResult {
            FilterResult::Continue
        }
        #[filter_fn(on = L4Terminated)]
        pub fn again(&mut self, _c: &ByteCount) -> FilterResult {
            FilterResult::Accept
        }
    }

    #[callback("Mixed")]
    fn cb(_t: &FiveTuple) {}
}

fn main() {}
