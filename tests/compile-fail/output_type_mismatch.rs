use streamflow::prelude::*;

stream_job! {
    pub job WrongPort {
        batch_interval = 1s;
        input lines: String;
        output lengths: u32 = lines.map(|line| line.len());
    }
}

fn main() {}
