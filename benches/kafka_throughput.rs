//! Kafka word count: the highest rate (lines of ten words per second, over
//! two partitions) at which a job reading a topic keeps up, at 100 ms and at
//! 1 s batches, beside the socket source's figure at 100 ms and a plain
//! consumer's.
//!
//! ```text
//! cargo bench --bench kafka_throughput            # about eight minutes
//! cargo bench --bench kafka_throughput -- --quick # a smaller topic, shorter runs
//! ```
//!
//! A real broker (tansu, `scripts/kafka-broker.sh install`, storing in
//! SQLite; its in-memory storage kept only 90 001 of 100 000 records
//! written, so it is not used) is started on a free port and a topic of two
//! partitions is filled with generated lines.
//! Each row then runs the job from the earliest offsets with
//! `max_rate_per_partition` set to half the offered rate, so that every
//! batch reads `rate × interval` lines from the backlog. Backpressure is off
//! (it would lower the rate to what the job manages). The measure starts
//! once the first batch completed (the warm-up, in the `warm s` column: on
//! tansu the first fetch from a new position takes seconds, and the batches
//! cut meanwhile queue up) and lasts the run. Over the second half of the
//! batches completed meanwhile: `ingested/s` is their records per interval,
//! `proc ms` their mean processing time (reading the records included),
//! `late delay` the longest any waited to start. A rate is "flat" when that
//! delay stays under one interval (the job caught up with its warm-up and
//! keeps up) and the job read at least 95 % of the offered rate.
//!
//! Beside each Kafka row, the same 100 ms job reads the same rate from a
//! socket (`socket_text_stream`, a paced line server, as
//! `socket_throughput`), so both sources are measured under the same load.
//! Rates run twice, in two interleaved rounds; the table shows both. Each
//! round first times a plain librdkafka consumer reading the first 200 000
//! lines with no job at all: what the broker can serve, the ceiling of any
//! Kafka row.

use rdkafka::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseRecord, Producer, ThreadedProducer};
use rdkafka::{Offset, TopicPartitionList};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use streamflow::live::kafka::{self, KafkaOptions, StartingOffsets};
use streamflow::live::sources::Input;
use streamflow::live::{BatchInfo, StatusLine, sinks, sources};
use streamflow::prelude::*;
use streamflow::{StreamingContext, StreamingHandle};
use streamflow_workspace::broker::Broker;

stream_job! {
    /// Word count, 100 ms batches, written as the README writes it.
    pub job Count100 {
        batch_interval = 100ms;
        input lines: String;
        output counts: (String, u64) = lines
            .flat_map(|line| line.split_whitespace())
            .map(|word| (word, 1u64))
            .reduce_by_key(|a, b| a + b);
    }
}

stream_job! {
    /// The same word count, 1 s batches.
    pub job Count1000 {
        batch_interval = 1s;
        input lines: String;
        output counts: (String, u64) = lines
            .flat_map(|line| line.split_whitespace())
            .map(|word| (word, 1u64))
            .reduce_by_key(|a, b| a + b);
    }
}

/// The longest warm-up waited for before a row gives up.
const MAX_WARM_UP: Duration = Duration::from_secs(60);

struct Row {
    source: &'static str,
    interval: Duration,
    warm_up: Duration,
    offered: u64,
    ingested: f64,
    mean_processing_ms: f64,
    max_late_delay_ms: f64,
    flat: bool,
}

/// Runs the word count at `interval` on `input` until its first batch
/// completed, then for `duration`: the warm-up, and the batches completed
/// after it.
fn run(input: Input<String>, interval: Duration, duration: Duration) -> (Duration, Vec<BatchInfo>) {
    if interval == Duration::from_secs(1) {
        run_job(StreamingContext::new(Count1000::new()), input, duration)
    } else {
        run_job(StreamingContext::new(Count100::new()), input, duration)
    }
}

fn run_job<J: streamflow::Job + 'static>(
    context: StreamingContext<J>,
    input: Input<String>,
    duration: Duration,
) -> (Duration, Vec<BatchInfo>) {
    let start = Instant::now();
    let handle: StreamingHandle = context
        .backpressure(false)
        .max_buffered_records(50_000_000)
        .status_line(StatusLine::Never)
        .block_interval(Duration::from_millis(50))
        .input("lines", input)
        .unwrap()
        .output::<(String, u64)>("counts", sinks::discard())
        .unwrap()
        .start()
        .unwrap();
    while handle.batches_completed() == 0 && start.elapsed() < MAX_WARM_UP {
        std::thread::sleep(Duration::from_millis(20));
    }
    let warm_up = start.elapsed();
    let warm = handle.batches().len();
    std::thread::sleep(duration);
    let mut batches = handle.batches();
    let _ = handle.stop(false);
    batches.drain(..warm.min(batches.len()));
    (warm_up, batches)
}

fn kafka_row(brokers: &str, rate: u64, interval: Duration, duration: Duration) -> Row {
    let options = KafkaOptions::new()
        .starting_offsets(StartingOffsets::Earliest)
        .max_rate_per_partition(rate as f64 / 2.0)
        // Right after the topic is filled the broker can take seconds to answer.
        .request_timeout(Duration::from_secs(30));
    let (warm_up, batches) = run(
        kafka::kafka_text_stream(brokers, ["lines"], options),
        interval,
        duration,
    );
    row("kafka", rate, interval, warm_up, &batches)
}

fn socket_row(rate: u64, duration: Duration) -> Row {
    let stop = Arc::new(AtomicBool::new(false));
    let port = streamflow_workspace::paced_line_server(rate, stop.clone(), Arc::new(AtomicU64::new(0)));
    let interval = Duration::from_millis(100);
    let (warm_up, batches) = run(sources::socket_text_stream("127.0.0.1", port), interval, duration);
    stop.store(true, Ordering::Relaxed);
    row("socket", rate, interval, warm_up, &batches)
}

