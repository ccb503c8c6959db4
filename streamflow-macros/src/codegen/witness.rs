//! The typing chain: for every node, in order, one call on the type witness of
//! its input, which binds the user's function with its expected signature and
//! yields the witness of its output. Placed at the operator's own method name,
//! so rustc's errors point at the operator the user wrote.

use super::names::Names;
use crate::graph::{Graph, NodeId, NodeKind, OpCall, OutputUse};
use crate::ops::Op;
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

/// Statements binding every operator's function and checking its requirements,
/// for every node not in `skip` (operators already reported broken, and what
/// depends on them).
pub fn typing_chain(graph: &Graph, names: &Names, skip: &[bool]) -> TokenStream {
    let mut out = TokenStream::new();
    for (id, node) in graph.nodes.iter().enumerate() {
        if skip.get(id).copied().unwrap_or(false) {
            continue;
        }
        let witness = names.witness(id);
        match &node.kind {
            NodeKind::Input(port) => {
                let ty = &graph.inputs[*port].ty;
                out.extend(quote_spanned!(ty.span()=> let #witness = ::streamflow::__private::Stream::<#ty>::input();));
            }
            NodeKind::Op(call) if call.desc.op == Op::StateSnapshots => {
                // Typed by the `map_with_state` it reads (see below).
            }
            NodeKind::Op(call) => {
                let receiver = names.witness_at(node.inputs[0], call.method.span());
                let method = syn::Ident::new(witness_method(call), call.method.span());
                let others = node.inputs[1..].iter().zip(&call.stream_args).map(|(&other, &span)| {
                    let other = names.witness_at(other, span);
                    quote_spanned!(span=> &#other)
                });
                let functions = &call.functions;
                let values = &call.values;
                let args = quote!(#(#others,)* #(#functions,)* #(#values),*);
                let bound = match names.initial(id) {
                    Some(initial) => {
                        let f = names.function(id);
                        quote!((#f, #initial))
                    }
                    None if functions.is_empty() => quote!(),
                    None => {
                        let f = names.function(id);
                        quote!(#f)
                    }
                };
                // A keyed operator's witness also hands over how to take its
                // inputs' elements as pairs (one conversion per input).
                let pairs = names.pairs(id);
                let pairs = quote!(#(, #pairs)*);
                let statement = match (call.desc.op, functions.is_empty()) {
                    (Op::MapWithState, _) => {
                        let snapshots = snapshots_of(graph, id).map_or_else(
                            || quote!(_),
                            |q| {
                                let w = names.witness(q);
                                quote!(#w)
                            },
                        );
                        // Its output's witness is never read when only
                        // `state_snapshots` reads the stream: not a mistake.
                        quote!(#[allow(unused_variables)] let (#bound, #witness, #snapshots #pairs) = #receiver.#method(#args);)
                    }
                    // Their prefix and suffix are used when the job is built (see `state`);
                    // the witness gives the way to write a batch.
                    (Op::SaveAsTextFiles | Op::SaveAsObjectFiles, _) => {
                        let write = names.function(id);
                        quote!(let #write = #receiver.#method();)
                    }
                    (Op::Print, _) => {
                        let show = names.function(id);
                        quote!(let #show = #receiver.#method();)
                    }
                    (Op::ForeachBatch, _) => {
                        let f = names.function(id);
                        quote!(let #f = #receiver.#method(#args);)
                    }
                    (_, true) if !names.pairs(id).is_empty() => {
                        quote!(let (#witness #pairs) = #receiver.#method(#args);)
                    }
                    (_, true) => quote!(let #witness = #receiver.#method(#args);),
                    (_, false) => quote!(let (#bound, #witness #pairs) = #receiver.#method(#args);),
                };
                out.extend(statement);
            }
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

/// The witness method of an operator call: Spark's overloads of one operator
/// are distinct methods there, because their functions have distinct types.
fn witness_method(call: &OpCall) -> &'static str {
    match (call.desc.op, call.functions.len(), call.values.len()) {
        (Op::ReduceByWindow, 2, _) => "reduce_by_window_inv",
        (Op::ReduceByKeyAndWindow, 2, _) => "reduce_by_key_and_window_inv",
        (Op::ReduceByKeyAndWindow, 3, _) => "reduce_by_key_and_window_inv_keep",
        (Op::UpdateStateByKey, _, 1) => "update_state_by_key_initial",
        (Op::UpdateStateByKeyWithTime, _, 1) => "update_state_by_key_with_time_initial",
        (Op::MapWithState, _, 1) => "map_with_state_initial",
        _ => call.desc.name,
    }
}

/// The `state_snapshots` node reading a `map_with_state` node, if any.
pub fn snapshots_of(graph: &Graph, node: NodeId) -> Option<NodeId> {
    graph.nodes.iter().position(|candidate| {
        candidate.inputs.first() == Some(&node) && candidate.call().is_some_and(|c| c.desc.op == Op::StateSnapshots)
    })
}
