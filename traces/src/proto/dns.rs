//! DNS messages (RFC 1035): queries and A / AAAA / CNAME / NXDOMAIN responses.

use rand::Rng;

/// Query types used.
pub const QTYPE_A: u16 = 1;
/// CNAME record type.
pub const QTYPE_CNAME: u16 = 5;
/// AAAA record type.
pub const QTYPE_AAAA: u16 = 28;

/// How the server answers one query.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// Address record(s) of the query type.
    Address,
    /// A CNAME to another name, then its address record.
    Cname,
    /// RCODE 3, no answers.
    NxDomain,
    /// No response at all.
    Unanswered,
}

fn push_name(out: &mut Vec<u8>, name: &str) {
    for label in name.split('.').filter(|l| !l.is_empty()) {
        let l = &label.as_bytes()[..label.len().min(63)];
        out.push(l.len() as u8);
        out.extend_from_slice(l);
    }
    out.push(0);
}

/// A standard recursive query.
pub fn query(id: u16, name: &str, qtype: u16) -> Vec<u8> {
    let mut m = Vec::with_capacity(name.len() + 18);
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&0x0100u16.to_be_bytes()); // RD
    m.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    push_name(&mut m, name);
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    m
}

fn push_rr_addr(m: &mut Vec<u8>, name_ptr: u16, qtype: u16, rng: &mut impl Rng) {
    m.extend_from_slice(&name_ptr.to_be_bytes());
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    m.extend_from_slice(&rng.gen_range(30u32..86_400).to_be_bytes());
    if qtype == QTYPE_AAAA {
        m.extend_from_slice(&16u16.to_be_bytes());
        m.extend_from_slice(&[0x20, 0x01, 0x0d, 0xb8]);
        let tail: [u8; 12] = rng.gen();
        m.extend_from_slice(&tail);
    } else {
        m.extend_from_slice(&4u16.to_be_bytes());
        m.extend_from_slice(&[198, 51, 100, rng.gen_range(1..255)]);
    }
}

/// The response to `query(id, name, qtype)`; `None` for [`Answer::Unanswered`].
pub fn response(rng: &mut impl Rng, id: u16, name: &str, qtype: u16, answer: Answer) -> Option<Vec<u8>> {
    let (rcode, ancount) = match answer {
        Answer::Unanswered => return None,
        Answer::NxDomain => (3u16, 0u16),
        Answer::Address => (0, rng.gen_range(1..=3)),
        Answer::Cname => (0, 2),
    };
    let mut m = Vec::with_capacity(name.len() * 2 + 80);
    m.extend_from_slice(&id.to_be_bytes());
    m.extend_from_slice(&(0x8180u16 | rcode).to_be_bytes()); // QR RD RA
    m.extend_from_slice(&1u16.to_be_bytes());
    m.extend_from_slice(&ancount.to_be_bytes());
    m.extend_from_slice(&[0, 0, 0, 0]);
    push_name(&mut m, name);
    m.extend_from_slice(&qtype.to_be_bytes());
    m.extend_from_slice(&1u16.to_be_bytes());
    match answer {
        Answer::Address => {
            for _ in 0..ancount {
                push_rr_addr(&mut m, 0xc00c, qtype, rng);
            }
        }
        Answer::Cname => {
            m.extend_from_slice(&0xc00cu16.to_be_bytes());
            m.extend_from_slice(&QTYPE_CNAME.to_be_bytes());
            m.extend_from_slice(&1u16.to_be_bytes());
            m.extend_from_slice(&300u32.to_be_bytes());
            let target_off = m.len() + 2;
            let mut target = Vec::new();
            push_name(&mut target, &format!("edge{:02}.cdn.example.net", rng.gen_range(0..100)));
            m.extend_from_slice(&(target.len() as u16).to_be_bytes());
            m.extend_from_slice(&target);
            push_rr_addr(&mut m, 0xc000 | target_off as u16, qtype, rng);
        }
        Answer::NxDomain | Answer::Unanswered => {}
    }
    Some(m)
}

/// Prefix a message with its 2-byte length (DNS over TCP).
pub fn tcp_framed(msg: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(msg.len() + 2);
    v.extend_from_slice(&(msg.len() as u16).to_be_bytes());
    v.extend_from_slice(msg);
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn query_bytes_match_rfc_layout() {
        let q = query(0x1234, "www.example.com", QTYPE_A);
        let mut want = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        want.extend_from_slice(b"\x03www\x07example\x03com\x00\x00\x01\x00\x01");
        assert_eq!(q, want);
    }

    #[test]
    fn responses_flags_and_counts() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let nx = response(&mut rng, 7, "no.example", QTYPE_A, Answer::NxDomain).unwrap();
        assert_eq!(&nx[2..4], &[0x81, 0x83]);
        assert_eq!(&nx[6..8], &[0, 0]);
        let c = response(&mut rng, 7, "a.example", QTYPE_AAAA, Answer::Cname).unwrap();
        assert_eq!(&c[6..8], &[0, 2]);
        // the compression pointer of the second RR points at the CNAME target
        let q_end = 12 + 11 + 4;
        let target_off = q_end + 12;
        let ptr = u16::from_be_bytes([c[c.len() - 28], c[c.len() - 27]]);
        assert_eq!(ptr, 0xc000 | target_off as u16);
        assert_eq!(c[target_off], 6); // "edgeNN" label length
        assert!(response(&mut rng, 1, "x", QTYPE_A, Answer::Unanswered).is_none());
    }
}
