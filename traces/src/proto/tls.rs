//! TLS 1.2 / 1.3 records and handshake messages (RFC 5246, RFC 8446), with
//! encrypted-looking (random) ciphertext where keys would be needed.

use rand::{Rng, RngCore};

use super::{der, random_bytes, random_vec, with_len, Msg};
use crate::wire::Dir;

/// Record content types.
pub const CT_CCS: u8 = 20;
/// Handshake record.
pub const CT_HANDSHAKE: u8 = 22;
/// Application data record.
pub const CT_APPDATA: u8 = 23;

/// Named group ids.
pub const GROUP_X25519: u16 = 0x001d;
/// X25519MLKEM768 (1216-byte client key share).
pub const GROUP_X25519_MLKEM768: u16 = 0x11ec;

/// Wrap `body` into records of at most 16384 bytes.
pub fn records(ctype: u8, version: u16, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 5 * (body.len() / 16384 + 1));
    for chunk in body.chunks(16384) {
        out.push(ctype);
        out.extend_from_slice(&version.to_be_bytes());
        out.extend_from_slice(&(chunk.len() as u16).to_be_bytes());
        out.extend_from_slice(chunk);
    }
    out
}

/// A handshake message: type, 3-byte length, body.
pub fn handshake(htype: u8, body: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(body.len() + 4);
    v.push(htype);
    with_len(&mut v, 3, |o| o.extend_from_slice(body));
    v
}

fn ext(out: &mut Vec<u8>, ty: u16, f: impl FnOnce(&mut Vec<u8>)) {
    out.extend_from_slice(&ty.to_be_bytes());
    with_len(out, 2, f);
}

/// What a ClientHello should contain.
#[derive(Debug, Clone)]
pub struct ClientHelloSpec<'a> {
    /// server_name extension, if any.
    pub sni: Option<&'a str>,
    /// ALPN protocols (empty = no extension).
    pub alpn: &'a [&'a str],
    /// Offer TLS 1.3 (supported_versions, key_share).
    pub tls13: bool,
    /// Add a post-quantum-sized key share (X25519MLKEM768).
    pub pq: bool,
    /// QUIC transport parameters extension body, if this is a QUIC ClientHello.
    pub quic_params: Option<Vec<u8>>,
}

const SUITES_13: [u16; 3] = [0x1301, 0x1302, 0x1303];
const SUITES_12: [u16; 9] = [0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c];
const SIG_ALGS: [u16; 8] = [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601];

/// A ClientHello handshake message (type 1).
pub fn client_hello(rng: &mut impl RngCore, spec: &ClientHelloSpec<'_>) -> Vec<u8> {
    let mut b = Vec::with_capacity(600);
    b.extend_from_slice(&0x0303u16.to_be_bytes());
    random_bytes(rng, &mut b, 32);
    if spec.quic_params.is_some() {
        b.push(0);
    } else {
        b.push(32);
        random_bytes(rng, &mut b, 32);
    }
    with_len(&mut b, 2, |o| {
        if spec.tls13 {
            SUITES_13.iter().for_each(|s| o.extend_from_slice(&s.to_be_bytes()));
        }
        if spec.quic_params.is_none() {
            SUITES_12.iter().for_each(|s| o.extend_from_slice(&s.to_be_bytes()));
        }
    });
    b.extend_from_slice(&[1, 0]); // compression: null
    with_len(&mut b, 2, |e| {
        if let Some(host) = spec.sni {
            ext(e, 0x0000, |o| {
                with_len(o, 2, |l| {
                    l.push(0);
                    with_len(l, 2, |n| n.extend_from_slice(host.as_bytes()));
                })
            });
        }
        ext(e, 0x0017, |_| {}); // extended_master_secret
        ext(e, 0xff01, |o| o.push(0)); // renegotiation_info
        ext(e, 0x000a, |o| {
            with_len(o, 2, |l| {
                if spec.pq {
                    l.extend_from_slice(&GROUP_X25519_MLKEM768.to_be_bytes());
                }
                for g in [GROUP_X25519, 0x0017, 0x0018] {
                    l.extend_from_slice(&g.to_be_bytes());
                }
            })
        });
        ext(e, 0x000b, |o| o.extend_from_slice(&[1, 0])); // ec_point_formats
        ext(e, 0x0023, |_| {}); // session_ticket
        if !spec.alpn.is_empty() {
            ext(e, 0x0010, |o| {
                with_len(o, 2, |l| {
                    for p in spec.alpn {
                        l.push(p.len() as u8);
                        l.extend_from_slice(p.as_bytes());
                    }
                })
            });
        }
        ext(e, 0x0005, |o| o.extend_from_slice(&[1, 0, 0, 0, 0])); // status_request
        ext(e, 0x000d, |o| {
            with_len(o, 2, |l| SIG_ALGS.iter().for_each(|s| l.extend_from_slice(&s.to_be_bytes())))
        });
        if spec.tls13 {
            ext(e, 0x0033, |o| {
                with_len(o, 2, |l| {
                    if spec.pq {
                        l.extend_from_slice(&GROUP_X25519_MLKEM768.to_be_bytes());
                        with_len(l, 2, |k| random_bytes(rng, k, 1216));
                    }
                    l.extend_from_slice(&GROUP_X25519.to_be_bytes());
                    with_len(l, 2, |k| random_bytes(rng, k, 32));
                })
            });
            ext(e, 0x002d, |o| o.extend_from_slice(&[1, 1])); // psk_key_exchange_modes
            ext(e, 0x002b, |o| {
                with_len(o, 1, |l| {
                    l.extend_from_slice(&0x0304u16.to_be_bytes());
                    if spec.quic_params.is_none() {
                        l.extend_from_slice(&0x0303u16.to_be_bytes());
                    }
                })
            });
        }
        if let Some(tp) = &spec.quic_params {
            ext(e, 0x0039, |o| o.extend_from_slice(tp));
        }
    });
    handshake(1, &b)
}

