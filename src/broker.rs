//! A real Kafka-protocol broker for the Kafka example, tests and bench: a
//! tansu process on a free loopback port, storing in its own directory
//! (SQLite), stopped when dropped. `scripts/kafka-broker.sh install` puts
//! the binary where [`Broker::start`] finds it.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The environment variable naming the tansu binary to run.
pub const TANSU_ENV: &str = "STREAMFLOW_TANSU";

/// A running broker.
pub struct Broker {
    binary: PathBuf,
    port: u16,
    /// Its storage, made for it and removed with it.
    dir: PathBuf,
    child: Option<Child>,
}

/// Where the tansu binary is: `$STREAMFLOW_TANSU`, `tansu` on the `PATH`,
/// or cargo's bin directory.
pub fn tansu_binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(TANSU_ENV) {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join("tansu"));
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cargo")));
    on_path
        .chain(cargo_home.map(|home| home.join("bin").join("tansu")))
        .find(|p| p.is_file())
}

impl Broker {
    /// Starts a broker on a free port, storing in a new directory under the
    /// system's temporary directory. Fails with what to do when tansu is not
    /// installed.
    pub fn start() -> Result<Broker, String> {
        let dir = std::env::temp_dir().join(format!("streamflow-broker-{}-{}", std::process::id(), unique()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        let binary = tansu_binary().ok_or_else(|| {
            "no Kafka broker: tansu is not installed (run `scripts/kafka-broker.sh install`, \
             or `scripts/test.sh`, which does)"
                .to_owned()
        })?;
        let port = free_port()?;
        let mut broker = Broker {
            binary,
            port,
            dir,
            child: None,
        };
        broker.spawn()?;
        Ok(broker)
    }

    /// The bootstrap address (`127.0.0.1:PORT`).
    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Kills the broker, as a crash would; [`start_again`](Self::start_again) brings it back.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts a killed broker again on the same port and storage.
    pub fn start_again(&mut self) -> Result<(), String> {
        if self.child.is_none() {
            self.spawn()?;
        }
        Ok(())
    }

    fn spawn(&mut self) -> Result<(), String> {
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("broker.log"))
            .map_err(|e| format!("cannot open the broker's log: {e}"))?;
        let child = Command::new(&self.binary)
            .arg("broker")
            .args(["--listener-url", &url, "--advertised-listener-url", &url])
            // tansu reads a sqlite URL's path relative to its working directory.
            .args(["--storage-engine", "sqlite://tansu.db"])
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| e.to_string())?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", self.binary.display()))?;
        self.child = Some(child);
        let address: SocketAddr = ([127, 0, 0, 1], self.port).into();
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_err() {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                let log = std::fs::read_to_string(self.dir.join("broker.log")).unwrap_or_default();
                return Err(format!("the broker exited at start ({status}):\n{log}"));
            }
            if Instant::now() >= deadline {
                return Err(format!("the broker did not listen on {address} within 30 s"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    listener.local_addr().map(|a| a.port()).map_err(|e| e.to_string())
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u64);
    NEXT.fetch_add(1, Ordering::Relaxed) << 32 | nanos
}
