//! HTTP/1.1 requests and responses (keep-alive or pipelined; Content-Length or chunked).

use rand::Rng;

use super::{random_bytes, Lazy, Msg};
use crate::wire::Dir;

/// One HTTP transaction to generate.
#[derive(Debug, Clone)]
pub struct Transaction {
    /// Host header.
    pub host: String,
    /// Request target.
    pub uri: String,
    /// User-Agent header.
    pub user_agent: String,
    /// Response body length.
    pub body_len: usize,
    /// Chunked transfer encoding for the response.
    pub chunked: bool,
}

/// The request bytes.
pub fn request(t: &Transaction) -> Vec<u8> {
    format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: {}\r\nAccept: */*\r\nAccept-Encoding: gzip, deflate\r\nConnection: keep-alive\r\n\r\n",
        t.uri, t.host, t.user_agent
    )
    .into_bytes()
}

/// The response bytes (random body; text/plain-like bytes in the printable range).
pub fn response(rng: &mut impl Rng, t: &Transaction) -> Vec<u8> {
    let mut out = Vec::with_capacity(t.body_len + 256);
    out.extend_from_slice(b"HTTP/1.1 200 OK\r\nServer: weir-synthetic/1.0\r\nContent-Type: application/octet-stream\r\n");
    if t.chunked {
        out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
        let mut left = t.body_len;
        while left > 0 {
            let n = left.min(rng.gen_range(1024..16384));
            out.extend_from_slice(format!("{n:x}\r\n").as_bytes());
            random_bytes(rng, &mut out, n);
            out.extend_from_slice(b"\r\n");
            left -= n;
        }
        out.extend_from_slice(b"0\r\n\r\n");
    } else {
        out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", t.body_len).as_bytes());
        random_bytes(rng, &mut out, t.body_len);
    }
    out
}

/// The messages of a connection carrying `txs`, pipelined (all requests first) or not.
pub fn conversation(rng: &mut impl Rng, txs: &[Transaction], pipelined: bool) -> Vec<Msg> {
    let mut msgs = Vec::new();
    if pipelined {
        let reqs: Vec<u8> = txs.iter().map(request).collect::<Vec<_>>().concat();
        msgs.push(Msg::key(Dir::ToServer, reqs));
        let resp: Vec<u8> = txs.iter().map(|t| response(rng, t)).collect::<Vec<_>>().concat();
        msgs.push(Msg::new(Dir::ToClient, resp).after(rng.gen_range(100_000..2_000_000)));
    } else {
        for t in txs {
            msgs.push(Msg::key(Dir::ToServer, request(t)).after(rng.gen_range(0..5_000_000)));
            let think = rng.gen_range(100_000..2_000_000);
            let m = if t.chunked {
                Msg::new(Dir::ToClient, response(rng, t))
            } else {
                // Headers now, the body produced while segmenting.
                let mut head = response(rng, &Transaction { body_len: 0, ..t.clone() });
                let cl = b"Content-Length: 0\r\n";
                let at = head.windows(cl.len()).position(|w| w == cl).unwrap_or(head.len());
                head.truncate(at);
                head.extend_from_slice(format!("Content-Length: {}\r\n\r\n", t.body_len).as_bytes());
                Msg { lazy: Some(Lazy::Random { len: t.body_len, seed: rng.gen() }), ..Msg::new(Dir::ToClient, head) }
            };
            msgs.push(m.after(think));
        }
    }
    msgs
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn tx(chunked: bool, body_len: usize) -> Transaction {
        Transaction { host: "h.test".into(), uri: "/a".into(), user_agent: "ua".into(), body_len, chunked }
    }

    #[test]
    fn content_length_body() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let r = response(&mut rng, &tx(false, 100));
        let text = String::from_utf8_lossy(&r);
        assert!(text.contains("Content-Length: 100\r\n\r\n"));
        let hdr_end = r.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        assert_eq!(r.len() - hdr_end, 100);
    }

    #[test]
    fn chunked_body_decodes_to_length() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let r = response(&mut rng, &tx(true, 40_000));
        let mut i = r.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let mut total = 0;
        loop {
            let line_end = i + r[i..].windows(2).position(|w| w == b"\r\n").unwrap();
            let n = usize::from_str_radix(std::str::from_utf8(&r[i..line_end]).unwrap(), 16).unwrap();
            i = line_end + 2 + n + 2;
            total += n;
            if n == 0 {
                break;
            }
        }
        assert_eq!((total, i), (40_000, r.len()));
    }

    #[test]
    fn keep_alive_lazy_body_has_declared_length() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        let m = conversation(&mut rng, &[tx(false, 5000), tx(true, 300)], false);
        assert_eq!(m.len(), 4);
        for resp in [&m[1], &m[3]] {
            let r = resp.bytes();
            let hdr_end = r.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
            let head = String::from_utf8_lossy(&r[..hdr_end]).to_string();
            if let Some(cl) = head.split("Content-Length: ").nth(1) {
                let n: usize = cl.split("\r\n").next().unwrap().parse().unwrap();
                assert_eq!(n, r.len() - hdr_end);
            } else {
                assert!(head.contains("chunked") && r.ends_with(b"0\r\n\r\n"));
            }
        }
    }

    #[test]
    fn pipelined_sends_requests_together() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let m = conversation(&mut rng, &[tx(false, 10), tx(true, 10)], true);
        assert_eq!(m.len(), 2);
        assert_eq!(String::from_utf8_lossy(&m[0].data).matches("GET /a").count(), 2);
    }
}
