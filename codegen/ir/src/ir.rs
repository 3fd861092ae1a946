//! The IR's data types and its readable printer.

use crate::spec::{CallbackSpec, DataTypeSpec, FilterFnSpec};
use serde::{Deserialize, Serialize};
use std::fmt;
use weir_conntrack::Transition;
use weir_filter::dnf::Dnf;
use weir_filter::trie::{Branch, PredicateTrie};
use weir_filter::typed::Stage;

/// Framework work a connection still needs, as bits.
#[derive(Copy, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Framework(pub u8);

impl Framework {
    pub const NONE: Framework = Framework(0);
    /// Deliver every packet (`L4InConn`).
    pub const PACKETS: Framework = Framework(1);
    /// Deliver `L4EndHandshake`.
    pub const HANDSHAKE: Framework = Framework(2);
    /// Reassemble and deliver `L4InStream` (probing and parsing reassemble
    /// too, without this bit, while the parser wants data).
    pub const STREAM: Framework = Framework(4);
    /// Identify the L7 protocol (`L7OnDisc`).
    pub const PROBE: Framework = Framework(8);
    /// Parse L7 sessions (`L7InHeaders` .. `L7InPayload`).
    pub const PARSE: Framework = Framework(16);
    /// Deliver `L4Terminated`.
    pub const TERMINATED: Framework = Framework(32);

    const NAMES: [(Framework, &'static str); 6] = [
        (Self::PACKETS, "packets"),
        (Self::HANDSHAKE, "handshake"),
        (Self::STREAM, "stream"),
        (Self::PROBE, "probe"),
        (Self::PARSE, "parse"),
        (Self::TERMINATED, "terminated"),
    ];

    pub const fn union(self, o: Framework) -> Framework {
        Framework(self.0 | o.0)
    }
    pub const fn contains(self, o: Framework) -> bool {
        self.0 & o.0 == o.0
    }
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Probing or parsing is needed.
    pub const fn l7(self) -> bool {
        self.0 & (Self::PROBE.0 | Self::PARSE.0) != 0
    }

    /// The tracker interest this work needs; probing and parsing read the
    /// stream while the parser wants it (`l7_wants`) and finish their
    /// sessions when the connection ends.
    pub fn interest(self, l7_wants: bool) -> weir_conntrack::Interest {
        use weir_conntrack::Interest;
        let mut i = Interest::NONE;
        for (b, x) in [(Self::PACKETS, Interest::IN_CONN), (Self::HANDSHAKE, Interest::HANDSHAKE), (Self::TERMINATED, Interest::TERMINATED), (Self::STREAM, Interest::STREAM)] {
            if self.contains(b) {
                i |= x;
            }
        }
        if self.l7() && l7_wants {
            i |= Interest::STREAM | Interest::TERMINATED;
        }
        i
    }

    /// What the framework must do for a connection to reach transition `t`.
    pub fn to_reach(t: Transition) -> Framework {
        match t {
            Transition::L4FirstPacket => Self::NONE,
            Transition::L4InConn => Self::PACKETS,
            Transition::L4EndHandshake => Self::HANDSHAKE,
            Transition::L4InStream => Self::STREAM,
            // Probing and parsing read the reassembled stream themselves.
            Transition::L7OnDisc => Self::PROBE,
            Transition::L7InHeaders | Transition::L7EndHeaders | Transition::L7EndSession | Transition::L7InPayload => {
                Self::PROBE.union(Self::PARSE)
            }
            Transition::L4Terminated => Self::TERMINATED,
        }
    }
}

impl fmt::Debug for Framework {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = Self::NAMES.iter().filter(|(b, _)| self.contains(*b)).map(|(_, n)| *n).collect();
        write!(f, "[{}]", names.join(" "))
    }
}

