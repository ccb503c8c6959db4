use streamflow::prelude::*;

stream_job! {
    pub job NotPairs {
        batch_interval = 1s;
        input words: String;
        let groups = words.group_by_key();
        groups.print();
        output groups: (String, Vec<u64>) = groups;
    }
}

fn main() {}
