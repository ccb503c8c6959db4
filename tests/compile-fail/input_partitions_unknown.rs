use streamflow::prelude::*;

stream_job! {
    pub job Lines {
        batch_interval = 1s;
        input lines: String, parts = 4;
        output out: String = lines;
    }
}

fn main() {}
