use streamflow::prelude::*;

stream_job! {
    pub job Checkpointed {
        batch_interval = 1s;
        input words: String;
        output a: String = words.persist().checkpoint(10s);
    }
}

fn main() {}
