//! The fused loop body: one per-element closure per stage side, with every
//! narrow operator of the chain inlined as a nested block.
//!
//! ```text
//! |x, out| {
//!     for x in flat_map_line_3(x) {
//!         let x = map_line_4(x);
//!         out.push(x);
//!     }
//! }
//! ```
//!
//! Each operator's code carries the operator's span, so a type error inside
//! the loop points at the operator the user wrote. The code of each operator
//! is its descriptor's template (see `ops::narrow`).

use super::names::{Names, at, ident};
use crate::graph::{Graph, NodeId};
use crate::ops::narrow::Loop;
use crate::plan::{Access, Step};
use proc_macro2::{Ident, Span, TokenStream};
use quote::{ToTokens, quote, quote_spanned};

/// The per-element closure applying `chain` and pushing into the collector of
/// the operator at `end` (the boundary, or the chain's last operator). A
/// borrowed source yields references, so the element is copied first.
/// `pairs`, for the map side of a keyed operator, is the conversion of the
/// element into a (key, value) pair its typing witness handed over.
pub fn element_fn(
    graph: &Graph,
    names: &Names,
    chain: &[NodeId],
    access: Access,
    end: Span,
    pairs: Option<&Ident>,
) -> TokenStream {
    let body = nest(graph, names, chain, end, pairs);
    let own = (access == Access::Borrow).then(|| {
        let at = chain.first().map_or(end, |&first| op_span(graph, first));
        quote_spanned!(at=> let x = ::streamflow::__private::share(x);)
    });
    quote!(|x, out| { #own #body })
}

/// The span of an operator node's method name.
pub fn op_span(graph: &Graph, node: NodeId) -> Span {
    graph.nodes[node]
        .call()
        .map_or_else(Span::call_site, |call| at(call.method.span()))
}

fn nest(graph: &Graph, names: &Names, chain: &[NodeId], end: Span, pairs: Option<&Ident>) -> TokenStream {
    let Some((&first, rest)) = chain.split_first() else {
        return match pairs {
            Some(pairs) => quote_spanned!(end=> out.push(#pairs(x));),
            None => quote_spanned!(end=> out.push(x);),
        };
    };
    let inner = nest(graph, names, rest, end, pairs);
    let call = graph.nodes[first].call().expect("chains hold operators");
    let template = call.desc.fused.expect("chains hold narrow operators");
    template(Loop {
        f: names.function(first),
        pairs: names.pairs(first).first(),
        inner,
        span: at(call.method.span()),
    })
}

/// How a fused side whose closures are written into the loop ends.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum End {
    /// A materialized batch (`Vec`).
    Batch,
    /// A keyed collector: `witness` names the typing witness of the loop
    /// (`map_side_by_key` for a `reduce_by_key` combiner), `pairs` the
    /// function taking each element as a (key, value) pair with the
    /// operator's own message (`key_value`).
    ByKey {
        /// The loop's witness, without its `_shared` suffix.
        witness: &'static str,
        /// The pair conversion.
        pairs: &'static str,
    },
    /// A value counter (`count_by_value`, `count_by_value_and_window`).
    ByValue,
}

/// A fused side whose closure literals are written into its loop, their
/// parameters bound to the element itself, so that what they yield may
/// borrow from it (`|line| line.split_whitespace()` yields `&str` words of a
/// `String` line) for as long as the loop holds it. The loop is built once,
/// with the typing chain, through a witness that says what it collects; the
/// per-batch code passes it to the runtime.
pub struct Inlined {
    /// The materialized stream the side reads.
    pub source: NodeId,
    /// Its narrow operators.
    pub chain: Vec<NodeId>,
    /// What it ends in.
    pub end: End,
    /// The boundary operator it ends at (none for a narrow step).
    pub boundary: Option<NodeId>,
    /// Whether it reads a shared batch (a branch): each element is copied
    /// first, as the loop owns what it reads.
    pub shared: bool,
    /// The local holding the loop.
    pub name: Ident,
    /// The element (or key) stays a reference, unconverted: the output port
    /// it reaches is declared with a reference type.
    pub keeps_references: bool,
    /// It reads its owned batch by reference, which is freed after the
    /// stage, off the critical path (see `in_place`).
    pub in_place: bool,
}

/// The fused sides of `plan` that are written as inlined loops: those whose
/// operators are all closure literals (or functions' paths) of `map`,
/// `flat_map`, `filter_map`, `filter` or `inspect` that can be written into
/// a loop (one parameter, no declared return type, no `return` or `?` of
/// their own), and that end in a batch or a keyed collector (see
/// [`keyed_end`]). Every other side calls its operators' bound functions.
pub fn inlined_sides(graph: &Graph, plan: &crate::plan::Plan, names: &Names) -> Vec<Inlined> {
    verdicts(graph, plan, names)
        .into_iter()
        .filter_map(|(_, verdict)| verdict.ok())
        .collect()
}

/// One side of a step: its stage, the side, how its loop would end (or why
/// it cannot be inlined) and its boundary operator.
type StepSide<'p> = (usize, &'p crate::plan::Side, Result<End, String>, Option<NodeId>);

/// For every stage that reads a batch and yields new elements (a `map`,
/// `flat_map` or `filter_map` in its chain), its index among the plan's
/// stages and its loop when it is inlined, or why its elements stay owned.
fn verdicts(graph: &Graph, plan: &crate::plan::Plan, names: &Names) -> Vec<(usize, Result<Inlined, String>)> {
    // Only `map`, `flat_map` and `filter_map` yield new elements, which may
    // borrow; a chain of filters has nothing to gain.
    let yields = |node: NodeId| {
        graph.nodes[node]
            .call()
            .is_some_and(|c| c.desc.name != "filter" && c.desc.name != "inspect")
    };
    let name_of = |node: NodeId| graph.nodes[node].call().map_or("an operator", |c| c.desc.name);
    let mut verdicts = Vec::new();
    for (index, step) in plan.steps.iter().enumerate() {
        let stage = plan.first_stage[index];
        let sides: Vec<StepSide<'_>> = match step {
            Step::Narrow { side } => vec![(stage, side, Ok(End::Batch), None)],
            Step::Boundary { node, sides, .. } => {
                let call = graph.nodes[*node].call().expect("a boundary is an operator");
                let end = match keyed_end(call.signature.runtime) {
                    _ if sides.len() > 1 => Err(format!("`{}` reads several streams", call.desc.name)),
                    Some(end) => Ok(end),
                    None => Err(format!("`{}` takes them owned", call.desc.name)),
                };
                let end = &end;
                sides
                    .iter()
                    .enumerate()
                    .map(|(i, side)| (stage + i, side, end.clone(), Some(*node)))
                    .collect()
            }
        };
        for (stage, side, end, boundary) in sides {
            if !side.chain.iter().any(|&node| yields(node)) {
                continue;
            }
            let unwritable = side.chain.iter().find(|&&node| inline_function(graph, node).is_none());
            let verdict = match (end, unwritable) {
                (Err(why), _) => Err(why),
                (_, Some(&node)) => {
                    let line = graph.nodes[node].call().map_or(0, |c| c.method.span().start().line);
                    let name = name_of(node);
                    Err(
                        if matches!(name, "map" | "flat_map" | "filter_map" | "filter" | "inspect") {
                            format!(
                                "`{name}` (line {line}) is not given a closure literal or function path the loop can hold"
                            )
                        } else {
                            format!("`{name}` (line {line}) is not written into the loop")
                        },
                    )
                }
                (Ok(end), None) => {
                    let last = *side.chain.last().expect("not empty");
                    // Named after its last operator's function, which it replaces.
                    let name = ident(&format!("{}_loop", names.function(last)));
                    let reaches = boundary.unwrap_or(last);
                    let keeps_references = port_keeps_references(graph, reaches, end);
                    let in_place = side.access == Access::Move
                        && !keeps_references
                        && super::in_place::reads_in_place(graph, side.source, &side.chain);
                    Ok(Inlined {
                        source: side.source,
                        chain: side.chain.clone(),
                        end,
                        boundary,
                        shared: side.access == Access::Borrow,
                        name,
                        keeps_references,
                        in_place,
                    })
                }
            };
            verdicts.push((stage, verdict));
        }
    }
    verdicts
}

/// `plan` with what `explain()` says of each stage that yields new
/// elements: whether they are borrowed from the element being read, where
/// they are made owned, or why they stay owned, in the role of the stage's
/// last operator.
pub fn described(graph: &Graph, plan: &crate::plan::Plan, names: &Names) -> crate::plan::Plan {
    let mut described = plan.clone();
    for (stage, verdict) in verdicts(graph, plan, names) {
        let note = match verdict {
            Ok(side) => {
                match (side.end, side.keeps_references) {
                    (_, true) => "may borrow, references kept",
                    (End::Batch, false) => "may borrow from its input, stored owned",
                    (End::ByKey { .. } | End::ByValue, false) => "keys may borrow, owned once per new key",
                }
                .to_owned()
                    + if side.in_place {
                        "; input read in place, freed after the stage"
                    } else {
                        ""
                    }
            }
            Err(why) => format!("no borrowing: {why}"),
        };
        if let Some((_, role)) = described.stages[stage].ops.last_mut() {
            *role = if role.is_empty() {
                note
            } else {
                format!("{role}; {note}")
            };
        }
    }
    described
}

/// How a side ending at the boundary whose runtime function is `runtime`
/// ends when its loop is inlined; `None` for a boundary it cannot end in
/// (the joins' two sides, a whole-batch operator, `distinct` and the
/// unkeyed aggregates, which gain nothing from a borrowed element).
pub fn keyed_end(runtime: &str) -> Option<End> {
    let by_key = |witness, pairs| Some(End::ByKey { witness, pairs });
    match runtime {
        "reduce_by_key" => by_key("map_side_by_key", "key_value"),
        "reduce_by_key_and_window" | "reduce_by_key_and_window_inv" => by_key("map_side_by_key", "key_value_window"),
        "combine_by_key" => by_key("map_side_combine", "key_value_combine"),
        "group_by_key" => by_key("map_side_group", "key_value_group"),
        "group_by_key_and_window" => by_key("map_side_group", "key_value_group_window"),
        "update_state_by_key" | "update_state_by_key_with_time" | "map_with_state" => {
            by_key("map_side_group", "key_value_state")
        }
        "count_by_value" | "count_by_value_and_window" => Some(End::ByValue),
        _ => None,
    }
}

/// Whether the output port of `node`'s stream, if any, is declared with a
/// reference where the loop would make an owned value: `&'static str`
/// elements, or `(&'static str, V)` pairs for a keyed end.
fn port_keeps_references(graph: &Graph, node: NodeId, end: End) -> bool {
    graph.outputs.iter().any(|output| match output {
        crate::graph::OutputUse::Port { ty, stream, .. } if *stream == node => match (end, ty) {
            (End::ByKey { .. } | End::ByValue, syn::Type::Tuple(pair)) => {
                matches!(pair.elems.first(), Some(syn::Type::Reference(_)))
            }
            (_, syn::Type::Reference(_)) => true,
            _ => false,
        },
        _ => false,
    })
}

/// The parameter pattern and body of `node`'s function when it can be
/// written into the loop: a closure literal, or the path of a function
/// (`str::to_owned`), called in place on the element as `|element|
/// path(element)` would (a path has nothing to evaluate once).
fn inline_function(graph: &Graph, node: NodeId) -> Option<(TokenStream, TokenStream)> {
    let call = graph.nodes[node].call()?;
    if !matches!(call.desc.name, "map" | "flat_map" | "filter_map" | "filter" | "inspect") {
        return None;
    }
    let function = call.only_function()?;
    if let syn::Expr::Path(path) = function {
        let element = ident("element");
        let span = syn::spanned::Spanned::span(path);
        return Some((quote!(#element), quote_spanned!(span=> (#path)(#element))));
    }
    let syn::Expr::Closure(closure) = function else {
        return None;
    };
    let plain = closure.attrs.is_empty()
        && closure.lifetimes.is_none()
        && closure.constness.is_none()
        && closure.asyncness.is_none()
        && matches!(closure.output, syn::ReturnType::Default)
        && closure.inputs.len() == 1;
    (plain && !leaves_early(&closure.body))
        .then(|| (closure.inputs[0].to_token_stream(), closure.body.to_token_stream()))
}

/// Whether a closure body returns from the closure before its end (`return`
/// or `?` outside a nested closure, async block or item), which it could
/// not do once written into the loop. Macro arguments are not parsed: a `?`
/// or `return` among their tokens counts.
fn leaves_early(body: &syn::Expr) -> bool {
    use syn::visit::Visit;
    struct Finder(bool);
    impl<'ast> Visit<'ast> for Finder {
        fn visit_expr_return(&mut self, _: &'ast syn::ExprReturn) {
            self.0 = true;
        }
        fn visit_expr_try(&mut self, _: &'ast syn::ExprTry) {
            self.0 = true;
        }
        fn visit_expr_closure(&mut self, _: &'ast syn::ExprClosure) {}
        fn visit_expr_async(&mut self, _: &'ast syn::ExprAsync) {}
        fn visit_item(&mut self, _: &'ast syn::Item) {}
        fn visit_macro(&mut self, mac: &'ast syn::Macro) {
            self.0 |= tokens_leave(mac.tokens.clone());
        }
    }
    fn tokens_leave(tokens: TokenStream) -> bool {
        tokens.into_iter().any(|tree| match tree {
            proc_macro2::TokenTree::Punct(p) => p.as_char() == '?',
            proc_macro2::TokenTree::Ident(i) => i == "return",
            proc_macro2::TokenTree::Group(g) => tokens_leave(g.stream()),
            proc_macro2::TokenTree::Literal(_) => false,
        })
    }
    let mut finder = Finder(false);
    finder.visit_expr(body);
    finder.0
}

/// The loop of an inlined side, `|x, out| { ... }`: each operator's closure
/// written in place, its parameter bound to the element (`let line = x;`),
/// then the push into the collector, which makes owned what must outlive
/// the element (see `streamflow_runtime::shuffle::borrowed`).
pub fn inlined_loop(graph: &Graph, side: &Inlined) -> TokenStream {
    let (x, out) = (ident("x"), ident("out"));
    let last = *side.chain.last().expect("inlined sides have operators");
    let end_span = side
        .boundary
        .map_or_else(|| op_span(graph, last), |b| op_span(graph, b));
    let (key, value, source) = (ident("key"), ident("value"), ident("source"));
    // The element, located at the operator: a stream that is not of pairs
    // is reported there.
    let here = Ident::new("x", Span::mixed_site().located_at(end_span));
    let pairs = match side.end {
        End::ByKey { pairs, .. } => Ident::new(pairs, end_span),
        _ => ident("key_value"),
    };
    let (import, push) = match (side.end, side.keeps_references) {
        (End::Batch, false) => (
            quote!(
                use ::streamflow::__private::PushElement as _;
            ),
            quote_spanned!(end_span=> (&&&::streamflow::__private::Ends::of(#source, &#x)).push_element(#out, #x);),
        ),
        (End::ByKey { .. }, false) => (
            quote!(
                use ::streamflow::__private::PushKey as _;
            ),
            quote_spanned! {end_span=>
                let (#key, #value) = ::streamflow::__private::#pairs(#here);
                (&&&::streamflow::__private::Ends::of(#source, &#key)).push_key(#out, #key, #value);
            },
        ),
        (End::ByValue, false) => (
            quote!(
                use ::streamflow::__private::PushValue as _;
            ),
            quote_spanned!(end_span=> (&&&::streamflow::__private::Ends::of(#source, &#x)).push_value(#out, #x);),
        ),
        (End::ByKey { .. }, true) => (
            TokenStream::new(),
            quote_spanned!(end_span=> #out.push(::streamflow::__private::#pairs(#here));),
        ),
        (End::Batch | End::ByValue, true) => (TokenStream::new(), quote_spanned!(end_span=> #out.push(#x);)),
    };
    let mut body = push;
    for &node in side.chain.iter().rev() {
        let call = graph.nodes[node].call().expect("chains hold operators");
        let (pat, expr) = inline_function(graph, node).expect("checked by inlined_sides");
        let span = at(call.method.span());
        let (items, keep) = (ident("items"), ident("keep"));
        body = match call.desc.name {
            "map" => quote_spanned!(span=> let #pat = #x; let #x = #expr; #body),
            "flat_map" => quote_spanned!(span=> let #pat = #x; let #items = #expr; for #x in #items { #body }),
            "filter_map" => quote_spanned! {span=>
                let #pat = #x;
                let #items = #expr;
                if let ::core::option::Option::Some(#x) = #items { #body }
            },
            "filter" => quote_spanned! {span=>
                let #keep = { let #pat = &#x; #expr };
                if #keep { #body }
            },
            "inspect" => quote_spanned!(span=> { let #pat = &#x; #expr; } #body),
            other => unreachable!("`{other}` is not inlined"),
        };
    }
    let own = side.shared.then(|| {
        let at = op_span(graph, side.chain[0]);
        // Located at the first operator, where a missing `Clone` is reported.
        let here = Ident::new("x", Span::mixed_site().located_at(at));
        quote_spanned!(at=> let #x = ::streamflow::__private::share(#here);)
    });
    // A loop reading its lines in place gets `&String`: what it makes of
    // them is stored owned, as if it held the `String`.
    let source_of = match (side.keeps_references, side.in_place) {
        (true, _) => None,
        (false, false) => Some(quote!(let #source = ::streamflow::__private::Source::of(&#x);)),
        (false, true) => Some(quote!(let #source = ::streamflow::__private::Source::of(#x);)),
    };
    quote!(|#x, #out| { #import #own #source_of #body })
}

/// The typing chain's statement for an inlined side, at its last operator:
/// the loop, built once (with a clone of each job parameter its closures
/// name), and the witness of what it collects.
pub fn inlined_binding(graph: &Graph, names: &Names, params: &[crate::parse::Param], side: &Inlined) -> TokenStream {
    let source = names.witness(side.source);
    let last = *side.chain.last().expect("inlined sides have operators");
    let witness = names.witness(last);
    let method = match side.end {
        End::Batch => "map_side_vec",
        End::ByKey { witness, .. } => witness,
        End::ByValue => "map_side_by_value",
    };
    // At the chain's last operator, which produces what the loop keeps: an
    // element it refuses is reported there, once (see `witness::witness_call`).
    let method = Ident::new(
        &format!("{method}{}", if side.shared || side.in_place { "_shared" } else { "" }),
        op_span(graph, last),
    );
    let name = &side.name;
    let functions = side
        .chain
        .iter()
        .filter_map(|&node| graph.nodes[node].call())
        .flat_map(|call| call.functions.iter());
    let function = super::params::capture_loop(functions, params, inlined_loop(graph, side));
    quote!(let (#name, #witness) = #source.#method(#function);)
}

/// Whether a side only reads its elements: the `count` at its end needs no
/// element of its own, and its chain holds only `filter` and `inspect`, which
/// see references. Such a side borrows an owned batch and frees it afterwards
/// off the critical path (see `streamflow_runtime::stage::free_later`).
pub fn only_reads(graph: &Graph, boundary: NodeId, side: &crate::plan::Side) -> bool {
    let counts = graph.nodes[boundary]
        .call()
        .is_some_and(|call| call.signature.runtime == "count");
    counts
        && side.access == Access::Move
        && side.chain.iter().all(|&node| {
            graph.nodes[node]
                .call()
                .is_some_and(|c| matches!(c.desc.name, "filter" | "inspect"))
        })
}

/// The loop of a side that only reads (see [`only_reads`]): each element is
/// a reference to the borrowed batch's element, passed to the filters as it
/// is.
pub fn reading_loop(graph: &Graph, names: &Names, side: &crate::plan::Side, end: Span) -> TokenStream {
    let mut body = quote_spanned!(end=> out.push(x););
    for &node in side.chain.iter().rev() {
        let call = graph.nodes[node].call().expect("chains hold operators");
        let (f, span) = (names.function(node), at(call.method.span()));
        body = match call.desc.name {
            "filter" => quote_spanned!(span=> if #f.call(x) { #body }),
            _ => quote_spanned!(span=> #f.call(x); #body),
        };
    }
    quote!(|x, out| { #body })
}
