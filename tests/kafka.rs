//! The Kafka source and sink against a real broker (tansu, started per test
//! on a free port: `scripts/kafka-broker.sh install` provides it; without it
//! these tests fail, they are never skipped).

mod live_support;

use live_support::*;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::{ClientConfig, TopicPartitionList};
use std::collections::BTreeMap;
use std::time::Duration;
use streamflow::live::kafka::{
    self, KafkaOptions, KafkaRecord, KafkaSink, KafkaSinkOptions, StartingOffsets, TopicPartition,
};
use streamflow::live::sinks::{self, Collected, Sink};
use streamflow::live::{StartError, StreamingEvent};
use streamflow::prelude::*;
use streamflow::{StreamingContext, StreamingHandle};
use streamflow_workspace::broker::Broker;

stream_job! {
    /// The partition of every record, per batch partition.
    pub job Partitions {
        batch_interval = 100ms;
        input records: KafkaRecord;
        output partitions: Vec<i32> = records
            .glom()
            .map(|part| part.iter().map(|r| r.partition).collect::<Vec<_>>());
    }
}

stream_job! {
    /// Where every record was read from.
    pub job Positions {
        batch_interval = 100ms;
        input records: KafkaRecord;
        output positions: (i32, i64) = records.map(|r| (r.partition, r.offset));
    }
}

fn broker() -> Broker {
    Broker::start().unwrap_or_else(|e| panic!("{e}"))
}

fn lines(prefix: &str, n: usize) -> Vec<(Option<String>, String)> {
    (0..n).map(|i| (None, format!("{prefix}{i}"))).collect()
}

fn produce(broker: &Broker, topic: &str, records: Vec<(Option<String>, String)>) {
    kafka::produce(&broker.brokers(), topic, records).unwrap();
}

/// Starts the echo job on `topic` with `options`.
fn echo(broker: &Broker, topic: &str, options: KafkaOptions) -> (StreamingHandle, Collected<String>, Events) {
    echo_in(StreamingContext::new(Echo::new()), broker, topic, options)
}

/// The same, in a context set up by the caller.
fn echo_in(
    context: StreamingContext<Echo>,
    broker: &Broker,
    topic: &str,
    options: KafkaOptions,
) -> (StreamingHandle, Collected<String>, Events) {
    let (sink, out) = sinks::collect();
    let events = Events::default();
    let handle = context
        .input("lines", kafka::kafka_text_stream(broker.brokers(), [topic], options))
        .unwrap()
        .output("out", sink)
        .unwrap()
        .listener(events.listener())
        .start()
        .unwrap();
    (handle, out, events)
}

/// How often each line was seen.
fn counts(out: &Collected<String>) -> BTreeMap<String, usize> {
    let mut counts = BTreeMap::new();
    for line in out.elements() {
        *counts.entry(line).or_insert(0) += 1;
    }
    counts
}

fn wait_for(out: &Collected<String>, n: usize) {
    let reached = out.wait_until(PATIENCE, |batches| {
        batches.iter().map(|(_, b)| b.len()).sum::<usize>() >= n
    });
    assert!(reached, "only {} of {n} records arrived", out.len());
}

/// Each of `expected` exactly once, nothing else.
fn assert_each_once(out: &Collected<String>, expected: impl IntoIterator<Item = String>) {
    let expected: BTreeMap<String, usize> = expected.into_iter().map(|l| (l, 1)).collect();
    assert_eq!(counts(out), expected);
}

