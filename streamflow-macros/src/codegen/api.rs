//! The job's public face: its struct, its inputs and outputs structs, its
//! constructors and its `Job` implementation.

use super::names::{at, ident};
use super::steps::Timing;
use crate::graph::{Graph, OutputUse};
use crate::parse::JobDef;
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

/// Everything a job generates around its construction code.
pub struct JobParts {
    /// The `Plan` expression (a placeholder when the job has errors).
    pub plan: TokenStream,
    /// The body of `with_config`: the typing chain, then the engine (or, when
    /// the job has errors, an unreachable end: the crate will not compile).
    pub build: TokenStream,
    /// Whether the job has errors: its witnesses may then go unused, and a
    /// warning about them would only distract from the errors.
    pub after_errors: bool,
}

/// The `config` parameter of `with_config`, out of reach of the user's
/// functions (a job parameter may be called `config`).
pub fn config_ident() -> syn::Ident {
    ident("config")
}

/// The struct, its companions and their impls.
pub fn job_items(job: &JobDef, graph: &Graph, timing: &Timing, parts: JobParts) -> TokenStream {
    let JobDef {
        attrs,
        vis,
        name,
        params,
        ..
    } = job;
    let inputs_ty = format_ident!("{}Inputs", name);
    let outputs_ty = format_ident!("{}Outputs", name);
    let input_fields = graph.inputs.iter().map(|port| {
        let (field, ty) = (&port.name, &port.ty);
        let doc = format!("The records of input port `{field}` for one batch.");
        quote!(#[doc = #doc] pub #field: ::streamflow::Batch<#ty>)
    });
    let input_setters = graph.inputs.iter().map(|port| {
        let (field, ty) = (&port.name, &port.ty);
        let doc = format!("Sets the records of input port `{field}` for this batch.");
        quote! {
            #[doc = #doc]
            pub fn #field<I>(mut self, records: I) -> Self
            where
                I: ::core::iter::IntoIterator,
                I::Item: ::core::convert::Into<#ty>,
            {
                self.#field = records.into_iter().map(::core::convert::Into::into).collect();
                self
            }
        }
    });
    let output_fields = graph.outputs.iter().filter_map(|output| match output {
        OutputUse::Port { name, ty, stream } if timing.optional(*stream) => {
            let doc = format!(
                "The batch of output port `{name}`: `None` at batch times that are not a multiple of its \
                 window's slide."
            );
            Some(quote!(#[doc = #doc] pub #name: ::core::option::Option<::streamflow::Batch<#ty>>))
        }
        OutputUse::Port { name, ty, .. } => {
            let doc = format!("The batch of output port `{name}`.");
            Some(quote!(#[doc = #doc] pub #name: ::streamflow::Batch<#ty>))
        }
        OutputUse::Sink(_) => None,
    });
    let port_info = |port: &syn::Ident, ty: &syn::Type, sometimes: bool| {
        let port = port.to_string();
        quote! {
            ::streamflow::PortInfo {
                name: #port,
                type_name: ::core::any::type_name::<#ty>,
                type_id: ::core::any::TypeId::of::<#ty>,
                sometimes: #sometimes,
            }
        }
    };
    let input_infos = graph.inputs.iter().map(|p| port_info(&p.name, &p.ty, false));
    let input_sets = graph.inputs.iter().enumerate().map(|(index, port)| {
        let (field, ty) = (&port.name, &port.ty);
        quote! {
            #index => {
                self.#field = *batch.downcast::<::streamflow::Batch<#ty>>()?;
                ::core::result::Result::Ok(())
            }
        }
    });
    let output_ports: Vec<(&syn::Ident, &syn::Type, bool)> = graph
        .outputs
        .iter()
        .filter_map(|o| match o {
            OutputUse::Port { name, ty, stream } => Some((name, ty, timing.optional(*stream))),
            OutputUse::Sink(_) => None,
        })
        .collect();
    let output_infos = output_ports
        .iter()
        .map(|(name, ty, sometimes)| port_info(name, ty, *sometimes));
    let output_takes = output_ports.iter().enumerate().map(|(index, (field, ty, _))| {
        let value = quote_spanned!(at(ty.span())=> ::std::boxed::Box::new(::core::mem::take(&mut self.#field)));
        quote!(#index => ::core::option::Option::Some(#value),)
    });
    // The structs hold every port's batch, and a driver moves them between
    // threads, so they must be `Send`. An element type that is not `Send` is
    // already the witness's error (at the port, or at the operator that
    // produces it); these impls assume it rather than prove it, so that the
    // structs' `Send` is not a second error and a third. The binder keeps
    // the bound from being "trivial" (checked, and an error, where it is
    // declared); a use of the impls still checks it.
    let port_types: Vec<&syn::Type> = graph
        .inputs
        .iter()
        .map(|p| &p.ty)
        .chain(output_ports.iter().map(|(_, ty, _)| *ty))
        .collect();
    let ports_are_elements = quote!(where #(for<'port> #port_types: ::streamflow::__private::PortElement,)*);
    let name_text = name.to_string();
    let inputs_doc = format!("One batch of every input port of [`{name}`].");
    let outputs_doc = format!("One batch of every output port of [`{name}`].");
    let JobParts {
        plan,
        build,
        after_errors,
    } = parts;
    let quiet = after_errors.then(|| quote!(#[allow(unused_variables)]));
    let config = config_ident();
    let param_names: Vec<&syn::Ident> = params.iter().map(|p| &p.name).collect();
    let param_types = params.iter().map(|p| &p.ty);
    let param_decls = quote!(#(#param_names: #param_types),*);
    let (new_doc, with_config_doc) = if params.is_empty() {
        (
            "The job with the default configuration (rayon's global pool).".to_owned(),
            "The job with `config`; fails if the configuration is invalid.".to_owned(),
        )
    } else {
        let list = param_names
            .iter()
            .map(|p| format!("`{p}`"))
            .collect::<Vec<_>>()
            .join(", ");
        (
            format!("The job with its parameters ({list}) and the default configuration (rayon's global pool)."),
            format!("The job with `config` and its parameters ({list}); fails if the configuration is invalid."),
        )
    };
    // `Default` only for a job without parameters: there is nothing to default them to.
    let default_impl = params.is_empty().then(|| {
        quote! {
            impl ::core::default::Default for #name {
                fn default() -> Self {
                    Self::new()
                }
            }
        }
    });
    // Errors about the job's ports as a whole point at the job's name.
    let run = quote_spanned!(at(name.span())=> self.core.run(time, inputs));
    quote! {
        #(#attrs)*
        #vis struct #name {
            core: ::streamflow::__private::JobCore<#inputs_ty, #outputs_ty>,
        }

        #[doc = #inputs_doc]
        #[derive(Default)]
        #vis struct #inputs_ty {
            #(#input_fields,)*
        }

        impl #inputs_ty {
            #(#input_setters)*
        }

        impl ::streamflow::InputPorts for #inputs_ty {
            const PORTS: &'static [::streamflow::PortInfo] = &[#(#input_infos),*];

            fn set_port(
                &mut self,
                index: usize,
                batch: ::std::boxed::Box<dyn ::core::any::Any + ::core::marker::Send>,
            ) -> ::core::result::Result<(), ::std::boxed::Box<dyn ::core::any::Any + ::core::marker::Send>> {
                match index {
                    #(#input_sets)*
                    _ => ::core::result::Result::Err(batch),
                }
            }
        }

        #[doc = #outputs_doc]
        #vis struct #outputs_ty {
            #(#output_fields,)*
        }

        impl ::streamflow::OutputPorts for #outputs_ty #ports_are_elements {
            const PORTS: &'static [::streamflow::PortInfo] = &[#(#output_infos),*];

            fn take_port(
                &mut self,
                index: usize,
            ) -> ::core::option::Option<::std::boxed::Box<dyn ::core::any::Any + ::core::marker::Send>> {
                match index {
                    #(#output_takes)*
                    _ => ::core::option::Option::None,
                }
            }
        }

        impl #name {
            /// The stage plan, produced at compile time.
            pub const PLAN: &'static ::streamflow::Plan = &#plan;

            #[doc = #new_doc]
            // One argument per parameter the user declared.
            #[allow(clippy::too_many_arguments)]
            pub fn new(#param_decls) -> Self {
                ::streamflow::__private::build_default(|#config| Self::with_config(#config, #(#param_names),*))
            }

            #[doc = #with_config_doc]
            #[allow(clippy::too_many_arguments)]
            #quiet
            pub fn with_config(
                #config: ::streamflow::JobConfig,
                #param_decls
            ) -> ::core::result::Result<Self, ::streamflow::ConfigError> {
                #build
            }

            /// An empty batch of inputs, to fill with the ports' setters.
            pub fn inputs() -> #inputs_ty {
                ::core::default::Default::default()
            }

            /// The stage plan as text: stages, their operators and source lines,
            /// and what ends each stage.
            pub fn explain() -> ::std::string::String {
                ::std::string::ToString::to_string(Self::PLAN)
            }
        }

        impl ::core::fmt::Debug for #name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(#name_text).field("fused", &Self::PLAN.fused).finish_non_exhaustive()
            }
        }

        #default_impl

        impl ::streamflow::Job for #name #ports_are_elements {
            type Inputs = #inputs_ty;
            type Outputs = #outputs_ty;

            fn plan(&self) -> &'static ::streamflow::Plan {
                Self::PLAN
            }

            fn config(&self) -> &::streamflow::JobConfig {
                self.core.config()
            }

            fn state(&self) -> &dyn ::streamflow::JobState {
                self.core.state()
            }

            fn state_mut(&mut self) -> &mut dyn ::streamflow::JobState {
                self.core.state_mut()
            }

            fn stage_times(&self) -> &[::std::time::Duration] {
                self.core.stage_times()
            }

            fn set_zero_time(&mut self, zero: ::streamflow::Time) {
                self.core.set_zero_time(zero)
            }

            fn input_partitions(&self) -> &[::streamflow::__private::InputPartitions] {
                self.core.input_partitions()
            }

            fn run_batch(
                &mut self,
                time: ::streamflow::Time,
                inputs: #inputs_ty,
            ) -> ::core::result::Result<#outputs_ty, ::streamflow::BatchError> {
                #run
            }
        }
    }
}
