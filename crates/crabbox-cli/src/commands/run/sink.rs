//! Where a run's remote output goes: the terminal, the history log and (brokered)
//! the coordinator's previews, with the resync marker cut out of stderr on the way.

use crabbox_history::OutputLog;
use crabbox_ssh::{OutputSink, Stream};
use crabbox_sync::TrailerScanner;

use crate::printer::TerminalSink;
use crate::recording::PreviewSender;

pub struct RunSink<'a> {
    pub scanner: TrailerScanner,
    pub log: &'a mut OutputLog,
    pub previews: Option<PreviewSender>,
}

impl RunSink<'_> {
    fn forward(&mut self, stream: Stream, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        self.log.push(bytes);
        TerminalSink.output(stream, bytes);
        if let Some(previews) = &mut self.previews {
            previews.send(stream, bytes);
        }
    }

    /// Flushes held-back stderr; true when the session refused to run (the runner's
    /// copy changed since the last command).
    pub fn finish(&mut self) -> bool {
        let (rest, refused) = self.scanner.finish();
        self.forward(Stream::Stderr, &rest);
        refused
    }
}

impl OutputSink for RunSink<'_> {
    fn reported_exit(&self) -> Option<i32> {
        self.scanner.exit()
    }

    fn output(&mut self, stream: Stream, bytes: &[u8]) {
        match stream {
            Stream::Stdout => self.forward(stream, bytes),
            Stream::Stderr => {
                let visible = self.scanner.feed(bytes);
                self.forward(stream, &visible);
            }
        }
    }
}
