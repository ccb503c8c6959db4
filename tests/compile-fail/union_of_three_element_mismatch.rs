use streamflow::prelude::*;

stream_job! {
    pub job Merge {
        batch_interval = 1s;
        input xs: i32;
        input ys: u8;
        input zs: i32;
        output all: i32 = xs.union(zs, ys);
    }
}

fn main() {}
