//! A hand-written job around a per-batch body, for the window and state tests:
//! the body runs through `JobCore` and `TestRun` exactly as a generated job's.

use crate::testing::TestRun;
use crate::{
    Batch, BatchContext, BatchError, InputPorts, Job, JobConfig, JobCore, JobState, OutputPorts, Plan, PortInfo, Time,
};

/// Whatever a test body returns, as a job's outputs (no named ports).
pub(crate) struct Out<O>(pub(crate) O);

impl<O> OutputPorts for Out<O> {
    const PORTS: &'static [PortInfo] = &[];
    fn take_port(&mut self, _index: usize) -> Option<Box<dyn std::any::Any + Send>> {
        None
    }
}

/// Any [`JobCore`] as a [`Job`], as a generated job wraps its own.
pub(crate) struct CoreJob<I, O>(pub(crate) JobCore<I, O>);

impl<I: InputPorts + Send + 'static, O: OutputPorts + Send + 'static> Job for CoreJob<I, O> {
    type Inputs = I;
    type Outputs = O;
    fn plan(&self) -> &'static Plan {
        self.0.plan()
    }
    fn config(&self) -> &JobConfig {
        self.0.config()
    }
    fn run_batch(&mut self, time: Time, inputs: I) -> Result<O, BatchError> {
        self.0.run(time, inputs)
    }
    fn state(&self) -> &dyn JobState {
        self.0.state()
    }
    fn state_mut(&mut self) -> &mut dyn JobState {
        self.0.state_mut()
    }
    fn stage_times(&self) -> &[std::time::Duration] {
        self.0.stage_times()
    }
}

/// Runs `body` once per element of `inputs` (batch k at time k seconds) in a
/// job of `plan` with `partitions` shuffle partitions; every batch's result,
/// failed ones included.
pub(crate) fn run_job<I, O>(
    plan: &'static Plan,
    partitions: usize,
    inputs: Vec<Vec<I>>,
    mut body: impl FnMut(&BatchContext<'_>, Batch<I>) -> Result<O, BatchError> + Send + 'static,
) -> Vec<Result<O, BatchError>>
where
    I: Send + 'static,
    O: Send + 'static,
{
    let core = JobCore::new(
        plan,
        JobConfig::new().partitions(partitions),
        (),
        move |ctx: &BatchContext<'_>, _: &mut (), input: Batch<I>| {
            let input = crate::prepare_input(ctx, input);
            body(ctx, input).map(Out)
        },
    )
    .expect("valid configuration");
    let mut run = TestRun::new(CoreJob(core));
    inputs
        .into_iter()
        .map(|batch| run.run_batch(Batch::from_vec(batch)).map(|t| t.into_outputs().0))
        .collect()
}

/// [`run_job`] with a plan that names no operators, unwrapping every batch.
pub(crate) fn run_ok<I, O>(
    partitions: usize,
    inputs: Vec<Vec<I>>,
    body: impl FnMut(&BatchContext<'_>, Batch<I>) -> Result<O, BatchError> + Send + 'static,
) -> Vec<O>
where
    I: Send + 'static,
    O: Send + 'static,
{
    run_job(crate::fixtures::empty_plan(), partitions, inputs, body)
        .into_iter()
        .map(|r| r.expect("batch succeeds"))
        .collect()
}

/// Each window's elements, sorted (`None` where no window was emitted).
pub(crate) fn sorted<T: Ord>(outputs: Vec<Option<Batch<T>>>) -> Vec<Option<Vec<T>>> {
    outputs.into_iter().map(|o| o.map(Batch::into_sorted)).collect()
}