#[test]
fn records_produced_before_and_during_the_run_are_each_counted_once() {
    let broker = broker();
    kafka::create_topic(&broker.brokers(), "events", 2).unwrap();
    produce(&broker, "events", lines("before-", 500));
    let (handle, out, _) = echo(
        &broker,
        "events",
        KafkaOptions::new().starting_offsets(StartingOffsets::Earliest),
    );
    wait_for(&out, 500);
    produce(&broker, "events", lines("during-", 500));
    wait_for(&out, 1000);
    // A few more batches: nothing read twice shows up late.
    let seen = handle.batches_completed();
    assert!(handle.wait_for_batches(seen + 3, PATIENCE));
    handle.stop(false).unwrap();
    assert_each_once(
        &out,
        lines("before-", 500)
            .into_iter()
            .chain(lines("during-", 500))
            .map(|(_, v)| v),
    );
    assert_eq!(handle.input_stats("lines").unwrap().records, 1000);
}

#[test]
fn each_kafka_partition_is_one_partition_of_the_batch() {
    let broker = broker();
    kafka::create_topic(&broker.brokers(), "two", 2).unwrap();
    let records: Vec<_> = (0..200).map(|i| (Some(format!("key-{i}")), format!("v{i}"))).collect();
    produce(&broker, "two", records);
    let (sink, out) = sinks::collect::<Vec<i32>>();
    let options = KafkaOptions::new().starting_offsets(StartingOffsets::Earliest);
    let handle = StreamingContext::new(Partitions::new())
        .input(
            "records",
            kafka::kafka_direct_stream(broker.brokers(), ["two"], options),
        )
        .unwrap()
        .output("partitions", sink)
        .unwrap()
        .start()
        .unwrap();
    assert!(out.wait_until(PATIENCE, |batches| {
        batches.iter().flat_map(|(_, parts)| parts).map(Vec::len).sum::<usize>() >= 200
    }));
    handle.stop(false).unwrap();
    let mut per_partition = BTreeMap::new();
    for (_, parts) in out.batches() {
        // Every batch has both partitions, in order, each holding one Kafka partition's records.
        assert_eq!(parts.len(), 2, "{parts:?}");
        for (i, part) in parts.iter().enumerate() {
            assert!(
                part.iter().all(|p| *p == i as i32),
                "batch partition {i} holds {part:?}"
            );
            *per_partition.entry(i).or_insert(0) += part.len();
        }
    }
    assert_eq!(per_partition.values().sum::<usize>(), 200);
    assert!(
        per_partition.values().all(|n| *n > 0),
        "both partitions hold records: {per_partition:?}"
    );
}

#[test]
fn the_rate_limit_caps_every_batch_and_the_lag_is_reported() {
    let broker = broker();
    kafka::create_topic(&broker.brokers(), "slow", 1).unwrap();
    produce(&broker, "slow", lines("r", 60));
    // 50 records/s and 100 ms batches: at most 5 per batch.
    let options = KafkaOptions::new()
        .starting_offsets(StartingOffsets::Earliest)
        .max_rate_per_partition(50.0);
    let (handle, out, _) = echo(&broker, "slow", options);
    wait_for(&out, 60);
    handle.stop(false).unwrap();
    let sizes: Vec<usize> = out.batches().iter().map(|(_, b)| b.len()).collect();
    assert!(sizes.iter().all(|n| *n <= 5), "batch sizes {sizes:?}");
    assert_each_once(&out, lines("r", 60).into_iter().map(|(_, v)| v));
    // The first batch left 55 records behind; the lag then shrinks to zero.
    let lags: Vec<u64> = handle
        .batches()
        .iter()
        .filter_map(|b| b.input_progress.first())
        .map(|(port, progress)| {
            assert_eq!(*port, "lines");
            assert_eq!(progress.len(), 1);
            assert_eq!(progress[0].partition, "slow-0");
            progress[0].lag
        })
        .collect();
    assert_eq!(lags.first(), Some(&55), "lags {lags:?}");
    assert!(lags.windows(2).all(|w| w[1] <= w[0]), "lags {lags:?}");
    assert_eq!(lags.last(), Some(&0), "lags {lags:?}");
}

