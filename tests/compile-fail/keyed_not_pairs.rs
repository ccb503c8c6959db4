use streamflow::prelude::*;

stream_job! {
    pub job NotPairs {
        batch_interval = 1s;
        input words: String;
        output counts: String = words.reduce_by_key(|a, b| a + b);
    }
}

fn main() {}
