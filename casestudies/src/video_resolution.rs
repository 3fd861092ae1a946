//! Video resolution inference, the Iris paper's working example (§3,
//! Figure 3), without the trained model.
//!
//! - [`app::FeatureChunk`], a user data type updated at every packet
//!   (`L4InConn`): per-direction bytes and packets in 1 s windows of
//!   packet time, and the sizes of the downstream *bursts* (server →
//!   client payload separated by at least [`BURST_GAP_NS`] of silence: a
//!   player fetches media in segments, one burst each).
//! - [`app::ResolutionEst`], a stateful callback (one instance per
//!   connection): `update` streams every packet's features and
//!   unsubscribes (`false`) once [`ENOUGH_WINDOWS`] windows are seen,
//!   keeping an early estimate; `end` (at `L4Terminated`) makes the final
//!   estimate from the whole connection's features and records it.
//! - `dns_record`, a callback on every DNS transaction: the answer
//!   addresses of names under [`VIDEO_DOMAINS`] go into a global cache.
//! - `video_lookup`, a user filter at the first packet: the server address
//!   is in that cache.
//! - The subscription filter: `tls and (file=data/video_snis.txt or
//!   video_lookup)` — TLS whose SNI matches a pattern of the SNI file, or
//!   whose server was resolved from a video name.
//!
//! **The rule** (in place of the paper's random forest): the media bitrate
//! is the mean size of the downstream bursts of at least [`MIN_BURST`]
//! bytes divided by the segment duration [`SEGMENT_SECS`] (2 s, the usual
//! DASH/HLS segment length and the one weir-tracegen uses), and the
//! resolution is the label of the bitrate band it falls in
//! ([`classify`]): band edges are the geometric means of neighbouring
//! typical bitrates (50, 95, 160, 320, 620 kB/s for 240p ... 1080p).
//! Without a burst of at least `MIN_BURST` bytes the estimate is
//! `Unknown`.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::{Mutex, MutexGuard};

/// Names (and their subdomains) whose DNS answers are video servers.
pub const VIDEO_DOMAINS: &[&str] = &[
    "video-cdn.example.net",
    "media.streaming.example.com",
    "vod.example.org",
    "tube.example.com",
    "nflxvideo.net",
    "netflix.com",
    "googlevideo.com",
    "primevideo.com",
];
/// Feature window length (packet time).
pub const WINDOW_NS: u64 = 1_000_000_000;
/// Windows kept per connection; later packets only count in the totals.
pub const MAX_WINDOWS: usize = 64;
/// `update` unsubscribes once this many windows exist.
pub const ENOUGH_WINDOWS: usize = 10;
/// Silence that separates two downstream bursts.
pub const BURST_GAP_NS: u64 = 500_000_000;
/// Bursts kept per connection; later bursts are counted in `bursts_dropped`.
pub const MAX_BURSTS: usize = 64;
/// Bursts smaller than this (handshake leftovers, alerts) are not segments.
pub const MIN_BURST: u64 = 8_000;
/// Media duration of one segment.
pub const SEGMENT_SECS: f64 = 2.0;

/// A resolution label.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Resolution {
    Unknown,
    P240,
    P360,
    P480,
    P720,
    P1080,
}

impl Resolution {
    /// `240p` ... `1080p`, or `unknown`.
    pub fn label(self) -> &'static str {
        match self {
            Resolution::Unknown => "unknown",
            Resolution::P240 => "240p",
            Resolution::P360 => "360p",
            Resolution::P480 => "480p",
            Resolution::P720 => "720p",
            Resolution::P1080 => "1080p",
        }
    }
}

/// The bitrate bands: (upper edge in bytes/s, label), from the geometric
/// means of 50k·95k, 95k·160k, 160k·320k and 320k·620k.
const BANDS: [(f64, Resolution); 4] =
    [(68_920.0, Resolution::P240), (123_288.0, Resolution::P360), (226_274.0, Resolution::P480), (445_421.0, Resolution::P720)];

/// The resolution of a media bitrate in bytes per second.
pub fn classify(bytes_per_sec: f64) -> Resolution {
    BANDS.iter().find(|(edge, _)| bytes_per_sec < *edge).map_or(Resolution::P1080, |b| b.1)
}

/// One estimate, made by `ResolutionEst::end`.
#[derive(Clone, Debug, PartialEq)]
pub struct Estimate {
    /// The connection as invocation traces name it (`tuple @first_ns`).
    pub conn: String,
    pub resolution: Resolution,
    /// Media bytes per second (0 when unknown).
    pub bitrate: f64,
    /// Downstream bursts counted as segments.
    pub segments: usize,
    /// `update` invocations before it unsubscribed (or the connection ended).
    pub updates: u64,
    /// The estimate `update` held when it unsubscribed, if it did.
    pub early: Option<Resolution>,
}

static ESTIMATES: Mutex<Vec<Estimate>> = Mutex::new(Vec::new());
static DNS_CACHE: Mutex<BTreeSet<IpAddr>> = Mutex::new(BTreeSet::new());

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The estimates made since the last call.
pub fn take_estimates() -> Vec<Estimate> {
    std::mem::take(&mut *lock(&ESTIMATES))
}

/// Addresses in the video DNS cache.
pub fn dns_cache_len() -> usize {
    lock(&DNS_CACHE).len()
}

/// A copy of the video DNS cache.
pub fn dns_cache() -> BTreeSet<IpAddr> {
    lock(&DNS_CACHE).clone()
}

/// Empties the estimates and the DNS cache (between runs in one process).
pub fn reset() {
    lock(&ESTIMATES).clear();
    lock(&DNS_CACHE).clear();
}

