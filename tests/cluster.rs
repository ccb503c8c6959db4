//! The proof of the cluster runner: the same compiled jobs, on the same
//! manual-clock input batches, run in one process and as 2 and 3 processes
//! of a cluster on 127.0.0.1 (timely dataflow's mesh); every output of every
//! batch must be the same, partition by partition, element by element: the
//! union of the processes' partitions is the single-process batch, no
//! partition is output by two processes, and every partition with elements
//! is on the process that owns it (where a file sink writes it).
//!
//! The jobs: a word count (`reduce_by_key`, `count`), `repartition` (each
//! partition's contents, through `glom`), `map_partitions` making an element
//! of every partition, joins (`join`,
//! `full_outer_join`), a `union` and a `group_by_key` after it,
//! `transform_with` functions that count and make elements (they run on
//! process 0 only, over both whole batches), keyed shuffles of
//! partitions larger than one map-side chunk (the order of their values and
//! of a non-commutative reduce's), and a keyed job with `update_state_by_key` and
//! `map_with_state` (with and without an initial state, with a timeout) and
//! the snapshots, windows with and
//! without inverse, `count_by_value_and_window`, `group_by_key_and_window`,
//! `count_by_window` and `reduce_by_window`, and `window` itself (its
//! partitions, the covered batches' side by side, each on its owner).
//!
//! The `Driver` job's `transform`, `print` and `foreach_batch` must run on
//! process 0 only and see the whole batch there, as in one process; so must
//! a live job's `foreach` and `print` sinks bound to an output port.
//!
//! Two processes told different partition counts must both fail at the
//! start, naming the difference. Then one process of three is killed
//! (SIGKILL) while they run: the others must stop, within a bounded time,
//! with the cluster's error.
//!
//! The processes are this very binary (`cluster --child <process>
//! <addresses>`), so what runs on the cluster is built from the same code as
//! the checks; hence no test harness here.

use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use streamflow::cluster::{ClusterConfig, Mesh, owner};
use streamflow::live::{sinks, sources};
use streamflow::prelude::*;
use streamflow::testing::{PrintCapture, TestRun};
use streamflow::{Batch, JobConfig, State, StreamingContext, Time};
use streamflow_workspace::free_addresses;

/// The same partition count on every process (and in the single run).
const PARTITIONS: usize = 4;
/// Batches fed to every job.
const BATCHES: u64 = 12;
/// How long the processes may take to connect and run every job.
const RUN_LIMIT: Duration = Duration::from_secs(240);
/// How long the survivors may take to stop once a process is killed.
const STOP_LIMIT: Duration = Duration::from_secs(30);

