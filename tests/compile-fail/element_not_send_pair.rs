use std::rc::Rc;
use streamflow::prelude::*;

stream_job! {
    pub job SharedKeys {
        batch_interval = 1s;
        input words: String;
        output counts: u64 = words
            .map(|w| (Rc::<str>::from(w), 1u64))
            .reduce_by_key(|a, b| a + b)
            .map(|(_, n)| n);
    }
}

fn main() {}
