//! Parse and validate steps for every weir attribute, on the item it sits
//! on: `#[callback]` (function: stateless; `impl` block: stateful, with
//! `#[callback_fn]` methods), `#[filter]` (function, or `impl` with one
//! `#[filter_fn]` method), `#[datatype]` (`impl` block with `new` and
//! `#[datatype_fn]` methods). Each yields the IR spec(s) plus the Rust
//! paths and spans the expansion needs.

use crate::attr::{callback_sig, data_params, transition, CallbackArgs, SpannedSubscription};
use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Ident, ImplItem, ItemImpl, Token};
use weir_conntrack::Transition;
use weir_ir::{DataTypeSpec, FilterFnSpec, Level};
use weir_protocols::registry::Protocol;

/// Errors collected over several checks.
#[derive(Default)]
pub struct Errors(Option<syn::Error>);

impl Errors {
    pub fn push(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }
    pub fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

/// Which weir attribute an attribute is (by its last path segment).
pub fn weir_attr(a: &syn::Attribute) -> Option<String> {
    let last = a.path().segments.last()?.ident.to_string();
    matches!(last.as_str(), "callback" | "callback_fn" | "filter" | "filter_fn" | "datatype" | "datatype_fn").then_some(last)
}

fn attr_args(a: &syn::Attribute) -> TokenStream {
    match &a.meta {
        syn::Meta::List(l) => l.tokens.clone(),
        _ => TokenStream::new(),
    }
}

/// `on = Transition` and flags, for `#[datatype_fn]`, `#[filter_fn]`, `#[filter]`, `#[datatype]`.
#[derive(Default)]
pub struct KeyArgs {
    pub on: Option<(Ident, Transition)>,
    pub complete: Option<(Ident, Transition)>,
    pub level: Option<(Ident, Level)>,
    pub protocols: Vec<Protocol>,
    pub flags: Vec<Ident>,
}

impl Parse for KeyArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut a = KeyArgs::default();
        while !input.is_empty() {
            let key: Ident = input.parse()?;
            match key.to_string().as_str() {
                "on" | "complete" => {
                    input.parse::<Token![=]>()?;
                    let v: Ident = input.parse()?;
                    let t = transition(&v)?;
                    if key == "on" {
                        a.on = Some((v, t));
                    } else {
                        a.complete = Some((v, t));
                    }
                }
                "level" => {
                    input.parse::<Token![=]>()?;
                    let v: Ident = input.parse()?;
                    let l = match v.to_string().as_str() {
                        "Static" => Level::Static,
                        "Connection" => Level::Connection,
                        "Session" => Level::Session,
                        "Packet" => Level::Packet,
                        other => return Err(syn::Error::new(v.span(), format!("unknown level `{other}`; expected Static, Connection, Session or Packet"))),
                    };
                    a.level = Some((v, l));
                }
                "protocols" => {
                    let content;
                    syn::parenthesized!(content in input);
                    let names = content.parse_terminated(Ident::parse, Token![,])?;
                    for n in names {
                        let p = Protocol::ALL.into_iter().find(|p| p.name() == n.to_string().to_lowercase()).ok_or_else(|| syn::Error::new(n.span(), format!("unknown protocol `{n}`")))?;
                        a.protocols.push(p);
                    }
                }
                _ => a.flags.push(key),
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(a)
    }
}

/// The methods of an impl block carrying `#[<inner>(...)]`, with their
/// parsed arguments; any other weir attribute there, and arguments that do
/// not parse, are errors (`outer` names the block's attribute, `hint` what
/// belongs there).
fn marked_methods<'a, A: Parse>(imp: &'a ItemImpl, outer: &str, inner: &str, hint: &str, errs: &mut Errors) -> Vec<(&'a syn::ImplItemFn, &'a syn::Attribute, A)> {
    let mut out = Vec::new();
    for it in &imp.items {
        let ImplItem::Fn(f) = it else { continue };
        for a in f.attrs.iter().filter(|a| weir_attr(a).is_some()) {
            let kind = weir_attr(a).unwrap_or_default();
            if kind != inner {
                errs.push(syn::Error::new(a.span(), format!("`#[{kind}]` does not belong in a #[{outer}] impl block; use `{hint}`")));
                continue;
            }
            match syn::parse2(attr_args(a)) {
                Ok(args) => out.push((f, a, args)),
                Err(e) => errs.push(e),
            }
        }
    }
    out
}

