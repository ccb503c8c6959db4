use streamflow::prelude::*;

stream_job! {
    pub job Sums {
        batch_interval = 1s;
        input words: String;
        output sums: (String, u64) = words.map(|w| (w, 1u64)).reduce_by_key(|a: u32, b: u32| a + b);
    }
}

fn main() {}
