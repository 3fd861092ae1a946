//! The `#[weir::app]` expansion as a library call: it yields parseable
//! Rust, writes the IR when asked (WEIR_DUMP_IR), and reports IR errors.

use quote::quote;
use weir_codegen::app::expand_app;

fn module() -> syn::ItemMod {
    syn::parse2(quote! {
        mod video {
            use weir::prelude::*;
            #[callback("tls.sni ~ 'nflx'")]
            fn tls(hs: &TlsHandshake) {}
            #[callback("dns")]
            fn dns(t: &DnsTransaction) {}
        }
    })
    .unwrap()
}

#[test]
fn expands_to_rust_and_dumps_the_ir() {
    let dir = tempfile::tempdir().unwrap();
    let out = expand_app(quote!(), module(), None, Some(dir.path()));
    let file: syn::File = syn::parse2(out.clone()).unwrap_or_else(|e| panic!("{e}\n{out}"));
    let text = out.to_string();
    assert!(text.contains("pub struct App"), "{text}");
    assert!(text.contains("impl __p :: Generated for App"), "{text}");
    assert_eq!(file.items.len(), 1);
    let ir_txt = std::fs::read_to_string(dir.path().join("video.ir.txt")).unwrap();
    assert!(ir_txt.starts_with("# IR build time: "), "{ir_txt}");
    assert!(ir_txt.contains("tree L7EndHeaders"), "{ir_txt}");
    let ir: weir_ir::Ir = serde_json::from_str(&std::fs::read_to_string(dir.path().join("video.ir.json")).unwrap()).unwrap();
    assert_eq!(ir.subscriptions.len(), 2);
}

#[test]
fn ir_errors_become_compile_errors() {
    let m: syn::ItemMod = syn::parse2(quote! {
        mod bad {
            #[callback("tcp and udp")]
            fn never(f: &FiveTuple) {}
        }
    })
    .unwrap();
    let out = expand_app(quote!(), m, None, None).to_string();
    assert!(out.contains("compile_error"), "{out}");
    assert!(out.contains("can never match"), "{out}");
}
