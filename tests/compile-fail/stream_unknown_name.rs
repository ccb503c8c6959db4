use streamflow::prelude::*;

stream_job! {
    pub job Missing {
        batch_interval = 1s;
        input lines: String;
        output same: String = line.map(|l| l);
    }
}

fn main() {}
