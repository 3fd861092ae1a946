//! `#[weir::app] mod m { ... }`: every weir item of the module → one
//! [`AppSpec`] → one [`Ir`] → one generated pipeline (the module's
//! `App` type implementing `weir::__private::Generated`).
//!
//! Emitted beside the user's items, inside the module:
//! - `__WeirData`: one `Option` field per tracked item (`d<k>`), exactly
//!   the IR's tracked data (packet-level data and `FilterStr` are passed
//!   from the event / as constants and never stored);
//! - `tree`: each transition's action tree as nested conditionals over the
//!   trie (set nodes: one lookup, then a `match` on the member);
//! - `construct` / `update` / `filters` / `invoke`: direct calls to the
//!   user's functions and methods (no `dyn`, no loop over subscriptions).

use crate::items::{parse_callback, parse_datatype, parse_filter, weir_attr, CallbackItem, DatatypeItem, FilterItem};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use std::collections::BTreeMap;
use weir_conntrack::Transition;
use weir_filter::trie::{Branch, Node};
use weir_ir::ir::TrackedKind;
use weir_ir::{compile, needs, AppSpec, Ir, IrError, Level};

/// Everything the module declares.
#[derive(Default)]
pub struct AppDecl {
    pub callbacks: Vec<CallbackItem>,
    pub filters: Vec<FilterItem>,
    pub datatypes: Vec<DatatypeItem>,
}

fn attr_tokens(a: &syn::Attribute) -> TokenStream {
    match &a.meta {
        syn::Meta::List(l) => l.tokens.clone(),
        _ => TokenStream::new(),
    }
}

/// Reads the weir items of a module. `None` when one of them is malformed:
/// that item's own attribute reports the error, and the app is not built.
pub fn collect(items: &[syn::Item]) -> Option<AppDecl> {
    let mut d = AppDecl::default();
    let mut ok = true;
    for item in items {
        let attrs = match item {
            syn::Item::Fn(f) => &f.attrs,
            syn::Item::Impl(i) => &i.attrs,
            _ => continue,
        };
        for a in attrs {
            let Some(kind) = weir_attr(a) else { continue };
            let args = attr_tokens(a);
            match kind.as_str() {
                "callback" => match parse_callback(args, item) {
                    Ok(v) => d.callbacks.extend(v),
                    Err(_) => ok = false,
                },
                "filter" => match parse_filter(args, item) {
                    Ok(f) => d.filters.push(f),
                    Err(_) => ok = false,
                },
                "datatype" => match item {
                    syn::Item::Impl(imp) => match parse_datatype(args, imp) {
                        Ok(t) => d.datatypes.push(t),
                        Err(_) => ok = false,
                    },
                    _ => ok = false,
                },
                _ => {}
            }
        }
    }
    ok.then_some(d)
}

/// The application's spec (filter functions without `on` run where their data are complete).
pub fn spec(d: &AppDecl) -> AppSpec {
    let complete = |name: &str| -> Transition {
        d.datatypes
            .iter()
            .find(|t| t.spec.name == name)
            .map(|t| t.spec.complete_at)
            .or_else(|| weir_ir::builtins::get(name).map(|b| b.complete_at))
            .unwrap_or(Transition::L4FirstPacket)
    };
    let filters = d
        .filters
        .iter()
        .map(|f| {
            let mut s = f.spec.clone();
            if !f.named {
                s.on = s.data.iter().map(|n| complete(n)).max_by_key(|t| weir_ir::compile::rank(*t)).unwrap_or(Transition::L4FirstPacket);
            }
            s
        })
        .collect();
    AppSpec {
        datatypes: d.datatypes.iter().map(|t| t.spec.clone()).collect(),
        filters,
        subscriptions: d.callbacks.iter().map(|c| c.sub.spec.clone()).collect(),
    }
}

/// An IR error on the user's code.
pub fn ir_error(d: &AppDecl, e: &IrError, fallback: Span) -> syn::Error {
    if let weir_ir::IrErrorKind::Duplicate = e.kind {
        // On the second declaration of the name.
        if let Some(c) = d.callbacks.iter().filter(|c| c.sub.spec.name == e.subscription).nth(1) {
            let msg = format!("subscription `{}` is declared twice; each subscription needs its own callback name", e.subscription);
            return syn::Error::new(c.sub.name, msg);
        }
    }
    if let Some(c) = d.callbacks.iter().find(|c| c.sub.spec.name == e.subscription) {
        return c.sub.error(e);
    }
    let span = match &e.kind {
        weir_ir::IrErrorKind::DuplicateDataType(n) => d.datatypes.iter().filter(|t| &t.spec.name == n).nth(1).map(|t| t.span),
        weir_ir::IrErrorKind::DuplicateFilterFn(n) => d.filters.iter().filter(|f| &f.spec.name == n).nth(1).map(|f| f.span),
        _ => None,
    };
    syn::Error::new(span.unwrap_or(fallback), e.kind.to_string())
}

