//! The status page of a running job in a real headless Chromium, driven
//! through chromedriver (WebDriver): the plots are laid out with a size,
//! have a dot per batch, the tables show the right numbers, an error message
//! holding markup is shown as text and adds no element, and a screenshot is
//! taken (written to `STREAMFLOW_SCREENSHOT` when set, as the README's).
//!
//! Needs Debian's `chromium` and `chromium-driver` (`scripts/test.sh`
//! installs them). Under `CI=true` a missing browser fails the test;
//! elsewhere it is skipped with a message.

mod status_support;

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};
use status_support::{HOSTILE, PATIENCE, get, run_batches, start};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Instant;

/// Batches the job runs before the browser looks.
const BATCHES: u64 = 24;

/// chromedriver and chromium, or `None` (outside CI) when they are missing.
fn browser() -> Option<(PathBuf, PathBuf)> {
    let path = |var: &str, default: &str| PathBuf::from(std::env::var(var).unwrap_or_else(|_| default.to_owned()));
    let driver = path("STREAMFLOW_CHROMEDRIVER", "/usr/bin/chromedriver");
    let chromium = path("STREAMFLOW_CHROMIUM", "/usr/bin/chromium");
    if driver.is_file() && chromium.is_file() {
        return Some((driver, chromium));
    }
    let message = format!(
        "the status page browser test needs {} and {} (Debian's chromium and chromium-driver; \
         scripts/test.sh installs them)",
        driver.display(),
        chromium.display()
    );
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(!ci, "{message}: under CI a missing browser is a failure");
    eprintln!("\n*** SKIPPED: {message} ***\n");
    None
}

/// chromedriver on a free loopback port; killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Driver {
    fn start(path: &PathBuf) -> Driver {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(path)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", path.display()));
        let deadline = Instant::now() + PATIENCE;
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "chromedriver did not listen on {port}");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn connect(driver: &Driver, chromium: &PathBuf, profile: &std::path::Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".to_owned(),
        json!({
            "binary": chromium,
            // The flags known to work on a closed network, as root.
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--window-size=1400,2600", format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .expect("a chromium session through chromedriver")
}

async fn eval(client: &Client, script: &str) -> Value {
    client
        .execute(script, vec![])
        .await
        .unwrap_or_else(|e| panic!("{script}: {e}"))
}

async fn text(client: &Client, css: &str) -> String {
    let element = client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"));
    element.text().await.unwrap()
}

/// Loads the page in the browser, checks it, returns a screenshot.
async fn check_page(client: Client, url: String, status: Value, stages: usize) -> Vec<u8> {
    let client = &client;
    // No reload while the test reads the page.
    client.goto(&format!("{url}?refresh=0")).await.unwrap();
    assert_eq!(client.title().await.unwrap(), "Hostile · streamflow");

    // Four timelines and four histograms, laid out with a real size.
    let sizes = eval(
            client,
            "return Array.from(document.querySelectorAll('svg.timeline, svg.histogram, svg.plan'))
                .map(s => { const r = s.getBoundingClientRect(); return [s.getAttribute('class'), r.width, r.height]; })",
        )
        .await;
    let sizes = sizes.as_array().unwrap();
    assert_eq!(sizes.len(), 9, "{sizes:?}");
    for size in sizes {
        assert!(
            size[1].as_f64().unwrap() > 200.0 && size[2].as_f64().unwrap() > 100.0,
            "{size}"
        );
    }
    for metric in ["input-rate", "scheduling-delay", "processing-time", "total-delay"] {
        let points = eval(
            client,
            &format!("return document.querySelectorAll('svg.timeline[data-metric={metric}] circle.point').length"),
        )
        .await;
        assert_eq!(points, json!(BATCHES), "{metric}");
        // The line was laid out: its box spans the plot.
        let line_width = eval(
            client,
            &format!("return document.querySelector('svg.timeline[data-metric={metric}] polyline').getBBox().width"),
        )
        .await;
        assert!(line_width.as_f64().unwrap() > 400.0, "{metric}: {line_width}");
        let counted = eval(
            client,
            &format!(
                "return Array.from(document.querySelectorAll('svg.histogram[data-metric={metric}] rect.bar'))
                        .reduce((n, r) => n + Number(r.dataset.count), 0)"
            ),
        )
        .await;
        assert_eq!(counted, json!(BATCHES), "{metric}");
    }
    // The interval line on the time plots, not on the input rate.
    let lines = eval(client, "return document.querySelectorAll('svg g.interval').length").await;
    assert_eq!(lines, json!(6));

    // The numbers, as the browser shows them.
    assert_eq!(text(client, "#completed").await, BATCHES.to_string());
    assert_eq!(text(client, "#failed").await, "1");
    assert_eq!(text(client, "#records").await, status["records"].to_string());
    assert_eq!(text(client, "#interval").await, "100 ms");
    assert!(text(client, "#verdict").await.starts_with("Stable: "));
    let newest = eval(
            client,
            "return Array.from(document.querySelectorAll('#completed-batches tr')[1].cells).slice(0, 3).map(c => c.innerText)",
        )
        .await;
    assert_eq!(
        newest,
        json!([
            format!("{} ms", BATCHES * 100),
            BATCHES.to_string(),
            format!("{}/s", BATCHES * 10)
        ])
    );
    let rows = eval(
        client,
        "return document.querySelectorAll('#completed-batches tr').length",
    )
    .await;
    assert_eq!(rows, json!(21));
    let boxes = eval(client, "return document.querySelectorAll('svg.plan g.stage').length").await;
    assert_eq!(boxes, json!(stages));
    assert!(
        text(client, "svg.plan g.stage[data-stage='1'] .stage-time")
            .await
            .ends_with(" ms")
    );

    // The error message is text: shown as written, no element added, nothing ran.
    assert!(text(client, "#failed-batches pre.failure").await.contains(HOSTILE));
    let injected = eval(
        client,
        "return [document.querySelectorAll('script, img').length, typeof window.pwned]",
    )
    .await;
    assert_eq!(injected, json!([0, "undefined"]));

    client.screenshot().await.unwrap()
}

#[test]
fn chromium_renders_the_plots_tables_and_escaped_errors() {
    let Some((driver_path, chromium)) = browser() else {
        return;
    };
    let (handle, clock) = start(BATCHES as usize);
    run_batches(&handle, &clock, BATCHES);
    let url = handle.status_page_url().unwrap();
    let status: Value = serde_json::from_str(&get(&url, "/api/status").body).unwrap();
    let stages = handle.plan().stages.len();
    let driver = Driver::start(&driver_path);
    let profile = std::env::temp_dir().join(format!("streamflow-chromium-{}", std::process::id()));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let png = runtime.block_on(async {
        let client = connect(&driver, &chromium, &profile).await;
        // Checked on a task of its own, so that the browser is closed even
        // when a check fails.
        let checked = tokio::spawn(check_page(client.clone(), url.clone(), status, stages)).await;
        client.close().await.unwrap();
        checked.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    });
    drop(driver);
    let _ = std::fs::remove_dir_all(&profile);
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "the screenshot is not a PNG");
    let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("status-page.png");
    std::fs::write(&out, &png).unwrap();
    if let Ok(path) = std::env::var("STREAMFLOW_SCREENSHOT") {
        std::fs::write(&path, &png).unwrap();
    }
    eprintln!("screenshot: {}", out.display());
    handle.stop(false).unwrap();
}
