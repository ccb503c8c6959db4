//! The TCP connections between processes, made before timely starts.
//!
//! Timely's own connector prints its progress on standard output (a job's
//! output channel), retries a peer forever and trusts whatever connects to
//! its port. This one is quiet, gives up at a deadline naming the processes
//! it still waits for, and keeps a connection only after a greeting that
//! says which process of which cluster is at the other end. Timely then runs
//! its mesh over these sockets (`initialize_networking_from_sockets`).
//!
//! Process `i` listens on its own address, connects to every process below
//! it and accepts every process above it; process 0 only accepts, so the
//! connections are made whatever order the processes start in.

use super::config::{ClusterConfig, ClusterError};
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::thread::sleep;
use std::time::{Duration, Instant};

/// The first bytes each end sends: nothing else on a cluster's port is
/// taken for a process.
const MAGIC: [u8; 8] = *b"sflwmesh";
/// A greeting: the magic, the sender's index and the number of processes.
const GREETING: usize = 24;
/// How long a connection may take to greet before it is dropped.
const GREET_WITHIN: Duration = Duration::from_secs(2);
/// The pause between two tries of a peer that is not listening yet.
const RETRY: Duration = Duration::from_millis(50);

/// Connects this process to every other one: the vector holds, in process
/// order, a stream per other process and `None` at this process's index.
pub(crate) fn connect(config: &ClusterConfig, deadline: Instant) -> Result<Vec<Option<TcpStream>>, ClusterError> {
    let me = config.process();
    let addresses = config.addresses();
    let mut streams: Vec<Option<TcpStream>> = (0..addresses.len()).map(|_| None).collect();
    // Bound first, so that peers above this one can connect while it still
    // connects to the ones below.
    let listener = if me + 1 < addresses.len() {
        let listener = TcpListener::bind(&addresses[me])
            .map_err(|e| connect_error(format!("process {me} cannot listen on {}: {e}", addresses[me])))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| connect_error(format!("process {me}: {e}")))?;
        Some(listener)
    } else {
        None
    };
    for (peer, address) in addresses.iter().enumerate().take(me) {
        streams[peer] = Some(dial(config, peer, address, deadline)?);
    }
    if let Some(listener) = listener {
        accept_all(config, &listener, &mut streams, deadline)?;
    }
    for stream in streams.iter().flatten() {
        ready_for_timely(stream).map_err(|e| connect_error(format!("process {me}: {e}")))?;
    }
    Ok(streams)
}

/// Connects to the process below this one at `address`, retrying while it
/// does not listen yet.
fn dial(config: &ClusterConfig, peer: usize, address: &str, deadline: Instant) -> Result<TcpStream, ClusterError> {
    let me = config.process();
    loop {
        let why = match TcpStream::connect(address) {
            // The peer answers once it reaches its accepting phase, after
            // its own connections to the processes below it: wait for that
            // until the deadline, as a retry would leave a dead connection
            // in its queue.
            Ok(mut stream) => match greet(&mut stream, config).and_then(|()| read_greeting(&mut stream, deadline)) {
                Ok((index, processes)) if index == peer && processes == config.processes() => return Ok(stream),
                Ok((index, processes)) => {
                    return Err(ClusterError::Disagree(format!(
                        "process {me} expected process {peer} of {} at {address}, but process {index} of \
                         {processes} answered: the processes' address lists differ",
                        config.processes()
                    )));
                }
                Err(e) => e.to_string(),
            },
            Err(e) => e.to_string(),
        };
        if Instant::now() >= deadline {
            return Err(connect_error(format!(
                "process {me} could not connect to process {peer} at {address} before the time allowed ran out \
                 (last: {why})"
            )));
        }
        sleep(RETRY);
    }
}

/// Accepts the processes above this one, in any order, until each has
/// greeted. A connection that does not greet as one of them is dropped.
fn accept_all(
    config: &ClusterConfig,
    listener: &TcpListener,
    streams: &mut [Option<TcpStream>],
    deadline: Instant,
) -> Result<(), ClusterError> {
    let me = config.process();
    let awaited = |streams: &[Option<TcpStream>]| -> Vec<usize> {
        (me + 1..streams.len())
            .filter(|&peer| streams[peer].is_none())
            .collect()
    };
    // The last process-like caller refused, for the error at the deadline.
    let mut refused = None;
    while !awaited(streams).is_empty() {
        match listener.accept() {
            Ok((mut stream, _)) => {
                // A stranger is dropped; the real peer may still come.
                let Ok((index, processes)) = accept_greeting(&mut stream) else {
                    continue;
                };
                // Answered before it is judged, so that a process of another
                // address list learns who is here and says so.
                if greet(&mut stream, config).is_err() {
                    continue;
                }
                // A process that connects again gave up on its earlier
                // connection: the newer one replaces it.
                if index <= me || index >= streams.len() || processes != config.processes() {
                    refused = Some(format!("; it refused process {index} of {processes}"));
                    continue;
                }
                streams[index] = Some(stream);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if Instant::now() >= deadline {
                    let missing: Vec<String> = awaited(streams)
                        .into_iter()
                        .map(|peer| format!("process {peer} ({})", config.addresses()[peer]))
                        .collect();
                    return Err(connect_error(format!(
                        "process {me} waited for {} to connect to {} until the time allowed ran out{}",
                        missing.join(", "),
                        config.addresses()[me],
                        refused.as_deref().unwrap_or("")
                    )));
                }
                sleep(Duration::from_millis(10));
            }
            Err(e) => return Err(connect_error(format!("process {me} cannot accept connections: {e}"))),
        }
    }
    Ok(())
}

/// Reads an incoming connection's greeting, within [`GREET_WITHIN`]: a
/// process greets as soon as it connects.
fn accept_greeting(stream: &mut TcpStream) -> io::Result<(usize, usize)> {
    stream.set_nonblocking(false)?;
    read_greeting(stream, Instant::now() + GREET_WITHIN)
}

/// Sends this process's greeting.
fn greet(stream: &mut TcpStream, config: &ClusterConfig) -> io::Result<()> {
    let mut greeting = [0u8; GREETING];
    greeting[..8].copy_from_slice(&MAGIC);
    greeting[8..16].copy_from_slice(&(config.process() as u64).to_le_bytes());
    greeting[16..].copy_from_slice(&(config.processes() as u64).to_le_bytes());
    stream.write_all(&greeting)
}

/// Reads the other end's greeting (its index and number of processes),
/// waiting for it until `until`.
fn read_greeting(stream: &mut TcpStream, until: Instant) -> io::Result<(usize, usize)> {
    let wait = until
        .saturating_duration_since(Instant::now())
        .max(Duration::from_millis(1));
    stream.set_read_timeout(Some(wait))?;
    let mut greeting = [0u8; GREETING];
    stream.read_exact(&mut greeting)?;
    if greeting[..8] != MAGIC {
        return Err(io::Error::new(io::ErrorKind::InvalidData, "not a streamflow process"));
    }
    let number = |bytes: &[u8]| u64::from_le_bytes(bytes.try_into().expect("8 bytes")) as usize;
    Ok((number(&greeting[8..16]), number(&greeting[16..])))
}

/// Timely's network threads block on the streams and want no delay.
fn ready_for_timely(stream: &TcpStream) -> io::Result<()> {
    stream.set_read_timeout(None)?;
    stream.set_nonblocking(false)?;
    stream.set_nodelay(true)
}

fn connect_error(why: String) -> ClusterError {
    ClusterError::Connect(why)
}
