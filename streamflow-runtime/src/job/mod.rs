//! The job abstraction the runtime drives: the [`Job`] trait, its
//! configuration, its engine ([`JobCore`]), its state as a value, and the
//! context a batch runs in.

mod config;
mod context;
mod core;
mod pinning;
mod state;

pub use config::{JobConfig, PrintTarget};
pub use context::BatchContext;
pub use core::{InputPartitions, JobCore, prepare_input, prepare_input_as};
pub use state::{
    CodecProbe, JobState, Kept, KeptState, NoCodec, SerdeCodec, StateCodec, StateEntry, StateError, StateSnapshot,
};

use crate::{BatchError, InputPorts, OutputPorts, Plan, Time};
use std::time::Duration;

/// A compiled `stream_job!`: typed inputs in, typed outputs out, one batch at a
/// time. Implemented by the code the macro generates; drivers (the test runner,
/// the live scheduler) see a job only through this trait.
pub trait Job: Send {
    /// One batch of every input port (a generated struct, `<Job>Inputs`).
    type Inputs: InputPorts;
    /// One batch of every output port (a generated struct, `<Job>Outputs`).
    type Outputs: OutputPorts;

    /// The stage plan, produced at compile time.
    fn plan(&self) -> &'static Plan;

    /// The configuration the job was built with.
    fn config(&self) -> &JobConfig;

    /// Runs one batch. `time` must be later than the previous batch's time and
    /// a multiple of the batch interval. A panic in a user closure is caught
    /// and returned as [`BatchError::OperatorPanicked`].
    fn run_batch(&mut self, time: Time, inputs: Self::Inputs) -> Result<Self::Outputs, BatchError>;

    /// Everything the job keeps across batches (window buffers, state
    /// stores), as one value to save and restore. Generated jobs return their
    /// `<Job>State`; the default is a job that keeps nothing.
    fn state(&self) -> &dyn JobState {
        &()
    }

    /// The job's state, to restore it between batches.
    fn state_mut(&mut self) -> &mut dyn JobState {
        // A box of `()` allocates nothing: leaking it leaks nothing.
        Box::leak(Box::new(()))
    }

    /// The time each stage took in the last batch (index = stage id − 1);
    /// empty if the job does not record them.
    fn stage_times(&self) -> &[Duration] {
        &[]
    }

    /// Sets the zero time, before the first batch: batch `k` is at
    /// `zero + k·d` and windows align to `zero` (see
    /// [`JobCore::set_zero_time`]). The live scheduler calls it with its
    /// wall-clock zero time, and recovery with the zero time of the run it
    /// resumes. The default (a job without windows) ignores it.
    fn set_zero_time(&mut self, zero: Time) {
        let _ = zero;
    }

    /// How each input port partitions its batches, in port order, as its
    /// declaration says (`input name: Type, partitions = ..;`); a port past
    /// the end (and every port of the default, empty) by the job's count.
    /// A checkpoint records it: a batch run again after recovery must be
    /// split as it was the first time.
    fn input_partitions(&self) -> &[InputPartitions] {
        &[]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{config, ctx, empty_plan, op, plan};
    use crate::typing::Stream;
    use crate::{Batch, ConfigError, outputs, shuffle};

    #[test]
    fn invalid_configurations_are_rejected() {
        let err = JobConfig::new().threads(0).validate().unwrap_err();
        assert_eq!(err.to_string(), "a job needs at least one thread (got threads(0))");
        let err = JobConfig::new().partitions(0).validate().unwrap_err();
        assert_eq!(
            err.to_string(),
            "a job needs at least one partition (got partitions(0))"
        );
        assert!(JobConfig::new().threads(2).partitions(3).validate().is_ok());
        assert!(matches!(
            JobCore::<(), ()>::new(empty_plan(), JobConfig::new().threads(0), (), |_, _, ()| Ok(())),
            Err(ConfigError::ZeroThreads)
        ));
    }

    #[test]
    fn pinning_needs_the_jobs_own_pool() {
        let err = JobConfig::new().pin_threads().validate().unwrap_err();
        assert_eq!(
            err.to_string(),
            "pin_threads() binds the threads of the job's own pool: set threads(n) too"
        );
        assert!(JobConfig::new().threads(2).pin_threads().validate().is_ok());
    }

    /// The CPUs each thread of a job's pool may run on, in thread order, as
    /// seen from inside a batch.
    fn cpus_of_each_thread(config: JobConfig) -> Vec<Vec<usize>> {
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let into = seen.clone();
        let mut core = JobCore::new(empty_plan(), config, (), move |_, _, ()| {
            let cpus = rayon::broadcast(|_| core_affinity::get_core_ids().unwrap_or_default());
            *into.lock().unwrap() = cpus
                .into_iter()
                .map(|c| c.into_iter().map(|c| c.id).collect())
                .collect();
            Ok(())
        })
        .unwrap();
        core.run(Time::from_secs(1), ()).unwrap();
        seen.lock().unwrap().clone()
    }

    #[test]
    fn pinned_threads_each_run_on_one_cpu_of_the_process() {
        let process: Vec<usize> = core_affinity::get_core_ids()
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect();
        // Thread i on the i-th CPU, wrapping around.
        let pinned = cpus_of_each_thread(JobConfig::new().threads(3).pin_threads());
        let expected: Vec<Vec<usize>> = (0..3).map(|i| vec![process[i % process.len()]]).collect();
        assert_eq!(pinned, expected);
        // Unpinned, each may run on all of them.
        let free = cpus_of_each_thread(JobConfig::new().threads(3));
        assert_eq!(free, vec![process.clone(); 3]);
    }

    fn unit_core(plan: &'static Plan) -> JobCore<(), ()> {
        JobCore::new(plan, JobConfig::new(), (), |_, _, ()| Ok(())).unwrap()
    }

    #[test]
    fn batch_times_must_be_increasing_multiples_of_the_interval() {
        let mut core = unit_core(empty_plan());
        let err = core.run(Time::ZERO, ()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "batch time 0 ms is not a positive multiple of the batch interval (1000 ms)"
        );
        let err = core.run(Time::from_millis(1500), ()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "batch time 1500 ms is not a positive multiple of the batch interval (1000 ms)"
        );
        core.run(Time::from_secs(2), ()).unwrap();
        let err = core.run(Time::from_secs(1), ()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "batch time 1000 ms is not after the previous batch time 2000 ms"
        );
        let err = core.run(Time::from_secs(2), ()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "batch time 2000 ms is not after the previous batch time 2000 ms"
        );
        core.run(Time::from_secs(5), ()).unwrap();
    }

    #[test]
    fn the_body_runs_on_the_jobs_own_pool_and_its_errors_pass_through() {
        let body = |ctx: &BatchContext<'_>, _: &mut (), ()| {
            if ctx.time == Time::from_secs(2) {
                return Err(BatchError::TimeNotOnInterval {
                    time: ctx.time,
                    interval_ms: 7,
                });
            }
            Ok(std::thread::current().name().unwrap_or("").to_owned())
        };
        let mut core = JobCore::new(empty_plan(), JobConfig::new().threads(1), (), body).unwrap();
        assert_eq!(core.run(Time::from_secs(1), ()).unwrap(), "streamflow-Test-0");
        assert!(matches!(
            core.run(Time::from_secs(2), ()),
            Err(BatchError::TimeNotOnInterval { interval_ms: 7, .. })
        ));
        assert_eq!(core.config().thread_count(), Some(1));
    }