/// `name` is one of [`VIDEO_DOMAINS`] or a subdomain of one (case and a
/// trailing dot ignored).
pub fn is_video_name(name: &str) -> bool {
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    VIDEO_DOMAINS.iter().any(|d| n == *d || n.strip_suffix(d).is_some_and(|rest| rest.ends_with('.')))
}

#[weir::app]
pub mod app {
    use super::{classify, lock, Estimate, Resolution};
    use super::{BURST_GAP_NS, ENOUGH_WINDOWS, MAX_BURSTS, MAX_WINDOWS, MIN_BURST, SEGMENT_SECS, WINDOW_NS};
    use weir::prelude::*;

    /// Traffic of one window, per direction.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct Window {
        pub up_bytes: u64,
        pub up_pkts: u64,
        pub down_bytes: u64,
        pub down_pkts: u64,
    }

    /// Per-connection features, from the first packet it sees.
    #[derive(Clone, Debug, PartialEq, Eq)]
    pub struct FeatureChunk {
        start_ns: u64,
        /// Window `i` covers `[start + i s, start + (i+1) s)` (frame bytes).
        pub windows: Vec<Window>,
        /// Downstream payload bytes per burst.
        pub bursts: Vec<u64>,
        pub bursts_dropped: u64,
        last_down_ns: Option<u64>,
        /// Totals (frame bytes), including packets past the kept windows.
        pub total: Window,
    }

    #[datatype]
    impl FeatureChunk {
        pub fn new(ctx: &Ctx) -> Self {
            FeatureChunk {
                start_ns: ctx.ts.as_nanos(),
                windows: Vec::new(),
                bursts: Vec::new(),
                bursts_dropped: 0,
                last_down_ns: None,
                total: Window::default(),
            }
        }

        #[datatype_fn(on = L4InConn)]
        fn on_packet(&mut self, _ctx: &Ctx, p: &L4Pdu) {
            let ts = p.ts.as_nanos();
            let bytes = u64::from(p.wire_len);
            let down = p.dir == Direction::ToOriginator;
            let add = |w: &mut Window| {
                if down {
                    w.down_bytes += bytes;
                    w.down_pkts += 1;
                } else {
                    w.up_bytes += bytes;
                    w.up_pkts += 1;
                }
            };
            add(&mut self.total);
            // A packet earlier than the start (reordered capture) counts in window 0.
            let i = (ts.saturating_sub(self.start_ns) / WINDOW_NS) as usize;
            if i < MAX_WINDOWS {
                if self.windows.len() <= i {
                    self.windows.resize(i + 1, Window::default());
                }
                add(&mut self.windows[i]);
            }
            if down && p.payload_len > 0 {
                let len = p.payload_len as u64;
                let new_burst = self.last_down_ns.is_none_or(|last| ts.saturating_sub(last) >= BURST_GAP_NS);
                self.last_down_ns = Some(self.last_down_ns.map_or(ts, |l| l.max(ts)));
                let kept = self.bursts.len();
                match self.bursts.last_mut() {
                    Some(b) if !new_burst => *b += len,
                    _ if kept < MAX_BURSTS => self.bursts.push(len),
                    _ => self.bursts_dropped += 1,
                }
            }
        }
    }

    impl FeatureChunk {
        /// The rule of the module docs: (resolution, bitrate, segments).
        pub fn estimate(&self) -> (Resolution, f64, usize) {
            let segs: Vec<u64> = self.bursts.iter().copied().filter(|&b| b >= MIN_BURST).collect();
            if segs.is_empty() {
                return (Resolution::Unknown, 0.0, 0);
            }
            let mean = segs.iter().sum::<u64>() as f64 / segs.len() as f64;
            let rate = mean / SEGMENT_SECS;
            (classify(rate), rate, segs.len())
        }
    }

    /// One instance per video connection.
    pub struct ResolutionEst {
        conn: String,
        updates: u64,
        early: Option<Resolution>,
    }

    #[callback("tls and (file=data/video_snis.txt or video_lookup)")]
    impl ResolutionEst {
        pub fn new(ctx: &Ctx) -> Self {
            ResolutionEst { conn: format!("{} @{}", ctx.tuple, ctx.record.first_ts.as_nanos()), updates: 0, early: None }
        }

        /// Streams the features; enough once `ENOUGH_WINDOWS` windows exist.
        #[callback_fn(on = L4InConn, streaming)]
        fn update(&mut self, chunk: &FeatureChunk) -> bool {
            self.updates += 1;
            if chunk.windows.len() >= ENOUGH_WINDOWS {
                self.early = Some(chunk.estimate().0);
                return false;
            }
            true
        }

        /// The final estimate, at termination.
        #[callback_fn(on = L4Terminated)]
        fn end(&mut self, chunk: &FeatureChunk) {
            let (resolution, bitrate, segments) = chunk.estimate();
            crate::output::line(format_args!(
                "{} resolution={} bitrate={:.0}B/s segments={}",
                self.conn,
                resolution.label(),
                bitrate,
                segments
            ));
            lock(&super::ESTIMATES).push(Estimate {
                conn: self.conn.clone(),
                resolution,
                bitrate,
                segments,
                updates: self.updates,
                early: self.early,
            });
        }
    }

    /// Remembers the answer addresses of video names.
    #[callback("dns")]
    fn dns_record(tx: &DnsTransaction) {
        if !super::is_video_name(&tx.qname) {
            return;
        }
        let mut cache = lock(&super::DNS_CACHE);
        cache.extend(tx.answers.iter().filter_map(|a| a.parse::<std::net::IpAddr>().ok()));
    }

    /// The server address was answered for a video name.
    #[filter]
    fn video_lookup(ft: &FiveTuple) -> FilterResult {
        if lock(&super::DNS_CACHE).contains(&ft.resp.ip()) {
            FilterResult::Accept
        } else {
            FilterResult::Drop
        }
    }
}