/// The self type's last segment name (`FeatureChunk` for `impl my::FeatureChunk`).
fn self_name(imp: &ItemImpl) -> syn::Result<(String, TokenStream)> {
    match &*imp.self_ty {
        syn::Type::Path(p) if imp.trait_.is_none() => {
            let last = p.path.segments.last().ok_or_else(|| syn::Error::new(p.span(), "expected a type"))?;
            Ok((last.ident.to_string(), p.to_token_stream()))
        }
        other => Err(syn::Error::new(other.span(), "put the attribute on an inherent `impl Type { ... }` block")),
    }
}

/// Where to point at an impl block's type: its last path segment (`Chunk`
/// in `impl a::Chunk`; a whole path's span shows only its first token).
fn self_span(imp: &ItemImpl) -> Span {
    match &*imp.self_ty {
        syn::Type::Path(p) => p.path.segments.last().map_or_else(|| p.span(), |s| s.ident.span()),
        other => other.span(),
    }
}

fn has_new(imp: &ItemImpl) -> bool {
    imp.items.iter().any(|i| matches!(i, ImplItem::Fn(f) if f.sig.ident == "new"))
}

/// Removes the inner weir attributes of an impl block (they have been read).
pub fn strip_inner(imp: &mut ItemImpl) {
    for it in &mut imp.items {
        if let ImplItem::Fn(f) = it {
            f.attrs.retain(|a| weir_attr(a).is_none());
        }
    }
}

/// An update method of a data type.
pub struct UpdateFn {
    pub method: Ident,
    pub on: Transition,
    /// The method takes the event's payload after `ctx`.
    pub payload: bool,
}

/// A `#[datatype]` impl block.
pub struct DatatypeItem {
    pub spec: DataTypeSpec,
    pub ty: TokenStream,
    pub updates: Vec<UpdateFn>,
    pub sync: Option<Ident>,
    pub span: Span,
}

/// The payload an update method receives at `t` (none at `L4EndHandshake`).
fn has_payload(t: Transition) -> bool {
    t != Transition::L4EndHandshake
}

pub fn parse_datatype(args: TokenStream, imp: &ItemImpl) -> syn::Result<DatatypeItem> {
    let args: KeyArgs = syn::parse2(args)?;
    let (name, ty) = self_name(imp)?;
    let mut errs = Errors::default();
    if let Some(f) = args.flags.iter().find(|f| *f != "export") {
        errs.push(syn::Error::new(f.span(), format!("unknown argument `{f}`; expected `complete = <transition>`, `level = <level>`, `protocols(...)` or `export`")));
    }
    if !has_new(imp) {
        errs.push(syn::Error::new(self_span(imp), format!("a #[datatype] impl block needs a constructor `fn new(ctx: &weir::Ctx) -> {name}`")));
    }
    let mut updates = Vec::new();
    let mut sync = None;
    for (f, a, k) in marked_methods::<KeyArgs>(imp, "datatype", "datatype_fn", "#[datatype_fn(on = <transition>)]", &mut errs) {
        if k.flags.iter().any(|f| f == "sync") {
            sync = Some(f.sig.ident.clone());
            continue;
        }
        let Some((_, on)) = k.on else {
            errs.push(syn::Error::new(a.span(), "`#[datatype_fn]` needs `on = <transition>` (or `sync`)"));
            continue;
        };
        let n = f.sig.inputs.iter().filter(|i| !matches!(i, syn::FnArg::Receiver(_))).count();
        let want = if has_payload(on) { 2 } else { 1 };
        if n != want {
            errs.push(syn::Error::new(
                f.sig.inputs.span(),
                if has_payload(on) {
                    format!("an update at {on} takes `(&mut self, ctx: &weir::Ctx, <the {on} payload>)`")
                } else {
                    format!("an update at {on} takes `(&mut self, ctx: &weir::Ctx)`")
                },
            ));
        }
        updates.push(UpdateFn { method: f.sig.ident.clone(), on, payload: has_payload(on) });
    }
    errs.finish()?;
    let mut ups: Vec<Transition> = updates.iter().map(|u| u.on).collect();
    ups.sort_by_key(|t| *t as u8);
    ups.dedup();
    let complete_at = args.complete.map(|c| c.1).unwrap_or(if ups.is_empty() { Transition::L4FirstPacket } else { Transition::L4Terminated });
    let level = args.level.map(|l| l.1).unwrap_or(if ups.is_empty() && complete_at == Transition::L4FirstPacket { Level::Static } else { Level::Connection });
    Ok(DatatypeItem {
        spec: DataTypeSpec { name, level, complete_at, updates: ups, protocols: args.protocols },
        ty,
        updates,
        sync,
        span: self_span(imp),
    })
}

