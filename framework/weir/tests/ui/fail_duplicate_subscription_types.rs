#[weir::app]
mod subs {
    use weir::prelude::*;

    pub mod a {
        pub struct Est;
    }
    pub mod b {
        pub struct Est;
    }

    // Stateful callbacks are named `Type::method` by the last path segment:
    // both are `Est::end`.
    #[callback("tcp")]
    impl a::Est {
        pub fn new(_ctx: &Ctx) -> Self {
            a::Est
        }
        #[callback_fn(on = L4Terminated)]
        fn end(&mut self, _r: &ConnRecord) {}
    }

    #[callback("udp")]
    impl b::Est {
        pub fn new(_ctx: &Ctx) -> Self {
            b::Est
        }
        #[callback_fn(on = L4Terminated)]
        fn end(&mut self, _r: &ConnRecord) {}
    }
}

fn main() {}
