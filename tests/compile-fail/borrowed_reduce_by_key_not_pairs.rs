use streamflow::prelude::*;

// `reduce_by_key` at the end of a loop that borrows its words: a stream of
// words, not pairs (the `.map(|w| (w, 1))` is missing), is reported once,
// with the operator's own message.
stream_job! {
    pub job NotPairs {
        batch_interval = 1s;
        input lines: String;
        output counts: (String, u64) = lines
            .flat_map(|line| line.split_whitespace())
            .reduce_by_key(|a, b| a + b);
    }
}

fn main() {}
