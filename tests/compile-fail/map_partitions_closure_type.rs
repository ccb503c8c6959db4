use streamflow::prelude::*;

stream_job! {
    pub job Lengths {
        batch_interval = 1s;
        input numbers: u64;
        // The partition is a `Vec<u64>`, not a `Vec<String>`.
        output lengths: usize = numbers.map_partitions(|part: Vec<String>| part.into_iter().map(|s| s.len()));
    }
}

stream_job! {
    pub job Sizes {
        batch_interval = 1s;
        input numbers: u64;
        // A partition's size is one number, not the elements of a partition.
        output sizes: usize = numbers.map_partitions(|part| part.len());
    }
}

fn main() {}
