//! The mesh between processes: one long-lived timely dataflow per process
//! (an input, an exchange routed by destination process, a receiving
//! operator, a probe), run by timely's worker thread. A job's thread hands
//! it one round of records at a time and gets back the records every
//! process sent to this one in that round.

use super::config::{ClusterConfig, ClusterError};
use super::sockets;
use std::cell::RefCell;
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use timely::communication::Hooks;
use timely::communication::allocator::zero_copy::initialize::initialize_networking_from_sockets;
use timely::communication::allocator::{AllocatorBuilder, ProcessBuilder};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::operator::Operator;
use timely::dataflow::operators::{Exchange, Input, Probe};
use timely::dataflow::{InputHandle, ProbeHandle};

/// Timely's allocators for this process, over connections made by
/// [`sockets::connect`]: one timely worker per process (the job's own
/// thread pool runs its tasks; the worker only moves the exchanges).
type Network = (Vec<AllocatorBuilder>, Box<dyn std::any::Any + Send>);

fn start_network(config: &ClusterConfig, deadline: Instant) -> Result<Network, String> {
    // Kept without the error's "cluster: " prefix: `Mesh::connect` adds it.
    let streams = sockets::connect(config, deadline).map_err(|e| match e {
        ClusterError::Connect(why) | ClusterError::Disagree(why) => why,
        other => other.to_string(),
    })?;
    let hooks = Hooks::default();
    let threads = ProcessBuilder::new_typed_vector(1, hooks.refill.clone(), hooks.spill.clone());
    let (builders, guard) = initialize_networking_from_sockets(threads, streams, config.process(), 1, hooks)
        .map_err(|e| format!("cannot start timely's network threads: {e}"))?;
    Ok((
        builders.into_iter().map(AllocatorBuilder::Tcp).collect(),
        Box::new(guard),
    ))
}

/// One bucket of an exchange on its way to another process.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct Record {
    /// The process that owns `partition`.
    pub dest: u64,
    /// The output partition.
    pub partition: u64,
    /// The process that sent it.
    pub source: u64,
    /// The map task's position (part, chunk).
    pub task: (u64, u64),
    /// The bucket's elements, encoded.
    pub bytes: Vec<u8>,
}

/// The partition (and task) of a [`Mesh::share`] record: no exchange has it,
/// so an exchange that meets one fails instead of misreading it.
const SHARE: u64 = u64::MAX;

/// One round: the records to send, where to answer with the ones received
/// and, for a bounded round, when to give up waiting (then the answer is
/// the processes whose records did arrive).
struct Round {
    records: Vec<Record>,
    reply: Sender<Result<Vec<Record>, Vec<u64>>>,
    deadline: Option<Instant>,
}

/// How long the worker parks between looks at the job's requests: short, as
/// a job waits for the worker, but it spares a core on an idle job.
const PARK: Duration = Duration::from_millis(1);

/// This process's end of the mesh. Dropping it closes this process's input
/// and waits until every process has closed its own (timely shuts down
/// together), so a process that finishes first keeps serving the others.
pub struct Mesh {
    process: usize,
    processes: usize,
    rounds: Mutex<Option<Sender<Round>>>,
    /// Why the worker stopped, if it failed.
    failure: Arc<Mutex<Option<String>>>,
    runner: Mutex<Option<JoinHandle<()>>>,
    /// What this process sent to others: elements, and their encoded bytes.
    sent_elements: AtomicU64,
    sent_bytes: AtomicU64,
    /// How long a bounded round waits for the others (see
    /// [`ClusterConfig::with_answer_timeout`]).
    answer_timeout: Duration,
}

/// What a process sent to the others through the mesh so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sent {
    /// Elements in buckets sent to another process (a bucket for this
    /// process stays here and is not counted).
    pub elements: u64,
    /// Their encoded size (postcard), without timely's framing.
    pub bytes: u64,
}

impl std::fmt::Debug for Mesh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mesh")
            .field("process", &self.process)
            .field("processes", &self.processes)
            .finish_non_exhaustive()
    }
}

