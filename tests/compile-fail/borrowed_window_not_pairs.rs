use streamflow::prelude::*;

// A keyed window at the end of a loop that borrows its words: a stream of
// words, not pairs, is reported with the window's own message.
stream_job! {
    pub job NotPairs {
        batch_interval = 1s;
        input lines: String;
        output counts: (String, u64) = lines
            .flat_map(|line| line.split_whitespace())
            .reduce_by_key_and_window(|a, b| a + b, 2s, 1s);
    }
}

fn main() {}
