use streamflow::prelude::*;

stream_job! {
    pub job Merge {
        batch_interval = 1s;
        input xs: i32;
        input ys: u8;
        output both: i32 = xs.union(ys);
    }
}

fn main() {}