impl Mesh {
    /// Connects this process to the others (each listens on its own
    /// address; see `cluster/sockets.rs`) and starts timely's mesh over those
    /// connections, waiting at most `timeout` for all of them.
    pub fn connect(config: &ClusterConfig, timeout: Duration) -> Result<Arc<Mesh>, ClusterError> {
        let (rounds_tx, rounds_rx) = mpsc::channel::<Round>();
        let (ready_tx, ready_rx) = mpsc::channel::<()>();
        let failure = Arc::new(Mutex::new(None));
        let deadline = Instant::now() + timeout;
        let slot = Mutex::new(Some((rounds_rx, ready_tx)));
        let failed = Arc::clone(&failure);
        let config_here = config.clone();
        let runner = std::thread::Builder::new()
            .name("streamflow-cluster".into())
            .spawn(move || {
                let (builders, network) = match start_network(&config_here, deadline) {
                    Ok(network) => network,
                    Err(why) => {
                        *failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(why);
                        return;
                    }
                };
                let failed_worker = Arc::clone(&failed);
                let guards =
                    timely::execute::execute_from(builders, network, timely::WorkerConfig::default(), move |worker| {
                        let taken = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
                        if let Some((rounds, ready)) = taken {
                            // On a lost peer timely panics ("timely communication
                            // error", then "MergeQueue poisoned" here): keep why,
                            // for the job's error.
                            let served = catch_unwind(AssertUnwindSafe(|| serve(worker, rounds, ready)));
                            if let Err(payload) = served {
                                *failed_worker.lock().unwrap_or_else(|e| e.into_inner()) = Some(panic_text(&*payload));
                            }
                        }
                    });
                // Joining joins timely's network threads too, which wait for
                // the peers: after a failure that may never end, so nothing
                // waits for this thread then (see `Drop`).
                match guards {
                    Err(e) => *failed.lock().unwrap_or_else(|e| e.into_inner()) = Some(e),
                    Ok(guards) => drop(guards.join()),
                }
            })
            .map_err(|e| ClusterError::Connect(format!("cannot start the cluster thread: {e}")))?;
        // The connecting thread gives up at the deadline with a better
        // error than this wait's; the margin lets it say so first.
        match ready_rx.recv_timeout(timeout + Duration::from_secs(2)) {
            Ok(()) => {}
            Err(RecvTimeoutError::Timeout) => {
                return Err(ClusterError::Connect(format!(
                    "the {} processes at {:?} did not all connect within {timeout:?}",
                    config.processes(),
                    config.addresses()
                )));
            }
            Err(RecvTimeoutError::Disconnected) => {
                let _ = runner.join();
                let why = failure.lock().unwrap_or_else(|e| e.into_inner()).take();
                return Err(ClusterError::Connect(
                    why.unwrap_or_else(|| "the mesh did not start".into()),
                ));
            }
        }
        let mesh = Arc::new(Mesh {
            process: config.process(),
            processes: config.processes(),
            rounds: Mutex::new(Some(rounds_tx)),
            failure,
            runner: Mutex::new(Some(runner)),
            sent_elements: AtomicU64::new(0),
            sent_bytes: AtomicU64::new(0),
            answer_timeout: config.answer_timeout(),
        });
        // Another process list would route records to the wrong processes.
        mesh.agree_on_addresses(config.addresses())?;
        Ok(mesh)
    }

    /// This process's index.
    pub fn process(&self) -> usize {
        self.process
    }

    /// The number of processes.
    pub fn processes(&self) -> usize {
        self.processes
    }

    /// What this process has sent to the others so far.
    pub fn sent(&self) -> Sent {
        Sent {
            elements: self.sent_elements.load(Ordering::Relaxed),
            bytes: self.sent_bytes.load(Ordering::Relaxed),
        }
    }

