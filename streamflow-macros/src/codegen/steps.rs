//! The per-batch body: one runtime call per step, then the output operators in
//! declaration order, then the output ports.
//!
//! A stream whose slide is longer than the batch interval (a window's output
//! and what is computed from it) has a batch only at multiples of its slide:
//! its variable is an `Option<Batch<_>>`, and the steps and outputs that read
//! it run only when it is `Some`.

use super::chain::{at, element_fn, op_span};
use super::names::Names;
use super::witness::snapshots_of;
use crate::graph::{Graph, NodeId, OpCall, OutputUse};
use crate::ops::Op;
use crate::plan::{Access, Plan, Side, Step};
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

/// Which streams have a batch only sometimes.
pub struct Timing {
    optional: Vec<bool>,
}

impl Timing {
    /// From every node's slide and the batch interval.
    pub fn new(slides: &[u64], interval_ms: u64) -> Timing {
        Timing {
            optional: slides.iter().map(|&slide| slide > interval_ms).collect(),
        }
    }

    /// Whether `node`'s batch variable is an `Option`.
    pub fn optional(&self, node: NodeId) -> bool {
        self.optional[node]
    }
}

/// The statements of the per-batch closure, after the inputs are bound, up to
/// (not including) building the outputs struct.
pub fn body(graph: &Graph, plan: &Plan, names: &Names, timing: &Timing) -> TokenStream {
    let mut out = TokenStream::new();
    for (index, step) in plan.steps.iter().enumerate() {
        let stage = plan.first_stage[index];
        out.extend(match step {
            Step::Narrow { side } => {
                let last = *side.chain.last().expect("a narrow step has operators");
                let span = op_span(graph, last);
                let f = element_fn(graph, names, &side.chain, side.access, span, None);
                let call = |sources: &[TokenStream]| {
                    let source = &sources[0];
                    quote_spanned!(span=> ::streamflow::__private::narrow(ctx, #stage, #source, #f)?)
                };
                let result = names.batch(last);
                let value = guarded(names, timing, std::slice::from_ref(side), false, call);
                quote_spanned!(span=> let #result = #value;)
            }
            Step::Boundary {
                node,
                sides,
                reduce_chain,
            } => boundary_step(graph, names, timing, *node, sides, reduce_chain, stage),
        });
    }
    let mut sink_index = 0usize;
    for read in &plan.outputs {
        let OutputUse::Sink(node) = graph.outputs[read.output] else {
            continue;
        };
        let call = graph.nodes[node].call().expect("a sink is an operator");
        let batch = names.batch(read.source);
        let optional = timing.optional(read.source);
        let span = at(call.method.span());
        out.extend(match call.desc.op {
            Op::Print => {
                let n = call.counts.first().map_or_else(|| quote!(10), |n| quote!(#n));
                let show = names.function(node);
                if optional {
                    quote_spanned! {span=>
                        if let ::core::option::Option::Some(batch) = &#batch {
                            ::streamflow::__private::print_with(ctx, #sink_index, batch, #n, #show)?;
                        }
                    }
                } else {
                    quote_spanned!(span=> ::streamflow::__private::print_with(ctx, #sink_index, &#batch, #n, #show)?;)
                }
            }
            Op::SaveAsTextFiles | Op::SaveAsObjectFiles => {
                let writer = names.state(node);
                let write = names.function(node);
                if optional {
                    quote_spanned! {span=>
                        if let ::core::option::Option::Some(batch) = &#batch {
                            ::streamflow::__private::save_batch(ctx, #sink_index, &mut #writer, batch, #write)?;
                        }
                    }
                } else {
                    quote_spanned!(span=> ::streamflow::__private::save_batch(ctx, #sink_index, &mut #writer, &#batch, #write)?;)
                }
            }
            Op::ForeachBatch => {
                let f = names.function(node);
                if optional {
                    let (scrutinee, value) = match read.access {
                        Access::Move => (quote!(#batch), quote!(batch)),
                        _ => (quote!(&#batch), quote!(::streamflow::__private::share_batch(batch))),
                    };
                    quote_spanned! {span=>
                        if let ::core::option::Option::Some(batch) = #scrutinee {
                            ::streamflow::__private::foreach_batch(ctx, #sink_index, #value, &#f)?;
                        }
                    }
                } else {
                    let value = access(batch, read.access);
                    quote_spanned!(span=> ::streamflow::__private::foreach_batch(ctx, #sink_index, #value, &#f)?;)
                }
            }
            other => unreachable!("{other:?} is not an output operator"),
        });
        sink_index += 1;
    }
    out
}

/// The field initializers of the outputs struct.
pub fn port_values(graph: &Graph, plan: &Plan, names: &Names, timing: &Timing) -> TokenStream {
    let fields = plan
        .outputs
        .iter()
        .filter_map(|read| match &graph.outputs[read.output] {
            OutputUse::Port { name, ty, .. } => {
                let batch = names.batch(read.source);
                let span = syn::spanned::Spanned::span(ty);
                let into_port = quote_spanned!(span=> ::streamflow::__private::into_port::<#ty, _>);
                let value = match (timing.optional(read.source), read.access) {
                    (false, access_mode) => {
                        let value = access(batch, access_mode);
                        quote!(#into_port(#value))
                    }
                    (true, Access::Move) => quote!(#batch.map(#into_port)),
                    (true, _) => quote!(#batch.as_ref().map(::streamflow::__private::share_batch).map(#into_port)),
                };
                Some(quote_spanned!(span=> #name: #value))
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

/// A step's value: `call` applied to its sources. When the sources have a
/// batch only sometimes, the call runs only when they do; `returns_option`
/// says whether the call itself yields an `Option` (window operators).
fn guarded(
    names: &Names,
    timing: &Timing,
    sides: &[Side],
    returns_option: bool,
    call: impl Fn(&[TokenStream]) -> TokenStream,
) -> TokenStream {
    if !timing.optional(sides[0].source) {
        let sources: Vec<TokenStream> = sides
            .iter()
            .map(|side| access(names.batch(side.source), side.access))
            .collect();
        return call(&sources);
    }
    let bound: Vec<Ident> = (0..sides.len()).map(|i| format_ident!("input_{}", i)).collect();
    let scrutinee = sides.iter().map(|side| {
        let batch = names.batch(side.source);
        match side.access {
            Access::Move => quote!(#batch),
            _ => quote!(#batch.as_ref()),
        }
    });
    let sources: Vec<TokenStream> = bound.iter().map(|b| quote!(#b)).collect();
    let value = call(&sources);
    let value = if returns_option {
        value
    } else {
        quote!(::core::option::Option::Some(#value))
    };
    quote! {
        match (#(#scrutinee,)*) {
            (#(::core::option::Option::Some(#bound),)*) => #value,
            _ => ::core::option::Option::None,
        }
    }
}

fn boundary_step(
    graph: &Graph,
    names: &Names,
    timing: &Timing,
    node: NodeId,
    sides: &[Side],
    reduce_chain: &[NodeId],
    stage: usize,
) -> TokenStream {
    let call = graph.nodes[node].call().expect("a boundary is an operator");
    let span = at(call.method.span());
    let terminal = *reduce_chain.last().unwrap_or(&node);
    let result = names.batch(terminal);
    let map_sides: Vec<TokenStream> = sides
        .iter()
        .enumerate()
        .map(|(i, side)| element_fn(graph, names, &side.chain, side.access, span, names.pairs(node).get(i)))
        .collect();
    let reduce_end = reduce_chain.last().map_or(span, |&last| op_span(graph, last));
    let reduce_side = element_fn(graph, names, reduce_chain, Access::Move, reduce_end, None);
    let partitions = match call.counts.first() {
        Some(n) => quote!(::core::option::Option::Some(#n)),
        None => quote!(::core::option::Option::None),
    };
    let runtime_fn = Ident::new(runtime_fn(call), span);
    let functions = function_args(graph, names, node);
    let state = call.desc.is_window() || call.desc.is_stateful();
    let state = state.then(|| {
        let state = names.state(node);
        quote!(&mut #state,)
    });
    let tail = match call.desc.op {
        Op::Count | Op::Glom | Op::Union | Op::Window | Op::CountByWindow => quote!(#reduce_side),
        Op::Repartition => {
            let n = &call.counts[0];
            quote!(#n, #reduce_side)
        }
        Op::MapWithState => {
            let snapshots = snapshots_of(graph, node).is_some();
            quote!(#functions #snapshots, #partitions, #reduce_side)
        }
        Op::Reduce | Op::MapPartitions | Op::Transform | Op::TransformWith | Op::ReduceByWindow => {
            quote!(#functions #reduce_side)
        }
        _ => quote!(#functions #partitions, #reduce_side),
    };
    let make_call = |sources: &[TokenStream]| {
        let inputs = sources
            .iter()
            .zip(&map_sides)
            .map(|(source, map_side)| quote!(#source, #map_side));
        quote_spanned!(span=> ::streamflow::__private::#runtime_fn(ctx, #stage, #state #(#inputs,)* #tail)?)
    };
    if call.desc.op == Op::MapWithState {
        return map_with_state_step(graph, names, timing, node, sides, result, make_call);
    }
    let returns_option = call.desc.is_window();
    let value = guarded(names, timing, sides, returns_option, make_call);
    // A window sliding every batch interval has a batch every time.
    let value = if returns_option && !timing.optional(terminal) && !timing.optional(sides[0].source) {
        quote!(#value.unwrap_or_default())
    } else {
        value
    };
    quote_spanned!(span=> let #result = #value;)
}

/// `map_with_state` yields its output and, when `state_snapshots` reads them,
/// the snapshots of its state.
fn map_with_state_step(
    graph: &Graph,
    names: &Names,
    timing: &Timing,
    node: NodeId,
    sides: &[Side],
    result: &Ident,
    make_call: impl Fn(&[TokenStream]) -> TokenStream,
) -> TokenStream {
    let snapshots = snapshots_of(graph, node).map(|q| names.batch(q));
    let target = match snapshots {
        Some(q) => quote!((#result, #q)),
        None => quote!((#result, _)),
    };
    if !timing.optional(sides[0].source) {
        let call = make_call(&[access(names.batch(sides[0].source), sides[0].access)]);
        let unwrap = snapshots.map(|q| quote!(let #q = #q.unwrap_or_default();));
        return quote!(let #target = #call; #unwrap);
    }
    let side = &sides[0];
    let batch = names.batch(side.source);
    let scrutinee = match side.access {
        Access::Move => quote!(#batch),
        _ => quote!(#batch.as_ref()),
    };
    let call = make_call(&[quote!(input)]);
    quote! {
        let #target = match #scrutinee {
            ::core::option::Option::Some(input) => {
                let (output, snapshots) = #call;
                (::core::option::Option::Some(output), ::core::option::Option::Some(snapshots.unwrap_or_default()))
            }
            ::core::option::Option::None => (::core::option::Option::None, ::core::option::Option::None),
        };
    }
}

/// The runtime function a boundary operator calls; overloads with an inverse
/// function call the incremental variant.
fn runtime_fn(call: &OpCall) -> &'static str {
    match (call.desc.op, call.functions.len()) {
        (Op::ReduceByWindow, 2) => "reduce_by_window_inv",
        (Op::ReduceByKeyAndWindow, 2 | 3) => "reduce_by_key_and_window_inv",
        _ => call.desc.name,
    }
}

/// The function arguments of a boundary call, each followed by a comma.
fn function_args(graph: &Graph, names: &Names, node: NodeId) -> TokenStream {
    let call = graph.nodes[node].call().expect("a boundary is an operator");
    if call.functions.is_empty() {
        return quote!();
    }
    let f = names.function(node);
    match (call.desc.op, call.functions.len()) {
        // Passed to the runtime as one tuple of functions.
        (Op::CombineByKey, _) => quote!(&#f,),
        (_, 1) => quote!(&#f,),
        (Op::ReduceByKeyAndWindow, 2) => quote!(&#f.0, &#f.1, &::streamflow::__private::keep_all,),
        (_, 2) => quote!(&#f.0, &#f.1,),
        (_, _) => quote!(&#f.0, &#f.1, &#f.2,),
    }
}
