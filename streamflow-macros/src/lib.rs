//! The `stream_job!` compiler: parse -> graph -> check -> plan -> codegen, one
//! module per pass, each on `proc_macro2` types so it is unit-tested as plain
//! Rust. The macro knows nothing about threads; the runtime knows nothing about
//! syntax.

mod captures;
mod check;
mod codegen;
mod diag;
mod duration;
mod graph;
mod ops;
mod parse;
mod plan;
mod syntax;

use proc_macro::TokenStream;

/// Defines streaming jobs: the compiler of the job language.
#[proc_macro]
pub fn stream_job(input: TokenStream) -> TokenStream {
    compile(input.into()).into()
}

/// The whole compiler on `proc_macro2` tokens.
fn compile(input: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    let file: parse::JobFile = match syn::parse2(input) {
        Ok(file) => file,
        Err(e) => return e.to_compile_error(),
    };
    file.jobs.iter().map(compile_job).collect()
}

fn compile_job(job: &parse::JobDef) -> proc_macro2::TokenStream {
    let mut diag = diag::Diagnostics::default();
    let graph = graph::build(job, &mut diag);
    let broken = check::check(job, &graph, &mut diag);
    if !diag.is_empty() {
        let mut out = diag.to_compile_errors();
        out.extend(codegen::generate_after_errors(job, &graph, &broken));
        return out;
    }
    let plan = plan::plan(&graph, job.fusion);
    codegen::generate(job, &graph, &plan)
}

#[cfg(test)]
mod expansion_tests;
