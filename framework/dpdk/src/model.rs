//! A software model of a NIC's receive side: capability flags, a
//! redirection table, `rte_flow` rule acceptance and matching, and the
//! symmetric Toeplitz hash. Virtual devices (`net_pcap`, `net_null`) have
//! no RETA and no flow rules, so the RETA and filter-offload logic is
//! tested against this model; what a real ConnectX-5 or E810 accepts is
//! approximated by the presets, not checked against the hardware.

use crate::nic::{
    rss_types, DevCaps, FlowAction, FlowId, FlowItem, FlowRule, NicControl, NicError,
};
use std::collections::BTreeMap;
use std::net::IpAddr;
use weir_runtime::rss::Toeplitz;
use weir_wire::{parse_frame, parse_transport, IpProtocol, LinkType, ParseOptions, Transport};

/// Which `rte_flow` rules the model accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlowSupport {
    pub ipv4: bool,
    pub ipv6: bool,
    pub tcp: bool,
    pub udp: bool,
    /// Address masks other than all-ones (prefixes shorter than the address).
    pub prefix_masks: bool,
    pub ports: bool,
    /// Matching IP fragments ([`FlowItem::Fragment`]).
    pub fragments: bool,
    pub queue_action: bool,
    pub rss_action: bool,
    pub drop_action: bool,
    /// Highest priority value accepted (0: a single priority level).
    pub max_priority: u32,
    pub max_rules: usize,
}

impl FlowSupport {
    /// No flow API at all (virtual devices).
    pub fn none() -> Self {
        FlowSupport {
            ipv4: false,
            ipv6: false,
            tcp: false,
            udp: false,
            prefix_masks: false,
            ports: false,
            fragments: false,
            queue_action: false,
            rss_action: false,
            drop_action: false,
            max_priority: 0,
            max_rules: 0,
        }
    }

    /// Everything weir uses.
    pub fn full() -> Self {
        FlowSupport {
            ipv4: true,
            ipv6: true,
            tcp: true,
            udp: true,
            prefix_masks: true,
            ports: true,
            fragments: true,
            queue_action: true,
            rss_action: true,
            drop_action: true,
            max_priority: 7,
            max_rules: 4096,
        }
    }
}

/// What the model does with a frame.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Queue(u16),
    Drop,
}

/// A model NIC port with `queues` configured RX queues.
#[derive(Clone)]
pub struct ModelNic {
    pub caps: DevCaps,
    pub support: FlowSupport,
    pub queues: u16,
    reta: Vec<u16>,
    rules: BTreeMap<u64, FlowRule>,
    next_id: u64,
    /// Every validate call, for tests (rule, accepted).
    pub validations: Vec<(FlowRule, bool)>,
    hasher: Toeplitz,
}

impl ModelNic {
    pub fn new(caps: DevCaps, support: FlowSupport, queues: u16) -> Self {
        let size = usize::from(caps.reta_size);
        let q = queues.max(1);
        ModelNic {
            caps,
            support,
            queues,
            reta: (0..size).map(|i| (i % usize::from(q)) as u16).collect(),
            rules: BTreeMap::new(),
            next_id: 1,
            validations: Vec::new(),
            hasher: Toeplitz::symmetric(),
        }
    }

    /// A 100G NIC with a 512-entry RETA and a rich flow API (ConnectX-5-like).
    pub fn full_featured(queues: u16) -> Self {
        ModelNic::new(
            DevCaps {
                driver: "model_full".into(),
                max_rx_queues: 1024,
                reta_size: 512,
                hash_key_size: 40,
                rss_types: rss_types::WANTED,
                rx_offloads: 0,
                min_mtu: 68,
                max_mtu: 9978,
            },
            FlowSupport::full(),
            queues,
        )
    }

