//! One application from items in several modules (`include(...)`): the
//! same deliveries as the same items declared in one module.

use std::path::PathBuf;

mod dns_side {
    use weir::prelude::*;
    #[callback("dns")]
    pub fn dns_seen(t: &DnsTransaction) {
        let _ = t;
    }
}

mod features {
    use weir::prelude::*;
    #[derive(Debug, Default)]
    pub struct Bytes {
        pub n: u64,
    }
    #[datatype]
    impl Bytes {
        pub fn new(_ctx: &Ctx) -> Self {
            Bytes::default()
        }
        #[datatype_fn(on = L4InConn)]
        fn add(&mut self, _ctx: &Ctx, p: &L4Pdu) {
            self.n += p.payload_len as u64;
        }
    }
    #[filter]
    pub fn big(b: &Bytes) -> FilterResult {
        if b.n > 1000 { FilterResult::Accept } else { FilterResult::Continue }
    }
}

#[weir::app(include(super::dns_side::dns_seen, super::features::Bytes, super::features::big))]
mod split {
    use weir::prelude::*;
    #[callback("tcp and big", on = L4Terminated)]
    fn large(b: &super::features::Bytes, f: &FiveTuple) {
        let _ = (b, f);
    }
}

#[weir::app]
mod together {
    use weir::prelude::*;
    #[callback("dns")]
    pub fn dns_seen(t: &DnsTransaction) {
        let _ = t;
    }
    #[derive(Debug, Default)]
    pub struct Bytes {
        pub n: u64,
    }
    #[datatype]
    impl Bytes {
        pub fn new(_ctx: &Ctx) -> Self {
            Bytes::default()
        }
        #[datatype_fn(on = L4InConn)]
        fn add(&mut self, _ctx: &Ctx, p: &L4Pdu) {
            self.n += p.payload_len as u64;
        }
    }
    #[filter]
    pub fn big(b: &Bytes) -> FilterResult {
        if b.n > 1000 { FilterResult::Accept } else { FilterResult::Continue }
    }
    #[callback("tcp and big", on = L4Terminated)]
    fn large(b: &Bytes, f: &FiveTuple) {
        let _ = (b, f);
    }
}

#[test]
fn included_items_behave_as_local_ones() {
    let pcap = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../traces/data/default.pcap");
    let cfg = weir::runtime::Config::default();
    let a = weir::app::run_compiled::<split::App>(std::slice::from_ref(&pcap), &cfg, true).unwrap().trace.unwrap();
    let b = weir::app::run_compiled::<together::App>(&[pcap], &cfg, true).unwrap().trace.unwrap();
    let count = |t: &weir::app::Trace, n: &str| t.invocations.iter().filter(|i| i.callback == n).count();
    assert!(count(&a, "dns_seen") > 0 && count(&a, "large") > 0, "dns {} large {}", count(&a, "dns_seen"), count(&a, "large"));
    let mut x = a.invocations.clone();
    let mut y = b.invocations.clone();
    x.sort();
    y.sort();
    assert_eq!(x, y);
}
