//! `pond connect --export` daemons and `pond disconnect`: detached ssh processes
//! recorded in `daemon.json`, stopped only while their live command line is still
//! the recorded forward.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use crabbox_pond::{command_matches, DaemonProcess, DaemonState};
use crabbox_proto::ExitCode;

use super::mesh::{kill_group, Plan};
use crate::cli::PondNameArgs;
use crate::context::App;
use crate::error::{CliError, CliResult};
use crate::exit::ExitStatus;

/// How long every daemon must survive before its exports are printed.
const HEALTH_GATE: Duration = Duration::from_millis(200);

fn state_path(dir: &Path) -> std::path::PathBuf {
    dir.join("daemon.json")
}

/// Stops the daemons recorded in `dir`; returns how many were signalled.
fn stop_recorded(dir: &Path) -> CliResult<usize> {
    let path = state_path(dir);
    let text = match std::fs::read(&path) {
        Ok(text) => text,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(0),
        Err(error) => {
            return Err(CliError::new(
                ExitCode::Failure,
                format!("cannot read {}: {error}", path.display()),
            ))
        }
    };
    let state = DaemonState::parse(&path.display().to_string(), &text)?;
    let mut stopped = 0;
    for (pid, forward) in state.entries() {
        let command_line = std::fs::read(format!("/proc/{pid}/cmdline"))
            .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default();
        if pid > 0 && command_matches(&command_line, &forward) {
            kill_group(pid as u32);
            stopped += 1;
        }
    }
    let _ = std::fs::remove_file(&path);
    Ok(stopped)
}

pub(super) fn export(app: &App, plan: &Plan) -> CliResult<ExitStatus> {
    let commands = plan.commands()?;
    let ssh = crabbox_ssh::find_tool("ssh")?;
    stop_recorded(&plan.dir)?;
    let mut children = Vec::new();
    let fail = |children: &mut Vec<(String, std::process::Child, DaemonProcess)>, message| {
        for (_, child, _) in children.iter_mut() {
            kill_group(child.id());
            let _ = child.wait();
        }
        Err(CliError::new(ExitCode::Remote, message))
    };
    for (label, args, forward) in commands {
        let spawned = {
            use std::os::unix::process::CommandExt;
            std::process::Command::new(&ssh)
                .args(&args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
        };
        match spawned {
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
                children.push((label, child, process));
            }
            Err(error) => {
                return fail(
                    &mut children,
                    format!("start ssh forwards for {label}: {error}"),
                )
            }
        }
    }
    std::thread::sleep(HEALTH_GATE);
    let mut early = None;
    for (label, child, _) in children.iter_mut() {
        if let Ok(Some(status)) = child.try_wait() {
            early.get_or_insert(format!(
                "ssh forwards for {label} exited immediately: {status}"
            ));
        }
    }
    if let Some(message) = early {
        return fail(&mut children, message);
    }
    let state = DaemonState {
        pond: plan.pond.clone(),
        started_at: crabbox_core::format_rfc3339(crabbox_core::now_unix()),
        pids: children.iter().map(|(_, _, process)| process.pid).collect(),
        processes: children
            .iter()
            .map(|(_, _, process)| process.clone())
            .collect(),
        forwards: plan.forwards.clone(),
    };
    let path = state_path(&plan.dir);
    if let Err(error) = crabbox_core::write_private_atomic(&path, state.to_json().as_bytes()) {
        let message = format!("cannot write {}: {error}", path.display());
        return fail(&mut children, message);
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
    let dir = super::connect::pond_dir(app, &pond)?;
    let had_state = state_path(&dir).exists();
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
