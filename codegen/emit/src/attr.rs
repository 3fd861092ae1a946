//! The *parse* and *validate* steps of the proc macros (STYLE.md 8), as a
//! plain library over `proc_macro2` so they are unit-tested without a
//! compiler run: a `#[callback(...)]` function → a [`SubscriptionSpec`]
//! plus the spans of its parts, and IR errors → `syn::Error`s on those spans.
//!
//! Attribute syntax (real Rust tokens, not a comma-split string):
//!
//! ```text
//! #[callback("tls.sni ~ 'netflix'", on = L4Terminated)]
//! fn log(hs: &TlsHandshake, conn: &ConnRecord) { ... }
//!
//! #[callback("tcp", on = L4InConn, streaming)]
//! fn count(p: &Packet) -> bool { ... }   // false unsubscribes the connection
//! ```

use proc_macro2::{Span, TokenStream};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{Ident, ItemFn, LitStr, Token};
use weir_conntrack::Transition;
use weir_ir::{CallbackSpec, IrError, SubscriptionSpec};

/// The arguments of `#[callback(...)]`.
#[derive(Clone, Debug)]
pub struct CallbackArgs {
    pub filter: Option<LitStr>,
    pub on: Option<(Ident, Transition)>,
    pub streaming: Option<Ident>,
    /// `streaming(packets = N)` / `streaming(seconds = N)` / `streaming(millis = N)`.
    pub every: Option<weir_ir::Every>,
    /// `export`: declared for other crates (a library's subscriptions).
    pub export: Option<Ident>,
}

pub(crate) fn transition(ident: &Ident) -> syn::Result<Transition> {
    let name = ident.to_string();
    Transition::ALL.into_iter().find(|t| t.name() == name).ok_or_else(|| {
        let all: Vec<&str> = Transition::ALL.iter().map(|t| t.name()).collect();
        syn::Error::new(ident.span(), format!("unknown transition `{name}`; expected one of {}", all.join(", ")))
    })
}

impl Parse for CallbackArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let mut args = CallbackArgs { filter: None, on: None, streaming: None, every: None, export: None };
        if input.peek(LitStr) {
            args.filter = Some(input.parse()?);
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        while !input.is_empty() {
            let key: Ident = input.parse()?;
            match key.to_string().as_str() {
                "on" => {
                    if args.on.is_some() {
                        return Err(syn::Error::new(key.span(), "`on` is given twice"));
                    }
                    input.parse::<Token![=]>()?;
                    let value: Ident = input.parse()?;
                    let t = transition(&value)?;
                    args.on = Some((value, t));
                }
                "export" => args.export = Some(key),
                "streaming" => {
                    if args.streaming.is_some() {
                        return Err(syn::Error::new(key.span(), "`streaming` is given twice"));
                    }
                    if input.peek(syn::token::Paren) {
                        let content;
                        syn::parenthesized!(content in input);
                        let unit: Ident = content.parse()?;
                        content.parse::<Token![=]>()?;
                        let n: syn::LitInt = content.parse()?;
                        let v: u64 = n.base10_parse()?;
                        if v == 0 {
                            return Err(syn::Error::new(n.span(), "a period must be at least 1"));
                        }
                        args.every = Some(match unit.to_string().as_str() {
                            "packets" | "events" => weir_ir::Every::Events(v),
                            "seconds" => weir_ir::Every::Nanos(v.saturating_mul(1_000_000_000)),
                            "millis" => weir_ir::Every::Nanos(v.saturating_mul(1_000_000)),
                            other => return Err(syn::Error::new(unit.span(), format!("unknown period `{other}`; expected `packets = N`, `seconds = N` or `millis = N`"))),
                        });
                    }
                    args.streaming = Some(key);
                }
                other => {
                    return Err(syn::Error::new(
                        key.span(),
                        format!("unknown argument `{other}`; expected a filter string, `on = <transition>`, `streaming` or `export`"),
                    ))
                }
            }
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(args)
    }
}

/// A subscription and where each of its parts is in the user's code.
#[derive(Clone, Debug)]
pub struct SpannedSubscription {
    pub spec: SubscriptionSpec,
    pub name: Span,
    pub filter: Span,
    pub on: Span,
    pub params: Vec<Span>,
}

