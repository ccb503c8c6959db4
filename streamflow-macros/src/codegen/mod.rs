//! Pass 5, codegen: the job's Rust code.
//!
//! The per-batch body is one closure: each stage is a call into the runtime
//! with its fused loop as the argument, each intermediate batch a local, so
//! rustc infers every type. The user's functions are bound once, when the job
//! is built, through the typing chain; the state of windows and stateful
//! operators is one value, the `<Job>State` struct, passed to every batch.

mod api;
mod chain;
mod in_place;
mod names;
mod outputs;
mod params;
mod plan_const;
mod state;
mod steps;
mod witness;

use crate::graph::{Graph, NodeId};
use crate::parse::{InputSplit, JobDef};
use crate::plan::Plan;
use names::Names;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};

/// The code of a job that passed every check.
pub fn generate(job: &JobDef, graph: &Graph, plan: &Plan) -> TokenStream {
    let names = Names::new(graph, job.name.span());
    let inlined = chain::inlined_sides(graph, plan, &names);
    let typing = witness::typing_chain(graph, &names, &job.params, &[], &inlined);
    let interval_ms = graph.interval_ms.unwrap_or(1);
    // `explain()` says which stages borrow, as the loops were written.
    let described = chain::described(graph, plan, &names);
    let plan_expr = plan_const::plan_expr(&job.name.to_string(), interval_ms, job.fusion, graph, &described);
    let inputs_ty = format_ident!("{}Inputs", job.name);
    let outputs_ty = format_ident!("{}Outputs", job.name);
    let input_names = graph.inputs.iter().map(|p| &p.name);
    // The ports' own partitioning, evaluated once with the job (a count may
    // be a job parameter) and told to the engine for checkpoints; none when
    // every port has the default.
    let rt = quote!(::streamflow::__private);
    let declared = graph.inputs.iter().any(|port| port.partitions.is_some());
    let split = syn::Ident::new("input_partitions", proc_macro2::Span::mixed_site());
    let splits = graph.inputs.iter().map(|port| match &port.partitions {
        None => quote!(#rt::InputPartitions::Job),
        Some(InputSplit::Kept) => quote!(#rt::InputPartitions::Kept),
        Some(InputSplit::Count(n)) => {
            let n = params::capture(n, &job.params);
            quote!(#rt::InputPartitions::Split(#n))
        }
    });
    let split_values = declared.then(|| quote!(let #split = [#(#splits),*];));
    let told = declared.then(|| quote!(.with_input_partitions(::std::vec::Vec::from(#split))));
    let prepare = graph.inputs.iter().enumerate().map(|(index, port)| {
        let (field, batch) = (&port.name, names.batch(port.node));
        match &port.partitions {
            None => quote!(let #batch = #rt::prepare_input(ctx, #field);),
            Some(_) => quote!(let #batch = #rt::prepare_input_as(ctx, #field, #split[#index]);),
        }
    });
    let timing = steps::Timing::new(&graph.slides(), interval_ms);
    let state = state::value(&job.name, graph, &names);
    let state_param = state::closure_param(&job.name, graph);
    let steps = steps::body(graph, plan, &names, &timing, &inlined);
    let sinks = outputs::sinks(graph, plan, &names, &timing);
    let ports = outputs::port_values(graph, plan, &names, &timing);
    let config = api::config_ident();
    let build = quote! {
        // The fallbacks of the loop's calls of checked functions, found
        // only when a function does not fit (see `typing::Checked`).
        #[allow(unused_imports)]
        use ::streamflow::__private::{
            UncheckedByRef as _, UncheckedByValue as _, UncheckedFolds as _, UncheckedMapsWithState as _,
            UncheckedReduces as _, UncheckedUpdates as _, UncheckedUpdatesAtTime as _,
        };
        #typing
        #state
        #split_values
        let core = ::streamflow::__private::JobCore::new(
            Self::PLAN,
            #config,
            state,
            move |ctx: &::streamflow::BatchContext<'_>, #state_param, inputs: #inputs_ty| {
                let #inputs_ty { #(#input_names),* } = inputs;
                #(#prepare)*
                #steps
                #sinks
                ::core::result::Result::Ok(#outputs_ty { #ports })
            },
        )? #told;
        ::core::result::Result::Ok(Self { core })
    };
    let items = api::job_items(
        job,
        graph,
        &timing,
        api::JobParts {
            plan: plan_expr,
            build,
            after_errors: false,
        },
    );
    let state_struct = state::definition(&job.vis, &job.name, graph, &names);
    quote!(#items #state_struct)
}

/// The code of a job with errors: the public items (so that code using the job
/// does not pile up unrelated errors) and the typing chain of every operator
/// that could be read (so that type errors in closures are reported too).
pub fn generate_after_errors(job: &JobDef, graph: &Graph, broken: &[NodeId]) -> TokenStream {
    let names = Names::new(graph, job.name.span());
    let mut skip = vec![false; graph.nodes.len()];
    for (id, node) in graph.nodes.iter().enumerate() {
        skip[id] = broken.contains(&id) || node.inputs.iter().any(|&input| skip[input]);
    }
    let typing = witness::typing_chain(graph, &names, &job.params, &skip, &[]);
    let name = job.name.to_string();
    let plan = quote! {
        ::streamflow::Plan {
            job: #name, batch_interval_ms: 1, fused: true, file: ::core::file!(),
            inputs: &[], outputs: &[], stages: &[], sinks: &[],
        }
    };
    let config = api::config_ident();
    let build = quote! {
        let _ = #config;
        #typing
        ::core::unreachable!("stream_job! reported errors for this job")
    };
    let interval_ms = graph.interval_ms.unwrap_or(1);
    let timing = steps::Timing::new(&graph.slides(), interval_ms);
    let items = api::job_items(
        job,
        graph,
        &timing,
        api::JobParts {
            plan,
            build,
            after_errors: true,
        },
    );
    let state_struct = state::definition(&job.vis, &job.name, graph, &names);
    quote!(#items #state_struct)
}
