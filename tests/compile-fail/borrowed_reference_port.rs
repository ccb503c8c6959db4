use streamflow::prelude::*;

// The port says `&'static str`, so the loop keeps the words as references;
// but they borrow from `String` lines that the batch frees: the borrow
// cannot be kept. Declaring the port as `String` stores each word owned.
stream_job! {
    pub job Words {
        batch_interval = 1s;
        input lines: String;
        output words: &'static str = lines.flat_map(|line| line.split_whitespace());
    }
}

fn main() {}
