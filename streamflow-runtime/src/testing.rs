//! Deterministic tests of a job: a manual clock, one call per batch, and the
//! outputs of every batch with its time.
//!
//! ```
//! use streamflow::prelude::*;
//! use streamflow::testing::{PrintCapture, TestRun};
//!
//! stream_job! {
//!     /// Doubles its input and prints it.
//!     pub job Doubler {
//!         batch_interval = 1s;
//!         input numbers: i32;
//!         let doubled = numbers.map(|x| x * 2);
//!         output doubled: i32 = doubled;
//!         doubled.print();
//!     }
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let capture = PrintCapture::new();
//! let job = Doubler::with_config(JobConfig::new().print_to(capture.writer()))?;
//! let mut run = TestRun::new(job);
//! let batches = run.run([Doubler::inputs().numbers([1, 2]), Doubler::inputs().numbers([3])])?;
//! assert_eq!(batches[0].time, Time::from_millis(1000));
//! assert_eq!(batches[1].doubled.to_vec(), vec![6]);
//! let empty = run.run_empty()?;
//! assert!(empty.doubled.is_empty());
//! assert_eq!(run.time(), Time::from_millis(3000));
//! assert!(capture.take_string().contains("Time: 2000 ms\n-------------------------------------------\n6\n"));
//! # Ok(())
//! # }
//! ```

use crate::{BatchError, Job, Time};
use std::io::Write;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex};

/// Drives a job batch by batch on a manual clock that starts at zero: the
/// k-th batch run has time k × the batch interval, as in Spark's tests.
pub struct TestRun<J: Job> {
    job: J,
    time: Time,
}

/// The outputs of one batch, with the batch's time. Dereferences to the outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timed<O> {
    /// The batch's time.
    pub time: Time,
    /// The batch's outputs.
    pub outputs: O,
}

impl<O> Deref for Timed<O> {
    type Target = O;
    fn deref(&self) -> &O {
        &self.outputs
    }
}

impl<O> DerefMut for Timed<O> {
    fn deref_mut(&mut self) -> &mut O {
        &mut self.outputs
    }
}

impl<O> Timed<O> {
    /// The outputs, without the time.
    pub fn into_outputs(self) -> O {
        self.outputs
    }
}

impl<J: Job> TestRun<J> {
    /// A run of `job` whose clock is at zero (no batch run yet).
    pub fn new(job: J) -> Self {
        TestRun { job, time: Time::ZERO }
    }

    /// Advances the clock by one batch interval and runs that batch. The clock
    /// advances even when the batch fails, as a live job's would.
    pub fn run_batch(&mut self, inputs: J::Inputs) -> Result<Timed<J::Outputs>, BatchError> {
        let interval = self.job.plan().batch_interval_ms;
        self.time = Time::from_millis(self.time.as_millis().saturating_add(interval));
        let time = self.time;
        self.job.run_batch(time, inputs).map(|outputs| Timed { time, outputs })
    }

    /// Runs one batch in which every input is empty.
    pub fn run_empty(&mut self) -> Result<Timed<J::Outputs>, BatchError> {
        self.run_batch(J::Inputs::default())
    }

    /// Runs one batch per element of `inputs`, in order; stops at the first
    /// failed batch.
    pub fn run(&mut self, inputs: impl IntoIterator<Item = J::Inputs>) -> Result<Vec<Timed<J::Outputs>>, BatchError> {
        inputs.into_iter().map(|i| self.run_batch(i)).collect()
    }

    /// The time of the last batch run (zero before the first).
    pub fn time(&self) -> Time {
        self.time
    }

    /// The job.
    pub fn job(&self) -> &J {
        &self.job
    }

    /// The job, mutably.
    pub fn job_mut(&mut self) -> &mut J {
        &mut self.job
    }

    /// The job back.
    pub fn into_job(self) -> J {
        self.job
    }
}

/// An in-memory target for `print`: pass [`writer`](Self::writer) to
/// [`JobConfig::print_to`](crate::JobConfig::print_to), then read what was
/// printed with [`take_string`](Self::take_string). Clones share the buffer.
#[derive(Clone, Default)]
pub struct PrintCapture {
    buffer: Arc<Mutex<Vec<u8>>>,
}

impl PrintCapture {
    /// An empty capture.
    pub fn new() -> Self {
        Self::default()
    }

    /// The writer to give to `JobConfig::print_to`.
    pub fn writer(&self) -> Arc<Mutex<dyn Write + Send>> {
        self.buffer.clone()
    }

    /// Everything printed since the last call, as text (invalid UTF-8 replaced).
    pub fn take_string(&self) -> String {
        let bytes = std::mem::take(&mut *self.lock());
        String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
    }

    /// Everything printed since the last `take_string`, left in place.
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.lock()).into_owned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
        // A panic while printing leaves valid bytes behind.
        self.buffer.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl std::fmt::Debug for PrintCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrintCapture")
            .field("contents", &self.contents())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::empty_plan;
    use crate::{Batch, JobConfig, JobCore, Plan};

    struct Echo(JobCore<Batch<u8>, Batch<u8>>);

    impl Job for Echo {
        type Inputs = Batch<u8>;
        type Outputs = Batch<u8>;
        fn plan(&self) -> &'static Plan {
            self.0.plan()
        }
        fn config(&self) -> &JobConfig {
            self.0.config()
        }
        fn run_batch(&mut self, time: Time, inputs: Batch<u8>) -> Result<Batch<u8>, BatchError> {
            self.0.run(time, inputs)
        }
    }

    fn echo() -> Echo {
        Echo(
            JobCore::new(empty_plan(), JobConfig::new(), (), |_, _, b: Batch<u8>| {
                if b.iter().any(|&x| x == 0) {
                    panic!("zero")
                }
                Ok(b)
            })
            .unwrap(),
        )
    }

    #[test]
    fn batches_run_at_multiples_of_the_interval() {
        let mut run = TestRun::new(echo());
        assert_eq!(run.time(), Time::ZERO);
        let first = run.run_batch(Batch::from([1])).unwrap();
        assert_eq!(first.time, Time::from_millis(1000));
        assert_eq!(first.to_vec(), vec![1]);
        let empty = run.run_empty().unwrap();
        assert_eq!((empty.time, empty.is_empty()), (Time::from_millis(2000), true));
        let more = run.run([Batch::from([2]), Batch::from([3])]).unwrap();
        let times: Vec<u64> = more.iter().map(|t| t.time.as_millis()).collect();
        assert_eq!(times, vec![3000, 4000]);
        assert_eq!(more[1].clone().into_outputs().collect(), vec![3]);
        assert_eq!(run.job().plan().job, "Test");
    }

    #[test]
    fn run_stops_at_the_first_failed_batch_and_the_clock_moves_on() {
        let mut run = TestRun::new(echo());
        let err = run
            .run([Batch::from([1]), Batch::from([0]), Batch::from([2])])
            .unwrap_err();
        assert!(err.to_string().starts_with("batch 2000 ms failed"), "{err}");
        assert_eq!(run.time(), Time::from_millis(2000));
        assert_eq!(run.run_batch(Batch::from([5])).unwrap().time, Time::from_millis(3000));
    }

    #[test]
    fn print_capture_collects_and_takes() {
        let capture = PrintCapture::new();
        let writer = capture.clone().writer();
        writer.lock().unwrap().write_all(b"hello").unwrap();
        assert_eq!(capture.contents(), "hello");
        assert_eq!(capture.take_string(), "hello");
        assert_eq!(capture.take_string(), "");
    }
}
