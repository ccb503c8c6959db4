use streamflow::prelude::*;

// `combine_by_key` at the end of a loop that borrows its words (its own
// collector, `map_side_combine`): a stream of words is reported once.
stream_job! {
    pub job NotPairs {
        batch_interval = 1s;
        input lines: String;
        output totals: (String, u64) = lines
            .flat_map(|line| line.split_whitespace())
            .combine_by_key(|v| v, |c, v| c + v, |a, b| a + b);
    }
}

fn main() {}
