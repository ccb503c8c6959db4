//! An input port's partitioning (Spark keeps a receiver's blocks; streamflow
//! splits a batch given in one partition into the job's count unless the port
//! says otherwise): `input name: T, partitions = n;` splits into `n` (a literal
//! or a job parameter), `input name: T, partitions = keep;` keeps every batch's
//! partitions as they arrive.

#[macro_use]
mod common;

use common::*;
use streamflow::{Batch, JobConfig};

jobs! {
    /// The same numbers through four ports, each partitioned its own way;
    /// `glom` shows the partitions.
    pub job Ports(parts: usize) {
        batch_interval = 1s;
        input by_job: u64;
        input by_count: u64, partitions = 3;
        input by_param: u64, partitions = parts;
        input kept: u64, partitions = keep;
        output by_job: Vec<u64> = by_job.glom();
        output by_count: Vec<u64> = by_count.glom();
        output by_param: Vec<u64> = by_param.glom();
        output kept: Vec<u64> = kept.glom();
    }
}

fn chunks(sizes: &[u64]) -> Vec<Vec<u64>> {
    let mut next = 0;
    sizes
        .iter()
        .map(|&n| {
            let chunk = (next..next + n).collect();
            next += n;
            chunk
        })
        .collect()
}

both! {
    fn each_port_partitions_a_whole_batch_as_declared() {
        let job = m::Ports::with_config(JobConfig::new().partitions(2), 5).unwrap();
        let inputs = m::Ports::inputs()
            .by_job(0..10u64)
            .by_count(0..10u64)
            .by_param(0..10u64)
            .kept(0..10u64);
        let out = &run(job, [inputs])[0].outputs;
        assert_eq!(out.by_job.to_vec(), chunks(&[5, 5]));
        assert_eq!(out.by_count.to_vec(), chunks(&[4, 3, 3]));
        assert_eq!(out.by_param.to_vec(), chunks(&[2, 2, 2, 2, 2]));
        assert_eq!(out.kept.to_vec(), chunks(&[10]));
    }

    fn a_batch_in_several_partitions_is_kept_by_every_port() {
        let job = m::Ports::with_config(JobConfig::new().partitions(2), 5).unwrap();
        let blocks = || Batch::from_partitions(chunks(&[1, 6, 3]));
        let mut inputs = m::Ports::inputs();
        inputs.by_job = blocks();
        inputs.by_count = blocks();
        inputs.by_param = blocks();
        inputs.kept = blocks();
        let out = &run(job, [inputs])[0].outputs;
        for port in [&out.by_job, &out.by_count, &out.by_param, &out.kept] {
            assert_eq!(port.to_vec(), chunks(&[1, 6, 3]));
        }
    }

    fn a_count_larger_than_the_batch_gives_one_element_per_partition() {
        let job = m::Ports::with_config(JobConfig::new(), 8).unwrap();
        let inputs = m::Ports::inputs().by_param(0..3u64);
        let out = &run(job, [inputs])[0].outputs;
        assert_eq!(out.by_param.to_vec(), chunks(&[1, 1, 1]));
        // An empty port has no partitions, whatever it declares.
        assert_eq!(out.kept.num_partitions(), 0);
    }
}

/// The same job three times over: one port, split by its own count, kept,
/// or split by the job's count (`with_config(JobConfig::partitions)`).
mod declared {
    pub mod split {
        use streamflow::prelude::*;
        stream_job! {
            pub job Glommed(parts: usize) {
                batch_interval = 100ms;
                input numbers: String, partitions = parts;
                output parts: Vec<String> = numbers.glom();
            }
        }
    }
    pub mod kept {
        use streamflow::prelude::*;
        stream_job! {
            pub job Glommed {
                batch_interval = 100ms;
                input numbers: String, partitions = keep;
                output parts: Vec<String> = numbers.glom();
            }
        }
    }
    pub mod by_job {
        use streamflow::prelude::*;
        stream_job! {
            pub job Glommed {
                batch_interval = 100ms;
                input numbers: String;
                output parts: Vec<String> = numbers.glom();
            }
        }
    }
}

