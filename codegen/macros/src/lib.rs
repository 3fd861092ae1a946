//! weir's attribute macros. Thin by design (STYLE.md 8): each parses its
//! item with `weir-codegen`, reports every mistake with a span on the
//! user's code, and emits. No global state, no files (except the opt-in
//! `WEIR_DUMP_IR` diagnostics), no printing.
//!
//! - `#[weir::app] mod m { ... }`: all weir items of the module become one
//!   application (type `m::App`, or `name = ...`), one IR, one pipeline.
//! - `#[callback("filter", on = T, streaming)] fn` / `#[callback("filter")] impl S { #[callback_fn(on = T)] fn .. }`
//! - `#[filter] fn f(..) -> FilterResult` / `#[filter] impl S { #[filter_fn(on = T)] fn .. }`
//! - `#[datatype] impl S { fn new(ctx) -> S; #[datatype_fn(on = T)] fn .. }`
#![forbid(unsafe_code)]

use proc_macro::TokenStream;
use weir_codegen::expand;

/// Makes an inline module's subscriptions one application.
#[proc_macro_attribute]
pub fn app(args: TokenStream, item: TokenStream) -> TokenStream {
    let module = match syn::parse::<syn::ItemMod>(item) {
        Ok(m) => m,
        Err(e) => return e.to_compile_error().into(),
    };
    let base = std::env::var_os("CARGO_MANIFEST_DIR").map(std::path::PathBuf::from);
    let dump = std::env::var_os("WEIR_DUMP_IR").map(std::path::PathBuf::from);
    weir_codegen::app::expand_app(args.into(), module, base.as_deref(), dump.as_deref()).into()
}

/// The last step of `#[weir::app(include(...))]`'s collection chain (hidden).
#[doc(hidden)]
#[proc_macro]
pub fn __app_final(input: TokenStream) -> TokenStream {
    let base = std::env::var_os("CARGO_MANIFEST_DIR").map(std::path::PathBuf::from);
    let dump = std::env::var_os("WEIR_DUMP_IR").map(std::path::PathBuf::from);
    weir_codegen::app::expand_final(input.into(), base.as_deref(), dump.as_deref()).into()
}

/// A subscription's callback (function: stateless; impl block: stateful).
#[proc_macro_attribute]
pub fn callback(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::callback(args.into(), item.into()).into()
}

/// A user-defined filter predicate.
#[proc_macro_attribute]
pub fn filter(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::filter(args.into(), item.into()).into()
}

/// A user-defined data type (on its impl block).
#[proc_macro_attribute]
pub fn datatype(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::datatype(args.into(), item.into()).into()
}

/// Only inside a `#[callback] impl` block.
#[proc_macro_attribute]
pub fn callback_fn(_args: TokenStream, item: TokenStream) -> TokenStream {
    expand::misplaced("callback_fn", "callback", item.into()).into()
}

/// Only inside a `#[filter] impl` block.
#[proc_macro_attribute]
pub fn filter_fn(_args: TokenStream, item: TokenStream) -> TokenStream {
    expand::misplaced("filter_fn", "filter", item.into()).into()
}

/// Only inside a `#[datatype] impl` block.
#[proc_macro_attribute]
pub fn datatype_fn(_args: TokenStream, item: TokenStream) -> TokenStream {
    expand::misplaced("datatype_fn", "datatype", item.into()).into()
}
