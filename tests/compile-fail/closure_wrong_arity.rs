use streamflow::prelude::*;

stream_job! {
    pub job Arity {
        batch_interval = 1s;
        input pairs: (String, u64);
        output totals: (String, u64) = pairs.reduce_by_key(|a| a);
    }
}

fn main() {}
