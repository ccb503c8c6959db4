//! Free ports on the loopback interface, for tests that start processes
//! listening on them (a cluster's processes, a broker).

use std::net::TcpListener;

/// `n` distinct ports free on 127.0.0.1 now. All `n` are held open until
/// every one is chosen, so none is given twice; another process may still
/// take one before the caller binds it.
pub fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind a free port on 127.0.0.1"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("a bound listener's address").port())
        .collect()
}

/// [`free_ports`] as `127.0.0.1:<port>` addresses.
pub fn free_addresses(n: usize) -> Vec<String> {
    free_ports(n)
        .into_iter()
        .map(|port| format!("127.0.0.1:{port}"))
        .collect()
}
