//! Counts the words of text received from a TCP server, every second
//! (Spark's `NetworkWordCount`, with the same arguments).
//!
//! ```text
//! cargo run --example network_word_count                    # embedded server, stops after 5 batches (+1)
//! nc -lk 9999   # in another terminal, then type lines:
//! cargo run --example network_word_count -- localhost 9999  # runs until interrupted
//! ```
//!
//! Without arguments it starts a line server on a loopback port that serves
//! the embedded sample text in a loop, reads from it, waits for five batches, then
//! stops gracefully (everything received is counted: a sixth, last batch).

use std::io::{BufWriter, Write};
use std::net::TcpListener;
use std::process::ExitCode;
use std::time::Duration;
use streamflow::StreamingContext;
use streamflow::live::sources;
use streamflow::prelude::*;

stream_job! {
    /// Counts the words of every second of lines.
    pub job NetworkWordCount {
        batch_interval = 1s;
        input lines: String;
        let counts = lines
            .flat_map(|line| line.split(' ').filter(|w| !w.is_empty()).map(str::to_owned).collect::<Vec<_>>())
            .map(|word| (word, 1u64))
            .reduce_by_key(|a, b| a + b);
        counts.print();
    }
}

/// Batches to run when serving the embedded text.
const DEMO_BATCHES: u64 = 5;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (host, port, demo) = match args.as_slice() {
        [] => match embedded_server() {
            Ok(port) => ("127.0.0.1".to_owned(), port, true),
            Err(e) => {
                eprintln!("cannot start the embedded line server: {e}");
                return ExitCode::FAILURE;
            }
        },
        [host, port] => match port.parse::<u16>() {
            Ok(port) => (host.clone(), port, false),
            Err(_) => return usage(),
        },
        _ => return usage(),
    };
    let handle = match StreamingContext::new(NetworkWordCount::new())
        // Ctrl-C or SIGTERM: drain, write, exit 0 (a second one: at once).
        .stop_gracefully_on_signals()
        .input("lines", sources::socket_text_stream(host, port))
        .and_then(streamflow_workspace::start_live)
    {
        Ok(handle) => handle,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let result = if demo {
        handle.wait_for_batches(DEMO_BATCHES, Duration::from_secs(60));
        handle.stop(true).map(drop)
    } else {
        handle.await_termination()
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn usage() -> ExitCode {
    eprintln!("Usage: network_word_count [<hostname> <port>]");
    eprintln!("  <hostname> and <port> describe the TCP server to read text from;");
    eprintln!("  without them, an embedded server serves a sample text.");
    ExitCode::FAILURE
}

/// A loopback server that sends the sample text, a line every 100 ms, in a
/// loop, to every client; returns its port.
fn embedded_server() -> std::io::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut out = BufWriter::new(conn);
                let lines: Vec<&str> = streamflow_workspace::SAMPLE_TEXT
                    .lines()
                    .filter(|l| !l.is_empty())
                    .collect();
                for line in lines.iter().cycle() {
                    // The client went away: this connection is done.
                    if writeln!(out, "{line}").and_then(|()| out.flush()).is_err() {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
            });
        }
    });
    Ok(port)
}
