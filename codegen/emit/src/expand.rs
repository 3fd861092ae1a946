//! The per-item attribute expansions: validate the item (every error on
//! the user's span, reported together), strip the inner attributes, and
//! emit the item plus what it needs (`#[datatype]`: its `DataType` impl).
//! On error the item is still emitted, so one mistake does not cascade.

use crate::app::spec_macro;
use crate::items::{parse_callback, parse_datatype, parse_filter, strip_inner};
use proc_macro2::TokenStream;
use quote::{quote, ToTokens};

fn with_error(item: impl ToTokens, e: syn::Error) -> TokenStream {
    let e = e.to_compile_error();
    quote!(#item #e)
}

pub fn callback(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut item: syn::Item = match syn::parse2(item) {
        Ok(i) => i,
        Err(e) => return e.to_compile_error(),
    };
    let res = parse_callback(args.clone(), &item);
    let spec = spec_macro("callback", &args, &item);
    if let syn::Item::Impl(imp) = &mut item {
        strip_inner(imp);
    }
    match res {
        Ok(_) => quote!(#item #spec),
        Err(e) => with_error(item, e),
    }
}

pub fn filter(args: TokenStream, item: TokenStream) -> TokenStream {
    let mut item: syn::Item = match syn::parse2(item) {
        Ok(i) => i,
        Err(e) => return e.to_compile_error(),
    };
    let res = parse_filter(args.clone(), &item);
    let spec = spec_macro("filter", &args, &item);
    if let syn::Item::Impl(imp) = &mut item {
        strip_inner(imp);
    }
    match res {
        Ok(_) => quote!(#item #spec),
        Err(e) => with_error(item, e),
    }
}

pub fn datatype(args: TokenStream, item: TokenStream) -> TokenStream {
    let item: syn::Item = match syn::parse2(item) {
        Ok(i) => i,
        Err(e) => return e.to_compile_error(),
    };
    let mut imp = match item {
        syn::Item::Impl(imp) => imp,
        other => {
            let e = syn::Error::new_spanned(
                match &other {
                    syn::Item::Struct(s) => s.ident.to_token_stream(),
                    o => o.to_token_stream(),
                },
                "put #[datatype] on the `impl` block that holds `fn new(ctx: &weir::Ctx) -> Self` and the #[datatype_fn(on = ...)] update methods",
            );
            return with_error(other, e);
        }
    };
    let parsed = parse_datatype(args.clone(), &imp);
    let spec = spec_macro("datatype", &args, &syn::Item::Impl(imp.clone()));
    strip_inner(&mut imp);
    let dt = match parsed {
        Ok(d) => d,
        Err(e) => return with_error(imp, e),
    };
    let ty = &dt.ty;
    let (impl_generics, _, where_clause) = imp.generics.split_for_impl();
    let arms: Vec<TokenStream> = dt
        .updates
        .iter()
        .map(|u| {
            let m = &u.method;
            let (pat, call) = match u.on.name() {
                "L4FirstPacket" => (quote!(::weir::Event::FirstPacket(p)), quote!(self.#m(ctx, p))),
                "L4InConn" => (quote!(::weir::Event::InConn(p)), quote!(self.#m(ctx, p))),
                "L4InStream" => (quote!(::weir::Event::InStream(p)), quote!(self.#m(ctx, p))),
                "L4EndHandshake" => (quote!(::weir::Event::EndHandshake), quote!(self.#m(ctx))),
                "L4Terminated" => (quote!(::weir::Event::Terminated(p)), quote!(self.#m(ctx, p))),
                "L7OnDisc" => (quote!(::weir::Event::OnDisc(p)), quote!(self.#m(ctx, p))),
                "L7InHeaders" => (quote!(::weir::Event::InHeaders(p)), quote!(self.#m(ctx, p))),
                "L7EndHeaders" => (quote!(::weir::Event::EndHeaders(p)), quote!(self.#m(ctx, p))),
                "L7EndSession" => (quote!(::weir::Event::EndSession(p)), quote!(self.#m(ctx, p))),
                _ => (quote!(::weir::Event::InPayload(p)), quote!(self.#m(ctx, p))),
            };
            quote!(#pat => { #call; })
        })
        .collect();
    let sync = dt.sync.as_ref().map(|s| quote!(fn sync(&mut self, ctx: &::weir::Ctx<'_>) { self.#s(ctx) }));
    quote! {
        #imp
        #spec
        impl #impl_generics ::weir::DataType for #ty #where_clause {
            fn new(ctx: &::weir::Ctx<'_>) -> Self { <#ty>::new(ctx) }
            #[allow(unreachable_patterns)]
            fn update(&mut self, ctx: &::weir::Ctx<'_>, ev: &::weir::Event<'_>) {
                match *ev {
                    #(#arms)*
                    _ => {}
                }
            }
            #sync
        }
    }
}

pub fn misplaced(attr: &str, outer: &str, item: TokenStream) -> TokenStream {
    let msg = format!("`#[{attr}]` belongs on a method inside a `#[{outer}] impl` block");
    // An attribute macro's call site is the attribute itself: the part at fault.
    let e = syn::Error::new(proc_macro2::Span::call_site(), msg).to_compile_error();
    quote!(#item #e)
}
