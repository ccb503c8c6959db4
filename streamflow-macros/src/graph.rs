//! Pass 2, graph: the job as a DAG of operators.
//!
//! `let` bindings name streams; a stream may feed several operators (a branch)
//! and some operators read two streams (union, joins, cogroup, transform_with).
//! Nodes are created in dependency order, so their indices are a topological
//! order. Problems found here (unknown names, wrong argument counts) are
//! recorded and the rest of the job is still built, so later passes can report
//! their own errors too.

use crate::diag::Diagnostics;
use crate::duration::parse_duration;
use crate::ops::{self, Kind, OpDesc, Param, Signature};
use crate::parse::{Item, JobDef};
use crate::syntax::strip;
use proc_macro2::Span;
use std::collections::{HashMap, HashSet};
use syn::spanned::Spanned;
use syn::{Expr, ExprMethodCall, Ident, Type};

/// Index of a node in [`Graph::nodes`].
pub type NodeId = usize;

/// The job as a dataflow graph.
pub struct Graph {
    /// Every stream-producing or stream-consuming node, in topological order.
    pub nodes: Vec<Node>,
    /// The input ports, in declaration order.
    pub inputs: Vec<InputPort>,
    /// The outputs (typed ports and output operators), in declaration order.
    pub outputs: Vec<OutputUse>,
    /// The batch interval, once read.
    pub interval_ms: Option<u64>,
    /// Named streams (inputs and `let`s), in declaration order.
    pub names: Vec<(Ident, NodeId)>,
    /// Nodes named in an expression that could not be built: they count as
    /// used, so one broken operator does not also report its inputs unused.
    pub mentioned_in_broken: Vec<NodeId>,
    /// How many outputs the job declares, including ones that could not be built.
    pub declared_outputs: usize,
}

/// One node of the graph.
pub struct Node {
    /// Its inputs (empty for an input port).
    pub inputs: Vec<NodeId>,
    /// What it is.
    pub kind: NodeKind,
    /// The `let` name of the stream it produces, if it is the end of a `let`.
    pub name: Option<Ident>,
}

/// What a node is.
pub enum NodeKind {
    /// An input port (index into [`Graph::inputs`]).
    Input(usize),
    /// An operator call (boxed: it is large, and inputs are plain indices).
    Op(Box<OpCall>),
}

/// An operator call with its arguments sorted by kind.
pub struct OpCall {
    /// The operator.
    pub desc: &'static OpDesc,
    /// The method name as written (its span is the operator's).
    pub method: Ident,
    /// The span of the closing parenthesis: the call ends there.
    pub close: Span,
    /// Function arguments, in order.
    pub functions: Vec<Expr>,
    /// Count arguments for the typing witness, in order (`print(20)`).
    pub counts: Vec<Expr>,
    /// The number of partitions, when the call names one (`repartition(4)`).
    pub partitions: Option<Expr>,
    /// Window and slide durations in milliseconds, with their spans.
    pub durations: Vec<(u64, Span)>,
    /// Values evaluated once when the job is built (initial states).
    pub values: Vec<Expr>,
    /// The idle timeout of `map_with_state`, in milliseconds.
    pub timeout: Option<(u64, Span)>,
    /// The signature the call matched.
    pub signature: &'static Signature,
    /// The spans of the stream arguments (`other` in `join(other)`).
    pub stream_args: Vec<Span>,
}

/// A typed input port.
pub struct InputPort {
    /// Its name.
    pub name: Ident,
    /// Its element type.
    pub ty: Type,
    /// Its node.
    pub node: NodeId,
    /// How its batches are partitioned, when its declaration says.
    pub partitions: Option<crate::parse::InputSplit>,
}

/// Something that consumes a stream at the end of the job.
#[allow(clippy::large_enum_variant, reason = "a few per job, built once")]
pub enum OutputUse {
    /// `output name: Type = stream;`
    Port {
        /// The port's name.
        name: Ident,
        /// The declared element type.
        ty: Type,
        /// The stream it delivers.
        stream: NodeId,
    },
    /// An output operator (`print`, `foreach_batch`): the node is the operator.
    Sink(NodeId),
}

impl OpCall {
    /// The one function the operator is given, as written: a closure passed
    /// through a `macro_rules!` `$f:expr` arrives wrapped in an invisible
    /// group, which is looked through.
    pub fn only_function(&self) -> Option<&Expr> {
        let [function] = self.functions.as_slice() else {
            return None;
        };
        let mut function = function;
        while let Expr::Group(group) = function {
            function = &group.expr;
        }
        Some(function)
    }
}

