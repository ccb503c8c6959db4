//! `/api/status`: the page's data as JSON, for scripts and dashboards.
//! Durations are in milliseconds (fractional), rates in records per second.

use super::history::{ActiveBatch, CompletedBatch};
use super::stats::{Metric, ms, rate, recent_stage_times, verdict};
use super::status::Status;
use crate::live::listener::BatchInfo;
use serde_json::{Map, Value, json};
use std::time::{Duration, UNIX_EPOCH};

fn opt_ms(d: Option<Duration>) -> Value {
    d.map_or(Value::Null, |d| json!(ms(d)))
}

fn input_records(info: &BatchInfo) -> Value {
    let map: Map<String, Value> = info
        .input_records
        .iter()
        .map(|(port, n)| ((*port).to_owned(), json!(n)))
        .collect();
    Value::Object(map)
}

/// What each partitioned input (Kafka) read, per partition, and its lag.
fn input_progress(info: &BatchInfo) -> Value {
    let map: Map<String, Value> = info
        .input_progress
        .iter()
        .map(|(port, progress)| {
            let partitions = progress
                .iter()
                .map(|p| {
                    json!({
                        "partition": p.partition,
                        "from_offset": p.from_offset,
                        "until_offset": p.until_offset,
                        "lag": p.lag,
                    })
                })
                .collect::<Vec<_>>();
            ((*port).to_owned(), Value::Array(partitions))
        })
        .collect();
    Value::Object(map)
}

fn completed(batch: &CompletedBatch, interval: Duration) -> Value {
    let info = &batch.info;
    json!({
        "time_ms": info.time.as_millis(),
        "records": info.records(),
        "input_records": input_records(info),
        "input_progress": input_progress(info),
        "input_rate": Metric::InputRate.value(batch, interval),
        "scheduling_delay_ms": opt_ms(info.scheduling_delay),
        "processing_time_ms": opt_ms(info.processing_time),
        "total_delay_ms": opt_ms(info.total_delay),
        "stage_times_ms": info.stage_times.iter().map(|t| ms(*t)).collect::<Vec<_>>(),
        "failure": info.failure,
        "output_operations": batch.outputs.iter().map(|o| json!({
            "port": o.port,
            "sink": o.sink,
            "duration_ms": ms(o.duration),
            "failure": o.failure,
        })).collect::<Vec<_>>(),
    })
}

fn active(batch: &ActiveBatch) -> Value {
    json!({
        "time_ms": batch.info.time.as_millis(),
        "state": if batch.running { "running" } else { "queued" },
        "records": batch.info.records(),
        "input_records": input_records(&batch.info),
        "scheduling_delay_ms": opt_ms(batch.info.scheduling_delay),
    })
}

