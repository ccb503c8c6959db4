use std::cell::RefCell;
use streamflow::prelude::*;

stream_job! {
    pub job Cells {
        batch_interval = 1s;
        input words: String;
        output lengths: usize = words.map(|w| RefCell::new(w)).repartition(2).map(|w| w.borrow().len());
    }
}

fn main() {}
