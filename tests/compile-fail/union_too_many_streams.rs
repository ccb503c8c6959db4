use streamflow::prelude::*;

stream_job! {
    pub job Merge {
        batch_interval = 1s;
        input a: i32;
        output all: i32 = a.union(a, a, a, a, a, a, a, a);
    }
}

fn main() {}
