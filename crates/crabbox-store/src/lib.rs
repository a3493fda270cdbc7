//! Coordinator persistence: leases, create attempts, runs, run events and log
//! chunks in tables, on SQLite (default) or PostgreSQL, behind one API, plus
//! announcements of event appends across processes on PostgreSQL.

mod admission;
mod attempts;
mod backend;
mod dialect;
mod document;
mod error;
mod events;
mod filter;
mod leases;
mod locks;
mod migrations;
mod notify;
mod record;
mod rows;
mod runs;
mod scratch;

pub use crabbox_proto::wire::{LeaseRecord, LeaseStatus, Run, RunEventRecord, RunState, Timestamp};

pub use admission::Admission;
pub use backend::{OpenOptions, Store};
pub use dialect::Backend;
pub use error::{redact_url, Reserve, StoreError, Update};
pub use leases::LeaseFilter;
pub use notify::{Announcement, AppendListener, APPENDS_CHANNEL};
pub use record::{LeasePrivate, StoredLease};
pub use runs::RunFilter;
pub use scratch::ScratchDatabase;
