//! Where a run's remote output goes: the run's reporters (terminal, history log,
//! coordinator previews), with the resync marker cut out of stderr on the way.

use crabbox_ssh::{OutputSink, Stream};
use crabbox_sync::TrailerScanner;

use crate::engine::{Reporters, RunEvent};

pub struct RunSink<'a> {
    pub scanner: TrailerScanner,
    pub reporters: &'a mut Reporters,
}

impl RunSink<'_> {
    fn forward(&mut self, stream: Stream, bytes: &[u8]) {
        if !bytes.is_empty() {
            self.reporters.emit(RunEvent::Output { stream, bytes });
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
