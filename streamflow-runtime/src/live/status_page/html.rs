//! `/`: the status page. Plain HTML with inline SVG, readable without
//! JavaScript; it reloads itself every few seconds. Every string the page
//! did not write itself goes through [`html`].

use super::escape::html;
use super::history::CompletedBatch;
use super::plan_graph::plan_graph;
use super::stats::{Metric, Verdict, ms, rate, recent_stage_times, summary, verdict};
use super::status::Status;
use super::svg::{Series, Threshold, histogram, num, timeline};
use std::fmt::Write;
use std::time::Duration;

/// Completed batches listed in the table (the plots show all retained).
pub(super) const LISTED_BATCHES: usize = 20;

const STYLE: &str = "body{font:14px system-ui,sans-serif;margin:16px 24px;color:#212529}\
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:22px 0 6px}\
.meta{color:#555}.verdict{padding:8px 12px;border-radius:4px;margin:12px 0;font-weight:600}\
.verdict.stable{background:#d3f9d8;color:#2b8a3e}.verdict.unstable{background:#ffe3e3;color:#c92a2a}\
.verdict.unknown{background:#f1f3f5;color:#555}.metric{display:flex;gap:12px;align-items:flex-start;margin-bottom:8px}\
.metric .about{width:170px}.metric .about b{display:block}\
table{border-collapse:collapse;margin-bottom:6px}td,th{border:1px solid #dee2e6;padding:3px 8px;text-align:right}\
th{background:#f1f3f5}td.text{text-align:left}pre{margin:0;white-space:pre-wrap;max-width:760px}\
.failed{color:#c92a2a}";

fn ms_text(d: Option<Duration>) -> String {
    d.map_or_else(|| "-".to_owned(), |d| format!("{} ms", num(ms(d))))
}

/// `?refresh=N` (seconds, 0 = never) or the default: the batch interval,
/// from 1 s to 10 s.
pub(super) fn refresh_seconds(query: Option<&str>, interval: Duration) -> u64 {
    let asked = query.and_then(|q| {
        q.split('&')
            .find_map(|kv| kv.strip_prefix("refresh="))
            .and_then(|v| v.parse::<u64>().ok())
    });
    asked.map_or_else(|| interval.as_secs().clamp(1, 10), |s| s.min(3600))
}

/// The page.
pub(super) fn page(status: &Status, refresh: u64) -> String {
    let h = &status.history;
    let plan = status.plan;
    let interval = status.batch_interval;
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} · streamflow</title>",
        html(plan.job)
    );
    if refresh > 0 {
        let _ = write!(out, "<meta http-equiv=\"refresh\" content=\"{refresh}\">");
    }
    let _ = write!(out, "<style>{STYLE}</style></head><body>");
    let state = if h.stopped { "stopped" } else { "running" };
    let uptime = status
        .uptime()
        .map_or_else(|| "-".to_owned(), |d| format!("{} s", d.as_secs()));
    let _ = write!(
        out,
        "<h1>Streaming job <span id=\"job\">{}</span></h1><p class=\"meta\">state <b id=\"state\">{state}</b> · batch interval <b id=\"interval\">{} ms</b> · up {uptime} · <b id=\"completed\">{}</b> batches completed, <b id=\"failed\">{}</b> failed, <b id=\"records\">{}</b> records · {} queued · {} records buffered (peak {}) · <a href=\"api/status\">JSON</a> · <a href=\"metrics\">metrics</a></p>",
        html(plan.job),
        interval.as_millis(),
        h.batches_completed,
        h.batches_failed,
        h.records,
        status.live.queued_batches,
        status.live.buffered_records,
        status.live.peak_buffered_records,
    );
    let v = verdict(h.completed.iter(), interval);
    let headline = match &v {
        Verdict::Unknown => "Waiting",
        Verdict::Stable(_) => "Stable",
        Verdict::Unstable(_) => "Unstable",
    };
    let _ = write!(
        out,
        "<div id=\"verdict\" class=\"verdict {}\">{headline}: {}</div>",
        v.name(),
        html(v.text())
    );
    metrics_section(&mut out, status);
    out.push_str("<h2>Stage plan</h2><p class=\"meta\">Stages as the compiler fused them; each with its mean time over the last 10 batches.</p><div id=\"plan\">");
    out.push_str(&plan_graph(
        plan,
        &recent_stage_times(h.completed.iter(), plan.stages.len()),
    ));
    out.push_str("</div>");
    active_table(&mut out, status);
    completed_table(
        &mut out,
        "completed-batches",
        "Completed batches",
        h.completed.iter().rev().take(LISTED_BATCHES),
        interval,
    );
    if !h.failed.is_empty() {
        failed_table(&mut out, status);
    }
    inputs_table(&mut out, status);
    if !h.checkpoints.is_empty() {
        let _ = write!(
            out,
            "<h2>Checkpoints</h2><p class=\"meta\">{} state checkpoints written; the last {} below.</p>\
             <table id=\"checkpoints\"><tr><th>batch time</th><th>duration</th><th>size</th></tr>",
            h.checkpoints_written,
            h.checkpoints.len()
        );
        for c in h.checkpoints.iter().rev() {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{:.1} ms</td><td>{} bytes</td></tr>",
                c.time,
                c.duration.as_secs_f64() * 1000.0,
                c.bytes
            );
        }
        out.push_str("</table>");
    }
    if !h.input_errors.is_empty() {
        out.push_str(
            "<h2>Input errors</h2><table id=\"input-errors\"><tr><th>input</th><th>batch</th><th>message</th></tr>",
        );
        for e in h.input_errors.iter().rev() {
            let _ = write!(
                out,
                "<tr><td class=\"text\">{}</td><td>{}</td><td class=\"text\"><pre>{}</pre></td></tr>",
                html(e.input),
                e.time.map_or_else(|| "-".to_owned(), |t| t.to_string()),
                html(&e.message)
            );
        }
        out.push_str("</table>");
    }
    out.push_str("</body></html>");
    out
}

