//! [`FlowRule`] to `rte_flow` C structures, and the validate/create/destroy calls.

use super::strerror;
use crate::nic::{FlowAction, FlowItem, FlowRule, NicError};
use std::ffi::CStr;
use std::os::raw::c_void;
use std::ptr::NonNull;

/// Spec and mask of one pattern item, boxed so that their addresses stay put.
enum ItemData {
    None,
    Ipv4(Box<[dpdk_sys::rte_flow_item_ipv4; 2]>),
    Ipv6(Box<[dpdk_sys::rte_flow_item_ipv6; 2]>),
    Tcp(Box<[dpdk_sys::rte_flow_item_tcp; 2]>),
    Udp(Box<[dpdk_sys::rte_flow_item_udp; 2]>),
}

/// A rule in DPDK's layout; every pointer in `items`/`actions` points into
/// this value's boxes and vectors, which are not touched after `new`.
pub(super) struct CFlow {
    attr: dpdk_sys::rte_flow_attr,
    _data: Vec<ItemData>,
    /// `last` of an IPv4 item restricted to fragments (a range on fragment_offset).
    _ipv4_last: Option<Box<dpdk_sys::rte_flow_item_ipv4>>,
    items: Vec<dpdk_sys::rte_flow_item>,
    _queue: Box<dpdk_sys::rte_flow_action_queue>,
    _rss: Box<dpdk_sys::rte_flow_action_rss>,
    _rss_queues: Vec<u16>,
    _rss_key: Vec<u8>,
    actions: Vec<dpdk_sys::rte_flow_action>,
}

/// Pointers to the spec (`[0]`) and mask (`[1]`) of a boxed pair.
fn spec_mask<T>(pair: &[T; 2]) -> (*const c_void, *const c_void) {
    ((&pair[0] as *const T).cast(), (&pair[1] as *const T).cast())
}

fn v4_mask(len: u8) -> u32 {
    if len == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(len.min(32)))
    }
}

fn v6_mask(len: u8) -> [u8; 16] {
    let m: u128 = if len == 0 {
        0
    } else {
        u128::MAX << (128 - u32::from(len.min(128)))
    };
    m.to_be_bytes()
}

