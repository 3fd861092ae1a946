#[weir::app]
mod subs {
    use weir::prelude::*;

    // A plain struct: no `#[datatype]` impl, so not a weir data type.
    pub struct NotData;

    #[callback("tcp")]
    fn f(_x: &NotData) {}
}

fn main() {}
