//! The typing chain: for every node, in order, one call on the type witness of
//! its input, which binds the user's function with its expected signature and
//! yields the witness of its output. Placed at the operator's own method name,
//! so rustc's errors point at the operator the user wrote.

use super::names::Names;
use crate::graph::{Graph, NodeKind};
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
            NodeKind::Op(call) => {
                let receiver = names.witness(node.inputs[0]);
                let method = &call.method;
                let others = node.inputs[1..].iter().map(|&other| {
                    let other = names.witness(other);
                    quote!(&#other)
                });
                let functions = &call.functions;
                let args = quote!(#(#others,)* #(#functions),*);
                let statement = match (call.desc.op, functions.is_empty()) {
                    (Op::Print, _) => quote!(#receiver.#method();),
                    (Op::ForeachBatch, _) => {
                        let f = names.function(id);
                        quote!(let #f = #receiver.#method(#args);)
                    }
                    (_, true) => quote!(let #witness = #receiver.#method(#args);),
                    (_, false) => {
                        let f = names.function(id);
                        quote!(let (#f, #witness) = #receiver.#method(#args);)
                    }
                };
                out.extend(statement);
            }
        }
    }
    out
}
