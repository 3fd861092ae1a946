//! weir: expressive, high-performance network traffic analysis.
//!
//! This is the user-facing crate. It re-exports the layers (`wire`,
//! `conntrack`, `runtime`) and hosts the built-in applications behind the
//! `weir` command (for now the connection logger of `weir log`).
#![forbid(unsafe_code)]

/// The types user code sees (defined in `weir-runtime`, below every executor).
pub mod api {
    pub use weir_runtime::api::*;
}
pub mod app;
#[doc(hidden)]
pub mod __private;
pub mod connlog;
pub mod datatypes;
pub mod log;

pub use api::{Ctx, DataType, Event, FilterResult, L7Segment};
pub use weir_macros::{app, callback, callback_fn, datatype, datatype_fn, filter, filter_fn};
#[doc(hidden)]
pub use weir_macros::__app_final;

/// One step of `#[weir::app(include(...))]`'s collection chain: calls the
/// next item's declaration macro, which appends its declaration and calls
/// back; the last step hands everything to `__app_final!` (hidden).
#[doc(hidden)]
#[macro_export]
macro_rules! __app_step {
    ([], [$($acc:tt)*]) => { $crate::__app_final! { $($acc)* } };
    ([{ [$($pre:tt)*] $next:path } $($rest:tt)*], [$($acc:tt)*]) => {
        $next! { $crate::__app_step, [$($pre)*], [$($rest)*], [$($acc)*] }
    };
}

// Generated code and built-ins say `::weir::...`, also inside this crate.
extern crate self as weir;

pub use weir_conntrack as conntrack;
pub use weir_filter as filter;
pub use weir_runtime as runtime;
pub use weir_wire as wire;

/// Everything a subscription module usually needs: `use weir::prelude::*;`.
pub mod prelude {
    pub use crate::api::{Ctx, DataType, Event, FilterResult, L7Segment};
    pub use crate::datatypes::*;
    pub use crate::{callback, callback_fn, datatype, datatype_fn, filter, filter_fn};
    pub use weir_conntrack::{Direction, EndReason, L4Pdu, Timestamp, Transition};
    pub use weir_protocols::registry::{AnySession, AnySessionRef, Protocol};
}
