use streamflow::prelude::*;

stream_job! {
    pub job Dangling {
        batch_interval = 1s;
        input lines: String;
        let upper = lines.map(|line| line.to_uppercase());
        output lines: String = lines;
    }
}

fn main() {}
