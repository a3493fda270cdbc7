//! The ready check of a devbox: installs missing `git`, `rsync` or `tar` (as root
//! or through `sudo -n`, with apt-get, dnf, yum or apk; output to
//! `/tmp/crabbox-sealos-*.log`), then proves all three are there.

/// A shell snippet run on the devbox after the transport answers `true`.
pub const READY_CHECK: &str = concat!(
    "missing=''; for tool in git rsync tar; do command -v \"$tool\" >/dev/null 2>&1 || missing=\"$missing $tool\"; done; ",
    "if [ -n \"$missing\" ]; then ",
    "if [ \"$(id -u)\" = 0 ]; then as=''; elif sudo -n true >/dev/null 2>&1; then as='sudo -n'; ",
    "else echo \"crabbox: missing$missing and neither root nor passwordless sudo\" >&2; exit 5; fi; ",
    "log=$(mktemp /tmp/crabbox-sealos-XXXXXX.log); ",
    "if command -v apt-get >/dev/null 2>&1; then { $as apt-get update && $as env DEBIAN_FRONTEND=noninteractive apt-get install -y $missing; } >\"$log\" 2>&1; ",
    "elif command -v dnf >/dev/null 2>&1; then $as dnf install -y $missing >\"$log\" 2>&1; ",
    "elif command -v yum >/dev/null 2>&1; then $as yum install -y $missing >\"$log\" 2>&1; ",
    "elif command -v apk >/dev/null 2>&1; then $as apk add --no-cache $missing >\"$log\" 2>&1; ",
    "else false; fi || { echo \"crabbox: installing$missing failed; see $log\" >&2; exit 5; }; fi; ",
    "command -v git >/dev/null && command -v rsync >/dev/null && command -v tar >/dev/null"
);

#[cfg(test)]
mod tests {
    use super::READY_CHECK;
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;

    fn script(path: &Path, body: &str) {
        std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// A PATH with only what the check needs, a fake `id` and a fake `apt-get`
    /// that "installs" by creating the tool.
    fn run(bin: &Path, uid: &str) -> std::process::Output {
        for tool in ["git", "tar", "mktemp", "env", "cat", "chmod"] {
            let real = ["/usr/bin", "/bin", "/usr/local/bin"]
                .iter()
                .map(|dir| Path::new(dir).join(tool))
                .find(|p| p.exists())
                .unwrap();
            let _ = std::os::unix::fs::symlink(real, bin.join(tool));
        }
        script(&bin.join("id"), &format!("echo {uid}"));
        let log = bin.join("apt.log");
        script(&bin.join("apt-get"), &format!("echo \"$@\" >> {log}\ncase \"$1\" in install) for t in \"$@\"; do [ \"$t\" = rsync ] && printf '#!/bin/sh\\n' > {bin}/rsync && chmod +x {bin}/rsync; done;; esac; true", log = log.display(), bin = bin.display()));
        std::process::Command::new("/bin/sh")
            .arg("-c")
            .arg(format!("true && {READY_CHECK}"))
            .env_clear()
            .env("PATH", bin)
            .output()
            .unwrap()
    }

    #[test]
    fn missing_tools_are_installed_as_root_then_checked() {
        let dir = tempfile::tempdir().unwrap();
        let output = run(dir.path(), "0");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let log = std::fs::read_to_string(dir.path().join("apt.log")).unwrap();
        assert!(
            log.contains("update") && log.contains("install -y rsync"),
            "{log}"
        );
        let again = run(dir.path(), "0");
        assert!(again.status.success());
        assert_eq!(
            std::fs::read_to_string(dir.path().join("apt.log")).unwrap(),
            log,
            "nothing missing, nothing installed"
        );
    }

    #[test]
    fn without_root_or_sudo_the_check_exits_5() {
        let dir = tempfile::tempdir().unwrap();
        let output = run(dir.path(), "1000");
        assert_eq!(output.status.code(), Some(5));
        assert!(String::from_utf8_lossy(&output.stderr).contains("missing rsync"));
    }
}