/// A subscription's callback: a function, or a method of a stateful struct.
pub struct CallbackItem {
    pub sub: SpannedSubscription,
    /// The function path, or the struct type for a method.
    pub path: TokenStream,
    pub method: Option<Ident>,
    pub returns_bool: bool,
}

fn returns_bool(sig: &syn::Signature) -> bool {
    matches!(&sig.output, syn::ReturnType::Type(_, t) if matches!(&**t, syn::Type::Path(p) if p.path.is_ident("bool")))
}

pub fn parse_callback(args: TokenStream, item: &syn::Item) -> syn::Result<Vec<CallbackItem>> {
    let args: CallbackArgs = syn::parse2(args)?;
    match item {
        syn::Item::Fn(f) => {
            let sub = callback_sig(&args, &f.sig)?;
            let ident = &f.sig.ident;
            Ok(vec![CallbackItem { sub, path: ident.to_token_stream(), method: None, returns_bool: returns_bool(&f.sig) }])
        }
        syn::Item::Impl(imp) => {
            let (name, ty) = self_name(imp)?;
            let mut errs = Errors::default();
            if args.on.is_some() || args.streaming.is_some() {
                let at = args.on.as_ref().map(|o| o.0.span()).or(args.streaming.as_ref().map(|s| s.span())).unwrap_or_else(Span::call_site);
                errs.push(syn::Error::new(at, "on a stateful callback, `on` and `streaming` go on each `#[callback_fn(...)]` method"));
            }
            if !has_new(imp) {
                errs.push(syn::Error::new(self_span(imp), format!("a stateful callback needs a constructor `fn new(ctx: &weir::Ctx) -> {name}` (one instance per connection)")));
            }
            let mut out = Vec::new();
            for (f, _, margs) in marked_methods::<CallbackArgs>(imp, "callback", "callback_fn", "#[callback_fn(...)]", &mut errs) {
                if let Some(fl) = &margs.filter {
                    errs.push(syn::Error::new(fl.span(), "the filter of a stateful callback goes on its `#[callback(\"...\")]` impl block"));
                    continue;
                }
                let merged = CallbackArgs { filter: args.filter.clone(), on: margs.on, streaming: margs.streaming, every: margs.every, export: None };
                match callback_sig(&merged, &f.sig) {
                    Ok(mut sub) => {
                        sub.spec.name = format!("{name}::{}", f.sig.ident);
                        sub.spec.callback.name = name.clone();
                        sub.spec.callback.stateful = true;
                        out.push(CallbackItem { sub, path: ty.clone(), method: Some(f.sig.ident.clone()), returns_bool: returns_bool(&f.sig) });
                    }
                    Err(e) => errs.push(e),
                }
            }
            if out.is_empty() {
                errs.push(syn::Error::new(self_span(imp), "a stateful callback needs at least one `#[callback_fn(...)]` method"));
            }
            errs.finish()?;
            Ok(out)
        }
        other => Err(syn::Error::new(other.span(), "#[callback] goes on a function (stateless) or on an `impl` block (stateful)")),
    }
}

/// A user filter predicate.
pub struct FilterItem {
    pub spec: FilterFnSpec,
    pub path: TokenStream,
    /// A stateful filter's `#[filter_fn]` methods, one per transition, in
    /// the order they are asked (empty for a function).
    pub methods: Vec<(Transition, Ident)>,
    /// `on` was given explicitly (else inferred from the data).
    pub named: bool,
    pub span: Span,
    pub param_spans: Vec<Span>,
}

fn check_filter_result(sig: &syn::Signature) -> syn::Result<()> {
    let ok = matches!(&sig.output, syn::ReturnType::Type(_, t) if matches!(&**t, syn::Type::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "FilterResult")));
    if ok {
        return Ok(());
    }
    let at = match &sig.output {
        syn::ReturnType::Default => sig.ident.span(),
        syn::ReturnType::Type(_, t) => t.span(),
    };
    Err(syn::Error::new(at, "a filter function returns `FilterResult` (Accept, Drop, or Continue to decide later)"))
}

