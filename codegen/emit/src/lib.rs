//! weir's compiler between the proc macros and the IR (`../shared/DESIGN.md`
//! §3–4, STYLE.md 1 and 8): the macros stay thin (parse → validate → emit);
//! this plain library does the work, so it is unit-tested without rustc.
//!
//! Written so far: [`attr`], the parse and validate steps for callbacks —
//! attribute arguments as real Rust syntax, parameters as data types, return
//! types, and IR errors mapped onto the span of the part at fault. The
//! emission of the IR as Rust (packet filter, one function per transition,
//! the per-connection struct) comes next.
#![forbid(unsafe_code)]

pub mod attr;
