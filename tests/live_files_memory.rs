//! Memory bounded in bytes for the directory source, measured on the
//! process: a 1 GB file of 100-byte lines moved into a watched directory, read
//! by a job with a 64 MiB bound. Every line must be delivered exactly once,
//! the bound must hold, and the process's peak resident memory (VmHWM, read
//! from /proc/self/status) must stay under that bound plus a stated margin.
//! The only test of this binary, so that nothing else runs beside it.

mod live_support;

use live_support::*;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use streamflow::StreamingContext;
use streamflow::live::{StatusLine, sinks, sources};
use streamflow::prelude::*;

/// 10 million lines of 100 bytes (newline included): 1 GB.
const LINES: usize = 10_000_000;
const LINE_BYTES: usize = 100;
/// Digits of a line's number, at its start; the rest is padding.
const DIGITS: usize = 12;
/// The bound on buffered bytes.
const BOUND: usize = 64 << 20;
/// What the process may hold beyond the bound: the read buffers (256 KiB
/// each, one per thread that reads), the job's output vector beside its
/// input, the test's own bitmap (1.25 MB), and the allocator's slack.
const MARGIN: usize = 64 << 20;

/// Writes the file under a hidden name, in large writes of real lines
/// (`000000000042xxxx…x\n`, numbered from 0), then moves it into `dir`.
fn write_lines(dir: &Path, name: &str) {
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut file = std::fs::File::create(&tmp).unwrap();
    let mut line = [b'x'; LINE_BYTES];
    line[..DIGITS].fill(b'0');
    line[LINE_BYTES - 1] = b'\n';
    let mut chunk = Vec::with_capacity(LINE_BYTES * 10_000);
    for _ in 0..LINES {
        chunk.extend_from_slice(&line);
        // The next number, in place.
        for digit in line[..DIGITS].iter_mut().rev() {
            if *digit == b'9' {
                *digit = b'0';
            } else {
                *digit += 1;
                break;
            }
        }
        if chunk.len() == chunk.capacity() {
            file.write_all(&chunk).unwrap();
            chunk.clear();
        }
    }
    file.write_all(&chunk).unwrap();
    drop(file);
    std::fs::rename(&tmp, dir.join(name)).unwrap();
}

#[test]
fn a_one_gigabyte_file_is_read_within_the_byte_bound() {
    let dir = TempDir::new("files-1gb");
    // Marks each line's number as seen: a line lost or delivered twice shows.
    let seen = Arc::new(Mutex::new(vec![0u8; LINES.div_ceil(8)]));
    let twice = Arc::new(AtomicU64::new(0));
    let processed = Arc::new(AtomicU64::new(0));
    let (marks, doubles, counted) = (seen.clone(), twice.clone(), processed.clone());
    let baseline = status_bytes("VmHWM:");
    let handle = StreamingContext::new(Echo::new())
        .status_line(StatusLine::Never)
        .max_buffered_bytes(BOUND)
        .input("lines", sources::text_file_stream(dir.path()))
        .unwrap()
        .output(
            "out",
            sinks::foreach(move |batch: &Batch<String>, _t: Time| {
                let mut marks = marks.lock().unwrap();
                for line in batch.iter() {
                    assert_eq!(line.len(), LINE_BYTES - 1, "{line:?}");
                    let k: usize = line[..DIGITS].parse().unwrap();
                    let (byte, bit) = (k / 8, 1u8 << (k % 8));
                    if marks[byte] & bit != 0 {
                        doubles.fetch_add(1, Ordering::Relaxed);
                    }
                    marks[byte] |= bit;
                }
                counted.fetch_add(batch.len() as u64, Ordering::Relaxed);
            }),
        )
        .unwrap()
        .start()
        .unwrap();
    write_lines(dir.path(), "big.txt");
    let deadline = Instant::now() + PATIENCE * 6;
    while processed.load(Ordering::Relaxed) < LINES as u64 {
        assert!(
            Instant::now() < deadline,
            "only {} of {LINES} lines processed",
            processed.load(Ordering::Relaxed)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let peak_buffered = handle.peak_buffered_bytes();
    let batches = handle.batches().iter().filter(|b| b.records() > 0).count();
    handle.stop(true).unwrap();
    let grown = status_bytes("VmHWM:").saturating_sub(baseline);
    drop(dir);

    let stats = handle.input_stats("lines").unwrap();
    assert_eq!(
        (stats.records, stats.rejected, stats.files),
        (LINES as u64, 0, 1),
        "{stats:?}"
    );
    assert_eq!(twice.load(Ordering::Relaxed), 0, "lines delivered twice");
    assert!(seen.lock().unwrap().iter().all(|&b| b == 0xff), "a line was lost");
    assert!(
        peak_buffered <= BOUND,
        "buffered {peak_buffered} bytes, over the bound {BOUND}"
    );
    assert!(
        grown <= BOUND + MARGIN,
        "peak resident memory grew by {} MiB, over the bound ({} MiB) plus the margin ({} MiB)",
        grown >> 20,
        BOUND >> 20,
        MARGIN >> 20
    );
    // The file was split over many batches, each near the bound.
    assert!(batches >= 1_000_000_000 / BOUND, "read in {batches} batches");
    eprintln!(
        "peak resident memory grew by {} MiB; {batches} batches; peak buffered {} MiB",
        grown >> 20,
        peak_buffered >> 20
    );
}
