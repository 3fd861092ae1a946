//! Text → [`Ast`]: a hand-written recursive-descent parser with explicit
//! limits (nesting depth, source length, number of predicates, include
//! depth). Precedence: `not` > `and` > `or`.
//!
//! Grammar (whitespace between tokens is free):
//!
//! ```text
//! expr    := and (("or" | "||") and)*
//! and     := unary (("and" | "&&") unary)*
//! unary   := ("not" | "!") unary | primary
//! primary := "(" expr ")" | "file=" path | name [op value]
//! op      := "=" | "==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "~" | "matches"
//!          | "contains" | "not contains"
//! value   := int | int ".." int | int "..=" int | ipv4["/"len] | ipv6["/"len]
//!          | 'str' | "str" | "|" hex bytes "|" | "true" | "false" | "{" value ("," value)* "}"
//! ```

use crate::ast::{Ast, IncludedLine, Op, Value};
use crate::error::{Error, ErrorKind, Result, Span};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

/// Limits and the base directory for `file=` includes.
#[derive(Clone, Debug)]
pub struct ParseOptions {
    /// Deepest nesting of parentheses and `not` (default 64).
    pub max_depth: usize,
    /// Longest filter text in bytes, includes counted separately (default 1 MiB).
    pub max_len: usize,
    /// Most predicates in one filter, includes included (default 200,000).
    pub max_predicates: usize,
    /// Deepest chain of `file=` includes (default 4).
    pub max_include_depth: usize,
    /// Relative `file=` paths are resolved against this directory (default: the current one).
    pub base_dir: Option<PathBuf>,
}

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions { max_depth: 64, max_len: 1 << 20, max_predicates: 200_000, max_include_depth: 4, base_dir: None }
    }
}

/// A parsed filter and the files it included (so a build can track them).
#[derive(Clone, Debug)]
pub struct Parsed {
    pub ast: Ast,
    pub files: Vec<PathBuf>,
}

/// Parses `src` with default options.
pub fn parse(src: &str) -> Result<Ast> {
    parse_with(src, &ParseOptions::default()).map(|p| p.ast)
}

/// Parses `src`.
pub fn parse_with(src: &str, opts: &ParseOptions) -> Result<Parsed> {
    let mut files = Vec::new();
    let mut predicates = 0;
    let ast = parse_inner(src, opts, 0, &mut files, &mut predicates)?;
    Ok(Parsed { ast, files })
}

fn parse_inner(src: &str, opts: &ParseOptions, include_depth: usize, files: &mut Vec<PathBuf>, predicates: &mut usize) -> Result<Ast> {
    if src.len() > opts.max_len {
        return Err(Error::new(
            ErrorKind::TooLarge(format!("{} bytes of filter text (limit {})", src.len(), opts.max_len)),
            Span::new(0, 0),
            "",
        ));
    }
    let mut p = Parser { src, pos: 0, depth: 0, opts, include_depth, files, predicates };
    p.skip_ws();
    if p.pos == src.len() {
        return Err(p.err(ErrorKind::Empty, Span::new(0, src.len())));
    }
    let ast = p.expr()?;
    p.skip_ws();
    if p.pos < src.len() {
        let c = p.peek().unwrap_or(' ');
        let kind = if c == ')' {
            ErrorKind::UnbalancedParen
        } else {
            ErrorKind::Unexpected { expected: "`and`, `or` or the end of the filter", found: p.describe_here() }
        };
        return Err(p.err(kind, p.token_span()));
    }
    Ok(ast)
}

struct Parser<'s, 'o> {
    src: &'s str,
    pos: usize,
    depth: usize,
    opts: &'o ParseOptions,
    include_depth: usize,
    files: &'o mut Vec<PathBuf>,
    predicates: &'o mut usize,
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '.'
}
/// Characters of an unquoted value: numbers, addresses, prefixes, ranges.
fn is_bare_value_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | ':' | '/' | '=' | '_' | '-')
}

