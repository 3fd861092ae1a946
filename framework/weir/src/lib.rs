//! weir: expressive, high-performance network traffic analysis.
#![forbid(unsafe_code)]
pub use weir_conntrack as conntrack;
pub use weir_runtime as runtime;
pub use weir_wire as wire;
