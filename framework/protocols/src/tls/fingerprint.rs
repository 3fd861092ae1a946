//! Client and server fingerprints: JA3, JA3S (Salesforce) and JA4 (FoxIO).

use md5::{Digest as _, Md5};
use sha2::Sha256;

use super::handshake::{hex, ClientHello, ServerHello};
use super::names::is_grease;

fn join_dec<T: ToString>(v: impl Iterator<Item = T>) -> String {
    v.map(|x| x.to_string()).collect::<Vec<_>>().join("-")
}

/// The JA3 string: `version,ciphers,extensions,groups,point_formats`
/// (decimal, dash-separated, GREASE removed).
pub fn ja3_string(ch: &ClientHello) -> String {
    format!(
        "{},{},{},{},{}",
        ch.legacy_version,
        join_dec(ch.cipher_suites.iter().filter(|c| !is_grease(**c))),
        join_dec(ch.extensions.iter().map(|e| e.typ).filter(|t| !is_grease(*t))),
        join_dec(ch.supported_groups.iter().filter(|g| !is_grease(**g))),
        join_dec(ch.ec_point_formats.iter()),
    )
}

/// JA3: MD5 of [`ja3_string`], lowercase hex.
pub fn ja3(ch: &ClientHello) -> String {
    hex(&Md5::digest(ja3_string(ch).as_bytes()))
}

/// The JA3S string: `version,cipher,extensions`.
pub fn ja3s_string(sh: &ServerHello) -> String {
    format!(
        "{},{},{}",
        sh.legacy_version,
        sh.cipher_suite,
        join_dec(sh.extensions.iter().map(|e| e.typ).filter(|t| !is_grease(*t))),
    )
}

/// JA3S: MD5 of [`ja3s_string`], lowercase hex.
pub fn ja3s(sh: &ServerHello) -> String {
    hex(&Md5::digest(ja3s_string(sh).as_bytes()))
}

fn ja4_version(v: u16) -> &'static str {
    match v {
        0x0304 => "13",
        0x0303 => "12",
        0x0302 => "11",
        0x0301 => "10",
        0x0300 => "s3",
        0x0002 => "s2",
        0xfeff => "d1",
        0xfefd => "d2",
        0xfefc => "d3",
        _ => "00",
    }
}

fn sha256_12(s: &str) -> String {
    if s.is_empty() {
        return "000000000000".to_owned();
    }
    let h = hex(&Sha256::digest(s.as_bytes()));
    h.get(..12).unwrap_or_default().to_owned()
}

fn alpn_chars(alpn: Option<&String>) -> String {
    let Some(a) = alpn.map(|a| a.as_bytes()).filter(|a| !a.is_empty()) else { return "00".to_owned() };
    let (Some(&first), Some(&last)) = (a.first(), a.last()) else { return "00".to_owned() };
    if first.is_ascii_alphanumeric() && last.is_ascii_alphanumeric() {
        format!("{}{}", char::from(first), char::from(last))
    } else {
        let h = hex(a);
        let f = h.chars().next().unwrap_or('0');
        let l = h.chars().last().unwrap_or('0');
        format!("{f}{l}")
    }
}

/// JA4 (`t13d1516h2_8daaf6152771_02713d6af862`); `quic` selects the `q` prefix.
pub fn ja4(ch: &ClientHello, quic: bool) -> String {
    let proto = if quic { 'q' } else { 't' };
    let version = ch
        .supported_versions
        .iter()
        .copied()
        .filter(|v| !is_grease(*v))
        .max()
        .unwrap_or(ch.legacy_version);
    let sni = if ch.has_extension(0) { 'd' } else { 'i' };
    let ciphers: Vec<u16> = ch.cipher_suites.iter().copied().filter(|c| !is_grease(*c)).collect();
    let exts: Vec<u16> = ch.extensions.iter().map(|e| e.typ).filter(|t| !is_grease(*t)).collect();
    let a = format!(
        "{proto}{}{sni}{:02}{:02}{}",
        ja4_version(version),
        ciphers.len().min(99),
        exts.len().min(99),
        alpn_chars(ch.alpn.first())
    );
    let mut sorted_ciphers: Vec<String> = ciphers.iter().map(|c| format!("{c:04x}")).collect();
    sorted_ciphers.sort();
    let b = sha256_12(&sorted_ciphers.join(","));
    let mut sorted_exts: Vec<String> =
        exts.iter().filter(|t| **t != 0 && **t != 16).map(|t| format!("{t:04x}")).collect();
    sorted_exts.sort();
    let sigs: Vec<String> =
        ch.signature_algorithms.iter().filter(|s| !is_grease(**s)).map(|s| format!("{s:04x}")).collect();
    let c_in = if sorted_exts.is_empty() {
        String::new()
    } else if sigs.is_empty() {
        sorted_exts.join(",")
    } else {
        format!("{}_{}", sorted_exts.join(","), sigs.join(","))
    };
    format!("{a}_{b}_{}", sha256_12(&c_in))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::handshake::parse_client_hello;
    use crate::tls::handshake::tests::{alpn_ext, client_hello_body, sni_ext};

    #[test]
    fn ja3_string_removes_grease() {
        let body = client_hello_body(
            &[0x2a2a, 0x1301, 0xc02f],
            &[(0x3a3a, vec![]), sni_ext("x.test"), (10, vec![0, 4, 0x4a, 0x4a, 0, 29]), (11, vec![1, 0])],
        );
        let ch = parse_client_hello(&body).expect("valid");
        assert_eq!(ja3_string(&ch), "771,4865-49199,0-10-11,29,0");
        // MD5 of the empty string as a sanity anchor for the digest plumbing.
        assert_eq!(hex(&Md5::digest(b"")), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(ja3(&ch).len(), 32);
    }

    #[test]
    fn ja4_prefix_counts_and_alpn() {
        let body = client_hello_body(
            &[0x1301, 0x1302, 0x0a0a],
            &[sni_ext("x.test"), alpn_ext(&["h2"]), (43, vec![2, 3, 4]), (13, vec![0, 2, 4, 3])],
        );
        let ch = parse_client_hello(&body).expect("valid");
        let j = ja4(&ch, false);
        assert!(j.starts_with("t13d0204h2_"), "{j}");
        let parts: Vec<&str> = j.split('_').collect();
        assert_eq!(parts.len(), 3);
        // b: sha256("1301,1302"); c: sha256("000d,002b_0403") (SNI and ALPN excluded).
        assert_eq!(parts[1], &hex(&Sha256::digest(b"1301,1302"))[..12]);
        assert_eq!(parts[2], &hex(&Sha256::digest(b"000d,002b_0403"))[..12]);
        assert!(ja4(&ch, true).starts_with('q'));
    }

    #[test]
    fn ja4_alpn_non_alphanumeric_uses_hex() {
        assert_eq!(alpn_chars(Some(&"\u{1}ab".to_owned())), "02");
        assert_eq!(alpn_chars(None), "00");
        assert_eq!(alpn_chars(Some(&"http/1.1".to_owned())), "h1");
    }
}
