//! The end of the per-batch body: the output operators in declaration order,
//! each `op(ctx, sink_index, bound, batch)` with the value its witness
//! returned, then the output ports.

use super::names::Names;
use super::names::at;
use super::steps::{Timing, access};
use crate::graph::{Graph, OutputUse};
use crate::plan::{Access, Plan};
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

/// One statement per output operator, in declaration order.
pub fn sinks(graph: &Graph, plan: &Plan, names: &Names, timing: &Timing) -> TokenStream {
    let sink_reads = plan.outputs.iter().filter_map(|read| match graph.outputs[read.output] {
        OutputUse::Sink(node) => Some((node, read)),
        OutputUse::Port { .. } => None,
    });
    let mut out = TokenStream::new();
    for (sink_index, (node, read)) in sink_reads.enumerate() {
        let call = graph.nodes[node].call().expect("a sink is an operator");
        let sink = call.desc.sink.expect("an output operator says how it is called");
        let span = at(call.method.span());
        let runtime_fn = syn::Ident::new(call.signature.runtime, span);
        let bound = names.function(node);
        let bound = if sink.bound_mut {
            quote!(&mut #bound)
        } else {
            quote!(&#bound)
        };
        let variable = names.batch(read.source);
        let call = |batch: TokenStream| quote_spanned!(span=> ::streamflow::__private::#runtime_fn(ctx, #sink_index, #bound, #batch)?;);
        out.extend(if timing.optional(read.source) {
            let (scrutinee, batch) = match read.access {
                Access::Move => (quote!(#variable), quote!(batch)),
                Access::Borrow => (quote!(&#variable), quote!(batch)),
                Access::Clone => (quote!(&#variable), quote!(::streamflow::__private::share_batch(batch))),
            };
            let call = call(batch);
            quote!(if let ::core::option::Option::Some(batch) = #scrutinee { #call })
        } else {
            call(access(variable, read.access))
        });
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
