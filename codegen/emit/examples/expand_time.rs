//! The compiler's own time (Iris-logic time: IR build and optimisation, then
//! Rust emission) for the compile-time workloads of issue #6, in process:
//! `cargo run --release -p weir-codegen --example expand_time`.
//! rustc's share is measured by `codegen/bench/compile_time.py`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use std::time::Instant;

fn module(kind: &str, n: usize) -> syn::ItemMod {
    let subs: Vec<TokenStream> = (0..n)
        .map(|k| {
            let f = format_ident!("s{}", k);
            if kind == "http" {
                let filter = format!("http.host = 'h{k}.example.com'");
                quote!(#[callback(#filter)] fn #f(t: &HttpTransaction) {})
            } else {
                let filter = format!("ipv4.addr in 10.{}.{}.0/24", k / 256, k % 256);
                quote!(#[callback(#filter)] fn #f(r: &ConnRecord) {})
            }
        })
        .collect();
    syn::parse2(quote!(mod subs { use weir::prelude::*; #(#subs)* })).expect("module")
}

fn main() {
    println!("workload,subscriptions,ir_ms,expand_ms,generated_kib");
    for (kind, n) in [("http", 1), ("http", 256), ("http", 5000), ("subnet", 1024), ("subnet", 2048)] {
        let m = module(kind, n);
        let dir = std::env::temp_dir().join(format!("weir-expand-{kind}{n}"));
        let t = Instant::now();
        let out = weir_codegen::app::expand_app(TokenStream::new(), m, None, Some(&dir));
        let expand = t.elapsed();
        let text = std::fs::read_to_string(dir.join("subs.ir.txt")).expect("IR dump");
        let ir_us: u64 = text.lines().next().and_then(|l| l.split(": ").nth(1)).and_then(|v| v.split_whitespace().next()).and_then(|v| v.parse().ok()).expect("IR time");
        let size = out.to_string().len() / 1024;
        println!("{kind}{n},{n},{:.1},{:.1},{size}", ir_us as f64 / 1000.0, expand.as_secs_f64() * 1000.0);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
