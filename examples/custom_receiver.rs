//! A custom receiver: reads lines from a TCP server with a hand-written
//! [`Receiver`], and counts their words every second (Spark's
//! `CustomReceiver`, with the same arguments).
//!
//! ```text
//! nc -lk 9999   # in another terminal, then type lines
//! cargo run --example custom_receiver -- localhost 9999
//! ```

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::ExitCode;
use streamflow::StreamingContext;
use streamflow::live::{Receiver, ReceiverContext, ReceiverError, sources};
use streamflow::prelude::*;

stream_job! {
    /// Counts the words of every second of lines.
    pub job CustomReceiverWordCount {
        batch_interval = 1s;
        input lines: String;
        let counts = lines
            .flat_map(|line| line.split(' ').filter(|w| !w.is_empty()).map(str::to_owned).collect::<Vec<_>>())
            .map(|word| (word, 1u64))
            .reduce_by_key(|a, b| a + b);
        counts.print();
    }
}

/// Receives lines of text from a socket, like Spark's example receiver:
/// connect, store every line, and ask to be restarted when the connection
/// ends or fails.
struct LineReceiver {
    host: String,
    port: u16,
}

impl Receiver for LineReceiver {
    type Item = String;

    fn name(&self) -> String {
        format!("line receiver {}:{}", self.host, self.port)
    }

    fn on_start(&mut self, ctx: &ReceiverContext<String>) -> Result<(), ReceiverError> {
        let socket = TcpStream::connect((self.host.as_str(), self.port))
            .map_err(|e| ReceiverError::with_source(format!("cannot connect to {}:{}", self.host, self.port), e))?;
        // Blocking reads: a stop is noticed at the next line (good enough
        // for an example; see socket_text_stream for a prompt one).
        for line in BufReader::new(socket).lines() {
            if ctx.is_stopped() {
                return Ok(());
            }
            let line = line.map_err(|e| ReceiverError::with_source("error receiving data", e))?;
            if ctx.store(line).is_err() {
                return Ok(());
            }
        }
        // The server closed the connection: try again.
        ctx.restart("the server closed the connection");
        Ok(())
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [host, port] = args.as_slice() else {
        eprintln!("Usage: custom_receiver <hostname> <port>");
        return ExitCode::FAILURE;
    };
    let Ok(port) = port.parse::<u16>() else {
        eprintln!("Usage: custom_receiver <hostname> <port>  (the port is a number)");
        return ExitCode::FAILURE;
    };
    let receiver = LineReceiver {
        host: host.clone(),
        port,
    };
    let result = StreamingContext::new(CustomReceiverWordCount::new())
        // Ctrl-C or SIGTERM: drain, write, exit 0 (a second one: at once).
        .stop_gracefully_on_signals()
        .input("lines", sources::receiver_stream(receiver))
        .and_then(streamflow_workspace::start_live)
        .map_err(|e| e.to_string())
        .and_then(|handle| handle.await_termination().map_err(|e| e.to_string()));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}
