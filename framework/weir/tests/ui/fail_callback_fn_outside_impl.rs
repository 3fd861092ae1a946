#[weir::app]
mod subs {
    use weir::prelude::*;

    pub struct Est;

    // A plain impl block: `#[callback("...")]` is missing on it.
    impl Est {
        #[callback_fn(on = L4Terminated)]
        fn end(&mut self, _r: &ConnRecord) {}
    }
}

fn main() {}
