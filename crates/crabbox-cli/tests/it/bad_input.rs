//! Bad input gets one clear line, a hint, the documented exit code, and loses
//! nothing: no stray process, no stale claim.

use crabbox_testkit::{eventually, process_running, Sandbox};

fn sandbox() -> Sandbox {
    Sandbox::new(env!("CARGO_BIN_EXE_crabbox"))
}

fn assert_clean(sandbox: &Sandbox) {
    let claims = sandbox.expect(0, &["claims", "list", "--json"]).json();
    assert_eq!(claims["claims"], serde_json::json!([]), "no claim left");
    let local = sandbox.state_dir().join("local");
    let leftover: Vec<_> = std::fs::read_dir(&local)
        .map(|entries| entries.flatten().map(|entry| entry.path()).collect())
        .unwrap_or_default();
    assert!(leftover.is_empty(), "no lease directory left: {leftover:?}");
    let root = sandbox.root().display().to_string();
    assert!(
        eventually(5, || !process_running(&format!(
            "{root}/home/.config/crabbox/state"
        ))),
        "no sshd left"
    );
}

fn error_and_hint(output: &crabbox_testkit::Output) -> (String, String) {
    let error = output
        .stderr
        .lines()
        .find(|line| line.starts_with("error: "))
        .unwrap_or_else(|| panic!("no error line in {}", output.stderr))
        .to_string();
    let hint = output
        .stderr
        .lines()
        .find(|line| line.starts_with("hint: "))
        .unwrap_or_else(|| panic!("no hint line in {}", output.stderr))
        .to_string();
    (error, hint)
}

#[test]
fn unknown_provider() {
    let sandbox = sandbox();
    let output = sandbox.run(&["run", "--provider", "nimbus", "--", "true"]);
    assert_eq!(output.code, 2);
    let (error, hint) = error_and_hint(&output);
    assert_eq!(error, "error: unknown provider \"nimbus\"");
    assert!(hint.contains("local"), "{hint}");
    assert_clean(&sandbox);
}

#[test]
fn malformed_repo_config_names_file_and_line() {
    let sandbox = sandbox();
    std::fs::write(
        sandbox.repo().join(".crabbox.yaml"),
        "provider: local\nssh:\n  port: [unclosed\n",
    )
    .unwrap();
    let output = sandbox.run(&["run", "--", "true"]);
    assert_eq!(output.code, 2, "{}", output.stderr);
    let (error, _) = error_and_hint(&output);
    assert!(error.contains(".crabbox.yaml:"), "{error}");
    assert!(error.starts_with("error: malformed config"), "{error}");
    assert_clean(&sandbox);
}

#[test]
fn unknown_config_key_warns() {
    let sandbox = sandbox();
    std::fs::write(sandbox.repo().join("crabbox.yaml"), "provder: local\n").unwrap();
    let output = sandbox.expect(0, &["config", "show"]);
    assert!(
        output.stderr.contains("unknown config key provder"),
        "{}",
        output.stderr
    );
}

#[test]
fn id_that_matches_nothing() {
    let sandbox = sandbox();
    for args in [
        vec!["run", "--id", "blue-crab", "--", "true"],
        vec!["status", "--id", "cbx_000000000000"],
        vec!["stop", "no-such-slug"],
    ] {
        let output = sandbox.run(&args);
        assert_eq!(output.code, 4, "{args:?}: {}", output.stderr);
        let (error, hint) = error_and_hint(&output);
        assert!(error.contains("no lease matches"), "{error}");
        assert!(hint.contains("crabbox list"), "{hint}");
    }
    assert_clean(&sandbox);
}

