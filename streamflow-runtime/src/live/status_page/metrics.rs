//! `/metrics`: the job's counters and gauges in the Prometheus text
//! exposition format (version 0.0.4), so existing monitoring can scrape it.

use super::escape::label;
use super::stats::{Verdict, verdict};
use super::status::Status;
use std::fmt::Write;

/// The Content-Type of the format.
pub(super) const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

struct Out {
    text: String,
    job: String,
}

impl Out {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.text, "# HELP {name} {help}\n# TYPE {name} {kind}");
    }

    /// One sample; `labels` are (name, unescaped value) beside `job`.
    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        let _ = write!(self.text, "{name}{{job=\"{}\"", self.job);
        for (k, v) in labels {
            let _ = write!(self.text, ",{k}=\"{}\"", label(v));
        }
        let _ = writeln!(self.text, "}} {value}");
    }

    fn single(&mut self, name: &str, kind: &str, help: &str, value: f64) {
        self.family(name, kind, help);
        self.sample(name, &[], value);
    }
}

/// The metrics text of a status.
pub(super) fn metrics_text(status: &Status) -> String {
    let h = &status.history;
    let mut out = Out {
        text: String::new(),
        job: label(status.plan.job),
    };
    out.single(
        "streamflow_up",
        "gauge",
        "1 while the job runs, 0 once it stopped.",
        if h.stopped { 0.0 } else { 1.0 },
    );
    out.single(
        "streamflow_checkpoints_written_total",
        "counter",
        "State checkpoints written since the job started.",
        h.checkpoints_written as f64,
    );
    if let Some(last) = h.checkpoints.back() {
        out.single(
            "streamflow_last_checkpoint_bytes",
            "gauge",
            "Size of the last state checkpoint.",
            last.bytes as f64,
        );
        out.single(
            "streamflow_last_checkpoint_duration_seconds",
            "gauge",
            "Time the last state checkpoint took to save.",
            last.duration.as_secs_f64(),
        );
        out.single(
            "streamflow_last_checkpoint_batch_time_ms",
            "gauge",
            "Batch time (epoch ms) of the last state checkpoint.",
            last.time.as_millis() as f64,
        );
    }
    let stable = match verdict(h.completed.iter(), status.batch_interval) {
        Verdict::Stable(_) => 1.0,
        Verdict::Unstable(_) => 0.0,
        Verdict::Unknown => f64::NAN,
    };
    out.single(
        "streamflow_stable",
        "gauge",
        "1 when recent batches keep up with the batch interval, 0 when not, NaN before the first batch.",
        stable,
    );
    out.single(
        "streamflow_batch_interval_seconds",
        "gauge",
        "The batch interval.",
        status.batch_interval.as_secs_f64(),
    );
    out.single(
        "streamflow_batches_completed_total",
        "counter",
        "Batches completed, failed ones included.",
        h.batches_completed as f64,
    );
    out.single(
        "streamflow_batches_failed_total",
        "counter",
        "Batches that failed.",
        h.batches_failed as f64,
    );
    out.single(
        "streamflow_queued_batches",
        "gauge",
        "Batches cut and not yet completed.",
        status.live.queued_batches as f64,
    );
    out.single(
        "streamflow_buffered_records",
        "gauge",
        "Records held by receivers and queued batches.",
        status.live.buffered_records as f64,
    );
    if let Some(last) = h.completed.back() {
        let info = &last.info;
        out.single(
            "streamflow_last_batch_records",
            "gauge",
            "Records in the last completed batch.",
            info.records() as f64,
        );
        for (name, help, d) in [
            (
                "streamflow_last_batch_scheduling_delay_seconds",
                "Time the last completed batch waited before it ran.",
                info.scheduling_delay,
            ),
            (
                "streamflow_last_batch_processing_seconds",
                "Time the last completed batch took to run.",
                info.processing_time,
            ),
            (
                "streamflow_last_batch_total_delay_seconds",
                "Scheduling delay plus processing time of the last completed batch.",
                info.total_delay,
            ),
        ] {
            if let Some(d) = d {
                out.single(name, "gauge", help, d.as_secs_f64());
            }
        }
        if !info.stage_times.is_empty() {
            out.family(
                "streamflow_last_batch_stage_seconds",
                "gauge",
                "Time each stage of the plan took in the last completed batch.",
            );
            for (i, t) in info.stage_times.iter().enumerate() {
                let id = (i + 1).to_string();
                out.sample(
                    "streamflow_last_batch_stage_seconds",
                    &[("stage", &id)],
                    t.as_secs_f64(),
                );
            }
        }
        if info.input_progress.iter().any(|(_, p)| !p.is_empty()) {
            out.family(
                "streamflow_input_partition_lag",
                "gauge",
                "Consumer lag of each partition of a partitioned input (Kafka) after the last completed batch.",
            );
            for (port, progress) in &info.input_progress {
                for p in progress {
                    out.sample(
                        "streamflow_input_partition_lag",
                        &[("input", port), ("partition", &p.partition)],
                        p.lag as f64,
                    );
                }
            }
        }
    }
    let inputs = &status.live.inputs;
    for (name, kind, help, get) in [
        (
            "streamflow_input_records_total",
            "counter",
            "Records accepted by an input.",
            (|s| s.records) as fn(&crate::live::sources::InputStats) -> u64,
        ),
        (
            "streamflow_input_rejected_total",
            "counter",
            "Records an input rejected as malformed.",
            |s| s.rejected,
        ),
        (
            "streamflow_input_errors_total",
            "counter",
            "Errors an input reported.",
            |s| s.errors,
        ),
        (
            "streamflow_receiver_restarts_total",
            "counter",
            "Times an input's receiver was restarted.",
            |s| s.restarts,
        ),
    ] {
        if inputs.is_empty() {
            break;
        }
        out.family(name, kind, help);
        for input in inputs {
            out.sample(name, &[("input", input.port)], get(&input.stats) as f64);
        }
    }
    let limited: Vec<_> = inputs.iter().filter_map(|i| Some((i.port, i.rate_limit?))).collect();
    if !limited.is_empty() {
        out.family(
            "streamflow_receiver_rate_limit",
            "gauge",
            "The rate a receiver is limited to (records/s), by a maximum or backpressure.",
        );
        for (port, limit) in limited {
            out.sample("streamflow_receiver_rate_limit", &[("input", port)], limit);
        }
    }
    if !h.receivers.is_empty() {
        out.family(
            "streamflow_receiver_active",
            "gauge",
            "1 while a receiver runs, 0 once it stopped.",
        );
        for r in &h.receivers {
            let active = if r.info.active { 1.0 } else { 0.0 };
            out.sample(
                "streamflow_receiver_active",
                &[("input", r.info.input), ("receiver", &r.info.name)],
                active,
            );
        }
    }
    out.text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::status_page::fixture;

    #[test]
    fn the_metrics_of_the_fixed_history() {
        let text = metrics_text(&fixture::status());
        for line in [
            "# TYPE streamflow_batches_completed_total counter",
            r#"streamflow_batches_completed_total{job="Count<script>"} 3"#,
            r#"streamflow_batches_failed_total{job="Count<script>"} 1"#,
            r#"streamflow_stable{job="Count<script>"} 1"#,
            r#"streamflow_last_batch_processing_seconds{job="Count<script>"} 0.03"#,
            r#"streamflow_last_batch_stage_seconds{job="Count<script>",stage="2"} 0.012"#,
            r#"streamflow_input_records_total{job="Count<script>",input="lines"} 650"#,
            r#"streamflow_input_partition_lag{job="Count<script>",input="lines",partition="lines-0"} 7"#,
            r#"streamflow_receiver_rate_limit{job="Count<script>",input="lines"} 1500"#,
            r#"streamflow_receiver_active{job="Count<script>",input="lines",receiver="socket 127.0.0.1:9999"} 1"#,
        ] {
            assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
        }
        // Every line is a comment or `name{labels} value`.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (_, value) = line.rsplit_once(' ').unwrap();
            assert!(value.parse::<f64>().is_ok(), "{line}");
        }
    }
}
