use streamflow::prelude::*;

stream_job! {
    pub job Discarded {
        batch_interval = 1s;
        input lines: String;
        lines.map(|l| l.len());
        output same: String = lines;
    }
}

fn main() {}
