//! Ethernet ports: capability-driven setup, RX queues, stats, RETA and flows.

use super::flow_ffi::CFlow;
use super::mbuf::RxTimestampField;
use super::{strerror, DpdkError, Eal, Mbuf, Mempool};
use crate::nic::{rx_offloads, DevCaps, FlowId, FlowRule, NicControl, NicError, RssPlan};
use crate::stats::{PortStats, QueueStats};
use std::collections::{BTreeMap, HashMap};
use std::ffi::CStr;
use std::os::raw::c_char;
use std::ptr::NonNull;

/// What to ask of a port; unsupported parts become warnings.
#[derive(Clone, Debug)]
pub struct PortSetup {
    pub rx_queues: u16,
    pub rx_descriptors: u16,
    /// 0: keep the device's MTU.
    pub mtu: u16,
    pub promiscuous: bool,
    /// Ask for hardware RX timestamps (needed for packet time on replays).
    pub timestamps: bool,
}

/// A configured port (stopped until [`Port::start`]).
pub struct Port {
    id: u16,
    name: String,
    caps: DevCaps,
    rx_queues: u16,
    taken: Vec<bool>,
    timestamp: Option<RxTimestampField>,
    flows: HashMap<u64, NonNull<dpdk_sys::rte_flow>>,
    next_flow: u64,
    started: bool,
}

// SAFETY: control-path calls on a port id may come from any thread as long
// as they are not concurrent, which `&mut self` guarantees; the flow handles
// are opaque tokens only passed back to DPDK for this port.
unsafe impl Send for Port {}

fn port_err(port: u16, op: &'static str, rc: i32) -> DpdkError {
    DpdkError::Port {
        port,
        op,
        message: strerror(rc),
    }
}

/// Reads a port's capabilities.
pub fn device_caps(_eal: &Eal, port: u16) -> Result<(DevCaps, String), DpdkError> {
    let mut info = dpdk_sys::rte_eth_dev_info::default();
    // SAFETY: EAL is initialised; `info` is a valid out-parameter.
    let rc = unsafe { dpdk_sys::rte_eth_dev_info_get(port, &mut info) };
    if rc != 0 {
        return Err(port_err(port, "rte_eth_dev_info_get", rc));
    }
    let driver = if info.driver_name.is_null() {
        String::from("unknown")
    } else {
        // SAFETY: driver_name points at the driver's static NUL-terminated name.
        unsafe { CStr::from_ptr(info.driver_name) }
            .to_string_lossy()
            .into_owned()
    };
    let mut name_buf = [0 as c_char; 64];
    // SAFETY: the buffer has RTE_ETH_NAME_MAX_LEN (64) bytes as the API requires.
    let rc = unsafe { dpdk_sys::rte_eth_dev_get_name_by_port(port, name_buf.as_mut_ptr()) };
    let name = if rc == 0 {
        // SAFETY: on success the buffer holds a NUL-terminated name.
        unsafe { CStr::from_ptr(name_buf.as_ptr()) }
            .to_string_lossy()
            .into_owned()
    } else {
        format!("port{port}")
    };
    Ok((
        DevCaps {
            driver,
            max_rx_queues: info.max_rx_queues,
            reta_size: info.reta_size,
            hash_key_size: info.hash_key_size,
            rss_types: info.flow_type_rss_offloads,
            rx_offloads: info.rx_offload_capa,
            min_mtu: info.min_mtu,
            max_mtu: info.max_mtu,
        },
        name,
    ))
}

