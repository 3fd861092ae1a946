//! NIC filter offload: the hardware rules derived from a packet filter
//! (`weir_filter::hw::HwFilter`) become `rte_flow` rules.
//!
//! Each accepting rule steers its packets by the symmetric RSS over the
//! worker queues; one lowest-priority catch-all rule drops the rest. Every
//! rule is validated before it is created. A rule the device refuses is
//! widened step by step (ports dropped, then addresses, ...) — a wider rule
//! still accepts every packet the filter wants — and if even the widest form
//! is refused, or the catch-all drop is, nothing stays installed and the
//! filter runs in software only. The software packet filter runs in every
//! case: NIC rules only shed load.

use crate::nic::{FlowAction, FlowId, FlowItem, FlowRule, NicControl, NicError};
use std::net::IpAddr;
use weir_filter::hw::{HwFilter, HwIp, HwL4, HwPrefix, HwRule};

/// IANA protocol numbers for the IP item's `next_proto_id`.
const PROTO_TCP: u8 = 6;
const PROTO_UDP: u8 = 17;

/// Priority of accepting rules; the catch-all drop comes after them.
pub const ACCEPT_PRIORITY: u32 = 0;
pub const DROP_PRIORITY: u32 = 1;

/// A hardware rule that cannot be expressed (it breaks `HwRule`'s invariants).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("hardware rule `{rule}`: {problem}")]
pub struct TranslateError {
    pub rule: String,
    pub problem: &'static str,
}

/// The `rte_flow` patterns of one hardware rule: one, or two (IPv4 and IPv6)
/// when the rule names a transport but no IP version.
pub fn patterns(rule: &HwRule) -> Result<Vec<Vec<FlowItem>>, TranslateError> {
    let err = |problem| TranslateError {
        rule: rule.to_string(),
        problem,
    };
    if rule.ip.is_none() && (rule.src_addr.is_some() || rule.dst_addr.is_some()) {
        return Err(err("addresses without an IP version"));
    }
    if rule.l4.is_none() && (rule.src_port.is_some() || rule.dst_port.is_some()) {
        return Err(err("ports without a transport"));
    }
    let proto = rule.l4.map(|l| match l {
        HwL4::Tcp => PROTO_TCP,
        HwL4::Udp => PROTO_UDP,
    });
    let l4 = rule.l4.map(|l| match l {
        HwL4::Tcp => FlowItem::Tcp {
            src_port: rule.src_port,
            dst_port: rule.dst_port,
        },
        HwL4::Udp => FlowItem::Udp {
            src_port: rule.src_port,
            dst_port: rule.dst_port,
        },
    });
    let v4 = |p: Option<HwPrefix>| -> Result<_, TranslateError> {
        match p {
            None => Ok(None),
            Some(HwPrefix {
                addr: IpAddr::V4(a),
                len,
            }) if len <= 32 => Ok(Some((a, len))),
            Some(_) => Err(err(
                "an IPv4 rule with an address that is not an IPv4 prefix",
            )),
        }
    };
    let v6 = |p: Option<HwPrefix>| -> Result<_, TranslateError> {
        match p {
            None => Ok(None),
            Some(HwPrefix {
                addr: IpAddr::V6(a),
                len,
            }) if len <= 128 => Ok(Some((a, len))),
            Some(_) => Err(err(
                "an IPv6 rule with an address that is not an IPv6 prefix",
            )),
        }
    };
    let ips: Vec<FlowItem> = match rule.ip {
        Some(HwIp::V4) => vec![FlowItem::Ipv4 {
            src: v4(rule.src_addr)?,
            dst: v4(rule.dst_addr)?,
            proto,
        }],
        Some(HwIp::V6) => vec![FlowItem::Ipv6 {
            src: v6(rule.src_addr)?,
            dst: v6(rule.dst_addr)?,
            proto,
        }],
        None if rule.l4.is_some() => vec![
            FlowItem::Ipv4 {
                src: None,
                dst: None,
                proto,
            },
            FlowItem::Ipv6 {
                src: None,
                dst: None,
                proto,
            },
        ],
        None => vec![],
    };
    if ips.is_empty() {
        return Ok(vec![vec![FlowItem::Eth]]);
    }
    Ok(ips
        .into_iter()
        .map(|ip| {
            let mut p = vec![FlowItem::Eth, ip];
            p.extend(l4.clone());
            p
        })
        .collect())
}

