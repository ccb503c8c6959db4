//! The per-batch cost of the keyed state tables at about 100 k keys:
//! `update_state_by_key`, `map_with_state` with a timeout, and
//! `reduce_by_key_and_window` with an inverse and a filter, each with keys
//! arriving and leaving every batch.
//!
//! ```text
//! cargo bench --bench keyed_state
//! RUNS=20 cargo bench --bench keyed_state -- map_with_state  # one operator, 20 jobs
//! ```
//!
//! Prints, per operator, the median time per batch once the state has filled,
//! the number of keys in the state at the end, and the median time of each
//! stage (the map side with the exchange, then the reduce side with the
//! state).

use std::time::{Duration, Instant};
use streamflow::prelude::*;

/// Records per batch, spread over `KEYS` keys.
const RECORDS: u64 = 60_000;
const KEYS: u64 = 120_000;
/// Batches run before timing (the state fills), then batches timed.
const WARMUP: u64 = 10;
const TIMED: u64 = 15;

stream_job! {
    pub job Totals {
        batch_interval = 1s;
        input pairs: (u64, u64);
        // An idle key whose total is a multiple of 8 is dropped.
        output totals: (u64, u64) = pairs.update_state_by_key(|new: &[u64], old: Option<u64>| {
            let total = old.unwrap_or(0) + new.iter().sum::<u64>();
            (!new.is_empty() || !total.is_multiple_of(8)).then_some(total)
        });
    }
}

stream_job! {
    pub job Seen {
        batch_interval = 1s;
        input pairs: (u64, u64);
        output seen: (u64, u64) = pairs.map_with_state(
            |key: &u64, value: Option<u64>, state: &mut State<u64>| {
                let total = state.get().copied().unwrap_or(0) + value.unwrap_or(0);
                if !state.is_timing_out() {
                    state.update(total);
                }
                Some((*key, total))
            },
            3s,
        );
    }
}

stream_job! {
    pub job Windowed {
        batch_interval = 1s;
        input pairs: (u64, u64);
        output counts: (u64, u64) =
            pairs.reduce_by_key_and_window(|a, b| a + b, |a, b| a - b, 4s, 1s, 2, |kv: &(u64, u64)| kv.1 != 0);
    }
}

/// Batch `t`: `RECORDS` records over `KEYS` keys, a different draw each batch.
fn batch(t: u64) -> Vec<(u64, u64)> {
    let mut x = t.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..RECORDS)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % KEYS, (x >> 40) % 4 + 1)
        })
        .collect()
}

/// What a job's timed batches took: the median time per batch, the median
/// time of each stage, and the size of the last output (the number of keys,
/// for the state operators).
struct Timing {
    batch: Duration,
    stages: Vec<Duration>,
    size: usize,
}

/// Times the batches after `WARMUP` batches of `runs` jobs made by `job`, one
/// after the other.
fn time_per_batch<J: Job>(
    runs: usize,
    job: impl Fn() -> J,
    inputs: impl Fn(u64) -> J::Inputs,
    size: impl Fn(&J::Outputs) -> usize,
) -> Timing {
    let mut times = Vec::new();
    let mut stages: Vec<Vec<Duration>> = Vec::new();
    let mut last = 0;
    for _ in 0..runs {
        let mut job = job();
        for t in 1..=WARMUP + TIMED {
            let input = inputs(t);
            let start = Instant::now();
            let out = job
                .run_batch(Time::from_secs(t), input)
                .expect("benchmark jobs do not fail");
            let elapsed = start.elapsed();
            last = size(&out);
            drop(out);
            if t > WARMUP {
                times.push(elapsed);
                stages.resize(job.stage_times().len(), Vec::new());
                for (times, &stage) in stages.iter_mut().zip(job.stage_times()) {
                    times.push(stage);
                }
            }
        }
    }
    Timing {
        batch: median(&mut times),
        stages: stages.iter_mut().map(|t| median(t)).collect(),
        size: last,
    }
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn row(name: &str, timing: Timing) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let stages: Vec<String> = timing.stages.iter().map(|&d| format!("{:.2}", ms(d))).collect();
    println!(
        "{name:>24} {:>12.2} {:>12} {:>20}",
        ms(timing.batch),
        timing.size,
        stages.join(" / ")
    );
}

fn main() {
    // `cargo test --benches` runs bench targets with `--test`: nothing to check here.
    if std::env::args().any(|arg| arg == "--test") {
        return;
    }
    let runs: usize = std::env::var("RUNS").ok().and_then(|r| r.parse().ok()).unwrap_or(1);
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let named = |name: &str| filter.as_ref().is_none_or(|f| name.contains(f.as_str()));
    println!("{RECORDS} records per batch over {KEYS} keys; {runs} job(s) per operator");
    println!(
        "{:>24} {:>12} {:>12} {:>20}",
        "operator", "ms/batch", "out elems", "ms per stage"
    );
    if named("update_state_by_key") {
        let totals = time_per_batch(
            runs,
            Totals::new,
            |t| Totals::inputs().pairs(batch(t)),
            |o| o.totals.len(),
        );
        row("update_state_by_key", totals);
    }
    if named("map_with_state") {
        let seen = time_per_batch(runs, Seen::new, |t| Seen::inputs().pairs(batch(t)), |o| o.seen.len());
        row("map_with_state", seen);
    }
    if named("reduce_by_key_and_window") {
        let windowed = time_per_batch(
            runs,
            Windowed::new,
            |t| Windowed::inputs().pairs(batch(t)),
            |o| o.counts.len(),
        );
        row("reduce_by_key_and_window", windowed);
    }
}