impl Port {
    /// Configures port `id` with `setup.rx_queues` RX queues fed from `pool`,
    /// symmetric RSS as far as the device allows, and one TX queue. Returns
    /// the port and the warnings of every fallback taken.
    pub fn configure(
        eal: &Eal,
        id: u16,
        setup: &PortSetup,
        pool: &Mempool,
    ) -> Result<(Port, Vec<String>), DpdkError> {
        let (caps, name) = device_caps(eal, id)?;
        let mut warnings = Vec::new();
        let mut queues = setup.rx_queues.max(1);
        if caps.max_rx_queues > 0 && queues > caps.max_rx_queues {
            warnings.push(format!(
                "{name}: {queues} RX queues asked, the device has {}; using {}",
                caps.max_rx_queues, caps.max_rx_queues
            ));
            queues = caps.max_rx_queues;
        }
        let plan = RssPlan::for_device(&caps, queues);
        warnings.extend(plan.warnings.iter().map(|w| format!("{name}: {w}")));
        let mut conf = dpdk_sys::rte_eth_conf::default();
        let mut key = plan.key.clone().unwrap_or_default();
        if queues > 1 && plan.types != 0 {
            conf.rxmode.mq_mode = dpdk_sys::RTE_ETH_MQ_RX_RSS;
            conf.rx_adv_conf.rss_conf.rss_hf = plan.types;
            if !key.is_empty() {
                conf.rx_adv_conf.rss_conf.rss_key = key.as_mut_ptr();
                conf.rx_adv_conf.rss_conf.rss_key_len = key.len() as u8;
            }
        }
        let want_ts = setup.timestamps && caps.rx_offloads & rx_offloads::TIMESTAMP != 0;
        if want_ts {
            conf.rxmode.offloads |= rx_offloads::TIMESTAMP;
        }
        if setup.mtu != 0 {
            if (caps.min_mtu..=caps.max_mtu).contains(&setup.mtu) {
                conf.rxmode.mtu = u32::from(setup.mtu);
            } else {
                warnings.push(format!(
                    "{name}: MTU {} outside the device's {}..={}; keeping its default",
                    setup.mtu, caps.min_mtu, caps.max_mtu
                ));
            }
        }
        // SAFETY: EAL is initialised; `conf` and the key it points to outlive the call.
        let mut rc = unsafe { dpdk_sys::rte_eth_dev_configure(id, queues, 1, &conf) };
        if rc != 0 && (conf.rxmode.mq_mode != 0 || conf.rxmode.offloads != 0) {
            warnings.push(format!(
                "{name}: configuration with RSS/offloads refused ({}); retrying without them",
                strerror(rc)
            ));
            conf = dpdk_sys::rte_eth_conf::default();
            // SAFETY: as above.
            rc = unsafe { dpdk_sys::rte_eth_dev_configure(id, queues, 1, &conf) };
        }
        if rc != 0 {
            return Err(port_err(id, "rte_eth_dev_configure", rc));
        }
        let ts_on = conf.rxmode.offloads & rx_offloads::TIMESTAMP != 0;
        let mut rx_desc = setup.rx_descriptors;
        let mut tx_desc = 512u16;
        // SAFETY: valid port; both out-parameters are locals.
        let rc =
            unsafe { dpdk_sys::rte_eth_dev_adjust_nb_rx_tx_desc(id, &mut rx_desc, &mut tx_desc) };
        if rc != 0 {
            return Err(port_err(id, "rte_eth_dev_adjust_nb_rx_tx_desc", rc));
        }
        if rx_desc != setup.rx_descriptors {
            warnings.push(format!(
                "{name}: {} RX descriptors adjusted to {rx_desc}",
                setup.rx_descriptors
            ));
        }
        // SAFETY: valid port.
        let socket = unsafe { dpdk_sys::rte_eth_dev_socket_id(id) };
        let socket = if socket < 0 { u32::MAX } else { socket as u32 }; // SOCKET_ID_ANY
        for q in 0..queues {
            // SAFETY: configured port, queue index below the configured count,
            // a pool that lives for the process; NULL rxconf means defaults.
            let rc = unsafe {
                dpdk_sys::rte_eth_rx_queue_setup(
                    id,
                    q,
                    rx_desc,
                    socket,
                    std::ptr::null(),
                    pool.as_ptr(),
                )
            };
            if rc != 0 {
                return Err(port_err(id, "rte_eth_rx_queue_setup", rc));
            }
        }
        // SAFETY: as above, TX queue 0 of 1 configured.
        let rc =
            unsafe { dpdk_sys::rte_eth_tx_queue_setup(id, 0, tx_desc, socket, std::ptr::null()) };
        if rc != 0 {
            return Err(port_err(id, "rte_eth_tx_queue_setup", rc));
        }
        // Some PMDs (net_pcap) fill the timestamp field without advertising
        // the offload; the per-mbuf flag says whether a frame has one.
        let timestamp = if ts_on || setup.timestamps {
            let f = RxTimestampField::register(eal);
            if f.is_none() {
                warnings.push(format!("{name}: cannot register the RX timestamp field"));
            }
            f
        } else {
            None
        };
        let port = Port {
            id,
            name,
            caps,
            rx_queues: queues,
            taken: vec![false; usize::from(queues)],
            timestamp,
            flows: HashMap::new(),
            next_flow: 1,
            started: false,
        };
        if setup.promiscuous {
            // SAFETY: configured port.
            let rc = unsafe { dpdk_sys::rte_eth_promiscuous_enable(id) };
            if rc != 0 {
                warnings.push(format!(
                    "{}: promiscuous mode not available ({})",
                    port.name,
                    strerror(rc)
                ));
            }
        }
        Ok((port, warnings))
    }

