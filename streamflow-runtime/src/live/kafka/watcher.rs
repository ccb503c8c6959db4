//! The broker requests behind a Kafka source's cuts, made on a thread of
//! their own: a broker busy serving fetches can take a second to answer
//! (tansu answers one request at a time), and a cut that waited for it
//! would make every batch of a 100 ms job late. The cut takes the latest
//! answer instead; an end offset a little old only makes a batch read up
//! to an earlier end, which the next batch goes on from.

use super::client::MetadataClient;
use super::offsets::TopicPartition;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How often the watcher also looks for new partitions and for offsets
/// deleted under the job (retention).
const CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// What the broker said in one round of requests.
#[derive(Debug, Clone)]
pub(crate) struct Snapshot {
    /// Every partition's end offset.
    pub(crate) ends: BTreeMap<TopicPartition, i64>,
    /// Every partition's first offset on the broker, in the rounds that
    /// checked them (always when a partition is new).
    pub(crate) starts: Option<BTreeMap<TopicPartition, i64>>,
}

/// The latest round's answer: a snapshot, or why the broker could not give one.
type Latest = Option<Result<Snapshot, String>>;

struct Shared {
    latest: Mutex<Latest>,
    stop: AtomicBool,
}

/// Owns the thread; dropping it stops the thread after its current request.
pub(crate) struct Watcher {
    shared: Arc<Shared>,
}

impl Watcher {
    /// Starts asking about `topics`, whose partitions are `partitions`, a
    /// round every `pause` (and as fast as the broker answers, no faster).
    pub(crate) fn start(
        client: MetadataClient,
        topics: Vec<String>,
        partitions: Vec<TopicPartition>,
        first: Snapshot,
        pause: Duration,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            latest: Mutex::new(Some(Ok(first))),
            stop: AtomicBool::new(false),
        });
        let watched = shared.clone();
        thread::Builder::new()
            .name("kafka-offsets".into())
            .spawn(move || run(&client, &topics, partitions, &watched, pause))?;
        Ok(Watcher { shared })
    }

    /// The latest answer.
    pub(crate) fn latest(&self) -> Latest {
        self.shared.latest.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
    }
}

/// One round: the partitions (every [`CHECK_INTERVAL`]) with their first
/// offsets, then every partition's end.
pub(crate) fn round(
    client: &MetadataClient,
    topics: &[String],
    partitions: &mut Vec<TopicPartition>,
    check: bool,
) -> Result<Snapshot, String> {
    let starts = if check {
        let mut found = Vec::new();
        for topic in topics {
            match client.partitions(topic) {
                Ok(Some(ids)) => found.extend(ids.into_iter().map(|p| TopicPartition::new(topic.clone(), p))),
                Ok(None) => return Err(format!("topic `{topic}` is gone from the broker")),
                Err(e) => return Err(format!("cannot read the metadata of topic `{topic}`: {e}")),
            }
        }
        // A partition never leaves a topic; keep one the metadata missed.
        found.extend(partitions.iter().cloned());
        found.sort();
        found.dedup();
        let starts = client.start_offsets(&found)?;
        *partitions = found;
        Some(starts)
    } else {
        None
    };
    let ends = client.end_offsets(partitions)?;
    Ok(Snapshot {
        ends: partitions.iter().cloned().zip(ends).collect(),
        starts: starts.map(|s| partitions.iter().cloned().zip(s).collect()),
    })
}

fn run(
    client: &MetadataClient,
    topics: &[String],
    mut partitions: Vec<TopicPartition>,
    shared: &Shared,
    pause: Duration,
) {
    let mut checked = Instant::now();
    while !shared.stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let check = checked.elapsed() >= CHECK_INTERVAL;
        let answer = round(client, topics, &mut partitions, check);
        if check && answer.is_ok() {
            checked = started;
        }
        let failed = answer.is_err();
        *shared.latest.lock().unwrap_or_else(|e| e.into_inner()) = Some(answer);
        // After a failure, wait a little more: librdkafka reconnects meanwhile.
        let wait = if failed {
            pause.max(Duration::from_millis(100))
        } else {
            pause
        };
        thread::sleep(wait.saturating_sub(started.elapsed()));
    }
}
