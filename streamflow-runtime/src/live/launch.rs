//! Starting a live job: checks the context's bindings and settings, starts the
//! listener thread and the sources, then the generator and driver threads,
//! and returns the [`StreamingHandle`].

use super::agreed_stop::AgreedStop;
use super::bound_sink::BoundSink;
use super::clock::Clock;
use super::driver::{Driver, Lockstep};
use super::error::StartError;
use super::generator::{GeneratorInput, QueuedBatch, Schedule, generate};
use super::handle::StreamingHandle;
use super::listener::{EventSender, StreamingEvent, StreamingListener, spawn_bus};
use super::memory::Budget;
use super::rate::PidRateEstimator;
use super::recovery::{self, Opened, fresh_zero};
use super::run_state::{MODE_RUNNING, MODE_STOP, RunState, Shared, guard_driver, guard_thread};
use super::settings::Settings;
use super::sources::{Delivery, Feed, Input, InputEnv, MeshRef, StartedInput};
use super::status_line::StatusDrawer;
use super::sync::lock;
use crate::cluster::Share;
use crate::{InputPartitions, InputPorts, Job, Time};
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// Inputs are stored without their element type once checked against their
/// port.
pub(super) enum Erased {}

/// What a context collects before it starts.
pub(super) struct Setup<J> {
    pub(super) job: J,
    /// One per input port, `None` while unbound.
    pub(super) inputs: Vec<Option<Input<Erased>>>,
    /// The sinks of each output port, in binding order.
    pub(super) outputs: Vec<Vec<BoundSink>>,
    pub(super) settings: Settings,
    pub(super) listeners: Vec<Box<dyn StreamingListener>>,
    pub(super) clock: Arc<dyn Clock>,
    /// Stop after this many batches in a row without input.
    pub(super) idle_batches: Option<u32>,
}

