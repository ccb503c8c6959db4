use streamflow::prelude::*;

stream_job! {
    pub job Running {
        batch_interval = 1s;
        input words: String;
        output running: u64 = words.map(|w| (w, 1u64)).map_with_state(
            |_key: &String, one: Option<&u64>, total: &mut State<u64>| {
                let sum = total.get().copied().unwrap_or(0) + one.copied().unwrap_or(0);
                total.update(sum);
                Some(sum)
            },
        );
    }
}

fn main() {}
