//! The status page of a running job, over real HTTP requests on TCP: the
//! exact JSON, the Prometheus lines, the page's escaping, read-only methods,
//! a port in use, and the server ending with the job.

mod status_support;

use serde_json::{Value, json};
use status_support::{HOSTILE, Hostile, PATIENCE, get, request, run_batches, start};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};
use streamflow::StreamingContext;
use streamflow::live::{StartError, sources};

#[test]
fn the_json_shows_every_batch_of_a_running_job() {
    let (handle, clock) = start(4);
    run_batches(&handle, &clock, 4);
    let url = handle.status_page_url().unwrap();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let response = get(&url, "/api/status");
    assert_eq!(response.status, 200);
    assert_eq!(response.header("Content-Type"), Some("application/json"));
    let v: Value = serde_json::from_str(&response.body).unwrap();
    assert_eq!(v["job"], "Hostile");
    assert_eq!(v["state"], "running");
    assert_eq!(v["batch_interval_ms"], 100);
    assert_eq!(v["batches_completed"], 4);
    assert_eq!(v["batches_failed"], 1);
    // 1 + 2 + 1 (the failing line) + 4 lines.
    assert_eq!(v["records"], 8);
    let completed = v["completed_batches"].as_array().unwrap();
    let times: Vec<&Value> = completed.iter().map(|b| &b["time_ms"]).collect();
    assert_eq!(times, [100, 200, 300, 400]);
    let records: Vec<&Value> = completed.iter().map(|b| &b["records"]).collect();
    assert_eq!(records, [1, 2, 1, 4]);
    assert_eq!(completed[1]["input_records"], json!({"lines": 2}));
    assert_eq!(completed[1]["input_rate"], 20.0);
    assert_eq!(completed[1]["failure"], Value::Null);
    for b in completed {
        let (delay, processing, total) = (
            b["scheduling_delay_ms"].as_f64().unwrap(),
            b["processing_time_ms"].as_f64().unwrap(),
            b["total_delay_ms"].as_f64().unwrap(),
        );
        assert!((delay + processing - total).abs() < 1e-6, "{b}");
        assert_eq!(
            b["stage_times_ms"].as_array().unwrap().len(),
            handle.plan().stages.len()
        );
    }
    let failure = completed[2]["failure"].as_str().unwrap();
    assert!(failure.contains(HOSTILE), "{failure}");
    assert_eq!(v["failed_batches"].as_array().unwrap().len(), 1);
    assert_eq!(v["failed_batches"][0]["time_ms"], 300);
    assert_eq!(v["inputs"][0]["port"], "lines");
    assert_eq!(v["inputs"][0]["records"], 8);
    assert_eq!(v["inputs"][0]["receiver"], Value::Null);
    let stages = v["stages"].as_array().unwrap();
    assert_eq!(stages.len(), handle.plan().stages.len());
    assert_eq!(stages[0]["reads"], "input `lines`");
    assert_eq!(stages[0]["ends"], "shuffle (reduce_by_key)");
    let names: Vec<&Value> = stages[0]["operators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| &o["name"])
        .collect();
    assert_eq!(names, ["map", "flat_map", "map", "reduce_by_key"]);
    assert!(stages[0]["recent_time_ms"].as_f64().is_some());
    handle.stop(false).unwrap();
}

#[test]
fn the_metrics_parse_as_prometheus_text() {
    let (handle, clock) = start(4);
    run_batches(&handle, &clock, 4);
    let url = handle.status_page_url().unwrap();
    let response = get(&url, "/metrics");
    assert_eq!(response.status, 200);
    assert_eq!(
        response.header("Content-Type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let mut samples = std::collections::BTreeMap::new();
    let mut typed = std::collections::BTreeSet::new();
    for line in response.body.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(["counter", "gauge"].contains(&kind), "{line}");
            typed.insert(name.to_owned());
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap();
        let name = &series[..series.find('{').unwrap()];
        assert!(typed.contains(name), "{name} has no TYPE line before it");
        assert!(series.ends_with('}'), "{line}");
        samples.insert(series.to_owned(), value.parse::<f64>().unwrap());
    }
    assert_eq!(samples[r#"streamflow_batches_completed_total{job="Hostile"}"#], 4.0);
    assert_eq!(samples[r#"streamflow_batches_failed_total{job="Hostile"}"#], 1.0);
    assert_eq!(
        samples[r#"streamflow_input_records_total{job="Hostile",input="lines"}"#],
        8.0
    );
    assert_eq!(samples[r#"streamflow_last_batch_records{job="Hostile"}"#], 4.0);
    assert_eq!(samples[r#"streamflow_batch_interval_seconds{job="Hostile"}"#], 0.1);
    assert_eq!(samples[r#"streamflow_queued_batches{job="Hostile"}"#], 0.0);
    assert_eq!(samples[r#"streamflow_up{job="Hostile"}"#], 1.0);
    assert_eq!(samples[r#"streamflow_stable{job="Hostile"}"#], 1.0);
    assert!(samples.contains_key(r#"streamflow_last_batch_stage_seconds{job="Hostile",stage="1"}"#));
    handle.stop(false).unwrap();
}

#[test]
fn the_page_escapes_an_error_message_with_markup() {
    let (handle, clock) = start(3);
    run_batches(&handle, &clock, 3);
    let url = handle.status_page_url().unwrap();
    let page = get(&url, "/");
    assert_eq!(page.status, 200);
    assert_eq!(page.header("Content-Type"), Some("text/html; charset=utf-8"));
    assert!(
        page.header("Content-Security-Policy")
            .unwrap()
            .starts_with("default-src 'none'")
    );
    let body = &page.body;
    assert!(!body.contains("<script"), "unescaped markup in the page");
    assert!(!body.contains("<img"), "unescaped markup in the page");
    assert!(
        body.contains(
            "&lt;script&gt;window.pwned=1&lt;/script&gt;&lt;img src=x onerror=&quot;window.pwned=2&quot;&gt;"
        )
    );
    assert_eq!(body.matches("<svg class=\"timeline\"").count(), 4);
    assert_eq!(body.matches("class=\"point\"").count(), 4 * 3);
    assert_eq!(body.matches("<g class=\"stage\"").count(), handle.plan().stages.len());
    assert!(body.contains("<b id=\"completed\">3</b> batches completed, <b id=\"failed\">1</b> failed"));
    handle.stop(false).unwrap();
}

#[test]
fn the_page_is_read_only_and_names_what_it_serves() {
    let (handle, clock) = start(1);
    run_batches(&handle, &clock, 1);
    let url = handle.status_page_url().unwrap();
    for method in ["POST", "PUT", "DELETE"] {
        let response = request(&url, method, "/");
        assert_eq!(response.status, 405, "{method}");
        assert_eq!(response.header("Allow"), Some("GET, HEAD"));
    }
    let head = request(&url, "HEAD", "/api/status");
    assert_eq!((head.status, head.body.as_str()), (200, ""));
    let missing = get(&url, "/admin");
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.body,
        "not found: the status page is at /, its data at /api/status and /metrics\n"
    );
    handle.stop(false).unwrap();
}

#[test]
fn a_port_in_use_is_a_start_error() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let error = StreamingContext::new(Hostile::new())
        .input("lines", sources::queue_stream(Vec::<Vec<String>>::new()))
        .unwrap()
        .output::<(String, u64)>("counts", streamflow::live::sinks::discard())
        .unwrap()
        .status_page(address.clone())
        .start()
        .unwrap_err();
    assert!(matches!(error, StartError::StatusPage { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!("cannot serve the status page on `{address}`: ")),
        "{message}"
    );
    assert!(message.contains("in use"), "{message}");
}

#[test]
fn the_page_stops_with_the_job() {
    let (handle, clock) = start(1);
    run_batches(&handle, &clock, 1);
    let url = handle.status_page_url().unwrap();
    let host = url.trim_start_matches("http://").trim_end_matches('/').to_owned();
    handle.stop(false).unwrap();
    let deadline = Instant::now() + PATIENCE;
    while TcpStream::connect(&host).is_ok() {
        assert!(
            Instant::now() < deadline,
            "the status page still listens after the job stopped"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn without_a_status_page_there_is_no_url() {
    let handle = StreamingContext::new(Hostile::new())
        .input("lines", sources::queue_stream(Vec::<Vec<String>>::new()))
        .unwrap()
        .output::<(String, u64)>("counts", streamflow::live::sinks::discard())
        .unwrap()
        .start()
        .unwrap();
    assert_eq!(handle.status_page_url(), None);
    handle.stop(false).unwrap();
}

#[test]
fn checkpoints_show_in_the_json_the_metrics_and_the_page() {
    let dir = std::env::temp_dir().join(format!("streamflow-page-checkpoints-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let clock = std::sync::Arc::new(streamflow::live::ManualClock::new());
    let handle = StreamingContext::new(status_support::Hostile::new())
        .clock(clock.clone())
        .input("lines", sources::queue_stream(status_support::batches(4)))
        .unwrap()
        .output::<(String, u64)>("counts", streamflow::live::sinks::discard())
        .unwrap()
        .stop_on_failure(false)
        .checkpoint(&dir)
        .checkpoint_interval(status_support::INTERVAL)
        .status_page("127.0.0.1:0")
        .start()
        .unwrap();
    run_batches(&handle, &clock, 4);
    let url = handle.status_page_url().unwrap();
    let v: Value = serde_json::from_str(&get(&url, "/api/status").body).unwrap();
    // Batch 3 fails: it is not committed, and its state is not saved.
    assert_eq!(v["checkpoints"]["written"], 3);
    let times: Vec<&Value> = v["checkpoints"]["recent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| &c["time_ms"])
        .collect();
    assert_eq!(times, [100, 200, 400]);
    assert!(v["checkpoints"]["recent"][0]["bytes"].as_u64().unwrap() > 0);
    let metrics = get(&url, "/metrics").body;
    assert!(
        metrics.contains("streamflow_checkpoints_written_total{job=\"Hostile\"} 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("streamflow_last_checkpoint_batch_time_ms{job=\"Hostile\"} 400"),
        "{metrics}"
    );
    let page = get(&url, "/?refresh=0").body;
    assert!(
        page.contains("<h2>Checkpoints</h2><p class=\"meta\">3 state checkpoints written"),
        "{page}"
    );
    handle.stop(false).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
