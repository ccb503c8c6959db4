use streamflow::prelude::*;

stream_job! {
    pub job Typo {
        batch_interval = 1s;
        input words: String;
        let pairs = words.mapp(|w| (w, 1u64));
        output counts: (String, u64) = pairs.reduce_by_key(|a, b| a + b);
    }
}

fn main() {}
