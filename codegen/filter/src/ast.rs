//! The filter AST: exactly what was written, with spans, before any name is
//! resolved. [`Ast`]'s `Display` prints source text that parses back to an
//! equal AST (spans aside; see [`Ast::without_spans`]).

use crate::error::Span;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// A filter expression. `And`/`Or` are n-ary and flat (an `And` never holds
/// an `And` directly); parentheses are not kept.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Ast {
    Or { items: Vec<Ast>, span: Span },
    And { items: Vec<Ast>, span: Span },
    Not { inner: Box<Ast>, span: Span },
    /// A bare name: a protocol (`tls`), a boolean field (`tcp.syn`) or a user predicate.
    Name { name: String, span: Span },
    /// `field OP value`.
    Compare { field: String, field_span: Span, op: Op, op_span: Span, value: Value, value_span: Span },
    /// `file=path`: one filter per non-blank, non-`#` line, or-ed together.
    /// Spans inside `lines` point into each line's own text.
    File { path: String, span: Span, full_path: std::path::PathBuf, lines: Vec<IncludedLine> },
}

/// One filter line of a `file=` include.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncludedLine {
    /// 1-based line number in the file.
    pub line: usize,
    pub text: String,
    pub ast: Ast,
}

/// A binary operator.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    Matches,
    Contains,
    NotContains,
}

impl Op {
    pub const fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::In => "in",
            Op::Matches => "~",
            Op::Contains => "contains",
            Op::NotContains => "not contains",
        }
    }
}

/// A literal value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Value {
    Int(u64),
    /// `lo..hi` (exclusive) or `lo..=hi`.
    Range { lo: u64, hi: u64, inclusive: bool },
    Bool(bool),
    /// An address with an optional prefix length (`10.0.0.0/8`).
    Ipv4 { addr: Ipv4Addr, len: Option<u8> },
    Ipv6 { addr: Ipv6Addr, len: Option<u8> },
    Str(String),
    /// `|16 03 01|`.
    Bytes(Vec<u8>),
    /// `{v1, v2, ...}`; never nested.
    Set(Vec<(Value, Span)>),
}

impl Ast {
    pub fn span(&self) -> Span {
        match self {
            Ast::Or { span, .. } | Ast::And { span, .. } | Ast::Not { span, .. } | Ast::Name { span, .. } | Ast::File { span, .. } => *span,
            Ast::Compare { field_span, value_span, .. } => field_span.to(*value_span),
        }
    }

    /// The same tree with every span zeroed: equality "as written".
    pub fn without_spans(&self) -> Ast {
        let z = Span::default();
        match self {
            Ast::Or { items, .. } => Ast::Or { items: items.iter().map(Ast::without_spans).collect(), span: z },
            Ast::And { items, .. } => Ast::And { items: items.iter().map(Ast::without_spans).collect(), span: z },
            Ast::Not { inner, .. } => Ast::Not { inner: Box::new(inner.without_spans()), span: z },
            Ast::Name { name, .. } => Ast::Name { name: name.clone(), span: z },
            Ast::Compare { field, op, value, .. } => Ast::Compare {
                field: field.clone(),
                field_span: z,
                op: *op,
                op_span: z,
                value: value.without_spans(),
                value_span: z,
            },
            Ast::File { path, full_path, lines, .. } => Ast::File {
                path: path.clone(),
                span: z,
                full_path: full_path.clone(),
                lines: lines.iter().map(|l| IncludedLine { line: l.line, text: l.text.clone(), ast: l.ast.without_spans() }).collect(),
            },
        }
    }

    /// Number of nodes (for size limits and statistics).
    pub fn size(&self) -> usize {
        let mut n = 0;
        let mut stack = vec![self];
        while let Some(a) = stack.pop() {
            n += 1;
            match a {
                Ast::Or { items, .. } | Ast::And { items, .. } => stack.extend(items),
                Ast::Not { inner, .. } => stack.push(inner),
                Ast::File { lines, .. } => stack.extend(lines.iter().map(|l| &l.ast)),
                Ast::Name { .. } | Ast::Compare { .. } => {}
            }
        }
        n
    }
}

impl Value {
    fn without_spans(&self) -> Value {
        match self {
            Value::Set(items) => Value::Set(items.iter().map(|(v, _)| (v.without_spans(), Span::default())).collect()),
            v => v.clone(),
        }
    }
}

/// Binding strength, for parentheses when printing.
fn precedence(a: &Ast) -> u8 {
    match a {
        Ast::Or { .. } => 0,
        Ast::And { .. } => 1,
        _ => 2,
    }
}

fn write_child(f: &mut fmt::Formatter<'_>, child: &Ast, min: u8) -> fmt::Result {
    if precedence(child) < min {
        write!(f, "({child})")
    } else {
        write!(f, "{child}")
    }
}

impl fmt::Display for Ast {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ast::Or { items, .. } | Ast::And { items, .. } => {
                let (sep, min) = if matches!(self, Ast::Or { .. }) { (" or ", 1) } else { (" and ", 2) };
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(sep)?;
                    }
                    write_child(f, item, min)?;
                }
                Ok(())
            }
            Ast::Not { inner, .. } => {
                f.write_str("not ")?;
                write_child(f, inner, 2)
            }
            Ast::Name { name, .. } => f.write_str(name),
            Ast::Compare { field, op, value, .. } => write!(f, "{field} {} {value}", op.as_str()),
            Ast::File { path, .. } => {
                f.write_str("file=")?;
                write_str_literal(f, path)
            }
        }
    }
}

fn write_str_literal(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("'")?;
    for c in s.chars() {
        match c {
            '\'' => f.write_str("\\'")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            '\0' => f.write_str("\\0")?,
            c if c.is_control() => write!(f, "\\u{{{:x}}}", c as u32)?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("'")
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(n) => write!(f, "{n}"),
            Value::Range { lo, hi, inclusive } => write!(f, "{lo}..{}{hi}", if *inclusive { "=" } else { "" }),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Ipv4 { addr, len } => {
                write!(f, "{addr}")?;
                len.map_or(Ok(()), |l| write!(f, "/{l}"))
            }
            Value::Ipv6 { addr, len } => {
                write!(f, "{addr}")?;
                len.map_or(Ok(()), |l| write!(f, "/{l}"))
            }
            Value::Str(s) => write_str_literal(f, s),
            Value::Bytes(b) => {
                f.write_str("|")?;
                for (i, x) in b.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "{x:02x}")?;
                }
                f.write_str("|")
            }
            Value::Set(items) => {
                f.write_str("{")?;
                for (i, (v, _)) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{v}")?;
                }
                f.write_str("}")
            }
        }
    }
}
