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

pub mod recoverable;
