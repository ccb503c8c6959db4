use streamflow::prelude::*;

stream_job! {
    pub job Forgotten {
        batch_interval = 1s;
        input lines: String;
        input clicks: u64;
        output same: String = lines;
    }
}

fn main() {}
