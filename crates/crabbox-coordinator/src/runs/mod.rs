//! Runs: creation, event appends with the run-summary effects (published to
//! control sockets once committed), and who may read or write a run. Finish and
//! telemetry live in their own modules.

mod finish;
pub(crate) mod telemetry;

pub use finish::finish;
pub use telemetry::append_telemetry;

use std::future::Future;

use crabbox_core::RunId;
use crabbox_proto::wire::{
    AppendEventRequest, CreateRunRequest, LeaseOwner, Run, RunEventRecord, RunState,
};

use crate::auth::Principal;
use crate::error::{updated, ApiError, ApiResult};
use crate::state::Coordinator;

const SHORT_FIELD: usize = 128;
const LONG_FIELD: usize = 16 << 10;
const LABEL_LIMIT: usize = 120;
const COMMAND_ARGS: usize = 1024;
/// The target a run names when neither its lease nor its creator names one.
const DEFAULT_TARGET: &str = "linux";

/// The longest prefix of `text` within `limit` bytes, cut on a character boundary.
pub fn truncate_utf8(text: &str, limit: usize) -> &str {
    if text.len() <= limit {
        return text;
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The last `limit` bytes of `bytes`, starting on a UTF-8 character boundary.
pub fn tail_utf8(bytes: &[u8], limit: usize) -> &[u8] {
    if bytes.len() <= limit {
        return bytes;
    }
    let mut start = bytes.len() - limit;
    // Skip continuation bytes so the kept text starts on a character.
    while start < bytes.len() && (bytes[start] & 0b1100_0000) == 0b1000_0000 {
        start += 1;
    }
    &bytes[start..]
}

pub fn can_read(principal: &Principal, run: &Run) -> bool {
    principal.owns(&run.owner, &run.org)
        || run
            .lease_owners
            .iter()
            .any(|owner| owner.owner == principal.owner && owner.org == principal.org)
}

pub fn can_write(principal: &Principal, run: &Run) -> bool {
    principal.owns(&run.owner, &run.org)
}

fn add_lease_owner(run: &mut Run, owner: &str, org: &str) {
    if !run
        .lease_owners
        .iter()
        .any(|known| known.owner == owner && known.org == org)
    {
        run.lease_owners.push(LeaseOwner {
            owner: owner.into(),
            org: org.into(),
        });
    }
}

fn bounded(text: &str, limit: usize) -> String {
    truncate_utf8(text, limit).to_string()
}

pub async fn create(
    coordinator: &Coordinator,
    principal: &Principal,
    request: &CreateRunRequest,
) -> ApiResult<Run> {
    let now = coordinator.now();
    let mut run = Run {
        id: RunId::generate().as_str().to_string(),
        owner: principal.owner.clone(),
        org: principal.org.clone(),
        provider: bounded(&request.provider, SHORT_FIELD),
        target: bounded(&request.target, SHORT_FIELD),
        windows_mode: bounded(&request.windows_mode, SHORT_FIELD),
        class: bounded(&request.class, SHORT_FIELD),
        server_type: bounded(&request.server_type, SHORT_FIELD),
        command: request
            .command
            .iter()
            .take(COMMAND_ARGS)
            .map(|arg| bounded(arg, LONG_FIELD))
            .collect(),
        label: bounded(
            &request
                .label
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" "),
            LABEL_LIMIT,
        ),
        state: RunState::Running,
        phase: "starting".into(),
        started_at: now,
        ..Run::default()
    };
    if !request.lease_id.is_empty() {
        if crabbox_core::LeaseId::parse(&request.lease_id).is_none() {
            return Err(ApiError::bad_request(
                "invalid_lease_id",
                "leaseID must be cbx_ followed by 12 hex digits",
            ));
        }
        run.lease_id = request.lease_id.clone();
        if let Some(record) = coordinator.store().get_lease(&request.lease_id).await? {
            if !principal.owns(&record.lease.owner, &record.lease.org) {
                return Err(ApiError::not_found("lease"));
            }
            let lease = record.lease;
            run.slug = lease.slug;
            run.provider = lease.provider;
            run.target = lease.target;
            run.class = lease.class;
            run.server_type = lease.server_type;
            // Only leases that exist are attributed (an unknown one leaves `leaseIDs: []`).
            run.lease_ids = vec![lease.id];
            add_lease_owner(&mut run, &lease.owner, &lease.org);
        }
    }
    if run.target.is_empty() {
        run.target = DEFAULT_TARGET.into();
    }
    // As the Node coordinator records it: type and phase only.
    let first = RunEventRecord {
        run_id: run.id.clone(),
        seq: 1,
        kind: "run.started".into(),
        phase: "starting".into(),
        created_at: now,
        ..RunEventRecord::default()
    };
    Ok(coordinator.store().create_run(run, first).await?)
}

/// Loads a run the caller may read (404 otherwise).
pub async fn readable(
    coordinator: &Coordinator,
    principal: &Principal,
    run_id: &str,
) -> ApiResult<Run> {
    match coordinator.store().get_run(run_id).await? {
        Some(run) if can_read(principal, &run) => Ok(run),
        _ => Err(ApiError::not_found("run")),
    }
}

pub(crate) async fn writable(
    coordinator: &Coordinator,
    principal: &Principal,
    run_id: &str,
) -> ApiResult<Run> {
    match coordinator.store().get_run(run_id).await? {
        Some(run) if can_write(principal, &run) => Ok(run),
        _ => Err(ApiError::not_found("run")),
    }
}

pub async fn append(
    coordinator: &Coordinator,
    principal: &Principal,
    run_id: &str,
    request: &AppendEventRequest,
) -> ApiResult<RunEventRecord> {
    // The writer check runs inside the append's transaction (one round trip less
    // on the hot path); only a named lease needs a lookup first.
    let mut lease_owner = None;
    let mut foreign_lease = false;
    let mut lease_id = String::new();
    if crabbox_core::LeaseId::parse(&request.lease_id).is_some() {
        lease_id = request.lease_id.clone();
        if let Some(record) = coordinator.store().get_lease(&lease_id).await? {
            foreign_lease = !principal.owns(&record.lease.owner, &record.lease.org);
            lease_owner = Some((record.lease.owner, record.lease.org));
        }
    }
    let principal = principal.clone();
    let stream = match request.stream.as_str() {
        "stdout" | "stderr" => request.stream.clone(),
        _ => String::new(),
    };
    let kind = if request.kind.trim().is_empty() {
        "event".to_string()
    } else {
        bounded(request.kind.trim(), SHORT_FIELD)
    };
    let event = RunEventRecord {
        kind,
        phase: bounded(&request.phase, SHORT_FIELD),
        stream,
        message: bounded(&request.message, LONG_FIELD),
        data: bounded(&request.data, LONG_FIELD),
        lease_id,
        slug: bounded(&request.slug, SHORT_FIELD),
        provider: bounded(&request.provider, SHORT_FIELD),
        target: bounded(&request.target, SHORT_FIELD),
        windows_mode: bounded(&request.windows_mode, SHORT_FIELD),
        class: bounded(&request.class, SHORT_FIELD),
        server_type: bounded(&request.server_type, SHORT_FIELD),
        exit_code: request.exit_code,
        created_at: coordinator.now(),
        ..RunEventRecord::default()
    };
    let writer = coordinator.clone();
    let run_id = run_id.to_string();
    committed(async move {
        let event = updated(
            writer
                .store()
                .append_event(&run_id, event, move |run, event| {
                    if !can_write(&principal, run) {
                        return Err(ApiError::not_found("run"));
                    }
                    // Attaching the run to someone else's lease needs rights on it.
                    if foreign_lease && event.lease_id != run.lease_id {
                        return Err(ApiError::not_found("lease"));
                    }
                    apply_event(run, event, lease_owner.as_ref());
                    Ok(())
                })
                .await,
            "run",
        )?;
        writer.control().publish(event.clone());
        Ok(event)
    })
    .await
}

/// Runs an event-appending write on its own task: if the request is dropped
/// after the commit, the event is still published to control sockets.
pub(crate) async fn committed<T: Send + 'static>(
    write: impl Future<Output = ApiResult<T>> + Send + 'static,
) -> ApiResult<T> {
    tokio::spawn(write)
        .await
        .unwrap_or_else(|_| Err(ApiError::internal("recording the event")))
}

