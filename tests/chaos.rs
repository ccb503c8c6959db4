//! The proof of recovery: `examples/recoverable_word_count`, a real process,
//! killed with SIGKILL at random moments (mid-batch, mid-checkpoint,
//! mid-output) and started again from its checkpoint until its input is
//! consumed. After every recovery, and at the end:
//!
//! - every batch directory that exists is complete and byte-identical to
//!   what the same job writes for the same batch when nothing is killed
//!   (recomputed here, batch by batch, with the batch cut the live run
//!   chose: each input file carries a token naming it, so a batch's counts
//!   tell which files it read);
//! - no input record is counted twice in the per-batch counts, and at the
//!   end every one is counted exactly once;
//! - the final running totals equal the true totals.
//!
//! It runs twice: reading a directory (each input file carries a token
//! naming it), and reading a Kafka topic of two partitions on a real broker
//! (each record is one line carrying a token naming it; record `k` goes to
//! partition `k % 2`, so a batch's partitions can be rebuilt from its tokens).
//!
//! CI runs 10 kills per input (`STREAMFLOW_CHAOS_KILLS` sets another number;
//! `scripts/chaos.sh` runs 100 and prints `N/100 recoveries exact`;
//! `STREAMFLOW_CHAOS_INPUT=files|kafka` runs one of the two).
//!
//! The job runs in this very binary (`chaos --child <args>` is the
//! example's command line), so that the process killed is always built
//! from the same code as the checks; hence no test harness here.

use rdkafka::ClientConfig;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};
use streamflow::Batch;
use streamflow::Job;
use streamflow::sinks::{Sink, read_text_files, save_as_text_files};
use streamflow_workspace::broker::Broker;
use streamflow_workspace::recoverable::ms100::{RecoverableWordCount, RecoverableWordCountInputs};
use streamflow_workspace::recoverable::{Args, main_with};

const FILES: usize = 60;
/// Records written to the topic (one line each), twenty at a time.
const RECORDS: usize = 1200;
const INTERVAL_MS: u64 = 100;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    if args.first().is_some_and(|a| a == "--child") {
        return match Args::parse(args.into_iter().skip(1)) {
            Ok(args) => main_with(args),
            Err(usage) => {
                eprintln!("{usage}");
                ExitCode::from(2)
            }
        };
    }
    let only = std::env::var("STREAMFLOW_CHAOS_INPUT").ok();
    if only.as_deref().is_none_or(|i| i == "files") {
        a_job_killed_at_random_moments_counts_every_record_exactly_once(&mut Files::default());
    }
    if only.as_deref().is_none_or(|i| i == "kafka") {
        let broker = Broker::start().unwrap_or_else(|e| panic!("{e}"));
        a_job_killed_at_random_moments_counts_every_record_exactly_once(&mut Topic::new(broker));
    }
    println!("test result: ok. chaos");
    ExitCode::SUCCESS
}

/// A small deterministic generator (xorshift), seeded per run: the seed is
/// printed so a failing run can be replayed.
struct Rng(u64);

impl Rng {
    fn next(&mut self, below: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % below.max(1)
    }
}

/// The text of input file `k`: its token `fileK` once, then words.
fn file_text(k: usize) -> String {
    let mut rng = Rng(0x5EED ^ ((k as u64 + 1) * 0x9E37_79B9));
    let mut text = format!("file{k:03}");
    for line in 0..40 {
        text.push(if line == 0 { ' ' } else { '\n' });
        let words: Vec<String> = (0..8).map(|_| format!("w{}", rng.next(150))).collect();
        text.push_str(&words.join(" "));
    }
    text.push('\n');
    text
}

/// Record `k` of the topic: one line, its token `recK`, then words.
fn record_text(k: usize) -> String {
    let mut rng = Rng(0xCAFE ^ ((k as u64 + 1) * 0x9E37_79B9));
    let mut text = format!("rec{k:04}");
    for _ in 0..8 {
        text.push_str(&format!(" w{}", rng.next(150)));
    }
    text
}

