use streamflow::prelude::*;

// A keyed end whose port keeps the words as references (the loop pushes
// the pair itself): a stream of words, not pairs, is reported once.
stream_job! {
    pub job NotPairs {
        batch_interval = 1s;
        input lines: String;
        output counts: (&'static str, u64) = lines
            .flat_map(|line| line.split_whitespace())
            .reduce_by_key(|a, b| a + b);
    }
}

fn main() {}
