use streamflow::prelude::*;

stream_job! {
    pub job Timeless {
        input lines: String;
        output same: String = lines;
    }
}

fn main() {}
