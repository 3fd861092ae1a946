//! The subscription IR (`../shared/DESIGN.md` §3): every subscription of an
//! application compiled into
//!
//! - **subscriptions**: filter (normal form), data, callback, and the
//!   transition at which the callback is invoked (inferred or named);
//! - **tracked data**: each data type, stateful filter and stateful
//!   callback once per connection, with the subscriptions that need it;
//! - **action trees**: one per transition at which a filter can be decided.
//!   Each is a predicate trie over every subscription's filter cut at that
//!   transition's stage; a node where a subscription's (cut) filter ends
//!   carries that subscription's [`Actions`]: deliver now, or keep it active
//!   with the framework work (packets, reassembly, probing, parsing,
//!   termination) and data it still needs.
//!
//! At runtime a transition with a tree evaluates it once, replaces the
//! connection's actions by the union of the matched nodes' actions, and
//! invokes the callbacks in their `deliver` lists — each non-repeated
//! subscription at most once per connection (a delivered bit). At every
//! transition, subscriptions in the `waiting` set whose delivery transition
//! (data ready, or each occurrence when repeated or streaming) it is are
//! invoked too; `pending` ones never are. So a subscription is delivered at
//! the first decision point where one conjunction of its filter matched and
//! its data are complete; termination has a tree when anything can still be
//! pending, deciding it with everything known. Other transitions only follow
//! the stored actions. A connection with no action left is dropped.
//!
//! The IR is plain data (serde), printable ([`Ir`]'s `Display`), and read by
//! both executors: the code generator and the reference interpreter.
#![forbid(unsafe_code)]

pub mod builtins;
pub mod compile;
pub mod ir;
pub mod spec;

pub use compile::{compile, needs, IrError, IrErrorKind};
pub use ir::{ActionTree, Actions, Framework, Ir, SubscriptionIr, TrackedData};
pub use spec::{AppSpec, CallbackSpec, DataTypeSpec, Every, FilterFnSpec, Level, SubscriptionSpec};
