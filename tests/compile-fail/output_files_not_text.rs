use streamflow::prelude::*;

#[derive(Clone, Debug)]
pub struct Reading {
    pub sensor: u32,
    pub value: f64,
}

stream_job! {
    pub job Archive {
        batch_interval = 1s;
        input readings: Reading;
        readings.save_as_text_files("out/readings", "txt");
    }
}

fn main() {}