/// What the job reads, fed while it runs: a directory or a Kafka topic.
trait ChaosInput {
    /// The job's `<input>` argument.
    fn argument(&self, root: &Path) -> PathBuf;
    /// Prepares the input before the first run.
    fn prepare(&mut self, root: &Path);
    /// Feeds the next piece of input; false once everything was fed.
    fn feed(&mut self, root: &Path) -> bool;
    /// The token's prefix and what input `k` holds, as the batch's partitions
    /// hold it, given every token a batch read.
    fn token(&self) -> &'static str;
    fn batch(&self, tokens: &[usize]) -> Batch<String>;
    /// Every line of the whole input.
    fn all_lines(&self) -> Vec<String>;
}

#[derive(Default)]
struct Files {
    moved: usize,
}

impl ChaosInput for Files {
    fn argument(&self, root: &Path) -> PathBuf {
        root.join("in")
    }

    fn prepare(&mut self, root: &Path) {
        std::fs::create_dir_all(root.join("in")).unwrap();
    }

    fn feed(&mut self, root: &Path) -> bool {
        if self.moved == FILES {
            return false;
        }
        move_in(&root.join("in"), self.moved);
        self.moved += 1;
        true
    }

    fn token(&self) -> &'static str {
        "file"
    }

    /// One partition per file, in token order.
    fn batch(&self, tokens: &[usize]) -> Batch<String> {
        Batch::from_partitions(
            tokens
                .iter()
                .map(|&k| file_text(k).lines().map(str::to_owned).collect())
                .collect(),
        )
    }

    fn all_lines(&self) -> Vec<String> {
        (0..FILES)
            .flat_map(|k| file_text(k).lines().map(str::to_owned).collect::<Vec<_>>())
            .collect()
    }
}

/// A topic of two partitions on a real broker.
struct Topic {
    broker: Broker,
    producer: BaseProducer,
    written: usize,
}

impl Topic {
    fn new(broker: Broker) -> Self {
        streamflow::live::kafka::create_topic(&broker.brokers(), "chaos", 2).unwrap();
        let producer = ClientConfig::new()
            .set("bootstrap.servers", broker.brokers())
            .set("enable.idempotence", "true")
            .create()
            .unwrap();
        Topic {
            broker,
            producer,
            written: 0,
        }
    }
}

impl ChaosInput for Topic {
    fn argument(&self, _: &Path) -> PathBuf {
        PathBuf::from(format!("kafka://{}/chaos", self.broker.brokers()))
    }

    fn prepare(&mut self, _: &Path) {}

    fn feed(&mut self, _: &Path) -> bool {
        if self.written == RECORDS {
            return false;
        }
        for k in self.written..self.written + 20 {
            let text = record_text(k);
            let record = BaseRecord::<(), str>::to("chaos")
                .payload(&text)
                .partition((k % 2) as i32);
            self.producer.send(record).map_err(|(e, _)| e).unwrap();
        }
        self.producer.flush(Duration::from_secs(30)).unwrap();
        self.written += 20;
        true
    }

    fn token(&self) -> &'static str {
        "rec"
    }

    /// Always both partitions: records of even and of odd tokens, in order.
    fn batch(&self, tokens: &[usize]) -> Batch<String> {
        Batch::from_partitions(
            (0..2)
                .map(|p| tokens.iter().filter(|k| *k % 2 == p).map(|&k| record_text(k)).collect())
                .collect(),
        )
    }

    fn all_lines(&self) -> Vec<String> {
        (0..RECORDS).map(record_text).collect()
    }
}

fn true_totals(input: &dyn ChaosInput) -> BTreeMap<String, u64> {
    let mut totals = BTreeMap::new();
    for line in input.all_lines() {
        for word in line.split_whitespace() {
            *totals.entry(word.to_owned()).or_insert(0) += 1;
        }
    }
    totals
}