/// A ServerHello handshake message (type 2).
pub fn server_hello(rng: &mut impl RngCore, tls13: bool, suite: u16, alpn: Option<&str>, quic: bool) -> Vec<u8> {
    let mut b = Vec::with_capacity(128);
    b.extend_from_slice(&0x0303u16.to_be_bytes());
    random_bytes(rng, &mut b, 32);
    if quic {
        b.push(0);
    } else {
        b.push(32);
        random_bytes(rng, &mut b, 32);
    }
    b.extend_from_slice(&suite.to_be_bytes());
    b.push(0);
    with_len(&mut b, 2, |e| {
        if tls13 {
            ext(e, 0x002b, |o| o.extend_from_slice(&0x0304u16.to_be_bytes()));
            ext(e, 0x0033, |o| {
                o.extend_from_slice(&GROUP_X25519.to_be_bytes());
                with_len(o, 2, |k| random_bytes(rng, k, 32));
            });
        } else {
            ext(e, 0xff01, |o| o.push(0));
            ext(e, 0x0017, |_| {});
            ext(e, 0x000b, |o| o.extend_from_slice(&[1, 0]));
            if let Some(p) = alpn {
                ext(e, 0x0010, |o| {
                    with_len(o, 2, |l| {
                        l.push(p.len() as u8);
                        l.extend_from_slice(p.as_bytes());
                    })
                });
            }
        }
    });
    handshake(2, &b)
}

/// Certificate message (type 11) carrying a leaf for `host` and an intermediate.
pub fn certificate_msg(rng: &mut impl RngCore, host: &str) -> Vec<u8> {
    let leaf = der::certificate(rng, host, "Weir Intermediate CA");
    let inter = der::certificate(rng, "Weir Intermediate CA", "Weir Root CA");
    let mut b = Vec::with_capacity(leaf.len() + inter.len() + 9);
    with_len(&mut b, 3, |l| {
        for c in [&leaf, &inter] {
            with_len(l, 3, |o| o.extend_from_slice(c));
        }
    });
    handshake(11, &b)
}

/// Application-data records totalling about `n` payload bytes (random ciphertext).
pub fn app_data(rng: &mut impl RngCore, n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(n + 5 * (n / 16384 + 1) + 22);
    let mut left = n.max(1);
    while left > 0 {
        let chunk = left.min(16384);
        out.push(CT_APPDATA);
        out.extend_from_slice(&0x0303u16.to_be_bytes());
        out.extend_from_slice(&((chunk + 17) as u16).to_be_bytes());
        random_bytes(rng, &mut out, chunk + 17);
        left -= chunk;
    }
    out
}

