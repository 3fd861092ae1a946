//! HTTP/1.x: probe and incremental parser producing one [`HttpTransaction`]
//! per request/response pair.
//!
//! # Model
//! Requests travel from the client, responses from the server. Which
//! direction is the client is decided by content: the first complete message
//! head fixes it (a request line means its sender is the client, a status
//! line means its sender is the server), so mid-stream captures whose first
//! packet is a response still pair correctly.
//!
//! * Pipelined and keep-alive requests each become a transaction; responses
//!   pair with requests in order. `trans_depth` counts transactions on the
//!   connection starting at 1; the session id is `trans_depth - 1`.
//! * Message boundaries: `Transfer-Encoding: chunked` (sizes, extensions,
//!   trailers), then `Content-Length`, else no body for requests and a body
//!   delimited by connection close for responses. Responses to HEAD and
//!   1xx/204/304 responses have no body. 1xx interim responses (other than
//!   101) are counted and skipped: they do not end the transaction.
//! * `101 Switching Protocols`, or a 2xx answer to CONNECT, ends the
//!   transaction and the rest of the connection is opaque
//!   (`Skipped(Opaque)`).
//! * Bodies are never buffered: body bytes are reported as
//!   [`ParseEvent::Payload`] ranges and counted (`req_body_len`,
//!   `resp_body_len`, decoded length for chunked bodies).
//!
//! * Lost sync: where a message head is expected but the bytes cannot
//!   start one (a capture that begins inside a body, lost segments), the
//!   direction resynchronises instead of giving up: the response side skips
//!   to the next `HTTP/1.`, the request side to the next line that is a
//!   request line. The lost message is accounted for so pairing stays in
//!   step (see [`HttpStats::resyncs`]).
//!
//! # Events
//! `InHeaders` covers the bytes of every message head. `HeadersDone(id)` is
//! emitted once per transaction, when both the request head and the response
//! head are parsed (for a response captured without its request, when the
//! response head is parsed). `SessionDone(id)` follows once both bodies are
//! complete. A request whose response never arrives gets `HeadersDone(id)`
//! and then `SessionDone(id)` at [`Parser::finish`] (its `status` is `None`),
//! so every session sees `HeadersDone` before `SessionDone`. A message head
//! that is still incomplete at `finish` produces nothing.
//!
//! # Limits
//! A message head (request/status line plus headers, or a chunked trailer
//! block) larger than [`Limits::max_header_bytes`], more than
//! [`Limits::max_headers`] header lines, a chunk-size line longer than
//! [`Limits::max_chunk_line`] or more than [`Limits::max_pending`]
//! unanswered requests abandon the connection (`Skipped(LimitExceeded)`,
//! counted in [`HttpStats::abandoned_oversize`]). Completed sessions that
//! are never taken are kept up to [`Limits::max_retained`]; older ones are
//! dropped and counted in [`HttpStats::evicted_untaken`].

use std::collections::{BTreeMap, VecDeque};

use crate::{
    Direction, FieldDef, FieldType, ParseEvent, ParseResult, Parser, ProbeResult, SegmentMeta,
    SessionId, SkipReason, Transition,
};

/// Filterable HTTP fields. All of them are known once the transaction's
/// headers are done (`L7EndHeaders`): request fields could be read earlier,
/// but the session is handed out only at `HeadersDone`.
pub const FIELDS: &[FieldDef] = &[
    FieldDef {
        name: "http.method",
        ty: FieldType::Str,
        available_at: Transition::L7EndHeaders,
        doc: "Request method (GET, POST, ...)",
    },
    FieldDef {
        name: "http.host",
        ty: FieldType::Str,
        available_at: Transition::L7EndHeaders,
        doc: "Value of the request's Host header",
    },
    FieldDef {
        name: "http.uri",
        ty: FieldType::Str,
        available_at: Transition::L7EndHeaders,
        doc: "Request target as sent on the request line",
    },
    FieldDef {
        name: "http.user_agent",
        ty: FieldType::Str,
        available_at: Transition::L7EndHeaders,
        doc: "Value of the request's User-Agent header",
    },
    FieldDef {
        name: "http.status",
        ty: FieldType::U16,
        available_at: Transition::L7EndHeaders,
        doc: "Response status code (final response, 1xx interim responses skipped)",
    },
    FieldDef {
        name: "http.content_type",
        ty: FieldType::Str,
        available_at: Transition::L7EndHeaders,
        doc: "Content-Type of the response (of the request if there is no response)",
    },
];

/// Configurable bounds of one [`HttpParser`].
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest message head (start line + headers) or trailer block, in bytes.
    pub max_header_bytes: usize,
    /// Most header (or trailer) lines in one message.
    pub max_headers: usize,
    /// Longest chunk-size line (with extensions), in bytes.
    pub max_chunk_line: usize,
    /// Most transactions in flight (requests waiting for responses).
    pub max_pending: usize,
    /// Most completed sessions kept until taken.
    pub max_retained: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_header_bytes: 64 * 1024,
            max_headers: 256,
            max_chunk_line: 4096,
            max_pending: 256,
            max_retained: 256,
        }
    }
}

