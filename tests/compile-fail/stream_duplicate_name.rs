use streamflow::prelude::*;

stream_job! {
    pub job Twice {
        batch_interval = 1s;
        input lines: String;
        let words = lines.map(|l| l.to_lowercase());
        let words = words.filter(|w| !w.is_empty());
        output words: String = words;
    }
}

fn main() {}
