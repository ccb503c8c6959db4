use streamflow::prelude::*;

// `update_state_by_key` at the end of a loop that borrows its words (a
// grouper, `map_side_group`): a stream of words is reported once.
stream_job! {
    pub job NotPairs {
        batch_interval = 1s;
        input lines: String;
        output totals: (String, u64) = lines
            .flat_map(|line| line.split_whitespace())
            .update_state_by_key(|new: &[u64], old: Option<u64>| Some(old.unwrap_or(0) + new.iter().sum::<u64>()));
    }
}

fn main() {}