/// Starts the job `setup` describes.
pub(super) fn launch<J: Job + 'static>(setup: Setup<J>) -> Result<StreamingHandle, StartError> {
    let Setup {
        mut job,
        inputs,
        settings,
        mut outputs,
        listeners,
        clock,
        idle_batches,
    } = setup;
    let plan = job.plan();
    let job_name = plan.job;
    if plan.batch_interval_ms == 0 {
        return Err(StartError::ZeroBatchInterval { job: job_name });
    }
    job.config().validate()?;
    check(&settings)?;
    let ports = <J::Inputs as InputPorts>::PORTS;
    let mut sources = Vec::with_capacity(inputs.len());
    for (info, input) in ports.iter().zip(inputs) {
        let input = input.ok_or(StartError::UnboundInput {
            job: job_name,
            port: info.name,
        })?;
        sources.push((info.name, input));
    }
    let batch_interval = Duration::from_millis(plan.batch_interval_ms);
    let lockstep = lockstep(&job);
    if let Some(lockstep) = &lockstep {
        check_cluster(&sources, job.config().partition_count(), lockstep.processes)?;
        for sink in outputs.iter_mut().flatten() {
            sink.place(lockstep.process, lockstep.processes);
        }
    }
    let mesh = mesh_of(&job);
    let share = lockstep.as_ref().map(|l| Share {
        process: l.process,
        processes: l.processes,
        partitions: job.config().partition_count(),
    });
    // The checkpoint is opened (and the state restored) before any source
    // starts: a checkpoint that does not fit stops the start early.
    let on_cluster = on_cluster(lockstep.as_ref(), share);
    let mut opened = match &settings.checkpoint() {
        Some(checkpoint) => Some(recovery::open(checkpoint, &mut job, clock.now(), on_cluster)?),
        None => None,
    };
    let mut zero = match &opened {
        Some(opened) => opened.zero(),
        None => fresh_zero(clock.now(), batch_interval),
    };
    if let Some(lockstep) = &lockstep {
        // Every process runs the same batch times: process 0's zero time.
        let zeros = (lockstep.agree)(zero.as_millis()).map_err(|reason| StartError::InvalidSetting {
            setting: "cluster",
            reason: format!("cannot agree on the zero time: {reason}"),
        })?;
        zero = Time::from_millis(zeros[0]);
        if let Some(opened) = &mut opened {
            opened.agree_zero(zero);
        }
    }
    job.set_zero_time(zero);
    // Bound before anything starts, so that a port in use is a start error.
    #[cfg(feature = "status-page")]
    let mut listeners = listeners;
    #[cfg(feature = "status-page")]
    let status_page = match &settings.status_page {
        Some(address) => {
            let page = super::status_page::bind(address)?;
            listeners.push(page.recorder());
            Some(page)
        }
        None => None,
    };
    #[cfg(feature = "status-page")]
    let status_page_address = status_page.as_ref().map(|page| page.address());
    #[cfg(not(feature = "status-page"))]
    let status_page_address = None;
    let (events, bus) = spawn_bus(listeners).map_err(thread_error("streamflow-listeners"))?;
    let budget = Arc::new(Budget::new(settings.max_buffered_records, settings.max_buffered_bytes));
    let stop_all = |started: &[(&'static str, StartedInput)]| {
        for (_, s) in started {
            if let Some(r) = &s.receiver {
                r.request_stop(true);
            }
        }
    };
    let mut started = match start_inputs(
        sources,
        &settings,
        batch_interval,
        &budget,
        &events,
        opened.as_ref(),
        (share, mesh, &kept_ports(&job)),
    ) {
        Ok(started) => started,
        Err(e) => {
            events.shutdown();
            if let Some(bus) = bus {
                let _ = bus.join();
            }
            return Err(e);
        }
    };
    let resumed = match opened {
        Some(opened) => {
            let ports: Vec<&'static str> = started.iter().map(|(port, _)| *port).collect();
            let (mut feeds, deliveries): (Vec<&mut dyn Feed>, Vec<&dyn Delivery>) = started
                .iter_mut()
                .map(|(_, s)| (&mut *s.feed as &mut dyn Feed, &*s.delivery as &dyn Delivery))
                .unzip();
            let barrier = on_cluster.map(|c| c.barrier);
            match recovery::resume(opened, &job, &ports, &mut feeds, &deliveries, clock.now(), barrier) {
                Ok(resumed) => Some(resumed),
                Err(e) => {
                    stop_all(&started);
                    events.shutdown();
                    if let Some(bus) = bus {
                        let _ = bus.join();
                    }
                    return Err(e);
                }
            }
        }
        None => None,
    };

    let mut receivers = Vec::new();
    let mut counters = Vec::new();
    let mut pid = Vec::new();
    let mut generator_inputs = Vec::with_capacity(started.len());
    let mut deliveries = Vec::with_capacity(started.len());
    for (index, (port, s)) in started.into_iter().enumerate() {
        tracing::info!(job = job_name, input = port, source = %s.description, "input started");
        if let Some(rate) = s.rate {
            if settings.backpressure && settings.pid.initial_rate > 0.0 {
                rate.set_rate(settings.pid.initial_rate);
            }
            pid.push((index, PidRateEstimator::new(batch_interval, settings.pid), rate));
        }
        if let Some(control) = s.receiver {
            receivers.push((port, control));
        }
        counters.push((port, s.counters));
        generator_inputs.push(GeneratorInput { port, feed: s.feed });
        deliveries.push(s.delivery);
    }
    let (checkpoint, first, replays, recovered) = match resumed {
        Some(r) => (Some(Arc::new(r.checkpointer)), r.first, r.replays, r.info),
        None => (None, 1, Vec::new(), None),
    };
    let shared = Arc::new(Shared {
        plan,
        recovery: recovered,
        batch_interval,
        state: Mutex::new(RunState::default()),
        changed: Condvar::new(),
        budget,
        receivers,
        counters,
        mode: AtomicU8::new(MODE_RUNNING),
        discard: AtomicBool::new(false),
        stopping: AtomicBool::new(false),
        stop_timeout: settings.stop_timeout,
        threads: Mutex::new(Vec::new()),
        unprocessed: Default::default(),
        graceful_stop_timeout: settings.graceful_stop_timeout(batch_interval),
        max_queued_batches: settings.max_queued_batches,
        status_page: status_page_address,
        agreed: lockstep.as_ref().map(|_| AgreedStop::default()),
    });
    #[cfg(feature = "status-page")]
    if let Some(page) = status_page
        && let Err(e) = page.serve(shared.clone())
    {
        shared.stop_here(false);
        events.shutdown();
        return Err(thread_error("streamflow-status-page")(e));
    }
    if let Some(bus) = &bus {
        lock(&shared.threads).push(bus.thread().id());
    }

    let (tx, rx) = mpsc::channel::<QueuedBatch>();
    // The batches recorded before a crash run first, in time order.
    let ports: Vec<&'static str> = generator_inputs.iter().map(|i| i.port).collect();
    let replayed_through = replays.last().map_or(Time::ZERO, |r| r.time);
    for replay in replays {
        shared.state().queued += 1;
        let _ = tx.send(QueuedBatch::new(replay.time, &ports, replay.pendings, replay.committed));
    }
    let schedule = Schedule {
        zero,
        first,
        checkpoint: checkpoint.clone(),
    };
    let driver = Driver {
        job,
        deliveries,
        outputs,
        shared: shared.clone(),
        status: StatusDrawer::new(settings.status_line, batch_interval),
        settings,
        pid,
        events: events.clone(),
        bus,
        checkpoint,
        replayed_through,
        lockstep: lockstep.map(|l| l.lockstep),
        idle_limit: idle_batches,
        idle_run: 0,
    };
    let generator_shared = shared.clone();
    let generator_events = events.clone();
    let generator = std::thread::Builder::new()
        .name("streamflow-generator".into())
        .spawn(move || {
            // Held until the panic is recorded: the driver must not see the
            // queue end (and the job end well) before the error is set.
            let keep = tx.clone();
            let shared = generator_shared.clone();
            guard_thread(&shared, "generator", move || {
                generate(
                    generator_shared,
                    clock,
                    schedule,
                    generator_inputs,
                    tx,
                    generator_events,
                );
            });
            drop(keep);
        });
    if let Err(e) = generator {
        shared.stop_here(false);
        events.shutdown();
        return Err(thread_error("streamflow-generator")(e));
    }
    let (driver_shared, driver_events) = (shared.clone(), events.clone());
    let driver_thread = std::thread::Builder::new()
        .name("streamflow-driver".into())
        .spawn(move || guard_driver(&driver_shared, &driver_events, move || driver.run(rx)));
    match driver_thread {
        Ok(handle) => lock(&shared.threads).push(handle.thread().id()),
        Err(e) => {
            // Without a driver nothing would end the generator: stop it.
            shared.mode.store(MODE_STOP, Ordering::SeqCst);
            shared.stop_here(false);
            events.shutdown();
            return Err(thread_error("streamflow-driver")(e));
        }
    }
    events.send(StreamingEvent::Started { batch_interval });
    tracing::info!(
        job = job_name,
        interval_ms = plan.batch_interval_ms,
        "streaming started"
    );
    Ok(StreamingHandle::new(shared))
}

