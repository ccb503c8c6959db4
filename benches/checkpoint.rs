//! What checkpointing costs a stateful live job: the time per batch with
//! checkpointing off, on at the default interval (every 10 batches of 1 s),
//! and on every batch.
//!
//! ```text
//! cargo bench --bench checkpoint                 # about two minutes
//! cargo bench --bench checkpoint -- --rounds 3   # fewer rounds
//! ```
//!
//! The job keeps running totals of 100 k keys (`update_state_by_key`) and
//! counts each batch (`reduce_by_key`); every batch brings 200 k records over
//! those keys, from a replayable direct source (an offset range per batch,
//! as Kafka's). It runs on a manual clock, so a batch is cut exactly when the
//! bench advances the clock, and the next only after it completed: no
//! batch waits for another. The configurations run interleaved, in rounds,
//! each with a fresh checkpoint directory under the system's temporary
//! directory; the filesystem that holds it is printed, as fsync cost depends
//! on it.
//!
//! The cost of a checkpoint at an interval is paid by the batch after which
//! the state is saved, so the figure compared is the mean time per batch
//! (the amortized cost); the median batch and the mean of the batches that
//! saved the state are shown too.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use streamflow::StreamingContext;
use streamflow::live::sources::{self, Cut, Reader, Source, SourceContext, SourceError};
use streamflow::live::{ManualClock, StatusLine, sinks};
use streamflow::prelude::*;

/// Records per batch.
const RECORDS: u64 = 200_000;
/// Distinct keys the records are spread over.
const KEYS: u64 = 100_000;
/// Batches run before timing: the state reaches all its keys.
const WARMUP: u64 = 10;
/// Batches timed per run: three default-interval checkpoints among them.
const TIMED: u64 = 30;
const INTERVAL: Duration = Duration::from_secs(1);

stream_job! {
    /// Running totals per key, and each batch's counts per key.
    pub job Totals {
        batch_interval = 1s;
        input events: (u64, u64);
        let counts = events.reduce_by_key(|a, b| a + b);
        let totals = events.update_state_by_key(|new: &[u64], old: Option<u64>| {
            Some(old.unwrap_or(0) + new.iter().sum::<u64>())
        });
        output counts: (u64, u64) = counts;
        output totals: (u64, u64) = totals;
    }
}

/// A log of events in which batch `k` reads offsets `k·RECORDS..(k+1)·RECORDS`;
/// the record at an offset is a function of it, so any batch can be read again.
struct Events {
    next: u64,
}

impl Source for Events {
    type Item = (u64, u64);
    type Positions = Range<u64>;
    type Reader = EventsReader;

    fn start(&mut self, _ctx: &SourceContext) -> Result<EventsReader, SourceError> {
        Ok(EventsReader)
    }

    fn cut(&mut self, _time: Time) -> Result<Cut<Range<u64>>, SourceError> {
        let range = self.next..self.next + RECORDS;
        self.next = range.end;
        Ok(Cut::new(range).with_records(RECORDS as usize))
    }
}

struct EventsReader;

/// The key at an offset: splitmix64's finalizer spreads offsets over the keys.
fn key(offset: u64) -> u64 {
    let mut z = offset.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) % KEYS
}

impl Reader for EventsReader {
    type Item = (u64, u64);
    type Positions = Range<u64>;

