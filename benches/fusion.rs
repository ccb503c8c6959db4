//! What fusion buys: the same pipelines run fused, unfused (`#[fusion(off)]`:
//! one stage per operator, every output materialized) and as hand-written
//! rayon loops with no streamflow in them, on 1 M-record batches.
//!
//! ```text
//! cargo bench --bench fusion
//! ```
//!
//! Every variant gets the same input: an owned batch already cut into as many
//! partitions as the jobs run tasks, as a live receiver delivers it (in
//! blocks), cloned outside the timed region.

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use rayon::prelude::*;
use std::hint::black_box;
use streamflow::prelude::*;

const RECORDS: usize = 1_000_000;
/// Word count input: 100 000 lines of 10 words = 1 M words, from 10 000 distinct words.
const LINES: usize = RECORDS / 10;
const VOCABULARY: usize = 10_000;
/// Tasks per batch for the hand-written loops, as many as the jobs' partitions.
fn tasks() -> usize {
    rayon::current_num_threads() * 4
}

macro_rules! chain_job {
    ($($fusion:ident)?) => {
        stream_job! {
            $(#[fusion($fusion)])?
            pub job Chain {
                batch_interval = 1s;
                input numbers: u64;
                output out: u64 = numbers
                    .map(|x| x.wrapping_mul(2_654_435_761))
                    .filter(|x| x % 3 != 0)
                    .map(|x| x >> 7)
                    .flat_map(|x| [x, x ^ 0x5555])
                    .filter_map(|x| (x % 5 != 0).then_some(x + 1))
                    .map(|x| x & 0xFFFF_FFFF);
            }
        }
    };
}

macro_rules! word_count_job {
    ($($fusion:ident)?) => {
        stream_job! {
            $(#[fusion($fusion)])?
            pub job WordCount {
                batch_interval = 1s;
                input lines: String;
                output counts: (String, u64) = lines
                    .flat_map(|line| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
                    .map(|word| (word, 1u64))
                    .reduce_by_key(|a, b| a + b);
            }
        }
    };
}

mod fused {
    use super::*;
    chain_job!();
    word_count_job!();
}

mod unfused {
    use super::*;
    chain_job!(off);
    word_count_job!(off);
}

/// `items` cut into `tasks()` contiguous partitions.
fn partitions<T: Clone>(items: &[T]) -> Vec<Vec<T>> {
    items
        .chunks(items.len().div_ceil(tasks()).max(1))
        .map(<[T]>::to_vec)
        .collect()
}

/// The chain's closures applied in one loop per partition, by hand.
fn chain_by_hand(parts: Vec<Vec<u64>>) -> Vec<Vec<u64>> {
    parts
        .into_par_iter()
        .map(|part| {
            let mut out = Vec::with_capacity(part.len() * 2);
            for x in part {
                let x = x.wrapping_mul(2_654_435_761);
                if x % 3 == 0 {
                    continue;
                }
                let x = x >> 7;
                for x in [x, x ^ 0x5555] {
                    if x % 5 != 0 {
                        out.push((x + 1) & 0xFFFF_FFFF);
                    }
                }
            }
            out
        })
        .collect()
}

type Counts = hashbrown::HashMap<String, u64, foldhash::fast::FixedState>;

fn merge(mut a: Counts, b: Counts) -> Counts {
    for (word, n) in b {
        *a.entry(word).or_insert(0) += n;
    }
    a
}

/// Word count by hand doing the job's work: each task owns (and frees) its
/// partition of lines; a `Vec<String>` per line and a `String` per word; a
/// per-task map, merged at the end.
fn word_count_same_work(parts: Vec<Vec<String>>) -> Counts {
    parts
        .into_par_iter()
        .map(|part| {
            let mut counts = Counts::default();
            for line in part {
                let words: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
                for word in words {
                    *counts.entry(word).or_insert(0) += 1;
                }
            }
            counts
        })
        .reduce(Counts::default, merge)
}

/// Word count by hand, tuned: words borrowed from the lines, a `String`
/// allocated only for a word a task sees for the first time.
fn word_count_tuned(parts: Vec<Vec<String>>) -> Counts {
    parts
        .par_iter()
        .map(|part| {
            let mut counts = Counts::default();
            for line in part {
                for word in line.split_whitespace() {
                    match counts.get_mut(word) {
                        Some(n) => *n += 1,
                        None => {
                            counts.insert(word.to_owned(), 1);
                        }
                    }
                }
            }
            counts
        })
        .reduce(Counts::default, merge)
}

/// Runs `job` on a fresh input each iteration, at increasing batch times.
fn bench_job<J: Job>(c: &mut Criterion, name: &str, mut job: J, input: impl Fn() -> J::Inputs) {
    let mut k = 0u64;
    c.bench_function(name, |b| {
        b.iter_batched(
            &input,
            |inputs| {
                k += 1;
                let time = Time::from_millis(k * job.plan().batch_interval_ms);
                black_box(job.run_batch(time, inputs).expect("benchmark jobs do not fail"))
            },
            BatchSize::LargeInput,
        )
    });
}

fn narrow_chain(c: &mut Criterion) {
    let numbers = partitions(&(0..RECORDS as u64).collect::<Vec<_>>());
    let batch = || Batch::from_partitions(numbers.clone());
    bench_job(c, "chain/fused", fused::Chain::new(), || fused::ChainInputs {
        numbers: batch(),
    });
    bench_job(c, "chain/unfused", unfused::Chain::new(), || unfused::ChainInputs {
        numbers: batch(),
    });
    c.bench_function("chain/hand-written", |b| {
        b.iter_batched(
            || numbers.clone(),
            |n| black_box(chain_by_hand(n)),
            BatchSize::LargeInput,
        )
    });
}

fn word_count(c: &mut Criterion) {
    let lines = partitions(&streamflow_workspace::generated_lines(LINES * 10, VOCABULARY));
    let batch = || Batch::from_partitions(lines.clone());
    bench_job(c, "word_count/fused", fused::WordCount::new(), || {
        fused::WordCountInputs { lines: batch() }
    });
    bench_job(c, "word_count/unfused", unfused::WordCount::new(), || {
        unfused::WordCountInputs { lines: batch() }
    });
    c.bench_function("word_count/hand-written, same work", |b| {
        b.iter_batched(
            || lines.clone(),
            |l| black_box(word_count_same_work(l)),
            BatchSize::LargeInput,
        )
    });
    c.bench_function("word_count/hand-written, tuned", |b| {
        b.iter_batched(
            || lines.clone(),
            |l| black_box(word_count_tuned(l)),
            BatchSize::LargeInput,
        )
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(4));
    targets = narrow_chain, word_count
}
criterion_main!(benches);
