use streamflow::prelude::*;

#[derive(Clone)]
pub struct Opaque(u64);

stream_job! {
    pub job Invisible {
        batch_interval = 1s;
        input values: u64;
        let wrapped = values.map(Opaque);
        wrapped.print();
    }
}

fn main() {}
