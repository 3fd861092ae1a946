//! Readable snapshots of the IR (STYLE.md 11) for the workloads the issue
//! names: one subscription, the two-subscription pipeline of the Iris
//! paper's Figure 3 (video resolution + DNS), 128 disjoint subnets and 256
//! HTTP hosts. Review a change with `cargo insta review` (or set
//! `INSTA_UPDATE=always` and read the diff).

use weir_conntrack::Transition;
use weir_ir::{compile, AppSpec, CallbackSpec, DataTypeSpec, FilterFnSpec, Ir, Level, SubscriptionSpec};

fn callback(name: &str, params: &[&str]) -> CallbackSpec {
    CallbackSpec { name: name.into(), stateful: false, streaming: false, on: None, params: params.iter().map(|s| s.to_string()).collect(), every: None }
}

fn sub(name: &str, filter: &str, cb: CallbackSpec) -> SubscriptionSpec {
    SubscriptionSpec { name: name.into(), filter: filter.into(), callback: cb }
}

fn ir(app: &AppSpec) -> Ir {
    compile(app, None).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn one_subscription() {
    let app = AppSpec { subscriptions: vec![sub("tls_sni_logger", "tls.sni ~ 'netflix'", callback("log_sni", &["TlsHandshake"]))], ..Default::default() };
    insta::assert_snapshot!(ir(&app).to_string());
}

/// Iris Figure 3: per-connection video features for TLS connections whose
/// SNI is in a DNS-fed cache (`video_lookup`), and the DNS subscription
/// that fills the cache.
#[test]
fn figure_3_video_resolution_and_dns() {
    let app = AppSpec {
        datatypes: vec![DataTypeSpec {
            name: "FeatureChunk".into(),
            level: Level::Connection,
            complete_at: Transition::L4Terminated,
            updates: vec![Transition::L4InConn],
            protocols: vec![],
        }],
        filters: vec![FilterFnSpec { name: "video_lookup".into(), on: Transition::L7EndHeaders, also: vec![], stateful: false, data: vec!["TlsHandshake".into()] }],
        subscriptions: vec![
            sub(
                "ResolutionEst",
                "tls and video_lookup",
                CallbackSpec { name: "ResolutionEst".into(), stateful: true, streaming: true, on: Some(Transition::L4InConn), params: vec!["FeatureChunk".into()], every: None },
            ),
            sub("dns_record", "dns", callback("dns_record", &["DnsTransaction"])),
        ],
    };
    insta::assert_snapshot!(ir(&app).to_string());
}

#[test]
fn subnets_128() {
    let subscriptions = (0..128)
        .map(|i| sub(&format!("subnet{i}"), &format!("ipv4.addr in 10.{i}.0.0/16"), callback(&format!("cb{i}"), &["ConnRecord"])))
        .collect();
    let ir = ir(&AppSpec { subscriptions, ..Default::default() });
    // One range lookup decides all 128 at the first packet.
    let first = ir.tree(Transition::L4FirstPacket).unwrap();
    assert!(first.to_string_lossy().contains("set ipv4.addr (ranges, 128 members, one lookup)"));
    insta::assert_snapshot!(ir.to_string());
}

#[test]
fn http_hosts_256() {
    let subscriptions = (0..256)
        .map(|i| sub(&format!("host{i}"), &format!("http.host = 'h{i}.example.com'"), callback(&format!("cb{i}"), &["HttpTransaction"])))
        .collect();
    let ir = ir(&AppSpec { subscriptions, ..Default::default() });
    insta::assert_snapshot!(ir.to_string());
}

trait Lossy {
    fn to_string_lossy(&self) -> String;
}
impl Lossy for weir_ir::ActionTree {
    fn to_string_lossy(&self) -> String {
        self.trie.to_string()
    }
}