/// What one node of an action tree asks for (the union over the
/// subscriptions whose filter, cut at the tree's stage, ends there).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actions {
    pub framework: Framework,
    /// Subscriptions whose filter is still undecided (never delivered from here).
    pub pending: Vec<u32>,
    /// Subscriptions whose filter matched and that wait for their delivery
    /// transition (their data), or are delivered at each occurrence of it.
    pub waiting: Vec<u32>,
    /// Subscriptions whose callback is invoked at this transition (at most
    /// once per connection unless repeated).
    pub deliver: Vec<u32>,
    /// Tracked items (indices into [`Ir::tracked`]) the connection must hold
    /// from now on; each is constructed the first time it is needed.
    pub tracked: Vec<u32>,
}

impl Actions {
    pub fn is_empty(&self) -> bool {
        self.framework.is_empty() && self.pending.is_empty() && self.waiting.is_empty() && self.deliver.is_empty() && self.tracked.is_empty()
    }
    pub fn merge(&mut self, o: &Actions) {
        self.framework = self.framework.union(o.framework);
        for (a, b) in [(&mut self.pending, &o.pending), (&mut self.waiting, &o.waiting), (&mut self.deliver, &o.deliver), (&mut self.tracked, &o.tracked)] {
            a.extend(b);
            a.sort_unstable();
            a.dedup();
        }
    }
}

/// One subscription after analysis.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SubscriptionIr {
    pub id: u32,
    pub name: String,
    pub filter_source: String,
    pub filter: Dnf,
    /// Where the callback is invoked: the named transition, or the earliest
    /// at which its data are complete and some conjunction can be decided.
    pub deliver_at: Transition,
    /// When its data are complete (the named transition, if any): a matched
    /// subscription is delivered at the first decision point at or after it.
    pub data_ready: Transition,
    /// Invoked at every occurrence of `deliver_at` (per packet, segment or
    /// session) rather than once.
    pub repeated: bool,
    pub callback: CallbackSpec,
    /// Tracked items the callback reads (data types, then its own state if stateful).
    pub tracked: Vec<u32>,
}

/// What a tracked item is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TrackedKind {
    Data(DataTypeSpec),
    StatefulFilter(FilterFnSpec),
    StatefulCallback(String),
}

/// One item held at most once per connection.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackedData {
    pub id: u32,
    pub name: String,
    pub kind: TrackedKind,
    /// Subscriptions that need it.
    pub used_by: Vec<u32>,
    /// Transitions at which it is updated.
    pub updates: Vec<Transition>,
}

/// The action tree of one transition.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ActionTree {
    pub transition: Transition,
    /// The latest filter stage decided here.
    pub stage: Stage,
    /// Pattern `2 j` is subscription `j`'s filter when fully decided by this
    /// stage; pattern `2 j + 1` its prefix when more remains to be decided.
    pub trie: PredicateTrie,
    /// Actions per trie node (empty where no pattern ends).
    pub node_actions: Vec<Actions>,
}

/// The whole application.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Ir {
    pub subscriptions: Vec<SubscriptionIr>,
    pub tracked: Vec<TrackedData>,
    pub filter_fns: Vec<FilterFnSpec>,
    /// In transition order; a transition without a tree only follows stored actions.
    pub trees: Vec<ActionTree>,
    /// Files read by `file=` filters (a build tracks them).
    pub files: Vec<std::path::PathBuf>,
    /// Time spent building the IR, microseconds (benchmarks report it beside rustc time).
    pub build_micros: u64,
}

impl Ir {
    /// Writes `<name>.ir.json` and `<name>.ir.txt` (the readable form) into
    /// `dir`, creating it: what `WEIR_DUMP_IR=DIR` asks of a build. Returns
    /// the paths written.
    pub fn dump(&self, dir: &std::path::Path, name: &str) -> std::io::Result<[std::path::PathBuf; 2]> {
        std::fs::create_dir_all(dir)?;
        let json = dir.join(format!("{name}.ir.json"));
        let text = dir.join(format!("{name}.ir.txt"));
        let body = serde_json::to_string_pretty(self).map_err(std::io::Error::other)?;
        std::fs::write(&json, body + "\n")?;
        std::fs::write(&text, format!("# IR build time: {} µs\n{self}", self.build_micros))?;
        Ok([json, text])
    }