impl<'s> Parser<'s, '_> {
    fn err(&self, kind: ErrorKind, span: Span) -> Error {
        Error::new(kind, span, self.src)
    }
    fn rest(&self) -> &'s str {
        &self.src[self.pos..]
    }
    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }
    fn skip_ws(&mut self) {
        let trimmed = self.rest().trim_start();
        self.pos = self.src.len() - trimmed.len();
    }
    /// The word at `pos` (name characters), without consuming it.
    fn word(&self) -> &str {
        let r = self.rest();
        let end = r.find(|c: char| !is_name_char(c)).unwrap_or(r.len());
        &r[..end]
    }
    /// True (and consumed) when the next token is the keyword `kw`.
    fn keyword(&mut self, kw: &str) -> bool {
        if self.word() == kw {
            self.pos += kw.len();
            true
        } else {
            false
        }
    }
    fn symbol(&mut self, s: &str) -> bool {
        if self.rest().starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }
    /// Span of the token at `pos` (a word, or one character), for errors.
    fn token_span(&self) -> Span {
        let w = self.word().len();
        let len = if w > 0 { w } else { self.peek().map_or(0, char::len_utf8) };
        Span::new(self.pos, self.pos + len)
    }
    fn describe_here(&self) -> String {
        match self.peek() {
            None => "the end of the filter".into(),
            Some(_) if !self.word().is_empty() => format!("`{}`", self.word()),
            Some(c) => format!("{c:?}"),
        }
    }
    fn enter(&mut self, at: Span) -> Result<()> {
        self.depth += 1;
        if self.depth > self.opts.max_depth {
            return Err(self.err(ErrorKind::NestingTooDeep(self.opts.max_depth), at));
        }
        Ok(())
    }
    fn count_predicate(&mut self, at: Span) -> Result<()> {
        *self.predicates += 1;
        if *self.predicates > self.opts.max_predicates {
            return Err(self.err(ErrorKind::TooLarge(format!("more than {} predicates", self.opts.max_predicates)), at));
        }
        Ok(())
    }

    fn expr(&mut self) -> Result<Ast> {
        let first = self.and()?;
        let mut items = vec![first];
        loop {
            self.skip_ws();
            if !(self.symbol("||") || self.keyword("or")) {
                break;
            }
            self.skip_ws();
            items.push(self.and()?);
        }
        Ok(join(items, |items, span| Ast::Or { items, span }))
    }

    fn and(&mut self) -> Result<Ast> {
        let first = self.unary()?;
        let mut items = vec![first];
        loop {
            self.skip_ws();
            if !(self.symbol("&&") || self.keyword("and")) {
                break;
            }
            self.skip_ws();
            items.push(self.unary()?);
        }
        Ok(join(items, |items, span| Ast::And { items, span }))
    }

    fn unary(&mut self) -> Result<Ast> {
        self.skip_ws();
        let start = self.pos;
        let negated = if self.rest().starts_with('!') && !self.rest().starts_with("!=") {
            self.pos += 1;
            true
        } else {
            self.keyword("not")
        };
        if negated {
            self.enter(Span::new(start, self.pos))?;
            self.skip_ws();
            let inner = self.unary()?;
            self.depth -= 1;
            let span = Span::new(start, inner.span().end);
            return Ok(Ast::Not { inner: Box::new(inner), span });
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Ast> {
        self.skip_ws();
        let start = self.pos;
        match self.peek() {
            None => Err(self.err(ErrorKind::UnexpectedEnd("a predicate"), Span::new(self.pos, self.pos))),
            Some('(') => {
                self.pos += 1;
                self.enter(Span::new(start, start + 1))?;
                self.skip_ws();
                if self.peek() == Some(')') {
                    return Err(self.err(ErrorKind::Unexpected { expected: "a predicate", found: "`)`".into() }, self.token_span()));
                }
                let inner = self.expr()?;
                self.skip_ws();
                if !self.symbol(")") {
                    return Err(self.err(ErrorKind::UnbalancedParen, Span::new(start, start + 1)));
                }
                self.depth -= 1;
                Ok(inner)
            }
            Some(c) if is_name_start(c) => {
                let name = self.word().to_string();
                let name_span = Span::new(start, start + name.len());
                if name == "file" && self.src[name_span.end..].starts_with('=') && !self.src[name_span.end..].starts_with("==") {
                    self.pos = name_span.end + 1;
                    return self.file(start);
                }
                if matches!(name.as_str(), "and" | "or" | "in" | "contains" | "matches" | "true" | "false" | "file") {
                    return Err(self.err(ErrorKind::Unexpected { expected: "a predicate", found: format!("`{name}`") }, name_span));
                }
                self.pos = name_span.end;
                self.count_predicate(name_span)?;
                let save = self.pos;
                self.skip_ws();
                let op_start = self.pos;
                let Some(op) = self.op() else {
                    self.pos = save;
                    return Ok(Ast::Name { name, span: name_span });
                };
                let op_span = Span::new(op_start, self.pos);
                self.skip_ws();
                let value_start = self.pos;
                let value = self.value(false)?;
                let value_span = Span::new(value_start, self.pos);
                Ok(Ast::Compare { field: name, field_span: name_span, op, op_span, value, value_span })
            }
            Some(c) => Err(self.err(ErrorKind::UnexpectedChar(c), Span::new(self.pos, self.pos + c.len_utf8()))),
        }
    }

    fn op(&mut self) -> Option<Op> {
        for (sym, op) in [("==", Op::Eq), ("!=", Op::Ne), ("<=", Op::Le), (">=", Op::Ge), ("=", Op::Eq), ("<", Op::Lt), (">", Op::Gt), ("~", Op::Matches)] {
            if self.symbol(sym) {
                return Some(op);
            }
        }
        for (kw, op) in [("in", Op::In), ("matches", Op::Matches), ("contains", Op::Contains)] {
            if self.keyword(kw) {
                return Some(op);
            }
        }
        // `not contains`; a bare `not` here is not an operator.
        let save = self.pos;
        if self.keyword("not") {
            self.skip_ws();
            if self.keyword("contains") {
                return Some(Op::NotContains);
            }
        }
        self.pos = save;
        None
    }

    fn value(&mut self, in_set: bool) -> Result<Value> {
        let start = self.pos;
        match self.peek() {
            None => Err(self.err(ErrorKind::UnexpectedEnd("a value"), Span::new(self.pos, self.pos))),
            Some(q @ ('\'' | '"')) => {
                self.pos += 1;
                self.string(q, start).map(Value::Str)
            }
            Some('|') => self.bytes(start).map(Value::Bytes),
            Some('{') if !in_set => {
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    if self.symbol("}") {
                        break;
                    }
                    if !items.is_empty() && self.symbol(",") {
                        self.skip_ws();
                    }
                    let s = self.pos;
                    if self.peek().is_none() {
                        return Err(self.err(ErrorKind::UnexpectedEnd("`}`"), Span::new(self.pos, self.pos)));
                    }
                    let v = self.value(true)?;
                    items.push((v, Span::new(s, self.pos)));
                }
                if items.is_empty() {
                    return Err(self.err(ErrorKind::EmptySet, Span::new(start, self.pos)));
                }
                Ok(Value::Set(items))
            }
            Some(c) if is_bare_value_char(c) => {
                let r = self.rest();
                let end = r.find(|c: char| !is_bare_value_char(c)).unwrap_or(r.len());
                let text = &r[..end];
                self.pos += end;
                bare_value(text).map_err(|k| self.err(k, Span::new(start, self.pos)))
            }
            Some(c) => Err(self.err(ErrorKind::Unexpected { expected: "a value", found: format!("{c:?}") }, Span::new(start, start + c.len_utf8()))),
        }
    }

    /// After the opening quote `q` at `start`.
    fn string(&mut self, q: char, start: usize) -> Result<String> {
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(self.err(ErrorKind::UnterminatedString, Span::new(start, self.src.len())));
            };
            let at = self.pos;
            self.pos += c.len_utf8();
            if c == q {
                return Ok(out);
            }
            if c != '\\' {
                out.push(c);
                continue;
            }
            let bad = |p: &Self| p.err(ErrorKind::BadEscape, Span::new(at, p.pos.min(p.src.len())));
            let Some(e) = self.peek() else {
                return Err(self.err(ErrorKind::UnterminatedString, Span::new(start, self.src.len())));
            };
            self.pos += e.len_utf8();
            match e {
                '\\' | '\'' | '"' => out.push(e),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                '0' => out.push('\0'),
                'x' => {
                    let hex = self.rest().get(..2).ok_or_else(|| bad(self))?;
                    let v = u8::from_str_radix(hex, 16).map_err(|_| bad(self))?;
                    if v > 0x7f {
                        self.pos += 2;
                        return Err(bad(self));
                    }
                    self.pos += 2;
                    out.push(v as char);
                }
                'u' => {
                    if !self.symbol("{") {
                        return Err(bad(self));
                    }
                    let close = self.rest().find('}').filter(|&i| i <= 6).ok_or_else(|| bad(self))?;
                    let v = u32::from_str_radix(&self.rest()[..close], 16).ok().and_then(char::from_u32);
                    self.pos += close + 1;
                    out.push(v.ok_or_else(|| bad(self))?);
                }
                _ => return Err(bad(self)),
            }
        }
    }

    fn bytes(&mut self, start: usize) -> Result<Vec<u8>> {
        self.pos += 1;
        let Some(close) = self.rest().find('|') else {
            return Err(self.err(ErrorKind::BadBytes("missing closing `|`"), Span::new(start, self.src.len())));
        };
        let body = &self.rest()[..close];
        self.pos += close + 1;
        let span = Span::new(start, self.pos);
        let digits: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        if digits.is_empty() {
            return Err(self.err(ErrorKind::BadBytes("no bytes between the bars"), span));
        }
        if digits.len() % 2 != 0 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(self.err(ErrorKind::BadBytes("expected pairs of hex digits"), span));
        }
        // Pairs must not straddle a space: `|1 60 3|` is an error.
        if body.split_whitespace().any(|w| w.len() % 2 != 0) {
            return Err(self.err(ErrorKind::BadBytes("expected pairs of hex digits"), span));
        }
        Ok((0..digits.len()).step_by(2).map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap_or(0)).collect())
    }

    /// `file=` already consumed; reads the path, then the file.
    fn file(&mut self, start: usize) -> Result<Ast> {
        let path_start = self.pos;
        let path = match self.peek() {
            Some(q @ ('\'' | '"')) => {
                self.pos += 1;
                self.string(q, path_start)?
            }
            _ => {
                let r = self.rest();
                let end = r.find(|c: char| c.is_whitespace() || c == ')').unwrap_or(r.len());
                self.pos += end;
                r[..end].to_string()
            }
        };
        let span = Span::new(start, self.pos);
        if path.is_empty() {
            return Err(self.err(ErrorKind::UnexpectedEnd("a file path"), span));
        }
        if self.include_depth >= self.opts.max_include_depth {
            return Err(self.err(ErrorKind::NestingTooDeep(self.opts.max_include_depth), span));
        }
        let full = match &self.opts.base_dir {
            Some(dir) if Path::new(&path).is_relative() => dir.join(&path),
            _ => PathBuf::from(&path),
        };
        let text = read_bounded(&full, self.opts.max_len).map_err(|message| self.err(ErrorKind::File { path: full.clone(), message }, span))?;
        self.files.push(full.clone());
        let mut lines = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let ast = parse_inner(line, self.opts, self.include_depth + 1, self.files, self.predicates).map_err(|mut e| {
                if e.origin.is_none() {
                    e.origin = Some((full.clone(), i + 1));
                }
                e
            })?;
            lines.push(IncludedLine { line: i + 1, text: line.to_string(), ast });
        }
        if lines.is_empty() {
            return Err(self.err(ErrorKind::File { path: full, message: "no filter lines in the file".into() }, span));
        }
        Ok(Ast::File { path, span, full_path: full, lines })
    }
}

