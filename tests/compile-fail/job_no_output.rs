use streamflow::prelude::*;

stream_job! {
    pub job Silent {
        batch_interval = 1s;
        input lines: String;
    }
}

fn main() {}
