//! Presets do what their names promise, and a printed mix parses back to itself.

use std::collections::BTreeSet;
use std::net::IpAddr;

use weir_tracegen::{generate, FlowKind, Mix, PRESETS};

fn run(preset: &str, flows: u64, seed: u64) -> Vec<weir_tracegen::FlowTruth> {
    let mut mix = Mix::preset(preset).unwrap();
    mix.flows = flows;
    mix.size_scale = 0.05;
    mix.mean_packet_size = 0;
    generate(&mix, seed).unwrap().1
}

#[test]
fn printed_mix_parses_back_identically() {
    for (name, _) in PRESETS {
        let mix = Mix::preset(name).unwrap();
        let text = toml::to_string(&mix).unwrap();
        let back = Mix::from_toml(&text, "printed").unwrap();
        assert_eq!(back, mix, "{name}");
    }
}

#[test]
fn subnets_preset_spreads_clients_over_128_slash24s() {
    let truth = run("subnets", 3000, 1);
    let mut client24 = BTreeSet::new();
    let mut server24 = BTreeSet::new();
    for t in &truth {
        let (IpAddr::V4(c), IpAddr::V4(s)) = (t.client, t.server) else { panic!("subnets is IPv4 only") };
        assert_eq!(c.octets()[0..2], [10, 0]);
        assert!(c.octets()[2] < 128);
        assert_eq!(s.octets()[0..2], [172, 16]);
        client24.insert(c.octets()[2]);
        server24.insert(s.octets()[2]);
    }
    assert_eq!(client24.len(), 128);
    assert_eq!(server24.len(), 16);
}

#[test]
fn http_hosts_preset_uses_256_hosts() {
    let truth = run("http-hosts", 3000, 2);
    let hosts: BTreeSet<&String> = truth.iter().flat_map(|t| &t.hosts).collect();
    assert_eq!(hosts.len(), 256);
    assert!(hosts.iter().all(|h| h.starts_with("site") && h.contains(".example.")));
}

#[test]
fn video_bytes_grow_with_resolution() {
    let mut mix = Mix::preset("video").unwrap();
    mix.flows = 400;
    mix.size_scale = 0.05;
    mix.mean_packet_size = 0;
    let truth = generate(&mix, 3).unwrap().1;
    let mut per_label: std::collections::BTreeMap<String, (u64, u64)> = Default::default();
    for t in truth.iter().filter(|t| t.kind == FlowKind::Video) {
        let e = per_label.entry(t.resolution.clone().unwrap()).or_default();
        e.0 += t.to_client.payload / u64::from(t.segments.unwrap());
        e.1 += 1;
    }
    let mean = |l: &str| per_label[l].0 / per_label[l].1;
    let order = ["240p", "360p", "480p", "720p", "1080p"];
    for w in order.windows(2) {
        assert!(mean(w[0]) < mean(w[1]), "{} {} vs {} {}", w[0], mean(w[0]), w[1], mean(w[1]));
    }
}

#[test]
fn openvpn_preset_has_both_transports_and_ends() {
    let truth = run("openvpn", 400, 4);
    assert!(truth.iter().any(|t| t.kind == FlowKind::OpenvpnUdp && t.server_port == 1194));
    assert!(truth.iter().any(|t| t.kind == FlowKind::OpenvpnTcp && t.server_port == 1194));
    assert!(truth.iter().any(|t| t.tls_auth == Some(true)));
    assert!(truth.iter().any(|t| t.tls_auth == Some(false)));
}
