use streamflow::prelude::*;

stream_job! {
    pub job NotPairs {
        batch_interval = 1s;
        input words: String;
        input counts: (String, u64);
        let joined = words.join(counts);
        joined.print();
        output joined: (String, (u64, u64)) = joined;
    }
}

fn main() {}