/// Counters of one [`HttpParser`].
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct HttpStats {
    pub requests: u64,
    pub responses: u64,
    /// 1xx responses other than 101 (skipped).
    pub interim_responses: u64,
    /// Responses for which no request was seen.
    pub orphan_responses: u64,
    /// Requests completed at `finish` without a response.
    pub unanswered: u64,
    /// Connections abandoned because a limit was exceeded.
    pub abandoned_oversize: u64,
    /// Connections abandoned because the bytes were not valid HTTP/1.x.
    pub malformed: u64,
    /// Completed sessions dropped because they were never taken.
    pub evicted_untaken: u64,
    /// Bytes ignored on the client side while an upgrade/CONNECT was pending.
    pub ignored_bytes: u64,
    /// Times a direction lost message sync (bytes that cannot start a
    /// message where a head was expected) and skipped to the next line that
    /// starts a request/status line.
    pub resyncs: u64,
    /// Bytes skipped while resynchronising.
    pub resync_bytes: u64,
}

/// One header line, `name: value` (value with surrounding whitespace removed).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct HttpHeader {
    pub name: String,
    pub value: String,
}

fn find_header<'a>(headers: &'a [HttpHeader], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))
        .map(|h| h.value.as_str())
}

/// Case-insensitive lookups over a header list.
pub trait HeaderLookup {
    fn headers(&self) -> &[HttpHeader];

    /// First value of header `name` (ASCII case-insensitive).
    fn header(&self, name: &str) -> Option<&str> {
        find_header(self.headers(), name)
    }
    /// Every value of header `name`, in order.
    fn header_all<'a>(&'a self, name: &'a str) -> Box<dyn Iterator<Item = &'a str> + 'a> {
        Box::new(
            self.headers()
                .iter()
                .filter(move |h| h.name.eq_ignore_ascii_case(name))
                .map(|h| h.value.as_str()),
        )
    }
    fn host(&self) -> Option<&str> {
        self.header("host")
    }
    fn user_agent(&self) -> Option<&str> {
        self.header("user-agent")
    }
    fn cookie(&self) -> Option<&str> {
        self.header("cookie")
    }
    fn set_cookie(&self) -> Option<&str> {
        self.header("set-cookie")
    }
    fn content_type(&self) -> Option<&str> {
        self.header("content-type")
    }
    fn content_length(&self) -> Option<&str> {
        self.header("content-length")
    }
    fn transfer_encoding(&self) -> Option<&str> {
        self.header("transfer-encoding")
    }
    fn connection(&self) -> Option<&str> {
        self.header("connection")
    }
    fn referer(&self) -> Option<&str> {
        self.header("referer")
    }
    fn server(&self) -> Option<&str> {
        self.header("server")
    }
    fn location(&self) -> Option<&str> {
        self.header("location")
    }
}

/// A parsed request head plus body accounting.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct HttpRequest {
    pub method: String,
    pub uri: String,
    /// `HTTP/1.0` or `HTTP/1.1` as sent.
    pub version: String,
    pub headers: Vec<HttpHeader>,
    /// Trailer fields of a chunked body.
    pub trailers: Vec<HttpHeader>,
    /// Body length (decoded for chunked bodies).
    pub body_len: u64,
    pub chunked: bool,
    /// The body ended where its framing said (false: the connection ended
    /// or was abandoned first). A body delimited by close is complete at `finish`.
    pub body_complete: bool,
}

impl HeaderLookup for HttpRequest {
    fn headers(&self) -> &[HttpHeader] {
        &self.headers
    }
}

/// A parsed (final) response head plus body accounting.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct HttpResponse {
    pub version: String,
    pub status: u16,
    pub reason: String,
    pub headers: Vec<HttpHeader>,
    pub trailers: Vec<HttpHeader>,
    pub body_len: u64,
    pub chunked: bool,
    /// The body ended where its framing said (false: the connection ended
    /// or was abandoned first). A body delimited by close is complete at `finish`.
    pub body_complete: bool,
}

impl HeaderLookup for HttpResponse {
    fn headers(&self) -> &[HttpHeader] {
        &self.headers
    }
}

/// One HTTP request/response pair: the `HttpTransaction` data type.
///
/// The flat fields are the `weir log` record; `request`/`response` keep
/// every header.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct HttpTransaction {
    /// 1 for the first transaction on the connection, then 2, 3, ...
    pub trans_depth: u32,
    pub method: Option<String>,
    pub host: Option<String>,
    pub uri: Option<String>,
    pub version: Option<String>,
    pub user_agent: Option<String>,
    pub status: Option<u16>,
    pub status_msg: Option<String>,
    pub req_body_len: u64,
    pub resp_body_len: u64,
    /// Content-Type of the response, else of the request.
    pub content_type: Option<String>,
    pub request: Option<HttpRequest>,
    pub response: Option<HttpResponse>,
}

impl HttpTransaction {
    /// The value of the filter field `name` (one of this module's [`FIELDS`]), if the session has it.
    pub fn field(&self, name: &str) -> Option<crate::FieldValue<'_>> {
        use crate::FieldValue as V;
        match name {
            "http.method" => self.method.as_deref().map(V::Str),
            "http.host" => self.host.as_deref().map(V::Str),
            "http.uri" => self.uri.as_deref().map(V::Str),
            "http.user_agent" => self.user_agent.as_deref().map(V::Str),
            "http.status" => self.status.map(|v| V::Int(v.into())),
            "http.content_type" => self.content_type.as_deref().map(V::Str),
            _ => None,
        }
    }
}

impl HttpTransaction {
    fn new(trans_depth: u32) -> Self {
        HttpTransaction {
            trans_depth,
            method: None,
            host: None,
            uri: None,
            version: None,
            user_agent: None,
            status: None,
            status_msg: None,
            req_body_len: 0,
            resp_body_len: 0,
            content_type: None,
            request: None,
            response: None,
        }
    }