/// The complete batch directories of output `name`, by batch time.
fn batches(out: &Path, name: &str) -> BTreeMap<u64, PathBuf> {
    let prefix = format!("w-{name}-");
    let mut found = BTreeMap::new();
    for entry in std::fs::read_dir(out).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        if let Some(time) = file.strip_prefix(&prefix).and_then(|t| t.strip_suffix(".txt")) {
            found.insert(time.parse().unwrap(), path);
        }
    }
    found
}

fn parse(line: &str) -> (String, u64) {
    let inner = line.trim_start_matches('(').trim_end_matches(')');
    let (word, count) = inner.rsplit_once(',').unwrap();
    (word.to_owned(), count.parse().unwrap())
}

fn read_pairs(dir: &Path) -> Vec<(String, u64)> {
    assert!(dir.join("_SUCCESS").exists(), "{} is incomplete", dir.display());
    read_text_files(dir)
        .unwrap()
        .into_iter()
        .flatten()
        .map(|l| parse(&l))
        .collect()
}

/// Every file of a directory, by name, with its bytes.
fn contents(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

/// Checks the live outputs written so far against the same job run without
/// a crash on the same batch cut. `Err` says what differs. Unless `whole`,
/// a batch may lack the outputs after its counts: the process was killed
/// while writing them (that batch is not committed, and runs again).
fn check(input: &dyn ChaosInput, out: &Path, scratch: &Path, whole: bool) -> Result<usize, String> {
    let counts = batches(out, "counts");
    let _ = std::fs::remove_dir_all(scratch);
    std::fs::create_dir_all(scratch).unwrap();
    let mut job = RecoverableWordCount::new();
    let mut sinks: Vec<_> = ["counts", "totals", "recent"]
        .iter()
        .map(|name| save_as_text_files(format!("{}/w-{name}", scratch.display()), "txt"))
        .collect();
    let mut seen_files = BTreeMap::new();
    for (&time, dir) in &counts {
        let pairs = read_pairs(dir);
        let mut tokens: Vec<usize> = pairs
            .iter()
            .filter_map(|(w, _)| w.strip_prefix(input.token()).map(|k| k.parse().unwrap()))
            .collect();
        tokens.sort_unstable();
        for &k in &tokens {
            if let Some(earlier) = seen_files.insert(k, time) {
                return Err(format!(
                    "input {k} counted in batch {earlier} and again in batch {time}"
                ));
            }
        }
        let lines = input.batch(&tokens);
        let t = streamflow::Time::from_millis(time);
        let outputs = job
            .run_batch(t, RecoverableWordCountInputs { lines })
            .map_err(|e| e.to_string())?;
        for (sink, batch) in sinks
            .iter_mut()
            .zip([&outputs.counts, &outputs.totals, &outputs.recent])
        {
            Sink::<(String, u64)>::write(sink, t, batch).map_err(|e| e.to_string())?;
        }
        for name in ["counts", "totals", "recent"] {
            let live = out.join(format!("w-{name}-{time}.txt"));
            let expected = scratch.join(format!("w-{name}-{time}.txt"));
            if !live.exists() {
                if whole || time != *counts.keys().next_back().unwrap_or(&0) {
                    return Err(format!("batch {time} has counts but no {name}"));
                }
                continue;
            }
            if contents(&live) != contents(&expected) {
                let sorted = |dir: &Path| {
                    let mut pairs = read_pairs(dir);
                    pairs.sort();
                    pairs
                };
                let how = if sorted(&live) == sorted(&expected) {
                    "the same records in another order"
                } else {
                    "other records"
                };
                return Err(format!(
                    "batch {time}: {name} differs from the uninterrupted job's: {how}"
                ));
            }
        }
    }
    Ok(counts.len())
}

fn spawn(input: &Path, out: &Path, checkpoint: &Path, log: &Path) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .arg("--child")
        .arg(input)
        .arg(out.join("w"))
        .arg(checkpoint)
        .args([
            "--interval-ms",
            &INTERVAL_MS.to_string(),
            "--idle-batches",
            "8",
            "--checkpoint-every",
            "2",
        ])
        .stdout(Stdio::null())
        .stderr(std::fs::File::options().create(true).append(true).open(log).unwrap())
        .spawn()
        .unwrap()
}