    /// Counts `elements` sent in `bytes`.
    pub(crate) fn count_sent(&self, elements: usize, bytes: usize) {
        self.sent_elements.fetch_add(elements as u64, Ordering::Relaxed);
        self.sent_bytes.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// One round of the exchange: sends `records` to their destination
    /// processes and returns every record sent to this one in the same round
    /// by any process, once progress tracking says the round is complete
    /// everywhere. Every process must call it the same number of times.
    pub(crate) fn round(&self, records: Vec<Record>) -> Result<Vec<Record>, ClusterError> {
        self.round_within(records, None)
    }

    /// How long the processes wait for each other's answers when they
    /// agree (see [`ClusterConfig::with_answer_timeout`]).
    pub(crate) fn answer_timeout(&self) -> Duration {
        self.answer_timeout
    }

    /// [`round`](Self::round), waiting at most `bound` for the others (a
    /// round in which every process sends to every other: an agreement).
    /// A process whose records did not come in time is named in the error;
    /// the mesh is then failed for good (its round never completed), so
    /// every later round fails at once and dropping it does not wait.
    pub(crate) fn round_within(
        &self,
        records: Vec<Record>,
        bound: Option<Duration>,
    ) -> Result<Vec<Record>, ClusterError> {
        if let Some(why) = self.failure.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            return Err(ClusterError::Lost(why));
        }
        let (reply_tx, reply_rx) = mpsc::channel();
        let sent = {
            let rounds = self.rounds.lock().unwrap_or_else(|e| e.into_inner());
            rounds.as_ref().is_some_and(|rounds| {
                rounds
                    .send(Round {
                        records,
                        reply: reply_tx,
                        deadline: bound.map(|bound| Instant::now() + bound),
                    })
                    .is_ok()
            })
        };
        match sent.then(|| reply_rx.recv().ok()).flatten() {
            Some(Ok(received)) => Ok(received),
            Some(Err(answered)) => {
                let silent: Vec<String> = (0..self.processes)
                    .filter(|&p| p != self.process && !answered.contains(&(p as u64)))
                    .map(|p| p.to_string())
                    .collect();
                let who = match silent.as_slice() {
                    [] => "every process answered, but the round did not complete".to_owned(),
                    [one] => format!("process {one} did not answer"),
                    many => format!("processes {} did not answer", many.join(", ")),
                };
                let why = format!(
                    "{who} within {:?} (stopped, hung, or in another step of the program?)",
                    bound.unwrap_or_default()
                );
                *self.failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(why.clone());
                Err(ClusterError::Lost(why))
            }
            None => Err(ClusterError::Lost(self.why_stopped())),
        }
    }

    /// Closes this process's end of the mesh: waits (at most `wait`) until
    /// `mesh` is the last handle (a live job's threads drop theirs just
    /// after its `await_termination` returns), then drops it, which waits
    /// until every process has closed its own. Call it before the process
    /// exits: exiting while another thread still holds the mesh cuts the
    /// connections mid-shutdown, and the other processes' timely threads
    /// then panic on the closed sockets. Returns whether `mesh` was the
    /// last handle in time (if not, it is dropped all the same).
    pub fn close(mesh: Arc<Mesh>, wait: Duration) -> bool {
        let deadline = std::time::Instant::now() + wait;
        while Arc::strong_count(&mesh) > 1 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        let last = Arc::strong_count(&mesh) == 1;
        drop(mesh);
        last
    }

    /// Every process's `value`, by process index: one round in which each
    /// process sends its value to every other. It is also a barrier: it
    /// returns once every process has called it. The live runtime uses it on
    /// the driver thread (the thread of the job's exchanges, so rounds keep
    /// the same order everywhere) to agree on the zero time, and after every
    /// batch's outputs.
    pub(crate) fn share(&self, value: u64) -> Result<Vec<u64>, ClusterError> {
        self.share_within(value, None)
    }

    /// [`share`](Self::share) for an agreement at start (the zero time,
    /// the checkpoint to resume): bounded by the answer timeout.
    pub(crate) fn agree_on(&self, value: u64) -> Result<Vec<u64>, ClusterError> {
        self.share_within(value, Some(self.answer_timeout))
    }

    fn share_within(&self, value: u64, bound: Option<Duration>) -> Result<Vec<u64>, ClusterError> {
        let records = (0..self.processes)
            .filter(|&p| p != self.process)
            .map(|p| Record {
                dest: p as u64,
                partition: SHARE,
                source: self.process as u64,
                task: (SHARE, SHARE),
                bytes: value.to_le_bytes().to_vec(),
            })
            .collect();
        let mut values = vec![None; self.processes];
        values[self.process] = Some(value);
        for record in self.round_within(records, bound)? {
            let bytes: Option<[u8; 8]> = record.bytes.as_slice().try_into().ok();
            match (record.partition, bytes, values.get_mut(record.source as usize)) {
                (SHARE, Some(bytes), Some(slot @ None)) => *slot = Some(u64::from_le_bytes(bytes)),
                _ => {
                    return Err(ClusterError::Lost(format!(
                        "process {} was in another step of the job (an exchange where this process shares a batch's end): the processes disagree on the job",
                        record.source
                    )));
                }
            }
        }
        values
            .into_iter()
            .enumerate()
            .map(|(p, v)| v.ok_or_else(|| ClusterError::Lost(format!("process {p} shared no value"))))
            .collect()
    }

