//! `crabbox_run::run::run` end to end on the `local` provider (a real sshd and
//! rsync): the exit status, the recorded history and the release, from typed
//! options alone.

use std::collections::BTreeMap;
use std::time::Instant;

use crabbox_core::{ClaimStore, Paths};
use crabbox_history::History;
use crabbox_run::cancel::Cancel;
use crabbox_run::context::App;
use crabbox_run::exit::ExitStatus;
use crabbox_run::leases::LeaseSettings;
use crabbox_run::printer::Printer;
use crabbox_run::run::{sync_options, RunInputs, RunOptions, StopAfter, SyncFlags};
use crabbox_testkit::Sandbox;

fn app(sandbox: &Sandbox) -> App {
    let home = sandbox.home().display().to_string();
    // Lease sessions get the sandbox home, never the account's profile.
    let env: BTreeMap<String, String> = [("HOME", &home), ("CRABBOX_LOCAL_HOME", &home)]
        .into_iter()
        .map(|(key, value)| (key.to_string(), value.clone()))
        .collect();
    let paths = Paths::from_lookup(|key| env.get(key).cloned());
    App {
        claims: ClaimStore::new(&paths),
        paths,
        printer: Printer { quiet: true },
        cwd: sandbox.repo(),
        cancel: None,
        env,
        trust_repo: false,
    }
}

fn options(command: &[&str]) -> RunOptions {
    RunOptions {
        command: command.iter().map(|word| word.to_string()).collect(),
        id: None,
        reclaim: false,
        keep: None,
        keep_on_failure: false,
        stop_after: StopAfter::Auto,
        no_sync: false,
        sync_only: false,
        shell: false,
        allow_env: Vec::new(),
        timing_json: false,
    }
}

#[test]
fn a_run_built_from_options_syncs_records_and_releases() {
    let sandbox = Sandbox::new("crabbox-is-not-used-here");
    let mut app = app(&sandbox);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let status = runtime.block_on(async {
        let cancel = Cancel::install();
        app.cancel = Some(cancel.clone());
        let (repo, config) = app.repo_config(Vec::new()).expect("config");
        let mut lease = LeaseSettings::new(&config, false, None, &[]).expect("settings");
        lease.repo_root = repo.root.display().to_string();
        let inputs = RunInputs {
            config: &config,
            repo,
            lease,
            sync: sync_options(&config, &SyncFlags::default()),
            cancel,
            started: Instant::now(),
        };
        // The synced file is there, and the command's own exit code comes back.
        let command = options(&["sh", "-c", "test -f src/lib.txt && exit 3"]);
        crabbox_run::run::run(&app, command, inputs).await
    });
    runtime.shutdown_background();
    assert_eq!(status.expect("run"), ExitStatus::Remote(3));

    let history = History::open(&app.history_path()).expect("history");
    let runs = history.list_runs(&Default::default()).expect("runs");
    assert_eq!(runs.len(), 1, "one recorded run");
    let run = &runs[0];
    assert_eq!(
        (run.state.as_str(), run.exit_code, run.provider.as_str()),
        ("failed", Some(3), "local")
    );
    assert!(run.files_sent >= 2, "the checkout was synced: {run:?}");
    let kinds: Vec<String> = history
        .events(&run.id, 0, 0)
        .expect("events")
        .into_iter()
        .map(|event| format!("{}/{}", event.kind, event.phase))
        .collect();
    assert_eq!(
        kinds,
        [
            "lease.created/leased",
            "bootstrap.waiting/bootstrap",
            "sync.started/sync",
            "sync.finished/synced",
            "command.started/command",
            "command.finished/command",
            "lease.released/released",
        ]
    );
    // Released by default: no claim, no lease files left.
    assert!(sandbox.claimed_ids().is_empty(), "no claim is left behind");
}