    fn set_request(&mut self, req: HttpRequest) {
        self.method = Some(req.method.clone());
        self.uri = Some(req.uri.clone());
        self.version = Some(req.version.clone());
        self.host = req.host().map(str::to_owned);
        self.user_agent = req.user_agent().map(str::to_owned);
        if self.content_type.is_none() {
            self.content_type = req.content_type().map(str::to_owned);
        }
        self.request = Some(req);
    }

    fn set_response(&mut self, resp: HttpResponse) {
        self.status = Some(resp.status);
        self.status_msg = Some(resp.reason.clone());
        if self.version.is_none() {
            self.version = Some(resp.version.clone());
        }
        if let Some(ct) = resp.content_type() {
            self.content_type = Some(ct.to_owned());
        }
        self.response = Some(resp);
    }

    fn add_req_body(&mut self, n: u64) {
        self.req_body_len = self.req_body_len.saturating_add(n);
        if let Some(r) = self.request.as_mut() {
            r.body_len = r.body_len.saturating_add(n);
        }
    }

    fn add_resp_body(&mut self, n: u64) {
        self.resp_body_len = self.resp_body_len.saturating_add(n);
        if let Some(r) = self.response.as_mut() {
            r.body_len = r.body_len.saturating_add(n);
        }
    }
}

// ---------------------------------------------------------------------------
// Probe

/// `tchar` of RFC 9110 §5.6.2.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

const MAX_PROBE_METHOD: usize = 64;

/// Checks whether `seg` starts with `METHOD SP target SP HTTP/1.x EOL` (or a
/// prefix of it) or `HTTP/1.`.
fn probe_bytes(seg: &[u8]) -> ProbeResult {
    const RESP: &[u8] = b"HTTP/1.";
    if seg.is_empty() {
        return ProbeResult::Unsure;
    }
    if seg.len() < RESP.len() && RESP.starts_with(seg) {
        // Could be a status line or a request with method "HTTP..." -> wait.
        return ProbeResult::Unsure;
    }
    if seg.starts_with(RESP) {
        return ProbeResult::Certain;
    }
    // method
    let mlen = seg.iter().take_while(|&&b| is_tchar(b)).count();
    if mlen == 0 || mlen > MAX_PROBE_METHOD {
        return ProbeResult::NotForUs;
    }
    let rest = &seg[mlen..];
    match rest.first() {
        None => return ProbeResult::Unsure,
        Some(b' ') => {}
        Some(_) => return ProbeResult::NotForUs,
    }
    let rest = &rest[1..];
    let tlen = rest.iter().take_while(|&&b| b > b' ' && b != 0x7f).count();
    let after = &rest[tlen..];
    match after.first() {
        None => return ProbeResult::Unsure,
        Some(b' ') if tlen > 0 => {}
        Some(_) => return ProbeResult::NotForUs,
    }
    let ver = &after[1..];
    const V: &[u8] = b"HTTP/1.";
    let n = ver.len().min(V.len());
    if ver[..n] != V[..n] {
        return ProbeResult::NotForUs;
    }
    if ver.len() <= V.len() {
        return ProbeResult::Unsure;
    }
    match ver.get(V.len()) {
        Some(d) if d.is_ascii_digit() => {}
        _ => return ProbeResult::NotForUs,
    }
    match ver.get(V.len() + 1) {
        None => ProbeResult::Unsure,
        Some(b'\n') => ProbeResult::Certain,
        Some(b'\r') => match ver.get(V.len() + 2) {
            None => ProbeResult::Unsure,
            Some(b'\n') => ProbeResult::Certain,
            Some(_) => ProbeResult::NotForUs,
        },
        Some(_) => ProbeResult::NotForUs,
    }
}

// ---------------------------------------------------------------------------
// Head parsing

