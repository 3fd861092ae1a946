//! What an application declares, before any analysis: data types, user
//! filter functions and subscriptions. The proc macros produce these from
//! the user's items; built-in data types are declared the same way
//! ([`crate::builtins`]).

use serde::{Deserialize, Serialize};
use weir_conntrack::Transition;
use weir_protocols::registry::Protocol;

/// How a data type accumulates.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Level {
    /// Known from the first packet and never changes (`FiveTuple`, `StartTime`).
    Static,
    /// Accumulated over the whole connection (`ConnRecord`, `PktCount`);
    /// complete at `L4Terminated`, readable earlier by streaming callbacks.
    Connection,
    /// One value per L7 session of its protocols (`TlsHandshake`, `DnsTransaction`).
    Session,
    /// One value per packet or segment (packet-level subscriptions).
    Packet,
}

/// A data type: built-in or `#[datatype]`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataTypeSpec {
    /// The type as written (`TlsHandshake`, `my_mod::FeatureChunk`).
    pub name: String,
    pub level: Level,
    /// The earliest transition at which a value is complete and can be delivered.
    pub complete_at: Transition,
    /// Transitions at which its update methods run (`#[datatype_fn(on = ...)]`).
    pub updates: Vec<Transition>,
    /// For `Session` data: the protocols whose sessions it is built from.
    pub protocols: Vec<Protocol>,
}

/// A user-defined filter predicate (`#[filter]` / `#[filter_fn]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilterFnSpec {
    /// The name used in filter text.
    pub name: String,
    /// Where it runs first (its verdict can be known from then on).
    pub on: Transition,
    /// Later transitions at which a stateful filter is asked again while
    /// undecided (one `#[filter_fn]` method per transition).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<Transition>,
    /// A struct with per-connection state (one instance per connection).
    pub stateful: bool,
    /// Data types it reads.
    pub data: Vec<String>,
}

impl FilterFnSpec {
    /// Every transition at which it is asked, `on` first.
    pub fn transitions(&self) -> impl Iterator<Item = Transition> + '_ {
        std::iter::once(self.on).chain(self.also.iter().copied())
    }
}

/// The callback of a subscription.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackSpec {
    /// Function or struct name.
    pub name: String,
    /// A struct with one instance per connection.
    pub stateful: bool,
    /// Invoked repeatedly (returns `bool`; `false` unsubscribes the connection).
    pub streaming: bool,
    /// The transition named by the user (`on = ...`); inferred when `None`.
    pub on: Option<Transition>,
    /// Data types of its parameters, in order.
    pub params: Vec<String>,
    /// A periodic streaming callback: invoked only when the period has
    /// passed since it was matched or last invoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<Every>,
}

/// The period of a periodic streaming callback.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Every {
    /// Every N events of its transition.
    Events(u64),
    /// At the first event at least this many nanoseconds of packet time later.
    Nanos(u64),
}

/// One subscription: filter + data + callback.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionSpec {
    /// Unique within the application (the callback's path, usually).
    pub name: String,
    /// Filter text; empty = every connection.
    pub filter: String,
    pub callback: CallbackSpec,
}

/// Everything one application declares.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppSpec {
    pub datatypes: Vec<DataTypeSpec>,
    pub filters: Vec<FilterFnSpec>,
    pub subscriptions: Vec<SubscriptionSpec>,
}
