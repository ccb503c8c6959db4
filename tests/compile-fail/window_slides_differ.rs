use streamflow::prelude::*;

stream_job! {
    pub job Mixed {
        batch_interval = 5s;
        input lines: String;
        let recent = lines.window(30s, 10s);
        output both: String = recent.union(lines);
    }
}

fn main() {}
