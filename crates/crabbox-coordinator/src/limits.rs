//! Caps on open connections, overall and per peer address, sized to leave
//! file descriptors for the database and for healthy clients.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::settings::Connections;

/// Descriptors kept back from connections: the database pool, SQLite's files,
/// local provider processes, the listener, standard streams.
const RESERVED_DESCRIPTORS: u64 = 64;

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The server holds its maximum number of connections.
    Full,
    /// This address holds its maximum number of connections.
    PeerFull,
}

pub struct Limits {
    total: Arc<Semaphore>,
    per_peer: Mutex<HashMap<IpAddr, usize>>,
    per_peer_max: usize,
}

/// One admitted connection; dropping it frees its places.
pub struct Permit {
    _total: OwnedSemaphorePermit,
    peer: Option<(Arc<Limits>, IpAddr)>,
}

impl Limits {
    /// Caps from the settings, the overall one lowered to what the process's
    /// open-file limit allows.
    pub fn new(connections: &Connections) -> Arc<Limits> {
        let budget = descriptor_budget();
        let total = budget.map_or(connections.max_connections, |budget| {
            connections.max_connections.min(budget)
        });
        // Only a value someone chose is worth a word; the default just adapts.
        if total < connections.max_connections
            && connections.max_connections != Connections::default().max_connections
        {
            tracing::warn!(
                "coordinator: accepting at most {total} connections (not {}) to stay within the open-file limit\nhint: raise it (ulimit -n) or lower CRABBOX_HTTP_MAX_CONNECTIONS",
                connections.max_connections
            );
        }
        // One address never holds more than half the places, so a flood from
        // one peer leaves room for everyone else.
        let per_peer_max = match connections.max_connections_per_peer {
            0 => 0,
            configured => configured.min((total / 2).max(1)),
        };
        Arc::new(Limits {
            total: Arc::new(Semaphore::new(total)),
            per_peer: Mutex::new(HashMap::new()),
            per_peer_max,
        })
    }

    pub fn admit(self: &Arc<Limits>, peer: IpAddr) -> Result<Permit, Refusal> {
        let total = self
            .total
            .clone()
            .try_acquire_owned()
            .map_err(|_| Refusal::Full)?;
        if self.per_peer_max == 0 {
            return Ok(Permit {
                _total: total,
                peer: None,
            });
        }
        let mut per_peer = self.peers();
        let open = per_peer.entry(peer).or_insert(0);
        if *open >= self.per_peer_max {
            return Err(Refusal::PeerFull);
        }
        *open += 1;
        Ok(Permit {
            _total: total,
            peer: Some((self.clone(), peer)),
        })
    }

    fn peers(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        // Counts only; a panic elsewhere cannot leave them torn.
        self.per_peer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Some((limits, peer)) = self.peer.take() {
            let mut per_peer = limits.peers();
            if let Some(open) = per_peer.get_mut(&peer) {
                *open -= 1;
                if *open == 0 {
                    per_peer.remove(&peer);
                }
            }
        }
    }
}

/// Raises the soft open-file limit to the hard one, as the Go runtime does:
/// the default soft limit (often 1024) is far below what a busy server needs.
/// For the binary's start; a library caller keeps its process's limits.
pub fn raise_descriptor_limit() {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let limit = getrlimit(Resource::Nofile);
    if let (Some(current), Some(maximum)) = (limit.current, limit.maximum) {
        if current < maximum {
            let raised = Rlimit {
                current: Some(maximum),
                maximum: Some(maximum),
            };
            // Refused is fine: the lower limit then sizes the caps.
            let _ = setrlimit(Resource::Nofile, raised);
        }
    }
}

/// Connections the open-file limit leaves room for, if there is a limit.
fn descriptor_budget() -> Option<usize> {
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile).current?;
    let budget = limit.saturating_sub(RESERVED_DESCRIPTORS).max(16);
    Some(usize::try_from(budget).unwrap_or(usize::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(total: usize, per_peer: usize) -> Arc<Limits> {
        Limits::new(&Connections {
            max_connections: total,
            max_connections_per_peer: per_peer,
            ..Connections::default()
        })
    }

    #[test]
    fn caps_each_peer_and_the_whole() {
        let limits = limits(4, 5);
        let [one, two, three]: [IpAddr; 3] =
            ["127.0.0.2", "127.0.0.3", "::1"].map(|address| address.parse().unwrap());
        let first = limits.admit(one).unwrap();
        let _second = limits.admit(one).unwrap();
        assert_eq!(limits.admit(one).err(), Some(Refusal::PeerFull));
        let _others = [limits.admit(two).unwrap(), limits.admit(two).unwrap()];
        assert_eq!(limits.admit(three).err(), Some(Refusal::Full));
        drop(first);
        assert!(
            limits.admit(one).is_ok(),
            "a closed connection frees its place"
        );
        assert_eq!(
            self::limits(10, 8).per_peer_max,
            5,
            "at most half the places"
        );
    }

    #[test]
    fn zero_turns_the_peer_cap_off() {
        let limits = limits(5, 0);
        let peer: IpAddr = "::1".parse().unwrap();
        let permits: Vec<_> = (0..5).map(|_| limits.admit(peer).unwrap()).collect();
        assert_eq!(limits.admit(peer).err(), Some(Refusal::Full));
        drop(permits);
        assert!(limits.peers().is_empty());
    }
}
