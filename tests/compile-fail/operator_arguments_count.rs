use streamflow::prelude::*;

stream_job! {
    pub job TooMany {
        batch_interval = 1s;
        input values: u64;
        output doubled: u64 = values.map(|v| v * 2, 4);
    }
}

fn main() {}