impl CFlow {
    /// `rss_key`: the key for an RSS action, at the device's key length.
    pub(super) fn new(rule: &FlowRule, rss_key: &[u8]) -> CFlow {
        let mut data = Vec::with_capacity(rule.pattern.len());
        let mut kinds = Vec::with_capacity(rule.pattern.len());
        // (item index, last) for an IPv4 item matching only fragments.
        let mut ipv4_last: Option<(usize, Box<dpdk_sys::rte_flow_item_ipv4>)> = None;
        for item in &rule.pattern {
            match item {
                FlowItem::Fragment => match data.last_mut() {
                    // IPv4: MF or offset non-zero, i.e. (fragment_offset & 0x3fff) in 1..=0x3fff.
                    Some(ItemData::Ipv4(d)) => {
                        d[0].hdr.fragment_offset = 1u16.to_be();
                        d[1].hdr.fragment_offset = 0x3fffu16.to_be();
                        let mut last: Box<dpdk_sys::rte_flow_item_ipv4> = Box::new(d[0]);
                        last.hdr.fragment_offset = 0x3fffu16.to_be();
                        ipv4_last = Some((data.len() - 1, last));
                    }
                    // IPv6: a fragment extension header is present.
                    _ => {
                        kinds.push(dpdk_sys::RTE_FLOW_ITEM_TYPE_IPV6_FRAG_EXT);
                        data.push(ItemData::None);
                    }
                },
                FlowItem::Eth => {
                    kinds.push(dpdk_sys::RTE_FLOW_ITEM_TYPE_ETH);
                    data.push(ItemData::None);
                }
                FlowItem::Ipv4 { src, dst, proto } => {
                    let mut d: Box<[dpdk_sys::rte_flow_item_ipv4; 2]> = Box::default();
                    if let Some((a, l)) = src {
                        d[0].hdr.src_addr = u32::from(*a).to_be();
                        d[1].hdr.src_addr = v4_mask(*l).to_be();
                    }
                    if let Some((a, l)) = dst {
                        d[0].hdr.dst_addr = u32::from(*a).to_be();
                        d[1].hdr.dst_addr = v4_mask(*l).to_be();
                    }
                    if let Some(p) = proto {
                        d[0].hdr.next_proto_id = *p;
                        d[1].hdr.next_proto_id = 0xff;
                    }
                    kinds.push(dpdk_sys::RTE_FLOW_ITEM_TYPE_IPV4);
                    data.push(ItemData::Ipv4(d));
                }
                FlowItem::Ipv6 { src, dst, proto } => {
                    let mut d: Box<[dpdk_sys::rte_flow_item_ipv6; 2]> = Box::default();
                    if let Some((a, l)) = src {
                        d[0].hdr.src_addr = a.octets();
                        d[1].hdr.src_addr = v6_mask(*l);
                    }
                    if let Some((a, l)) = dst {
                        d[0].hdr.dst_addr = a.octets();
                        d[1].hdr.dst_addr = v6_mask(*l);
                    }
                    if let Some(p) = proto {
                        d[0].hdr.proto = *p;
                        d[1].hdr.proto = 0xff;
                    }
                    kinds.push(dpdk_sys::RTE_FLOW_ITEM_TYPE_IPV6);
                    data.push(ItemData::Ipv6(d));
                }
                FlowItem::Tcp { src_port, dst_port } => {
                    let mut d: Box<[dpdk_sys::rte_flow_item_tcp; 2]> = Box::default();
                    if let Some(p) = src_port {
                        d[0].hdr.src_port = p.to_be();
                        d[1].hdr.src_port = 0xffff;
                    }
                    if let Some(p) = dst_port {
                        d[0].hdr.dst_port = p.to_be();
                        d[1].hdr.dst_port = 0xffff;
                    }
                    kinds.push(dpdk_sys::RTE_FLOW_ITEM_TYPE_TCP);
                    data.push(ItemData::Tcp(d));
                }
                FlowItem::Udp { src_port, dst_port } => {
                    let mut d: Box<[dpdk_sys::rte_flow_item_udp; 2]> = Box::default();
                    if let Some(p) = src_port {
                        d[0].hdr.src_port = p.to_be();
                        d[1].hdr.src_port = 0xffff;
                    }
                    if let Some(p) = dst_port {
                        d[0].hdr.dst_port = p.to_be();
                        d[1].hdr.dst_port = 0xffff;
                    }
                    kinds.push(dpdk_sys::RTE_FLOW_ITEM_TYPE_UDP);
                    data.push(ItemData::Udp(d));
                }
            }
        }
        let mut items: Vec<dpdk_sys::rte_flow_item> = kinds
            .iter()
            .zip(&data)
            .enumerate()
            .map(|(i, (&kind, d))| {
                let (spec, mask): (*const c_void, *const c_void) = match d {
                    ItemData::None => (std::ptr::null(), std::ptr::null()),
                    ItemData::Ipv4(b) => spec_mask(b),
                    ItemData::Ipv6(b) => spec_mask(b),
                    ItemData::Tcp(b) => spec_mask(b),
                    ItemData::Udp(b) => spec_mask(b),
                };
                let last: *const c_void = match &ipv4_last {
                    Some((at, l)) if *at == i => (&**l as *const dpdk_sys::rte_flow_item_ipv4).cast(),
                    _ => std::ptr::null(),
                };
                dpdk_sys::rte_flow_item {
                    type_: kind,
                    spec,
                    last,
                    mask,
                }
            })
            .collect();
        items.push(dpdk_sys::rte_flow_item {
            type_: dpdk_sys::RTE_FLOW_ITEM_TYPE_END,
            spec: std::ptr::null(),
            last: std::ptr::null(),
            mask: std::ptr::null(),
        });

        let mut queue = Box::new(dpdk_sys::rte_flow_action_queue::default());
        let mut rss = Box::new(dpdk_sys::rte_flow_action_rss::default());
        let mut rss_queues = Vec::new();
        let rss_key: Vec<u8> = rss_key.to_vec();
        let (kind, conf): (dpdk_sys::rte_flow_action_type, *const c_void) = match &rule.action {
            FlowAction::Queue(q) => {
                queue.index = *q;
                (
                    dpdk_sys::RTE_FLOW_ACTION_TYPE_QUEUE,
                    (&*queue as *const dpdk_sys::rte_flow_action_queue).cast(),
                )
            }
            FlowAction::Rss { queues, types } => {
                rss_queues = queues.clone();
                rss.func = dpdk_sys::RTE_ETH_HASH_FUNCTION_TOEPLITZ;
                rss.level = 0;
                rss.types = *types;
                rss.key_len = rss_key.len() as u32;
                rss.key = rss_key.as_ptr();
                rss.queue_num = rss_queues.len() as u32;
                rss.queue = rss_queues.as_ptr();
                (
                    dpdk_sys::RTE_FLOW_ACTION_TYPE_RSS,
                    (&*rss as *const dpdk_sys::rte_flow_action_rss).cast(),
                )
            }
            FlowAction::Drop => (dpdk_sys::RTE_FLOW_ACTION_TYPE_DROP, std::ptr::null()),
        };
        let actions = vec![
            dpdk_sys::rte_flow_action { type_: kind, conf },
            dpdk_sys::rte_flow_action {
                type_: dpdk_sys::RTE_FLOW_ACTION_TYPE_END,
                conf: std::ptr::null(),
            },
        ];
        let mut attr = dpdk_sys::rte_flow_attr {
            group: 0,
            priority: rule.priority,
            ..Default::default()
        };
        attr.set_ingress(1);
        CFlow {
            attr,
            _data: data,
            _ipv4_last: ipv4_last.map(|(_, l)| l),
            items,
            _queue: queue,
            _rss: rss,
            _rss_queues: rss_queues,
            _rss_key: rss_key,
            actions,
        }
    }

