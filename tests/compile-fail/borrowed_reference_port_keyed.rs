use streamflow::prelude::*;

// As `borrowed_reference_port`, for a keyed operator: a port of
// `(&'static str, u64)` keeps the keys as references, which cannot outlive
// the `String` line they borrow from.
stream_job! {
    pub job Counts {
        batch_interval = 1s;
        input lines: String;
        output counts: (&'static str, u64) = lines
            .flat_map(|line| line.split_whitespace())
            .map(|word| (word, 1u64))
            .reduce_by_key(|a, b| a + b);
    }
}

fn main() {}