#[test]
fn a_broker_restart_mid_run_loses_nothing() {
    let mut broker = broker();
    kafka::create_topic(&broker.brokers(), "events", 2).unwrap();
    produce(&broker, "events", lines("a-", 300));
    // Requests at a cut give up after 300 ms: the outage spans several cuts.
    let options = KafkaOptions::new()
        .starting_offsets(StartingOffsets::Earliest)
        .request_timeout(Duration::from_millis(300));
    let (handle, out, events) = echo(&broker, "events", options);
    wait_for(&out, 300);
    broker.kill();
    // Batches cut while it is away read nothing and say why.
    std::thread::sleep(Duration::from_millis(1500));
    broker.start_again().unwrap();
    produce(&broker, "events", lines("b-", 300));
    wait_for(&out, 600);
    let seen = handle.batches_completed();
    assert!(handle.wait_for_batches(seen + 3, PATIENCE));
    handle.stop(false).unwrap();
    assert_each_once(
        &out,
        lines("a-", 300).into_iter().chain(lines("b-", 300)).map(|(_, v)| v),
    );
    let reported = events
        .all()
        .iter()
        .any(|e| matches!(e, StreamingEvent::InputError(info) if info.message.contains("retrying in")));
    assert!(reported, "the broker's absence was reported");
}

#[test]
fn starting_offsets_are_honoured() {
    let broker = broker();
    kafka::create_topic(&broker.brokers(), "numbered", 1).unwrap();
    produce(&broker, "numbered", lines("n", 10));
    let explicit = StartingOffsets::Offsets([(TopicPartition::new("numbered", 0), 7)].into());
    let (handle, out, _) = echo(&broker, "numbered", KafkaOptions::new().starting_offsets(explicit));
    wait_for(&out, 3);
    handle.stop(false).unwrap();
    assert_each_once(&out, ["n7", "n8", "n9"].map(String::from));

    // Latest (the default): only what is produced after the start.
    let (handle, out, _) = echo(&broker, "numbered", KafkaOptions::new());
    assert!(handle.wait_for_batches(2, PATIENCE));
    produce(&broker, "numbered", lines("late", 2));
    wait_for(&out, 2);
    handle.stop(false).unwrap();
    assert_each_once(&out, ["late0", "late1"].map(String::from));

    // An offset that is not on the broker is an error at start.
    let beyond = StartingOffsets::Offsets([(TopicPartition::new("numbered", 0), 99)].into());
    let err = StreamingContext::new(Echo::new())
        .input(
            "lines",
            kafka::kafka_text_stream(
                broker.brokers(),
                ["numbered"],
                KafkaOptions::new().starting_offsets(beyond),
            ),
        )
        .unwrap()
        .output::<String>("out", sinks::discard())
        .unwrap()
        .start()
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("starting offset 99 of numbered-0 is outside the offsets on the broker [0, 12]"),
        "{err}"
    );
}

#[test]
fn committed_group_offsets_are_visible_to_a_fresh_consumer() {
    let broker = broker();
    kafka::create_topic(&broker.brokers(), "grouped", 2).unwrap();
    produce(&broker, "grouped", lines("g", 100));
    let options = KafkaOptions::new()
        .starting_offsets(StartingOffsets::Earliest)
        .group_id("counters")
        .commit_offsets(true);
    let (handle, out, _) = echo(&broker, "grouped", options);
    wait_for(&out, 100);
    let seen = handle.batches_completed();
    assert!(handle.wait_for_batches(seen + 2, PATIENCE));
    handle.stop(true).unwrap();

    let fresh: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", broker.brokers())
        .set("group.id", "counters")
        .create()
        .unwrap();
    let mut list = TopicPartitionList::new();
    list.add_partition("grouped", 0);
    list.add_partition("grouped", 1);
    let committed = fresh.committed_offsets(list, Duration::from_secs(10)).unwrap();
    let total: i64 = committed.elements().iter().map(|e| e.offset().to_raw().unwrap()).sum();
    assert_eq!(total, 100, "{committed:?}");

    // A job starting from the group's offsets reads only what came after.
    produce(&broker, "grouped", lines("h", 10));
    let options = KafkaOptions::new()
        .group_id("counters")
        .starting_offsets(StartingOffsets::Committed {
            otherwise: Default::default(),
        });
    let (handle, out, _) = echo(&broker, "grouped", options);
    wait_for(&out, 10);
    let seen = handle.batches_completed();
    assert!(handle.wait_for_batches(seen + 2, PATIENCE));
    handle.stop(false).unwrap();
    assert_each_once(&out, lines("h", 10).into_iter().map(|(_, v)| v));
}

