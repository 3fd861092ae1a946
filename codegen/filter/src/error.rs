//! Filter errors: a kind, the byte span of the offending text, and that text,
//! displayed with a caret diagram under the bad part.

use std::fmt;
use std::path::PathBuf;

/// A half-open byte range `start..end` of a filter's source text.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub const fn new(start: usize, end: usize) -> Span {
        Span { start, end }
    }
    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span::new(self.start.min(other.start), self.end.max(other.end))
    }
}

/// What went wrong. The names are stable: the test corpus refers to them.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    #[error("the filter is empty")]
    Empty,
    #[error("unexpected character {0:?}")]
    UnexpectedChar(char),
    #[error("expected {expected}, found {found}")]
    Unexpected { expected: &'static str, found: String },
    #[error("expected {0}, found the end of the filter")]
    UnexpectedEnd(&'static str),
    #[error("unbalanced parenthesis")]
    UnbalancedParen,
    #[error("unterminated string")]
    UnterminatedString,
    #[error("invalid escape sequence in string")]
    BadEscape,
    #[error("invalid byte literal: {0}")]
    BadBytes(&'static str),
    #[error("invalid number")]
    BadNumber,
    #[error("invalid value {0:?} (strings must be quoted)")]
    BadValue(String),
    #[error("invalid IP address")]
    BadAddress,
    #[error("prefix length /{len} is longer than the address ({max} bits): the subnet is empty")]
    EmptySubnet { len: u32, max: u32 },
    #[error("the range is empty: {0}")]
    ImpossibleRange(String),
    #[error("value {value} does not fit field `{field}` of type {ty}")]
    OutOfRange { field: String, value: String, ty: &'static str },
    #[error("unknown protocol or predicate `{0}`")]
    UnknownProtocol(String),
    #[error("unknown field `{name}`{}", suggestion.as_ref().map(|s| format!(" (did you mean `{s}`?)")).unwrap_or_default())]
    UnknownField { name: String, suggestion: Option<String> },
    #[error("`{field}` is of type {ty}: {problem}")]
    TypeMismatch { field: String, ty: &'static str, problem: String },
    #[error("invalid regular expression: {0}")]
    InvalidRegex(String),
    #[error("an empty set `{{}}` matches nothing")]
    EmptySet,
    #[error("nesting deeper than {0} levels")]
    NestingTooDeep(usize),
    #[error("filter too large: {0}")]
    TooLarge(String),
    #[error("cannot read filter file {path}: {message}")]
    File { path: PathBuf, message: String },
}

impl ErrorKind {
    /// The variant name (`UnknownField`, ...), as the test corpus spells it.
    pub fn name(&self) -> &'static str {
        match self {
            ErrorKind::Empty => "Empty",
            ErrorKind::UnexpectedChar(_) => "UnexpectedChar",
            ErrorKind::Unexpected { .. } => "Unexpected",
            ErrorKind::UnexpectedEnd(_) => "UnexpectedEnd",
            ErrorKind::UnbalancedParen => "UnbalancedParen",
            ErrorKind::UnterminatedString => "UnterminatedString",
            ErrorKind::BadEscape => "BadEscape",
            ErrorKind::BadBytes(_) => "BadBytes",
            ErrorKind::BadNumber => "BadNumber",
            ErrorKind::BadValue(_) => "BadValue",
            ErrorKind::BadAddress => "BadAddress",
            ErrorKind::EmptySubnet { .. } => "EmptySubnet",
            ErrorKind::ImpossibleRange(_) => "ImpossibleRange",
            ErrorKind::OutOfRange { .. } => "OutOfRange",
            ErrorKind::UnknownProtocol(_) => "UnknownProtocol",
            ErrorKind::UnknownField { .. } => "UnknownField",
            ErrorKind::TypeMismatch { .. } => "TypeMismatch",
            ErrorKind::InvalidRegex(_) => "InvalidRegex",
            ErrorKind::EmptySet => "EmptySet",
            ErrorKind::NestingTooDeep(_) => "NestingTooDeep",
            ErrorKind::TooLarge(_) => "TooLarge",
            ErrorKind::File { .. } => "File",
        }
    }
}

/// A filter error: kind, span, and the source text the span points into
/// (the filter, or one line of a `file=` include, named by `origin`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Error {
    pub kind: ErrorKind,
    pub span: Span,
    pub source: String,
    /// For an error inside a `file=` include: the file and the 1-based line.
    pub origin: Option<(PathBuf, usize)>,
}

impl Error {
    pub(crate) fn new(kind: ErrorKind, span: Span, source: &str) -> Error {
        Error { kind, span, source: source.to_string(), origin: None }
    }
}

impl std::error::Error for Error {}

impl fmt::Display for Error {
    /// ```text
    /// error: unknown field `tls.snii` (did you mean `tls.sni`?)
    ///   |
    /// 1 | tls.snii = 'a'
    ///   | ^^^^^^^^
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "error: {}", self.kind)?;
        if let Some((path, line)) = &self.origin {
            writeln!(f, "  --> {}:{line}", path.display())?;
        }
        // Show the line holding the span start; filters are usually one line.
        // Spans are byte offsets; clamp them onto character boundaries so a
        // span from another text can never make the diagram panic.
        let floor = |mut i: usize| {
            i = i.min(self.source.len());
            while !self.source.is_char_boundary(i) {
                i -= 1;
            }
            i
        };
        let start = floor(self.span.start);
        let line_start = self.source[..start].rfind('\n').map_or(0, |i| i + 1);
        let line_end = self.source[start..].find('\n').map_or(self.source.len(), |i| start + i);
        let line = &self.source[line_start..line_end];
        let line_no = self.origin.as_ref().map_or_else(|| self.source[..line_start].matches('\n').count() + 1, |o| o.1);
        let gutter = line_no.to_string();
        let pad = " ".repeat(gutter.len());
        writeln!(f, "{pad} |")?;
        writeln!(f, "{gutter} | {line}")?;
        // Columns in characters, so multi-byte text lines up.
        let col = self.source[line_start..start].chars().count();
        let end = floor(self.span.end).clamp(start, line_end);
        let width = self.source[start..end].chars().count().max(1);
        write!(f, "{pad} | {}{}", " ".repeat(col), "^".repeat(width))
    }
}

pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caret_under_span() {
        let e = Error::new(ErrorKind::UnknownProtocol("tlz".into()), Span::new(8, 11), "tcp and tlz");
        assert_eq!(
            e.to_string(),
            "error: unknown protocol or predicate `tlz`\n  |\n1 | tcp and tlz\n  |         ^^^"
        );
    }

    #[test]
    fn caret_at_end_and_multibyte() {
        let e = Error::new(ErrorKind::UnexpectedEnd("a value"), Span::new(13, 13), "tls.sni = 'é'");
        // The caret sits under the closing quote: column 12 in characters (byte 13).
        assert!(e.to_string().ends_with(&format!("1 | tls.sni = 'é'\n  | {}^", " ".repeat(12))), "{e}");
    }
}
