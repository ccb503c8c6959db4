//! `socket_text_stream`: lines of text read from a TCP server, as Spark's
//! `socketTextStream`.

use super::first_process::on_first_process;
use super::input::Input;
use super::lines::{LineOptions, LineSplitter, Lines};
use super::receiver::{Receiver, ReceiverContext};
use super::supervisor::start_receiver;
use crate::live::error::{ReceiverError, StartError};
use crate::live::memory::ByteSize;
use std::io::{ErrorKind, Read};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

/// Lines of UTF-8 text from a TCP server at `host:port`, one record per line
/// (without its `\n` or `\r\n`), read by a receiver on its own thread.
///
/// - A line split across several writes is reassembled.
/// - A line that is not UTF-8 is skipped, counted as rejected
///   ([`InputStats::rejected`](super::InputStats::rejected)) and reported;
///   the stream goes on.
/// - A line longer than 1 MiB is skipped, counted as rejected and reported
///   (never held whole): [`socket_text_stream_with`] sets the limit, or
///   splits long lines instead.
/// - A partial line is not a line: when the server closes the connection,
///   its last line without a newline is delivered (the end of its stream,
///   as Spark's readers do); when the connection is lost or the job stops
///   before its newline, it is dropped, counted as rejected and reported.
/// - A refused, dropped or closed connection is reported and retried with
///   backoff; lines already received are kept. The job does not fail.
/// - An address that cannot be resolved is an error at start; a server that
///   is not (yet) listening is not: the receiver keeps trying, reporting each
///   failure to the listeners and logs.
pub fn socket_text_stream(host: impl Into<String>, port: u16) -> Input<String> {
    socket_text_stream_with(host, port, LineOptions::default())
}

/// [`socket_text_stream`] with its line options: the longest line, and
/// whether a longer one is skipped or split.
///
/// ```
/// use streamflow::live::sources::{self, LineOptions, LongLines};
///
/// let input = sources::socket_text_stream_with(
///     "localhost",
///     9999,
///     LineOptions { max_line_bytes: 16 << 20, long_lines: LongLines::Split },
/// );
/// assert_eq!(input.description(), "socket localhost:9999");
/// ```
pub fn socket_text_stream_with(host: impl Into<String>, port: u16, options: LineOptions) -> Input<String> {
    let host = host.into();
    Input::new(format!("socket {host}:{port}"), move |env| {
        let address = format!("{host}:{port}");
        let resolved = resolve(&host, port).map_err(|reason| StartError::Address {
            port: env.port,
            address: address.clone(),
            reason,
        })?;
        tracing::debug!(input = env.port, ?resolved, "socket address resolved");
        let receiver = SocketReceiver {
            host,
            port,
            connect_timeout: Duration::from_secs(2),
            options,
        };
        on_first_process::<String>(env, |env| start_receiver(receiver, env))
    })
    .on_first_process()
}

fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
    let addrs: Vec<SocketAddr> = (host, port).to_socket_addrs().map_err(|e| e.to_string())?.collect();
    if addrs.is_empty() {
        return Err("no address found".to_owned());
    }
    Ok(addrs)
}

/// The receiver behind [`socket_text_stream`].
struct SocketReceiver {
    host: String,
    port: u16,
    connect_timeout: Duration,
    options: LineOptions,
}

/// How often a blocked read wakes up to check for a stop.
const READ_POLL: Duration = Duration::from_millis(50);

impl SocketReceiver {
    fn connect(&self) -> Result<TcpStream, ReceiverError> {
        let target = format!("{}:{}", self.host, self.port);
        let addrs = resolve(&self.host, self.port)
            .map_err(|reason| ReceiverError::new(format!("cannot resolve {target}: {reason}")))?;
        let mut last = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, self.connect_timeout) {
                Ok(stream) => return Ok(stream),
                Err(e) => last = Some(e),
            }
        }
        Err(match last {
            Some(e) => ReceiverError::with_source(format!("cannot connect to {target}"), e),
            None => ReceiverError::new(format!("cannot connect to {target}")),
        })
    }

    /// Hands complete lines over; false if the receiver was stopped.
    fn deliver(ctx: &ReceiverContext<String>, out: &mut Lines) -> bool {
        for message in out.rejected.drain(..) {
            ctx.reject(message);
        }
        for message in out.split.drain(..) {
            ctx.report_error(message);
        }
        ctx.store_many(out.lines.drain(..)).is_ok()
    }
}

impl Receiver for SocketReceiver {
    type Item = String;

    fn name(&self) -> String {
        format!("socket {}:{}", self.host, self.port)
    }

    fn record_bytes(line: &String) -> usize {
        line.byte_size()
    }

    fn on_start(&mut self, ctx: &ReceiverContext<String>) -> Result<(), ReceiverError> {
        let mut stream = self.connect()?;
        tracing::info!(input = ctx.input(), "connected to {}:{}", self.host, self.port);
        stream.set_read_timeout(Some(READ_POLL))?;
        let mut splitter = LineSplitter::new(self.options);
        let mut out = Lines::default();
        let mut buf = vec![0u8; 64 * 1024];
        // Whether the stream ended (the server closed it) rather than being
        // cut (a stop, a lost connection): only then is a last line without
        // a newline a line.
        let mut ended = false;
        let result = loop {
            if ctx.is_stopped() {
                break Ok(());
            }
            match stream.read(&mut buf) {
                Ok(0) => {
                    ended = true;
                    break Err(ReceiverError::new(format!(
                        "{}:{} closed the connection",
                        self.host, self.port
                    )));
                }
                Ok(n) => {
                    splitter.push(&buf[..n], &mut out);
                    if !Self::deliver(ctx, &mut out) {
                        return Ok(());
                    }
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                    ) => {}
                Err(e) => {
                    break Err(ReceiverError::with_source(
                        format!("connection to {}:{} lost", self.host, self.port),
                        e,
                    ));
                }
            }
        };
        splitter.finish(ended, &mut out);
        Self::deliver(ctx, &mut out);
        result
    }
}
