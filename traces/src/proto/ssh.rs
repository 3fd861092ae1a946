//! SSH-2 (RFC 4253): identification banners, KEXINIT with realistic name-lists,
//! ECDH key exchange messages, then encrypted-looking packets.

use rand::Rng;

use super::{random_bytes, random_vec, with_len, Msg};
use crate::wire::Dir;

/// Client identification strings (without CR LF).
pub const CLIENT_VERSIONS: [&str; 5] = [
    "SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5",
    "SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10",
    "SSH-2.0-PuTTY_Release_0.80",
    "SSH-2.0-libssh2_1.11.0",
    "SSH-2.0-Go",
];

/// Server identification strings (without CR LF).
pub const SERVER_VERSIONS: [&str; 4] = [
    "SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13.5",
    "SSH-2.0-OpenSSH_8.4p1 Debian-5+deb11u3",
    "SSH-2.0-OpenSSH_7.4",
    "SSH-2.0-dropbear_2022.83",
];

const CLIENT_KEX: [&str; 10] = [
    "sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256,ext-info-c,kex-strict-c-v00@openssh.com",
    "ssh-ed25519-cert-v01@openssh.com,ecdsa-sha2-nistp256-cert-v01@openssh.com,rsa-sha2-512-cert-v01@openssh.com,ssh-ed25519,ecdsa-sha2-nistp256,rsa-sha2-512,rsa-sha2-256",
    "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com",
    "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com",
    "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1",
    "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1",
    "none,zlib@openssh.com,zlib",
    "none,zlib@openssh.com,zlib",
    "",
    "",
];

const SERVER_KEX: [&str; 10] = [
    "sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,ecdh-sha2-nistp521,diffie-hellman-group-exchange-sha256,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,diffie-hellman-group14-sha256,kex-strict-s-v00@openssh.com",
    "rsa-sha2-512,rsa-sha2-256,ecdsa-sha2-nistp256,ssh-ed25519",
    "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com",
    "chacha20-poly1305@openssh.com,aes128-ctr,aes192-ctr,aes256-ctr,aes128-gcm@openssh.com,aes256-gcm@openssh.com",
    "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1",
    "umac-64-etm@openssh.com,umac-128-etm@openssh.com,hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha1-etm@openssh.com,umac-64@openssh.com,umac-128@openssh.com,hmac-sha2-256,hmac-sha2-512,hmac-sha1",
    "none,zlib@openssh.com",
    "none,zlib@openssh.com",
    "",
    "",
];

/// An unencrypted binary packet around `payload` (block size 8, random padding).
pub fn binary_packet(rng: &mut impl Rng, payload: &[u8]) -> Vec<u8> {
    let mut pad = 8 - (4 + 1 + payload.len()) % 8;
    if pad < 4 {
        pad += 8;
    }
    let mut p = Vec::with_capacity(5 + payload.len() + pad);
    p.extend_from_slice(&((1 + payload.len() + pad) as u32).to_be_bytes());
    p.push(pad as u8);
    p.extend_from_slice(payload);
    random_bytes(rng, &mut p, pad);
    p
}

/// SSH_MSG_KEXINIT payload with the given ten name-lists.
pub fn kexinit(rng: &mut impl Rng, lists: &[&str; 10]) -> Vec<u8> {
    let mut p = vec![20u8];
    random_bytes(rng, &mut p, 16);
    for l in lists {
        with_len(&mut p, 4, |o| o.extend_from_slice(l.as_bytes()));
    }
    p.push(0);
    p.extend_from_slice(&[0, 0, 0, 0]);
    p
}

/// The messages of an SSH connection: banners, KEXINITs, ECDH, NEWKEYS, then `data`
/// bytes of encrypted traffic in a few exchanges.
pub fn conversation(rng: &mut impl Rng, client: &str, server: &str, data: usize) -> Vec<Msg> {
    let mut msgs = vec![
        Msg::key(Dir::ToServer, format!("{client}\r\n").into_bytes()),
        Msg::key(Dir::ToClient, format!("{server}\r\n").into_bytes()),
    ];
    let ck = kexinit(rng, &CLIENT_KEX);
    msgs.push(Msg::key(Dir::ToServer, binary_packet(rng, &ck)));
    let sk = kexinit(rng, &SERVER_KEX);
    msgs.push(Msg::key(Dir::ToClient, binary_packet(rng, &sk)));
    let mut init = vec![30u8];
    with_len(&mut init, 4, |o| random_bytes(rng, o, 32));
    msgs.push(Msg::new(Dir::ToServer, binary_packet(rng, &init)));
    // KEX_ECDH_REPLY: host key blob (ssh-ed25519), server ephemeral key, signature blob.
    let mut reply = vec![31u8];
    with_len(&mut reply, 4, |o| {
        with_len(o, 4, |t| t.extend_from_slice(b"ssh-ed25519"));
        with_len(o, 4, |k| random_bytes(rng, k, 32));
    });
    with_len(&mut reply, 4, |o| random_bytes(rng, o, 32));
    with_len(&mut reply, 4, |o| {
        with_len(o, 4, |t| t.extend_from_slice(b"ssh-ed25519"));
        with_len(o, 4, |k| random_bytes(rng, k, 64));
    });
    let mut s = binary_packet(rng, &reply);
    s.extend_from_slice(&binary_packet(rng, &[21]));
    msgs.push(Msg::new(Dir::ToClient, s));
    let mut c = binary_packet(rng, &[21]);
    c.extend_from_slice(&random_vec(rng, 64)); // SERVICE_REQUEST, encrypted
    msgs.push(Msg::new(Dir::ToServer, c));
    let rounds = (data / 4096).clamp(1, 16);
    for _ in 0..rounds {
        let up = rng.gen_range(36..200);
        msgs.push(Msg::new(Dir::ToServer, random_vec(rng, up)).after(rng.gen_range(0..200_000_000)));
        let down = (data / rounds).max(36);
        msgs.push(Msg::new(Dir::ToClient, random_vec(rng, down)));
    }
    msgs
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn binary_packet_is_block_aligned() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        for n in 0..40 {
            let p = binary_packet(&mut rng, &vec![7u8; n]);
            assert_eq!(p.len() % 8, 0);
            let len = u32::from_be_bytes([p[0], p[1], p[2], p[3]]) as usize;
            assert_eq!(len + 4, p.len());
            assert!(p[4] >= 4);
            assert_eq!(&p[5..5 + n], &vec![7u8; n][..]);
        }
    }

    #[test]
    fn kexinit_lists_are_length_prefixed() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let k = kexinit(&mut rng, &CLIENT_KEX);
        let mut i = 17;
        for l in CLIENT_KEX {
            let n = u32::from_be_bytes(k[i..i + 4].try_into().unwrap()) as usize;
            assert_eq!(&k[i + 4..i + 4 + n], l.as_bytes());
            i += 4 + n;
        }
        assert_eq!(k.len(), i + 5);
    }
}