    pub fn tree(&self, t: Transition) -> Option<&ActionTree> {
        self.trees.iter().find(|x| x.transition == t)
    }
    /// The union of every action any tree can ask for.
    pub fn framework_union(&self) -> Framework {
        self.trees.iter().flat_map(|t| &t.node_actions).fold(Framework::NONE, |a, b| a.union(b.framework))
    }
}

fn list(v: &[u32], prefix: &str) -> String {
    let s: Vec<String> = v.iter().map(|i| format!("{prefix}{i}")).collect();
    s.join(" ")
}

impl fmt::Display for Actions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::new();
        if !self.deliver.is_empty() {
            parts.push(format!("deliver {}", list(&self.deliver, "s")));
        }
        if !self.waiting.is_empty() {
            parts.push(format!("waiting {}", list(&self.waiting, "s")));
        }
        if !self.pending.is_empty() {
            parts.push(format!("pending {}", list(&self.pending, "s")));
        }
        if !self.framework.is_empty() {
            parts.push(format!("{:?}", self.framework));
        }
        if !self.tracked.is_empty() {
            parts.push(format!("track {}", list(&self.tracked, "d")));
        }
        f.write_str(&parts.join(", "))
    }
}

impl fmt::Display for Ir {
    /// A stable, readable form (the snapshot tests pin it).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "subscriptions:")?;
        for s in &self.subscriptions {
            writeln!(
                f,
                "  s{} {}: deliver from {}{}{}",
                s.id,
                s.name,
                s.deliver_at,
                if s.repeated { " (each)" } else { "" },
                if s.callback.streaming { " (streaming)" } else { "" }
            )?;
            writeln!(f, "    filter: {}", if s.filter_source.is_empty() { "(all)" } else { &s.filter_source })?;
            writeln!(f, "    data: {}", list(&s.tracked, "d"))?;
        }
        writeln!(f, "tracked:")?;
        for d in &self.tracked {
            let kind = match &d.kind {
                TrackedKind::Data(_) => "data",
                TrackedKind::StatefulFilter(_) => "stateful filter",
                TrackedKind::StatefulCallback(_) => "stateful callback",
            };
            let ups: Vec<&str> = d.updates.iter().map(|t| t.name()).collect();
            writeln!(f, "  d{} {} ({kind}) used by {}{}", d.id, d.name, list(&d.used_by, "s"), if ups.is_empty() { String::new() } else { format!(", updated at {}", ups.join(" ")) })?;
        }
        for t in &self.trees {
            writeln!(f, "tree {} (stage {}):", t.transition, t.stage.name())?;
            write_tree(f, t, 0, 2)?;
        }
        Ok(())
    }
}

fn write_tree(f: &mut fmt::Formatter<'_>, t: &ActionTree, n: usize, depth: usize) -> fmt::Result {
    let node = &t.trie.nodes()[n];
    let pad = " ".repeat(depth);
    let label = node.literal.as_ref().map_or_else(|| "root".to_string(), |l| l.to_string());
    let acts = &t.node_actions[n];
    let chain = if node.exclusive { "  {else-if}" } else { "" };
    if acts.is_empty() {
        writeln!(f, "{pad}{label}{chain}")?;
    } else {
        writeln!(f, "{pad}{label}  => {acts}{chain}")?;
    }
    for b in &node.children {
        match b {
            Branch::One(c) => write_tree(f, t, *c, depth + 2)?,
            Branch::Set(g) => {
                writeln!(f, "{pad}  set {} ({}, {} members)", g.field.name, g.kind.name(), g.members.len())?;
                for &m in &g.members {
                    write_tree(f, t, m, depth + 4)?;
                }
            }
        }
    }
    Ok(())
}