impl Node {
    /// The operator call, if the node is one.
    pub fn call(&self) -> Option<&OpCall> {
        match &self.kind {
            NodeKind::Op(call) => Some(call),
            NodeKind::Input(_) => None,
        }
    }
}

struct Builder<'d> {
    graph: Graph,
    scope: HashMap<String, NodeId>,
    /// Names of `let`s whose stream is broken (already reported): using them
    /// is not a second mistake.
    broken_names: HashSet<String>,
    diag: &'d mut Diagnostics,
}

/// Builds the graph of `job`, recording problems in `diag`.
pub fn build(job: &JobDef, diag: &mut Diagnostics) -> Graph {
    let mut builder = Builder {
        graph: Graph {
            nodes: Vec::new(),
            inputs: Vec::new(),
            outputs: Vec::new(),
            interval_ms: None,
            names: Vec::new(),
            mentioned_in_broken: Vec::new(),
            declared_outputs: 0,
        },
        scope: HashMap::new(),
        broken_names: HashSet::new(),
        diag,
    };
    for item in &job.items {
        builder.item(item);
    }
    builder.graph
}

impl Builder<'_> {
    fn item(&mut self, item: &Item) {
        match item {
            Item::BatchInterval { keyword, value } => {
                if self.graph.interval_ms.is_some() {
                    self.diag.error(
                        keyword.span(),
                        "the batch interval is set twice; keep one `batch_interval = ...;`",
                    );
                }
                match parse_duration(value) {
                    Ok(0) => self
                        .diag
                        .error(value.span(), "the batch interval must be longer than 0ms"),
                    Ok(ms) => self.graph.interval_ms = Some(ms),
                    Err(e) => self.diag.push(e),
                }
            }
            Item::Input { name, ty, partitions } => {
                let node = self.add(NodeKind::Input(self.graph.inputs.len()), Vec::new());
                self.graph.inputs.push(InputPort {
                    name: name.clone(),
                    ty: ty.clone(),
                    node,
                    partitions: partitions.clone(),
                });
                self.bind(name, node);
            }
            Item::Let { name, expr } => {
                let Some(node) = self.stream(expr) else {
                    self.broken_names.insert(name.to_string());
                    return;
                };
                {
                    if self.graph.nodes[node].name.is_none()
                        && !matches!(self.graph.nodes[node].kind, NodeKind::Input(_))
                    {
                        self.graph.nodes[node].name = Some(name.clone());
                    }
                    self.bind(name, node);
                }
            }
            Item::Output { name, ty, expr } => {
                self.graph.declared_outputs += 1;
                if let Some(previous) = self.graph.outputs.iter().find_map(|o| match o {
                    OutputUse::Port { name: n, .. } if n == name => Some(n.clone()),
                    _ => None,
                }) {
                    self.diag.error(
                        name.span(),
                        format!("the output port `{previous}` is declared twice; give each port its own name"),
                    );
                }
                if let Some(stream) = self.stream(expr) {
                    self.graph.outputs.push(OutputUse::Port {
                        name: name.clone(),
                        ty: ty.clone(),
                        stream,
                    });
                }
            }
            Item::Statement { expr } => {
                self.graph.declared_outputs += 1;
                self.statement(expr);
            }
        }
    }

    fn statement(&mut self, expr: &Expr) {
        let Expr::MethodCall(call) = strip(expr) else {
            self.diag.error(
                expr.span(),
                "a statement must end in an output operator such as `print()` or `foreach_batch(...)`; \
                 to name a stream, write `let name = ...;`",
            );
            return;
        };
        match ops::lookup(&call.method.to_string()) {
            Some(desc) if desc.kind == Kind::Output => {
                if let Some(node) = self.call(call, desc) {
                    self.graph.outputs.push(OutputUse::Sink(node));
                }
            }
            Some(desc) => {
                self.diag.error(
                    call.method.span(),
                    format!(
                        "the result of `{}` is not used: end the statement with an output operator such as \
                         `.print()`, or bind it with `let name = ...;`",
                        desc.name
                    ),
                );
                self.mention(expr);
            }
            None => {
                self.unknown_operator(&call.method);
                self.mention(expr);
            }
        }
    }

    /// Lowers a stream expression; `None` if it is broken (already reported).
    fn stream(&mut self, expr: &Expr) -> Option<NodeId> {
        match strip(expr) {
            Expr::Path(path) if path.qself.is_none() && path.path.get_ident().is_some() => {
                let ident = path.path.get_ident()?;
                match self.scope.get(&ident.to_string()) {
                    Some(&node) => Some(node),
                    None if self.broken_names.contains(&ident.to_string()) => None,
                    None => {
                        let known: Vec<&str> = self.scope.keys().map(String::as_str).collect();
                        let hint = nearest_name(&ident.to_string(), &known)
                            .map(|n| format!("; did you mean `{n}`?"))
                            .unwrap_or_default();
                        self.diag.error(
                            ident.span(),
                            format!("unknown stream `{ident}`: streams are the job's inputs and its `let` names{hint}"),
                        );
                        None
                    }
                }
            }
            Expr::MethodCall(call) => {
                let name = call.method.to_string();
                match ops::lookup(&name) {
                    Some(desc) if desc.kind == Kind::Output => {
                        self.diag.error(
                            call.method.span(),
                            format!("`{name}` is an output operator: it ends a statement and produces no stream"),
                        );
                        None
                    }
                    Some(desc) => self.call(call, desc),
                    None => {
                        self.unknown_operator(&call.method);
                        self.mention(expr);
                        None
                    }
                }
            }
            other => {
                self.diag.error(
                    other.span(),
                    "expected a stream: the name of an input or a `let`, or a chain of operator calls on one",
                );
                None
            }
        }
    }

    /// Records every stream named inside a broken expression as used.
    fn mention(&mut self, expr: &Expr) {
        struct Names<'a>(&'a HashMap<String, NodeId>, Vec<NodeId>);
        impl<'ast> syn::visit::Visit<'ast> for Names<'_> {
            fn visit_ident(&mut self, ident: &'ast Ident) {
                if let Some(&node) = self.0.get(&ident.to_string()) {
                    self.1.push(node);
                }
            }
        }
        let mut names = Names(&self.scope, Vec::new());
        syn::visit::Visit::visit_expr(&mut names, expr);
        self.graph.mentioned_in_broken.extend(names.1);
    }

    fn unknown_operator(&mut self, method: &Ident) {
        if let Some(instead) = ops::not_needed(&method.to_string()) {
            self.diag.error(method.span(), instead);
            return;
        }
        let hint = ops::nearest(&method.to_string())
            .and_then(ops::lookup)
            .map(|desc| format!("; did you mean `{}`? {}", desc.name, desc.doc))
            .unwrap_or_default();
        self.diag
            .error(method.span(), format!("unknown operator `{method}`{hint}"));
    }

    fn call(&mut self, call: &ExprMethodCall, desc: &'static OpDesc) -> Option<NodeId> {
        let receiver = self.stream(&call.receiver);
        if let Some(turbofish) = &call.turbofish {
            self.diag.error(
                turbofish.span(),
                format!(
                    "`{}` takes no type arguments: types are inferred from the closures",
                    desc.name
                ),
            );
        }
        let args: Vec<&Expr> = call.args.iter().collect();
        let fitting = || desc.signatures.iter().filter(|signature| fits(signature.params, &args));
        // Overloads that differ only in what their function takes are told
        // apart by the closure's arity; a closure of another arity still takes
        // the first that fits, so the checker can say what it should take.
        let chosen = fitting()
            .find(|signature| closures_fit(signature.params, &args))
            .or_else(|| fitting().next());
        let Some(signature) = chosen else {
            let counts = if desc
                .signatures
                .iter()
                .any(|signature| signature.params.len() == args.len())
            {
                "arguments of these kinds".to_owned()
            } else {
                format!("{} argument{}", args.len(), if args.len() == 1 { "" } else { "s" })
            };
            let most = desc.signatures.iter().map(|s| s.params.len()).max().unwrap_or(0);
            let streams = desc
                .signatures
                .iter()
                .filter(|s| s.params.contains(&Param::Stream))
                .count();
            let limit = if streams > 1 && args.len() > most {
                // An operator over any number of streams has one signature per count.
                format!(
                    " (at most {} streams in one call; combine the rest with a second `{}`)",
                    streams + 1,
                    desc.name
                )
            } else {
                String::new()
            };
            self.diag.error(
                call.method.span(),
                format!(
                    "`{}` cannot be called with {counts}; write {}{limit}",
                    desc.name,
                    desc.usage()
                ),
            );
            self.mention(&call.receiver);
            call.args.iter().for_each(|arg| self.mention(arg));
            return None;
        };
        let mut inputs = vec![receiver?];
        let mut op = OpCall {
            desc,
            method: call.method.clone(),
            close: call.paren_token.span.close(),
            functions: Vec::new(),
            counts: Vec::new(),
            partitions: None,
            durations: Vec::new(),
            values: Vec::new(),
            timeout: None,
            signature,
            stream_args: Vec::new(),
        };
        let mut broken = false;
        for (param, arg) in signature.params.iter().zip(args) {
            match param {
                Param::Stream => match self.stream(arg) {
                    Some(node) => {
                        inputs.push(node);
                        op.stream_args.push(arg.span());
                    }
                    None => broken = true,
                },
                Param::Function(..) => op.functions.push(arg.clone()),
                Param::Count(_) => op.counts.push(arg.clone()),
                Param::Partitions => op.partitions = Some(arg.clone()),
                Param::Value(_)
                    if is_count_literal(arg)
                        && desc.signatures.iter().any(|s| s.params.contains(&Param::Partitions)) =>
                {
                    // Spark's `updateStateByKey(f, numPartitions)`: here the
                    // count follows the initial state.
                    let count = quote::ToTokens::to_token_stream(arg).to_string();
                    self.diag.error(
                        arg.span(),
                        format!(
                            "this argument of `{}` is its initial state, not a partition count; for \
                             {count} partitions and no initial state write `[], {count}` (the count follows \
                             the initial state): {}",
                            desc.name,
                            desc.usage()
                        ),
                    );
                    broken = true;
                }
                Param::Value(_) => op.values.push(arg.clone()),
                Param::Duration(_) | Param::Timeout(_) => match parse_duration(arg) {
                    Ok(ms) if matches!(param, Param::Timeout(_)) => op.timeout = Some((ms, arg.span())),
                    Ok(ms) => op.durations.push((ms, arg.span())),
                    Err(e) => {
                        self.diag.push(e);
                        broken = true;
                    }
                },
            }
        }
        if broken {
            return None;
        }
        Some(self.add(NodeKind::Op(Box::new(op)), inputs))
    }

    fn add(&mut self, kind: NodeKind, inputs: Vec<NodeId>) -> NodeId {
        self.graph.nodes.push(Node {
            inputs,
            kind,
            name: None,
        });
        self.graph.nodes.len() - 1
    }

    fn bind(&mut self, name: &Ident, node: NodeId) {
        let key = name.to_string();
        if self.scope.contains_key(&key) {
            self.diag.error(
                name.span(),
                format!("the stream `{name}` is already defined; give each input and `let` its own name"),
            );
            return;
        }
        self.scope.insert(key, node);
        self.graph.names.push((name.clone(), node));
    }
}

