//! Mempools and the mbuf handle.

use super::{last_errno, strerror, DpdkError, Eal};
use std::ffi::CString;
use std::ptr::NonNull;

/// A packet-mbuf pool. Pools live until the process exits (they are never
/// freed), so an [`Mbuf`] can never outlive the memory it points into.
#[derive(Copy, Clone, Debug)]
pub struct Mempool(NonNull<dpdk_sys::rte_mempool>);

// SAFETY: mempool get/put are thread-safe (lockless ring plus per-lcore
// caches, with non-EAL threads going to the ring directly); the counters
// read here are atomic or read-only after creation.
unsafe impl Send for Mempool {}
// SAFETY: as above; `&Mempool` exposes nothing that needs exclusive access.
unsafe impl Sync for Mempool {}

impl Mempool {
    /// Creates a pool of `n` mbufs with `data_room` bytes each (headroom included).
    pub fn create(
        _eal: &Eal,
        name: &str,
        n: u32,
        cache: u32,
        data_room: u16,
        socket: i32,
    ) -> Result<Mempool, DpdkError> {
        let err = |message: String| DpdkError::Mempool {
            name: name.to_string(),
            message,
        };
        let cname = CString::new(name).map_err(|_| err("name contains NUL".into()))?;
        // SAFETY: EAL is initialised (`_eal`); the name is a valid C string
        // that DPDK copies.
        let p = unsafe {
            dpdk_sys::rte_pktmbuf_pool_create(cname.as_ptr(), n, cache, 0, data_room, socket)
        };
        NonNull::new(p).map(Mempool).ok_or_else(|| {
            err(format!(
                "cannot create {n} mbufs of {data_room} B: {} (lower [online] mbufs, or give EAL more memory with -m)",
                strerror(last_errno())
            ))
        })
    }

    /// Mbufs handed out and not yet returned.
    pub fn in_use(&self) -> u32 {
        // SAFETY: the pool is valid for the process lifetime.
        unsafe { dpdk_sys::rte_mempool_in_use_count(self.0.as_ptr()) }
    }

    /// Mbufs available in the pool (ring plus caches).
    pub fn available(&self) -> u32 {
        // SAFETY: as above.
        unsafe { dpdk_sys::rte_mempool_avail_count(self.0.as_ptr()) }
    }

    /// Mbufs the pool was created with.
    pub fn capacity(&self) -> u32 {
        // SAFETY: `size` is written at creation and never changes.
        unsafe { (*self.0.as_ptr()).size }
    }

    pub(crate) fn as_ptr(&self) -> *mut dpdk_sys::rte_mempool {
        self.0.as_ptr()
    }

    /// A fresh, empty mbuf (refcount 1), or `None` when the pool is exhausted.
    pub fn alloc(&self) -> Option<Mbuf> {
        // SAFETY: valid pool; the returned mbuf (if any) is ours alone.
        let m = unsafe { dpdk_sys::weir_pktmbuf_alloc(self.0.as_ptr()) };
        NonNull::new(m).map(Mbuf)
    }
}

/// Where the NIC stores its RX timestamp in an mbuf (a dynamic field).
#[derive(Copy, Clone, Debug)]
pub struct RxTimestampField {
    offset: i32,
    flag: u64,
}

impl RxTimestampField {
    /// Registers (or looks up) the RX timestamp dynamic field and flag.
    pub fn register(_eal: &Eal) -> Option<RxTimestampField> {
        let mut offset = -1;
        let mut flag = 0u64;
        // SAFETY: EAL is initialised; both out-pointers are valid locals.
        let rc = unsafe { dpdk_sys::rte_mbuf_dyn_rx_timestamp_register(&mut offset, &mut flag) };
        (rc == 0 && offset >= 0).then_some(RxTimestampField { offset, flag })
    }
}

/// One received frame, owned: a reference on a DPDK mbuf.
///
/// `Clone` takes another reference (`rte_mbuf_refcnt_update(+1)`), `Drop`
/// gives one back (`rte_pktmbuf_free`, which returns the mbuf to its pool
/// when the last reference goes), so every reference is released exactly
/// once. The frame bytes are never written through a handle, so shared
/// references may read them concurrently.
#[derive(Debug)]
pub struct Mbuf(NonNull<dpdk_sys::rte_mbuf>);

