use std::rc::Rc;
use streamflow::prelude::*;

stream_job! {
    pub job Counted {
        batch_interval = 1s;
        input words: String;
        output out: (Rc<str>, u64) = words.map(|w| (Rc::from(w.as_str()), 1u64));
    }
}

fn main() {}
