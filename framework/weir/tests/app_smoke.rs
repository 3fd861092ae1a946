//! A first generated application, run on the bundled trace.

use std::path::PathBuf;

#[weir::app]
mod smoke {
    use weir::datatypes::*;
    use weir::FilterResult;

    #[weir::callback("tcp.port = 443")]
    fn https(r: &ConnRecord) {
        let _ = r;
    }

    #[weir::callback("tls")]
    fn tls(hs: &TlsHandshake, ft: &FiveTuple) {
        let _ = (hs, ft);
    }

    #[weir::callback("http")]
    fn http(t: &HttpTransaction) {
        let _ = t;
    }

    #[weir::callback("udp and dns and big_port")]
    fn dns(t: &DnsTransaction) {
        let _ = t;
    }

    #[weir::filter]
    fn big_port(ft: &FiveTuple) -> FilterResult {
        if ft.orig.port() > 1024 {
            FilterResult::Accept
        } else {
            FilterResult::Drop
        }
    }
}

fn trace_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../traces/data/default.pcap")
}

#[test]
fn runs_and_records() {
    let cfg = weir::runtime::Config::default();
    let run = weir::app::run_compiled::<smoke::App>(&[trace_path()], &cfg, true).unwrap();
    let t = run.trace.unwrap();
    let count = |n: &str| t.invocations.iter().filter(|i| i.callback == n).count();
    eprintln!("https {} tls {} http {} dns {}", count("https"), count("tls"), count("http"), count("dns"));
    assert!(count("https") > 0 && count("tls") > 0 && count("http") > 0 && count("dns") > 0);
}
