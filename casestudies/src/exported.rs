//! Subscriptions this library offers to applications in other crates:
//! marked `export` and re-exported at the crate root, an app includes them
//! as `weir_casestudies::item` (`#[weir::app(include(...))]`).

use weir::prelude::*;

/// Server names of TLS handshakes, with their connection.
#[callback("tls", export)]
pub fn exported_sni(hs: &TlsHandshake, ft: &FiveTuple) {
    let _ = (hs, ft);
}

/// Connections whose first packet goes to a well-known port.
#[filter(export)]
pub fn well_known(ft: &FiveTuple) -> FilterResult {
    if ft.resp.port() < 1024 {
        FilterResult::Accept
    } else {
        FilterResult::Drop
    }
}