fn metrics_section(out: &mut String, status: &Status) {
    let h = &status.history;
    let interval = status.batch_interval;
    let seconds = |b: &CompletedBatch| b.info.time.as_millis() as f64 / 1000.0;
    let line = Threshold {
        value: ms(interval),
        label: "batch interval",
    };
    for metric in Metric::ALL {
        let points: Vec<(f64, f64)> = h
            .completed
            .iter()
            .filter_map(|b| Some((seconds(b), metric.value(b, interval)?)))
            .collect();
        let values: Vec<f64> = points.iter().map(|p| p.1).collect();
        let mut series = vec![Series { name: "total", points }];
        if metric == Metric::InputRate && status.plan.inputs.len() > 1 {
            for port in status.plan.inputs {
                let points = h
                    .completed
                    .iter()
                    .map(|b| {
                        let n = b
                            .info
                            .input_records
                            .iter()
                            .find(|(p, _)| *p == port.name)
                            .map_or(0, |(_, n)| *n);
                        (seconds(b), rate(n, interval))
                    })
                    .collect();
                series.push(Series {
                    name: port.name,
                    points,
                });
            }
        }
        // The interval line where it is a limit: on times, not on rates.
        let threshold = (metric != Metric::InputRate).then_some(line);
        let about = summary(&values).map_or_else(
            || "no batch yet".to_owned(),
            |s| {
                format!(
                    "avg {} {unit}<br>max {} {unit}",
                    num(s.mean),
                    num(s.max),
                    unit = metric.unit()
                )
            },
        );
        let _ = write!(
            out,
            "<h2>{}</h2><div class=\"metric\" id=\"{}\"><div class=\"about\"><b>{}</b>{about}</div>{}{}</div>",
            metric.title(),
            metric.id(),
            metric.unit(),
            timeline(metric.id(), metric.title(), metric.unit(), &series, threshold),
            histogram(metric.id(), metric.title(), metric.unit(), &values, threshold),
        );
    }
}

fn active_table(out: &mut String, status: &Status) {
    let h = &status.history;
    let _ = write!(
        out,
        "<h2>Active batches ({})</h2><table id=\"active-batches\"><tr><th>batch time</th><th>state</th><th>records</th><th>scheduling delay</th></tr>",
        h.active.len()
    );
    for a in h.active.values() {
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"text\">{}</td><td>{}</td><td>{}</td></tr>",
            a.info.time,
            if a.running { "running" } else { "queued" },
            a.info.records(),
            ms_text(a.info.scheduling_delay)
        );
    }
    out.push_str("</table>");
}

fn completed_table<'a>(
    out: &mut String,
    id: &str,
    title: &str,
    batches: impl Iterator<Item = &'a CompletedBatch>,
    interval: Duration,
) {
    let _ = write!(
        out,
        "<h2>{title}</h2><table id=\"{id}\"><tr><th>batch time</th><th>records</th><th>input rate</th><th>scheduling delay</th><th>processing time</th><th>total delay</th><th>output operations</th></tr>"
    );
    for b in batches {
        let info = &b.info;
        let outputs: Vec<String> = b
            .outputs
            .iter()
            .map(|o| {
                let failed = if o.failure.is_some() { " FAILED" } else { "" };
                format!(
                    "{} → {} ({} ms){failed}",
                    html(o.port),
                    html(&o.sink),
                    num(ms(o.duration))
                )
            })
            .collect();
        let class = if info.failure.is_some() {
            " class=\"failed\""
        } else {
            ""
        };
        let _ = write!(
            out,
            "<tr{class}><td>{}</td><td>{}</td><td>{}/s</td><td>{}</td><td>{}</td><td>{}</td><td class=\"text\">{}</td></tr>",
            info.time,
            info.records(),
            num(rate(info.records(), interval)),
            ms_text(info.scheduling_delay),
            ms_text(info.processing_time),
            ms_text(info.total_delay),
            outputs.join("<br>")
        );
    }
    out.push_str("</table>");
}