/// Starts `job` on the checkpoint in `dir` (created if new), reading files
/// from `input`, and stops it at once.
fn start_on_checkpoint<J>(job: J, dir: &std::path::Path, input: &std::path::Path) -> Result<(), String>
where
    J: streamflow::Job + 'static,
{
    use std::sync::Arc;
    use streamflow::StreamingContext;
    use streamflow::live::{ManualClock, sinks, sources};
    let clock = Arc::new(ManualClock::new());
    let handle = StreamingContext::get_or_create(dir, || {
        StreamingContext::new(job)
            .clock(clock.clone())
            .input("numbers", sources::text_file_stream(input))?
            .output::<Vec<String>>("parts", sinks::discard())
    })
    .and_then(|context| context.start())
    .map_err(|e| e.to_string())?;
    handle.stop(false).map_err(|e| e.to_string())?;
    Ok(())
}

/// A fresh directory under the system's temporary one, removed first.
fn fresh_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("streamflow-input-partitions-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_checkpoint_refuses_a_port_partitioned_otherwise() {
    use declared::{by_job, kept, split};
    let input = fresh_dir("input");
    let root = fresh_dir("checkpoints");
    let config = || JobConfig::new().partitions(4);

    // Split into 3, then kept: refused, saying both settings.
    let dir = root.join("split-then-kept");
    start_on_checkpoint(split::Glommed::with_config(config(), 3).unwrap(), &dir, &input).unwrap();
    let err = start_on_checkpoint(kept::Glommed::with_config(config()).unwrap(), &dir, &input).unwrap_err();
    assert!(
        err.ends_with(
            ": the input partitioning (a batch given in one partition) changed from `numbers`: split into 3 \
             to `numbers`: kept as it arrives; batches are run again after recovery as they were run: keep each \
             input's `partitions = ..`, or start from a new checkpoint directory"
        ),
        "{err}"
    );
    // Another count (a job parameter): refused.
    let err = start_on_checkpoint(split::Glommed::with_config(config(), 5).unwrap(), &dir, &input).unwrap_err();
    assert!(
        err.contains("changed from `numbers`: split into 3 to `numbers`: split into 5;"),
        "{err}"
    );
    // The same count, or the job's count when it is the same: resumed.
    start_on_checkpoint(split::Glommed::with_config(config(), 3).unwrap(), &dir, &input).unwrap();
    let three = JobConfig::new().partitions(3);
    let err = start_on_checkpoint(by_job::Glommed::with_config(three).unwrap(), &dir, &input).unwrap_err();
    // (The job's count is checked first: 4 in the checkpoint.)
    assert!(err.contains(": the partition count changed from 4 to 3;"), "{err}");

    // Kept, then split by the job's count: refused.
    let dir = root.join("kept-then-job");
    start_on_checkpoint(kept::Glommed::with_config(config()).unwrap(), &dir, &input).unwrap();
    let err = start_on_checkpoint(by_job::Glommed::with_config(config()).unwrap(), &dir, &input).unwrap_err();
    assert!(
        err.contains("changed from `numbers`: kept as it arrives to `numbers`: split into 4;"),
        "{err}"
    );
    start_on_checkpoint(kept::Glommed::with_config(config()).unwrap(), &dir, &input).unwrap();

    // The job's count, then the same count declared on the port: resumed.
    let dir = root.join("job-then-split");
    start_on_checkpoint(by_job::Glommed::with_config(config()).unwrap(), &dir, &input).unwrap();
    start_on_checkpoint(split::Glommed::with_config(config(), 4).unwrap(), &dir, &input).unwrap();

    let _ = std::fs::remove_dir_all(&root);
    let _ = std::fs::remove_dir_all(&input);
}