impl SpannedSubscription {
    /// The span of the part an [`IrError`] names (`filter`, `param N`, `on`, `name`).
    pub fn span_of(&self, part: &str) -> Span {
        match part {
            "filter" => self.filter,
            "on" => self.on,
            p => p
                .strip_prefix("param ")
                .and_then(|i| i.parse::<usize>().ok())
                .and_then(|i| self.params.get(i).copied())
                .unwrap_or(self.name),
        }
    }

    /// The IR error as a compile error on the user's code.
    pub fn error(&self, e: &IrError) -> syn::Error {
        syn::Error::new(self.span_of(&e.part), message(&e.kind))
    }
}

/// An IR error's message for a compile error: a filter error already says
/// `error:` and draws its own caret, so it follows `invalid filter:` directly.
pub fn message(kind: &weir_ir::IrErrorKind) -> String {
    match kind {
        weir_ir::IrErrorKind::Filter(f) => format!("invalid filter: {}", f.strip_prefix("error: ").unwrap_or(f).trim_end()),
        k => k.to_string(),
    }
}

/// The data type a callback parameter names: `&T` or `&mut T`, by the last
/// path segment of `T` (`&weir::TlsHandshake` → `TlsHandshake`).
fn param_type(arg: &syn::FnArg) -> syn::Result<(String, Span)> {
    let bad = |span: Span| syn::Error::new(span, "a callback parameter is a reference to a data type, e.g. `hs: &TlsHandshake`");
    let syn::FnArg::Typed(pt) = arg else {
        return Err(bad(arg.span()));
    };
    let syn::Type::Reference(r) = &*pt.ty else {
        return Err(bad(pt.ty.span()));
    };
    let syn::Type::Path(p) = &*r.elem else {
        return Err(bad(r.elem.span()));
    };
    let last = p.path.segments.last().ok_or_else(|| bad(p.span()))?;
    Ok((last.ident.to_string(), r.elem.span()))
}

/// Parses `#[callback(args)]` on a function into a subscription spec.
pub fn callback_fn(args: TokenStream, item: &ItemFn) -> syn::Result<SpannedSubscription> {
    let args: CallbackArgs = syn::parse2(args)?;
    callback_sig(&args, &item.sig)
}

/// The data-type parameters of a signature (a `self` receiver is skipped).
pub fn data_params(sig: &syn::Signature) -> syn::Result<(Vec<String>, Vec<Span>)> {
    let mut params = Vec::new();
    let mut spans = Vec::new();
    let mut errors: Option<syn::Error> = None;
    for arg in sig.inputs.iter().filter(|a| !matches!(a, syn::FnArg::Receiver(_))) {
        match param_type(arg) {
            Ok((name, span)) => {
                params.push(name);
                spans.push(span);
            }
            Err(e) => match &mut errors {
                Some(all) => all.combine(e),
                None => errors = Some(e),
            },
        }
    }
    match errors {
        Some(e) => Err(e),
        None => Ok((params, spans)),
    }
}

