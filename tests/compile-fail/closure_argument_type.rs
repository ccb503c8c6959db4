use streamflow::prelude::*;

stream_job! {
    pub job Lines {
        batch_interval = 1s;
        input lines: String;
        output long: String = lines.filter(|l: String| l.len() > 3);
    }
}

fn main() {}
