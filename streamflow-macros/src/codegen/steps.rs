//! The per-batch body: one runtime call per step, then the output operators in
//! declaration order, then the output ports.

use super::chain::{element_fn, op_span};
use super::names::Names;
use crate::graph::{Graph, NodeId, OutputUse};
use crate::ops::Op;
use crate::plan::{Access, Plan, Side, Step};
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::Ident;

/// The statements of the per-batch closure, after the inputs are bound, up to
/// (not including) building the outputs struct.
pub fn body(graph: &Graph, plan: &Plan, names: &Names) -> TokenStream {
    let mut out = TokenStream::new();
    for (index, step) in plan.steps.iter().enumerate() {
        let stage = plan.first_stage[index];
        out.extend(match step {
            Step::Narrow { side } => {
                let last = *side.chain.last().expect("a narrow step has operators");
                let result = names.batch(last);
                let source = source(names, side);
                let span = op_span(graph, last);
                let f = element_fn(graph, names, &side.chain, side.access, span);
                quote_spanned!(span=> let #result = ::streamflow::__private::narrow(ctx, #stage, #source, #f)?;)
            }
            Step::Boundary { node, sides, reduce_chain } => {
                let result = names.batch(*reduce_chain.last().unwrap_or(node));
                let call = boundary_call(graph, names, *node, sides, reduce_chain, stage);
                let span = op_span(graph, *node);
                quote_spanned!(span=> let #result = #call?;)
            }
        });
    }
    let mut sink_index = 0usize;
    for read in &plan.outputs {
        let OutputUse::Sink(node) = graph.outputs[read.output] else {
            continue;
        };
        let call = graph.nodes[node].call().expect("a sink is an operator");
        let batch = names.batch(read.source);
        out.extend(match call.desc.op {
            Op::Print => {
                let n = call.counts.first().map_or_else(|| quote!(10), |n| quote!(#n));
                quote_spanned!(call.method.span()=> ::streamflow::__private::print(ctx, #sink_index, &#batch, #n)?;)
            }
            Op::ForeachBatch => {
                let f = names.function(node);
                let batch = access(batch, read.access);
                quote_spanned!(call.method.span()=> ::streamflow::__private::foreach_batch(ctx, #sink_index, #batch, &#f)?;)
            }
            other => unreachable!("{other:?} is not an output operator"),
        });
        sink_index += 1;
    }
    out
}

/// The field initializers of the outputs struct.
pub fn port_values(graph: &Graph, plan: &Plan, names: &Names) -> TokenStream {
    let fields = plan.outputs.iter().filter_map(|read| match &graph.outputs[read.output] {
        OutputUse::Port { name, ty, .. } => {
            let value = access(names.batch(read.source), read.access);
            Some(quote_spanned!(syn::spanned::Spanned::span(ty)=> #name: ::streamflow::__private::into_port::<#ty, _>(#value)))
        }
        OutputUse::Sink(_) => None,
    });
    quote!(#(#fields),*)
}

fn access(batch: &Ident, access: Access) -> TokenStream {
    match access {
        Access::Move => quote!(#batch),
        Access::Borrow => quote!(&#batch),
        Access::Clone => quote!(::streamflow::__private::share_batch(&#batch)),
    }
}

fn source(names: &Names, side: &Side) -> TokenStream {
    access(names.batch(side.source), side.access)
}

fn boundary_call(
    graph: &Graph,
    names: &Names,
    node: NodeId,
    sides: &[Side],
    reduce_chain: &[NodeId],
    stage: usize,
) -> TokenStream {
    let call = graph.nodes[node].call().expect("a boundary is an operator");
    let span = call.method.span();
    let inputs = sides.iter().map(|side| {
        let source = source(names, side);
        let map_side = element_fn(graph, names, &side.chain, side.access, span);
        quote!(#source, #map_side)
    });
    let inputs = quote!(#(#inputs),*);
    let reduce_end = reduce_chain
        .last()
        .map_or(span, |&last| op_span(graph, last));
    let reduce_side = element_fn(graph, names, reduce_chain, Access::Move, reduce_end);
    let partitions = match call.counts.first() {
        Some(n) => quote!(::core::option::Option::Some(#n)),
        None => quote!(::core::option::Option::None),
    };
    let f = call.functions.first().map(|_| {
        let f = names.function(node);
        quote!(&#f)
    });
    let runtime_fn = syn::Ident::new(call.desc.name, call.method.span());
    let ctx = quote!(ctx, #stage, #inputs);
    match call.desc.op {
        Op::ReduceByKey | Op::CombineByKey => {
            quote!(::streamflow::__private::#runtime_fn(#ctx, #f, #partitions, #reduce_side))
        }
        Op::CountByValue
        | Op::Distinct
        | Op::GroupByKey
        | Op::Join
        | Op::LeftOuterJoin
        | Op::RightOuterJoin
        | Op::FullOuterJoin
        | Op::Cogroup => {
            quote!(::streamflow::__private::#runtime_fn(#ctx, #partitions, #reduce_side))
        }
        Op::Count | Op::Glom | Op::Union => {
            quote!(::streamflow::__private::#runtime_fn(#ctx, #reduce_side))
        }
        Op::Reduce | Op::MapPartitions | Op::Transform | Op::TransformWith => {
            quote!(::streamflow::__private::#runtime_fn(#ctx, #f, #reduce_side))
        }
        Op::Repartition => {
            let n = &call.counts[0];
            quote!(::streamflow::__private::#runtime_fn(#ctx, #n, #reduce_side))
        }
        other => unreachable!("{other:?} is not a boundary operator"),
    }
}
