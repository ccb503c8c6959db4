//! The inverse form of `reduce_by_key_and_window` does work proportional to
//! the batches entering and leaving the window, not to its length: the window
//! grows at a fixed input rate, and the time per batch stays flat with the
//! inverse function and grows without it.
//!
//! ```text
//! cargo bench --bench windows
//! ```
//!
//! Prints, for each window length, the median time per batch (slide = batch
//! interval, so every batch emits a window) once the window is full.

use std::time::{Duration, Instant};
use streamflow::prelude::*;

/// Records per batch, spread over `KEYS` keys.
const RECORDS: usize = 50_000;
const KEYS: u64 = 10_000;
/// Batches timed per configuration, after the window has filled.
const TIMED: usize = 15;

macro_rules! window_jobs {
    ($module:ident, $window:literal) => {
        mod $module {
            use super::*;

            stream_job! {
                pub job Plain {
                    batch_interval = 1s;
                    input pairs: (u64, u64);
                    output counts: (u64, u64) = pairs.reduce_by_key_and_window(|a, b| a + b, $window, 1s);
                }
            }

            stream_job! {
                pub job Inverse {
                    batch_interval = 1s;
                    input pairs: (u64, u64);
                    output counts: (u64, u64) =
                        pairs.reduce_by_key_and_window(|a, b| a + b, |a, b| a - b, $window, 1s);
                }
            }
        }
    };
}

window_jobs!(w10, 10s);
window_jobs!(w30, 30s);
window_jobs!(w60, 60s);
window_jobs!(w120, 120s);

/// One batch of input: the same records every batch (a fixed rate).
fn batch() -> Vec<(u64, u64)> {
    (0..RECORDS as u64)
        .map(|i| (i.wrapping_mul(2_654_435_761) % KEYS, 1))
        .collect()
}

/// Median time per batch of `job` once `warmup` batches have filled its window.
fn time_per_batch<J: Job>(mut job: J, warmup: usize, inputs: impl Fn() -> J::Inputs) -> Duration {
    let mut times = Vec::with_capacity(TIMED);
    for k in 1..=warmup + TIMED {
        let input = inputs();
        let start = Instant::now();
        let out = job
            .run_batch(Time::from_secs(k as u64), input)
            .expect("benchmark jobs do not fail");
        let elapsed = start.elapsed();
        drop(out);
        if k > warmup {
            times.push(elapsed);
        }
    }
    times.sort();
    times[times.len() / 2]
}

macro_rules! row {
    ($module:ident, $seconds:literal, $input:expr) => {{
        let plain = time_per_batch($module::Plain::new(), $seconds, || {
            $module::Plain::inputs().pairs($input())
        });
        let inverse = time_per_batch($module::Inverse::new(), $seconds, || {
            $module::Inverse::inputs().pairs($input())
        });
        println!(
            "{:>8} {:>18.2} {:>18.2} {:>10.1}x",
            concat!($seconds, "s"),
            plain.as_secs_f64() * 1e3,
            inverse.as_secs_f64() * 1e3,
            plain.as_secs_f64() / inverse.as_secs_f64()
        );
    }};
}

fn main() {
    // `cargo test --benches` runs bench targets with `--test`: nothing to check here.
    if std::env::args().any(|arg| arg == "--test") {
        return;
    }
    println!("reduce_by_key_and_window, {RECORDS} records per batch over {KEYS} keys, slide = batch interval");
    println!(
        "{:>8} {:>18} {:>18} {:>11}",
        "window", "plain ms/batch", "inverse ms/batch", "plain/inv"
    );
    let input = batch;
    row!(w10, 10, input);
    row!(w30, 30, input);
    row!(w60, 60, input);
    row!(w120, 120, input);
}
