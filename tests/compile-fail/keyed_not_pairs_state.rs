use streamflow::prelude::*;

// A stateful operator straight on an input port that is not pairs: the
// operator's own message, once.
stream_job! {
    pub job Totals {
        batch_interval = 1s;
        input lines: String;
        output totals: (String, u64) = lines.update_state_by_key(|values: &[u64], old: Option<u64>| {
            Some(old.unwrap_or(0) + values.iter().sum::<u64>())
        });
    }
}

fn main() {}
