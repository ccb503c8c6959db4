use streamflow::prelude::*;

stream_job! {
    pub job Sizes {
        batch_interval = 1s;
        input words: String;
        output sizes: usize = words.transform(|batch: &Batch<String>| batch.map(|w| w.len()));
    }
}

fn main() {}
