//! The natural word count against the best loop a person would write by hand,
//! on one large batch: 1 M lines of 10 words drawn from a Zipf distribution
//! (s = 1.0) over 100 000 distinct words, generated deterministically here.
//!
//! ```text
//! cargo bench --bench word_count            # 7 interleaved rounds
//! ROUNDS=11 cargo bench --bench word_count
//! cargo bench --bench word_count -- grep  # the variants named, and their reference
//! cargo bench --bench word_count -- keyed # the other keyed operators (only when named)
//! ONLY=1 cargo bench --bench word_count -- fused  # the variants named, no reference
//! PIN=1 cargo bench --bench word_count      # every pool's threads pinned to CPUs
//! ```
//!
//! For a profile of the timed runs only: `mkfifo ctl ack; ONLY=1 PERF_CTL=ctl
//! PERF_ACK=ack perf record --call-graph dwarf -D -1 --control fifo:ctl,ack --
//! <bench binary> <variant>`; sampling is enabled just before each timed run
//! and disabled once what it left to free in the background is freed (the
//! release build keeps no frame pointers: `-g` alone gives broken chains).
//!
//! The "keyed" variants run `combine_by_key`, `reduce_by_key_and_window` and
//! `group_by_key` on the same words, natural (borrowed from the line) and
//! with a `String` per word, against the tuned word count loop.
//!
//! Every variant runs on 2 threads. The hand-written loops and the jobs with
//! the same partitioning get the batch in 64 partitions and shuffle into 2;
//! "default configuration" is a job built with `JobConfig::new().threads(2)`
//! given the batch as one partition, as a user who sets nothing does. Each
//! variant gets its own copy of the input, made outside the timed region; the
//! hand-written loops free their input after the clock stops (the job frees
//! what it consumed inside `run_batch`). Rounds are interleaved (every variant
//! once per round, in a rotating order) so that noise on this shared machine
//! spreads over all of them; the table gives the median, the fastest and
//! slowest round, and the speed relative to the tuned loop (tuned median /
//! variant median: above 1.00 is faster than the tuned loop).
//!
//! Grep's reference runs on 2 threads of its own, as the job does and as a
//! grep program would. A pool used only for a 4 ms grep, after the word
//! counts kept both cores busy, often had the kernel wake its second thread
//! on the first one's core while the other core sat idle (seen with `perf
//! record -e sched:sched_switch,sched:sched_wakeup`), and the batch then took
//! nearly twice as long; the job's pool and a hand-written grep's own pool
//! both paid it. The grep by hand "on the tuned loop's threads" shares the
//! tuned word count's pool, whose threads the word count had spread over both
//! cores: it shows what the same loop costs without that penalty.
//!
//! `PIN=1` pins every pool: each job with `JobConfig::pin_threads`, each
//! hand-written loop's pool the same way (thread `i` on the `i`-th CPU). The
//! kernel can then no longer put two threads of a pool on one core, and grep
//! compares the loops more than their placement (a pinned thread still waits
//! when another process holds its CPU).

use rayon::prelude::*;
use std::hash::BuildHasher;
use std::io::{BufRead, Write};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};
use streamflow::prelude::*;

const LINES: usize = 1_000_000;
const WORDS_PER_LINE: usize = 10;
const VOCABULARY: usize = 100_000;
const THREADS: usize = 2;
const INPUT_PARTITIONS: usize = 64;
const SHUFFLE_PARTITIONS: usize = 2;
/// What the grep variants look for: a bigram of letters that about 3% of
/// the lines contain.
const NEEDLE: &str = "qz";

