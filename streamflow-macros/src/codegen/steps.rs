//! The per-batch body's steps: one runtime call per step, its arguments in the
//! runtime's fixed order, read from the matched signature and its descriptor.
//!
//! A stream whose slide is longer than the batch interval (a window's output
//! and what is computed from it) has a batch only at multiples of its slide:
//! its variable is an `Option<Batch<_>>`, and the steps and outputs that read
//! it run only when it is `Some`.

use super::chain::{Inlined, element_fn, only_reads, op_span, reading_loop};
use super::names::{Names, at};
use super::witness::snapshots_of;
use crate::graph::{Graph, NodeId};
use crate::ops::Snapshots;
use crate::plan::{Access, Plan, Side, Step};
use proc_macro2::{Span, TokenStream};
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

/// The statements of the per-batch closure running every step, after the
/// inputs are bound.
pub fn body(graph: &Graph, plan: &Plan, names: &Names, timing: &Timing, inlined: &[Inlined]) -> TokenStream {
    let mut out = TokenStream::new();
    for (index, step) in plan.steps.iter().enumerate() {
        let stage = plan.first_stage[index];
        out.extend(match step {
            Step::Narrow { side } => {
                let last = *side.chain.last().expect("a narrow step has operators");
                let span = op_span(graph, last);
                let f = match inlined_side(inlined, side) {
                    Some(inlined) => {
                        let loop_fn = &inlined.name;
                        quote!(&#loop_fn)
                    }
                    None => element_fn(graph, names, &side.chain, side.access, span, None),
                };
                let (read, freed) = in_place(inlined, side, names);
                // Every narrow operator's signature names `narrow`, which runs the fused chain.
                let runtime = graph.nodes[last]
                    .call()
                    .expect("chains hold operators")
                    .signature
                    .runtime;
                let runtime_fn = Ident::new(runtime, span);
                let call = |sources: &[TokenStream]| {
                    let source = &sources[0];
                    quote_spanned!(span=> ::streamflow::__private::#runtime_fn(ctx, #stage, #source, #f)?)
                };
                let result = names.batch(last);
                let value = guarded(names, timing, std::slice::from_ref(&read), false, call);
                quote_spanned!(span=> let #result = #value; #freed)
            }
            Step::Boundary {
                node,
                sides,
                reduce_chain,
            } => {
                let code = Code {
                    graph,
                    names,
                    timing,
                    inlined,
                };
                boundary_step(&code, *node, sides, reduce_chain, stage)
            }
        });
    }
    out
}

/// What every step's code is made from.
#[derive(Clone, Copy)]
struct Code<'a> {
    graph: &'a Graph,
    names: &'a Names,
    timing: &'a Timing,
    inlined: &'a [Inlined],
}

/// The loop built with the typing chain for `side`, when its closures are
/// written into it.
fn inlined_side<'a>(inlined: &'a [Inlined], side: &Side) -> Option<&'a Inlined> {
    inlined
        .iter()
        .find(|candidate| candidate.source == side.source && candidate.chain == side.chain)
}

