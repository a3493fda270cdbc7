//! Following a run: pushes over the control socket while it works, then (after
//! any socket failure) `GET …/events` polling from the last printed event.

use std::time::Duration;

use crabbox_client::{Client, ClientError, ControlError, ControlSocket};
use crabbox_proto::wire::{Run, RunEventRecord, RunState, ServerFrame};

use super::cursor::Cursor;
use super::output::Output;

/// Events per subscribe page and per HTTP page.
pub const PAGE: usize = 100;

/// Why following over the socket stopped.
enum SocketEnd {
    /// The run left `running`; what remains is drained over HTTP.
    Finished(Box<Run>),
    Failed(ControlError),
}

pub struct Follow<'a> {
    client: &'a Client,
    run_id: String,
    poll: Duration,
    cursor: Cursor,
    output: Output,
}

impl<'a> Follow<'a> {
    pub fn new(
        client: &'a Client,
        run_id: &str,
        poll: Duration,
        after: i64,
        output: Output,
    ) -> Self {
        Follow {
            client,
            run_id: run_id.to_string(),
            poll,
            cursor: Cursor::new(after),
            output,
        }
    }

    fn print(&mut self, events: &[RunEventRecord], contiguous: bool) -> (usize, bool) {
        let taken = self.cursor.take(events, contiguous);
        for event in &taken.fresh {
            self.output.event(event);
        }
        (taken.fresh.len(), taken.gap)
    }

    /// Follows a running run to its end and returns its final record.
    pub async fn live(&mut self) -> Result<Run, ClientError> {
        let failure = match self.client.control().await {
            Ok(mut socket) => {
                let end = self.over_socket(&mut socket).await?;
                socket.close().await;
                match end {
                    SocketEnd::Finished(run) => return self.drain(*run).await,
                    SocketEnd::Failed(error) => error,
                }
            }
            Err(error) => error,
        };
        self.output.printer.note(format!(
            "attach: control socket unavailable ({failure}); polling over HTTP after event {}",
            self.cursor.last()
        ));
        self.over_http().await
    }

    /// Prints what is left of a run that already ended.
    pub async fn drain(&mut self, run: Run) -> Result<Run, ClientError> {
        self.page_through().await?;
        Ok(run)
    }

    /// Subscribes from the cursor, prints pushes, acks them, and checks the run
    /// whenever a read waits longer than `poll`. Errors only for HTTP failures.
    async fn over_socket(&mut self, socket: &mut ControlSocket) -> Result<SocketEnd, ClientError> {
        if let Err(error) = self.subscribe(socket).await {
            return Ok(SocketEnd::Failed(error));
        }
        loop {
            let frame = match tokio::time::timeout(self.poll, socket.recv()).await {
                Err(_) => {
                    let run = self.client.get_run(&self.run_id).await?;
                    if run.state != RunState::Running {
                        return Ok(SocketEnd::Finished(Box::new(run)));
                    }
                    continue;
                }
                Ok(Err(error)) => return Ok(SocketEnd::Failed(error)),
                Ok(Ok(frame)) => frame,
            };
            let handled = match frame {
                ServerFrame::RunEvents { run_id, events, .. } if run_id == self.run_id => {
                    self.on_events(socket, &events).await
                }
                ServerFrame::Error { code, message } => Err(ControlError::Server { code, message }),
                _ => Ok(()),
            };
            if let Err(error) = handled {
                return Ok(SocketEnd::Failed(error));
            }
        }
    }

    async fn subscribe(&self, socket: &mut ControlSocket) -> Result<(), ControlError> {
        socket
            .subscribe(&self.run_id, self.cursor.last(), Some(PAGE as i64))
            .await
    }

    /// Prints the new events of a page or push and acks them. A full page means a
    /// backlog, and a gap means a push overtook it: both subscribe again from the
    /// cursor.
    async fn on_events(
        &mut self,
        socket: &mut ControlSocket,
        events: &[RunEventRecord],
    ) -> Result<(), ControlError> {
        let (printed, gap) = self.print(events, true);
        if printed > 0 {
            socket.ack(&self.run_id, self.cursor.last()).await?;
        }
        if gap || events.len() >= PAGE {
            self.subscribe(socket).await?;
        }
        Ok(())
    }

    /// Polls every `poll`: the run's state first, then every event after the
    /// cursor; stops once a run that was no longer running has no more events.
    async fn over_http(&mut self) -> Result<Run, ClientError> {
        loop {
            let run = self.client.get_run(&self.run_id).await?;
            let finished = run.state != RunState::Running;
            self.page_through().await?;
            if finished {
                return Ok(run);
            }
            tokio::time::sleep(self.poll).await;
        }
    }

    /// Reads pages after the cursor until an empty one.
    async fn page_through(&mut self) -> Result<(), ClientError> {
        loop {
            let after = self.cursor.last().max(0) as u64;
            let page = self.client.events(&self.run_id, after, PAGE).await?;
            let (printed, _) = self.print(&page, false);
            // An empty page is the end; a page with nothing new would repeat forever.
            if printed == 0 {
                return Ok(());
            }
        }
    }
}
