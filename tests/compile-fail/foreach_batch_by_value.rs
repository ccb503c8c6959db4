use streamflow::prelude::*;

stream_job! {
    pub job Owned {
        batch_interval = 1s;
        input words: String;
        words.foreach_batch(|batch: Batch<String>, _time| drop(batch));
    }
}

fn main() {}
