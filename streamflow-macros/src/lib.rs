//! The `stream_job!` compiler.
use proc_macro::TokenStream;

/// Defines a streaming job.
#[proc_macro]
pub fn stream_job(input: TokenStream) -> TokenStream {
    let _ = input;
    TokenStream::new()
}