/// One item stays itself; several become an n-ary node, flattening children
/// of the same kind so that parenthesised `a and (b and c)` equals `a and b and c`.
fn join(items: Vec<Ast>, make: impl Fn(Vec<Ast>, Span) -> Ast) -> Ast {
    if items.len() == 1 {
        return items.into_iter().next().unwrap_or(Ast::Name { name: String::new(), span: Span::default() });
    }
    let span = items[0].span().to(items[items.len() - 1].span());
    let probe = make(Vec::new(), span);
    let mut flat = Vec::with_capacity(items.len());
    for item in items {
        match (item, &probe) {
            (Ast::And { items, .. }, Ast::And { .. }) | (Ast::Or { items, .. }, Ast::Or { .. }) => flat.extend(items),
            (item, _) => flat.push(item),
        }
    }
    make(flat, span)
}

/// Reads a `file=` include: a regular file of at most `max_len` bytes of UTF-8
/// (so `/dev/zero` or a FIFO cannot exhaust memory or block).
fn read_bounded(path: &Path, max_len: usize) -> std::result::Result<String, String> {
    use std::io::Read;
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    let mut buf = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(max_len as u64 + 1).read_to_end(&mut buf))
        .map_err(|e| e.to_string())?;
    if buf.len() > max_len {
        return Err(format!("larger than the {max_len}-byte filter limit"));
    }
    String::from_utf8(buf).map_err(|_| "not UTF-8 text".into())
}