/// A callback (function, or method of a stateful callback) with its arguments.
pub fn callback_sig(args: &CallbackArgs, sig: &syn::Signature) -> syn::Result<SpannedSubscription> {
    let (params, spans, mut errors) = match data_params(sig) {
        Ok((p, s)) => (p, s, None),
        Err(e) => (Vec::new(), Vec::new(), Some(e)),
    };
    let returns_bool = match &sig.output {
        syn::ReturnType::Default => false,
        syn::ReturnType::Type(_, ty) => match &**ty {
            syn::Type::Path(p) if p.path.is_ident("bool") => true,
            other => {
                let e = syn::Error::new(other.span(), "a callback returns nothing, or `bool` when it is streaming (`false` unsubscribes)");
                match &mut errors {
                    Some(all) => all.combine(e),
                    None => errors = Some(e),
                }
                false
            }
        },
    };
    if let Some(s) = &args.streaming {
        if !returns_bool {
            let at = match &sig.output {
                syn::ReturnType::Default => sig.ident.span(),
                syn::ReturnType::Type(_, ty) => ty.span(),
            };
            let mut e = syn::Error::new(at, "a streaming callback must return `bool` (`false` unsubscribes the connection)");
            e.combine(syn::Error::new(s.span(), "declared streaming here"));
            match &mut errors {
                Some(all) => all.combine(e),
                None => errors = Some(e),
            }
        }
    }
    if let Some(e) = errors {
        return Err(e);
    }
    let name = sig.ident.to_string();
    let spec = SubscriptionSpec {
        name: name.clone(),
        filter: args.filter.as_ref().map(LitStr::value).unwrap_or_default(),
        callback: CallbackSpec {
            name,
            stateful: false,
            streaming: args.streaming.is_some() || returns_bool,
            // A periodic callback counts packets unless told otherwise.
            on: args.on.as_ref().map(|(_, t)| *t).or(args.every.map(|_| Transition::L4InConn)),
            params,
            every: args.every,
        },
    };
    let name_span = sig.ident.span();
    Ok(SpannedSubscription {
        spec,
        name: name_span,
        filter: args.filter.as_ref().map_or(name_span, LitStr::span),
        on: args.on.as_ref().map_or(name_span, |(i, _)| i.span()),
        params: spans,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;
    use weir_ir::{compile, AppSpec};

    fn parse(args: TokenStream, item: TokenStream) -> syn::Result<SpannedSubscription> {
        let item: ItemFn = syn::parse2(item).unwrap();
        callback_fn(args, &item)
    }

    #[test]
    fn parses_filter_transition_params_and_streaming() {
        let s = parse(quote!("tls.sni ~ 'netflix'", on = L4Terminated), quote!(fn log(hs: &weir::TlsHandshake, c: &ConnRecord) {})).unwrap();
        assert_eq!(s.spec.filter, "tls.sni ~ 'netflix'");
        assert_eq!(s.spec.callback.on, Some(Transition::L4Terminated));
        assert_eq!(s.spec.callback.params, ["TlsHandshake", "ConnRecord"]);
        assert!(!s.spec.callback.streaming);
        let s = parse(quote!("tcp", on = L4InConn, streaming), quote!(fn count(p: &Packet) -> bool { true })).unwrap();
        assert!(s.spec.callback.streaming);
        let s = parse(quote!(), quote!(fn all(t: &FiveTuple) {})).unwrap();
        assert_eq!(s.spec.filter, "");
    }

    #[test]
    fn errors_name_the_bad_part() {
        let e = parse(quote!("tcp", on = L4Nope), quote!(fn f(t: &FiveTuple) {})).unwrap_err();
        assert!(e.to_string().starts_with("unknown transition `L4Nope`"), "{e}");
        let e = parse(quote!("tcp", colour = red), quote!(fn f(t: &FiveTuple) {})).unwrap_err();
        assert!(e.to_string().starts_with("unknown argument `colour`"), "{e}");
        let e = parse(quote!("tcp", streaming), quote!(fn f(p: &Packet) {})).unwrap_err();
        assert_eq!(e.to_string(), "a streaming callback must return `bool` (`false` unsubscribes the connection)");
        let e = parse(quote!("tcp"), quote!(fn f(t: FiveTuple) -> u32 { 0 })).unwrap_err();
        let all: Vec<String> = e.into_iter().map(|e| e.to_string()).collect();
        assert_eq!(all.len(), 2, "both mistakes reported together: {all:?}");
    }

    #[test]
    fn ir_errors_land_on_the_part_at_fault() {
        let s = parse(quote!("tls", on = L4FirstPacket), quote!(fn f(t: &FiveTuple, hs: &TlsHandshake) {})).unwrap();
        let app = AppSpec { subscriptions: vec![s.spec.clone()], ..Default::default() };
        let e = compile(&app, None).unwrap_err();
        assert_eq!(e.part, "param 1");
        let err = s.error(&e);
        assert_eq!(err.to_string(), "`TlsHandshake` is not available at L4FirstPacket (earliest: L7EndHeaders)");
        // Outside a macro the spans are call-site spans; inside rustc they are the user's tokens.
        let _ = s.span_of("param 1");
    }
}
