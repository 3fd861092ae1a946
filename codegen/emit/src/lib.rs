//! weir's compiler between the proc macros and the IR (`../shared/DESIGN.md`
//! §3–4, STYLE.md 1 and 8): the macros stay thin (parse → validate → emit);
//! this plain library does the work, so it is unit-tested without rustc.
//!
//! - [`attr`], [`items`]: parse and validate each weir attribute on its
//!   item, with spans (IR errors land on the part at fault);
//! - [`expand`]: the per-item expansions (`#[datatype]`'s `DataType` impl);
//! - [`app`]: a whole `#[weir::app]` module → IR → generated pipeline.
#![forbid(unsafe_code)]

pub mod app;
pub mod attr;
pub mod expand;
pub mod items;