    #[test]
    fn a_panic_in_the_body_itself_is_an_error() {
        let plan = plan(file!(), vec![vec![op("map", 3)]]);
        let mut core =
            JobCore::<(), ()>::new(plan, JobConfig::new(), (), |_, _, ()| panic!("generated code broke")).unwrap();
        let err = core.run(Time::from_secs(1), ()).unwrap_err();
        assert!(
            matches!(&err, BatchError::StagePanicked { stage: 0, operators, message, .. }
                if operators == "unknown" && message == "generated code broke"),
            "{err}"
        );
        // The job goes on.
        let err = core.run(Time::from_secs(2), ()).unwrap_err();
        assert!(matches!(err, BatchError::StagePanicked { .. }));
    }

    #[test]
    fn prepare_input_splits_single_partitions_only() {
        let config = config(4);
        let ctx = ctx(empty_plan(), &config);
        let split = prepare_input(&ctx, Batch::from_vec((0..10).collect()));
        assert_eq!(
            split.partitions(),
            &[vec![0, 1, 2], vec![3, 4, 5], vec![6, 7], vec![8, 9]]
        );
        let small = prepare_input(&ctx, Batch::from_vec(vec![1, 2]));
        assert_eq!(small.partitions(), &[vec![1], vec![2]]);
        let empty = prepare_input(&ctx, Batch::<i32>::from_vec(vec![]));
        assert_eq!(empty.num_partitions(), 0);
        let blocks = Batch::from_partitions(vec![vec![1], vec![2, 3, 4, 5, 6]]);
        assert_eq!(prepare_input(&ctx, blocks.clone()), blocks);
        assert_eq!(prepare_input(&ctx, Batch::<i32>::empty()), Batch::empty());
    }

    #[derive(Default)]
    struct Inputs {
        lines: Batch<String>,
    }

    struct Outputs {
        counts: Batch<(String, u64)>,
    }

    #[test]
    fn a_word_count_written_like_the_generated_code() {
        let s_lines = Stream::<String>::input();
        let (f_flat, s1) =
            s_lines.flat_map(|line: String| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>());
        let (f_map, s2) = s1.map(|w| (w, 1u64));
        let (f_red, _s3, _pairs) = s2.reduce_by_key(|a, b| a + b);
        let f_red = move |a, b| f_red.call(a, b);
        let capture = crate::testing::PrintCapture::new();
        let body = move |ctx: &BatchContext<'_>, _: &mut (), inputs: Inputs| {
            let lines = prepare_input(ctx, inputs.lines);
            let counts = shuffle::reduce_by_key(
                ctx,
                0,
                lines,
                |x0, out| {
                    for x1 in f_flat.call(x0) {
                        let x2 = f_map.call(x1);
                        out.push(x2);
                    }
                },
                &f_red,
                None,
                |x, out| out.push(x),
            )?;
            outputs::print(ctx, 0, &outputs::Printer::debug(10), &counts)?;
            Ok(Outputs { counts })
        };
        let config = JobConfig::new().partitions(3).print_to(capture.writer());
        let mut core = JobCore::new(empty_plan(), config, (), body).unwrap();
        let lines = Batch::from_vec(vec!["a b a".to_owned(), "c a".to_owned(), "b".to_owned()]);
        let out = core.run(Time::from_millis(1000), Inputs { lines }).unwrap();
        let expected = vec![("a".to_owned(), 3), ("b".to_owned(), 2), ("c".to_owned(), 1)];
        assert_eq!(out.counts.sorted(), expected);
        assert!(capture.take_string().contains("Time: 1000 ms"));
        let out = core.run(Time::from_millis(2000), Inputs::default()).unwrap();
        assert!(out.counts.is_empty());
    }
}
