use streamflow::prelude::*;

stream_job! {
    pub job NoUnit {
        batch_interval = 1500;
        input xs: u64;
        output same: u64 = xs;
    }
}

fn main() {}
