//! `pond connect --export` daemons and `pond disconnect`: detached ssh processes
//! recorded in `daemon.json`, stopped only while their live command line is still
//! the recorded forward.

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::Duration;

use crabbox_core::process::{in_own_group, kill_group};
use crabbox_pond::{daemon_state_path, DaemonProcess, DaemonState, MeshCommand, MeshPlan};
use crabbox_proto::ErrorClass;

use crate::cli::PondNameArgs;
use crate::context::App;
use crate::error::{CliError, CliResult};
use crate::exit::ExitStatus;

/// How long every daemon must survive before its exports are printed.
const HEALTH_GATE: Duration = Duration::from_millis(200);

/// Stops the daemons recorded in `dir`; returns how many were signalled.
fn stop_recorded(dir: &Path) -> CliResult<usize> {
    let path = daemon_state_path(dir);
    let text = match std::fs::read(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(error) => {
            return Err(CliError::of(
                ErrorClass::Failed,
                format!("cannot read {}: {error}", path.display()),
            ))
        }
    };
    let state = DaemonState::parse(&path.display().to_string(), &text)?;
    let stopped = crabbox_pond::stop_daemons(&state);
    let _ = std::fs::remove_file(&path);
    Ok(stopped)
}

/// A started daemon: the label for messages, the child and what gets recorded.
struct Started {
    label: String,
    child: Child,
    process: DaemonProcess,
}

/// Kills every started daemon's group and reports `message`.
fn abandon(started: &mut [Started], message: String) -> CliResult<ExitStatus> {
    for daemon in started.iter_mut() {
        kill_group(daemon.child.id() as i32);
        let _ = daemon.child.wait();
    }
    Err(CliError::of(ErrorClass::Remote, message))
}

pub(super) async fn export(app: &App, plan: &MeshPlan) -> CliResult<ExitStatus> {
    let commands = plan.commands().map_err(super::plan_error)?;
    let ssh = crabbox_ssh::find_tool("ssh")?;
    stop_recorded(&plan.dir)?;
    let mut started = Vec::new();
    for MeshCommand {
        label,
        args,
        forward,
    } in commands
    {
        let mut command = std::process::Command::new(&ssh);
        command
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        match in_own_group(&mut command).spawn() {
            Ok(child) => {
                let command = std::iter::once(ssh.display().to_string())
                    .chain(args.iter().cloned())
                    .collect::<Vec<_>>()
                    .join(" ");
                let process = DaemonProcess {
                    pid: child.id() as i32,
                    command,
                    forward,
                };
                started.push(Started {
                    label,
                    child,
                    process,
                });
            }
            Err(error) => {
                return abandon(
                    &mut started,
                    format!("start ssh forwards for {label}: {error}"),
                )
            }
        }
    }
    tokio::time::sleep(HEALTH_GATE).await;
    let mut early = None;
    for daemon in started.iter_mut() {
        if let Ok(Some(status)) = daemon.child.try_wait() {
            early.get_or_insert(format!(
                "ssh forwards for {} exited immediately: {status}",
                daemon.label
            ));
        }
    }
    if let Some(message) = early {
        return abandon(&mut started, message);
    }
    let state = DaemonState {
        pond: plan.pond.clone(),
        started_at: crabbox_core::format_rfc3339(crabbox_core::now_unix()),
        pids: started.iter().map(|daemon| daemon.process.pid).collect(),
        processes: started
            .iter()
            .map(|daemon| daemon.process.clone())
            .collect(),
        forwards: plan.forwards.clone(),
    };
    let path = plan.daemon_state_path();
    if let Err(error) = crabbox_core::write_private_atomic(&path, state.to_json().as_bytes()) {
        let message = format!("cannot write {}: {error}", path.display());
        return abandon(&mut started, message);
    }
    for line in crabbox_pond::export_lines(&plan.forwards) {
        app.printer.out(line);
    }
    app.printer.note(format!(
        "pond {:?} SSH-mesh daemon started ({} forwards); stop it with `crabbox pond disconnect {}`",
        plan.pond,
        plan.forwards.len(),
        plan.pond
    ));
    Ok(ExitStatus::Success)
}

pub async fn disconnect(app: &mut App, args: PondNameArgs) -> CliResult<ExitStatus> {
    let pond = super::required_pond(&args.name, "crabbox pond disconnect NAME")?;
    let dir = super::pond_dir(app, &pond)?;
    let had_state = daemon_state_path(&dir).exists();
    let stopped = stop_recorded(&dir)?;
    if !had_state {
        app.printer
            .out(format!("pond {pond:?} has no recorded SSH-mesh daemons"));
    } else {
        app.printer.out(format!(
            "pond {pond:?} disconnected {stopped} SSH-mesh daemon(s)"
        ));
    }
    Ok(ExitStatus::Success)
}