    /// A NIC that matches exact addresses and protocols but not prefixes
    /// or ports, with a single priority level and no IPv6 TCP/UDP RSS types.
    pub fn limited(queues: u16) -> Self {
        ModelNic::new(
            DevCaps {
                driver: "model_limited".into(),
                max_rx_queues: 64,
                reta_size: 128,
                hash_key_size: 52,
                rss_types: rss_types::IP
                    | rss_types::NONFRAG_IPV4_TCP
                    | rss_types::NONFRAG_IPV4_UDP,
                rx_offloads: 0,
                min_mtu: 68,
                max_mtu: 1500,
            },
            FlowSupport {
                prefix_masks: false,
                ports: false,
                max_priority: 0,
                ..FlowSupport::full()
            },
            queues,
        )
    }

    /// A virtual device: no RETA, no flow API, no RSS (net_pcap-like).
    pub fn virtual_device(queues: u16) -> Self {
        ModelNic::new(
            DevCaps {
                driver: "model_vdev".into(),
                max_rx_queues: queues,
                ..DevCaps::default()
            },
            FlowSupport::none(),
            queues,
        )
    }

    pub fn rules(&self) -> impl Iterator<Item = &FlowRule> {
        self.rules.values()
    }

    /// Where the NIC sends a frame: the first matching rule by priority (then
    /// age), else the RETA bucket of its symmetric hash.
    pub fn classify(&self, frame: &[u8]) -> Verdict {
        let fields = PacketFields::parse(frame);
        let mut rules: Vec<(&u64, &FlowRule)> = self.rules.iter().collect();
        rules.sort_by_key(|(id, r)| (r.priority, **id));
        let hash = fields.as_ref().map(|f| self.hash(f)).unwrap_or(0);
        for (_, r) in rules {
            if matches(&r.pattern, fields.as_ref()) {
                return match &r.action {
                    FlowAction::Drop => Verdict::Drop,
                    FlowAction::Queue(q) => Verdict::Queue(*q),
                    FlowAction::Rss { queues, .. } => {
                        Verdict::Queue(queues[hash as usize % queues.len()])
                    }
                };
            }
        }
        if self.reta.is_empty() {
            return Verdict::Queue(0);
        }
        Verdict::Queue(self.reta[hash as usize % self.reta.len()])
    }

    fn hash(&self, f: &PacketFields) -> u32 {
        let ports = match f.proto {
            IpProtocol::Tcp | IpProtocol::Udp => f.ports,
            _ => None,
        };
        let types = self.caps.rss_types;
        let l4_hashed = match (f.src, f.proto) {
            (IpAddr::V4(_), IpProtocol::Tcp) => types & rss_types::NONFRAG_IPV4_TCP != 0,
            (IpAddr::V4(_), IpProtocol::Udp) => types & rss_types::NONFRAG_IPV4_UDP != 0,
            (IpAddr::V6(_), IpProtocol::Tcp) => types & rss_types::NONFRAG_IPV6_TCP != 0,
            (IpAddr::V6(_), IpProtocol::Udp) => types & rss_types::NONFRAG_IPV6_UDP != 0,
            _ => false,
        };
        self.hasher
            .hash_flow(f.src, f.dst, if l4_hashed { ports } else { None })
    }

