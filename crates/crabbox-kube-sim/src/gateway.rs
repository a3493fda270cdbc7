//! A stand-in for the Sealos SSH gateway (SSHGate shape): one TCP port on the
//! node host that carries each connection to a Running devbox's sshd. The real
//! gateway routes by the client's public key; this one cannot read SSH, so it
//! routes to the newest Running devbox, and with none running it accepts and
//! closes at once, as a gateway that finds no devbox for a key would end the session.
//! The same relay carries a namespaced devbox's node port to its sshd.

use std::io;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crate::world::Shared;

/// Binds the gateway port on `host`.
pub fn bind(host: &str) -> io::Result<TcpListener> {
    let listener = TcpListener::bind((host, 0))?;
    listener.set_nonblocking(true)?;
    Ok(listener)
}

/// Relays to the newest Running devbox until `stop` is set.
pub fn spawn(listener: TcpListener, shared: Shared, stop: Arc<AtomicBool>) -> JoinHandle<()> {
    serve(listener, stop, move || {
        let world = shared.lock();
        world
            .gateway_routes
            .last()
            .map(|port| (world.options.node_host.clone(), *port))
    })
}

/// Accepts until `stop` is set and relays each connection to where `route`
/// says at that moment; with no route the connection is closed at once.
pub fn serve(
    listener: TcpListener,
    stop: Arc<AtomicBool>,
    route: impl Fn() -> Option<(String, u16)> + Send + 'static,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        while !stop.load(Ordering::SeqCst) {
            match listener.accept() {
                Ok((client, _)) => {
                    let route = route();
                    let _ = client.set_nonblocking(false);
                    if let Some((host, port)) = route {
                        std::thread::spawn(move || relay(client, &host, port));
                    }
                }
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    })
}

/// Copies bytes both ways until either side closes.
fn relay(client: TcpStream, host: &str, port: u16) {
    let Ok(upstream) = TcpStream::connect((host, port)) else {
        return;
    };
    let (Ok(mut client_read), Ok(mut upstream_write)) = (client.try_clone(), upstream.try_clone())
    else {
        return;
    };
    let forward = std::thread::spawn(move || {
        let _ = io::copy(&mut client_read, &mut upstream_write);
        let _ = upstream_write.shutdown(Shutdown::Write);
    });
    let (mut upstream_read, mut client_write) = (upstream, client);
    let _ = io::copy(&mut upstream_read, &mut client_write);
    let _ = client_write.shutdown(Shutdown::Both);
    let _ = upstream_read.shutdown(Shutdown::Both);
    let _ = forward.join();
}