/// Ever wider versions of a rule, the rule itself first; each accepts a
/// superset of the packets of the one before.
pub fn widenings(rule: &HwRule) -> Vec<HwRule> {
    let mut out = vec![rule.clone()];
    let mut push = |r: HwRule| {
        if !out.contains(&r) {
            out.push(r);
        }
    };
    let no_ports = HwRule {
        src_port: None,
        dst_port: None,
        ..rule.clone()
    };
    push(no_ports.clone());
    let no_addrs = HwRule {
        src_addr: None,
        dst_addr: None,
        ..rule.clone()
    };
    push(no_addrs);
    push(HwRule {
        src_addr: None,
        dst_addr: None,
        ..no_ports.clone()
    });
    push(HwRule {
        l4: None,
        src_addr: None,
        dst_addr: None,
        ..no_ports
    });
    out
}

/// What happened to one hardware rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuleOutcome {
    /// Installed as derived.
    Exact { rules: Vec<FlowRule> },
    /// Installed in a wider form that the device accepts.
    Widened { used: HwRule, rules: Vec<FlowRule> },
    /// Not expressible or refused in every form: handled in software only.
    Software { reason: String },
}

/// The result of [`install_hw_filter`].
#[derive(Debug, Default)]
pub struct OffloadReport {
    /// `(rule, outcome)` per hardware rule, in order.
    pub outcomes: Vec<(HwRule, RuleOutcome)>,
    /// Rules left on the device (empty when everything fell back to software).
    pub installed: Vec<(FlowRule, FlowId)>,
    /// True when the NIC drops packets that no accepting rule matches.
    pub offloaded: bool,
    /// Human-readable lines: one per widening, fallback or refusal.
    pub log: Vec<String>,
}

/// Installs the NIC rules for `filter` on `nic`, validating each first (see
/// the module docs). `action` is what an accepted packet gets (usually
/// [`FlowAction::Rss`] over the worker queues). Never fails: whatever the
/// device refuses is reported and left to the software filter.
pub fn install_hw_filter<N: NicControl + ?Sized>(
    nic: &mut N,
    filter: &HwFilter,
    action: &FlowAction,
) -> OffloadReport {
    let mut report = OffloadReport::default();
    let driver = nic.caps().driver.clone();
    let rules = match filter {
        HwFilter::AcceptAll => {
            report
                .log
                .push("filter needs every packet: no NIC rules, software filter only".into());
            return report;
        }
        HwFilter::Rules(r) => r,
    };
    let mut all_in_hw = true;
    for rule in rules {
        let outcome = install_one(nic, rule, action, &mut report);
        match &outcome {
            RuleOutcome::Exact { .. } => {}
            RuleOutcome::Widened { used, .. } => report.log.push(format!(
                "{driver}: rule `{rule}` refused; installed the wider `{used}` (software filter narrows it)"
            )),
            RuleOutcome::Software { reason } => {
                all_in_hw = false;
                report.log.push(format!(
                    "{driver}: rule `{rule}` not offloaded ({reason}); software filter only"
                ));
            }
        }
        report.outcomes.push((rule.clone(), outcome));
    }
    // Non-first IP fragments carry no TCP/UDP header, so no rule naming a
    // transport matches them; without companions the drop rule below would
    // discard fragments of wanted connections (weir reassembles them).
    if all_in_hw {
        'companions: for alternatives in fragment_patterns(rules) {
            // The narrowest alternative the NIC takes (addresses, then protocol dropped).
            let mut last_err = None;
            for pattern in alternatives {
                let f = FlowRule { priority: ACCEPT_PRIORITY, pattern, action: action.clone() };
                match nic.flow_validate(&f).and_then(|()| nic.flow_create(&f)) {
                    Ok(id) => {
                        report.installed.push((f, id));
                        continue 'companions;
                    }
                    Err(e) => last_err = Some((f, e)),
                }
            }
            if let Some((f, e)) = last_err {
                report.log.push(format!(
                    "{driver}: cannot match IP fragments (`{f}`: {e}), so nothing is dropped by the NIC"
                ));
            }
            all_in_hw = false;
            break;
        }
    }
    if all_in_hw {
        let drop = FlowRule {
            priority: DROP_PRIORITY,
            pattern: vec![FlowItem::Eth],
            action: FlowAction::Drop,
        };
        match nic
            .flow_validate(&drop)
            .and_then(|()| nic.flow_create(&drop))
        {
            Ok(id) => {
                report.installed.push((drop, id));
                report.offloaded = true;
                return report;
            }
            Err(e) => report.log.push(format!(
                "{driver}: catch-all drop rule refused ({e}); software filter only"
            )),
        }
    } else {
        report.log.push(format!(
            "{driver}: not every rule is in hardware, so nothing is dropped by the NIC"
        ));
    }
    // Without the drop rule the accepting rules shed nothing: remove them.
    for (_, id) in report.installed.drain(..) {
        let _ = nic.flow_destroy(id);
    }
    report
}

