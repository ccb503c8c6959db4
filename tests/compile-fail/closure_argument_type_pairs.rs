use streamflow::prelude::*;

stream_job! {
    pub job Bumped {
        batch_interval = 1s;
        input counts: (String, u64);
        // `map_values` hands the value itself, not a reference to it.
        output bumped: (String, u64) = counts.map_values(|n: &u64| *n + 1);
    }
}

fn main() {}
