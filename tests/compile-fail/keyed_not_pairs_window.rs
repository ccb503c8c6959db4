use streamflow::prelude::*;

stream_job! {
    pub job NotPairs {
        batch_interval = 1s;
        input words: String;
        let counts = words.reduce_by_key_and_window(|a, b| a + b, 2s, 1s);
        counts.print();
        output counts: (String, u64) = counts;
    }
}

fn main() {}
