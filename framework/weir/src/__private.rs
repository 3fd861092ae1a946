//! What generated code refers to (`::weir::__private::...`). Not a public
//! API: it changes with the code generator.

pub use crate::app::compiled::{Acc, Bits, Compiled, Generated, Period, SubInfo, TreeFacts};
pub use crate::app::trace::Trace;
pub use crate::FilterResult;
pub use weir_interp::Dynamic;
pub use std::sync::LazyLock;
pub use weir_conntrack::{L4Pdu, Transition};
pub use weir_filter::Verdict;
pub use weir_ir::Ir;

use weir_filter::trie::{Branch, Node};

/// The IR's trees, read once from the embedded JSON (literals and set
/// matchers are evaluated from it; the tree structure is generated code).
pub struct Tables {
    ir: Ir,
}

impl Tables {
    pub fn new(json: &str) -> Tables {
        // The JSON is the code generator's own output for this very build.
        let ir = serde_json::from_str(json).unwrap_or_else(|e| panic!("weir: the embedded IR does not parse ({e}); rebuild the application"));
        Tables { ir }
    }
    pub fn ir(&self) -> &Ir {
        &self.ir
    }
}

#[inline]
pub fn tree_nodes(t: &Tables, tree: usize) -> &[Node] {
    t.ir.trees.get(tree).map_or(&[], |t| t.trie.nodes())
}

/// The verdict of a node's literal (the root has none).
#[inline]
pub fn node_literal(n: &Node, f: &TreeFacts<'_>) -> Verdict {
    n.literal.as_ref().map_or(Verdict::Match, |l| crate::app::compiled::literal(l, f))
}

/// Looks up the set branch `b` of node `n`; returns the verdict of the members not hit.
#[inline]
pub fn set_at(n: &Node, b: usize, f: &TreeFacts<'_>, hits: &mut Vec<u32>) -> Verdict {
    match n.children.get(b) {
        Some(Branch::Set(g)) => crate::app::compiled::set_lookup(g, f, hits),
        _ => Verdict::NoMatch,
    }
}

#[inline]
pub fn verdict(r: FilterResult) -> Verdict {
    match r {
        FilterResult::Accept => Verdict::Match,
        FilterResult::Drop => Verdict::NoMatch,
        FilterResult::Continue => Verdict::Undecided,
    }
}
