use streamflow::prelude::*;

stream_job! {
    pub job SparkHabits {
        batch_interval = 1s;
        input pairs: (String, u64);
        output totals: (String, u64) = pairs.reduceByKey(|a, b| a + b);
    }
}

fn main() {}
