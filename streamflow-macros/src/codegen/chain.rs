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

use super::names::{Names, at};
use crate::graph::{Graph, NodeId};
use crate::ops::narrow::Loop;
use crate::plan::Access;
use proc_macro2::{Ident, Span, TokenStream};
use quote::{quote, quote_spanned};

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