    /// Why the worker stopped: its panic (timely's "MergeQueue poisoned"
    /// after a network thread found a peer gone).
    fn why_stopped(&self) -> String {
        // The worker records its panic just after it drops the reply channel:
        // wait a little for it rather than report nothing.
        for _ in 0..200 {
            if let Some(why) = self.failure.lock().unwrap_or_else(|e| e.into_inner()).clone() {
                return why;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        "the cluster's worker thread stopped".into()
    }
}

impl Drop for Mesh {
    /// Closes this process's input and waits until every process has closed
    /// its own; after a failure, returns at once (the mesh is gone).
    fn drop(&mut self) {
        self.rounds.lock().unwrap_or_else(|e| e.into_inner()).take();
        let failed = self.failure.lock().unwrap_or_else(|e| e.into_inner()).is_some();
        if let Some(runner) = self.runner.lock().unwrap_or_else(|e| e.into_inner()).take()
            && !failed
        {
            let _ = runner.join();
        }
    }
}

/// The message of a caught panic.
fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "the cluster's worker panicked".to_owned()
    }
}

/// The worker's loop: builds the dataflow, then runs one round per request
/// (records in at the round's timestamp, step until the probe passes it)
/// and, once the job drops its mesh, closes the input and steps until every
/// process has closed its own.
fn serve(worker: &mut timely::worker::Worker, rounds: Receiver<Round>, ready: Sender<()>) {
    let mut input = InputHandle::<u64, CapacityContainerBuilder<Vec<Record>>>::new();
    let probe = ProbeHandle::new();
    let received: Rc<RefCell<HashMap<u64, Vec<Record>>>> = Rc::default();
    let store = Rc::clone(&received);
    worker.dataflow::<u64, _, _>(|scope| {
        scope
            .input_from(&mut input)
            .container::<Vec<Record>>()
            .exchange(|record: &Record| record.dest)
            .unary::<CapacityContainerBuilder<Vec<Record>>, _, _, _>(Pipeline, "Receive", move |_, _| {
                move |input, _output| {
                    input.for_each(|cap, data| {
                        // Every record is sent at its round's timestamp.
                        if let Some(&time) = cap.least() {
                            store.borrow_mut().entry(time).or_default().append(data);
                        }
                    });
                }
            })
            .probe_with(&probe);
    });
    let _ = ready.send(());
    let mut round = 0u64;
    loop {
        let next = loop {
            match rounds.try_recv() {
                Ok(next) => break Some(next),
                Err(TryRecvError::Empty) => {
                    worker.step_or_park(Some(PARK));
                }
                Err(TryRecvError::Disconnected) => break None,
            }
        };
        let Some(Round {
            records,
            reply,
            deadline,
        }) = next
        else {
            break;
        };
        for record in records {
            input.send(record);
        }
        round += 1;
        input.advance_to(round);
        let mut late = false;
        while probe.less_than(&round) {
            if deadline.is_some_and(|d| Instant::now() >= d) {
                late = true;
                break;
            }
            worker.step_or_park(Some(PARK));
        }
        if late {
            // Who answered so far; the job fails, and asks for no more rounds.
            let mut answered: Vec<u64> = received
                .borrow()
                .get(&(round - 1))
                .into_iter()
                .flatten()
                .map(|r| r.source)
                .collect();
            answered.sort_unstable();
            answered.dedup();
            let _ = reply.send(Err(answered));
            continue;
        }
        let got = received.borrow_mut().remove(&(round - 1)).unwrap_or_default();
        let _ = reply.send(Ok(got));
    }
    drop(input);
    while worker.step_or_park(Some(PARK)) {}
}
