//! A fixed plan and metrics history for the unit tests of the views.

use super::history::{History, ReceiverRow, ReceiverState};
use super::status::{InputNow, Live, Status};
use crate::live::listener::{BatchInfo, OutputOperationInfo, PartitionProgress, ReceiverInfo, StreamingEvent};
use crate::live::sources::InputStats;
use crate::{Operator, Plan, Port, SourceSpan, Stage, StageEnd, Time};
use std::time::{Duration, SystemTime};

const SPAN: SourceSpan = SourceSpan {
    line: 7,
    column: 0,
    end_line: 7,
    end_column: 5,
};
const OPS: &[Operator] = &[
    Operator {
        name: "flat_map",
        role: "",
        span: SPAN,
    },
    Operator {
        name: "reduce_by_key",
        role: "map-side combine",
        span: SPAN,
    },
];
const MERGE: &[Operator] = &[Operator {
    name: "reduce_by_key",
    role: "merge",
    span: SPAN,
}];

/// Two stages, with a hostile job name.
pub(super) const PLAN: Plan = Plan {
    job: "Count<script>",
    batch_interval_ms: 1000,
    fused: true,
    file: "x.rs",
    inputs: &[Port {
        name: "lines",
        ty: "String",
    }],
    outputs: &[],
    stages: &[
        Stage {
            id: 1,
            reads: "input `lines`",
            operators: OPS,
            ends: StageEnd::Shuffle("reduce_by_key"),
        },
        Stage {
            id: 2,
            reads: "shuffle of stage 1",
            operators: MERGE,
            ends: StageEnd::Output("port `counts`"),
        },
    ],
    sinks: &[],
};

fn info(k: u64, records: usize, failure: Option<&str>) -> BatchInfo {
    BatchInfo {
        time: Time::from_millis(k * 1000),
        input_records: vec![("lines", records)],
        submitted_at: SystemTime::UNIX_EPOCH,
        scheduling_delay: Some(Duration::from_millis(2)),
        processing_time: Some(Duration::from_millis(10 * k)),
        total_delay: Some(Duration::from_millis(10 * k + 2)),
        stage_times: vec![Duration::from_millis(6 * k), Duration::from_millis(4 * k)],
        failure: failure.map(str::to_owned),
        // The input reads like a topic of one partition, 100 records a batch.
        input_progress: vec![(
            "lines",
            vec![PartitionProgress {
                partition: "lines-0".to_owned(),
                from_offset: 100 * (k as i64 - 1),
                until_offset: 100 * k as i64,
                lag: 7,
            }],
        )],
    }
}

/// Three completed batches (100, 200, 300 records; processing 10, 20, 30 ms),
/// the third failed with a hostile message; one batch queued; a receiver.
pub(super) fn status() -> Status {
    let mut history = History::default();
    history.record(&StreamingEvent::Started {
        batch_interval: Duration::from_secs(1),
    });
    history.started_at = Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_000));
    for k in 1..=3 {
        let failure = (k == 3).then_some("operator `map` (line 9) panicked: <script>alert(1)</script>");
        history.record(&StreamingEvent::BatchSubmitted(info(k, 100 * k as usize, None)));
        history.record(&StreamingEvent::BatchStarted(info(k, 100 * k as usize, None)));
        history.record(&StreamingEvent::OutputOperationCompleted(OutputOperationInfo {
            time: Time::from_millis(k * 1000),
            port: "counts",
            sink: "print".to_owned(),
            duration: Duration::from_millis(1),
            failure: None,
        }));
        history.record(&StreamingEvent::BatchCompleted(info(k, 100 * k as usize, failure)));
    }
    history.record(&StreamingEvent::BatchSubmitted(info(4, 50, None)));
    history.receivers.push(ReceiverRow {
        info: ReceiverInfo {
            input: "lines",
            name: "socket 127.0.0.1:9999".to_owned(),
            active: true,
            last_error: Some("connection refused <b>".to_owned()),
            restarts: 1,
        },
        state: ReceiverState::Erring,
    });
    Status {
        plan: &PLAN,
        batch_interval: Duration::from_secs(1),
        history,
        live: Live {
            queued_batches: 1,
            buffered_records: 50,
            peak_buffered_records: 300,
            inputs: vec![InputNow {
                port: "lines",
                stats: InputStats {
                    records: 650,
                    rejected: 2,
                    errors: 1,
                    restarts: 1,
                    files: 0,
                },
                rate_limit: Some(1500.0),
            }],
        },
        now: SystemTime::UNIX_EPOCH + Duration::from_secs(1_004),
    }
}
