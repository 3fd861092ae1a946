//! Running a Rust closure on an EAL worker lcore (`rte_eal_remote_launch`).

use super::{strerror, DpdkError, Eal};
use std::os::raw::{c_int, c_void};
use std::sync::mpsc::{channel, Receiver};

type Job = Box<dyn FnOnce() + Send + 'static>;

/// A closure running on a worker lcore; [`LcoreJoin::join`] waits for it.
pub struct LcoreJoin<T> {
    lcore: u32,
    result: Receiver<std::thread::Result<T>>,
}

extern "C" fn trampoline(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the Box<Job> leaked by `launch` for exactly this call;
    // it is taken back exactly once here.
    let job: Box<Job> = unsafe { Box::from_raw(arg.cast::<Job>()) };
    // Panics must not unwind into C; the closure reports them itself.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)) {
        Ok(()) => 0,
        Err(_) => -1,
    }
}

/// Starts `f` on worker lcore `lcore`, which must be idle.
pub fn launch<T, F>(_eal: &Eal, lcore: u32, f: F) -> Result<LcoreJoin<T>, DpdkError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let (tx, rx) = channel();
    let job: Job = Box::new(move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let _ = tx.send(r);
    });
    let arg = Box::into_raw(Box::new(job)).cast::<c_void>();
    // SAFETY: EAL is initialised (`_eal`); `trampoline` matches
    // lcore_function_t and takes ownership of `arg` when it runs. On failure
    // the job never runs and the box is reclaimed below.
    let rc = unsafe { dpdk_sys::rte_eal_remote_launch(Some(trampoline), arg, lcore) };
    if rc != 0 {
        // SAFETY: the launch failed, so the trampoline will never see `arg`.
        drop(unsafe { Box::from_raw(arg.cast::<Job>()) });
        return Err(DpdkError::Lcore {
            lcore,
            message: format!("cannot launch: {}", strerror(rc)),
        });
    }
    Ok(LcoreJoin { lcore, result: rx })
}

impl<T> LcoreJoin<T> {
    pub fn lcore(&self) -> u32 {
        self.lcore
    }

    /// Waits for the closure; `Err` if it panicked.
    pub fn join(self) -> std::thread::Result<T> {
        // SAFETY: waits for the lcore this handle launched; no memory is shared.
        unsafe { dpdk_sys::rte_eal_wait_lcore(self.lcore) };
        self.result
            .recv()
            .unwrap_or_else(|_| Err(Box::new("lcore job vanished")))
    }
}