/// Whether `args` fit `params`: same count, and duration literals exactly where
/// durations are expected (that is what tells Spark's overloads apart, as in
/// `reduce_by_key_and_window(f, 30s, 10s, 4)` and `(f, f_inv, 30s, 10s)`).
fn fits(params: &[Param], args: &[&Expr]) -> bool {
    params.len() == args.len()
        && params
            .iter()
            .zip(args)
            .all(|(param, arg)| matches!(param, Param::Duration(_) | Param::Timeout(_)) == is_duration_literal(arg))
}

/// Whether every closure literal among `args` takes as many arguments as its
/// parameter passes (function values other than closures always do).
fn closures_fit(params: &[Param], args: &[&Expr]) -> bool {
    params.iter().zip(args).all(|(param, arg)| match (param, strip(arg)) {
        (Param::Function(arity, _), Expr::Closure(closure)) => closure.inputs.len() == *arity,
        _ => true,
    })
}

/// An integer literal that can be a count: `4`, `4usize`.
fn is_count_literal(expr: &Expr) -> bool {
    matches!(strip(expr), Expr::Lit(syn::ExprLit { lit: syn::Lit::Int(int), .. }) if matches!(int.suffix(), "" | "usize"))
}

/// A numeric literal with a suffix that is not a Rust type: `10s`, `500ms`, `1sec`.
fn is_duration_literal(expr: &Expr) -> bool {
    const RUST_SUFFIXES: &[&str] = &[
        "", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize", "f32", "f64",
    ];
    match strip(expr) {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(int),
            ..
        }) => !RUST_SUFFIXES.contains(&int.suffix()),
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Float(float),
            ..
        }) => !RUST_SUFFIXES.contains(&float.suffix()),
        _ => false,
    }
}

