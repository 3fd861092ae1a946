//! Log the SNI of every TLS handshake with its connection's five-tuple
//! (Iris §3: a stateless callback on a parsed session).
//!
//! `TlsHandshake` is complete at `L7EndHeaders`, so the callback runs once
//! per handshake, as soon as the server's handshake messages are parsed;
//! `FiveTuple` is known from the first packet. A handshake without SNI is
//! logged with `-`.

#[weir::app]
pub mod app {
    use weir::prelude::*;

    #[callback("tls")]
    fn log_sni(hs: &TlsHandshake, ft: &FiveTuple) {
        crate::output::line(format_args!("{} sni={}", **ft, hs.sni.as_deref().unwrap_or("-")));
    }
}
