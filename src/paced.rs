//! A line server that sends at a fixed rate, for the throughput benches.

use std::io::Write;
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Serves `rate` generated lines (ten words each) per second to the first
/// client on a loopback port, until `stop`; counts the lines sent in `sent`.
/// Returns the port.
pub fn paced_line_server(rate: u64, stop: Arc<AtomicBool>, sent: Arc<AtomicU64>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let port = listener.local_addr().expect("a bound listener").port();
    std::thread::spawn(move || {
        let Ok((mut conn, _)) = listener.accept() else { return };
        let lines = crate::generated_lines(10 * 10_000, 1_000);
        let text: Vec<u8> = lines.iter().flat_map(|l| format!("{l}\n").into_bytes()).collect();
        let offsets: Vec<usize> = std::iter::once(0)
            .chain(
                text.iter()
                    .enumerate()
                    .filter(|(_, b)| **b == b'\n')
                    .map(|(i, _)| i + 1),
            )
            .collect();
        let n = lines.len();
        let start = Instant::now();
        let mut done: u64 = 0;
        while !stop.load(Ordering::Relaxed) {
            let due = (start.elapsed().as_secs_f64() * rate as f64) as u64;
            if due <= done {
                std::thread::sleep(Duration::from_micros(500));
                continue;
            }
            // Send what is due, at most one pass over the buffer at a time.
            let count = (due - done).min(n as u64) as usize;
            let mut left = count;
            let mut at = (done % n as u64) as usize;
            while left > 0 {
                let take = left.min(n - at);
                if conn.write_all(&text[offsets[at]..offsets[at + take]]).is_err() {
                    return;
                }
                left -= take;
                at = (at + take) % n;
            }
            done += count as u64;
            sent.store(done, Ordering::Relaxed);
        }
    });
    port
}

/// The word totals of the first `lines` lines [`paced_line_server`] sends
/// (it cycles over the same generated lines).
pub fn paced_word_totals(lines: u64) -> std::collections::BTreeMap<String, u64> {
    let generated = crate::generated_lines(10 * 10_000, 1_000);
    let mut totals = std::collections::BTreeMap::new();
    for line in generated.iter().cycle().take(lines as usize) {
        for word in line.split_whitespace() {
            *totals.entry(word.to_owned()).or_insert(0u64) += 1;
        }
    }
    totals
}