/// The whole status as a JSON document.
pub(super) fn status_json(status: &Status) -> Value {
    let h = &status.history;
    let interval = status.batch_interval;
    let verdict = verdict(h.completed.iter(), interval);
    let times = recent_stage_times(h.completed.iter(), status.plan.stages.len());
    let inputs: Vec<Value> = status
        .live
        .inputs
        .iter()
        .map(|input| {
            let receiver = h.receivers.iter().find(|r| r.info.input == input.port).map(|r| {
                json!({
                    "name": r.info.name,
                    "state": r.state.name(),
                    "last_error": r.info.last_error,
                    "restarts": r.info.restarts,
                })
            });
            let last_rate = h
                .completed
                .back()
                .and_then(|b| b.info.input_records.iter().find(|(p, _)| *p == input.port))
                .map(|(_, n)| rate(*n, interval));
            json!({
                "port": input.port,
                "records": input.stats.records,
                "rejected": input.stats.rejected,
                "errors": input.stats.errors,
                "restarts": input.stats.restarts,
                "files": input.stats.files,
                "last_batch_rate": last_rate,
                "rate_limit": input.rate_limit,
                "receiver": receiver,
            })
        })
        .collect();
    let stages: Vec<Value> = status
        .plan
        .stages
        .iter()
        .zip(&times)
        .map(|(stage, time)| {
            json!({
                "id": stage.id,
                "reads": stage.reads,
                "ends": stage.ends.to_string(),
                "operators": stage.operators.iter().map(|op| json!({
                    "name": op.name,
                    "role": op.role,
                    "line": op.span.line,
                })).collect::<Vec<_>>(),
                "recent_time_ms": time,
            })
        })
        .collect();
    json!({
        "job": status.plan.job,
        "state": if h.stopped { "stopped" } else { "running" },
        "batch_interval_ms": interval.as_millis() as u64,
        "started_at_ms": h.started_at.and_then(|t| t.duration_since(UNIX_EPOCH).ok()).map(|d| d.as_millis() as u64),
        "uptime_ms": status.uptime().map(|d| d.as_millis() as u64),
        "verdict": { "state": verdict.name(), "text": verdict.text() },
        "batches_completed": h.batches_completed,
        "batches_failed": h.batches_failed,
        "records": h.records,
        "queued_batches": status.live.queued_batches,
        "buffered_records": status.live.buffered_records,
        "peak_buffered_records": status.live.peak_buffered_records,
        "active_batches": h.active.values().map(active).collect::<Vec<_>>(),
        "completed_batches": h.completed.iter().map(|b| completed(b, interval)).collect::<Vec<_>>(),
        "failed_batches": h.failed.iter().map(|b| completed(b, interval)).collect::<Vec<_>>(),
        "inputs": inputs,
        "input_errors": h.input_errors.iter().map(|e| json!({
            "input": e.input,
            "time_ms": e.time.map(|t| t.as_millis()),
            "message": e.message,
        })).collect::<Vec<_>>(),
        "stages": stages,
        "checkpoints": {
            "written": h.checkpoints_written,
            "recent": h.checkpoints.iter().map(|c| json!({
                "time_ms": c.time.as_millis(),
                "duration_ms": c.duration.as_secs_f64() * 1000.0,
                "bytes": c.bytes,
            })).collect::<Vec<_>>(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::status_page::fixture;

    #[test]
    fn the_json_holds_the_fixed_history() {
        let v = status_json(&fixture::status());
        assert_eq!(v["job"], "Count<script>");
        assert_eq!(v["state"], "running");
        assert_eq!(v["batch_interval_ms"], 1000);
        assert_eq!(v["uptime_ms"], 4000);
        assert_eq!(v["batches_completed"], 3);
        assert_eq!(v["batches_failed"], 1);
        assert_eq!(v["records"], 600);
        assert_eq!(v["queued_batches"], 1);
        assert_eq!(v["verdict"]["state"], "stable");
        let completed = v["completed_batches"].as_array().unwrap();
        assert_eq!(completed.len(), 3);
        assert_eq!(
            completed[1],
            json!({
                "time_ms": 2000,
                "records": 200,
                "input_records": {"lines": 200},
                "input_progress": {"lines": [{"partition": "lines-0", "from_offset": 100, "until_offset": 200, "lag": 7}]},
                "input_rate": 200.0,
                "scheduling_delay_ms": 2.0,
                "processing_time_ms": 20.0,
                "total_delay_ms": 22.0,
                "stage_times_ms": [12.0, 8.0],
                "failure": null,
                "output_operations": [{"port": "counts", "sink": "print", "duration_ms": 1.0, "failure": null}],
            })
        );
        assert_eq!(
            v["failed_batches"][0]["failure"],
            "operator `map` (line 9) panicked: <script>alert(1)</script>"
        );
        assert_eq!(
            v["active_batches"],
            json!([{"time_ms": 4000, "state": "queued", "records": 50, "input_records": {"lines": 50}, "scheduling_delay_ms": 2.0}])
        );
        assert_eq!(v["inputs"][0]["records"], 650);
        assert_eq!(v["inputs"][0]["last_batch_rate"], 300.0);
        assert_eq!(v["inputs"][0]["rate_limit"], 1500.0);
        assert_eq!(v["inputs"][0]["receiver"]["state"], "error");
        // Stage times: the mean of the three batches (6, 12, 18 ms and 4, 8, 12 ms).
        assert_eq!(v["stages"][0]["recent_time_ms"], 12.0);
        assert_eq!(v["stages"][1]["recent_time_ms"], 8.0);
        assert_eq!(v["stages"][0]["ends"], "shuffle (reduce_by_key)");
        assert_eq!(
            v["stages"][0]["operators"][1],
            json!({"name": "reduce_by_key", "role": "map-side combine", "line": 7})
        );
    }
}
