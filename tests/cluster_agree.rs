//! The agreement rounds of a cluster cannot hang: a process that connected
//! and then never answers (stopped, hung, or elsewhere in its program)
//! fails the others within the cluster's answer timeout, with an error
//! naming it. Both processes of each test are meshes of this one test
//! process (timely's TCP mesh on 127.0.0.1), process 1 connecting and then
//! doing nothing.

use std::mem::ManuallyDrop;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;
use streamflow::JobConfig;
use streamflow::cluster::{ClusterConfig, DEFAULT_ANSWER_TIMEOUT, Mesh};
use streamflow::live::{StreamingContext, sinks, sources};
use streamflow::prelude::*;
use streamflow_workspace::free_addresses;

stream_job! {
    /// Lines counted per batch.
    pub job Lines {
        batch_interval = 100ms;
        input lines: String;
        output count: u64 = lines.count();
    }
}

/// How long the tests let a process wait for its silent peer.
const ANSWER: Duration = Duration::from_secs(2);
/// Longer than this is a hang.
const HANG: Duration = Duration::from_secs(60);

/// Process 0's and process 1's meshes, connected; process 0's waits
/// [`ANSWER`] for answers. Process 1's end is never dropped (dropping it
/// waits for process 0's end, which a failed test may never drop).
fn two_meshes() -> (Arc<Mesh>, ManuallyDrop<Arc<Mesh>>) {
    let addresses = free_addresses(2);
    let config = |p: usize| ClusterConfig::new(p, addresses.clone()).expect("a configuration");
    let first = config(1);
    let one = std::thread::spawn(move || Mesh::connect(&first, HANG).expect("process 1 connects"));
    let zero = Mesh::connect(&config(0).with_answer_timeout(ANSWER), HANG).expect("process 0 connects");
    (zero, ManuallyDrop::new(one.join().expect("process 1's thread")))
}

/// Runs `f` on its own thread: its result, or `None` if it hangs.
fn within<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (send, receive) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = send.send(f());
    });
    receive.recv_timeout(HANG).ok()
}

#[test]
fn a_job_built_while_a_peer_does_not_answer_fails_naming_it() {
    assert_eq!(DEFAULT_ANSWER_TIMEOUT, Duration::from_secs(30));
    let (zero, _one) = two_meshes();
    let mesh = zero.clone();
    let built = within(move || Lines::with_config(JobConfig::new().partitions(2).cluster(mesh)).map(drop))
        .expect("building the job on process 0 hung");
    let err = built.expect_err("process 1 never agreed on the job").to_string();
    assert!(
        err.contains("process 1 did not answer within 2s (stopped, hung, or in another step of the program?)"),
        "{err}"
    );
    // The mesh is failed for good: the next round fails at once.
    let again = within(move || Lines::with_config(JobConfig::new().partitions(2).cluster(zero)).map(drop))
        .expect("a second job hung");
    assert!(again.unwrap_err().to_string().contains("process 1 did not answer"));
}

#[test]
fn a_start_while_a_peer_does_not_answer_fails_naming_it() {
    let (zero, one) = two_meshes();
    // Both build the job (they agree on it); only process 0 starts it.
    let mesh = Arc::clone(&one);
    let other = std::thread::spawn(move || Lines::with_config(JobConfig::new().partitions(2).cluster(mesh)).map(drop));
    let job = Lines::with_config(JobConfig::new().partitions(2).cluster(zero)).expect("the processes agree on the job");
    other
        .join()
        .expect("process 1's thread")
        .expect("process 1 builds the job");
    let base = std::env::temp_dir().join(format!("streamflow-cluster-agree-{}", std::process::id()));
    let input = base.join("input");
    std::fs::create_dir_all(&input).expect("an input directory");
    let checkpoint = base.join("checkpoint");
    let started = within(move || {
        StreamingContext::new(job)
            .checkpoint(checkpoint)
            .input("lines", sources::text_file_stream(input))?
            .output::<u64>("count", sinks::discard())?
            .start()
            .map(drop)
    })
    .expect("starting on process 0 hung");
    let _ = std::fs::remove_dir_all(&base);
    let err = started.expect_err("process 1 never started").to_string();
    assert!(
        err.contains("cannot agree on the checkpoint to resume") && err.contains("process 1 did not answer within 2s"),
        "{err}"
    );
}
