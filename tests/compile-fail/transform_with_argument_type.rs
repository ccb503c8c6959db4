use streamflow::prelude::*;

stream_job! {
    pub job Three {
        batch_interval = 1s;
        input a: String;
        input b: u32;
        input c: u32;
        output all: String = a.transform_with(b, c, |a: Batch<String>, b: Batch<u32>, c: Batch<String>, _time| a);
    }
}

fn main() {}
