//! The job's state as a value: the `<Job>State` struct, one `Kept` field per
//! window or stateful operator (generic over each state object's type, which
//! only rustc can name), and its construction when the job is built.

use super::names::Names;
use super::names::at;
use crate::graph::{Graph, NodeId, OpCall};
use crate::ops::Keeps;
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;

/// The nodes whose operator keeps state, in job order: the struct's fields.
fn kept(graph: &Graph) -> Vec<(NodeId, &OpCall)> {
    graph
        .nodes
        .iter()
        .enumerate()
        .filter_map(|(id, node)| node.call().filter(|c| c.desc.keeps_state()).map(|call| (id, call)))
        .collect()
}

/// The name of the state struct of job `job`.
pub fn struct_name(job: &Ident) -> Ident {
    format_ident!("{}State", job)
}

/// The body closure's parameter for the state: `state: &mut <Job>State<_, _>`,
/// its type's parameters left to inference (`_state` when nothing is kept).
pub fn closure_param(job: &Ident, graph: &Graph) -> TokenStream {
    let name = struct_name(job);
    match kept(graph).len() {
        0 => quote!(_state: &mut #name),
        n => {
            let holes = (0..n).map(|_| quote!(_));
            quote!(state: &mut #name<#(#holes),*>)
        }
    }
}

/// The struct and its `JobState` implementation.
pub fn definition(vis: &syn::Visibility, job: &Ident, graph: &Graph, names: &Names) -> TokenStream {
    let name = struct_name(job);
    let kept = kept(graph);
    let params: Vec<Ident> = (0..kept.len()).map(|i| format_ident!("S{}", i)).collect();
    let fields: Vec<&Ident> = kept.iter().map(|&(id, _)| names.field(id)).collect();
    let declarations = kept.iter().zip(&params).map(|(&(id, call), param)| {
        let line = call.method.span().start().line;
        let stream = graph.nodes[id]
            .name
            .as_ref()
            .map(|name| format!(" (stream `{name}`)"))
            .unwrap_or_default();
        let doc = format!("`{}` at line {line}{stream}.", call.desc.name);
        let field = names.field(id);
        quote!(#[doc = #doc] pub #field: ::streamflow::__private::Kept<#param>)
    });
    let doc = format!("The state kept across batches by [`{job}`]: one field per window or stateful operator.");
    let generics = (!params.is_empty()).then(|| quote!(<#(#params),*>));
    let bounded = (!params.is_empty()).then(|| quote!(<#(#params: ::core::marker::Send + 'static),*>));
    quote! {
        #[doc = #doc]
        #vis struct #name #generics {
            #(#declarations,)*
        }

        impl #bounded ::streamflow::JobState for #name #generics {
            fn kept(&self) -> ::std::vec::Vec<&dyn ::streamflow::__private::KeptState> {
                ::std::vec![#(&self.#fields),*]
            }

            fn kept_mut(&mut self) -> ::std::vec::Vec<&mut dyn ::streamflow::__private::KeptState> {
                ::std::vec![#(&mut self.#fields),*]
            }
        }
    }
}

/// `let state = <Job>State { field: Kept::new("field", StateType::new(..), codec), .. };`
///
/// Each codec comes from its witness's probe, asked once the state types are
/// inferred: `(&&probe).codec()` finds the serde codec of a serde type and none
/// for another (the traits of both answers are brought into scope here).
pub fn value(job: &Ident, graph: &Graph, names: &Names) -> TokenStream {
    let name = struct_name(job);
    let slides = graph.slides();
    let rt = quote!(::streamflow::__private);
    let fields = kept(graph).into_iter().map(|(id, call)| {
        let field = names.field(id);
        let stable_id = field.to_string();
        let state_type = Ident::new(
            call.signature
                .state
                .expect("a signature of an operator keeping state names its type"),
            at(call.method.span()),
        );
        let args = match call.desc.keeps {
            Keeps::Window => {
                let window_ms = call.durations[0].0;
                let input_slide = slides[graph.nodes[id].inputs[0]];
                let slide_ms = call.durations.get(1).map_or(input_slide, |&(ms, _)| ms);
                quote!(#rt::WindowSpec { window_ms: #window_ms, slide_ms: #slide_ms })
            }
            Keeps::Keys => {
                let initial = names
                    .initial(id)
                    .map_or_else(|| quote!(::core::iter::empty()), |initial| quote!(#initial));
                let timeout = call.desc.takes_timeout().then(|| match call.timeout {
                    Some((ms, _)) => quote!(::core::option::Option::Some(#ms),),
                    None => quote!(::core::option::Option::None,),
                });
                quote!(#timeout #initial)
            }
            Keeps::Nothing => unreachable!("only operators keeping state have a field"),
        };
        let codec = names.codec(id);
        let span = at(call.method.span());
        // Keyed state and keyed windows are fixed in their partition count
        // when the job is built, so that a checkpoint saved in another is
        // refused; every restored state is checked against the operator as
        // built now (`restored`: its count, a window's shape, a timeout).
        let fixed = (call.desc.keeps == Keeps::Keys || call.desc.partitions).then(|| {
            let requested = match &call.partitions {
                Some(n) => quote!(::core::option::Option::Some(#n)),
                None => quote!(::core::option::Option::None),
            };
            // `with_config`'s parameter (a mixed-site name, which the
            // operator's span would not find).
            let config = super::api::config_ident();
            quote!(.fixed_in(#rt::state_partitions(&#config, #requested)))
        });
        quote_spanned! {span=>
            #field: #rt::Kept::new(#stable_id, #rt::#state_type::new(#args)#fixed, (&&#codec).codec())
                .checked(#rt::#state_type::restored)
        }
    });
    let fields: Vec<TokenStream> = fields.collect();
    let codecs = (!fields.is_empty()).then(|| quote!(use #rt::{NoCodec as _, SerdeCodec as _};));
    quote!(#codecs let state = #name { #(#fields),* };)
}
