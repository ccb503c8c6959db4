//! Names of the generated locals.
//!
//! Every generated identifier uses `Span::mixed_site()`: invisible to the user's
//! closures (a local called `normalize` cannot shadow the user's function of that
//! name), and free to read like hand-written code in `cargo expand`.

use crate::graph::{Graph, NodeId, NodeKind};
use proc_macro2::{Ident, Span};
use std::collections::HashSet;

/// Local names for the values of one job.
pub struct Names {
    functions: Vec<Option<Ident>>,
    batches: Vec<Ident>,
    types: Vec<Ident>,
    fields: Vec<Option<Ident>>,
    codecs: Vec<Option<Ident>>,
    initials: Vec<Option<Ident>>,
    pairs: Vec<Vec<Ident>>,
}

/// A span located at the user's `span` (for error messages) but resolving
/// names at the macro's call site, where the generated locals (`ctx`, `x`,
/// `out`) are bound. The two differ when `stream_job!` is invoked from another
/// macro: the user's tokens then carry that macro's caller's hygiene.
pub fn at(span: Span) -> Span {
    Span::call_site().located_at(span)
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
        let mut used = HashSet::new();
        let mut unique = |base: String| unique_in(&mut used, base);
        // The job state's fields are a namespace of their own.
        let mut used_fields = HashSet::new();
        let mut unnamed: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        let mut functions = Vec::new();
        let mut batches = Vec::new();
        let mut types: Vec<Ident> = Vec::new();
        let mut fields = Vec::new();
        let mut codecs = Vec::new();
        let mut initials = Vec::new();
        let mut pairs = Vec::new();
        for (id, node) in graph.nodes.iter().enumerate() {
            let stream = match (&node.kind, &node.name) {
                (NodeKind::Input(port), _) => graph.inputs[*port].name.to_string(),
                (_, Some(name)) => name.to_string(),
                _ => format!("stream_{id}"),
            };
            // `print` binds its printer, the file outputs their writer, and
            // an operator whose witness is given default arguments (`union`
            // its function) what that witness returns, like an operator's
            // function.
            let function = node
                .call()
                .filter(|c| !c.functions.is_empty() || c.desc.sink.is_some() || !c.signature.defaults.is_empty())
                .map(|call| {
                    ident(&unique(format!(
                        "{}_line_{}",
                        call.desc.name,
                        call.method.span().start().line
                    )))
                });
            let line = node.call().map_or(0, |call| call.method.span().start().line);
            let kept = node.call().filter(|c| c.desc.keeps_state());
            // The stable id of the operator's state, which a checkpoint is
            // keyed by: its stream's name, else the operator and its rank
            // among the unnamed operators of that name (`window_2`). Not a
            // line number: code added above it must not orphan its state.
            let field = kept.map(|call| match &node.name {
                Some(name) => unique_in(&mut used_fields, name.to_string()),
                None => {
                    let rank = unnamed.entry(call.desc.name).or_insert(0);
                    *rank += 1;
                    unique_in(&mut used_fields, format!("{}_{rank}", call.desc.name))
                }
            });
            codecs.push(field.as_ref().map(|field| ident(&unique(format!("{field}_codec")))));
            fields.push(field.map(|field| Ident::new(&field, Span::call_site())));
            let has_initial = kept.is_some_and(|c| !c.values.is_empty());
            initials.push(has_initial.then(|| ident(&unique(format!("initial_state_line_{line}")))));
            let sides = node
                .call()
                .filter(|c| c.desc.takes_pairs)
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
            fields,
            codecs,
            initials,
            pairs,
        }
    }

    /// The bound function(s) of an operator node (an output's printer or writer).
    pub fn function(&self, node: NodeId) -> &Ident {
        self.bound(node).expect("the operator takes a function")
    }

    /// What the typing witness binds for an operator node, if anything.
    pub fn bound(&self, node: NodeId) -> Option<&Ident> {
        self.functions[node].as_ref()
    }

    /// The batch variable of a materialized node.
    pub fn batch(&self, node: NodeId) -> &Ident {
        &self.batches[node]
    }

    /// The job state's field of a window or stateful operator node; its name
    /// is the state's stable id.
    pub fn field(&self, node: NodeId) -> &Ident {
        self.fields[node].as_ref().expect("the operator keeps state")
    }

    /// The codec of a window or stateful operator node's state.
    pub fn codec(&self, node: NodeId) -> &Ident {
        self.codecs[node].as_ref().expect("the operator keeps state")
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

/// `base`, or `base_2`, `base_3`... : the first not in `used`, then recorded.
fn unique_in(used: &mut HashSet<String>, base: String) -> String {
    let mut name = base.clone();
    let mut n = 2;
    while !used.insert(name.clone()) {
        name = format!("{base}_{n}");
        n += 1;
    }
    name
}
