//! TLS handshake message bodies (RFC 8446 §4, RFC 5246 §7.4): ClientHello,
//! ServerHello (incl. HelloRetryRequest), Certificate, ServerKeyExchange.
//!
//! Every function takes the message *body* (after the 4-byte handshake
//! header) and returns `None` if it is malformed; none can panic.

use serde::Serialize;

use super::names;

/// A bounds-checked big-endian reader over a byte slice.
#[derive(Clone, Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    pub(crate) fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        if n > self.buf.len() {
            return None;
        }
        let (a, b) = self.buf.split_at(n);
        self.buf = b;
        Some(a)
    }
    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.bytes(1).and_then(|b| b.first().copied())
    }
    pub(crate) fn u16(&mut self) -> Option<u16> {
        let b = self.bytes(2)?;
        Some(u16::from_be_bytes([*b.first()?, *b.get(1)?]))
    }
    pub(crate) fn u24(&mut self) -> Option<usize> {
        let b = self.bytes(3)?;
        Some((usize::from(*b.first()?) << 16) | (usize::from(*b.get(1)?) << 8) | usize::from(*b.get(2)?))
    }
    /// A vector with a 1-byte length prefix.
    pub(crate) fn vec8(&mut self) -> Option<&'a [u8]> {
        let n = self.u8()?;
        self.bytes(usize::from(n))
    }
    /// A vector with a 2-byte length prefix.
    pub(crate) fn vec16(&mut self) -> Option<&'a [u8]> {
        let n = self.u16()?;
        self.bytes(usize::from(n))
    }
    /// A vector with a 3-byte length prefix.
    pub(crate) fn vec24(&mut self) -> Option<&'a [u8]> {
        let n = self.u24()?;
        self.bytes(n)
    }
}

fn u16_list(b: &[u8]) -> Option<Vec<u16>> {
    if b.len() % 2 != 0 {
        return None;
    }
    Some(b.chunks_exact(2).filter_map(|c| c.try_into().ok().map(u16::from_be_bytes)).collect())
}

/// One extension, as it appeared on the wire.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Extension {
    #[serde(rename = "type")]
    pub typ: u16,
    /// IANA name, or hex for unknown types.
    pub name: String,
    /// The extension body, raw.
    #[serde(serialize_with = "ser_hex")]
    pub data: Vec<u8>,
}

/// One key share entry: the group and the length of its key exchange bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct KeyShare {
    pub group: u16,
    pub group_name: String,
    pub len: usize,
}

pub(crate) fn ser_hex<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&hex(b))
}

/// Lowercase hex without separators.
pub fn hex(b: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

/// A parsed ClientHello.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ClientHello {
    pub legacy_version: u16,
    #[serde(serialize_with = "ser_hex")]
    pub random: Vec<u8>,
    #[serde(serialize_with = "ser_hex")]
    pub session_id: Vec<u8>,
    pub cipher_suites: Vec<u16>,
    pub compression_methods: Vec<u8>,
    /// Every extension in wire order, with raw data.
    pub extensions: Vec<Extension>,
    /// Host names from `server_name` (usually one).
    pub server_names: Vec<String>,
    pub alpn: Vec<String>,
    pub supported_versions: Vec<u16>,
    pub supported_groups: Vec<u16>,
    pub signature_algorithms: Vec<u16>,
    pub ec_point_formats: Vec<u8>,
    pub key_shares: Vec<KeyShare>,
    /// The hello arrived in the SSLv2-compatible format (2-byte header).
    pub sslv2: bool,
}

impl ClientHello {
    /// The SNI as one string (several names comma-joined), if present.
    pub fn sni(&self) -> Option<String> {
        if self.server_names.is_empty() {
            None
        } else {
            Some(self.server_names.join(","))
        }
    }

    pub fn has_extension(&self, typ: u16) -> bool {
        self.extensions.iter().any(|e| e.typ == typ)
    }
}

/// The special ServerHello.random of a HelloRetryRequest (RFC 8446 §4.1.3).
pub const HRR_RANDOM: [u8; 32] = [
    0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91, 0xc2, 0xa2, 0x11,
    0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
];