/// How `side` is read: as the plan says, or, for a loop that reads its
/// lines in place, by reference, with the statement that frees the batch
/// after the step, off the critical path.
fn in_place(inlined: &[Inlined], side: &Side, names: &Names) -> (Side, Option<TokenStream>) {
    if !inlined_side(inlined, side).is_some_and(|inlined| inlined.in_place) {
        return (side.clone(), None);
    }
    let batch = names.batch(side.source);
    let read = Side {
        access: Access::Borrow,
        ..side.clone()
    };
    (read, Some(quote!(::streamflow::__private::free_later(#batch);)))
}

/// The batch `access` reads: the variable, a reference, or a clone.
pub fn access(batch: &Ident, access: Access) -> TokenStream {
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

/// A boundary operator's step, in the runtime's argument order:
/// `op(ctx, stage, [state], (input, map_side)+, [&functions], [partitions], [snapshots], reduce_side)`.
fn boundary_step(code: &Code<'_>, node: NodeId, sides: &[Side], reduce_chain: &[NodeId], stage: usize) -> TokenStream {
    let Code {
        graph,
        names,
        timing,
        inlined,
    } = *code;
    let call = graph.nodes[node].call().expect("a boundary is an operator");
    let span = at(call.method.span());
    let call_span = producer_span(graph, inlined, sides).unwrap_or(span);
    let terminal = *reduce_chain.last().unwrap_or(&node);
    let result = names.batch(terminal);
    // A side that only reads borrows its batch, freed off the critical path.
    let reads = sides.len() == 1 && !timing.optional(sides[0].source) && only_reads(graph, node, &sides[0]);
    if reads {
        let side = &sides[0];
        let batch = names.batch(side.source);
        let map_side = reading_loop(graph, names, side, span);
        let reduce_end = reduce_chain.last().map_or(span, |&last| op_span(graph, last));
        let reduce_side = element_fn(graph, names, reduce_chain, Access::Move, reduce_end, None);
        let runtime_fn = Ident::new(call.signature.runtime, call_span);
        let value = quote_spanned!(call_span=> ::streamflow::__private::#runtime_fn(ctx, #stage, &#batch, #map_side, #reduce_side));
        return quote_spanned! {span=>
            let #result = #value?;
            ::streamflow::__private::free_later(#batch);
        };
    }
    let map_sides: Vec<TokenStream> = sides
        .iter()
        .enumerate()
        .map(|(i, side)| match inlined_side(inlined, side) {
            Some(inlined) => {
                let loop_fn = &inlined.name;
                quote!(&#loop_fn)
            }
            None => element_fn(graph, names, &side.chain, side.access, span, names.pairs(node).get(i)),
        })
        .collect();
    let (read, freed): (Vec<Side>, Vec<Option<TokenStream>>) =
        sides.iter().map(|side| in_place(inlined, side, names)).unzip();
    let sides = read.as_slice();
    let reduce_end = reduce_chain.last().map_or(span, |&last| op_span(graph, last));
    let reduce_side = element_fn(graph, names, reduce_chain, Access::Move, reduce_end, None);
    let runtime_fn = Ident::new(call.signature.runtime, call_span);
    let state = call.desc.keeps_state().then(|| {
        let field = names.field(node);
        quote!(state.#field.get_mut(),)
    });
    let functions = names.bound(node).map(|f| checked_call(call.signature.witness, f, span));
    let partitions = call.desc.partitions.then(|| match &call.partitions {
        Some(n) => quote!(::core::option::Option::Some(#n),),
        None => quote!(::core::option::Option::None,),
    });
    let yields_snapshots = call.desc.snapshots == Snapshots::Yields;
    let snapshots = yields_snapshots.then(|| {
        let read = snapshots_of(graph, node).is_some();
        quote!(#read,)
    });
    let make_call = |sources: &[TokenStream]| {
        let inputs = sources
            .iter()
            .zip(&map_sides)
            .map(|(source, map_side)| quote!(#source, #map_side));
        let value = quote_spanned! {call_span=>
            ::streamflow::__private::#runtime_fn(ctx, #stage, #state #(#inputs,)* #functions #partitions #snapshots #reduce_side)
        };
        quote_spanned!(span=> #value?)
    };
    if yields_snapshots {
        let step = snapshots_step(graph, names, timing, node, sides, result, make_call);
        return quote!(#step #(#freed)*);
    }
    let returns_option = call.desc.is_window();
    let value = guarded(names, timing, sides, returns_option, make_call);
    // A window sliding every batch interval has a batch every time.
    let value = if returns_option && !timing.optional(terminal) && !timing.optional(sides[0].source) {
        quote!(#value.unwrap_or_default())
    } else {
        value
    };
    quote_spanned!(span=> let #result = #value; #(#freed)*)
}

/// Where a boundary's runtime call is placed when one narrow operator
/// produced the elements it moves (the last of its side's chain, or the
/// side's source): at that operator, as its witness is (`witness_call`), so
/// that an element the witness refuses (an `Rc`, not `Send`) is one error
/// there, and not a second one from the runtime's bound on what it moves.
/// A loop the macro wrote (its elements checked by the boundary's own
/// witness) and several sides keep the boundary's span.
fn producer_span(graph: &Graph, inlined: &[Inlined], sides: &[Side]) -> Option<Span> {
    let [side] = sides else { return None };
    if inlined_side(inlined, side).is_some() {
        return None;
    }
    let producer = side.chain.last().copied().unwrap_or(side.source);
    let call = graph.nodes[producer].call()?;
    (call.desc.kind == crate::ops::Kind::Narrow).then(|| op_span(graph, producer))
}

/// How a boundary operator's runtime function gets its bound function. A
/// `Checked` one (see `streamflow_runtime::typing::Checked`) is called through
/// a closure of the runtime's shape, so that a function of the wrong type is
/// reported by its witness only; the closure is inlined, once per key.
/// `witness` names the operator's overload (its typing witness).
fn checked_call(witness: &str, f: &Ident, span: Span) -> TokenStream {
    match witness {
        "update_state_by_key" | "update_state_by_key_initial" => {
            quote_spanned!(span=> &|values: &[_], old| #f.call(values, old),)
        }
        "update_state_by_key_with_time" | "update_state_by_key_with_time_initial" => {
            quote_spanned!(span=> &|time, key: &_, values: &[_], old| #f.call(time, key, values, old),)
        }
        // The others are unwrapped where they are bound (see
        // `witness::rebound`): their type is part of the map-side loop's.
        _ => quote!(&#f,),
    }
}

/// An operator that also yields the snapshots of its state (`map_with_state`):
/// its output and, when `state_snapshots` reads them, the snapshots.
fn snapshots_step(
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
