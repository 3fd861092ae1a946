//! EAL initialisation: once per process, from an argument list.

use super::{last_errno, strerror, DpdkError};
use std::ffi::CString;
use std::os::raw::c_char;
use std::sync::atomic::{AtomicBool, Ordering};

static STARTED: AtomicBool = AtomicBool::new(false);

/// Proof that EAL is initialised; holds the lcore layout.
#[derive(Debug)]
pub struct Eal {
    main: u32,
    workers: Vec<u32>,
}

impl Eal {
    /// Initialises EAL with `args` (without the program name). Only the first
    /// call in a process can succeed.
    pub fn init<S: AsRef<str>>(args: &[S]) -> Result<Eal, DpdkError> {
        if STARTED.swap(true, Ordering::SeqCst) {
            return Err(DpdkError::EalAlreadyInitialised);
        }
        let mut owned = Vec::with_capacity(args.len() + 1);
        owned.push(CString::new("weir").expect("no NUL"));
        for a in args {
            owned.push(
                CString::new(a.as_ref())
                    .map_err(|_| DpdkError::NulInArgument(a.as_ref().to_string()))?,
            );
        }
        // EAL may keep pointers into argv (device arguments, the program
        // name), so the strings live for the rest of the process.
        let argv: &'static mut [*mut c_char] = Box::leak(
            owned
                .into_iter()
                .map(CString::into_raw)
                .collect::<Vec<_>>()
                .into_boxed_slice(),
        );
        let argc = argv.len() as i32;
        // SAFETY: argv holds argc valid, NUL-terminated, leaked (so 'static)
        // strings; EAL may permute the array, which is ours alone. This runs
        // once per process (guarded by STARTED).
        let rc = unsafe { dpdk_sys::rte_eal_init(argc, argv.as_mut_ptr()) };
        if rc < 0 {
            let errno = last_errno();
            return Err(DpdkError::EalInit {
                args: args
                    .iter()
                    .map(|a| a.as_ref().to_string())
                    .collect::<Vec<_>>()
                    .join(" "),
                message: strerror(errno),
            });
        }
        // SAFETY: EAL is initialised; these read its lcore configuration.
        let main = unsafe { dpdk_sys::rte_get_main_lcore() };
        let mut workers = Vec::new();
        // SAFETY: as above; rte_get_next_lcore walks the enabled lcores and
        // returns RTE_MAX_LCORE at the end (u32::MAX as "before the first").
        unsafe {
            let mut i = dpdk_sys::rte_get_next_lcore(u32::MAX, 1, 0);
            while i < dpdk_sys::RTE_MAX_LCORE {
                workers.push(i);
                i = dpdk_sys::rte_get_next_lcore(i, 1, 0);
            }
        }
        Ok(Eal { main, workers })
    }

    pub fn main_lcore(&self) -> u32 {
        self.main
    }

    /// Enabled lcores other than the main one, in order.
    pub fn worker_lcores(&self) -> &[u32] {
        &self.workers
    }

    /// NUMA socket of an lcore.
    pub fn lcore_socket(&self, lcore: u32) -> u32 {
        // SAFETY: EAL is initialised; an unknown lcore yields a sentinel, not UB.
        unsafe { dpdk_sys::rte_lcore_to_socket_id(lcore) }
    }

    /// Ids of the available ethdev ports.
    pub fn ports(&self) -> Vec<u16> {
        (0..dpdk_sys::RTE_MAX_ETHPORTS as u16)
            // SAFETY: EAL is initialised; any port id may be asked about.
            .filter(|p| unsafe { dpdk_sys::rte_eth_dev_is_valid_port(*p) } == 1)
            .collect()
    }

    /// Rate of [`super::rdtsc`], in ticks per second.
    pub fn tsc_hz(&self) -> u64 {
        // SAFETY: EAL is initialised (it calibrates the TSC).
        unsafe { dpdk_sys::rte_get_tsc_hz() }
    }
}
