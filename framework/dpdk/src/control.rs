//! Run-time control of one port: RETA sampling and filter offload, kept
//! consistent with each other. Generic over [`NicControl`], so the runtime
//! drives real ports with it and the tests drive the software model.
//!
//! Accepting flow rules spread packets with their own RSS queue list, which
//! bypasses the device's redirection table; so the list is the current
//! RETA, and every RETA change re-installs the rules with the new list.
//! Sampling therefore applies to offloaded traffic too.

use crate::flow::{install_hw_filter, remove_offload, OffloadReport};
use crate::nic::{FlowAction, NicControl, NicError, RssPlan};
use crate::reta::RetaControl;
use weir_filter::hw::HwFilter;

pub struct PortControl<N: NicControl> {
    nic: N,
    workers: u16,
    reta: Option<RetaControl>,
    offload: Option<(HwFilter, OffloadReport)>,
}

impl<N: NicControl> PortControl<N> {
    /// Takes over `nic` with `workers` worker queues and an optional sink
    /// queue; programs the RETA when the device has one. Returns warnings
    /// for what could not be set up.
    pub fn new(mut nic: N, workers: u16, sink: Option<u16>) -> (Self, Vec<String>) {
        let mut warnings = Vec::new();
        let reta = if nic.caps().reta_size > 0 {
            match RetaControl::new(&mut nic, workers, sink) {
                Ok(r) => Some(r),
                Err(e) => {
                    warnings.push(format!(
                        "{}: cannot program the redirection table ({e}); flow sampling is off",
                        nic.caps().driver
                    ));
                    None
                }
            }
        } else {
            None
        };
        (
            PortControl {
                nic,
                workers,
                reta,
                offload: None,
            },
            warnings,
        )
    }

    pub fn nic(&self) -> &N {
        &self.nic
    }

    pub fn nic_mut(&mut self) -> &mut N {
        &mut self.nic
    }

    /// The redirection table as last written, if the device has one.
    pub fn reta_table(&self) -> Option<&[u16]> {
        self.reta.as_ref().map(RetaControl::table)
    }

    /// Whether the NIC currently drops what the filter does not want.
    pub fn offloaded(&self) -> bool {
        self.offload.as_ref().is_some_and(|(_, r)| r.offloaded)
    }

    fn reta(&mut self) -> Result<&mut RetaControl, NicError> {
        let driver = self.nic.caps().driver.clone();
        self.reta
            .as_mut()
            .ok_or_else(|| NicError::unsupported("reta", format!("{driver}: no redirection table")))
    }

    /// Keeps about `fraction` of the buckets on the workers, the rest to the sink.
    pub fn sample(&mut self, fraction: f64) -> Result<usize, NicError> {
        let mut reta = self.reta()?.clone();
        let kept = reta.sample(&mut self.nic, fraction);
        self.reta = Some(reta);
        let kept = kept?;
        self.refresh_offload();
        Ok(kept)
    }

    /// Points `buckets` at the sink queue.
    pub fn to_sink(&mut self, buckets: &[u16]) -> Result<(), NicError> {
        let mut reta = self.reta()?.clone();
        let r = reta.to_sink(&mut self.nic, buckets);
        self.reta = Some(reta);
        r?;
        self.refresh_offload();
        Ok(())
    }

    /// Points `buckets` back at their workers.
    pub fn restore(&mut self, buckets: &[u16]) -> Result<(), NicError> {
        let mut reta = self.reta()?.clone();
        let r = reta.restore(&mut self.nic, buckets);
        self.reta = Some(reta);
        r?;
        self.refresh_offload();
        Ok(())
    }

    /// What an accepted packet gets: RSS over the current RETA (or the
    /// workers), or the single worker queue.
    pub fn accept_action(&self) -> FlowAction {
        let queues: Vec<u16> = match &self.reta {
            Some(r) => r.table().to_vec(),
            None => (0..self.workers).collect(),
        };
        if queues.iter().all(|q| *q == queues[0]) {
            return FlowAction::Queue(queues[0]);
        }
        FlowAction::Rss {
            queues,
            types: RssPlan::for_device(self.nic.caps(), self.workers.max(2)).types,
        }
    }

    /// Installs the NIC rules of `filter` (replacing earlier ones); returns the log lines.
    pub fn offload(&mut self, filter: &HwFilter) -> Vec<String> {
        if let Some((_, mut old)) = self.offload.take() {
            remove_offload(&mut self.nic, &mut old);
        }
        let action = self.accept_action();
        let report = install_hw_filter(&mut self.nic, filter, &action);
        let mut log = report.log.clone();
        if report.offloaded {
            log.push(format!("{} NIC rule(s) installed", report.installed.len()));
        }
        self.offload = Some((filter.clone(), report));
        log
    }

    /// Removes the offloaded rules, if any.
    pub fn clear_offload(&mut self) {
        if let Some((_, mut old)) = self.offload.take() {
            remove_offload(&mut self.nic, &mut old);
        }
    }

    /// Re-installs an active offload so its RSS queue lists follow the RETA.
    fn refresh_offload(&mut self) {
        if let Some((filter, report)) = &self.offload {
            if !report.installed.is_empty() {
                let filter = filter.clone();
                self.offload(&filter);
            }
        }
    }
}