/// The effects of one event on the run summary; `lease_owner` is the owner of
/// the event's lease when that lease exists (only existing leases are attributed).
fn apply_event(run: &mut Run, event: &RunEventRecord, lease_owner: Option<&(String, String)>) {
    if !event.phase.is_empty() {
        run.phase = event.phase.clone();
    } else if let Some(phase) = crabbox_proto::wire::implied_phase(&event.kind) {
        run.phase = phase.to_string();
    }
    if !event.lease_id.is_empty() {
        run.lease_id = event.lease_id.clone();
        if lease_owner.is_some() && !run.lease_ids.contains(&event.lease_id) {
            run.lease_ids.push(event.lease_id.clone());
        }
    }
    for (field, value) in [
        (&mut run.slug, &event.slug),
        (&mut run.provider, &event.provider),
        (&mut run.target, &event.target),
        (&mut run.windows_mode, &event.windows_mode),
        (&mut run.class, &event.class),
        (&mut run.server_type, &event.server_type),
    ] {
        if !value.is_empty() {
            field.clone_from(value);
        }
    }
    if let Some((owner, org)) = lease_owner {
        add_lease_owner(run, owner, org);
    }
    if event.kind == "run.failed" {
        run.state = RunState::Failed;
        run.phase = "failed".into();
        run.ended_at = Some(event.created_at);
        if event.exit_code.is_some() {
            run.exit_code = event.exit_code;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_cuts_stay_on_character_boundaries() {
        assert_eq!(truncate_utf8("héllo", 2), "h");
        assert_eq!(tail_utf8("héllo".as_bytes(), 4), b"llo");
        assert_eq!(tail_utf8("héllo".as_bytes(), 5), "éllo".as_bytes());
        assert_eq!(tail_utf8(b"abc", 10), b"abc");
    }

    #[test]
    fn events_drive_the_run_summary() {
        let mut run = Run::default();
        let event = RunEventRecord {
            kind: "sync.started".into(),
            lease_id: "cbx_000000000001".into(),
            slug: "blue-krill".into(),
            ..RunEventRecord::default()
        };
        apply_event(&mut run, &event, Some(&("o".into(), "g".into())));
        assert_eq!(run.phase, "sync");
        assert_eq!(run.lease_ids, vec!["cbx_000000000001".to_string()]);
        assert_eq!(run.slug, "blue-krill");
        assert_eq!(run.lease_owners.len(), 1);
        apply_event(
            &mut run,
            &RunEventRecord {
                kind: "run.failed".into(),
                created_at: crabbox_proto::Timestamp(5),
                ..RunEventRecord::default()
            },
            None,
        );
        assert_eq!(
            (run.state, run.phase.as_str(), run.ended_at),
            (
                RunState::Failed,
                "failed",
                Some(crabbox_proto::Timestamp(5))
            )
        );
    }

    #[test]
    fn only_existing_leases_are_attributed() {
        let mut run = Run::default();
        let unknown = RunEventRecord {
            kind: "lease.created".into(),
            lease_id: "cbx_000000000002".into(),
            ..RunEventRecord::default()
        };
        apply_event(&mut run, &unknown, None);
        assert_eq!(run.lease_id, "cbx_000000000002");
        assert!(run.lease_ids.is_empty() && run.lease_owners.is_empty());
        assert_eq!(run.phase, "leased");
    }
}