fn int(text: &str) -> Option<u64> {
    if let Some(hex) = text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()
    } else if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        text.parse().ok()
    } else {
        None
    }
}

/// An unquoted value: integer, range, address, prefix, boolean.
fn bare_value(text: &str) -> std::result::Result<Value, ErrorKind> {
    if text == "true" || text == "false" {
        return Ok(Value::Bool(text == "true"));
    }
    if let Some((lo, hi)) = text.split_once("..") {
        let (hi, inclusive) = match hi.strip_prefix('=') {
            Some(h) => (h, true),
            None => (hi, false),
        };
        let (Some(lo), Some(hi)) = (int(lo), int(hi)) else {
            return Err(ErrorKind::BadNumber);
        };
        if (inclusive && lo > hi) || (!inclusive && lo >= hi) {
            let shown = format!("{lo}..{}{hi}", if inclusive { "=" } else { "" });
            return Err(ErrorKind::ImpossibleRange(format!("{shown} contains no integer")));
        }
        return Ok(Value::Range { lo, hi, inclusive });
    }
    let (addr, len) = match text.split_once('/') {
        Some((a, l)) => {
            let len: u32 = l.parse().map_err(|_| ErrorKind::BadAddress)?;
            (a, Some(len))
        }
        None => (text, None),
    };
    // Letters that no address or number has: an unquoted string.
    let looks_textual = |t: &str, ok: fn(char) -> bool| len.is_none() && t.chars().any(|c| !ok(c));
    if addr.contains(':') {
        if looks_textual(addr, |c| c.is_ascii_hexdigit() || c == ':' || c == '.') {
            return Err(ErrorKind::BadValue(text.to_string()));
        }
        let addr: Ipv6Addr = addr.parse().map_err(|_| ErrorKind::BadAddress)?;
        return Ok(Value::Ipv6 { addr, len: prefix_len(len, 128)? });
    }
    if addr.contains('.') {
        if looks_textual(addr, |c| c.is_ascii_digit() || c == '.') {
            return Err(ErrorKind::BadValue(text.to_string()));
        }
        let addr: Ipv4Addr = addr.parse().map_err(|_| ErrorKind::BadAddress)?;
        return Ok(Value::Ipv4 { addr, len: prefix_len(len, 32)? });
    }
    if len.is_some() {
        return Err(ErrorKind::BadAddress);
    }
    if let Some(n) = int(text) {
        return Ok(Value::Int(n));
    }
    if text.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(ErrorKind::BadNumber);
    }
    Err(ErrorKind::BadValue(text.to_string()))
}