/// A parsed ServerHello (or HelloRetryRequest).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ServerHello {
    pub legacy_version: u16,
    #[serde(serialize_with = "ser_hex")]
    pub random: Vec<u8>,
    #[serde(serialize_with = "ser_hex")]
    pub session_id: Vec<u8>,
    pub cipher_suite: u16,
    pub compression_method: u8,
    pub extensions: Vec<Extension>,
    /// `supported_versions` (TLS 1.3): the selected version.
    pub selected_version: Option<u16>,
    /// ALPN chosen by the server.
    pub alpn: Option<String>,
    /// Key share (TLS 1.3 ServerHello), or the group requested by a HelloRetryRequest (len 0).
    pub key_share: Option<KeyShare>,
    pub is_hello_retry_request: bool,
}

impl ServerHello {
    /// The negotiated version: `supported_versions` if present, else the legacy version.
    pub fn version(&self) -> u16 {
        self.selected_version.unwrap_or(self.legacy_version)
    }
}

fn parse_extensions(r: &mut Reader<'_>) -> Option<Vec<Extension>> {
    let mut out = Vec::new();
    if r.is_empty() {
        return Some(out); // extensions are optional before TLS 1.3
    }
    let mut ext = Reader::new(r.vec16()?);
    while !ext.is_empty() {
        let typ = ext.u16()?;
        let data = ext.vec16()?;
        out.push(Extension { typ, name: names::or_hex(names::extension(typ), typ), data: data.to_vec() });
    }
    Some(out)
}

fn parse_alpn_list(data: &[u8]) -> Option<Vec<String>> {
    let mut r = Reader::new(data);
    let mut list = Reader::new(r.vec16()?);
    let mut out = Vec::new();
    while !list.is_empty() {
        out.push(String::from_utf8_lossy(list.vec8()?).into_owned());
    }
    Some(out)
}

/// Parse a ClientHello body. `None` if malformed.
pub fn parse_client_hello(body: &[u8]) -> Option<ClientHello> {
    let mut r = Reader::new(body);
    let mut ch = ClientHello {
        legacy_version: r.u16()?,
        random: r.bytes(32)?.to_vec(),
        session_id: r.vec8()?.to_vec(),
        ..ClientHello::default()
    };
    ch.cipher_suites = u16_list(r.vec16()?)?;
    ch.compression_methods = r.vec8()?.to_vec();
    ch.extensions = parse_extensions(&mut r)?;
    // A malformed body of a known extension only loses that extension's
    // derived field (its raw bytes stay in `extensions`); the framing above
    // is what makes a ClientHello malformed.
    let exts = std::mem::take(&mut ch.extensions);
    for e in &exts {
        let _ = client_extension(&mut ch, e.typ, &e.data);
    }
    ch.extensions = exts;
    Some(ch)
}

fn client_extension(ch: &mut ClientHello, typ: u16, d: &[u8]) -> Option<()> {
    match typ {
        0 if !d.is_empty() => {
            let mut x = Reader::new(d);
            let mut list = Reader::new(x.vec16()?);
            while !list.is_empty() {
                let kind = list.u8()?;
                let name = list.vec16()?;
                if kind == 0 {
                    ch.server_names.push(String::from_utf8_lossy(name).into_owned());
                }
            }
        }
        10 => ch.supported_groups = u16_list(Reader::new(d).vec16()?)?,
        11 => ch.ec_point_formats = Reader::new(d).vec8()?.to_vec(),
        13 => ch.signature_algorithms = u16_list(Reader::new(d).vec16()?)?,
        16 => ch.alpn = parse_alpn_list(d)?,
        43 => ch.supported_versions = u16_list(Reader::new(d).vec8()?)?,
        51 => {
            let mut x = Reader::new(d);
            let mut list = Reader::new(x.vec16()?);
            while !list.is_empty() {
                let group = list.u16()?;
                let len = list.vec16()?.len();
                ch.key_shares.push(KeyShare { group, group_name: names::or_hex(names::group(group), group), len });
            }
        }
        _ => {}
    }
    Some(())
}