fn failed_table(out: &mut String, status: &Status) {
    out.push_str("<h2>Failed batches</h2><table id=\"failed-batches\"><tr><th>batch time</th><th>records</th><th>error</th></tr>");
    for b in status.history.failed.iter().rev() {
        let _ = write!(
            out,
            "<tr><td>{}</td><td>{}</td><td class=\"text\"><pre class=\"failure\">{}</pre></td></tr>",
            b.info.time,
            b.info.records(),
            html(b.info.failure.as_deref().unwrap_or(""))
        );
    }
    out.push_str("</table>");
}

fn inputs_table(out: &mut String, status: &Status) {
    let h = &status.history;
    out.push_str("<h2>Inputs and receivers</h2><table id=\"inputs\"><tr><th>input</th><th>receiver</th><th>state</th><th>last batch rate</th><th>rate limit</th><th>records</th><th>rejected</th><th>errors</th><th>restarts</th><th>last error</th></tr>");
    for input in &status.live.inputs {
        let receiver = h.receivers.iter().find(|r| r.info.input == input.port);
        let last = h
            .completed
            .back()
            .and_then(|b| b.info.input_records.iter().find(|(p, _)| *p == input.port))
            .map_or_else(
                || "-".to_owned(),
                |(_, n)| format!("{}/s", num(rate(*n, status.batch_interval))),
            );
        let _ = write!(
            out,
            "<tr><td class=\"text\">{}</td><td class=\"text\">{}</td><td class=\"text\">{}</td><td>{last}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"text\"><pre>{}</pre></td></tr>",
            html(input.port),
            receiver.map_or_else(|| "(no receiver)".to_owned(), |r| html(&r.info.name)),
            receiver.map_or("-", |r| r.state.name()),
            input
                .rate_limit
                .map_or_else(|| "-".to_owned(), |r| format!("{}/s", num(r))),
            input.stats.records,
            input.stats.rejected,
            input.stats.errors,
            input.stats.restarts,
            html(receiver.and_then(|r| r.info.last_error.as_deref()).unwrap_or("")),
        );
    }
    out.push_str("</table>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::status_page::fixture;

    #[test]
    fn the_page_of_the_fixed_history() {
        let page = page(&fixture::status(), 2);
        assert!(page.contains(r#"<meta http-equiv="refresh" content="2">"#));
        assert_eq!(page.matches("<svg class=\"timeline\"").count(), 4);
        assert_eq!(page.matches("<svg class=\"histogram\"").count(), 4);
        assert_eq!(page.matches("<svg class=\"plan\"").count(), 1);
        // Three batches, one dot each, on each of the four timelines.
        assert_eq!(page.matches("class=\"point\"").count(), 12);
        assert!(page.contains(r#"<div id="verdict" class="verdict stable">Stable: batches take 20 ms on average"#));
        assert!(page.contains("<td>2000 ms</td><td>200</td><td>200/s</td><td>2 ms</td><td>20 ms</td><td>22 ms</td>"));
        assert!(page.contains("<td>4000 ms</td><td class=\"text\">queued</td><td>50</td>"));
        // Every hostile string is escaped: no markup but the page's own.
        assert!(!page.contains("<script>"));
        assert!(!page.contains("<b>\""));
        assert!(page.contains("panicked: &lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(page.contains("Streaming job <span id=\"job\">Count&lt;script&gt;</span>"));
        assert!(page.contains("connection refused &lt;b&gt;"));
        assert!(!super::page(&fixture::status(), 0).contains("http-equiv"));
    }

    #[test]
    fn refresh_is_the_interval_unless_asked() {
        assert_eq!(refresh_seconds(None, Duration::from_millis(500)), 1);
        assert_eq!(refresh_seconds(None, Duration::from_secs(2)), 2);
        assert_eq!(refresh_seconds(None, Duration::from_secs(60)), 10);
        assert_eq!(refresh_seconds(Some("a=1&refresh=0"), Duration::from_secs(2)), 0);
        assert_eq!(refresh_seconds(Some("refresh=x"), Duration::from_secs(2)), 2);
    }
}
