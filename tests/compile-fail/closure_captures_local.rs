use streamflow::prelude::*;

fn main() {
    let threshold = 5;
    stream_job! {
        pub job Big {
            batch_interval = 1s;
            input xs: u64;
            output big: u64 = xs.filter(|x| *x > threshold);
        }
    }
    let _ = Big::new();
}
