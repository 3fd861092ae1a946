//! Certificate summaries (TLS ≤ 1.2 chains are sent in clear), parsed with
//! `x509-parser`.

use serde::Serialize;
use x509_parser::extensions::GeneralName;

/// What the logs need from one X.509 certificate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CertInfo {
    /// Subject DN in RFC 4514 style (`CN=example.com, O=...`); empty if unparseable.
    pub subject: String,
    pub issuer: String,
    /// Validity as Unix seconds.
    pub not_before: i64,
    pub not_after: i64,
    /// subjectAltName DNS names and IP addresses.
    pub san: Vec<String>,
    pub serial: String,
    /// DER length in bytes.
    pub der_len: usize,
    /// `false` if the DER did not parse (the other fields are then empty).
    pub parsed: bool,
}

/// Summarise one DER certificate; never panics, unparseable input gives `parsed: false`.
pub fn summarize(der: &[u8]) -> CertInfo {
    match x509_parser::parse_x509_certificate(der) {
        Ok((_, cert)) => {
            let mut san = Vec::new();
            if let Ok(Some(ext)) = cert.subject_alternative_name() {
                for g in &ext.value.general_names {
                    match g {
                        GeneralName::DNSName(n) => san.push((*n).to_owned()),
                        GeneralName::IPAddress(ip) => {
                            if let Ok(a) = <[u8; 4]>::try_from(*ip) {
                                san.push(std::net::Ipv4Addr::from(a).to_string());
                            } else if let Ok(a) = <[u8; 16]>::try_from(*ip) {
                                san.push(std::net::Ipv6Addr::from(a).to_string());
                            }
                        }
                        _ => {}
                    }
                }
            }
            CertInfo {
                subject: cert.subject().to_string(),
                issuer: cert.issuer().to_string(),
                not_before: cert.validity().not_before.timestamp(),
                not_after: cert.validity().not_after.timestamp(),
                san,
                serial: cert.raw_serial_as_string(),
                der_len: der.len(),
                parsed: true,
            }
        }
        Err(_) => CertInfo {
            subject: String::new(),
            issuer: String::new(),
            not_before: 0,
            not_after: 0,
            san: Vec::new(),
            serial: String::new(),
            der_len: der.len(),
            parsed: false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_is_unparsed_not_a_panic() {
        let c = summarize(&[0x30, 0x82, 0xff, 0xff, 1, 2, 3]);
        assert!(!c.parsed);
        assert_eq!(c.der_len, 7);
        assert!(!summarize(&[]).parsed);
    }
}