fn row(source: &'static str, rate: u64, interval: Duration, warm_up: Duration, batches: &[BatchInfo]) -> Row {
    let second_half = &batches[batches.len() / 2..];
    let ms = |d: Option<Duration>| d.map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    let records: usize = second_half.iter().map(|b| b.records()).sum();
    let covered = second_half.len() as f64 * interval.as_secs_f64();
    let ingested = records as f64 / covered.max(1e-9);
    let mean_processing_ms = batches.iter().map(|b| ms(b.processing_time)).sum::<f64>() / batches.len().max(1) as f64;
    let max_late_delay_ms = second_half.iter().map(|b| ms(b.scheduling_delay)).fold(0.0, f64::max);
    let flat = !second_half.is_empty()
        && max_late_delay_ms < interval.as_secs_f64() * 1000.0
        && ingested >= 0.95 * rate as f64;
    Row {
        source,
        interval,
        warm_up,
        offered: rate,
        ingested,
        mean_processing_ms,
        max_late_delay_ms,
        flat,
    }
}

/// Fills `topic` (two partitions) with `lines`, line `i` to partition `i % 2`,
/// so that both partitions hold the same backlog.
fn fill(brokers: &str, topic: &str, lines: &[String]) {
    let producer: ThreadedProducer<_> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("linger.ms", "5")
        .create()
        .unwrap();
    for (i, line) in lines.iter().enumerate() {
        let mut record = BaseRecord::<(), str>::to(topic)
            .payload(line.as_str())
            .partition((i % 2) as i32);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((_, back)) => {
                    record = back;
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
    }
    producer.flush(Duration::from_secs(60)).unwrap();
}

/// Lines per second a plain consumer reads `n` lines at, from both
/// partitions' start, copying each value (as the text source does).
fn raw_consumer(brokers: &str, topic: &str, n: usize) -> f64 {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "bench-raw")
        .set("fetch.wait.max.ms", "10")
        .create()
        .unwrap();
    let mut list = TopicPartitionList::new();
    for p in 0..2 {
        list.add_partition_offset(topic, p, Offset::Beginning).unwrap();
    }
    consumer.assign(&list).unwrap();
    let start = Instant::now();
    let mut read = 0;
    let mut bytes = 0;
    while read < n {
        if let Some(Ok(message)) = consumer.poll(Duration::from_secs(5)) {
            bytes += rdkafka::Message::payload(&message).map_or(0, |v| String::from_utf8_lossy(v).len());
            read += 1;
        }
    }
    std::hint::black_box(bytes);
    read as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    // `cargo test --benches` runs bench targets with `--test`: nothing to check here.
    if std::env::args().any(|arg| arg == "--test") {
        return;
    }
    let quick = std::env::args().any(|a| a == "--quick");
    let (lines, duration, rates): (usize, Duration, &[u64]) = if quick {
        (150_000, Duration::from_secs(4), &[10_000, 20_000])
    } else {
        (600_000, Duration::from_secs(10), &[5_000, 10_000, 20_000, 40_000])
    };
    let broker = Broker::start().unwrap_or_else(|e| panic!("{e}"));
    let brokers = broker.brokers();
    kafka::create_topic(&brokers, "lines", 2).unwrap();
    let start = Instant::now();
    let text = streamflow_workspace::generated_lines(lines * 10, 1_000);
    fill(&brokers, "lines", &text);
    let written = text.len();
    eprintln!(
        "filled topic `lines` with {written} lines in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    println!(
        "{:>6} {:>7} {:>9} {:>10} {:>7} {:>11} {:>8} {:>11} {:>5}",
        "round", "source", "interval", "offered/s", "warm s", "ingested/s", "proc ms", "late delay", "flat"
    );
    let intervals = [Duration::from_millis(100), Duration::from_secs(1)];
    // Per round: the highest flat rate of Kafka at each interval, and of the socket.
    let mut highest = [[None::<u64>; 3]; 2];
    for (round, best) in highest.iter_mut().enumerate() {
        let raw = raw_consumer(&brokers, "lines", written.min(200_000));
        println!(
            "{:>6} {:>7} {:>9} {:>10} {:>7} {:>11.0}",
            round + 1,
            "raw",
            "-",
            "-",
            "-",
            raw
        );
        for &rate in rates {
            // The backlog must outlast the run and its warm-up.
            if rate as f64 * (duration.as_secs_f64() + 10.0) > written as f64 {
                continue;
            }
            let rows = [
                kafka_row(&brokers, rate, intervals[0], duration),
                socket_row(rate, duration),
                kafka_row(&brokers, rate, intervals[1], duration),
            ];
            for (i, row) in rows.into_iter().enumerate() {
                println!(
                    "{:>6} {:>7} {:>9} {:>10} {:>7.1} {:>11.0} {:>8.1} {:>11.1} {:>5}",
                    round + 1,
                    row.source,
                    format!("{:?}", row.interval),
                    row.offered,
                    row.warm_up.as_secs_f64(),
                    row.ingested,
                    row.mean_processing_ms,
                    row.max_late_delay_ms,
                    if row.flat { "yes" } else { "no" }
                );
                if row.flat {
                    best[i] = Some(row.offered);
                }
            }
        }
    }
    for (round, [kafka, socket, kafka_1s]) in highest.iter().enumerate() {
        println!(
            "round {}: highest flat rate (lines of ten words per second): kafka {kafka:?} at 100 ms, \
             {kafka_1s:?} at 1 s; socket {socket:?} at 100 ms",
            round + 1
        );
    }
}
