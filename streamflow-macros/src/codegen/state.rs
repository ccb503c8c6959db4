//! State objects of window and stateful operators, and the writers of file
//! outputs: created once when the job is built, moved into the per-batch
//! closure, passed `&mut` to every call.

use super::names::Names;
use crate::graph::Graph;
use crate::ops::Op;
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};

/// `let mut <op>_line_<n>_state = ...;` for every window and stateful operator.
pub fn constructors(graph: &Graph, names: &Names) -> TokenStream {
    let slides = graph.slides();
    let mut out = TokenStream::new();
    for (id, node) in graph.nodes.iter().enumerate() {
        let Some(call) = node.call() else { continue };
        if !(call.desc.is_window() || call.desc.is_stateful() || call.desc.writes_files()) {
            continue;
        }
        let state = names.state(id);
        let rt = quote!(::streamflow::__private);
        let spec = || {
            let window_ms = call.durations[0].0;
            let slide_ms = call.durations.get(1).map_or(slides[node.inputs[0]], |&(ms, _)| ms);
            quote!(#rt::WindowSpec { window_ms: #window_ms, slide_ms: #slide_ms })
        };
        let initial = names.initial(id);
        let value = match (call.desc.op, call.functions.len()) {
            (Op::Window, _) => {
                let spec = spec();
                quote!(#rt::ElementWindow::new(#spec))
            }
            (Op::ReduceByWindow, 1) => {
                let spec = spec();
                quote!(#rt::ReducedWindow::new(#spec))
            }
            (Op::ReduceByKeyAndWindow, 1) => {
                let spec = spec();
                quote!(#rt::KeyedWindow::new(#spec))
            }
            (Op::GroupByKeyAndWindow, _) => {
                let spec = spec();
                quote!(#rt::GroupedWindow::new(#spec))
            }
            (Op::CountByWindow | Op::ReduceByWindow | Op::ReduceByKeyAndWindow | Op::CountByValueAndWindow, _) => {
                let spec = spec();
                quote!(#rt::InvertibleWindow::new(#spec))
            }
            (Op::UpdateStateByKey | Op::UpdateStateByKeyWithTime, _) => match initial {
                Some(initial) => quote!(#rt::StateStore::with_initial(#initial)),
                None => quote!(#rt::StateStore::new()),
            },
            (Op::MapWithState, _) => {
                let timeout = match call.timeout {
                    Some((ms, _)) => quote!(::core::option::Option::Some(#ms)),
                    None => quote!(::core::option::Option::None),
                };
                match initial {
                    Some(initial) => quote!(#rt::MappedState::with_initial(#timeout, #initial)),
                    None => quote!(#rt::MappedState::new(#timeout)),
                }
            }
            (Op::SaveAsTextFiles | Op::SaveAsObjectFiles, _) => {
                let constructor = syn::Ident::new(call.desc.name, call.method.span());
                let prefix = &call.values[0];
                let suffix = call.values.get(1).map_or_else(|| quote!(""), |suffix| quote!(#suffix));
                quote!(::streamflow::live::sinks::#constructor(#prefix, #suffix))
            }
            (other, _) => unreachable!("{other:?} keeps no state"),
        };
        out.extend(quote_spanned!(call.method.span()=> let mut #state = #value;));
    }
    out
}
