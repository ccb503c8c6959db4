use streamflow::prelude::*;

// The joins read two streams and take their pairs owned: a word borrowed
// from its line cannot reach them (split the line into owned words). One
// error, which says so; the port adds none.
stream_job! {
    pub job Joined {
        batch_interval = 1s;
        input lines: String;
        input weights: (String, u64);
        output joined: (String, (u64, u64)) = lines
            .flat_map(|line| line.split_whitespace())
            .map(|word| (word, 1u64))
            .join(weights);
    }
}

fn main() {}