fn install_one<N: NicControl + ?Sized>(
    nic: &mut N,
    rule: &HwRule,
    action: &FlowAction,
    report: &mut OffloadReport,
) -> RuleOutcome {
    let mut last_err: Option<NicError> = None;
    for (step, candidate) in widenings(rule).into_iter().enumerate() {
        let pats = match patterns(&candidate) {
            Ok(p) => p,
            Err(e) => {
                return RuleOutcome::Software {
                    reason: e.problem.to_string(),
                }
            }
        };
        let flows: Vec<FlowRule> = pats
            .into_iter()
            .map(|pattern| FlowRule {
                priority: ACCEPT_PRIORITY,
                pattern,
                action: action.clone(),
            })
            .collect();
        if let Some(e) = flows.iter().find_map(|f| nic.flow_validate(f).err()) {
            last_err = Some(e);
            continue;
        }
        let mut created = Vec::new();
        let mut failed = None;
        for f in &flows {
            match nic.flow_create(f) {
                Ok(id) => created.push((f.clone(), id)),
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = failed {
            for (_, id) in created {
                let _ = nic.flow_destroy(id);
            }
            last_err = Some(e);
            continue;
        }
        report.installed.extend(created);
        return if step == 0 {
            RuleOutcome::Exact { rules: flows }
        } else {
            RuleOutcome::Widened {
                used: candidate,
                rules: flows,
            }
        };
    }
    RuleOutcome::Software {
        reason: last_err
            .map(|e| e.to_string())
            .unwrap_or_else(|| "refused".into()),
    }
}

/// Patterns accepting the IP fragments of what `rules` accept: for every
/// rule naming a transport and each of its IP items, the alternatives from
/// narrowest to widest — the IP item with addresses and protocol, without
/// addresses, without either — each followed by [`FlowItem::Fragment`].
/// Deduplicated, in rule order.
pub fn fragment_patterns(rules: &[HwRule]) -> Vec<Vec<Vec<FlowItem>>> {
    let frag = |p: Vec<FlowItem>| -> Vec<FlowItem> {
        let mut f: Vec<FlowItem> = p.into_iter().filter(|i| !matches!(i, FlowItem::Tcp { .. } | FlowItem::Udp { .. })).collect();
        f.push(FlowItem::Fragment);
        f
    };
    let mut out: Vec<Vec<Vec<FlowItem>>> = Vec::new();
    for r in rules.iter().filter(|r| r.l4.is_some()) {
        let exact = HwRule { src_port: None, dst_port: None, ..r.clone() };
        let no_addrs = HwRule { src_addr: None, dst_addr: None, ..exact.clone() };
        let per_ip: Vec<Vec<Vec<FlowItem>>> = [exact, no_addrs]
            .iter()
            .map(|c| patterns(c).unwrap_or_default().into_iter().map(frag).collect())
            .collect();
        for (i, p) in per_ip[0].iter().enumerate() {
            let mut alts = vec![p.clone()];
            if let Some(w) = per_ip[1].get(i) {
                alts.push(w.clone());
            }
            // Without a transport the IP item loses its protocol; with no IP
            // version named, one pattern per family (as `patterns` makes).
            let family = p.get(1).cloned();
            let bare = match family {
                Some(FlowItem::Ipv4 { .. }) => Some(vec![FlowItem::Eth, FlowItem::Ipv4 { src: None, dst: None, proto: None }, FlowItem::Fragment]),
                Some(FlowItem::Ipv6 { .. }) => Some(vec![FlowItem::Eth, FlowItem::Ipv6 { src: None, dst: None, proto: None }, FlowItem::Fragment]),
                _ => None,
            };
            alts.extend(bare);
            alts.dedup();
            if !out.contains(&alts) {
                out.push(alts);
            }
        }
    }
    out
}

/// Removes the rules of an [`OffloadReport`] (e.g. before a new filter).
pub fn remove_offload<N: NicControl + ?Sized>(nic: &mut N, report: &mut OffloadReport) {
    for (_, id) in report.installed.drain(..) {
        let _ = nic.flow_destroy(id);
    }
    report.offloaded = false;
}
