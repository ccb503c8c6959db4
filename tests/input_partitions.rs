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
