//! The reference interpreter (`../shared/DESIGN.md` §4, `docs/SEMANTICS.md`)
//! and the naive multi-subscription engine.
//!
//! Both read the application's IR (its subscriptions: filter in normal form,
//! delivery transition and kind, data) and call the user's functions
//! through the type-erased adapters the macro emits ([`Dynamic`]). Neither
//! uses the compiled pipeline's action trees, tracked-data sharing or early
//! discard: each subscription is its own [`SubMachine`], with its own copy
//! of every data type it reads, deciding its own filter literal by literal.
//!
//! - [`interp::Interp`]: tracks every connection in full (all events,
//!   whatever anyone needs), buffers its events, and at its end replays them
//!   through each subscription separately. Slow on purpose.
//! - [`naive::Naive`]: the paper's §6.2 baseline: online, sharing packet
//!   I/O, connection tracking, reassembly and L7 parsing, but evaluating
//!   every subscription separately with its data in a `Vec<Box<dyn Any>>`.
#![forbid(unsafe_code)]

pub mod interp;
pub mod machine;
pub mod naive;

pub use machine::{ConnFacts, SubMachine, SubStatic};

use std::any::Any;
use weir_runtime::api::{Ctx, Event, FilterResult};

/// The type-erased adapters `#[weir::app]` emits beside the compiled
/// pipeline. `k` indexes the IR's tracked items, `i` its filter functions,
/// `sub` its subscriptions; `args` are the values of the data parameters in
/// order (packet-level and `FilterStr` parameters come from `ev`).
pub trait Dynamic: 'static {
    /// The application's IR, serialised.
    const IR_JSON: &'static str;
    fn new_data(k: usize, ctx: &Ctx<'_>) -> Option<Box<dyn Any>>;
    fn update_data(k: usize, v: &mut dyn Any, ctx: &Ctx<'_>, ev: &Event<'_>);
    fn sync_data(k: usize, v: &mut dyn Any, ctx: &Ctx<'_>);
    fn call_filter(i: usize, args: &[&dyn Any], state: Option<&mut dyn Any>, ev: &Event<'_>) -> FilterResult;
    /// Invokes the callback; `(keep, Debug of the arguments)`, or `None`
    /// when an argument is missing.
    fn call(sub: u32, args: &[&dyn Any], state: Option<&mut dyn Any>, ev: &Event<'_>) -> Option<(bool, String)>;
}