fn nearest_name<'a>(name: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (strsim::damerau_levenshtein(name, k), *k))
        .filter(|&(distance, k)| distance <= (k.len() / 3).max(1))
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, k)| k)
}

impl Graph {
    /// For every node, the nodes and outputs that read it, in declaration order.
    pub fn consumers(&self) -> Vec<Vec<Consumer>> {
        let mut consumers = vec![Vec::new(); self.nodes.len()];
        for (id, node) in self.nodes.iter().enumerate() {
            if matches!(node.call(), Some(call) if call.desc.kind == Kind::Output) {
                continue;
            }
            for (slot, &input) in node.inputs.iter().enumerate() {
                consumers[input].push(Consumer::Node { id, slot });
            }
        }
        for (index, output) in self.outputs.iter().enumerate() {
            match output {
                OutputUse::Port { stream, .. } => consumers[*stream].push(Consumer::Output(index)),
                OutputUse::Sink(node) => consumers[self.nodes[*node].inputs[0]].push(Consumer::Output(index)),
            }
        }
        consumers
    }
}

impl Graph {
    /// For every node, how often its stream has a batch, in milliseconds: the
    /// batch interval for inputs, a window's slide (its input's when it names
    /// none) for windows, and the input's for everything else. A stream whose
    /// slide is longer than the batch interval has no batch at the other times.
    pub fn slides(&self) -> Vec<u64> {
        let interval = self.interval_ms.unwrap_or(1);
        let mut slides: Vec<u64> = Vec::with_capacity(self.nodes.len());
        for node in &self.nodes {
            let input = node.inputs.first().map_or(interval, |&i| slides[i]);
            let slide = match node.call() {
                Some(call) if call.desc.is_window() => call.durations.get(1).map_or(input, |&(ms, _)| ms),
                _ => input,
            };
            slides.push(slide);
        }
        slides
    }
}

