#[weir::app]
mod subs {
    use weir::prelude::*;

    pub mod a {
        pub struct Big;
    }
    pub mod b {
        pub struct Big;
    }

    // Stateful filters are named by the last path segment: both are `Big`.
    #[filter]
    impl a::Big {
        pub fn new(_ctx: &Ctx) -> Self {
            a::Big
        }
        #[filter_fn(on = L4InConn)]
        fn check(&mut self, _ft: &FiveTuple) -> FilterResult {
            FilterResult::Accept
        }
    }

    #[filter]
    impl b::Big {
        pub fn new(_ctx: &Ctx) -> Self {
            b::Big
        }
        #[filter_fn(on = L4InConn)]
        fn check(&mut self, _ft: &FiveTuple) -> FilterResult {
            FilterResult::Accept
        }
    }
}

fn main() {}
