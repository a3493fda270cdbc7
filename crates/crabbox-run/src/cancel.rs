//! Turning SIGINT and SIGTERM into a cancellation every phase can wait on.

use crabbox_proto::{ErrorClass, Signal};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

use crate::exit::ExitStatus;

/// Fires once when the user interrupts; a second signal exits at once.
#[derive(Clone)]
pub struct Cancel {
    receiver: watch::Receiver<Option<Signal>>,
}

impl Cancel {
    /// Installs the handlers. Must be called inside the runtime, before the
    /// command's first side effect.
    pub fn install() -> Cancel {
        let (sender, receiver) = watch::channel(None);
        // Registered now, not when the task first runs: a signal that arrives
        // before the next await is recorded instead of killing the process.
        let streams = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        );
        tokio::spawn(async move {
            let (Ok(mut interrupt), Ok(mut terminate)) = streams else {
                return;
            };
            let mut seen = false;
            loop {
                let arrived = tokio::select! {
                    _ = interrupt.recv() => Signal::Interrupt,
                    _ = terminate.recv() => Signal::Terminate,
                };
                if seen {
                    // Cleanup is already under way; a second signal means "now".
                    let status = ExitStatus::Failure(ErrorClass::Interrupted(arrived));
                    std::process::exit(status.code());
                }
                seen = true;
                let _ = sender.send(Some(arrived));
            }
        });
        Cancel { receiver }
    }

    /// The signal that fired, if any.
    pub fn reason(&self) -> Option<Signal> {
        *self.receiver.borrow()
    }

    /// Completes when a signal arrives.
    pub async fn cancelled(&self) -> Signal {
        let mut receiver = self.receiver.clone();
        loop {
            if let Some(arrived) = *receiver.borrow_and_update() {
                return arrived;
            }
            if receiver.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
    }
}