/// Parse an SSLv2-format ClientHello record body (after the 2-byte header):
/// msg type 1, version, cipher-spec/session-id/challenge lengths, data.
pub fn parse_sslv2_client_hello(body: &[u8]) -> Option<ClientHello> {
    let mut r = Reader::new(body);
    if r.u8()? != 1 {
        return None;
    }
    let version = r.u16()?;
    let spec_len = usize::from(r.u16()?);
    let sid_len = usize::from(r.u16()?);
    let chal_len = usize::from(r.u16()?);
    let specs = r.bytes(spec_len)?;
    let sid = r.bytes(sid_len)?;
    let challenge = r.bytes(chal_len)?;
    if spec_len % 3 != 0 {
        return None;
    }
    let cipher_suites = specs
        .chunks_exact(3)
        .filter_map(|c| match c {
            [0, hi, lo] => Some(u16::from_be_bytes([*hi, *lo])),
            _ => None,
        })
        .collect();
    Some(ClientHello {
        legacy_version: version,
        random: challenge.to_vec(),
        session_id: sid.to_vec(),
        cipher_suites,
        sslv2: true,
        ..ClientHello::default()
    })
}

/// Parse a ServerHello body. `None` if malformed.
pub fn parse_server_hello(body: &[u8]) -> Option<ServerHello> {
    let mut r = Reader::new(body);
    let legacy_version = r.u16()?;
    let random = r.bytes(32)?.to_vec();
    let is_hrr = random == HRR_RANDOM;
    let mut sh = ServerHello {
        legacy_version,
        random,
        session_id: r.vec8()?.to_vec(),
        cipher_suite: r.u16()?,
        compression_method: r.u8()?,
        is_hello_retry_request: is_hrr,
        ..ServerHello::default()
    };
    sh.extensions = parse_extensions(&mut r)?;
    let exts = std::mem::take(&mut sh.extensions);
    for e in &exts {
        let _ = server_extension(&mut sh, e.typ, &e.data);
    }
    sh.extensions = exts;
    Some(sh)
}

fn server_extension(sh: &mut ServerHello, typ: u16, d: &[u8]) -> Option<()> {
    match typ {
        43 => sh.selected_version = Some(Reader::new(d).u16()?),
        16 => sh.alpn = parse_alpn_list(d)?.into_iter().next(),
        51 => {
            let mut x = Reader::new(d);
            let group = x.u16()?;
            let len = if sh.is_hello_retry_request { 0 } else { x.vec16()?.len() };
            sh.key_share = Some(KeyShare { group, group_name: names::or_hex(names::group(group), group), len });
        }
        _ => {}
    }
    Some(())
}

/// Split a TLS ≤ 1.2 Certificate body into DER certificates.
pub fn parse_certificate_list(body: &[u8]) -> Option<Vec<&[u8]>> {
    let mut r = Reader::new(body);
    let mut list = Reader::new(r.vec24()?);
    let mut out = Vec::new();
    while !list.is_empty() {
        out.push(list.vec24()?);
    }
    Some(out)
}

