//! Redirection-table control: which RSS bucket feeds which queue.
//!
//! Workers own queues `0..workers`; an optional sink queue takes the
//! buckets whose flows are sampled out (the ZLT harness shrinks the share of
//! traffic a run analyses this way). Because the hash is symmetric, moving a
//! bucket moves both directions of every connection in it. Changes apply at
//! run time and can be undone bucket by bucket.

use crate::nic::{NicControl, NicError};

#[derive(Clone, Debug)]
pub struct RetaControl {
    workers: u16,
    sink: Option<u16>,
    table: Vec<u16>,
}

impl RetaControl {
    /// Takes over the table of `nic`, spreading every bucket round-robin over
    /// the `workers` worker queues. Fails when the device has no writable RETA.
    pub fn new<N: NicControl + ?Sized>(
        nic: &mut N,
        workers: u16,
        sink: Option<u16>,
    ) -> Result<RetaControl, NicError> {
        let size = nic.caps().reta_size;
        if size == 0 {
            return Err(NicError::unsupported(
                "reta",
                format!("{} has no redirection table", nic.caps().driver),
            ));
        }
        if workers == 0 {
            return Err(NicError::unsupported("reta", "no worker queue"));
        }
        let mut r = RetaControl {
            workers,
            sink,
            table: vec![0; usize::from(size)],
        };
        let all: Vec<u16> = (0..size).collect();
        r.restore(nic, &all)?;
        Ok(r)
    }

    /// The table as last written.
    pub fn table(&self) -> &[u16] {
        &self.table
    }

    pub fn sink(&self) -> Option<u16> {
        self.sink
    }

    /// The worker a bucket belongs to when it is not sampled out.
    pub fn owner(&self, bucket: u16) -> u16 {
        bucket % self.workers
    }

    /// Points `buckets` at the sink queue. Out-of-range buckets are an error and change nothing.
    pub fn to_sink<N: NicControl + ?Sized>(
        &mut self,
        nic: &mut N,
        buckets: &[u16],
    ) -> Result<(), NicError> {
        let sink = self
            .sink
            .ok_or_else(|| NicError::unsupported("reta", "no sink queue configured"))?;
        self.write(nic, buckets, |_| sink)
    }

    /// Points `buckets` back at their workers.
    pub fn restore<N: NicControl + ?Sized>(
        &mut self,
        nic: &mut N,
        buckets: &[u16],
    ) -> Result<(), NicError> {
        let w = self.workers;
        self.write(nic, buckets, |b| b % w)
    }

    /// Keeps about `fraction` of the buckets (the first ones) on the workers
    /// and sends the rest to the sink; returns how many buckets are kept.
    pub fn sample<N: NicControl + ?Sized>(
        &mut self,
        nic: &mut N,
        fraction: f64,
    ) -> Result<usize, NicError> {
        let size = self.table.len();
        let keep = if fraction.is_nan() {
            size
        } else {
            ((fraction.clamp(0.0, 1.0) * size as f64).round() as usize).min(size)
        };
        let kept: Vec<u16> = (0..keep as u16).collect();
        let dropped: Vec<u16> = (keep as u16..size as u16).collect();
        self.restore(nic, &kept)?;
        if !dropped.is_empty() {
            self.to_sink(nic, &dropped)?;
        }
        Ok(keep)
    }

    fn write<N: NicControl + ?Sized>(
        &mut self,
        nic: &mut N,
        buckets: &[u16],
        queue: impl Fn(u16) -> u16,
    ) -> Result<(), NicError> {
        if let Some(b) = buckets
            .iter()
            .find(|b| usize::from(**b) >= self.table.len())
        {
            return Err(NicError::unsupported(
                "reta",
                format!("bucket {b} is outside the table of {}", self.table.len()),
            ));
        }
        let entries: Vec<(u16, u16)> = buckets.iter().map(|&b| (b, queue(b))).collect();
        nic.reta_update(&entries)?;
        for (b, q) in entries {
            self.table[usize::from(b)] = q;
        }
        Ok(())
    }
}