macro_rules! word_count_job {
    ($($fusion:ident)?) => {
        stream_job! {
            $(#[fusion($fusion)])?
            pub job WordCount {
                batch_interval = 1s;
                input lines: String;
                output counts: (String, u64) = lines
                    .flat_map(|line| line.split_whitespace())
                    .map(|word| (word, 1u64))
                    .reduce_by_key(|a, b| a + b);
            }
        }
    };
}

/// The README's quick start before this bench: a `String` per word.
mod owned_words {
    use super::*;
    stream_job! {
        pub job WordCount {
            batch_interval = 1s;
            input lines: String;
            output counts: (String, u64) = lines
                .flat_map(|line| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
                .map(|word| (word, 1u64))
                .reduce_by_key(|a, b| a + b);
        }
    }
}

mod fused {
    use super::*;
    word_count_job!();
}

mod unfused {
    use super::*;
    word_count_job!(off);
}

/// Keyed operators other than `reduce_by_key` on the same words, each in the
/// natural form (words borrowed from their line) and with a `String` per
/// word (the only form that compiled before every keyed operator took a
/// borrowed key).
macro_rules! keyed_jobs {
    ($words:expr) => {
        stream_job! {
            pub job Combine {
                batch_interval = 1s;
                input lines: String;
                output counts: (String, u64) = lines
                    .flat_map($words)
                    .map(|word| (word, 1u64))
                    .combine_by_key(|v| v, |c, v| c + v, |a, b| a + b);
            }
        }
        stream_job! {
            pub job Grouped {
                batch_interval = 1s;
                input lines: String;
                output groups: (String, Vec<u64>) = lines
                    .flat_map($words)
                    .map(|word| (word, 1u64))
                    .group_by_key();
            }
        }
        stream_job! {
            pub job Windowed {
                batch_interval = 1s;
                input lines: String;
                output counts: (String, u64) = lines
                    .flat_map($words)
                    .map(|word| (word, 1u64))
                    .reduce_by_key_and_window(|a, b| a + b, 2s, 1s);
            }
        }
    };
}

mod keyed_owned {
    use super::*;
    keyed_jobs!(|line| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>());
}

// BASE-CUT-START
mod keyed_natural {
    use super::*;
    keyed_jobs!(|line| line.split_whitespace());
}
// BASE-CUT-END

mod grep {
    use super::*;
    stream_job! {
        pub job Grep {
            batch_interval = 1s;
            input lines: String;
            output matches: u64 = lines.filter(|line| line.contains(NEEDLE)).count();
        }
    }
}

/// splitmix64: a small deterministic generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The word of rank `r`: 0 to 4 letters from a hash of the rank, then the
/// rank in base 26 on 4 letters (so every rank has its own word), 4 to 8
/// letters in all.
fn word(r: usize) -> String {
    let mut h = Rng(r as u64 ^ 0xA5A5_5A5A);
    let extra = (h.next() % 5) as usize;
    let mut w = String::with_capacity(extra + 4);
    for _ in 0..extra {
        w.push((b'a' + (h.next() % 26) as u8) as char);
    }
    let mut n = r;
    for _ in 0..4 {
        w.push((b'a' + (n % 26) as u8) as char);
        n /= 26;
    }
    w
}

/// The batch: `LINES` lines of `WORDS_PER_LINE` words, ranks drawn from Zipf
/// (s = 1.0) over `VOCABULARY` words.
fn generate() -> Vec<String> {
    let words: Vec<String> = (0..VOCABULARY).map(word).collect();
    let mut cumulative = Vec::with_capacity(VOCABULARY);
    let mut total = 0.0;
    for r in 0..VOCABULARY {
        total += 1.0 / (r + 1) as f64;
        cumulative.push(total);
    }
    let mut rng = Rng(42);
    (0..LINES)
        .map(|_| {
            let mut line = String::with_capacity(WORDS_PER_LINE * 7);
            for i in 0..WORDS_PER_LINE {
                let u = rng.unit() * total;
                let r = cumulative.partition_point(|&c| c <= u).min(VOCABULARY - 1);
                if i > 0 {
                    line.push(' ');
                }
                line.push_str(&words[r]);
            }
            line
        })
        .collect()
}

type Counts = hashbrown::HashMap<String, u64, foldhash::fast::FixedState>;

/// A map with room for `capacity` words. Each stage has its own seed: a map
/// filled in the iteration order of a map with the same hasher clusters its
/// keys and probes far (the merge reads the task maps in their table order).
fn counts(capacity: usize, seed: u64) -> Counts {
    Counts::with_capacity_and_hasher(
        capacity,
        foldhash::fast::FixedState::with_seed(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
    )
}

const PARTITIONER: foldhash::fast::FixedState = foldhash::fast::FixedState::with_seed(0x3C6E_F372_FE94_F82B);

/// The tuned hand-written word count: one task per input partition, each
/// with its own foldhash map, words borrowed from their line and a `String`
/// made only for a word the task has not seen; then each task's map split in
/// `SHUFFLE_PARTITIONS` buckets by hash, and one merge task per bucket.
fn tuned_word_count(parts: &[Vec<String>]) -> Vec<Vec<(String, u64)>> {
    let buckets: Vec<Vec<Vec<(String, u64)>>> = parts
        .par_iter()
        .map(|part| {
            let mut map = counts(0, 1);
            for line in part {
                for w in line.split_whitespace() {
                    match map.get_mut(w) {
                        Some(n) => *n += 1,
                        None => {
                            map.insert(w.to_owned(), 1);
                        }
                    }
                }
            }
            let mut buckets: Vec<Vec<(String, u64)>> = (0..SHUFFLE_PARTITIONS).map(|_| Vec::new()).collect();
            for (w, n) in map {
                let target = (PARTITIONER.hash_one(&w) % SHUFFLE_PARTITIONS as u64) as usize;
                buckets[target].push((w, n));
            }
            buckets
        })
        .collect();
    let mut per_reduce: Vec<Vec<Vec<(String, u64)>>> = (0..SHUFFLE_PARTITIONS).map(|_| Vec::new()).collect();
    for task in buckets {
        for (r, bucket) in task.into_iter().enumerate() {
            per_reduce[r].push(bucket);
        }
    }
    per_reduce
        .into_par_iter()
        .map(|buckets| {
            let largest = buckets.iter().map(Vec::len).max().unwrap_or(0);
            let mut map = counts(largest, 3);
            for bucket in buckets {
                for (w, n) in bucket {
                    *map.entry(w).or_insert(0) += n;
                }
            }
            map.into_iter().collect()
        })
        .collect()
}

/// Grep by hand, with the job's matcher.
fn grep_by_hand(parts: &[Vec<String>]) -> u64 {
    parts
        .par_iter()
        .map(|part| part.iter().filter(|line| line.contains(NEEDLE)).count() as u64)
        .sum()
}

/// A hand-written loop as a variant: `work` run on `pool` over a fresh copy
/// of `parts`; its output and input are freed after the clock stops.
fn hand_variant<O: Send + 'static>(
    name: &'static str,
    grep: bool,
    pool: std::sync::Arc<rayon::ThreadPool>,
    parts: std::sync::Arc<Vec<Vec<String>>>,
    work: fn(&[Vec<String>]) -> O,
) -> Variant {
    Variant {
        name,
        grep,
        run: Box::new(move |_| {
            let input = (*parts).clone();
            perf("enable");
            let start = Instant::now();
            let out = pool.install(|| work(&input));
            let elapsed = start.elapsed();
            drop((out, input));
            elapsed
        }),
    }
}

/// Whether every pool is pinned (`PIN=1`): the jobs' with
/// `JobConfig::pin_threads`, the hand-written loops' the same way by hand.
fn pinned() -> bool {
    std::env::var_os("PIN").is_some()
}

/// A pool of `THREADS` threads; pinned, thread `i` bound to the `i`-th CPU
/// the process may run on, as a pinned job's.
fn thread_pool() -> std::sync::Arc<rayon::ThreadPool> {
    let cpus = core_affinity::get_core_ids().unwrap_or_default();
    let pin = pinned() && !cpus.is_empty();
    std::sync::Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(THREADS)
            .start_handler(move |i| {
                if pin {
                    assert!(
                        core_affinity::set_for_current(cpus[i % cpus.len()]),
                        "cannot pin thread {i}"
                    );
                }
            })
            .build()
            .expect("a pool of 2 threads"),
    )
}

/// Sends `command` (`enable`, `disable`) to a `perf record --control
/// fifo:$PERF_CTL,$PERF_ACK` and waits for its ack; nothing without them.
fn perf(command: &str) {
    type Fifos = (std::fs::File, std::io::BufReader<std::fs::File>);
    static FIFOS: OnceLock<Option<Mutex<Fifos>>> = OnceLock::new();
    let fifos = FIFOS.get_or_init(|| {
        let (ctl, ack) = (std::env::var_os("PERF_CTL")?, std::env::var_os("PERF_ACK")?);
        let ctl = std::fs::OpenOptions::new()
            .write(true)
            .open(ctl)
            .expect("PERF_CTL opens");
        let ack = std::fs::File::open(ack).expect("PERF_ACK opens");
        Some(Mutex::new((ctl, std::io::BufReader::new(ack))))
    });
    if let Some(fifos) = fifos {
        let mut fifos = fifos.lock().expect("one caller at a time");
        writeln!(fifos.0, "{command}").expect("perf reads its control fifo");
        let mut ack = String::new();
        fifos.1.read_line(&mut ack).expect("perf acks");
    }
}

/// One variant of the table: runs once on a fresh input and says how long
/// its timed region took.
struct Variant {
    name: &'static str,
    /// Whose time the ratio column divides: the tuned word count, or grep by hand.
    grep: bool,
    run: Box<dyn FnMut(u64) -> Duration>,
}

/// A job variant: the input made by `inputs` (untimed), then `run_batch`
/// timed; the outputs are dropped after the clock stops.
fn job_variant<J: Job + 'static>(
    name: &'static str,
    grep: bool,
    mut job: J,
    inputs: impl Fn() -> J::Inputs + 'static,
) -> Variant {
    Variant {
        name,
        grep,
        run: Box::new(move |k| {
            let input = inputs();
            perf("enable");
            let start = Instant::now();
            let out = job
                .run_batch(Time::from_secs(k), input)
                .expect("benchmark jobs do not fail");
            let elapsed = start.elapsed();
            drop(out);
            elapsed
        }),
    }
}