// SAFETY: an mbuf may be freed by any thread (the pool is thread-safe) and
// its refcount is updated atomically; the handle owns one reference.
unsafe impl Send for Mbuf {}

impl Mbuf {
    /// Wraps a raw mbuf.
    ///
    /// # Safety
    /// `m` must be a valid mbuf whose one reference the caller gives to the
    /// handle (as after `rte_eth_rx_burst` or `rte_pktmbuf_alloc`).
    pub(crate) unsafe fn from_raw(m: NonNull<dpdk_sys::rte_mbuf>) -> Mbuf {
        Mbuf(m)
    }

    /// The first segment's bytes: the whole frame unless the PMD chained segments.
    #[inline]
    pub fn data(&self) -> &[u8] {
        // SAFETY: the handle holds a reference, so the mbuf and its buffer
        // stay valid for `&self`'s lifetime; data_len bytes from the data
        // pointer are initialised frame bytes, and nobody writes them while
        // references exist (see the type docs).
        unsafe {
            let p = self.0.as_ptr();
            std::slice::from_raw_parts(
                dpdk_sys::weir_mbuf_data(p),
                usize::from(dpdk_sys::weir_mbuf_data_len(p)),
            )
        }
    }

    /// Length of the whole frame over all segments.
    #[inline]
    pub fn pkt_len(&self) -> u32 {
        // SAFETY: valid mbuf (see `data`).
        unsafe { dpdk_sys::weir_mbuf_pkt_len(self.0.as_ptr()) }
    }

    /// Segments in the chain.
    pub fn segments(&self) -> u16 {
        // SAFETY: valid mbuf (see `data`).
        unsafe { dpdk_sys::weir_mbuf_nb_segs(self.0.as_ptr()) }
    }

    /// References currently held on this mbuf.
    pub fn refcount(&self) -> u16 {
        // SAFETY: valid mbuf (see `data`).
        unsafe { dpdk_sys::weir_mbuf_refcnt_read(self.0.as_ptr()) }
    }

    /// The NIC's RSS hash of the frame (when the device computed one).
    pub fn rss_hash(&self) -> u32 {
        // SAFETY: valid mbuf (see `data`).
        unsafe { dpdk_sys::weir_mbuf_rss_hash(self.0.as_ptr()) }
    }

    /// The RX timestamp the device stored, if it stored one.
    #[inline]
    pub fn rx_timestamp(&self, field: &RxTimestampField) -> Option<u64> {
        let p = self.0.as_ptr();
        // SAFETY: valid mbuf; the flag says whether the dynamic field at the
        // registered offset (inside the mbuf, checked by DPDK at
        // registration) holds a timestamp.
        unsafe {
            if dpdk_sys::weir_mbuf_ol_flags(p) & field.flag == 0 {
                return None;
            }
            Some(dpdk_sys::weir_mbuf_dynfield_u64(p, field.offset))
        }
    }

    /// Appends `bytes` to a frame this handle holds alone (for building test
    /// frames); `false` when shared or when the buffer has no room.
    pub fn append(&mut self, bytes: &[u8]) -> bool {
        if self.refcount() != 1 || bytes.len() > usize::from(u16::MAX) {
            return false;
        }
        // SAFETY: we hold the only reference, so writing the tail is not
        // observed by anyone; rte_pktmbuf_append checks the tailroom and
        // returns NULL when it is too small, else a pointer to len writable bytes.
        unsafe {
            let dst = dpdk_sys::weir_pktmbuf_append(self.0.as_ptr(), bytes.len() as u16);
            if dst.is_null() {
                return false;
            }
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), dst.cast::<u8>(), bytes.len());
        }
        true
    }
}

impl Clone for Mbuf {
    fn clone(&self) -> Self {
        // SAFETY: valid mbuf; the new handle owns the reference added here.
        unsafe { dpdk_sys::weir_mbuf_refcnt_update(self.0.as_ptr(), 1) };
        Mbuf(self.0)
    }
}

impl Drop for Mbuf {
    fn drop(&mut self) {
        // SAFETY: the handle owns exactly one reference and is dropped once;
        // rte_pktmbuf_free releases that reference (freeing at zero).
        unsafe { dpdk_sys::weir_pktmbuf_free(self.0.as_ptr()) }
    }
}
