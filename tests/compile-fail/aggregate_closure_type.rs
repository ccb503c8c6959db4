use streamflow::prelude::*;

stream_job! {
    pub job Aggregates {
        batch_interval = 1s;
        input words: String;
        output longest: String = words.reduce(|a: &String, b: &String| if a.len() >= b.len() { a.clone() } else { b.clone() });
        output averages: (String, (u64, u64)) = words.map(|w| (w, 1u64)).combine_by_key(
            |v| (v, 1u64),
            |(sum, n): (u64, u64), v: u32| (sum + v as u64, n + 1),
            |a: (u64, u64), b: (u64, u64)| (a.0 + b.0, a.1 + b.1),
        );
    }
}

fn main() {}