fn job_config(partitions: Option<usize>) -> JobConfig {
    let config = JobConfig::new().threads(THREADS);
    let config = if pinned() { config.pin_threads() } else { config };
    match partitions {
        Some(n) => config.partitions(n),
        None => config,
    }
}

fn median(times: &mut [Duration]) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn main() {
    let rounds: usize = std::env::var("ROUNDS").ok().and_then(|r| r.parse().ok()).unwrap_or(7);
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let lines = std::sync::Arc::new(generate());
    let parts: std::sync::Arc<Vec<Vec<String>>> = std::sync::Arc::new(
        lines
            .chunks(LINES.div_ceil(INPUT_PARTITIONS))
            .map(<[String]>::to_vec)
            .collect(),
    );
    let pool = thread_pool();
    let same = Some(SHUFFLE_PARTITIONS);
    let batch = {
        let parts = parts.clone();
        move || Batch::from_partitions((*parts).clone())
    };
    let one_partition = {
        let lines = lines.clone();
        move || Batch::from_vec((*lines).clone())
    };

    // The results, checked once before anything is timed.
    let expected = {
        let mut all: Vec<(String, u64)> = pool
            .install(|| tuned_word_count(&parts))
            .into_iter()
            .flatten()
            .collect();
        all.sort();
        all
    };
    assert_eq!(
        expected.iter().map(|(_, n)| n).sum::<u64>(),
        (LINES * WORDS_PER_LINE) as u64
    );
    let check = |name: &str, got: Batch<(String, u64)>| {
        assert_eq!(got.sorted(), expected, "{name} counts differently from the tuned loop");
    };
    let t = Time::from_secs(1);
    check(
        "fused",
        fused::WordCount::with_config(job_config(same))
            .unwrap()
            .run_batch(t, fused::WordCountInputs { lines: batch() })
            .unwrap()
            .counts,
    );
    check(
        "unfused",
        unfused::WordCount::with_config(job_config(same))
            .unwrap()
            .run_batch(t, unfused::WordCountInputs { lines: batch() })
            .unwrap()
            .counts,
    );
    check(
        "combine_by_key",
        keyed_owned::Combine::with_config(job_config(same))
            .unwrap()
            .run_batch(t, keyed_owned::CombineInputs { lines: batch() })
            .unwrap()
            .counts,
    );
    check(
        "reduce_by_key_and_window",
        keyed_owned::Windowed::with_config(job_config(same))
            .unwrap()
            .run_batch(t, keyed_owned::WindowedInputs { lines: batch() })
            .unwrap()
            .counts,
    );
    let group_counts = |groups: Batch<(String, Vec<u64>)>| {
        let counts: Vec<(String, u64)> = groups
            .collect()
            .into_iter()
            .map(|(w, ones)| (w, ones.iter().sum()))
            .collect();
        Batch::from_vec(counts)
    };
    check(
        "group_by_key",
        group_counts(
            keyed_owned::Grouped::with_config(job_config(same))
                .unwrap()
                .run_batch(t, keyed_owned::GroupedInputs { lines: batch() })
                .unwrap()
                .groups,
        ),
    );
    // BASE-CUT-START
    check(
        "group_by_key, natural",
        group_counts(
            keyed_natural::Grouped::with_config(job_config(same))
                .unwrap()
                .run_batch(t, keyed_natural::GroupedInputs { lines: batch() })
                .unwrap()
                .groups,
        ),
    );
    check(
        "combine_by_key, natural",
        keyed_natural::Combine::with_config(job_config(same))
            .unwrap()
            .run_batch(t, keyed_natural::CombineInputs { lines: batch() })
            .unwrap()
            .counts,
    );
    check(
        "reduce_by_key_and_window, natural",
        keyed_natural::Windowed::with_config(job_config(same))
            .unwrap()
            .run_batch(t, keyed_natural::WindowedInputs { lines: batch() })
            .unwrap()
            .counts,
    );
    // BASE-CUT-END
    let grep_expected = pool.install(|| grep_by_hand(&parts));
    let grep_got = grep::Grep::with_config(job_config(same))
        .unwrap()
        .run_batch(t, grep::GrepInputs { lines: batch() })
        .unwrap()
        .matches
        .collect();
    assert_eq!(grep_got, vec![grep_expected]);

    let mut variants = vec![
        hand_variant(
            "hand-written rayon loop, tuned",
            false,
            pool.clone(),
            parts.clone(),
            tuned_word_count,
        ),
        job_variant(
            "streamflow natural word count, fused",
            false,
            fused::WordCount::with_config(job_config(same)).unwrap(),
            {
                let batch = batch.clone();
                move || fused::WordCountInputs { lines: batch() }
            },
        ),
        job_variant(
            "the same, #[fusion(off)]",
            false,
            unfused::WordCount::with_config(job_config(same)).unwrap(),
            {
                let batch = batch.clone();
                move || unfused::WordCountInputs { lines: batch() }
            },
        ),
        job_variant(
            "the same, fused, default configuration",
            false,
            fused::WordCount::with_config(job_config(None)).unwrap(),
            {
                let one_partition = one_partition.clone();
                move || fused::WordCountInputs { lines: one_partition() }
            },
        ),
        job_variant(
            "previous README (a String per word), fused",
            false,
            owned_words::WordCount::with_config(job_config(same)).unwrap(),
            {
                let batch = batch.clone();
                move || owned_words::WordCountInputs { lines: batch() }
            },
        ),
        job_variant(
            "keyed: combine_by_key, a String per word",
            false,
            keyed_owned::Combine::with_config(job_config(same)).unwrap(),
            {
                let batch = batch.clone();
                move || keyed_owned::CombineInputs { lines: batch() }
            },
        ),
        job_variant(
            "keyed: reduce_by_key_and_window(2s, 1s), a String per word",
            false,
            keyed_owned::Windowed::with_config(job_config(same)).unwrap(),
            {
                let batch = batch.clone();
                move || keyed_owned::WindowedInputs { lines: batch() }
            },
        ),
        job_variant(
            "keyed: group_by_key, a String per word",
            false,
            keyed_owned::Grouped::with_config(job_config(same)).unwrap(),
            {
                let batch = batch.clone();
                move || keyed_owned::GroupedInputs { lines: batch() }
            },
        ),
        // BASE-CUT-START
        job_variant(
            "keyed: group_by_key, natural",
            false,
            keyed_natural::Grouped::with_config(job_config(same)).unwrap(),
            {
                let batch = batch.clone();
                move || keyed_natural::GroupedInputs { lines: batch() }
            },
        ),
        job_variant(
            "keyed: combine_by_key, natural",
            false,
            keyed_natural::Combine::with_config(job_config(same)).unwrap(),
            {
                let batch = batch.clone();
                move || keyed_natural::CombineInputs { lines: batch() }
            },
        ),
        job_variant(
            "keyed: reduce_by_key_and_window(2s, 1s), natural",
            false,
            keyed_natural::Windowed::with_config(job_config(same)).unwrap(),
            {
                let batch = batch.clone();
                move || keyed_natural::WindowedInputs { lines: batch() }
            },
        ),
        // BASE-CUT-END
        hand_variant("grep, hand-written", true, thread_pool(), parts.clone(), grep_by_hand),
        hand_variant(
            "grep, hand-written, on the tuned loop's threads",
            true,
            pool.clone(),
            parts.clone(),
            grep_by_hand,
        ),
        job_variant(
            "grep, streamflow",
            true,
            grep::Grep::with_config(job_config(same)).unwrap(),
            {
                let batch = batch.clone();
                move || grep::GrepInputs { lines: batch() }
            },
        ),
    ];
    if filter.is_none() {
        // The keyed variants run only when named (`-- keyed`): their 10 M-value
        // outputs left the others slower in the same run (measured: the previous
        // README's form 0.28 beside them, 0.71 alone).
        variants.retain(|v| !v.name.starts_with("keyed:"));
    }
    if let Some(filter) = &filter {
        // The variants named, and the hand-written reference of each kind kept.
        let kinds: Vec<bool> = variants
            .iter()
            .filter(|v| v.name.contains(filter.as_str()))
            .map(|v| v.grep)
            .collect();
        // `ONLY=1`: without the references (to profile one variant).
        let only = std::env::var_os("ONLY").is_some();
        variants.retain(|v| {
            let reference = v.name == "hand-written rayon loop, tuned" || v.name == "grep, hand-written";
            v.name.contains(filter.as_str()) || (reference && !only && kinds.contains(&v.grep))
        });
    }

    let mut times: Vec<Vec<Duration>> = vec![Vec::new(); variants.len()];
    // Round 0 warms caches and allocators up and is not counted.
    for round in 0..=rounds {
        for i in 0..variants.len() {
            let v = (i + round) % variants.len();
            let elapsed = (variants[v].run)(round as u64 + 1);
            // Untimed: what a variant left to free in the background (the
            // job's freeing thread) is freed before the next one runs.
            std::thread::sleep(Duration::from_millis(150));
            perf("disable");
            if round > 0 {
                times[v].push(elapsed);
            }
        }
    }

    let medians: Vec<Duration> = times.iter_mut().map(|t| median(t)).collect();
    let reference = |grep: bool| {
        let name = if grep {
            "grep, hand-written"
        } else {
            "hand-written rayon loop, tuned"
        };
        variants.iter().position(|v| v.name == name).map(|i| medians[i])
    };
    println!(
        "word count: {LINES} lines, {} words, Zipf s=1.0 over {VOCABULARY} words; {THREADS} threads; {rounds} rounds",
        LINES * WORDS_PER_LINE
    );
    println!("| variant | median ms | min–max ms | vs hand-written |");
    println!("|---|---|---|---|");
    for (v, variant) in variants.iter().enumerate() {
        let (min, max) = (times[v][0], times[v][times[v].len() - 1]);
        let ratio = reference(variant.grep).map_or(String::from("-"), |r| format!("{:.2}", ms(r) / ms(medians[v])));
        println!(
            "| {} | {:.1} | {:.1}–{:.1} | {} |",
            variant.name,
            ms(medians[v]),
            ms(min),
            ms(max),
            ratio
        );
    }
}
