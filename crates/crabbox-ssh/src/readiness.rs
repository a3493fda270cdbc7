//! Waiting until a lease answers over SSH, and pinning the port that did.
//!
//! Each round walks the candidate ports: TCP dial, then the master (which proves
//! authentication), then `true` plus the provider's ready check over that master. A
//! live master for the same target means all of that already passed, so a warm run
//! costs no round trip here.

use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use crate::connection::Connection;
use crate::target::{Budget, Target};
use crate::SshError;

/// The state of one candidate port in a readiness round, for progress lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PortState {
    Closed,
    Auth,
    NotReady,
    Ready,
}

impl PortState {
    fn label(&self) -> &'static str {
        match self {
            PortState::Closed => "closed",
            PortState::Auth => "auth",
            PortState::NotReady => "not-ready",
            PortState::Ready => "ready",
        }
    }
}

/// What the readiness loop tells its caller.
#[derive(Debug, Clone)]
pub enum ReadinessEvent {
    /// A round failed; `ports` is `2222:closed,22:auth` style.
    Waiting {
        elapsed: Duration,
        remaining: Duration,
        ports: String,
    },
    /// A port other than the configured primary passed.
    Fallback { port: u16, primary: u16 },
}

/// Options for [`wait_ready`].
pub struct Readiness<'a> {
    /// Remote command that must exit 0 once the machine is usable.
    pub ready_check: Option<&'a str>,
    pub timeout: Duration,
    pub retry_every: Duration,
}

/// Waits until some candidate port passes every check and returns a connection
/// pinned to it.
pub async fn wait_ready(
    target: &Target,
    options: &Readiness<'_>,
    on_event: &mut dyn FnMut(ReadinessEvent),
) -> Result<Connection, SshError> {
    let started = Instant::now();
    loop {
        let mut states = Vec::new();
        let mut last_error = None;
        for port in target.candidate_ports() {
            let connection = Connection::new(target.clone(), port)?;
            let (state, error) = probe(&connection, options.ready_check).await?;
            if state == PortState::Ready {
                if port != target.port {
                    on_event(ReadinessEvent::Fallback {
                        port,
                        primary: target.port,
                    });
                }
                return Ok(connection);
            }
            last_error = error.or(last_error);
            states.push(format!("{port}:{}", state.label()));
        }
        let elapsed = started.elapsed();
        let ports = states.join(",");
        if elapsed + options.retry_every > options.timeout {
            return Err(SshError::NotReady {
                destination: format!("{}@{}", target.user, target.host),
                ports,
                detail: last_error.unwrap_or_default(),
                waited: elapsed,
            });
        }
        on_event(ReadinessEvent::Waiting {
            elapsed,
            remaining: options.timeout.saturating_sub(elapsed),
            ports,
        });
        tokio::time::sleep(options.retry_every).await;
    }
}

async fn probe(
    connection: &Connection,
    ready_check: Option<&str>,
) -> Result<(PortState, Option<String>), SshError> {
    if connection.master_alive().await {
        return Ok((PortState::Ready, None));
    }
    let address = (connection.target.host.as_str(), connection.port);
    let dial = tokio::time::timeout(Duration::from_secs(5), TcpStream::connect(address)).await;
    if !matches!(dial, Ok(Ok(_))) {
        return Ok((PortState::Closed, None));
    }
    if connection.start_master(Budget::Readiness).await? != 0 {
        return Ok((PortState::Auth, connection.master_error()));
    }
    let check = match ready_check {
        Some(check) => format!("true && {check}"),
        None => "true".to_string(),
    };
    let result = connection.capture(&check).await?;
    if result.code == 0 {
        Ok((PortState::Ready, None))
    } else {
        // Keep the next round honest: a new master re-proves the whole path.
        connection.close().await;
        let detail = result.stderr.trim().to_string();
        Ok((PortState::NotReady, Some(detail)))
    }
}