/// The settings' own checks.
fn check(settings: &Settings) -> Result<(), StartError> {
    let invalid = |setting, reason: &str| {
        Err(StartError::InvalidSetting {
            setting,
            reason: reason.to_owned(),
        })
    };
    if settings.block_interval.is_zero() {
        return invalid("block_interval", "must be positive");
    }
    if settings.max_buffered_records == 0 {
        return invalid("max_buffered_records", "must be at least 1");
    }
    if settings.max_queued_batches == 0 {
        return invalid("max_queued_batches", "must be at least 1");
    }
    if settings.max_buffered_bytes == 0 {
        return invalid("max_buffered_bytes", "must be at least 1");
    }
    Ok(())
}

/// This process's place in the cluster, when the job's configuration has a
/// mesh (feature `cluster`).
struct Placed {
    process: usize,
    processes: usize,
    lockstep: Lockstep,
    /// The mesh's barrier at start (the zero time, the checkpoint to
    /// resume), bounded by the cluster's answer timeout.
    agree: Box<dyn Fn(u64) -> Result<Vec<u64>, String> + Send>,
}

#[cfg(feature = "cluster")]
fn lockstep<J: Job>(job: &J) -> Option<Placed> {
    let mesh = job.config().cluster.clone()?;
    let agreeing = mesh.clone();
    Some(Placed {
        process: mesh.process(),
        processes: mesh.processes(),
        agree: Box::new(move |value| agreeing.agree_on(value).map_err(|e| e.to_string())),
        lockstep: Lockstep {
            process: mesh.process(),
            share: Box::new(move |value| mesh.share(value).map_err(|e| e.to_string())),
        },
    })
}

