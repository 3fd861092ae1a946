#[weir::app]
mod subs {
    use weir::prelude::*;

    // An absolute path, so the message does not depend on the build directory
    // (a relative one is resolved against the crate's manifest directory).
    #[callback("tcp and file=/nonexistent/weir-ui/snis.txt")]
    fn f(_ft: &FiveTuple) {}
}

fn main() {}
