use streamflow::prelude::*;

// A word borrowed from its line on the right side of a join: one error, the
// key mismatch, whose note says to make the key owned.
stream_job! {
    pub job JoinedRight {
        batch_interval = 1s;
        input lines: String;
        input weights: (String, u64);
        output joined: (String, (u64, u64)) = weights.join(
            lines
                .flat_map(|line| line.split_whitespace())
                .map(|word| (word, 1u64)),
        );
    }
}

fn main() {}
