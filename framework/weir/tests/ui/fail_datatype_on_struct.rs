#[weir::app]
mod subs {
    use weir::prelude::*;

    #[datatype]
    pub struct Chunk {
        n: u64,
    }
}

fn main() {}
