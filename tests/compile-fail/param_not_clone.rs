use streamflow::prelude::*;

/// Not `Clone`: a job's function cannot get its own copy.
pub struct Limit(u64);

stream_job! {
    pub job Limited(limit: Limit) {
        batch_interval = 1s;
        input xs: u64;
        output small: u64 = xs.filter(|x| *x < limit.0);
    }
}

fn main() {}
