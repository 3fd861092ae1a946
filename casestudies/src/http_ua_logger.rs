//! Log the Host and User-Agent of every HTTP/1.x request (Iris §3).
//!
//! `HttpTransaction` is complete at `L7EndSession`: one invocation per
//! request/response pair (pipelined requests included), when the next
//! request begins or the connection ends. Absent headers print as `-`.

#[weir::app]
pub mod app {
    use weir::prelude::*;

    #[callback("http")]
    fn log_ua(tx: &HttpTransaction, ft: &FiveTuple) {
        crate::output::line(format_args!(
            "{} host={} user_agent={}",
            **ft,
            tx.host.as_deref().unwrap_or("-"),
            tx.user_agent.as_deref().unwrap_or("-")
        ));
    }
}