/// The named group of an ECDHE ServerKeyExchange (`curve_type` 3 = named_curve).
pub fn server_key_exchange_group(body: &[u8]) -> Option<u16> {
    let mut r = Reader::new(body);
    if r.u8()? != 3 {
        return None;
    }
    let group = r.u16()?;
    // The public point follows; require it to be present to reject non-ECDHE bodies.
    let point = r.vec8()?;
    if point.is_empty() {
        return None;
    }
    Some(group)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Build a ClientHello body with the given extensions.
    pub(crate) fn client_hello_body(ciphers: &[u16], exts: &[(u16, Vec<u8>)]) -> Vec<u8> {
        let mut b = vec![0x03, 0x03];
        b.extend_from_slice(&[7u8; 32]);
        b.push(0);
        b.extend_from_slice(&((ciphers.len() * 2) as u16).to_be_bytes());
        for c in ciphers {
            b.extend_from_slice(&c.to_be_bytes());
        }
        b.extend_from_slice(&[1, 0]);
        let mut e = Vec::new();
        for (t, d) in exts {
            e.extend_from_slice(&t.to_be_bytes());
            e.extend_from_slice(&(d.len() as u16).to_be_bytes());
            e.extend_from_slice(d);
        }
        b.extend_from_slice(&(e.len() as u16).to_be_bytes());
        b.extend_from_slice(&e);
        b
    }

    pub(crate) fn sni_ext(name: &str) -> (u16, Vec<u8>) {
        let mut d = Vec::new();
        d.extend_from_slice(&((name.len() + 3) as u16).to_be_bytes());
        d.push(0);
        d.extend_from_slice(&(name.len() as u16).to_be_bytes());
        d.extend_from_slice(name.as_bytes());
        (0, d)
    }

    pub(crate) fn alpn_ext(protos: &[&str]) -> (u16, Vec<u8>) {
        let mut l = Vec::new();
        for p in protos {
            l.push(p.len() as u8);
            l.extend_from_slice(p.as_bytes());
        }
        let mut d = (l.len() as u16).to_be_bytes().to_vec();
        d.extend_from_slice(&l);
        (16, d)
    }

    #[test]
    fn client_hello_fields() {
        let body = client_hello_body(
            &[0x0a0a, 0x1301, 0xc02f],
            &[
                sni_ext("example.com"),
                alpn_ext(&["h2", "http/1.1"]),
                (43, vec![4, 0x0a, 0x0a, 0x03, 0x04]),
                (10, vec![0, 4, 0, 29, 0, 23]),
                (11, vec![1, 0]),
                (13, vec![0, 2, 4, 3]),
                (51, vec![0, 6, 0, 29, 0, 2, 0xaa, 0xbb]),
            ],
        );
        let ch = parse_client_hello(&body).expect("valid");
        assert_eq!(ch.sni().as_deref(), Some("example.com"));
        assert_eq!(ch.alpn, vec!["h2", "http/1.1"]);
        assert_eq!(ch.supported_versions, vec![0x0a0a, 0x0304]);
        assert_eq!(ch.supported_groups, vec![29, 23]);
        assert_eq!(ch.ec_point_formats, vec![0]);
        assert_eq!(ch.signature_algorithms, vec![0x0403]);
        assert_eq!(ch.key_shares, vec![KeyShare { group: 29, group_name: "x25519".into(), len: 2 }]);
        assert_eq!(ch.extensions.len(), 7);
        assert_eq!(ch.cipher_suites, vec![0x0a0a, 0x1301, 0xc02f]);
    }

    #[test]
    fn truncated_client_hello_is_none() {
        let body = client_hello_body(&[0x1301], &[sni_ext("a.example")]);
        for n in 0..body.len() {
            // Cutting inside the extensions block makes it malformed; never a panic.
            let _ = parse_client_hello(&body[..n]);
        }
        assert!(parse_client_hello(&body[..body.len() - 1]).is_none());
    }

    #[test]
    fn malformed_extension_body_keeps_the_hello() {
        let body = client_hello_body(&[0x1301], &[sni_ext("ok.example"), (51, vec![0, 38, 0, 29, 0, 2, 1, 2])]);
        let ch = parse_client_hello(&body).expect("framing is valid");
        assert_eq!(ch.sni().as_deref(), Some("ok.example"));
        assert!(ch.key_shares.is_empty());
        assert_eq!(ch.extensions.len(), 2);
    }

    #[test]
    fn hello_retry_request_detected() {
        let mut b = vec![3, 3];
        b.extend_from_slice(&HRR_RANDOM);
        b.extend_from_slice(&[0, 0x13, 0x02, 0]);
        b.extend_from_slice(&[0, 12, 0, 43, 0, 2, 3, 4, 0, 51, 0, 2, 0, 23]);
        let sh = parse_server_hello(&b).expect("valid");
        assert!(sh.is_hello_retry_request);
        assert_eq!(sh.version(), 0x0304);
        assert_eq!(sh.key_share.map(|k| k.group), Some(23));
    }
}