fn prefix_len(len: Option<u32>, max: u32) -> std::result::Result<Option<u8>, ErrorKind> {
    match len {
        Some(l) if l > max => Err(ErrorKind::EmptySubnet { len: l, max }),
        Some(l) => Ok(Some(l as u8)),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(src: &str) -> Ast {
        parse(src).unwrap_or_else(|e| panic!("{src}: {e}"))
    }
    fn kind(src: &str) -> String {
        parse(src).expect_err(src).kind.name().to_string()
    }

    #[test]
    fn precedence_and_printing() {
        assert_eq!(ok("a or b and not c").to_string(), "a or b and not c");
        assert_eq!(ok("(a or b) and c").to_string(), "(a or b) and c");
        assert_eq!(ok("a && (b && c) || !d").to_string(), "a and b and c or not d");
        assert_eq!(ok("not (a and b)").to_string(), "not (a and b)");
        assert_eq!(ok("tcp.port not contains 'x'").to_string(), "tcp.port not contains 'x'");
    }

    #[test]
    fn values() {
        assert_eq!(ok("tcp.port in 1000..2000").to_string(), "tcp.port in 1000..2000");
        assert_eq!(ok("tcp.port in 0x10..=0x20").to_string(), "tcp.port in 16..=32");
        assert_eq!(ok("ipv4.addr in 10.0.0.0/8").to_string(), "ipv4.addr in 10.0.0.0/8");
        assert_eq!(ok("ipv6.addr = 2001:db8::/32").to_string(), "ipv6.addr = 2001:db8::/32");
        assert_eq!(ok(r#"tls.sni = "a\"b\x41\u{e9}""#).to_string(), "tls.sni = 'a\"bAé'");
        assert_eq!(ok("tcp.payload contains |16 03 01|").to_string(), "tcp.payload contains |16 03 01|");
        assert_eq!(ok("tcp.port in {80 443, 8080}").to_string(), "tcp.port in {80, 443, 8080}");
    }

    #[test]
    fn errors_have_kinds_and_spans() {
        assert_eq!(kind(""), "Empty");
        assert_eq!(kind("tcp and"), "UnexpectedEnd");
        assert_eq!(kind("(tcp"), "UnbalancedParen");
        assert_eq!(kind("tcp)"), "UnbalancedParen");
        assert_eq!(kind("tls.sni = 'abc"), "UnterminatedString");
        assert_eq!(kind("tls.sni = 'a\\q'"), "BadEscape");
        assert_eq!(kind("tls.sni = abc"), "BadValue");
        assert_eq!(kind("tcp.port in 20..10"), "ImpossibleRange");
        assert_eq!(kind("tcp.port in 10..10"), "ImpossibleRange");
        assert_eq!(kind("ipv4.addr in 10.0.0.0/33"), "EmptySubnet");
        assert_eq!(kind("ipv4.addr = 10.0.0.300"), "BadAddress");
        assert_eq!(kind("tcp.payload contains |1 60 3|"), "BadBytes");
        assert_eq!(kind("tcp.port in {}"), "EmptySet");
        assert_eq!(kind("tcp $ udp"), "Unexpected");
        let e = parse("tcp and tls.sni = abc").unwrap_err();
        assert_eq!(e.span, Span::new(18, 21));
    }

    #[test]
    fn depth_limit() {
        let deep = format!("{}tcp{}", "(".repeat(100), ")".repeat(100));
        assert_eq!(kind(&deep), "NestingTooDeep");
        let nots = format!("{}tcp", "not ".repeat(100));
        assert_eq!(kind(&nots), "NestingTooDeep");
        let ok_depth = format!("{}tcp{}", "(".repeat(60), ")".repeat(60));
        ok(&ok_depth);
    }

    #[test]
    fn file_includes() {
        let dir = std::env::temp_dir().join(format!("weir-filter-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("snis.txt"), "# video\ntls.sni ~ 'nflxvideo'\n\ntls.sni = 'a.com' or tls.sni = 'b.com'\n").unwrap();
        std::fs::write(dir.join("bad.txt"), "tls.sni = 'ok'\ntls.sni = nope\n").unwrap();
        let opts = ParseOptions { base_dir: Some(dir.clone()), ..Default::default() };
        let p = parse_with("tcp and file=snis.txt", &opts).unwrap();
        assert_eq!(p.files, vec![dir.join("snis.txt")]);
        match &p.ast {
            Ast::And { items, .. } => match &items[1] {
                Ast::File { lines, .. } => {
                    let shown: Vec<String> = lines.iter().map(|l| format!("{}: {}", l.line, l.ast)).collect();
                    assert_eq!(shown, ["2: tls.sni ~ 'nflxvideo'", "4: tls.sni = 'a.com' or tls.sni = 'b.com'"]);
                }
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
        let e = parse_with("file=bad.txt", &opts).unwrap_err();
        assert_eq!(e.origin, Some((dir.join("bad.txt"), 2)));
        assert!(e.to_string().contains("bad.txt:2"), "{e}");
        let e = parse_with("file=missing.txt", &opts).unwrap_err();
        assert_eq!(e.kind.name(), "File");
        std::fs::remove_dir_all(&dir).ok();
    }
}
