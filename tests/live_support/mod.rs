//! Helpers shared by the live tests: jobs, a collecting listener, temporary
//! directories, loopback servers.

#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use streamflow::StreamingHandle;
use streamflow::live::{ManualClock, StreamingEvent};
use streamflow::prelude::*;

stream_job! {
    /// Passes its lines through.
    pub job Echo {
        batch_interval = 100ms;
        input lines: String;
        output out: String = lines.map(|line| line);
    }
}

stream_job! {
    /// Word counts per batch.
    pub job Words {
        batch_interval = 100ms;
        input lines: String;
        output counts: (String, u64) = lines
            .flat_map(|line| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
            .map(|word| (word, 1u64))
            .reduce_by_key(|a, b| a + b);
    }
}

/// The batch interval of the jobs above.
pub const INTERVAL: Duration = Duration::from_millis(100);

/// A generous bound for waits that normally take milliseconds: only reached
/// when something is broken.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// Advances the manual clock by one batch interval and waits until the
/// batch it cuts has completed; returns that batch's number.
pub fn next_batch(clock: &ManualClock, handle: &StreamingHandle) -> u64 {
    let n = handle.batches_completed() + 1;
    clock.advance(INTERVAL);
    assert!(handle.wait_for_batches(n, PATIENCE), "batch {n} did not complete");
    n
}

/// Every event a context sent, in order.
#[derive(Clone, Default)]
pub struct Events(pub Arc<Mutex<Vec<StreamingEvent>>>);

impl Events {
    pub fn listener(&self) -> impl FnMut(&StreamingEvent) + Send + 'static {
        let events = self.0.clone();
        move |e: &StreamingEvent| events.lock().unwrap().push(e.clone())
    }

    pub fn all(&self) -> Vec<StreamingEvent> {
        self.0.lock().unwrap().clone()
    }
}

static DIRS: AtomicU64 = AtomicU64::new(0);

/// A fresh empty directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "streamflow-{name}-{}-{}",
            std::process::id(),
            DIRS.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &std::path::Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A listener on an ephemeral loopback port.
pub fn listen() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

/// Accepts one connection.
pub fn accept(listener: &TcpListener) -> TcpStream {
    listener.accept().unwrap().0
}

/// A field of /proc/self/status (`VmHWM:`, the peak resident memory), in bytes.
pub fn status_bytes(field: &str) -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with(field)).unwrap();
    let kb: usize = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}
