//! The built-in data types are declared with `#[datatype]`, exactly like a
//! user's: their declarations in `framework/weir/src/datatypes.rs`, read by
//! the same parser the macro uses, must equal the IR's built-in table.

use weir_codegen::items::{parse_datatype, weir_attr};

#[test]
fn builtin_declarations_match_the_ir_table() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../framework/weir/src/datatypes.rs");
    let src = std::fs::read_to_string(path).unwrap();
    let file = syn::parse_file(&src).unwrap();
    let mut declared = Vec::new();
    for item in &file.items {
        let syn::Item::Impl(imp) = item else { continue };
        for a in imp.attrs.iter().filter(|a| weir_attr(a).as_deref() == Some("datatype")) {
            let args = match &a.meta {
                syn::Meta::List(l) => l.tokens.clone(),
                _ => proc_macro2::TokenStream::new(),
            };
            let d = parse_datatype(args, imp).unwrap_or_else(|e| panic!("{e}"));
            let table = weir_ir::builtins::get(&d.spec.name).unwrap_or_else(|| panic!("`{}` is declared but not in the IR's table", d.spec.name));
            assert_eq!(d.spec, table, "declaration and table differ for `{}`", d.spec.name);
            declared.push(d.spec.name);
        }
    }
    // Every built-in except the packet-level aliases (borrowed from the event) is declared.
    for b in weir_ir::builtins::all() {
        if b.level != weir_ir::Level::Packet {
            assert!(declared.contains(&b.name), "`{}` has no #[datatype] declaration", b.name);
        }
    }
    assert_eq!(declared.len(), 17, "{declared:?}");
}
