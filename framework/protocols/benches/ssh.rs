//! SSH handshake parser throughput: handshakes per second (banners with a
//! pre-banner line, KEXINIT both ways with OpenSSH-sized name-lists, ECDH
//! packets, NEWKEYS both ways), fed in realistic segments. The workload
//! first checks that the handshake completes with both KEXINITs.
//!
//! Run: `cargo bench -p weir-protocols --bench ssh -- --warm-up-time 1 --measurement-time 3`

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use weir_protocols::ssh::SshParser;
use weir_protocols::{Direction, ParseEvent, Parser, SegmentMeta, Timestamp, Transport};

fn meta(dir: Direction) -> SegmentMeta {
    SegmentMeta { dir, ts: Timestamp(0), transport: Transport::Tcp, orig_port: 50000, resp_port: 22 }
}

fn packet(msg: u8, payload: &[u8]) -> Vec<u8> {
    let mut padding = 8 - ((6 + payload.len()) % 8);
    if padding < 4 {
        padding += 8;
    }
    let mut v = ((2 + payload.len() + padding) as u32).to_be_bytes().to_vec();
    v.push(padding as u8);
    v.push(msg);
    v.extend_from_slice(payload);
    v.extend(std::iter::repeat_n(0, padding));
    v
}

fn kexinit() -> Vec<u8> {
    let mut p = vec![0x5a; 16];
    for s in [
        "sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256,ext-info-c,kex-strict-c-v00@openssh.com",
        "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256",
        "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com",
        "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com",
        "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1",
        "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1",
        "none,zlib@openssh.com",
        "none,zlib@openssh.com",
        "",
        "",
    ] {
        p.extend_from_slice(&(s.len() as u32).to_be_bytes());
        p.extend_from_slice(s.as_bytes());
    }
    p.extend_from_slice(&[0, 0, 0, 0, 0]);
    packet(20, &p)
}

fn handshake() -> Vec<(Direction, Vec<u8>)> {
    let c = Direction::ToResponder;
    let s = Direction::ToOriginator;
    let mut server_first = b"SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n".to_vec();
    server_first.extend(kexinit());
    let mut client_first = b"SSH-2.0-OpenSSH_9.7\r\n".to_vec();
    client_first.extend(kexinit());
    let mut reply = packet(31, &[3; 700]);
    reply.extend(packet(21, &[]));
    vec![
        (s, server_first),
        (c, client_first),
        (c, packet(30, &[1; 1190])),
        (s, reply),
        (c, packet(21, &[])),
    ]
}

fn run(segs: &[(Direction, Vec<u8>)]) -> usize {
    let mut p = SshParser::default();
    let mut events = Vec::with_capacity(16);
    let mut done = 0;
    for (d, seg) in segs {
        events.clear();
        p.parse(seg, &meta(*d), &mut events);
        if events.contains(&ParseEvent::SessionDone(0)) {
            done += usize::from(p.take_session(0).is_some_and(|h| h.client_kex.is_some() && h.server_kex.is_some()));
        }
    }
    done
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("ssh");
    g.throughput(Throughput::Elements(1));
    let segs = handshake();
    assert_eq!(run(&segs), 1, "expected one complete handshake");
    g.bench_function("handshake", |b| b.iter(|| run(black_box(&segs))));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
