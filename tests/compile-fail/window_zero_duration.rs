use streamflow::prelude::*;

stream_job! {
    pub job Instant {
        batch_interval = 1s;
        input lines: String;
        output recent: String = lines.window(0s);
    }
}

fn main() {}