    fn check(&self, rule: &FlowRule) -> Result<(), String> {
        let s = &self.support;
        if self.rules.len() >= s.max_rules {
            return Err("rule table full or flow API unsupported".into());
        }
        if rule.priority > s.max_priority {
            return Err(format!("priority {} not supported", rule.priority));
        }
        if rule.pattern.first() != Some(&FlowItem::Eth) {
            return Err("pattern must start with eth".into());
        }
        let pfx_ok = |len: u8, full: u8| s.prefix_masks || len == full || len == 0;
        for (i, item) in rule.pattern.iter().enumerate().skip(1) {
            let ok = match item {
                FlowItem::Eth => false,
                FlowItem::Fragment => {
                    s.fragments && matches!(rule.pattern[i - 1], FlowItem::Ipv4 { .. } | FlowItem::Ipv6 { .. })
                }
                FlowItem::Ipv4 { src, dst, .. } => {
                    s.ipv4
                        && [src, dst]
                            .iter()
                            .all(|p| p.map(|(_, l)| pfx_ok(l, 32)).unwrap_or(true))
                }
                FlowItem::Ipv6 { src, dst, .. } => {
                    s.ipv6
                        && [src, dst]
                            .iter()
                            .all(|p| p.map(|(_, l)| pfx_ok(l, 128)).unwrap_or(true))
                }
                FlowItem::Tcp { src_port, dst_port } => {
                    s.tcp && (s.ports || (src_port.is_none() && dst_port.is_none()))
                }
                FlowItem::Udp { src_port, dst_port } => {
                    s.udp && (s.ports || (src_port.is_none() && dst_port.is_none()))
                }
            };
            if !ok {
                return Err(format!("item not supported: {rule}"));
            }
        }
        match &rule.action {
            FlowAction::Drop if s.drop_action => Ok(()),
            FlowAction::Queue(q) if s.queue_action && *q < self.queues => Ok(()),
            FlowAction::Rss { queues, .. }
                if s.rss_action
                    && !queues.is_empty()
                    && queues.iter().all(|q| *q < self.queues) =>
            {
                Ok(())
            }
            _ => Err("action not supported".into()),
        }
    }
}

impl NicControl for ModelNic {
    fn caps(&self) -> &DevCaps {
        &self.caps
    }

    fn reta_update(&mut self, entries: &[(u16, u16)]) -> Result<(), NicError> {
        if self.reta.is_empty() {
            return Err(NicError::unsupported("reta_update", "no redirection table"));
        }
        if let Some((b, q)) = entries
            .iter()
            .find(|(b, q)| usize::from(*b) >= self.reta.len() || *q >= self.queues)
        {
            return Err(NicError {
                op: "reta_update",
                errno: 22,
                message: format!("bucket {b} -> queue {q} out of range"),
            });
        }
        for &(b, q) in entries {
            self.reta[usize::from(b)] = q;
        }
        Ok(())
    }

    fn reta_query(&mut self) -> Result<Vec<u16>, NicError> {
        if self.reta.is_empty() {
            return Err(NicError::unsupported("reta_query", "no redirection table"));
        }
        Ok(self.reta.clone())
    }

    fn flow_validate(&mut self, rule: &FlowRule) -> Result<(), NicError> {
        let r = self.check(rule);
        self.validations.push((rule.clone(), r.is_ok()));
        r.map_err(|m| NicError::unsupported("flow_validate", m))
    }

    fn flow_create(&mut self, rule: &FlowRule) -> Result<FlowId, NicError> {
        self.check(rule)
            .map_err(|m| NicError::unsupported("flow_create", m))?;
        let id = self.next_id;
        self.next_id += 1;
        self.rules.insert(id, rule.clone());
        Ok(FlowId(id))
    }

    fn flow_destroy(&mut self, id: FlowId) -> Result<(), NicError> {
        self.rules
            .remove(&id.0)
            .map(|_| ())
            .ok_or_else(|| NicError {
                op: "flow_destroy",
                errno: 2,
                message: format!("no rule {}", id.0),
            })
    }
}

/// The RX queue a NIC with the symmetric key, every IP/TCP/UDP hash type and
/// redirection table `reta` gives an Ethernet frame: addresses and ports for
/// unfragmented TCP/UDP, addresses only otherwise (fragments included), queue
/// 0 for frames that are not IP. Used to split a trace into per-queue files
/// exactly as such a NIC would (e.g. one `rx_pcap` file per queue).
pub fn rss_queue(hasher: &Toeplitz, reta: &weir_runtime::rss::Reta, frame: &[u8]) -> u16 {
    match PacketFields::parse(frame) {
        Some(f) => {
            let ports = match f.proto {
                IpProtocol::Tcp | IpProtocol::Udp => f.ports,
                _ => None,
            };
            reta.queue(hasher.hash_flow(f.src, f.dst, ports))
        }
        None => 0,
    }
}