fn move_in(input: &Path, k: usize) {
    let tmp = input.join(format!(".{k}.tmp"));
    std::fs::write(&tmp, file_text(k)).unwrap();
    std::fs::rename(&tmp, input.join(format!("{k:03}.txt"))).unwrap();
}

fn a_job_killed_at_random_moments_counts_every_record_exactly_once(feed: &mut dyn ChaosInput) {
    let kills: usize = std::env::var("STREAMFLOW_CHAOS_KILLS").map_or(10, |v| v.parse().unwrap());
    let seed = std::env::var("STREAMFLOW_CHAOS_SEED").map_or_else(
        |_| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        },
        |v| v.parse().unwrap(),
    );
    eprintln!(
        "chaos ({}): {kills} kills, seed {seed} (STREAMFLOW_CHAOS_SEED={seed} replays it)",
        feed.token()
    );
    let root = std::env::temp_dir().join(format!("streamflow-chaos-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    let (out, checkpoint, scratch) = (root.join("out"), root.join("ck"), root.join("scratch"));
    feed.prepare(&root);
    let input = feed.argument(&root);
    std::fs::create_dir_all(&out).unwrap();
    let log = root.join("job.log");
    let mut rng = Rng(seed);
    let mut exact = 0;
    let mut failures = Vec::new();
    for kill in 0..kills {
        let mut child = spawn(&input, &out, &checkpoint, &log);
        if kill == 0 {
            // Files present when a job first starts are not its input (as
            // in Spark): wait until it has listed its directory.
            let start = Instant::now();
            while !checkpoint.join("job").exists() {
                assert!(start.elapsed() < Duration::from_secs(60), "the job did not start");
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        // Files keep arriving while the job runs; it dies at a random moment.
        let deadline = Instant::now() + Duration::from_millis(150 + rng.next(900));
        while Instant::now() < deadline {
            if rng.next(3) == 0 {
                feed.feed(&root);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        match check(feed, &out, &scratch, false) {
            Ok(_) => exact += 1,
            Err(e) => failures.push(format!("after kill {}: {e}", kill + 1)),
        }
    }
    // The rest of the input, then a run to the end: it stops by itself once idle.
    while feed.feed(&root) {}
    let mut last = spawn(&input, &out, &checkpoint, &log);
    let started = Instant::now();
    let status = loop {
        if let Some(status) = last.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the last run did not stop by itself"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    println!("{exact}/{kills} recoveries exact");
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(status.success(), "the last run failed: {log_text}");
    assert!(failures.is_empty(), "{failures:#?}\n{log_text}");

    let batches_checked = check(feed, &out, &scratch, true).unwrap_or_else(|e| panic!("{e}\n{log_text}"));
    let mut counted = BTreeMap::new();
    for dir in batches(&out, "counts").values() {
        for (word, n) in read_pairs(dir) {
            *counted.entry(word).or_insert(0) += n;
        }
    }
    let truth = true_totals(feed);
    assert_eq!(counted, truth, "the per-batch counts do not add up to the input");
    let totals = batches(&out, "totals");
    let final_totals: BTreeMap<String, u64> = read_pairs(totals.values().last().unwrap()).into_iter().collect();
    assert_eq!(final_totals, truth, "the final running totals are not the true totals");
    let recoveries = log_text.matches("recovered from").count();
    assert!(
        recoveries >= kills,
        "{recoveries} recoveries for {kills} kills:\n{log_text}"
    );
    eprintln!("chaos: {batches_checked} batches checked, {recoveries} recoveries");
    let _ = std::fs::remove_dir_all(&root);
}
