//! Recording a run on the coordinator. Events and output previews go through a
//! channel to one background task that posts them in order, so the command's
//! output path never waits on HTTP; previews are flushed at least every 250 ms.

use std::time::Duration;

use crabbox_client::{Client, FINISH_TIMEOUT};
use crabbox_proto::wire::{AppendEventRequest, CreateRunRequest, FinishRunRequest};
use crabbox_ssh::Stream;
use tokio::sync::{mpsc, oneshot};

use super::preview::{bounded, Preview, Previews, PREVIEW_LIMIT};
use crate::printer::Printer;

/// Small output shows up on the coordinator within this long.
const FLUSH_EVERY: Duration = Duration::from_millis(250);
/// `message` and `data` are bounded by the coordinator.
const FIELD_LIMIT: usize = 16 * 1024;

enum Message {
    Event(Box<AppendEventRequest>),
    Output(Stream, Vec<u8>),
    Finish(Box<FinishRunRequest>, oneshot::Sender<()>),
}

/// A run recorded on the coordinator; its ID is the run's ID everywhere.
pub struct RemoteRun {
    pub id: String,
    sender: mpsc::UnboundedSender<Message>,
}

/// The output side handed to the streaming sink: stops copying once the preview
/// budget is spent.
pub struct PreviewSender {
    sender: mpsc::UnboundedSender<Message>,
    queued: usize,
}

impl PreviewSender {
    pub fn send(&mut self, stream: Stream, bytes: &[u8]) {
        // One byte past the budget is enough for the batcher to mark truncation.
        let room = (PREVIEW_LIMIT + 1).saturating_sub(self.queued);
        if room == 0 || bytes.is_empty() {
            return;
        }
        let take = bytes.len().min(room);
        self.queued += take;
        let _ = self
            .sender
            .send(Message::Output(stream, bytes[..take].to_vec()));
    }
}

impl RemoteRun {
    /// `POST /v1/runs` and prints `recording run run_…`. A coordinator that will
    /// not record only costs a warning: recording never fails a run.
    pub async fn start(
        client: &Client,
        request: &CreateRunRequest,
        printer: Printer,
    ) -> Option<RemoteRun> {
        let run = match client.create_run(request).await {
            Ok(run) => run,
            Err(error) => {
                printer.warn(format!(
                    "run recording on the coordinator is off for this run: {error}"
                ));
                return None;
            }
        };
        printer.note(format!("recording run {}", run.id));
        let (sender, receiver) = mpsc::unbounded_channel();
        tokio::spawn(pump(client.clone(), run.id.clone(), receiver, printer));
        Some(RemoteRun { id: run.id, sender })
    }

    pub fn event(&self, mut event: AppendEventRequest) {
        event.message = bounded(event.message, FIELD_LIMIT);
        event.data = bounded(event.data, FIELD_LIMIT);
        let _ = self.sender.send(Message::Event(Box::new(event)));
    }

    pub fn previews(&self) -> PreviewSender {
        PreviewSender {
            sender: self.sender.clone(),
            queued: 0,
        }
    }

    /// Posts what is queued, then the finish; waits for both (bounded).
    pub async fn finish(self, request: FinishRunRequest) {
        let (done, finished) = oneshot::channel();
        if self
            .sender
            .send(Message::Finish(Box::new(request), done))
            .is_ok()
        {
            let _ = tokio::time::timeout(FINISH_TIMEOUT + Duration::from_secs(10), finished).await;
        }
    }
}

/// Posts in arrival order; warns about the first failure only.
struct Poster {
    client: Client,
    run_id: String,
    printer: Printer,
    warned: bool,
}

impl Poster {
    fn failed(&mut self, error: crabbox_client::ClientError) {
        if !self.warned {
            self.warned = true;
            self.printer.warn(format!(
                "recording run {} on the coordinator failed: {error}",
                self.run_id
            ));
        }
    }

    async fn post(&mut self, event: &AppendEventRequest) {
        if let Err(error) = self.client.append_event(&self.run_id, event).await {
            self.failed(error);
        }
    }

    async fn flush(&mut self, previews: &mut Previews, last: bool) {
        for preview in previews.take(last) {
            let event = match preview {
                Preview::Output { stream, data } => {
                    let name = match stream {
                        Stream::Stdout => "stdout",
                        Stream::Stderr => "stderr",
                    };
                    AppendEventRequest {
                        kind: name.into(),
                        stream: name.into(),
                        data,
                        ..AppendEventRequest::default()
                    }
                }
                Preview::Truncated => AppendEventRequest {
                    kind: "output.truncated".into(),
                    phase: "command".into(),
                    message: format!("output previews stop after {} KiB", PREVIEW_LIMIT / 1024),
                    ..AppendEventRequest::default()
                },
            };
            self.post(&event).await;
        }
    }
}

async fn pump(
    client: Client,
    run_id: String,
    mut receiver: mpsc::UnboundedReceiver<Message>,
    printer: Printer,
) {
    let mut poster = Poster {
        client,
        run_id,
        printer,
        warned: false,
    };
    let mut previews = Previews::default();
    let mut ticker = tokio::time::interval(FLUSH_EVERY);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            message = receiver.recv() => match message {
                Some(Message::Output(stream, bytes)) => {
                    previews.push(stream, &bytes);
                    if previews.chunk_ready() {
                        poster.flush(&mut previews, false).await;
                    }
                }
                Some(Message::Event(event)) => {
                    // Output seen before the event is posted before it.
                    poster.flush(&mut previews, false).await;
                    poster.post(&event).await;
                }
                Some(Message::Finish(request, done)) => {
                    poster.flush(&mut previews, true).await;
                    if let Err(error) = poster.client.finish_run(&poster.run_id, &request).await {
                        poster.failed(error);
                    }
                    let _ = done.send(());
                    return;
                }
                None => {
                    poster.flush(&mut previews, true).await;
                    return;
                }
            },
            _ = ticker.tick() => poster.flush(&mut previews, false).await,
        }
    }
}
