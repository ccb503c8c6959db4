//! `sinks::remember` on a live job: an output port's recent batches, read
//! between two times while the job runs (Spark's `remember` and `slice`).

mod live_support;

use live_support::*;
use std::sync::Arc;
use streamflow::StreamingContext;
use streamflow::live::{ManualClock, sinks, sources};

#[test]
fn the_batches_of_a_port_between_two_times() {
    let clock = Arc::new(ManualClock::new());
    let lines: Vec<Vec<String>> = (1..=6).map(|i| vec![format!("line {i}")]).collect();
    let (sink, recent) = sinks::remember::<String>(INTERVAL * 3);
    let handle = StreamingContext::new(Echo::new())
        .report_to_stderr(false)
        .clock(clock.clone())
        .input("lines", sources::queue_stream(lines))
        .unwrap()
        .output("out", sink)
        .unwrap()
        .start()
        .unwrap();
    for _ in 0..6 {
        next_batch(&clock, &handle);
    }
    let remembered = recent.batches();
    let times: Vec<_> = remembered.iter().map(|(t, _)| *t).collect();
    assert_eq!(times.len(), 3, "three intervals are remembered: {times:?}");
    let forgotten = recent.forgotten_through().unwrap();
    assert!(forgotten < times[0]);
    // Slices are by the times the batches had, both ends included.
    let slice = recent.slice(times[1], times[2]).unwrap();
    let elements: Vec<Vec<String>> = slice.iter().map(|(_, b)| b.to_vec()).collect();
    assert_eq!(elements, [vec!["line 5".to_owned()], vec!["line 6".to_owned()]]);
    assert!(recent.slice(forgotten, times[2]).is_err());
    handle.stop(false).unwrap();
    // Still readable after the stop.
    assert_eq!(recent.batches().len(), 3);
}