#[test]
fn values_that_are_not_text_are_counted_and_reported() {
    let broker = broker();
    kafka::create_topic(&broker.brokers(), "mixed", 1).unwrap();
    let values: Vec<(Option<&[u8]>, &[u8])> = vec![(None, b"ok"), (None, &[0xff, 0xfe]), (None, b"fine")];
    kafka::produce(&broker.brokers(), "mixed", values).unwrap();
    // A tombstone: a key and no value.
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", broker.brokers())
        .create()
        .unwrap();
    producer
        .send(BaseRecord::<str, [u8]>::to("mixed").key("gone"))
        .map_err(|(e, _)| e)
        .unwrap();
    producer.flush(Duration::from_secs(10)).unwrap();
    let (handle, out, events) = echo(
        &broker,
        "mixed",
        KafkaOptions::new().starting_offsets(StartingOffsets::Earliest),
    );
    wait_for(&out, 2);
    let seen = handle.batches_completed();
    assert!(handle.wait_for_batches(seen + 2, PATIENCE));
    handle.stop(false).unwrap();
    assert_each_once(&out, ["ok", "fine"].map(String::from));
    let stats = handle.input_stats("lines").unwrap();
    assert_eq!((stats.records, stats.rejected), (2, 2));
    let messages: Vec<String> = events
        .all()
        .iter()
        .filter_map(|e| match e {
            StreamingEvent::InputError(info) => Some(info.message.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(messages.len(), 2, "{messages:?}");
    assert!(
        messages[0].starts_with("the value at mixed-0@1 is not UTF-8 text"),
        "{messages:?}"
    );
    assert_eq!(messages[1], "the record at mixed-0@3 has no value (a tombstone)");
}

#[test]
fn a_missing_topic_is_an_error_at_start_or_waited_for() {
    let broker = broker();
    let start = |options: KafkaOptions| {
        StreamingContext::new(Echo::new())
            .input(
                "lines",
                kafka::kafka_text_stream(broker.brokers(), ["nowhere"], options),
            )
            .unwrap()
            .output::<String>("out", sinks::discard())
            .unwrap()
            .start()
    };
    let err = start(KafkaOptions::new()).unwrap_err();
    assert!(matches!(err, StartError::Source { .. }), "{err:?}");
    assert!(
        err.to_string().contains("Kafka topic `nowhere` does not exist"),
        "{err}"
    );

    let brokers = broker.brokers();
    let creator = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(800));
        kafka::create_topic(&brokers, "nowhere", 1).unwrap();
    });
    let handle = start(KafkaOptions::new().wait_for_topics(Duration::from_secs(20))).unwrap();
    creator.join().unwrap();
    assert!(handle.wait_for_batches(1, PATIENCE));
    handle.stop(false).unwrap();
}

/// Reads every committed record of `topic` (one partition) as text.
fn read_committed(broker: &Broker, topic: &str) -> Vec<String> {
    let (handle, out, _) = echo(
        broker,
        topic,
        KafkaOptions::new().starting_offsets(StartingOffsets::Earliest),
    );
    let seen = handle.batches_completed();
    assert!(handle.wait_for_batches(seen + 5, PATIENCE));
    handle.stop(false).unwrap();
    out.elements()
}

