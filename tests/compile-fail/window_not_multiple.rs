use streamflow::prelude::*;

stream_job! {
    pub job Misaligned {
        batch_interval = 2s;
        input lines: String;
        output recent: String = lines.window(5s, 2s);
    }
}

fn main() {}
