use std::rc::Rc;
use streamflow::prelude::*;

stream_job! {
    #[fusion(off)]
    pub job Shared {
        batch_interval = 1s;
        input words: String;
        output shared: usize = words.map(|w| Rc::new(w)).repartition(2).map(|w| w.len());
    }
}

fn main() {}
