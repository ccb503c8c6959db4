use streamflow::prelude::*;

stream_job! {
    pub job Totals {
        batch_interval = 1s;
        input clicks: (String, u64);
        // Spark's `updateStateByKey(f, numPartitions)`: here the count follows the initial state.
        output totals: (String, u64) =
            clicks.update_state_by_key(|new: &[u64], total: Option<u64>| Some(total.unwrap_or(0) + new.len() as u64), 8);
    }
}

fn main() {}
