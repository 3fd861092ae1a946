//! The weir filter language.
#![forbid(unsafe_code)]

pub mod hw;