/// The messages of a TLS handshake over TCP, up to (not including) application data.
pub fn handshake_msgs(rng: &mut impl Rng, tls13: bool, sni: Option<&str>, alpn: &[&str], pq: bool) -> Vec<Msg> {
    let spec = ClientHelloSpec { sni, alpn, tls13, pq, quic_params: None };
    let ch = client_hello(rng, &spec);
    let mut msgs = vec![Msg::key(Dir::ToServer, records(CT_HANDSHAKE, 0x0301, &ch))];
    let chosen_alpn = alpn.first().copied();
    let host = sni.unwrap_or("server.invalid");
    if tls13 {
        let mut s = records(CT_HANDSHAKE, 0x0303, &server_hello(rng, true, 0x1301, None, false));
        s.extend_from_slice(&records(CT_CCS, 0x0303, &[1]));
        // EncryptedExtensions + Certificate + CertificateVerify + Finished, encrypted.
        let n = rng.gen_range(2200..4200);
        s.extend_from_slice(&app_data(rng, n));
        msgs.push(Msg::new(Dir::ToClient, s).after(rng.gen_range(50_000..500_000)));
        let mut c = records(CT_CCS, 0x0303, &[1]);
        c.extend_from_slice(&app_data(rng, 36));
        msgs.push(Msg::new(Dir::ToServer, c));
    } else {
        let mut s = records(CT_HANDSHAKE, 0x0303, &server_hello(rng, false, 0xc02f, chosen_alpn, false));
        s.extend_from_slice(&records(CT_HANDSHAKE, 0x0303, &certificate_msg(rng, host)));
        let mut ske = vec![3];
        ske.extend_from_slice(&GROUP_X25519.to_be_bytes());
        ske.push(32);
        random_bytes(rng, &mut ske, 32);
        ske.extend_from_slice(&0x0804u16.to_be_bytes());
        with_len(&mut ske, 2, |o| random_bytes(rng, o, 256));
        s.extend_from_slice(&records(CT_HANDSHAKE, 0x0303, &handshake(12, &ske)));
        s.extend_from_slice(&records(CT_HANDSHAKE, 0x0303, &handshake(14, &[])));
        msgs.push(Msg::new(Dir::ToClient, s).after(rng.gen_range(50_000..500_000)));
        let mut cke = vec![32];
        random_bytes(rng, &mut cke, 32);
        let mut c = records(CT_HANDSHAKE, 0x0303, &handshake(16, &cke));
        c.extend_from_slice(&records(CT_CCS, 0x0303, &[1]));
        c.extend_from_slice(&records(CT_HANDSHAKE, 0x0303, &random_vec(rng, 40)));
        msgs.push(Msg::new(Dir::ToServer, c));
        let mut s2 = records(CT_CCS, 0x0303, &[1]);
        s2.extend_from_slice(&records(CT_HANDSHAKE, 0x0303, &random_vec(rng, 40)));
        msgs.push(Msg::new(Dir::ToClient, s2));
    }
    msgs
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn rng() -> rand_chacha::ChaCha8Rng {
        rand_chacha::ChaCha8Rng::seed_from_u64(3)
    }

    /// Walk the extensions of a ClientHello and return (type, body) pairs.
    fn extensions(ch: &[u8]) -> Vec<(u16, Vec<u8>)> {
        assert_eq!(ch[0], 1);
        let len = (ch[1] as usize) << 16 | (ch[2] as usize) << 8 | ch[3] as usize;
        assert_eq!(len, ch.len() - 4);
        let b = &ch[4..];
        let mut i = 2 + 32;
        i += 1 + b[i] as usize;
        i += 2 + u16::from_be_bytes([b[i], b[i + 1]]) as usize;
        i += 1 + b[i] as usize;
        let end = i + 2 + u16::from_be_bytes([b[i], b[i + 1]]) as usize;
        assert_eq!(end, b.len());
        i += 2;
        let mut out = Vec::new();
        while i < end {
            let t = u16::from_be_bytes([b[i], b[i + 1]]);
            let l = u16::from_be_bytes([b[i + 2], b[i + 3]]) as usize;
            out.push((t, b[i + 4..i + 4 + l].to_vec()));
            i += 4 + l;
        }
        assert_eq!(i, end);
        out
    }

    #[test]
    fn client_hello_carries_sni_and_alpn() {
        let spec = ClientHelloSpec { sni: Some("a.example.com"), alpn: &["h2", "http/1.1"], tls13: true, pq: false, quic_params: None };
        let ch = client_hello(&mut rng(), &spec);
        let exts = extensions(&ch);
        let sni = &exts.iter().find(|e| e.0 == 0).unwrap().1;
        assert_eq!(&sni[5..], b"a.example.com");
        let alpn = &exts.iter().find(|e| e.0 == 16).unwrap().1;
        assert_eq!(alpn, &b"\x00\x0c\x02h2\x08http/1.1".to_vec());
        assert!(exts.iter().any(|e| e.0 == 0x2b));
    }

    #[test]
    fn pq_client_hello_is_large() {
        let spec = ClientHelloSpec { sni: Some("pq.example"), alpn: &[], tls13: true, pq: true, quic_params: None };
        let ch = client_hello(&mut rng(), &spec);
        assert!(ch.len() > 1300);
        let ks = extensions(&ch).into_iter().find(|e| e.0 == 0x33).unwrap().1;
        assert_eq!(u16::from_be_bytes([ks[0], ks[1]]) as usize, ks.len() - 2);
    }

    #[test]
    fn records_split_at_16k() {
        let r = records(CT_HANDSHAKE, 0x0303, &[0; 20000]);
        assert_eq!(r.len(), 20000 + 10);
        assert_eq!(&r[..5], &[22, 3, 3, 0x40, 0]);
    }

    #[test]
    fn tls12_handshake_shape() {
        let m = handshake_msgs(&mut rng(), false, Some("x.test"), &["http/1.1"], false);
        assert_eq!(m.len(), 4);
        assert_eq!(m[0].data[0], CT_HANDSHAKE);
        assert!(m[0].key);
        // ServerHello, Certificate, ServerKeyExchange, ServerHelloDone records in order.
        let mut i = 0;
        let mut types = Vec::new();
        let s = &m[1].data;
        while i < s.len() {
            types.push(s[i + 5]);
            i += 5 + u16::from_be_bytes([s[i + 3], s[i + 4]]) as usize;
        }
        assert_eq!(types, vec![2, 11, 12, 14]);
    }
}
