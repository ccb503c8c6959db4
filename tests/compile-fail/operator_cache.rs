use streamflow::prelude::*;

stream_job! {
    pub job Cached {
        batch_interval = 1s;
        input words: String;
        let kept = words.cache();
        output a: String = kept;
        output b: usize = kept.map(|w| w.len());
    }
}

fn main() {}