/// The header fields rules and the hash look at.
struct PacketFields {
    src: IpAddr,
    dst: IpAddr,
    proto: IpProtocol,
    /// Ports of an unfragmented TCP/UDP packet (a fragment's transport
    /// header is not looked at, as on NICs that do not parse first fragments).
    ports: Option<(u16, u16)>,
    fragment: bool,
}

impl PacketFields {
    fn parse(frame: &[u8]) -> Option<PacketFields> {
        let opts = ParseOptions {
            verify_checksums: false,
        };
        let l3 = parse_frame(LinkType::Ethernet, frame, &opts).ok()?;
        let ports = if l3.fragment.is_some() {
            None
        } else {
            match parse_transport(&l3.ip, l3.payload, &opts) {
                Ok(Transport::Tcp(h, _)) => Some((h.src_port, h.dst_port)),
                Ok(Transport::Udp(h, _)) => Some((h.src_port, h.dst_port)),
                _ => None,
            }
        };
        Some(PacketFields {
            src: l3.ip.src,
            dst: l3.ip.dst,
            proto: l3.ip.protocol,
            ports,
            fragment: l3.fragment.is_some(),
        })
    }
}

fn prefix_match(addr: IpAddr, want: IpAddr, len: u8) -> bool {
    match (addr, want) {
        (IpAddr::V4(a), IpAddr::V4(w)) => {
            let m = if len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(len.min(32)))
            };
            u32::from(a) & m == u32::from(w) & m
        }
        (IpAddr::V6(a), IpAddr::V6(w)) => {
            let m = if len == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(len.min(128)))
            };
            u128::from(a) & m == u128::from(w) & m
        }
        _ => false,
    }
}

fn matches(pattern: &[FlowItem], f: Option<&PacketFields>) -> bool {
    pattern.iter().all(|item| match item {
        FlowItem::Eth => true,
        FlowItem::Ipv4 { src, dst, proto } => f.is_some_and(|f| {
            f.src.is_ipv4()
                && src.is_none_or(|(a, l)| prefix_match(f.src, IpAddr::V4(a), l))
                && dst.is_none_or(|(a, l)| prefix_match(f.dst, IpAddr::V4(a), l))
                && proto.is_none_or(|p| proto_num(f.proto) == Some(p))
        }),
        FlowItem::Ipv6 { src, dst, proto } => f.is_some_and(|f| {
            f.src.is_ipv6()
                && src.is_none_or(|(a, l)| prefix_match(f.src, IpAddr::V6(a), l))
                && dst.is_none_or(|(a, l)| prefix_match(f.dst, IpAddr::V6(a), l))
                && proto.is_none_or(|p| proto_num(f.proto) == Some(p))
        }),
        // A transport item needs the transport header, which a fragment lacks.
        FlowItem::Tcp { src_port, dst_port } => f.is_some_and(|f| {
            f.proto == IpProtocol::Tcp && !f.fragment && ports_match(f, *src_port, *dst_port)
        }),
        FlowItem::Udp { src_port, dst_port } => f.is_some_and(|f| {
            f.proto == IpProtocol::Udp && !f.fragment && ports_match(f, *src_port, *dst_port)
        }),
        FlowItem::Fragment => f.is_some_and(|f| f.fragment),
    })
}

fn ports_match(f: &PacketFields, src: Option<u16>, dst: Option<u16>) -> bool {
    if src.is_none() && dst.is_none() {
        return true;
    }
    // A NIC cannot see the ports of a non-first fragment: no match.
    f.ports
        .is_some_and(|(s, d)| src.is_none_or(|p| p == s) && dst.is_none_or(|p| p == d))
}

fn proto_num(p: IpProtocol) -> Option<u8> {
    match p {
        IpProtocol::Tcp => Some(6),
        IpProtocol::Udp => Some(17),
        _ => None,
    }
}