    pub fn id(&self) -> u16 {
        self.id
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn rx_queue_count(&self) -> u16 {
        self.rx_queues
    }

    /// Whether frames carry hardware RX timestamps.
    pub fn has_timestamps(&self) -> bool {
        self.timestamp.is_some()
    }

    pub fn start(&mut self) -> Result<(), DpdkError> {
        // SAFETY: configured port with every queue set up.
        let rc = unsafe { dpdk_sys::rte_eth_dev_start(self.id) };
        if rc != 0 {
            return Err(port_err(self.id, "rte_eth_dev_start", rc));
        }
        self.started = true;
        Ok(())
    }

    pub fn stop(&mut self) {
        if self.started {
            // SAFETY: started port; RX bursts after this return nothing.
            unsafe { dpdk_sys::rte_eth_dev_stop(self.id) };
            self.started = false;
        }
    }

    /// The handle to poll queue `q`; each queue is handed out once, so only
    /// one thread ever polls it (DPDK RX queues are not thread-safe).
    pub fn take_rx_queue(&mut self, q: u16) -> Option<RxQueue> {
        let slot = self.taken.get_mut(usize::from(q))?;
        if *slot {
            return None;
        }
        *slot = true;
        Some(RxQueue {
            port: self.id,
            queue: q,
            timestamp: self.timestamp,
        })
    }

    /// Device counters (`rte_eth_stats_get`) and every xstat.
    pub fn stats(&self) -> Result<PortStats, DpdkError> {
        let mut s = dpdk_sys::rte_eth_stats::default();
        // SAFETY: valid port; `s` is a valid out-parameter.
        let rc = unsafe { dpdk_sys::rte_eth_stats_get(self.id, &mut s) };
        if rc != 0 {
            return Err(port_err(self.id, "rte_eth_stats_get", rc));
        }
        let nq = usize::from(self.rx_queues).min(s.q_ipackets.len());
        let queues = (0..nq)
            .map(|q| QueueStats {
                queue: q as u16,
                packets: s.q_ipackets[q],
                bytes: s.q_ibytes[q],
                errors: s.q_errors[q],
            })
            .collect();
        Ok(PortStats {
            port: self.id,
            name: self.name.clone(),
            packets: s.ipackets,
            bytes: s.ibytes,
            imissed: s.imissed,
            ierrors: s.ierrors,
            rx_nombuf: s.rx_nombuf,
            queues,
            xstats: self.xstats(),
        })
    }

    /// Every extended statistic, by name (empty when the device has none).
    pub fn xstats(&self) -> BTreeMap<String, u64> {
        let mut out = BTreeMap::new();
        // SAFETY: a NULL array with size 0 asks for the count only.
        let n = unsafe { dpdk_sys::rte_eth_xstats_get_names(self.id, std::ptr::null_mut(), 0) };
        if n <= 0 {
            return out;
        }
        let n = n as usize;
        let mut names = vec![dpdk_sys::rte_eth_xstat_name::default(); n];
        let mut values = vec![dpdk_sys::rte_eth_xstat::default(); n];
        // SAFETY: both arrays have `n` elements, as passed.
        let got_names =
            unsafe { dpdk_sys::rte_eth_xstats_get_names(self.id, names.as_mut_ptr(), n as u32) };
        // SAFETY: as above.
        let got = unsafe { dpdk_sys::rte_eth_xstats_get(self.id, values.as_mut_ptr(), n as u32) };
        if got_names <= 0 || got <= 0 {
            return out;
        }
        let m = (got as usize).min(got_names as usize).min(n);
        for v in &values[..m] {
            let Some(name) = names.get(v.id as usize) else {
                continue;
            };
            // SAFETY: DPDK writes NUL-terminated names into the 64-byte arrays.
            let name = unsafe { CStr::from_ptr(name.name.as_ptr()) }.to_string_lossy();
            out.insert(name.into_owned(), v.value);
        }
        out
    }

    /// The symmetric key at the device's key length, for RSS flow actions.
    fn flow_rss_key(&self) -> Vec<u8> {
        RssPlan::for_device(&self.caps, 2)
            .key
            .unwrap_or_else(|| crate::SYMMETRIC_KEY.to_vec())
    }

    /// Removes every flow rule weir created on this port.
    pub fn flush_flows(&mut self) {
        let ids: Vec<u64> = self.flows.keys().copied().collect();
        for id in ids {
            let _ = self.flow_destroy(FlowId(id));
        }
    }
}

impl Drop for Port {
    fn drop(&mut self) {
        self.flush_flows();
        self.stop();
    }
}

fn nic_err(op: &'static str, rc: i32) -> NicError {
    NicError {
        op,
        errno: rc.abs(),
        message: strerror(rc),
    }
}

impl NicControl for Port {
    fn caps(&self) -> &DevCaps {
        &self.caps
    }

