use streamflow::prelude::*;

stream_job! {
    pub job Sums {
        batch_interval = 1s;
        input words: String;
        let pairs = words.map(|w| (w, 1u64));
        output sums: (String, u64) = pairs.reduce_by_key_and_window(|a: &u64, b: &u64| a + b, 2s, 1s);
        output inverse: (String, u64) = pairs.reduce_by_key_and_window(|a, b| a + b, |a: i64, b: i64| a - b, 2s, 1s);
        output total: u64 = pairs.map(|(_, n)| n).reduce_by_window(|a: String, b| a + b, 2s, 1s);
    }
}

fn main() {}
