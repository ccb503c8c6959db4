//! Fixtures shared by the examples, integration tests and benchmarks of
//! streamflow: the embedded default input, and generated word data.

#![warn(missing_docs)]

/// The text the examples read when given no input: a few lines of prose, so
/// the README's first command works with nothing else running.
pub const SAMPLE_TEXT: &str = include_str!("sample.txt");

/// `n` words drawn from a fixed vocabulary of `vocabulary` words, as lines of
/// ten words, deterministically (the same call always gives the same lines).
pub fn generated_lines(n: usize, vocabulary: usize) -> Vec<String> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut words = Vec::with_capacity(n);
    for _ in 0..n {
        // xorshift64*: cheap, deterministic, good enough to spread words.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        let r = state.wrapping_mul(0x2545_F491_4F6C_DD1D);
        words.push(format!("w{}", r % vocabulary.max(1) as u64));
    }
    words.chunks(10).map(|chunk| chunk.join(" ")).collect()
}

/// The environment variable that turns on the live examples' status page:
/// `STREAMFLOW_UI=127.0.0.1:4040 cargo run --example network_word_count`.
pub const STATUS_PAGE_ENV: &str = "STREAMFLOW_UI";

/// Starts `context` (as [`StreamingContext::start`]), with its status page
/// on the address in [`STATUS_PAGE_ENV`] when that is set, and prints the
/// page's URL on standard error (standard output is the job's).
pub fn start_live<J: streamflow::Job + 'static>(
    context: streamflow::StreamingContext<J>,
) -> Result<streamflow::StreamingHandle, streamflow::live::StartError> {
    let context = match std::env::var(STATUS_PAGE_ENV) {
        Ok(address) if !address.trim().is_empty() => context.status_page(address.trim()),
        _ => context,
    };
    let handle = context.start()?;
    if let Some(url) = handle.status_page_url() {
        eprintln!("status page: {url} (JSON at {url}api/status, Prometheus metrics at {url}metrics)");
    }
    Ok(handle)
}

pub mod broker;
mod free_ports;
mod paced;
pub mod recoverable;

pub use free_ports::{free_addresses, free_ports};
pub use paced::{paced_line_server, paced_word_totals};