fn transition_tokens(t: Transition) -> TokenStream {
    let i = format_ident!("{}", t.name());
    quote!(::weir::__private::Transition::#i)
}

fn mask(ids: impl IntoIterator<Item = u32>, n: usize) -> Vec<u64> {
    let mut w = vec![0u64; n.div_ceil(64).max(1)];
    for i in ids {
        w[i as usize / 64] |= 1 << (i % 64);
    }
    w
}

/// Data passed straight from the event or as a constant, never stored.
fn unstored(name: &str, level: Level) -> bool {
    level == Level::Packet || name == "FilterStr"
}

struct Gen<'a> {
    ir: &'a Ir,
    decl: &'a AppDecl,
    /// Data type name → Rust type.
    types: BTreeMap<String, TokenStream>,
    nsubs: usize,
}

impl Gen<'_> {
    fn tracked_type(&self, k: usize) -> Option<TokenStream> {
        let t = &self.ir.tracked[k];
        match &t.kind {
            TrackedKind::Data(s) if unstored(&s.name, s.level) => None,
            TrackedKind::Data(s) => self.types.get(&s.name).cloned(),
            TrackedKind::StatefulCallback(n) => self.decl.callbacks.iter().find(|c| c.method.is_some() && &c.sub.spec.callback.name == n).map(|c| c.path.clone()),
            TrackedKind::StatefulFilter(f) => self.decl.filters.iter().find(|x| x.spec.name == f.name).map(|x| x.path.clone()),
        }
    }

    fn tracked_index(&self, name: &str) -> Option<usize> {
        self.ir.tracked.iter().position(|t| t.name == name)
    }

    /// Code binding each data parameter (`a0`, `a1`, ...), returning `ret`
    /// when one is missing: packet-level data from the event, `FilterStr` as
    /// the subscription's filter, stored data by `stored(i, name, ident)`
    /// (which returns its sync code and its binding).
    fn bind(&self, params: &[String], sub_filter: &str, ret: &TokenStream, stored: impl Fn(usize, &str, &syn::Ident) -> (TokenStream, TokenStream)) -> (TokenStream, Vec<syn::Ident>) {
        let mut sync = TokenStream::new();
        let mut bind = TokenStream::new();
        let mut names = Vec::new();
        for (i, p) in params.iter().enumerate() {
            let a = format_ident!("a{}", i);
            let level = self.ir.tracked.iter().find_map(|t| match &t.kind {
                TrackedKind::Data(s) if &s.name == p => Some(s.level),
                _ => None,
            });
            if level == Some(Level::Packet) {
                bind.extend(quote! {
                    let #a: &::weir::__private::L4Pdu<'_> = match *ev {
                        ::weir::Event::FirstPacket(p) | ::weir::Event::InConn(p) | ::weir::Event::InStream(p) => p,
                        _ => return #ret,
                    };
                });
            } else if p == "FilterStr" {
                bind.extend(quote! { let #a = &::weir::datatypes::FilterStr(#sub_filter); });
            } else {
                let (s, b) = stored(i, p, &a);
                sync.extend(s);
                bind.extend(b);
            }
            names.push(a);
        }
        (quote!(#sync #bind), names)
    }

    /// Binds parameters from the connection's tracked data (synced first).
    fn bind_params(&self, params: &[String], sub_filter: &str, ret: TokenStream) -> (TokenStream, Vec<syn::Ident>) {
        self.bind(params, sub_filter, &ret, |_, p, a| {
            let Some(k) = self.tracked_index(p) else { return (TokenStream::new(), TokenStream::new()) };
            let f = format_ident!("d{}", k);
            let ty = self.types.get(p).cloned().unwrap_or_else(|| quote!(_));
            (quote! { if let Some(x) = d.#f.as_mut() { <#ty as ::weir::DataType>::sync(x, ctx); } }, quote! { let Some(#a) = d.#f.as_ref() else { return #ret; }; })
        })
    }

    /// Binds parameters from type-erased values (`args[i]`), for the
    /// interpreter and the naive engine.
    fn bind_dyn(&self, params: &[String], sub_filter: &str, ret: TokenStream) -> (TokenStream, Vec<syn::Ident>) {
        self.bind(params, sub_filter, &ret, |i, p, a| {
            let ty = self.types.get(p).cloned().unwrap_or_else(|| quote!(()));
            (TokenStream::new(), quote! { let Some(#a) = args.get(#i).and_then(|x| x.downcast_ref::<#ty>()) else { return #ret; }; })
        })
    }

    fn invoke_arm(&self, j: usize) -> TokenStream {
        let s = &self.ir.subscriptions[j];
        let c = &self.decl.callbacks[j];
        let (bind, args) = self.bind_params(&s.callback.params, &s.filter_source, quote!(true));
        let name = &s.name;
        let path = &c.path;
        let record = quote! {
            if let Some(tr) = trace {
                tr.record(ctx, #name, ev.transition(), format!("{:?}", (#(#args,)*)));
            }
        };
        let call = match &c.method {
            None => quote!(#path(#(#args),*)),
            Some(m) => {
                let k = self.tracked_index(&s.callback.name).unwrap_or(usize::MAX);
                let f = format_ident!("d{}", k);
                return {
                    let call = quote!(st.#m(#(#args),*));
                    let body = if c.returns_bool { quote!(#call) } else { quote!({ #call; true }) };
                    let j = j as u32;
                    quote! { #j => {
                        #bind
                        #record
                        let Some(st) = d.#f.as_mut() else { return true; };
                        #body
                    } }
                };
            }
        };
        let body = if c.returns_bool { quote!(#call) } else { quote!({ #call; true }) };
        let j = j as u32;
        quote! { #j => { #bind #record #body } }
    }

    fn dynamic_impl(&self, app: &syn::Ident) -> TokenStream {
        let mut new_arms = Vec::new();
        let mut update_arms = Vec::new();
        let mut sync_arms = Vec::new();
        for (k, t) in self.ir.tracked.iter().enumerate() {
            let Some(ty) = self.tracked_type(k) else { continue };
            if matches!(t.kind, TrackedKind::Data(_)) {
                new_arms.push(quote!(#k => Some(Box::new(<#ty as ::weir::DataType>::new(ctx)))));
                update_arms.push(quote!(#k => if let Some(x) = v.downcast_mut::<#ty>() { <#ty as ::weir::DataType>::update(x, ctx, ev) }));
                sync_arms.push(quote!(#k => if let Some(x) = v.downcast_mut::<#ty>() { <#ty as ::weir::DataType>::sync(x, ctx) }));
            } else {
                new_arms.push(quote!(#k => Some(Box::new(<#ty>::new(ctx)))));
            }
        }
        let mut filter_arms = Vec::new();
        for (i, f) in self.ir.filter_fns.iter().enumerate() {
            let Some(item) = self.decl.filters.iter().find(|x| x.spec.name == f.name) else { continue };
            let (bind, args) = self.bind_dyn(&f.data, "", quote!(__p::FilterResult::Continue));
            let path = &item.path;
            let call = if item.methods.is_empty() {
                quote!(#path(#(#args),*))
            } else {
                // The method of the event's transition.
                let arms = item.methods.iter().map(|(t, m)| {
                    let tt = transition_tokens(*t);
                    quote!(#tt => st.#m(#(#args),*),)
                });
                quote!(match state.and_then(|s| s.downcast_mut::<#path>()) {
                    Some(st) => match ev.transition() { #(#arms)* _ => __p::FilterResult::Continue },
                    None => __p::FilterResult::Continue,
                })
            };
            filter_arms.push(quote!(#i => { #bind #call }));
        }
        let mut call_arms = Vec::new();
        for (j, s) in self.ir.subscriptions.iter().enumerate() {
            let c = &self.decl.callbacks[j];
            let (bind, args) = self.bind_dyn(&s.callback.params, &s.filter_source, quote!(None));
            let path = &c.path;
            let call = match &c.method {
                None => quote!(#path(#(#args),*)),
                Some(m) => quote!(match state.and_then(|s| s.downcast_mut::<#path>()) { Some(st) => st.#m(#(#args),*), None => return None }),
            };
            let keep = if c.returns_bool { quote!(#call) } else { quote!({ #call; true }) };
            let j = j as u32;
            call_arms.push(quote!(#j => {
                #bind
                let debug = format!("{:?}", (#(#args,)*));
                Some((#keep, debug))
            }));
        }
        quote! {
            impl __p::Dynamic for #app {
                const IR_JSON: &'static str = <#app as __p::Generated>::IR_JSON;
                fn new_data(k: usize, ctx: &::weir::Ctx<'_>) -> Option<Box<dyn ::std::any::Any>> {
                    match k { #(#new_arms,)* _ => None }
                }
                fn update_data(k: usize, v: &mut dyn ::std::any::Any, ctx: &::weir::Ctx<'_>, ev: &::weir::Event<'_>) {
                    match k { #(#update_arms,)* _ => {} }
                }
                fn sync_data(k: usize, v: &mut dyn ::std::any::Any, ctx: &::weir::Ctx<'_>) {
                    match k { #(#sync_arms,)* _ => {} }
                }
                fn call_filter(i: usize, args: &[&dyn ::std::any::Any], state: Option<&mut dyn ::std::any::Any>, ev: &::weir::Event<'_>) -> __p::FilterResult {
                    match i { #(#filter_arms)* _ => __p::FilterResult::Continue }
                }
                fn call(sub: u32, args: &[&dyn ::std::any::Any], state: Option<&mut dyn ::std::any::Any>, ev: &::weir::Event<'_>) -> Option<(bool, String)> {
                    match sub { #(#call_arms)* _ => None }
                }
            }
        }
    }

    fn node_code(&self, nodes: &[Node], n: usize, v: &syn::Ident) -> TokenStream {
        let node = &nodes[n];
        let mut out = TokenStream::new();
        let (complete, prefix): (Vec<u32>, Vec<u32>) = node.accepts.iter().partition(|p| *p % 2 == 0);
        for (ids, one, many) in [(complete, quote!(complete), quote!(complete_mask)), (prefix, quote!(prefix), quote!(prefix_mask))] {
            let subs: Vec<u32> = ids.iter().map(|p| p / 2).collect();
            if subs.len() <= 4 {
                for j in subs {
                    out.extend(quote!(acc.#one(#j, #v);));
                }
            } else {
                let m = mask(subs, self.nsubs);
                out.extend(quote!(acc.#many(&[#(#m),*], #v);));
            }
        }
        let label = syn::Lifetime::new(&format!("'n{n}"), Span::call_site());
        let mut kids = TokenStream::new();
        for (b, br) in node.children.iter().enumerate() {
            match br {
                Branch::One(c) => {
                    let vc = format_ident!("v{}", c);
                    let inner = self.node_code(nodes, *c, &vc);
                    let brk = if node.exclusive { quote!(if #vc == __V::Match { break #label; }) } else { quote!() };
                    kids.extend(quote! {
                        let #vc = #v.min(__p::node_literal(&nodes[#c], f));
                        if #vc != __V::NoMatch { #inner }
                        #brk
                    });
                }
                Branch::Set(g) => {
                    let hits = format_ident!("hits{}_{}", n, b);
                    let rest = format_ident!("rest{}_{}", n, b);
                    let vm = format_ident!("vm{}_{}", n, b);
                    let arms: Vec<TokenStream> = g
                        .members
                        .iter()
                        .enumerate()
                        .map(|(i, &m)| {
                            let i = i as u32;
                            let inner = self.node_code(nodes, m, &vm);
                            quote!(#i => { #inner })
                        })
                        .collect();
                    let len = g.members.len() as u32;
                    let brk = if node.exclusive { quote!(if !#hits.is_empty() { break #label; }) } else { quote!() };
                    kids.extend(quote! {
                        let mut #hits: Vec<u32> = Vec::new();
                        let #rest = __p::set_at(&nodes[#n], #b, f, &mut #hits);
                        let member = |i: u32, #vm: __V, acc: &mut __p::Acc| match i { #(#arms)* _ => {} };
                        for &i in &#hits { member(i, #v, acc); }
                        if #rest != __V::NoMatch {
                            for i in 0..#len { if !#hits.contains(&i) { member(i, #v.min(#rest), acc); } }
                        }
                        #brk
                    });
                }
            }
        }
        if node.exclusive && !node.children.is_empty() {
            out.extend(quote!(#label: { #kids }));
        } else {
            out.extend(kids);
        }
        out
    }
}

/// The generated pipeline for a checked application.
pub fn generate(decl: &AppDecl, ir: &Ir, app: &syn::Ident) -> syn::Result<TokenStream> {
    let mut types: BTreeMap<String, TokenStream> = weir_ir::builtins::all()
        .into_iter()
        .map(|b| {
            let i = format_ident!("{}", b.name);
            (b.name, quote!(::weir::datatypes::#i))
        })
        .collect();
    for t in &decl.datatypes {
        types.insert(t.spec.name.clone(), t.ty.clone());
    }
    let nsubs = ir.subscriptions.len();
    let g = Gen { ir, decl, types, nsubs };

    // The per-connection struct.
    let mut fields = Vec::new();
    for k in 0..ir.tracked.len() {
        if let Some(ty) = g.tracked_type(k) {
            let f = format_ident!("d{}", k);
            fields.push(quote!(pub #f: Option<#ty>));
        }
    }

    // Static facts per subscription and need groups.
    let mut subs = Vec::new();
    let mut periodic_n: u16 = 0;
    let mut pend: BTreeMap<u8, Vec<u32>> = BTreeMap::new();
    let mut mat: BTreeMap<u8, Vec<u32>> = BTreeMap::new();
    for s in &ir.subscriptions {
        let (np, nm) = needs(ir, s);
        pend.entry(np.0).or_default().push(s.id);
        mat.entry(nm.0).or_default().push(s.id);
        let name = &s.name;
        let filter = &s.filter_source;
        let d = transition_tokens(s.deliver_at);
        let r = transition_tokens(s.data_ready);
        let named = s.callback.on.is_some();
        let rep = s.repeated;
        let st = s.callback.streaming;
        let per = s.repeated && matches!(s.deliver_at, Transition::L7EndHeaders | Transition::L7EndSession);
        let (np, nm) = (np.0, nm.0);
        let periodic = match s.callback.every {
            None => quote!(None),
            Some(e) => {
                let slot = periodic_n;
                periodic_n += 1;
                match e {
                    weir_ir::Every::Events(n) => quote!(Some((#slot, __p::Period::Events(#n)))),
                    weir_ir::Every::Nanos(n) => quote!(Some((#slot, __p::Period::Nanos(#n)))),
                }
            }
        };
        subs.push(quote!(__p::SubInfo { name: #name, filter: #filter, deliver_at: #d, data_ready: #r, named: #named, repeated: #rep, streaming: #st, per_session: #per, need_pending: #np, need_matched: #nm, periodic: #periodic }));
    }
    let groups = |m: &BTreeMap<u8, Vec<u32>>| -> Vec<TokenStream> {
        m.iter()
            .map(|(need, ids)| {
                let w = mask(ids.iter().copied(), nsubs);
                quote!((#need, &[#(#w),*]))
            })
            .collect()
    };
    let pend = groups(&pend);
    let mat = groups(&mat);
    let fnames: Vec<&str> = ir.filter_fns.iter().map(|f| f.name.as_str()).collect();
    let trees_bits: u16 = ir.trees.iter().fold(0, |a, t| a | (1 << t.transition as u16));
    let json = serde_json::to_string(ir).map_err(|e| syn::Error::new(Span::call_site(), format!("cannot serialise the IR: {e}")))?;

    // Trees.
    let mut tree_arms = Vec::new();
    for (ti, t) in ir.trees.iter().enumerate() {
        let v0 = format_ident!("v0");
        let body = g.node_code(t.trie.nodes(), 0, &v0);
        let tt = transition_tokens(t.transition);
        tree_arms.push(quote!(#tt => {
            let nodes = __p::tree_nodes(&__TABLES, #ti);
            let #v0 = __V::Match;
            #body
        }));
    }

    // Construction and updates.
    let mut construct = Vec::new();
    let mut updates: BTreeMap<u8, Vec<TokenStream>> = BTreeMap::new();
    for (k, t) in ir.tracked.iter().enumerate() {
        let Some(ty) = g.tracked_type(k) else { continue };
        let f = format_ident!("d{}", k);
        let users = mask(t.used_by.iter().copied(), nsubs);
        let is_data = matches!(t.kind, TrackedKind::Data(_));
        let upd_now = if is_data && !t.updates.is_empty() {
            let ts: Vec<TokenStream> = t.updates.iter().map(|u| transition_tokens(*u)).collect();
            quote!(if matches!(ev.transition(), #(#ts)|*) { <#ty as ::weir::DataType>::update(&mut x, ctx, ev); })
        } else {
            quote!()
        };
        let new = if is_data { quote!(<#ty as ::weir::DataType>::new(ctx)) } else { quote!(<#ty>::new(ctx)) };
        construct.push(quote! {
            if d.#f.is_none() && live.intersects(&[#(#users),*]) {
                #[allow(unused_mut)]
                let mut x = #new;
                #upd_now
                d.#f = Some(x);
            }
        });
        if is_data {
            for u in &t.updates {
                updates.entry(*u as u8).or_default().push(quote! {
                    if let Some(x) = d.#f.as_mut() { <#ty as ::weir::DataType>::update(x, ctx, ev); }
                });
            }
        }
    }
    let update_arms: Vec<TokenStream> = updates
        .into_iter()
        .map(|(t, code)| {
            let tt = transition_tokens(Transition::ALL.into_iter().find(|x| *x as u8 == t).unwrap_or(Transition::L4FirstPacket));
            quote!(#tt => { #(#code)* })
        })
        .collect();

    // User filter functions.
    let mut filter_arms: BTreeMap<u8, Vec<TokenStream>> = BTreeMap::new();
    let mut filters_at: u16 = 0;
    for (i, f) in ir.filter_fns.iter().enumerate() {
        let Some(item) = decl.filters.iter().find(|x| x.spec.name == f.name) else { continue };
        let (bind, args) = g.bind_params(&f.data, "", quote!(()));
        let path = &item.path;
        // (transition, call): the function at `on`, or each method at its own.
        let calls: Vec<(Transition, TokenStream)> = if item.methods.is_empty() {
            vec![(f.on, quote!(#path(#(#args),*)))]
        } else {
            let k = g.tracked_index(&f.name).unwrap_or(usize::MAX);
            let fld = format_ident!("d{}", k);
            item.methods.iter().map(|(t, m)| (*t, quote!(match d.#fld.as_mut() { Some(st) => st.#m(#(#args),*), None => return }))).collect()
        };
        let users = mask(
            ir.subscriptions.iter().filter(|s| s.filter.conjunctions.iter().flat_map(|c| &c.literals).any(|l| matches!(&l.pred, weir_filter::typed::Pred::User(n) if *n == f.name))).map(|s| s.id),
            nsubs,
        );
        if users.iter().all(|w| *w == 0) {
            continue; // declared but used by no subscription: never asked
        }
        for (t, call) in calls {
            filters_at |= 1 << t as u16;
            filter_arms.entry(t as u8).or_default().push(quote! {
                if verdicts[#i] == __V::Undecided && live.intersects(&[#(#users),*]) {
                    (|| {
                        #bind
                        let r: ::weir::FilterResult = #call;
                        verdicts[#i] = __p::verdict(r);
                    })();
                }
            });
        }
    }
    let filter_arms: Vec<TokenStream> = filter_arms
        .into_iter()
        .map(|(t, code)| {
            let tt = transition_tokens(Transition::ALL.into_iter().find(|x| *x as u8 == t).unwrap_or(Transition::L4FirstPacket));
            quote!(#tt => { #(#code)* })
        })
        .collect();

    let invoke_arms: Vec<TokenStream> = (0..nsubs).map(|j| g.invoke_arm(j)).collect();
    let dynamic = g.dynamic_impl(app);
    let files: Vec<String> = ir.files.iter().filter_map(|p| p.canonicalize().ok()).map(|p| p.display().to_string()).collect();

    Ok(quote_spanned! {Span::call_site()=>
        /// The generated pipeline of this module's subscriptions.
        pub struct #app;

        #[doc(hidden)]
        #[derive(Default)]
        #[allow(non_snake_case)]
        pub struct __WeirData { #(#fields,)* }

        #[allow(unused_variables, unused_mut, clippy::all)]
        const _: () = {
            use ::weir::__private as __p;
            type __V = __p::Verdict;
            // `file=` filter inputs: editing one rebuilds the app.
            #(const _: &[u8] = include_bytes!(#files);)*
            static __TABLES: __p::LazyLock<__p::Tables> = __p::LazyLock::new(|| __p::Tables::new(<#app as __p::Generated>::IR_JSON));

            impl __p::Generated for #app {
                type Data = __WeirData;
                const SUBS: &'static [__p::SubInfo] = &[#(#subs),*];
                const FILTER_FNS: &'static [&'static str] = &[#(#fnames),*];
                const TREES: u16 = #trees_bits;
                const PERIODIC: usize = #periodic_n as usize;
                const FILTERS_AT: u16 = #filters_at;
                const PENDING_NEEDS: &'static [(u8, &'static [u64])] = &[#(#pend),*];
                const MATCHED_NEEDS: &'static [(u8, &'static [u64])] = &[#(#mat),*];
                const IR_JSON: &'static str = #json;

                fn tree(t: __p::Transition, f: &__p::TreeFacts<'_>, acc: &mut __p::Acc) {
                    match t {
                        #(#tree_arms)*
                        _ => {}
                    }
                }
                fn construct(live: &__p::Bits, d: &mut __WeirData, ctx: &::weir::Ctx<'_>, ev: &::weir::Event<'_>) {
                    #(#construct)*
                }
                fn update(d: &mut __WeirData, ctx: &::weir::Ctx<'_>, ev: &::weir::Event<'_>) {
                    match ev.transition() {
                        #(#update_arms)*
                        _ => {}
                    }
                }
                fn filters(live: &__p::Bits, d: &mut __WeirData, ctx: &::weir::Ctx<'_>, ev: &::weir::Event<'_>, verdicts: &mut [__V]) {
                    match ev.transition() {
                        #(#filter_arms)*
                        _ => {}
                    }
                }
                fn invoke(sub: u32, d: &mut __WeirData, ctx: &::weir::Ctx<'_>, ev: &::weir::Event<'_>, trace: Option<&mut __p::Trace>) -> bool {
                    match sub {
                        #(#invoke_arms)*
                        _ => true,
                    }
                }
            }

            // Type-erased adapters: the reference interpreter and the naive
            // engine call the same user functions through these.
            #dynamic
        };
    })
}

/// `#[weir::app(name = App, include(path::to::item, ...))]` arguments.
pub struct AppArgs {
    pub name: syn::Ident,
    /// Weir items declared in other modules of the crate (paths as seen from the app module).
    pub include: Vec<syn::Path>,
}

impl syn::parse::Parse for AppArgs {
    fn parse(input: syn::parse::ParseStream<'_>) -> syn::Result<Self> {
        let mut name = format_ident!("App");
        let mut include = Vec::new();
        while !input.is_empty() {
            let key: syn::Ident = input.parse()?;
            match key.to_string().as_str() {
                "name" => {
                    input.parse::<syn::Token![=]>()?;
                    name = input.parse()?;
                }
                "include" => {
                    let content;
                    syn::parenthesized!(content in input);
                    include.extend(content.parse_terminated(syn::Path::parse_mod_style, syn::Token![,])?);
                }
                _ => return Err(syn::Error::new(key.span(), format!("unknown argument `{key}`; expected `name = <Ident>` or `include(path, ...)`"))),
            }
            if !input.is_empty() {
                input.parse::<syn::Token![,]>()?;
            }
        }
        Ok(AppArgs { name, include })
    }
}

/// The name of the hidden macro that forwards an item's declaration.
pub fn spec_macro_name(item_ident: &syn::Ident) -> syn::Ident {
    format_ident!("__weir_spec_{}", item_ident)
}

/// Beside each weir item: a macro forwarding its declaration (the user's
/// own tokens, so spans survive) to the next step of an app's collection
/// chain, reachable by path from anywhere in the crate.
pub fn spec_macro(kind: &str, args: &TokenStream, item: &syn::Item) -> TokenStream {
    let ident = match item {
        syn::Item::Fn(f) => f.sig.ident.clone(),
        syn::Item::Impl(i) => match &*i.self_ty {
            syn::Type::Path(p) => match p.path.segments.last() {
                Some(seg) => seg.ident.clone(),
                None => return TokenStream::new(),
            },
            _ => return TokenStream::new(),
        },
        _ => return TokenStream::new(),
    };
    // Function bodies are not needed to declare anything.
    let mut decl = item.clone();
    if let syn::Item::Fn(f) = &mut decl {
        *f.block = syn::parse_quote!({});
    }
    let mac = spec_macro_name(&ident);
    let kind = format_ident!("{}", kind);
    if crate::items::exported(args) {
        // For other crates: at the library's root, where the item must be
        // re-exported too (`pub use`), and named from there (`$crate`).
        return quote! {
            #[doc(hidden)]
            #[macro_export]
            macro_rules! #mac {
                ($cb:path, [$($pre:tt)*], [$($rest:tt)*], [$($acc:tt)*]) => {
                    $cb! { [$($rest)*], [$($acc)* { [$crate] #kind (#args) { #decl } }] }
                };
            }
        };
    }
    quote! {
        #[doc(hidden)]
        #[allow(unused_macros)]
        macro_rules! #mac {
            ($cb:path, [$($pre:tt)*], [$($rest:tt)*], [$($acc:tt)*]) => {
                $cb! { [$($rest)*], [$($acc)* { [$($pre)*] #kind (#args) { #decl } }] }
            };
        }
        #[doc(hidden)]
        #[allow(unused_imports)]
        pub(crate) use #mac;
    }
}

/// One forwarded declaration: `{ [prefix] kind (args) { item } }`.
struct Entry {
    prefix: TokenStream,
    kind: syn::Ident,
    args: TokenStream,
    item: syn::Item,
}

impl syn::parse::Parse for Entry {
    fn parse(input: syn::parse::ParseStream<'_>) -> syn::Result<Self> {
        let body;
        syn::braced!(body in input);
        let pre;
        syn::bracketed!(pre in body);
        let prefix: TokenStream = pre.parse()?;
        let kind: syn::Ident = body.parse()?;
        let args;
        syn::parenthesized!(args in body);
        let args: TokenStream = args.parse()?;
        let item;
        syn::braced!(item in body);
        let item: syn::Item = item.parse()?;
        Ok(Entry { prefix, kind, args, item })
    }
}

/// The input of the final step: `name = App; [entries]`.
pub struct FinalInput {
    name: syn::Ident,
    entries: Vec<Entry>,
}

impl syn::parse::Parse for FinalInput {
    fn parse(input: syn::parse::ParseStream<'_>) -> syn::Result<Self> {
        let _ = input.parse::<syn::Ident>()?;
        input.parse::<syn::Token![=]>()?;
        let name: syn::Ident = input.parse()?;
        input.parse::<syn::Token![;]>()?;
        let mut entries = Vec::new();
        while !input.is_empty() {
            entries.push(input.parse()?);
        }
        Ok(FinalInput { name, entries })
    }
}

/// Items of other modules: the path prefix is added to every Rust path.
fn collect_entries(entries: &[Entry]) -> Option<AppDecl> {
    let mut all = AppDecl::default();
    for e in entries {
        let kind = &e.kind;
        let args = &e.args;
        let item = &e.item;
        let with_attr: syn::Item = syn::parse2(quote!(#[#kind(#args)] #item)).ok()?;
        let mut d = collect(std::slice::from_ref(&with_attr))?;
        let pre = &e.prefix;
        let join = |p: &TokenStream| if pre.is_empty() { p.clone() } else { quote!(#pre::#p) };
        for c in &mut d.callbacks {
            c.path = join(&c.path);
        }
        for f in &mut d.filters {
            f.path = join(&f.path);
        }
        for t in &mut d.datatypes {
            t.ty = join(&t.ty);
        }
        all.callbacks.extend(d.callbacks);
        all.filters.extend(d.filters);
        all.datatypes.extend(d.datatypes);
    }
    Some(all)
}

/// IR, optional dump, and code: shared by the direct and the chained expansion.
fn build(decl: &AppDecl, name: &syn::Ident, dump_name: &str, base_dir: Option<&std::path::Path>, dump_dir: Option<&std::path::Path>) -> syn::Result<TokenStream> {
    let spec = spec(decl);
    let ir = compile(&spec, base_dir).map_err(|e| ir_error(decl, &e, name.span()))?;
    if let Some(dir) = dump_dir {
        // Opt-in diagnostics (WEIR_DUMP_IR); a failure is reported, not fatal.
        ir.dump(dir, dump_name).map_err(|e| syn::Error::new(name.span(), format!("WEIR_DUMP_IR: cannot write the IR to {}: {e}", dir.display())))?;
    }
    generate(decl, &ir, name)
}

/// The last step of a chained collection (`weir::__app_final!`).
pub fn expand_final(input: TokenStream, base_dir: Option<&std::path::Path>, dump_dir: Option<&std::path::Path>) -> TokenStream {
    let input: FinalInput = match syn::parse2(input) {
        Ok(i) => i,
        Err(e) => return e.to_compile_error(),
    };
    // A malformed item reports its own error where it is declared.
    let Some(decl) = collect_entries(&input.entries) else { return TokenStream::new() };
    build(&decl, &input.name, &input.name.to_string(), base_dir, dump_dir).unwrap_or_else(|e| e.to_compile_error())
}

/// The whole `#[weir::app]` expansion: the module, with the generated
/// pipeline appended (or the errors, with the module left as written).
/// With `include(...)`, the module's own items and the included ones are
/// gathered by a chain of `macro_rules!` steps ending in
/// `weir::__app_final!`: no global state, no dependence on expansion order.
pub fn expand_app(args: TokenStream, mut module: syn::ItemMod, base_dir: Option<&std::path::Path>, dump_dir: Option<&std::path::Path>) -> TokenStream {
    let args: AppArgs = match syn::parse2(args) {
        Ok(a) => a,
        Err(e) => return e.to_compile_error(),
    };
    let mod_name = module.ident.to_string();
    let Some((_, items)) = &mut module.content else {
        return syn::Error::new_spanned(&module.ident, "#[weir::app] goes on an inline module: `mod app { ... }`").to_compile_error();
    };
    if !args.include.is_empty() {
        // The module's own items start the accumulator; each included path
        // `a::b::item` becomes the step `a::b::__weir_spec_item` with prefix `a::b`.
        let mut own = TokenStream::new();
        for it in items.iter() {
            let attrs = match it {
                syn::Item::Fn(f) => &f.attrs,
                syn::Item::Impl(i) => &i.attrs,
                _ => continue,
            };
            for a in attrs {
                let Some(kind) = weir_attr(a) else { continue };
                if !matches!(kind.as_str(), "callback" | "filter" | "datatype") {
                    continue;
                }
                let mut bare = it.clone();
                match &mut bare {
                    syn::Item::Fn(f) => f.attrs.retain(|a| weir_attr(a).is_none()),
                    syn::Item::Impl(i) => i.attrs.retain(|a| weir_attr(a).is_none()),
                    _ => {}
                }
                let kind = format_ident!("{}", kind);
                let args = attr_tokens(a);
                own.extend(quote!({ [] #kind (#args) { #bare } }));
            }
        }
        let mut chain = Vec::new();
        for p in &args.include {
            let mut mac = p.clone();
            let Some(last) = mac.segments.last_mut() else { continue };
            last.ident = spec_macro_name(&last.ident);
            let mut pre = p.clone();
            pre.segments.pop();
            pre.segments.pop_punct();
            let pre = if pre.segments.is_empty() { TokenStream::new() } else { quote!(#pre) };
            chain.push(quote!({ [#pre] #mac }));
        }
        let name = &args.name;
        let step: syn::Item = syn::parse_quote! {
            ::weir::__app_step! { [#(#chain)*], [name = #name; #own] }
        };
        items.push(step);
        return quote!(#module);
    }
    let Some(decl) = collect(items) else {
        return quote!(#module);
    };
    match build(&decl, &args.name, &mod_name, base_dir, dump_dir) {
        Ok(code) => {
            let extra: syn::File = match syn::parse2(code) {
                Ok(f) => f,
                Err(e) => return e.to_compile_error(),
            };
            items.extend(extra.items);
            quote!(#module)
        }
        Err(e) => {
            let err = e.to_compile_error();
            quote!(#module #err)
        }
    }
}

