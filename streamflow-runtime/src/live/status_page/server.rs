//! The HTTP side: binds the address at start (a port in use is a start
//! error), then answers GET and HEAD on one background thread until the job
//! has terminated. Nothing is computed unless a request comes: the job pays
//! only for the listener's bookkeeping.

use super::history::{History, Recorder};
use super::status::{InputNow, Live, Status};
use super::{html, json, metrics};
use crate::live::error::StartError;
use crate::live::listener::StreamingListener;
use crate::live::run_state::Shared;
use crate::live::sync::lock;
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};
use tiny_http::{Header, Method, Request, Response, Server};

/// How often the server thread looks whether the job has terminated.
const POLL: Duration = Duration::from_millis(200);

/// A bound status page, not serving yet.
pub(in crate::live) struct StatusPage {
    server: Server,
    address: SocketAddr,
    history: Arc<Mutex<History>>,
}

/// Binds `address` (`host:port`; port 0 picks a free one).
pub(in crate::live) fn bind(address: &str) -> Result<StatusPage, StartError> {
    let error = |reason: String| StartError::StatusPage {
        address: address.to_owned(),
        reason,
    };
    let listener = TcpListener::bind(address).map_err(|e| error(e.to_string()))?;
    let bound = listener.local_addr().map_err(|e| error(e.to_string()))?;
    let server = Server::from_listener(listener, None).map_err(|e| error(e.to_string()))?;
    Ok(StatusPage {
        server,
        address: bound,
        history: Arc::new(Mutex::new(History::default())),
    })
}

impl StatusPage {
    /// The address it listens on.
    pub(in crate::live) fn address(&self) -> SocketAddr {
        self.address
    }

    /// The listener that keeps the page's history; register it with the bus.
    pub(in crate::live) fn recorder(&self) -> Box<dyn StreamingListener> {
        Box::new(Recorder(self.history.clone()))
    }

    /// Starts answering requests on a thread of its own, until the job has
    /// terminated.
    pub(in crate::live) fn serve(self, shared: Arc<Shared>) -> std::io::Result<JoinHandle<()>> {
        std::thread::Builder::new()
            .name("streamflow-status-page".into())
            .spawn(move || {
                tracing::info!(address = %self.address, "status page serving");
                // Also ends if the job never got going (nothing else holds `shared`).
                while !shared.state().terminated && Arc::strong_count(&shared) > 1 {
                    match self.server.recv_timeout(POLL) {
                        Ok(Some(request)) => answer(request, &shared, &self.history),
                        Ok(None) => {}
                        Err(e) => {
                            tracing::warn!("status page: {e}");
                            break;
                        }
                    }
                }
            })
    }
}

/// What a request sees: the history as it is, the live numbers read now.
fn snapshot(shared: &Shared, history: &Mutex<History>) -> Status {
    let history = lock(history).clone();
    let queued_batches = shared.state().queued;
    let inputs = shared
        .counters
        .iter()
        .map(|(port, counters)| InputNow {
            port,
            stats: counters.snapshot(),
            rate_limit: shared
                .receivers
                .iter()
                .find(|(p, _)| p == port)
                .and_then(|(_, r)| r.rate()),
        })
        .collect();
    Status {
        plan: shared.plan,
        batch_interval: shared.batch_interval,
        history,
        live: Live {
            queued_batches,
            buffered_records: shared.budget.used().records,
            peak_buffered_records: shared.budget.peak().records,
            inputs,
        },
        now: SystemTime::now(),
    }
}

fn header(name: &str, value: &str) -> Header {
    Header::from_bytes(name.as_bytes(), value.as_bytes()).expect("header names and values are ASCII")
}

/// The response to one request: read-only, whatever the request says.
fn respond(method: &Method, url: &str, status: impl FnOnce() -> Status) -> Response<std::io::Cursor<Vec<u8>>> {
    if !matches!(method, Method::Get | Method::Head) {
        return Response::from_string("only GET and HEAD\n")
            .with_status_code(405)
            .with_header(header("Allow", "GET, HEAD"));
    }
    let (path, query) = match url.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (url, None),
    };
    let (body, content_type) = match path {
        "/" | "/index.html" => {
            let status = status();
            let refresh = html::refresh_seconds(query, status.batch_interval);
            (html::page(&status, refresh), "text/html; charset=utf-8")
        }
        "/api/status" => (json::status_json(&status()).to_string(), "application/json"),
        "/metrics" => (metrics::metrics_text(&status()), metrics::CONTENT_TYPE),
        _ => {
            return Response::from_string("not found: the status page is at /, its data at /api/status and /metrics\n")
                .with_status_code(404);
        }
    };
    Response::from_string(body)
        .with_header(header("Content-Type", content_type))
        .with_header(header("Cache-Control", "no-store"))
        .with_header(header("X-Content-Type-Options", "nosniff"))
        // No script runs on the page, whatever a name or message holds.
        .with_header(header(
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:",
        ))
}

fn answer(request: Request, shared: &Shared, history: &Mutex<History>) {
    let response = respond(request.method(), request.url(), || snapshot(shared, history));
    // A client that went away is not the job's problem.
    let _ = request.respond(response);
}
