use streamflow::prelude::*;

stream_job! {
    pub job Seconds {
        batch_interval = 1sec;
        input lines: String;
        output same: String = lines;
    }
}

fn main() {}