enum Head {
    Request(HttpRequest),
    Response(HttpResponse),
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum HeadError {
    Malformed,
    TooManyHeaders,
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn trim_ows(mut b: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = b {
        if *first == b' ' || *first == b'\t' {
            b = rest;
        } else {
            break;
        }
    }
    while let [rest @ .., last] = b {
        if *last == b' ' || *last == b'\t' {
            b = rest;
        } else {
            break;
        }
    }
    b
}

fn strip_cr(line: &[u8]) -> &[u8] {
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// Is `v` `HTTP/1.x`?
fn is_http1_version(v: &[u8]) -> bool {
    matches!(v, [b'H', b'T', b'T', b'P', b'/', b'1', b'.', d] if d.is_ascii_digit())
}

/// Parses header lines into `out`, handling obsolete line folding.
fn parse_header_lines<'a>(
    lines: impl Iterator<Item = &'a [u8]>,
    out: &mut Vec<HttpHeader>,
    max_headers: usize,
) -> Result<(), HeadError> {
    for raw in lines {
        let line = strip_cr(raw);
        if line.is_empty() {
            continue;
        }
        if matches!(line.first(), Some(b' ') | Some(b'\t')) {
            // obs-fold: continuation of the previous value.
            if let Some(prev) = out.last_mut() {
                let cont = trim_ows(line);
                if !cont.is_empty() {
                    prev.value.push(' ');
                    prev.value.push_str(&String::from_utf8_lossy(cont));
                }
                continue;
            }
            return Err(HeadError::Malformed);
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or(HeadError::Malformed)?;
        let (name, value) = line.split_at(colon);
        let name = trim_ows(name);
        if name.is_empty() {
            return Err(HeadError::Malformed);
        }
        if out.len() >= max_headers {
            return Err(HeadError::TooManyHeaders);
        }
        out.push(HttpHeader {
            name: lossy(name),
            value: lossy(trim_ows(value.get(1..).unwrap_or(&[]))),
        });
    }
    Ok(())
}

/// Parses a complete message head (start line + header lines, blank line
/// included or not).
fn parse_head(buf: &[u8], max_headers: usize) -> Result<Head, HeadError> {
    let mut lines = buf.split(|&b| b == b'\n');
    let first = strip_cr(lines.next().ok_or(HeadError::Malformed)?);
    let mut headers = Vec::new();
    if first.starts_with(b"HTTP/") {
        // status-line = HTTP-version SP status-code SP [ reason-phrase ]
        let mut parts = first.splitn(3, |&b| b == b' ');
        let version = parts.next().unwrap_or(&[]);
        let code = parts.next().unwrap_or(&[]);
        let reason = parts.next().unwrap_or(&[]);
        if !is_http1_version(version) || code.len() != 3 || !code.iter().all(u8::is_ascii_digit) {
            return Err(HeadError::Malformed);
        }
        let status = code
            .iter()
            .fold(0u16, |acc, &d| acc * 10 + u16::from(d - b'0'));
        parse_header_lines(lines, &mut headers, max_headers)?;
        Ok(Head::Response(HttpResponse {
            version: lossy(version),
            status,
            reason: lossy(trim_ows(reason)),
            headers,
            trailers: Vec::new(),
            body_len: 0,
            chunked: false,
            body_complete: false,
        }))
    } else {
        // request-line = method SP request-target SP HTTP-version
        let sp1 = first
            .iter()
            .position(|&b| b == b' ')
            .ok_or(HeadError::Malformed)?;
        let sp2 = first
            .iter()
            .rposition(|&b| b == b' ')
            .ok_or(HeadError::Malformed)?;
        let method = &first[..sp1];
        let version = &first[sp2 + 1..];
        if sp2 <= sp1 || method.is_empty() || !method.iter().all(|&b| is_tchar(b)) {
            return Err(HeadError::Malformed);
        }
        let uri = trim_ows(&first[sp1 + 1..sp2]);
        if uri.is_empty() || !is_http1_version(version) {
            return Err(HeadError::Malformed);
        }
        parse_header_lines(lines, &mut headers, max_headers)?;
        Ok(Head::Request(HttpRequest {
            method: lossy(method),
            uri: lossy(uri),
            version: lossy(version),
            headers,
            trailers: Vec::new(),
            body_len: 0,
            chunked: false,
            body_complete: false,
        }))
    }
}

/// Is the final transfer coding `chunked`?
fn is_chunked(headers: &[HttpHeader]) -> bool {
    headers
        .iter()
        .filter(|h| h.name.eq_ignore_ascii_case("transfer-encoding"))
        .flat_map(|h| h.value.split(','))
        .map(str::trim)
        .rfind(|c| !c.is_empty())
        .is_some_and(|c| c.eq_ignore_ascii_case("chunked"))
}

/// Content-Length: `Ok(None)` if absent; an error if invalid or conflicting.
fn content_length(headers: &[HttpHeader]) -> Result<Option<u64>, HeadError> {
    let mut found: Option<u64> = None;
    for h in headers.iter().filter(|h| h.name.eq_ignore_ascii_case("content-length")) {
        for v in h.value.split(',') {
            let v = v.trim();
            if v.is_empty() || v.len() > 19 || !v.bytes().all(|b| b.is_ascii_digit()) {
                return Err(HeadError::Malformed);
            }
            let n: u64 = v.parse().map_err(|_| HeadError::Malformed)?;
            match found {
                Some(prev) if prev != n => return Err(HeadError::Malformed),
                _ => found = Some(n),
            }
        }
    }
    Ok(found)
}

fn strip_eol(line: &[u8]) -> &[u8] {
    strip_cr(line.strip_suffix(b"\n").unwrap_or(line))
}

fn parse_chunk_size(line: &[u8]) -> Option<u64> {
    let line = strip_eol(line);
    let size = line.split(|&b| b == b';').next().unwrap_or(&[]);
    let size = trim_ows(size);
    if size.is_empty() || size.len() > 15 {
        return None;
    }
    size.iter().try_fold(0u64, |acc, &b| {
        let d = (b as char).to_digit(16)?;
        Some(acc * 16 + u64::from(d))
    })
}

// ---------------------------------------------------------------------------
// Per-direction stream state

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Chunk {
    Size,
    Data(u64),
    DataEnd,
    Trailer,
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Stage {
    /// Accumulating a message head.
    Head,
    /// Body of `Content-Length` bytes left.
    Length(u64),
    Chunked(Chunk),
    /// Response body delimited by connection close.
    UntilClose,
    /// Client side after a CONNECT or Upgrade request, until the response says.
    Wait,
    /// Discarding bytes while looking for the next message start: on the
    /// request side the next line, on the response side the next `HTTP/1.`
    /// (the count of its bytes matched so far).
    Resync(u8),
}

#[derive(Debug)]
struct Side {
    stage: Stage,
    /// Message head (or chunk-size / trailer line) being accumulated.
    buf: Vec<u8>,
    /// Start in `buf` of the line being accumulated.
    line_start: usize,
    /// Transaction whose message this side is transferring (body stages).
    tx: Option<SessionId>,
    /// Trailer bytes accumulated for the current message.
    trailer_bytes: usize,
    /// Inside a resynchronisation episode (since the last valid head).
    resyncing: bool,
}

impl Side {
    fn new() -> Self {
        Side { stage: Stage::Head, buf: Vec::new(), line_start: 0, tx: None, trailer_bytes: 0, resyncing: false }
    }
}

#[derive(Debug)]
struct Pending {
    id: SessionId,
    tx: HttpTransaction,
    req_done: bool,
    resp_head: bool,
    resp_done: bool,
    headers_emitted: bool,
}

/// Outcome of scanning for a line/head end.
enum Scan {
    /// All bytes consumed, not complete.
    More,
    /// Complete; the segment position just after the terminator.
    Done(usize),
    /// Limit exceeded.
    Oversize,
    /// The first line cannot start a message: bytes up to `end` are dropped;
    /// `line_done` says whether the bad line ended there.
    BadStart { end: usize, line_done: bool },
}

/// The HTTP/1.x parser for one connection.
#[derive(Debug)]
pub struct HttpParser {
    limits: Limits,
    stats: HttpStats,
    sides: [Side; 2],
    /// Direction that carries requests, once known.
    req_dir: Option<Direction>,
    pending: VecDeque<Pending>,
    done: BTreeMap<SessionId, HttpTransaction>,
    next_id: SessionId,
    dead: bool,
}

impl Default for HttpParser {
    fn default() -> Self {
        Self::new(Limits::default())
    }
}

impl HttpParser {
    pub fn new(limits: Limits) -> Self {
        HttpParser {
            limits,
            stats: HttpStats::default(),
            sides: [Side::new(), Side::new()],
            req_dir: None,
            pending: VecDeque::new(),
            done: BTreeMap::new(),
            next_id: 0,
            dead: false,
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn stats(&self) -> &HttpStats {
        &self.stats
    }

    /// Bytes currently buffered for partial heads and lines (bounded by the limits).
    pub fn buffered_bytes(&self) -> usize {
        self.sides.iter().map(|s| s.buf.len()).sum()
    }

    /// Transactions in flight (bounded by [`Limits::max_pending`]).
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    fn pending_mut(&mut self, id: SessionId) -> Option<&mut Pending> {
        self.pending.iter_mut().find(|p| p.id == id)
    }

    fn new_pending(&mut self) -> SessionId {
        let id = self.next_id;
        self.next_id = self.next_id.saturating_add(1);
        self.pending.push_back(Pending {
            id,
            tx: HttpTransaction::new(id.saturating_add(1)),
            req_done: false,
            resp_head: false,
            resp_done: false,
            headers_emitted: false,
        });
        id
    }

    /// Moves finished transactions (in order) to `done`, emitting `SessionDone`.
    fn reap(&mut self, events: &mut Vec<ParseEvent>) {
        let mut i = 0;
        while i < self.pending.len() {
            let finished = self
                .pending
                .get(i)
                .is_some_and(|p| p.req_done && p.resp_done);
            if finished {
                if let Some(p) = self.pending.remove(i) {
                    if !p.headers_emitted {
                        events.push(ParseEvent::HeadersDone(p.id));
                    }
                    events.push(ParseEvent::SessionDone(p.id));
                    self.retain(p.id, p.tx);
                }
            } else {
                i += 1;
            }
        }
    }

    fn retain(&mut self, id: SessionId, tx: HttpTransaction) {
        self.done.insert(id, tx);
        while self.done.len() > self.limits.max_retained {
            self.done.pop_first();
            self.stats.evicted_untaken += 1;
        }
    }

    /// Completes every pending transaction whose request or response head
    /// was seen (used at `finish` and when the connection is abandoned).
    fn flush(&mut self, events: &mut Vec<ParseEvent>) {
        while let Some(p) = self.pending.pop_front() {
            if p.tx.request.is_none() && p.tx.response.is_none() {
                continue;
            }
            if p.tx.response.is_none() {
                self.stats.unanswered += 1;
            }
            if !p.headers_emitted {
                events.push(ParseEvent::HeadersDone(p.id));
            }
            events.push(ParseEvent::SessionDone(p.id));
            self.retain(p.id, p.tx);
        }
        for s in &mut self.sides {
            s.tx = None;
        }
    }

    fn abandon(&mut self, reason: SkipReason, events: &mut Vec<ParseEvent>) {
        match reason {
            SkipReason::LimitExceeded => self.stats.abandoned_oversize += 1,
            SkipReason::Malformed => self.stats.malformed += 1,
            SkipReason::Opaque => {}
        }
        self.flush(events);
        self.dead = true;
        for s in &mut self.sides {
            s.buf = Vec::new();
        }
        events.push(ParseEvent::Skipped(reason));
    }

    /// Accumulates bytes of `seg[pos..]` into side `d`'s buffer until a
    /// blank line ends a head (`head == true`) or one line ends.
    fn scan(&mut self, d: usize, seg: &[u8], pos: usize, head: bool, limit: usize) -> Scan {
        let side = &mut self.sides[d];
        let mut pos = pos;
        loop {
            let rest = seg.get(pos..).unwrap_or(&[]);
            if rest.is_empty() {
                return Scan::More;
            }
            let (take, nl) = match rest.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (rest.len(), false),
            };
            if side.buf.len().saturating_add(take) > limit.saturating_add(2) {
                return Scan::Oversize;
            }
            side.buf.extend_from_slice(&rest[..take]);
            pos += take;
            if head
                && side.line_start == 0
                && !side.buf.iter().all(|&b| b == b'\r' || b == b'\n')
                && probe_bytes(&side.buf) == ProbeResult::NotForUs
            {
                // Not a request or status line: not a message head at all.
                side.buf.clear();
                return Scan::BadStart { end: pos, line_done: nl };
            }
            if !nl {
                return Scan::More;
            }
            if !head {
                return Scan::Done(pos);
            }
            let line = side.buf.get(side.line_start..side.buf.len() - 1).unwrap_or(&[]);
            let blank = line.iter().all(|&b| b == b'\r');
            if blank {
                if side.line_start == 0 {
                    // Blank lines before a start line are ignored (RFC 9112 §2.2).
                    side.buf.clear();
                    continue;
                }
                return Scan::Done(pos);
            }
            if side.buf.len() > limit {
                return Scan::Oversize;
            }
            side.line_start = side.buf.len();
        }
    }

    /// Marks the message on side `d` complete.
    fn message_done(&mut self, d: usize, is_req: bool, events: &mut Vec<ParseEvent>) {
        let side = &mut self.sides[d];
        side.stage = Stage::Head;
        side.trailer_bytes = 0;
        let id = side.tx.take();
        if let Some(id) = id {
            if let Some(p) = self.pending_mut(id) {
                if is_req {
                    p.req_done = true;
                    if let Some(r) = p.tx.request.as_mut() {
                        r.body_complete = true;
                    }
                    let upgrade = p.tx.request.as_ref().is_some_and(|r| {
                        r.method.eq_ignore_ascii_case("CONNECT") || r.header("upgrade").is_some()
                    });
                    if upgrade && !p.resp_done {
                        // Wait for the response to tell whether the rest is a tunnel.
                        self.sides[d].stage = Stage::Wait;
                        self.sides[d].tx = Some(id);
                    }
                } else {
                    p.resp_done = true;
                    if let Some(r) = p.tx.response.as_mut() {
                        r.body_complete = true;
                    }
                }
            }
        }
        self.reap(events);
    }

    fn add_body(&mut self, d: usize, is_req: bool, n: u64) {
        if let Some(id) = self.sides[d].tx {
            if let Some(p) = self.pending_mut(id) {
                if is_req {
                    p.tx.add_req_body(n);
                } else {
                    p.tx.add_resp_body(n);
                }
            }
        }
    }

    fn add_trailer(&mut self, d: usize, is_req: bool) -> Result<(), HeadError> {
        let side = &mut self.sides[d];
        let mut trailers = Vec::new();
        parse_header_lines(std::iter::once(strip_eol(&side.buf)), &mut trailers, self.limits.max_headers)?;
        side.buf.clear();
        let Some(id) = side.tx else { return Ok(()) };
        let max = self.limits.max_headers;
        if let Some(p) = self.pending_mut(id) {
            let list = if is_req {
                p.tx.request.as_mut().map(|r| &mut r.trailers)
            } else {
                p.tx.response.as_mut().map(|r| &mut r.trailers)
            };
            if let Some(list) = list {
                if list.len() + trailers.len() > max {
                    return Err(HeadError::TooManyHeaders);
                }
                list.extend(trailers);
            }
        }
        Ok(())
    }

    /// Side `d` holds bytes that cannot start a message (a capture that
    /// starts inside a message, or lost segments). Once per episode, the
    /// message that was lost is accounted for so that pairing stays in step:
    /// on the response side the oldest request without a response is given
    /// a lost (absent) response; on the request side a transaction without
    /// a request absorbs the next response.
    fn start_resync(&mut self, d: usize, is_req: bool, events: &mut Vec<ParseEvent>) {
        if self.sides[d].resyncing {
            return;
        }
        self.sides[d].resyncing = true;
        self.stats.resyncs += 1;
        if is_req {
            if self.pending.len() < self.limits.max_pending {
                let id = self.new_pending();
                if let Some(p) = self.pending_mut(id) {
                    p.req_done = true;
                }
            }
        } else if let Some(p) = self.pending.iter_mut().find(|p| !p.resp_head && p.tx.request.is_some()) {
            p.resp_head = true;
            p.resp_done = true;
            self.reap(events);
        }
    }

    /// Looks for `HTTP/1.` in `rest` (continuing a match of `matched`
    /// bytes); returns how many bytes were consumed. On a match the side is
    /// back in `Head` with the matched bytes as the start of its head.
    fn resync_response(&mut self, d: usize, rest: &[u8], matched: u8) -> usize {
        const PAT: &[u8] = b"HTTP/1.";
        let mut k = usize::from(matched);
        for (i, &b) in rest.iter().enumerate() {
            if PAT.get(k) == Some(&b) {
                k += 1;
            } else {
                k = usize::from(b == b'H');
            }
            if k == PAT.len() {
                let side = &mut self.sides[d];
                side.buf.clear();
                side.buf.extend_from_slice(PAT);
                side.line_start = 0;
                side.stage = Stage::Head;
                return i + 1;
            }
        }
        self.sides[d].stage = Stage::Resync(k as u8);
        rest.len()
    }

    /// A complete head arrived on side `d`.
    fn on_head(&mut self, d: usize, dir: Direction, events: &mut Vec<ParseEvent>) -> Result<(), SkipReason> {
        let buf = std::mem::take(&mut self.sides[d].buf);
        self.sides[d].line_start = 0;
        let head = match parse_head(&buf, self.limits.max_headers) {
            Ok(h) => h,
            Err(HeadError::Malformed) if self.sides[d].resyncing => {
                // A false start while resynchronising: keep looking.
                self.sides[d].buf = buf;
                self.sides[d].buf.clear();
                self.sides[d].stage = Stage::Resync(0);
                return Ok(());
            }
            Err(HeadError::Malformed) => return Err(SkipReason::Malformed),
            Err(HeadError::TooManyHeaders) => return Err(SkipReason::LimitExceeded),
        };
        let mut buf = buf;
        buf.clear();
        self.sides[d].buf = buf;
        self.sides[d].resyncing = false;
        let is_req = matches!(head, Head::Request(_));
        let req_dir = *self.req_dir.get_or_insert(if is_req { dir } else { dir.reverse() });
        if is_req != (req_dir == dir) {
            return Err(SkipReason::Malformed);
        }
        match head {
            Head::Request(req) => self.on_request(d, req, events),
            Head::Response(resp) => self.on_response(d, resp, events),
        }
    }

    fn on_request(&mut self, d: usize, mut req: HttpRequest, events: &mut Vec<ParseEvent>) -> Result<(), SkipReason> {
        if self.pending.len() >= self.limits.max_pending {
            return Err(SkipReason::LimitExceeded);
        }
        self.stats.requests += 1;
        let chunked = is_chunked(&req.headers);
        let len = content_length(&req.headers).map_err(|_| SkipReason::Malformed)?;
        req.chunked = chunked;
        let id = self.new_pending();
        if let Some(p) = self.pending_mut(id) {
            p.tx.set_request(req);
        }
        self.sides[d].tx = Some(id);
        if chunked {
            self.sides[d].stage = Stage::Chunked(Chunk::Size);
        } else {
            match len {
                Some(n) if n > 0 => self.sides[d].stage = Stage::Length(n),
                _ => self.message_done(d, true, events),
            }
        }
        Ok(())
    }

    fn on_response(&mut self, d: usize, mut resp: HttpResponse, events: &mut Vec<ParseEvent>) -> Result<(), SkipReason> {
        self.stats.responses += 1;
        let status = resp.status;
        if (100..200).contains(&status) && status != 101 {
            self.stats.interim_responses += 1;
            return Ok(());
        }
        let id = match self.pending.iter().find(|p| !p.resp_head).map(|p| p.id) {
            Some(id) => id,
            None => {
                if self.pending.len() >= self.limits.max_pending {
                    return Err(SkipReason::LimitExceeded);
                }
                self.stats.orphan_responses += 1;
                let id = self.new_pending();
                if let Some(p) = self.pending_mut(id) {
                    p.req_done = true;
                }
                id
            }
        };
        let chunked = is_chunked(&resp.headers);
        let len = content_length(&resp.headers);
        resp.chunked = chunked;
        let (method_head, method_connect) = self
            .pending
            .iter()
            .find(|p| p.id == id)
            .and_then(|p| p.tx.request.as_ref())
            .map(|r| (r.method.eq_ignore_ascii_case("HEAD"), r.method.eq_ignore_ascii_case("CONNECT")))
            .unwrap_or((false, false));
        let tunnel = status == 101 || (method_connect && (200..300).contains(&status));
        if let Some(p) = self.pending_mut(id) {
            p.resp_head = true;
            p.headers_emitted = true;
            p.tx.set_response(resp);
        }
        events.push(ParseEvent::HeadersDone(id));
        if tunnel {
            if let Some(p) = self.pending_mut(id) {
                p.req_done = true;
                p.resp_done = true;
            }
            self.reap(events);
            return Err(SkipReason::Opaque);
        }
        // A request waiting on an upgrade that was refused parses on.
        let other = 1 - d;
        if self.sides[other].stage == Stage::Wait && self.sides[other].tx == Some(id) {
            self.sides[other].stage = Stage::Head;
            self.sides[other].tx = None;
        }
        self.sides[d].tx = Some(id);
        let bodyless = method_head || status == 204 || status == 304 || (100..200).contains(&status);
        if bodyless {
            self.message_done(d, false, events);
        } else if chunked {
            self.sides[d].stage = Stage::Chunked(Chunk::Size);
        } else {
            match len {
                Err(_) => return Err(SkipReason::Malformed),
                Ok(Some(0)) => self.message_done(d, false, events),
                Ok(Some(n)) => self.sides[d].stage = Stage::Length(n),
                Ok(None) => self.sides[d].stage = Stage::UntilClose,
            }
        }
        Ok(())
    }

    fn parse_inner(&mut self, seg: &[u8], dir: Direction, events: &mut Vec<ParseEvent>) -> Result<(), SkipReason> {
        let d = dir.index();
        let mut pos = 0usize;
        while pos < seg.len() {
            let is_req = self.req_dir.map_or(dir == Direction::ToResponder, |r| r == dir);
            match self.sides[d].stage {
                Stage::Head => {
                    let start = pos;
                    match self.scan(d, seg, pos, true, self.limits.max_header_bytes) {
                        Scan::More => {
                            events.push(ParseEvent::InHeaders { start, end: seg.len() });
                            pos = seg.len();
                        }
                        Scan::Done(end) => {
                            events.push(ParseEvent::InHeaders { start, end });
                            pos = end;
                            self.on_head(d, dir, events)?;
                        }
                        Scan::Oversize => return Err(SkipReason::LimitExceeded),
                        Scan::BadStart { end, line_done } => {
                            self.stats.resync_bytes += (end - start) as u64;
                            pos = end;
                            self.start_resync(d, is_req, events);
                            if !line_done || !is_req {
                                self.sides[d].stage = Stage::Resync(0);
                            }
                        }
                    }
                }
                Stage::Resync(matched) => {
                    let rest = seg.get(pos..).unwrap_or(&[]);
                    let take = if is_req {
                        rest.iter().position(|&b| b == b'\n').map_or(rest.len(), |i| {
                            self.sides[d].stage = Stage::Head;
                            i + 1
                        })
                    } else {
                        self.resync_response(d, rest, matched)
                    };
                    self.stats.resync_bytes += take as u64;
                    pos += take;
                }
                Stage::Length(n) => {
                    let avail = (seg.len() - pos) as u64;
                    let take = n.min(avail);
                    let end = pos + take as usize;
                    events.push(ParseEvent::Payload { start: pos, end });
                    self.add_body(d, is_req, take);
                    pos = end;
                    if take == n {
                        self.message_done(d, is_req, events);
                    } else {
                        self.sides[d].stage = Stage::Length(n - take);
                    }
                }
                Stage::UntilClose => {
                    events.push(ParseEvent::Payload { start: pos, end: seg.len() });
                    self.add_body(d, is_req, (seg.len() - pos) as u64);
                    pos = seg.len();
                }
                Stage::Wait => {
                    self.stats.ignored_bytes += (seg.len() - pos) as u64;
                    pos = seg.len();
                }
                Stage::Chunked(Chunk::Size) => match self.scan(d, seg, pos, false, self.limits.max_chunk_line) {
                    Scan::More => pos = seg.len(),
                    Scan::Oversize => return Err(SkipReason::LimitExceeded),
                    Scan::BadStart { .. } => return Err(SkipReason::Malformed),
                    Scan::Done(end) => {
                        pos = end;
                        let size = parse_chunk_size(&self.sides[d].buf).ok_or(SkipReason::Malformed)?;
                        self.sides[d].buf.clear();
                        self.sides[d].stage = Stage::Chunked(if size == 0 { Chunk::Trailer } else { Chunk::Data(size) });
                    }
                },
                Stage::Chunked(Chunk::Data(n)) => {
                    let avail = (seg.len() - pos) as u64;
                    let take = n.min(avail);
                    let end = pos + take as usize;
                    events.push(ParseEvent::Payload { start: pos, end });
                    self.add_body(d, is_req, take);
                    pos = end;
                    self.sides[d].stage = Stage::Chunked(if take == n { Chunk::DataEnd } else { Chunk::Data(n - take) });
                }
                Stage::Chunked(Chunk::DataEnd) => {
                    match seg.get(pos) {
                        Some(b'\r') => {}
                        Some(b'\n') => self.sides[d].stage = Stage::Chunked(Chunk::Size),
                        _ => return Err(SkipReason::Malformed),
                    }
                    pos += 1;
                }
                Stage::Chunked(Chunk::Trailer) => {
                    let used = self.sides[d].trailer_bytes;
                    let limit = self.limits.max_header_bytes.saturating_sub(used);
                    let before = self.sides[d].buf.len();
                    match self.scan(d, seg, pos, false, limit) {
                        Scan::More => {
                            self.sides[d].trailer_bytes += self.sides[d].buf.len() - before;
                            pos = seg.len();
                        }
                        Scan::Oversize => return Err(SkipReason::LimitExceeded),
                        Scan::BadStart { .. } => return Err(SkipReason::Malformed),
                        Scan::Done(end) => {
                            self.sides[d].trailer_bytes += self.sides[d].buf.len() - before;
                            pos = end;
                            let line = strip_eol(&self.sides[d].buf);
                            if line.is_empty() {
                                self.sides[d].buf.clear();
                                self.message_done(d, is_req, events);
                            } else {
                                self.add_trailer(d, is_req).map_err(|e| match e {
                                    HeadError::Malformed => SkipReason::Malformed,
                                    HeadError::TooManyHeaders => SkipReason::LimitExceeded,
                                })?;
                            }
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Summarises the events appended since `from`.
    fn summarize(events: &[ParseEvent]) -> ParseResult {
        events.iter().fold(ParseResult::Continue, |acc, e| {
            acc.max(match e {
                ParseEvent::HeadersDone(_) => ParseResult::HeadersDone,
                ParseEvent::SessionDone(_) => ParseResult::SessionDone,
                ParseEvent::Skipped(_) => ParseResult::Skipped,
                _ => ParseResult::Continue,
            })
        })
    }
}

impl Parser for HttpParser {
    type Session = HttpTransaction;

    /// `METHOD SP target SP HTTP/1.x` with any token method, or a status line
    /// `HTTP/1.` (mid-stream captures); `Unsure` while the first line is
    /// incomplete. The direction is not used: roles are decided by content.
    fn probe(seg: &[u8], _meta: &SegmentMeta) -> ProbeResult {
        probe_bytes(seg)
    }

    fn parse(&mut self, seg: &[u8], meta: &SegmentMeta, events: &mut Vec<ParseEvent>) -> ParseResult {
        if self.dead {
            return ParseResult::Skipped;
        }
        let from = events.len();
        if let Err(reason) = self.parse_inner(seg, meta.dir, events) {
            self.abandon(reason, events);
        }
        Self::summarize(events.get(from..).unwrap_or(&[]))
    }

    fn session(&self, id: SessionId) -> Option<&HttpTransaction> {
        self.done.get(&id).or_else(|| {
            self.pending
                .iter()
                .find(|p| p.id == id && p.headers_emitted)
                .map(|p| &p.tx)
        })
    }

    /// Removes a completed session. A transaction still in progress is
    /// returned as a snapshot and keeps being tracked.
    fn take_session(&mut self, id: SessionId) -> Option<HttpTransaction> {
        if let Some(tx) = self.done.remove(&id) {
            return Some(tx);
        }
        self.pending.iter().find(|p| p.id == id).map(|p| p.tx.clone())
    }

    fn finish(&mut self, events: &mut Vec<ParseEvent>) {
        if self.dead {
            return;
        }
        self.dead = true;
        // A body delimited by connection close ends here.
        for side in &self.sides {
            if side.stage == Stage::UntilClose {
                if let Some(p) = side.tx.and_then(|id| self.pending.iter_mut().find(|p| p.id == id)) {
                    if let Some(r) = p.tx.response.as_mut() {
                        r.body_complete = true;
                    }
                }
            }
        }
self.flush(events);
    }
}

#[cfg(test)]
mod tests;
