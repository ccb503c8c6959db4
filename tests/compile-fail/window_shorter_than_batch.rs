use streamflow::prelude::*;

stream_job! {
    pub job Short {
        batch_interval = 500ms;
        input xs: u64;
        output recent: u64 = xs.window(100ms);
    }
}

fn main() {}
