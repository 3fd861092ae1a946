//! Synthetic trace generator (being written).
#![forbid(unsafe_code)]