    fn deliver(&mut self, _time: Time, range: &Range<u64>) -> Result<Batch<(u64, u64)>, SourceError> {
        Ok(Batch::from_vec(range.clone().map(|offset| (key(offset), 1)).collect()))
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Config {
    Off,
    Default,
    EveryBatch,
}

impl Config {
    const ALL: [Config; 3] = [Config::Off, Config::Default, Config::EveryBatch];

    fn name(self) -> &'static str {
        match self {
            Config::Off => "off",
            Config::Default => "default (10 s)",
            Config::EveryBatch => "every batch",
        }
    }

    /// Whether the state is saved after batch `k` (times are k·1 s).
    fn saves_after(self, k: u64) -> bool {
        match self {
            Config::Off => false,
            Config::Default => k.is_multiple_of(10),
            Config::EveryBatch => true,
        }
    }
}

/// What one run measured, over its timed batches.
struct Run {
    /// Each timed batch's processing time, and whether it saved the state.
    batches: Vec<(Duration, bool)>,
    /// Wall time from advancing the clock to the batch's completion (the cut
    /// and the inputs record, which run before the batch is queued, included).
    wall: Vec<Duration>,
    /// The size of the newest state snapshot on disk, if any.
    snapshot_bytes: Option<u64>,
}

fn newest_snapshot_size(dir: &Path) -> Option<u64> {
    let entries = std::fs::read_dir(dir.join("state")).ok()?;
    entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".state"))
        .filter_map(|e| e.metadata().ok().map(|m| m.len()))
        .max()
}

fn run(config: Config, dir: &Path) -> Run {
    let clock = Arc::new(ManualClock::new());
    let mut context = StreamingContext::new(Totals::new())
        .clock(clock.clone())
        .status_line(StatusLine::Never)
        .input("events", sources::direct_stream(Events { next: 0 }))
        .unwrap()
        // Sinks that touch every record, so that both outputs are computed
        // and read, as a real job's would be.
        .output::<(u64, u64)>(
            "counts",
            sinks::foreach(|batch: &Batch<(u64, u64)>, _| {
                std::hint::black_box(batch.iter().map(|(_, v)| *v).sum::<u64>());
            }),
        )
        .unwrap()
        .output::<(u64, u64)>(
            "totals",
            sinks::foreach(|batch: &Batch<(u64, u64)>, _| {
                std::hint::black_box(batch.iter().map(|(_, v)| *v).sum::<u64>());
            }),
        )
        .unwrap();
    match config {
        Config::Off => {}
        Config::Default => context = context.checkpoint(dir),
        Config::EveryBatch => context = context.checkpoint(dir).checkpoint_interval(INTERVAL),
    }
    let handle = context.start().unwrap();
    let mut wall = Vec::new();
    for k in 1..=WARMUP + TIMED {
        let start = Instant::now();
        clock.advance(INTERVAL);
        if !handle.wait_for_batches(k, Duration::from_secs(120)) {
            let failures: Vec<_> = handle.batches().into_iter().filter_map(|b| b.failure).collect();
            panic!(
                "batch {k} did not complete ({}): {:?}; failed batches: {failures:?}",
                config.name(),
                handle.stop(false).err()
            );
        }
        if k > WARMUP {
            wall.push(start.elapsed());
        }
    }
    let infos = handle.batches();
    handle.stop(false).unwrap();
    let batches = infos
        .iter()
        .enumerate()
        .skip(WARMUP as usize)
        .map(|(i, info)| {
            assert!(info.failure.is_none(), "batch failed: {:?}", info.failure);
            assert_eq!(info.records(), RECORDS as usize);
            (
                info.processing_time.expect("a completed batch has a processing time"),
                config.saves_after(i as u64 + 1),
            )
        })
        .collect();
    Run {
        batches,
        wall,
        snapshot_bytes: newest_snapshot_size(dir),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

fn min_max(values: &[f64]) -> (f64, f64) {
    values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(*v), hi.max(*v))
    })
}

/// The filesystem type holding `path` (from /proc/mounts: the longest mount
/// point that is a prefix of it).
fn filesystem(path: &Path) -> String {
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let device = fields.next()?;
            let mount = fields.next()?;
            let kind = fields.next()?;
            path.starts_with(mount)
                .then(|| (mount.len(), format!("{kind} on {device}, mounted at {mount}")))
        })
        .max_by_key(|(len, _)| *len)
        .map_or_else(|| "unknown".to_owned(), |(_, text)| text)
}

