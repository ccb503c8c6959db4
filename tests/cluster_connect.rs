//! How the processes of a cluster connect: the meshes here are threads of
//! one test binary, each the process of its index, on loopback ports.

use std::io::Write;
use std::net::TcpStream;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};
use streamflow::cluster::{ClusterConfig, Mesh};
use streamflow_workspace::free_addresses;

fn start(process: usize, addresses: &[String], wait: Duration) -> thread::JoinHandle<Result<Arc<Mesh>, String>> {
    let config = ClusterConfig::new(process, addresses.to_vec()).expect("a valid configuration");
    thread::spawn(move || Mesh::connect(&config, wait).map_err(|e| e.to_string()))
}

#[test]
fn processes_connect_in_any_order_past_strangers_on_their_ports() {
    let addresses = free_addresses(3);
    let wait = Duration::from_secs(30);
    // Process 1 first: it listens, and retries process 0, which is not there yet.
    let one = start(1, &addresses, wait);
    thread::sleep(Duration::from_millis(200));
    // Two strangers on process 1's port: one speaks HTTP, one says nothing.
    let mut talker = TcpStream::connect(&addresses[1]).expect("process 1 listens");
    talker
        .write_all(b"GET / HTTP/1.0\r\n\r\n")
        .expect("the stranger writes");
    let _silent = TcpStream::connect(&addresses[1]).expect("process 1 listens");
    let two = start(2, &addresses, wait);
    thread::sleep(Duration::from_millis(200));
    let zero = start(0, &addresses, wait);
    let meshes: Vec<Arc<Mesh>> = [zero, one, two]
        .into_iter()
        .map(|handle| handle.join().expect("no panic").expect("the mesh connects"))
        .collect();
    for (index, mesh) in meshes.iter().enumerate() {
        assert_eq!((mesh.process(), mesh.processes()), (index, 3));
    }
    // Each mesh's drop waits for the others' (timely stops together).
    let drops: Vec<_> = meshes
        .into_iter()
        .map(|mesh| thread::spawn(move || drop(mesh)))
        .collect();
    for handle in drops {
        handle.join().expect("no panic");
    }
}

#[test]
fn a_process_that_never_comes_is_named_in_time() {
    let addresses = free_addresses(2);
    let started = Instant::now();
    let zero = start(0, &addresses, Duration::from_millis(500))
        .join()
        .expect("no panic");
    assert_eq!(
        zero.expect_err("process 1 never starts"),
        format!(
            "cluster: process 0 waited for process 1 ({}) to connect to {} until the time allowed ran out",
            addresses[1], addresses[0]
        )
    );
    let one = start(1, &addresses, Duration::from_millis(500))
        .join()
        .expect("no panic");
    let error = one.expect_err("process 0 never starts");
    let expected = format!(
        "cluster: process 1 could not connect to process 0 at {} before the time allowed ran out (last: ",
        addresses[0]
    );
    assert!(error.starts_with(&expected), "{error}");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
}

#[test]
fn processes_of_other_address_lists_are_named() {
    let addresses = free_addresses(3);
    let wait = Duration::from_millis(1500);
    let zero = start(0, &addresses, wait);
    // Process 1 of a list of two, at process 0 of a list of three.
    let stray = start(1, &addresses[..2], wait).join().expect("no panic");
    assert_eq!(
        stray.expect_err("the lists differ"),
        format!(
            "cluster: process 1 expected process 0 of 2 at {}, but process 0 of 3 answered: the processes' \
             address lists differ",
            addresses[0]
        )
    );
    let error = zero.join().expect("no panic").expect_err("its peers never came");
    assert!(error.ends_with("; it refused process 1 of 2"), "{error}");
}