#[test]
fn the_sink_writes_every_element() {
    let broker = broker();
    kafka::create_topic(&broker.brokers(), "out", 1).unwrap();
    let mut sink = KafkaSink::new(
        broker.brokers(),
        "out",
        KafkaSinkOptions::new(),
        |(w, n): &(String, u64)| (Some(w.clone()), format!("{w}={n}")),
    );
    let batch = Batch::from_vec(vec![("a".to_owned(), 1), ("b".to_owned(), 2)]);
    sink.write(Time::from_millis(100), &batch).unwrap();
    sink.write(Time::from_millis(200), &Batch::from_vec(vec![("c".to_owned(), 3)]))
        .unwrap();
    assert_eq!(read_committed(&broker, "out"), ["a=1", "b=2", "c=3"]);
}

/// An exactly-once sink of strings to `topic`, keyed by their first letter.
fn exactly_once_sink(broker: &Broker, topic: &str) -> impl Sink<String> {
    let options = KafkaSinkOptions::new().exactly_once("test-sink");
    KafkaSink::new(broker.brokers(), topic, options, |v: &String| {
        (Some(v[..1].to_owned()), v.clone())
    })
}

fn batch(values: &[&str]) -> Batch<String> {
    Batch::from_vec(values.iter().map(|v| (*v).to_owned()).collect())
}

#[test]
fn an_exactly_once_sink_writes_a_batch_run_again_after_a_crash_once() {
    let broker = broker();
    kafka::create_topic(&broker.brokers(), "exact", 2).unwrap();
    let full = ["a1", "b1", "a2", "c1", "b2", "a3", "c2"];
    let mut sink = exactly_once_sink(&broker, "exact");
    sink.write(Time::from_millis(100), &batch(&["a0", "b0", "c0"])).unwrap();
    // The run crashes while writing batch 200: only its first elements made it.
    sink.write(Time::from_millis(200), &batch(&full[..3])).unwrap();
    drop(sink);
    // The recovered run writes batch 100 (committed before) and 200 again, then 300.
    let mut again = exactly_once_sink(&broker, "exact");
    again
        .write(Time::from_millis(100), &batch(&["a0", "b0", "c0"]))
        .unwrap();
    again.write(Time::from_millis(200), &batch(&full)).unwrap();
    again.write(Time::from_millis(300), &batch(&["a9"])).unwrap();
    drop(again);
    let mut written = read_committed(&broker, "exact");
    written.sort();
    let mut expected: Vec<String> = ["a0", "b0", "c0", "a9"]
        .iter()
        .chain(&full)
        .map(|v| (*v).to_owned())
        .collect();
    expected.sort();
    assert_eq!(written, expected);
}

#[test]
fn an_at_least_once_sink_writes_a_batch_run_again_twice() {
    let broker = broker();
    kafka::create_topic(&broker.brokers(), "twice", 1).unwrap();
    let new_sink = || {
        KafkaSink::new(broker.brokers(), "twice", KafkaSinkOptions::new(), |v: &String| {
            (None::<&[u8]>, v.clone())
        })
    };
    new_sink().write(Time::from_millis(100), &batch(&["x", "y"])).unwrap();
    new_sink().write(Time::from_millis(100), &batch(&["x", "y"])).unwrap();
    assert_eq!(read_committed(&broker, "twice"), ["x", "y", "x", "y"]);
}

#[test]
fn a_sink_to_a_missing_topic_fails_the_batch_with_the_reason() {
    let broker = broker();
    let mut sink = KafkaSink::new(broker.brokers(), "absent", KafkaSinkOptions::new(), |v: &String| {
        (None::<&[u8]>, v.clone())
    });
    let err = sink.write(Time::from_millis(100), &batch(&["x"])).unwrap_err();
    assert_eq!(
        err.to_string(),
        "Kafka topic `absent`: Kafka topic `absent` does not exist"
    );
}

