use streamflow::prelude::*;

// `group_by_key` keeps every pair as it comes: it cannot store the owned form
// of a word borrowed from its line, so the borrow cannot outlive the line.
stream_job! {
    pub job Grouped {
        batch_interval = 1s;
        input lines: String;
        output groups: (String, Vec<u64>) = lines
            .flat_map(|line| line.split_whitespace())
            .map(|word| (word, 1u64))
            .group_by_key();
    }
}

fn main() {}
