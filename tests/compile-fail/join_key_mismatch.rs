use streamflow::prelude::*;

stream_job! {
    pub job Mismatch {
        batch_interval = 1s;
        input users: (u64, String);
        input orders: (String, f64);
        output joined: (u64, (String, f64)) = users.join(orders);
    }
}

fn main() {}
