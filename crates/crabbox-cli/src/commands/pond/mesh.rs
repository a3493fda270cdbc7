//! The foreground SSH mesh: one `ssh -N -L …` per member, each inside its own
//! anchor's process group (see `anchor.rs`); any member's exit or an operator signal (INT, TERM, HUP, QUIT, TSTP)
//! tears the whole mesh down with SIGKILL to every group.

use std::process::Stdio;

use crabbox_core::process::kill_group;
use crabbox_pond::{MeshCommand, MeshPlan};
use crabbox_proto::ErrorClass;
use tokio::io::AsyncReadExt;
use tokio::signal::unix::{signal, SignalKind};
use tokio::task::JoinSet;

use crate::context::App;
use crate::error::{CliError, CliResult};
use crate::exit::ExitStatus;

struct Exit {
    label: String,
    status: std::io::Result<std::process::ExitStatus>,
    stderr: String,
}

fn describe(exit: &Exit) -> String {
    let reason = exit
        .stderr
        .lines()
        .rfind(|line| !line.trim().is_empty())
        .map(|line| format!(": {}", line.trim()))
        .unwrap_or_default();
    match &exit.status {
        Ok(status) if status.success() => {
            format!("ssh forwards for {} exited unexpectedly", exit.label)
        }
        Ok(status) => format!(
            "ssh forwards for {} exited with {status}{reason}",
            exit.label
        ),
        Err(error) => format!("ssh forwards for {} failed: {error}", exit.label),
    }
}

/// Runs the mesh until a signal (exit 0) or a member exits (its error).
pub(super) async fn foreground(app: &App, plan: &MeshPlan) -> CliResult<ExitStatus> {
    let commands = plan.commands().map_err(super::plan_error)?;
    let ssh = crabbox_ssh::find_tool("ssh")?;
    let anchor = std::env::current_exe().map_err(|error| {
        CliError::of(
            ErrorClass::Failed,
            format!("cannot locate the crabbox binary: {error}"),
        )
    })?;
    let mut signals = Vec::new();
    for kind in [
        SignalKind::interrupt(),
        SignalKind::terminate(),
        SignalKind::hangup(),
        SignalKind::quit(),
        SignalKind::from_raw(rustix::process::Signal::TSTP.as_raw()),
    ] {
        signals.push(signal(kind).map_err(|error| {
            CliError::of(
                ErrorClass::Failed,
                format!("cannot handle signals: {error}"),
            )
        })?);
    }
    let mut pids: Vec<i32> = Vec::new();
    // Closing these pipes (teardown, or this process dying) makes every anchor
    // kill its group.
    let mut lifelines = Vec::new();
    let mut waiters = JoinSet::new();
    for MeshCommand { label, args, .. } in commands {
        let mut child = match tokio::process::Command::new(&anchor)
            .arg(super::anchor::ANCHOR_ARG)
            .arg(&ssh)
            .args(&args)
            .env(super::anchor::ANCHOR_ENV, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
        {
            Ok(child) => child,
            Err(error) => {
                pids.iter().for_each(|pid| {
                    kill_group(*pid);
                });
                while waiters.join_next().await.is_some() {}
                return Err(CliError::of(
                    ErrorClass::Remote,
                    format!("start ssh forwards for {label}: {error}"),
                ));
            }
        };
        pids.push(child.id().unwrap_or_default() as i32);
        lifelines.push(child.stdin.take());
        let mut stderr = child.stderr.take();
        waiters.spawn(async move {
            let mut text = String::new();
            if let Some(stderr) = stderr.as_mut() {
                let _ = stderr.read_to_string(&mut text).await;
            }
            Exit {
                label,
                status: child.wait().await,
                stderr: text,
            }
        });
    }
    app.printer.out(format!(
        "pond {:?} SSH-mesh ready ({} forwards)",
        plan.pond,
        plan.forwards.len()
    ));
    for line in crabbox_pond::export_lines(&plan.forwards) {
        app.printer.out(line);
    }
    app.printer
        .out(format!("wrote {}", plan.hosts_path.display()));
    app.printer
        .out(format!("wrote {}", plan.env_path.display()));
    let any_signal = async {
        let waits = signals.iter_mut().map(|stream| Box::pin(stream.recv()));
        let _ = futures_select_all(waits).await;
    };
    let first = tokio::select! {
        exit = waiters.join_next() => exit.and_then(Result::ok),
        () = any_signal => None,
    };
    // From here on every exit is ours: the whole mesh goes down together.
    pids.iter().for_each(|pid| {
        kill_group(*pid);
    });
    drop(lifelines);
    while waiters.join_next().await.is_some() {}
    match first {
        None => {
            app.printer
                .note(format!("pond {:?} SSH-mesh stopped", plan.pond));
            Ok(ExitStatus::Success)
        }
        Some(exit) => Err(CliError::of(ErrorClass::Remote, describe(&exit)).with_hint(
            "check the member with `crabbox status --id <slug>`; the whole mesh was torn down",
        )),
    }
}

/// Resolves when the first of the futures does.
async fn futures_select_all<F: std::future::Future + Unpin>(futures: impl Iterator<Item = F>) {
    let mut futures: Vec<F> = futures.collect();
    std::future::poll_fn(|context| {
        for future in futures.iter_mut() {
            if std::pin::Pin::new(future).poll(context).is_ready() {
                return std::task::Poll::Ready(());
            }
        }
        std::task::Poll::Pending
    })
    .await
}
