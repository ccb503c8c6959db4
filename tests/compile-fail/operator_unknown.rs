use streamflow::prelude::*;

stream_job! {
    pub job Typo {
        batch_interval = 1s;
        input lines: String;
        output words: String = lines.flatmap(|line| line.split(' ').map(str::to_owned).collect::<Vec<_>>());
    }
}

fn main() {}
