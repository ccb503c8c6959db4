//! What the status page costs a job when nobody looks at it: the same word
//! count on a manual clock, batch after batch, with the page off and on
//! (rounds interleaved), printing the time per batch of each.
//!
//! ```text
//! cargo bench --bench status_page_cost
//! ```
//!
//! With the page on, a listener keeps the bounded history on the listener
//! thread and the server thread waits for requests; nothing is rendered
//! unless a request comes.

use std::sync::Arc;
use std::time::{Duration, Instant};
use streamflow::StreamingContext;
use streamflow::live::{ManualClock, StatusLine, sinks, sources};
use streamflow::prelude::*;

stream_job! {
    /// Word count, 100 ms batches.
    pub job Count {
        batch_interval = 100ms;
        input lines: String;
        output counts: (String, u64) = lines
            .flat_map(|line| line.split(' ').map(str::to_owned).collect::<Vec<_>>())
            .map(|word| (word, 1u64))
            .reduce_by_key(|a, b| a + b);
    }
}

const BATCHES: usize = 300;
const LINES: usize = 200;
const ROUNDS: usize = 5;

/// Mean time per batch over one run.
fn run(page: bool) -> Duration {
    let lines = streamflow_workspace::generated_lines(LINES * 10, 1000);
    let queue: Vec<Vec<String>> = (0..BATCHES).map(|_| lines.clone()).collect();
    let clock = Arc::new(ManualClock::new());
    let mut context = StreamingContext::new(Count::new())
        .clock(clock.clone())
        .status_line(StatusLine::Never)
        .input("lines", sources::queue_stream(queue))
        .unwrap()
        .output("counts", sinks::collect::<(String, u64)>().0)
        .unwrap();
    if page {
        context = context.status_page("127.0.0.1:0");
    }
    let handle = context.start().unwrap();
    let start = Instant::now();
    for k in 1..=BATCHES as u64 {
        clock.advance(Duration::from_millis(100));
        assert!(handle.wait_for_batches(k, Duration::from_secs(60)));
    }
    let elapsed = start.elapsed();
    handle.stop(false).unwrap();
    elapsed / BATCHES as u32
}

fn main() {
    let mut off = Vec::new();
    let mut on = Vec::new();
    for _ in 0..ROUNDS {
        off.push(run(false));
        on.push(run(true));
    }
    off.sort();
    on.sort();
    println!("{BATCHES} batches of {LINES} lines, {ROUNDS} interleaved rounds; time per batch");
    println!("{:<12} {:>10} {:>10} {:>10}", "status page", "min", "median", "max");
    for (name, times) in [("off", &off), ("on", &on)] {
        println!(
            "{name:<12} {:>8.0}µs {:>8.0}µs {:>8.0}µs",
            times[0].as_secs_f64() * 1e6,
            times[ROUNDS / 2].as_secs_f64() * 1e6,
            times[ROUNDS - 1].as_secs_f64() * 1e6
        );
    }
}
