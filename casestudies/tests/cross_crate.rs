//! An application in another crate (this test) includes the library's
//! exported subscription and filter: same deliveries as declaring them here.

use std::path::PathBuf;

#[weir::app(include(weir_casestudies::exported_sni, weir_casestudies::well_known))]
mod imported {
    use weir::prelude::*;
    #[callback("udp and well_known")]
    fn low_udp(ft: &FiveTuple) {
        let _ = ft;
    }
}

#[weir::app]
mod local {
    use weir::prelude::*;
    #[callback("udp and well_known")]
    fn low_udp(ft: &FiveTuple) {
        let _ = ft;
    }
    #[callback("tls")]
    fn exported_sni(hs: &TlsHandshake, ft: &FiveTuple) {
        let _ = (hs, ft);
    }
    #[filter]
    fn well_known(ft: &FiveTuple) -> FilterResult {
        if ft.resp.port() < 1024 {
            FilterResult::Accept
        } else {
            FilterResult::Drop
        }
    }
}

#[test]
fn library_items_join_an_app_in_another_crate() {
    let pcap = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../traces/data/default.pcap");
    let cfg = weir::runtime::Config::default();
    let mut a = weir::app::run_compiled::<imported::App>(&[pcap.clone()], &cfg, true).unwrap().trace.unwrap().invocations;
    let mut b = weir::app::run_compiled::<local::App>(&[pcap], &cfg, true).unwrap().trace.unwrap().invocations;
    let n = |v: &[weir::app::Invocation], c: &str| v.iter().filter(|i| i.callback == c).count();
    assert!(n(&a, "exported_sni") > 0 && n(&a, "low_udp") > 0, "sni {} udp {}", n(&a, "exported_sni"), n(&a, "low_udp"));
    a.sort();
    b.sort();
    assert_eq!(a, b);
}
