//! Invocation traces: `(connection, callback, transition, Debug of the
//! arguments)` for every callback invocation, the record both executors
//! are compared on (`docs/SEMANTICS.md`).

use crate::api::Ctx;
use serde::Serialize;
use weir_conntrack::Transition;

/// One callback invocation.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Invocation {
    /// The connection's five-tuple (originator first) and its first packet time.
    pub conn: String,
    pub callback: String,
    pub transition: String,
    pub args: String,
}

/// Invocations in the order they happened (on one core).
#[derive(Clone, Debug, Default)]
pub struct Trace {
    pub invocations: Vec<Invocation>,
}

pub use weir_runtime::api::conn_key;

impl Trace {
    pub fn record(&mut self, ctx: &Ctx<'_>, callback: &str, t: Transition, args: String) {
        self.invocations.push(Invocation { conn: conn_key(ctx), callback: callback.to_string(), transition: t.name().to_string(), args });
    }

    /// One JSON object per line.
    pub fn to_jsonl(&self) -> String {
        let mut s = String::new();
        for i in &self.invocations {
            s.push_str(&serde_json::to_string(i).unwrap_or_default());
            s.push('\n');
        }
        s
    }
}