#[test]
fn ambiguous_slug() {
    let sandbox = sandbox();
    let claims = sandbox.state_dir().join("claims");
    std::fs::create_dir_all(&claims).unwrap();
    for id in ["cbx_aaaaaaaaaaa1", "cbx_aaaaaaaaaaa2"] {
        std::fs::write(
            claims.join(format!("{id}.json")),
            format!(r#"{{"leaseID":"{id}","slug":"twin-crab","provider":"local","revision":"x"}}"#),
        )
        .unwrap();
    }
    let output = sandbox.run(&["status", "--id", "twin-crab"]);
    assert_eq!(output.code, 2, "{}", output.stderr);
    let (error, hint) = error_and_hint(&output);
    assert!(
        error.contains("cbx_aaaaaaaaaaa1") && error.contains("cbx_aaaaaaaaaaa2"),
        "{error}"
    );
    assert!(hint.contains("canonical lease id"), "{hint}");
}

#[test]
fn missing_sshd_names_the_package() {
    let mut sandbox = sandbox();
    sandbox.set_env("CRABBOX_SSHD", "/nonexistent/sshd");
    let output = sandbox.run(&["warmup"]);
    assert_eq!(output.code, 3, "{}", output.stderr);
    let (error, hint) = error_and_hint(&output);
    assert!(error.contains("sshd not found"), "{error}");
    assert!(hint.contains("openssh-server"), "{hint}");
    assert_clean(&sandbox);
    let keys = sandbox.home().join(".config/crabbox/testboxes");
    let leftover = std::fs::read_dir(&keys).map(|d| d.count()).unwrap_or(0);
    assert_eq!(leftover, 0, "no key directory left");
}

#[test]
fn missing_rsync_names_the_package() {
    let mut sandbox = sandbox();
    // A PATH with git and ssh but no rsync.
    let bin = sandbox.root().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for tool in ["git", "ssh", "ssh-keygen", "sh", "bash"] {
        let path = crabbox_testkit_which(tool);
        std::os::unix::fs::symlink(path, bin.join(tool)).unwrap();
    }
    sandbox.set_env("PATH", bin.display().to_string());
    let output = sandbox.run(&["run", "--", "true"]);
    assert_eq!(output.code, 6, "{}", output.stderr);
    let (error, hint) = error_and_hint(&output);
    assert!(error.contains("rsync not found"), "{error}");
    assert!(hint.contains("apt-get install rsync"), "{hint}");
    assert_clean(&sandbox);
}

fn crabbox_testkit_which(tool: &str) -> std::path::PathBuf {
    let path = std::env::var_os("PATH").unwrap();
    std::env::split_paths(&path)
        .map(|dir| dir.join(tool))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("{tool} not on PATH"))
}

#[test]
fn lease_directory_deleted_behind_our_back() {
    let sandbox = sandbox();
    let (id, slug) = sandbox.warmup(&[]);
    let lease_dir = sandbox.lease_dir(&id);
    let marker = lease_dir.join("sshd_config").display().to_string();
    assert!(process_running(&marker));
    std::fs::remove_dir_all(&lease_dir).unwrap();
    let output = sandbox.run(&["run", "--id", &slug, "--", "true"]);
    assert_eq!(output.code, 4, "{}", output.stderr);
    let (error, hint) = error_and_hint(&output);
    assert!(error.contains(&id), "{error}");
    assert!(hint.contains("stale claim was removed"), "{hint}");
    assert!(
        eventually(5, || !process_running(&marker)),
        "orphaned sshd ended"
    );
    assert_clean(&sandbox);
}

#[test]
fn non_git_directory_fails_sync_with_a_hint() {
    let sandbox = sandbox();
    let plain = sandbox.root().join("plain");
    std::fs::create_dir_all(&plain).unwrap();
    let output = sandbox.run_in(&plain, &["run", "--", "true"]);
    assert_eq!(output.code, 6, "{}", output.stderr);
    let (error, hint) = error_and_hint(&output);
    assert!(error.contains("not a git repository"), "{error}");
    assert!(hint.contains("--no-sync"), "{hint}");
    assert_clean(&sandbox);
    // --no-sync works there.
    let output = sandbox.run_in(&plain, &["run", "--no-sync", "--", "echo", "ok"]);
    assert_eq!(output.code, 0, "{}", output.stderr);
    assert_eq!(output.stdout, "ok\n");
}

#[test]
fn coordinator_serve_rejects_bad_flags_before_starting() {
    let sandbox = sandbox();
    for args in [
        vec!["coordinator", "serve", "--listen", "not an address"],
        vec!["coordinator", "serve", "--database", "mysql://db/crabbox"],
    ] {
        let output = sandbox.run(&args);
        assert_eq!(output.code, 2, "{args:?}: {}", output.stderr);
        let (error, _) = error_and_hint(&output);
        assert!(error.starts_with("error: invalid "), "{error}");
    }
}

#[test]
fn a_url_with_a_password_is_refused_without_echoing_it() {
    const PASSWORD: &str = "hunter2-never-echoed";
    let url = format!("https://alice:{PASSWORD}@127.0.0.1:9");
    let mut sandbox = Sandbox::new(env!("CARGO_BIN_EXE_crabbox"));
    sandbox.set_env("CRABBOX_COORDINATOR", &url);
    sandbox.set_env("CRABBOX_COORDINATOR_TOKEN", "token");
    for args in [
        vec!["status", "--id", "swift-crab"],
        vec!["history"],
        vec!["config", "show"],
        vec!["config", "show", "--json"],
    ] {
        let output = sandbox.run(&args);
        assert!(
            !output.stdout.contains(PASSWORD) && !output.stderr.contains(PASSWORD),
            "{args:?} echoed the password: {output:?}"
        );
        if args[0] != "config" {
            assert_eq!(output.code, 2, "{args:?}: {output:?}");
            assert!(
                output.stderr.contains("***@127.0.0.1:9"),
                "{}",
                output.stderr
            );
        }
    }
    let output = sandbox.run_with_input(&["login", "--url", &url, "--token-stdin"], "token\n");
    assert_ne!(output.code, 0);
    assert!(!output.stderr.contains(PASSWORD), "{output:?}");
}