/// The cost of one durable write of `bytes` bytes as the checkpoint does it
/// (temporary file, fsync, rename, fsync of the directory): median of `n`.
fn durable_write_ms(dir: &Path, bytes: usize, n: usize) -> f64 {
    let payload = vec![0x5Au8; bytes];
    let times: Vec<f64> = (0..n)
        .map(|i| {
            let start = Instant::now();
            let temp = dir.join(format!(".tmp-{i}"));
            let path = dir.join(format!("{i}.probe"));
            std::fs::write(&temp, &payload).unwrap();
            std::fs::File::open(&temp).unwrap().sync_all().unwrap();
            std::fs::rename(&temp, &path).unwrap();
            std::fs::File::open(dir).unwrap().sync_all().unwrap();
            ms(start.elapsed())
        })
        .collect();
    median(&times)
}

fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("streamflow-bench-checkpoint-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn main() {
    // `cargo test --benches` runs bench targets with `--test`: nothing to check here.
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|arg| arg == "--test") {
        return;
    }
    let rounds: usize = args
        .iter()
        .position(|a| a == "--rounds")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(5);

    let root = fresh_dir("root");
    std::fs::create_dir_all(&root).unwrap();
    println!(
        "stateful job: {RECORDS} records per 1 s batch over {KEYS} keys (update_state_by_key + reduce_by_key); \
         {WARMUP} warm-up + {TIMED} timed batches per run, {rounds} rounds, configurations interleaved"
    );
    println!("checkpoint directory: {} ({})", root.display(), filesystem(&root));

    // Per configuration: every timed batch of every round, and each round's mean.
    let mut all: Vec<Vec<(f64, bool)>> = vec![Vec::new(); 3];
    let mut round_means: Vec<Vec<f64>> = vec![Vec::new(); 3];
    let mut round_walls: Vec<Vec<f64>> = vec![Vec::new(); 3];
    let mut snapshot_bytes = None;
    for round in 0..rounds {
        // Each round starts with another configuration: none always runs first.
        for c in (0..3).map(|i| (i + round) % 3) {
            let config = Config::ALL[c];
            let dir = root.join(format!("r{round}-c{c}"));
            let result = run(config, &dir);
            let times: Vec<f64> = result.batches.iter().map(|(d, _)| ms(*d)).collect();
            round_means[c].push(mean(&times));
            round_walls[c].push(mean(&result.wall.iter().map(|d| ms(*d)).collect::<Vec<_>>()));
            all[c].extend(result.batches.iter().map(|(d, saved)| (ms(*d), *saved)));
            snapshot_bytes = snapshot_bytes.or(result.snapshot_bytes);
            let _ = std::fs::remove_dir_all(&dir);
        }
        eprintln!(
            "round {}: mean ms/batch off {:.1}, default {:.1}, every batch {:.1}",
            round + 1,
            round_means[0][round],
            round_means[1][round],
            round_means[2][round]
        );
    }

    println!();
    println!(
        "{:<15} {:>10} {:>17} {:>10} {:>12} {:>14} {:>9} {:>11}",
        "checkpoint", "mean ms", "round means", "median ms", "saving ms", "advance→done", "mean/off", "median/off"
    );
    let off_mean = median(&round_means[0]);
    let off_median = median(&all[0].iter().map(|(t, _)| *t).collect::<Vec<_>>());
    for (c, config) in Config::ALL.into_iter().enumerate() {
        let mean_ms = median(&round_means[c]);
        let (lo, hi) = min_max(&round_means[c]);
        let med = median(&all[c].iter().map(|(t, _)| *t).collect::<Vec<_>>());
        let saving: Vec<f64> = all[c].iter().filter(|(_, s)| *s).map(|(t, _)| *t).collect();
        let saving = if saving.is_empty() {
            "-".to_owned()
        } else {
            format!("{:.1}", mean(&saving))
        };
        println!(
            "{:<15} {:>10.1} {:>17} {:>10.1} {:>12} {:>13.1} {:>9.3} {:>11.3}",
            config.name(),
            mean_ms,
            format!("{lo:.1}–{hi:.1}"),
            med,
            saving,
            median(&round_walls[c]),
            mean_ms / off_mean,
            med / off_median
        );
    }
    println!();
    println!("mean ms: median over rounds of the mean processing time per timed batch (round means: min–max)");
    println!("median ms: median of every timed batch; saving ms: mean of the batches that saved the state");
    println!("advance→done: median over rounds of the mean wall time from the clock's advance to completion");
    println!();
    println!("where a checkpoint's time goes (medians of 9, same filesystem):");
    println!(
        "  serializing the state (JobState::snapshot, {KEYS} keys): {:.2} ms",
        snapshot_ms(9)
    );
    let probe = root.join("probe");
    std::fs::create_dir_all(&probe).unwrap();
    if let Some(bytes) = snapshot_bytes {
        println!(
            "  one durable write (write, fsync, rename, fsync of the directory) of the snapshot ({bytes} bytes): {:.2} ms",
            durable_write_ms(&probe, bytes as usize, 9)
        );
    }
    println!(
        "  one durable write of a 30-byte record (an inputs or commit record): {:.2} ms",
        durable_write_ms(&probe, 30, 9)
    );
    println!(
        "  the same without either fsync (write, rename): {:.2} ms",
        plain_write_ms(&probe, 30, 9)
    );
    println!(
        "  removing 20 batch records (what cleaning after a default-interval snapshot removes): {:.2} ms",
        remove_ms(&probe, 20, 9)
    );
    let _ = std::fs::remove_dir_all(&root);
}