#[cfg(not(feature = "cluster"))]
fn lockstep<J: Job>(_job: &J) -> Option<Placed> {
    None
}

/// What a checkpoint on a cluster needs: this process's share and the
/// mesh's barrier.
fn on_cluster(placed: Option<&Placed>, share: Option<Share>) -> Option<recovery::OnCluster<'_>> {
    Some(recovery::OnCluster {
        share: share?,
        barrier: &*placed?.agree,
    })
}

/// The job's mesh, for the sources that run on process 0 only.
#[cfg(feature = "cluster")]
fn mesh_of<J: Job>(job: &J) -> Option<MeshRef> {
    job.config().cluster.clone()
}

#[cfg(not(feature = "cluster"))]
fn mesh_of<J: Job>(_job: &J) -> Option<MeshRef> {
    None
}

/// What a live job on a cluster cannot have (yet): fewer partitions than
/// processes (a process would own none and have nowhere to put what it
/// reads), or a source that does not read only its process's share (every
/// process would read all of it). (A checkpoint's inputs are checked when
/// it opens: see `recovery::resume`.)
fn check_cluster(
    sources: &[(&'static str, Input<Erased>)],
    partitions: usize,
    processes: usize,
) -> Result<(), StartError> {
    let invalid = |reason: String| {
        Err(StartError::InvalidSetting {
            setting: "cluster",
            reason,
        })
    };
    if partitions < processes {
        return invalid(format!(
            "the job has {partitions} partitions for {processes} processes: give it at least one per process (JobConfig::partitions)"
        ));
    }
    let spreads = |input: &Input<Erased>| input.splits() || input.runs_on_first_process();
    if let Some((port, input)) = sources.iter().find(|(_, input)| !spreads(input)) {
        return invalid(format!(
            "input port `{port}` reads {}, which does not split between processes; on a cluster only directory sources (text_file_stream) do, with Kafka streams, and sockets and receivers run on process 0",
            input.description()
        ));
    }
    Ok(())
}

fn thread_error(name: &str) -> impl FnOnce(std::io::Error) -> StartError {
    let name = name.to_owned();
    move |source| StartError::Thread { name, source }
}

/// Which input ports keep a batch's partitions as they arrive
/// (`partitions = keep`), in port order.
fn kept_ports<J: Job>(job: &J) -> Vec<bool> {
    let ports = job.input_partitions();
    (0..job.plan().inputs.len())
        .map(|port| ports.get(port) == Some(&InputPartitions::Kept))
        .collect()
}

/// Starts every source in port order; on a failure, stops the receivers
/// already started.
fn start_inputs(
    sources: Vec<(&'static str, Input<Erased>)>,
    settings: &Settings,
    batch_interval: Duration,
    budget: &Arc<Budget>,
    events: &EventSender,
    checkpoint: Option<&Opened>,
    // On a cluster: this process's share, the mesh, and which ports keep
    // their batches' partitions (a receiver's batch is spread accordingly).
    (share, mesh, kept): (Option<Share>, Option<MeshRef>, &[bool]),
) -> Result<Vec<(&'static str, StartedInput)>, StartError> {
    let mut started: Vec<(&'static str, StartedInput)> = Vec::with_capacity(sources.len());
    for (index, (port, input)) in sources.into_iter().enumerate() {
        let env = InputEnv {
            port,
            block_interval: settings.block_interval,
            budget: budget.clone(),
            events: events.clone(),
            max_rate: 0.0,
            batch_interval,
            restart_backoff: settings.restart_backoff,
            record: checkpoint.is_some(),
            wal: checkpoint.map(|c| c.wal(port)),
            share,
            mesh: mesh.clone(),
            kept: kept.get(index).copied().unwrap_or(false),
        };
        match input.start(env) {
            Ok(s) => started.push((port, s)),
            Err(e) => {
                for (_, s) in &started {
                    if let Some(r) = &s.receiver {
                        r.request_stop(true);
                    }
                }
                return Err(e);
            }
        }
    }
    Ok(started)
}