/// Something that reads a node's stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Consumer {
    /// Input `slot` of operator node `id`.
    Node {
        /// The reading node.
        id: NodeId,
        /// Which of its inputs (0: the receiver, 1: the stream argument).
        slot: usize,
    },
    /// Output `index` of [`Graph::outputs`].
    Output(usize),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::JobFile;

    fn graph(src: &str) -> (Graph, Vec<String>) {
        let file: JobFile = syn::parse_str(src).unwrap();
        let mut diag = Diagnostics::default();
        let graph = build(&file.jobs[0], &mut diag);
        (graph, diag.messages())
    }

    #[test]
    fn builds_branches_and_two_input_operators() {
        let (g, errors) = graph(
            "job J { batch_interval = 1s; input a: (u8, u8); input b: (u8, u8);
               let m = a.map_values(|v| v + 1);
               output j: (u8, (u8, u8)) = m.join(b);
               m.print(); }",
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(g.interval_ms, Some(1000));
        assert_eq!(g.nodes.len(), 5, "two inputs, map_values, join, print");
        assert_eq!(g.nodes[3].inputs, vec![2, 1], "join reads m then b");
        let consumers = g.consumers();
        assert_eq!(
            consumers[2],
            vec![Consumer::Node { id: 3, slot: 0 }, Consumer::Output(1)]
        );
        assert_eq!(g.nodes[2].name.as_ref().unwrap(), "m");
    }

    #[test]
    fn a_broken_let_is_reported_once_not_again_where_it_is_used() {
        let (_, errors) = graph(
            "job J { batch_interval = 1s; input lines: String;
               let pairs = lines.mapp(|l| (l, 1u64));
               pairs.print();
               output o: (String, u64) = pairs.reduce_by_key(|a, b| a + b); }",
        );
        assert_eq!(
            errors,
            ["unknown operator `mapp`; did you mean `map`? `map(f)`: each element `x` becomes `f(x)`."]
        );
    }

    #[test]
    fn sparks_cache_persist_and_checkpoint_say_what_streamflow_does_instead() {
        let (_, errors) = graph(
            "job J { batch_interval = 1s; input lines: String;
               let kept = lines.cache();
               output a: String = kept;
               output b: String = lines.persist();
               output c: String = lines.checkpoint(10s); }",
        );
        assert_eq!(errors.len(), 3, "{errors:?}");
        assert!(
            errors[0].starts_with(
                "`cache` is not needed in streamflow: a stream read by several operators is computed once per batch"
            ),
            "{errors:?}"
        );
        assert!(errors[1].starts_with("`persist` is not needed"), "{errors:?}");
        assert!(
            errors[2].starts_with("`checkpoint` is not a stream operator in streamflow"),
            "{errors:?}"
        );
    }

    #[test]
    fn reports_unknown_names_with_suggestions() {
        let (_, errors) = graph(
            "job J { batch_interval = 1s; input lines: String;
               let words = lines.flatmap(|l| vec![l]);
               output o: String = lnes.map(|l| l); }",
        );
        assert_eq!(
            errors,
            [
                "unknown operator `flatmap`; did you mean `flat_map`? `flat_map(f)`: each element becomes the \
                 elements of the iterable `f(x)`.",
                "unknown stream `lnes`: streams are the job's inputs and its `let` names; did you mean `lines`?",
            ]
        );
    }

    #[test]
    fn reports_duplicates_and_argument_counts() {
        let (_, errors) = graph(
            "job J { batch_interval = 1s; input a: u8; let a = a.map(|x| x);
               output o: u8 = a.reduce_by_key(); }",
        );
        assert_eq!(
            errors,
            [
                "the stream `a` is already defined; give each input and `let` its own name",
                "`reduce_by_key` cannot be called with 0 arguments; write `reduce_by_key(f)` or `reduce_by_key(f, partitions)`",
            ]
        );
    }

    #[test]
    fn union_and_transform_with_read_up_to_eight_streams() {
        let (g, errors) = graph(
            "job J { batch_interval = 1s; input a: u8; input b: u8; input c: u8;
               output u: u8 = a.union(b, c, a, b, c, a, b);
               output t: u8 = a.transform_with(b, c, |a, b, c, time| a);
               output w: u8 = a.union(b, c, a, b, c, a, b, c); }",
        );
        assert_eq!(g.nodes[3].inputs, vec![0, 1, 2, 0, 1, 2, 0, 1]);
        let t = g.nodes[4].call().unwrap();
        assert_eq!(
            (t.signature.runtime, t.signature.witness),
            ("transform_with3", "transform_with3_at_time")
        );
        assert_eq!(
            errors,
            [
                "`union` cannot be called with 8 arguments; write `union(other, ..)` (at most 8 streams in one call; \
              combine the rest with a second `union`)"
            ]
        );
    }

    #[test]
    fn closures_choose_among_overloads_by_their_arity() {
        const ONE: &[Param] = &[Param::Function(1, "x")];
        const TWO: &[Param] = &[Param::Function(2, "x, y")];
        let one: Expr = syn::parse_str("|x| x").unwrap();
        let two: Expr = syn::parse_str("|x, y| x").unwrap();
        let path: Expr = syn::parse_str("make_fn()").unwrap();
        assert!(closures_fit(ONE, &[&one]) && !closures_fit(ONE, &[&two]));
        assert!(closures_fit(TWO, &[&two]) && !closures_fit(TWO, &[&one]));
        assert!(closures_fit(TWO, &[&path]), "a function value fits any arity");
    }

    #[test]
    fn durations_passed_through_macro_rules_are_durations() {
        use proc_macro2::{Delimiter, Group, TokenStream, TokenTree};
        // `$window:literal` arrives wrapped in an invisible group.
        let grouped: TokenStream = TokenTree::Group(Group::new(Delimiter::None, "10s".parse().unwrap())).into();
        let expr: Expr = syn::parse2(grouped).unwrap();
        assert!(is_duration_literal(&expr));
        assert_eq!(crate::duration::parse_duration(&expr).unwrap(), 10_000);
    }

    #[test]
    fn statements_must_end_in_an_output() {
        let (_, errors) = graph("job J { batch_interval = 1s; input a: u8; a.map(|x| x); let p = a.print(); }");
        assert_eq!(
            errors,
            [
                "the result of `map` is not used: end the statement with an output operator such as `.print()`, \
                 or bind it with `let name = ...;`",
                "`print` is an output operator: it ends a statement and produces no stream",
            ]
        );
    }
}