stream_job! {
    /// Words counted per batch, and the number of lines.
    pub job Words {
        batch_interval = 1s;
        input lines: String;
        output counts: (String, u64) = lines
            .flat_map(|line| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .map(|word| (word, 1u64))
            .reduce_by_key(|a, b| a + b);
        output lines_seen: u64 = lines.count();
        // Each element's place depends on the partitions before its own.
        output spread: Vec<String> = lines.repartition(3).glom();
        output spread_wide: Vec<usize> = lines.map(|line| line.len()).repartition(7).glom();
        // An element made from each partition, also an empty one: once.
        output part_sizes: usize = lines.map_partitions(|part| [part.len()]);
    }
}

stream_job! {
    /// Two keyed streams joined.
    pub job Joined {
        batch_interval = 1s;
        input left: (u32, String);
        input right: (u32, i64);
        output inner: (u32, (String, i64)) = left.join(right);
        output full: (u32, (Option<String>, Option<i64>)) = left.full_outer_join(right, 3);
        // A union's partitions are both streams' in turn: the exchange after
        // it must still deliver in map-task order (the groups' value order).
        output grouped: (u32, Vec<i64>) = left.map(|(k, v)| (k, v.len() as i64)).union(right).group_by_key();
        // A union output as it is: its partitions must be on their owners.
        output both: (u32, i64) = left.map(|(k, v)| (k, v.len() as i64)).union(right);
        // Functions of both whole batches, which no process alone has: a
        // count, and elements made and numbered over 3 partitions, also
        // shuffled after.
        output sizes: (u64, u64, u64) = left.transform_with(right, |l: Batch<(u32, String)>, r: Batch<(u32, i64)>| {
            Batch::from_vec(vec![(l.len() as u64, r.len() as u64, l.iter().filter(|(k, _)| k % 2 == 0).count() as u64)])
        });
        let made = left.transform_with(right, |l: Batch<(u32, String)>, r: Batch<(u32, i64)>, time: Time| {
            number_pairs(l, r, time)
        });
        output made: (u64, u32, i64) = made;
        output made_by_key: (u32, Vec<u64>) = made.map(|(i, k, _)| (k, i)).group_by_key();
    }
}

/// Every pair of both batches numbered in partition order (the right
/// stream's after the left's, from the batch time on), with a made pair per
/// 7 of them, over 3 partitions: a function of both whole batches.
fn number_pairs(left: Batch<(u32, String)>, right: Batch<(u32, i64)>, time: Time) -> Batch<(u64, u32, i64)> {
    let left = left.collect().into_iter().map(|(k, v)| (k, v.len() as i64));
    let mut all: Vec<(u32, i64)> = left.chain(right.collect()).collect();
    let made = all.len() / 7;
    all.extend((0..made).map(|i| (1000 + i as u32, -1)));
    let start = time.as_millis();
    let numbered = all.into_iter().enumerate().map(|(i, (k, v))| (start + i as u64, k, v));
    Batch::split(numbered.collect(), 3)
}

stream_job! {
    /// Partitions of more than one map-side chunk (16 k elements) each.
    pub job Big {
        batch_interval = 1s;
        input pairs: (u32, i64);
        output grouped: (u32, Vec<i64>) = pairs.group_by_key();
        output sums: (u32, i64) = pairs.reduce_by_key(|a: i64, b| a.wrapping_mul(3).wrapping_add(b));
    }
}

/// What the `Driver` job's `foreach_batch` saw, one line per batch.
static FOREACH: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Every (word, count) of the whole batch numbered in partition order, over
/// 3 partitions: a function of the whole batch, which no process alone has.
fn number(batch: Batch<(String, u64)>) -> Batch<(u64, String, u64)> {
    let numbered = batch.collect().into_iter().enumerate();
    Batch::split(numbered.map(|(i, (w, c))| (i as u64, w, c)).collect(), 3)
}

stream_job! {
    /// The outputs that run on process 0 (Spark's driver): `transform`,
    /// `print` and `foreach_batch`, and operators after a `transform`.
    pub job Driver {
        batch_interval = 1s;
        input lines: String;
        let counts = lines
            .flat_map(|line| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .map(|word| (word, 1u64))
            .reduce_by_key(|a, b| a + b);
        let numbered = counts.transform(number);
        output numbered: (u64, String, u64) = numbered;
        output by_count: (u64, Vec<String>) = numbered.map(|(_, w, c)| (c, w)).group_by_key();
        output first_at: (u64, String, u64) = counts.transform(|batch, time| {
            number(batch).map(move |(i, w, c)| (i + time.as_millis(), w, c))
        });
        counts.print(7);
        lines.print(3);
        counts.foreach_batch(|batch, time| {
            let line = format!("t={:06} foreach {:?}", time.as_millis(), batch.partitions());
            FOREACH.lock().unwrap().push(line);
        });
    }
}

stream_job! {
    /// A `transform` whose function fails on a batch holding 13.
    pub job Failing {
        batch_interval = 1s;
        input xs: u64;
        output ys: u64 = xs
            .transform(|batch: Batch<u64>| {
                assert!(!batch.iter().any(|x| *x == 13), "thirteen");
                batch
            })
            .map(|x| x + 1)
            .reduce(|a, b| a + b);
    }
}

/// Three batches of `Failing`, the second one failing on process 0: prints
/// `t=<ms> ys <sum>` or `t=<ms> failed <error>` for each.
fn run_failing(config: JobConfig) {
    let mut job = TestRun::new(Failing::with_config(config).unwrap_or_else(|e| fail(&e)));
    for t in 1..=3u64 {
        let xs: Vec<u64> = if t == 2 {
            vec![1, 13, 2]
        } else {
            (t * 100..t * 100 + 8).collect()
        };
        match job.run_batch(Failing::inputs().xs(xs)) {
            Ok(batch) => println!("t={} ys {:?}", batch.time.as_millis(), batch.ys.to_vec()),
            Err(e) => println!("t={} failed {e}", t * 1000),
        }
    }
}

/// Every batch's sum per key; a key is dropped when its sum is a multiple
/// of 11, or of 3 in a batch without values for it.
fn total(new: &[i64], old: Option<i64>) -> Option<i64> {
    let sum = old.unwrap_or(0) + new.iter().sum::<i64>();
    let dropped = sum % 11 == 0 || (new.is_empty() && sum % 3 == 0);
    (!dropped).then_some(sum)
}

/// Records per key; a negative record removes the key; an idle key times out.
fn seen(key: &u32, value: Option<i64>, state: &mut State<u64>) -> Option<(u32, u64)> {
    let count = state.get().copied().unwrap_or(0) + 1;
    match value {
        Some(v) if v < 0 => state.remove(),
        Some(_) => state.update(count),
        None => {}
    }
    Some((*key, count))
}

stream_job! {
    /// Keyed state and windows.
    pub job Keyed {
        batch_interval = 1s;
        input pairs: (u32, i64);
        output totals: (u32, i64) = pairs.update_state_by_key(total);
        output seeded: (u32, i64) = pairs.update_state_by_key(total, [(7u32, 5i64), (40, 4), (1000, 2)]);
        let mapped = pairs.map_with_state(seen, 2s);
        output seeded_mapped: (u32, u64) = pairs.map_with_state(seen, 1s, [(7u32, 10u64), (1000, 3)]);
        output mapped: (u32, u64) = mapped;
        output snapshots: (u32, u64) = mapped.state_snapshots();
        output recent: (u32, i64) = pairs.reduce_by_key_and_window(|a, b| a + b, |a, b| a - b, 3s, 1s);
        output values: (u32, u64) = pairs.map(|(k, _)| k % 7).count_by_value_and_window(3s, 1s);
        output plain: (u32, i64) = pairs.reduce_by_key_and_window(|a, b| a + b, 3s, 1s);
        output groups: (u32, Vec<i64>) = pairs.group_by_key_and_window(2s, 1s);
        output count: u64 = pairs.count_by_window(3s, 1s);
        output sum_inv: i64 = pairs.map(|(_, v)| v).reduce_by_window(|a, b| a + b, |a, b| a - b, 3s, 1s);
        // The covered batches' partitions side by side: each on its owner.
        output held: (u32, i64) = pairs.window(2s, 1s);
        output held_sizes: usize = pairs.window(3s, 1s).map_partitions(|part| [part.len()]);
    }
}

stream_job! {
    /// A live job's running word totals: every batch, also an idle one, has
    /// output.
    pub job LiveTotals {
        batch_interval = 200ms;
        input lines: String;
        output totals: (String, u64) = lines
            .flat_map(|line| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .map(|word| (word, 1u64))
            .update_state_by_key(|new: &[u64], old: Option<u64>| Some(old.unwrap_or(0) + new.iter().sum::<u64>()));
    }
}

/// One batch of the live job as its `foreach` sink saw it.
type Partitions = Vec<Vec<(String, u64)>>;

/// The live job over the files of `dir` (all there at the start), stopped
/// after 3 batches without input: what its `foreach` sink saw, one line per
/// partition with elements (`live b<batch> p<i> <sorted elements>`), and
/// `live print <n>` for the batches its `print` sink showed (none: no line).
fn run_live(config: JobConfig, dir: &str) -> Result<Vec<String>, String> {
    let seen: Arc<Mutex<Vec<Partitions>>> = Arc::default();
    let seen_by_sink = Arc::clone(&seen);
    let capture = PrintCapture::new();
    let job = LiveTotals::with_config(config).map_err(|e| e.to_string())?;
    let context = StreamingContext::new(job)
        .input("lines", sources::text_file_stream_with_existing(dir))
        .and_then(|c| {
            c.output::<(String, u64)>(
                "totals",
                sinks::foreach(move |batch: &Batch<(String, u64)>, _| {
                    seen_by_sink.lock().unwrap().push(batch.partitions().to_vec());
                }),
            )
        })
        .and_then(|c| c.output::<(String, u64)>("totals", sinks::print_to(2, capture.writer())))
        .map_err(|e| e.to_string())?
        .stop_after_idle_batches(3);
    let handle = context.start().map_err(|e| e.to_string())?;
    handle.await_termination().map_err(|e| e.to_string())?;
    let mut lines = Vec::new();
    for (b, partitions) in seen.lock().unwrap().iter().enumerate() {
        for (p, part) in partitions.iter().enumerate().filter(|(_, part)| !part.is_empty()) {
            let mut part = part.clone();
            part.sort();
            lines.push(format!("live b{b} p{p} {part:?}"));
        }
    }
    let printed = capture.take_string().matches("Time: ").count();
    if printed > 0 {
        lines.push(format!("live print {printed}"));
    }
    Ok(lines)
}

/// The live job's input: 12 files of words.
fn live_input() -> String {
    let dir = std::env::temp_dir().join(format!("streamflow-cluster-live-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("make the live input directory");
    for k in 0..12u64 {
        let text: Vec<String> = lines(k + 1).into_iter().take(5).collect();
        std::fs::write(dir.join(format!("words-{k}.txt")), text.join("\n") + "\n").expect("write an input file");
    }
    dir.to_string_lossy().into_owned()
}

/// The live job on `n` processes: its `foreach` and `print` sinks run on
/// process 0 only, which sees what the single process saw, batch by batch.
fn live_sinks_run_on_process_0(n: usize, single: &[String]) {
    let dir = live_input();
    let deadline = Instant::now() + RUN_LIMIT;
    for (p, running) in start_cluster(n, &["live", &dir]).into_iter().enumerate() {
        let (status, stdout, stderr) = finish(running, deadline);
        assert_eq!(
            status,
            Some(true),
            "live process {p} of {n} failed or hung; stderr:\n{stderr}"
        );
        let lines: Vec<String> = stdout.into_iter().filter(|line| line.starts_with("live ")).collect();
        if p == 0 {
            let differences = diff(single, &lines);
            assert!(
                differences.is_empty(),
                "process 0's sinks saw other batches than one process's:\n{}",
                differences.join("\n")
            );
        } else {
            assert!(lines.is_empty(), "process {p} of {n} ran a sink: {lines:?}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "live on {n} processes: the sinks ran on process 0 only and saw the one-process batches ({} lines)",
        single.len()
    );
}

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below.max(1)
    }
}

/// Batch `t`'s lines: words from a vocabulary of 50, some batches empty.
fn lines(t: u64) -> Vec<String> {
    if t % 5 == 4 {
        return Vec::new();
    }
    let mut rng = Rng(0x9e37_79b9 + t);
    (0..40)
        .map(|_| {
            (0..6)
                .map(|_| format!("w{}", rng.next(50)))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}

/// Batch `t`'s keyed pairs: keys drifting with `t`, values in `-1..=5`.
fn pairs(t: u64, n: usize, seed: u64) -> Vec<(u32, i64)> {
    if t % 6 == 5 {
        return Vec::new();
    }
    let mut rng = Rng(seed + t * 7919);
    (0..n)
        .map(|_| ((rng.next(60) + t * 3) as u32, rng.next(7) as i64 - 1))
        .collect()
}

/// On a cluster: (this process, the number of processes).
static PLACE: OnceLock<(usize, usize)> = OnceLock::new();

/// One output of one batch as lines: `t=<ms> <output> p<i> <partition>`, one
/// per partition with elements. On a cluster, a partition with elements on
/// a process that does not own it is marked `misplaced` (a file sink would
/// not write it there), which no single-process line is.
fn batch_lines<T: Debug>(time: u64, output: &str, batch: &Batch<T>) -> Vec<String> {
    let n = batch.num_partitions();
    let misplaced = |p: usize| {
        PLACE
            .get()
            .is_some_and(|&(process, processes)| owner(p, n, processes) != process)
    };
    batch
        .partitions()
        .iter()
        .enumerate()
        .filter(|(_, part)| !part.is_empty())
        .map(|(p, part)| {
            let mark = if misplaced(p) { " misplaced" } else { "" };
            format!("t={time:06} {output}{mark} p{p} {part:?}")
        })
        .collect()
}

/// Every job run on `config`, batch after batch: the output lines, or why a
/// job could not be built (a failed batch fails the process at once).
fn run_jobs(config: &JobConfig) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut words = TestRun::new(Words::with_config(config.clone()).map_err(|e| e.to_string())?);
    for t in 1..=BATCHES {
        let batch = words
            .run_batch(Words::inputs().lines(lines(t)))
            .unwrap_or_else(|e| fail(&e));
        let ms = batch.time.as_millis();
        out.extend(batch_lines(ms, "counts", &batch.counts));
        out.extend(batch_lines(ms, "lines_seen", &batch.lines_seen));
        out.extend(batch_lines(ms, "spread", &batch.spread));
        out.extend(batch_lines(ms, "spread_wide", &batch.spread_wide));
        out.extend(batch_lines(ms, "part_sizes", &batch.part_sizes));
    }
    let capture = PrintCapture::new();
    let driver_config = config.clone().print_to(capture.writer());
    let mut driver = TestRun::new(Driver::with_config(driver_config).map_err(|e| e.to_string())?);
    for t in 1..=BATCHES {
        let batch = driver
            .run_batch(Driver::inputs().lines(lines(t)))
            .unwrap_or_else(|e| fail(&e));
        let ms = batch.time.as_millis();
        out.extend(batch_lines(ms, "numbered", &batch.numbered));
        out.extend(batch_lines(ms, "by_count", &batch.by_count));
        out.extend(batch_lines(ms, "first_at", &batch.first_at));
        let printed = capture.take_string();
        if !printed.is_empty() {
            out.push(format!("t={ms:06} print {printed:?}"));
        }
        out.append(&mut FOREACH.lock().unwrap());
    }
    let mut joined = TestRun::new(Joined::with_config(config.clone()).map_err(|e| e.to_string())?);
    for t in 1..=BATCHES {
        let left = pairs(t, 30, 1).into_iter().map(|(k, v)| (k % 20, format!("l{v}")));
        let right = pairs(t, 30, 2).into_iter().map(|(k, v)| (k % 20, v));
        let batch = joined
            .run_batch(
                Joined::inputs()
                    .left(left.collect::<Vec<_>>())
                    .right(right.collect::<Vec<_>>()),
            )
            .unwrap_or_else(|e| fail(&e));
        let ms = batch.time.as_millis();
        out.extend(batch_lines(ms, "inner", &batch.inner));
        out.extend(batch_lines(ms, "full", &batch.full));
        out.extend(batch_lines(ms, "grouped", &batch.grouped));
        out.extend(batch_lines(ms, "both", &batch.both));
        out.extend(batch_lines(ms, "sizes", &batch.sizes));
        out.extend(batch_lines(ms, "made", &batch.made));
        out.extend(batch_lines(ms, "made_by_key", &batch.made_by_key));
    }
    let mut big = TestRun::new(Big::with_config(config.clone().partitions(2)).map_err(|e| e.to_string())?);
    for t in 1..=2u32 {
        let pairs: Vec<(u32, i64)> = (0..70_000u32).map(|i| ((i * 7 + t) % 50, i64::from(i))).collect();
        let batch = big.run_batch(Big::inputs().pairs(pairs)).unwrap_or_else(|e| fail(&e));
        let ms = batch.time.as_millis();
        out.extend(batch_lines(ms, "big_grouped", &batch.grouped));
        out.extend(batch_lines(ms, "big_sums", &batch.sums));
    }
    let mut keyed = TestRun::new(Keyed::with_config(config.clone()).map_err(|e| e.to_string())?);
    for t in 1..=BATCHES {
        let batch = keyed
            .run_batch(Keyed::inputs().pairs(pairs(t, 300, 3)))
            .unwrap_or_else(|e| fail(&e));
        let ms = batch.time.as_millis();
        out.extend(batch_lines(ms, "totals", &batch.totals));
        out.extend(batch_lines(ms, "seeded", &batch.seeded));
        out.extend(batch_lines(ms, "seeded_mapped", &batch.seeded_mapped));
        out.extend(batch_lines(ms, "mapped", &batch.mapped));
        out.extend(batch_lines(ms, "snapshots", &batch.snapshots));
        out.extend(batch_lines(ms, "recent", &batch.recent));
        out.extend(batch_lines(ms, "values", &batch.values));
        out.extend(batch_lines(ms, "plain", &batch.plain));
        out.extend(batch_lines(ms, "groups", &batch.groups));
        out.extend(batch_lines(ms, "count", &batch.count));
        out.extend(batch_lines(ms, "sum_inv", &batch.sum_inv));
        out.extend(batch_lines(ms, "held", &batch.held));
        out.extend(batch_lines(ms, "held_sizes", &batch.held_sizes));
    }
    Ok(out)
}

/// A failure in a child: printed, and the child exits with status 1 at
/// once (timely's network threads may not end after a lost peer).
fn fail(error: &dyn std::fmt::Display) -> ! {
    // One write, so that a timely thread's panic message printed at the same
    // time cannot land inside it (`eprintln!` writes piece by piece: the
    // kill test once read "on the cluster: MergeQueuecluster: lost the mesh").
    let line = format!("cluster process failed: {error}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
    std::process::exit(1)
}

/// `cluster --child <process> <address,address,...> [slow]`: one process of
/// the cluster. It prints every output line (or, `slow`, runs word counts
/// for ever, printing `batch <t>` after each, 50 ms apart).
fn child(args: &[String]) -> ExitCode {
    let (Some(process), Some(addresses)) = (args.first(), args.get(1)) else {
        eprintln!("usage: cluster --child <process> <address,address,...> [slow]");
        return ExitCode::from(2);
    };
    let process: usize = process.parse().expect("a process index");
    let addresses = addresses.split(',').map(String::from).collect();
    let config = ClusterConfig::new(process, addresses).unwrap_or_else(|e| fail(&e));
    let _ = PLACE.set((process, config.processes()));
    let alone = args.get(2).is_some_and(|a| a == "alone");
    let wait = Duration::from_secs(if alone { 2 } else { 60 });
    let mesh = Mesh::connect(&config, wait).unwrap_or_else(|e| fail(&e));
    // `partitions=<n>`: this process is told another partition count.
    let partitions = args
        .get(2)
        .and_then(|a| a.strip_prefix("partitions="))
        .map_or(PARTITIONS, |n| n.parse().expect("a partition count"));
    let job_config = JobConfig::new().partitions(partitions).cluster(Arc::clone(&mesh));
    if args.get(2).is_some_and(|a| a == "slow") {
        run_until_failure(job_config);
    }
    if args.get(2).is_some_and(|a| a == "live") {
        let dir = args.get(3).expect("the live input directory");
        let lines = run_live(job_config, dir).unwrap_or_else(|e| fail(&e));
        for line in lines {
            println!("{line}");
        }
        Mesh::close(mesh, STOP_LIMIT);
        return ExitCode::SUCCESS;
    }
    if args.get(2).is_some_and(|a| a == "failing") {
        run_failing(job_config);
        Mesh::close(mesh, STOP_LIMIT);
        return ExitCode::SUCCESS;
    }
    let lines = match run_jobs(&job_config) {
        Ok(lines) => lines,
        Err(e) => {
            // The mesh still works: close it with the others before exiting
            // (exiting at once would cut the others' last round short).
            drop(job_config);
            Mesh::close(mesh, STOP_LIMIT);
            fail(&e)
        }
    };
    for line in lines {
        println!("{line}");
    }
    drop(job_config);
    // Waits for every process to finish its jobs too.
    drop(mesh);
    ExitCode::SUCCESS
}

/// Word counts for ever, 50 ms apart, printing `batch <t>` after each: only
/// a failure (a lost process) ends it.
fn run_until_failure(config: JobConfig) -> ! {
    let mut words = TestRun::new(Words::with_config(config).unwrap_or_else(|e| fail(&e)));
    let mut t = 0;
    loop {
        t += 1;
        words
            .run_batch(Words::inputs().lines(lines(t)))
            .unwrap_or_else(|e| fail(&e));
        println!("batch {t}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A running child with its output read on threads of their own.
struct Running {
    child: Child,
    stdout: mpsc::Receiver<String>,
    stderr: std::thread::JoinHandle<String>,
}

/// Starts `n` processes of this binary as one cluster.
fn start_cluster(n: usize, extra: &[&str]) -> Vec<Running> {
    let addresses = free_addresses(n).join(",");
    (0..n).map(|p| start_process(p, &addresses, extra)).collect()
}

/// Starts process `p` of the cluster at `addresses`.
fn start_process(p: usize, addresses: &str, extra: &[&str]) -> Running {
    let exe = std::env::current_exe().expect("the test binary");
    let mut child = Command::new(exe)
        .arg("--child")
        .arg(p.to_string())
        .arg(addresses)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn a cluster process");
    let (tx, rx) = mpsc::channel();
    let stdout = child.stdout.take().expect("piped");
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut stderr = child.stderr.take().expect("piped");
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    Running {
        child,
        stdout: rx,
        stderr,
    }
}

/// Waits for `running` to exit, killing it after `limit`: its exit success,
/// its stdout lines and its stderr.
fn finish(mut running: Running, deadline: Instant) -> (Option<bool>, Vec<String>, String) {
    let status = loop {
        match running.child.try_wait().expect("wait for a cluster process") {
            Some(status) => break Some(status.success()),
            None if Instant::now() >= deadline => {
                let _ = running.child.kill();
                let _ = running.child.wait();
                break None;
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    let stderr = running.stderr.join().unwrap_or_default();
    let stdout = running.stdout.iter().collect();
    (status, stdout, stderr)
}

/// Every job's outputs on `n` processes equal the single-process outputs,
/// partition by partition.
fn same_outputs_on_processes(n: usize, single: &[String]) {
    let deadline = Instant::now() + RUN_LIMIT;
    let mut merged = Vec::new();
    for (p, running) in start_cluster(n, &[]).into_iter().enumerate() {
        let (status, stdout, stderr) = finish(running, deadline);
        assert_eq!(
            status,
            Some(true),
            "process {p} of {n} failed or hung; stderr:\n{stderr}"
        );
        // Nothing but the job's outputs on stdout (timely's own connector
        // printed its progress there).
        let (lines, others): (Vec<String>, Vec<String>) = stdout.into_iter().partition(|line| line.starts_with("t="));
        assert!(others.is_empty(), "process {p} of {n} printed {others:?}");
        // `print` and `foreach_batch` run on process 0 only.
        let on_driver = lines
            .iter()
            .filter(|l| l.contains(" print ") || l.contains(" foreach "));
        let on_driver = on_driver.count();
        if p == 0 {
            assert!(
                on_driver >= 2 * BATCHES as usize,
                "process 0 printed too little: {on_driver}"
            );
        } else {
            assert_eq!(on_driver, 0, "process {p} of {n} ran `print` or `foreach_batch`");
        }
        merged.extend(lines);
    }
    merged.sort();
    let differences = diff(single, &merged);
    assert!(
        differences.is_empty(),
        "{n} processes differ from one ({} lines vs {}):\n{}",
        merged.len(),
        single.len(),
        differences.join("\n")
    );
    println!(
        "{n} processes: {} output partitions, the same as one process",
        merged.len()
    );
}

/// The lines only one side has (at most 10 of each), prefixed `-`/`+`.
fn diff(expected: &[String], actual: &[String]) -> Vec<String> {
    let mut counts: BTreeMap<&str, i64> = BTreeMap::new();
    for line in expected {
        *counts.entry(line).or_default() += 1;
    }
    for line in actual {
        *counts.entry(line).or_default() -= 1;
    }
    let shorten = |line: &str| line.chars().take(200).collect::<String>();
    let missing = counts
        .iter()
        .filter(|(_, c)| **c > 0)
        .map(|(l, _)| format!("- {}", shorten(l)));
    let extra = counts
        .iter()
        .filter(|(_, c)| **c < 0)
        .map(|(l, _)| format!("+ {}", shorten(l)));
    missing.take(10).chain(extra.take(10)).collect()
}

/// One process of two started alone: it gives up connecting after its
/// timeout, with an error naming the processes it waited for.
fn a_missing_process_fails_the_connect() {
    // Process 1 is never started.
    let alone = start_process(0, &free_addresses(2).join(","), &["alone"]);
    let (status, _, stderr) = finish(alone, Instant::now() + STOP_LIMIT);
    assert_eq!(status, Some(false), "process 0 did not fail alone; stderr:\n{stderr}");
    assert!(
        stderr.contains("cluster: process 0 waited for process 1 (127.0.0.1:")
            && stderr.contains("until the time allowed ran out"),
        "process 0's error does not say it waited for the others:\n{stderr}"
    );
    println!("a process started alone failed: {}", stderr.trim());
}

/// Two processes told different partition counts: both fail as soon as the
/// job is built on the mesh, with an error naming the difference, instead of
/// misrouting records or waiting for each other.
fn processes_that_disagree_fail_at_the_start() {
    let addresses = free_addresses(2).join(",");
    let processes = [
        start_process(0, &addresses, &[]),
        start_process(1, &addresses, &["partitions=8"]),
    ];
    let deadline = Instant::now() + STOP_LIMIT;
    for (p, running) in processes.into_iter().enumerate() {
        let (status, stdout, stderr) = finish(running, deadline);
        assert_eq!(status, Some(false), "process {p} did not fail; stderr:\n{stderr}");
        assert!(
            stderr.contains(
                "cluster process failed: cluster: the processes do not run the same job `Words`: partitions is "
            ) && stderr.contains(if p == 0 {
                "partitions is 8 on process 1 but 4 on process 0"
            } else {
                "partitions is 4 on process 0 but 8 on process 1"
            }),
            "process {p}'s error does not name the partition counts:\n{stderr}"
        );
        assert!(
            !stdout.iter().any(|l| l.starts_with("t=")),
            "process {p} ran a batch before failing"
        );
        assert!(!stderr.contains("panicked"), "process {p} panicked:\n{stderr}");
    }
    println!("two processes with 4 and 8 partitions both failed at the start");
}

/// `transform`'s function fails on process 0 (where it runs): every
/// process fails that batch, naming it, and the next batch runs on all of
/// them as in one process (no process waits for another or is a round out).
fn a_failed_transform_fails_the_batch_everywhere() {
    let addresses = free_addresses(2).join(",");
    let processes = [
        start_process(0, &addresses, &["failing"]),
        start_process(1, &addresses, &["failing"]),
    ];
    let deadline = Instant::now() + STOP_LIMIT;
    let wanted = ["panicked: thirteen", "the function failed on process 0 (see its error)"];
    for (p, running) in processes.into_iter().enumerate() {
        let (status, stdout, stderr) = finish(running, deadline);
        assert_eq!(status, Some(true), "process {p} failed or hung; stderr:\n{stderr}");
        let lines: Vec<&String> = stdout.iter().filter(|l| l.starts_with("t=")).collect();
        assert_eq!(lines.len(), 3, "process {p}: {lines:?}");
        assert!(lines[0].starts_with("t=1000 ys "), "process {p}: {}", lines[0]);
        assert!(
            lines[1].starts_with("t=2000 failed batch 2000 ms failed")
                && lines[1].contains("transform")
                && lines[1].contains(wanted[p]),
            "process {p}: {}",
            lines[1]
        );
        // The one output partition is process 0's.
        let third = if p == 0 { "t=3000 ys [2436]" } else { "t=3000 ys []" };
        assert_eq!(lines[2], third, "process {p}");
    }
    println!("a transform failing on process 0 failed that batch on both processes; the next batch ran");
}

/// One process of three killed mid-run: the two others stop with the
/// cluster's error, without hanging.
fn a_killed_process_stops_the_others() {
    let mut processes = start_cluster(3, &["slow"]);
    // Let them run a few batches together first.
    let started = Instant::now();
    let first = processes[0].stdout.iter().find(|line| line == "batch 5").is_some();
    assert!(first, "process 0 never ran batch 5");
    let mut victim = processes.pop().expect("three processes");
    victim.child.kill().expect("kill process 2");
    let killed_at = Instant::now();
    let _ = victim.child.wait();
    for (p, running) in processes.into_iter().enumerate() {
        let (status, stdout, stderr) = finish(running, killed_at + STOP_LIMIT);
        let how = match status {
            None => format!("still ran {STOP_LIMIT:?} after the kill"),
            Some(true) => "exited successfully".to_owned(),
            Some(false) => "failed".to_owned(),
        };
        assert_eq!(
            status,
            Some(false),
            "process {p} {how}; its last lines: {:?}; stderr:\n{stderr}",
            &stdout[stdout.len().saturating_sub(3)..]
        );
        assert!(
            stderr.contains("on the cluster: cluster: lost the mesh between processes"),
            "process {p}'s error does not name the lost mesh:\n{stderr}"
        );
    }
    println!(
        "killed process 2 after {:?}; the others stopped with the cluster's error within {:?}",
        killed_at - started,
        killed_at.elapsed()
    );
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "--child") {
        return child(&args[1..]);
    }
    let mut single = run_jobs(&JobConfig::new().partitions(PARTITIONS)).unwrap_or_else(|e| fail(&e));
    single.sort();
    assert!(
        single.len() > 300,
        "the jobs output too little to compare: {} lines",
        single.len()
    );
    same_outputs_on_processes(2, &single);
    same_outputs_on_processes(3, &single);
    let dir = live_input();
    let single_live = run_live(JobConfig::new().partitions(PARTITIONS), &dir).unwrap_or_else(|e| fail(&e));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        single_live.len() > 8 && single_live.iter().any(|l| l.starts_with("live print ")),
        "the live job output too little to compare: {single_live:?}"
    );
    live_sinks_run_on_process_0(2, &single_live);
    processes_that_disagree_fail_at_the_start();
    a_failed_transform_fails_the_batch_everywhere();
    a_killed_process_stops_the_others();
    a_missing_process_fails_the_connect();
    println!("test result: ok. cluster");
    ExitCode::SUCCESS
}