/// The time to serialize the job's state once it holds every key.
fn snapshot_ms(n: usize) -> f64 {
    let mut job = Totals::new();
    for k in 0..WARMUP {
        let events: Vec<(u64, u64)> = (k * RECORDS..(k + 1) * RECORDS)
            .map(|offset| (key(offset), 1))
            .collect();
        job.run_batch(Time::from_secs(k + 1), Totals::inputs().events(events))
            .unwrap();
    }
    let times: Vec<f64> = (0..n)
        .map(|_| {
            let start = Instant::now();
            let snapshot = job.state().snapshot().unwrap();
            let elapsed = ms(start.elapsed());
            std::hint::black_box(snapshot);
            elapsed
        })
        .collect();
    median(&times)
}

/// The cost of writing `bytes` bytes to a temporary file and renaming it
/// into place, without fsync (what survives a crash of the process, not of
/// the machine): median of `n`.
fn plain_write_ms(dir: &Path, bytes: usize, n: usize) -> f64 {
    let payload = vec![0x5Au8; bytes];
    let times: Vec<f64> = (0..n)
        .map(|i| {
            let start = Instant::now();
            let temp = dir.join(format!(".tmp-plain-{i}"));
            std::fs::write(&temp, &payload).unwrap();
            std::fs::rename(&temp, dir.join(format!("{i}.plain"))).unwrap();
            ms(start.elapsed())
        })
        .collect();
    median(&times)
}

/// The time to remove `files` small durably written files from `dir`.
fn remove_ms(dir: &Path, files: usize, n: usize) -> f64 {
    let times: Vec<f64> = (0..n)
        .map(|_| {
            let paths: Vec<PathBuf> = (0..files).map(|i| dir.join(format!("{i}.record"))).collect();
            for path in &paths {
                std::fs::write(path, [0u8; 30]).unwrap();
                std::fs::File::open(path).unwrap().sync_all().unwrap();
            }
            std::fs::File::open(dir).unwrap().sync_all().unwrap();
            let start = Instant::now();
            for path in &paths {
                std::fs::remove_file(path).unwrap();
            }
            ms(start.elapsed())
        })
        .collect();
    median(&times)
}
