use std::rc::Rc;
use streamflow::prelude::*;

stream_job! {
    pub job Lengths {
        batch_interval = 1s;
        input words: Rc<str>;
        output lengths: usize = words.map(|w| w.len());
    }
}

fn main() {}