    pub(super) fn validate(&self, port: u16) -> Result<(), NicError> {
        let mut err = dpdk_sys::rte_flow_error::default();
        // SAFETY: attr, items and actions are END-terminated and every
        // spec/mask/conf pointer points into `self`, alive for the call.
        let rc = unsafe {
            dpdk_sys::rte_flow_validate(
                port,
                &self.attr,
                self.items.as_ptr(),
                self.actions.as_ptr(),
                &mut err,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(flow_err("rte_flow_validate", rc, &err))
        }
    }

    pub(super) fn create(&self, port: u16) -> Result<NonNull<dpdk_sys::rte_flow>, NicError> {
        let mut err = dpdk_sys::rte_flow_error::default();
        // SAFETY: as in `validate`; DPDK copies what it keeps.
        let f = unsafe {
            dpdk_sys::rte_flow_create(
                port,
                &self.attr,
                self.items.as_ptr(),
                self.actions.as_ptr(),
                &mut err,
            )
        };
        NonNull::new(f).ok_or_else(|| flow_err("rte_flow_create", -super::last_errno(), &err))
    }
}

pub(super) fn destroy(port: u16, flow: NonNull<dpdk_sys::rte_flow>) -> Result<(), NicError> {
    let mut err = dpdk_sys::rte_flow_error::default();
    // SAFETY: `flow` was created on `port` and is destroyed once (its owner
    // removed it from the port's table).
    let rc = unsafe { dpdk_sys::rte_flow_destroy(port, flow.as_ptr(), &mut err) };
    if rc == 0 {
        Ok(())
    } else {
        Err(flow_err("rte_flow_destroy", rc, &err))
    }
}

fn flow_err(op: &'static str, rc: i32, err: &dpdk_sys::rte_flow_error) -> NicError {
    let detail = if err.message.is_null() {
        strerror(rc)
    } else {
        // SAFETY: a non-NULL message is a NUL-terminated string owned by the
        // driver, valid until the next flow call on this port.
        unsafe { CStr::from_ptr(err.message) }
            .to_string_lossy()
            .into_owned()
    };
    NicError {
        op,
        errno: rc.abs(),
        message: detail,
    }
}
