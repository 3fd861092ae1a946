//! weir runtime (being written).
#![forbid(unsafe_code)]
