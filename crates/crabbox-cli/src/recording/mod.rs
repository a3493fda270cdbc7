//! Recording runs: the local history always, the coordinator when it brokers the
//! lease (events, live output previews, the final log).

mod preview;
mod recorder;
mod remote;

pub use recorder::Recorder;
pub use remote::{PreviewSender, RemoteRun};
