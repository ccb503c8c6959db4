//! The typing chain: for every node, in order, one call on the type witness of
//! its input, which binds the user's function with its expected signature and
//! yields the witness of its output. Placed at the operator's own method name,
//! so rustc's errors point at the operator the user wrote.

use super::chain::{Inlined, inlined_binding};
use super::names::{Names, at};
use super::params::capture;
use crate::graph::{Graph, NodeId, NodeKind, OpCall, OutputUse};
use crate::ops::{Kind, Snapshots};
use crate::parse::Param;
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

/// Statements binding every operator's function and checking its requirements,
/// for every node not in `skip` (operators already reported broken, and what
/// depends on them). The job's `params` are cloned into the functions naming
/// them. The operators of an `inlined` side are typed by its loop, bound in
/// their place (at the side's last operator).
pub fn typing_chain(graph: &Graph, names: &Names, params: &[Param], skip: &[bool], inlined: &[Inlined]) -> TokenStream {
    let mut out = TokenStream::new();
    for (id, node) in graph.nodes.iter().enumerate() {
        if skip.get(id).copied().unwrap_or(false) {
            continue;
        }
        if let Some(side) = inlined.iter().find(|side| side.chain.contains(&id)) {
            if side.chain.last() == Some(&id) {
                out.extend(inlined_binding(graph, names, params, side));
            }
            continue;
        }
        // The pair conversion of a boundary whose map side is inlined is not used.
        let unused_pairs = inlined.iter().any(|side| side.boundary == Some(id));
        match &node.kind {
            NodeKind::Input(port) => {
                let ty = &graph.inputs[*port].ty;
                let witness = names.witness(id);
                out.extend(quote_spanned!(ty.span()=> let #witness = ::streamflow::__private::Stream::<#ty>::input();));
            }
            // Typed by the call of the operator it reads (see `bindings`).
            NodeKind::Op(call) if call.desc.snapshots == Snapshots::Reads => {}
            NodeKind::Op(call) => out.extend(witness_call(graph, names, params, id, call, unused_pairs)),
        }
    }
    for output in &graph.outputs {
        if let OutputUse::Port { ty, stream, .. } = output
            && !skip.get(*stream).copied().unwrap_or(false)
        {
            let witness = names.witness_at(*stream, ty.span());
            out.extend(quote_spanned!(ty.span()=> #witness.port::<#ty>();));
        }
    }
    out
}

/// `let <bindings> = <input's witness>.<method>(<arguments>);` for one
/// operator: Spark's overloads of one operator are distinct methods there,
/// because their functions have distinct types.
fn witness_call(
    graph: &Graph,
    names: &Names,
    params: &[Param],
    id: NodeId,
    call: &OpCall,
    unused_pairs: bool,
) -> TokenStream {
    let node = &graph.nodes[id];
    let receiver = names.witness_at(node.inputs[0], call.method.span());
    // At the operator, with the hygiene of the per-batch code's runtime calls
    // (`names::at`): a requirement the witness reports is then the same
    // error, at the same span, as the runtime's bound it implies (a `Send`
    // element moved by a shuffle), which rustc then does not report twice.
    let method = syn::Ident::new(call.signature.witness, at(call.method.span()));
    let others = node.inputs[1..].iter().zip(&call.stream_args).map(|(&other, &span)| {
        let other = names.witness_at(other, span);
        quote_spanned!(span=> &#other)
    });
    let captured = |exprs: &[syn::Expr]| exprs.iter().map(|e| capture(e, params)).collect::<Vec<_>>();
    let (functions, values, counts) = (
        captured(&call.functions),
        captured(&call.values),
        captured(&call.counts),
    );
    let defaults = call.signature.defaults.iter().map(|default| {
        default
            .parse::<TokenStream>()
            .expect("an operator's default is an expression")
    });
    let args = quote!(#(#others,)* #(#functions,)* #(#values,)* #(#counts,)* #(#defaults),*);
    let bindings = bindings(graph, names, id, call);
    // Its output's witness is never read when only `state_snapshots` reads
    // the stream: not a mistake.
    let unused_pairs = unused_pairs && !names.pairs(id).is_empty();
    let quiet = (call.desc.snapshots == Snapshots::Yields || unused_pairs).then(|| quote!(#[allow(unused_variables)]));
    let unwrapped = names
        .bound(id)
        .and_then(|f| rebound(call.signature.rebind, f, call.method.span()));
    quote!(#quiet let #bindings = #receiver.#method(#args); #unwrapped)
}

/// `tokens` with every token at `span` (parsed text is at the call site, and
/// the closure's names must resolve like the rest of the rebinding).
fn respanned(tokens: TokenStream, span: proc_macro2::Span) -> TokenStream {
    use proc_macro2::{Group, TokenTree};
    tokens
        .into_iter()
        .map(|mut token| {
            if let TokenTree::Group(group) = &token {
                let mut inner = Group::new(group.delimiter(), respanned(group.stream(), span));
                inner.set_span(span);
                token = TokenTree::Group(inner);
            } else {
                token.set_span(span);
            }
            token
        })
        .collect()
}

/// Rebinds the functions a witness returned `Checked` (see
/// `streamflow_runtime::typing::Checked`) as closures calling them, with the
/// parameter lists the signature gives (`Signature::rebind`), for the runtime
/// functions that take the user's functions by their type (a reduction is part
/// of the map-side loop's combiner type, so the closure is made here, once,
/// with the job, and not in the per-batch code). A function of the wrong type
/// is then reported by its witness only.
fn rebound(shapes: &[&str], f: &syn::Ident, span: proc_macro2::Span) -> Option<TokenStream> {
    // `name(params)`: the closure's parameters, called with their names.
    let parts = shapes.iter().map(|shape| {
        let (name, params) = shape
            .strip_suffix(')')
            .and_then(|shape| shape.split_once('('))
            .expect("a rebind shape is `name(params)`");
        let name = syn::Ident::new(name, span);
        let args = params.split(',').map(|param| {
            let arg = param.split(':').next().unwrap_or(param).trim();
            syn::Ident::new(arg, span)
        });
        let params: TokenStream = params.parse().expect("a rebind shape's parameters are a closure's");
        let params = respanned(params, span);
        (
            name.clone(),
            quote_spanned!(span=> move |#params| #name.call(#(#args),*)),
        )
    });
    let (names, closures): (Vec<_>, Vec<_>) = parts.unzip();
    let unwrapped = match names.len() {
        0 => return None,
        1 => quote_spanned!(span=> { let #(#names)* = #f; #(#closures)* }),
        _ => quote_spanned!(span=> { let (#(#names),*) = #f; (#(#closures),*) }),
    };
    Some(quote!(let #f = #unwrapped;))
}

/// What a witness method returns, in this order: the bound function(s) (with
/// the initial state, when given), the output's witness, the state snapshots'
/// witness, one pair conversion per input of a keyed operator, the state's
/// codec.
fn bindings(graph: &Graph, names: &Names, id: NodeId, call: &OpCall) -> TokenStream {
    let mut bound = Vec::new();
    if let Some(f) = names.bound(id) {
        // A file writer is passed `&mut` to every batch.
        let writer = call.desc.sink.is_some_and(|sink| sink.bound_mut);
        bound.push(match names.initial(id) {
            Some(initial) => quote!((#f, #initial)),
            None if writer => quote!(mut #f),
            None => quote!(#f),
        });
    }
    if call.desc.kind != Kind::Output {
        let witness = names.witness(id);
        bound.push(quote!(#witness));
    }
    if call.desc.snapshots == Snapshots::Yields {
        bound.push(snapshots_of(graph, id).map_or_else(
            || quote!(_),
            |snapshots| {
                let witness = names.witness(snapshots);
                quote!(#witness)
            },
        ));
    }
    bound.extend(names.pairs(id).iter().map(|pairs| quote!(#pairs)));
    if call.desc.keeps_state() {
        let codec = names.codec(id);
        bound.push(quote!(#codec));
    }
    match bound.as_slice() {
        [one] => one.clone(),
        _ => quote!((#(#bound),*)),
    }
}

/// The `state_snapshots` node reading a node, if any.
pub fn snapshots_of(graph: &Graph, node: NodeId) -> Option<NodeId> {
    graph.nodes.iter().position(|candidate| {
        candidate.inputs.first() == Some(&node)
            && candidate.call().is_some_and(|c| c.desc.snapshots == Snapshots::Reads)
    })
}
