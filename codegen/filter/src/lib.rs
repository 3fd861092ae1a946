//! The weir filter language (`../shared/DESIGN.md` §2–3), one layer per
//! module and data flowing one way:
//!
//! text → [`ast::Ast`] (spans, prints back to source) → [`typed::Expr`]
//! (fields resolved against `weir_protocols::all_fields`, values checked)
//! → [`dnf::Dnf`] (normal form, expanded along the protocol layers, each
//! literal tagged with its [`typed::Stage`]) → [`trie::PredicateTrie`]
//! (many filters merged, with set lookups) and [`hw::HwFilter`] (NIC rules).
//! [`eval`] decides any of them against what is known about a connection.
//!
//! Guarantees: parsing is linear in the text and bounded by
//! [`parse::ParseOptions`] (nesting depth, size, includes); normal forms by
//! [`dnf::DnfOptions`]; tries by [`trie::TrieOptions`]. Every error carries
//! the span of the offending text and displays as a caret diagram. Nothing
//! here panics on any input.
//!
//! Cost of evaluation: a trie is walked once per decision point; a set node
//! costs one hash lookup, one binary search over merged address ranges, one
//! Aho-Corasick pass or one `RegexSet` pass, however many filters it serves.
#![forbid(unsafe_code)]

pub mod ast;
pub mod dnf;
pub mod error;
pub mod eval;
pub mod hw;
pub mod parse;
pub mod trie;
pub mod typed;

pub use error::{Error, ErrorKind, Span};
pub use eval::{Facts, L7State, PacketFacts, SessionFields, Subject, Verdict};

use std::path::PathBuf;

/// Everything about one filter: its source, AST, typed form and normal form.
#[derive(Clone, Debug)]
pub struct Filter {
    pub source: String,
    pub ast: ast::Ast,
    pub expr: typed::Expr,
    pub dnf: dnf::Dnf,
    /// Files read through `file=` (a build tracks them).
    pub files: Vec<PathBuf>,
}

/// All the limits and options of [`Filter::with_options`].
#[derive(Clone, Debug, Default)]
pub struct Options {
    pub parse: parse::ParseOptions,
    pub types: typed::TypeOptions,
    pub dnf: dnf::DnfOptions,
}

impl Filter {
    /// Parses, type-checks and normalises `source` with default options.
    pub fn new(source: &str) -> Result<Filter, Error> {
        Filter::with_options(source, &Options::default())
    }

    pub fn with_options(source: &str, opts: &Options) -> Result<Filter, Error> {
        let parsed = parse::parse_with(source, &opts.parse)?;
        let expr = typed::resolve_source(&parsed.ast, source, &opts.types)?;
        let dnf = dnf::to_dnf(&expr, &opts.dnf).map_err(|e| {
            Error::new(ErrorKind::TooLarge(e.to_string()), Span::new(0, source.len()), source)
        })?;
        Ok(Filter { source: source.to_string(), ast: parsed.ast, expr, dnf, files: parsed.files })
    }

    /// Direct evaluation of the typed expression.
    pub fn eval<S: Subject>(&self, s: &S) -> Verdict {
        eval::eval_expr(&self.expr, s)
    }
}