pub fn parse_filter(args: TokenStream, item: &syn::Item) -> syn::Result<FilterItem> {
    let args: KeyArgs = syn::parse2(args)?;
    if let Some(f) = args.flags.iter().find(|f| *f != "export") {
        return Err(syn::Error::new(f.span(), format!("unknown argument `{f}`; expected `on = <transition>` or `export`")));
    }
    match item {
        syn::Item::Fn(f) => {
            let mut errs = Errors::default();
            if let Err(e) = check_filter_result(&f.sig) {
                errs.push(e);
            }
            let params = data_params(&f.sig);
            if let Err(e) = &params {
                errs.push(e.clone());
            }
            errs.finish()?;
            let (data, spans) = params?;
            Ok(FilterItem {
                spec: FilterFnSpec { name: f.sig.ident.to_string(), on: args.on.as_ref().map_or(Transition::L4FirstPacket, |o| o.1), also: Vec::new(), stateful: false, data },
                path: f.sig.ident.to_token_stream(),
                methods: Vec::new(),
                named: args.on.is_some(),
                span: f.sig.ident.span(),
                param_spans: spans,
            })
        }
        syn::Item::Impl(imp) => {
            let (name, ty) = self_name(imp)?;
            let mut errs = Errors::default();
            if !has_new(imp) {
                errs.push(syn::Error::new(self_span(imp), format!("a stateful filter needs a constructor `fn new(ctx: &weir::Ctx) -> {name}`")));
            }
            // One method per transition, all reading the same data (the
            // filter's one predicate, asked again at each of them).
            let mut methods: Vec<(Transition, Ident)> = Vec::new();
            let mut params: Option<(Vec<String>, Vec<Span>)> = None;
            for (f, a, k) in marked_methods::<KeyArgs>(imp, "filter", "filter_fn", "#[filter_fn(on = <transition>)]", &mut errs) {
                let Some((on_tok, on)) = k.on else {
                    errs.push(syn::Error::new(a.span(), "`#[filter_fn]` needs `on = <transition>`"));
                    continue;
                };
                if let Err(e) = check_filter_result(&f.sig) {
                    errs.push(e);
                    continue;
                }
                if methods.iter().any(|(t, _)| *t == on) {
                    errs.push(syn::Error::new(on_tok.span(), format!("this stateful filter already has a `#[filter_fn]` method at {on} (one per transition)")));
                    continue;
                }
                match data_params(&f.sig) {
                    Ok((data, spans)) => match &params {
                        Some((d0, _)) if *d0 != data => errs.push(syn::Error::new(
                            // The first parameter that differs (or the method, when one is missing).
                            (0..data.len()).find(|i| d0.get(*i) != data.get(*i)).map_or(f.sig.ident.span(), |i| spans[i]),
                            format!("the `#[filter_fn]` methods of one stateful filter read the same data; the first reads ({})", d0.join(", ")),
                        )),
                        Some(_) => methods.push((on, f.sig.ident.clone())),
                        None => {
                            params = Some((data, spans));
                            methods.push((on, f.sig.ident.clone()));
                        }
                    },
                    Err(e) => errs.push(e),
                }
            }
            if methods.is_empty() {
                errs.push(syn::Error::new(self_span(imp), "a stateful filter needs a `#[filter_fn(on = <transition>)]` method"));
            }
            errs.finish()?;
            methods.sort_by_key(|(t, _)| weir_ir::compile::rank(*t));
            let (data, spans) = params.unwrap_or_default();
            Ok(FilterItem {
                spec: FilterFnSpec { name, on: methods[0].0, also: methods[1..].iter().map(|(t, _)| *t).collect(), stateful: true, data },
                path: ty,
                methods,
                named: true,
                span: self_span(imp),
                param_spans: spans,
            })
        }
        other => Err(syn::Error::new(other.span(), "#[filter] goes on a function (stateless) or on an `impl` block (stateful)")),
    }
}

/// Whether the attribute arguments ask for `export` (a library's item,
/// included by other crates as `library::item`).
pub fn exported(args: &TokenStream) -> bool {
    args.clone().into_iter().any(|t| matches!(t, proc_macro2::TokenTree::Ident(i) if i == "export"))
}
