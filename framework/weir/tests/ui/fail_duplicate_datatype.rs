#[weir::app]
mod subs {
    use weir::prelude::*;

    pub mod a {
        #[derive(Debug)]
        pub struct Chunk;
    }
    pub mod b {
        #[derive(Debug)]
        pub struct Chunk;
    }

    // Data types are named by the last path segment: both are `Chunk`.
    #[datatype]
    impl a::Chunk {
        pub fn new(_ctx: &Ctx) -> Self {
            a::Chunk
        }
    }

    #[datatype]
    impl b::Chunk {
        pub fn new(_ctx: &Ctx) -> Self {
            b::Chunk
        }
    }
}

fn main() {}