#[test]
fn a_broker_that_cannot_be_reached_at_start_is_a_clear_error() {
    let mut broker = broker();
    kafka::create_topic(&broker.brokers(), "events", 1).unwrap();
    broker.kill();
    let options = KafkaOptions::new().request_timeout(Duration::from_millis(500));
    let err = StreamingContext::new(Echo::new())
        .input("lines", kafka::kafka_text_stream(broker.brokers(), ["events"], options))
        .unwrap()
        .output::<String>("out", sinks::discard())
        .unwrap()
        .start()
        .unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("cannot read the metadata of topic `events`"),
        "{message}"
    );
}

#[test]
fn a_backlog_is_read_in_capped_batches_each_record_once() {
    // Batch after batch, each range read whole (a partition's "end", which
    // some brokers report early, never cuts one short).
    let broker = broker();
    kafka::create_topic(&broker.brokers(), "backlog", 1).unwrap();
    produce(&broker, "backlog", lines("r", 30_000));
    // 50 000 records/s for 100 ms: 5 000 a batch.
    let options = KafkaOptions::new()
        .starting_offsets(StartingOffsets::Earliest)
        .max_rate_per_partition(50_000.0);
    // Backpressure would lower the rate to what the first batches managed.
    let context = StreamingContext::new(Echo::new()).backpressure(false);
    let (handle, out, _) = echo_in(context, &broker, "backlog", options);
    wait_for(&out, 30_000);
    handle.stop(false).unwrap();
    let sizes: Vec<usize> = out.batches().iter().map(|(_, b)| b.len()).filter(|n| *n > 0).collect();
    assert_eq!(sizes, [5_000; 6], "batch sizes");
    assert_each_once(&out, lines("r", 30_000).into_iter().map(|(_, v)| v));
}

#[test]
fn records_fetched_ahead_of_their_batch_are_each_read_once_in_order() {
    // Capped batches read 200 offsets of a partition while the consumer
    // fetches far more: what it fetched past a batch waits for the next
    // ones, and a partition 100 records ahead is paused, then resumed.
    let broker = broker();
    kafka::create_topic(&broker.brokers(), "ahead", 2).unwrap();
    let records: Vec<_> = (0..4_000)
        .map(|i| (Some(format!("key-{i}")), format!("v{i}")))
        .collect();
    produce(&broker, "ahead", records);
    let options = KafkaOptions::new()
        .starting_offsets(StartingOffsets::Earliest)
        .max_rate_per_partition(2_000.0)
        .max_records_ahead(100);
    let (sink, out) = sinks::collect::<(i32, i64)>();
    let handle = StreamingContext::new(Positions::new())
        .backpressure(false)
        .input(
            "records",
            kafka::kafka_direct_stream(broker.brokers(), ["ahead"], options),
        )
        .unwrap()
        .output("positions", sink)
        .unwrap()
        .start()
        .unwrap();
    let all = out.wait_until(Duration::from_secs(60), |batches| {
        batches.iter().map(|(_, b)| b.len()).sum::<usize>() >= 4_000
    });
    handle.stop(false).unwrap();
    assert!(all, "only {} of 4000 records arrived", out.len());
    let mut offsets: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    for (_, batch) in out.batches() {
        let mut per_partition = BTreeMap::new();
        for (partition, offset) in batch {
            offsets.entry(partition).or_default().push(offset);
            *per_partition.entry(partition).or_insert(0) += 1;
        }
        assert!(
            per_partition.values().all(|n| *n <= 200),
            "a batch over its cap: {per_partition:?}"
        );
    }
    // Every offset of each partition once, in order: nothing lost, nothing twice.
    assert_eq!(offsets.len(), 2, "both partitions read");
    for (partition, read) in &offsets {
        let expected: Vec<i64> = (0..read.len() as i64).collect();
        assert_eq!(read, &expected, "partition {partition}");
    }
    assert_eq!(offsets.values().map(Vec::len).sum::<usize>(), 4_000);
}
