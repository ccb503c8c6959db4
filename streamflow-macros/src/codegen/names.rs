//! Names of the generated locals.
//!
//! Every generated identifier uses `Span::mixed_site()`: invisible to the user's
//! closures (a local called `normalize` cannot shadow the user's function of that
//! name), and free to read like hand-written code in `cargo expand`.

use crate::graph::{Graph, NodeId, NodeKind};
use crate::ops::Op;
use proc_macro2::{Ident, Span};

/// Local names for the values of one job.
pub struct Names {
    functions: Vec<Option<Ident>>,
    batches: Vec<Ident>,
    types: Vec<Ident>,
    states: Vec<Option<Ident>>,
    initials: Vec<Option<Ident>>,
    pairs: Vec<Vec<Ident>>,
}

/// A generated identifier.
pub fn ident(name: &str) -> Ident {
    Ident::new(name, Span::mixed_site())
}

impl Names {
    /// Names every node of `graph` (`user`: a span of the job's own tokens): functions after their operator and line
    /// (`map_line_12`), batches and type witnesses after the stream's name when
    /// it has one.
    pub fn new(graph: &Graph, user: Span) -> Names {
        let mut used = std::collections::HashSet::new();
        let mut unique = |base: String| {
            let mut name = base.clone();
            let mut n = 2;
            while !used.insert(name.clone()) {
                name = format!("{base}_{n}");
                n += 1;
            }
            name
        };
        let mut functions = Vec::new();
        let mut batches = Vec::new();
        let mut types: Vec<Ident> = Vec::new();
        let mut states = Vec::new();
        let mut initials = Vec::new();
        let mut pairs = Vec::new();
        for (id, node) in graph.nodes.iter().enumerate() {
            let stream = match (&node.kind, &node.name) {
                (NodeKind::Input(port), _) => graph.inputs[*port].name.to_string(),
                (_, Some(name)) => name.to_string(),
                _ => format!("stream_{id}"),
            };
            // `print` binds its element formatter, and the file outputs their
            // batch writer, like an operator's function.
            let binds_function =
                |c: &&crate::graph::OpCall| !c.functions.is_empty() || c.desc.op == Op::Print || c.desc.writes_files();
            let function = node.call().filter(binds_function).map(|call| {
                ident(&unique(format!(
                    "{}_line_{}",
                    call.desc.name,
                    call.method.span().start().line
                )))
            });
            let line = node.call().map_or(0, |call| call.method.span().start().line);
            let keeps_state = node
                .call()
                .is_some_and(|c| c.desc.is_window() || c.desc.is_stateful() || c.desc.writes_files());
            states.push(keeps_state.then(|| {
                let op = node.call().map_or("state", |c| c.desc.name);
                ident(&unique(format!("{op}_line_{line}_state")))
            }));
            let has_initial = node
                .call()
                .is_some_and(|c| c.desc.is_stateful() && !c.values.is_empty());
            initials.push(has_initial.then(|| ident(&unique(format!("initial_state_line_{line}")))));
            let sides = node
                .call()
                .filter(|c| c.desc.op.takes_pairs())
                .map_or(0, |_| node.inputs.len());
            pairs.push(
                (0..sides)
                    .map(|side| {
                        let op = node.call().map_or("op", |c| c.desc.name);
                        let which = if side == 0 { "pairs" } else { "right_pairs" };
                        ident(&unique(format!("{op}_line_{line}_{which}")))
                    })
                    .collect(),
            );
            functions.push(function);
            batches.push(ident(&unique(stream.clone())));
            // The hygiene of the user's tokens, unlike the other locals: a
            // witness is re-spanned at the operator or port it is checked for
            // (see `Names::witness_at`), and must resolve there too.
            types.push(Ident::new(&unique(format!("{stream}_type")), user));
        }
        Names {
            functions,
            batches,
            types,
            states,
            initials,
            pairs,
        }
    }

    /// The bound function(s) of an operator node.
    pub fn function(&self, node: NodeId) -> &Ident {
        self.functions[node].as_ref().expect("the operator takes a function")
    }

    /// The batch variable of a materialized node.
    pub fn batch(&self, node: NodeId) -> &Ident {
        &self.batches[node]
    }

    /// The state object of a window or stateful operator node.
    pub fn state(&self, node: NodeId) -> &Ident {
        self.states[node].as_ref().expect("the operator keeps state")
    }

    /// The conversions of a keyed operator's inputs into pairs, one per input
    /// (empty for other nodes).
    pub fn pairs(&self, node: NodeId) -> &[Ident] {
        &self.pairs[node]
    }

    /// The initial state value of a stateful operator node.
    pub fn initial(&self, node: NodeId) -> Option<&Ident> {
        self.initials[node].as_ref()
    }

    /// The type witness of a node's stream.
    pub fn witness(&self, node: NodeId) -> &Ident {
        &self.types[node]
    }

    /// The type witness of a node's stream, spanned at `span`, so that an error
    /// about its type points at the user's tokens there.
    /// `span` must be a span of the job's own tokens: all of them share one
    /// hygiene context (also when a `macro_rules!` passes them on), so the
    /// name resolves to the witness bound with the job name's span, and rustc
    /// can point at the user's code rather than at the whole macro.
    pub fn witness_at(&self, node: NodeId, span: Span) -> Ident {
        Ident::new(&self.types[node].to_string(), span)
    }
}