    fn reta_update(&mut self, entries: &[(u16, u16)]) -> Result<(), NicError> {
        let size = self.caps.reta_size;
        if size == 0 {
            return Err(NicError::unsupported(
                "reta_update",
                format!("{} has no redirection table", self.name),
            ));
        }
        let group = dpdk_sys::RTE_ETH_RETA_GROUP_SIZE as usize;
        let mut conf =
            vec![dpdk_sys::rte_eth_rss_reta_entry64::default(); usize::from(size).div_ceil(group)];
        for &(b, q) in entries {
            let b = usize::from(b);
            if b >= usize::from(size) || q >= self.rx_queues {
                return Err(NicError {
                    op: "reta_update",
                    errno: 22,
                    message: format!("bucket {b} -> queue {q} out of range"),
                });
            }
            conf[b / group].mask |= 1 << (b % group);
            conf[b / group].reta[b % group] = q;
        }
        // SAFETY: `conf` has reta_size / 64 groups as the API requires; only
        // masked entries are read.
        let rc = unsafe { dpdk_sys::rte_eth_dev_rss_reta_update(self.id, conf.as_mut_ptr(), size) };
        if rc != 0 {
            return Err(nic_err("rte_eth_dev_rss_reta_update", rc));
        }
        Ok(())
    }

    fn reta_query(&mut self) -> Result<Vec<u16>, NicError> {
        let size = self.caps.reta_size;
        if size == 0 {
            return Err(NicError::unsupported(
                "reta_query",
                format!("{} has no redirection table", self.name),
            ));
        }
        let group = dpdk_sys::RTE_ETH_RETA_GROUP_SIZE as usize;
        let mut conf =
            vec![dpdk_sys::rte_eth_rss_reta_entry64::default(); usize::from(size).div_ceil(group)];
        for g in conf.iter_mut() {
            g.mask = u64::MAX;
        }
        // SAFETY: as in reta_update.
        let rc = unsafe { dpdk_sys::rte_eth_dev_rss_reta_query(self.id, conf.as_mut_ptr(), size) };
        if rc != 0 {
            return Err(nic_err("rte_eth_dev_rss_reta_query", rc));
        }
        Ok((0..usize::from(size))
            .map(|b| conf[b / group].reta[b % group])
            .collect())
    }

    fn flow_validate(&mut self, rule: &FlowRule) -> Result<(), NicError> {
        CFlow::new(rule, &self.flow_rss_key()).validate(self.id)
    }

    fn flow_create(&mut self, rule: &FlowRule) -> Result<FlowId, NicError> {
        let flow = CFlow::new(rule, &self.flow_rss_key()).create(self.id)?;
        let id = self.next_flow;
        self.next_flow += 1;
        self.flows.insert(id, flow);
        Ok(FlowId(id))
    }

    fn flow_destroy(&mut self, id: FlowId) -> Result<(), NicError> {
        let flow = self.flows.remove(&id.0).ok_or_else(|| NicError {
            op: "flow_destroy",
            errno: 2,
            message: format!("no rule {}", id.0),
        })?;
        super::flow_ffi::destroy(self.id, flow)
    }
}

/// The right to poll one RX queue of one port.
pub struct RxQueue {
    port: u16,
    queue: u16,
    timestamp: Option<RxTimestampField>,
}

impl RxQueue {
    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn queue(&self) -> u16 {
        self.queue
    }

    pub fn timestamp_field(&self) -> Option<&RxTimestampField> {
        self.timestamp.as_ref()
    }

    /// Receives up to `max` frames (at most 512) into `out` (which is
    /// cleared first); returns how many arrived.
    #[inline]
    pub fn rx_burst(&mut self, out: &mut Vec<Mbuf>, max: u16) -> usize {
        out.clear();
        let mut raw: [*mut dpdk_sys::rte_mbuf; 512] = [std::ptr::null_mut(); 512];
        let max = max.min(512);
        // SAFETY: this handle is the only poller of (port, queue) (see
        // `Port::take_rx_queue`); `raw` has room for `max` pointers.
        let n = unsafe { dpdk_sys::weir_rx_burst(self.port, self.queue, raw.as_mut_ptr(), max) };
        for &m in &raw[..usize::from(n)] {
            if let Some(m) = NonNull::new(m) {
                // SAFETY: rx_burst hands us one reference on each returned mbuf.
                out.push(unsafe { Mbuf::from_raw(m) });
            }
        }
        usize::from(n)
    }
}
